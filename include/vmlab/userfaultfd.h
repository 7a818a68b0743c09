/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd(2) on the model's user mms, missing mode (fs/userfaultfd.c,
 * mm/userfaultfd.c, include/uapi/linux/userfaultfd.h, Linux 6.18).
 *
 * A context is created for an mm (userfaultfd()), negotiated once
 * (UFFDIO_API), and ranges of anonymous or shmem VMAs are registered on
 * it (UFFDIO_REGISTER: VM_UFFD_MISSING, the VMAs split and merged as
 * Linux does).  A fault on a missing page of such a range (a none PTE:
 * never a guard marker, which stays SIGSEGV) queues a UFFD_EVENT_PAGEFAULT
 * message and puts the faulting task to sleep until UFFDIO_COPY,
 * UFFDIO_ZEROPAGE or UFFDIO_WAKE of its address wakes it; then the access
 * is retried.
 *
 * Who reads the messages: the handler (vmlab_uffd_set_handler(), the
 * monitor thread of a real program) or any program calling
 * vmlab_uffd_read().  Inside a scheduler run the handler runs on the
 * kworker pseudo program, interleaved with the faulting task, which sleeps
 * on a lock-like wait the scheduler understands (a fault nobody resolves
 * is a deadlock report, as the task would hang); outside a run the handler
 * runs at once, from the fault, and a fault still unresolved after it
 * returns gives SIGBUS with a warning (the task would sleep forever).
 *
 * Constants have Linux's values; errors come back as negative VMLAB_E*
 * values in Linux's order of checks.  Differences from 6.18: the features
 * and ioctls the model lacks are masked out of what UFFDIO_API and
 * UFFDIO_REGISTER report (as a kernel built without them would), so
 * requesting them is EINVAL: no write-protect or minor mode, no events
 * but the fork one (no remap, remove, unmap), no hugetlbfs, no
 * UFFDIO_MOVE, CONTINUE or POISON ioctls.  UFFD_FEATURE_EVENT_FORK (with
 * CAP_SYS_PTRACE): fork gives the child a context of its own, announced by
 * a UFFD_EVENT_FORK message the forking task waits for (read after the
 * pending faults; COPY/ZEROPAGE are EAGAIN meanwhile); unread outside a
 * run, the child's registration is dropped with a warning.  UFFDIO_COPY's source is the caller's buffer, not an
 * address of the mm.  A fault taken by populate (MADV_POPULATE_*,
 * MAP_POPULATE, mlock) sleeps holding mmap_lock for reading; Linux drops
 * it and retries.
 */
#ifndef VMLAB_USERFAULTFD_H
#define VMLAB_USERFAULTFD_H

#include "user.h"

/* userfaultfd(2) flags (O_CLOEXEC, O_NONBLOCK as asm-generic/fcntl.h). */
#define VMLAB_O_NONBLOCK 04000
#define VMLAB_O_CLOEXEC 02000000
#define VMLAB_UFFD_USER_MODE_ONLY 1

/* VMA flags (include/linux/mm.h). */
#define VMLAB_VM_UFFD_MISSING 0x00000200ULL
#define VMLAB_VM_UFFD_WP 0x00001000ULL

#define VMLAB_UFFD_API 0xAAULL
/* UFFD_FEATURE_* (uapi/linux/userfaultfd.h). */
#define VMLAB_UFFD_FEATURE_PAGEFAULT_FLAG_WP (1ULL << 0)
#define VMLAB_UFFD_FEATURE_EVENT_FORK (1ULL << 1)
#define VMLAB_UFFD_FEATURE_EVENT_REMAP (1ULL << 2)
#define VMLAB_UFFD_FEATURE_EVENT_REMOVE (1ULL << 3)
#define VMLAB_UFFD_FEATURE_MISSING_HUGETLBFS (1ULL << 4)
#define VMLAB_UFFD_FEATURE_MISSING_SHMEM (1ULL << 5)
#define VMLAB_UFFD_FEATURE_EVENT_UNMAP (1ULL << 6)
#define VMLAB_UFFD_FEATURE_SIGBUS (1ULL << 7)
#define VMLAB_UFFD_FEATURE_THREAD_ID (1ULL << 8)
#define VMLAB_UFFD_FEATURE_MINOR_HUGETLBFS (1ULL << 9)
#define VMLAB_UFFD_FEATURE_MINOR_SHMEM (1ULL << 10)
#define VMLAB_UFFD_FEATURE_EXACT_ADDRESS (1ULL << 11)
#define VMLAB_UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1ULL << 12)
#define VMLAB_UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define VMLAB_UFFD_FEATURE_POISON (1ULL << 14)
#define VMLAB_UFFD_FEATURE_WP_ASYNC (1ULL << 15)
#define VMLAB_UFFD_FEATURE_MOVE (1ULL << 16)
/* What Linux 6.18 reports (UFFD_API_FEATURES, 0x1ffff on x86-64). */
#define VMLAB_UFFD_LINUX_FEATURES ((1ULL << 17) - 1)
/* What the model implements and reports. */
#define VMLAB_UFFD_API_FEATURES                                              \
	(VMLAB_UFFD_FEATURE_EVENT_FORK | VMLAB_UFFD_FEATURE_MISSING_SHMEM |  \
	 VMLAB_UFFD_FEATURE_SIGBUS | VMLAB_UFFD_FEATURE_THREAD_ID |          \
	 VMLAB_UFFD_FEATURE_EXACT_ADDRESS)

/* ioctl numbers' bits (_UFFDIO_*), as the ioctls masks carry them. */
#define VMLAB_UFFDIO_REGISTER_BIT 0x00
#define VMLAB_UFFDIO_UNREGISTER_BIT 0x01
#define VMLAB_UFFDIO_WAKE_BIT 0x02
#define VMLAB_UFFDIO_COPY_BIT 0x03
#define VMLAB_UFFDIO_ZEROPAGE_BIT 0x04
#define VMLAB_UFFDIO_MOVE_BIT 0x05
#define VMLAB_UFFDIO_WRITEPROTECT_BIT 0x06
#define VMLAB_UFFDIO_CONTINUE_BIT 0x07
#define VMLAB_UFFDIO_POISON_BIT 0x08
#define VMLAB_UFFDIO_API_BIT 0x3F
/* UFFD_API_IOCTLS: what UFFDIO_API returns (same as Linux). */
#define VMLAB_UFFD_API_IOCTLS                                                \
	(1ULL << VMLAB_UFFDIO_REGISTER_BIT |                                 \
	 1ULL << VMLAB_UFFDIO_UNREGISTER_BIT | 1ULL << VMLAB_UFFDIO_API_BIT)
/* The range ioctls UFFDIO_REGISTER returns for a missing range: Linux
 * adds MOVE and POISON (0x13c), which the model lacks. */
#define VMLAB_UFFD_API_RANGE_IOCTLS                                          \
	(1ULL << VMLAB_UFFDIO_WAKE_BIT | 1ULL << VMLAB_UFFDIO_COPY_BIT |     \
	 1ULL << VMLAB_UFFDIO_ZEROPAGE_BIT)

/* Register modes. */
#define VMLAB_UFFDIO_REGISTER_MODE_MISSING (1ULL << 0)
#define VMLAB_UFFDIO_REGISTER_MODE_WP (1ULL << 1)
#define VMLAB_UFFDIO_REGISTER_MODE_MINOR (1ULL << 2)
/* ioctl modes. */
#define VMLAB_UFFDIO_COPY_MODE_DONTWAKE (1ULL << 0)
#define VMLAB_UFFDIO_COPY_MODE_WP (1ULL << 1)
#define VMLAB_UFFDIO_ZEROPAGE_MODE_DONTWAKE (1ULL << 0)

/* struct uffd_msg: a page fault, or the fork event. */
#define VMLAB_UFFD_EVENT_PAGEFAULT 0x12
#define VMLAB_UFFD_EVENT_FORK 0x13
#define VMLAB_UFFD_PAGEFAULT_FLAG_WRITE (1ULL << 0)
#define VMLAB_UFFD_PAGEFAULT_FLAG_WP (1ULL << 1)
#define VMLAB_UFFD_PAGEFAULT_FLAG_MINOR (1ULL << 2)
struct vmlab_uffd; /* a userfaultfd context (the fd's file) */

struct vmlab_uffd_msg {
	u8 event;    /* VMLAB_UFFD_EVENT_PAGEFAULT or _FORK */
	u64 flags;   /* VMLAB_UFFD_PAGEFAULT_FLAG_* */
	u64 address; /* page-aligned unless UFFD_FEATURE_EXACT_ADDRESS */
	u32 ptid;    /* the faulting task's pid with UFFD_FEATURE_THREAD_ID */
	/* UFFD_EVENT_FORK: the child's context (arg.fork.ufd), the reader's
	 * to close; its VMAs are the child's copies of ours */
	struct vmlab_uffd *ufd;
};

/* vm.unprivileged_userfaultfd (default 0): without it (and without
 * CAP_SYS_PTRACE) only UFFD_USER_MODE_ONLY contexts may be created. */
int vmlab_user_set_unprivileged_userfaultfd(struct vmlab_machine *m, bool on);

/* userfaultfd(2) for mm's task: 0 and *out, or -EPERM (kernel faults
 * asked for, not allowed), -EINVAL (flags), -ENOMEM. */
int vmlab_userfaultfd(struct vmlab_user_mm *mm, int flags,
		      struct vmlab_uffd **out);
/* close(2) of the last descriptor (userfaultfd_release()): every VMA
 * registered on it is unregistered (merging), every sleeping fault woken
 * to retry.  NULL and a second close are ignored; every other call on a
 * closed context is -EBADF (the machine frees contexts when it goes). */
void vmlab_uffd_close(struct vmlab_uffd *uffd);

/* UFFDIO_API: *features in (requested), out (available; 0 on error);
 * *ioctls out.  -EINVAL (api, unknown feature, second call), -EPERM
 * (EVENT_FORK without CAP_SYS_PTRACE).  Every other ioctl is -EINVAL
 * before it. */
int vmlab_uffdio_api(struct vmlab_uffd *uffd, u64 api, u64 *features,
		     u64 *ioctls);
/* UFFDIO_REGISTER of [start, start+len): *ioctls out (may be NULL).
 * -EINVAL (mode, range, no VMA, incompatible VMA), -EPERM (a VMA without
 * VM_MAYWRITE), -EBUSY (another context's VMA), -ENOMEM, -ESRCH. */
int vmlab_uffdio_register(struct vmlab_uffd *uffd, u64 start, u64 len,
			  u64 mode, u64 *ioctls);
int vmlab_uffdio_unregister(struct vmlab_uffd *uffd, u64 start, u64 len);
/* UFFDIO_WAKE: wake the faults sleeping in the range. */
int vmlab_uffdio_wake(struct vmlab_uffd *uffd, u64 start, u64 len);
/* UFFDIO_COPY of len bytes of src to dst (page aligned): 0, or -EEXIST
 * (a page is there), -ENOENT (not within one registered VMA), -EINVAL,
 * -EAGAIN (part done), -ENOMEM.  *copied (may be NULL): the ioctl's copy
 * field, bytes done or the -errno. */
int vmlab_uffdio_copy(struct vmlab_uffd *uffd, u64 dst, const void *src,
		      u64 len, u64 mode, s64 *copied);
/* UFFDIO_ZEROPAGE: the shared zero page (anonymous) or a zeroed page
 * (shmem) over [start, start+len). */
int vmlab_uffdio_zeropage(struct vmlab_uffd *uffd, u64 start, u64 len,
			  u64 mode, s64 *zeroed);
/* read(2) of one message: 0, -EAGAIN (none pending and O_NONBLOCK, or
 * none and nothing can run to queue one outside a scheduler run),
 * -EINVAL (before UFFDIO_API).  Blocks inside a scheduler run. */
int vmlab_uffd_read(struct vmlab_uffd *uffd, struct vmlab_uffd_msg *msg);

/* The monitor: fn is called for each message as it is read, from the
 * kworker inside a scheduler run, from the fault outside one.  It
 * resolves faults with the ioctls above (or leaves them, DONTWAKE). */
typedef void (*vmlab_uffd_handler_fn)(struct vmlab_uffd *uffd,
				      const struct vmlab_uffd_msg *msg,
				      void *arg);
int vmlab_uffd_set_handler(struct vmlab_uffd *uffd, vmlab_uffd_handler_fn fn,
			   void *arg);

struct vmlab_uffd_stats {
	u64 faults;    /* messages queued */
	u64 pending;   /* queued, not yet read */
	u64 waiting;   /* faults sleeping (read or not) */
	u64 copies, zeropages, wakes; /* pages filled, tasks woken */
};
void vmlab_uffd_stats(const struct vmlab_uffd *uffd,
		      struct vmlab_uffd_stats *out);
struct vmlab_user_mm *vmlab_uffd_mm(const struct vmlab_uffd *uffd);

#endif
