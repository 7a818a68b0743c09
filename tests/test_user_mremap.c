/* SPDX-License-Identifier: MIT */
/*
 * mremap(): shrink, in-place expansion (merging with the next VMA), moves
 * (MAYMOVE, FIXED, DONTUNMAP, FIXED across several VMAs), guard markers
 * and data travelling with the page tables, old translations flushed,
 * and the errors.  Also mlock/munlock interplay.
 */
#include "user_helpers.h"

#define MAYMOVE VMLAB_MREMAP_MAYMOVE
#define FIXED VMLAB_MREMAP_FIXED
#define BASE 0x100000000ULL


static u64 mapf(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	s64 a = vmlab_mmap(mm, addr, len, RW, ANON | VMLAB_MAP_FIXED, NULL, 0);
	assert_int_equal(a, (s64)addr);
	return addr;
}

static void fillv(struct vmlab_user_mm *mm, u64 a, u64 pages, u64 tag)
{
	for (u64 i = 0; i < pages; i++) {
		u64 v = tag + i;
		assert_int_equal(vmlab_user_access(mm, (int)(i % 2), VMLAB_WRITE,
						   a + i * P, &v, 8), VMLAB_OK);
	}
}

static u64 rd(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u64 v = 0;
	assert_int_equal(vmlab_user_access(mm, cpu, VMLAB_READ, va, &v, 8),
			 VMLAB_OK);
	return v;
}

static int sig(struct vmlab_user_mm *mm, u64 va)
{
	return vmlab_user_access(mm, 1, VMLAB_READ, va, NULL, 1);
}

static void test_shrink_and_expand_in_place(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = mapf(e.mm, BASE, 8 * P);
	fillv(e.mm, a, 8, 100);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_madvise(e.mm, a + 6 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	/* Shrink: the tail, and its marker, are gone. */
	assert_int_equal(vmlab_mremap(e.mm, a, 8 * P, 4 * P, 0, 0), (s64)a);
	assert_int_equal(sig(e.mm, a + 5 * P), VMLAB_SIGSEGV);
	/* Expand in place (free space above): data and marker kept, the
	 * new part is empty: no marker came back. */
	assert_int_equal(vmlab_mremap(e.mm, a, 4 * P, 8 * P, 0, 0), (s64)a);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	assert_int_equal(rd(e.mm, 0, a + 3 * P), 103);
	assert_int_equal(sig(e.mm, a + 2 * P), VMLAB_SIGSEGV);
	assert_int_equal(rd(e.mm, 0, a + 6 * P), 0);
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 8 * P, NULL, 0), 1);
	/* Expansion reaching a compatible next VMA merges with it too. */
	mapf(e.mm, a + 12 * P, 4 * P);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	assert_int_equal(vmlab_mremap(e.mm, a, 8 * P, 12 * P, 0, 0), (s64)a);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	/* No room and no MAYMOVE: ENOMEM. */
	mapf(e.mm, a + 20 * P, P);
	assert_int_equal(vmlab_mremap(e.mm, a, 16 * P, 24 * P, 0, 0),
			 -VMLAB_ENOMEM);
	/* Same size: nothing to do. */
	assert_int_equal(vmlab_mremap(e.mm, a, 16 * P, 16 * P, 0, 0), (s64)a);
	t_done(&e);
}

static void test_move(void **state)
{
	(void)state;
	struct env e = t_env(4);
	u64 a = mapf(e.mm, BASE, 8 * P);
	mapf(e.mm, a + 8 * P, P); /* blocks in-place growth ... */
	assert_int_equal(vmlab_mprotect(e.mm, a + 8 * P, P, VMLAB_PROT_READ), 0);
	fillv(e.mm, a, 8, 200);
	assert_int_equal(vmlab_madvise(e.mm, a + 7 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	for (int c = 0; c < 4; c++) /* every CPU caches the old addresses */
		rd(e.mm, c, a + (u64)c * P);
	s64 n = vmlab_mremap(e.mm, a, 8 * P, 12 * P, MAYMOVE, 0);
	assert_true(n > 0 && (u64)n != a);
	u64 b = (u64)n;
	/* Old range unmapped everywhere (the checker watched the flush). */
	for (int c = 0; c < 4; c++)
		assert_int_equal(vmlab_user_access(e.mm, c, VMLAB_READ,
						   a + (u64)c * P, NULL, 8),
				 VMLAB_SIGSEGV);
	for (u64 i = 0; i < 7; i++)
		assert_int_equal(rd(e.mm, (int)(i % 4), b + i * P), 200 + i);
	assert_int_equal(sig(e.mm, b + 7 * P), VMLAB_SIGSEGV); /* moved */
	assert_int_equal(rd(e.mm, 2, b + 10 * P), 0);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e.mm, b, &vi), 0);
	assert_int_equal(vi.end, b + 12 * P);
	assert_int_equal(vi.pgoff, BASE / P); /* faulted: pgoff kept */
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	t_done(&e);
}

static void test_fixed_dontunmap_multi(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = mapf(e.mm, BASE, 4 * P);
	fillv(e.mm, a, 4, 300);
	/* FIXED over an existing mapping replaces it. */
	u64 t = mapf(e.mm, BASE + 0x100000, 8 * P);
	assert_int_equal(vmlab_mremap(e.mm, a, 4 * P, 4 * P, MAYMOVE | FIXED,
				      t + 2 * P), (s64)(t + 2 * P));
	assert_int_equal(rd(e.mm, 0, t + 3 * P), 301);
	/* The moved VMA's pgoff does not line up with its new neighbours:
	 * three VMAs where the target was. */
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	/* DONTUNMAP: the old range stays mapped, empty. */
	s64 d = vmlab_mremap(e.mm, t + 2 * P, 4 * P, 4 * P,
			     MAYMOVE | VMLAB_MREMAP_DONTUNMAP, 0);
	assert_true(d > 0);
	assert_int_equal(rd(e.mm, 1, (u64)d + P), 301);
	assert_int_equal(rd(e.mm, 1, t + 3 * P), 0);
	/* FIXED, same size, over three VMAs and two holes (6.17+). */
	u64 s = BASE + 0x400000;
	mapf(e.mm, s, 2 * P);
	mapf(e.mm, s + 3 * P, 2 * P);
	assert_int_equal(vmlab_mprotect(e.mm, s + 3 * P, P, VMLAB_PROT_READ), 0);
	mapf(e.mm, s + 7 * P, P);
	fillv(e.mm, s, 2, 400);
	u64 dst = BASE + 0x800000;
	assert_int_equal(vmlab_mremap(e.mm, s, 8 * P, 8 * P, MAYMOVE | FIXED,
				      dst), (s64)dst);
	assert_int_equal(rd(e.mm, 0, dst + P), 401);
	assert_int_equal(sig(e.mm, dst + 2 * P), VMLAB_SIGSEGV); /* hole */
	assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_WRITE, dst + 3 * P,
					   &s, 8), VMLAB_SIGSEGV); /* R/O */
	assert_int_equal(rd(e.mm, 0, dst + 7 * P), 0);
	struct vmlab_vma_info vi;
	for (u64 i = 0; i < 8; i++) /* the source range is empty now */
		assert_int_equal(vmlab_user_vma_at(e.mm, s + i * P, &vi),
				 -VMLAB_ENOENT);
	/* ... but a hole at the start is EFAULT. */
	assert_int_equal(vmlab_mremap(e.mm, dst - P, 4 * P, 4 * P,
				      MAYMOVE | FIXED, s), -VMLAB_EFAULT);
	t_done(&e);
}

static void test_unfaulted_move_merges(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = mapf(e.mm, BASE, 4 * P);
	u64 b = mapf(e.mm, BASE + 0x100000, 4 * P);
	/* Unfaulted: takes the destination's pgoff and merges with b. */
	assert_int_equal(vmlab_mremap(e.mm, a, 4 * P, 4 * P, MAYMOVE | FIXED,
				      b + 4 * P), (s64)(b + 4 * P));
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	/* Faulted: keeps its pgoff, so it does not. */
	fillv(e.mm, b, 8, 1);
	u64 c = BASE + 0x200000;
	assert_int_equal(vmlab_mremap(e.mm, b + 4 * P, 4 * P, 4 * P,
				      MAYMOVE | FIXED, c), (s64)c);
	mapf(e.mm, c + 4 * P, 4 * P);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	t_done(&e);
}

static void test_pmd_table_move(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = mapf(e.mm, BASE + 2 * VMLAB_MiB, 4 * VMLAB_MiB);
	for (u64 i = 0; i < 1024; i += 37) {
		u64 v = i;
		assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_WRITE, a + i * P,
						   &v, 8), VMLAB_OK);
	}
	assert_int_equal(vmlab_madvise(e.mm, a + 5 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	u64 pt0 = vmlab_user_pgtable_pages(e.mm);
	u64 alloc0 = vmlab_counter(e.m, -1, VMLAB_C_pgtable_alloc);
	u64 dst = BASE + 64 * VMLAB_MiB;
	assert_int_equal(vmlab_mremap(e.mm, a, 4 * VMLAB_MiB, 4 * VMLAB_MiB,
				      MAYMOVE | FIXED, dst), (s64)dst);
	/* Both PTE tables moved whole (the PMD table is shared): no page
	 * table allocated, no PTE copied. */
	assert_int_equal(vmlab_counter(e.m, -1, VMLAB_C_pgtable_alloc), alloc0);
	assert_int_equal(vmlab_user_pgtable_pages(e.mm), pt0);
	for (u64 i = 0; i < 1024; i += 37)
		if (i != 5)
			assert_int_equal(rd(e.mm, 1, dst + i * P), i);
	assert_int_equal(sig(e.mm, dst + 5 * P), VMLAB_SIGSEGV);
	t_done(&e);
}

static void test_errors(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = mapf(e.mm, BASE, 4 * P);
	assert_int_equal(vmlab_mremap(e.mm, a, 4 * P, 8 * P, 8, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, a + 1, P, P, 0, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, a, P, 0, 0, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, a, P, P, FIXED, a + 8 * P),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, a, 2 * P, 2 * P, MAYMOVE | FIXED,
				      a + P), -VMLAB_EINVAL); /* overlap */
	assert_int_equal(vmlab_mremap(e.mm, a, 2 * P, 4 * P,
				      MAYMOVE | VMLAB_MREMAP_DONTUNMAP, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, a + 8 * P, P, 2 * P, MAYMOVE, 0),
			 -VMLAB_EFAULT);
	assert_int_equal(vmlab_mremap(e.mm, a, 5 * P, 8 * P, MAYMOVE, 0),
			 -VMLAB_EFAULT); /* across the VMA's end */
	assert_int_equal(vmlab_mremap(e.mm, a, 0, P, MAYMOVE, 0),
			 -VMLAB_EINVAL); /* no private duplicates */
	s64 io = vmlab_user_map_io(e.mm, 16, 1, RW);
	assert_true(io > 0);
	assert_int_equal(vmlab_mremap(e.mm, (u64)io, P, 2 * P, MAYMOVE, 0),
			 -VMLAB_EFAULT);
	t_done(&e);
}

static void test_mlock_expand_populates(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = mapf(e.mm, BASE, 2 * P);
	assert_int_equal(vmlab_mlock(e.mm, a, 2 * P), 0);
	assert_int_equal(vmlab_mremap(e.mm, a, 2 * P, 6 * P, 0, 0), (s64)a);
	struct vmlab_user_stats st;
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.locked_vm, 6);
	assert_int_equal(st.rss_anon, 6);
	t_done(&e);
}


static void test_duplicate_shared(void **state)
{
	(void)state;
	struct env e = t_env(2);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW,
			   VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS, NULL, 0);
	assert_true(a > 0);
	u64 v = 0x77;
	assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_WRITE, (u64)a + P, &v,
					   8), VMLAB_OK);
	/* old_len 0 on a shared mapping: a second view of the same pages. */
	s64 d = vmlab_mremap(e.mm, (u64)a, 0, 2 * P, MAYMOVE, 0);
	assert_true(d > 0 && d != a);
	assert_int_equal(rd(e.mm, 1, (u64)d + P), 0x77);
	v = 0x88;
	assert_int_equal(vmlab_user_access(e.mm, 1, VMLAB_WRITE, (u64)d, &v, 8),
			 VMLAB_OK);
	assert_int_equal(rd(e.mm, 0, (u64)a), 0x88);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	/* MAP_32BIT: bottom-up in [1 GiB, 2 GiB). */
	s64 lo = vmlab_mmap(e.mm, 0, P, RW, ANON | VMLAB_MAP_32BIT, NULL, 0);
	assert_int_equal(lo, 0x40000000);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shrink_and_expand_in_place),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_fixed_dontunmap_multi),
		cmocka_unit_test(test_unfaulted_move_merges),
		cmocka_unit_test(test_pmd_table_move),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_mlock_expand_populates),
		cmocka_unit_test(test_duplicate_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
