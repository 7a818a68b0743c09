/* SPDX-License-Identifier: MIT */
/*
 * madvise(2) and process_madvise(2)'s vector_madvise() (mm/madvise.c,
 * Linux 6.16-6.18; the syscall's checks are in pidfd.c): the
 * walk over the VMAs of a range (gaps give -ENOMEM after every VMA was
 * advised), flag-changing advice through vma_modify_flags(), DONTNEED and
 * FREE with one TLB flush per call (batched across the iovec too), COLD,
 * PAGEOUT to the swap area, REMOVE (hole punch), POPULATE_READ/WRITE and
 * the guard-region advice.
 */
#include "vmlab/checker.h"
#include "user/swapops.h"

enum madvise_lock_mode {
	MADVISE_NO_LOCK,
	MADVISE_MMAP_WRITE_LOCK,
	MADVISE_MMAP_READ_LOCK,
	MADVISE_VMA_READ_LOCK,
};

struct madv {
	struct vmlab_user_mm *mm;
	int behavior;
	struct ugather *tlb; /* DONTNEED / FREE: one flush for the call */
	enum madvise_lock_mode lock_mode; /* what is held now */
	bool remote; /* process_madvise() on another process's mm */
	bool kswapd; /* reclaim through the rmap: no mmap_lock held */
};

static bool behavior_valid(int b)
{
	switch (b) {
	case VMLAB_MADV_DOFORK:
	case VMLAB_MADV_DONTFORK:
	case VMLAB_MADV_NORMAL:
	case VMLAB_MADV_SEQUENTIAL:
	case VMLAB_MADV_RANDOM:
	case VMLAB_MADV_REMOVE:
	case VMLAB_MADV_WILLNEED:
	case VMLAB_MADV_DONTNEED:
	case VMLAB_MADV_DONTNEED_LOCKED:
	case VMLAB_MADV_FREE:
	case VMLAB_MADV_COLD:
	case VMLAB_MADV_PAGEOUT:
	case VMLAB_MADV_POPULATE_READ:
	case VMLAB_MADV_POPULATE_WRITE:
	case VMLAB_MADV_MERGEABLE:
	case VMLAB_MADV_UNMERGEABLE:
	case VMLAB_MADV_HUGEPAGE:
	case VMLAB_MADV_NOHUGEPAGE:
	case VMLAB_MADV_COLLAPSE:
	case VMLAB_MADV_DONTDUMP:
	case VMLAB_MADV_DODUMP:
	case VMLAB_MADV_WIPEONFORK:
	case VMLAB_MADV_KEEPONFORK:
	case VMLAB_MADV_GUARD_INSTALL:
	case VMLAB_MADV_GUARD_REMOVE:
	case VMLAB_MADV_SOFT_OFFLINE:
	case VMLAB_MADV_HWPOISON:
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------- DONTNEED/FREE */

static int madvise_dontneed_free(struct madv *a, struct vmlab_vma *v,
				 u64 start, u64 end)
{
	u64 forbidden = VMLAB_VM_PFNMAP;
	assert(a->tlb && a->tlb->mm == a->mm);
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	if (v->vm_flags & VMLAB_VM_HUGETLB) {
		/* madvise_dontneed_free_valid_vma(): DONTNEED only, from a
		 * huge-page boundary, the end rounded down (no data loss
		 * beyond what was asked). */
		if (a->behavior == VMLAB_MADV_FREE || (start & ~HPAGE_PMD_MASK))
			return -VMLAB_EINVAL;
		end &= HPAGE_PMD_MASK;
		if (end <= start)
			return 0;
		forbidden = 0;
	}
	if (a->behavior != VMLAB_MADV_DONTNEED_LOCKED)
		forbidden |= VMLAB_VM_LOCKED;
	if (v->vm_flags & forbidden)
		return -VMLAB_EINVAL;
	if (a->behavior != VMLAB_MADV_FREE) {
		static const struct zap_details d = {.reclaim_pt = true,
						     .even_cows = true};
		struct vmlab_mmu_notifier_range r;
		/* madvise_dontneed_single_vma() -> zap_page_range_single. */
		user_mn_start(a->mm, &r, VMLAB_MMU_NOTIFY_CLEAR, start, end);
		zap_vma_range(a->tlb, v, start, end, &d);
		user_mn_end(&r);
		return 0;
	}
	if (!vma_is_anonymous(v))
		return -VMLAB_EINVAL;
	struct vmlab_user_mm *mm = a->mm;
	struct vmlab_machine *m = mm->m;
	/* madvise_free_huge_pmd() splits a THP the range covers in part; a
	 * whole one is left as it is here (Linux marks it lazyfree). */
	if (thp_split_range(mm, start, end, false))
		return -VMLAB_ENOMEM;
	/* madvise_free_single_vma(): CLEAR around the walk. */
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, start, end);
	for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p;
		if (upte_lookup(mm, va, &p))
			continue;
		u64 e = upte_get(mm, p);
		struct vmlab_pte_info in;
		m->arch->decode(e, VMLAB_LVL_PTE, &in);
		if (in.kind == VMLAB_PTE_SWAP && !is_pfn_swap_entry(&in)) {
			/* Cheaper to refault zeroes than to swap in. */
			upte_set(mm, va, p, 0);
			swap_free(mm->svc, in.swp_offset);
			mm->swap_ents--;
			continue;
		}
		if (in.kind == VMLAB_PTE_MARKER &&
		    (in.marker & VMLAB_PTE_MARKER_POISONED)) {
			upte_set(mm, va, p, 0);
			continue;
		}
		if (in.kind != VMLAB_PTE_LEAF || is_zero_pfn(mm, in.pfn))
			continue;
		struct vmlab_page *pg = mapped_upage(m, in.pfn);
		if (!pg || pg->refcount < pg->mapcount)
			continue; /* no mapped user page: a bad pte */
		if (pg->owner != PG_OWNER_ANON || pg->mapcount != 1)
			continue; /* leave pages other mappings share */
		if (in.prot & (VMLAB_PAGE_ACCESSED | VMLAB_PAGE_DIRTY)) {
			vmlab_pgprot_t np = in.prot &
					    ~(VMLAB_PAGE_ACCESSED | VMLAB_PAGE_DIRTY);
			upte_set(mm, va, p, mk_upte(m, in.pfn, np));
			ug_add_range(a->tlb, va, va + VMLAB_PAGE_SIZE);
		}
		pg->private_ |= PGP_LAZYFREE;
	}
	user_mn_end(&r);
	return 0;
}

/* --------------------------------------------------------- COLD/PAGEOUT */

struct wb {
	struct vmlab_file *f;
	u64 index;
};

static int madvise_cold_pageout(struct madv *a, struct vmlab_vma *v,
				u64 start, u64 end, bool pageout)
{
	struct vmlab_user_mm *mm = a->mm;
	struct vmlab_machine *m = mm->m;
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	if (v->vm_flags & (VMLAB_VM_LOCKED | VMLAB_VM_PFNMAP | VMLAB_VM_HUGETLB))
		return -VMLAB_EINVAL;
	/* madvise_cold_or_pageout_pte_range(): a partial THP is split;
	 * reclaim splits a whole one too (PAGEOUT), COLD leaves it. */
	if (thp_split_range(mm, start, end, pageout))
		return -VMLAB_ENOMEM;
	struct ugather g;
	/* try_to_unmap_one(): CLEAR for the pages reclaim unmaps (COLD only
	 * ages the CPU PTEs: no notifier). */
	struct vmlab_mmu_notifier_range r;
	if (pageout)
		user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, start, end);
	ug_init(&g, mm, user_cpu(mm));
	/* shrink_folio_list() unmaps with TTU_BATCH_FLUSH: when another CPU
	 * may cache the mm, the PTEs go into a batch flushed once before
	 * the pages are freed (try_to_unmap_flush()), not into the gather. */
	struct vmlab_tlbbatch batch = {0};
	bool defer = pageout && vmlab_tlbbatch_should_defer(m, user_cpu(mm), mm->hw);
	struct wb *wb = NULL;
	size_t nwb = 0, cap = 0;
	for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p;
		if (upte_lookup(mm, va, &p))
			continue;
		u64 e = upte_get(mm, p);
		struct vmlab_pte_info in;
		m->arch->decode(e, VMLAB_LVL_PTE, &in);
		if (in.kind != VMLAB_PTE_LEAF || is_zero_pfn(mm, in.pfn))
			continue;
		struct vmlab_page *pg = mapped_upage(m, in.pfn);
		if (!pg || pg->mapcount != 1)
			continue; /* do not touch other mappings' pages */
		if (!pageout) {
			if (in.prot & VMLAB_PAGE_ACCESSED) {
				upte_set(mm, va, p,
					 mk_upte(m, in.pfn,
						 in.prot & ~VMLAB_PAGE_ACCESSED));
				ug_add_range(&g, va, va + VMLAB_PAGE_SIZE);
			}
			continue;
		}
		bool anon = pg->owner == PG_OWNER_ANON;
		u64 repl = 0, off = 0;
		/* Room to remember the shmem writeout first: without it the
		 * page stays (reclaim may always fail to free one). */
		if (!anon && nwb == cap) {
			struct wb *n = host_realloc(m, wb, (cap ? cap * 2 : 16) *
							       sizeof(*wb));
			if (!n)
				continue;
			wb = n;
			cap = cap ? cap * 2 : 16;
		}
		assert(anon || (v->file && pg->owner == PG_OWNER_FILE));
		/* MAP_DROPPABLE pages go like clean lazyfree ones, dirty or
		 * not (folio not swapbacked). */
		if (anon && !(v->vm_flags & VMLAB_VM_DROPPABLE) &&
		    !((pg->private_ & PGP_LAZYFREE) &&
		      !(in.prot & VMLAB_PAGE_DIRTY))) {
			if (swap_alloc_slot(mm->svc, &off))
				continue; /* swap full: keep the page */
			if (swap_write(mm->svc, off,
				       frame_content(m, in.pfn, false))) {
				swap_free(mm->svc, off);
				continue; /* a failed write: keep the page */
			}
			/* try_to_unmap_one(): pte_swp_mksoft_dirty(); the
			 * mutant is the kernel before 179ef71cbc08. */
			repl = vmlab_mutant(m, VMLAB_MUT_SWAP_DROPS_SOFT_DIRTY)
				       ? swap_pte(m, off)
				       : swp_entry_keep_soft_dirty(
						 m, swap_pte(m, off), in.prot);
			mm->swap_ents++;
		}
		/* try_to_unmap(): clean lazyfree pages are dropped, other
		 * anon pages leave a swap entry, shmem pages leave none. */
		upte_set(mm, va, p, repl);
		if (defer)
			user_tlbbatch_add(mm, &batch);
		else
			ug_add_range(&g, va, va + VMLAB_PAGE_SIZE);
		pg->mapcount--;
		rss_add(mm, in.pfn, -1);
		ug_put_page(&g, in.pfn);
		if (!anon) {
			assert(nwb < cap);
			wb[nwb++] = (struct wb){v->file, linear_page_index(v, va)};
		}
	}
	/* kswapd holds no mmap_lock: others run between the unmaps and
	 * try_to_unmap_flush() (flush_tlb_batched_pending() covers them). */
	if (a->kswapd)
		sched_point(m, user_cpu(mm), "try_to_unmap_flush");
	vmlab_tlbbatch_flush(m, user_cpu(mm), &batch);
	assert(!batch.pending);
	ug_finish(&g);
	if (pageout)
		user_mn_end(&r);
	/* The mapping is gone everywhere: shmem_writeout() to swap. */
	for (size_t i = 0; i < nwb; i++)
		shmem_writeout(wb[i].f, user_cpu(mm), wb[i].index);
	free(wb);
	return 0;
}

/* --------------------------------------------------------------- REMOVE */

static int madvise_remove(struct vmlab_vma *v, u64 start, u64 end)
{
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	if (v->vm_flags & VMLAB_VM_LOCKED)
		return -VMLAB_EINVAL;
	/* A hugetlb VMA has its hugetlbfs file (a private one is EACCES
	 * below, a shared one punches a hole in the object). */
	if (!v->file && !(v->vm_flags & VMLAB_VM_HUGETLB))
		return -VMLAB_EINVAL;
	if ((v->vm_flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE)) !=
	    (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE))
		return -VMLAB_EACCES;
	if (!v->file)
		return v->hugetlb ? hugetlb_punch_hole(v, start, end) :
				    -VMLAB_EOPNOTSUPP;
	u64 off = (start - v->vm_start) + (v->vm_pgoff << VMLAB_PAGE_SHIFT);
	assert(!(off & (VMLAB_PAGE_SIZE - 1)));
	return vmlab_file_punch_hole(v->file, off, end - start);
}

/* ------------------------------------------------------------ populate */

static int madvise_populate(struct vmlab_user_mm *mm, u64 start, u64 end,
			    bool write)
{
	assert(start < end && !(start & (VMLAB_PAGE_SIZE - 1)));
	while (start < end) {
		struct vmlab_vma *v = vma_lookup(mm, start);
		if (!v)
			return -VMLAB_ENOMEM;
		/* check_vma_flags() without FOLL_FORCE */
		if ((v->vm_flags & (VMLAB_VM_IO | VMLAB_VM_PFNMAP)) ||
		    !(v->vm_flags & (write ? VMLAB_VM_WRITE : VMLAB_VM_READ)))
			return -VMLAB_EINVAL;
		u64 e = v->vm_end < end ? v->vm_end : end;
		for (; start < e; start += VMLAB_PAGE_SIZE) {
			int err = faultin_page(mm, v, start, write);
			if (err)
				return err; /* -EFAULT: SIGSEGV/SIGBUS there */
		}
	}
	return 0;
}

/* --------------------------------------------------- one VMA, one call */

static int madvise_vma_behavior(struct madv *a, struct vmlab_vma **pv,
				struct vmlab_vma **prev, u64 start, u64 end)
{
	struct vmlab_vma *v = *pv;
	u64 nf = v->vm_flags;
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	assert(v->mm == a->mm);
	*prev = v;
	switch (a->behavior) {
	case VMLAB_MADV_REMOVE:
		return madvise_remove(v, start, end);
	case VMLAB_MADV_WILLNEED:
		return 0; /* read-ahead / swap-in prefetch: no swap cache */
	case VMLAB_MADV_COLD:
		return madvise_cold_pageout(a, v, start, end, false);
	case VMLAB_MADV_PAGEOUT:
		return madvise_cold_pageout(a, v, start, end, true);
	case VMLAB_MADV_FREE:
	case VMLAB_MADV_DONTNEED:
	case VMLAB_MADV_DONTNEED_LOCKED:
		return madvise_dontneed_free(a, v, start, end);
	case VMLAB_MADV_GUARD_INSTALL:
		return madvise_guard_install(a->mm, v, start, end);
	case VMLAB_MADV_GUARD_REMOVE:
		return madvise_guard_remove(a->mm, v, start, end);
	case VMLAB_MADV_COLLAPSE:
		return madvise_collapse(a->mm, v, start, end);
	case VMLAB_MADV_NORMAL:
		nf &= ~(VMLAB_VM_RAND_READ | VMLAB_VM_SEQ_READ);
		break;
	case VMLAB_MADV_SEQUENTIAL:
		nf = (nf & ~VMLAB_VM_RAND_READ) | VMLAB_VM_SEQ_READ;
		break;
	case VMLAB_MADV_RANDOM:
		nf = (nf & ~VMLAB_VM_SEQ_READ) | VMLAB_VM_RAND_READ;
		break;
	case VMLAB_MADV_DONTFORK:
		nf |= VMLAB_VM_DONTCOPY;
		break;
	case VMLAB_MADV_DOFORK:
		if (nf & VMLAB_VM_IO)
			return -VMLAB_EINVAL;
		nf &= ~VMLAB_VM_DONTCOPY;
		break;
	case VMLAB_MADV_WIPEONFORK:
		if (!vma_is_anonymous(v) || (nf & VMLAB_VM_SHARED))
			return -VMLAB_EINVAL; /* anonymous private only */
		nf |= VMLAB_VM_WIPEONFORK;
		break;
	case VMLAB_MADV_KEEPONFORK:
		if (nf & VMLAB_VM_DROPPABLE)
			return -VMLAB_EINVAL;
		nf &= ~VMLAB_VM_WIPEONFORK;
		break;
	case VMLAB_MADV_DONTDUMP:
		nf |= VMLAB_VM_DONTDUMP;
		break;
	case VMLAB_MADV_DODUMP:
		if (nf & (VMLAB_VM_SPECIAL | VMLAB_VM_DROPPABLE))
			return -VMLAB_EINVAL;
		nf &= ~VMLAB_VM_DONTDUMP;
		break;
	case VMLAB_MADV_MERGEABLE:
		/* ksm_madvise(): private, ordinary mappings only. */
		if (!(nf & (VMLAB_VM_SHARED | VMLAB_VM_MAYSHARE | VMLAB_VM_PFNMAP |
			    VMLAB_VM_IO | VMLAB_VM_DONTEXPAND | VMLAB_VM_HUGETLB |
			    VMLAB_VM_MIXEDMAP)))
			nf |= VMLAB_VM_MERGEABLE;
		break;
	case VMLAB_MADV_UNMERGEABLE:
		nf &= ~VMLAB_VM_MERGEABLE;
		break;
	case VMLAB_MADV_HUGEPAGE:
		nf = (nf & ~VMLAB_VM_NOHUGEPAGE) | VMLAB_VM_HUGEPAGE;
		break;
	case VMLAB_MADV_NOHUGEPAGE:
		nf = (nf & ~VMLAB_VM_HUGEPAGE) | VMLAB_VM_NOHUGEPAGE;
		break;
	default:
		return -VMLAB_EINVAL;
	}
	/* madvise_update_vma() */
	if (nf == v->vm_flags)
		return 0;
	int err;
	v = vma_modify_flags(a->mm, *prev, v, start, end, nf, &err);
	if (!v)
		return err == -VMLAB_ENOMEM ? -VMLAB_EAGAIN : err;
	assert(!((v->vm_flags ^ nf) & ~VM_STICKY));
	assert(v->vm_start <= start && end <= v->vm_end);
	*pv = *prev = v;
	return 0;
}

/* madvise_walk_vmas() */
static int madvise_walk_vmas(struct madv *a, u64 start, u64 end)
{
	struct vmlab_user_mm *mm = a->mm;
	struct vmlab_vma *v = find_vma(mm, start);
	struct vmlab_vma *prev = v ? (start > v->vm_start ? v : v->prev) : NULL;
	int unmapped_error = 0;
	assert(start < end);
	for (;;) {
		if (!v)
			return -VMLAB_ENOMEM;
		if (start < v->vm_start) {
			/* A hole: keep going, report it at the end. */
			unmapped_error = -VMLAB_ENOMEM;
			start = v->vm_start;
			if (start >= end)
				break;
		}
		u64 tmp = v->vm_end < end ? v->vm_end : end;
		int err = madvise_vma_behavior(a, &v, &prev, start, tmp);
		if (err)
			return err;
		/* v now covers [start, tmp), possibly merged beyond it. */
		assert(v->vm_start <= start && tmp <= v->vm_end);
		u64 cur = tmp < v->vm_end ? v->vm_end : tmp;
		if (cur >= end)
			break;
		v = find_vma(mm, cur);
		start = cur;
	}
	return unmapped_error;
}

/* get_lock_mode() as Linux 6.18 has it: advice that changes VMAs takes
 * mmap_lock for writing, advice that walks them for reading, DONTNEED and
 * FREE the read lock of the one VMA they may cover.  Guard install takes
 * the write lock under vmlab_user_set_guard_lock(). */
static enum madvise_lock_mode get_lock_mode(const struct madv *a)
{
	switch (a->behavior) {
	case VMLAB_MADV_HWPOISON:
	case VMLAB_MADV_SOFT_OFFLINE:
		return MADVISE_NO_LOCK;
	case VMLAB_MADV_GUARD_INSTALL:
		if (a->mm->svc->guard_write_lock)
			return MADVISE_MMAP_WRITE_LOCK;
		return MADVISE_MMAP_READ_LOCK;
	case VMLAB_MADV_REMOVE:
	case VMLAB_MADV_WILLNEED:
	case VMLAB_MADV_COLD:
	case VMLAB_MADV_PAGEOUT:
	case VMLAB_MADV_POPULATE_READ:
	case VMLAB_MADV_POPULATE_WRITE:
	case VMLAB_MADV_COLLAPSE:
	case VMLAB_MADV_GUARD_REMOVE:
		return MADVISE_MMAP_READ_LOCK;
	case VMLAB_MADV_DONTNEED:
	case VMLAB_MADV_DONTNEED_LOCKED:
	case VMLAB_MADV_FREE:
		return MADVISE_VMA_READ_LOCK;
	default:
		return MADVISE_MMAP_WRITE_LOCK;
	}
}

static int madvise_lock(struct madv *a)
{
	enum madvise_lock_mode mode = get_lock_mode(a);
	assert(a->lock_mode == MADVISE_NO_LOCK);
	switch (mode) {
	case MADVISE_MMAP_WRITE_LOCK:
		if (mmap_write_lock_killable(a->mm))
			return -VMLAB_EINTR;
		break;
	case MADVISE_MMAP_READ_LOCK:
		mmap_read_lock(a->mm);
		break;
	case MADVISE_NO_LOCK:
	case MADVISE_VMA_READ_LOCK: /* per VMA, in madvise_walk_vmas() */
		break;
	}
	a->lock_mode = mode;
	return 0;
}

static void madvise_unlock(struct madv *a)
{
	switch (a->lock_mode) {
	case MADVISE_MMAP_WRITE_LOCK:
		mmap_write_unlock(a->mm);
		break;
	case MADVISE_MMAP_READ_LOCK:
		mmap_read_unlock(a->mm);
		break;
	case MADVISE_NO_LOCK:
	case MADVISE_VMA_READ_LOCK:
		break;
	}
	a->lock_mode = MADVISE_NO_LOCK;
}

/* try_vma_read_lock(): the one VMA the range lies in, read-locked, when
 * that is enough (is_vma_lock_sufficient()); else mmap_lock for reading
 * and false. */
static struct vmlab_vma *try_vma_read_lock(struct madv *a, u64 start,
					   u64 end)
{
	struct vmlab_vma *v = a->remote ? NULL : lock_vma_under_rcu(a->mm,
								      start);
	if (v && end <= v->vm_end)
		return v;
	if (v)
		vma_end_read(v);
	mmap_read_lock(a->mm);
	a->lock_mode = MADVISE_MMAP_READ_LOCK;
	return NULL;
}

static int madvise_do_behavior(struct madv *a, u64 start, u64 len_in)
{
	assert(a->mm && a->mm->magic == USER_MM_MAGIC);
	assert(!a->tlb || a->tlb->mm == a->mm);
	if (!behavior_valid(a->behavior))
		return -VMLAB_EINVAL;
	if (start & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	u64 len = PAGE_ALIGN_UP(len_in);
	if (len_in && !len)
		return -VMLAB_EINVAL;
	u64 end = start + len;
	if (end < start)
		return -VMLAB_EINVAL;
	if (end == start)
		return 0;
	if (a->behavior == VMLAB_MADV_HWPOISON ||
	    a->behavior == VMLAB_MADV_SOFT_OFFLINE)
		return -VMLAB_EPERM; /* needs CAP_SYS_ADMIN */
	if (a->behavior == VMLAB_MADV_POPULATE_READ ||
	    a->behavior == VMLAB_MADV_POPULATE_WRITE)
		return madvise_populate(a->mm, start, end,
					a->behavior == VMLAB_MADV_POPULATE_WRITE);
	if (a->lock_mode == MADVISE_VMA_READ_LOCK) {
		struct vmlab_vma *v = try_vma_read_lock(a, start, end);
		if (v) {
			struct vmlab_vma *prev = v->prev;
			int err = madvise_vma_behavior(a, &v, &prev, start, end);
			vma_end_read(v);
			return err;
		}
	}
	return madvise_walk_vmas(a, start, end);
}

static bool batches_tlb(int b)
{
	return b == VMLAB_MADV_DONTNEED || b == VMLAB_MADV_DONTNEED_LOCKED ||
	       b == VMLAB_MADV_FREE;
}

/* do_madvise()'s checks before any lock: 0, 1 (nothing to do), -EINVAL. */
static int check_input(int behavior, u64 start, u64 len_in)
{
	if (!behavior_valid(behavior))
		return -VMLAB_EINVAL;
	if (start & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	u64 len = PAGE_ALIGN_UP(len_in);
	if ((len_in && !len) || start + len < start)
		return -VMLAB_EINVAL;
	return len_in ? 0 : 1;
}

static void madvise_init_tlb(struct madv *a, struct ugather *g)
{
	a->tlb = NULL;
	if (batches_tlb(a->behavior)) {
		ug_init(g, a->mm, user_cpu(a->mm));
		a->tlb = g;
	}
}

static void madvise_finish_tlb(struct madv *a)
{
	if (!a->tlb)
		return;
	if (vmlab_mutant(a->mm->m, VMLAB_MUT_ZAP_NO_FLUSH))
		ug_drop_flush(a->tlb);
	ug_finish(a->tlb);
	a->tlb = NULL;
}

int vmlab_user_reclaim(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	if (!mm || mm->magic != USER_MM_MAGIC || (addr & (VMLAB_PAGE_SIZE - 1)) ||
	    !len || len > TASK_SIZE_OF(mm) - addr)
		return -VMLAB_EINVAL;
	u64 end = addr + len, done = 0;
	/* shrink_folio_list() reaches the folios through the rmap (the PTE
	 * locks, no mmap_lock) and unmaps them as MADV_PAGEOUT does. */
	struct madv a = {.mm = mm, .behavior = VMLAB_MADV_PAGEOUT,
			 .kswapd = true};
	/* kswapd's own CPU (the program's): like a reader of mmap_lock it
	 * lets the other programs' operations through meanwhile. */
	int cpu = mm->m->sched_task && mm->m->sched_cpu >= 0 ? mm->m->sched_cpu
							      : mm->cpu;
	bool dropped = vmlab_op_unlock(mm->m, cpu, "kswapd: operation unlock");
	vmlab_checker_set_op(mm->m, user_cpu(mm), "shrink_folio_list");
	for (u64 va = addr; va < end;) {
		struct vmlab_vma *v = find_vma(mm, va);
		if (!v || v->vm_start >= end)
			break;
		u64 s = va > v->vm_start ? va : v->vm_start;
		u64 e = end < v->vm_end ? end : v->vm_end;
		/* Locked, PFN and hugetlb mappings are not reclaimed here.
		 * The rmap walk holds the rmap lock (read). */
		vmlab_down_read(mm->m, cpu, &mm->rmap_lock, "anon_vma_lock_read");
		if (!madvise_cold_pageout(&a, v, s, e, true))
			done += e - s;
		vmlab_up_read(mm->m, cpu, &mm->rmap_lock, "anon_vma_unlock_read");
		va = e; /* v may be gone: the unmap let others run */
	}
	if (dropped)
		vmlab_op_relock(mm->m, cpu, "kswapd: operation relock");
	assert(done <= len);
	return (int)(done >> VMLAB_PAGE_SHIFT);
}

int vmlab_madvise(struct vmlab_user_mm *mm, u64 addr, u64 len, int advice)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "madvise");
	int err = check_input(advice, addr, len);
	if (err)
		return err < 0 ? err : 0;
	struct ugather g;
	struct madv a = {.mm = mm, .behavior = advice};
	for (;;) {
		err = madvise_lock(&a);
		if (err)
			break;
		madvise_init_tlb(&a, &g);
		err = madvise_do_behavior(&a, addr, len);
		madvise_finish_tlb(&a);
		madvise_unlock(&a);
		if (err != -VMLAB_ERESTARTNOINTR)
			break;
		/* restart_syscall(): back through the signal path and in
		 * again with the same arguments; SIGKILL ends the task. */
		mm->ev.madv_restarts++;
		sched_point(mm->m, user_cpu(mm), "madvise restart");
		if (mm->fatal_signal) {
			err = -VMLAB_EINTR;
			break;
		}
	}
	assert(err <= 0 && err != -VMLAB_ERESTARTNOINTR);
	return err;
}

/*
 * vector_madvise(): the advice over each imported iovec in turn, under one
 * lock and TLB batch for the call.  It walks the segments as an iov_iter
 * does: a segment done, the iterator moves past it and any empty ones
 * after it, so only an empty first segment is ever validated.  A segment
 * that wants a restart (-ERESTARTNOINTR: guard install lost its races)
 * is redone after the lock is dropped and taken again -- unless the
 * caller has a fatal signal (-EINTR), or the lock cannot be had again
 * (the mutant goes on as if it had it).  The result is the bytes advised
 * before the first error, or that error if none were.
 */
s64 vector_madvise(struct vmlab_user_mm *caller, struct vmlab_user_mm *mm,
		   const struct vmlab_iovec *iov, size_t nr_segs, u64 total,
		   int advice)
{
	assert(mm && mm->magic == USER_MM_MAGIC && caller);
	assert(!total || (iov && nr_segs));
	struct ugather g;
	struct madv a = {.mm = mm, .behavior = advice, .remote = caller != mm};
	int err = madvise_lock(&a);
	if (err)
		return err;
	madvise_init_tlb(&a, &g);
	u64 count = total;
	size_t i = 0;
	while (count) {
		assert(i < nr_segs && iov[i].iov_len <= count);
		err = madvise_do_behavior(&a, iov[i].iov_base, iov[i].iov_len);
		if (err == -VMLAB_ERESTARTNOINTR) {
			mm->ev.madv_restarts++;
			if (caller->fatal_signal) {
				err = -VMLAB_EINTR;
				break;
			}
			/* Drop and take the lock again to unwind the race. */
			madvise_finish_tlb(&a);
			enum madvise_lock_mode held = a.lock_mode;
			madvise_unlock(&a);
			sched_point(mm->m, user_cpu(mm), "madvise unwind");
			err = madvise_lock(&a);
			if (err) {
				if (!vmlab_mutant(mm->m,
						  VMLAB_MUT_MADVISE_RELOCK_UNCHECKED))
					goto out;
				/* The bug: the failure is not looked at, the
				 * code goes on believing it holds the lock. */
				a.lock_mode = held;
			}
			madvise_init_tlb(&a, &g);
			continue;
		}
		if (err < 0)
			break;
		count -= iov[i].iov_len;
		/* iov_iter_advance(): past this segment and the empty ones. */
		for (i++; count && i < nr_segs && !iov[i].iov_len; i++)
			;
	}
	madvise_finish_tlb(&a);
	madvise_unlock(&a);
out:
	assert(count <= total && err <= 0);
	return count != total ? (s64)(total - count) : err;
}
