/* SPDX-License-Identifier: MIT */
/*
 * Multi-size anonymous THP (mTHP): the per-size sysfs modes and their
 * defaults, the order a write fault takes (the highest enabled order whose
 * aligned range lies in the VMA with every PTE none), what rules an order
 * out (a guard marker, a zero-page PTE, the VMA's edges, NOHUGEPAGE,
 * PR_SET_THP_DISABLE, the inherit/madvise rules), read faults, fork and
 * COW, partial munmap, the stats and the PMD size's own control.  The
 * placements asserted here were first run on the host (Linux 6.18.44,
 * hugepages-{16,32,64}kB/enabled set to always by hand): the host is not
 * changed by this test, since other tests compare with its defaults.
 */
#include <stdint.h>
#include <string.h>

#include "user_helpers.h"

#define K64 (64 * 1024ULL)

/* A 256 KiB-aligned stretch of a fresh 1 MiB private anonymous VMA. */
static u64 region(struct env *e)
{
	s64 a = vmlab_mmap(e->mm, 0, VMLAB_MiB, RW, ANON, NULL, 0);
	assert_true(a > 0);
	return ((u64)a + 0x3ffff) & ~0x3ffffULL;
}

static int present(struct env *e, u64 a, size_t n)
{
	u64 pm[64];
	assert_true(n <= 64);
	assert_int_equal(vmlab_pagemap_read(e->mm, a, pm, n), (int)n);
	int c = 0;
	for (size_t i = 0; i < n; i++)
		c += !!(pm[i] & VMLAB_PM_PRESENT);
	return c;
}

static bool is_present(struct env *e, u64 a)
{
	return present(e, a, 1) == 1;
}

static void wr(struct env *e, u64 va, u8 v)
{
	assert_int_equal(vmlab_user_write8(e->mm, 0, va, v), VMLAB_OK);
}

static u8 rd(struct vmlab_user_mm *mm, u64 va)
{
	u8 v = 0xee;
	assert_int_equal(vmlab_user_read8(mm, 0, va, &v), VMLAB_OK);
	return v;
}

static void set(struct env *e, u64 size, int mode)
{
	int o = 0;
	while ((VMLAB_PAGE_SIZE << o) < size)
		o++;
	assert_int_equal(vmlab_user_set_mthp(e->m, o, mode), 0);
}

static struct vmlab_mthp_stats st(struct env *e, int order)
{
	struct vmlab_mthp_stats s;
	assert_int_equal(vmlab_user_mthp_stats(e->m, order, &s), 0);
	return s;
}

static void test_defaults_and_bad_input(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_get_mthp(e.m, 9), VMLAB_THP_INHERIT);
	for (int o = 2; o < 9; o++)
		assert_int_equal(vmlab_user_get_mthp(e.m, o), VMLAB_THP_NEVER);
	/* Order 1 has no anonymous control; 0 and past the PMD none. */
	int bad[] = {-1, 0, 1, 10, 63};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vmlab_user_set_mthp(e.m, bad[i],
						     VMLAB_THP_ALWAYS),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_user_get_mthp(e.m, bad[i]),
				 -VMLAB_EINVAL);
	}
	assert_int_equal(vmlab_user_set_mthp(e.m, 4, 4), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_mthp(e.m, 4, -1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_mthp(NULL, 4, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_mthp_stats(e.m, 4, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_get_mthp(e.m, 4), VMLAB_THP_NEVER);
	/* Off by default: one page per fault. */
	u64 a = region(&e);
	wr(&e, a + 0x11000, 1);
	assert_int_equal(present(&e, a, 64), 1);
	t_done(&e);
}

static void test_fault_maps_folio(void **state)
{
	(void)state;
	struct env e = t_env(2);
	set(&e, K64, VMLAB_THP_ALWAYS);
	u64 a = region(&e);
	struct vmlab_user_stats s0, s1;
	vmlab_user_stats(e.mm, &s0);
	wr(&e, a + 0x11000, 7);
	vmlab_user_stats(e.mm, &s1);
	/* Host: 16 pages present, [+0x10000, +0x20000). */
	assert_int_equal(present(&e, a, 64), 16);
	assert_true(is_present(&e, a + 0x10000) && is_present(&e, a + 0x1f000));
	assert_false(is_present(&e, a + 0xf000) || is_present(&e, a + 0x20000));
	assert_int_equal(s1.rss_anon - s0.rss_anon, 16);
	assert_int_equal(s1.faults - s0.faults, 1);
	assert_int_equal(st(&e, 4).anon_fault_alloc, 1);
	assert_int_equal(st(&e, 4).anon_fault_fallback, 0);
	assert_int_equal(rd(e.mm, a + 0x11000), 7);
	assert_int_equal(rd(e.mm, a + 0x10000), 0);
	/* The other pages are writable already: no further fault. */
	wr(&e, a + 0x1f000, 3);
	vmlab_user_stats(e.mm, &s0);
	assert_int_equal(s0.faults, s1.faults);
	/* Another CPU reads the same contents. */
	u8 v = 0;
	assert_int_equal(vmlab_user_read8(e.mm, 1, a + 0x1f000, &v), VMLAB_OK);
	assert_int_equal(v, 3);
	t_done(&e);
}

static void test_orders_ruled_out(void **state)
{
	(void)state;
	struct env e = t_env(1);
	set(&e, K64, VMLAB_THP_ALWAYS);
	u64 a = region(&e);
	/* Host: a marker inside the 64 KiB range leaves one page. */
	assert_int_equal(vmlab_madvise(e.mm, a + 0x34000, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	wr(&e, a + 0x31000, 1);
	assert_int_equal(present(&e, a + 0x30000, 16), 1);
	/* With 16 and 32 KiB enabled too: the 16 KiB below the marker. */
	set(&e, 16384, VMLAB_THP_ALWAYS);
	set(&e, 32768, VMLAB_THP_ALWAYS);
	assert_int_equal(vmlab_madvise(e.mm, a + 0x31000, P,
				       VMLAB_MADV_DONTNEED), 0);
	wr(&e, a + 0x31000, 1);
	assert_int_equal(present(&e, a + 0x30000, 16), 4);
	assert_int_equal(present(&e, a + 0x30000, 4), 4);
	assert_int_equal(st(&e, 2).anon_fault_alloc, 1);
	/* A zero-page PTE rules out the sizes whose range holds it. */
	u64 b = a + 0x80000;
	assert_int_equal(rd(e.mm, b + 0x2000), 0);
	assert_int_equal(present(&e, b, 16), 1);
	wr(&e, b + 0x5000, 1);
	assert_int_equal(present(&e, b, 16), 5);
	assert_int_equal(present(&e, b + 0x4000, 4), 4);
	/* A VMA no aligned 16 KiB fits in, alone in a hole: one page. */
	s64 hole = vmlab_mmap(e.mm, 0, 4 * K64, RW, ANON, NULL, 0);
	assert_true(hole > 0);
	u64 q = (((u64)hole + K64 - 1) & ~(K64 - 1)) + P;
	assert_int_equal(vmlab_munmap(e.mm, (u64)hole, 4 * K64), 0);
	assert_int_equal(vmlab_mmap(e.mm, q, 4 * P, RW,
				    ANON | VMLAB_MAP_FIXED, NULL, 0), (s64)q);
	wr(&e, q, 1);
	assert_int_equal(present(&e, q - P, 6), 1);
	/* Read faults map the zero page, never a folio. */
	u64 c = a + 0xc0000;
	assert_int_equal(rd(e.mm, c + 0x1000), 0);
	assert_int_equal(present(&e, c, 16), 1);
	t_done(&e);
}

static void test_modes(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = region(&e);
	/* inherit follows the global mode. */
	set(&e, K64, VMLAB_THP_INHERIT);
	wr(&e, a, 1);
	assert_int_equal(present(&e, a, 16), 1); /* global never */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_MADVISE), 0);
	wr(&e, a + K64, 1);
	assert_int_equal(present(&e, a + K64, 16), 1); /* no VM_HUGEPAGE */
	u64 b = region(&e);
	assert_int_equal(vmlab_madvise(e.mm, b, 4 * K64, VMLAB_MADV_HUGEPAGE),
			 0);
	wr(&e, b, 1);
	assert_int_equal(present(&e, b, 16), 16);
	/* madvise mode: only VM_HUGEPAGE VMAs, whatever the global. */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_NEVER), 0);
	set(&e, K64, VMLAB_THP_MADVISE);
	wr(&e, b + K64, 1);
	assert_int_equal(present(&e, b + K64, 16), 16);
	wr(&e, a + 2 * K64, 1);
	assert_int_equal(present(&e, a + 2 * K64, 16), 1);
	/* NOHUGEPAGE and PR_SET_THP_DISABLE win over always. */
	set(&e, K64, VMLAB_THP_ALWAYS);
	assert_int_equal(vmlab_madvise(e.mm, b + 2 * K64, K64,
				       VMLAB_MADV_NOHUGEPAGE), 0);
	wr(&e, b + 2 * K64, 1);
	assert_int_equal(present(&e, b + 2 * K64, 16), 1);
	assert_int_equal(vmlab_prctl_set_thp_disable(e.mm, true), 0);
	wr(&e, a + 3 * K64, 1);
	assert_int_equal(present(&e, a + 3 * K64, 16), 1);
	t_done(&e);
}

static void test_pmd_size_control(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 r = vmlab_mmap(e.mm, 0, 3 * VMLAB_PMD_SIZE, RW, ANON, NULL, 0);
	assert_true(r > 0);
	u64 h = ((u64)r + VMLAB_PMD_SIZE - 1) & ~(VMLAB_PMD_SIZE - 1);
	/* hugepages-2048kB never overrides the global always ... */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	assert_int_equal(vmlab_user_set_mthp(e.m, 9, VMLAB_THP_NEVER), 0);
	wr(&e, h, 1);
	assert_int_equal(vmlab_user_thp_mapped(e.mm, h), 0);
	/* ... and always overrides a global never. */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_NEVER), 0);
	assert_int_equal(vmlab_user_set_mthp(e.m, 9, VMLAB_THP_ALWAYS), 0);
	wr(&e, h + VMLAB_PMD_SIZE, 1);
	assert_int_equal(vmlab_user_thp_mapped(e.mm, h + VMLAB_PMD_SIZE), 1);
	t_done(&e);
}

static void test_fork_cow_and_unmap(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 free0 = vmlab_nr_free_pages(e.m);
	set(&e, K64, VMLAB_THP_ALWAYS);
	u64 a = region(&e);
	wr(&e, a + 0x5000, 5);
	assert_int_equal(present(&e, a, 16), 16);
	struct vmlab_user_mm *child;
	assert_int_equal(vmlab_fork(e.mm, &child), 0);
	/* The child's write copies one page, not the folio. */
	assert_int_equal(vmlab_user_write8(child, 0, a + 0x6000, 9), VMLAB_OK);
	assert_int_equal(rd(e.mm, a + 0x6000), 0);
	assert_int_equal(rd(child, a + 0x6000), 9);
	assert_int_equal(rd(child, a + 0x5000), 5);
	struct vmlab_user_stats cs;
	vmlab_user_stats(child, &cs);
	assert_int_equal(cs.fault_cow, 1);
	vmlab_user_mm_destroy(child);
	/* A partial munmap leaves the rest of the folio mapped. */
	assert_int_equal(vmlab_munmap(e.mm, a + 0x8000, 0x8000), 0);
	assert_int_equal(present(&e, a, 8), 8);
	assert_int_equal(rd(e.mm, a + 0x5000), 5);
	assert_int_equal(vmlab_munmap(e.mm, a - VMLAB_MiB, 4 * VMLAB_MiB), 0);
	vmlab_user_mm_destroy(e.mm);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	/* Every frame came back (the new mm's tables aside). */
	assert_true(vmlab_nr_free_pages(e.m) + 8 >= free0);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_bad_input),
		cmocka_unit_test(test_fault_maps_folio),
		cmocka_unit_test(test_orders_ruled_out),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_pmd_size_control),
		cmocka_unit_test(test_fork_cow_and_unmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
