/* SPDX-License-Identifier: MIT */
/*
 * Guard regions (mm/madvise.c, Linux 6.13+; file-backed and read-only
 * mappings allowed since 6.15): MADV_GUARD_INSTALL writes PTE_MARKER_GUARD
 * entries with the page walker's install_pte callback, so no VMA changes.
 * Existing entries stop the walk; the range is then zapped (flushing
 * before any page is freed) and the walk retried: markers already there
 * stay, so installing twice is a no-op.  Install sets the sticky
 * VM_MAYBE_GUARD flag on each VMA it touches (6.19, 6.18.37+).
 * MADV_GUARD_REMOVE clears guard markers only and leaves the flag.  Also UFFDIO_POISON-style poison markers.
 */
#include "mm/internal.h"
#include "user/uinternal.h"

#define MAX_MADVISE_GUARD_RETRIES 3

/* is_valid_guard_vma(): page tables the core alone manages. */
static bool valid_guard_vma(const struct vmlab_vma *v, bool allow_locked)
{
	u64 disallowed = VMLAB_VM_SPECIAL | VMLAB_VM_HUGETLB;
	assert(v && v->vm_start < v->vm_end);
	if (!allow_locked)
		disallowed |= VMLAB_VM_LOCKED;
	return !(v->vm_flags & disallowed);
}

struct guard_walk {
	struct vmlab_user_mm *mm;
	u64 nr_pages;
	u64 installed;
};

static int install_pte_entry(vmlab_ptep_t e, u64 addr, u64 next,
			     struct vmlab_walk *w)
{
	struct guard_walk *g = w->private;
	struct vmlab_pte_info in;
	(void)addr;
	(void)next; /* read by the assertion only */
	assert(next == addr + VMLAB_PAGE_SIZE && g && g->mm->hw == w->mm);
	vmlab_pte_decode(w->m, vmlab_get_entry(w->m, e), VMLAB_LVL_PTE, &in);
	if (is_guard_marker(&in)) {
		g->nr_pages++; /* already guarded */
		return 0;
	}
	return 1; /* populated: stop, zap, retry */
}

static int install_set_pte(u64 addr, u64 next, u64 *val, struct vmlab_walk *w)
{
	struct guard_walk *g = w->private;
	(void)addr; /* addr and next: read by the assertions only */
	(void)next;
	assert(next == addr + VMLAB_PAGE_SIZE && g && !*val);
	assert(addr < TASK_SIZE_OF(g->mm));
	*val = vmlab_mk_marker(w->m, VMLAB_PTE_MARKER_GUARD);
	g->nr_pages++;
	g->installed++;
	return 0;
}

/* walk_pmd_range() with a pte_entry: a THP is split (split_huge_pmd)
 * so its pages are seen, zapped and replaced by markers. */
static int install_pmd_entry(vmlab_ptep_t e, u64 addr, u64 next,
			     struct vmlab_walk *w)
{
	struct guard_walk *g = w->private;
	struct vmlab_pte_info in;
	(void)next; /* read by the assertion only */
	assert(g && addr < next);
	if (!pmd_trans_huge(w->m, vmlab_get_entry(w->m, e), &in))
		return 0;
	return split_huge_pmd(g->mm, addr);
}

static const struct vmlab_walk_ops guard_install_ops = {
	.pmd_entry = install_pmd_entry,
	.pte_entry = install_pte_entry,
	.install_pte = install_set_pte,
};

int madvise_guard_install(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			  u64 start, u64 end)
{
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	assert(v->mm == mm);
	if (!valid_guard_vma(v, false))
		return -VMLAB_EINVAL;
	/* VM_MAYBE_GUARD on the whole VMA (no split; set under the read lock
	 * in Linux, never cleared): fork's vma_needs_copy() copies the page
	 * tables, so the child keeps the markers even where there is no
	 * anon_vma.  The mutant forgets it for file and shared VMAs. */
	if (!(vmlab_mutant(mm->m, VMLAB_MUT_GUARD_FORK_FILE) &&
	      !vma_is_anonymous(v)))
		v->vm_flags |= VMLAB_VM_MAYBE_GUARD;
	/* Anonymous page tables come with an anon_vma. */
	if (vma_is_anonymous(v) && anon_vma_prepare(v))
		return -VMLAB_ENOMEM;
	static const struct zap_details keep_markers = {.even_cows = true};
	for (int i = 0; i < MAX_MADVISE_GUARD_RETRIES; i++) {
		struct guard_walk g = {.mm = mm};
		int err = walk_page_range_mm(mm->m, mm->hw, start, end,
					     &guard_install_ops, &g);
		mm->ev.guard_installed += g.installed;
		if (err < 0)
			return err;
		if (err == 0) {
			assert(g.nr_pages == PAGES(end - start));
			return 0;
		}
		/* Some pages are populated: zap them (markers stay). */
		mm->ev.guard_zaps++;
		zap_page_range_single(mm, v, start, end, &keep_markers);
		/* Another thread's fault may fill the range again before
		 * the next walk (it holds only the VMA or mmap read lock). */
		sched_point(mm->m, user_cpu(mm), "guard install retry");
	}
	/* Raced every time: restart_syscall(), the caller drops its locks
	 * and comes back (vector_madvise, vmlab_madvise). */
	return -VMLAB_ERESTARTNOINTR;
}

static int remove_pte_entry(vmlab_ptep_t e, u64 addr, u64 next,
			    struct vmlab_walk *w)
{
	struct vmlab_pte_info in;
	(void)next; /* read by the assertion only */
	assert(next == addr + VMLAB_PAGE_SIZE && !w->private);
	vmlab_pte_decode(w->m, vmlab_get_entry(w->m, e), VMLAB_LVL_PTE, &in);
	/* Markers are not present: clearing one needs no flush. */
	if (is_guard_marker(&in))
		vmlab_set_entry(w->m, w->mm, addr, VMLAB_LVL_PTE, e, 0);
	return 0;
}

/* guard_remove_pmd_entry(): a THP holds no markers; leave it unsplit
 * (the seed's claim). */
static int remove_pmd_entry(vmlab_ptep_t e, u64 addr, u64 next,
			    struct vmlab_walk *w)
{
	struct vmlab_pte_info in;
	(void)addr; /* addr, next: read by the assertion only */
	(void)next;
	assert(addr < next);
	if (pmd_trans_huge(w->m, vmlab_get_entry(w->m, e), &in))
		w->action = VMLAB_WALK_CONTINUE;
	return 0;
}

static const struct vmlab_walk_ops guard_remove_ops = {
	.pmd_entry = remove_pmd_entry,
	.pte_entry = remove_pte_entry,
};

int madvise_guard_remove(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			 u64 start, u64 end)
{
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	assert(v->mm == mm);
	/* Removal is non-destructive, so mlock()ed ranges are fine. */
	if (!valid_guard_vma(v, true))
		return -VMLAB_EINVAL;
	return vmlab_walk_page_range(mm->m, mm->hw, start, end,
				     &guard_remove_ops, NULL);
}

int vmlab_user_poison(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	if (!len || ((addr | len) & (VMLAB_PAGE_SIZE - 1)) ||
	    addr + len < addr || addr + len > TASK_SIZE_OF(mm))
		return -VMLAB_EINVAL;
	user_enter(mm, "uffdio_poison");
	struct vmlab_vma *v = vma_lookup(mm, addr);
	if (!v || addr + len > v->vm_end)
		return -VMLAB_ENOENT;
	assert(v->vm_start <= addr && addr + len <= v->vm_end);
	for (u64 a = addr; a < addr + len; a += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p;
		if (upte_alloc(mm, a, &p))
			return -VMLAB_ENOMEM;
		if (upte_get(mm, p))
			return -VMLAB_EEXIST;
		upte_set(mm, a, p,
			 vmlab_mk_marker(mm->m, VMLAB_PTE_MARKER_POISONED));
	}
	return 0;
}
