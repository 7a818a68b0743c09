/* SPDX-License-Identifier: MIT */
/*
 * MADV_GUARD_INSTALL / MADV_GUARD_REMOVE (Linux 6.13+): markers installed
 * by the page walker's install_pte, zap-before-install with the flush
 * before any free, idempotence, the VMAs that refuse them, ranges with
 * holes, what keeps and what drops them, populate over them, pagemap bit
 * 58, the guard-run scan, and poison markers.  The checker runs
 * throughout (with threads of the mm on several CPUs).
 */
#include "user_helpers.h"

#define GI VMLAB_MADV_GUARD_INSTALL
#define GR VMLAB_MADV_GUARD_REMOVE


static u64 t_mmap(struct vmlab_user_mm *mm, u64 len, int prot, int flags)
{
	s64 a = vmlab_mmap(mm, 0, len, prot, flags, NULL, 0);
	assert_true(a > 0);
	return (u64)a;
}

static int acc(struct vmlab_user_mm *mm, int cpu, enum vmlab_access k,
	       u64 va)
{
	u64 v = 0x77;
	return vmlab_user_access(mm, cpu, k, va, &v, 8);
}

static u64 rd64(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u64 v = 0;
	assert_int_equal(vmlab_user_access(mm, cpu, VMLAB_READ, va, &v, 8),
			 VMLAB_OK);
	return v;
}

static bool guarded(struct vmlab_user_mm *mm, u64 va)
{
	u64 e = 0;
	assert_int_equal(vmlab_pagemap_read(mm, va, &e, 1), 1);
	return e & VMLAB_PM_GUARD_REGION;
}

static void fill(struct vmlab_user_mm *mm, u64 a, u64 pages)
{
	for (u64 i = 0; i < pages; i++) {
		u64 v = 0x1000 + i;
		assert_int_equal(vmlab_user_access(mm, (int)(i % 2), VMLAB_WRITE,
						   a + i * P, &v, 8), VMLAB_OK);
	}
}

static void test_install_fresh(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 10 * P, RW, ANON);
	u64 fl = vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range) +
		 vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range_full);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, 3 * P, GI), 0);
	/* none -> marker needs no flush, and no VMA changes. */
	assert_int_equal(vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range) +
				 vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range_full),
			 fl);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	struct vmlab_siginfo si;
	for (u64 i = 0; i < 10; i++) {
		bool g = i >= 2 && i < 5;
		assert_int_equal(guarded(e.mm, a + i * P), g);
		int r = vmlab_user_access_si(e.mm, (int)(i % 2), VMLAB_READ,
					     a + i * P, NULL, 1, &si);
		assert_int_equal(r, g ? VMLAB_SIGSEGV : VMLAB_OK);
		if (g) {
			assert_int_equal(si.code, VMLAB_SEGV_MAPERR);
			assert_int_equal(acc(e.mm, 0, VMLAB_WRITE, a + i * P),
					 VMLAB_SIGSEGV);
			assert_int_equal(acc(e.mm, 1, VMLAB_FETCH, a + i * P),
					 VMLAB_SIGSEGV);
		}
	}
	/* The exact pagemap word Linux 6.18 gives a guard page (x86, soft
	 * dirty built in: bit 55 for every page of a new VM_SOFTDIRTY VMA;
	 * arm64 has no soft-dirty bit). */
	u64 pme;
	vmlab_pagemap_read(e.mm, a + 2 * P, &pme, 1);
	assert_int_equal(pme, 0x440000000000009fULL |
				      (t_arm64() ? 0 : VMLAB_PM_SOFT_DIRTY));
	/* Idempotent: nothing new is written the second time. */
	struct vmlab_user_stats s0, s1;
	vmlab_user_stats(e.mm, &s0);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, 3 * P, GI), 0);
	vmlab_user_stats(e.mm, &s1);
	assert_int_equal(s1.guard_installed, s0.guard_installed);
	assert_int_equal(s0.guard_installed, 3);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e.mm, a, &vi), 0);
	assert_int_equal(vi.guard_pages, 3);
	assert_true(vi.anon_vma_id != 0); /* so that fork copies them */
	t_done(&e);
}

static void test_install_zaps_and_flushes_first(void **state)
{
	(void)state;
	struct env e = t_env(4);
	u64 a = t_mmap(e.mm, 8 * P, RW, ANON);
	fill(e.mm, a, 8);
	/* Every CPU caches every page. */
	for (int c = 0; c < 4; c++)
		for (u64 i = 0; i < 8; i++)
			rd64(e.mm, c, a + i * P);
	u64 free0 = vmlab_nr_free_pages(e.m);
	u64 ipi0 = vmlab_counter(e.m, -1, VMLAB_C_ipi_sent);
	u64 tlbi0 = vmlab_counter(e.m, -1, VMLAB_C_tlbi_is);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, 4 * P, GI), 0);
	/* present -> marker: zapped, shot down on the 3 other CPUs (x86:
	 * an IPI each; arm64: a broadcast TLBI per page), and the 4 pages
	 * went back only after that (the checker says so). */
	assert_int_equal(vmlab_counter(e.m, -1, VMLAB_C_ipi_sent),
			 ipi0 + (t_arm64() ? 0 : 3));
	assert_int_equal(vmlab_counter(e.m, -1, VMLAB_C_tlbi_is),
			 tlbi0 + (t_arm64() ? 4 : 0));
	assert_int_equal(vmlab_nr_free_pages(e.m), free0 + 4);
	struct vmlab_user_stats st;
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.guard_zaps, 1);
	assert_int_equal(st.rss_anon, 4);
	for (int c = 0; c < 4; c++) {
		assert_int_equal(acc(e.mm, c, VMLAB_READ, a + 3 * P),
				 VMLAB_SIGSEGV);
		assert_int_equal(rd64(e.mm, c, a + 7 * P), 0x1007);
	}
	t_done(&e);
}

static void test_remove_clears_markers_only(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 8 * P, RW, ANON);
	fill(e.mm, a, 8);
	assert_int_equal(vmlab_madvise(e.mm, a + 3 * P, 2 * P, GI), 0);
	u64 ipi0 = vmlab_counter(e.m, -1, VMLAB_C_ipi_sent);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, GR), 0);
	assert_int_equal(vmlab_counter(e.m, -1, VMLAB_C_ipi_sent), ipi0);
	for (u64 i = 0; i < 8; i++) {
		assert_false(guarded(e.mm, a + i * P));
		/* Guarded pages read zero again; the rest kept their data. */
		assert_int_equal(rd64(e.mm, 1, a + i * P),
				 (i == 3 || i == 4) ? 0 : 0x1000 + i);
	}
	t_done(&e);
}

static void test_refused_vmas(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 4 * P, RW, ANON);
	assert_int_equal(vmlab_mlock(e.mm, a, 4 * P), 0);
	assert_int_equal(vmlab_madvise(e.mm, a, P, GI), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munlock(e.mm, a, 4 * P), 0);
	assert_int_equal(vmlab_madvise(e.mm, a, P, GI), 0);
	assert_int_equal(vmlab_mlock(e.mm, a + P, P), 0);
	/* Removing on a locked VMA is allowed. */
	assert_int_equal(vmlab_madvise(e.mm, a, 2 * P, GR), 0);
	assert_false(guarded(e.mm, a));
	/* mlock over a guard: VM_LOCKED is set, population fails. */
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, P, GI), 0);
	assert_int_equal(vmlab_mlock(e.mm, a + 2 * P, 2 * P), -VMLAB_ENOMEM);
	/* A device (VM_IO | VM_PFNMAP) mapping refuses both. */
	s64 io = vmlab_user_map_io(e.mm, 16, 2, RW);
	assert_true(io > 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)io, P, GI), -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, (u64)io, P, GR), -VMLAB_EINVAL);
	/* Read-only and PROT_NONE mappings are fine since 6.15. */
	u64 ro = t_mmap(e.mm, P, VMLAB_PROT_READ, ANON);
	assert_int_equal(vmlab_madvise(e.mm, ro, P, GI), 0);
	assert_int_equal(acc(e.mm, 0, VMLAB_READ, ro), VMLAB_SIGSEGV);
	t_done(&e);
}

static void test_holes_every_vma_and_enomem(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 12 * P, RW, ANON);
	assert_int_equal(vmlab_munmap(e.mm, a + 4 * P, 2 * P), 0);
	assert_int_equal(vmlab_mprotect(e.mm, a + 8 * P, 2 * P, VMLAB_PROT_READ),
			 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 4);
	/* Across four VMAs and a hole: all applied, then ENOMEM. */
	assert_int_equal(vmlab_madvise(e.mm, a, 12 * P, GI), -VMLAB_ENOMEM);
	for (u64 i = 0; i < 12; i++)
		assert_int_equal(guarded(e.mm, a + i * P), i < 4 || i >= 6);
	assert_int_equal(vmlab_madvise(e.mm, a, 12 * P, GR), -VMLAB_ENOMEM);
	for (u64 i = 0; i < 12; i++)
		assert_false(guarded(e.mm, a + i * P));
	/* Nothing mapped at all: ENOMEM; bad arguments: EINVAL. */
	assert_int_equal(vmlab_madvise(e.mm, 0x10000, P, GI), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_madvise(e.mm, a + 1, P, GI), -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, a, P, 104), -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, a, 0, GI), 0);
	t_done(&e);
}

static void test_what_keeps_markers(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 8 * P, RW, ANON);
	fill(e.mm, a, 8);
	assert_int_equal(vmlab_madvise(e.mm, a + P, P, GI), 0);
	assert_int_equal(vmlab_madvise(e.mm, a + 5 * P, P, GI), 0);
	static const int keep[] = {VMLAB_MADV_DONTNEED, VMLAB_MADV_FREE,
				   VMLAB_MADV_COLD, VMLAB_MADV_PAGEOUT,
				   VMLAB_MADV_WILLNEED, VMLAB_MADV_DONTFORK,
				   VMLAB_MADV_DOFORK};
	for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
		assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, keep[k]), 0);
		assert_true(guarded(e.mm, a + P) && guarded(e.mm, a + 5 * P));
	}
	/* mprotect, both ways. */
	assert_int_equal(vmlab_mprotect(e.mm, a, 8 * P, VMLAB_PROT_NONE), 0);
	assert_int_equal(vmlab_mprotect(e.mm, a, 8 * P, RW), 0);
	assert_true(guarded(e.mm, a + P) && guarded(e.mm, a + 5 * P));
	assert_int_equal(acc(e.mm, 1, VMLAB_WRITE, a + P), VMLAB_SIGSEGV);
	/* munmap of a part drops its markers; a new mapping there is clean. */
	assert_int_equal(vmlab_munmap(e.mm, a + 4 * P, 4 * P), 0);
	assert_int_equal(vmlab_mmap(e.mm, a + 4 * P, 4 * P, RW,
				    ANON | VMLAB_MAP_FIXED, NULL, 0),
			 (s64)(a + 4 * P));
	assert_false(guarded(e.mm, a + 5 * P));
	assert_int_equal(acc(e.mm, 0, VMLAB_WRITE, a + 5 * P), VMLAB_OK);
	/* MAP_FIXED over a marker replaces it. */
	assert_int_equal(vmlab_mmap(e.mm, a, 2 * P, RW, ANON | VMLAB_MAP_FIXED,
				    NULL, 0), (s64)a);
	assert_false(guarded(e.mm, a + P));
	/* Exit drops the rest (the checker and the leak check agree). */
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, GI), 0);
	t_done(&e);
}

static void test_populate_over_guard(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 8 * P, RW, ANON);
	assert_int_equal(vmlab_madvise(e.mm, a + 4 * P, P, GI), 0);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, VMLAB_MADV_POPULATE_WRITE),
			 -VMLAB_EFAULT);
	struct vmlab_user_stats st;
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.rss_anon, 4); /* the pages before the guard */
	assert_int_equal(vmlab_madvise(e.mm, a + 5 * P, 3 * P,
				       VMLAB_MADV_POPULATE_READ), 0);
	assert_int_equal(vmlab_madvise(e.mm, a + 4 * P, P,
				       VMLAB_MADV_POPULATE_READ), -VMLAB_EFAULT);
	/* Populate's own errors: a hole is ENOMEM, PROT_NONE is EINVAL. */
	u64 n = t_mmap(e.mm, P, VMLAB_PROT_NONE, ANON);
	assert_int_equal(vmlab_madvise(e.mm, n, P, VMLAB_MADV_POPULATE_READ),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, 0x10000, P,
				       VMLAB_MADV_POPULATE_READ), -VMLAB_ENOMEM);
	u64 ro = t_mmap(e.mm, P, VMLAB_PROT_READ, ANON);
	assert_int_equal(vmlab_madvise(e.mm, ro, P, VMLAB_MADV_POPULATE_WRITE),
			 -VMLAB_EINVAL);
	/* MAP_POPULATE ignores the failure. */
	assert_true(vmlab_mmap(e.mm, 0, 4 * P, RW, ANON | VMLAB_MAP_POPULATE,
			       NULL, 0) > 0);
	t_done(&e);
}

static void test_scan_and_pagemap(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = t_mmap(e.mm, 1024 * P, RW, ANON);
	/* Runs across a PTE-table boundary and single pages. */
	u64 b = (a + VMLAB_PMD_SIZE) & ~(VMLAB_PMD_SIZE - 1);
	assert_true(b - 2 * P >= a && b + 3 * P <= a + 1024 * P);
	assert_int_equal(vmlab_madvise(e.mm, b - 2 * P, 5 * P, GI), 0);
	assert_int_equal(vmlab_madvise(e.mm, a, P, GI), 0);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, P, GI), 0);
	struct vmlab_range r[8];
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 1024 * P, r, 8), 3);
	assert_int_equal(r[0].start, a);
	assert_int_equal(r[0].end, a + P);
	assert_int_equal(r[1].start, a + 2 * P);
	assert_int_equal(r[2].start, b - 2 * P);
	assert_int_equal(r[2].end, b + 3 * P);
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 1024 * P, r, 1), 3);
	u64 pmv[4];
	assert_int_equal(vmlab_pagemap_read(e.mm, a, pmv, 4), 4);
	assert_true(pmv[0] & VMLAB_PM_SWAP && pmv[0] & VMLAB_PM_GUARD_REGION);
	/* A hole of a VM_SOFTDIRTY VMA (x86 only: arm64 has no soft dirty). */
	assert_int_equal(pmv[1], t_arm64() ? 0 : VMLAB_PM_SOFT_DIRTY);
	assert_int_equal(vmlab_pagemap_read(e.mm, a + 1, pmv, 1), -VMLAB_EINVAL);
	t_done(&e);
}

static void test_poison_marker_sigbus(void **state)
{
	(void)state;
	struct env e = t_env(1);
	u64 a = t_mmap(e.mm, 4 * P, RW, ANON);
	assert_int_equal(vmlab_user_poison(e.mm, a + P, P), 0);
	struct vmlab_siginfo si;
	assert_int_equal(vmlab_user_access_si(e.mm, 0, VMLAB_READ, a + P, NULL,
					      1, &si), VMLAB_SIGBUS);
	assert_int_equal(si.code, VMLAB_BUS_MCEERR_AR);
	assert_int_equal(vmlab_user_poison(e.mm, a + P, P), -VMLAB_EEXIST);
	assert_int_equal(vmlab_user_poison(e.mm, a + 3 * P, 2 * P), -VMLAB_ENOENT);
	/* Guard install zaps a poison marker (it is not a guard one). */
	assert_int_equal(vmlab_madvise(e.mm, a, 4 * P, GI), 0);
	assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_READ, a + P, NULL, 1),
			 VMLAB_SIGSEGV);
	/* DONTNEED drops poison but not guards. */
	assert_int_equal(vmlab_madvise(e.mm, a, 4 * P, GR), 0);
	assert_int_equal(vmlab_user_poison(e.mm, a + P, P), 0);
	assert_int_equal(vmlab_madvise(e.mm, a, 4 * P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_READ, a + P, NULL, 1),
			 VMLAB_OK);
	t_done(&e);
}

static void test_process_madvise_iovec(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 64 * P, RW, ANON);
	struct vmlab_iovec iov[8];
	for (int i = 0; i < 8; i++)
		iov[i] = (struct vmlab_iovec){a + (u64)i * 8 * P, P};
	assert_int_equal(vmlab_process_madvise(e.mm, iov, 8, GI, 0), 8 * P);
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 64 * P, NULL, 0), 8);
	/* One bad iovec stops there and reports what was done. */
	iov[3].iov_base += 1;
	assert_int_equal(vmlab_process_madvise(e.mm, iov, 8, GR, 0), 3 * P);
	assert_int_equal(vmlab_process_madvise(e.mm, iov + 3, 1, GR, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_process_madvise(e.mm, iov, 8, GR, 1),
			 -VMLAB_EINVAL);
	iov[3].iov_base -= 1;
	assert_int_equal(vmlab_process_madvise(e.mm, iov, 8, GR, 0), 8 * P);
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 64 * P, NULL, 0), 0);
	/* DONTNEED over many iovecs: one flush for the whole call. */
	fill(e.mm, a, 64);
	for (int i = 0; i < 8; i++)
		iov[i] = (struct vmlab_iovec){a + (u64)i * 8 * P + P, 2 * P};
	u64 f0 = vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range) +
		 vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range_full);
	assert_int_equal(vmlab_process_madvise(e.mm, iov, 8,
					       VMLAB_MADV_DONTNEED, 0), 16 * P);
	assert_int_equal(vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range) +
				 vmlab_counter(e.m, -1, VMLAB_C_flush_mm_range_full),
			 f0 + 1);
	assert_int_equal(rd64(e.mm, 1, a + P), 0);
	assert_int_equal(rd64(e.mm, 1, a), 0x1000);
	t_done(&e);
}

static void test_shared_anon_guards(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 a = t_mmap(e.mm, 4 * P, RW,
		       VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS);
	fill(e.mm, a, 4);
	assert_int_equal(vmlab_madvise(e.mm, a + P, P, GI), 0);
	assert_int_equal(acc(e.mm, 0, VMLAB_READ, a + P), VMLAB_SIGSEGV);
	/* The shmem page behind it is still in the cache. */
	assert_int_equal(vmlab_madvise(e.mm, a + P, P, GR), 0);
	assert_int_equal(rd64(e.mm, 1, a + P), 0x1001);
	t_done(&e);
}


/* The core rules on every kind of mapping: anonymous private, anonymous
 * shared (shmem), memfd shared and memfd private. */
static void guard_rules_on(int kind)
{
	struct env e = t_env(2);
	struct vmlab_file *f = NULL;
	if (kind >= 2) {
		assert_int_equal(vmlab_memfd_create(e.m, "g", &f), 0);
		assert_int_equal(vmlab_ftruncate(f, 8 * P), 0);
	}
	int flags = kind == 0 ? ANON :
		    kind == 1 ? VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS :
		    kind == 2 ? VMLAB_MAP_SHARED : VMLAB_MAP_PRIVATE;
	s64 r = vmlab_mmap(e.mm, 0, 8 * P, RW, flags, f, 0);
	assert_true(r > 0);
	u64 a = (u64)r;
	fill(e.mm, a, 8);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, 2 * P, GI), 0);
	assert_int_equal(vmlab_madvise(e.mm, a + 2 * P, 2 * P, GI), 0);
	assert_int_equal(acc(e.mm, 0, VMLAB_READ, a + 2 * P), VMLAB_SIGSEGV);
	assert_int_equal(acc(e.mm, 1, VMLAB_WRITE, a + 3 * P), VMLAB_SIGSEGV);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vmlab_mprotect(e.mm, a, 8 * P, VMLAB_PROT_READ), 0);
	assert_int_equal(vmlab_mprotect(e.mm, a, 8 * P, RW), 0);
	assert_true(guarded(e.mm, a + 2 * P) && guarded(e.mm, a + 3 * P));
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_int_equal(acc(c, 1, VMLAB_READ, a + 3 * P), VMLAB_SIGSEGV);
	assert_int_equal(acc(c, 1, VMLAB_READ, a + 4 * P), VMLAB_OK);
	vmlab_user_mm_destroy(c);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, GR), 0);
	/* Shared memory kept its data in the page cache; private copies
	 * went with the install (the file below a private mapping was
	 * never written: zeroes too). */
	u64 want = (kind == 1 || kind == 2) ? 0x1002 : 0;
	assert_int_equal(rd64(e.mm, 0, a + 2 * P), want);
	assert_int_equal(vmlab_madvise(e.mm, a, 8 * P, GI), 0);
	assert_int_equal(vmlab_munmap(e.mm, a, 8 * P), 0);
	assert_int_equal(vmlab_guard_scan(e.mm, a, a + 8 * P, NULL, 0), 0);
	vmlab_file_put(f);
	t_done(&e);
}

static void test_rules_on_every_kind(void **state)
{
	(void)state;
	for (int kind = 0; kind < 4; kind++)
		guard_rules_on(kind);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_install_fresh),
		cmocka_unit_test(test_install_zaps_and_flushes_first),
		cmocka_unit_test(test_remove_clears_markers_only),
		cmocka_unit_test(test_refused_vmas),
		cmocka_unit_test(test_holes_every_vma_and_enomem),
		cmocka_unit_test(test_what_keeps_markers),
		cmocka_unit_test(test_populate_over_guard),
		cmocka_unit_test(test_scan_and_pagemap),
		cmocka_unit_test(test_poison_marker_sigbus),
		cmocka_unit_test(test_process_madvise_iovec),
		cmocka_unit_test(test_shared_anon_guards),
		cmocka_unit_test(test_rules_on_every_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
