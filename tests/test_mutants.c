/* SPDX-License-Identifier: MIT */
/* The mutant catalogue: every registered historical bug is caught by its
 * scenario when on (within its seeds, by the named check) and the same
 * scenario is silent when off; the switches (config, Lua, names) refuse
 * what they do not know. */
#include <stdlib.h>

#include "helpers.h"

#include "sim/sim.h"

/* Named kernel bugs in the catalogue today (a floor, not the goal). */
#define MIN_NAMED 28

static void test_every_mutant_caught_and_silent(void **state)
{
	(void)state;
	assert_true(VMLAB_NR_MUTANTS >= 1);
	int bad = 0;
	for (int id = 0; id < VMLAB_NR_MUTANTS; id++) {
		const struct vmlab_mutant_info *mi = vmlab_mutant_info(id);
		assert_non_null(mi);
		struct sim_mutant_outcome o;
		assert_int_equal(sim_mutant_run(id, 0, &o), 0);
		if (!sim_mutant_ok(id, &o)) {
			fprintf(stderr, "mutant %s: caught at %llu/%llu%s, %llu "
					"false positives\n  on: %s\n  off: %s\n",
				mi->name, (unsigned long long)o.first_catch,
				(unsigned long long)o.seeds,
				o.check_named ? "" : " (not by its check)",
				(unsigned long long)o.false_pos,
				o.on_error ? o.on_error : "-",
				o.off_error ? o.off_error : "-");
			bad++;
		}
		sim_mutant_outcome_free(&o);
	}
	assert_int_equal(bad, 0);
}

static void test_registry(void **state)
{
	(void)state;
	for (int id = 0; id < VMLAB_NR_MUTANTS; id++) {
		const struct vmlab_mutant_info *mi = vmlab_mutant_info(id);
		assert_int_equal(vmlab_mutant_lookup(mi->name), id);
		assert_true(mi->seeds >= 1 && *mi->fix && *mi->mechanism);
		bool known = !strcmp(mi->check, "outcome");
		for (int c = 0; c < VMLAB_NR_CHECKS; c++)
			known |= !strcmp(mi->check,
					 vmlab_check_name((enum vmlab_check)c));
		assert_true(known);
		for (int j = 0; j < id; j++) /* names are unique */
			assert_string_not_equal(vmlab_mutant_info(j)->name,
						mi->name);
	}
	/* Every entry says what it is; the named kernel bugs do not shrink
	 * (issue 18 asks for 25). */
	int named = 0;
	for (int id = 0; id < VMLAB_NR_MUTANTS; id++) {
		enum vmlab_mutant_kind k = vmlab_mutant_kind(vmlab_mutant_info(id));
		if (k == VMLAB_MUTANT_UNLABELLED)
			fprintf(stderr, "mutant %s: fix '%s' is neither a commit, "
					"a CVE, 'what-if: ' nor 'self-test: '\n",
				vmlab_mutant_info(id)->name,
				vmlab_mutant_info(id)->fix);
		assert_int_not_equal(k, VMLAB_MUTANT_UNLABELLED);
		named += k == VMLAB_MUTANT_KERNEL;
	}
	assert_true(named >= MIN_NAMED);
	const struct vmlab_mutant_info fake[] = {
		{.fix = "0123456789ab (x)"}, {.fix = "CVE-2018-18281"},
		{.fix = "0123456789a (short)"}, {.fix = "(x86 CPA)"},
		{.fix = "0123456789AB (upper)"}, {.fix = "what-if: x"}};
	const enum vmlab_mutant_kind want[] = {
		VMLAB_MUTANT_KERNEL, VMLAB_MUTANT_KERNEL,
		VMLAB_MUTANT_UNLABELLED, VMLAB_MUTANT_UNLABELLED,
		VMLAB_MUTANT_UNLABELLED, VMLAB_MUTANT_WHAT_IF};
	for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
		assert_int_equal(vmlab_mutant_kind(&fake[i]), want[i]);
	assert_null(vmlab_mutant_info(-1));
	assert_null(vmlab_mutant_info(VMLAB_NR_MUTANTS));
	assert_int_equal(vmlab_mutant_lookup("no-such-bug"), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mutant_lookup(NULL), -VMLAB_EINVAL);
}

static void test_switches(void **state)
{
	(void)state;
	struct vmlab_config cfg;
	t_config(&cfg);
	struct vmlab_machine *m;
	/* A bit past the registry is a bad configuration. */
	cfg.mutants[VMLAB_MUTANT_WORDS - 1] = 1ULL << 63;
	assert_int_equal(vmlab_machine_create(&cfg, &m), -VMLAB_EINVAL);
	t_config(&cfg);
	vmlab_config_mutant(&cfg, 0, true);
	vmlab_config_mutant(&cfg, VMLAB_NR_MUTANTS, true); /* ignored */
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	assert_true(vmlab_mutant_enabled(m, 0));
	assert_false(vmlab_mutant_enabled(m, VMLAB_NR_MUTANTS));
	vmlab_machine_destroy(m);
	vmlab_config_mutant(&cfg, 0, false);
	assert_int_equal(cfg.mutants[0], 0);

	/* Lua: an unknown name is a usage error, a known one is on. */
	struct sim_opts o;
	struct sim_result r;
	sim_opts_default(&o);
	o.scenario = "bad-mutant";
	o.text = "vmlab.machine{mutants = {'no-such-bug'}}";
	o.text_len = strlen(o.text);
	o.quiet = true;
	assert_int_equal(sim_run(&o, &r), SIM_USAGE);
	assert_non_null(strstr(r.error, "unknown mutant 'no-such-bug'"));
	sim_result_free(&r);
	char text[256];
	snprintf(text, sizeof(text), "local m = vmlab.machine{mutants = '%s'}",
		 vmlab_mutant_info(0)->name);
	o.text = text;
	o.text_len = strlen(text);
	assert_int_equal(sim_run(&o, &r), SIM_OK);
	sim_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_switches),
		cmocka_unit_test(test_every_mutant_caught_and_silent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
