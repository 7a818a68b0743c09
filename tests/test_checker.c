/* SPDX-License-Identifier: MIT */
/*
 * The checker: each check fires on a planted bug and stays silent on the
 * correct sequence.
 */
#include "helpers.h"

#define N(m, c) vmlab_nr_reports_of(m, VMLAB_CHECK_##c)

static void dm_protect(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t set,
		       vmlab_pgprot_t clear, bool flush)
{
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	assert_int_equal(vmlab_protect_range(m, &tlb, vmlab_page_address(m, pfn),
					     4096, set, clear), 1);
	if (flush)
		vmlab_tlb_finish_mmu(m, &tlb);
}

static void test_stale_access_after_unflushed_unmap(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_write64(m, 0, KVA, 1);
	t_read64(m, 1, KVA);
	vmlab_checker_set_op(m, 0, "vunmap");
	t_unmap(m, 0, KVA, 4096, false); /* the bug: no flush */
	assert_int_equal(vmlab_nr_reports(m), 0);
	t_read64(m, 1, KVA);
	assert_int_equal(N(m, STALE_ACCESS), 1);
	const struct vmlab_report *r = vmlab_get_report(m, 0);
	assert_int_equal(r->cpu, 1);
	assert_int_equal(r->va, KVA);
	assert_int_equal(r->pfn, pfn);
	assert_non_null(strstr(r->text, "BUG: vmlab: stale-access on CPU 1"));
	assert_non_null(strstr(r->text, "vunmap"));
	assert_non_null(strstr(r->text, "Missing: no flush"));
	/* Reported once per stale entry, not once per access. */
	t_read64(m, 1, KVA);
	assert_int_equal(vmlab_nr_reports(m), 1);
	vmlab_machine_destroy(m);
}

static void test_silent_when_flushed(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	t_read64(m, 2, KVA);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	vmlab_unmap_range(m, &tlb, KVA, 4096, false);
	vmlab_tlb_remove_page(m, &tlb, pfn, 0);
	vmlab_tlb_finish_mmu(m, &tlb);
	u64 v;
	assert_int_equal(vmlab_read(m, 1, KVA, &v, 8, NULL), -VMLAB_EFAULT);
	u64 again = t_page(m);
	assert_int_equal(again, pfn); /* reused, harmlessly */
	t_write64(m, 0, vmlab_page_address(m, again), 9);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

static void test_restrictive_stale_entry_is_fine(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	t_map(m, KVA, VMLAB_PAGE_KERNEL_RO);
	t_read64(m, 1, KVA);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	vmlab_protect_range(m, &tlb, KVA, 4096, VMLAB_PAGE_RW, 0);
	/* Upgrade without flush: a spurious fault on x86, not a bug. */
	t_write64(m, 1, KVA, 3);
	t_read64(m, 1, KVA);
	assert_int_equal(vmlab_nr_reports(m), 0);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_spurious_fault), 1);
	vmlab_machine_destroy(m);
}

static void test_freed_frame_still_cached(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	t_unmap(m, 0, KVA, 4096, false);
	vmlab_free_pages(m, 0, pfn, 0); /* before any flush */
	assert_int_equal(N(m, FREED_FRAME_REACHABLE), 1);
	assert_int_equal(vmlab_get_report(m, 0)->pfn, pfn);
	vmlab_machine_destroy(m);
}

static void test_freed_frame_still_mapped(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	vmlab_free_pages(m, 0, pfn, 0); /* the PTE still points to it */
	assert_int_equal(N(m, FREED_FRAME_REACHABLE), 1);
	assert_non_null(strstr(vmlab_get_report(m, 0)->text,
			       "a page table still maps it"));
	vmlab_machine_destroy(m);
}

static void test_page_table_freed_before_flush(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_mm *k = vmlab_init_mm(m);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA); /* CPU 1's PDE cache now points at the table */
	vmlab_ptep_t pmd;
	assert_int_equal(vmlab_lookup_entry(m, k, KVA, VMLAB_LVL_PMD, &pmd), 0);
	struct vmlab_pte_info in;
	vmlab_pte_decode(m, vmlab_get_entry(m, pmd), VMLAB_LVL_PMD, &in);
	assert_int_equal(in.kind, VMLAB_PTE_TABLE);
	/* The bug: unlink and free the PTE table with no flush. */
	vmlab_set_entry(m, k, KVA, VMLAB_LVL_PMD, pmd, 0);
	vmlab_pgtable_free(m, in.pfn);
	assert_int_equal(N(m, FREED_FRAME_REACHABLE), 1);
	assert_non_null(strstr(vmlab_get_report(m, 0)->text,
			       "paging-structure cache"));
	vmlab_machine_destroy(m);
}

static void test_page_table_freed_via_gather_is_fine(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	vmlab_unmap_range(m, &tlb, KVA, VMLAB_GiB, true);
	vmlab_tlb_remove_page(m, &tlb, pfn, 0);
	vmlab_tlb_finish_mmu(m, &tlb);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

static void test_wx_alias_direct_map(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	/* RW direct-map alias + an executable mapping of the same frame. */
	t_map(m, KVA, VMLAB_PAGE_KERNEL_ROX);
	assert_int_equal(N(m, WX_ALIAS), 1);
	assert_non_null(strstr(vmlab_get_report(m, 0)->text, "wx-alias"));
	vmlab_machine_destroy(m);
}

static void test_wx_silent_when_alias_made_ro_first(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_page(m);
	t_read64(m, 1, vmlab_page_address(m, pfn));
	/* Split the 1G direct-map leaf so one page can change. */
	dm_protect(m, pfn, 0, VMLAB_PAGE_RW, true);
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), KVA, pfn << 12,
					 4096, VMLAB_PAGE_KERNEL_ROX, 0), 0);
	u8 b;
	assert_int_equal(vmlab_fetch(m, 1, KVA, &b, 1, NULL), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

static void test_wx_through_cached_writable_alias(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_page(m);
	t_write64(m, 1, vmlab_page_address(m, pfn), 1); /* CPU 1 caches RW */
	dm_protect(m, pfn, 0, VMLAB_PAGE_RW, false); /* no flush: the bug */
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), KVA, pfn << 12,
					 4096, VMLAB_PAGE_KERNEL_ROX, 0), 0);
	assert_int_equal(N(m, WX_ALIAS), 1);
	vmlab_machine_destroy(m);
}

/* The TLB entry a walk filled is only counted when a store changes its
 * range (the checker's lazy counting): the change must be judged for W+X
 * with that entry counted, or the writable entry left by a missing flush
 * goes unseen when it is the frame's only writable translation. */
static void test_wx_through_cached_writable_entry(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	dm_protect(m, pfn, 0, VMLAB_PAGE_RW, true); /* direct map RO first */
	t_write64(m, 1, KVA, 1); /* CPU 1 caches KVA writable */
	assert_int_equal(N(m, WX_ALIAS), 0);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	assert_int_equal(vmlab_protect_range(m, &tlb, KVA, 4096, 0,
					     VMLAB_PAGE_RW | VMLAB_PAGE_NX), 1);
	/* RO+X in the table, still RW in CPU 1's TLB: no flush yet. */
	assert_int_equal(N(m, WX_ALIAS), 1);
	assert_int_equal(vmlab_get_report(m, 0)->pfn, pfn);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_machine_destroy(m);
}

static void test_lazy_window(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	vmlab_checker_lazy_add(m, KVA, KVA + 2 * 4096);
	t_unmap(m, 0, KVA, 4096, false);
	vmlab_free_pages(m, 0, pfn, 0);
	t_read64(m, 1, KVA); /* stale, but the frame is not reused yet */
	assert_int_equal(vmlab_nr_reports(m), 0);
	assert_int_equal(t_page(m), pfn);
	t_read64(m, 1, KVA); /* now it reaches another owner's frame */
	assert_int_equal(N(m, STALE_ACCESS), 1);
	vmlab_checker_lazy_del(m, KVA, KVA + 2 * 4096);
	vmlab_machine_destroy(m);
}

static void test_checker_off_is_hardware(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_write64(m, 0, KVA, 5);
	t_read64(m, 1, KVA);
	t_unmap(m, 0, KVA, 4096, false);
	assert_int_equal(t_read64(m, 1, KVA), 5); /* silently stale */
	assert_int_equal(vmlab_nr_reports(m), 0);
	assert_false(vmlab_checker_enabled(m));
	vmlab_machine_destroy(m);
}

static void test_enable_at_runtime_rebuilds(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	t_unmap(m, 0, KVA, 4096, false);
	vmlab_checker_enable(m, true);
	t_read64(m, 1, KVA);
	assert_int_equal(N(m, STALE_ACCESS), 1);
	vmlab_checker_enable(m, false);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

static void test_flood_does_not_hide_findings(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 256 * VMLAB_MiB, true);
	/* A 2 MiB W+X leaf is one finding, not 512. */
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m),
					 KVA + VMLAB_GiB, 64 * VMLAB_MiB,
					 VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL_EXEC,
					 VMLAB_MAP_HUGE_PMD), 0);
	assert_int_equal(N(m, WX_ALIAS), 1);
	/* Past the cap on kept reports, findings are still counted. */
	for (u64 i = 0; i < 4200; i++)
		assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m),
						 KVA + 2 * VMLAB_GiB + i * 4096,
						 (1000 + i) << 12, 4096,
						 VMLAB_PAGE_KERNEL_ROX, 0), 0);
	assert_int_equal(N(m, WX_ALIAS), 4201);
	assert_int_equal(vmlab_nr_reports(m), 4096);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	t_unmap(m, 0, KVA, 4096, false);
	t_read64(m, 1, KVA);
	assert_int_equal(N(m, STALE_ACCESS), 1);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_access_after_unflushed_unmap),
		cmocka_unit_test(test_silent_when_flushed),
		cmocka_unit_test(test_restrictive_stale_entry_is_fine),
		cmocka_unit_test(test_freed_frame_still_cached),
		cmocka_unit_test(test_freed_frame_still_mapped),
		cmocka_unit_test(test_page_table_freed_before_flush),
		cmocka_unit_test(test_page_table_freed_via_gather_is_fine),
		cmocka_unit_test(test_wx_alias_direct_map),
		cmocka_unit_test(test_wx_silent_when_alias_made_ro_first),
		cmocka_unit_test(test_wx_through_cached_writable_alias),
		cmocka_unit_test(test_wx_through_cached_writable_entry),
		cmocka_unit_test(test_lazy_window),
		cmocka_unit_test(test_checker_off_is_hardware),
		cmocka_unit_test(test_enable_at_runtime_rebuilds),
		cmocka_unit_test(test_flood_does_not_hide_findings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
