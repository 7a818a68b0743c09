/* SPDX-License-Identifier: MIT */
/*
 * MAP_DROPPABLE (6.11+): the mmap rules, the VMA flags it brings, mlock
 * and mlockall passing it over, the madvise advice it refuses, reclaim
 * dropping its pages dirty or not, and fork wiping it.  One script of
 * steps whose results are asserted; on a 6.18 host the script also runs
 * on the host kernel and every result must agree.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "user_helpers.h"

#define DBASE 0x5c0000000000ULL
#define DROP (VMLAB_MAP_DROPPABLE | VMLAB_MAP_ANONYMOUS | \
	      VMLAB_MAP_FIXED_NOREPLACE)

enum { D_END, D_MMAP, D_MMAP_FILE, D_WRITE, D_READ, D_MADV, D_MLOCK,
       D_MLOCKALL, D_MUNLOCKALL, D_MPROTECT, D_FLAGS, D_PAGEMAP, D_NVMAS,
       D_FORK_READ, D_FORK_PAGEMAP };

struct dstep {
	int op;
	u64 page, pages; /* offset and length in pages */
	int arg;         /* flags, advice, prot, value */
	long want;
};

/* D_FLAGS: these VmFlags of the VMA at page, as bits in this order. */
static const char *const fl_names[] = {"dp", "wf", "dd", "nr", "lo", "ac",
				       "gu"};
#define NFL 7
static const u64 fl_bits[NFL] = {VMLAB_VM_DROPPABLE, VMLAB_VM_WIPEONFORK,
				 VMLAB_VM_DONTDUMP, VMLAB_VM_NORESERVE,
				 VMLAB_VM_LOCKED, VMLAB_VM_ACCOUNT,
				 VMLAB_VM_MAYBE_GUARD};
#define F_DP 1
#define F_WF 2
#define F_DD 4
#define F_NR 8
#define F_LO 16
#define F_GU 64
/* D_PAGEMAP: 2 bits a page, present and guard. */

static const struct dstep script[] = {
	{D_MMAP, 0, 8, DROP, 0},
	{D_FLAGS, 0, 0, 0, F_DP | F_WF | F_DD | F_NR},
	{D_MMAP, 20, 2, DROP | VMLAB_MAP_LOCKED, -EINVAL},
	{D_MMAP, 20, 2, DROP | VMLAB_MAP_HUGETLB, -EINVAL},
	{D_MMAP, 20, 2, DROP | VMLAB_MAP_GROWSDOWN, -EINVAL},
	{D_MMAP, 20, 2, (DROP & ~VMLAB_MAP_TYPE) | 0x0b, -EINVAL},
	{D_MMAP_FILE, 20, 2, 0, -EINVAL},
	{D_MMAP, 20, 2, DROP | VMLAB_MAP_STACK, 20 * P},
	{D_WRITE, 0, 8, 7, 0},
	{D_PAGEMAP, 0, 8, 0, 0x5555},
	{D_MADV, 0, 1, VMLAB_MADV_KEEPONFORK, -EINVAL},
	{D_MADV, 0, 1, VMLAB_MADV_DODUMP, -EINVAL},
	{D_MADV, 0, 8, VMLAB_MADV_WIPEONFORK, 0},
	{D_MADV, 0, 8, VMLAB_MADV_DONTDUMP, 0},
	{D_NVMAS, 0, 32, 0, 2},
	{D_MLOCK, 0, 8, 0, 0},
	{D_FLAGS, 0, 0, 0, F_DP | F_WF | F_DD | F_NR},
	{D_MADV, 1, 1, VMLAB_MADV_GUARD_INSTALL, 0},
	{D_FLAGS, 0, 0, 0, F_DP | F_WF | F_DD | F_NR | F_GU},
	{D_MADV, 0, 8, VMLAB_MADV_PAGEOUT, 0},
	{D_PAGEMAP, 0, 8, 0, 0x0008}, /* dirty pages dropped, marker kept */
	{D_READ, 0, 1, 0, 0},
	{D_WRITE, 2, 1, 9, 0},
	{D_READ, 2, 1, 0, 9},
	{D_FORK_READ, 2, 1, 0, 0}, /* wiped in the child */
	{D_FORK_PAGEMAP, 0, 8, 0, 0},
	{D_MLOCKALL, 0, 0, VMLAB_MCL_FUTURE, 0},
	{D_MMAP, 24, 4, DROP, 24 * P},
	{D_FLAGS, 24, 0, 0, F_DP | F_WF | F_DD | F_NR},
	{D_PAGEMAP, 24, 4, 0, 0x55}, /* populated, not locked */
	{D_MUNLOCKALL, 0, 0, 0, 0},
	{D_MMAP, 8, 2, DROP, 8 * P}, /* merges, marker flag and all */
	{D_NVMAS, 0, 32, 0, 3},
	{D_FLAGS, 9, 0, 0, F_DP | F_WF | F_DD | F_NR | F_GU},
	{D_MPROTECT, 0, 1, VMLAB_PROT_READ, 0},
	{D_NVMAS, 0, 32, 0, 4},
	{D_END, 0, 0, 0, 0},
};
#define NSTEP (int)(sizeof(script) / sizeof(script[0]))

/* ---------------------------------------------------------------- host */

static long host_flags(u64 va)
{
	char line[512];
	if (!t_host_smaps_line(va, "VmFlags:", line, sizeof(line)))
		return -1;
	long r = 0;
	for (int i = 0; i < NFL; i++) {
		char pat[8];
		snprintf(pat, sizeof(pat), " %s", fl_names[i]);
		if (strstr(line, pat))
			r |= 1L << i;
	}
	return r;
}

static long pm_bits(const u64 *e, u64 n)
{
	long r = 0;
	for (u64 i = 0; i < n; i++)
		r |= (long)((e[i] >> 63 & 1) | (e[i] >> 58 & 1) << 1) << (2 * i);
	return r;
}

static long host_pagemap(pid_t pid, u64 va, u64 n)
{
	char path[64];
	u64 e[16] = {0};
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t got = pread(fd, e, n * 8, (off_t)(va / P * 8));
	close(fd);
	return got == (ssize_t)(n * 8) ? pm_bits(e, n) : -1;
}

static long host_nvmas(u64 lo, u64 hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	long n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && e > lo && s < hi)
			n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* The child reads (or reports its pagemap) into a shared word. */
static long host_fork(const struct dstep *s, volatile long *word)
{
	*word = -1;
	pid_t c = fork();
	if (!c) {
		u64 va = DBASE + s->page * P;
		*word = s->op == D_FORK_READ ? *(volatile u8 *)va :
					       host_pagemap(getpid(), va, s->pages);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	return *word;
}

static long host_step(const struct dstep *s, volatile long *word)
{
	u64 va = DBASE + s->page * P, len = s->pages * P;
	long r = 0;
	switch (s->op) {
	case D_MMAP:
	case D_MMAP_FILE: {
		int fd = -1;
		if (s->op == D_MMAP_FILE) {
			fd = (int)syscall(SYS_memfd_create, "d", 0U);
			if (fd < 0 || ftruncate(fd, (off_t)len))
				return -999;
		}
		void *p = mmap((void *)va, len, PROT_READ | PROT_WRITE,
			       s->op == D_MMAP ? s->arg : VMLAB_MAP_DROPPABLE, fd, 0);
		if (fd >= 0)
			close(fd);
		return p == MAP_FAILED ? -errno : (long)((u64)p - DBASE);
	}
	case D_WRITE:
		for (u64 i = 0; i < s->pages; i++)
			*(volatile u8 *)(va + i * P) = (u8)s->arg;
		return 0;
	case D_READ:
		return *(volatile u8 *)va;
	case D_MADV:
		r = madvise((void *)va, len, s->arg);
		break;
	case D_MLOCK: /* raw: sanitizer runtimes turn mlock() into a no-op */
		r = syscall(SYS_mlock, va, len);
		break;
	case D_MLOCKALL:
		r = syscall(SYS_mlockall, s->arg);
		break;
	case D_MUNLOCKALL:
		r = syscall(SYS_munlockall);
		break;
	case D_MPROTECT:
		r = mprotect((void *)va, len, s->arg);
		break;
	case D_FLAGS:
		return host_flags(va);
	case D_PAGEMAP:
		return host_pagemap(getpid(), va, s->pages);
	case D_NVMAS:
		return host_nvmas(va, va + len);
	case D_FORK_READ:
	case D_FORK_PAGEMAP:
		return host_fork(s, word);
	}
	return r < 0 ? -errno : r;
}

/* --------------------------------------------------------------- model */

static long model_flags(struct vmlab_user_mm *mm, u64 va)
{
	struct vmlab_vma_info vi;
	if (vmlab_user_vma_at(mm, va, &vi))
		return -1;
	long r = 0;
	for (int i = 0; i < NFL; i++)
		if (vi.flags & fl_bits[i])
			r |= 1L << i;
	return r;
}

static long model_pagemap(struct vmlab_user_mm *mm, u64 va, u64 n)
{
	u64 e[16];
	if (vmlab_pagemap_read(mm, va, e, n) != (int)n)
		return -1;
	return pm_bits(e, n);
}

static long model_step(struct env *e, const struct dstep *s)
{
	u64 va = DBASE + s->page * P, len = s->pages * P;
	u8 v = (u8)s->arg;
	switch (s->op) {
	case D_MMAP:
	case D_MMAP_FILE: {
		struct vmlab_file *f = NULL;
		if (s->op == D_MMAP_FILE) {
			assert_int_equal(vmlab_memfd_create(e->m, "d", &f), 0);
			assert_int_equal(vmlab_ftruncate(f, len), 0);
		}
		s64 r = vmlab_mmap(e->mm, va, len, RW,
				   s->op == D_MMAP ? s->arg : VMLAB_MAP_DROPPABLE,
				   f, 0);
		vmlab_file_put(f);
		return r < 0 ? (long)r : (long)((u64)r - DBASE);
	}
	case D_WRITE:
		for (u64 i = 0; i < s->pages; i++)
			assert_int_equal(vmlab_user_write8(e->mm, 0, va + i * P, v),
					 VMLAB_OK);
		return 0;
	case D_READ:
		assert_int_equal(vmlab_user_read8(e->mm, 0, va, &v), VMLAB_OK);
		return v;
	case D_MADV:
		return vmlab_madvise(e->mm, va, len, s->arg);
	case D_MLOCK:
		return vmlab_mlock(e->mm, va, len);
	case D_MLOCKALL:
		return vmlab_mlockall(e->mm, s->arg);
	case D_MUNLOCKALL:
		return vmlab_munlockall(e->mm);
	case D_MPROTECT:
		return vmlab_mprotect(e->mm, va, len, s->arg);
	case D_FLAGS:
		return model_flags(e->mm, va);
	case D_PAGEMAP:
		return model_pagemap(e->mm, va, s->pages);
	case D_NVMAS: {
		struct vmlab_vma_info vi[64];
		size_t n = vmlab_user_vmas(e->mm, vi, 64);
		long c = 0;
		for (size_t i = 0; i < n && i < 64; i++)
			c += vi[i].end > va && vi[i].start < va + len;
		return c;
	}
	case D_FORK_READ:
	case D_FORK_PAGEMAP: {
		struct vmlab_user_mm *c;
		assert_int_equal(vmlab_fork(e->mm, &c), 0);
		long r;
		if (s->op == D_FORK_READ) {
			assert_int_equal(vmlab_user_read8(c, 0, va, &v), VMLAB_OK);
			r = v;
		} else {
			r = model_pagemap(c, va, s->pages);
		}
		vmlab_user_mm_destroy(c);
		return r;
	}
	}
	return -1000;
}

static void test_droppable_script(void **state)
{
	(void)state;
	long *host = NULL;
	if (t_host_is_6_18()) {
		host = t_host_results((NSTEP + 1) * sizeof(long));
		pid_t pid = fork();
		if (!pid) {
			for (int i = 0; script[i].op != D_END; i++)
				host[i] = host_step(&script[i], &host[NSTEP]);
			_exit(0);
		}
		t_host_wait(pid);
	}
	struct env e = t_env(1);
	for (int i = 0; script[i].op != D_END; i++) {
		long r = model_step(&e, &script[i]);
		if (r != script[i].want || (host && host[i] != r))
			fprintf(stderr, "droppable step %d (op %d): want %ld, "
					"vmlab %ld, host %ld\n", i, script[i].op,
				script[i].want, r, host ? host[i] : 0L);
		assert_int_equal(r, script[i].want);
		if (host)
			assert_int_equal(host[i], r);
	}
	t_done(&e);
	if (host)
		munmap(host, (NSTEP + 1) * sizeof(long));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_droppable_script),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
