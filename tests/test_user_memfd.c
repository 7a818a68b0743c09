/* SPDX-License-Identifier: MIT */
/*
 * memfd seals (src/user/memfd.c): scripts of memfd_create, F_ADD_SEALS,
 * F_GET_SEALS, ftruncate, pwrite, hole punching, mmap, mprotect and
 * accesses through the mappings, each step's result asserted; and
 * fault-around on memfd mappings (pagemap present bits after one fault).
 * When the host runs Linux 6.18 or later the same scripts and faults also
 * run on the host kernel and every result must agree.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "user_helpers.h"

enum { M_END, M_CREATE, M_ADD, M_GET, M_TRUNC, M_PWRITE, M_PUNCH, M_MMAP,
       M_MUNMAP, M_MPROTECT, M_WRITE, M_READ };

struct step {
	int op;
	u64 a, b; /* flags/seals/size/offset, length/prot */
	int slot; /* mapping slot for M_MMAP .. M_READ */
	long want;
};

#define SH 1ULL /* M_MMAP b: shared */
#define NSLOT 4
#define EXPECT_OK 1 /* M_MMAP success */

/* prot in the low bits of b, SH << 8 for MAP_SHARED */
#define MAP_SH(prot) ((u64)(prot) | (SH << 8))
#define MAP_PR(prot) ((u64)(prot))
#define S_SEAL VMLAB_F_SEAL_SEAL
#define S_SHRINK VMLAB_F_SEAL_SHRINK
#define S_GROW VMLAB_F_SEAL_GROW
#define S_WRITE VMLAB_F_SEAL_WRITE
#define S_FWRITE VMLAB_F_SEAL_FUTURE_WRITE
#define S_EXEC VMLAB_F_SEAL_EXEC

static const struct step script_write[] = {
	{M_CREATE, VMLAB_MFD_ALLOW_SEALING, 0, 0, 0},
	{M_TRUNC, 4 * P, 0, 0, 0},
	{M_MMAP, 0, MAP_SH(RW), 0, EXPECT_OK},
	{M_ADD, S_WRITE, 0, 0, -EBUSY},
	{M_MUNMAP, 0, 0, 0, 0},
	{M_MMAP, 0, MAP_SH(VMLAB_PROT_READ), 1, EXPECT_OK},
	{M_ADD, S_WRITE, 0, 0, -EBUSY}, /* VM_MAYWRITE counts */
	{M_MUNMAP, 0, 0, 1, 0},
	{M_MMAP, 0, MAP_PR(RW), 2, EXPECT_OK},
	{M_ADD, S_WRITE, 0, 0, 0},
	{M_GET, 0, 0, 0, S_WRITE},
	{M_PWRITE, 0, 1, 0, -EPERM},
	{M_PUNCH, 0, P, 0, -EPERM},
	{M_MMAP, 0, MAP_SH(RW), 0, -EPERM},
	{M_MMAP, 0, MAP_SH(VMLAB_PROT_READ), 1, EXPECT_OK},
	{M_MPROTECT, 0, RW, 1, -EACCES},
	{M_READ, 0, 0, 1, 0},
	{M_WRITE, 0, 0, 2, 0}, /* private: COW */
	{M_TRUNC, 8 * P, 0, 0, 0},
	{M_ADD, S_SHRINK, 0, 0, 0},
	{M_TRUNC, 2 * P, 0, 0, -EPERM},
	{M_ADD, S_SEAL, 0, 0, 0},
	{M_ADD, S_GROW, 0, 0, -EPERM},
	{M_GET, 0, 0, 0, S_WRITE | S_SHRINK | S_SEAL},
	{M_END, 0, 0, 0, 0},
};

static const struct step script_future[] = {
	{M_CREATE, VMLAB_MFD_ALLOW_SEALING, 0, 0, 0},
	{M_TRUNC, 4 * P, 0, 0, 0},
	{M_MMAP, 0, MAP_SH(RW), 0, EXPECT_OK},
	{M_WRITE, P, 0, 0, 0},
	{M_ADD, S_FWRITE, 0, 0, 0},
	{M_WRITE, 2 * P, 0, 0, 0}, /* existing mappings keep writing */
	{M_PWRITE, 0, 1, 0, -EPERM},
	{M_PUNCH, 0, P, 0, -EPERM},
	{M_MMAP, 0, MAP_SH(RW), 1, -EPERM},
	{M_MMAP, 0, MAP_SH(VMLAB_PROT_READ), 1, EXPECT_OK},
	{M_MPROTECT, 0, RW, 1, -EACCES},
	{M_WRITE, 0, 0, 1, VMLAB_SIGSEGV},
	{M_ADD, S_WRITE, 0, 0, -EBUSY},
	{M_MUNMAP, 0, 0, 0, 0},
	{M_ADD, S_WRITE, 0, 0, 0}, /* slot 1 lost VM_MAYWRITE */
	{M_GET, 0, 0, 0, S_FWRITE | S_WRITE},
	{M_END, 0, 0, 0, 0},
};

static const struct step script_flags[] = {
	{M_CREATE, 0, 0, 0, 0},
	{M_GET, 0, 0, 0, S_SEAL},
	{M_ADD, S_WRITE, 0, 0, -EPERM},
	{M_ADD, 0x40, 0, 0, -EINVAL},
	{M_CREATE, VMLAB_MFD_EXEC | VMLAB_MFD_NOEXEC_SEAL, 0, 0, -EINVAL},
	{M_CREATE, 0x100, 0, 0, -EINVAL},
	{M_CREATE, VMLAB_MFD_NOEXEC_SEAL, 0, 0, 0},
	{M_GET, 0, 0, 0, S_EXEC},
	{M_ADD, S_GROW, 0, 0, 0},
	{M_PWRITE, 0, 1, 0, -EPERM}, /* past EOF */
	{M_TRUNC, P, 0, 0, -EPERM},
	{M_GET, 0, 0, 0, S_EXEC | S_GROW},
	/* F_SEAL_EXEC on an executable memfd seals writes and size too */
	{M_CREATE, VMLAB_MFD_ALLOW_SEALING | VMLAB_MFD_EXEC, 0, 0, 0},
	{M_TRUNC, P, 0, 0, 0},
	{M_PWRITE, 0, 1, 0, 1},
	{M_ADD, S_EXEC, 0, 0, 0},
	{M_GET, 0, 0, 0, S_EXEC | S_SHRINK | S_GROW | S_WRITE | S_FWRITE},
	{M_TRUNC, 2 * P, 0, 0, -EPERM},
	{M_MMAP, 0, MAP_PR(RW), 0, EXPECT_OK},
	{M_WRITE, 0, 0, 0, 0},
	{M_END, 0, 0, 0, 0},
};

static const struct step *const scripts[] = {script_write, script_future,
					     script_flags};
#define NSCRIPT (int)(sizeof(scripts) / sizeof(scripts[0]))
#define MAXSTEP 32

/* ---------------------------------------------------------------- host */

static sigjmp_buf jb;
static volatile sig_atomic_t got;

static void on_sig(int s)
{
	got = s;
	siglongjmp(jb, 1);
}

static long host_step(const struct step *s, int *fd, char **slot)
{
	long r = 0;
	switch (s->op) {
	case M_CREATE:
		if (*fd >= 0)
			close(*fd);
		*fd = (int)syscall(SYS_memfd_create, "seal", (unsigned)s->a);
		return *fd < 0 ? -errno : 0;
	case M_ADD:
		r = fcntl(*fd, F_ADD_SEALS, (int)s->a);
		break;
	case M_GET:
		r = fcntl(*fd, F_GET_SEALS);
		break;
	case M_TRUNC:
		r = ftruncate(*fd, (off_t)s->a);
		break;
	case M_PWRITE:
		r = pwrite(*fd, "x", s->b, (off_t)s->a);
		break;
	case M_PUNCH:
		r = fallocate(*fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)s->a, (off_t)s->b);
		break;
	case M_MMAP: {
		void *p = mmap(NULL, 4 * P, (int)(s->b & 0xff),
			       s->b >> 8 ? MAP_SHARED : MAP_PRIVATE, *fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		slot[s->slot] = p;
		return EXPECT_OK;
	}
	case M_MUNMAP:
		r = munmap(slot[s->slot], 4 * P);
		break;
	case M_MPROTECT:
		r = mprotect(slot[s->slot], 4 * P, (int)s->b);
		break;
	case M_READ:
	case M_WRITE:
		got = 0;
		if (!sigsetjmp(jb, 1)) {
			volatile char *p = slot[s->slot] + s->a;
			if (s->op == M_READ)
				(void)*p;
			else
				*p = 1;
		}
		return got;
	}
	return r < 0 ? -errno : r;
}

static void host_run(long *out)
{
	struct sigaction sa = {.sa_handler = on_sig};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	for (int k = 0; k < NSCRIPT; k++) {
		int fd = -1;
		char *slot[NSLOT] = {0};
		for (int i = 0; scripts[k][i].op != M_END; i++)
			out[k * MAXSTEP + i] = host_step(&scripts[k][i], &fd, slot);
		if (fd >= 0)
			close(fd);
	}
}

/* --------------------------------------------------------------- model */

static long model_step(struct env *e, const struct step *s,
		       struct vmlab_file **f, u64 *slot)
{
	switch (s->op) {
	case M_CREATE: {
		struct vmlab_file *n;
		int err = vmlab_memfd_create_flags(e->m, "seal", (unsigned)s->a,
						   &n);
		if (err)
			return err;
		vmlab_file_put(*f);
		*f = n;
		return 0;
	}
	case M_ADD:
		return vmlab_file_add_seals(*f, (unsigned)s->a);
	case M_GET:
		return vmlab_file_get_seals(*f);
	case M_TRUNC:
		return vmlab_ftruncate(*f, s->a);
	case M_PWRITE:
		return (long)vmlab_file_pwrite(*f, "x", s->b, s->a);
	case M_PUNCH:
		return vmlab_file_punch_hole(*f, s->a, s->b);
	case M_MMAP: {
		s64 a = vmlab_mmap(e->mm, 0, 4 * P, (int)(s->b & 0xff),
				   s->b >> 8 ? VMLAB_MAP_SHARED : VMLAB_MAP_PRIVATE,
				   *f, 0);
		if (a < 0)
			return (long)a;
		slot[s->slot] = (u64)a;
		return EXPECT_OK;
	}
	case M_MUNMAP:
		return vmlab_munmap(e->mm, slot[s->slot], 4 * P);
	case M_MPROTECT:
		return vmlab_mprotect(e->mm, slot[s->slot], 4 * P, (int)s->b);
	case M_READ:
	case M_WRITE: {
		u8 v = 1;
		return vmlab_user_access(e->mm, 0, s->op == M_READ ? VMLAB_READ :
								      VMLAB_WRITE,
					 slot[s->slot] + s->a, &v, 1);
	}
	}
	return -1;
}

/* memfd_noexec 0: memfds are executable unless MFD_NOEXEC_SEAL. */
static bool host_is_recent(void)
{
	FILE *f = fopen("/proc/sys/vm/memfd_noexec", "r");
	int noexec = -1;
	if (f) {
		if (fscanf(f, "%d", &noexec) != 1)
			noexec = -1;
		fclose(f);
	}
	return t_host_is_6_18() && noexec == 0;
}

static void test_seal_scripts(void **state)
{
	(void)state;
	long *host = NULL;
	if (host_is_recent()) {
		host = t_host_results(NSCRIPT * MAXSTEP * sizeof(long));
		pid_t pid = fork();
		if (!pid) {
			host_run(host);
			_exit(0);
		}
		t_host_wait(pid);
	} else {
		fprintf(stderr, "host older than 6.18 or memfd_noexec set: "
				"model only\n");
	}
	for (int k = 0; k < NSCRIPT; k++) {
		struct env e = t_env(1);
		struct vmlab_file *f = NULL;
		u64 slot[NSLOT] = {0};
		for (int i = 0; scripts[k][i].op != M_END; i++) {
			assert_true(i < MAXSTEP);
			const struct step *s = &scripts[k][i];
			long r = model_step(&e, s, &f, slot);
			/* errno values are the kernel's on both sides */
			t_step_agrees(k, i, s->op, s->want, r,
				      host ? &host[k * MAXSTEP + i] : NULL);
		}
		vmlab_file_put(f);
		t_done(&e);
	}
	if (host)
		munmap(host, NSCRIPT * MAXSTEP * sizeof(long));
}

/* ------------------------------------------------------ fault-around */

#define FA_BASE 0x5b0000000000ULL /* 2 MiB aligned, free on the host */
#define FA_MAX 64

struct fa_case {
	u64 size;        /* file size in pages */
	u64 cached;      /* pages [0, cached) written (in the page cache) */
	u64 hole_at, hole_len; /* then punched */
	u64 off, pages;  /* mapping: file offset and length, in pages */
	u64 va_pages;    /* mapping start, pages past FA_BASE */
	bool shared, write;
	u64 touch;       /* page of the mapping accessed */
	u64 want;        /* present pages vmlab must show */
};

static const struct fa_case fa_cases[] = {
	{64, 64, 0, 0, 0, 64, 0, true, false, 20, 16},
	{64, 64, 0, 0, 0, 64, 0, true, false, 3, 16},
	{64, 64, 0, 0, 5, 40, 3, true, false, 2, 16}, /* window from the VMA start */
	{64, 64, 18, 2, 0, 64, 0, true, false, 20, 14}, /* a hole */
	{24, 24, 0, 0, 0, 32, 0, true, false, 20, 8},   /* EOF */
	{64, 64, 0, 0, 0, 64, 0, false, false, 40, 16}, /* private */
	{64, 64, 0, 0, 0, 64, 0, true, true, 40, 1},    /* write: no around */
	{64, 10, 0, 0, 0, 64, 0, true, false, 12, 11},  /* cached 0-9, and 12 */
	{64, 64, 0, 0, 0, 64, 508, true, false, 1, 4},  /* the PTE table's end */
};
#define NFA (int)(sizeof(fa_cases) / sizeof(fa_cases[0]))

static int fa_count(const u64 *pm, u64 n)
{
	int c = 0;
	for (u64 i = 0; i < n; i++)
		c += !!(pm[i] & VMLAB_PM_PRESENT);
	return c;
}

static void host_fa(const struct fa_case *c, u64 *pm)
{
	int fd = (int)syscall(SYS_memfd_create, "fa", 0U);
	char buf[4096] = {1};
	if (fd < 0 || ftruncate(fd, (off_t)(c->size * P)))
		_exit(4);
	for (u64 i = 0; i < c->cached; i++)
		if (pwrite(fd, buf, P, (off_t)(i * P)) != (ssize_t)P)
			_exit(4);
	if (c->hole_len && fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				     FALLOC_FL_KEEP_SIZE, (off_t)(c->hole_at * P),
				     (off_t)(c->hole_len * P)))
		_exit(4);
	char *a = mmap((void *)(FA_BASE + c->va_pages * P), c->pages * P,
		       PROT_READ | PROT_WRITE,
		       (c->shared ? MAP_SHARED : MAP_PRIVATE) |
			       MAP_FIXED_NOREPLACE, fd, (off_t)(c->off * P));
	if (a != (char *)(FA_BASE + c->va_pages * P))
		_exit(5);
	if (c->write)
		a[c->touch * P] = 2;
	else
		(void)*(volatile char *)(a + c->touch * P);
	int pmfd = open("/proc/self/pagemap", O_RDONLY);
	if (pmfd < 0 || pread(pmfd, pm, c->pages * 8,
			      (off_t)((u64)a / P * 8)) != (ssize_t)(c->pages * 8))
		_exit(6);
	close(pmfd);
	munmap(a, c->pages * P);
	close(fd);
}

static void model_fa(const struct fa_case *c, u64 *pm)
{
	struct env e = t_env(1);
	struct vmlab_file *f;
	u8 buf[4096] = {1};
	assert_int_equal(vmlab_memfd_create(e.m, "fa", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, c->size * P), 0);
	for (u64 i = 0; i < c->cached; i++)
		assert_int_equal(vmlab_file_pwrite(f, buf, P, i * P), (s64)P);
	if (c->hole_len)
		assert_int_equal(vmlab_file_punch_hole(f, c->hole_at * P,
						       c->hole_len * P), 0);
	u64 va = FA_BASE + c->va_pages * P;
	assert_int_equal(vmlab_mmap(e.mm, va, c->pages * P, RW,
				    (c->shared ? VMLAB_MAP_SHARED :
						 VMLAB_MAP_PRIVATE) |
					    VMLAB_MAP_FIXED_NOREPLACE,
				    f, c->off * P), (s64)va);
	vmlab_file_put(f);
	u8 v = 2;
	assert_int_equal(vmlab_user_access(e.mm, 0, c->write ? VMLAB_WRITE :
								   VMLAB_READ,
					   va + c->touch * P, &v, 1), VMLAB_OK);
	assert_int_equal(vmlab_pagemap_read(e.mm, va, pm, c->pages),
			 (int)c->pages);
	t_done(&e);
}

/* A read fault maps the cached neighbours in the fault_around_bytes
 * window (clamped to the VMA, the table and EOF); pagemap's present bits
 * match the host's. */
static void test_fault_around(void **state)
{
	(void)state;
	u64 *host = NULL;
	if (t_host_is_6_18()) {
		host = mmap(NULL, NFA * FA_MAX * 8, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		assert_true(host != MAP_FAILED);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			for (int i = 0; i < NFA; i++)
				host_fa(&fa_cases[i], host + i * FA_MAX);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "host fault-around run failed (%d)\n", st);
			munmap(host, NFA * FA_MAX * 8);
			host = NULL;
		}
	}
	for (int i = 0; i < NFA; i++) {
		const struct fa_case *c = &fa_cases[i];
		u64 pm[FA_MAX];
		assert_true(c->pages <= FA_MAX);
		model_fa(c, pm);
		int npres = fa_count(pm, c->pages);
		if (npres != (int)c->want)
			fprintf(stderr, "fault-around case %d: %d present\n", i, npres);
		assert_int_equal(npres, c->want);
		for (u64 k = 0; host && k < c->pages; k++) {
			u64 h = host[i * FA_MAX + (int)k] & VMLAB_PM_PRESENT;
			if (h != (pm[k] & VMLAB_PM_PRESENT))
				fprintf(stderr, "fault-around case %d page %llu: "
						"host %d vmlab %d\n", i,
					(unsigned long long)k, !!h,
					!!(pm[k] & VMLAB_PM_PRESENT));
			assert_int_equal(h, pm[k] & VMLAB_PM_PRESENT);
		}
	}
	if (host)
		munmap(host, NFA * FA_MAX * 8);
	/* the knob: 8 KiB windows, then off; more than a table is EINVAL */
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_fault_around_bytes(e.m, 4 << 20),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_fault_around_bytes(NULL, 4096),
			 -VMLAB_EINVAL);
	t_done(&e);
}

static void test_fault_around_bytes(void **state)
{
	(void)state;
	static const struct { u64 bytes; int want; } k[] = {
		{12288, 2}, {4096, 1}, {100, 1}, {2 << 20, 64}};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct env e = t_env(1);
		assert_int_equal(vmlab_user_set_fault_around_bytes(e.m, k[i].bytes),
				 0);
		struct vmlab_file *f;
		u8 buf[4096] = {1};
		assert_int_equal(vmlab_memfd_create(e.m, "k", &f), 0);
		for (u64 p = 0; p < 64; p++)
			assert_int_equal(vmlab_file_pwrite(f, buf, P, p * P),
					 (s64)P);
		s64 a = vmlab_mmap(e.mm, FA_BASE, 64 * P, VMLAB_PROT_READ,
				   VMLAB_MAP_SHARED | VMLAB_MAP_FIXED, f, 0);
		assert_int_equal(a, (s64)FA_BASE);
		vmlab_file_put(f);
		u8 v;
		assert_int_equal(vmlab_user_read8(e.mm, 0, FA_BASE + 5 * P, &v),
				 VMLAB_OK);
		u64 pm[64];
		assert_int_equal(vmlab_pagemap_read(e.mm, FA_BASE, pm, 64), 64);
		assert_int_equal(fa_count(pm, 64), k[i].want);
		t_done(&e);
	}
}

static void test_seal_bad_input(void **state)
{
	(void)state;
	struct env e = t_env(1);
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create_flags(NULL, "x", 0, &f),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_memfd_create_flags(e.m, "x", VMLAB_MFD_HUGETLB,
						  &f), -VMLAB_EOPNOTSUPP);
	assert_int_equal(vmlab_file_add_seals(NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_get_seals(NULL), -VMLAB_EINVAL);
	/* a regular file has no seals */
	assert_int_equal(vmlab_memfd_create_flags(e.m, "r",
						  VMLAB_MFD_ALLOW_SEALING, &f), 0);
	vmlab_file_set_thp_area(f, true);
	assert_int_equal(vmlab_file_get_seals(f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_add_seals(f, VMLAB_F_SEAL_WRITE),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_pwrite(f, "x", 1, 0), 1);
	vmlab_file_put(f);
	/* MADV_REMOVE is a hole punch: EPERM under a write seal */
	assert_int_equal(vmlab_memfd_create_flags(e.m, "m",
						  VMLAB_MFD_ALLOW_SEALING, &f), 0);
	assert_int_equal(vmlab_ftruncate(f, 2 * P), 0);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, VMLAB_PROT_READ, VMLAB_MAP_SHARED, f,
			   0);
	assert_true(a > 0);
	assert_int_equal(vmlab_munmap(e.mm, (u64)a, 2 * P), 0);
	assert_int_equal(vmlab_file_add_seals(f, VMLAB_F_SEAL_FUTURE_WRITE), 0);
	a = vmlab_mmap(e.mm, 0, 2 * P, VMLAB_PROT_READ, VMLAB_MAP_SHARED, f, 0);
	assert_true(a > 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_REMOVE),
			 -VMLAB_EACCES); /* no VM_MAYWRITE any more */
	vmlab_file_put(f);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_scripts),
		cmocka_unit_test(test_seal_bad_input),
		cmocka_unit_test(test_fault_around),
		cmocka_unit_test(test_fault_around_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
