/* SPDX-License-Identifier: MIT */
/*
 * shmem THP (shmem_enabled): placement of shared mappings at 2 MiB, the
 * PMD-sized folio on a fault per mode (always, within_size, advise, never,
 * deny, force; NOHUGEPAGE; private mappings and misaligned offsets take
 * none), a second mapping of the same folio, the split on a hole punch,
 * truncate and partial munmap (the file PMD is zapped, the pages stay in
 * the cache), the counters and smaps ShmemPmdMapped.  The first sequence
 * is the one run on the host (Linux 6.18.44, shmem_enabled=always by
 * hand; the test leaves the host alone): Rss and ShmemPmdMapped 2048 kB,
 * thp_file_alloc +1, thp_file_mapped +1; a second mapping PMD-mapped too;
 * a 4 KiB hole punch gives Rss 0, thp_split_page +1, thp_split_pmd +2,
 * and a read then maps 64 kB by fault-around.
 */
#include <stdint.h>
#include <string.h>

#include "user_helpers.h"

#define M VMLAB_PMD_SIZE

static struct vmlab_thp_vmstat vs(struct env *e)
{
	struct vmlab_thp_vmstat s;
	vmlab_user_thp_vmstat(e->m, &s);
	return s;
}

static struct vmlab_vma_info info(struct env *e, u64 a)
{
	struct vmlab_vma_info in;
	assert_int_equal(vmlab_user_vma_at(e->mm, a, &in), 0);
	return in;
}

static struct vmlab_file *memfd(struct env *e, u64 size)
{
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create(e->m, "thp", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, size), 0);
	return f;
}

static u64 map_shared(struct env *e, struct vmlab_file *f, u64 len, u64 off)
{
	s64 a = vmlab_mmap(e->mm, 0, len, RW, VMLAB_MAP_SHARED, f, off);
	assert_true(a > 0);
	return (u64)a;
}

static void wr(struct env *e, u64 va)
{
	assert_int_equal(vmlab_user_write8(e->mm, 0, va, 1), VMLAB_OK);
}

static void rd(struct env *e, u64 va)
{
	u8 v;
	assert_int_equal(vmlab_user_read8(e->mm, 0, va, &v), VMLAB_OK);
}

static void test_host_sequence(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_get_shmem_thp(e.m), VMLAB_SHMEM_HUGE_NEVER);
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_ALWAYS),
			 0);
	struct vmlab_file *f = memfd(&e, 8 * M);
	u64 p = map_shared(&e, f, 8 * M, 0);
	u64 q = map_shared(&e, f, 8 * M, 0);
	/* shmem_get_unmapped_area() aligns both to 2 MiB. */
	assert_int_equal(p & (M - 1), 0);
	assert_int_equal(q & (M - 1), 0);
	wr(&e, q + 5);
	assert_int_equal(info(&e, q).rss_pages, 512);
	assert_int_equal(info(&e, q).shmem_pmd_pages, 512);
	assert_int_equal(info(&e, q).thp_pages, 0);
	assert_int_equal(vs(&e).thp_file_alloc, 1);
	assert_int_equal(vs(&e).thp_file_mapped, 1);
	rd(&e, p + 3 * P);
	assert_int_equal(info(&e, p).shmem_pmd_pages, 512);
	assert_int_equal(vs(&e).thp_file_alloc, 1);
	assert_int_equal(vmlab_file_cached_pages(f), 512);
	assert_int_equal(vmlab_file_punch_hole(f, 8 * P, P), 0);
	assert_int_equal(info(&e, q).rss_pages, 0);
	assert_int_equal(info(&e, q).shmem_pmd_pages, 0);
	assert_int_equal(info(&e, p).rss_pages, 0);
	assert_int_equal(vs(&e).thp_split_page, 1);
	assert_int_equal(vs(&e).thp_split_pmd, 2);
	assert_int_equal(vmlab_file_cached_pages(f), 511);
	rd(&e, q + 20 * P);
	assert_int_equal(info(&e, q).rss_pages, 16);
	assert_int_equal(info(&e, q).shmem_pmd_pages, 0);
	wr(&e, q + M + 100);
	assert_int_equal(info(&e, q).shmem_pmd_pages, 512);
	assert_int_equal(vs(&e).thp_file_alloc, 2);
	/* The data is the file's, seen through either mapping. */
	u8 v = 0;
	assert_int_equal(vmlab_user_read8(e.mm, 0, p + M + 100, &v), VMLAB_OK);
	assert_int_equal(v, 1);
	vmlab_file_put(f);
	t_done(&e);
}

static void test_modes(void **state)
{
	(void)state;
	struct env e = t_env(1);
	struct vmlab_file *f = memfd(&e, 3 * M);
	/* never (the default): placement not aligned for the file, no PMD. */
	u64 a = map_shared(&e, f, 3 * M, 0);
	wr(&e, a);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 0);
	assert_int_equal(vmlab_munmap(e.mm, a, 3 * M), 0);
	assert_int_equal(vmlab_file_punch_hole(f, 0, 3 * M), 0);
	/* within_size, i_size 3 MiB: the folio at 2 MiB would pass it. */
	assert_int_equal(vmlab_user_set_shmem_thp(e.m,
						  VMLAB_SHMEM_HUGE_WITHIN_SIZE), 0);
	assert_int_equal(vmlab_ftruncate(f, 3 * M / 2), 0);
	a = map_shared(&e, f, 2 * M, 0);
	assert_int_equal(a & (M - 1), 0);
	wr(&e, a + M + P);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 0);
	wr(&e, a);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 512);
	assert_int_equal(vmlab_munmap(e.mm, a, 2 * M), 0);
	assert_int_equal(vmlab_ftruncate(f, 3 * M), 0);
	assert_int_equal(vmlab_file_punch_hole(f, 0, 3 * M), 0);
	/* advise: MADV_HUGEPAGE only. */
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_ADVISE),
			 0);
	a = map_shared(&e, f, 2 * M, 0);
	wr(&e, a);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 0);
	assert_int_equal(vmlab_madvise(e.mm, a + M, M, VMLAB_MADV_HUGEPAGE), 0);
	wr(&e, a + M);
	assert_int_equal(info(&e, a + M).shmem_pmd_pages, 512);
	assert_int_equal(vmlab_munmap(e.mm, a, 2 * M), 0);
	assert_int_equal(vmlab_file_punch_hole(f, 0, 3 * M), 0);
	/* always with NOHUGEPAGE: none; force overrides it; deny: none. */
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_ALWAYS),
			 0);
	a = map_shared(&e, f, 2 * M, 0);
	assert_int_equal(vmlab_madvise(e.mm, a, 2 * M, VMLAB_MADV_NOHUGEPAGE),
			 0);
	wr(&e, a);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 0);
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_FORCE),
			 0);
	wr(&e, a + M);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 512);
	assert_int_equal(vmlab_munmap(e.mm, a, 2 * M), 0);
	assert_int_equal(vmlab_file_punch_hole(f, 0, 3 * M), 0);
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_DENY),
			 0);
	a = map_shared(&e, f, 2 * M, 0);
	wr(&e, a);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 0);
	/* Bad modes. */
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, 4), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, -3), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_shmem_thp(NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_get_shmem_thp(e.m), VMLAB_SHMEM_HUGE_DENY);
	vmlab_file_put(f);
	t_done(&e);
}

static void test_no_pmd_cases(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_ALWAYS),
			 0);
	struct vmlab_file *f = memfd(&e, 4 * M);
	/* A private mapping maps 4 KiB pages. */
	s64 a = vmlab_mmap(e.mm, 0, 2 * M, RW, VMLAB_MAP_PRIVATE, f, 0);
	assert_true(a > 0);
	rd(&e, (u64)a);
	assert_int_equal(info(&e, (u64)a).shmem_pmd_pages, 0);
	assert_int_equal(vs(&e).thp_file_alloc, 0);
	/* Placement puts an offset of one page at an address of one page
	 * past 2 MiB, so that the file's folios line up ... */
	u64 b = map_shared(&e, f, 3 * M, P);
	assert_int_equal(b & (M - 1), P);
	wr(&e, b + M - P);
	assert_int_equal(info(&e, b).shmem_pmd_pages, 512);
	assert_int_equal(vmlab_munmap(e.mm, b, 3 * M), 0);
	/* ... while MAP_FIXED at 2 MiB with that offset takes no PMD. */
	u64 c = (b + M - 1) & ~(M - 1);
	assert_int_equal(vmlab_mmap(e.mm, c, 2 * M, RW,
				    VMLAB_MAP_SHARED | VMLAB_MAP_FIXED, f, 3 * P),
			 (s64)c);
	wr(&e, c + 5 * P);
	assert_int_equal(info(&e, c).shmem_pmd_pages, 0);
	assert_int_equal(vs(&e).thp_file_alloc, 1);
	vmlab_file_put(f);
	t_done(&e);
}

static void test_unmap_and_truncate(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 free0 = vmlab_nr_free_pages(e.m);
	assert_int_equal(vmlab_user_set_shmem_thp(e.m, VMLAB_SHMEM_HUGE_ALWAYS),
			 0);
	struct vmlab_file *f = memfd(&e, 2 * M);
	u64 a = map_shared(&e, f, 2 * M, 0);
	wr(&e, a + 7);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 512);
	/* Another CPU reads through the 2 MiB translation. */
	u8 v = 0;
	assert_int_equal(vmlab_user_read8(e.mm, 1, a + 7, &v), VMLAB_OK);
	assert_int_equal(v, 1);
	/* A partial munmap zaps the file PMD; the cache keeps the folio. */
	assert_int_equal(vmlab_munmap(e.mm, a + M / 2, M / 2), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_int_equal(vs(&e).thp_split_page, 0);
	assert_int_equal(info(&e, a).rss_pages, 0);
	assert_int_equal(vmlab_file_cached_pages(f), 512);
	assert_int_equal(vmlab_user_read8(e.mm, 0, a + 7, &v), VMLAB_OK);
	assert_int_equal(v, 1);
	assert_int_equal(info(&e, a).shmem_pmd_pages, 0);
	/* Truncation to 1 MiB splits the folio and drops the rest. */
	assert_int_equal(vmlab_ftruncate(f, M / 2), 0);
	assert_int_equal(vs(&e).thp_split_page, 1);
	assert_int_equal(vmlab_file_cached_pages(f), 256);
	assert_int_equal(vmlab_munmap(e.mm, a, M / 2), 0);
	vmlab_file_put(f);
	vmlab_user_mm_destroy(e.mm);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	assert_true(vmlab_nr_free_pages(e.m) + 8 >= free0);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_sequence),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_no_pmd_cases),
		cmocka_unit_test(test_unmap_and_truncate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
