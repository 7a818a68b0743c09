/* SPDX-License-Identifier: MIT */
/*
 * mmap, munmap, mprotect, mlock, brk and population (mm/mmap.c,
 * mm/vma.c, mm/util.c, arch/x86/mm/mmap.c, mm/mprotect.c, mm/mlock.c,
 * mm/gup.c): x86-64's top-down placement below mmap_base (bottom-up from
 * the legacy base when asked or when top-down fails) with the stack guard
 * gap kept free below VM_GROWSDOWN VMAs, hint addresses, MAP_FIXED and
 * MAP_FIXED_NOREPLACE, thp_get_unmapped_area() for anonymous mappings of
 * a 2 MiB multiple and for regular files, brk() from start_brk, the VMAs
 * exec leaves (special mappings never merged), VM_ACCOUNT as the kernel
 * sets and clears it, and the vm.max_map_count limit.  The layout
 * parameters (mmap_base, legacy base, stack_guard_gap, brk, mmap_min_addr)
 * are settable per mm.
 */
#include "user/swapops.h"

#define DEFAULT_MAP_WINDOW TASK_SIZE_OF(mm)
/* The flags MAP_SHARED_VALIDATE knows without the file's help (not
 * MAP_FIXED_NOREPLACE, newer: EOPNOTSUPP with it, as Linux 6.18). */
#define LEGACY_MAP_MASK                                                      \
	(VMLAB_MAP_SHARED | VMLAB_MAP_PRIVATE | VMLAB_MAP_FIXED |            \
	 VMLAB_MAP_ANONYMOUS | VMLAB_MAP_DENYWRITE | VMLAB_MAP_EXECUTABLE |  \
	 VMLAB_MAP_UNINITIALIZED | VMLAB_MAP_GROWSDOWN | VMLAB_MAP_LOCKED |  \
	 VMLAB_MAP_NORESERVE | VMLAB_MAP_POPULATE | VMLAB_MAP_NONBLOCK |     \
	 VMLAB_MAP_STACK | VMLAB_MAP_HUGETLB | VMLAB_MAP_32BIT)

static u64 calc_vm_prot_bits(int prot)
{
	return ((prot & VMLAB_PROT_READ) ? VMLAB_VM_READ : 0) |
	       ((prot & VMLAB_PROT_WRITE) ? VMLAB_VM_WRITE : 0) |
	       ((prot & VMLAB_PROT_EXEC) ? VMLAB_VM_EXEC : 0);
}

/* ------------------------------------------------------- placement */

static bool hint_valid(const struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	assert(len && len <= TASK_SIZE_OF(mm));
	if (TASK_SIZE_OF(mm) - len < addr)
		return false;
	return (addr > DEFAULT_MAP_WINDOW) == (addr + len > DEFAULT_MAP_WINDOW);
}

/* vm_start_gap(): a VM_GROWSDOWN VMA keeps stack_guard_gap free below. */
u64 vm_start_gap(const struct vmlab_user_mm *mm, const struct vmlab_vma *v)
{
	u64 s = v->vm_start;
	if (!(v->vm_flags & VMLAB_VM_GROWSDOWN))
		return s;
	return s > mm->stack_guard_gap ? s - mm->stack_guard_gap : 0;
}

/* A hint is taken when nothing, stack guard included, is in the way. */
static bool hint_free(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	struct vmlab_vma *v = find_vma(mm, addr);
	return !v || addr + len <= vm_start_gap(mm, v);
}

/*
 * unmapped_area(): the lowest gap in [low, high); a gap that runs into a
 * stack's guard gap is skipped (low moves past that VMA), with the
 * kernel's own boundary (gap + length - 1).
 */
static s64 unmapped_area(struct vmlab_user_mm *mm, u64 len, u64 low, u64 high)
{
	for (;;) {
		s64 r = vt_gap_bottomup(mm, len, low, high);
		if (r < 0)
			return r;
		struct vmlab_vma *next = find_vma(mm, (u64)r);
		if (next && (next->vm_flags & VMLAB_VM_GROWSDOWN) &&
		    vm_start_gap(mm, next) < (u64)r + len - 1) {
			assert(next->vm_end > low);
			low = next->vm_end;
			continue;
		}
		return r;
	}
}

/* unmapped_area_topdown(): the highest gap below high that ends at or
 * below the next VMA's vm_start_gap(). */
static s64 unmapped_area_topdown(struct vmlab_user_mm *mm, u64 len, u64 low,
				 u64 high)
{
	for (;;) {
		s64 r = vt_gap_topdown(mm, len, low, high);
		if (r < 0)
			return r;
		struct vmlab_vma *next = find_vma(mm, (u64)r);
		if (next && (next->vm_flags & VMLAB_VM_GROWSDOWN) &&
		    vm_start_gap(mm, next) < (u64)r + len) {
			assert(vm_start_gap(mm, next) < high);
			high = vm_start_gap(mm, next);
			continue;
		}
		return r;
	}
}

/* arch_get_unmapped_area() of x86-64: bottom-up from the legacy base. */
static s64 get_area_bottomup(struct vmlab_user_mm *mm, u64 addr, u64 len,
			     int flags)
{
	u64 begin = mm->mmap_legacy_base, end = DEFAULT_MAP_WINDOW;
	assert(len && len <= TASK_SIZE_OF(mm));
	if (flags & VMLAB_MAP_FIXED)
		return (s64)addr;
	if (flags & VMLAB_MAP_32BIT) {
		begin = 0x40000000ULL;
		end = 0x80000000ULL;
	}
	if (len > end)
		return -VMLAB_ENOMEM;
	if (addr) {
		addr &= VMLAB_PAGE_MASK;
		if (hint_valid(mm, addr, len) && hint_free(mm, addr, len))
			return (s64)addr;
	}
	return unmapped_area(mm, len, begin, end);
}

/* arch_get_unmapped_area_topdown() of x86-64. */
static s64 get_area_topdown(struct vmlab_user_mm *mm, u64 addr, u64 len,
			    int flags)
{
	if (len > TASK_SIZE_OF(mm))
		return -VMLAB_ENOMEM;
	if (flags & VMLAB_MAP_FIXED)
		return (s64)addr;
	if (!mm->mmap_topdown || (flags & VMLAB_MAP_32BIT))
		return get_area_bottomup(mm, addr, len, flags);
	if (addr) {
		addr &= VMLAB_PAGE_MASK;
		if (hint_valid(mm, addr, len) && hint_free(mm, addr, len))
			return (s64)addr;
	}
	/* info.low_limit is PAGE_SIZE: mmap_min_addr is checked after. */
	s64 r = unmapped_area_topdown(mm, len, VMLAB_PAGE_SIZE, mm->mmap_base);
	if (r >= 0) {
		assert((u64)r + len <= mm->mmap_base);
		return r;
	}
	/* A failed top-down search falls back to bottom-up. */
	return get_area_bottomup(mm, addr, len, flags);
}

/*
 * __thp_get_unmapped_area(): ask for 2 MiB more and align within the
 * hole so that file offset and address agree modulo 2 MiB; 0 when the
 * range cannot hold an aligned 2 MiB (the caller searches unpadded).
 */
static u64 thp_get_area(struct vmlab_user_mm *mm, u64 addr, u64 len, u64 off,
			int flags)
{
	const u64 size = VMLAB_PMD_SIZE;
	u64 off_end = off + len;
	u64 off_align = (off + size - 1) & ~(size - 1);
	if (off_end <= off_align || off_end - off_align < size)
		return 0;
	u64 len_pad = len + size;
	if (len_pad < len || off + len_pad < off)
		return 0;
	s64 ret = get_area_topdown(mm, addr, len_pad, flags);
	if (vmlab_is_err_value(ret))
		return 0;
	/* A hint that was free is taken as it is. */
	if ((u64)ret == addr)
		return addr;
	u64 off_sub = (off - (u64)ret) & (size - 1);
	assert(!(ret & (VMLAB_PAGE_SIZE - 1)));
	if (mm->mmap_topdown && !off_sub)
		return (u64)ret + size; /* top-down: the highest fit */
	return (u64)ret + off_sub;
}

/*
 * hugetlb_get_unmapped_area(): MAP_FIXED must be 2 MiB aligned; a hint is
 * aligned up; the search asks for a 2 MiB-aligned start (align_mask): the
 * highest aligned fit below mmap_base, gap by gap.  len is a multiple of
 * 2 MiB already (ksys_mmap_pgoff()).
 */
static s64 hugetlb_get_area(struct vmlab_user_mm *mm, u64 addr, u64 len,
			    int flags)
{
	const u64 size = VMLAB_PMD_SIZE;
	assert(len && !(len & (size - 1)));
	if (flags & VMLAB_MAP_FIXED)
		return (addr & (size - 1)) ? -VMLAB_EINVAL : (s64)addr;
	if (len > TASK_SIZE_OF(mm))
		return -VMLAB_ENOMEM;
	u64 a = (addr + size - 1) & ~(size - 1);
	if (addr && a >= addr && hint_valid(mm, a, len) && hint_free(mm, a, len))
		return (s64)a;
	if (!mm->mmap_topdown || (flags & VMLAB_MAP_32BIT)) {
		u64 r = thp_get_area(mm, 0, len, 0, flags);
		return r ? (s64)r : -VMLAB_ENOMEM;
	}
	for (u64 high = mm->mmap_base;;) {
		s64 r = unmapped_area_topdown(mm, len, VMLAB_PAGE_SIZE, high);
		if (r < 0)
			return r;
		a = (u64)r & ~(size - 1);
		if (a >= VMLAB_PAGE_SIZE && hint_free(mm, a, len))
			return (s64)a;
		/* The VMA below the highest fit is in the way: look lower. */
		struct vmlab_vma *v = find_vma(mm, a);
		assert(v && v->vm_start < high);
		high = v->vm_start;
	}
}

/* __get_unmapped_area(). */
s64 get_unmapped_area(struct vmlab_user_mm *mm, struct vmlab_file *file,
		      u64 addr, u64 len, u64 pgoff, int flags)
{
	if (len > TASK_SIZE_OF(mm))
		return -VMLAB_ENOMEM;
	s64 r = 0;
	if (!file && (flags & VMLAB_MAP_HUGETLB)) {
		r = hugetlb_get_area(mm, addr, len, flags);
		if (r == 0)
			return -VMLAB_ENOMEM; /* (mmap_min_addr is above) */
	} else if (file && file->thp_area) {
		/* thp_get_unmapped_area(), the f_op of ext4, xfs, btrfs... */
		r = (s64)thp_get_area(mm, addr, len, pgoff << VMLAB_PAGE_SHIFT,
				      flags);
	} else if ((file && !file->regular) || (!file && (flags & VMLAB_MAP_SHARED))) {
		/* shmem_get_unmapped_area(): 2 MiB-aligned (to the file
		 * offset) once the shm mount may use huge pages. */
		int h = mm->svc->shmem_huge;
		if (h != VMLAB_SHMEM_HUGE_NEVER && h != VMLAB_SHMEM_HUGE_DENY &&
		    !(flags & VMLAB_MAP_FIXED))
			r = (s64)thp_get_area(mm, addr, len,
					      (file ? pgoff : 0) << VMLAB_PAGE_SHIFT,
					      flags);
	} else if (!addr && !(len & (VMLAB_PMD_SIZE - 1))) {
		/* larger anonymous mappings are THP aligned (pgoff 0) */
		r = (s64)thp_get_area(mm, addr, len, 0, flags);
	}
	if (!r)
		r = get_area_topdown(mm, addr, len, flags);
	/* An errno range, not r < 0: MAP_FIXED hands back the caller's
	 * address, and a kernel one is negative as s64 without being an
	 * error; the TASK_SIZE_OF(mm) test below refuses it with -ENOMEM. */
	if (vmlab_is_err_value(r))
		return r;
	if ((u64)r > TASK_SIZE_OF(mm) - len)
		return -VMLAB_ENOMEM;
	if (r & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	/* security_mmap_addr(): below vm.mmap_min_addr needs CAP_SYS_RAWIO,
	 * which the model's tasks do not have. */
	if ((u64)r < mm->mmap_min_addr)
		return -VMLAB_EPERM;
	return r;
}

/* ----------------------------------------------------------- munmap */

/*
 * Split VMAs at the edges of [start, end) and return the first VMA inside
 * (NULL: nothing mapped there).  *prev / *next get the neighbours.
 */
static int munmap_split(struct vmlab_user_mm *mm, u64 start, u64 end,
			struct vmlab_vma **first, struct vmlab_vma **last)
{
	struct vmlab_vma *v = find_vma_intersection(mm, start, end);
	*first = *last = NULL;
	assert(start < end && !(start & (VMLAB_PAGE_SIZE - 1)));
	if (!v)
		return 0;
	if (start > v->vm_start) {
		/* map_count may go one above the limit, not two. */
		if (end < v->vm_end && mm->map_count >= MAX_MAP_COUNT)
			return -VMLAB_ENOMEM;
		int err = split_vma(mm, v, start, true, false);
		if (err)
			return err;
	}
	*first = v;
	struct vmlab_vma *x = v;
	for (;;) {
		if (x->vm_end > end) {
			int err = split_vma(mm, x, end, false, false);
			if (err)
				return err;
		}
		*last = x;
		assert(x->vm_start >= start && x->vm_end <= end);
		if (!x->next || x->next->vm_start >= end)
			break;
		x = x->next;
	}
	return 0;
}

/* Zap, detach and free the VMAs first..last, then free page tables. */
static void munmap_vmas(struct vmlab_user_mm *mm, struct vmlab_vma *first,
			struct vmlab_vma *last)
{
	struct vmlab_vma *prev = first->prev, *next = last->next;
	u64 start = first->vm_start, end = last->vm_end;
	struct ugather g;
	assert(start < end && first->mm == mm && last->mm == mm);
	assert((!prev || prev->vm_end <= start) && (!next || next->vm_start >= end));
	ug_init(&g, mm, user_cpu(mm));
	unmap_vmas(&g, first, start, end);
	/* A PFNMAP/MIXEDMAP range is flushed before its VMA leaves the
	 * file's mappings (b67fbebd4cf9, CVE-2022-39188: tlb_end_vma(),
	 * free_pgtables() since 2025): once unlinked, a driver's
	 * unmap_mapping_range() finds nothing to zap or flush and frees the
	 * frames, which no page reference keeps for the gather.  The mutant
	 * defers the flush to tlb_finish_mmu(), as before the fix. */
	bool pfnmap = false;
	for (struct vmlab_vma *v = first; v; v = v == last ? NULL : v->next)
		pfnmap |= !!(v->vm_flags & (VMLAB_VM_PFNMAP | VMLAB_VM_MIXEDMAP));
	if (pfnmap && !vmlab_mutant(mm->m, VMLAB_MUT_PFNMAP_UNLINK_NO_FLUSH))
		vmlab_tlb_flush_mmu(mm->m, &g.tlb);
	free_pgtables(&g, start, end, prev ? prev->vm_end : 0,
		      next ? next->vm_start : 0);
	/* free_pgtables(): unlink_file_vma_batch_add(), before the flush of
	 * tlb_finish_mmu() (remove_vma() puts the file after it). */
	bool device = false;
	for (struct vmlab_vma *v = first; v; v = v == last ? NULL : v->next)
		if (v->file) {
			device |= !!(v->vm_flags & VMLAB_VM_PFNMAP);
			file_unlink_vma(v->file, v);
		}
	if (device) {
		/* The device's driver revokes its mappings under
		 * i_mmap_rwsem, not mmap_lock: it may run now (the model lets
		 * it only for a device file, so no other schedule changes). */
		int cpu = user_cpu(mm);
		bool unlocked = vmlab_op_unlock(mm->m, cpu, "munmap: i_mmap unlocked");
		sched_point(mm->m, cpu, "unmap_region: before tlb_finish_mmu");
		if (unlocked)
			vmlab_op_relock(mm->m, cpu, "munmap: relock");
	}
	if (vmlab_mutant(mm->m, VMLAB_MUT_FREE_PGTABLES_NO_FLUSH))
		g.tlb.freed_tables = false;
	if (vmlab_mutant(mm->m, VMLAB_MUT_MUNMAP_NO_FLUSH))
		ug_drop_flush(&g);
	ug_finish(&g);
	/* remove_vma() after unmap_region(), as vms_complete_munmap_vmas()
	 * does: a hugetlb VMA's close sees its pages freed (and their
	 * reservations restored) first. */
	for (struct vmlab_vma *v = first, *n; v; v = n) {
		n = v == last ? NULL : v->next;
		vma_remove(mm, v);
	}
}

int do_munmap(struct vmlab_user_mm *mm, u64 start, u64 len)
{
	if ((start & (VMLAB_PAGE_SIZE - 1)) || start > TASK_SIZE_OF(mm) ||
	    len > TASK_SIZE_OF(mm) - start)
		return -VMLAB_EINVAL;
	len = PAGE_ALIGN_UP(len);
	if (!len)
		return -VMLAB_EINVAL;
	u64 end = start + len;
	struct vmlab_vma *first, *last;
	vma_start_write_range(mm, start, end);
	int err = munmap_split(mm, start, end, &first, &last);
	if (err || !first)
		return err;
	munmap_vmas(mm, first, last);
	return 0;
}

int vmlab_munmap(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "munmap");
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	int err = do_munmap(mm, addr, len);
	mmap_write_unlock(mm);
	return err;
}

/* ------------------------------------------------------------- mmap */

s64 mmap_region(struct vmlab_user_mm *mm, struct vmlab_file *file, u64 addr,
		u64 len, u64 vm_flags, u64 pgoff)
{
	u64 end = addr + len;
	struct vmlab_vma *first, *last;
	assert(len && !((addr | len) & (VMLAB_PAGE_SIZE - 1)) && end <= TASK_SIZE_OF(mm));
	vma_start_write_range(mm, addr, end);
	int err = munmap_split(mm, addr, end, &first, &last);
	if (err)
		return err;
	/* Private writable memory is committed (VM_ACCOUNT); hugetlb has
	 * its own reservations. */
	if ((vm_flags & (VMLAB_VM_NORESERVE | VMLAB_VM_SHARED |
			 VMLAB_VM_WRITE | VMLAB_VM_HUGETLB)) == VMLAB_VM_WRITE)
		vm_flags |= VMLAB_VM_ACCOUNT;
	if (first)
		munmap_vmas(mm, first, last);
	struct vmlab_vma *next = find_vma(mm, addr);
	struct vmlab_vma *prev = next ? next->prev : mm->last;
	assert(!next || next->vm_start >= end);
	struct vmlab_vma *v = vma_merge_new_range(mm, prev, next, addr, end,
						  vm_flags, file, pgoff, NULL,
						  0);
	if (v) {
		vma_set_soft_dirty(v); /* __mmap_complete(): VM_SOFTDIRTY */
		return (s64)addr;
	}
	bool own_file = false;
	if (!file && (vm_flags & VMLAB_VM_SHARED) &&
	    !(vm_flags & VMLAB_VM_HUGETLB)) {
		/* shmem_zero_setup(): anonymous shared memory is a file. */
		file = shmem_zero_setup(mm->svc, len, &err);
		if (!file)
			return err;
		own_file = true;
		pgoff = 0;
	}
	v = vma_alloc(mm);
	if (!v) {
		if (own_file)
			vmlab_file_put(file);
		return -VMLAB_ENOMEM;
	}
	v->vm_start = addr;
	v->vm_end = end;
	v->vm_pgoff = pgoff;
	v->vm_flags = vm_flags;
	if (file) {
		v->file = file;
		if (!own_file)
			file_get(file);
	}
	vma_set_soft_dirty(v);
	vma_link(mm, v);
	assert(vma_lookup(mm, addr) == v && v->vm_end == end);
	return (s64)addr;
}

static s64 do_mmap(struct vmlab_user_mm *mm, bool *populate, u64 addr,
		   u64 len, int prot,
		   int flags, struct vmlab_file *file, u64 off)
{
	if (off & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	if (flags & VMLAB_MAP_ANONYMOUS)
		file = NULL; /* the fd is ignored */
	else if (!file)
		return -VMLAB_EBADF;
	else if (file->magic != FILE_MAGIC)
		return -VMLAB_EBADF;
	/* The open file description (its mode) and the inode it maps. */
	const struct vmlab_file *fd = file;
	if (file)
		file = file_inode(file);
	/* ksys_mmap_pgoff(): MAP_HUGETLB on a file that is not hugetlbfs is
	 * EINVAL; anonymous, it makes a hugetlbfs file of the length rounded
	 * to the huge page size (an unknown MAP_HUGE_* size is EINVAL). */
	bool huge = flags & VMLAB_MAP_HUGETLB;
	if (huge && file)
		return -VMLAB_EINVAL;
	if (huge) {
		int err;
		len = hugetlb_mmap_len(flags, len, &err);
		if (err)
			return err;
	}
	if (!len)
		return -VMLAB_EINVAL;
	u64 pgoff = off >> VMLAB_PAGE_SHIFT;
	if (flags & VMLAB_MAP_FIXED_NOREPLACE)
		flags |= VMLAB_MAP_FIXED;
	if (!(flags & VMLAB_MAP_FIXED)) {
		addr &= VMLAB_PAGE_MASK;
		if (addr && addr < mm->mmap_min_addr)
			addr = PAGE_ALIGN_UP(mm->mmap_min_addr); /* round_hint_to_min() */
	}
	len = PAGE_ALIGN_UP(len);
	if (!len)
		return -VMLAB_ENOMEM;
	if (pgoff + PAGES(len) < pgoff)
		return -VMLAB_EOVERFLOW;
	if (mm->map_count > MAX_MAP_COUNT)
		return -VMLAB_ENOMEM;
	int type = flags & VMLAB_MAP_TYPE;
	if (file || huge) {
		/* ext4 sets FOP_MMAP_SYNC: MAP_SYNC gets past the mask */
		u64 mask = LEGACY_MAP_MASK |
			   (file && file->regular ? VMLAB_MAP_SYNC : 0);
		if (type == VMLAB_MAP_SHARED_VALIDATE && (flags & ~mask))
			return -VMLAB_EOPNOTSUPP;
		if (type != VMLAB_MAP_SHARED && type != VMLAB_MAP_PRIVATE &&
		    type != VMLAB_MAP_SHARED_VALIDATE)
			return -VMLAB_EINVAL;
		if (flags & VMLAB_MAP_GROWSDOWN)
			return -VMLAB_EINVAL;
	} else if (type != VMLAB_MAP_SHARED && type != VMLAB_MAP_PRIVATE &&
		   type != VMLAB_MAP_DROPPABLE) {
		return -VMLAB_EINVAL;
	} else if (type == VMLAB_MAP_SHARED && (flags & VMLAB_MAP_GROWSDOWN)) {
		return -VMLAB_EINVAL;
	}
	s64 r = get_unmapped_area(mm, file, addr, len, pgoff, flags);
	if (r < 0)
		return r;
	addr = (u64)r;
	if ((flags & VMLAB_MAP_FIXED_NOREPLACE) &&
	    find_vma_intersection(mm, addr, addr + len))
		return -VMLAB_EEXIST;
	u64 vm_flags = calc_vm_prot_bits(prot) | mm->def_flags |
		       VMLAB_VM_MAYREAD | VMLAB_VM_MAYWRITE | VMLAB_VM_MAYEXEC;
	if (flags & VMLAB_MAP_GROWSDOWN)
		vm_flags |= VMLAB_VM_GROWSDOWN;
	if (flags & VMLAB_MAP_LOCKED)
		vm_flags |= VMLAB_VM_LOCKED;
	if (flags & VMLAB_MAP_STACK)
		vm_flags |= VMLAB_VM_NOHUGEPAGE; /* 6.7+, with THP built in */
	if (type == VMLAB_MAP_SHARED || type == VMLAB_MAP_SHARED_VALIDATE)
		vm_flags |= VMLAB_VM_SHARED | VMLAB_VM_MAYSHARE;
	/* __mmap_complete(): a hugetlb VMA is never VM_LOCKED (it is still
	 * populated, as the flag asked). */
	u64 vma_flags_clear = huge ? VM_LOCKED_MASK : 0;
	if (type == VMLAB_MAP_DROPPABLE) {
		assert(!file);
		/* Neither locked nor a stack; no reservation, not copied on
		 * fork, not dumped. */
		if ((flags & VMLAB_MAP_LOCKED) ||
		    (vm_flags & VMLAB_VM_GROWSDOWN))
			return -VMLAB_EINVAL;
		vm_flags |= VMLAB_VM_DROPPABLE | VMLAB_VM_NORESERVE |
			    VMLAB_VM_WIPEONFORK | VMLAB_VM_DONTDUMP;
		/* mlockall(MCL_FUTURE)'s VM_LOCKED does not stick (the range
		 * is still populated below, as __mm_populate() does) */
		vma_flags_clear = VM_LOCKED_MASK;
	}
	if (file) {
		/* The open mode, then the seals: no new writable shared
		 * mapping of a sealed memfd. */
		int err = file_mmap_access(fd, type, prot, &vm_flags);
		if (!err)
			err = memfd_check_seals_mmap(file, &vm_flags);
		/* ext4_file_mmap(): MAP_SYNC needs DAX, which it is not. */
		if (!err && type == VMLAB_MAP_SHARED_VALIDATE &&
		    (flags & VMLAB_MAP_SYNC))
			err = -VMLAB_EOPNOTSUPP;
		if (err)
			return err;
	}
	if (!file && !huge)
		pgoff = type != VMLAB_MAP_SHARED ? PAGES(addr) : 0;
	if (flags & VMLAB_MAP_NORESERVE)
		vm_flags |= VMLAB_VM_NORESERVE; /* overcommit heuristic */
	assert(addr + len <= TASK_SIZE_OF(mm));
	/* hugetlbfs_file_mmap(): VM_HUGETLB | VM_DONTEXPAND and the
	 * reservation, made before anything is unmapped here. */
	struct hugetlb_obj *ho = NULL;
	if (huge) {
		int err;
		vm_flags |= VMLAB_VM_HUGETLB | VMLAB_VM_DONTEXPAND;
		ho = hugetlb_reserve(mm, pgoff, len, vm_flags, &err);
		if (!ho)
			return err;
	}
	r = mmap_region(mm, file, addr, len, vm_flags & ~vma_flags_clear, pgoff);
	if (r < 0) {
		if (ho)
			hugetlb_obj_put(mm->svc, ho);
		return r;
	}
	assert((u64)r == addr);
	if (ho) {
		struct vmlab_vma *v = vma_lookup(mm, addr);
		assert(v && v->vm_end == addr + len && !v->hugetlb);
		v->hugetlb = ho;
	}
	/* __mm_populate() runs after mmap_lock is released */
	*populate = (vm_flags & VMLAB_VM_LOCKED) ||
		    (flags & (VMLAB_MAP_POPULATE | VMLAB_MAP_NONBLOCK)) ==
			    VMLAB_MAP_POPULATE;
	return r;
}

s64 vmlab_mmap(struct vmlab_user_mm *mm, u64 addr, u64 len, int prot,
	       int flags, struct vmlab_file *file, u64 off)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "mmap");
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	bool populate = false;
	s64 r = do_mmap(mm, &populate, addr, len, prot, flags, file, off);
	mmap_write_unlock(mm);
	if (r >= 0 && populate)
		mm_populate(mm, (u64)r, PAGE_ALIGN_UP(len), true);
	return r;
}

/* --------------------------------------------------------- mprotect */

static int mprotect_fixup(struct ugather *g, struct vmlab_vma *v,
			  struct vmlab_vma **pprev, u64 start, u64 end,
			  u64 newflags)
{
	struct vmlab_user_mm *mm = g->mm;
	u64 oldflags = v->vm_flags;
	assert(v->vm_start <= start && start < end && end <= v->vm_end);
	if (newflags == oldflags) {
		*pprev = v;
		return 0;
	}
	if (newflags & VMLAB_VM_WRITE) {
		if (!(oldflags & (VMLAB_VM_ACCOUNT | VMLAB_VM_WRITE |
				  VMLAB_VM_HUGETLB | VMLAB_VM_SHARED |
				  VMLAB_VM_NORESERVE)))
			newflags |= VMLAB_VM_ACCOUNT;
	} else if ((oldflags & VMLAB_VM_ACCOUNT) && vma_is_anonymous(v) &&
		   !v->anon_vma) {
		/* Unfaulted anonymous memory made unwritable: uncommit. */
		newflags &= ~VMLAB_VM_ACCOUNT;
	}
	int err;
	v = vma_modify_flags(mm, *pprev, v, start, end, newflags, &err);
	if (!v)
		return err;
	*pprev = v;
	assert(v->vm_start <= start && end <= v->vm_end);
	assert(!((v->vm_flags ^ newflags) & ~VM_STICKY));
	bool try_writable = !(v->vm_flags & VMLAB_VM_SHARED) &&
			    (v->vm_flags & VMLAB_VM_WRITE);
	change_protection(g, v, start, end, try_writable);
	/* A private locked VMA becoming writable breaks COW up front. */
	if ((oldflags & (VMLAB_VM_WRITE | VMLAB_VM_SHARED | VMLAB_VM_LOCKED)) ==
		    VMLAB_VM_LOCKED &&
	    (newflags & VMLAB_VM_WRITE)) {
		for (u64 a = start; a < end; a += VMLAB_PAGE_SIZE)
			if (faultin_page(mm, v, a, true))
				break;
	}
	return 0;
}

static int do_mprotect(struct vmlab_user_mm *mm, u64 start, u64 len, int prot)
{
	const int known = VMLAB_PROT_READ | VMLAB_PROT_WRITE | VMLAB_PROT_EXEC |
			  VMLAB_PROT_SEM | VMLAB_PROT_GROWSDOWN |
			  VMLAB_PROT_GROWSUP;
	if (start & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	if (!len)
		return 0;
	len = PAGE_ALIGN_UP(len);
	u64 end = start + len;
	if (end <= start)
		return -VMLAB_ENOMEM;
	if ((prot & ~known) || (prot & VMLAB_PROT_GROWSUP))
		return -VMLAB_EINVAL;
	struct vmlab_vma *v = find_vma_intersection(mm, start, end);
	if (!v)
		return -VMLAB_ENOMEM;
	if (prot & VMLAB_PROT_GROWSDOWN) {
		if (!(v->vm_flags & VMLAB_VM_GROWSDOWN))
			return -VMLAB_EINVAL;
		start = v->vm_start;
	} else if (v->vm_start > start) {
		return -VMLAB_ENOMEM;
	}
	u64 reqflags = calc_vm_prot_bits(prot & ~VMLAB_PROT_GROWSDOWN);
	struct vmlab_vma *prev = start > v->vm_start ? v : v->prev;
	u64 tmp = v->vm_start, nstart = start;
	int err = 0;
	struct ugather g;
	ug_init(&g, mm, user_cpu(mm));
	while (v && v->vm_start < end) {
		if (v->vm_start != tmp) {
			err = -VMLAB_ENOMEM;
			break;
		}
		u64 newflags = reqflags | (v->vm_flags & ~VM_ACCESS_FLAGS);
		/* Each VM_* access bit needs its VM_MAY* bit (4 above). */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
			err = -VMLAB_EACCES;
			break;
		}
		tmp = v->vm_end < end ? v->vm_end : end;
		err = mprotect_fixup(&g, v, &prev, nstart, tmp, newflags);
		if (err)
			break;
		tmp = prev->vm_end;
		nstart = tmp;
		v = prev->next;
		assert(!v || v->vm_start >= tmp);
	}
	if (vmlab_mutant(mm->m, VMLAB_MUT_MPROTECT_NO_FLUSH))
		ug_drop_flush(&g);
	ug_finish(&g);
	if (!err && tmp < end)
		err = -VMLAB_ENOMEM;
	return err;
}

int vmlab_mprotect(struct vmlab_user_mm *mm, u64 addr, u64 len, int prot)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "mprotect");
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	int err = do_mprotect(mm, addr, len, prot);
	mmap_write_unlock(mm);
	return err;
}

/* ------------------------------------------------- populate, mlock */

static int populate_locked(struct vmlab_user_mm *mm, u64 start, u64 len,
			   bool ignore_errors)
{
	u64 end = start + len, nend;
	int ret = 0;
	assert(end >= start && !(start & (VMLAB_PAGE_SIZE - 1)));
	for (u64 nstart = start; nstart < end; nstart = nend) {
		struct vmlab_vma *v = find_vma(mm, nstart);
		if (!v || v->vm_start >= end)
			break;
		nend = v->vm_end < end ? v->vm_end : end;
		if (v->vm_flags & (VMLAB_VM_IO | VMLAB_VM_PFNMAP))
			continue;
		if (nstart < v->vm_start)
			nstart = v->vm_start;
		/* LOCKONFAULT waits for faults. */
		if (v->vm_flags & VMLAB_VM_LOCKONFAULT)
			continue;
		/* GUP cannot fault in a PROT_NONE VMA: -EFAULT, and no page
		 * of it is populated (as Linux 6.18 does). */
		if (!(v->vm_flags & VM_ACCESS_FLAGS)) {
			if (!ignore_errors)
				return -VMLAB_EFAULT;
			continue;
		}
		bool write = (v->vm_flags & (VMLAB_VM_WRITE | VMLAB_VM_SHARED)) ==
			     VMLAB_VM_WRITE;
		for (u64 a = nstart; a < nend; a += VMLAB_PAGE_SIZE) {
			ret = faultin_page(mm, v, a, write);
			if (ret)
				break;
		}
		if (ret) {
			if (!ignore_errors)
				return ret;
			ret = 0;
		}
	}
	return ret;
}

/* __mm_populate(): faults taken as GUP takes them, under the read lock. */
int mm_populate(struct vmlab_user_mm *mm, u64 start, u64 len,
		bool ignore_errors)
{
	mmap_read_lock(mm);
	int ret = populate_locked(mm, start, len, ignore_errors);
	mmap_read_unlock(mm);
	return ret;
}

static int apply_vma_lock_flags(struct vmlab_user_mm *mm, u64 start, u64 len,
				u64 flags)
{
	u64 end = start + len;
	if (end < start)
		return -VMLAB_EINVAL;
	if (end == start)
		return 0;
	vma_start_write_range(mm, start, end);
	struct vmlab_vma *v = vma_lookup(mm, start);
	if (!v)
		return -VMLAB_ENOMEM;
	struct vmlab_vma *prev = start > v->vm_start ? v : v->prev;
	u64 tmp = v->vm_start, nstart = start;
	while (v && v->vm_start < end) {
		if (v->vm_start != tmp)
			return -VMLAB_ENOMEM;
		u64 newflags = (v->vm_flags & ~VM_LOCKED_MASK) | flags;
		assert(!(flags & ~VM_LOCKED_MASK));
		tmp = v->vm_end < end ? v->vm_end : end;
		if (newflags == v->vm_flags ||
		    (v->vm_flags & (VMLAB_VM_SPECIAL | VMLAB_VM_HUGETLB |
				    VMLAB_VM_DROPPABLE))) {
			prev = v;
		} else {
			int err;
			struct vmlab_vma *n = vma_modify_flags(mm, prev, v, nstart,
							       tmp, newflags,
							       &err);
			if (!n)
				return err;
			prev = n;
		}
		tmp = prev->vm_end;
		nstart = tmp;
		v = prev->next;
	}
	return tmp < end ? -VMLAB_ENOMEM : 0;
}

int vmlab_mlock2(struct vmlab_user_mm *mm, u64 addr, u64 len,
		 unsigned int flags)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	if (flags & ~VMLAB_MLOCK_ONFAULT)
		return -VMLAB_EINVAL;
	user_enter(mm, "mlock");
	len = PAGE_ALIGN_UP(len + (addr & (VMLAB_PAGE_SIZE - 1)));
	addr &= VMLAB_PAGE_MASK;
	u64 vmf = VMLAB_VM_LOCKED |
		  ((flags & VMLAB_MLOCK_ONFAULT) ? VMLAB_VM_LOCKONFAULT : 0);
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	int err = apply_vma_lock_flags(mm, addr, len, vmf);
	mmap_write_unlock(mm);
	if (err)
		return err;
	err = mm_populate(mm, addr, len, false);
	/* __mlock_posix_error_return() */
	if (err == -VMLAB_EFAULT)
		return -VMLAB_ENOMEM;
	if (err == -VMLAB_ENOMEM)
		return -VMLAB_EAGAIN;
	return err;
}

int vmlab_mlock(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	return vmlab_mlock2(mm, addr, len, 0);
}

int vmlab_munlock(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "munlock");
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	len = PAGE_ALIGN_UP(len + (addr & (VMLAB_PAGE_SIZE - 1)));
	addr &= VMLAB_PAGE_MASK;
	int err = apply_vma_lock_flags(mm, addr, len, 0);
	mmap_write_unlock(mm);
	return err;
}

/*
 * apply_mlockall_flags() of mm/mlock.c: MCL_FUTURE sets def_flags for
 * VMAs to come; MCL_CURRENT (re)locks every VMA there is, MCL_ONFAULT
 * making either lock on fault. A VMA that cannot be locked (VM_SPECIAL,
 * hugetlb) or fails to split is passed over, as the kernel does.
 */
static void apply_mlockall_flags(struct vmlab_user_mm *mm, int flags)
{
	u64 to_add = 0;
	mm->def_flags &= ~VM_LOCKED_MASK;
	if (flags & VMLAB_MCL_FUTURE) {
		mm->def_flags |= VMLAB_VM_LOCKED;
		if (flags & VMLAB_MCL_ONFAULT)
			mm->def_flags |= VMLAB_VM_LOCKONFAULT;
		if (!(flags & VMLAB_MCL_CURRENT))
			return;
	}
	if (flags & VMLAB_MCL_CURRENT) {
		to_add = VMLAB_VM_LOCKED;
		if (flags & VMLAB_MCL_ONFAULT)
			to_add |= VMLAB_VM_LOCKONFAULT;
	}
	for (struct vmlab_vma *v = mm->first; v;) {
		u64 end = v->vm_end;
		(void)apply_vma_lock_flags(mm, v->vm_start, end - v->vm_start,
					   to_add);
		/* a merge with the next VMA (already carrying the new
		 * flags) may have grown the one around end: it is a no-op */
		v = find_vma(mm, end);
		assert(!v || v->vm_end > end);
	}
	assert(!(mm->def_flags & ~VM_LOCKED_MASK));
}

int vmlab_mlockall(struct vmlab_user_mm *mm, int flags)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	/* no flag, an unknown one, or MCL_ONFAULT alone */
	if (!flags ||
	    (flags & ~(VMLAB_MCL_CURRENT | VMLAB_MCL_FUTURE |
		       VMLAB_MCL_ONFAULT)) ||
	    flags == VMLAB_MCL_ONFAULT)
		return -VMLAB_EINVAL;
	user_enter(mm, "mlockall");
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	vma_start_write_all(mm);
	apply_mlockall_flags(mm, flags);
	mmap_write_unlock(mm);
	/* mm_populate(0, TASK_SIZE_OF(mm)): errors ignored, ONFAULT VMAs skipped */
	if (flags & VMLAB_MCL_CURRENT)
		mm_populate(mm, 0, TASK_SIZE_OF(mm), true);
	return 0;
}

int vmlab_munlockall(struct vmlab_user_mm *mm)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "munlockall");
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	vma_start_write_all(mm);
	apply_mlockall_flags(mm, 0);
	mmap_write_unlock(mm);
	assert(!mm->def_flags);
	return 0;
}

/* ------------------------------------------------------- device maps */

static s64 map_io(struct vmlab_user_mm *mm, struct vmlab_file *file, u64 pfn,
		  u64 pages, int prot)
{
	if (!pages || pages > PAGES(TASK_SIZE_OF(mm)) || pfn + pages < pfn ||
	    pfn + pages > vmlab_nr_frames(mm->m))
		return -VMLAB_EINVAL;
	u64 len = pages << VMLAB_PAGE_SHIFT;
	assert(len && pfn + pages <= vmlab_nr_frames(mm->m));
	s64 r = get_unmapped_area(mm, NULL, 0, len, 0, VMLAB_MAP_SHARED);
	if (r < 0)
		return r;
	u64 addr = (u64)r;
	struct vmlab_vma *v = vma_alloc(mm);
	if (!v)
		return -VMLAB_ENOMEM;
	v->vm_start = addr;
	v->vm_end = addr + len;
	/* A device file's mapping keeps its file offset (0); without a file
	 * remap_pfn_range() records the pfn, as for a COW mapping. */
	v->vm_pgoff = file ? 0 : pfn;
	if (file) {
		v->file = file;
		file_get(file);
	}
	v->vm_flags = calc_vm_prot_bits(prot) | VMLAB_VM_MAYREAD |
		      VMLAB_VM_MAYWRITE | VMLAB_VM_MAYEXEC | VMLAB_VM_SHARED |
		      VMLAB_VM_MAYSHARE | VMLAB_VM_IO | VMLAB_VM_PFNMAP |
		      VMLAB_VM_DONTEXPAND | VMLAB_VM_DONTDUMP;
	vma_set_soft_dirty(v);
	vma_link(mm, v);
	/* remap_pfn_range(): every PTE up front, special (no page refs). */
	vmlab_pgprot_t pp = vm_get_page_prot(v->vm_flags);
	if (!(pp & VMLAB_PAGE_PRESENT))
		return (s64)addr;
	for (u64 i = 0; i < pages; i++) {
		vmlab_ptep_t p;
		u64 va = addr + (i << VMLAB_PAGE_SHIFT);
		if (upte_alloc(mm, va, &p)) {
			do_munmap(mm, addr, len);
			return -VMLAB_ENOMEM;
		}
		upte_set(mm, va, p, mk_upte(mm->m, pfn + i, pp));
	}
	return (s64)addr;
}

s64 vmlab_user_map_io(struct vmlab_user_mm *mm, u64 pfn, u64 pages, int prot)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "mmap");
	mmap_write_lock(mm);
	s64 r = map_io(mm, NULL, pfn, pages, prot);
	mmap_write_unlock(mm);
	return r;
}

s64 vmlab_user_map_io_file(struct vmlab_user_mm *mm, struct vmlab_file *file,
			   u64 pfn, u64 pages, int prot)
{
	if (!mm || mm->magic != USER_MM_MAGIC || !file ||
	    file->magic != FILE_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "mmap");
	mmap_write_lock(mm);
	s64 r = map_io(mm, file_inode(file), pfn, pages, prot);
	mmap_write_unlock(mm);
	return r;
}


/* ----------------------------------------------------- exec and layout */

/*
 * A VMA as exec leaves it (the ELF loader's segments, bss, the stack, the
 * vDSO pages): linked as given, never merged with a neighbour, so the
 * layout right after exec is the one listed.
 */
int vmlab_user_map_exec(struct vmlab_user_mm *mm, u64 start, u64 end,
			int prot, int flags, struct vmlab_file *file, u64 off,
			int kind)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	if (start >= end || ((start | end | off) & (VMLAB_PAGE_SIZE - 1)) ||
	    end > TASK_SIZE_OF(mm) || kind < VMLAB_EXEC_VMA || kind > VMLAB_EXEC_SPECIAL ||
	    (file && file->magic != FILE_MAGIC))
		return -VMLAB_EINVAL;
	if (find_vma_intersection(mm, start, end))
		return -VMLAB_EEXIST;
	if (file)
		file = file_inode(file);
	u64 vf = calc_vm_prot_bits(prot) | VMLAB_VM_MAYREAD;
	bool shared = (flags & VMLAB_MAP_TYPE) == VMLAB_MAP_SHARED;
	if (kind == VMLAB_EXEC_SPECIAL) {
		/* _install_special_mapping(): VM_DONTEXPAND, never merged;
		 * the vvar pages cannot become writable or executable */
		vf |= VMLAB_VM_DONTEXPAND;
		if (prot & VMLAB_PROT_EXEC)
			vf |= VMLAB_VM_MAYWRITE | VMLAB_VM_MAYEXEC;
		else
			vf |= VMLAB_VM_IO | VMLAB_VM_PFNMAP | VMLAB_VM_DONTDUMP;
		file = NULL;
	} else {
		vf |= VMLAB_VM_MAYWRITE | VMLAB_VM_MAYEXEC;
		if (shared)
			vf |= VMLAB_VM_SHARED | VMLAB_VM_MAYSHARE;
		else if (prot & VMLAB_PROT_WRITE)
			vf |= VMLAB_VM_ACCOUNT;
		if (kind == VMLAB_EXEC_STACK)
			vf |= VMLAB_VM_GROWSDOWN;
	}
	struct vmlab_vma *v = vma_alloc(mm);
	if (!v)
		return -VMLAB_ENOMEM;
	v->vm_start = start;
	v->vm_end = end;
	v->vm_pgoff = file ? PAGES(off) : PAGES(start);
	v->vm_flags = vf;
	vma_set_soft_dirty(v); /* mmap_region(), __bprm_mm_init() */
	if (file) {
		v->file = file;
		file_get(file);
	}
	vma_link(mm, v);
	/* The stack holds argv and envp: it has an anon_vma. */
	if (kind == VMLAB_EXEC_STACK && anon_vma_prepare(v))
		return -VMLAB_ENOMEM;
	assert(vma_lookup(mm, start) == v);
	return 0;
}

void vmlab_user_get_layout(const struct vmlab_user_mm *mm,
			   struct vmlab_user_layout *out)
{
	if (!mm || !out || mm->magic != USER_MM_MAGIC)
		return;
	out->mmap_base = mm->mmap_base;
	out->mmap_legacy_base = mm->mmap_legacy_base;
	out->stack_guard_gap = mm->stack_guard_gap;
	out->start_brk = mm->start_brk;
	out->brk = mm->brk;
	out->mmap_min_addr = mm->mmap_min_addr;
	out->topdown = mm->mmap_topdown;
}

int vmlab_user_set_layout(struct vmlab_user_mm *mm,
			  const struct vmlab_user_layout *l)
{
	if (!mm || !l || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	u64 aligned = l->mmap_base | l->mmap_legacy_base | l->stack_guard_gap |
		      l->start_brk;
	if ((aligned & (VMLAB_PAGE_SIZE - 1)) || l->mmap_base > TASK_SIZE_OF(mm) ||
	    l->mmap_legacy_base >= TASK_SIZE_OF(mm) || l->start_brk > TASK_SIZE_OF(mm) ||
	    l->brk < l->start_brk || l->brk > TASK_SIZE_OF(mm) ||
	    l->stack_guard_gap > TASK_SIZE_OF(mm) || l->mmap_min_addr > TASK_SIZE_OF(mm) ||
	    l->mmap_base < VMLAB_PAGE_SIZE)
		return -VMLAB_EINVAL;
	mm->mmap_base = l->mmap_base;
	mm->mmap_legacy_base = l->mmap_legacy_base;
	mm->stack_guard_gap = l->stack_guard_gap;
	mm->start_brk = l->start_brk;
	mm->brk = l->brk;
	mm->mmap_min_addr = l->mmap_min_addr;
	mm->mmap_topdown = l->topdown;
	return 0;
}
