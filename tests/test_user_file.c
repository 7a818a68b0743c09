/* SPDX-License-Identifier: MIT */
/*
 * memfd/shmem files and reclaim: shared and private file mappings,
 * SIGBUS past the end of the file, ftruncate (private COW copies go too),
 * MADV_REMOVE / hole punch (COW copies stay), guard markers surviving
 * truncation and hole punch, MADV_PAGEOUT to swap and back, MADV_FREE
 * pages dropped clean by reclaim, MADV_COLD, and the maps listing.
 */
#include <stdlib.h>

#include "helpers.h"

#define P 4096ULL
#define RW (VMLAB_PROT_READ | VMLAB_PROT_WRITE)
#define SH VMLAB_MAP_SHARED
#define PR VMLAB_MAP_PRIVATE
#define ANON (VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS)

struct env {
	struct vmlab_machine *m;
	struct vmlab_user_mm *mm;
	struct vmlab_file *f;
};

static struct env t_env(u64 size)
{
	struct env e;
	e.m = t_machine(2, 64 * VMLAB_MiB, true);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	assert_int_equal(vmlab_memfd_create(e.m, "test", &e.f), 0);
	assert_int_equal(vmlab_ftruncate(e.f, size), 0);
	return e;
}

static void t_done(struct env *e)
{
	assert_int_equal(vmlab_nr_reports(e->m), 0);
	vmlab_user_mm_destroy(e->mm);
	vmlab_file_put(e->f);
	vmlab_machine_destroy(e->m);
}

static u64 fmap(struct env *e, u64 len, int flags, u64 off)
{
	s64 a = vmlab_mmap(e->mm, 0, len, RW, flags, e->f, off);
	assert_true(a > 0);
	return (u64)a;
}

static u64 rd(struct vmlab_user_mm *mm, u64 va)
{
	u64 v = 0;
	assert_int_equal(vmlab_user_access(mm, 1, VMLAB_READ, va, &v, 8),
			 VMLAB_OK);
	return v;
}

static void wr(struct vmlab_user_mm *mm, u64 va, u64 v)
{
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_WRITE, va, &v, 8),
			 VMLAB_OK);
}

static u64 fget64(struct vmlab_file *f, u64 off)
{
	u64 v = 0;
	assert_int_equal(vmlab_file_pread(f, &v, 8, off), 8);
	return v;
}

static void test_shared_and_private(void **state)
{
	(void)state;
	struct env e = t_env(8 * P);
	u64 v = 0x5151;
	assert_int_equal(vmlab_file_pwrite(e.f, &v, 8, 2 * P), 8);
	u64 s = fmap(&e, 8 * P, SH, 0);
	u64 p = fmap(&e, 8 * P, PR, 0);
	assert_int_equal(rd(e.mm, s + 2 * P), 0x5151);
	assert_int_equal(rd(e.mm, p + 2 * P), 0x5151);
	/* Shared writes reach the file and every mapping of it ... */
	wr(e.mm, s + 3 * P, 77);
	assert_int_equal(fget64(e.f, 3 * P), 77);
	assert_int_equal(rd(e.mm, p + 3 * P), 77);
	/* ... private writes reach nobody else. */
	wr(e.mm, p + 2 * P, 99);
	assert_int_equal(rd(e.mm, p + 2 * P), 99);
	assert_int_equal(rd(e.mm, s + 2 * P), 0x5151);
	assert_int_equal(fget64(e.f, 2 * P), 0x5151);
	/* A second process sees the file too. */
	struct vmlab_user_mm *o;
	assert_int_equal(vmlab_user_mm_create(e.m, &o), 0);
	s64 os = vmlab_mmap(o, 0, 4 * P, RW, SH, e.f, 0);
	assert_true(os > 0);
	assert_int_equal(rd(o, (u64)os + 3 * P), 77);
	vmlab_user_mm_destroy(o);
	struct vmlab_user_stats st;
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.rss_anon, 1);
	assert_int_equal(st.rss_shmem, 3);
	/* Adjacent mappings of consecutive offsets merge. */
	u64 a = fmap(&e, 2 * P, SH, 4 * P);
	assert_int_equal(vmlab_mmap(e.mm, a - 2 * P, 2 * P, RW,
				    SH | VMLAB_MAP_FIXED, e.f, 2 * P),
			 (s64)(a - 2 * P));
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e.mm, a, &vi), 0);
	assert_int_equal(vi.start, a - 2 * P);
	assert_int_equal(vi.pgoff, 2);
	assert_string_equal(vi.name, "/memfd:test");
	/* File handles: a mapping keeps the file alive. */
	t_done(&e);
}

static void test_eof_and_truncate(void **state)
{
	(void)state;
	struct env e = t_env(4 * P + 100);
	u64 s = fmap(&e, 8 * P, SH, 0);
	u64 p = fmap(&e, 8 * P, PR, 0);
	struct vmlab_siginfo si;
	/* The page holding EOF is accessible, the next is not. */
	wr(e.mm, s + 4 * P + 200, 1);
	assert_int_equal(vmlab_user_access_si(e.mm, 0, VMLAB_READ, s + 5 * P,
					      NULL, 1, &si), VMLAB_SIGBUS);
	assert_int_equal(si.code, VMLAB_BUS_ADRERR);
	/* Bytes past EOF in the last page are zero to the file. */
	assert_int_equal(vmlab_file_size(e.f), 4 * P + 100);
	/* Private COW copy and a guard marker in the range truncated. */
	wr(e.mm, p + 3 * P, 33);
	wr(e.mm, s + 3 * P, 44);
	assert_int_equal(vmlab_madvise(e.mm, s + 2 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_ftruncate(e.f, 2 * P), 0);
	/* Everything past the end is gone, COW copies included ... */
	assert_int_equal(vmlab_user_access(e.mm, 1, VMLAB_READ, p + 3 * P,
					   NULL, 1), VMLAB_SIGBUS);
	assert_int_equal(vmlab_user_access(e.mm, 1, VMLAB_READ, s + 3 * P,
					   NULL, 1), VMLAB_SIGBUS);
	/* ... but the marker stayed: after growing back, it still fires. */
	assert_int_equal(vmlab_ftruncate(e.f, 8 * P), 0);
	assert_int_equal(vmlab_user_access(e.mm, 1, VMLAB_READ, s + 2 * P,
					   NULL, 1), VMLAB_SIGSEGV);
	assert_int_equal(rd(e.mm, s + 3 * P), 0);
	assert_int_equal(rd(e.mm, p + 3 * P), 0);
	assert_int_equal(vmlab_ftruncate(e.f, 1ULL << 41), -VMLAB_EFBIG);
	t_done(&e);
}

static void test_remove_hole_punch(void **state)
{
	(void)state;
	struct env e = t_env(8 * P);
	u64 s = fmap(&e, 8 * P, SH, 0);
	u64 p = fmap(&e, 8 * P, PR, 0);
	for (u64 i = 0; i < 8; i++)
		wr(e.mm, s + i * P, 10 + i);
	wr(e.mm, p + 5 * P, 555); /* private copy */
	assert_int_equal(vmlab_madvise(e.mm, s + 4 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_file_cached_pages(e.f), 8);
	assert_int_equal(vmlab_madvise(e.mm, s + 3 * P, 3 * P,
				       VMLAB_MADV_REMOVE), 0);
	assert_int_equal(vmlab_file_cached_pages(e.f), 5);
	assert_int_equal(rd(e.mm, s + 3 * P), 0);
	assert_int_equal(rd(e.mm, s + 2 * P), 12);
	assert_int_equal(fget64(e.f, 5 * P), 0);
	/* The COW copy and the marker survive a hole punch. */
	assert_int_equal(rd(e.mm, p + 5 * P), 555);
	assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_READ, s + 4 * P,
					   NULL, 1), VMLAB_SIGSEGV);
	/* REMOVE needs a shared, writable-capable mapping. */
	assert_int_equal(vmlab_madvise(e.mm, p, P, VMLAB_MADV_REMOVE),
			 -VMLAB_EACCES);
	s64 an = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)an, P, VMLAB_MADV_REMOVE),
			 -VMLAB_EINVAL);
	/* Partial pages are zeroed, not dropped. */
	u64 ones = ~0ULL;
	for (u64 o = 0; o < P; o += 8)
		vmlab_file_pwrite(e.f, &ones, 8, 6 * P + o);
	assert_int_equal(vmlab_file_punch_hole(e.f, 6 * P + 8, 16), 0);
	assert_int_equal(fget64(e.f, 6 * P), ~0ULL);
	assert_int_equal(fget64(e.f, 6 * P + 8), 0);
	assert_int_equal(fget64(e.f, 6 * P + 24), ~0ULL);
	t_done(&e);
}

static void test_anon_pageout_cold_free(void **state)
{
	(void)state;
	struct env e = t_env(P);
	s64 r = vmlab_mmap(e.mm, 0, 8 * P, RW, ANON, NULL, 0);
	u64 a = (u64)r;
	for (u64 i = 0; i < 8; i++)
		wr(e.mm, a + i * P, 0x900 + i);
	rd(e.mm, a); /* CPU 1 caches a */
	/* COLD clears the accessed bits (with a flush) and keeps data. */
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, VMLAB_MADV_COLD), 0);
	assert_int_equal(rd(e.mm, a + P), 0x901);
	/* FREE'd pages: clean ones are dropped by reclaim, re-dirtied ones
	 * are kept. */
	assert_int_equal(vmlab_madvise(e.mm, a, 4 * P, VMLAB_MADV_FREE), 0);
	wr(e.mm, a + 1 * P, 0x1901);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, VMLAB_MADV_PAGEOUT), 0);
	assert_int_equal(vmlab_swap_used(e.m), 5); /* page 1 and 4..7 */
	struct vmlab_user_stats st;
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.rss_anon, 0);
	assert_int_equal(st.swap_ents, 5);
	u64 pm;
	vmlab_pagemap_read(e.mm, a + 4 * P, &pm, 1);
	assert_true(pm & VMLAB_PM_SWAP);
	assert_int_equal(rd(e.mm, a), 0);          /* dropped clean */
	assert_int_equal(rd(e.mm, a + P), 0x1901); /* swapped, back */
	assert_int_equal(rd(e.mm, a + 6 * P), 0x906);
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.fault_swapin, 2);
	/* DONTNEED frees the swap slots left. */
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vmlab_swap_used(e.m), 0);
	/* Locked memory is not paged out. */
	assert_int_equal(vmlab_mlock(e.mm, a, P), 0);
	assert_int_equal(vmlab_madvise(e.mm, a, P, VMLAB_MADV_PAGEOUT),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, a, P, VMLAB_MADV_DONTNEED),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, a, P, VMLAB_MADV_DONTNEED_LOCKED),
			 0);
	t_done(&e);
}

static void test_shmem_pageout(void **state)
{
	(void)state;
	struct env e = t_env(4 * P);
	u64 s = fmap(&e, 4 * P, SH, 0);
	for (u64 i = 0; i < 4; i++)
		wr(e.mm, s + i * P, 0x700 + i);
	assert_int_equal(vmlab_madvise(e.mm, s + P, 2 * P, VMLAB_MADV_GUARD_INSTALL),
			 0);
	assert_int_equal(vmlab_madvise(e.mm, s, 4 * P, VMLAB_MADV_PAGEOUT), 0);
	/* Pages 0 and 3 were mapped once: out to swap.  The guarded ones
	 * were unmapped by the install already, and stay cached. */
	assert_int_equal(vmlab_file_swapped_pages(e.f), 2);
	assert_int_equal(vmlab_file_cached_pages(e.f), 2);
	assert_int_equal(fget64(e.f, 3 * P), 0x703); /* read from swap */
	assert_int_equal(rd(e.mm, s + 3 * P), 0x703);
	assert_int_equal(vmlab_file_swapped_pages(e.f), 1);
	/* Truncation frees swap slots too. */
	assert_int_equal(vmlab_ftruncate(e.f, 0), 0);
	assert_int_equal(vmlab_swap_used(e.m), 0);
	t_done(&e);
}

static void test_maps_listing(void **state)
{
	(void)state;
	struct env e = t_env(4 * P);
	fmap(&e, 4 * P, SH, 0);
	vmlab_mmap(e.mm, 0, 2 * P, VMLAB_PROT_READ, ANON, NULL, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	vmlab_user_print_maps(e.mm, f);
	fclose(f);
	assert_non_null(strstr(buf, "rw-s 00000000 00:01"));
	assert_non_null(strstr(buf, "/memfd:test (deleted)"));
	assert_non_null(strstr(buf, "r--p 00000000 00:00 0"));
	free(buf);
	f = open_memstream(&buf, &len);
	vmlab_user_print_smaps(e.mm, f);
	fclose(f);
	assert_non_null(strstr(buf, "VmFlags: rd wr sh mr mw me ms"));
	free(buf);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_and_private),
		cmocka_unit_test(test_eof_and_truncate),
		cmocka_unit_test(test_remove_hole_punch),
		cmocka_unit_test(test_anon_pageout_cold_free),
		cmocka_unit_test(test_shmem_pageout),
		cmocka_unit_test(test_maps_listing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
