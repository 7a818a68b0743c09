/* SPDX-License-Identifier: MIT */
/* Range primitives: map, unmap, protect, split, and the mmu_gather. */
#include "helpers.h"

#define C(m, name) vmlab_counter(m, -1, VMLAB_C_##name)

static int leaf_level(struct vmlab_machine *m, u64 va)
{
	int level = -1;
	u64 pa;
	if (vmlab_translate(m, vmlab_init_mm(m), va, &pa, NULL, &level))
		return -1;
	return level;
}

static void test_map_uses_large_leaves_when_aligned(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 2 * VMLAB_GiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	/* 4 MiB + 8 KiB at a 2 MiB-aligned va/pa: two 2M leaves + 2 PTEs. */
	u64 va = KVA + VMLAB_GiB, pa = VMLAB_GiB;
	assert_int_equal(vmlab_map_range(m, k, va, pa, 4 * VMLAB_MiB + 8192,
					 VMLAB_PAGE_KERNEL, VMLAB_MAP_HUGE_PMD),
			 0);
	assert_int_equal(leaf_level(m, va), VMLAB_LVL_PMD);
	assert_int_equal(leaf_level(m, va + 2 * VMLAB_MiB), VMLAB_LVL_PMD);
	assert_int_equal(leaf_level(m, va + 4 * VMLAB_MiB + 4096), VMLAB_LVL_PTE);
	assert_int_equal(leaf_level(m, va + 4 * VMLAB_MiB + 8192), -1);
	u64 got;
	assert_int_equal(vmlab_translate(m, k, va + 0x123456, &got, NULL, NULL), 0);
	assert_int_equal(got, pa + 0x123456);
	/* Without the flag, 4 KiB leaves only. */
	assert_int_equal(vmlab_map_range(m, k, KVA, pa, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL, 0), 0);
	assert_int_equal(leaf_level(m, KVA), VMLAB_LVL_PTE);
	/* Overlap is refused. */
	assert_int_equal(vmlab_map_range(m, k, KVA + 4096, pa, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EEXIST);
	assert_int_equal(vmlab_map_range(m, k, KVA + 4096, pa, 4096,
					 VMLAB_PAGE_KERNEL, VMLAB_MAP_REPLACE), 0);
	vmlab_machine_destroy(m);
}

/* A fresh gather of init_mm (big: the batch array), for one call. */
static struct vmlab_mmu_gather *fresh_gather(struct vmlab_machine *m)
{
	static struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	return &tlb;
}

/*
 * vmlab_map_pages() maps a page array as runs of leaves and says where
 * they went; vmlab_unmap_range_noflush() clears them in that table while
 * it is valid (the gather untouched) and takes the general path, which
 * gathers, once it is stale or an entry is not a plain present leaf.
 */
static void test_map_pages_run(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 2 * VMLAB_GiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	const u64 va = KVA + 2 * VMLAB_GiB, pfns[] = {100, 101, 300}, one = 400;
	struct vmlab_pte_run run = {0};
	u64 pa;

	/* No table there yet: walked and built, then remembered. */
	assert_int_equal(vmlab_map_pages(m, k, va, pfns, 3, VMLAB_PAGE_KERNEL,
					 &run), 0);
	assert_non_null(run.host);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vmlab_translate(m, k, va + i * 4096, &pa, NULL,
						 NULL), 0);
		assert_int_equal(pa, pfns[i] << VMLAB_PAGE_SHIFT);
	}
	/* The next page through the run; an occupied one is refused. */
	assert_int_equal(vmlab_map_pages(m, k, va + 3 * 4096, &one, 1,
					 VMLAB_PAGE_KERNEL, &run), 0);
	assert_int_equal(leaf_level(m, va + 3 * 4096), VMLAB_LVL_PTE);
	struct vmlab_pte_run bad = run;
	assert_int_equal(vmlab_map_pages(m, k, va + 4096, &one, 1,
					 VMLAB_PAGE_KERNEL, &bad), -VMLAB_EEXIST);
	assert_null(bad.host);
	u64 nf = vmlab_nr_frames(m);
	assert_int_equal(vmlab_map_pages(m, k, va + 8 * 4096, &nf, 1,
					 VMLAB_PAGE_KERNEL, &bad), -VMLAB_EINVAL);
	/* Valid run: four leaves and a guard page cleared, nothing gathered. */
	struct vmlab_mmu_gather *tlb = fresh_gather(m);
	assert_int_equal(vmlab_unmap_range_noflush(m, tlb, va, 5 * 4096, &run),
			 4);
	assert_true(tlb->start > tlb->end);
	for (int i = 0; i < 4; i++)
		assert_int_equal(leaf_level(m, va + i * 4096), -1);
	/* A table built elsewhere makes the run stale: the general path. */
	assert_int_equal(vmlab_map_pages(m, k, va, pfns, 2, VMLAB_PAGE_KERNEL,
					 &run), 0);
	assert_int_equal(vmlab_map_range(m, k, KVA + 3 * VMLAB_GiB, 0, 4096,
					 VMLAB_PAGE_KERNEL, 0), 0);
	tlb = fresh_gather(m);
	assert_int_equal(vmlab_unmap_range_noflush(m, tlb, va, 2 * 4096, &run),
			 2);
	assert_int_equal(tlb->start, va);
	assert_int_equal(tlb->end, va + 2 * 4096);
	assert_int_equal(leaf_level(m, va), -1);
	/* A PROT_NONE entry is no present leaf: the page before it is
	 * cleared in place, from it on the general path clears (the
	 * PROT_NONE one not counted: it was not present) and gathers. */
	assert_int_equal(vmlab_map_pages(m, k, va, pfns, 3, VMLAB_PAGE_KERNEL,
					 &run), 0);
	tlb = fresh_gather(m);
	assert_int_equal(vmlab_protect_range(m, tlb, va + 4096, 4096, 0,
					     VMLAB_PAGE_PRESENT), 1);
	tlb = fresh_gather(m);
	assert_int_equal(vmlab_unmap_range_noflush(m, tlb, va, 3 * 4096, &run),
			 2);
	assert_int_equal(tlb->start, va + 2 * 4096);
	assert_int_equal(tlb->end, va + 3 * 4096);
	vmlab_ptep_t ptep;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vmlab_lookup_entry(m, k, va + i * 4096,
						    VMLAB_LVL_PTE, &ptep), 0);
		assert_int_equal(vmlab_get_entry(m, ptep), 0);
	}
	vmlab_machine_destroy(m);
}

static void test_split_preserves_translation(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 2 * VMLAB_GiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 va = KVA + VMLAB_GiB;
	assert_int_equal(vmlab_map_range(m, k, va, VMLAB_GiB, VMLAB_GiB,
					 VMLAB_PAGE_KERNEL_RO,
					 VMLAB_MAP_HUGE_PUD), 0);
	assert_int_equal(leaf_level(m, va), VMLAB_LVL_PUD);
	t_read64(m, 1, va + 3 * VMLAB_PMD_SIZE + 40);
	assert_int_equal(vmlab_split_leaf(m, 0, k, va + 3 * VMLAB_PMD_SIZE,
					  VMLAB_LVL_PUD), 0);
	assert_int_equal(leaf_level(m, va), VMLAB_LVL_PMD);
	assert_int_equal(vmlab_split_leaf(m, 0, k, va + 3 * VMLAB_PMD_SIZE,
					  VMLAB_LVL_PMD), 0);
	assert_int_equal(leaf_level(m, va + 3 * VMLAB_PMD_SIZE), VMLAB_LVL_PTE);
	for (u64 off = 0; off < VMLAB_GiB; off += 7 * VMLAB_MiB + 4096) {
		u64 pa;
		vmlab_pgprot_t prot;
		assert_int_equal(vmlab_translate(m, k, va + off, &pa, &prot,
						 NULL), 0);
		assert_int_equal(pa, VMLAB_GiB + off);
		assert_false(prot & VMLAB_PAGE_RW);
	}
	/* Not a large leaf any more. */
	assert_int_equal(vmlab_split_leaf(m, 0, k, va + 3 * VMLAB_PMD_SIZE,
					  VMLAB_LVL_PMD), -VMLAB_ENOENT);
	vmlab_machine_destroy(m);
}

static void test_unmap_splits_partial_and_gathers(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 2 * VMLAB_GiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 va = KVA + VMLAB_GiB;
	assert_int_equal(vmlab_map_range(m, k, va, VMLAB_GiB, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL, VMLAB_MAP_HUGE_PMD),
			 0);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	/* Unmapping 8 KiB out of a 2 MiB leaf splits it first. */
	assert_int_equal(vmlab_unmap_range(m, &tlb, va + 4096, 8192, false), 2);
	assert_int_equal(tlb.start, va + 4096);
	assert_int_equal(tlb.end, va + 3 * 4096);
	assert_int_equal(leaf_level(m, va), VMLAB_LVL_PTE);
	assert_int_equal(leaf_level(m, va + 4096), -1);
	assert_int_equal(leaf_level(m, va + 3 * 4096), VMLAB_LVL_PTE);
	vmlab_counters_reset(m);
	vmlab_tlb_finish_mmu(m, &tlb);
	if (t_arm64()) {
		/* one broadcast TLBI per page from CPU 0, no IPI */
		assert_int_equal(C(m, tlbi_is), 2);
		assert_int_equal(C(m, ipi_sent), 0);
		assert_int_equal(C(m, invlpg), 0);
	} else {
		assert_int_equal(C(m, invlpg), 2 * 2); /* two pages, two CPUs */
	}
	vmlab_machine_destroy(m);
}

static void test_pages_freed_only_after_flush(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	u64 free0 = vmlab_nr_free_pages(m);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	vmlab_unmap_range(m, &tlb, KVA, VMLAB_GiB, true);
	vmlab_tlb_remove_page(m, &tlb, pfn, 0);
	assert_true(tlb.freed_tables);
	assert_int_equal(vmlab_nr_free_pages(m), free0); /* not yet */
	assert_true(vmlab_tlb_probe(m, 1, KVA, NULL, NULL) >= 0);
	vmlab_tlb_finish_mmu(m, &tlb);
	assert_int_equal(vmlab_tlb_probe(m, 1, KVA, NULL, NULL), -1);
	/* The data page and the PTE and PMD tables came back. */
	assert_int_equal(vmlab_nr_free_pages(m), free0 + 3);
	vmlab_machine_destroy(m);
}

static void test_protect_range(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_map(m, KVA + 4096, VMLAB_PAGE_KERNEL);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	assert_int_equal(vmlab_protect_range(m, &tlb, KVA, 3 * 4096, 0,
					     VMLAB_PAGE_RW | VMLAB_PAGE_NX), 2);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_pgprot_t prot;
	assert_int_equal(vmlab_translate(m, k, KVA + 4096, NULL, &prot, NULL), 0);
	assert_false(prot & VMLAB_PAGE_RW);
	assert_false(prot & VMLAB_PAGE_NX);
	u8 b;
	assert_int_equal(vmlab_fetch(m, 0, KVA, &b, 1, NULL), 0);
	/* Clearing PRESENT keeps the frame as a PROT_NONE entry. */
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	vmlab_protect_range(m, &tlb, KVA, 4096, 0, VMLAB_PAGE_PRESENT);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_ptep_t p;
	assert_int_equal(vmlab_lookup_entry(m, k, KVA, 0, &p), 0);
	struct vmlab_pte_info in;
	vmlab_pte_decode(m, vmlab_get_entry(m, p), 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_PROTNONE);
	assert_int_equal(vmlab_read(m, 0, KVA, &b, 1, NULL), -VMLAB_EFAULT);
	vmlab_machine_destroy(m);
}

/*
 * A split that needs break-before-make (arm64: a live block replaced by a
 * table) flushes from the CPU doing it, not CPU 0; x86 splits without a
 * flush.  A bad CPU is refused.
 */
static void test_split_leaf_flush_cpu(void **state)
{
	(void)state;
	const char *archs[] = {"x86_64", "arm64"};
	for (int a = 0; a < 2; a++) {
		struct vmlab_config cfg;
		vmlab_config_default(&cfg);
		cfg.arch = archs[a];
		cfg.nr_cpus = 3;
		cfg.mem_bytes = 64 * VMLAB_MiB;
		struct vmlab_machine *m = NULL;
		assert_int_equal(vmlab_boot(&cfg, &m), 0);
		vmlab_set_quiet(m, true);
		struct vmlab_mm *k = vmlab_init_mm(m);
		assert_int_equal(vmlab_map_range(m, k, KVA, 0, VMLAB_PMD_SIZE,
						 VMLAB_PAGE_KERNEL,
						 VMLAB_MAP_HUGE_PMD), 0);
		t_read64(m, 2, KVA + 64);
		assert_int_equal(vmlab_split_leaf(m, 3, k, KVA, VMLAB_LVL_PMD),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_split_leaf(m, -1, k, KVA, VMLAB_LVL_PMD),
				 -VMLAB_EINVAL);
		u64 c0 = vmlab_counter(m, 0, VMLAB_C_tlbi_is);
		u64 c1 = vmlab_counter(m, 1, VMLAB_C_tlbi_is);
		u64 i0 = vmlab_counter(m, 0, VMLAB_C_ipi_sent);
		u64 i1 = vmlab_counter(m, 1, VMLAB_C_ipi_sent);
		assert_int_equal(vmlab_split_leaf(m, 1, k, KVA, VMLAB_LVL_PMD), 0);
		assert_int_equal(leaf_level(m, KVA), VMLAB_LVL_PTE);
		assert_int_equal(vmlab_counter(m, 0, VMLAB_C_tlbi_is), c0);
		assert_int_equal(vmlab_counter(m, 0, VMLAB_C_ipi_sent), i0);
		if (a == 1) /* arm64: invalid, TLBI VAE1IS by CPU 1, table */
			assert_true(vmlab_counter(m, 1, VMLAB_C_tlbi_is) > c1);
		else /* x86: no break, no flush */
			assert_int_equal(vmlab_counter(m, 1, VMLAB_C_ipi_sent) +
						 vmlab_counter(m, 1, VMLAB_C_tlbi_is),
					 i1 + c1);
		assert_int_equal(t_read64(m, 2, KVA + 64), 0);
		vmlab_machine_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_uses_large_leaves_when_aligned),
		cmocka_unit_test(test_split_preserves_translation),
		cmocka_unit_test(test_split_leaf_flush_cpu),
		cmocka_unit_test(test_unmap_splits_partial_and_gathers),
		cmocka_unit_test(test_pages_freed_only_after_flush),
		cmocka_unit_test(test_protect_range),
		cmocka_unit_test(test_map_pages_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
