/* SPDX-License-Identifier: MIT */
/*
 * PMD-sized THP for shmem (mm/shmem.c: shmem_enabled and
 * shmem_huge_global_enabled(), shmem_alloc_and_add_folio() of a huge
 * folio, the folio split on a partial truncate, hole punch or swap-out;
 * mm/memory.c do_set_pmd()): memfds and shared anonymous memory live on
 * the internal shm mount, whose huge= option is the sysfs
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled.  A shared mapping
 * whose 2 MiB-aligned range lies in the VMA at a 512-page-aligned file
 * offset maps a huge folio of the page cache with one PMD; elsewhere its
 * pages map one by one.  Model: the folio is 512 order-0 pages in the
 * cache (each counting its own references), marked PGP_SHMEM_THP while
 * the folio is whole.  Private file mappings take no PMD (their read
 * faults map 4 KiB pages; Linux may map a shmem THP read-only by PMD).
 */
#include "user/swapops.h"

int vmlab_user_set_shmem_thp(struct vmlab_machine *m, int mode)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s || mode < VMLAB_SHMEM_HUGE_FORCE ||
	    mode > VMLAB_SHMEM_HUGE_ADVISE)
		return -VMLAB_EINVAL;
	s->shmem_huge = mode;
	assert(s->shmem_huge == mode);
	return 0;
}

int vmlab_user_get_shmem_thp(struct vmlab_machine *m)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s)
		return -VMLAB_EINVAL; /* below every mode */
	return s->shmem_huge;
}

bool shmem_vma_maybe_huge(const struct vmlab_vma *v)
{
	return v->file && !v->file->regular && (v->vm_flags & VMLAB_VM_SHARED);
}

/* shmem_huge_global_enabled() for the shm mount, at a fault. */
static bool shmem_huge_allowed(const struct vmlab_vma *v, u64 index)
{
	const struct vmlab_file *f = v->file;
	int mode = v->mm->svc->shmem_huge;
	if (mode == VMLAB_SHMEM_HUGE_FORCE)
		return true;
	if ((v->vm_flags & VMLAB_VM_NOHUGEPAGE) || v->mm->thp_disable)
		return false;
	switch (mode) {
	case VMLAB_SHMEM_HUGE_ALWAYS:
		return true;
	case VMLAB_SHMEM_HUGE_WITHIN_SIZE:
		/* i_size must cover the whole folio. */
		return ((index + HPAGE_PMD_NR) & ~(HPAGE_PMD_NR - 1)) <=
		       PAGES(PAGE_ALIGN_UP(f->size));
	case VMLAB_SHMEM_HUGE_ADVISE:
		return v->vm_flags & VMLAB_VM_HUGEPAGE;
	default:
		assert(mode == VMLAB_SHMEM_HUGE_NEVER ||
		       mode == VMLAB_SHMEM_HUGE_DENY);
		return false;
	}
}

/* The huge folio at the aligned index idx0, if the cache holds one. */
static bool cache_huge_at(struct vmlab_file *f, u64 idx0, u64 *pfn0)
{
	u64 s = file_slot(f, idx0);
	if (!s || (s & 1) || !(upage(f->svc->m, s >> 1)->private_ &
			       PGP_SHMEM_THP))
		return false;
	*pfn0 = s >> 1;
	assert(!(*pfn0 & (HPAGE_PMD_NR - 1)));
	assert(file_slot(f, idx0 + HPAGE_PMD_NR - 1) ==
	       (*pfn0 + HPAGE_PMD_NR - 1) << 1);
	return true;
}

static bool cache_range_empty(struct vmlab_file *f, u64 idx0)
{
	for (u64 i = 0; i < HPAGE_PMD_NR; i++)
		if (file_slot(f, idx0 + i))
			return false;
	return true;
}

/* shmem_alloc_and_add_folio() with a PMD order: 512 zeroed pages in
 * the cache, each with the cache's reference. */
static int shmem_add_huge(struct vmlab_file *f, int cpu, u64 idx0, u64 *pfn0)
{
	struct vmlab_machine *m = f->svc->m;
	u64 *first = file_slot_ptr(f, idx0, true);
	if (!first)
		return -VMLAB_ENOMEM;
	int err = vmlab_alloc_pages(m, cpu, HPAGE_PMD_ORDER, pfn0);
	if (err)
		return err;
	err = vmlab_split_page(m, *pfn0, HPAGE_PMD_ORDER);
	assert(!err);
	(void)err;
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		struct vmlab_page *pg = upage(m, *pfn0 + i);
		clear_user_frame(m, *pfn0 + i);
		pg->owner = PG_OWNER_FILE;
		pg->mapcount = 0;
		pg->private_ = PGP_SHMEM_THP;
		/* FSLOT_CHUNK is 512: the folio's slots are one chunk. */
		first[i] = (*pfn0 + i) << 1;
	}
	f->nr_cached += HPAGE_PMD_NR;
	assert(cache_huge_at(f, idx0, pfn0));
	return 0;
}

void shmem_split_partial(struct vmlab_file *f, u64 first, u64 last)
{
	assert(first <= last);
	u64 ends[2] = {first & ~(HPAGE_PMD_NR - 1), last & ~(HPAGE_PMD_NR - 1)};
	for (int k = 0; k < 2; k++) {
		u64 idx0 = ends[k], pfn0;
		if ((k && ends[1] == ends[0]) || !cache_huge_at(f, idx0, &pfn0))
			continue;
		/* Wholly inside the range: dropped whole, no split. */
		if (idx0 >= first && idx0 + HPAGE_PMD_NR - 1 <= last)
			continue;
		for (u64 i = 0; i < HPAGE_PMD_NR; i++)
			upage(f->svc->m, pfn0 + i)->private_ &= ~PGP_SHMEM_THP;
		f->svc->thp.thp_split_page++;
	}
}

int shmem_do_huge_pmd(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		      u64 haddr, bool write, vmlab_ptep_t pmdp)
{
	struct vmlab_file *f = v->file;
	struct user_svc *s = mm->svc;
	assert(shmem_vma_maybe_huge(v) && !(haddr & ~HPAGE_PMD_MASK));
	u64 idx0 = linear_page_index(v, haddr);
	u64 pfn0;
	if (!thp_vma_suitable(v, haddr) || (idx0 & (HPAGE_PMD_NR - 1)) ||
	    idx0 >= PAGES(PAGE_ALIGN_UP(f->size)))
		return THP_FALLBACK;
	if (!cache_huge_at(f, idx0, &pfn0)) {
		/* Only an empty range takes a huge folio; a registered
		 * missing-mode range goes to its handler page by page. */
		if (userfaultfd_missing(v) || !shmem_huge_allowed(v, idx0) ||
		    !cache_range_empty(f, idx0))
			return THP_FALLBACK;
		if (shmem_add_huge(f, cpu, idx0, &pfn0)) {
			s->thp.thp_file_fallback++;
			return THP_FALLBACK;
		}
		s->thp.thp_file_alloc++;
	}
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	if (write)
		prot = prot_mkdirty(prot);
	else if (vma_soft_dirty_enabled(v))
		prot &= ~VMLAB_PAGE_RW; /* vma_wants_writenotify() */
	/* do_set_pmd(): one reference and mapping per page. */
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		page_get(mm->m, pfn0 + i);
		upage(mm->m, pfn0 + i)->mapcount++;
	}
	thp_map_file_pmd(mm, haddr, pmdp, pfn0, prot);
	s->thp.thp_file_mapped++;
	mm->ev.fault_file++;
	return 0;
}
