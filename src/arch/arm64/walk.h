/* SPDX-License-Identifier: MIT */
/*
 * The arm64 (VMSAv8-64 stage 1, 4K granule, 48-bit VA) hardware walker's
 * rules, included by the machine's walk dispatch (src/machine/access.c):
 * TTBR1 (init_mm) translates the upper half, TTBR0 (the running mm) the
 * lower, and init_mm's TTBR0 is the empty reserved table.  Level 3 needs
 * the page bit, levels 1 and 2 may hold blocks, level 0 only tables.
 * PXNTable/UXNTable accumulate down the walk.  AP[1] grants EL0 access,
 * AP[2] makes the page read-only; EL0-writable pages are never executable
 * at EL1 (PAN not modelled, as SMAP is not on x86).  AF and dirty (DBM)
 * are updated by hardware with FEAT_HAFDBS; without it AF=0 raises an
 * access-flag fault (reported without VMLAB_PF_PROT: it is no permission
 * fault) and a DBM page still read-only a permission fault on a write.
 */
#ifndef VMLAB_ARCH_ARM64_WALK_H
#define VMLAB_ARCH_ARM64_WALK_H

#include "arch/arm64/arm64.h"

/* What a walk carries from level to level. */
struct arm64_walk_state {
	u64 *entries;  /* host bytes of the table read next */
	u64 xn_table;  /* PXNTable/UXNTable accumulated so far */
	const struct walk_env *env;
};

/* A page (level 3) or block (levels 1, 2) descriptor: rights, AF/DBM,
 * the TLB entry. */
static inline void arm64_leaf(struct vmlab_machine *m, struct cpu *c, u64 va,
			      enum vmlab_access kind, bool user,
			      struct walk_res *r, int level, u64 *slot, u64 e,
			      u64 xn_table, u16 asid)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	assert(!VMLAB_DEBUG_CHECKS || (e & A64_VALID));
	u64 lpfn = (e & A64_OA_MASK) >> VMLAB_PAGE_SHIFT;
	if (unlikely(leaf_bad(m, lpfn, level))) {
		walk_rsvd(m, r, kind, user, level, lpfn, e);
		return;
	}
	bool el0 = e & A64_USER;
	bool rdonly = e & A64_RDONLY, dbm = e & A64_DBM;
	bool x = el0 ? !(e & A64_UXN) && !(xn_table & A64_UXN_TABLE)
		     : !(e & A64_PXN) && !(xn_table & A64_PXN_TABLE);
	u8 f = TLBF_VALID | (!rdonly || (dbm && m->hw_afdbm) ? TLBF_W : 0) |
	       (x ? TLBF_X : 0) | (el0 ? TLBF_U : 0) |
	       ((e & A64_NG) ? 0 : TLBF_G);
	u32 pf = perm_fault(f, kind, user);
	if (pf) {
		walk_fail(r, e, level, pf, kind, user);
		return;
	}
	u64 ne = e;
	if (!(e & A64_AF)) {
		if (!m->hw_afdbm) {
			/* An access-flag fault: its own fault class, not a
			 * permission fault (the generic handler sets AF,
			 * handle_pte_fault's mkyoung). */
			c->cnt[VMLAB_C_af_fault]++;
			walk_fail(r, e, level, 0, kind, user);
			return;
		}
		ne |= A64_AF;
	}
	if (kind == VMLAB_WRITE && rdonly) {
		assert(dbm && m->hw_afdbm); /* else perm_fault above */
		ne &= ~A64_RDONLY;
	}
	if (ne != e) {
		entry_set_ad(m, slot, ne, A64_AF | A64_RDONLY);
		c->cnt[VMLAB_C_ad_update]++;
	}
	if (!(ne & A64_RDONLY))
		f |= TLBF_D;
	walk_ok(m, r, va, ne, level, lpfn, asid, f);
}

/* One level of the walk, level a constant where it is inlined: true when
 * the descriptor is a table and the walk goes down into it, false when r
 * holds the outcome. */
static inline __attribute__((always_inline)) bool
arm64_level(struct vmlab_machine *m, struct cpu *c, u64 va,
	    enum vmlab_access kind, bool user, struct walk_res *r, int level,
	    struct arm64_walk_state *w)
{
	u64 *slot = walk_slot(w->entries, va, level);
	u64 e = *slot;
	c->cnt[VMLAB_C_walk_level]++;
	if (!(e & A64_VALID) ||
	    unlikely((level == VMLAB_LVL_PTE || level == VMLAB_LVL_PGD) &&
		     !(e & A64_TABLE_PAGE))) {
		/* Translation fault (a reserved encoding is one too). */
		walk_fail(r, e, level, 0, kind, user);
		return false;
	}
	if (level == VMLAB_LVL_PTE || !(e & A64_TABLE_PAGE)) {
		arm64_leaf(m, c, va, kind, user, r, level, slot, e, w->xn_table,
			   w->env->tag);
		return false;
	}
	w->xn_table |= e & (A64_PXN_TABLE | A64_UXN_TABLE);
	u64 table = (e & A64_OA_MASK) >> VMLAB_PAGE_SHIFT;
	w->entries = walk_next(m, c, va, level, w->env, table);
	if (unlikely(!w->entries)) {
		walk_rsvd(m, r, kind, user, level - 1, table, 0);
		return false;
	}
	return true;
}

static inline void arm64_walk(struct vmlab_machine *m, struct cpu *c, u64 va,
			      enum vmlab_access kind, bool user,
			      struct walk_res *r)
{
	struct walk_env env = walk_env_of(m, c);
	struct arm64_walk_state w = {.env = &env};
	bool upper = va >> 63;
	if (!upper && c->loaded_mm->is_init) {
		/* TTBR0 of a kernel thread: reserved_pg_dir, all invalid. */
		c->cnt[VMLAB_C_walk]++;
		c->cnt[VMLAB_C_walk_level]++;
		walk_fail(r, 0, VMLAB_LVL_PGD, 0, kind, user);
		return;
	}
	u64 root = upper ? m->init_mm.pgd_pfn : c->loaded_mm->pgd_pfn;
	u64 table;
	int level = walk_start(m, c, va, &env, root, &table, &w.entries);
	if (unlikely(!w.entries)) {
		walk_rsvd(m, r, kind, user, level, table, 0);
		return;
	}
	/* The table's host bytes travel down the walk, each level's code
	 * its own (see x86). */
	switch (level) {
	case VMLAB_LVL_PGD:
		if (!arm64_level(m, c, va, kind, user, r, VMLAB_LVL_PGD, &w))
			return;
		__attribute__((fallthrough));
	case VMLAB_LVL_PUD:
		if (!arm64_level(m, c, va, kind, user, r, VMLAB_LVL_PUD, &w))
			return;
		__attribute__((fallthrough));
	case VMLAB_LVL_PMD:
		if (!arm64_level(m, c, va, kind, user, r, VMLAB_LVL_PMD, &w))
			return;
		__attribute__((fallthrough));
	default:
		assert(level >= VMLAB_LVL_PTE);
		if (arm64_level(m, c, va, kind, user, r, VMLAB_LVL_PTE, &w))
			assert(!"walk fell off the bottom");
	}
}

/*
 * The common walk as a pure probe (access.c, struct walk_probe): table
 * descriptors down to a page descriptor with AF set that allows the
 * access with no DBM update (a write needs it writable).  Anything else:
 * false, and arm64_walk does it all.
 */
static inline __attribute__((always_inline)) bool
arm64_probe(struct vmlab_machine *m, struct cpu *c, const struct walk_env *w,
	    u64 va, enum vmlab_access kind, bool user, struct walk_probe *p)
{
	bool upper = va >> 63;
	if (unlikely(!upper && c->loaded_mm->is_init))
		return false;
	u64 *t = probe_start(c, w, va,
			     upper ? m->init_mm.pgd_pfn : c->loaded_mm->pgd_pfn,
			     p);
	if (unlikely(!t))
		return false;
	u64 xn = 0, e, pfn;
	const u64 tbl = A64_VALID | A64_TABLE_PAGE;
	switch (p->start) {
	case VMLAB_LVL_PGD:
		t = probe_down(w, t, va, VMLAB_LVL_PGD, tbl, tbl, A64_OA_MASK,
			       &e, &pfn);
		if (unlikely(!t))
			return false;
		xn |= e;
		t = p->pmd_host = probe_down(w, t, va, VMLAB_LVL_PUD, tbl, tbl,
					     A64_OA_MASK, &e, &p->pmd_pfn);
		if (unlikely(!t))
			return false;
		xn |= e;
		__attribute__((fallthrough));
	case VMLAB_LVL_PMD:
		t = p->pte_host = probe_down(w, t, va, VMLAB_LVL_PMD, tbl, tbl,
					     A64_OA_MASK, &e, &p->pte_pfn);
		if (unlikely(!t))
			return false;
		xn |= e;
		__attribute__((fallthrough));
	default:
		break;
	}
	e = *walk_slot(t, va, VMLAB_LVL_PTE);
	if (unlikely((e & (tbl | A64_AF)) != (tbl | A64_AF) ||
		     (kind == VMLAB_WRITE && (e & A64_RDONLY))))
		return false;
	/* arm64_leaf's flags (PXNTable/UXNTable from the tables only). */
	xn &= A64_PXN_TABLE | A64_UXN_TABLE;
	bool el0 = e & A64_USER, rdonly = e & A64_RDONLY;
	bool x = el0 ? !(e & A64_UXN) && !(xn & A64_UXN_TABLE)
		     : !(e & A64_PXN) && !(xn & A64_PXN_TABLE);
	u8 f = TLBF_VALID |
	       (!rdonly || ((e & A64_DBM) && m->hw_afdbm) ? TLBF_W : 0) |
	       (x ? TLBF_X : 0) | (el0 ? TLBF_U : 0) |
	       ((e & A64_NG) ? 0 : TLBF_G) | (rdonly ? 0 : TLBF_D);
	if (unlikely(perm_fault(f, kind, user)))
		return false;
	p->pfn = (e & A64_OA_MASK) >> VMLAB_PAGE_SHIFT;
	p->host = (u8 *)probe_host(w, p->pfn);
	p->flags = f;
	return p->host != NULL;
}

#endif
