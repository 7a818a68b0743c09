/* SPDX-License-Identifier: MIT */
/*
 * The access path on the suite's architecture: TLB hits and misses, walks,
 * A/D (arm64 AF/DBM) updates, permission and spurious faults, flush
 * ceilings (x86's 33 pages by IPI, arm64's MAX_DVM_OPS broadcast TLBIs),
 * PCIDs or ASIDs, lazy TLB.
 */
#include <stdlib.h>

#include "helpers.h"

#define C(m, name) vmlab_counter(m, -1, VMLAB_C_##name)
/* The suite's vmalloc range: kernel mappings of the tests go there. */
#undef KVA
#define KVA T_VMALLOC_START

static void test_miss_then_hit_and_pwc(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 256 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_map(m, KVA + VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL);
	vmlab_counters_reset(m);
	t_read64(m, 1, KVA);
	assert_int_equal(C(m, walk), 1);
	assert_int_equal(C(m, walk_level), 4);
	assert_int_equal(C(m, tlb_l1_hit), 0);
	t_read64(m, 1, KVA + 8);
	assert_int_equal(C(m, walk), 1);
	assert_int_equal(C(m, tlb_l1_hit), 1);
	/* Same 2 MiB region: the PDE cache skips three levels. */
	t_read64(m, 1, KVA + VMLAB_PAGE_SIZE);
	assert_int_equal(C(m, walk), 2);
	assert_int_equal(C(m, walk_level), 5);
	assert_int_equal(C(m, pwc_hit), 1);
	vmlab_machine_destroy(m);
}

static u64 leaf_entry(struct vmlab_machine *m, u64 va)
{
	vmlab_ptep_t p;
	assert_int_equal(vmlab_lookup_entry(m, vmlab_init_mm(m), va, 0, &p), 0);
	return vmlab_get_entry(m, p);
}

/* The leaf's protection as the architecture decodes it. */
static vmlab_pgprot_t leaf_prot(struct vmlab_machine *m, u64 va)
{
	struct vmlab_pte_info in;
	vmlab_pte_decode(m, leaf_entry(m, va), VMLAB_LVL_PTE, &in);
	assert_int_equal(in.kind, VMLAB_PTE_LEAF);
	return in.prot;
}

static void test_accessed_dirty(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW | VMLAB_PAGE_NX);
	assert_false(leaf_prot(m, KVA) & VMLAB_PAGE_ACCESSED);
	t_read64(m, 0, KVA);
	assert_true(leaf_prot(m, KVA) & VMLAB_PAGE_ACCESSED);
	assert_false(leaf_prot(m, KVA) & VMLAB_PAGE_DIRTY);
	/* A write through the clean cached entry re-walks to set D (x86) or
	 * to clear AP[2] by DBM (arm64, hardware dirty management). */
	u64 w0 = C(m, walk), e0 = leaf_entry(m, KVA);
	t_write64(m, 0, KVA, 5);
	assert_true(leaf_prot(m, KVA) & VMLAB_PAGE_DIRTY);
	assert_int_equal(C(m, walk), w0 + 1);
	/* Only the dirty state changed: x86 D (bit 6); arm64 AP[2] (bit 7,
	 * read-only) cleared. */
	assert_int_equal(leaf_entry(m, KVA) ^ e0, t_arm64() ? 1ULL << 7
							    : 1ULL << 6);
	assert_int_equal(t_read64(m, 0, KVA), 5);
	vmlab_machine_destroy(m);
}

static void test_fault_error_codes(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL_RO);
	struct vmlab_fault f;
	u64 v = 1;
	assert_int_equal(vmlab_write(m, 0, KVA, &v, 8, &f), -VMLAB_EFAULT);
	assert_int_equal(f.error_code, VMLAB_PF_PROT | VMLAB_PF_WRITE);
	assert_int_equal(f.va, KVA);
	assert_int_equal(vmlab_fetch(m, 0, KVA, &v, 1, &f), -VMLAB_EFAULT);
	assert_int_equal(f.error_code, VMLAB_PF_PROT | VMLAB_PF_INSTR);
	assert_int_equal(vmlab_read(m, 0, KVA + 2 * VMLAB_PAGE_SIZE, &v, 8, &f),
			 -VMLAB_EFAULT);
	assert_int_equal(f.error_code, 0); /* not present, read, kernel */
	assert_int_equal(vmlab_access(m, 0, VMLAB_READ, KVA, &v, 8,
				      VMLAB_ACC_USER, &f),
			 -VMLAB_EFAULT);
	assert_int_equal(f.error_code, VMLAB_PF_PROT | VMLAB_PF_USER);
	assert_int_equal(C(m, page_fault), 4);
	vmlab_machine_destroy(m);
}

static void test_spurious_fault_after_upgrade(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL_RO);
	t_read64(m, 1, KVA); /* CPU 1 caches the read-only entry */
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	assert_int_equal(vmlab_protect_range(m, &tlb, KVA, VMLAB_PAGE_SIZE,
					     VMLAB_PAGE_RW, 0), 1);
	/* No flush yet: the stale read-only entry denies the write.  x86
	 * drops it and re-walks (no exception reaches the handler); arm64
	 * takes the permission fault, whose flush_tlb_fix_spurious_fault()
	 * is one local TLBI, and retries. */
	u64 tl0 = C(m, tlbi_local);
	t_write64(m, 1, KVA, 42);
	assert_int_equal(C(m, spurious_fault), 1);
	assert_int_equal(C(m, page_fault), t_arm64() ? 1 : 0);
	assert_int_equal(C(m, tlbi_local), tl0 + (t_arm64() ? 1 : 0));
	assert_int_equal(C(m, ipi_sent), 0);
	assert_int_equal(t_read64(m, 0, KVA), 42);
	vmlab_machine_destroy(m);
}

static void test_stale_entry_used_like_hardware(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_write64(m, 1, KVA, 1);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	vmlab_protect_range(m, &tlb, KVA, VMLAB_PAGE_SIZE, 0, VMLAB_PAGE_RW);
	/* Without the flush, CPU 1 still writes through its entry. */
	t_write64(m, 1, KVA, 2);
	assert_int_equal(t_read64(m, 1, KVA), 2);
	vmlab_tlb_finish_mmu(m, &tlb);
	struct vmlab_fault f;
	u64 v = 3;
	assert_int_equal(vmlab_write(m, 1, KVA, &v, 8, &f), -VMLAB_EFAULT);
	vmlab_machine_destroy(m);
}

/* x86: tlb_single_page_flush_ceiling, 33 pages by invlpg on every CPU
 * (IPIs to the others), above it a full flush everywhere. */
static void kernel_range_ceiling_x86(void)
{
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, false);
	vmlab_flush_tlb_kernel_range(m, 0, KVA, KVA + 33 * VMLAB_PAGE_SIZE);
	assert_int_equal(C(m, invlpg), 4 * 33);
	assert_int_equal(C(m, flush_global), 0);
	assert_int_equal(C(m, ipi_sent), 3);
	assert_int_equal(vmlab_counter(m, 0, VMLAB_C_ipi_received), 0);
	assert_int_equal(vmlab_counter(m, 2, VMLAB_C_ipi_received), 1);
	vmlab_counters_reset(m);
	vmlab_flush_tlb_kernel_range(m, 1, KVA, KVA + 34 * VMLAB_PAGE_SIZE);
	assert_int_equal(C(m, invlpg), 0);
	assert_int_equal(C(m, flush_global), 4);
	assert_int_equal(C(m, flush_kernel_range_full), 1);
	assert_int_equal(C(m, ipi_sent), 3);
	vmlab_machine_destroy(m);
}

/* arm64: one broadcast TLBI VAALE1IS per page from the issuing CPU, no
 * IPI, one DSB; from MAX_DVM_OPS (512) pages one TLBI VMALLE1IS
 * (__flush_tlb_range_limit_excess(), no FEAT_TLBIRANGE). */
static void kernel_range_ceiling_arm64(void)
{
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, false);
	t_map(m, KVA + 100 * VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL);
	for (int c = 0; c < 4; c++)
		t_read64(m, c, KVA + 100 * VMLAB_PAGE_SIZE);
	vmlab_counters_reset(m);
	vmlab_flush_tlb_kernel_range(m, 2, KVA, KVA + 511 * VMLAB_PAGE_SIZE);
	assert_int_equal(C(m, tlbi_is), 511);
	assert_int_equal(vmlab_counter(m, 2, VMLAB_C_tlbi_is), 511);
	assert_int_equal(C(m, pages_invalidated), 511);
	assert_int_equal(C(m, dsb), 1);
	assert_int_equal(C(m, flush_kernel_range), 1);
	assert_int_equal(C(m, flush_all), 0);
	assert_int_equal(C(m, ipi_sent), 0);
	assert_int_equal(C(m, invlpg), 0);
	/* Broadcast: no CPU keeps the page. */
	for (int c = 0; c < 4; c++)
		assert_int_equal(vmlab_tlb_probe(m, c, KVA + 100 * VMLAB_PAGE_SIZE,
						 NULL, NULL), -1);
	vmlab_counters_reset(m);
	vmlab_flush_tlb_kernel_range(m, 1, KVA, KVA + 512 * VMLAB_PAGE_SIZE);
	assert_int_equal(C(m, tlbi_is), 1);
	assert_int_equal(C(m, dsb), 1);
	assert_int_equal(C(m, flush_kernel_range_full), 1);
	/* One flush, counted once (not also as a flush_tlb_all()). */
	assert_int_equal(C(m, flush_all), 0);
	assert_int_equal(C(m, pages_invalidated), 0);
	assert_int_equal(C(m, ipi_sent), 0);
	/* 34 pages, past x86's ceiling, are still per page here. */
	vmlab_counters_reset(m);
	vmlab_flush_tlb_kernel_range(m, 0, KVA, KVA + 34 * VMLAB_PAGE_SIZE);
	assert_int_equal(C(m, tlbi_is), 34);
	assert_int_equal(C(m, flush_kernel_range_full), 0);
	vmlab_machine_destroy(m);
}

static void test_kernel_range_ceiling(void **state)
{
	(void)state;
	if (t_arm64())
		kernel_range_ceiling_arm64();
	else
		kernel_range_ceiling_x86();
}

static void test_large_pages_fracture_in_itlb(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 2 * VMLAB_GiB, false);
	u64 va = KVA + VMLAB_GiB;
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), va, VMLAB_GiB,
					 VMLAB_GiB, VMLAB_PAGE_KERNEL_ROX,
					 VMLAB_MAP_HUGE_PUD),
			 0);
	u8 b;
	assert_int_equal(vmlab_fetch(m, 0, va + 5 * VMLAB_PMD_SIZE + 3, &b, 1,
				     NULL), 0);
	u64 pfn;
	/* dTLB-less probe finds the fractured 2M iTLB or 1G STLB entry. */
	int lvl = vmlab_tlb_probe(m, 0, va + 5 * VMLAB_PMD_SIZE, &pfn, NULL);
	assert_true(lvl >= 1);
	assert_int_equal(pfn, (VMLAB_GiB + 5 * VMLAB_PMD_SIZE) >> 12);
	/* A second fetch in the same 2 MiB hits the iTLB. */
	u64 w = C(m, walk);
	assert_int_equal(vmlab_fetch(m, 0, va + 5 * VMLAB_PMD_SIZE + 4096, &b,
				     1, NULL), 0);
	assert_int_equal(C(m, walk), w);
	vmlab_machine_destroy(m);
}

/* Entries are tagged (x86 PCID, arm64 ASID): switching back to an mm
 * finds its entries still cached, nothing flushed on the switch. */
/*
 * x86_load_mm flushes a recycled PCID with loaded_mm already the new mm
 * and the slot still naming the old one; with the checker on the flush
 * is eager, and every 512th eager drop runs tlb_check(), which asserted
 * that the slot names loaded_mm.  Eight mms over six slots: every switch
 * flushes, so the 512th lands in the window (debug builds aborted; found
 * by fuzz_ops in clean mode).
 */
static void test_switch_flush_debug_tick(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, true);
	struct vmlab_mm *mm[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(vmlab_mm_create(m, &mm[i]), 0);
	u64 before = C(m, asid_new);
	for (int i = 0; i < 2048; i++)
		vmlab_switch_mm(m, 0, mm[i % 8]);
	/* x86: a new ASID (and its flush) on every switch; arm64 has no
	 * such slot array and allocates once per mm. */
	if (!t_arm64())
		assert_int_equal(C(m, asid_new) - before, 2048);
	vmlab_switch_mm(m, 0, vmlab_init_mm(m));
	for (int i = 7; i >= 0; i--)
		vmlab_mm_destroy(m, mm[i]);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

static void test_pcid_keeps_entries_across_switch(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_mm *a, *b;
	assert_int_equal(vmlab_mm_create(m, &a), 0);
	assert_int_equal(vmlab_mm_create(m, &b), 0);
	u64 pa = t_page(m) << 12, pb = t_page(m) << 12;
	assert_int_equal(vmlab_map_range(m, a, 0x400000, pa, 4096,
					 VMLAB_PAGE_USER_RW, 0), 0);
	assert_int_equal(vmlab_map_range(m, b, 0x400000, pb, 4096,
					 VMLAB_PAGE_USER_RW, 0), 0);
	vmlab_switch_mm(m, 0, a);
	u64 v = 0xaa;
	assert_int_equal(vmlab_access(m, 0, VMLAB_WRITE, 0x400000, &v, 8,
				      VMLAB_ACC_USER, NULL), 0);
	vmlab_switch_mm(m, 0, b);
	v = 0xbb;
	assert_int_equal(vmlab_access(m, 0, VMLAB_WRITE, 0x400000, &v, 8,
				      VMLAB_ACC_USER, NULL), 0);
	u64 walks = C(m, walk);
	u64 flushes = C(m, tlbi_local) + C(m, flush_local);
	if (t_arm64())
		assert_int_equal(flushes, 0);
	vmlab_switch_mm(m, 0, a);
	assert_int_equal(vmlab_access(m, 0, VMLAB_READ, 0x400000, &v, 8,
				      VMLAB_ACC_USER, NULL), 0);
	assert_int_equal(v, 0xaa);
	assert_int_equal(C(m, walk), walks); /* still cached under a's tag */
	/* The switch back flushed nothing (x86 flushes a PCID slot when it
	 * is first given to an mm; arm64's new ASIDs need no flush). */
	assert_int_equal(C(m, tlbi_local) + C(m, flush_local), flushes);
	if (t_arm64())
		assert_int_equal(C(m, asid_new), 2);
	struct vmlab_mmu_gather tlb;
	vmlab_switch_mm(m, 0, vmlab_init_mm(m));
	vmlab_tlb_gather_mmu(&tlb, a, 0);
	vmlab_unmap_range(m, &tlb, 0x400000, 4096, true);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_tlb_gather_mmu(&tlb, b, 0);
	vmlab_unmap_range(m, &tlb, 0x400000, 4096, true);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_mm_destroy(m, a);
	vmlab_mm_destroy(m, b);
	vmlab_machine_destroy(m);
}

/* x86: a lazy-TLB CPU gets no IPI for a range flush and flushes when
 * it switches back; freed page tables reach it anyway. */
static void lazy_cpu_x86(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, false);
	assert_int_equal(C(m, ipi_sent), 0);
	assert_int_equal(C(m, ipi_skipped_lazy), 1);
	assert_true(vmlab_tlb_probe(m, 1, 0x400000, NULL, NULL) >= 0);
	vmlab_switch_mm(m, 1, mm); /* back from the kernel thread */
	assert_int_equal(vmlab_tlb_probe(m, 1, 0x400000, NULL, NULL), -1);
	/* Freed page tables: the lazy CPU must be told. */
	vmlab_enter_lazy_tlb(m, 1);
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, true);
	assert_int_equal(C(m, ipi_sent), 1);
	assert_ptr_equal(vmlab_cpu_mm(m, 1), vmlab_init_mm(m));
}

/* arm64: the broadcast TLBI by ASID reaches the lazy CPU's TLB at once;
 * nothing is skipped, nothing is deferred to its switch, no IPI. */
static void lazy_cpu_arm64(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, false);
	assert_int_equal(C(m, ipi_sent), 0);
	assert_int_equal(C(m, ipi_skipped_lazy), 0);
	assert_int_equal(C(m, tlbi_is), 1);
	assert_int_equal(C(m, dsb), 1);
	assert_int_equal(vmlab_tlb_probe(m, 1, 0x400000, NULL, NULL), -1);
	/* Back from the kernel thread: the same ASID, nothing to flush. */
	u64 tl = C(m, tlbi_local);
	vmlab_switch_mm(m, 1, mm);
	assert_int_equal(C(m, tlbi_local), tl);
	/* Freed tables: the same one broadcast, non-last-level this time. */
	vmlab_enter_lazy_tlb(m, 1);
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, true);
	assert_int_equal(C(m, ipi_sent), 0);
	assert_int_equal(C(m, tlbi_is), 2);
	vmlab_switch_mm(m, 1, vmlab_init_mm(m));
}

/* CPU 1 caches a user page of mm, then runs a kernel thread (lazy TLB)
 * while CPU 0 flushes the page. */
static void test_lazy_cpu_skipped_then_catches_up(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	struct vmlab_mm *mm;
	assert_int_equal(vmlab_mm_create(m, &mm), 0);
	u64 pa = t_page(m) << 12;
	assert_int_equal(vmlab_map_range(m, mm, 0x400000, pa, 4096,
					 VMLAB_PAGE_USER_RW, 0), 0);
	vmlab_switch_mm(m, 0, mm);
	vmlab_switch_mm(m, 1, mm);
	u64 v;
	assert_int_equal(vmlab_access(m, 1, VMLAB_READ, 0x400000, &v, 8,
				      VMLAB_ACC_USER, NULL), 0);
	vmlab_enter_lazy_tlb(m, 1);
	assert_true(vmlab_tlb_probe(m, 1, 0x400000, NULL, NULL) >= 0);
	vmlab_counters_reset(m);
	if (t_arm64())
		lazy_cpu_arm64(m, mm);
	else
		lazy_cpu_x86(m, mm);
	vmlab_switch_mm(m, 0, vmlab_init_mm(m));
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, mm, 0);
	vmlab_unmap_range(m, &tlb, 0x400000, 4096, true);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_mm_destroy(m, mm);
	vmlab_machine_destroy(m);
}

/* should_trim_cpumask() runs only on the flush_tlb_multi() path (another
 * CPU in mm_cpumask): a local-only flush after the deadline leaves it
 * where it was, so the next flush that reaches another CPU still trims
 * that CPU's stale bit.  (The model used to consume the deadline on every
 * flush: the trim then waited another simulated second.) */
static void test_trim_deadline_not_consumed_by_local_flush(void **state)
{
	(void)state;
	if (t_arm64())
		return; /* x86's IPI shootdown; arm64 broadcasts, trims nothing */
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	struct vmlab_mm *mm, *other;
	assert_int_equal(vmlab_mm_create(m, &mm), 0);
	assert_int_equal(vmlab_mm_create(m, &other), 0);
	vmlab_switch_mm(m, 0, mm);
	assert_false(vmlab_mm_cpumask_test(mm, 1));
	/* Past the deadline: two simulated seconds per PTE store (the
	 * clock weighs the counters with the current cost table). */
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	struct vmlab_cost cost = cfg.cost;
	cost.pte_write = 2e9;
	vmlab_set_cost(m, &cost);
	u64 pa = t_page(m) << 12;
	assert_int_equal(vmlab_map_range(m, mm, 0x400000, pa, 4096,
					 VMLAB_PAGE_USER_RW, 0), 0);
	/* Only CPU 0 in the mask: flush_tlb_func() locally, no trim. */
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, false);
	/* CPU 1 runs mm, then leaves its bit behind (lazy mm_cpumask). */
	vmlab_switch_mm(m, 1, mm);
	vmlab_switch_mm(m, 1, other);
	assert_true(vmlab_mm_cpumask_test(mm, 1));
	/* No counter reset here: it would take the clock back to 0. */
	u64 ipis = C(m, ipi_sent);
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, false);
	assert_int_equal(C(m, ipi_sent), ipis + 1); /* the trim's IPI */
	assert_false(vmlab_mm_cpumask_test(mm, 1));
	/* The deadline moved now: the next flush trims nothing. */
	vmlab_switch_mm(m, 1, mm);
	vmlab_switch_mm(m, 1, other);
	ipis = C(m, ipi_sent);
	vmlab_flush_tlb_mm_range(m, 0, mm, 0x400000, 0x401000, 12, false);
	assert_int_equal(C(m, ipi_sent), ipis);
	assert_true(vmlab_mm_cpumask_test(mm, 1));
	vmlab_switch_mm(m, 0, vmlab_init_mm(m));
	vmlab_switch_mm(m, 1, vmlab_init_mm(m));
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, mm, 0);
	vmlab_unmap_range(m, &tlb, 0x400000, 4096, true);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_mm_destroy(m, mm);
	vmlab_mm_destroy(m, other);
	vmlab_machine_destroy(m);
}

static enum vmlab_fault_ret map_on_fault(struct vmlab_machine *m,
					 const struct vmlab_fault *f, void *ctx)
{
	int *calls = ctx;
	(*calls)++;
	u64 pfn;
	if (vmlab_alloc_pages(m, f->cpu, 0, &pfn))
		return VMLAB_FAULT_FAIL;
	vmlab_map_range(m, vmlab_init_mm(m), f->va & VMLAB_PAGE_MASK,
			pfn << 12, 4096, VMLAB_PAGE_KERNEL, 0);
	return VMLAB_FAULT_RETRY;
}

static void test_fault_handler_retry(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	int calls = 0;
	vmlab_set_fault_handler(m, map_on_fault, &calls);
	t_write64(m, 0, KVA + 0x5000, 77);
	assert_int_equal(calls, 1);
	assert_int_equal(t_read64(m, 0, KVA + 0x5000), 77);
	/* An access crossing into an unmapped page faults on the second. */
	u8 buf[16] = {0};
	assert_int_equal(vmlab_write(m, 0, KVA + 0x5ff8, buf, 16, NULL), 0);
	assert_int_equal(calls, 2);
	vmlab_machine_destroy(m);
}

static void test_inline_accessors(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	u64 v = 0;
	/* First use misses and falls back; then the inline path hits. */
	assert_int_equal(vmlab_write_u64(m, 1, KVA + 16, 0x1122), 0);
	assert_int_equal(vmlab_write_u64(m, 1, KVA + 24, 0x3344), 0);
	u64 hits = vmlab_counter(m, 1, VMLAB_C_tlb_l1_hit);
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 16, &v), 0);
	assert_int_equal(v, 0x1122);
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 24, &v), 0);
	assert_int_equal(v, 0x3344);
	assert_true(vmlab_counter(m, 1, VMLAB_C_tlb_l1_hit) >= hits + 2);
	assert_int_equal(t_read64(m, 0, KVA + 24), 0x3344);
	/* Misaligned, bad CPU and unmapped go through the checked path. */
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 3, &v), 0);
	assert_int_equal(vmlab_read_u64(m, 7, KVA, &v), -VMLAB_EINVAL);
	/* Ids past VMLAB_MAX_CPUS and negative ones: never the fast view's
	 * table (no hit through another CPU's block, no read past it). */
	assert_int_equal(vmlab_read_u64(m, VMLAB_MAX_CPUS, KVA, &v),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_read_u64(m, -1, KVA, &v), -VMLAB_EINVAL);
	assert_int_equal(vmlab_write_u64(m, VMLAB_MAX_CPUS - 1, KVA, 1),
			 -VMLAB_EINVAL);
	/* An error leaves *out alone. */
	v = 0x5a5a;
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 8192, &v), -VMLAB_EFAULT);
	assert_int_equal(v, 0x5a5a);
	/* The inline hit counts on the CPU that hit, not on CPU 0. */
	u64 h0 = vmlab_counter(m, 0, VMLAB_C_tlb_l1_hit);
	hits = vmlab_counter(m, 1, VMLAB_C_tlb_l1_hit);
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 16, &v), 0);
	assert_int_equal(vmlab_counter(m, 1, VMLAB_C_tlb_l1_hit), hits + 1);
	assert_int_equal(vmlab_counter(m, 0, VMLAB_C_tlb_l1_hit), h0);
	/* After a flushed unmap the inline path must not hit. */
	t_unmap(m, 0, KVA, 4096, true);
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 16, &v), -VMLAB_EFAULT);
	assert_int_equal(vmlab_write_u64(m, 1, KVA + 16, 1), -VMLAB_EFAULT);
	vmlab_machine_destroy(m);
}

/* ---- generation flushes give the same machine as eager ones ---- */

static void noop_drop(void *ctx, struct vmlab_machine *m, int cpu,
		      const struct vmlab_tlbe *e)
{
	(void)m;
	(void)cpu;
	(void)e;
	++*(u64 *)ctx;
}

#define GEN_UVA 0x400000ULL
#define GEN_PAGES 600 /* more than the L1 and enough to evict in L2 */

struct gen_run {
	u64 hash, drops_seen, resurrected;
	u64 cnt[VMLAB_NR_COUNTERS];
	u32 occ[2];
	int probe[2][64];
};

/*
 * A seeded mix of user and kernel (global) accesses, context switches
 * among three mms, local/global/one-page and mm flushes, 3000 full flushes
 * of one PCID or ASID (the 10-bit generation wraps): run with and without an
 * observer that wants every drop, which makes flushes eager scans.
 */
static void gen_workload(bool eager, struct gen_run *r)
{
	struct vmlab_machine *m = t_machine(2, 256 * VMLAB_MiB, false);
	static const struct vmlab_observer obs = {.name = "drops",
						  .tlb_drop = noop_drop};
	if (eager)
		assert_int_equal(vmlab_observer_register(m, &obs, &r->drops_seen),
				 0);
	struct vmlab_mm *mm[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vmlab_mm_create(m, &mm[i]), 0);
		u64 pfn = t_page(m);
		for (u64 p = 0; p < GEN_PAGES; p++)
			assert_int_equal(vmlab_map_range(m, mm[i],
							 GEN_UVA + p * VMLAB_PAGE_SIZE,
							 pfn << VMLAB_PAGE_SHIFT,
							 VMLAB_PAGE_SIZE,
							 VMLAB_PAGE_USER_RW, 0),
					 0);
	}
	for (u64 p = 0; p < 64; p++)
		t_map(m, KVA + p * VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL);
	u64 x = 12345;
	for (int i = 0; i < 20000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		int cpu = (int)(x >> 63);
		u64 r8 = (x >> 40) & 0xff, pg = (x >> 20) % GEN_PAGES, v;
		if (r8 < 8) {
			vmlab_switch_mm(m, cpu, mm[(x >> 10) % 3]);
		} else if (r8 < 10) {
			vmlab_flush_tlb_local(m, cpu);
		} else if (r8 < 11) {
			vmlab_flush_tlb_global(m, cpu);
		} else if (r8 < 14) {
			vmlab_flush_tlb_one(m, cpu, KVA + (pg % 64) * VMLAB_PAGE_SIZE);
		} else if (r8 < 16) {
			vmlab_flush_tlb_mm_range(m, cpu, mm[(x >> 10) % 3],
						 GEN_UVA, VMLAB_TLB_FLUSH_ALL, 12,
						 false);
		} else if (r8 < 120) {
			vmlab_read(m, cpu, KVA + (pg % 64) * VMLAB_PAGE_SIZE, &v, 8,
				   NULL);
		} else {
			vmlab_access(m, cpu, VMLAB_READ,
				     GEN_UVA + pg * VMLAB_PAGE_SIZE, &v, 8,
				     VMLAB_ACC_USER, NULL);
		}
	}
	vmlab_switch_mm(m, 0, mm[0]);
	/* Cached once in sets the loop never touches: a flushed entry must
	 * not come back when the generation wraps around to its value. */
	const u64 lone = GEN_UVA + 300 * VMLAB_PAGE_SIZE;
	u64 v;
	vmlab_access(m, 0, VMLAB_READ, lone, &v, 8, VMLAB_ACC_USER, NULL);
	for (int i = 0; i < 3000; i++) {
		vmlab_access(m, 0, VMLAB_READ, GEN_UVA + (u64)(i % 7) * 4096, &v,
			     8, VMLAB_ACC_USER, NULL);
		vmlab_read(m, 0, KVA, &v, 8, NULL);
		vmlab_flush_tlb_local(m, 0);
		r->resurrected += vmlab_tlb_probe(m, 0, lone, NULL, NULL) >= 0;
	}
	for (int c = 0; c < 2; c++) {
		r->occ[c] = vmlab_tlb_occupancy(m, c);
		for (int p = 0; p < 64; p++)
			r->probe[c][p] = vmlab_tlb_probe(
				m, c, p < 32 ? KVA + (u64)p * 4096
					     : GEN_UVA + (u64)p * 4096,
				NULL, NULL);
	}
	r->hash = vmlab_trace_hash(m);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		r->cnt[c] = vmlab_counter(m, -1, (enum vmlab_counter)c);
	for (int i = 0; i < 3; i++)
		vmlab_mm_destroy(m, mm[i]);
	vmlab_machine_destroy(m);
}

static void test_generation_flush_equals_eager(void **state)
{
	(void)state;
	struct gen_run *r = calloc(2, sizeof(*r));
	assert_non_null(r);
	gen_workload(false, &r[0]);
	gen_workload(true, &r[1]);
	assert_int_equal(r[0].hash, r[1].hash);
	assert_int_equal(r[0].resurrected, 0);
	assert_int_equal(r[1].resurrected, 0);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		assert_int_equal(r[0].cnt[c], r[1].cnt[c]);
	assert_memory_equal(r[0].occ, r[1].occ, sizeof(r[0].occ));
	assert_memory_equal(r[0].probe, r[1].probe, sizeof(r[0].probe));
	/* The workload did flush and evict, and something stayed cached. */
	assert_true(r[0].cnt[t_arm64() ? VMLAB_C_tlbi_local
				       : VMLAB_C_flush_local] > 3000);
	assert_true(r[0].cnt[VMLAB_C_tlb_entries_dropped] > 1000);
	assert_true(r[1].drops_seen > 1000 && r[0].occ[0] + r[0].occ[1] > 0);
	free(r);
}

/* ---- the common miss's one-go path gives the general path's machine ---- */

static void count_pwc_use(void *ctx, struct vmlab_machine *m, int cpu, u64 va,
			  int level, u64 table_pfn)
{
	(void)m;
	(void)cpu;
	(void)va;
	(void)level;
	(void)table_pfn;
	++*(u64 *)ctx;
}

struct probe_run {
	u64 hash, uses;
	u64 cnt[VMLAB_NR_COUNTERS];
	u32 occ[2];
	int probe[2][96];
	u64 pfn[2][96];
};

#define PR_UVA 0x40000000ULL /* 1 GiB: regions below are apart in it */

/* The pages of the workload: 32 in one PTE table (PWC PTE-table hits),
 * 32 one per 2 MiB in one PMD table (PMD-table hits), 32 one per 1 GiB
 * (full walks), half of them written once before (host bytes), half
 * never (the general path's frame_content). */
static u64 pr_va(int i)
{
	return i < 32 ? PR_UVA + (u64)i * VMLAB_PAGE_SIZE
	       : i < 64 ? PR_UVA + (u64)(i - 32 + 1) * VMLAB_PMD_SIZE
			: PR_UVA + (u64)(i - 64 + 1) * VMLAB_PUD_SIZE;
}

/*
 * A seeded mix on two CPUs of reads, writes (clean pages get D on the
 * general path), fetches (NX pages fault), user and kernel accesses, a 2
 * MiB kernel mapping (large-page arrays in use), switches and flushes:
 * with and without an observer of PWC uses, which sends every miss down
 * the general path.  The machines must come out the same.
 */
static void probe_workload(bool general, struct probe_run *r)
{
	struct vmlab_machine *m = t_machine(2, 256 * VMLAB_MiB, false);
	static const struct vmlab_observer obs = {.name = "pwc",
						  .pwc_use = count_pwc_use};
	if (general)
		assert_int_equal(vmlab_observer_register(m, &obs, &r->uses), 0);
	struct vmlab_mm *mm[2];
	for (int k = 0; k < 2; k++) {
		assert_int_equal(vmlab_mm_create(m, &mm[k]), 0);
		for (int i = 0; i < 96; i++) {
			u64 pfn = t_page(m);
			assert_int_equal(vmlab_map_range(m, mm[k], pr_va(i),
							 pfn << VMLAB_PAGE_SHIFT,
							 VMLAB_PAGE_SIZE,
							 VMLAB_PAGE_USER_RW, 0),
					 0);
			if (i % 2)
				vmlab_phys_fill(m, pfn << VMLAB_PAGE_SHIFT,
						(int)i, 64);
		}
	}
	for (u64 p = 0; p < 64; p++)
		t_map(m, KVA + p * VMLAB_PAGE_SIZE,
		      p % 3 ? VMLAB_PAGE_KERNEL : VMLAB_PAGE_KERNEL_ROX);
	u64 big = KVA + VMLAB_GiB;
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), big,
					 32 * VMLAB_MiB, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL, VMLAB_MAP_HUGE_PMD),
			 0);
	vmlab_switch_mm(m, 0, mm[0]);
	vmlab_switch_mm(m, 1, mm[1]);
	u64 x = 777;
	for (int i = 0; i < 30000; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		int cpu = (int)(x >> 63);
		u64 r8 = (x >> 40) & 0xff, pg = (x >> 20) % 96, v = 0;
		u64 uva = pr_va((int)pg) + ((x >> 8) & 0xff8);
		u64 kva = KVA + (pg % 64) * VMLAB_PAGE_SIZE;
		if (r8 < 3)
			vmlab_switch_mm(m, cpu, mm[(x >> 10) & 1]);
		else if (r8 < 5)
			vmlab_flush_tlb_local(m, cpu);
		else if (r8 < 6)
			vmlab_flush_tlb_global(m, cpu);
		else if (r8 < 8)
			vmlab_flush_tlb_one(m, cpu, uva);
		else if (r8 < 40)
			vmlab_read(m, cpu, kva, &v, 8, NULL);
		else if (r8 < 50)
			vmlab_write(m, cpu, kva, &x, 8, NULL);
		else if (r8 < 60)
			vmlab_fetch(m, cpu, kva, &v, 4, NULL);
		else if (r8 < 70)
			vmlab_read(m, cpu, big + (pg << 16), &v, 8, NULL);
		else if (r8 < 80)
			vmlab_access(m, cpu, VMLAB_WRITE, uva, &x, 8,
				     VMLAB_ACC_USER, NULL);
		else if (r8 < 85)
			vmlab_access(m, cpu, VMLAB_FETCH, uva, &v, 4,
				     VMLAB_ACC_USER, NULL);
		else
			vmlab_access(m, cpu, VMLAB_READ, uva, &v, 8,
				     VMLAB_ACC_USER, NULL);
	}
	for (int c = 0; c < 2; c++) {
		r->occ[c] = vmlab_tlb_occupancy(m, c);
		for (int p = 0; p < 96; p++)
			r->probe[c][p] = vmlab_tlb_probe(
				m, c, p < 64 ? pr_va(p) : KVA + (u64)(p - 64) * 4096,
				&r->pfn[c][p], NULL);
	}
	r->hash = vmlab_trace_hash(m);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		r->cnt[c] = vmlab_counter(m, -1, (enum vmlab_counter)c);
	for (int k = 0; k < 2; k++)
		vmlab_mm_destroy(m, mm[k]);
	vmlab_machine_destroy(m);
}

static void test_miss_probe_equals_general(void **state)
{
	(void)state;
	struct probe_run *r = calloc(2, sizeof(*r));
	assert_non_null(r);
	probe_workload(false, &r[0]);
	probe_workload(true, &r[1]);
	assert_int_equal(r[0].hash, r[1].hash);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++) {
		if (r[0].cnt[c] != r[1].cnt[c])
			print_error("counter %s: %llu vs %llu\n",
				    vmlab_counter_name((enum vmlab_counter)c),
				    (unsigned long long)r[0].cnt[c],
				    (unsigned long long)r[1].cnt[c]);
		assert_int_equal(r[0].cnt[c], r[1].cnt[c]);
	}
	assert_memory_equal(r[0].occ, r[1].occ, sizeof(r[0].occ));
	assert_memory_equal(r[0].probe, r[1].probe, sizeof(r[0].probe));
	assert_memory_equal(r[0].pfn, r[1].pfn, sizeof(r[0].pfn));
	/* The workload hit the PWC at both levels, walked in full, wrote
	 * clean pages, faulted, and kept entries cached. */
	assert_true(r[1].uses == r[0].cnt[VMLAB_C_pwc_hit] &&
		    r[1].uses > 1000);
	assert_true(r[0].cnt[VMLAB_C_walk_level] >
		    2 * r[0].cnt[VMLAB_C_walk]);
	assert_true(r[0].cnt[VMLAB_C_ad_update] > 0 &&
		    r[0].cnt[VMLAB_C_page_fault] > 0);
	assert_true(r[0].occ[0] + r[0].occ[1] > 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_then_hit_and_pwc),
		cmocka_unit_test(test_accessed_dirty),
		cmocka_unit_test(test_fault_error_codes),
		cmocka_unit_test(test_spurious_fault_after_upgrade),
		cmocka_unit_test(test_stale_entry_used_like_hardware),
		cmocka_unit_test(test_kernel_range_ceiling),
		cmocka_unit_test(test_large_pages_fracture_in_itlb),
		cmocka_unit_test(test_pcid_keeps_entries_across_switch),
		cmocka_unit_test(test_switch_flush_debug_tick),
		cmocka_unit_test(test_lazy_cpu_skipped_then_catches_up),
		cmocka_unit_test(test_trim_deadline_not_consumed_by_local_flush),
		cmocka_unit_test(test_fault_handler_retry),
		cmocka_unit_test(test_inline_accessors),
		cmocka_unit_test(test_generation_flush_equals_eager),
		cmocka_unit_test(test_miss_probe_equals_general),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
