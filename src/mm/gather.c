/* SPDX-License-Identifier: MIT */
/*
 * mmu_gather: batch what an unmap needs flushed, and free pages and
 * page-table pages only after the flush (mm/mmu_gather.c).  A CPU may be
 * caching a translation, or a paging-structure entry, that points at them
 * until the flush has reached it.
 */
#include "machine/internal.h"

#define ENC(pfn, order) (((pfn) << 4) | (u64)(order))
#define TABLE_ORDER 15 /* marks a page-table page in the batch */

static_assert(VMLAB_MAX_ORDER < TABLE_ORDER && TABLE_ORDER <= 0xf,
	      "orders and the table mark fit the 4-bit field");

/* An empty range is start = ~0, end = 0; a gathered one is start < end. */
static inline bool range_ok(const struct vmlab_mmu_gather *tlb)
{
	return (tlb->start == ~0ULL && tlb->end == 0) || tlb->start < tlb->end;
}

#if VMLAB_EXPENSIVE_CHECKS
/* A gather holds an mm, a well-formed range and at most a batch of
 * frames, each a buddy block of a valid order or a page-table page. */
static void gather_check(const struct vmlab_mmu_gather *tlb)
{
	assert(tlb->mm && range_ok(tlb));
	assert(tlb->nr_pages >= 0 && tlb->nr_pages <= VMLAB_GATHER_BATCH);
	for (int i = 0; i < tlb->nr_pages; i++) {
		int order = (int)(tlb->pages[i] & 0xf);
		assert(order <= VMLAB_MAX_ORDER || order == TABLE_ORDER);
	}
}
#else
static inline void gather_check(const struct vmlab_mmu_gather *tlb)
{
	(void)tlb;
}
#endif

void vmlab_tlb_gather_mmu(struct vmlab_mmu_gather *tlb, struct vmlab_mm *mm,
			  int cpu)
{
	assert(tlb && mm);
	/* Field by field: the batch array (VMLAB_GATHER_BATCH slots) is read
	 * only below nr_pages, zeroing it would cost every gather a page of
	 * stores. */
	tlb->mm = mm;
	tlb->cpu = cpu;
	tlb->start = ~0ULL;
	tlb->end = 0;
	tlb->freed_tables = false;
	tlb->stride_shift = VMLAB_PAGE_SHIFT;
	tlb->nr_pages = 0;
	tlb->fullmm = false;
	assert(range_ok(tlb) && tlb->nr_pages == 0 && !tlb->freed_tables);
}

void vmlab_tlb_add_range(struct vmlab_mmu_gather *tlb, u64 start, u64 end,
			 int stride_shift)
{
	assert(start < end);
	/* A mixed batch flushes at the finest stride it saw. */
	if (tlb->start >= tlb->end || stride_shift < tlb->stride_shift)
		tlb->stride_shift = stride_shift;
	if (start < tlb->start)
		tlb->start = start;
	if (end > tlb->end)
		tlb->end = end;
	/* The gathered range covers every range added. */
	assert(tlb->start <= start && end <= tlb->end && range_ok(tlb));
}

/*
 * The mutant is tlb_remove_table() before d86564a2f085 (x86 with
 * RCU_TABLE_FREE, i.e. PARAVIRT): a full table batch went to call_rcu()
 * with no TLB invalidate first (tlb_table_invalidate() did not exist), and
 * a grace period does not wait for the flush tlb_finish_mmu() does later.
 * The model ends the grace period at once: the batch's tables are freed
 * now, the range stays for the final flush.  arm64 invalidated in its
 * __p*_free_tlb() and was not affected.
 */
static bool table_batch_rcu_unflushed(struct vmlab_machine *m,
				      struct vmlab_mmu_gather *tlb)
{
	if (!vmlab_mutant(m, VMLAB_MUT_TABLE_BATCH_NO_INVALIDATE) ||
	    m->arch->id == VMLAB_ARCH_ARM64 || tlb->mm->is_init)
		return false;
	int kept = 0;
	for (int i = 0; i < tlb->nr_pages; i++) {
		if ((tlb->pages[i] & 0xf) == TABLE_ORDER)
			vmlab_pgtable_free(m, tlb->pages[i] >> 4);
		else
			tlb->pages[kept++] = tlb->pages[i];
	}
	bool freed = kept < tlb->nr_pages;
	tlb->nr_pages = kept;
	assert(kept < VMLAB_GATHER_BATCH || !freed);
	return freed;
}

static void queue(struct vmlab_machine *m, struct vmlab_mmu_gather *tlb,
		  u64 enc)
{
	assert((enc & 0xf) <= VMLAB_MAX_ORDER || (enc & 0xf) == TABLE_ORDER);
	if (tlb->nr_pages == VMLAB_GATHER_BATCH &&
	    !table_batch_rcu_unflushed(m, tlb))
		vmlab_tlb_flush_mmu(m, tlb);
	assert(tlb->nr_pages >= 0 && tlb->nr_pages < VMLAB_GATHER_BATCH);
	tlb->pages[tlb->nr_pages++] = enc;
}

void vmlab_tlb_remove_page(struct vmlab_machine *m,
			   struct vmlab_mmu_gather *tlb, u64 pfn, int order)
{
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	queue(m, tlb, ENC(pfn, order));
}

void vmlab_tlb_remove_table(struct vmlab_machine *m,
			    struct vmlab_mmu_gather *tlb, u64 pfn)
{
	tlb->freed_tables = true;
	queue(m, tlb, ENC(pfn, TABLE_ORDER));
	assert(tlb->nr_pages >= 1 &&
	       tlb->pages[tlb->nr_pages - 1] == ENC(pfn, TABLE_ORDER));
}

void vmlab_tlb_flush_mmu(struct vmlab_machine *m,
			 struct vmlab_mmu_gather *tlb)
{
	assert(tlb->mm);
	gather_check(tlb);
	int cpu = vmlab_cpu_valid(m, tlb->cpu) ? tlb->cpu : 0;
	bool window = !tlb->mm->is_init && tlb->start < tlb->end &&
		      tlb->mm->flush_lo >= tlb->mm->flush_hi;
	if (window) {
		tlb->mm->flush_lo = tlb->start;
		tlb->mm->flush_hi = tlb->end;
	}
	sched_point(m, cpu, "tlb_flush_mmu"); /* entries cleared, not flushed */
	if (tlb->start < tlb->end || tlb->freed_tables) {
		u64 start = tlb->start < tlb->end ? tlb->start : 0;
		u64 end = tlb->start < tlb->end ? tlb->end : VMLAB_TLB_FLUSH_ALL;
		if (tlb->fullmm)
			end = VMLAB_TLB_FLUSH_ALL;
		if (tlb->mm->is_init)
			vmlab_flush_tlb_kernel_range(m, cpu, start, end);
		else
			vmlab_flush_tlb_mm_range(m, cpu, tlb->mm, start, end,
						 tlb->stride_shift,
						 tlb->freed_tables);
	}
	if (window)
		tlb->mm->flush_lo = tlb->mm->flush_hi = 0;
	/* Only now may the frames be reused. */
	for (int i = 0; i < tlb->nr_pages; i++) {
		u64 pfn = tlb->pages[i] >> 4;
		int order = (int)(tlb->pages[i] & 0xf);
		if (order == TABLE_ORDER)
			vmlab_pgtable_free(m, pfn);
		else
			vmlab_free_pages(m, cpu, pfn, order);
	}
	tlb->nr_pages = 0;
	tlb->start = ~0ULL;
	tlb->end = 0;
	tlb->freed_tables = false;
	tlb->stride_shift = VMLAB_PAGE_SHIFT;
	assert(range_ok(tlb));
}

void vmlab_tlb_finish_mmu(struct vmlab_machine *m,
			  struct vmlab_mmu_gather *tlb)
{
	vmlab_tlb_flush_mmu(m, tlb);
	assert(tlb->nr_pages == 0);
}
