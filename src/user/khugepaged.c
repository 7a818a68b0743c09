/* SPDX-License-Identifier: MIT */
/*
 * Collapsing PTE-mapped anonymous memory into PMD-mapped THP
 * (mm/khugepaged.c): the scan of one PMD range (hpage_collapse_scan_pmd,
 * with khugepaged's max_ptes_none/swap/shared limits and its referenced
 * rule, which MADV_COLLAPSE ignores), the collapse itself
 * (collapse_huge_page: pmdp_collapse_flush, copy, free the old pages and
 * the PTE table after the flush, map the new PMD), MADV_COLLAPSE
 * (madvise_collapse) and one khugepaged wake-up (khugepaged_do_scan).
 *
 * A guard marker (any PTE marker, migration or device-exclusive entry)
 * stops the scan with SCAN_PTE_NON_PRESENT, as Linux does since 2025:
 * a collapse would otherwise map memory over the guard page.  The
 * collapse-drops-guard mutant takes it for pte_none.
 */
#include "user/swapops.h"
#include "vmlab/mutant.h"

enum scan_result {
	SCAN_SUCCEED,
	SCAN_PMD_NULL,
	SCAN_PMD_MAPPED,
	SCAN_EXCEED_NONE_PTE,
	SCAN_EXCEED_SWAP_PTE,
	SCAN_EXCEED_SHARED_PTE,
	SCAN_PTE_NON_PRESENT,
	SCAN_PAGE_RO,
	SCAN_LACK_REFERENCED_PAGE,
	SCAN_PAGE_ANON,
	SCAN_PAGE_COUNT,
	SCAN_ALLOC_HUGE_PAGE_FAIL,
	SCAN_VMA_CHECK,
};

struct collapse_control {
	bool is_khugepaged;
};

/* The PTE table under the PMD at haddr: SCAN_SUCCEED with *pmdp and
 * *table, or why not (find_pmd_or_thp_or_none). */
static int find_pmd(struct vmlab_user_mm *mm, u64 haddr, vmlab_ptep_t *pmdp,
		    u64 *table)
{
	struct vmlab_pte_info in;
	if (vmlab_lookup_entry(mm->m, mm->hw, haddr, VMLAB_LVL_PMD, pmdp))
		return SCAN_PMD_NULL;
	u64 e = vmlab_get_entry(mm->m, *pmdp);
	if (pmd_trans_huge(mm->m, e, &in))
		return SCAN_PMD_MAPPED;
	if (in.kind != VMLAB_PTE_TABLE)
		return SCAN_PMD_NULL;
	*table = in.pfn;
	return SCAN_SUCCEED;
}

static bool is_guard_or_none(struct vmlab_machine *m,
			     const struct vmlab_pte_info *in)
{
	return in->kind == VMLAB_PTE_MARKER &&
	       (in->marker & VMLAB_PTE_MARKER_GUARD) &&
	       vmlab_mutant(m, VMLAB_MUT_COLLAPSE_DROPS_GUARD);
}

static int scan_pmd(struct vmlab_user_mm *mm, u64 haddr, u64 table,
		    const struct collapse_control *cc)
{
	struct vmlab_machine *m = mm->m;
	const struct vmlab_khugepaged_params *k = &mm->svc->khp;
	struct vmlab_thp_vmstat *st = &mm->svc->thp;
	u64 none = 0, swap = 0, shared = 0, referenced = 0;
	bool writable = false;
	assert(!(haddr & ~HPAGE_PMD_MASK));
	/* userfaultfd_armed(): a missing page stays the handler's. */
	const struct vmlab_vma *v = vma_lookup(mm, haddr);
	bool armed = v && (v->vm_flags & VM_UFFD_FLAGS);
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		u64 va = haddr + (i << VMLAB_PAGE_SHIFT);
		struct vmlab_pte_info in;
		m->arch->decode(vmlab_get_entry(m, entry_addr(table, va, 0)),
				VMLAB_LVL_PTE, &in);
		bool present = in.kind == VMLAB_PTE_LEAF ||
			       in.kind == VMLAB_PTE_PROTNONE;
		if (in.kind == VMLAB_PTE_NONE || is_guard_or_none(m, &in) ||
		    (present && is_zero_pfn(mm, in.pfn))) {
			if (armed || (cc->is_khugepaged &&
				      ++none > k->max_ptes_none)) {
				st->thp_scan_exceed_none_pte++;
				return SCAN_EXCEED_NONE_PTE;
			}
			continue;
		}
		if (!present) {
			/* Markers (guard, poison), migration and
			 * device-exclusive entries: no collapse. */
			if (in.kind != VMLAB_PTE_SWAP || is_pfn_swap_entry(&in))
				return SCAN_PTE_NON_PRESENT;
			/* No swap-in here (__collapse_huge_page_swapin). */
			if (cc->is_khugepaged && ++swap > k->max_ptes_swap)
				st->thp_scan_exceed_swap_pte++;
			return SCAN_EXCEED_SWAP_PTE;
		}
		const struct vmlab_page *pg = mapped_upage(m, in.pfn);
		if (!pg || pg->owner != PG_OWNER_ANON)
			return SCAN_PAGE_ANON; /* or no page (a bad pte) */
		if (pg->mapcount > 1 && cc->is_khugepaged &&
		    ++shared > k->max_ptes_shared) {
			st->thp_scan_exceed_share_pte++;
			return SCAN_EXCEED_SHARED_PTE;
		}
		/* An extra reference (GUP pin, swap cache): not now. */
		if (pg->refcount != pg->mapcount)
			return SCAN_PAGE_COUNT;
		writable |= (in.prot & VMLAB_PAGE_RW) != 0;
		if ((in.prot & VMLAB_PAGE_ACCESSED) ||
		    vmlab_mmu_notifier_test_young(m, mm->hw, va))
			referenced++;
	}
	if (!writable)
		return SCAN_PAGE_RO;
	if (cc->is_khugepaged && !referenced)
		return SCAN_LACK_REFERENCED_PAGE;
	return SCAN_SUCCEED;
}

/* collapse_huge_page() of the scanned range. */
static int collapse_huge_page(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			      u64 haddr, vmlab_ptep_t pmdp, u64 table)
{
	struct vmlab_machine *m = mm->m;
	u64 npfn;
	assert(thp_vma_suitable(v, haddr));
	if (thp_alloc_anon(mm, mm->cpu, &npfn)) {
		mm->svc->thp.thp_collapse_alloc_failed++;
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	}
	mm->svc->thp.thp_collapse_alloc++;
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, haddr,
		      haddr + VMLAB_PMD_SIZE);
	struct ugather g;
	ug_init(&g, mm, mm->cpu);
	user_ptl(mm, true);
	/* pmdp_collapse_flush(): the table unhooked, then flushed (with the
	 * paging-structure caches: the table is freed after the flush). */
	vmlab_set_entry(m, mm->hw, haddr, VMLAB_LVL_PMD, pmdp, 0);
	ug_add_range(&g, haddr, haddr + VMLAB_PMD_SIZE);
	vmlab_tlb_remove_table(m, &g.tlb, table);
	/* The mutant is x86's flush_tlb_range() before 3ef938c35035: a
	 * last-level flush (freed_tables false), so the shootdown skips the
	 * lazy CPUs, whose paging-structure caches keep the unhooked table.
	 * arm64's flush_tlb_range() never was last-level only. */
	if (vmlab_mutant(m, VMLAB_MUT_COLLAPSE_FLUSH_LAST_LEVEL) &&
	    m->arch->id != VMLAB_ARCH_ARM64)
		g.tlb.freed_tables = false;
	/* __collapse_huge_page_copy(): contents over, old PTEs cleared. */
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		u64 va = haddr + (i << VMLAB_PAGE_SHIFT);
		vmlab_ptep_t p = entry_addr(table, va, VMLAB_LVL_PTE);
		u64 e = vmlab_get_entry(m, p);
		if (!e)
			continue;
		struct vmlab_pte_info in;
		m->arch->decode(e, VMLAB_LVL_PTE, &in);
		vmlab_set_entry(m, mm->hw, va, VMLAB_LVL_PTE, p, 0);
		if ((in.kind != VMLAB_PTE_LEAF && in.kind != VMLAB_PTE_PROTNONE) ||
		    is_zero_pfn(mm, in.pfn))
			continue; /* none-like: the new page is zeroed */
		copy_page_content(m, npfn + i, in.pfn);
		struct vmlab_page *pg = upage(m, in.pfn);
		assert(pg->mapcount > 0);
		pg->mapcount--;
		rss_add(mm, in.pfn, -1);
		ug_put_page(&g, in.pfn);
	}
	user_ptl(mm, false);
	ug_finish(&g);
	user_ptl(mm, true);
	thp_map_pmd(mm, v, haddr, pmdp, npfn);
	user_ptl(mm, false);
	user_mn_end(&r);
	return SCAN_SUCCEED;
}

static int collapse_one(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			u64 haddr, const struct collapse_control *cc)
{
	vmlab_ptep_t pmdp;
	u64 table;
	assert(v->mm == mm && !(haddr & ~HPAGE_PMD_MASK));
	if (!thp_vma_suitable(v, haddr))
		return SCAN_VMA_CHECK;
	int r = find_pmd(mm, haddr, &pmdp, &table);
	if (r != SCAN_SUCCEED)
		return r;
	r = scan_pmd(mm, haddr, table, cc);
	if (r != SCAN_SUCCEED)
		return r;
	if (anon_vma_prepare(v))
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	return collapse_huge_page(mm, v, haddr, pmdp, table);
}

/* madvise_collapse_errno() */
static int collapse_errno(int r)
{
	switch (r) {
	case SCAN_ALLOC_HUGE_PAGE_FAIL:
		return -VMLAB_ENOMEM;
	case SCAN_PAGE_COUNT:
		return -VMLAB_EAGAIN;
	case SCAN_EXCEED_NONE_PTE: /* MADV_COLLAPSE: a userfaultfd-armed VMA */
		return -VMLAB_EBUSY;
	default:
		return -VMLAB_EINVAL;
	}
}

int madvise_collapse(struct vmlab_user_mm *mm, struct vmlab_vma *v,
		     u64 start, u64 end)
{
	static const struct collapse_control cc = {.is_khugepaged = false};
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	if (!thp_vma_allowable(v, TVA_FORCED_COLLAPSE))
		return -VMLAB_EINVAL;
	u64 hstart = (start + VMLAB_PMD_SIZE - 1) & HPAGE_PMD_MASK;
	u64 hend = end & HPAGE_PMD_MASK;
	u64 thps = 0, want = 0;
	int last_fail = SCAN_SUCCEED;
	for (u64 h = hstart; h < hend; h += VMLAB_PMD_SIZE) {
		want++;
		int r = collapse_one(mm, v, h, &cc);
		if (r == SCAN_SUCCEED || r == SCAN_PMD_MAPPED)
			thps++;
		else
			last_fail = r;
	}
	assert(thps <= want);
	return thps == want ? 0 : collapse_errno(last_fail);
}

/* ------------------------------------------------------ khugepaged */

/* The mm with the lowest pid >= pid. */
static struct vmlab_user_mm *next_mm(struct user_svc *s, u64 pid)
{
	struct vmlab_user_mm *best = NULL;
	for (struct vmlab_user_mm *mm = s->mms; mm; mm = mm->next)
		if (mm->pid >= pid && (!best || mm->pid < best->pid))
			best = mm;
	assert(!best || best->pid >= pid);
	return best;
}

int vmlab_khugepaged_scan(struct vmlab_machine *m)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	static const struct collapse_control cc = {.is_khugepaged = true};
	if (!s)
		return -VMLAB_EINVAL;
	u64 progress = 0;
	int made = 0;
	/* khugepaged_do_scan(): pages_to_scan per wake-up, each PMD range
	 * looked at counting HPAGE_PMD_NR, resuming at the cursor. */
	for (struct vmlab_user_mm *mm = next_mm(s, s->khp_pid); mm;
	     mm = next_mm(s, mm->pid + 1)) {
		u64 from = mm->pid == s->khp_pid ? s->khp_addr : 0;
		for (struct vmlab_vma *v = mm->first; v; v = v->next) {
			if (v->vm_end <= from || !thp_vma_allowable(v, TVA_KHUGEPAGED))
				continue;
			u64 h = (v->vm_start + VMLAB_PMD_SIZE - 1) & HPAGE_PMD_MASK;
			if (h < from)
				h = from;
			for (; thp_vma_suitable(v, h); h += VMLAB_PMD_SIZE) {
				if (progress >= s->khp.pages_to_scan) {
					s->khp_pid = mm->pid;
					s->khp_addr = h;
					return made;
				}
				progress += HPAGE_PMD_NR;
				user_ensure_loaded(mm, mm->cpu);
				made += collapse_one(mm, v, h, &cc) == SCAN_SUCCEED;
			}
		}
	}
	/* A full pass: start again from the first mm next time. */
	s->khp_pid = 0;
	s->khp_addr = 0;
	return made;
}

int vmlab_user_set_khugepaged(struct vmlab_machine *m,
			      const struct vmlab_khugepaged_params *p)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	/* The sysfs stores: max_ptes_* at most HPAGE_PMD_NR - 1,
	 * pages_to_scan at least 1. */
	if (!s || !p || p->max_ptes_none > HPAGE_PMD_NR - 1 ||
	    p->max_ptes_swap > HPAGE_PMD_NR - 1 ||
	    p->max_ptes_shared > HPAGE_PMD_NR - 1 || !p->pages_to_scan)
		return -VMLAB_EINVAL;
	s->khp = *p;
	return 0;
}

void vmlab_user_get_khugepaged(struct vmlab_machine *m,
			       struct vmlab_khugepaged_params *out)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	assert(out);
	*out = s ? s->khp : (struct vmlab_khugepaged_params){0};
}
