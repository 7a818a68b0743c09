/* SPDX-License-Identifier: MIT */
/*
 * fork(): copy-on-write (parent and child independent after writes),
 * reuse once the other side let go, WIPEONFORK / KEEPONFORK / DONTFORK,
 * guard markers copied (not under WIPEONFORK, not with DONTFORK), swap
 * entries shared, shared mappings shared, locks not inherited, and the
 * anon_vma rule that keeps a child's faulted VMAs from merging.
 */
#include "user_helpers.h"


static u64 t_mmap(struct vmlab_user_mm *mm, u64 addr, u64 len, int prot,
		  int flags)
{
	s64 a = vmlab_mmap(mm, addr, len, prot, flags, NULL, 0);
	assert_true(a > 0);
	return (u64)a;
}

static u64 rd(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u64 v = 0;
	assert_int_equal(vmlab_user_access(mm, cpu, VMLAB_READ, va, &v, 8),
			 VMLAB_OK);
	return v;
}

static void wr(struct vmlab_user_mm *mm, int cpu, u64 va, u64 v)
{
	assert_int_equal(vmlab_user_access(mm, cpu, VMLAB_WRITE, va, &v, 8),
			 VMLAB_OK);
}

static int sig(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	return vmlab_user_access(mm, cpu, VMLAB_READ, va, NULL, 1);
}

static struct vmlab_user_mm *t_fork(struct vmlab_user_mm *mm)
{
	struct vmlab_user_mm *c = NULL;
	assert_int_equal(vmlab_fork(mm, &c), 0);
	assert_non_null(c);
	return c;
}

static void test_cow_independent(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *p;
	assert_int_equal(vmlab_user_mm_create(m, &p), 0);
	u64 a = t_mmap(p, 0, 16 * P, RW, ANON);
	for (u64 i = 0; i < 15; i++)
		wr(p, (int)(i % 2), a + i * P, 100 + i);
	rd(p, 0, a + 15 * P); /* one page maps the zero page */
	struct vmlab_user_mm *c = t_fork(p);
	vmlab_user_switch(c, 2);
	assert_int_equal(vmlab_user_nr_vmas(c), 1);
	for (u64 i = 0; i < 15; i++)
		assert_int_equal(rd(c, 2, a + i * P), 100 + i);
	assert_int_equal(rd(c, 2, a + 15 * P), 0);
	/* Child writes: a copy; the parent keeps its data. */
	wr(c, 3, a, 555);
	assert_int_equal(rd(c, 2, a), 555);
	assert_int_equal(rd(p, 0, a), 100);
	assert_int_equal(rd(p, 1, a), 100);
	/* Parent writes the page the child copied: sole owner, reused. */
	struct vmlab_user_stats s0, s1;
	vmlab_user_stats(p, &s0);
	wr(p, 1, a, 777);
	vmlab_user_stats(p, &s1);
	assert_int_equal(s1.fault_reuse, s0.fault_reuse + 1);
	assert_int_equal(s1.fault_cow, s0.fault_cow);
	assert_int_equal(rd(c, 3, a), 555);
	/* Parent writes a still-shared page: a copy on its side. */
	wr(p, 0, a + P, 888);
	assert_int_equal(rd(c, 2, a + P), 101);
	vmlab_user_stats(c, &s1);
	assert_int_equal(s1.fault_cow, 1);
	assert_int_equal(s1.rss_anon, 15);
	/* Pagemap: shared pages are not exclusive. */
	u64 e;
	vmlab_pagemap_read(c, a + 2 * P, &e, 1);
	assert_int_equal(e & VMLAB_PM_MMAP_EXCLUSIVE, 0);
	vmlab_pagemap_read(c, a, &e, 1);
	assert_true(e & VMLAB_PM_MMAP_EXCLUSIVE);
	/* The child exits: the parent's pages are its own again. */
	vmlab_user_mm_destroy(c);
	vmlab_user_stats(p, &s0);
	for (u64 i = 2; i < 15; i++)
		wr(p, 0, a + i * P, i);
	vmlab_user_stats(p, &s1);
	assert_int_equal(s1.fault_cow, s0.fault_cow);
	assert_int_equal(s1.fault_reuse, s0.fault_reuse + 13);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

static void test_fork_flags(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *p;
	assert_int_equal(vmlab_user_mm_create(m, &p), 0);
	u64 wipe = t_mmap(p, 0x100000000ULL, 4 * P, RW, ANON | VMLAB_MAP_FIXED);
	u64 nofork = t_mmap(p, 0x100100000ULL, 4 * P, RW, ANON | VMLAB_MAP_FIXED);
	u64 keep = t_mmap(p, 0x100200000ULL, 4 * P, RW, ANON | VMLAB_MAP_FIXED);
	u64 locked = t_mmap(p, 0x100300000ULL, 4 * P, RW,
			    ANON | VMLAB_MAP_FIXED | VMLAB_MAP_LOCKED);
	for (u64 i = 0; i < 4; i++) {
		wr(p, 0, wipe + i * P, 1 + i);
		wr(p, 0, nofork + i * P, 11 + i);
		wr(p, 0, keep + i * P, 21 + i);
	}
	for (u64 b = wipe; b <= keep; b += 0x100000)
		assert_int_equal(vmlab_madvise(p, b + 3 * P, P,
					       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_madvise(p, wipe, 4 * P, VMLAB_MADV_WIPEONFORK), 0);
	assert_int_equal(vmlab_madvise(p, nofork, 4 * P, VMLAB_MADV_DONTFORK), 0);
	/* WIPEONFORK then KEEPONFORK on part: split, then merge back. */
	assert_int_equal(vmlab_madvise(p, keep, 4 * P, VMLAB_MADV_WIPEONFORK), 0);
	assert_int_equal(vmlab_madvise(p, keep, 2 * P, VMLAB_MADV_KEEPONFORK), 0);
	assert_int_equal(vmlab_user_nr_vmas(p), 5);
	assert_int_equal(vmlab_madvise(p, keep + 2 * P, 2 * P,
				       VMLAB_MADV_KEEPONFORK), 0);
	assert_int_equal(vmlab_user_nr_vmas(p), 4);
	/* WIPEONFORK only on anonymous private memory. */
	u64 sh = t_mmap(p, 0, P, RW, VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS);
	assert_int_equal(vmlab_madvise(p, sh, P, VMLAB_MADV_WIPEONFORK),
			 -VMLAB_EINVAL);
	struct vmlab_user_mm *c = t_fork(p);
	assert_int_equal(vmlab_user_nr_vmas(c), 4); /* no DONTFORK VMA */
	/* WIPEONFORK: empty, zeroes, and no markers. */
	for (u64 i = 0; i < 4; i++)
		assert_int_equal(rd(c, 1, wipe + i * P), 0);
	assert_int_equal(vmlab_guard_scan(c, wipe, wipe + 4 * P, NULL, 0), 0);
	/* DONTFORK: nothing there. */
	assert_int_equal(sig(c, 1, nofork), VMLAB_SIGSEGV);
	/* Ordinary: data and the marker. */
	assert_int_equal(rd(c, 1, keep), 21);
	assert_int_equal(sig(c, 1, keep + 3 * P), VMLAB_SIGSEGV);
	/* The parent is untouched. */
	assert_int_equal(rd(p, 0, wipe), 1);
	assert_int_equal(sig(p, 0, wipe + 3 * P), VMLAB_SIGSEGV);
	assert_int_equal(rd(p, 0, nofork), 11);
	/* Locks are not inherited. */
	struct vmlab_user_stats st;
	vmlab_user_stats(c, &st);
	assert_int_equal(st.locked_vm, 0);
	vmlab_user_stats(p, &st);
	assert_int_equal(st.locked_vm, 4);
	(void)locked;
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(p); /* parent first: the child keeps its pages */
	assert_int_equal(rd(c, 1, keep + P), 22);
	vmlab_user_mm_destroy(c);
	vmlab_machine_destroy(m);
}

static void test_guard_markers_on_unfaulted_vma(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *p;
	assert_int_equal(vmlab_user_mm_create(m, &p), 0);
	/* Never faulted: only the marker's anon_vma makes fork copy it. */
	u64 a = t_mmap(p, 0, 4 * P, RW, ANON);
	assert_int_equal(vmlab_madvise(p, a, P, VMLAB_MADV_GUARD_INSTALL), 0);
	struct vmlab_user_mm *c = t_fork(p);
	assert_int_equal(sig(c, 0, a), VMLAB_SIGSEGV);
	assert_int_equal(rd(c, 0, a + P), 0);
	/* MAP_SHARED memory is rebuilt by faults, markers still copied. */
	u64 s = t_mmap(p, 0, 4 * P, RW, VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS);
	wr(p, 0, s + P, 9);
	assert_int_equal(vmlab_madvise(p, s, P, VMLAB_MADV_GUARD_INSTALL), 0);
	struct vmlab_user_mm *c2 = t_fork(p);
	assert_int_equal(sig(c2, 1, s), VMLAB_SIGSEGV);
	assert_int_equal(rd(c2, 1, s + P), 9);
	/* ... and writes are shared both ways. */
	wr(c2, 1, s + 2 * P, 42);
	assert_int_equal(rd(p, 0, s + 2 * P), 42);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(c);
	vmlab_user_mm_destroy(c2);
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

static void test_swap_shared_by_fork(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *p;
	assert_int_equal(vmlab_user_mm_create(m, &p), 0);
	u64 a = t_mmap(p, 0, 8 * P, RW, ANON);
	for (u64 i = 0; i < 8; i++)
		wr(p, 0, a + i * P, 0xabc0 + i);
	assert_int_equal(vmlab_madvise(p, a, 8 * P, VMLAB_MADV_PAGEOUT), 0);
	assert_int_equal(vmlab_swap_used(m), 8);
	struct vmlab_user_stats st;
	vmlab_user_stats(p, &st);
	assert_int_equal(st.swap_ents, 8);
	assert_int_equal(st.rss_anon, 0);
	struct vmlab_user_mm *c = t_fork(p);
	assert_int_equal(vmlab_swap_used(m), 8); /* shared slots */
	wr(c, 1, a, 1);
	assert_int_equal(rd(c, 1, a + P), 0xabc1);
	assert_int_equal(rd(p, 0, a), 0xabc0);
	vmlab_user_mm_destroy(c);
	for (u64 i = 0; i < 8; i++)
		assert_int_equal(rd(p, 0, a + i * P), 0xabc0 + i);
	assert_int_equal(vmlab_swap_used(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

static void test_fork_child_does_not_merge(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *p;
	assert_int_equal(vmlab_user_mm_create(m, &p), 0);
	u64 a = t_mmap(p, 0x100000000ULL, 4 * P, RW, ANON | VMLAB_MAP_FIXED);
	wr(p, 0, a, 1); /* gives the VMA an anon_vma */
	struct vmlab_user_mm *c = t_fork(p);
	/* Adjacent new mapping: merges in the parent, not in the child
	 * (whose VMA has a forked anon_vma chain). */
	t_mmap(p, a + 4 * P, 4 * P, RW, ANON | VMLAB_MAP_FIXED);
	t_mmap(c, a + 4 * P, 4 * P, RW, ANON | VMLAB_MAP_FIXED);
	assert_int_equal(vmlab_user_nr_vmas(p), 1);
	assert_int_equal(vmlab_user_nr_vmas(c), 2);
	/* An mprotect split and undo merges back in both. */
	assert_int_equal(vmlab_mprotect(c, a + P, P, VMLAB_PROT_READ), 0);
	assert_int_equal(vmlab_mprotect(c, a + P, P, RW), 0);
	assert_int_equal(vmlab_user_nr_vmas(c), 2);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(c);
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

static void test_fork_flushes_parent_once(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 128 * VMLAB_MiB, true);
	struct vmlab_user_mm *p;
	assert_int_equal(vmlab_user_mm_create(m, &p), 0);
	u64 a = t_mmap(p, 0, 4 * VMLAB_MiB, RW, ANON);
	for (int c = 0; c < 4; c++)
		for (u64 i = 0; i < 1024; i += 64)
			wr(p, c, a + i * P, i);
	u64 f0 = vmlab_counter(m, -1, VMLAB_C_flush_mm_range_full);
	struct vmlab_user_mm *c = t_fork(p);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_mm_range_full),
			 f0 + 1);
	/* Every CPU must fault to write now (a stale writable entry would
	 * be a checker finding). */
	for (int k = 0; k < 4; k++)
		for (u64 i = 0; i < 1024; i += 64)
			wr(p, k, a + i * P, i + 1);
	for (u64 i = 0; i < 1024; i += 64)
		assert_int_equal(rd(c, 0, a + i * P), i);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(c);
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cow_independent),
		cmocka_unit_test(test_fork_flags),
		cmocka_unit_test(test_guard_markers_on_unfaulted_vma),
		cmocka_unit_test(test_swap_shared_by_fork),
		cmocka_unit_test(test_fork_child_does_not_merge),
		cmocka_unit_test(test_fork_flushes_parent_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
