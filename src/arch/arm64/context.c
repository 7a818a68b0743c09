/* SPDX-License-Identifier: MIT */
/*
 * arm64 ASID allocation, after arch/arm64/mm/context.c: a global bitmap of
 * ASIDs in use in the current generation, a per-CPU active and reserved
 * ASID, and a rollover that starts a new generation, keeps each CPU's
 * running ASID reserved and makes every CPU flush its whole TLB (locally)
 * before it next switches.  ASID 0 belongs to the kernel (init_mm), whose
 * mappings are global.  mm->context_id = generation | ASID.
 */
#include <stdlib.h>

#include "arch/arm64/arm64.h"

static inline u64 nr_asids(const struct vmlab_machine *m)
{
	return 1ULL << m->asid_bits;
}

static inline u64 asid_mask(const struct vmlab_machine *m)
{
	return nr_asids(m) - 1;
}

static inline bool bit_test(const u64 *map, u64 i)
{
	return map[i / 64] & (1ULL << (i % 64));
}

static inline void bit_set(u64 *map, u64 i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

int arm64_asid_init(struct vmlab_machine *m)
{
	assert(m->asid_bits == 8 || m->asid_bits == 16);
	m->asid_map = host_calloc(m, (size_t)(nr_asids(m) / 64), sizeof(u64));
	if (!m->asid_map)
		return -VMLAB_ENOMEM;
	/* ASID_FIRST_VERSION: generation 1; ASID 0 is reserved. */
	m->asid_gen = nr_asids(m);
	m->asid_cur_idx = 1;
	bit_set(m->asid_map, 0);
	return 0;
}

void arm64_asid_destroy(struct vmlab_machine *m)
{
	free(m->asid_map);
	m->asid_map = NULL;
}

static bool gen_match(const struct vmlab_machine *m, u64 id)
{
	return (id & ~asid_mask(m)) == m->asid_gen;
}

/* flush_context(): a new generation starts from the ASIDs CPUs run now. */
static void flush_context(struct vmlab_machine *m)
{
	memset(m->asid_map, 0, (size_t)(nr_asids(m) / 8));
	bit_set(m->asid_map, 0);
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		u64 a = c->active_asid;
		c->active_asid = 0;
		if (a == 0)
			a = c->reserved_asid;
		bit_set(m->asid_map, a & asid_mask(m));
		c->reserved_asid = a;
		c->flush_pending = true;
	}
	count(m, -1, VMLAB_C_asid_rollover, 1);
}

/* check_update_reserved_asid(): a CPU kept asid across the rollover. */
static bool update_reserved(struct vmlab_machine *m, u64 asid, u64 newasid)
{
	bool hit = false;
	for (int i = 0; i < m->nr_cpus; i++)
		if (m->cpu[i].reserved_asid == asid) {
			m->cpu[i].reserved_asid = newasid;
			hit = true;
		}
	return hit;
}

static u64 find_zero(const struct vmlab_machine *m, u64 from)
{
	for (u64 i = from; i < nr_asids(m); i++)
		if (!bit_test(m->asid_map, i))
			return i;
	return nr_asids(m);
}

static u64 new_context(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	u64 asid = mm->context_id;
	if (asid != 0) {
		u64 newasid = m->asid_gen | (asid & asid_mask(m));
		if (update_reserved(m, asid, newasid))
			return newasid;
		if (!bit_test(m->asid_map, asid & asid_mask(m))) {
			bit_set(m->asid_map, asid & asid_mask(m));
			return newasid;
		}
	}
	u64 idx = find_zero(m, m->asid_cur_idx);
	if (idx == nr_asids(m)) {
		m->asid_gen += nr_asids(m);
		flush_context(m);
		idx = find_zero(m, 1);
		/* Each CPU reserves at most one: a free ASID remains. */
		assert(idx < nr_asids(m));
	}
	bit_set(m->asid_map, idx);
	m->asid_cur_idx = idx;
	count(m, -1, VMLAB_C_asid_new, 1);
	assert(idx != 0);
	return idx | m->asid_gen;
}

void arm64_switch_context(struct vmlab_machine *m, struct cpu *c,
			  struct vmlab_mm *mm)
{
	assert(m->asid_map && mm);
	if (mm->is_init) {
		/* The kernel's TTBR0 holds the reserved (empty) tables under
		 * ASID 0; pending flushes still happen at the switch. */
		if (c->flush_pending) {
			c->flush_pending = false;
			arm64_local_flush_tlb_all(m, c);
		}
		c->hw_tag = 0;
		return;
	}
	u64 asid = mm->context_id;
	/* Fast path: still of this generation and this CPU is not about to
	 * lose its active ASID to a rollover. */
	/* The mutant drops the active_asid test (a8ffaaa060b8): a CPU a
	 * rollover zeroed takes the fast path and skips its pending flush. */
	if (!((c->active_asid ||
	       vmlab_mutant(m, VMLAB_MUT_ASID_REPLACE_ZERO)) &&
	      gen_match(m, asid))) {
		if (!gen_match(m, asid)) {
			asid = new_context(m, mm);
			mm->context_id = asid;
		}
		if (c->flush_pending) {
			c->flush_pending = false;
			arm64_local_flush_tlb_all(m, c);
		}
	}
	c->active_asid = asid;
	c->hw_tag = (u16)(asid & asid_mask(m));
	assert(gen_match(m, mm->context_id) && c->hw_tag != 0);
}

struct vmlab_mm *arm64_mm_of_asid(struct vmlab_machine *m, struct cpu *c,
				  u16 asid)
{
	(void)c;
	if (asid == 0)
		return &m->init_mm;
	for (struct vmlab_mm *mm = m->mm_list; mm; mm = mm->next_mm)
		if (gen_match(m, mm->context_id) &&
		    (mm->context_id & asid_mask(m)) == asid)
			return mm;
	return NULL;
}

/* Could an entry tagged asid on c still be used?  Not once its mm is gone
 * (the ASID is only reused after a rollover, which flushes c first). */
bool arm64_asid_live(struct vmlab_machine *m, struct cpu *c, u16 asid)
{
	return !c->flush_pending && arm64_mm_of_asid(m, c, asid) != NULL;
}

void arm64_mm_release(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	/* As on arm64, the ASID stays allocated until the next rollover;
	 * drop the mm from every CPU's active slot. */
	for (int i = 0; i < m->nr_cpus; i++)
		if (m->cpu[i].active_asid == mm->context_id &&
		    mm->context_id != 0)
			m->cpu[i].active_asid = 0;
}
