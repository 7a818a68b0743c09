/* SPDX-License-Identifier: MIT */
/*
 * Zapping and protection changes (mm/memory.c zap_pte_range(),
 * mm/mprotect.c change_pte_range()).  Present entries that are cleared or
 * narrowed go to the mmu_gather's flush range; their pages are put only
 * after the flush.  Guard markers survive every zap except munmap/exit
 * (ZAP_FLAG_DROP_MARKER); DONTNEED frees a PTE table it emptied whole.
 */
#include "user/swapops.h"

struct zap_ctx {
	struct ugather *g;
	struct vmlab_vma *v;
	const struct zap_details *d;
};

static bool should_zap_cows(const struct zap_details *d)
{
	assert(d);
	return d->reclaim_pt || d->even_cows;
}

static bool table_empty(struct vmlab_machine *m, u64 table)
{
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++)
		if (vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8))
			return false;
	return true;
}

/* One entry; returns true when it was left in place. */
static bool zap_one(struct zap_ctx *z, u64 va, vmlab_ptep_t p, u64 e)
{
	struct vmlab_user_mm *mm = z->g->mm;
	struct vmlab_machine *m = mm->m;
	const struct zap_details *d = z->d;
	struct vmlab_pte_info in;
	m->arch->decode(e, VMLAB_LVL_PTE, &in);
	switch (in.kind) {
	case VMLAB_PTE_LEAF:
	case VMLAB_PTE_PROTNONE: {
		/* Zero page and PFN maps: no page reference to drop.  A PFN
		 * map has no page to test against the file either: Linux's
		 * zap_present_ptes() clears it for unmap_mapping_range() too
		 * (a driver revoking its device mapping). */
		bool pfnmap = z->v->vm_flags & VMLAB_VM_PFNMAP;
		if (is_zero_pfn(mm, in.pfn) || pfnmap) {
			if (d->only_file && !pfnmap)
				return true;
			upte_set(mm, va, p, 0);
			if (in.kind == VMLAB_PTE_LEAF)
				ug_add_range(z->g, va, va + VMLAB_PAGE_SIZE);
			return false;
		}
		struct vmlab_page *pg = mapped_upage(m, in.pfn);
		if (unlikely(!pg))
			goto bad; /* vm_normal_page(): print_bad_pte */
		bool anon = pg->owner == PG_OWNER_ANON;
		if (d->only_file && anon && !should_zap_cows(d))
			return true;
		upte_set(mm, va, p, 0);
		if (in.kind == VMLAB_PTE_LEAF)
			ug_add_range(z->g, va, va + VMLAB_PAGE_SIZE);
		assert(pg->mapcount > 0);
		pg->mapcount--;
		rss_add(mm, in.pfn, -1);
		ug_put_page(z->g, in.pfn);
		return false;
	}
	case VMLAB_PTE_SWAP:
		if (d->only_file && !should_zap_cows(d))
			return true;
		upte_set(mm, va, p, 0);
		if (is_pfn_swap_entry(&in)) {
			/* zap_nonpresent_ptes(): the page it names. */
			pfn_entry_drop(mm, &in, z->g);
			return false;
		}
		if (!swap_free(mm->svc, in.swp_offset))
			return false; /* a bad swap entry: it only goes */
		if (unlikely(!mm->swap_ents)) /* another mm's slot */
			vmlab_warn(m, "BUG: Bad rss-counter: swap entry %#llx",
				   (unsigned long long)e);
		else
			mm->swap_ents--;
		return false;
	case VMLAB_PTE_MARKER:
		if ((in.marker & VMLAB_PTE_MARKER_GUARD) && !d->drop_markers)
			return true;
		if ((in.marker & VMLAB_PTE_MARKER_POISONED) &&
		    !should_zap_cows(d) && !d->drop_markers)
			return true;
		upte_set(mm, va, p, 0);
		return false;
	default:
		/* print_bad_pte(): a reserved encoding (or a table) where a
		 * PTE belongs; nothing to free behind it, the entry goes. */
		assert(in.kind == VMLAB_PTE_BAD || in.kind == VMLAB_PTE_TABLE);
	bad:
		vmlab_warn(m, "BUG: Bad page map: pte %#llx at %#llx",
			   (unsigned long long)e, (unsigned long long)va);
		upte_set(mm, va, p, 0);
		ug_add_range(z->g, va, va + VMLAB_PAGE_SIZE);
		return false;
	}
}

static int zap_table(struct vmlab_user_mm *mm, u64 table, vmlab_ptep_t pmdp,
		     u64 lo, u64 hi, void *arg)
{
	struct zap_ctx *z = arg;
	struct vmlab_machine *m = mm->m;
	bool skipped = false;
	assert(lo < hi && hi - lo <= VMLAB_PMD_SIZE);
	assert(z->v->vm_start <= lo && hi <= z->v->vm_end);
	flush_tlb_batched_pending(mm); /* zap_pte_range() */
	const u64 *ents = upt_entries(mm, table);
	vmlab_lock_take_quiet(m, user_cpu(mm), &mm->pte_lock,
			      "zap_pte_range pte_offset_map_lock");
	for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
		u64 e = upt_entry(mm, ents, table, va);
		if (e)
			skipped |= zap_one(z, va,
					   entry_addr(table, va, VMLAB_LVL_PTE),
					   e);
	}
	vmlab_lock_drop_quiet(m, &mm->pte_lock, "zap_pte_range pte_unmap_unlock");
	/* MADV_DONTNEED (6.14+, PT_RECLAIM): a PTE table the zap covered
	 * whole and left empty is freed at once. */
	if (z->d->reclaim_pt && !skipped && hi - lo == VMLAB_PMD_SIZE &&
	    table_empty(m, table)) {
		vmlab_set_entry(m, mm->hw, lo, VMLAB_LVL_PMD, pmdp, 0);
		ug_add_range(z->g, lo, lo + VMLAB_PAGE_SIZE);
		vmlab_tlb_remove_table(m, &z->g->tlb, table);
	}
	return 0;
}

/* zap_pmd_range(): a huge PMD the zap covers whole goes as one
 * (zap_huge_pmd), one it covers in part is split first.  File
 * unmapping leaves anonymous THPs alone (COW copies), not shmem ones. */
static int zap_pmd(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 e,
		   u64 lo, u64 hi, void *arg)
{
	struct zap_ctx *z = arg;
	assert(z->g->mm == mm && lo < hi);
	if (z->d->only_file && !should_zap_cows(z->d)) {
		struct vmlab_pte_info in;
		if (!pmd_trans_huge(mm->m, e, &in) || is_huge_zero_pfn(mm, in.pfn) ||
		    upage(mm->m, in.pfn)->owner != PG_OWNER_FILE)
			return 0;
	}
	if (hi - lo != VMLAB_PMD_SIZE)
		return PT_SPLIT;
	zap_huge_pmd(z->g, pmdp, e, lo);
	return 0;
}

void zap_vma_range(struct ugather *g, struct vmlab_vma *v, u64 start,
		   u64 end, const struct zap_details *d)
{
	assert(v->vm_start <= start && end <= v->vm_end);
	if (v->vm_flags & VMLAB_VM_HUGETLB) {
		/* __unmap_hugepage_range(): no markers, no swap */
		hugetlb_zap_range(g, v, start, end);
		return;
	}
	struct zap_ctx z = {.g = g, .v = v, .d = d};
	for_each_pmd(g->mm, start, end, zap_table, zap_pmd, &z);
}

void zap_page_range_single(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   u64 start, u64 end, const struct zap_details *d)
{
	struct ugather g;
	struct vmlab_mmu_notifier_range r;
	/* zap_page_range_single_batched(): CLEAR around the zap. */
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, start, end);
	ug_init(&g, mm, user_cpu(mm));
	zap_vma_range(&g, v, start, end, d);
	if (vmlab_mutant(mm->m, VMLAB_MUT_ZAP_NO_FLUSH))
		ug_drop_flush(&g);
	ug_finish(&g);
	user_mn_end(&r);
}

void unmap_vmas(struct ugather *g, struct vmlab_vma *first, u64 start,
		u64 end)
{
	static const struct zap_details unmap = {.drop_markers = true,
						 .even_cows = true};
	assert(g->mm && start < end);
	/* unmap_vmas(): one UNMAP range around every VMA's zap. */
	struct vmlab_mmu_notifier_range r;
	user_mn_start(g->mm, &r, VMLAB_MMU_NOTIFY_UNMAP, start, end);
	for (struct vmlab_vma *v = first; v && v->vm_start < end; v = v->next) {
		u64 s = v->vm_start > start ? v->vm_start : start;
		u64 e = v->vm_end < end ? v->vm_end : end;
		if (s < e)
			zap_vma_range(g, v, s, e, &unmap);
	}
	user_mn_end(&r);
}

/* ------------------------------------------------------- protection */

struct prot_ctx {
	struct ugather *g;
	struct vmlab_vma *v;
	vmlab_pgprot_t newprot;
	bool try_writable;
};

/* can_change_pte_writable() on the new, present entry: exclusive anon
 * pages of a private mapping, dirty pages of a shared one. */
static bool can_change_writable(struct vmlab_user_mm *mm,
				const struct vmlab_vma *v, u64 pfn,
				vmlab_pgprot_t np)
{
	if (!(v->vm_flags & VMLAB_VM_WRITE) || !(np & VMLAB_PAGE_PRESENT))
		return false;
	/* can_change_pte_writable(): a write must fault to be tracked.
	 * The mutant is the test before 76aefad628aa: VM_SOFTDIRTY set,
	 * which means tracking is off. */
	bool tracked = vmlab_mutant(mm->m, VMLAB_MUT_MPROTECT_SOFTDIRTY_INVERTED)
			       ? (v->vm_flags & VMLAB_VM_SOFTDIRTY)
			       : vma_soft_dirty_enabled(v);
	if (tracked && !(np & PAGE_SOFT_DIRTY))
		return false;
	if (!(v->vm_flags & VMLAB_VM_SHARED)) {
		if (is_zero_pfn(mm, pfn))
			return false;
		const struct vmlab_page *pg = upage(mm->m, pfn);
		return pg->owner == PG_OWNER_ANON &&
		       (pg->private_ & PGP_ANON_EXCLUSIVE);
	}
	return np & VMLAB_PAGE_DIRTY;
}

static int prot_table(struct vmlab_user_mm *mm, u64 table, vmlab_ptep_t pmdp,
		      u64 lo, u64 hi, void *arg)
{
	struct prot_ctx *c = arg;
	struct vmlab_machine *m = mm->m;
	(void)pmdp;
	assert(lo < hi && c->v->vm_start <= lo && hi <= c->v->vm_end);
	flush_tlb_batched_pending(mm); /* change_pte_range() */
	for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p = entry_addr(table, va, VMLAB_LVL_PTE);
		u64 e = vmlab_get_entry(m, p);
		struct vmlab_pte_info in;
		m->arch->decode(e, VMLAB_LVL_PTE, &in);
		if (in.kind != VMLAB_PTE_LEAF && in.kind != VMLAB_PTE_PROTNONE)
			continue; /* swap entries and markers keep as they are */
		/* pte_modify() keeps dirty and soft-dirty. */
		vmlab_pgprot_t np = c->newprot |
				    (in.prot & (VMLAB_PAGE_DIRTY | PAGE_SOFT_DIRTY));
		if (c->try_writable && !(np & VMLAB_PAGE_RW) &&
		    can_change_writable(mm, c->v, in.pfn, np))
			np |= VMLAB_PAGE_RW;
		u64 ne = mk_upte(m, in.pfn, np);
		if (ne == e)
			continue;
		upte_set(mm, va, p, ne);
		if (vmlab_pte_needs_flush(m, e, ne))
			ug_add_range(c->g, va, va + VMLAB_PAGE_SIZE);
	}
	return 0;
}

static int prot_pmd(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 e,
		    u64 lo, u64 hi, void *arg)
{
	struct prot_ctx *c = arg;
	(void)mm; /* read by the assertion only */
	assert(c->g->mm == mm && lo < hi);
	if (hi - lo != VMLAB_PMD_SIZE)
		return PT_SPLIT; /* change_pmd_range(): split a partial one */
	change_huge_pmd(c->g, c->v, pmdp, e, lo, c->newprot, c->try_writable);
	return 0;
}

void change_protection(struct ugather *g, struct vmlab_vma *v, u64 start,
		       u64 end, bool try_writable)
{
	assert(v->vm_start <= start && end <= v->vm_end);
	if (v->vm_flags & VMLAB_VM_HUGETLB) {
		hugetlb_change_protection(g, v, start, end);
		return;
	}
	struct prot_ctx c = {.g = g, .v = v,
			     .newprot = vm_get_page_prot(v->vm_flags),
			     .try_writable = try_writable};
	/* change_pmd_range(): PROTECTION_VMA around the PTE updates. */
	struct vmlab_mmu_notifier_range r;
	user_mn_start(g->mm, &r, VMLAB_MMU_NOTIFY_PROTECTION_VMA, start, end);
	for_each_pmd(g->mm, start, end, prot_table, prot_pmd, &c);
	user_mn_end(&r);
}

/* ------------------------------------------------ file unmapping */

void unmap_mapping_range(struct vmlab_file *f, u64 first, u64 last,
			 bool even_cows)
{
	struct zap_details d = {.even_cows = even_cows, .only_file = f,
				.first_index = first, .last_index = last};
	assert(f->magic == FILE_MAGIC && first <= last);
	for (struct vmlab_vma *v = f->mappings; v; v = v->f_next) {
		u64 vfirst = v->vm_pgoff, vlast = v->vm_pgoff + vma_pages(v) - 1;
		u64 s = first > vfirst ? first : vfirst;
		u64 e = last < vlast ? last : vlast;
		if (s > e)
			continue;
		zap_page_range_single(v->mm, v,
				      v->vm_start + ((s - vfirst) << VMLAB_PAGE_SHIFT),
				      v->vm_start + ((e - vfirst + 1)
						     << VMLAB_PAGE_SHIFT),
				      &d);
	}
}
