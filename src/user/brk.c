/* SPDX-License-Identifier: MIT */
/*
 * brk(2) (mm/mmap.c): the heap between start_brk and the break, grown by
 * extending or adding the heap VMA, shrunk by munmap, under mmap_lock for
 * writing; the new heap populated after the lock is released when
 * mlockall(MCL_FUTURE) is in force.
 */
#include "user/swapops.h"

/*
 * brk(2), as mm/mmap.c: the break moves between start_brk and whatever
 * lies above; shrinking unmaps, growing extends the heap VMA (only the
 * VMA that ends at the old break and lies at or above start_brk, so the
 * first growth makes a VMA of its own next to bss) and keeps the stack
 * guard gap free.  A refused request returns the unchanged break, as the
 * kernel does.
 */
static s64 do_brk(struct vmlab_user_mm *mm, u64 brk, u64 *populate)
{
	u64 origbrk = mm->brk;
	if (brk < mm->start_brk || brk > TASK_SIZE_OF(mm))
		return (s64)origbrk;
	u64 newbrk = PAGE_ALIGN_UP(brk), oldbrk = PAGE_ALIGN_UP(mm->brk);
	if (oldbrk == newbrk) {
		mm->brk = brk;
		return (s64)brk;
	}
	if (brk <= mm->brk) {
		/* shrink: the VMA under [newbrk, oldbrk) must be there */
		struct vmlab_vma *v = find_vma_intersection(mm, newbrk, oldbrk);
		if (!v)
			return (s64)origbrk;
		if (do_munmap(mm, newbrk, oldbrk - newbrk))
			return (s64)origbrk;
		mm->brk = brk;
		return (s64)brk;
	}
	/* check_brk_limits(): get_unmapped_area(MAP_FIXED) */
	if (oldbrk > TASK_SIZE_OF(mm) - (newbrk - oldbrk))
		return (s64)origbrk;
	struct vmlab_vma *next = find_vma(mm, oldbrk);
	if (next && newbrk + VMLAB_PAGE_SIZE > vm_start_gap(mm, next))
		return (s64)origbrk;
	struct vmlab_vma *prev = next ? next->prev : mm->last;
	if (prev && prev->vm_end > oldbrk)
		return (s64)origbrk;
	if (prev && prev->vm_start < mm->start_brk)
		prev = NULL; /* vma_prev_limit(start_brk) */
	u64 flags = VMLAB_VM_READ | VMLAB_VM_WRITE | VMLAB_VM_MAYREAD |
		    VMLAB_VM_MAYWRITE | VMLAB_VM_MAYEXEC | VMLAB_VM_ACCOUNT |
		    mm->def_flags;
	u64 len = newbrk - oldbrk;
	if (mm->map_count > MAX_MAP_COUNT)
		return (s64)origbrk;
	struct vmlab_vma *v = NULL;
	if (prev && prev->vm_end == oldbrk)
		v = vma_merge_new_range(mm, prev, NULL, oldbrk, newbrk, flags,
					NULL, PAGES(oldbrk), NULL, 0);
	if (!v) {
		v = vma_alloc(mm);
		if (!v)
			return (s64)origbrk;
		v->vm_start = oldbrk;
		v->vm_end = newbrk;
		v->vm_pgoff = PAGES(oldbrk);
		v->vm_flags = flags;
		vma_link(mm, v);
	}
	assert(v->vm_end == newbrk);
	vma_set_soft_dirty(v); /* do_brk_flags() */
	mm->brk = brk;
	/* brk(2): after mlockall(MCL_FUTURE) the new heap is faulted in
	 * (once mmap_lock is released) */
	if (mm->def_flags & VMLAB_VM_LOCKED)
		*populate = len;
	return (s64)brk;
}

s64 vmlab_brk(struct vmlab_user_mm *mm, u64 brk)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "brk");
	u64 populate = 0, oldbrk = PAGE_ALIGN_UP(mm->brk);
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	if (brk >= mm->start_brk && brk <= TASK_SIZE_OF(mm))
		vma_start_write_range(mm, mm->start_brk,
				      brk > mm->brk ? PAGE_ALIGN_UP(brk) : oldbrk);
	s64 r = do_brk(mm, brk, &populate);
	mmap_write_unlock(mm);
	if (populate)
		mm_populate(mm, oldbrk, populate, true);
	return r;
}
