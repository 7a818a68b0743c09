/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd against the host kernel (6.18 or later, skipped otherwise):
 * the same calls on the host and on the model (src/user/userfaultfd.c)
 * must give the same results.  Registration is observed through
 * UFFD_FEATURE_SIGBUS: a registered missing page is SIGBUS at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uffd_helpers.h"



/* Run fn(results) in a forked child: false when the host cannot (no
 * userfaultfd, exit 2), else its exit status must be 0. */
static bool host_fork_run(void (*fn)(long *), long *results)
{
	pid_t pid = fork();
	if (pid == 0)
		fn(results);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 2)
		return false;
	assert_int_equal(WEXITSTATUS(st), 0);
	return true;
}

#define NR_HOST 12

/* The same calls on the model (r) and the host (h): errno-style codes. */
static void host_run(long *h)
{
	u64 *hio = (u64 *)(void *)(h + NR_HOST);
	long ps = sysconf(_SC_PAGESIZE);
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
						      UFFD_USER_MODE_ONLY);
	if (fd < 0)
		_exit(2);
#define E(x) ((x) ? -errno : 0)
	struct uffdio_api api = {.api = 0xab};
	h[0] = E(ioctl(fd, UFFDIO_API, &api));
	api = (struct uffdio_api){.api = UFFD_API};
	h[1] = E(ioctl(fd, UFFDIO_API, &api));
	hio[0] = api.ioctls;
	char *p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {.range = {(unsigned long)p + 1, (unsigned long)ps},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	h[2] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	reg.range.start = (unsigned long)p;
	reg.range.len = 3 * ps;
	h[3] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	hio[1] = reg.ioctls;
	h[4] = E(madvise(p, ps, 102 /* MADV_GUARD_INSTALL */));
	struct uffdio_zeropage z = {.range = {(unsigned long)p, (unsigned long)ps}};
	h[5] = E(ioctl(fd, UFFDIO_ZEROPAGE, &z));
	char src[65536];
	memset(src, 'x', sizeof(src));
	struct uffdio_copy c = {.dst = (unsigned long)p, .src = (unsigned long)src,
				.len = (unsigned long)ps};
	h[6] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[7] = E(ioctl(fd, UFFDIO_COPY, &c));
	z.range.start = (unsigned long)p + ps;
	h[8] = E(ioctl(fd, UFFDIO_ZEROPAGE, &z));
	z.range.start = (unsigned long)p + 2 * ps;
	z.range.len = 2 * ps;
	h[9] = E(ioctl(fd, UFFDIO_ZEROPAGE, &z));
	c.dst = (unsigned long)p + ps;
	c.len = 2 * ps;
	h[10] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[11] = c.copy;
#undef E
	_exit(0);
}

static void test_host_differential(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P)
		skip();
	long *h = t_host_results(NR_HOST * sizeof(long) + 2 * sizeof(u64));
	u64 *hio = (u64 *)(void *)(h + NR_HOST);
	if (!host_fork_run(host_run, h))
		skip(); /* no userfaultfd on this host */
	struct env e = t_env(2);
	long r[NR_HOST];
	u64 rio[2];
	struct vmlab_uffd *u;
	assert_int_equal(vmlab_userfaultfd(e.mm, UMO | VMLAB_O_NONBLOCK, &u), 0);
	u64 f = 0;
	r[0] = vmlab_uffdio_api(u, 0xab, &f, &rio[0]);
	r[1] = vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &rio[0]);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	const u64 M = VMLAB_UFFDIO_REGISTER_MODE_MISSING;
	r[2] = vmlab_uffdio_register(u, (u64)a + 1, P, M, NULL);
	r[3] = vmlab_uffdio_register(u, (u64)a, 3 * P, M, &rio[1]);
	r[4] = vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_GUARD_INSTALL);
	r[5] = vmlab_uffdio_zeropage(u, (u64)a, P, 0, NULL);
	u8 src[2 * P];
	memset(src, 'x', sizeof(src));
	r[6] = vmlab_uffdio_copy(u, (u64)a, src, P, 0, NULL);
	r[7] = vmlab_uffdio_copy(u, (u64)a, src, P, 0, NULL);
	r[8] = vmlab_uffdio_zeropage(u, (u64)a + P, P, 0, NULL);
	r[9] = vmlab_uffdio_zeropage(u, (u64)a + 2 * P, 2 * P, 0, NULL);
	s64 n;
	r[10] = vmlab_uffdio_copy(u, (u64)a + P, src, 2 * P, 0, &n);
	r[11] = n;
	for (int i = 0; i < NR_HOST; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "call %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	/* The ioctls agree but for those the model lacks (MOVE, POISON). */
	assert_int_equal(rio[0], hio[0]);
	u64 lacks = 1ULL << VMLAB_UFFDIO_MOVE_BIT | 1ULL << VMLAB_UFFDIO_POISON_BIT;
	assert_int_equal(rio[1], hio[1] & ~lacks);
	vmlab_uffd_close(u);
	t_done(&e);
}

/* Registration's life on the host and on the model, seen through
 * UFFD_FEATURE_SIGBUS (a registered missing page is SIGBUS at once):
 * unregister through another context, unregister over unregistered VMAs,
 * mremap (the moved part loses it, the rest keeps it), fork, close, a
 * range with a hole, and populate on a user-mode-only context. */
#define NR_LIFE 19

static sigjmp_buf life_jb;

static void life_sig(int sig)
{
	siglongjmp(life_jb, sig);
}

static long host_touch(char *p)
{
	if (sigsetjmp(life_jb, 1))
		return 1;
	volatile char c = *p;
	(void)c;
	return 0;
}

static long host_vmas(char *lo, char *hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	long n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a = strtoul(line, NULL, 16);
		n += a >= (unsigned long)lo && a < (unsigned long)hi;
	}
	if (f)
		fclose(f);
	return n;
}

static int host_uffd(__u64 features)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
						     UFFD_USER_MODE_ONLY);
	struct uffdio_api api = {.api = UFFD_API, .features = features};
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		_exit(2);
	return fd;
}

static void host_life(long *h)
{
	const long ps = 4096;
#define E(x) ((x) ? -errno : 0)
	signal(SIGBUS, life_sig);
	int fd = host_uffd(UFFD_FEATURE_SIGBUS), fd2 = host_uffd(UFFD_FEATURE_SIGBUS);
	char *p = mmap(NULL, 48 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p + 16 * ps, 32 * ps); /* keeps mremap's target free */
	struct uffdio_register reg = {.range = {(unsigned long)p + 2 * ps, 4 * ps},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	h[0] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	h[1] = host_vmas(p, p + 16 * ps);
	h[2] = host_touch(p + 2 * ps);
	struct uffdio_range ur = {(unsigned long)p + 3 * ps, ps};
	h[3] = E(ioctl(fd2, UFFDIO_UNREGISTER, &ur));
	h[4] = host_touch(p + 3 * ps);
	ur = (struct uffdio_range){(unsigned long)p, 16 * ps};
	h[5] = E(ioctl(fd, UFFDIO_UNREGISTER, &ur));
	h[6] = host_vmas(p, p + 16 * ps);
	h[7] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	char *q = mremap(p + 2 * ps, 2 * ps, 2 * ps, MREMAP_MAYMOVE | MREMAP_FIXED,
			 p + 32 * ps);
	h[8] = q == MAP_FAILED ? -errno : 0;
	h[9] = host_touch(p + 32 * ps);
	h[10] = host_touch(p + 4 * ps);
	char *s = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range = (struct uffdio_range){(unsigned long)s, 4 * ps};
	h[11] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	pid_t pid = fork();
	if (pid == 0) {
		h[12] = host_touch(s);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	h[13] = host_touch(s + ps);
	close(fd);
	h[14] = host_touch(s + 2 * ps);
	h[15] = host_vmas(s, s + 4 * ps);
	int fd3 = host_uffd(UFFD_FEATURE_SIGBUS);
	char *t = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(t + 2 * ps, 2 * ps);
	reg.range = (struct uffdio_range){(unsigned long)t, 6 * ps};
	h[16] = E(ioctl(fd3, UFFDIO_REGISTER, &reg));
	h[17] = host_touch(t + 4 * ps);
	int fd4 = host_uffd(0);
	char *w = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range = (struct uffdio_range){(unsigned long)w, 2 * ps};
	if (ioctl(fd4, UFFDIO_REGISTER, &reg))
		_exit(3);
	h[18] = E(madvise(w, ps, MADV_POPULATE_READ));
#undef E
	_exit(0);
}

static long model_touch(struct vmlab_user_mm *mm, u64 a)
{
	u8 v;
	int r = vmlab_user_read8(mm, 0, a, &v);
	assert_true(r == VMLAB_OK || r == VMLAB_SIGBUS);
	return r == VMLAB_SIGBUS;
}

static long model_vmas(struct vmlab_user_mm *mm, u64 lo, u64 hi)
{
	struct vmlab_vma_info vi[64];
	size_t n = vmlab_user_vmas(mm, vi, 64);
	long c = 0;
	for (size_t i = 0; i < n && i < 64; i++)
		c += vi[i].start >= lo && vi[i].start < hi;
	return c;
}

static void test_host_registration_life(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P)
		skip();
	long *h = t_host_results(NR_LIFE * sizeof(long));
	if (!host_fork_run(host_life, h))
		skip(); /* no userfaultfd on this host */
	struct env e = t_env(2);
	long r[NR_LIFE];
	const u64 M = VMLAB_UFFDIO_REGISTER_MODE_MISSING;
	struct vmlab_uffd *u = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS),
			  *u2 = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	u64 p = (u64)vmlab_mmap(e.mm, 0, 48 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_munmap(e.mm, p + 16 * P, 32 * P), 0);
	r[0] = vmlab_uffdio_register(u, p + 2 * P, 4 * P, M, NULL);
	r[1] = model_vmas(e.mm, p, p + 16 * P);
	r[2] = model_touch(e.mm, p + 2 * P);
	r[3] = vmlab_uffdio_unregister(u2, p + 3 * P, P);
	r[4] = model_touch(e.mm, p + 3 * P);
	r[5] = vmlab_uffdio_unregister(u, p, 16 * P);
	r[6] = model_vmas(e.mm, p, p + 16 * P);
	r[7] = vmlab_uffdio_register(u, p + 2 * P, 4 * P, M, NULL);
	s64 q = vmlab_mremap(e.mm, p + 2 * P, 2 * P, 2 * P,
			     VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED, p + 32 * P);
	r[8] = q < 0 ? q : 0;
	r[9] = model_touch(e.mm, p + 32 * P);
	r[10] = model_touch(e.mm, p + 4 * P);
	u64 s = (u64)vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	r[11] = vmlab_uffdio_register(u, s, 4 * P, M, NULL);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	r[12] = model_touch(c, s);
	vmlab_user_mm_destroy(c);
	r[13] = model_touch(e.mm, s + P);
	vmlab_uffd_close(u);
	r[14] = model_touch(e.mm, s + 2 * P);
	r[15] = model_vmas(e.mm, s, s + 4 * P);
	struct vmlab_uffd *u3 = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	u64 t = (u64)vmlab_mmap(e.mm, 0, 6 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_munmap(e.mm, t + 2 * P, 2 * P), 0);
	r[16] = vmlab_uffdio_register(u3, t, 6 * P, M, NULL);
	r[17] = model_touch(e.mm, t + 4 * P);
	struct vmlab_uffd *u4 = t_uffd(&e, 0);
	u64 w = (u64)vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u4, w, 2 * P, M, NULL), 0);
	r[18] = vmlab_madvise(e.mm, w, P, VMLAB_MADV_POPULATE_READ);
	for (int i = 0; i < NR_LIFE; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "step %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	vmlab_uffd_close(u2);
	vmlab_uffd_close(u3);
	vmlab_uffd_close(u4);
	t_done(&e);
}

/* THP and a registered range, on the host (enabled = madvise or always)
 * and the model: the fault goes to userfaultfd, not to a huge page, and
 * MADV_COLLAPSE refuses a uffd-armed range with none PTEs (EBUSY, the
 * thp_scan_exceed_none_pte path) instead of zero-filling missing pages. */
#define NR_THP 5

static void host_thp(long *h)
{
	const long M = 2L << 20, ps = 4096;
#define E(x) ((x) ? -errno : 0)
	signal(SIGBUS, life_sig);
	char *r = mmap(NULL, 2 * M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = (char *)(((unsigned long)r + M - 1) & ~(M - 1));
	if (madvise(p, M, MADV_HUGEPAGE))
		_exit(2);
	int fd = host_uffd(UFFD_FEATURE_SIGBUS);
	struct uffdio_register reg = {.range = {(unsigned long)p, (unsigned long)M},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	h[0] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	h[1] = host_touch(p);
	char src[4096];
	memset(src, 1, sizeof(src));
	struct uffdio_copy c = {.dst = (unsigned long)p, .src = (unsigned long)src,
				.len = (unsigned long)ps};
	h[2] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[3] = E(madvise(p, M, VMLAB_MADV_COLLAPSE));
	h[4] = host_touch(p + ps);
#undef E
	_exit(0);
}

static bool host_thp_mode(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && !strstr(buf, "[never]");
	fclose(f);
	return ok;
}

static void test_host_thp_armed(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P ||
	    !host_thp_mode())
		skip();
	long *h = t_host_results(NR_THP * sizeof(long));
	if (!host_fork_run(host_thp, h))
		skip();
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_MADVISE), 0);
	const u64 M = VMLAB_PMD_SIZE;
	u64 r0 = (u64)vmlab_mmap(e.mm, 0, 2 * M, RW, ANON, NULL, 0);
	u64 p = (r0 + M - 1) & ~(M - 1);
	assert_int_equal(vmlab_madvise(e.mm, p, M, VMLAB_MADV_HUGEPAGE), 0);
	struct vmlab_uffd *u = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	long r[NR_THP];
	r[0] = vmlab_uffdio_register(u, p, M, VMLAB_UFFDIO_REGISTER_MODE_MISSING,
				     NULL);
	r[1] = model_touch(e.mm, p);
	u8 src[P];
	memset(src, 1, sizeof(src));
	r[2] = vmlab_uffdio_copy(u, p, src, P, 0, NULL);
	struct vmlab_thp_vmstat st0, st1;
	vmlab_user_thp_vmstat(e.m, &st0);
	r[3] = vmlab_madvise(e.mm, p, M, VMLAB_MADV_COLLAPSE);
	vmlab_user_thp_vmstat(e.m, &st1);
	r[4] = model_touch(e.mm, p + P);
	for (int i = 0; i < NR_THP; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "step %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	assert_int_equal(vmlab_user_thp_mapped(e.mm, p), 0);
	assert_int_equal(st1.thp_fault_alloc, 0);
	assert_int_equal(st1.thp_scan_exceed_none_pte,
			 st0.thp_scan_exceed_none_pte + 1);
	vmlab_uffd_close(u);
	t_done(&e);
}

/* Where UFFDIO_COPY / ZEROPAGE may fill: through another context (no
 * check that it owns the range), a read-only VMA (then a write is
 * SIGSEGV until mprotect), private and shared shmem (only the shared one
 * writes the file), past EOF (EFAULT).  Reads give the byte or -1. */
#define NR_FILL 14

static long host_rd(char *p)
{
	if (sigsetjmp(life_jb, 1))
		return -1;
	return *(volatile char *)p;
}

static long host_wr(char *p)
{
	if (sigsetjmp(life_jb, 1))
		return -1;
	*(volatile char *)p = 1;
	return 0;
}

static void host_fill(long *h)
{
	const long ps = 4096;
#define E(x) ((x) ? -errno : 0)
	signal(SIGBUS, life_sig);
	signal(SIGSEGV, life_sig);
	int fd = host_uffd(UFFD_FEATURE_SIGBUS), fd2 = host_uffd(UFFD_FEATURE_SIGBUS);
	char src[4096];
	memset(src, 's', sizeof(src));
	char *p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {.range = {(unsigned long)p, 4 * ps},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		_exit(3);
	struct uffdio_copy c = {.dst = (unsigned long)p, .src = (unsigned long)src,
				.len = (unsigned long)ps};
	h[0] = E(ioctl(fd2, UFFDIO_COPY, &c));
	char *q = mmap(NULL, 2 * ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range = (struct uffdio_range){(unsigned long)q, 2 * ps};
	h[1] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	c.dst = (unsigned long)q;
	h[2] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[3] = host_rd(q);
	h[4] = host_wr(q);
	h[5] = E(mprotect(q, 2 * ps, PROT_READ | PROT_WRITE));
	h[6] = host_wr(q);
	int mf = memfd_create("uffd", 0);
	if (mf < 0 || ftruncate(mf, 2 * ps))
		_exit(3);
	char *sp = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, mf, 0);
	char *ss = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, mf, 0);
	reg.range = (struct uffdio_range){(unsigned long)sp, 2 * ps};
	h[7] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	reg.range = (struct uffdio_range){(unsigned long)ss, 2 * ps};
	h[8] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	c.dst = (unsigned long)sp;
	h[9] = E(ioctl(fd, UFFDIO_COPY, &c));
	char b = 0;
	h[10] = pread(mf, &b, 1, 0) == 1 ? b : -1; /* the file is untouched */
	c.dst = (unsigned long)ss + ps;
	h[11] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[12] = pread(mf, &b, 1, ps) == 1 ? b : -1; /* written through */
	if (ftruncate(mf, ps))
		_exit(3);
	c.dst = (unsigned long)ss + ps;
	h[13] = E(ioctl(fd, UFFDIO_COPY, &c)); /* past EOF: EFAULT */
#undef E
	_exit(0);
}

static long model_rd(struct vmlab_user_mm *mm, u64 a)
{
	u8 v;
	return vmlab_user_read8(mm, 0, a, &v) == VMLAB_OK ? v : -1;
}

static void test_host_fill_targets(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P)
		skip();
	long *h = t_host_results(NR_FILL * sizeof(long));
	if (!host_fork_run(host_fill, h))
		skip();
	struct env e = t_env(2);
	const u64 M = VMLAB_UFFDIO_REGISTER_MODE_MISSING;
	struct vmlab_uffd *u = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS),
			  *u2 = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	u8 src[P];
	memset(src, 's', sizeof(src));
	long r[NR_FILL];
	u64 p = (u64)vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, p, 4 * P, M, NULL), 0);
	r[0] = vmlab_uffdio_copy(u2, p, src, P, 0, NULL);
	u64 q = (u64)vmlab_mmap(e.mm, 0, 2 * P, VMLAB_PROT_READ, ANON, NULL, 0);
	r[1] = vmlab_uffdio_register(u, q, 2 * P, M, NULL);
	r[2] = vmlab_uffdio_copy(u, q, src, P, 0, NULL);
	r[3] = model_rd(e.mm, q);
	r[4] = vmlab_user_write8(e.mm, 0, q, 1) == VMLAB_OK ? 0 : -1;
	r[5] = vmlab_mprotect(e.mm, q, 2 * P, RW);
	r[6] = vmlab_user_write8(e.mm, 0, q, 1) == VMLAB_OK ? 0 : -1;
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create(e.m, "uffd", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, 2 * P), 0);
	u64 sp = (u64)vmlab_mmap(e.mm, 0, 2 * P, RW, VMLAB_MAP_PRIVATE, f, 0);
	u64 ss = (u64)vmlab_mmap(e.mm, 0, 2 * P, RW, VMLAB_MAP_SHARED, f, 0);
	r[7] = vmlab_uffdio_register(u, sp, 2 * P, M, NULL);
	r[8] = vmlab_uffdio_register(u, ss, 2 * P, M, NULL);
	r[9] = vmlab_uffdio_copy(u, sp, src, P, 0, NULL);
	u8 b = 0;
	r[10] = vmlab_file_pread(f, &b, 1, 0) == 1 ? b : -1;
	r[11] = vmlab_uffdio_copy(u, ss + P, src, P, 0, NULL);
	r[12] = vmlab_file_pread(f, &b, 1, P) == 1 ? b : -1;
	assert_int_equal(vmlab_ftruncate(f, P), 0);
	r[13] = vmlab_uffdio_copy(u, ss + P, src, P, 0, NULL);
	for (int i = 0; i < NR_FILL; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "step %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	vmlab_file_put(f);
	vmlab_uffd_close(u);
	vmlab_uffd_close(u2);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_differential),
		cmocka_unit_test(test_host_registration_life),
		cmocka_unit_test(test_host_thp_armed),
		cmocka_unit_test(test_host_fill_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
