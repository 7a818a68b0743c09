/* SPDX-License-Identifier: MIT */
/*
 * The direct map and set_memory_*() on the suite's architecture.
 *
 * x86 CPA (arch/x86/mm/pat/set_memory.c): layout at boot, split counts
 * and DirectMap figures, large leaves kept or changed in place,
 * permissions enforced on every CPU, the 33-page flush ceiling, the
 * noflush direct-map helpers, rox collapse, the direct-map alias of
 * vmalloc addresses.  arm64 (arch/arm64/mm/pageattr.c, mmu.c): the linear
 * map page-mapped with rodata_full (can_set_direct_map()) and block-mapped
 * without, set_memory_*() refused on it and applied to vmalloc pages, the
 * read-only change taking the linear alias along only with rodata_full,
 * broadcast TLBIs instead of IPIs, the noflush helpers no-ops without
 * rodata_full.  Both: the vm_unmap_aliases hook, bad input, a quiet
 * checker.
 */
#include <limits.h>

#include "helpers.h"

/* Kernel pages of the tests: the suite's vmalloc range. */
#undef KVA
#define KVA T_VMALLOC_START

#define C(m, name) vmlab_counter(m, -1, VMLAB_C_##name)
#define DM(pfn) vmlab_page_address(m, pfn)
#define PAGES_2M 512
#define PAGES_1G (512 * 512)

static struct vmlab_machine *dm_machine_rodata(u64 mem, bool gb, int cpus,
					       enum vmlab_tristate rodata_full)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.mem_bytes = mem;
	cfg.direct_map_1g = gb;
	cfg.nr_cpus = cpus;
	cfg.rodata_full = rodata_full;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	return m;
}

/* The architecture's default direct map (arm64: rodata_full on). */
static struct vmlab_machine *dm_machine(u64 mem, bool gb, int cpus)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	return dm_machine_rodata(mem, gb, cpus, cfg.rodata_full);
}

static struct vmlab_directmap_stats st(struct vmlab_machine *m)
{
	struct vmlab_directmap_stats s;
	vmlab_directmap_stats(m, &s);
	return s;
}

/* The leaf (present or not) mapping va in init_mm: level and raw entry. */
static int leaf(struct vmlab_machine *m, u64 va, u64 *entry)
{
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PUD; l++) {
		vmlab_ptep_t p;
		if (vmlab_lookup_entry(m, vmlab_init_mm(m), va, l, &p))
			continue;
		struct vmlab_pte_info info;
		vmlab_pte_decode(m, vmlab_get_entry(m, p), l, &info);
		if (info.kind == VMLAB_PTE_TABLE)
			return -1;
		*entry = vmlab_get_entry(m, p);
		return l;
	}
	return -1;
}

static int level_of(struct vmlab_machine *m, u64 va)
{
	u64 e;
	return leaf(m, va, &e);
}

static vmlab_pgprot_t prot_of(struct vmlab_machine *m, u64 va)
{
	vmlab_pgprot_t prot = 0;
	assert_int_equal(
	    vmlab_translate(m, vmlab_init_mm(m), va, NULL, &prot, NULL), 0);
	return prot;
}

static u64 diff(const struct vmlab_counters *a, const struct vmlab_counters *b,
		enum vmlab_counter c)
{
	return a->v[c] - b->v[c];
}

/* ------------------------------------------------------------- boot */

static void test_boot_layout(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	struct vmlab_directmap_stats s = st(m);
	assert_int_equal(s.directmap_1g, VMLAB_GiB);
	assert_int_equal(s.directmap_2m, 0);
	assert_int_equal(s.directmap_4k, 0);
	assert_int_equal(s.level2_splits + s.level3_splits + s.collapses, 0);
	assert_int_equal(level_of(m, DM(0)), VMLAB_LVL_PUD);
	assert_int_equal(prot_of(m, DM(12345)), VMLAB_PAGE_KERNEL);
	assert_true(vmlab_kernel_page_present(m, 0));
	assert_true(vmlab_kernel_page_present(m, vmlab_nr_frames(m) - 1));
	assert_false(vmlab_kernel_page_present(m, vmlab_nr_frames(m)));
	vmlab_machine_destroy(m);

	/* 1.5 GiB: one 1G leaf, the rest in 2M leaves. */
	m = dm_machine(1536 * VMLAB_MiB, true, 1);
	s = st(m);
	assert_int_equal(s.directmap_1g, VMLAB_GiB);
	assert_int_equal(s.directmap_2m, 512 * VMLAB_MiB);
	assert_int_equal(level_of(m, DM(PAGES_1G + 7)), VMLAB_LVL_PMD);
	vmlab_machine_destroy(m);

	/* No gbpages: 2M leaves only. */
	m = dm_machine(VMLAB_GiB, false, 1);
	s = st(m);
	assert_int_equal(s.directmap_1g, 0);
	assert_int_equal(s.directmap_2m, VMLAB_GiB);
	vmlab_machine_destroy(m);
}

/* ---------------------------------------------------------- splits */

static void test_split_one_page(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 4);
	u64 va = DM(0x12345);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	vmlab_counters_snapshot(m, &a);
	struct vmlab_directmap_stats s = st(m);
	assert_int_equal(s.level3_splits, 1);
	assert_int_equal(s.level2_splits, 1);
	assert_int_equal(s.directmap_1g, 0);
	assert_int_equal(s.directmap_2m, VMLAB_GiB - 2 * VMLAB_MiB);
	assert_int_equal(s.directmap_4k, 2 * VMLAB_MiB);
	/* Each split flushes every TLB, then one range flush of the page. */
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_call), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_all), 2);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_flush), 3);
	assert_int_equal(level_of(m, va), VMLAB_LVL_PTE);
	vmlab_pgprot_t p = prot_of(m, va);
	assert_false(p & (VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY));
	assert_true(p & VMLAB_PAGE_NX);
	/* Neighbours keep PAGE_KERNEL at their new sizes. */
	assert_int_equal(prot_of(m, va + VMLAB_PAGE_SIZE), VMLAB_PAGE_KERNEL);
	assert_int_equal(level_of(m, va + VMLAB_PAGE_SIZE), VMLAB_LVL_PTE);
	assert_int_equal(level_of(m, va + VMLAB_PMD_SIZE), VMLAB_LVL_PMD);
	vmlab_machine_destroy(m);
}

static void test_ro_rw_same_page(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 va = DM(0x4242);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_rw(m, 1, va, 1), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(st(m).level3_splits, 1);
	assert_int_equal(st(m).level2_splits, 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_all), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range), 1);
	/* set_memory_rw sets RW only: D comes back with the next write. */
	assert_true(prot_of(m, va) & VMLAB_PAGE_RW);
	assert_false(prot_of(m, va) & VMLAB_PAGE_DIRTY);
	t_write64(m, 1, va, 7);
	assert_true(prot_of(m, va) & VMLAB_PAGE_DIRTY);
	/* Asking for what is already there changes nothing, flushes
	 * nothing. */
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_rw(m, 0, va, 1), 0);
	assert_int_equal(vmlab_set_memory_nx(m, 0, va + VMLAB_PMD_SIZE, 9), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_call), 2);
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_flush), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_pte_write), 0);
	vmlab_machine_destroy(m);
}

static void test_whole_large_page_kept(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 va = DM(64 * PAGES_2M); /* 128 MiB, 2 MiB aligned */
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, PAGES_2M), 0);
	vmlab_counters_snapshot(m, &a);
	/* The 1G leaf splits; the 2M leaf is changed in place. */
	assert_int_equal(st(m).level3_splits, 1);
	assert_int_equal(st(m).level2_splits, 0);
	assert_int_equal(st(m).directmap_2m, VMLAB_GiB);
	assert_int_equal(level_of(m, va), VMLAB_LVL_PMD);
	assert_false(prot_of(m, va + 5 * VMLAB_PAGE_SIZE) & VMLAB_PAGE_RW);
	assert_true(prot_of(m, va + VMLAB_PMD_SIZE) & VMLAB_PAGE_RW);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_all), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range_full), 1);
	vmlab_machine_destroy(m);

	/* All of a 1G leaf: no split at all. */
	m = dm_machine(VMLAB_GiB, true, 2);
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(0), PAGES_1G), 0);
	assert_int_equal(st(m).level3_splits + st(m).level2_splits, 0);
	assert_int_equal(level_of(m, DM(999)), VMLAB_LVL_PUD);
	assert_false(prot_of(m, DM(999)) & VMLAB_PAGE_RW);
	assert_int_equal(C(m, flush_all), 0);
	vmlab_machine_destroy(m);
}

static void test_2m_direct_map(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, false, 1);
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(77), 1), 0);
	struct vmlab_directmap_stats s = st(m);
	assert_int_equal(s.level3_splits, 0);
	assert_int_equal(s.level2_splits, 1);
	assert_int_equal(s.directmap_2m, VMLAB_GiB - 2 * VMLAB_MiB);
	assert_int_equal(s.directmap_4k, 2 * VMLAB_MiB);
	vmlab_machine_destroy(m);
}

/* ----------------------------------------------------- enforcement */

static void test_ro_enforced(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	/* arm64 changes vmalloc pages only (the linear map is refused). */
	u64 va = DM(0x3000);
	if (t_arm64()) {
		va = KVA;
		t_map(m, va, VMLAB_PAGE_KERNEL);
	}
	t_write64(m, 0, va, 0x1122);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	u64 v = 1;
	struct vmlab_fault f;
	assert_int_equal(vmlab_write(m, 0, va, &v, 8, &f), -VMLAB_EFAULT);
	assert_int_equal(f.error_code & (VMLAB_PF_PROT | VMLAB_PF_WRITE),
			 VMLAB_PF_PROT | VMLAB_PF_WRITE);
	assert_int_equal(t_read64(m, 0, va), 0x1122);
	vmlab_machine_destroy(m);
}

static void test_other_cpu_flushed(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 4);
	u64 va = DM(0x5000);
	/* Split first, so only the final range flush can help. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	assert_int_equal(vmlab_set_memory_rw(m, 0, va, 1), 0);
	t_write64(m, 1, va, 3);
	vmlab_pgprot_t p;
	assert_int_equal(vmlab_tlb_probe(m, 1, va, NULL, &p), VMLAB_LVL_PTE);
	assert_true(p & VMLAB_PAGE_RW);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_all), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_ipi_sent), 3);
	assert_int_equal(vmlab_tlb_probe(m, 1, va, NULL, NULL), -1);
	u64 v = 4;
	struct vmlab_fault f;
	assert_int_equal(vmlab_write(m, 1, va, &v, 8, &f), -VMLAB_EFAULT);
	assert_true(f.error_code & VMLAB_PF_PROT);
	vmlab_machine_destroy(m);

	/* A CPU holding the 1G translation loses it to the split flush. */
	m = dm_machine(VMLAB_GiB, true, 2);
	t_write64(m, 1, va, 3);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	assert_int_equal(vmlab_write(m, 1, va, &v, 8, &f), -VMLAB_EFAULT);
	vmlab_machine_destroy(m);
}

static void test_flush_ceiling(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 4);
	u64 base = DM(8 * PAGES_2M);
	assert_int_equal(vmlab_set_memory_ro(m, 0, base, 1), 0);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(
	    vmlab_set_memory_ro(m, 0, base + 2 * VMLAB_PAGE_SIZE, 33), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range_full), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_invlpg), 33 * 4);
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(
	    vmlab_set_memory_ro(m, 0, base + 100 * VMLAB_PAGE_SIZE, 34), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range_full), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_invlpg), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_flush), 1);
	vmlab_machine_destroy(m);
}

/* ------------------------------------------------- noflush helpers */

static void test_invalid_noflush_leaves_stale(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 4);
	u64 pfn = 0x6000, va = DM(pfn);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	assert_int_equal(vmlab_set_memory_rw(m, 0, va, 1), 0);
	t_write64(m, 1, va, 0xabcd);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, pfn), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_flush), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_ipi_sent), 0);
	assert_int_equal(diff(&a, &b, VMLAB_C_invlpg), 0);
	assert_false(vmlab_kernel_page_present(m, pfn));
	/* CPU 1 still uses its cached translation; CPU 2 walks and faults. */
	assert_int_equal(t_read64(m, 1, va), 0xabcd);
	u64 v;
	struct vmlab_fault f;
	assert_int_equal(vmlab_read(m, 2, va, &v, 8, &f), -VMLAB_EFAULT);
	assert_false(f.error_code & VMLAB_PF_PROT);
	assert_int_equal(vmlab_set_direct_map_default_noflush(m, pfn), 0);
	assert_true(vmlab_kernel_page_present(m, pfn));
	assert_int_equal(t_read64(m, 2, va), 0xabcd);
	t_write64(m, 2, va, 1);
	/* As in the kernel: P|RW come back, _PAGE_GLOBAL does not. */
	vmlab_pgprot_t p = prot_of(m, va);
	assert_true(p & VMLAB_PAGE_RW);
	assert_true(p & VMLAB_PAGE_NX);
	assert_false(p & VMLAB_PAGE_GLOBAL);
	vmlab_machine_destroy(m);

	/* A page still inside a large leaf: the split flushes anyway. */
	m = dm_machine(VMLAB_GiB, true, 2);
	assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, pfn), 0);
	assert_int_equal(C(m, flush_all), 2);
	assert_int_equal(st(m).level2_splits, 1);
	assert_int_equal(vmlab_set_direct_map_default_noflush(m, pfn), 0);
	vmlab_machine_destroy(m);
}

static void test_np_p(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 pfn = 0x777, va = DM(pfn);
	assert_int_equal(vmlab_set_memory_np(m, 0, va, 1), 0);
	assert_false(vmlab_kernel_page_present(m, pfn));
	u64 v, e;
	struct vmlab_fault f;
	assert_int_equal(vmlab_read(m, 1, va, &v, 8, &f), -VMLAB_EFAULT);
	assert_false(f.error_code & VMLAB_PF_PROT);
	assert_int_equal(leaf(m, va, &e), VMLAB_LVL_PTE);
	assert_int_equal(vmlab_set_memory_p(m, 0, va, 1), 0);
	assert_true(vmlab_kernel_page_present(m, pfn));
	assert_int_equal(prot_of(m, va),
			 VMLAB_PAGE_KERNEL & ~(u64)VMLAB_PAGE_GLOBAL);
	/* A whole 2M leaf goes not-present and back in place. */
	u64 big = DM(5 * PAGES_2M);
	assert_int_equal(vmlab_set_memory_np(m, 0, big, PAGES_2M), 0);
	assert_false(vmlab_kernel_page_present(m, 5 * PAGES_2M + 9));
	assert_int_equal(leaf(m, big, &e), VMLAB_LVL_PMD);
	assert_int_equal(vmlab_set_memory_p(m, 0, big, PAGES_2M), 0);
	assert_int_equal(level_of(m, big + 9 * VMLAB_PAGE_SIZE), VMLAB_LVL_PMD);
	assert_int_equal(t_read64(m, 1, big), 0);
	assert_int_equal(st(m).level2_splits, 1);
	vmlab_machine_destroy(m);
}

/*
 * Going through set_direct_map_invalid/default leaves the direct-map PTE
 * non-global (the kernel's __set_pages_p() sets P|RW only).  A range flush
 * is an INVLPG, which reaches global entries and the current PCID only: a
 * CPU that cached the entry under another PCID keeps it.
 */
static void stale_after_pcid_switch(bool through_invalid, bool expect_stale)
{
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 pfn = 0x6100, va = DM(pfn), v = 0;
	struct vmlab_mm *a, *b;
	assert_int_equal(vmlab_mm_create(m, &a), 0);
	assert_int_equal(vmlab_mm_create(m, &b), 0);
	if (through_invalid) {
		assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, pfn),
				 0);
		assert_int_equal(vmlab_set_direct_map_default_noflush(m, pfn),
				 0);
	} else {
		assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
		assert_int_equal(vmlab_set_memory_rw(m, 0, va, 1), 0);
	}
	vmlab_switch_mm(m, 1, a);
	t_write64(m, 1, va, 1);
	vmlab_switch_mm(m, 1, b);
	u64 range0 = C(m, flush_kernel_range), all0 = C(m, flush_all);
	assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), 0);
	assert_int_equal(C(m, flush_kernel_range), range0 + 1);
	assert_int_equal(C(m, flush_all), all0);
	vmlab_switch_mm(m, 1, a);
	assert_int_equal(vmlab_write(m, 1, va, &v, 8, NULL),
			 expect_stale ? 0 : -VMLAB_EFAULT);
	vmlab_switch_mm(m, 1, vmlab_init_mm(m));
	vmlab_mm_destroy(m, a);
	vmlab_mm_destroy(m, b);
	vmlab_machine_destroy(m);
}

static void test_default_noflush_drops_global(void **state)
{
	(void)state;
	stale_after_pcid_switch(false, false);
	stale_after_pcid_switch(true, true);
}

/* -------------------------------------------------------- collapse */

static void test_rox_collapse_pmd(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 r = DM(128 * PAGES_2M);
	assert_int_equal(vmlab_set_memory_ro(m, 0, r, 1), 0);
	assert_int_equal(level_of(m, r), VMLAB_LVL_PTE);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_rox(m, 0, r, PAGES_2M), 0);
	vmlab_counters_snapshot(m, &a);
	struct vmlab_directmap_stats s = st(m);
	assert_int_equal(s.collapses, 1);
	assert_int_equal(s.level2_splits, 1);
	assert_int_equal(s.directmap_4k, 0);
	assert_int_equal(s.directmap_2m, VMLAB_GiB);
	assert_int_equal(level_of(m, r + 77 * VMLAB_PAGE_SIZE), VMLAB_LVL_PMD);
	vmlab_pgprot_t p = prot_of(m, r);
	assert_false(p & (VMLAB_PAGE_RW | VMLAB_PAGE_NX));
	/* The range flush, then a full flush before the table is freed. */
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range_full), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_all), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_cpa_flush), 2);
	assert_int_equal(diff(&a, &b, VMLAB_C_pgtable_free), 1);
	u64 v;
	assert_int_equal(vmlab_fetch(m, 1, r + 64, &v, 8, NULL), 0);
	struct vmlab_fault f;
	assert_int_equal(vmlab_write(m, 1, r, &v, 8, &f), -VMLAB_EFAULT);
	vmlab_machine_destroy(m);
}

static void test_rox_collapse_pud(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(5), 1), 0);
	assert_int_equal(vmlab_set_memory_rox(m, 0, DM(0), PAGES_1G), 0);
	struct vmlab_directmap_stats s = st(m);
	assert_int_equal(s.collapses, 2);
	assert_int_equal(s.directmap_1g, VMLAB_GiB);
	assert_int_equal(s.directmap_2m + s.directmap_4k, 0);
	assert_int_equal(level_of(m, DM(5)), VMLAB_LVL_PUD);
	vmlab_machine_destroy(m);

	/* Without gbpages the 2M leaf is as far as it goes. */
	m = dm_machine(VMLAB_GiB, false, 2);
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(5), 1), 0);
	assert_int_equal(vmlab_set_memory_rox(m, 0, DM(0), PAGES_1G), 0);
	assert_int_equal(st(m).collapses, 1);
	assert_int_equal(level_of(m, DM(5)), VMLAB_LVL_PMD);
	vmlab_machine_destroy(m);
}

static void test_rox_no_collapse(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 r = DM(40 * PAGES_2M);
	/* One page stays RO+NX: the block cannot be one leaf. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, r, 1), 0);
	assert_int_equal(
	    vmlab_set_memory_rox(m, 0, r + VMLAB_PAGE_SIZE, PAGES_2M - 1), 0);
	assert_int_equal(st(m).collapses, 0);
	assert_int_equal(level_of(m, r), VMLAB_LVL_PTE);
	/* Only rox collapses: x makes the block uniform, it stays split. */
	assert_int_equal(vmlab_set_memory_x(m, 0, r, 1), 0);
	assert_int_equal(st(m).collapses, 0);
	/* Now uniform; the next rox that changes something collapses. */
	assert_int_equal(vmlab_set_memory_rw(m, 0, r, 1), 0);
	assert_int_equal(vmlab_set_memory_rox(m, 0, r, 1), 0);
	assert_int_equal(st(m).collapses, 1);
	assert_int_equal(level_of(m, r), VMLAB_LVL_PMD);
	vmlab_machine_destroy(m);
}

/* ----------------------------------------------------------- alias */

static void test_alias_vmalloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 4);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	struct vmlab_counters a, b;
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA, 1), 0);
	vmlab_counters_snapshot(m, &a);
	assert_false(prot_of(m, KVA) & VMLAB_PAGE_RW);
	assert_false(prot_of(m, DM(pfn)) & VMLAB_PAGE_RW);
	assert_int_equal(level_of(m, DM(pfn)), VMLAB_LVL_PTE);
	assert_int_equal(st(m).level3_splits, 1);
	assert_int_equal(st(m).level2_splits, 1);
	/* An alias was changed: the final flush is a full one. */
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range_full), 1);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range), 0);
	u64 v = 0;
	assert_int_equal(vmlab_write(m, 2, DM(pfn), &v, 8, NULL),
			 -VMLAB_EFAULT);

	/* X goes to the vmalloc mapping only. */
	assert_int_equal(vmlab_set_memory_x(m, 0, KVA, 1), 0);
	assert_false(prot_of(m, KVA) & VMLAB_PAGE_NX);
	assert_true(prot_of(m, DM(pfn)) & VMLAB_PAGE_NX);
	/* RW on an executable page: allowed, with the W^X warning. */
	u64 w = vmlab_nr_warnings(m);
	assert_int_equal(vmlab_set_memory_rw(m, 0, KVA, 1), 0);
	assert_int_equal(vmlab_nr_warnings(m), w + 1);
	assert_true(prot_of(m, DM(pfn)) & VMLAB_PAGE_RW);
	/* An NX-only change leaves the alias alone but still flushes all. */
	vmlab_counters_snapshot(m, &b);
	assert_int_equal(vmlab_set_memory_nx(m, 0, KVA, 1), 0);
	vmlab_counters_snapshot(m, &a);
	assert_int_equal(diff(&a, &b, VMLAB_C_flush_kernel_range_full), 1);
	assert_true(prot_of(m, KVA) & VMLAB_PAGE_NX);
	/* Not-present reaches the alias too, and so does present. */
	assert_int_equal(vmlab_set_memory_np(m, 0, KVA, 1), 0);
	assert_false(vmlab_kernel_page_present(m, pfn));
	assert_int_equal(vmlab_set_memory_p(m, 0, KVA, 1), 0);
	assert_true(vmlab_kernel_page_present(m, pfn));
	assert_true(prot_of(m, KVA) & VMLAB_PAGE_RW);
	vmlab_machine_destroy(m);
}

/* ----------------------------------------------------- hook, input */

struct hook_log {
	int calls;
	int cpu;
};

static void hook(struct vmlab_machine *m, int cpu, void *ctx)
{
	(void)m;
	struct hook_log *l = ctx;
	l->calls++;
	l->cpu = cpu;
}

static void test_cpa_hook(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 4);
	struct hook_log log = {0, -1};
	/* x86: a direct-map page; arm64: a vmalloc one (the linear map is
	 * refused before vm_unmap_aliases()). */
	u64 va = DM(10);
	if (t_arm64()) {
		va = KVA;
		t_map(m, va, VMLAB_PAGE_KERNEL);
	}
	vmlab_set_cpa_hook(m, hook, &log);
	assert_int_equal(vmlab_set_memory_ro(m, 2, va, 1), 0);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.cpu, 2);
	/* Also when nothing changes, and for zero pages. */
	assert_int_equal(vmlab_set_memory_ro(m, 3, va, 1), 0);
	assert_int_equal(vmlab_set_memory_ro(m, 3, va, 0), 0);
	assert_int_equal(log.calls, 3);
	/* The noflush helpers do not call vm_unmap_aliases(). */
	assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, 10), 0);
	assert_int_equal(vmlab_set_direct_map_default_noflush(m, 10), 0);
	assert_int_equal(log.calls, 3);
	vmlab_set_cpa_hook(m, NULL, NULL);
	assert_int_equal(vmlab_set_memory_rw(m, 0, va, 1), 0);
	assert_int_equal(log.calls, 3);
	vmlab_machine_destroy(m);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	u64 nr = vmlab_nr_frames(m);
	u64 w = vmlab_nr_warnings(m);
	/* Misaligned: warn, align down, do it. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(20) + 5, 1), 0);
	assert_int_equal(vmlab_nr_warnings(m), w + 1);
	assert_false(prot_of(m, DM(20)) & VMLAB_PAGE_RW);
	/* Zero pages: nothing, no flush. */
	u64 f0 = C(m, cpa_flush);
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(21), 0), 0);
	assert_true(prot_of(m, DM(21)) & VMLAB_PAGE_RW);
	assert_int_equal(C(m, cpa_flush), f0);
	/* Negative count, bad CPU, no machine. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(21), -1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_memory_ro(m, -1, DM(21), 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_memory_ro(m, 2, DM(21), 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_memory_ro(NULL, 0, DM(21), 1),
			 -VMLAB_EINVAL);
	assert_true(prot_of(m, DM(21)) & VMLAB_PAGE_RW);
	/* Unmapped: vmalloc hole, past RAM, user, non-canonical, wrap. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA, 1), -VMLAB_EFAULT);
	assert_int_equal(vmlab_set_memory_rw(m, 0, DM(nr), 1), -VMLAB_EFAULT);
	assert_int_equal(vmlab_set_memory_x(m, 0, 0x1000, 1), -VMLAB_EFAULT);
	assert_int_equal(vmlab_set_memory_nx(m, 0, 0x0000800000000000ULL, 1),
			 -VMLAB_EFAULT);
	assert_int_equal(
	    vmlab_set_memory_ro(m, 0, 0xfffffffffffff000ULL, INT_MAX),
	    -VMLAB_EFAULT);
	/* Running off the end: what was mapped changed, then a full flush. */
	u64 fa = C(m, flush_all);
	assert_int_equal(vmlab_set_memory_ro(m, 0, DM(nr - 1), 2),
			 -VMLAB_EFAULT);
	assert_false(prot_of(m, DM(nr - 1)) & VMLAB_PAGE_RW);
	assert_int_equal(C(m, flush_all), fa + 1 + 1); /* 2M split, error */
	/* Direct-map helpers and queries with a bad pfn. */
	assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, nr),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_direct_map_default_noflush(NULL, 0),
			 -VMLAB_EINVAL);
	assert_false(vmlab_kernel_page_present(m, ~0ULL));
	assert_false(vmlab_kernel_page_present(NULL, 0));
	vmlab_directmap_stats(m, NULL);
	struct vmlab_directmap_stats s;
	vmlab_directmap_stats(NULL, &s);
	assert_int_equal(s.directmap_1g, 0);
	vmlab_set_cpa_hook(NULL, hook, NULL);
	vmlab_machine_destroy(m);
}

/* With the checker on, the ordinary sequences report nothing. */
static void test_checker_quiet(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 256 * VMLAB_MiB, true);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_write64(m, 1, KVA, 1);
	t_write64(m, 2, DM(pfn), 2);
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA, 1), 0);
	assert_int_equal(vmlab_set_memory_x(m, 0, KVA, 1), 0);
	assert_int_equal(t_read64(m, 3, KVA), 2);
	assert_int_equal(vmlab_set_memory_nx(m, 0, KVA, 1), 0);
	assert_int_equal(vmlab_set_memory_rw(m, 0, KVA, 1), 0);
	u64 v;
	if (t_arm64()) {
		/* set_memory_rox() is ro then x: never W+X in between. */
		assert_int_equal(vmlab_set_memory_rox(m, 1, KVA, 1), 0);
		assert_int_equal(vmlab_fetch(m, 2, KVA, &v, 8, NULL), 0);
	} else {
		/* A 2M block away from the vmalloc page's frame. */
		u64 r = DM(((pfn / PAGES_2M + 4) % 128) * PAGES_2M);
		assert_int_equal(vmlab_set_memory_ro(m, 1, r, 1), 0);
		assert_int_equal(vmlab_set_memory_rox(m, 1, r, PAGES_2M), 0);
		assert_int_equal(st(m).collapses, 1);
		assert_int_equal(vmlab_fetch(m, 2, r, &v, 8, NULL), 0);
	}
	vmlab_print_reports(m, stderr);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* ------------------------------------------------------------ arm64 */

/* map_mem(): rodata_full maps the linear map with pages only
 * (NO_BLOCK_MAPPINGS); without it, blocks of 1 GiB and 2 MiB. */
static void test_boot_layout_arm64(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	struct vmlab_directmap_stats s = st(m);
	assert_int_equal(s.directmap_4k, VMLAB_GiB);
	assert_int_equal(s.directmap_2m + s.directmap_1g, 0);
	assert_int_equal(level_of(m, DM(0)), VMLAB_LVL_PTE);
	assert_int_equal(level_of(m, DM(PAGES_1G - 1)), VMLAB_LVL_PTE);
	assert_int_equal(prot_of(m, DM(12345)), VMLAB_PAGE_KERNEL);
	assert_true(vmlab_kernel_page_present(m, vmlab_nr_frames(m) - 1));
	assert_false(vmlab_kernel_page_present(m, vmlab_nr_frames(m)));
	vmlab_machine_destroy(m);
	m = dm_machine_rodata(1536 * VMLAB_MiB, true, 1, VMLAB_OFF);
	s = st(m);
	assert_int_equal(s.directmap_1g, VMLAB_GiB);
	assert_int_equal(s.directmap_2m, 512 * VMLAB_MiB);
	assert_int_equal(s.directmap_4k, 0);
	assert_int_equal(level_of(m, DM(0)), VMLAB_LVL_PUD);
	assert_int_equal(level_of(m, DM(PAGES_1G + 7)), VMLAB_LVL_PMD);
	vmlab_machine_destroy(m);
	m = dm_machine_rodata(VMLAB_GiB, false, 1, VMLAB_OFF);
	assert_int_equal(st(m).directmap_2m, VMLAB_GiB);
	vmlab_machine_destroy(m);
}

/* change_memory_common(): only vmalloc/vmap ranges; a linear-map address
 * is -EINVAL, nothing stored, nothing flushed, in either mode (blocks are
 * never split on a live kernel mapping). */
static void test_linear_map_refused_arm64(void **state)
{
	(void)state;
	for (int full = 0; full < 2; full++) {
		struct vmlab_machine *m = dm_machine_rodata(
			VMLAB_GiB, true, 2, full ? VMLAB_ON : VMLAB_OFF);
		u64 va = DM(0x4242);
		int lvl = level_of(m, va);
		struct vmlab_counters a, b;
		vmlab_counters_snapshot(m, &b);
		assert_int_equal(vmlab_set_memory_ro(m, 0, va, 1), -VMLAB_EINVAL);
		assert_int_equal(vmlab_set_memory_x(m, 1, va, 1), -VMLAB_EINVAL);
		assert_int_equal(vmlab_set_memory_np(m, 0, va, 1), -VMLAB_EINVAL);
		vmlab_counters_snapshot(m, &a);
		assert_int_equal(diff(&a, &b, VMLAB_C_pte_write), 0);
		assert_int_equal(diff(&a, &b, VMLAB_C_tlbi_is), 0);
		assert_int_equal(diff(&a, &b, VMLAB_C_cpa_flush), 0);
		assert_int_equal(prot_of(m, va), VMLAB_PAGE_KERNEL);
		assert_int_equal(level_of(m, va), lvl);
		struct vmlab_directmap_stats s = st(m);
		assert_int_equal(s.level2_splits + s.level3_splits, 0);
		t_write64(m, 1, va, 5);
		vmlab_machine_destroy(m);
	}
}

/* A vmalloc page: set_memory_ro() changes its PTE and, with rodata_full,
 * the linear alias's PTE in place (no split: it is a page already); one
 * broadcast TLBI per page from the caller, no IPI.  Exec goes to the
 * vmalloc mapping only; without rodata_full the alias stays writable. */
static void test_alias_vmalloc_arm64(void **state)
{
	(void)state;
	for (int full = 0; full < 2; full++) {
		struct vmlab_machine *m = dm_machine_rodata(
			VMLAB_GiB, true, 4, full ? VMLAB_ON : VMLAB_OFF);
		u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
		for (int c = 0; c < 4; c++)
			t_write64(m, c, KVA, (u64)c);
		struct vmlab_counters a, b;
		vmlab_counters_snapshot(m, &b);
		assert_int_equal(vmlab_set_memory_ro(m, 2, KVA, 1), 0);
		vmlab_counters_snapshot(m, &a);
		assert_false(prot_of(m, KVA) & VMLAB_PAGE_RW);
		assert_int_equal(!!(prot_of(m, DM(pfn)) & VMLAB_PAGE_RW), !full);
		assert_int_equal(st(m).level2_splits + st(m).level3_splits, 0);
		assert_int_equal(diff(&a, &b, VMLAB_C_ipi_sent), 0);
		assert_int_equal(diff(&a, &b, VMLAB_C_invlpg), 0);
		assert_true(diff(&a, &b, VMLAB_C_tlbi_is) >= 1);
		assert_int_equal(a.v[VMLAB_C_tlbi_is] - b.v[VMLAB_C_tlbi_is],
				 vmlab_counter(m, 2, VMLAB_C_tlbi_is));
		/* No CPU keeps the writable vmalloc entry. */
		for (int c = 0; c < 4; c++) {
			u64 v = 1;
			assert_int_equal(vmlab_write(m, c, KVA, &v, 8, NULL),
					 -VMLAB_EFAULT);
		}
		assert_int_equal(vmlab_write(m, 1, DM(pfn), &pfn, 8, NULL),
				 full ? -VMLAB_EFAULT : 0);
		assert_int_equal(vmlab_set_memory_x(m, 0, KVA, 1), 0);
		assert_false(prot_of(m, KVA) & VMLAB_PAGE_NX);
		assert_true(prot_of(m, DM(pfn)) & VMLAB_PAGE_NX);
		assert_int_equal(vmlab_set_memory_nx(m, 0, KVA, 1), 0);
		assert_int_equal(vmlab_set_memory_rw(m, 0, KVA, 1), 0);
		assert_true(prot_of(m, DM(pfn)) & VMLAB_PAGE_RW);
		vmlab_machine_destroy(m);
	}
}

/* set_direct_map_invalid/default_noflush() need can_set_direct_map():
 * with rodata_full the linear PTE goes invalid with no TLBI (a cached
 * entry is still used); without it they do nothing. */
static void test_invalid_noflush_arm64(void **state)
{
	(void)state;
	for (int full = 0; full < 2; full++) {
		struct vmlab_machine *m = dm_machine_rodata(
			VMLAB_GiB, true, 4, full ? VMLAB_ON : VMLAB_OFF);
		u64 pfn = 0x6000, va = DM(pfn);
		t_write64(m, 1, va, 0xabcd);
		struct vmlab_counters a, b;
		vmlab_counters_snapshot(m, &b);
		assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, pfn), 0);
		vmlab_counters_snapshot(m, &a);
		assert_int_equal(diff(&a, &b, VMLAB_C_tlbi_is), 0);
		assert_int_equal(diff(&a, &b, VMLAB_C_ipi_sent), 0);
		assert_int_equal(diff(&a, &b, VMLAB_C_pte_write), full ? 1 : 0);
		assert_int_equal(vmlab_kernel_page_present(m, pfn), !full);
		assert_int_equal(t_read64(m, 1, va), 0xabcd); /* cached */
		u64 v;
		assert_int_equal(vmlab_read(m, 2, va, &v, 8, NULL),
				 full ? -VMLAB_EFAULT : 0);
		assert_int_equal(vmlab_set_direct_map_default_noflush(m, pfn), 0);
		assert_true(vmlab_kernel_page_present(m, pfn));
		assert_int_equal(t_read64(m, 2, va), 0xabcd);
		vmlab_machine_destroy(m);
	}
}

static void test_bad_input_arm64(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	u64 w = vmlab_nr_warnings(m);
	/* Misaligned: warn, align down, do it. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA + 5, 1), 0);
	assert_int_equal(vmlab_nr_warnings(m), w + 1);
	assert_false(prot_of(m, KVA) & VMLAB_PAGE_RW);
	assert_int_equal(vmlab_set_memory_rw(m, 0, KVA, 1), 0);
	/* Zero pages: nothing, no flush. */
	u64 f0 = C(m, tlbi_is);
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA, 0), 0);
	assert_true(prot_of(m, KVA) & VMLAB_PAGE_RW);
	assert_int_equal(C(m, tlbi_is), f0);
	/* Negative count, bad CPU, no machine. */
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA, -1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_memory_ro(m, -1, KVA, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_memory_ro(m, 2, KVA, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_memory_ro(NULL, 0, KVA, 1), -VMLAB_EINVAL);
	assert_true(prot_of(m, KVA) & VMLAB_PAGE_RW);
	/* Unmapped: a vmalloc hole, non-canonical (user addresses:
	 * test_user_address_arm64). */
	assert_int_equal(vmlab_set_memory_ro(m, 0, KVA + 64 * VMLAB_PAGE_SIZE, 1),
			 -VMLAB_EFAULT);
	assert_int_equal(vmlab_set_memory_nx(m, 0, 0x0001000000000000ULL, 1),
			 -VMLAB_EFAULT);
	assert_int_equal(vmlab_set_direct_map_invalid_noflush(
				 m, vmlab_nr_frames(m)),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_set_direct_map_default_noflush(NULL, 0),
			 -VMLAB_EINVAL);
	assert_false(vmlab_kernel_page_present(m, ~0ULL));
	vmlab_machine_destroy(m);
}

/*
 * Regression: init_mm's root on arm64 is the TTBR1 table, and a user
 * address's top-level index there is the linear map's (bits 47:39 of
 * 0x1000 and of PAGE_OFFSET are both 0).  The software walks used that
 * table for any address, so set_memory_x(0x1000) made the linear-map page
 * of PA 0x1000 executable (a W+X alias, no warning) and vmlab_translate()
 * found it.  A kernel thread's TTBR0 is reserved_pg_dir: init_mm
 * translates no user address.
 */
static void test_user_address_arm64(void **state)
{
	(void)state;
	struct vmlab_machine *m = dm_machine(VMLAB_GiB, true, 2);
	vmlab_pgprot_t before = prot_of(m, DM(1));
	assert_true(before & VMLAB_PAGE_NX);
	assert_int_equal(vmlab_set_memory_x(m, 0, 0x1000, 1), -VMLAB_EFAULT);
	assert_int_equal(vmlab_set_memory_ro(m, 0, 0x1000, 1), -VMLAB_EFAULT);
	assert_int_equal(prot_of(m, DM(1)), before);
	u64 pa;
	assert_int_equal(vmlab_translate(m, vmlab_init_mm(m), 0x1000, &pa, NULL,
					 NULL),
			 -VMLAB_ENOENT);
	vmlab_ptep_t p;
	assert_int_equal(vmlab_lookup_entry(m, vmlab_init_mm(m), 0x1000,
					    VMLAB_LVL_PTE, &p),
			 -VMLAB_ENOENT);
	/* Nor can one be mapped, unmapped or walked there. */
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), 0x400000, 0,
					 VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(t_unmap(m, 0, 0x1000, VMLAB_PAGE_SIZE, true),
			 -VMLAB_EINVAL);
	struct vmlab_walk_ops ops = {0};
	assert_int_equal(vmlab_walk_page_range(m, vmlab_init_mm(m), 0x1000,
					       0x2000, &ops, NULL),
			 -VMLAB_EINVAL);
	assert_int_equal(prot_of(m, DM(1)), before);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest x86[] = {
		cmocka_unit_test(test_boot_layout),
		cmocka_unit_test(test_split_one_page),
		cmocka_unit_test(test_ro_rw_same_page),
		cmocka_unit_test(test_whole_large_page_kept),
		cmocka_unit_test(test_2m_direct_map),
		cmocka_unit_test(test_ro_enforced),
		cmocka_unit_test(test_other_cpu_flushed),
		cmocka_unit_test(test_flush_ceiling),
		cmocka_unit_test(test_invalid_noflush_leaves_stale),
		cmocka_unit_test(test_np_p),
		cmocka_unit_test(test_default_noflush_drops_global),
		cmocka_unit_test(test_rox_collapse_pmd),
		cmocka_unit_test(test_rox_collapse_pud),
		cmocka_unit_test(test_rox_no_collapse),
		cmocka_unit_test(test_alias_vmalloc),
		cmocka_unit_test(test_cpa_hook),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_checker_quiet),
	};
	/* arm64 has no CPA splits, collapse, PCID or 33-page ceiling: its
	 * own rules, and the cases both share. */
	const struct CMUnitTest arm64[] = {
		cmocka_unit_test(test_boot_layout_arm64),
		cmocka_unit_test(test_linear_map_refused_arm64),
		cmocka_unit_test(test_ro_enforced),
		cmocka_unit_test(test_alias_vmalloc_arm64),
		cmocka_unit_test(test_invalid_noflush_arm64),
		cmocka_unit_test(test_cpa_hook),
		cmocka_unit_test(test_bad_input_arm64),
		cmocka_unit_test(test_user_address_arm64),
		cmocka_unit_test(test_checker_quiet),
	};
	if (t_arm64())
		return cmocka_run_group_tests(arm64, NULL, NULL);
	return cmocka_run_group_tests(x86, NULL, NULL);
}
