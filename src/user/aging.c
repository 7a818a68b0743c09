/* SPDX-License-Identifier: MIT */
/*
 * Page aging with secondary MMUs: folio_referenced_one() (mm/rmap.c, the
 * reclaim scan: ptep_clear_flush_young_notify() per mapped PTE, i.e. the
 * CPU's accessed bit and mmu_notifier_clear_flush_young()) and the
 * khugepaged-style young test (pte_young() || mmu_notifier_test_young()).
 */
#include "user/swapops.h"

int vmlab_user_page_referenced(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	if (!mm || mm->magic != USER_MM_MAGIC || start >= end ||
	    ((start | end) & (VMLAB_PAGE_SIZE - 1)) || end > TASK_SIZE_OF(mm))
		return -VMLAB_EINVAL;
	struct vmlab_machine *m = mm->m;
	int referenced = 0;
	for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p;
		struct vmlab_pte_info in;
		if (!vma_lookup(mm, va) || upte_lookup(mm, va, &p))
			continue;
		m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
		if (in.kind != VMLAB_PTE_LEAF || is_zero_pfn(mm, in.pfn))
			continue;
		user_ptl(mm, true);
		bool young = in.prot & VMLAB_PAGE_ACCESSED;
		/* ptep_clear_flush_young(): x86 skips the flush (a stale A
		 * bit in the TLB only delays aging); arm64 flushes. */
		if (young) {
			upte_set(mm, va, p,
				 mk_upte(m, in.pfn, in.prot & ~VMLAB_PAGE_ACCESSED));
			if (!m->arch->spurious_fault_ok)
				vmlab_flush_tlb_mm_range(m, user_cpu(mm), mm->hw, va,
							 va + VMLAB_PAGE_SIZE,
							 VMLAB_PAGE_SHIFT, false);
		}
		if (vmlab_mm_has_notifiers(mm->hw))
			young |= vmlab_mmu_notifier_clear_flush_young(
					 m, mm->hw, va, va + VMLAB_PAGE_SIZE) != 0;
		user_ptl(mm, false);
		referenced += young;
	}
	assert(referenced >= 0);
	return referenced;
}

int vmlab_user_test_young(struct vmlab_user_mm *mm, u64 addr)
{
	if (!mm || mm->magic != USER_MM_MAGIC || addr >= TASK_SIZE_OF(mm))
		return -VMLAB_EINVAL;
	addr &= VMLAB_PAGE_MASK;
	vmlab_ptep_t p;
	if (vma_lookup(mm, addr) && !upte_lookup(mm, addr, &p)) {
		struct vmlab_pte_info in;
		mm->m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
		if (in.kind == VMLAB_PTE_LEAF && (in.prot & VMLAB_PAGE_ACCESSED))
			return 1;
	}
	return vmlab_mm_has_notifiers(mm->hw) &&
	       vmlab_mmu_notifier_test_young(mm->m, mm->hw, addr);
}
