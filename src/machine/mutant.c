/* SPDX-License-Identifier: MIT */
/*
 * The mutant registry (include/vmlab/mutant.h): the table behind
 * `vmlab mutants`, name lookup and the per-configuration switches.
 */
#include <ctype.h>

#include "internal.h"

static const struct vmlab_mutant_info mutants[] = {
#define VMLAB_X_MUT_INFO(id, name, fix, mech, check, scen, seeds)            \
	{name, fix, mech, check, scen, seeds},
	VMLAB_MUTANTS(VMLAB_X_MUT_INFO)
#undef VMLAB_X_MUT_INFO
};

_Static_assert(ARRAY_SIZE(mutants) == VMLAB_NR_MUTANTS,
	       "one registry row per mutant id");

const struct vmlab_mutant_info *vmlab_mutant_info(int id)
{
	if (id < 0 || id >= VMLAB_NR_MUTANTS)
		return NULL;
	assert(mutants[id].name && mutants[id].seeds >= 1);
	return &mutants[id];
}

enum vmlab_mutant_kind vmlab_mutant_kind(const struct vmlab_mutant_info *mi)
{
	if (!mi || !mi->fix)
		return VMLAB_MUTANT_UNLABELLED;
	const char *f = mi->fix;
	if (!strncmp(f, "CVE-", 4))
		return VMLAB_MUTANT_KERNEL;
	if (!strncmp(f, "what-if: ", 9))
		return VMLAB_MUTANT_WHAT_IF;
	if (!strncmp(f, "self-test: ", 11))
		return VMLAB_MUTANT_SELF_TEST;
	/* A fix commit: at least 12 hex digits, then a space or the end. */
	int n = 0;
	while (isxdigit((unsigned char)f[n]) && !isupper((unsigned char)f[n]))
		n++;
	if (n >= 12 && n <= 40 && (f[n] == ' ' || f[n] == '\0'))
		return VMLAB_MUTANT_KERNEL;
	return VMLAB_MUTANT_UNLABELLED;
}

const char *vmlab_mutant_kind_name(enum vmlab_mutant_kind k)
{
	switch (k) {
	case VMLAB_MUTANT_KERNEL: return "kernel";
	case VMLAB_MUTANT_WHAT_IF: return "what-if";
	case VMLAB_MUTANT_SELF_TEST: return "self-test";
	default: return "unlabelled";
	}
}

int vmlab_mutant_lookup(const char *name)
{
	if (!name)
		return -VMLAB_EINVAL;
	for (int i = 0; i < VMLAB_NR_MUTANTS; i++)
		if (!strcmp(mutants[i].name, name))
			return i;
	return -VMLAB_EINVAL;
}

void vmlab_config_mutant(struct vmlab_config *cfg, int id, bool on)
{
	if (!cfg || id < 0 || id >= VMLAB_NR_MUTANTS)
		return;
	u64 bit = 1ULL << (id % 64);
	if (on)
		cfg->mutants[id / 64] |= bit;
	else
		cfg->mutants[id / 64] &= ~bit;
	assert(((cfg->mutants[id / 64] & bit) != 0) == on);
}

bool vmlab_mutant_enabled(const struct vmlab_machine *m, int id)
{
	if (!m || id < 0 || id >= VMLAB_NR_MUTANTS)
		return false;
	return vmlab_mutant(m, id);
}

/* Bits past the last registered mutant are a bad configuration. */
bool mutant_config_valid(const struct vmlab_config *cfg)
{
	for (int w = 0; w < VMLAB_MUTANT_WORDS; w++)
		for (int b = 0; b < 64; b++)
			if ((cfg->mutants[w] >> b & 1) &&
			    w * 64 + b >= VMLAB_NR_MUTANTS)
				return false;
	return true;
}
