/* SPDX-License-Identifier: MIT */
/*
 * The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (fs/proc/task_mmu.c
 * do_pagemap_scan(), Linux 6.18): argument checks in Linux's order, each
 * page's categories (pagemap_page_category()), the category filter, and
 * the output of runs with max_pages and a full vector stopping the walk
 * (walk_end).  Checked against a 6.18 host by test_user_locks.
 */
#include "user/swapops.h"

#define PM_SCAN_FLAGS (VMLAB_PM_SCAN_WP_MATCHING | VMLAB_PM_SCAN_CHECK_WPASYNC)
#define PM_SCAN_CATEGORIES ((VMLAB_PAGE_IS_GUARD << 1) - 1)

_Static_assert(sizeof(struct vmlab_pm_scan_arg) == 96,
	       "struct pm_scan_arg is 96 bytes in Linux");

struct scan {
	struct vmlab_pm_scan_arg *arg;
	u64 found_pages;
	u64 nr_out; /* regions in vec, the last one still growing */
	bool full;  /* -ENOSPC: stop the walk */
};

/* pagemap_scan_is_interesting_page() */
static bool interesting(const struct scan *s, u64 cat)
{
	const struct vmlab_pm_scan_arg *a = s->arg;
	cat ^= a->category_inverted;
	if ((cat & a->category_mask) != a->category_mask)
		return false;
	return !a->category_anyof_mask || (cat & a->category_anyof_mask);
}

/* pagemap_scan_output(): [addr, end) with categories cat; false when the
 * walk must stop (walk_end set). */
static bool output(struct scan *s, u64 cat, u64 addr, u64 end)
{
	struct vmlab_pm_scan_arg *a = s->arg;
	assert(addr < end && !s->full);
	if (!a->vec)
		return true;
	cat &= a->return_mask;
	u64 n = PAGES(end - addr);
	if (s->found_pages + n < s->found_pages ||
	    s->found_pages + n > a->max_pages) {
		u64 fit = a->max_pages - s->found_pages;
		end = addr + (fit << VMLAB_PAGE_SHIFT);
		n = fit;
		s->full = true;
	}
	if (n) {
		struct vmlab_page_region *cur = s->nr_out ? &a->vec[s->nr_out - 1]
							   : NULL;
		if (cur && cur->categories == cat && cur->end == addr) {
			cur->end = end;
		} else if (s->nr_out < a->vec_len) {
			a->vec[s->nr_out++] =
				(struct vmlab_page_region){addr, end, cat};
		} else {
			end = addr; /* no room for another run */
			n = 0;
			s->full = true;
		}
	}
	s->found_pages += n;
	if (s->full)
		a->walk_end = end;
	return !s->full;
}

/* pagemap_page_category() for the PTE at va (none: no table there). */
static u64 page_category(struct vmlab_user_mm *mm, u64 va)
{
	struct vmlab_machine *m = mm->m;
	vmlab_ptep_t p;
	struct vmlab_pte_info in;
	/* pagemap_thp_category(): a PMD-mapped THP */
	if (!vmlab_lookup_entry(m, mm->hw, va, VMLAB_LVL_PMD, &p) &&
	    pmd_trans_huge(m, vmlab_get_entry(m, p), &in)) {
		u64 cat = VMLAB_PAGE_IS_PRESENT | VMLAB_PAGE_IS_WRITTEN |
			  VMLAB_PAGE_IS_HUGE;
		if (in.prot & PAGE_SOFT_DIRTY)
			cat |= VMLAB_PAGE_IS_SOFT_DIRTY;
		if (is_huge_zero_pfn(mm, in.pfn))
			cat |= VMLAB_PAGE_IS_PFNZERO;
		else if (upage(m, in.pfn)->owner == PG_OWNER_FILE)
			cat |= VMLAB_PAGE_IS_FILE;
		return cat;
	}
	if (upte_lookup(mm, va, &p))
		return VMLAB_PAGE_IS_WRITTEN; /* pte_none: not write-protected */
	m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	u64 cat = VMLAB_PAGE_IS_WRITTEN; /* no uffd-wp in the model */
	/* pte_soft_dirty() / pte_swp_soft_dirty(): the entry's bit alone,
	 * not VM_SOFTDIRTY as /proc/PID/pagemap adds */
	if (((in.kind == VMLAB_PTE_LEAF || in.kind == VMLAB_PTE_PROTNONE) &&
	     (in.prot & PAGE_SOFT_DIRTY)) ||
	    (in.kind == VMLAB_PTE_SWAP && in.swp_soft_dirty))
		cat |= VMLAB_PAGE_IS_SOFT_DIRTY;
	switch (in.kind) {
	case VMLAB_PTE_NONE:
		return VMLAB_PAGE_IS_WRITTEN;
	case VMLAB_PTE_LEAF:
	case VMLAB_PTE_PROTNONE:
		cat |= VMLAB_PAGE_IS_PRESENT;
		if (is_zero_pfn(mm, in.pfn))
			cat |= VMLAB_PAGE_IS_PFNZERO;
		else if (upage(m, in.pfn)->owner == PG_OWNER_FILE)
			cat |= VMLAB_PAGE_IS_FILE; /* vm_normal_page, !anon */
		return cat;
	default:
		/* is_swap_pte(): swap and migration entries, markers */
		cat |= VMLAB_PAGE_IS_SWAPPED;
		if (is_guard_marker(&in))
			cat |= VMLAB_PAGE_IS_GUARD;
		else if (is_pfn_swap_entry(&in) &&
			 upage(m, in.pfn)->owner == PG_OWNER_FILE)
			cat |= VMLAB_PAGE_IS_FILE;
		return cat;
	}
}

/* pagemap_scan_get_args() */
static int get_args(const struct vmlab_user_mm *mm, struct vmlab_pm_scan_arg *a)
{
	if (a->size != sizeof(*a))
		return -VMLAB_EINVAL;
	if (a->flags & ~PM_SCAN_FLAGS)
		return -VMLAB_EINVAL;
	if ((a->category_inverted | a->category_mask | a->category_anyof_mask |
	     a->return_mask) & ~PM_SCAN_CATEGORIES)
		return -VMLAB_EINVAL;
	if (a->start & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	/* access_ok(start, end - start) */
	u64 len = a->end - a->start;
	if (a->start + len < a->start || a->start + len > TASK_SIZE_OF(mm))
		return -VMLAB_EFAULT;
	if (!a->vec && a->vec_len)
		return -VMLAB_EINVAL;
	a->end = PAGE_ALIGN_UP(a->end);
	if (!a->max_pages)
		a->max_pages = ~0ULL;
	a->walk_end = 0;
	return 0;
}

static s64 scan_locked(struct vmlab_user_mm *mm, struct scan *s)
{
	struct vmlab_pm_scan_arg *a = s->arg;
	for (struct vmlab_vma *v = find_vma(mm, a->start);
	     v && v->vm_start < a->end && !s->full; v = v->next) {
		/* pagemap_scan_test_walk(): no VMA is uffd-wp async */
		if (a->flags & VMLAB_PM_SCAN_CHECK_WPASYNC)
			return -VMLAB_EPERM;
		if (v->vm_flags & VMLAB_VM_PFNMAP)
			continue;
		/* is_interesting_vma(): WP_MATCHING wants WPALLOWED pages */
		u64 need = (a->category_mask & VMLAB_PAGE_IS_WPALLOWED) |
			   ((a->flags & VMLAB_PM_SCAN_WP_MATCHING) ?
				    VMLAB_PAGE_IS_WPALLOWED : 0);
		if ((a->category_inverted & need) != need)
			continue;
		u64 lo = v->vm_start > a->start ? v->vm_start : a->start;
		u64 hi = v->vm_end < a->end ? v->vm_end : a->end;
		for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
			u64 cat = page_category(mm, va);
			if (interesting(s, cat) &&
			    !output(s, cat, va, va + VMLAB_PAGE_SIZE))
				break;
		}
	}
	return 0;
}

s64 vmlab_pagemap_scan(struct vmlab_user_mm *mm, struct vmlab_pm_scan_arg *arg)
{
	if (!mm || mm->magic != USER_MM_MAGIC || !arg)
		return -VMLAB_EINVAL;
	int err = get_args(mm, arg);
	if (err)
		return err;
	struct scan s = {.arg = arg};
	mmap_read_lock(mm);
	s64 r = scan_locked(mm, &s);
	mmap_read_unlock(mm);
	if (!s.full)
		arg->walk_end = arg->end;
	assert(s.nr_out <= arg->vec_len && arg->walk_end <= arg->end);
	return r < 0 ? r : (s64)s.nr_out;
}
