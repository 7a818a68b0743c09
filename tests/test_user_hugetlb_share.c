/* SPDX-License-Identifier: MIT */
/*
 * hugetlb PMD sharing (mm/hugetlb.c huge_pmd_share / huge_pmd_unshare,
 * Linux 6.18; CONFIG_HUGETLB_PMD_PAGE_TABLE_SHARING on x86-64 and arm64
 * 4K): MAP_SHARED hugetlb mappings of one file that cover a whole
 * 1 GiB-aligned PUD range share one PMD table page between mms (fork, or
 * a fault finding the other mm's table), refcounted; munmap, mprotect and
 * exit unshare (this mm's PUD entry cleared, the reference dropped) and
 * flush this mm's CPUs for the PUD range, so the checker stays silent
 * while the other mm frees the pages.  A mapping that is not PUD aligned
 * or private never shares.
 */
#include "user_helpers.h"

#define M VMLAB_PMD_SIZE
#define G VMLAB_PUD_SIZE
#define SHARED_HUGE                                                          \
	(VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS | VMLAB_MAP_HUGETLB |         \
	 VMLAB_MAP_NORESERVE | VMLAB_MAP_FIXED)

static int rd(struct vmlab_user_mm *mm, int cpu, u64 va, u8 *v)
{
	*v = 0xee;
	return vmlab_user_read8(mm, cpu, va, v);
}

static u8 rd_ok(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u8 v;
	assert_int_equal(rd(mm, cpu, va, &v), VMLAB_OK);
	return v;
}

static void wr(struct vmlab_user_mm *mm, int cpu, u64 va, u8 v)
{
	assert_int_equal(vmlab_user_write8(mm, cpu, va, v), VMLAB_OK);
}

/* The PMD table mm's PUD entry for va links, or 0. */
static u64 pmd_table(struct env *e, struct vmlab_user_mm *mm, u64 va)
{
	vmlab_ptep_t p;
	if (vmlab_lookup_entry(e->m, vmlab_user_hw_mm(mm), va, VMLAB_LVL_PUD,
			       &p))
		return 0;
	struct vmlab_pte_info in;
	vmlab_pte_decode(e->m, vmlab_get_entry(e->m, p), VMLAB_LVL_PUD, &in);
	return in.kind == VMLAB_PTE_TABLE ? in.pfn : 0;
}

static int table_refs(struct env *e, u64 pfn)
{
	struct vmlab_page *pg = vmlab_pfn_to_page(e->m, pfn);
	assert_non_null(pg);
	assert_true(pg->flags & VMLAB_PG_TABLE);
	return (int)pg->refcount;
}

static struct vmlab_user_stats stats(struct vmlab_user_mm *mm)
{
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	return st;
}

/* 1 GiB of a shared hugetlb file at addr (a neighbour at 3 GiB keeps the
 * PUD table, as the rest of a process would). */
static void map_shared(struct env *e, u64 addr, u64 len)
{
	assert_int_equal(vmlab_user_set_nr_hugepages(e->m, 4), 0);
	assert_int_equal(vmlab_mmap(e->mm, addr, len, RW, SHARED_HUGE, NULL, 0),
			 (s64)addr);
	assert_int_equal(vmlab_mmap(e->mm, 3 * G, P, RW,
				    ANON | VMLAB_MAP_FIXED, NULL, 0),
			 (s64)(3 * G));
}

static void test_fork_shares(void **state)
{
	(void)state;
	struct env e = t_env(2);
	map_shared(&e, G, G);
	wr(e.mm, 0, G, 7);
	u64 t = pmd_table(&e, e.mm, G);
	assert_true(t && table_refs(&e, t) == 1);
	u64 pgt = vmlab_user_pgtable_pages(e.mm);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	/* One PMD table frame, linked by both PUD entries. */
	assert_int_equal(pmd_table(&e, c, G), t);
	assert_int_equal(table_refs(&e, t), 2);
	assert_int_equal(stats(c).pmd_share, 1);
	assert_int_equal(vmlab_user_pgtable_pages(c), pgt);
	/* Entries of the table are both mms': the child's fault on a second
	 * huge page maps it for the parent too. */
	assert_int_equal(rd_ok(c, 1, G), 7);
	wr(c, 1, G + M, 8);
	u64 faults = stats(e.mm).faults;
	assert_int_equal(rd_ok(e.mm, 0, G + M), 8);
	assert_int_equal(stats(e.mm).faults, faults);
	/* munmap unshares: the child's PUD entry goes, the table stays the
	 * parent's, and CPU 1 (the child's) no longer reaches the pages. */
	assert_int_equal(vmlab_munmap(c, G, G), 0);
	assert_int_equal(stats(c).pmd_unshare, 1);
	assert_int_equal(pmd_table(&e, c, G), 0);
	assert_int_equal(pmd_table(&e, e.mm, G), t);
	assert_int_equal(table_refs(&e, t), 1);
	u8 v;
	assert_int_equal(rd(c, 1, G, &v), VMLAB_SIGSEGV);
	assert_int_equal(rd_ok(e.mm, 0, G + M), 8);
	/* The parent's hole punch frees the page; the pool shrinks: no CPU
	 * may still translate to it (the checker). */
	assert_int_equal(vmlab_madvise(e.mm, G, M, VMLAB_MADV_REMOVE), 0);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 0), 0);
	assert_int_equal(rd(c, 1, G, &v), VMLAB_SIGSEGV);
	vmlab_user_mm_destroy(c);
	t_done(&e);
}

static void test_fault_shares(void **state)
{
	(void)state;
	struct env e = t_env(2);
	map_shared(&e, G, G);
	struct vmlab_user_mm *c;
	/* Nothing mapped at fork: the fault finds the table (the i_mmap
	 * walk of huge_pmd_share). */
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_int_equal(pmd_table(&e, c, G), 0);
	wr(e.mm, 0, G + 3 * M, 1);
	assert_int_equal(rd_ok(c, 1, G + 3 * M), 1);
	u64 t = pmd_table(&e, e.mm, G);
	assert_true(t && pmd_table(&e, c, G) == t);
	assert_int_equal(table_refs(&e, t), 2);
	/* exit unshares too; the parent's table survives. */
	vmlab_user_mm_destroy(c);
	assert_int_equal(table_refs(&e, t), 1);
	assert_int_equal(rd_ok(e.mm, 0, G + 3 * M), 1);
	/* ... and the last user frees it. */
	assert_int_equal(vmlab_munmap(e.mm, G, G), 0);
	assert_int_equal(pmd_table(&e, e.mm, G), 0);
	t_done(&e);
}

static void test_mprotect_unshares(void **state)
{
	(void)state;
	struct env e = t_env(2);
	map_shared(&e, G, G);
	wr(e.mm, 0, G, 1);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	u64 t = pmd_table(&e, c, G);
	assert_true(t && table_refs(&e, t) == 2);
	wr(c, 1, G, 2); /* CPU 1 caches a writable entry */
	/* The child's mprotect must not change the parent's entries: it
	 * unlinks the table and flushes the PUD range. */
	assert_int_equal(vmlab_mprotect(c, G, G, VMLAB_PROT_READ), 0);
	assert_int_equal(stats(c).pmd_unshare, 1);
	assert_int_equal(table_refs(&e, t), 1);
	assert_int_equal(vmlab_user_write8(c, 1, G, 3), VMLAB_SIGSEGV);
	wr(e.mm, 0, G, 4);
	/* The read refault gets a table of its own (the flags differ). */
	assert_int_equal(rd_ok(c, 1, G), 4);
	u64 ct = pmd_table(&e, c, G);
	assert_true(ct && ct != t && table_refs(&e, ct) == 1);
	vmlab_user_mm_destroy(c);
	t_done(&e);
}

static void test_no_share(void **state)
{
	(void)state;
	struct env e = t_env(2);
	/* Not covering a whole PUD range: 1 GiB starting 2 MiB in. */
	map_shared(&e, G + M, G);
	wr(e.mm, 0, G + M, 1);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	u64 t = pmd_table(&e, e.mm, G + M), ct = pmd_table(&e, c, G + M);
	assert_true(t && ct && t != ct);
	assert_int_equal(table_refs(&e, t), 1);
	assert_int_equal(stats(c).pmd_share, 0);
	assert_int_equal(rd_ok(c, 1, G + M), 1); /* copied at fork */
	vmlab_user_mm_destroy(c);
	/* Private mappings never share. */
	assert_int_equal(vmlab_mmap(e.mm, 4 * G, G, RW,
				    ANON | VMLAB_MAP_HUGETLB |
					    VMLAB_MAP_NORESERVE | VMLAB_MAP_FIXED,
				    NULL, 0),
			 (s64)(4 * G));
	wr(e.mm, 0, 4 * G, 1);
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_true(pmd_table(&e, c, 4 * G) != pmd_table(&e, e.mm, 4 * G));
	vmlab_user_mm_destroy(c);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_shares),
		cmocka_unit_test(test_fault_shares),
		cmocka_unit_test(test_mprotect_unshares),
		cmocka_unit_test(test_no_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
