/* SPDX-License-Identifier: MIT */
/*
 * User address spaces: processes (mms) with VMAs in a balanced tree, a
 * POSIX-shaped memory API (mmap, munmap, mprotect, mremap, mlock, madvise,
 * process_madvise with pidfds, fork, exit), demand paging, copy-on-write,
 * memfd-like and regular files, a swap area, and madvise guard regions (PTE markers
 * installed by the page walker's install_pte callback; VM_MAYBE_GUARD as
 * in 6.18.37+), with the semantics of Linux 6.18.
 *
 * A C program written against mmap(2)/madvise(2) ports by adding the
 * prefix and the mm argument: the constants have Linux's values and errors
 * come back errno-style as negative VMLAB_E* values.  Memory accesses by a
 * task return the signal Linux would deliver instead of raising it.
 *
 * Syscalls run on the mm's current CPU (vmlab_user_switch(), CPU 0 at
 * first), which gets the mm loaded; TLB shootdowns go to every CPU that
 * may cache the mm.
 *
 * Compared with the real kernel (a differential test runs the same random
 * call sequences on the host and compares results, VMA layouts and
 * pagemap bits), the model leaves out: hugetlb sizes other than 2 MiB,
 * hugetlbfs files (MAP_HUGETLB anonymous memory only) and moving or
 * growing a hugetlb mapping with mremap, THP for shmem and files
 * (anonymous THP is PMD-sized, vmlab_user_set_thp(), and multi-size,
 * vmlab_user_set_mthp());
 * stack growth (MAP_GROWSDOWN
 * sets the flag only); the swap cache (each swap-in copies the slot);
 * LRU lists (COLD clears accessed bits, FREE'd pages are dropped by
 * PAGEOUT, not by background reclaim); KSM (MERGEABLE sets the flag);
 * read-ahead (WILLNEED does nothing); soft-dirty of swap entries
 * (include/vmlab/migrate.h has clear_refs and pagemap bit 55);
 * regular files' read-ahead, writeback and write-notify (a shared
 * writable mapping of one maps pages writable at once, as a memfd's
 * does; reclaim sends them to the swap area), large folios, permissions
 * and directories ("files and swap" below); mseal, resource limits and
 * commit accounting (VM_ACCOUNT is kept for merging); userfaultfd beyond
 * the missing mode (include/vmlab/userfaultfd.h: no write-protect or
 * minor faults, no events, no MOVE/CONTINUE/POISON).  Tasks
 * are unprivileged for mmap_min_addr (65536: EPERM below it) and
 * HWPOISON (EPERM).
 */
#ifndef VMLAB_USER_H
#define VMLAB_USER_H

#include "machine.h"

/* errno values used here beyond types.h (asm-generic/errno*.h). */
#define VMLAB_ESRCH 3
#define VMLAB_EBADF 9
#define VMLAB_EACCES 13
#define VMLAB_EMFILE 24
#define VMLAB_EFBIG 27
#define VMLAB_EOVERFLOW 75
#define VMLAB_ENAMETOOLONG 36
#define VMLAB_EOPNOTSUPP 95

/* mmap/mprotect protections (asm-generic/mman-common.h). */
#define VMLAB_PROT_NONE 0x0
#define VMLAB_PROT_READ 0x1
#define VMLAB_PROT_WRITE 0x2
#define VMLAB_PROT_EXEC 0x4
#define VMLAB_PROT_SEM 0x8
#define VMLAB_PROT_GROWSDOWN 0x01000000
#define VMLAB_PROT_GROWSUP 0x02000000

/* mmap flags (x86-64 values). */
#define VMLAB_MAP_SHARED 0x01
#define VMLAB_MAP_PRIVATE 0x02
#define VMLAB_MAP_SHARED_VALIDATE 0x03
/* 6.11+: private anonymous memory the kernel may drop under pressure
 * (VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP; never
 * mlocked; reclaim discards its pages even when dirty, unswapped). */
#define VMLAB_MAP_DROPPABLE 0x08
#define VMLAB_MAP_TYPE 0x0f
#define VMLAB_MAP_FIXED 0x10
#define VMLAB_MAP_ANONYMOUS 0x20
#define VMLAB_MAP_32BIT 0x40
#define VMLAB_MAP_GROWSDOWN 0x0100
#define VMLAB_MAP_DENYWRITE 0x0800
#define VMLAB_MAP_EXECUTABLE 0x1000
#define VMLAB_MAP_LOCKED 0x2000
#define VMLAB_MAP_NORESERVE 0x4000
#define VMLAB_MAP_POPULATE 0x8000
#define VMLAB_MAP_NONBLOCK 0x10000
#define VMLAB_MAP_STACK 0x20000
#define VMLAB_MAP_HUGETLB 0x40000
#define VMLAB_MAP_SYNC 0x80000
#define VMLAB_MAP_FIXED_NOREPLACE 0x100000
#define VMLAB_MAP_UNINITIALIZED 0x4000000
/* MAP_HUGETLB page sizes: log2 of the size in bits 26-31 (0: default). */
#define VMLAB_MAP_HUGE_SHIFT 26
#define VMLAB_MAP_HUGE_MASK 0x3f
#define VMLAB_MAP_HUGE_2MB (21 << VMLAB_MAP_HUGE_SHIFT)
#define VMLAB_MAP_HUGE_1GB (30 << VMLAB_MAP_HUGE_SHIFT)

/* mremap flags. */
#define VMLAB_MREMAP_MAYMOVE 1
#define VMLAB_MREMAP_FIXED 2
#define VMLAB_MREMAP_DONTUNMAP 4

/* mlock2 flags. */
#define VMLAB_MLOCK_ONFAULT 0x01

/* mlockall flags (asm-generic/mman.h). */
#define VMLAB_MCL_CURRENT 1
#define VMLAB_MCL_FUTURE 2
#define VMLAB_MCL_ONFAULT 4

/* madvise advice (asm-generic/mman-common.h). */
#define VMLAB_MADV_NORMAL 0
#define VMLAB_MADV_RANDOM 1
#define VMLAB_MADV_SEQUENTIAL 2
#define VMLAB_MADV_WILLNEED 3
#define VMLAB_MADV_DONTNEED 4
#define VMLAB_MADV_FREE 8
#define VMLAB_MADV_REMOVE 9
#define VMLAB_MADV_DONTFORK 10
#define VMLAB_MADV_DOFORK 11
#define VMLAB_MADV_MERGEABLE 12
#define VMLAB_MADV_UNMERGEABLE 13
#define VMLAB_MADV_HUGEPAGE 14
#define VMLAB_MADV_NOHUGEPAGE 15
#define VMLAB_MADV_DONTDUMP 16
#define VMLAB_MADV_DODUMP 17
#define VMLAB_MADV_WIPEONFORK 18
#define VMLAB_MADV_KEEPONFORK 19
#define VMLAB_MADV_COLD 20
#define VMLAB_MADV_PAGEOUT 21
#define VMLAB_MADV_POPULATE_READ 22
#define VMLAB_MADV_POPULATE_WRITE 23
#define VMLAB_MADV_DONTNEED_LOCKED 24
#define VMLAB_MADV_COLLAPSE 25
#define VMLAB_MADV_HWPOISON 100
#define VMLAB_MADV_SOFT_OFFLINE 101
#define VMLAB_MADV_GUARD_INSTALL 102
#define VMLAB_MADV_GUARD_REMOVE 103

/* vm_flags bits, with the kernel's values (include/linux/mm.h). */
#define VMLAB_VM_READ 0x00000001ULL
#define VMLAB_VM_WRITE 0x00000002ULL
#define VMLAB_VM_EXEC 0x00000004ULL
#define VMLAB_VM_SHARED 0x00000008ULL
#define VMLAB_VM_MAYREAD 0x00000010ULL
#define VMLAB_VM_MAYWRITE 0x00000020ULL
#define VMLAB_VM_MAYEXEC 0x00000040ULL
#define VMLAB_VM_MAYSHARE 0x00000080ULL
#define VMLAB_VM_GROWSDOWN 0x00000100ULL
#define VMLAB_VM_PFNMAP 0x00000400ULL
/* VM_MAYBE_GUARD (6.19, 6.18.37+): set on MADV_GUARD_INSTALL, never
 * cleared; sticky on merge, makes fork copy the page tables; smaps "gu". */
#define VMLAB_VM_MAYBE_GUARD 0x00000800ULL
#define VMLAB_VM_LOCKED 0x00002000ULL
#define VMLAB_VM_IO 0x00004000ULL
#define VMLAB_VM_SEQ_READ 0x00008000ULL
#define VMLAB_VM_RAND_READ 0x00010000ULL
#define VMLAB_VM_DONTCOPY 0x00020000ULL
#define VMLAB_VM_DONTEXPAND 0x00040000ULL
#define VMLAB_VM_LOCKONFAULT 0x00080000ULL
#define VMLAB_VM_ACCOUNT 0x00100000ULL
#define VMLAB_VM_NORESERVE 0x00200000ULL
#define VMLAB_VM_HUGETLB 0x00400000ULL
#define VMLAB_VM_SYNC 0x00800000ULL
#define VMLAB_VM_WIPEONFORK 0x02000000ULL
#define VMLAB_VM_DONTDUMP 0x04000000ULL
#define VMLAB_VM_SOFTDIRTY 0x08000000ULL
#define VMLAB_VM_MIXEDMAP 0x10000000ULL
#define VMLAB_VM_HUGEPAGE 0x20000000ULL
#define VMLAB_VM_NOHUGEPAGE 0x40000000ULL
#define VMLAB_VM_MERGEABLE 0x80000000ULL
#define VMLAB_VM_DROPPABLE (1ULL << 36) /* VM_HIGH_ARCH_4 on 64-bit */
#define VMLAB_VM_SPECIAL                                                     \
	(VMLAB_VM_IO | VMLAB_VM_DONTEXPAND | VMLAB_VM_PFNMAP | VMLAB_VM_MIXEDMAP)

/* /proc/PID/pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define VMLAB_PM_PFN_MASK ((1ULL << 55) - 1)
#define VMLAB_PM_SOFT_DIRTY (1ULL << 55) /* where the arch has it */
#define VMLAB_PM_MMAP_EXCLUSIVE (1ULL << 56)
#define VMLAB_PM_UFFD_WP (1ULL << 57)
#define VMLAB_PM_GUARD_REGION (1ULL << 58)
#define VMLAB_PM_FILE (1ULL << 61)
#define VMLAB_PM_SWAP (1ULL << 62)
#define VMLAB_PM_PRESENT (1ULL << 63)

/* Access outcomes: the signal Linux delivers (0: the access completed). */
enum vmlab_outcome {
	VMLAB_OK = 0,
	VMLAB_SIGBUS = 7,
	VMLAB_SIGKILL = 9, /* out of memory: the OOM killer */
	VMLAB_SIGSEGV = 11,
};
/* si_code values. */
#define VMLAB_SEGV_MAPERR 1
#define VMLAB_SEGV_ACCERR 2
#define VMLAB_BUS_ADRERR 2
#define VMLAB_BUS_MCEERR_AR 4

struct vmlab_siginfo {
	int signo; /* VMLAB_SIGSEGV, VMLAB_SIGBUS, or 0 */
	int code;  /* VMLAB_SEGV_* / VMLAB_BUS_* */
	u64 addr;  /* faulting address */
};

struct vmlab_user_mm; /* a process's address space (mm_struct) */
struct vmlab_vma;     /* vm_area_struct */
struct vmlab_file;    /* a memfd, or an open regular file */

struct vmlab_iovec {
	u64 iov_base;
	u64 iov_len;
};

struct vmlab_range {
	u64 start, end; /* [start, end) */
};

/* ------------------------------------------------------------- processes */

/* A new, empty address space (as after execve, without any image).  0,
 * -VMLAB_EINVAL or -VMLAB_ENOMEM. */
int vmlab_user_mm_create(struct vmlab_machine *m, struct vmlab_user_mm **out);
/* exit_mmap() and free: every mapping, guard marker and page table goes;
 * pages are freed after the flush.  NULL is ignored. */
void vmlab_user_mm_destroy(struct vmlab_user_mm *mm);
struct vmlab_machine *vmlab_user_machine(const struct vmlab_user_mm *mm);
/* The machine-level mm (page-table root, ASID state, cpumask). */
struct vmlab_mm *vmlab_user_hw_mm(struct vmlab_user_mm *mm);
/* mmap_read_lock / mmap_write_lock (and the unlocks) as a caller takes
 * them around its own vmlab_walk_page_range() of vmlab_user_hw_mm(mm):
 * the walk's lock mode (enum vmlab_pgwalk_lock) is checked against them. */
void vmlab_user_mmap_lock(struct vmlab_user_mm *mm, bool write);
void vmlab_user_mmap_unlock(struct vmlab_user_mm *mm, bool write);
u64 vmlab_user_pid(const struct vmlab_user_mm *mm);

/* Schedule a thread of mm on cpu: loads the mm there (switch_mm) and makes
 * cpu the one that runs the mm's later syscalls.  -VMLAB_EINVAL on a bad
 * cpu. */
int vmlab_user_switch(struct vmlab_user_mm *mm, int cpu);
int vmlab_user_cpu(const struct vmlab_user_mm *mm);

/* fork(): a copy of mm (copy_page_range, COW, guard markers copied except
 * under VM_WIPEONFORK; VM_DONTCOPY VMAs left out).  0 or -errno. */
int vmlab_fork(struct vmlab_user_mm *mm, struct vmlab_user_mm **child);

/* --------------------------------------------------------- the memory API */

/* Returns the address, or a negative errno. */
s64 vmlab_mmap(struct vmlab_user_mm *mm, u64 addr, u64 len, int prot,
	       int flags, struct vmlab_file *file, u64 off);
int vmlab_munmap(struct vmlab_user_mm *mm, u64 addr, u64 len);
int vmlab_mprotect(struct vmlab_user_mm *mm, u64 addr, u64 len, int prot);
s64 vmlab_mremap(struct vmlab_user_mm *mm, u64 old_addr, u64 old_len,
		 u64 new_len, int flags, u64 new_addr);
int vmlab_mlock(struct vmlab_user_mm *mm, u64 addr, u64 len);
int vmlab_mlock2(struct vmlab_user_mm *mm, u64 addr, u64 len,
		 unsigned int flags);
int vmlab_munlock(struct vmlab_user_mm *mm, u64 addr, u64 len);
/* mlockall(2)/munlockall(2): 0 or -EINVAL (bad flags). */
int vmlab_mlockall(struct vmlab_user_mm *mm, int flags);
int vmlab_munlockall(struct vmlab_user_mm *mm);
int vmlab_madvise(struct vmlab_user_mm *mm, u64 addr, u64 len, int advice);
/* kswapd reclaiming the pages mm maps at [addr, addr + len) (rmap-based
 * shrink_folio_list: no mmap_lock, TTU_BATCH_FLUSH, other programs may run
 * before the batched flush): pages of the VMAs it could reclaim, or
 * -EINVAL.  Locked, PFN-map and hugetlb VMAs are skipped. */
int vmlab_user_reclaim(struct vmlab_user_mm *mm, u64 addr, u64 len);
/* process_madvise(2) on mm itself (pidfd PIDFD_SELF): bytes advised, or
 * -errno if none. */
s64 vmlab_process_madvise(struct vmlab_user_mm *mm,
			  const struct vmlab_iovec *iov, size_t vlen,
			  int advice, unsigned int flags);

/* ------------------------------------------ pidfds and process_madvise */

/* pidfd_open(2) flags and the PIDFD_SELF sentinels (uapi/linux/pidfd.h). */
#define VMLAB_PIDFD_NONBLOCK 04000
#define VMLAB_PIDFD_THREAD 0200
#define VMLAB_PIDFD_SELF_THREAD (-10000)
#define VMLAB_PIDFD_SELF_THREAD_GROUP (-10001)
#define VMLAB_PIDFD_SELF VMLAB_PIDFD_SELF_THREAD
/* Capabilities a task may hold (uapi/linux/capability.h numbers). */
#define VMLAB_CAP_SYS_PTRACE 19 /* userfaultfd: kernel faults, EVENT_FORK */
#define VMLAB_CAP_SYS_NICE 23
/* Every task has the same uid and is dumpable, so ptrace_may_access()
 * always allows; tasks start with no capabilities. */
int vmlab_user_set_caps(struct vmlab_user_mm *mm, u64 caps); /* 1 << CAP */
u64 vmlab_user_caps(const struct vmlab_user_mm *mm);
/* pidfd_open(2) in mm's descriptor table: the lowest free fd (3 and up),
 * or -EINVAL (flags, pid <= 0), -ESRCH (no such process), -EMFILE (1024
 * descriptors).  Forks inherit the table; the process's exit closes it. */
int vmlab_pidfd_open(struct vmlab_user_mm *mm, s64 pid, unsigned int flags);
/* close(2) of a pidfd: 0 or -EBADF. */
int vmlab_close(struct vmlab_user_mm *mm, int fd);
/*
 * process_madvise(2) from mm's task on the process pidfd names (or mm
 * itself for VMLAB_PIDFD_SELF*).  Checked in Linux's order: flags
 * (EINVAL), the iovec import (vlen truncated to 32 bits; more than 1024
 * EINVAL; NULL EFAULT; a negative length EINVAL; a segment reaching past
 * the user address space EFAULT; lengths capped to MAX_RW_COUNT in
 * total), the pidfd (EBADF; ESRCH once the process has exited), then for
 * another process only COLD, PAGEOUT, WILLNEED and COLLAPSE (EINVAL) and
 * only with CAP_SYS_NICE (EPERM).  Returns the bytes advised before the
 * first failing segment, or its -errno if it was the first.  The remote
 * work runs on the target's CPU.
 */
s64 vmlab_process_madvise_pidfd(struct vmlab_user_mm *mm, int pidfd,
				const struct vmlab_iovec *iov, u64 vlen,
				int advice, unsigned int flags);
/* A device mapping, as a driver's mmap() doing remap_pfn_range(): a
 * VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP shared VMA mapping
 * `pages` frames from pfn (not reference counted), placed as mmap(NULL)
 * would.  Returns the address or a negative errno. */
s64 vmlab_user_map_io(struct vmlab_user_mm *mm, u64 pfn, u64 pages,
		      int prot);
/* The same from a device file's mmap(): the VMA maps file (offset 0), so
 * the driver's unmap_mapping_range() of the file (vmlab_file_truncate)
 * zaps it. */
s64 vmlab_user_map_io_file(struct vmlab_user_mm *mm, struct vmlab_file *file,
			   u64 pfn, u64 pages, int prot);
/* UFFDIO_POISON-like: install poison PTE markers over [addr, addr+len)
 * (a VMA must cover it; present pages are refused with -VMLAB_EEXIST).
 * An access there gives SIGBUS. */
int vmlab_user_poison(struct vmlab_user_mm *mm, u64 addr, u64 len);

/*
 * A task's access, from cpu (the mm is loaded there if it is not).
 * Returns VMLAB_OK, VMLAB_SIGSEGV, VMLAB_SIGBUS or VMLAB_SIGKILL (out of
 * memory); bytes up to the faulting page are moved, as hardware does.
 * Bad arguments give -VMLAB_EINVAL.
 * kind: VMLAB_READ, VMLAB_WRITE or VMLAB_FETCH (buf may be NULL for
 * reads and fetches).
 */
int vmlab_user_access(struct vmlab_user_mm *mm, int cpu,
		      enum vmlab_access kind, u64 va, void *buf, size_t len);
int vmlab_user_access_si(struct vmlab_user_mm *mm, int cpu,
			 enum vmlab_access kind, u64 va, void *buf, size_t len,
			 struct vmlab_siginfo *si);
/* Convenience: one byte read / write. */
int vmlab_user_read8(struct vmlab_user_mm *mm, int cpu, u64 va, u8 *out);
int vmlab_user_write8(struct vmlab_user_mm *mm, int cpu, u64 va, u8 v);

/* brk(2): the new break, or the unchanged one when refused (as Linux:
 * a failed brk is not an error to the kernel). */
s64 vmlab_brk(struct vmlab_user_mm *mm, u64 brk);

/* ------------------------------------------------ exec-time layout */

/* What exec leaves: kinds of vmlab_user_map_exec(). */
#define VMLAB_EXEC_VMA 0     /* an ELF segment, bss, an anonymous VMA */
#define VMLAB_EXEC_STACK 1   /* the stack: VM_GROWSDOWN, with an anon_vma */
#define VMLAB_EXEC_SPECIAL 2 /* [vdso], [vvar]...: never merged */
/* A VMA exactly as listed in /proc/PID/maps after exec, not merged with
 * its neighbours.  0, -VMLAB_EINVAL or -VMLAB_EEXIST (overlap). */
int vmlab_user_map_exec(struct vmlab_user_mm *mm, u64 start, u64 end,
			int prot, int flags, struct vmlab_file *file, u64 off,
			int kind);

/* The placement parameters of an mm (arch/x86/mm/mmap.c, mm/mmap.c). */
struct vmlab_user_layout {
	u64 mmap_base;	      /* top of the top-down area (TASK_SIZE - 128 MiB) */
	u64 mmap_legacy_base; /* bottom-up start (TASK_UNMAPPED_BASE) */
	u64 stack_guard_gap;  /* kept free below stacks (256 pages) */
	u64 start_brk, brk;   /* the heap (0, 0: none) */
	u64 mmap_min_addr;    /* vm.mmap_min_addr (65536) */
	bool topdown;	      /* MMF_TOPDOWN (legacy layout when false) */
};
void vmlab_user_get_layout(const struct vmlab_user_mm *mm,
			   struct vmlab_user_layout *out);
/* 0 or -VMLAB_EINVAL (unaligned or out of the user range). */
int vmlab_user_set_layout(struct vmlab_user_mm *mm,
			  const struct vmlab_user_layout *l);

/* ------------------------------------------------------ files and swap */

/* memfd_create()-like: an empty shmem file.  Files are reference counted;
 * every mapping holds a reference, vmlab_file_put() drops the caller's. */
int vmlab_memfd_create(struct vmlab_machine *m, const char *name,
		       struct vmlab_file **out);
void vmlab_file_put(struct vmlab_file *f);
/* memfd_create(2) flags and F_ADD_SEALS seals (uapi/linux/memfd.h,
 * fcntl.h). */
#define VMLAB_MFD_CLOEXEC 0x0001U
#define VMLAB_MFD_ALLOW_SEALING 0x0002U
#define VMLAB_MFD_HUGETLB 0x0004U
#define VMLAB_MFD_NOEXEC_SEAL 0x0008U
#define VMLAB_MFD_EXEC 0x0010U
#define VMLAB_F_SEAL_SEAL 0x0001U
#define VMLAB_F_SEAL_SHRINK 0x0002U
#define VMLAB_F_SEAL_GROW 0x0004U
#define VMLAB_F_SEAL_WRITE 0x0008U
#define VMLAB_F_SEAL_FUTURE_WRITE 0x0010U
#define VMLAB_F_SEAL_EXEC 0x0020U
/*
 * memfd_create(2) with flags (vmlab_memfd_create() is flags 0): -EINVAL
 * for unknown flags, MFD_EXEC with MFD_NOEXEC_SEAL, a name over 249
 * bytes; MFD_HUGETLB -EOPNOTSUPP (no hugetlbfs).  Without
 * MFD_ALLOW_SEALING (or MFD_NOEXEC_SEAL, which implies it and seals
 * F_SEAL_EXEC on a non-executable file) the file is F_SEAL_SEAL'ed.
 */
int vmlab_memfd_create_flags(struct vmlab_machine *m, const char *name,
			     unsigned int flags, struct vmlab_file **out);
/* fcntl(F_ADD_SEALS): 0, -EINVAL (unknown seals, a regular file), -EPERM
 * (F_SEAL_SEAL), -EBUSY (F_SEAL_WRITE while shared writable-capable
 * mappings exist).  F_SEAL_EXEC on an executable file also seals SHRINK,
 * GROW, WRITE and FUTURE_WRITE.  Seals then make pwrite and hole
 * punching EPERM (WRITE, FUTURE_WRITE), shrinking or growing EPERM, and
 * new MAP_SHARED PROT_WRITE mappings EPERM (a read-only one cannot be
 * mprotect()ed writable: EACCES); existing mappings keep writing under
 * FUTURE_WRITE. */
int vmlab_file_add_seals(struct vmlab_file *f, unsigned int seals);
/* fcntl(F_GET_SEALS): the seals, or -EINVAL for a regular file. */
int vmlab_file_get_seals(const struct vmlab_file *f);
/* Make f stand for a regular file of a disk filesystem (ext4, xfs):
 * mappings of it are placed by thp_get_unmapped_area(), 2 MiB aligned
 * with their file offset when 2 MiB of them can be. */
void vmlab_file_set_thp_area(struct vmlab_file *f, bool on);
/*
 * Regular files of a disk filesystem (ext4-like; src/user/regfile.c): a
 * flat namespace of paths (at most 63 bytes: -ENAMETOOLONG) per machine.
 * vmlab_file_open() is open(2): O_CREAT makes an empty file (O_EXCL:
 * -EEXIST if it exists), without it a missing path is -ENOENT, O_TRUNC
 * empties an existing one; the access mode (O_RDONLY, O_WRONLY, O_RDWR;
 * 3 reads and writes nothing) is the handle's.  Every vmlab_file call
 * takes the handle: pwrite -EBADF unless open for writing, pread unless
 * for reading, ftruncate -EINVAL unless for writing, punch_hole -EBADF
 * (after a zero length's -EINVAL); F_ADD_SEALS -EPERM unless for writing,
 * else -EINVAL (no seals), F_GET_SEALS -EINVAL.  vmlab_mmap() of a handle,
 * after the address checks (-EEXIST for MAP_FIXED_NOREPLACE first):
 * -EACCES for MAP_SHARED with PROT_WRITE unless open for writing, -EACCES
 * for any mapping unless open for reading; a MAP_SHARED mapping of a
 * handle not open for writing loses VM_MAYWRITE and VM_SHARED (maps still
 * shows 's'; mprotect(PROT_WRITE) -EACCES, MADV_REMOVE -EACCES);
 * MAP_PRIVATE may write (copy-on-write); MAP_SHARED_VALIDATE | MAP_SYNC
 * -EOPNOTSUPP (no DAX).  The page cache, SIGBUS past EOF, hole punching,
 * truncation and fault-around are the memfd's; mappings are placed by
 * thp_get_unmapped_area().  vmlab_file_put() is close(); the file lives
 * while linked, open or mapped.
 */
#define VMLAB_O_RDONLY 00
#define VMLAB_O_WRONLY 01
#define VMLAB_O_RDWR 02
#define VMLAB_O_ACCMODE 03
#define VMLAB_O_CREAT 0100
#define VMLAB_O_EXCL 0200
#define VMLAB_O_TRUNC 01000
int vmlab_file_open(struct vmlab_machine *m, const char *path, int flags,
		    struct vmlab_file **out);
/* unlink(2): 0, -ENOENT, -ENAMETOOLONG. */
int vmlab_file_unlink(struct vmlab_machine *m, const char *path);
/* The handle's FMODE_READ (1) | FMODE_WRITE (2); a memfd is 3.  -EBADF
 * for anything else. */
int vmlab_file_mode(const struct vmlab_file *f);
/* The inode-like number vmlab_vma_info.file_id shows (0 for NULL). */
u64 vmlab_file_id(const struct vmlab_file *f);
int vmlab_ftruncate(struct vmlab_file *f, u64 size);
/* fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE). */
int vmlab_file_punch_hole(struct vmlab_file *f, u64 off, u64 len);
s64 vmlab_file_pwrite(struct vmlab_file *f, const void *buf, u64 len,
		      u64 off);
s64 vmlab_file_pread(struct vmlab_file *f, void *buf, u64 len, u64 off);
u64 vmlab_file_size(const struct vmlab_file *f);
u64 vmlab_file_cached_pages(const struct vmlab_file *f);
u64 vmlab_file_swapped_pages(const struct vmlab_file *f);

/* /sys/kernel/debug/fault_around_bytes for the machine: a read fault on
 * a file mapping also maps the page-cache pages of the aligned window of
 * that many bytes around it (rounded down to a power of two of pages; 64
 * KiB by default; under a page: off), within the VMA, the PTE table and
 * EOF, where the PTE is none (present pages, COW copies and guard markers
 * stay), even when the fault itself is past EOF (SIGBUS); on a regular
 * file not when the window's first cached page is the file's last one
 * and no PTE table is there yet (Linux 6.18).  -EINVAL above 2 MiB. */
int vmlab_user_set_fault_around_bytes(struct vmlab_machine *m, u64 bytes);

/* Locking (src/user/mmap_lock.c).  Every syscall takes mmap_lock as
 * Linux 6.18 does (munmap, mmap, mprotect, mremap, mlock*, brk, fork and
 * the VMA-changing madvise advice for writing; populate, guard install and
 * remove, COLD, PAGEOUT for reading; DONTNEED and FREE a VMA's read lock),
 * and faults try the VMA's read lock first (lock_vma_under_rcu), falling
 * back to mmap_lock.  vmlab_user_kill() sends the task SIGKILL: from then
 * on fatal_signal_pending() holds and mmap_write_lock_killable() fails
 * with -EINTR.  vmlab_user_set_guard_lock(m, true) makes MADV_GUARD_INSTALL
 * take mmap_lock for writing, as the first VM_MAYBE_GUARD series did (v1,
 * 2025-10-29; 6.18 takes it for reading): the only way the restart path of
 * process_madvise() can meet a lock that fails (a mutant's scenario). */
int vmlab_user_kill(struct vmlab_user_mm *mm);
bool vmlab_user_fatal_signal_pending(const struct vmlab_user_mm *mm);
int vmlab_user_set_guard_lock(struct vmlab_machine *m, bool write);
/* CONFIG_PER_VMA_LOCK (on by default: x86-64 and arm64 select it).  Off,
 * lock_vma_under_rcu() finds nothing: every fault takes mmap_lock for
 * reading (lock_mm_and_find_vma) and DONTNEED/FREE take mmap_lock, with
 * no vma_lock_* statistics (the fault-mmap-lock benchmark compares the
 * two fault paths).  -EINVAL without the user layer. */
int vmlab_user_set_per_vma_lock(struct vmlab_machine *m, bool on);

/* ------------------------------------------- transparent huge pages */

/*
 * PMD-sized anonymous THP (mm/huge_memory.c, mm/khugepaged.c): a write
 * fault (a read one maps the huge zero page, use_zero_page) in a private
 * anonymous VMA whose PMD-aligned 2 MiB around the address lies wholly
 * inside it, with an empty PMD, maps an order-9 folio by one PMD leaf
 * (x86-64 PS, arm64 block: one 2 MiB TLB entry), if the mode allows:
 * always, or madvise with VM_HUGEPAGE (MADV_HUGEPAGE); never VM_NOHUGEPAGE
 * or an mm with PR_SET_THP_DISABLE.  Partial munmap, mprotect, DONTNEED,
 * FREE, COLD, a VMA split inside it and guard install split the PMD
 * (split_huge_pmd: pmdp_invalidate and a flush of the 2 MiB first);
 * whole ones are zapped / changed as one entry; guard remove leaves it.
 * fork shares it read-only (copy_huge_pmd), a write to a shared one
 * splits and copies 4 KiB pages as Linux does.  MADV_COLLAPSE and the
 * khugepaged pass collapse PTE-mapped ranges, refusing ranges with guard
 * markers (or any non-swap non-present entry, as 6.17+).
 * split_huge_pmd leaves the folio whole as Linux does: a partial unmap
 * queues it for the deferred split (thp_deferred_split_page) and its
 * unused pages stay allocated until vmlab_user_deferred_split_scan() (or
 * an order-0 allocation that fails, as direct reclaim's shrinker) splits
 * it (thp_split_page); a folio whose last page goes is freed whole.
 * Simplifications: a split allocates its PTE table then (no deposit: the
 * split can fail with -ENOMEM), collapse does not swap in (a swap entry
 * fails it as SCAN_EXCEED_SWAP_PTE), PAGEOUT/mremap/migrate split
 * first.  The machine starts with enabled = never, so models that
 * never set it see no change.
 */
#define VMLAB_THP_ALWAYS 0
#define VMLAB_THP_MADVISE 1
#define VMLAB_THP_NEVER 2
/* /sys/kernel/mm/transparent_hugepage/enabled: 0 or -EINVAL. */
int vmlab_user_set_thp(struct vmlab_machine *m, int mode);
int vmlab_user_get_thp(struct vmlab_machine *m); /* mode or -EINVAL */
/* .../use_zero_page (default 1). */
int vmlab_user_set_thp_zero_page(struct vmlab_machine *m, bool on);
/* prctl(PR_SET_THP_DISABLE / PR_GET_THP_DISABLE): per process, kept
 * over fork. */
int vmlab_prctl_set_thp_disable(struct vmlab_user_mm *mm, bool disable);
int vmlab_prctl_get_thp_disable(const struct vmlab_user_mm *mm);

/* .../khugepaged/ knobs (the Linux defaults: 511, 64, 256, 4096). */
struct vmlab_khugepaged_params {
	u64 max_ptes_none, max_ptes_swap, max_ptes_shared;
	u64 pages_to_scan; /* PTEs looked at per vmlab_khugepaged_scan() */
};
int vmlab_user_set_khugepaged(struct vmlab_machine *m,
			      const struct vmlab_khugepaged_params *p);
void vmlab_user_get_khugepaged(struct vmlab_machine *m,
			       struct vmlab_khugepaged_params *out);
/* One wake-up of khugepaged: scan pages_to_scan PTE-sized pages of the
 * mms on its list (those with a VMA it may collapse), from where the last
 * pass stopped, collapsing each PMD range that qualifies.  Returns the
 * huge pages made, or -EINVAL. */
int vmlab_khugepaged_scan(struct vmlab_machine *m);

/* /proc/vmstat's THP counters of the machine, with their names. */
#define VMLAB_THP_VMSTAT(X)                                                  \
	X(thp_fault_alloc)                                                   \
	X(thp_fault_fallback)                                                \
	X(thp_collapse_alloc)                                                \
	X(thp_collapse_alloc_failed)                                         \
	X(thp_split_page)                                                    \
	X(thp_split_pmd)                                                     \
	X(thp_deferred_split_page)                                           \
	X(thp_file_alloc)                                                    \
	X(thp_file_fallback)                                                 \
	X(thp_file_mapped)                                                   \
	X(thp_scan_exceed_none_pte)                                          \
	X(thp_scan_exceed_swap_pte)                                          \
	X(thp_scan_exceed_share_pte)                                         \
	X(thp_zero_page_alloc)                                               \
	X(thp_zero_page_alloc_failed)
struct vmlab_thp_vmstat {
#define VMLAB_X_FIELD(name) u64 name;
	VMLAB_THP_VMSTAT(VMLAB_X_FIELD)
#undef VMLAB_X_FIELD
};
void vmlab_user_thp_vmstat(struct vmlab_machine *m,
			   struct vmlab_thp_vmstat *out);
/*
 * shmem THP: /sys/kernel/mm/transparent_hugepage/shmem_enabled, the huge=
 * option of the internal mount memfds and shared anonymous memory live
 * on (Linux's values; default never).  A shared mapping's fault whose
 * 2 MiB range lies in the VMA at a 512-page-aligned file offset takes a
 * PMD-sized folio when the cache has none of its pages yet (always;
 * within_size: i_size covers the folio; advise: MADV_HUGEPAGE; force
 * ignores NOHUGEPAGE and PR_SET_THP_DISABLE) or maps the huge folio the
 * cache holds with one PMD (thp_file_alloc, thp_file_mapped; smaps
 * ShmemPmdMapped).  A partial truncate, hole punch or swap-out splits the
 * folio (thp_split_page); splitting a file PMD zaps it.
 */
#define VMLAB_SHMEM_HUGE_FORCE (-2)
#define VMLAB_SHMEM_HUGE_DENY (-1)
#define VMLAB_SHMEM_HUGE_NEVER 0
#define VMLAB_SHMEM_HUGE_ALWAYS 1
#define VMLAB_SHMEM_HUGE_WITHIN_SIZE 2
#define VMLAB_SHMEM_HUGE_ADVISE 3
/* 0 or -EINVAL. */
int vmlab_user_set_shmem_thp(struct vmlab_machine *m, int mode);
/* The mode; below VMLAB_SHMEM_HUGE_FORCE without a machine. */
int vmlab_user_get_shmem_thp(struct vmlab_machine *m);
/* The THP shrinker (deferred_split_scan()): split every folio on the
 * deferred split queue, freeing the pages nobody uses; the number split,
 * or -EINVAL. */
int vmlab_user_deferred_split_scan(struct vmlab_machine *m);
/* Is addr mapped by a huge PMD (1), not (0), or -EINVAL. */
int vmlab_user_thp_mapped(struct vmlab_user_mm *mm, u64 addr);

/*
 * Multi-size THP for anonymous memory (mTHP, Linux 6.8+):
 * /sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/enabled for the
 * orders 2 .. HPAGE_PMD_ORDER (16 KiB .. 2 MiB with 4 KiB pages; order 1
 * has no anonymous control, as in Linux).  A mode is ALWAYS, MADVISE,
 * NEVER or INHERIT (follow the global `enabled`).  Defaults as Linux:
 * INHERIT for the PMD order, NEVER for the others.  A write fault on an
 * empty PTE takes the highest enabled order whose naturally aligned range
 * lies inside the VMA and whose PTEs are all none (a guard marker, a swap
 * entry or a zero-page PTE in the range rules that order out), trying
 * lower orders when the allocation fails (anon_fault_fallback), and maps
 * the whole folio writable.  Simplification: the folio is split into
 * order-0 pages once mapped, so a partial unmap frees its pages at once
 * (Linux keeps the folio on the deferred split queue until the shrinker
 * splits it) and nr_anon is not kept.
 */
#define VMLAB_THP_INHERIT 3
/* 0, or -EINVAL for an order without an anonymous control or a bad
 * mode. */
int vmlab_user_set_mthp(struct vmlab_machine *m, int order, int mode);
int vmlab_user_get_mthp(struct vmlab_machine *m, int order); /* or -EINVAL */
/* hugepages-<size>kB/stats/ of one order. */
#define VMLAB_MTHP_STATS(X)                                                  \
	X(anon_fault_alloc)                                                  \
	X(anon_fault_fallback)
struct vmlab_mthp_stats {
#define VMLAB_X_FIELD(name) u64 name;
	VMLAB_MTHP_STATS(VMLAB_X_FIELD)
#undef VMLAB_X_FIELD
};
int vmlab_user_mthp_stats(struct vmlab_machine *m, int order,
			  struct vmlab_mthp_stats *out); /* 0 or -EINVAL */

/* ------------------------------------------------------------ hugetlb */

/*
 * hugetlb (mm/hugetlb.c), the 2 MiB hstate only: a per-machine pool of
 * huge pages, empty at boot.  mmap(MAP_HUGETLB | MAP_ANONYMOUS), with
 * MAP_HUGE_2MB or no size (MAP_HUGE_1GB and others: EINVAL, as a
 * kernel without a 1 GiB hstate answers; one with it, x86 with GBPAGES,
 * says ENOMEM for its empty 1 GiB pool), makes a VM_HUGETLB | VM_DONTEXPAND VMA whose length is rounded
 * up to 2 MiB and placed 2 MiB aligned (hugetlb_get_unmapped_area; an
 * unaligned MAP_FIXED address or offset is EINVAL).  The pages are
 * reserved at mmap time unless MAP_NORESERVE (ENOMEM when the pool
 * cannot back the mapping); a fault maps a whole zeroed 2 MiB page by one
 * PMD leaf (SIGBUS when no page is left for it).  munmap, mprotect and
 * madvise split hugetlb VMAs only at 2 MiB boundaries (EINVAL otherwise);
 * MADV_DONTNEED needs an aligned start, rounds the end down and gives
 * private pages back to the pool; MADV_REMOVE of a shared mapping frees
 * its whole huge pages from every mapping and zeroes the rest of the
 * range (a private one is EACCES); guard-region advice, FREE, COLD and
 * PAGEOUT are EINVAL.  fork shares shared pages and makes private ones
 * copy-on-write (a COW that finds no page is SIGBUS: the kernel's
 * stealing the page back from the children for the owner is not
 * modelled); the child has no reservation.  Hugetlb pages count in no
 * RSS (vmlab_vma_info.hugetlb_pages).
 */
/* /proc/sys/vm/nr_hugepages: as many pages as memory allows (pages in use
 * or reserved stay; those above count become surplus).  0 or -EINVAL. */
int vmlab_user_set_nr_hugepages(struct vmlab_machine *m, u64 count);
/* /proc/sys/vm/nr_overcommit_hugepages (default 0). */
int vmlab_user_set_nr_overcommit_hugepages(struct vmlab_machine *m,
					   u64 count);
/* /proc/meminfo's HugePages_Total, _Free, _Rsvd, _Surp, Hugepagesize. */
struct vmlab_hugetlb_meminfo {
	u64 total, free, rsvd, surp;
	u64 overcommit; /* nr_overcommit_hugepages */
	u64 page_size;  /* bytes */
};
int vmlab_user_hugetlb_meminfo(struct vmlab_machine *m,
			       struct vmlab_hugetlb_meminfo *out);

/* The swap area (one per machine, created on first use with a quarter of
 * RAM unless sized here first).  -VMLAB_EBUSY once in use. */
int vmlab_swap_setup(struct vmlab_machine *m, u64 pages);
u64 vmlab_swap_used(struct vmlab_machine *m);
u64 vmlab_swap_total(struct vmlab_machine *m);

/* ----------------------------------------------------------- inspection */

struct vmlab_vma_info {
	u64 start, end;   /* [start, end) */
	u64 pgoff;        /* vm_pgoff */
	u64 flags;        /* VMLAB_VM_* */
	u64 file_id;      /* inode-like number, 0: no file */
	const char *name; /* file name, NULL for anonymous memory */
	u64 anon_vma_id;  /* 0: no anon_vma yet */
	/* smaps-style, from a walk of the VMA's page tables */
	u64 rss_pages;    /* present PTEs, the shared zero page not counted */
	u64 anon_pages;   /* ... of them anonymous (COW'd or private) */
	u64 swap_pages;   /* swap entries */
	u64 guard_pages;  /* guard markers */
	u64 thp_pages;    /* AnonHugePages: pages mapped by huge PMDs */
	u64 shmem_pmd_pages; /* ShmemPmdMapped: shmem THP mapped by PMDs */
	u64 hugetlb_pages; /* Private_Hugetlb + Shared_Hugetlb, 4 KiB units */
};

u64 vmlab_user_nr_vmas(const struct vmlab_user_mm *mm); /* map_count */
/* Fill up to max entries in address order; returns the number of VMAs. */
size_t vmlab_user_vmas(struct vmlab_user_mm *mm, struct vmlab_vma_info *out,
		       size_t max);
/* The VMA containing addr: 0 or -VMLAB_ENOENT. */
int vmlab_user_vma_at(struct vmlab_user_mm *mm, u64 addr,
		      struct vmlab_vma_info *out);
/* /proc/PID/maps and smaps-style listings to a FILE *. */
void vmlab_user_print_maps(struct vmlab_user_mm *mm, void *file);
void vmlab_user_print_smaps(struct vmlab_user_mm *mm, void *file);

/* /proc/PID/pagemap: one 64-bit entry per page from addr (page aligned).
 * Returns n or -errno. */
int vmlab_pagemap_read(struct vmlab_user_mm *mm, u64 addr, u64 *entries,
		       size_t n);
/* The PAGEMAP_SCAN ioctl on /proc/PID/pagemap (fs/proc/task_mmu.c, Linux
 * 6.18): pages of [start, end) whose categories match (after XOR with
 * category_inverted: all of category_mask, any of category_anyof_mask when
 * it is set) are reported as runs of equal categories & return_mask into
 * vec (vec_len runs at most), max_pages pages at most (0: no limit).  The
 * number of runs, or -errno (EINVAL, EFAULT; EPERM for CHECK_WPASYNC on a
 * VMA without async write protection); walk_end: where the scan stopped.
 * No VMA of the model has userfaultfd write protection, so WP_MATCHING
 * matches nothing and PAGE_IS_WPALLOWED is never set.  A PMD-mapped THP's
 * pages are PAGE_IS_HUGE. */
#define VMLAB_PAGE_IS_WPALLOWED (1ULL << 0)
#define VMLAB_PAGE_IS_WRITTEN (1ULL << 1)
#define VMLAB_PAGE_IS_FILE (1ULL << 2)
#define VMLAB_PAGE_IS_PRESENT (1ULL << 3)
#define VMLAB_PAGE_IS_SWAPPED (1ULL << 4)
#define VMLAB_PAGE_IS_PFNZERO (1ULL << 5)
#define VMLAB_PAGE_IS_HUGE (1ULL << 6)
#define VMLAB_PAGE_IS_SOFT_DIRTY (1ULL << 7)
#define VMLAB_PAGE_IS_GUARD (1ULL << 8)
#define VMLAB_PM_SCAN_WP_MATCHING (1ULL << 0)
#define VMLAB_PM_SCAN_CHECK_WPASYNC (1ULL << 1)
struct vmlab_page_region {
	u64 start, end, categories;
};
struct vmlab_pm_scan_arg {
	u64 size; /* sizeof(struct vmlab_pm_scan_arg): 96, as Linux's */
	u64 flags;
	u64 start, end;
	u64 walk_end; /* out */
	struct vmlab_page_region *vec;
	u64 vec_len;
	u64 max_pages;
	u64 category_inverted, category_mask, category_anyof_mask;
	u64 return_mask;
};
s64 vmlab_pagemap_scan(struct vmlab_user_mm *mm, struct vmlab_pm_scan_arg *arg);

/* Runs of guard markers in [start, end): fills up to max, returns how many
 * runs there are. */
size_t vmlab_guard_scan(struct vmlab_user_mm *mm, u64 start, u64 end,
			struct vmlab_range *out, size_t max);

struct vmlab_user_stats {
	u64 map_count;     /* VMAs */
	u64 total_vm;      /* pages covered by VMAs */
	u64 locked_vm;
	u64 rss_anon;      /* MM_ANONPAGES */
	u64 rss_file;      /* MM_FILEPAGES */
	u64 rss_shmem;     /* MM_SHMEMPAGES */
	u64 swap_ents;     /* MM_SWAPENTS */
	u64 pgtable_pages; /* user page-table pages, PGD included */
	/* events */
	u64 syscalls;
	u64 faults;        /* handled by this layer */
	u64 fault_anon;    /* new anonymous page */
	u64 fault_zero;    /* shared zero page mapped */
	u64 fault_cow;     /* copy on write */
	u64 fault_reuse;   /* write fault reusing an exclusive page */
	u64 fault_file;    /* page-cache page mapped */
	u64 fault_swapin;
	u64 fault_young;   /* AF / dirty set by the fault handler (arm64
			    * without hardware AF/DBM) */
	u64 sigsegv, sigbus;
	u64 vma_alloc, vma_free, vma_merge, vma_split;
	u64 guard_installed; /* markers written */
	u64 guard_zaps;      /* install passes that had to zap pages */
	/* locking (/proc/vmstat vma_lock_*, CONFIG_PER_VMA_LOCK_STATS) */
	u64 vma_lock_success; /* faults handled under the VMA lock */
	u64 vma_lock_abort;   /* no VMA or write-locked: mmap_lock taken */
	u64 vma_lock_miss;    /* VMA changed under us: mmap_lock taken */
	u64 madv_restarts;    /* -ERESTARTNOINTR: lock dropped, advice redone */
	/* hugetlb PMD sharing (huge_pmd_share / huge_pmd_unshare) */
	u64 pmd_share, pmd_unshare;
};
void vmlab_user_stats(struct vmlab_user_mm *mm, struct vmlab_user_stats *out);
/* Page-table pages of the user half (a walk). */
u64 vmlab_user_pgtable_pages(struct vmlab_user_mm *mm);

/* Simulated cost of work the machine does not count (ns). */
struct vmlab_user_cost {
	double syscall;  /* entry + exit */
	double vma_op;   /* allocate, free, split or merge one VMA */
};
void vmlab_user_set_cost(struct vmlab_machine *m,
			 const struct vmlab_user_cost *c);
/* Machine time plus this layer's events weighted by the cost above. */
double vmlab_user_sim_time_ns(struct vmlab_user_mm *mm);

/* ------------------------------------------------- secondary MMUs */

struct vmlab_smmu;
struct vmlab_kvm;
struct vmlab_kvm_config;
/* iommu_sva_bind_device(): the SMMU (include/vmlab/device.h) shares mm's
 * page table; its faults are serviced by handle_mm_fault() on mm. */
int vmlab_user_sva_bind(struct vmlab_smmu *s, struct vmlab_user_mm *mm);
/* A device's fault on mm (IOPF / gup): handle_mm_fault() for va; 0 when
 * handled, else the signal Linux would give (or -VMLAB_EINVAL). */
int vmlab_user_handle_device_fault(struct vmlab_user_mm *mm, int cpu, u64 va,
				   enum vmlab_access kind);
/* A KVM-like VM whose memory is mm's (the VMM process). */
int vmlab_user_kvm_create(struct vmlab_user_mm *mm,
			  const struct vmlab_kvm_config *cfg,
			  struct vmlab_kvm **out);
/* Aging as reclaim does it (mmu_notifier_clear_young over [start, end)):
 * non-zero if a secondary MMU had a page of the range young. */
int vmlab_user_clear_young(struct vmlab_user_mm *mm, u64 start, u64 end);
/* folio_referenced_one() over the present pages of [start, end) (page
 * aligned): each PTE's accessed bit cleared (ptep_clear_flush_young) and
 * mmu_notifier_clear_flush_young() for it; how many pages were young to
 * the CPU or a secondary MMU, or -VMLAB_EINVAL. */
int vmlab_user_page_referenced(struct vmlab_user_mm *mm, u64 start, u64 end);
/* pte_young() || mmu_notifier_test_young() for the page of addr (what
 * khugepaged asks): 1, 0, or -VMLAB_EINVAL.  Clears nothing. */
int vmlab_user_test_young(struct vmlab_user_mm *mm, u64 addr);

/* ---------------------------------------------------- planted bugs */

/*
 * For checker tests: re-introduce known bug classes.  Off by default.
 * EARLY_FREE: zaps (DONTNEED, munmap, ...) drop their pages before the
 * TLB flush reaches other CPUs.
 */
#define VMLAB_USER_BUG_EARLY_FREE (1u << 0)
void vmlab_user_set_bugs(struct vmlab_machine *m, unsigned int bugs);

/* -------------------------------------------------------- scenario */

/* The seed's claim: n thread stacks of `pages` pages plus one guard page,
 * created with mmap + mprotect(PROT_NONE) or mmap + MADV_GUARD_INSTALL,
 * in a fresh mm. */
struct vmlab_guard_stacks_result {
	int n, pages;
	bool markers;
	u64 vmas_added;        /* map_count after - before */
	u64 pgtable_pages;     /* page-table pages of the mm afterwards */
	u64 syscalls;          /* mmap + mprotect / madvise calls */
	u64 flushes;           /* flush_tlb_mm_range calls (any kind) */
	u64 ipis;
	u64 pte_writes;
	double sim_ns;         /* creation, simulated */
	double vmas_per_stack, pgtable_pages_per_stack, syscalls_per_stack,
	       sim_ns_per_stack;
	/* verification after creation: every guard page gives SIGSEGV,
	 * every stack's top page is writable */
	u64 guard_sigsegv;
	u64 stack_ok;
};
int vmlab_scenario_guard_stacks(struct vmlab_machine *m, int n, int pages,
				bool markers,
				struct vmlab_guard_stacks_result *out);

#endif
