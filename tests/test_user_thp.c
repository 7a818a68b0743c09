/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages in user mappings (mm/huge_memory.c,
 * mm/khugepaged.c; semantics after tools/testing/selftests/mm transhuge,
 * khugepaged and guard-regions): the fault per mode and flags, alignment,
 * the huge zero page, the 2 MiB TLB entry, split_huge_pmd on partial
 * munmap / mprotect / DONTNEED / VMA split with its flush, whole-PMD zap
 * and protect, fork, mremap, guard install and remove, MADV_COLLAPSE and
 * khugepaged with their limits and the guard-marker abort, the counters,
 * and that every frame comes back.  The checker runs throughout.
 */
#include <errno.h>
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

/* n PMD-aligned 2 MiB ranges of a fresh private anonymous VMA. */
static u64 region(struct env *e, u64 n)
{
	s64 a = vmlab_mmap(e->mm, 0, (n + 1) * M, RW, ANON, NULL, 0);
	assert_true(a > 0);
	return ((u64)a + M - 1) & ~(M - 1);
}

static void wr(struct env *e, int cpu, u64 va, u8 v)
{
	assert_int_equal(vmlab_user_write8(e->mm, cpu, va, v), VMLAB_OK);
}

static u8 rd(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u8 v = 0xee;
	assert_int_equal(vmlab_user_read8(mm, cpu, va, &v), VMLAB_OK);
	return v;
}

static bool huge(struct vmlab_user_mm *mm, u64 va)
{
	int r = vmlab_user_thp_mapped(mm, va);
	assert_true(r == 0 || r == 1);
	return r;
}

static u64 rss_anon(struct vmlab_user_mm *mm)
{
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	return st.rss_anon;
}

static void test_fault_modes(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_get_thp(e.m), VMLAB_THP_NEVER);
	u64 a = region(&e, 2);
	wr(&e, 0, a, 1);
	assert_false(huge(e.mm, a));
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_MADVISE), 0);
	wr(&e, 0, a + M, 1);
	assert_false(huge(e.mm, a + M)); /* no VM_HUGEPAGE */
	u64 b = region(&e, 1);
	assert_int_equal(vmlab_madvise(e.mm, b, M, VMLAB_MADV_HUGEPAGE), 0);
	u64 r0 = rss_anon(e.mm);
	wr(&e, 0, b + 77 * P, 9);
	assert_true(huge(e.mm, b));
	assert_int_equal(rss_anon(e.mm) - r0, 512);
	assert_int_equal(vs(&e).thp_fault_alloc, 1);
	assert_int_equal(rd(e.mm, 1, b + 77 * P), 9);
	assert_int_equal(rd(e.mm, 1, b), 0);
	struct vmlab_vma_info in;
	assert_int_equal(vmlab_user_vma_at(e.mm, b, &in), 0);
	assert_int_equal(in.thp_pages, 512);
	/* always, and the opt-outs */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 c = region(&e, 3);
	assert_int_equal(vmlab_madvise(e.mm, c, M, VMLAB_MADV_NOHUGEPAGE), 0);
	wr(&e, 0, c, 1);
	assert_false(huge(e.mm, c));
	assert_int_equal(vmlab_prctl_set_thp_disable(e.mm, true), 0);
	assert_int_equal(vmlab_prctl_get_thp_disable(e.mm), 1);
	wr(&e, 0, c + M, 1);
	assert_false(huge(e.mm, c + M));
	assert_int_equal(vmlab_prctl_set_thp_disable(e.mm, false), 0);
	wr(&e, 0, c + 2 * M, 1);
	assert_true(huge(e.mm, c + 2 * M));
	assert_int_equal(vmlab_user_set_thp(e.m, 3), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_thp(e.m, -1), -VMLAB_EINVAL);
	t_done(&e);
}

/* Only a PMD-aligned 2 MiB wholly inside the VMA; the edges are 4 KiB. */
static void test_alignment(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	/* a VMA under 2 MiB never has one (made first: a later one could
	 * land next to the trimmed VMA below and merge with it) */
	s64 small = vmlab_mmap(e.mm, 0, M - P, RW, ANON, NULL, 0);
	assert_true(small > 0);
	wr(&e, 0, (u64)small, 1);
	assert_false(huge(e.mm, (u64)small));
	u64 h = region(&e, 3);
	/* the VMA [h + 1 MiB, h + 5 MiB / 2): one whole PMD range inside */
	assert_int_equal(vmlab_munmap(e.mm, h, M / 2), 0);
	assert_int_equal(vmlab_munmap(e.mm, h + 2 * M + M / 2, M / 2), 0);
	wr(&e, 0, h + M / 2, 1);
	assert_false(huge(e.mm, h + M / 2)); /* PMD range starts before */
	wr(&e, 0, h + M + 5, 1);
	assert_true(huge(e.mm, h + M));
	wr(&e, 0, h + 2 * M + P, 1);
	assert_false(huge(e.mm, h + 2 * M)); /* ends past the VMA */
	/* a PTE table already there: the fault stays at the PTE level */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_NEVER), 0);
	u64 t = region(&e, 1);
	wr(&e, 0, t, 1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	wr(&e, 0, t + P, 1);
	assert_false(huge(e.mm, t));
	assert_int_equal(vs(&e).thp_fault_alloc, 1);
	t_done(&e);
}

static void test_huge_zero_page(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 a = region(&e, 2);
	assert_int_equal(rd(e.mm, 0, a + 3 * P), 0);
	assert_true(huge(e.mm, a));
	assert_int_equal(rss_anon(e.mm), 0); /* the zero page counts nowhere */
	assert_int_equal(rd(e.mm, 1, a + M), 0);
	assert_int_equal(vs(&e).thp_zero_page_alloc, 1); /* allocated once */
	assert_int_equal(vs(&e).thp_fault_alloc, 0);
	u64 pm = 0;
	assert_int_equal(vmlab_pagemap_read(e.mm, a + 3 * P, &pm, 1), 1);
	assert_true(pm & VMLAB_PM_PRESENT);
	/* a write replaces it with a THP */
	wr(&e, 1, a + 5 * P, 4);
	assert_true(huge(e.mm, a));
	assert_int_equal(vs(&e).thp_fault_alloc, 1);
	assert_int_equal(rd(e.mm, 0, a + 5 * P), 4);
	assert_int_equal(rss_anon(e.mm), 512);
	/* a split of the zero PMD maps the 4 KiB zero page 512 times */
	assert_int_equal(vmlab_munmap(e.mm, a + M + 7 * P, P), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_int_equal(rd(e.mm, 0, a + M + 8 * P), 0);
	assert_int_equal(rss_anon(e.mm), 512);
	/* use_zero_page off: a read fault allocates a THP */
	assert_int_equal(vmlab_user_set_thp_zero_page(e.m, false), 0);
	u64 b = region(&e, 1);
	assert_int_equal(rd(e.mm, 0, b), 0);
	assert_true(huge(e.mm, b));
	assert_int_equal(vs(&e).thp_fault_alloc, 2);
	assert_int_equal(rss_anon(e.mm), 1024);
	t_done(&e);
}

/* One 2 MiB TLB entry (x86 PS, arm64 block); split flushes it. */
static void test_tlb_entry_and_split_flush(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 a = region(&e, 1);
	wr(&e, 0, a, 1);
	assert_int_equal(rd(e.mm, 1, a + 100 * P), 0);
	assert_int_equal(vmlab_tlb_probe(e.m, 1, a + 100 * P, NULL, NULL),
			 VMLAB_LVL_PMD);
	assert_int_equal(vmlab_tlb_probe(e.m, 0, a + 300 * P, NULL, NULL),
			 VMLAB_LVL_PMD);
	u64 fl = vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range) +
		 vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range_full);
	/* mprotect of one page: split (pmdp_invalidate + flush) first */
	assert_int_equal(vmlab_mprotect(e.mm, a + 200 * P, P, VMLAB_PROT_READ),
			 0);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_true(vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range) +
			    vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range_full) >
		    fl);
	assert_int_equal(vmlab_tlb_probe(e.m, 1, a + 100 * P, NULL, NULL), -1);
	assert_int_equal(vmlab_tlb_probe(e.m, 0, a + 300 * P, NULL, NULL), -1);
	assert_int_equal(rd(e.mm, 1, a + 100 * P), 0);
	assert_int_equal(vmlab_tlb_probe(e.m, 1, a + 100 * P, NULL, NULL),
			 VMLAB_LVL_PTE);
	assert_int_equal(vmlab_user_write8(e.mm, 1, a + 200 * P, 1),
			 VMLAB_SIGSEGV);
	wr(&e, 1, a + 201 * P, 1);
	t_done(&e);
}

static void test_split_and_zap(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	vmlab_user_mm_destroy(e.mm);
	u64 free0 = vmlab_nr_free_pages(e.m);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	u64 a = region(&e, 4);
	for (u64 i = 0; i < 4; i++) {
		wr(&e, 0, a + i * M + 9 * P, (u8)(i + 1));
		assert_true(huge(e.mm, a + i * M));
	}
	assert_int_equal(rss_anon(e.mm), 4 * 512);
	/* whole munmap of one: no split, 512 pages back */
	assert_int_equal(vmlab_munmap(e.mm, a, M), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 0);
	assert_int_equal(rss_anon(e.mm), 3 * 512);
	/* DONTNEED of part of one: split, the rest kept */
	assert_int_equal(vmlab_madvise(e.mm, a + M, 8 * P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_int_equal(rss_anon(e.mm), 3 * 512 - 8);
	assert_int_equal(rd(e.mm, 1, a + M + 9 * P), 2);
	assert_int_equal(rd(e.mm, 1, a + M), 0);
	/* whole DONTNEED: zapped as one */
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * M, M, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_int_equal(rd(e.mm, 0, a + 2 * M + 9 * P), 0);
	/* a VMA split inside one (NOHUGEPAGE on half) splits the PMD */
	assert_int_equal(vmlab_madvise(e.mm, a + 3 * M, M / 2,
				       VMLAB_MADV_NOHUGEPAGE), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 2);
	assert_false(huge(e.mm, a + 3 * M));
	assert_int_equal(rd(e.mm, 0, a + 3 * M + 9 * P), 4);
	/* whole mprotect: one entry changed, no split */
	u64 b = region(&e, 1);
	wr(&e, 0, b, 7);
	assert_int_equal(vmlab_mprotect(e.mm, b, M, VMLAB_PROT_READ), 0);
	assert_true(huge(e.mm, b));
	assert_int_equal(vmlab_user_write8(e.mm, 1, b, 1), VMLAB_SIGSEGV);
	assert_int_equal(vmlab_mprotect(e.mm, b, M, RW), 0);
	wr(&e, 1, b, 8); /* exclusive: writable again, or reused on fault */
	assert_true(huge(e.mm, b));
	/* PROT_NONE and back: still the huge leaf (not present to the
	 * hardware, but a PMD-level PROT_NONE entry is one), nothing split */
	assert_int_equal(vmlab_mprotect(e.mm, b, M, VMLAB_PROT_NONE), 0);
	assert_true(huge(e.mm, b));
	assert_int_equal(vmlab_mprotect(e.mm, b, M, RW), 0);
	assert_true(huge(e.mm, b));
	assert_int_equal(rd(e.mm, 1, b), 8);
	assert_int_equal(vs(&e).thp_split_pmd, 2);
	/* every frame back: folios, split pages, tables */
	vmlab_user_mm_destroy(e.mm);
	/* (the huge zero folio, made by the read after DONTNEED, stays) */
	assert_int_equal(vs(&e).thp_zero_page_alloc, 1);
	assert_int_equal(vmlab_nr_free_pages(e.m), free0 - 512);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	t_done(&e);
}

static void test_fork_and_mremap(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 a = region(&e, 2);
	wr(&e, 0, a + P, 5);
	struct vmlab_user_mm *child;
	assert_int_equal(vmlab_fork(e.mm, &child), 0);
	assert_true(huge(child, a) && huge(e.mm, a));
	assert_int_equal(rss_anon(child), 512);
	assert_int_equal(vs(&e).thp_split_pmd, 0);
	/* the child's write: split and copy one 4 KiB page */
	assert_int_equal(vmlab_user_write8(child, 1, a + P, 6), VMLAB_OK);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_false(huge(child, a));
	assert_true(huge(e.mm, a));
	assert_int_equal(rd(e.mm, 0, a + P), 5);
	assert_int_equal(rd(child, 1, a + P), 6);
	/* the parent's write: its PMD maps pages the child shares: split */
	wr(&e, 0, a + 2 * P, 7);
	assert_int_equal(rd(child, 1, a + 2 * P), 0);
	vmlab_user_mm_destroy(child);
	/* mremap of a whole aligned THP moves the PMD, unsplit */
	u64 b = region(&e, 1);
	wr(&e, 0, b + 3 * P, 3);
	u64 dst = region(&e, 1);
	u64 splits = vs(&e).thp_split_pmd;
	s64 r = vmlab_mremap(e.mm, b, M, M,
			     VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED, dst);
	assert_int_equal(r, (s64)dst);
	assert_true(huge(e.mm, dst));
	assert_int_equal(vs(&e).thp_split_pmd, splits);
	assert_int_equal(rd(e.mm, 1, dst + 3 * P), 3);
	t_done(&e);
}

/* The seed's claim and guard install over a THP. */
static void test_guard(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 a = region(&e, 2);
	wr(&e, 0, a, 1);
	wr(&e, 0, a + M, 2);
	assert_int_equal(vmlab_madvise(e.mm, a + 4 * P, 2 * P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_false(huge(e.mm, a));
	assert_int_equal(vmlab_user_read8(e.mm, 1, a + 4 * P, &(u8){0}),
			 VMLAB_SIGSEGV);
	assert_int_equal(rd(e.mm, 1, a), 1); /* the rest kept */
	/* remove over both: markers go, the other THP stays unsplit */
	assert_int_equal(vmlab_madvise(e.mm, a, 2 * M, VMLAB_MADV_GUARD_REMOVE),
			 0);
	assert_true(huge(e.mm, a + M));
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_int_equal(rd(e.mm, 1, a + M), 2);
	assert_int_equal(rd(e.mm, 1, a + 4 * P), 0);
	/* install over a whole THP: split, zapped, all markers */
	assert_int_equal(vmlab_madvise(e.mm, a + M, M, VMLAB_MADV_GUARD_INSTALL),
			 0);
	assert_int_equal(vs(&e).thp_split_pmd, 2);
	struct vmlab_range run;
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 2 * M, &run, 1), 1);
	assert_true(run.start == a + M && run.end == a + 2 * M);
	t_done(&e);
}

static void test_madv_collapse(void **state)
{
	(void)state;
	struct env e = t_env(2);
	/* MADV_COLLAPSE ignores the sysfs mode ... */
	u64 a = region(&e, 3);
	for (u64 i = 0; i < 40; i++)
		wr(&e, (int)(i % 2), a + i * P, (u8)(i + 1));
	assert_false(huge(e.mm, a));
	u64 r0 = rss_anon(e.mm);
	assert_int_equal(vmlab_madvise(e.mm, a, M, VMLAB_MADV_COLLAPSE), 0);
	assert_true(huge(e.mm, a));
	assert_int_equal(vs(&e).thp_collapse_alloc, 1);
	assert_int_equal(rss_anon(e.mm), r0 - 40 + 512);
	for (u64 i = 0; i < 40; i++)
		assert_int_equal(rd(e.mm, (int)(i % 2), a + i * P), i + 1);
	assert_int_equal(rd(e.mm, 0, a + 100 * P), 0);
	/* already huge: success, nothing new */
	assert_int_equal(vmlab_madvise(e.mm, a, M, VMLAB_MADV_COLLAPSE), 0);
	assert_int_equal(vs(&e).thp_collapse_alloc, 1);
	/* nothing mapped (no table, or no writable PTE): EINVAL */
	assert_int_equal(vmlab_madvise(e.mm, a + M, M, VMLAB_MADV_COLLAPSE),
			 -VMLAB_EINVAL);
	assert_int_equal(rd(e.mm, 0, a + M), 0); /* the 4 KiB zero page */
	assert_int_equal(vmlab_madvise(e.mm, a + M, M, VMLAB_MADV_COLLAPSE),
			 -VMLAB_EINVAL);
	/* a guard marker aborts it (SCAN_PTE_NON_PRESENT) */
	wr(&e, 0, a + 2 * M, 1);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * M + 3 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * M, M, VMLAB_MADV_COLLAPSE),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_read8(e.mm, 0, a + 2 * M + 3 * P, &(u8){0}),
			 VMLAB_SIGSEGV);
	/* ... but not VM_NOHUGEPAGE */
	u64 b = region(&e, 1);
	wr(&e, 0, b, 1);
	assert_int_equal(vmlab_madvise(e.mm, b, M, VMLAB_MADV_NOHUGEPAGE), 0);
	assert_int_equal(vmlab_madvise(e.mm, b, M, VMLAB_MADV_COLLAPSE),
			 -VMLAB_EINVAL);
	/* a range with no whole PMD in it: nothing to do */
	assert_int_equal(vmlab_madvise(e.mm, a + M + P, 8 * P,
				       VMLAB_MADV_COLLAPSE), 0);
	assert_int_equal(vs(&e).thp_collapse_alloc, 1);
	t_done(&e);
}

static void test_khugepaged(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_khugepaged_params k;
	vmlab_user_get_khugepaged(e.m, &k);
	assert_int_equal(k.max_ptes_none, 511);
	assert_int_equal(k.max_ptes_swap, 64);
	assert_int_equal(k.max_ptes_shared, 256);
	assert_int_equal(k.pages_to_scan, 4096);
	u64 a = region(&e, 3);
	for (u64 h = 0; h < 3; h++)
		for (u64 i = 0; i < 4; i++)
			wr(&e, 0, a + h * M + i * P, (u8)(h * 4 + i + 1));
	/* never: khugepaged leaves everything */
	assert_int_equal(vmlab_khugepaged_scan(e.m), 0);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	/* max_ptes_none 0: 508 empty PTEs are too many */
	k.max_ptes_none = 0;
	assert_int_equal(vmlab_user_set_khugepaged(e.m, &k), 0);
	assert_int_equal(vmlab_khugepaged_scan(e.m), 0);
	assert_true(vs(&e).thp_scan_exceed_none_pte >= 3);
	k.max_ptes_none = 511;
	k.pages_to_scan = 512; /* one PMD range per wake-up */
	assert_int_equal(vmlab_user_set_khugepaged(e.m, &k), 0);
	/* a guard marker in the middle range */
	assert_int_equal(vmlab_madvise(e.mm, a + M + 100 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	int made = 0;
	for (int i = 0; i < 8; i++)
		made += vmlab_khugepaged_scan(e.m);
	assert_int_equal(made, 2);
	assert_true(huge(e.mm, a) && huge(e.mm, a + 2 * M));
	assert_false(huge(e.mm, a + M));
	assert_int_equal(vmlab_user_read8(e.mm, 1, a + M + 100 * P, &(u8){0}),
			 VMLAB_SIGSEGV);
	for (u64 h = 0; h < 3; h++)
		for (u64 i = 0; i < 4; i++)
			assert_int_equal(rd(e.mm, 1, a + h * M + i * P),
					 h * 4 + i + 1);
	/* bad knobs */
	k.max_ptes_none = 512;
	assert_int_equal(vmlab_user_set_khugepaged(e.m, &k), -VMLAB_EINVAL);
	k.max_ptes_none = 0;
	k.pages_to_scan = 0;
	assert_int_equal(vmlab_user_set_khugepaged(e.m, &k), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_khugepaged(e.m, NULL), -VMLAB_EINVAL);
	t_done(&e);
}

/* khugepaged skips ranges shared with a child beyond max_ptes_shared and
 * ranges with nothing young; MADV_COLLAPSE ignores both limits. */
static void test_khugepaged_shared_young(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = region(&e, 1);
	for (u64 i = 0; i < 300; i++)
		wr(&e, 0, a + i * P, 1);
	struct vmlab_user_mm *child;
	assert_int_equal(vmlab_fork(e.mm, &child), 0);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	wr(&e, 0, a, 2); /* one writable page, 299 shared */
	assert_int_equal(vmlab_khugepaged_scan(e.m), 0);
	assert_true(vs(&e).thp_scan_exceed_share_pte >= 1);
	assert_int_equal(vmlab_madvise(e.mm, a, M, VMLAB_MADV_COLLAPSE), 0);
	assert_true(huge(e.mm, a));
	assert_int_equal(rd(child, 1, a + 5 * P), 1);
	assert_int_equal(rd(e.mm, 1, a), 2);
	vmlab_user_mm_destroy(child);
	/* nothing young: SCAN_LACK_REFERENCED_PAGE */
	u64 b = region(&e, 1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_NEVER), 0);
	wr(&e, 0, b, 1);
	assert_int_equal(vmlab_madvise(e.mm, b, P, VMLAB_MADV_COLD), 0);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	assert_int_equal(vmlab_khugepaged_scan(e.m), 0);
	assert_false(huge(e.mm, b));
	assert_int_equal(vmlab_madvise(e.mm, b, M, VMLAB_MADV_COLLAPSE), 0);
	assert_true(huge(e.mm, b));
	t_done(&e);
}

/* The host's sysfs defaults match the model's khugepaged knobs. */
static void test_host_defaults(void **state)
{
	(void)state;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/khugepaged/"
			"max_ptes_none", "r");
	if (!f)
		skip();
	unsigned long v = 0;
	assert_int_equal(fscanf(f, "%lu", &v), 1);
	fclose(f);
	struct env e = t_env(1);
	struct vmlab_khugepaged_params k;
	vmlab_user_get_khugepaged(e.m, &k);
	assert_int_equal(k.max_ptes_none, v);
	t_done(&e);
}

/* AnonHugePages (kB) of the host VMA containing addr, or -1. */
static long host_anon_huge_kb(u64 addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in = false;
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = lo <= addr && addr < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* The same steps on the host (enabled = madvise, as this host has it) and
 * in the model: AnonHugePages after a write fault, a partial DONTNEED
 * (split), MADV_COLLAPSE, and MADV_COLLAPSE over a guard marker.  Skipped
 * when the host kernel is older than 6.18, its mode is not madvise, or it
 * could not get a huge page for the first fault (fragmentation). */
/* Linux 6.18 on the host: a THP, one page DONTNEED'd: thp_split_pmd +1,
 * thp_deferred_split_page +1, thp_split_page +0, and the memory stays
 * with the folio until the shrinker splits it. */
static void test_deferred_split(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 h = region(&e, 2);
	u64 free0 = vmlab_nr_free_pages(e.m);
	wr(&e, 0, h, 1);
	assert_true(huge(e.mm, h));
	u64 free1 = vmlab_nr_free_pages(e.m);
	assert_int_equal(vmlab_madvise(e.mm, h + 8 * P, P, VMLAB_MADV_DONTNEED),
			 0);
	assert_false(huge(e.mm, h));
	assert_int_equal(vs(&e).thp_split_pmd, 1);
	assert_int_equal(vs(&e).thp_deferred_split_page, 1);
	assert_int_equal(vs(&e).thp_split_page, 0);
	/* The page is unmapped but not freed (a PTE table was taken). */
	assert_int_equal(rss_anon(e.mm), 511);
	assert_int_equal(vmlab_nr_free_pages(e.m), free1 - 1);
	/* Unmapping half: queued once, still nothing freed. */
	assert_int_equal(vmlab_munmap(e.mm, h + M / 2, M / 2), 0);
	assert_int_equal(vs(&e).thp_deferred_split_page, 1);
	assert_int_equal(rss_anon(e.mm), 255);
	u64 free2 = vmlab_nr_free_pages(e.m);
	assert_true(free2 <= free1);
	/* The shrinker splits it and frees the 257 unused pages. */
	assert_int_equal(vmlab_user_deferred_split_scan(e.m), 1);
	assert_int_equal(vs(&e).thp_split_page, 1);
	assert_int_equal(vmlab_nr_free_pages(e.m), free2 + 257);
	assert_int_equal(vmlab_user_deferred_split_scan(e.m), 0);
	assert_int_equal(rd(e.mm, 0, h), 1);
	/* A folio whose last page goes is freed whole, without a split. */
	u64 g = h + M;
	wr(&e, 0, g, 2);
	assert_true(huge(e.mm, g));
	assert_int_equal(vmlab_madvise(e.mm, g + P, P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vs(&e).thp_deferred_split_page, 2);
	assert_int_equal(vmlab_munmap(e.mm, g, M), 0);
	assert_int_equal(vmlab_user_deferred_split_scan(e.m), 0);
	assert_int_equal(vs(&e).thp_split_page, 1);
	assert_int_equal(vmlab_munmap(e.mm, h, M / 2), 0);
	/* Everything but page tables came back. */
	assert_true(vmlab_nr_free_pages(e.m) + 4 >= free0);
	assert_int_equal(vmlab_user_deferred_split_scan(NULL), -VMLAB_EINVAL);
	t_done(&e);
}

/* Memory pressure runs the shrinker: an order-0 allocation that fails
 * gets the pages of queued folios. */
static void test_deferred_split_reclaim(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 h = region(&e, 1);
	wr(&e, 0, h, 1);
	assert_true(huge(e.mm, h));
	assert_int_equal(vmlab_madvise(e.mm, h + P, M - P, VMLAB_MADV_DONTNEED),
			 0);
	assert_int_equal(vs(&e).thp_split_page, 0);
	/* Fill every free page with 4 KiB anonymous memory (no THP). */
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_NEVER), 0);
	u64 n = vmlab_nr_free_pages(e.m) + 1024;
	s64 a = vmlab_mmap(e.mm, 0, n * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	u64 i = 0;
	while (i < n && vmlab_user_write8(e.mm, 0, (u64)a + i * P, 1) ==
				VMLAB_OK)
		i++;
	/* The 511 held pages were reclaimed on the way. */
	assert_int_equal(vs(&e).thp_split_page, 1);
	assert_true(i < n);
	assert_int_equal(vmlab_munmap(e.mm, (u64)a, n * P), 0);
	vmlab_user_mm_destroy(e.mm);
	vmlab_machine_destroy(e.m);
}

static void test_host_differential(void **state)
{
	(void)state;
	char mode[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f || !t_host_is_6_18())
		skip();
	if (!fgets(mode, sizeof(mode), f))
		mode[0] = 0;
	fclose(f);
	if (!strstr(mode, "[madvise]"))
		skip();
	long *r = t_host_results(8 * sizeof(long));
	pid_t pid = fork();
	if (pid == 0) {
		char *p = mmap(NULL, 4 * M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		u64 h = ((u64)(uintptr_t)p + M - 1) & ~(M - 1);
		char *c = (char *)(uintptr_t)h;
		r[0] = madvise(c, M, MADV_HUGEPAGE);
		c[0] = 1;
		r[1] = host_anon_huge_kb(h);
		r[2] = madvise(c + 8 * P, P, MADV_DONTNEED);
		r[3] = host_anon_huge_kb(h);
		r[4] = madvise(c, M, 25 /* MADV_COLLAPSE */) ? -errno : 0;
		r[5] = host_anon_huge_kb(h);
		madvise(c, M, MADV_DONTNEED);
		c[0] = 1;
		madvise(c + 3 * P, P, 102 /* MADV_GUARD_INSTALL */);
		r[6] = madvise(c, M, 25) ? -errno : 0;
		r[7] = host_anon_huge_kb(h);
		_exit(0);
	}
	t_host_wait(pid);
	if (r[0] || r[1] != 2048)
		skip(); /* no huge page for the host's first fault */
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_MADVISE), 0);
	u64 h = region(&e, 3);
	struct vmlab_vma_info in;
	long m[8];
	m[0] = vmlab_madvise(e.mm, h, M, VMLAB_MADV_HUGEPAGE);
	wr(&e, 0, h, 1);
	assert_int_equal(vmlab_user_vma_at(e.mm, h, &in), 0);
	m[1] = (long)in.thp_pages * 4;
	m[2] = vmlab_madvise(e.mm, h + 8 * P, P, VMLAB_MADV_DONTNEED);
	assert_int_equal(vmlab_user_vma_at(e.mm, h, &in), 0);
	m[3] = (long)in.thp_pages * 4;
	m[4] = vmlab_madvise(e.mm, h, M, VMLAB_MADV_COLLAPSE);
	assert_int_equal(vmlab_user_vma_at(e.mm, h, &in), 0);
	m[5] = (long)in.thp_pages * 4;
	assert_int_equal(vmlab_madvise(e.mm, h, M, VMLAB_MADV_DONTNEED), 0);
	wr(&e, 0, h, 1);
	assert_int_equal(vmlab_madvise(e.mm, h + 3 * P, P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	m[6] = vmlab_madvise(e.mm, h, M, VMLAB_MADV_COLLAPSE);
	assert_int_equal(vmlab_user_vma_at(e.mm, h, &in), 0);
	m[7] = (long)in.thp_pages * 4;
	for (int i = 0; i < 8; i++) {
		/* the host's errno values are the model's (x86-64/arm64) */
		if (m[i] != r[i])
			print_error("step %d: model %ld host %ld\n", i, m[i], r[i]);
		assert_int_equal(m[i], r[i]);
	}
	munmap(r, 8 * sizeof(long));
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_modes),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_huge_zero_page),
		cmocka_unit_test(test_tlb_entry_and_split_flush),
		cmocka_unit_test(test_split_and_zap),
		cmocka_unit_test(test_fork_and_mremap),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_madv_collapse),
		cmocka_unit_test(test_khugepaged),
		cmocka_unit_test(test_khugepaged_shared_young),
		cmocka_unit_test(test_host_defaults),
		cmocka_unit_test(test_host_differential),
		cmocka_unit_test(test_deferred_split),
		cmocka_unit_test(test_deferred_split_reclaim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
