/* SPDX-License-Identifier: MIT */
/*
 * User mms, the VMA tree and mmap/munmap/mprotect: placement as x86-64
 * Linux does it, merge and split rules (VMA counts as /proc/PID/maps would
 * show them), error codes, and a randomized comparison against a naive
 * model of the address space.
 */
#include "user_helpers.h"

#define MMAP_BASE T_MMAP_BASE

static struct vmlab_user_mm *t_mm(struct vmlab_machine *m)
{
	struct vmlab_user_mm *mm = NULL;
	assert_int_equal(vmlab_user_mm_create(m, &mm), 0);
	assert_non_null(mm);
	return mm;
}

static u64 t_mmap(struct vmlab_user_mm *mm, u64 addr, u64 len, int prot,
		  int flags)
{
	s64 a = vmlab_mmap(mm, addr, len, prot, flags, NULL, 0);
	assert_true(a > 0);
	return (u64)a;
}

static void test_topdown_placement(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 0, 17 * P, RW, ANON);
	assert_int_equal(a, MMAP_BASE - 17 * P);
	u64 b = t_mmap(mm, 0, 3 * P, VMLAB_PROT_READ, ANON);
	assert_int_equal(b, a - 3 * P);
	/* Different flags: no merge. */
	assert_int_equal(vmlab_user_nr_vmas(mm), 2);
	/* Same flags, adjacent: merges into the one above. */
	u64 c = t_mmap(mm, 0, 2 * P, VMLAB_PROT_READ, ANON);
	assert_int_equal(c, b - 2 * P);
	assert_int_equal(vmlab_user_nr_vmas(mm), 2);
	/* A hint that is free is used as is. */
	u64 h = t_mmap(mm, 0x100000000ULL, P, RW, ANON);
	assert_int_equal(h, 0x100000000ULL);
	/* A hint inside a mapping falls back to top-down. */
	u64 d = t_mmap(mm, a + P, P, VMLAB_PROT_EXEC, ANON);
	assert_int_equal(d, c - P);
	/* Hints below mmap_min_addr are raised to it. */
	u64 e = t_mmap(mm, 0x1000, P, RW, ANON);
	assert_int_equal(e, 0x10000);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_thp_alignment(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	t_mmap(mm, 0, 3 * P, RW, ANON);
	/* Anonymous private, no hint, 2 MiB multiple: 2 MiB aligned. */
	u64 a = t_mmap(mm, 0, 4 * VMLAB_MiB, RW, ANON);
	assert_int_equal(a & (VMLAB_PMD_SIZE - 1), 0);
	assert_true(a + 4 * VMLAB_MiB <= MMAP_BASE - 3 * P);
	assert_true(a + 4 * VMLAB_MiB > MMAP_BASE - 3 * P - VMLAB_PMD_SIZE);
	/* Not a multiple: packed right below. */
	u64 b = t_mmap(mm, 0, VMLAB_PMD_SIZE + P, RW, ANON);
	assert_int_equal(b, a - VMLAB_PMD_SIZE - P);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_mprotect_split_merge(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 0, 10 * P, RW, ANON);
	assert_int_equal(vmlab_mprotect(mm, a + 4 * P, 2 * P, VMLAB_PROT_READ), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 3);
	/* Back: merges with both neighbours. */
	assert_int_equal(vmlab_mprotect(mm, a + 4 * P, 2 * P, RW), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 1);
	/* Left edge: split into 2, then extend the left part. */
	assert_int_equal(vmlab_mprotect(mm, a, 2 * P, VMLAB_PROT_NONE), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 2);
	assert_int_equal(vmlab_mprotect(mm, a + 2 * P, P, VMLAB_PROT_NONE), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 2);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(mm, a, &vi), 0);
	assert_int_equal(vi.end, a + 3 * P);
	/* Unfaulted anonymous memory made PROT_NONE is no longer committed,
	 * so it does not merge with a fresh PROT_NONE mapping ... */
	assert_int_equal(vi.flags & VMLAB_VM_ACCOUNT, 0);
	u64 b = t_mmap(mm, a - P, P, VMLAB_PROT_NONE, ANON | VMLAB_MAP_FIXED);
	assert_int_equal(b, a - P);
	/* ... of the same flags: it does. */
	assert_int_equal(vmlab_user_nr_vmas(mm), 2);
	/* Range ending in a hole: applied up to it, then ENOMEM. */
	assert_int_equal(vmlab_mprotect(mm, a + 5 * P, 10 * P, VMLAB_PROT_READ),
			 -VMLAB_ENOMEM);
	assert_int_equal(vmlab_user_vma_at(mm, a + 9 * P, &vi), 0);
	assert_int_equal(vi.flags & (VMLAB_VM_READ | VMLAB_VM_WRITE |
				     VMLAB_VM_EXEC), VMLAB_VM_READ);
	/* Errors. */
	assert_int_equal(vmlab_mprotect(mm, a + 1, P, RW), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mprotect(mm, a, P, 0x100), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mprotect(mm, a, 0, RW), 0);
	assert_int_equal(vmlab_mprotect(mm, 0x100000, P, RW), -VMLAB_ENOMEM);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_munmap_and_fixed(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 0, 8 * P, RW, ANON);
	assert_int_equal(vmlab_munmap(mm, a + 2 * P, 2 * P), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 2);
	/* Unmapping nothing is fine. */
	assert_int_equal(vmlab_munmap(mm, a + 2 * P, 2 * P), 0);
	/* MAP_FIXED into the hole with the same flags merges all three. */
	assert_int_equal(t_mmap(mm, a + 2 * P, 2 * P, RW, ANON | VMLAB_MAP_FIXED),
			 a + 2 * P);
	assert_int_equal(vmlab_user_nr_vmas(mm), 1);
	/* MAP_FIXED over the middle with other flags: replace, split. */
	t_mmap(mm, a + 3 * P, P, VMLAB_PROT_READ, ANON | VMLAB_MAP_FIXED);
	assert_int_equal(vmlab_user_nr_vmas(mm), 3);
	assert_int_equal(vmlab_mmap(mm, a + 3 * P, P, RW,
				    ANON | VMLAB_MAP_FIXED_NOREPLACE, NULL, 0),
			 -VMLAB_EEXIST);
	assert_int_equal(vmlab_mmap(mm, a - P, P, RW,
				    ANON | VMLAB_MAP_FIXED_NOREPLACE, NULL, 0),
			 (s64)(a - P));
	/* Errors as Linux gives them. */
	assert_int_equal(vmlab_mmap(mm, 0, 0, RW, ANON, NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(mm, a + 1, P, RW, ANON | VMLAB_MAP_FIXED,
				    NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(mm, 0x1000, P, RW, ANON | VMLAB_MAP_FIXED,
				    NULL, 0), -VMLAB_EPERM);
	assert_int_equal(vmlab_mmap(mm, 0, P, RW, VMLAB_MAP_ANONYMOUS, NULL, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(mm, 0, P, RW, VMLAB_MAP_PRIVATE, NULL, 0),
			 -VMLAB_EBADF);
	assert_int_equal(vmlab_mmap(mm, 0, P, RW, ANON, NULL, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(mm, 0, 1ULL << 50, RW, ANON, NULL, 0),
			 -VMLAB_ENOMEM);
	assert_int_equal(vmlab_mmap(mm, T_TASK_SIZE - P, 2 * P, RW,
				    ANON | VMLAB_MAP_FIXED, NULL, 0),
			 -VMLAB_ENOMEM);
	assert_int_equal(vmlab_mmap(mm, 0, P, RW, ANON | VMLAB_MAP_HUGETLB,
				    NULL, 0), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_munmap(mm, a + 1, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munmap(mm, a, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munmap(mm, a - P, 9 * P), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 0);
	assert_int_equal(vmlab_user_pgtable_pages(mm), 1);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_shared_anon_never_merges(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	int sh = VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS;
	for (int i = 0; i < 4; i++)
		t_mmap(mm, 0, 2 * P, RW, sh);
	assert_int_equal(vmlab_user_nr_vmas(mm), 4);
	struct vmlab_vma_info vi[4];
	assert_int_equal(vmlab_user_vmas(mm, vi, 4), 4);
	for (int i = 0; i < 4; i++) {
		assert_true(vi[i].flags & VMLAB_VM_SHARED);
		assert_int_equal(vi[i].pgoff, 0);
		assert_string_equal(vi[i].name, "/dev/zero");
	}
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_map_count_limit(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_user_mm *mm = t_mm(m);
	/* Alternate protections so nothing merges. */
	u64 base = 0x100000000ULL, i = 2;
	t_mmap(mm, base, 2 * P, RW, ANON | VMLAB_MAP_FIXED);
	s64 r;
	for (;; i++) {
		r = vmlab_mmap(mm, base + i * P, P,
			       (i & 1) ? RW : VMLAB_PROT_READ,
			       ANON | VMLAB_MAP_FIXED, NULL, 0);
		if (r < 0)
			break;
	}
	assert_int_equal(r, -VMLAB_ENOMEM);
	assert_int_equal(vmlab_user_nr_vmas(mm), 65531); /* the check is '>' */
	/* A split that would add a VMA fails too ... */
	assert_int_equal(vmlab_mprotect(mm, base, P, VMLAB_PROT_READ),
			 -VMLAB_ENOMEM);
	/* ... but merging needs none. */
	assert_int_equal(vmlab_mprotect(mm, base + 2 * P, P, RW), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 65529);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

/* ------------------------------------------------ randomized model */

#define NP 96 /* pages in the arena */

struct ref {
	int prot[NP]; /* -1: unmapped */
};

static int ref_vmas(const struct ref *r)
{
	int n = 0;
	for (int i = 0; i < NP; i++)
		if (r->prot[i] >= 0 && (i == 0 || r->prot[i - 1] != r->prot[i]))
			n++;
	return n;
}

static void test_random_vs_model(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	const u64 base = 0x200000000ULL;
	static const int prots[] = {VMLAB_PROT_NONE, VMLAB_PROT_READ, RW,
				    VMLAB_PROT_READ | VMLAB_PROT_EXEC};
	struct ref r;
	for (int i = 0; i < NP; i++)
		r.prot[i] = -1;
	for (int step = 0; step < 4000; step++) {
		int op = (int)vmlab_rand_below(m, 3);
		int s = (int)vmlab_rand_below(m, NP);
		int n = 1 + (int)vmlab_rand_below(m, 12);
		if (s + n > NP)
			n = NP - s;
		int pi = (int)vmlab_rand_below(m, 4);
		u64 a = base + (u64)s * P;
		if (op == 0) {
			assert_int_equal(vmlab_mmap(mm, a, (u64)n * P, prots[pi],
						    ANON | VMLAB_MAP_FIXED, NULL, 0),
					 (s64)a);
			for (int i = s; i < s + n; i++)
				r.prot[i] = pi;
		} else if (op == 1) {
			assert_int_equal(vmlab_munmap(mm, a, (u64)n * P), 0);
			for (int i = s; i < s + n; i++)
				r.prot[i] = -1;
		} else {
			int hole = -1;
			for (int i = s; i < s + n && hole < 0; i++)
				if (r.prot[i] < 0)
					hole = i;
			int err = vmlab_mprotect(mm, a, (u64)n * P, prots[pi]);
			/* Linux changes everything before the first hole. */
			int upto = hole < 0 ? s + n : hole;
			assert_int_equal(err, hole < 0 ? 0 : -VMLAB_ENOMEM);
			for (int i = s; i < upto; i++)
				r.prot[i] = pi;
		}
		assert_int_equal((int)vmlab_user_nr_vmas(mm), ref_vmas(&r));
	}
	/* Boundaries, not just counts. */
	struct vmlab_vma_info vi[NP];
	size_t nv = vmlab_user_vmas(mm, vi, NP);
	for (size_t k = 0; k < nv; k++) {
		int s = (int)((vi[k].start - base) / P);
		int e = (int)((vi[k].end - base) / P);
		for (int i = s; i < e; i++)
			assert_int_equal(r.prot[i], r.prot[s]);
		assert_true(s == 0 || r.prot[s - 1] != r.prot[s]);
		assert_true(e == NP || r.prot[e] != r.prot[s]);
	}
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_guard_stacks_vma_counts(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 256 * VMLAB_MiB, true);
	struct vmlab_guard_stacks_result pn, mk;
	assert_int_equal(vmlab_scenario_guard_stacks(m, 2000, 16, false, &pn), 0);
	assert_int_equal(vmlab_scenario_guard_stacks(m, 2000, 16, true, &mk), 0);
	/* The seed's claim: two VMAs per stack the old way, none (one VMA
	 * for all of them) with markers. */
	assert_int_equal(pn.vmas_added, 4000);
	assert_int_equal(mk.vmas_added, 1);
	assert_int_equal(pn.guard_sigsegv, 2000);
	assert_int_equal(mk.guard_sigsegv, 2000);
	assert_int_equal(pn.stack_ok, 2000);
	assert_int_equal(mk.stack_ok, 2000);
	assert_int_equal(pn.syscalls, 4000);
	assert_int_equal(mk.syscalls, 4000);
	/* Neither way needs a TLB flush for fresh stacks. */
	assert_int_equal(pn.flushes, 0);
	assert_int_equal(mk.flushes, 0);
	/* Markers live in page tables: PROT_NONE stacks need none. */
	assert_int_equal(pn.pgtable_pages, 1);
	assert_true(mk.pgtable_pages > 1);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}


/* A mixed workload; returns the machine's event-trace hash. */
static u64 workload(void)
{
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 0, 64 * P, RW, ANON);
	for (u64 i = 0; i < 64; i++)
		vmlab_user_write8(mm, (int)(i % 4), a + i * P, (u8)i);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(mm, &c), 0);
	for (u64 i = 0; i < 64; i += 3)
		vmlab_user_write8(c, (int)(i % 4), a + i * P, 1);
	assert_int_equal(vmlab_madvise(mm, a, 8 * P, VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_madvise(mm, a + 8 * P, 8 * P, VMLAB_MADV_PAGEOUT), 0);
	assert_int_equal(vmlab_madvise(mm, a + 16 * P, 8 * P, VMLAB_MADV_DONTNEED), 0);
	assert_true(vmlab_mremap(mm, a, 64 * P, 96 * P, VMLAB_MREMAP_MAYMOVE, 0) > 0);
	vmlab_user_mm_destroy(c);
	vmlab_user_mm_destroy(mm);
	u64 h = vmlab_trace_hash(m);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
	return h;
}

static void test_deterministic(void **state)
{
	(void)state;
	u64 h1 = workload(), h2 = workload();
	assert_int_equal(h1, h2);
}

/* Misuse gets an errno (or is ignored), never a crash. */
static void test_bad_input(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	struct vmlab_iovec iov = {0, P};
	u64 e;
	assert_int_equal(vmlab_user_mm_create(NULL, &mm), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_mm_create(m, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(NULL, 0, P, RW, ANON, NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munmap(NULL, 0, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mprotect(NULL, 0, P, RW), -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(NULL, 0, P, 4), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(NULL, 0, P, P, 0, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mlock(NULL, 0, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munlock(NULL, 0, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_fork(NULL, &mm), -VMLAB_EINVAL);
	assert_int_equal(vmlab_fork(mm, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_switch(mm, 2), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_switch(mm, -1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_access(NULL, 0, VMLAB_READ, 0, &e, 8),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_READ, 0, &e, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_access(mm, 0, (enum vmlab_access)9, 0, &e, 8),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_process_madvise(mm, NULL, 1, 4, 0), -VMLAB_EFAULT);
	assert_int_equal(vmlab_process_madvise(mm, &iov, 2000, 4, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_process_madvise(mm, &iov, 0, 4, 0), 0);
	assert_int_equal(vmlab_pagemap_read(mm, 0, NULL, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_pagemap_read(mm, t_arm64() ? 1ULL << 48 : 1ULL << 47,
					    &e, 1),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_pagemap_read(mm, 0, &e, 1), 1);
	assert_int_equal(e, 0);
	assert_int_equal(vmlab_guard_scan(mm, 0, ~0ULL, NULL, 5), 0);
	assert_int_equal(vmlab_guard_scan(NULL, 0, P, NULL, 0), 0);
	assert_int_equal(vmlab_user_poison(mm, 1, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_poison(mm, 0x10000, P), -VMLAB_ENOENT);
	assert_int_equal(vmlab_user_map_io(mm, 0, 0, RW), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_map_io(mm, ~0ULL, 1, RW), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_vma_at(mm, 0, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_vmas(NULL, NULL, 0), 0);
	assert_int_equal(vmlab_user_nr_vmas(NULL), 0);
	assert_int_equal(vmlab_memfd_create(NULL, "x", NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_ftruncate(NULL, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_pwrite(NULL, &e, 8, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_pread(NULL, &e, 8, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_punch_hole(NULL, 0, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_swap_setup(m, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_swap_setup(NULL, 100), -VMLAB_EINVAL);
	assert_int_equal(vmlab_swap_setup(m, 100), 0);
	assert_int_equal(vmlab_swap_total(m), 99);
	struct vmlab_guard_stacks_result r;
	assert_int_equal(vmlab_scenario_guard_stacks(m, 0, 16, true, &r),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_scenario_guard_stacks(NULL, 1, 16, true, &r),
			 -VMLAB_EINVAL);
	vmlab_user_mm_destroy(NULL);
	vmlab_file_put(NULL);
	vmlab_user_stats(NULL, NULL);
	vmlab_user_print_maps(NULL, NULL);
	vmlab_user_set_bugs(NULL, 1);
	assert_int_equal(vmlab_nr_reports(m), 0);
	/* The machine goes with its mms and files still alive. */
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create(m, "left", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, P), 0);
	assert_true(vmlab_mmap(mm, 0, P, RW, VMLAB_MAP_SHARED, f, 0) > 0);
	assert_int_equal(vmlab_user_write8(mm, 0, (u64)vmlab_mmap(mm, 0, P, RW,
								 ANON, NULL, 0),
					   1), 0);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topdown_placement),
		cmocka_unit_test(test_thp_alignment),
		cmocka_unit_test(test_mprotect_split_merge),
		cmocka_unit_test(test_munmap_and_fixed),
		cmocka_unit_test(test_shared_anon_never_merges),
		cmocka_unit_test(test_map_count_limit),
		cmocka_unit_test(test_random_vs_model),
		cmocka_unit_test(test_guard_stacks_vma_counts),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
