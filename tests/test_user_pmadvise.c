/* SPDX-License-Identifier: MIT */
/*
 * process_madvise(2) with pidfds (src/user/pidfd.c, madvise.c's
 * vector_madvise()) and the VM_MAYBE_GUARD flag (guard.c, vma.c, fork.c):
 * the syscall's checks in Linux 6.18's order, the iov_iter walk over the
 * segments, partial results, remote advice; the flag's setting,
 * stickiness on merge and split, and the fork rule it drives.
 */
#include <stdlib.h>

#include "user_helpers.h"

#define GI VMLAB_MADV_GUARD_INSTALL
#define GR VMLAB_MADV_GUARD_REMOVE
#define COLD VMLAB_MADV_COLD
#define PAGEOUT VMLAB_MADV_PAGEOUT
#define SELF VMLAB_PIDFD_SELF
#define NICE (1ULL << VMLAB_CAP_SYS_NICE)

static u64 map(struct vmlab_user_mm *mm, u64 len, int flags)
{
	s64 a = vmlab_mmap(mm, 0, len, RW, flags, NULL, 0);
	assert_true(a > 0);
	return (u64)a;
}

static u64 pm(struct vmlab_user_mm *mm, u64 va)
{
	u64 e = 0;
	assert_int_equal(vmlab_pagemap_read(mm, va, &e, 1), 1);
	return e;
}

static u64 flags_at(struct vmlab_user_mm *mm, u64 va)
{
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(mm, va, &vi), 0);
	return vi.flags;
}

static s64 pmadv(struct vmlab_user_mm *mm, int fd, const struct vmlab_iovec *v,
		 u64 n, int adv)
{
	return vmlab_process_madvise_pidfd(mm, fd, v, n, adv, 0);
}

/* The checks before any work, in order. */
static void test_checks_order(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = map(e.mm, 8 * P, ANON);
	struct vmlab_iovec v[2] = {{a, P}, {a + 2 * P, P}};
	/* flags before the iovec, the iovec before the pidfd */
	assert_int_equal(vmlab_process_madvise_pidfd(e.mm, 1000, NULL, 5000,
						     GI, 1), -VMLAB_EINVAL);
	assert_int_equal(pmadv(e.mm, 1000, NULL, 1025, GI), -VMLAB_EINVAL);
	assert_int_equal(pmadv(e.mm, 1000, NULL, 1, GI), -VMLAB_EFAULT);
	assert_int_equal(pmadv(e.mm, 1000, v, 2, GI), -VMLAB_EBADF);
	assert_int_equal(pmadv(e.mm, 0, v, 2, GI), -VMLAB_EBADF); /* stdin */
	assert_int_equal(pmadv(e.mm, -1, v, 2, GI), -VMLAB_EBADF);
	/* import_iovec() takes 32 bits of the count: 1 << 32 is none. */
	assert_int_equal(pmadv(e.mm, SELF, NULL, 1ULL << 32, GI), 0);
	/* no segments: nothing is validated, not even the advice */
	assert_int_equal(pmadv(e.mm, SELF, v, 0, 77), 0);
	assert_int_equal(pmadv(e.mm, SELF, v, 2, 77), -VMLAB_EINVAL);
	/* a negative length anywhere, before any access check */
	struct vmlab_iovec neg[2] = {{1ULL << 60, P}, {a, 1ULL << 63}};
	assert_int_equal(pmadv(e.mm, SELF, neg, 2, GI), -VMLAB_EINVAL);
	/* access_ok(): base + len up to TASK_SIZE_MAX; a single segment is
	 * capped to MAX_RW_COUNT before the check, several after it */
	u64 top = T_TASK_SIZE; /* x86 (1 << 47) - P, arm64 1 << 48 */
	struct vmlab_iovec hi[2] = {{0x10000, 0}, {top - P, P}};
	assert_int_equal(pmadv(e.mm, SELF, hi + 1, 1, COLD), -VMLAB_ENOMEM);
	hi[1].iov_len = 2 * P;
	assert_int_equal(pmadv(e.mm, SELF, hi + 1, 1, COLD), -VMLAB_EFAULT);
	hi[1] = (struct vmlab_iovec){top, 0};
	assert_int_equal(pmadv(e.mm, SELF, hi + 1, 1, COLD), 0);
	hi[1].iov_base++;
	assert_int_equal(pmadv(e.mm, SELF, hi + 1, 1, COLD), -VMLAB_EFAULT);
	/* Half the user space and as much again: mapped nowhere, and past
	 * TASK_SIZE_MAX only once the length is not capped. */
	u64 half = ((top + P) / 2) & ~(P - 1);
	hi[1] = (struct vmlab_iovec){half, half + P};
	assert_int_equal(pmadv(e.mm, SELF, hi + 1, 1, COLD), -VMLAB_ENOMEM);
	assert_int_equal(pmadv(e.mm, SELF, hi, 2, COLD), -VMLAB_EFAULT);
	/* both sentinels name the caller */
	assert_int_equal(pmadv(e.mm, VMLAB_PIDFD_SELF_THREAD_GROUP, v, 2, GI),
			 2 * P);
	assert_int_equal(vmlab_process_madvise_pidfd(NULL, SELF, v, 2, GI, 0),
			 -VMLAB_EINVAL);
	t_done(&e);
}

/* Segments as an iov_iter walks them; partial byte counts. */
static void test_segments(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = 1ULL << 32;
	assert_int_equal(vmlab_mmap(e.mm, a, 16 * P, RW, ANON | VMLAB_MAP_FIXED,
				    NULL, 0), (s64)a);
	/* an empty first segment is validated... */
	struct vmlab_iovec v1[2] = {{a + 1, 0}, {a, P}};
	assert_int_equal(pmadv(e.mm, SELF, v1, 2, GI), -VMLAB_EINVAL);
	/* ...an empty one after a done segment is skipped unseen */
	struct vmlab_iovec v2[3] = {{a, P}, {a + 1, 0}, {a + 2 * P, 100}};
	assert_int_equal(pmadv(e.mm, SELF, v2, 3, GI), P + 100);
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 16 * P, NULL, 0), 2);
	/* a single empty segment is never looked at */
	struct vmlab_iovec v3 = {a + 1, 0};
	assert_int_equal(pmadv(e.mm, SELF, &v3, 1, GI), 0);
	/* a failing segment: the bytes before it */
	struct vmlab_iovec v4[3] = {{a + 4 * P, P}, {a + 5 * P + 8, P},
				    {a + 6 * P, P}};
	assert_int_equal(pmadv(e.mm, SELF, v4, 3, GI), P);
	assert_true(pm(e.mm, a + 4 * P) & VMLAB_PM_GUARD_REGION);
	assert_false(pm(e.mm, a + 6 * P) & VMLAB_PM_GUARD_REGION);
	/* a hole: the segment advises what is mapped and fails (ENOMEM) */
	struct vmlab_iovec v5[2] = {{a + 8 * P, P}, {a + 15 * P, 4 * P}};
	assert_int_equal(pmadv(e.mm, SELF, v5, 2, GI), P);
	assert_true(pm(e.mm, a + 15 * P) & VMLAB_PM_GUARD_REGION);
	assert_int_equal(pmadv(e.mm, SELF, v5 + 1, 1, GI), -VMLAB_ENOMEM);
	/* lengths are capped to MAX_RW_COUNT in total: the second segment
	 * shrinks to fit, then runs into unmapped space */
	u64 max_rw = 0x7ffff000ULL;
	struct vmlab_iovec v6[2] = {{a, P}, {a + 2 * P, 1ULL << 40}};
	assert_int_equal(pmadv(e.mm, SELF, v6, 2, GR), P);
	struct vmlab_iovec v7 = {a, max_rw + 5 * P};
	assert_int_equal(pmadv(e.mm, SELF, &v7, 1, GR), -VMLAB_ENOMEM);
	t_done(&e);
}

/* Another process: pidfds, the remote advice subset, CAP_SYS_NICE. */
static void test_remote(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = map(e.mm, 4 * P, ANON);
	for (int i = 0; i < 4; i++)
		assert_int_equal(vmlab_user_write8(e.mm, 0, a + (u64)i * P, 7),
				 VMLAB_OK);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_int_equal(vmlab_user_switch(c, 1), 0);
	/* the child's own copy, so PAGEOUT there swaps it out */
	assert_int_equal(vmlab_user_write8(c, 1, a, 9), VMLAB_OK);
	assert_int_equal(vmlab_pidfd_open(e.mm, 0, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_pidfd_open(e.mm, -3, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_pidfd_open(e.mm, 999999, 0), -VMLAB_ESRCH);
	assert_int_equal(vmlab_pidfd_open(e.mm, (s64)vmlab_user_pid(c), 1),
			 -VMLAB_EINVAL);
	int fd = vmlab_pidfd_open(e.mm, (s64)vmlab_user_pid(c),
				  VMLAB_PIDFD_NONBLOCK);
	assert_int_equal(fd, 3);
	int self = vmlab_pidfd_open(e.mm, (s64)vmlab_user_pid(e.mm), 0);
	assert_int_equal(self, 4);
	struct vmlab_iovec v = {a, P};
	/* destructive advice never goes to another process */
	assert_int_equal(pmadv(e.mm, fd, &v, 1, GI), -VMLAB_EINVAL);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, VMLAB_MADV_DONTNEED),
			 -VMLAB_EINVAL);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, PAGEOUT), -VMLAB_EPERM);
	/* a pidfd of oneself is not remote */
	assert_int_equal(pmadv(e.mm, self, &v, 1, GI), P);
	assert_int_equal(vmlab_user_set_caps(e.mm, 1ULL << 21), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_caps(e.mm, NICE), 0);
	assert_int_equal(vmlab_user_caps(e.mm), NICE);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, PAGEOUT), P);
	assert_true(pm(c, a) & VMLAB_PM_SWAP);
	assert_true(pm(e.mm, a) & VMLAB_PM_GUARD_REGION); /* untouched */
	u8 b = 0;
	assert_int_equal(vmlab_user_read8(c, 1, a, &b), VMLAB_OK);
	assert_int_equal(b, 9);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, COLD), P);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, VMLAB_MADV_WILLNEED), P);
	/* the lowest free descriptor; close */
	assert_int_equal(vmlab_close(e.mm, fd), 0);
	assert_int_equal(vmlab_close(e.mm, fd), -VMLAB_EBADF);
	assert_int_equal(vmlab_close(e.mm, 1), -VMLAB_EBADF);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, COLD), -VMLAB_EBADF);
	fd = vmlab_pidfd_open(e.mm, (s64)vmlab_user_pid(c), 0);
	assert_int_equal(fd, 3);
	/* the process exits: the pidfd stays, its task is gone */
	vmlab_user_mm_destroy(c);
	assert_int_equal(pmadv(e.mm, fd, &v, 1, COLD), -VMLAB_ESRCH);
	assert_int_equal(vmlab_pidfd_open(e.mm, 999999, 0), -VMLAB_ESRCH);
	t_done(&e);
}

/* fork copies the descriptor table and the capabilities; EMFILE. */
static void test_fd_table(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 pid = (s64)vmlab_user_pid(e.mm);
	assert_int_equal(vmlab_user_set_caps(e.mm, NICE), 0);
	assert_int_equal(vmlab_pidfd_open(e.mm, pid, 0), 3);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_int_equal(vmlab_user_caps(c), NICE);
	u64 a = map(e.mm, P, ANON);
	struct vmlab_iovec v = {a, P};
	/* the child's fd 3 names the parent: remote for it */
	assert_int_equal(pmadv(c, 3, &v, 1, GI), -VMLAB_EINVAL);
	assert_int_equal(pmadv(c, 3, &v, 1, COLD), P);
	assert_int_equal(vmlab_close(c, 3), 0);
	assert_int_equal(pmadv(e.mm, 3, &v, 1, GI), P); /* parent's intact */
	vmlab_user_mm_destroy(c);
	for (int fd = 4; fd < 1024; fd++)
		assert_int_equal(vmlab_pidfd_open(e.mm, pid, 0), fd);
	assert_int_equal(vmlab_pidfd_open(e.mm, pid, 0), -VMLAB_EMFILE);
	assert_int_equal(vmlab_close(e.mm, 500), 0);
	assert_int_equal(vmlab_pidfd_open(e.mm, pid, 0), 500);
	t_done(&e);
}

/* VM_MAYBE_GUARD: set on the whole VMA, kept on remove, split, merge. */
static void test_maybe_guard_sticky(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = map(e.mm, 8 * P, ANON);
	assert_false(flags_at(e.mm, a) & VMLAB_VM_MAYBE_GUARD);
	assert_int_equal(vmlab_madvise(e.mm, a + 3 * P, P, GI), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1); /* no split */
	assert_true(flags_at(e.mm, a + 7 * P) & VMLAB_VM_MAYBE_GUARD);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, GR), 0);
	assert_true(flags_at(e.mm, a) & VMLAB_VM_MAYBE_GUARD);
	/* a split keeps it on both sides */
	assert_int_equal(vmlab_mprotect(e.mm, a, 2 * P, VMLAB_PROT_READ), 0);
	assert_true(flags_at(e.mm, a) & VMLAB_VM_MAYBE_GUARD);
	assert_true(flags_at(e.mm, a + 2 * P) & VMLAB_VM_MAYBE_GUARD);
	/* a new mapping next to it merges despite the difference, and the
	 * merged VMA keeps the flag */
	s64 b = vmlab_mmap(e.mm, a + 8 * P, 2 * P, RW, ANON | VMLAB_MAP_FIXED,
			   NULL, 0);
	assert_int_equal(b, (s64)(a + 8 * P));
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	assert_true(flags_at(e.mm, a + 9 * P) & VMLAB_VM_MAYBE_GUARD);
	/* a VMA without it, merged into (as the target) by its neighbours
	 * with it, gains it */
	s64 c = vmlab_mmap(e.mm, a - 2 * P, 2 * P, RW, ANON | VMLAB_MAP_FIXED,
			   NULL, 0);
	assert_int_equal(c, (s64)(a - 2 * P));
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	assert_false(flags_at(e.mm, a - 2 * P) & VMLAB_VM_MAYBE_GUARD);
	assert_int_equal(vmlab_mprotect(e.mm, a, 2 * P, RW), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	assert_true(flags_at(e.mm, a - 2 * P) & VMLAB_VM_MAYBE_GUARD);
	/* an invalid VMA gets no flag */
	assert_int_equal(vmlab_mlock(e.mm, a, P), 0);
	s64 d = vmlab_mmap(e.mm, 0, P, RW, ANON | VMLAB_MAP_LOCKED, NULL, 0);
	assert_true(d > 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)d, P, GI), -VMLAB_EINVAL);
	assert_false(flags_at(e.mm, (u64)d) & VMLAB_VM_MAYBE_GUARD);
	t_done(&e);
}

/* Shared and file mappings: no anon_vma, yet fork copies the markers;
 * smaps shows "gu". */
static void test_maybe_guard_fork(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = map(e.mm, 4 * P, VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS);
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create(e.m, "g", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, 4 * P), 0);
	s64 b = vmlab_mmap(e.mm, 0, 4 * P, RW, VMLAB_MAP_PRIVATE, f, 0);
	assert_true(b > 0);
	vmlab_file_put(f);
	assert_int_equal(vmlab_madvise(e.mm, a + P, P, GI), 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)b + 2 * P, P, GI), 0);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e.mm, a, &vi), 0);
	assert_int_equal(vi.anon_vma_id, 0);
	assert_true(vi.flags & VMLAB_VM_MAYBE_GUARD);
	assert_int_equal(vmlab_user_vma_at(e.mm, (u64)b, &vi), 0);
	assert_int_equal(vi.anon_vma_id, 0);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_true(flags_at(c, a) & VMLAB_VM_MAYBE_GUARD);
	assert_true(pm(c, a + P) & VMLAB_PM_GUARD_REGION);
	assert_true(pm(c, (u64)b + 2 * P) & VMLAB_PM_GUARD_REGION);
	u8 v;
	assert_int_equal(vmlab_user_read8(c, 1, a + P, &v), VMLAB_SIGSEGV);
	assert_int_equal(vmlab_user_read8(c, 1, (u64)b + 2 * P, &v),
			 VMLAB_SIGSEGV);
	assert_int_equal(vmlab_user_read8(c, 1, a, &v), VMLAB_OK);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	vmlab_user_print_smaps(c, out);
	fclose(out);
	assert_non_null(strstr(buf, " mw me ms gu"));
	free(buf);
	vmlab_user_mm_destroy(c);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks_order),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_fd_table),
		cmocka_unit_test(test_maybe_guard_sticky),
		cmocka_unit_test(test_maybe_guard_fork),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
