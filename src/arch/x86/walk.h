/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 hardware page walker's rules, included by the machine's walk
 * dispatch (src/machine/access.c) so the walk is one tight loop: P means
 * usable, PS at PMD/PUD a large leaf, rights are the AND over levels (NX
 * the OR), A is set on every level used and D on a write, CR0.WP=1 and
 * SMEP on (SMAP not modelled).  A PML4 entry with PS is reserved.
 */
#ifndef VMLAB_ARCH_X86_WALK_H
#define VMLAB_ARCH_X86_WALK_H

#include "arch/x86/x86.h"

static inline void x86_walk(struct vmlab_machine *m, struct cpu *c, u64 va,
			    enum vmlab_access kind, bool user,
			    struct walk_res *r)
{
	u16 pcid = cpu_pcid(c);
	u64 table;
	int level = walk_start(m, c, va, pcid, c->loaded_mm->pgd_pfn, &table);
	/* Rights from cached upper levels are not re-derived: table entries
	 * are always P|RW(|US) in this model, as Linux builds them. */
	u64 eff = X86_RW | (user ? X86_US : 0);
	if (level == VMLAB_LVL_PGD)
		eff = X86_RW | X86_US;
	for (; level >= VMLAB_LVL_PTE; level--) {
		if (table_bad(m, table)) {
			walk_rsvd(m, r, kind, user, level, table, 0);
			return;
		}
		u64 *slot = table_slot(m, table, va, level);
		u64 e = *slot;
		c->cnt[VMLAB_C_walk_level]++;
		if (!(e & X86_P) || unlikely(level == VMLAB_LVL_PGD &&
					     (e & X86_PS))) {
			walk_fail(r, e, level,
				  (e & X86_P) ? VMLAB_PF_RSVD | VMLAB_PF_PROT :
						0,
				  kind, user);
			return;
		}
		eff &= e | X86_NX;
		eff |= e & X86_NX;
		if (level != VMLAB_LVL_PTE && !(e & X86_PS)) {
			if (!(e & X86_A))
				entry_set_ad(m, slot, e | X86_A, X86_A);
			table = (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
			if (level <= VMLAB_LVL_PUD)
				pwc_insert(c, va, level - 1, pcid, table);
			continue;
		}
		u64 lpfn = (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
		if (unlikely(leaf_bad(m, lpfn, level))) {
			walk_rsvd(m, r, kind, user, level, lpfn, e);
			return;
		}
		u8 f = TLBF_VALID | ((eff & X86_RW) ? TLBF_W : 0) |
		       ((eff & X86_NX) ? 0 : TLBF_X) |
		       ((eff & X86_US) ? TLBF_U : 0) |
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
		return;
	}
	assert(!"walk fell off the bottom");
}

#endif
