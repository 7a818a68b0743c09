/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 hardware page walker's rules, included by the machine's walk
 * dispatch (src/machine/access.c) so the walk is one tight sequence: P
 * means usable, PS at PMD/PUD a large leaf, rights are the AND over levels
 * (NX the OR), A is set on every level used and D on a write, CR0.WP=1 and
 * SMEP on (SMAP not modelled).  A PML4 entry with PS is reserved.
 */
#ifndef VMLAB_ARCH_X86_WALK_H
#define VMLAB_ARCH_X86_WALK_H

#include "arch/x86/x86.h"

/* What a walk carries from level to level. */
struct x86_walk_state {
	u64 *entries; /* host bytes of the table read next */
	u64 eff;      /* rights so far: RW and US ANDed, NX ORed */
	const struct walk_env *env;
};

/* A leaf at level (a 4 KiB page, or a 2 MiB / 1 GiB one): rights, A/D,
 * the TLB entry. */
static inline void x86_leaf(struct vmlab_machine *m, struct cpu *c, u64 va,
			    enum vmlab_access kind, bool user,
			    struct walk_res *r, int level, u64 *slot, u64 e,
			    u64 eff, u16 pcid)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	assert(!VMLAB_DEBUG_CHECKS || (e & X86_P));
	u64 lpfn = (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
	if (unlikely(leaf_bad(m, lpfn, level))) {
		walk_rsvd(m, r, kind, user, level, lpfn, e);
		return;
	}
	u8 f = TLBF_VALID | ((eff & X86_RW) ? TLBF_W : 0) |
	       ((eff & X86_NX) ? 0 : TLBF_X) | ((eff & X86_US) ? TLBF_U : 0) |
	       ((e & X86_G) ? TLBF_G : 0);
	u32 pf = perm_fault(f, kind, user);
	if (pf) {
		walk_fail(r, e, level, pf, kind, user);
		return;
	}
	u64 ne = e | X86_A | (kind == VMLAB_WRITE ? X86_D : 0);
	if (ne != e) {
		entry_set_ad(m, slot, ne, X86_A | X86_D);
		c->cnt[VMLAB_C_ad_update]++;
	}
	if (ne & X86_D)
		f |= TLBF_D;
	walk_ok(m, r, va, ne, level, lpfn, pcid, f);
}

/*
 * One level of the walk, level a constant where it is inlined: true when
 * the entry is a table and the walk goes down into it (w->entries are its
 * bytes), false when r holds the outcome (a leaf or a fault).
 */
static inline __attribute__((always_inline)) bool
x86_level(struct vmlab_machine *m, struct cpu *c, u64 va,
	  enum vmlab_access kind, bool user, struct walk_res *r, int level,
	  struct x86_walk_state *w)
{
	u64 *slot = walk_slot(w->entries, va, level);
	u64 e = *slot;
	c->cnt[VMLAB_C_walk_level]++;
	if (!(e & X86_P) ||
	    unlikely(level == VMLAB_LVL_PGD && (e & X86_PS))) {
		walk_fail(r, e, level,
			  (e & X86_P) ? VMLAB_PF_RSVD | VMLAB_PF_PROT : 0, kind,
			  user);
		return false;
	}
	w->eff &= e | X86_NX;
	w->eff |= e & X86_NX;
	if (level == VMLAB_LVL_PTE || (e & X86_PS)) {
		x86_leaf(m, c, va, kind, user, r, level, slot, e, w->eff,
			 w->env->tag);
		return false;
	}
	if (!(e & X86_A))
		entry_set_ad(m, slot, e | X86_A, X86_A);
	u64 table = (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
	w->entries = walk_next(m, c, va, level, w->env, table);
	if (unlikely(!w->entries)) {
		walk_rsvd(m, r, kind, user, level - 1, table, 0);
		return false;
	}
	return true;
}

static inline void x86_walk(struct vmlab_machine *m, struct cpu *c, u64 va,
			    enum vmlab_access kind, bool user,
			    struct walk_res *r)
{
	struct walk_env env = walk_env_of(m, c);
	struct x86_walk_state w = {.env = &env};
	u64 table;
	int level = walk_start(m, c, va, &env, c->loaded_mm->pgd_pfn, &table,
			       &w.entries);
	/* Rights from cached upper levels are not re-derived: table entries
	 * are always P|RW(|US) in this model, as Linux builds them. */
	w.eff = level == VMLAB_LVL_PGD ? X86_RW | X86_US
				       : X86_RW | (user ? X86_US : 0);
	if (unlikely(!w.entries)) {
		walk_rsvd(m, r, kind, user, level, table, 0);
		return;
	}
	/* The table's host bytes travel down the walk, each level's code
	 * is its own (constant shifts, no level tests at run time). */
	switch (level) {
	case VMLAB_LVL_PGD:
		if (!x86_level(m, c, va, kind, user, r, VMLAB_LVL_PGD, &w))
			return;
		__attribute__((fallthrough));
	case VMLAB_LVL_PUD:
		if (!x86_level(m, c, va, kind, user, r, VMLAB_LVL_PUD, &w))
			return;
		__attribute__((fallthrough));
	case VMLAB_LVL_PMD:
		if (!x86_level(m, c, va, kind, user, r, VMLAB_LVL_PMD, &w))
			return;
		__attribute__((fallthrough));
	default:
		assert(level >= VMLAB_LVL_PTE);
		if (x86_level(m, c, va, kind, user, r, VMLAB_LVL_PTE, &w))
			assert(!"walk fell off the bottom");
	}
}

/*
 * The common walk as a pure probe (access.c, struct walk_probe): tables
 * present with A set and no PS, a present 4 KiB leaf with A (and D for a
 * write) that allows the access.  Anything else: false, and x86_walk
 * does it all.
 */
static inline __attribute__((always_inline)) bool
x86_probe(struct cpu *c, const struct walk_env *w, u64 va,
	  enum vmlab_access kind, bool user, struct walk_probe *p)
{
	u64 *t = probe_start(c, w, va, c->loaded_mm->pgd_pfn, p);
	if (unlikely(!t))
		return false;
	/* Rights as x86_walk: RW and US ANDed, NX ORed over the levels. */
	u64 and_ = p->start == VMLAB_LVL_PGD ? X86_RW | X86_US
					     : X86_RW | (user ? X86_US : 0);
	u64 or_ = 0, e, pfn;
	/* Present tables with A set, no PS (a PML4 PS is reserved, a PDPT
	 * or PD one a large page). */
	const u64 mask = X86_P | X86_PS | X86_A, want = X86_P | X86_A;
	switch (p->start) {
	case VMLAB_LVL_PGD:
		t = probe_down(w, t, va, VMLAB_LVL_PGD, mask, want,
			       X86_PFN_MASK, &e, &pfn);
		if (unlikely(!t))
			return false;
		and_ &= e;
		or_ |= e;
		t = p->pmd_host = probe_down(w, t, va, VMLAB_LVL_PUD, mask, want,
					     X86_PFN_MASK, &e, &p->pmd_pfn);
		if (unlikely(!t))
			return false;
		and_ &= e;
		or_ |= e;
		__attribute__((fallthrough));
	case VMLAB_LVL_PMD:
		t = p->pte_host = probe_down(w, t, va, VMLAB_LVL_PMD, mask, want,
					     X86_PFN_MASK, &e, &p->pte_pfn);
		if (unlikely(!t))
			return false;
		and_ &= e;
		or_ |= e;
		__attribute__((fallthrough));
	default:
		break;
	}
	e = *walk_slot(t, va, VMLAB_LVL_PTE);
	u64 need = X86_P | X86_A | (kind == VMLAB_WRITE ? X86_D : 0);
	if (unlikely((e & need) != need))
		return false;
	and_ &= e;
	or_ |= e;
	/* x86_leaf's flags, bit by bit: RW is TLBF_W's bit, US one below
	 * TLBF_U, G four above TLBF_G, D one above TLBF_D. */
	static_assert(X86_RW == TLBF_W && X86_US << 1 == TLBF_U &&
			      X86_G >> 4 == TLBF_G && X86_D >> 1 == TLBF_D,
		      "x86 bits vs TLBF_*");
	u8 f = (u8)(TLBF_VALID | (and_ & X86_RW) | (and_ & X86_US) << 1 |
		    ((or_ & X86_NX) ? 0 : TLBF_X) | (e & X86_G) >> 4 |
		    (e & X86_D) >> 1);
	if (unlikely(perm_fault(f, kind, user)))
		return false;
	p->pfn = (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
	p->host = (u8 *)probe_host(w, p->pfn);
	p->flags = f;
	return p->host != NULL;
}

#endif
