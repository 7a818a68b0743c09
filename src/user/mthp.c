/* SPDX-License-Identifier: MIT */
/*
 * Multi-size THP for anonymous memory (mTHP, mm/huge_memory.c's per-size
 * sysfs controls and mm/memory.c's alloc_anon_folio()): the
 * hugepages-<size>kB/enabled mode of each order, which orders a VMA may
 * take (always, madvise with VM_HUGEPAGE, or inherit from the global
 * `enabled`), the choice of order on a write fault (the highest enabled
 * order whose naturally aligned range fits the VMA and has only none
 * PTEs, lower orders when the allocation fails) and the per-size stats.
 * The PMD order's mode is kept here too; its fault is huge_memory.c's.
 */
#include "user/uinternal.h"

void mthp_init(struct user_svc *s)
{
	assert(s);
	for (int o = 0; o < MTHP_NR_ORDERS; o++)
		s->mthp_enabled[o] = VMLAB_THP_NEVER;
	/* Linux's defaults: the PMD size follows the global setting. */
	s->mthp_enabled[HPAGE_PMD_ORDER] = VMLAB_THP_INHERIT;
	memset(s->mthp, 0, sizeof(s->mthp));
	assert(s->mthp_enabled[MTHP_MIN_ORDER] == VMLAB_THP_NEVER);
}

static bool order_valid(int order)
{
	return order >= MTHP_MIN_ORDER && order <= HPAGE_PMD_ORDER;
}

int vmlab_user_set_mthp(struct vmlab_machine *m, int order, int mode)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s || !order_valid(order) || mode < VMLAB_THP_ALWAYS ||
	    mode > VMLAB_THP_INHERIT)
		return -VMLAB_EINVAL;
	s->mthp_enabled[order] = mode;
	assert(s->mthp_enabled[order] == mode);
	return 0;
}

int vmlab_user_get_mthp(struct vmlab_machine *m, int order)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s || !order_valid(order))
		return -VMLAB_EINVAL;
	assert(s->mthp_enabled[order] >= VMLAB_THP_ALWAYS &&
	       s->mthp_enabled[order] <= VMLAB_THP_INHERIT);
	return s->mthp_enabled[order];
}

int vmlab_user_mthp_stats(struct vmlab_machine *m, int order,
			  struct vmlab_mthp_stats *out)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s || !out || !order_valid(order))
		return -VMLAB_EINVAL;
	*out = s->mthp[order];
	return 0;
}

bool thp_order_enabled(const struct vmlab_vma *v, int order)
{
	const struct user_svc *s = v->mm->svc;
	assert(order_valid(order));
	int mode = s->mthp_enabled[order];
	/* __thp_vma_allowable_orders(): inherit takes the global mode. */
	if (mode == VMLAB_THP_INHERIT)
		mode = s->thp_enabled;
	assert(mode >= VMLAB_THP_ALWAYS && mode <= VMLAB_THP_NEVER);
	if (mode == VMLAB_THP_ALWAYS)
		return true;
	return mode == VMLAB_THP_MADVISE && (v->vm_flags & VMLAB_VM_HUGEPAGE);
}

/* vma_thp_disabled() and the anonymous-only rule, without the PMD fit
 * thp_vma_allowable() asks for. */
static bool vma_may_mthp(const struct vmlab_vma *v)
{
	if (!vma_is_anonymous(v) || (v->vm_flags & VMLAB_VM_SHARED))
		return false;
	if (v->vm_flags & (VMLAB_VM_NOHUGEPAGE | VMLAB_VM_SPECIAL |
			   VMLAB_VM_HUGETLB))
		return false;
	return !v->mm->thp_disable;
}

/* pte_range_none(): the nr PTEs from first are all empty.  A marker, a
 * swap entry or the zero page counts as an entry. */
static bool pte_range_none(struct vmlab_user_mm *mm, vmlab_ptep_t first,
			   u64 nr)
{
	assert(nr >= 4 && nr < HPAGE_PMD_NR);
	for (u64 i = 0; i < nr; i++)
		if (upte_get(mm, first + i * sizeof(u64)))
			return false;
	return true;
}

static void prepare_folio_pages(struct vmlab_user_mm *mm, u64 pfn, int order)
{
	int err = vmlab_split_page(mm->m, pfn, order);
	assert(!err);
	(void)err;
	for (u64 i = 0; i < (1ULL << order); i++) {
		struct vmlab_page *pg = upage(mm->m, pfn + i);
		clear_user_frame(mm->m, pfn + i);
		pg->owner = PG_OWNER_ANON;
		pg->mapcount = 0;
		pg->private_ = 0;
	}
	assert(upage(mm->m, pfn)->order == 0);
}

int mthp_alloc_anon(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		    u64 addr, vmlab_ptep_t p, u64 *pfn, u64 *first, int *order)
{
	struct user_svc *s = mm->svc;
	assert(addr >= v->vm_start && addr < v->vm_end);
	assert(!upte_get(mm, p));
	if (!vma_may_mthp(v))
		return -VMLAB_ENOENT;
	/* A lower order's range lies inside a higher one's, so walking down
	 * from the top finds the highest order with an empty range first
	 * and then tries the lower ones only when an allocation fails. */
	for (int o = HPAGE_PMD_ORDER - 1; o >= MTHP_MIN_ORDER; o--) {
		u64 size = VMLAB_PAGE_SIZE << o;
		u64 a = addr & ~(size - 1);
		if (!thp_order_enabled(v, o) || a < v->vm_start ||
		    a + size > v->vm_end)
			continue;
		vmlab_ptep_t f = p - ((addr - a) / VMLAB_PAGE_SIZE) * sizeof(u64);
		if (!pte_range_none(mm, f, 1ULL << o))
			continue;
		if (vmlab_alloc_pages(mm->m, cpu, o, pfn)) {
			s->mthp[o].anon_fault_fallback++;
			continue;
		}
		prepare_folio_pages(mm, *pfn, o);
		s->mthp[o].anon_fault_alloc++;
		*first = a;
		*order = o;
		assert(*first <= addr && addr < *first + size);
		return 0;
	}
	return -VMLAB_ENOENT;
}
