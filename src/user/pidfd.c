/* SPDX-License-Identifier: MIT */
/*
 * pidfds and the process_madvise(2) system call (kernel/pid.c
 * pidfd_open(), pidfd_get_task(); lib/iov_iter.c import_iovec();
 * mm/madvise.c process_madvise(), Linux 6.18): a per-process descriptor
 * table holding pidfds, task capabilities, and the syscall's checks in
 * Linux's order before vector_madvise() (madvise.c) does the work.
 */
#include "vmlab/checker.h"
#include "user/uinternal.h"

#define UIO_MAXIOV 1024
#define MAX_RW_COUNT (0x7fffffffULL & VMLAB_PAGE_MASK) /* INT_MAX & PAGE_MASK */
/* access_ok(): base + len may reach TASK_SIZE_MAX, not beyond (x86-64
 * checked against a 6.18 host; arm64's generic __access_ok() agrees); the
 * calling mm's TASK_SIZE is TASK_SIZE_MAX here. */
#define NR_OPEN_DEFAULT 1024 /* RLIMIT_NOFILE soft limit */
#define FIRST_FREE_FD 3      /* 0-2: stdio */
#define PID_MAX_LIMIT 0x7fffffffLL

/* ----------------------------------------------------------- the table */

int pidfd_dup_table(struct vmlab_user_mm *child,
		    const struct vmlab_user_mm *parent)
{
	assert(child && parent && !child->fds && child != parent);
	child->caps = parent->caps;
	if (!parent->nr_fds)
		return 0;
	child->fds = malloc((size_t)parent->nr_fds * sizeof(*child->fds));
	if (!child->fds)
		return -VMLAB_ENOMEM;
	memcpy(child->fds, parent->fds,
	       (size_t)parent->nr_fds * sizeof(*child->fds));
	child->nr_fds = parent->nr_fds;
	return 0;
}

void pidfd_free_table(struct vmlab_user_mm *mm)
{
	assert(mm);
	free(mm->fds);
	mm->fds = NULL;
	mm->nr_fds = 0;
}

static struct vmlab_user_mm *find_task(struct user_svc *s, u64 pid)
{
	assert(s);
	for (struct vmlab_user_mm *t = s->mms; t; t = t->next)
		if (t->pid == pid)
			return t;
	return NULL;
}

int vmlab_user_set_caps(struct vmlab_user_mm *mm, u64 caps)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	if (caps & ~(1ULL << VMLAB_CAP_SYS_NICE | 1ULL << VMLAB_CAP_SYS_PTRACE))
		return -VMLAB_EINVAL; /* no other capability is modelled */
	mm->caps = caps;
	return 0;
}

u64 vmlab_user_caps(const struct vmlab_user_mm *mm)
{
	return mm && mm->magic == USER_MM_MAGIC ? mm->caps : 0;
}

int vmlab_pidfd_open(struct vmlab_user_mm *mm, s64 pid, unsigned int flags)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "pidfd_open");
	if (flags & ~(unsigned int)(VMLAB_PIDFD_NONBLOCK | VMLAB_PIDFD_THREAD))
		return -VMLAB_EINVAL;
	if (pid <= 0 || pid > PID_MAX_LIMIT)
		return pid <= 0 ? -VMLAB_EINVAL : -VMLAB_ESRCH;
	if (!find_task(mm->svc, (u64)pid))
		return -VMLAB_ESRCH;
	/* get_unused_fd_flags(): the lowest free descriptor. */
	int fd = FIRST_FREE_FD;
	while (fd < mm->nr_fds && mm->fds[fd])
		fd++;
	if (fd >= NR_OPEN_DEFAULT)
		return -VMLAB_EMFILE;
	if (fd >= mm->nr_fds) {
		int n = mm->nr_fds ? mm->nr_fds * 2 : 16;
		if (n > NR_OPEN_DEFAULT)
			n = NR_OPEN_DEFAULT;
		u64 *t = realloc(mm->fds, (size_t)n * sizeof(*t));
		if (!t)
			return -VMLAB_ENOMEM;
		memset(t + mm->nr_fds, 0,
		       (size_t)(n - mm->nr_fds) * sizeof(*t));
		mm->fds = t;
		mm->nr_fds = n;
	}
	assert(fd < mm->nr_fds && !mm->fds[fd]);
	mm->fds[fd] = (u64)pid;
	return fd;
}

int vmlab_close(struct vmlab_user_mm *mm, int fd)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "close");
	if (fd < 0 || fd >= mm->nr_fds || !mm->fds[fd])
		return -VMLAB_EBADF;
	mm->fds[fd] = 0;
	return 0;
}

/* pidfd_get_task() + mm_access(): the target's mm or -errno. */
static struct vmlab_user_mm *pidfd_get_mm(struct vmlab_user_mm *mm,
					  int pidfd, int *err)
{
	assert(mm && err);
	if (pidfd == VMLAB_PIDFD_SELF_THREAD ||
	    pidfd == VMLAB_PIDFD_SELF_THREAD_GROUP)
		return mm;
	if (pidfd < 0 || pidfd >= mm->nr_fds || !mm->fds[pidfd]) {
		*err = -VMLAB_EBADF; /* no such descriptor, or not a pidfd */
		return NULL;
	}
	struct vmlab_user_mm *t = find_task(mm->svc, mm->fds[pidfd]);
	if (!t)
		*err = -VMLAB_ESRCH; /* the process has exited */
	return t;
}

/* ------------------------------------------------------ import_iovec */

/* access_ok() with a length not known at build time. */
static bool access_ok(const struct vmlab_user_mm *mm, u64 base, u64 len)
{
	u64 sum = base + len;
	return sum >= base && sum <= TASK_SIZE_OF(mm);
}

/* __import_iovec(): a checked copy of the segments, each length capped so
 * the total stays within MAX_RW_COUNT; the total or -errno. */
static s64 import_iovec(const struct vmlab_user_mm *mm,
			const struct vmlab_iovec *uvec, unsigned int nr,
			struct vmlab_iovec **out)
{
	*out = NULL;
	if (!nr)
		return 0; /* "traditionally returned zero for zero segments" */
	if (nr > UIO_MAXIOV)
		return -VMLAB_EINVAL;
	if (!uvec)
		return -VMLAB_EFAULT;
	struct vmlab_iovec *iov = malloc(nr * sizeof(*iov));
	if (!iov)
		return -VMLAB_ENOMEM;
	memcpy(iov, uvec, nr * sizeof(*iov));
	s64 err = 0;
	u64 total = 0;
	/* copy_iovec_from_user(): every length must fit an ssize_t. */
	for (unsigned int i = 0; i < nr && !err; i++)
		if ((s64)iov[i].iov_len < 0)
			err = -VMLAB_EINVAL;
	if (!err && nr == 1) {
		/* import_ubuf(): capped first, then checked. */
		if (iov[0].iov_len > MAX_RW_COUNT)
			iov[0].iov_len = MAX_RW_COUNT;
		if (!access_ok(mm, iov[0].iov_base, iov[0].iov_len))
			err = -VMLAB_EFAULT;
		total = iov[0].iov_len;
	}
	for (unsigned int i = 0; !err && nr > 1 && i < nr; i++) {
		if (!access_ok(mm, iov[i].iov_base, iov[i].iov_len)) {
			err = -VMLAB_EFAULT;
			break;
		}
		if (iov[i].iov_len > MAX_RW_COUNT - total)
			iov[i].iov_len = MAX_RW_COUNT - total;
		total += iov[i].iov_len;
	}
	if (err) {
		free(iov);
		return err;
	}
	assert(total <= MAX_RW_COUNT);
	*out = iov;
	return (s64)total;
}

/* ------------------------------------------------------ the syscall */

/* process_madvise_remote_valid(): hints that keep the pages' contents. */
static bool remote_valid(int advice)
{
	switch (advice) {
	case VMLAB_MADV_COLD:
	case VMLAB_MADV_PAGEOUT:
	case VMLAB_MADV_WILLNEED:
	case VMLAB_MADV_COLLAPSE:
		return true;
	default:
		return false;
	}
}

s64 vmlab_process_madvise_pidfd(struct vmlab_user_mm *mm, int pidfd,
				const struct vmlab_iovec *uvec, u64 vlen,
				int advice, unsigned int flags)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "process_madvise");
	if (flags)
		return -VMLAB_EINVAL;
	struct vmlab_iovec *iov;
	/* import_iovec() takes an unsigned int count. */
	unsigned int nr = (unsigned int)vlen;
	s64 total = import_iovec(mm, uvec, nr, &iov);
	if (total < 0)
		return total;
	int err = 0;
	struct vmlab_user_mm *t = pidfd_get_mm(mm, pidfd, &err);
	s64 ret = err;
	if (t && t != mm && !remote_valid(advice))
		ret = -VMLAB_EINVAL;
	else if (t && t != mm && !(mm->caps & (1ULL << VMLAB_CAP_SYS_NICE)))
		ret = -VMLAB_EPERM;
	else if (t) {
		if (t != mm) {
			/* The work on the other mm runs where it is loaded. */
			user_ensure_loaded(t, t->cpu);
			vmlab_checker_set_op(t->m, t->cpu, "process_madvise");
		}
		ret = vector_madvise(mm, t, iov, nr, (u64)total, advice);
	}
	free(iov);
	assert(ret <= total);
	return ret;
}

s64 vmlab_process_madvise(struct vmlab_user_mm *mm,
			  const struct vmlab_iovec *iov, size_t vlen,
			  int advice, unsigned int flags)
{
	return vmlab_process_madvise_pidfd(mm, VMLAB_PIDFD_SELF, iov, vlen,
					   advice, flags);
}
