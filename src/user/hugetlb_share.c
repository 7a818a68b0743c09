/* SPDX-License-Identifier: MIT */
/*
 * hugetlb PMD sharing (mm/hugetlb.c huge_pmd_share(), huge_pmd_unshare(),
 * want_pmd_share(), CONFIG_HUGETLB_PMD_PAGE_TABLE_SHARING, which x86-64
 * and arm64 with 4K pages both select through
 * ARCH_WANT_HUGE_PMD_SHARE): the mms that map the same PUD_SIZE-aligned
 * 1 GiB range of one hugetlbfs file MAP_SHARED, each by a VMA that
 * covers the whole PUD range, use one PMD table page; its page refcount
 * counts the PUD entries that link it (the kernel's page_count, later
 * ptdesc pt_share_count).  Unsharing clears this mm's PUD entry and
 * drops the reference; the caller must then flush this mm's TLBs for the
 * whole PUD range (a4a118f2eead, CVE-2021-4002), since this mm's CPUs
 * may still cache entries of a table it no longer reaches, and the other
 * mms' zaps will not flush this mm.
 */
#include "user/uinternal.h"

#define PUD_MASK (~(VMLAB_PUD_SIZE - 1))

/* vma_shareable(): VM_MAYSHARE and the PUD range of addr inside v. */
static bool vma_shareable(const struct vmlab_vma *v, u64 addr)
{
	u64 base = addr & PUD_MASK;
	return (v->vm_flags & VMLAB_VM_MAYSHARE) && v->vm_start <= base &&
	       base + VMLAB_PUD_SIZE <= v->vm_end;
}

bool want_pmd_share(const struct vmlab_vma *v, u64 addr)
{
	assert(v->vm_flags & VMLAB_VM_HUGETLB);
	return v->hugetlb && vma_shareable(v, addr);
}

/* page_table_shareable(): the address in svma of the file page v maps
 * at addr, if the two can share the table there (same PMD index, the
 * same flags but VM_LOCKED, svma covering its whole PUD range); 0. */
static u64 page_table_shareable(const struct vmlab_vma *svma,
				const struct vmlab_vma *v, u64 addr, u64 idx)
{
	const u64 lock = VMLAB_VM_LOCKED;
	assert(svma != v && svma->hugetlb == v->hugetlb);
	assert((svma->vm_flags & VMLAB_VM_HUGETLB) && !(addr & ~HPAGE_PMD_MASK));
	if (idx < svma->vm_pgoff)
		return 0;
	u64 saddr = ((idx - svma->vm_pgoff) << VMLAB_PAGE_SHIFT) +
		    svma->vm_start;
	if (saddr < svma->vm_start || saddr >= svma->vm_end)
		return 0;
	if (((saddr ^ addr) & (VMLAB_PUD_SIZE - 1)) ||
	    (v->vm_flags & ~lock) != (svma->vm_flags & ~lock) ||
	    !vma_shareable(svma, saddr))
		return 0;
	return saddr;
}

/* The PMD table linked by mm's PUD entry for addr, or 0 (pudp set when
 * the PUD level exists). */
static u64 pmd_table(struct vmlab_user_mm *mm, u64 addr, vmlab_ptep_t *pudp)
{
	struct vmlab_machine *m = mm->m;
	vmlab_ptep_t p;
	assert(mm->magic == USER_MM_MAGIC && addr < USER_VA_END(mm));
	if (vmlab_lookup_entry(m, mm->hw, addr, VMLAB_LVL_PUD, &p))
		return 0;
	if (pudp)
		*pudp = p;
	struct vmlab_pte_info in;
	m->arch->decode(vmlab_get_entry(m, p), VMLAB_LVL_PUD, &in);
	return in.kind == VMLAB_PTE_TABLE ? in.pfn : 0;
}

/* huge_pmd_share(): link another mm's PMD table for addr from the empty
 * PUD entry pudp, if one qualifies. */
static void huge_pmd_share(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   u64 addr, vmlab_ptep_t pudp)
{
	struct vmlab_machine *m = mm->m;
	u64 idx = ((addr - v->vm_start) >> VMLAB_PAGE_SHIFT) + v->vm_pgoff;
	assert(!vmlab_get_entry(m, pudp) && want_pmd_share(v, addr));
	/* The i_mmap walk: every VMA of the file, in whichever mm. */
	for (struct vmlab_user_mm *o = mm->svc->mms; o; o = o->next)
		for (struct vmlab_vma *s = o->first; s; s = s->next) {
			if (s == v || s->hugetlb != v->hugetlb)
				continue;
			u64 saddr = page_table_shareable(s, v, addr, idx);
			u64 t = saddr ? pmd_table(o, saddr, NULL) : 0;
			if (!t)
				continue;
			struct vmlab_page *pg = upage(m, t);
			assert((pg->flags & VMLAB_PG_TABLE) && pg->refcount > 0);
			pg->refcount++;
			vmlab_set_entry(m, mm->hw, addr & PUD_MASK, VMLAB_LVL_PUD,
					pudp, m->arch->mk_table(t, true));
			mm->ev.pmd_share++;
			return;
		}
}

int huge_pte_alloc(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr,
		   vmlab_ptep_t *pmdp)
{
	assert(v->mm == mm && addr >= v->vm_start && addr < v->vm_end);
	if (want_pmd_share(v, addr)) {
		vmlab_ptep_t pudp;
		if (upt_alloc_level(mm, addr, VMLAB_LVL_PUD, &pudp))
			return -VMLAB_ENOMEM;
		if (!vmlab_get_entry(mm->m, pudp))
			huge_pmd_share(mm, v, addr, pudp);
	}
	return upt_alloc_level(mm, addr, VMLAB_LVL_PMD, pmdp);
}

bool hugetlb_pmd_shared(struct vmlab_user_mm *mm, u64 addr)
{
	u64 t = pmd_table(mm, addr, NULL);
	assert(!t || (upage(mm->m, t)->flags & VMLAB_PG_TABLE));
	return t && upage(mm->m, t)->refcount > 1;
}

bool huge_pmd_unshare(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr)
{
	struct vmlab_machine *m = mm->m;
	vmlab_ptep_t pudp;
	u64 t = pmd_table(mm, addr, &pudp);
	(void)v; /* read by the assertions only */
	assert(v->mm == mm && (v->vm_flags & VMLAB_VM_HUGETLB));
	if (!t || upage(m, t)->refcount == 1)
		return false;
	/* (v may have been split since it linked the table: the kernel
	 * unshares at the split, hugetlb_split(), which is not modelled.) */
	vmlab_set_entry(m, mm->hw, addr & PUD_MASK, VMLAB_LVL_PUD, pudp, 0);
	upage(m, t)->refcount--;
	mm->ev.pmd_unshare++;
	return true;
}

void hugetlb_unshare_flush(struct ugather *g, u64 addr)
{
	u64 base = addr & PUD_MASK;
	assert(base + VMLAB_PUD_SIZE <= USER_VA_END(g->mm));
	/* tlb_flush_pmd_range(tlb, address & PUD_MASK, PUD_SIZE); the
	 * mutant is the kernel before a4a118f2eead: nothing added, so a zap
	 * that cleared no leaf of its own flushes nothing. */
	if (vmlab_mutant(g->mm->m, VMLAB_MUT_HUGETLB_UNSHARE_NO_FLUSH))
		return;
	vmlab_tlb_add_range(&g->tlb, base, base + VMLAB_PUD_SIZE,
			    VMLAB_PMD_SHIFT);
	assert(g->tlb.start <= base && g->tlb.end >= base + VMLAB_PUD_SIZE);
}
