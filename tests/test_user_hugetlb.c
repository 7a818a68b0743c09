/* SPDX-License-Identifier: MIT */
/*
 * hugetlb in user mappings (mm/hugetlb.c, Linux 6.18; semantics after
 * tools/testing/selftests/mm hugepage-mmap, hugetlb-madvise and
 * guard-regions): the pool and its /proc/meminfo counts, the reservation
 * at mmap (ENOMEM past the pool, none with MAP_NORESERVE), MAP_HUGE_*
 * sizes, 2 MiB alignment and length rounding, the fault mapping one PMD
 * leaf, MADV_DONTNEED giving pages back, munmap / mprotect only at 2 MiB
 * granularity, fork of private and shared mappings, guard-region advice
 * refused with EINVAL (claim 4.17), and the same steps on the host when
 * it lets nr_hugepages be set.  The checker runs throughout.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "user_helpers.h"

#define M VMLAB_PMD_SIZE
#define HUGE (ANON | VMLAB_MAP_HUGETLB)

static struct vmlab_hugetlb_meminfo mi(struct env *e)
{
	struct vmlab_hugetlb_meminfo h;
	assert_int_equal(vmlab_user_hugetlb_meminfo(e->m, &h), 0);
	return h;
}

#define assert_pool(e, t, f, r, s)                                           \
	do {                                                                 \
		struct vmlab_hugetlb_meminfo h_ = mi(e);                     \
		assert_int_equal(h_.total, t);                               \
		assert_int_equal(h_.free, f);                                \
		assert_int_equal(h_.rsvd, r);                                \
		assert_int_equal(h_.surp, s);                                \
	} while (0)

static void wr(struct vmlab_user_mm *mm, int cpu, u64 va, u8 v)
{
	assert_int_equal(vmlab_user_write8(mm, cpu, va, v), VMLAB_OK);
}

static u8 rd(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u8 v = 0xee;
	assert_int_equal(vmlab_user_read8(mm, cpu, va, &v), VMLAB_OK);
	return v;
}

static struct vmlab_vma_info vma(struct vmlab_user_mm *mm, u64 va)
{
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(mm, va, &vi), 0);
	return vi;
}

/* A pool of `pages` huge pages and a private hugetlb mapping of len. */
static u64 huge_setup(struct env *e, u64 pages, u64 len)
{
	assert_int_equal(vmlab_user_set_nr_hugepages(e->m, pages), 0);
	s64 a = vmlab_mmap(e->mm, 0, len, RW, HUGE, NULL, 0);
	assert_true(a > 0);
	return (u64)a;
}

static bool pmd_leaf(struct vmlab_user_mm *mm, u64 va)
{
	int r = vmlab_user_thp_mapped(mm, va);
	assert_true(r == 0 || r == 1);
	return r;
}

static void test_pool(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 free0 = vmlab_nr_free_pages(e.m);
	u64 pgt0 = vmlab_user_pgtable_pages(e.mm);
	assert_pool(&e, 0, 0, 0, 0);
	assert_int_equal(mi(&e).page_size, M);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 4), 0);
	assert_pool(&e, 4, 4, 0, 0);
	assert_int_equal(vmlab_nr_free_pages(e.m), free0 - 4 * 512);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 1), 0);
	assert_pool(&e, 1, 1, 0, 0);
	/* More than memory holds: as many as there is room for. */
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 1ULL << 30), 0);
	u64 most = mi(&e).total;
	assert_true(most > 1 && most <= 64 * VMLAB_MiB / M);
	/* A page in use stays when the pool shrinks below it: surplus. */
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 1), 0);
	s64 a = vmlab_mmap(e.mm, 0, M, RW, HUGE, NULL, 0);
	assert_true(a > 0);
	wr(e.mm, 0, (u64)a, 1);
	assert_pool(&e, 1, 0, 0, 0);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 0), 0);
	assert_pool(&e, 1, 0, 0, 1);
	assert_int_equal(vmlab_munmap(e.mm, (u64)a, M), 0);
	assert_pool(&e, 0, 0, 0, 0); /* the surplus page went to the buddy */
	/* Every frame is back but the page tables the mapping left. */
	assert_int_equal(vmlab_nr_free_pages(e.m),
			 free0 - (vmlab_user_pgtable_pages(e.mm) - pgt0));
	assert_int_equal(vmlab_user_set_nr_hugepages(NULL, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_hugetlb_meminfo(e.m, NULL), -VMLAB_EINVAL);
	t_done(&e);
}

static void test_mmap_reserve(void **state)
{
	(void)state;
	struct env e = t_env(2);
	/* No pool: ENOMEM (the reservation fails), nothing mapped. */
	assert_int_equal(vmlab_mmap(e.mm, 0, M, RW, HUGE, NULL, 0),
			 -VMLAB_ENOMEM);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 0);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 2), 0);
	assert_int_equal(vmlab_mmap(e.mm, 0, 3 * M, RW, HUGE, NULL, 0),
			 -VMLAB_ENOMEM);
	/* A length is rounded up to 2 MiB; the address is 2 MiB aligned. */
	s64 a = vmlab_mmap(e.mm, 0, M + P, RW, HUGE | VMLAB_MAP_HUGE_2MB,
			   NULL, 0);
	assert_true(a > 0 && !((u64)a & (M - 1)));
	struct vmlab_vma_info vi = vma(e.mm, (u64)a);
	assert_int_equal(vi.end - vi.start, 2 * M);
	assert_true(vi.flags & VMLAB_VM_HUGETLB);
	assert_true(vi.flags & VMLAB_VM_DONTEXPAND);
	assert_false(vi.flags & VMLAB_VM_ACCOUNT);
	assert_pool(&e, 2, 2, 2, 0);
	/* Everything is reserved: one page more is refused. */
	assert_int_equal(vmlab_mmap(e.mm, 0, P, RW, HUGE, NULL, 0),
			 -VMLAB_ENOMEM);
	/* ... unless MAP_NORESERVE, whose fault then finds no page. */
	s64 n = vmlab_mmap(e.mm, 0, M, RW, HUGE | VMLAB_MAP_NORESERVE, NULL, 0);
	assert_true(n > 0);
	assert_true(vma(e.mm, (u64)n).flags & VMLAB_VM_NORESERVE);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)n, 1), VMLAB_SIGBUS);
	/* Sizes, alignment and files. */
	assert_int_equal(vmlab_mmap(e.mm, 0, M, RW, HUGE | VMLAB_MAP_HUGE_1GB,
				    NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(e.mm, (u64)n + P, M, RW,
				    HUGE | VMLAB_MAP_FIXED | VMLAB_MAP_NORESERVE,
				    NULL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(e.mm, 0, 0, RW, HUGE, NULL, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmap(e.mm, 0, M, RW, HUGE | VMLAB_MAP_NORESERVE,
				    NULL, P), -VMLAB_EINVAL); /* offset */
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create(e.m, "f", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, M), 0);
	assert_int_equal(vmlab_mmap(e.mm, 0, M, RW,
				    VMLAB_MAP_SHARED | VMLAB_MAP_HUGETLB, f, 0),
			 -VMLAB_EINVAL);
	vmlab_file_put(f);
	/* A free hint is aligned up. */
	u64 hint = (u64)n - 64 * M + P;
	s64 h = vmlab_mmap(e.mm, hint, M, RW, HUGE | VMLAB_MAP_NORESERVE,
			   NULL, 0);
	assert_int_equal(h, (s64)(hint - P + M));
	assert_int_equal(vmlab_munmap(e.mm, (u64)h, M), 0);
	assert_int_equal(vmlab_munmap(e.mm, (u64)n, M), 0);
	/* Unmapping gives the unused reservations back. */
	assert_int_equal(vmlab_munmap(e.mm, (u64)a, 2 * M), 0);
	assert_pool(&e, 2, 2, 0, 0);
	t_done(&e);
}

static void test_fault_pmd_leaf(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 va = huge_setup(&e, 2, 2 * M);
	assert_false(pmd_leaf(e.mm, va));
	wr(e.mm, 0, va + 5 * P + 3, 0x5a);
	/* One PMD leaf maps the whole 2 MiB: its reservation consumed. */
	assert_true(pmd_leaf(e.mm, va));
	assert_true(pmd_leaf(e.mm, va + M - P));
	assert_false(pmd_leaf(e.mm, va + M));
	assert_pool(&e, 2, 1, 1, 0);
	assert_int_equal(rd(e.mm, 1, va + 5 * P + 3), 0x5a);
	assert_int_equal(rd(e.mm, 1, va + M - 1), 0);
	struct vmlab_vma_info vi = vma(e.mm, va);
	assert_int_equal(vi.hugetlb_pages, 512);
	assert_int_equal(vi.rss_pages, 0); /* not in Rss, nor AnonHugePages */
	assert_int_equal(vi.thp_pages, 0);
	/* pagemap: 512 present consecutive frames, mapped once. */
	u64 pm[2];
	assert_int_equal(vmlab_pagemap_read(e.mm, va, pm, 2), 2);
	assert_true((pm[0] & VMLAB_PM_PRESENT) && (pm[1] & VMLAB_PM_PRESENT));
	assert_true(pm[1] & VMLAB_PM_MMAP_EXCLUSIVE);
	assert_int_equal((pm[1] & VMLAB_PM_PFN_MASK) - (pm[0] & VMLAB_PM_PFN_MASK), 1);
	/* A read fault maps a zeroed page too (no zero page for hugetlb). */
	assert_int_equal(rd(e.mm, 0, va + M + 8), 0);
	assert_true(pmd_leaf(e.mm, va + M));
	assert_pool(&e, 2, 0, 0, 0);
	/* MAP_LOCKED populates at mmap, and a hugetlb VMA is never
	 * VM_LOCKED (__mmap_complete()). */
	assert_int_equal(vmlab_munmap(e.mm, va, 2 * M), 0);
	assert_pool(&e, 2, 2, 0, 0);
	s64 a = vmlab_mmap(e.mm, 0, M, RW, HUGE | VMLAB_MAP_LOCKED, NULL, 0);
	assert_true(a > 0 && pmd_leaf(e.mm, (u64)a));
	assert_false(vma(e.mm, (u64)a).flags & VMLAB_VM_LOCKED);
	assert_pool(&e, 2, 1, 0, 0);
	/* PROT_NONE: SIGSEGV, and the page comes back with access. */
	wr(e.mm, 0, (u64)a, 7);
	assert_int_equal(vmlab_mprotect(e.mm, (u64)a, M, VMLAB_PROT_NONE), 0);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 1, (u64)a, &v), VMLAB_SIGSEGV);
	assert_int_equal(vmlab_mprotect(e.mm, (u64)a, M, VMLAB_PROT_READ), 0);
	assert_int_equal(rd(e.mm, 1, (u64)a), 7);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 1), VMLAB_SIGSEGV);
	assert_int_equal(vmlab_mprotect(e.mm, (u64)a, M, RW), 0);
	wr(e.mm, 0, (u64)a, 8); /* hugetlb_wp reuses the exclusive page */
	assert_int_equal(rd(e.mm, 1, (u64)a), 8);
	assert_pool(&e, 2, 1, 0, 0);
	t_done(&e);
}

static void test_dontneed(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 va = huge_setup(&e, 2, 2 * M);
	wr(e.mm, 0, va, 1);
	wr(e.mm, 1, va + M, 2);
	assert_pool(&e, 2, 0, 0, 0);
	/* The start must be aligned; the end is rounded down. */
	assert_int_equal(vmlab_madvise(e.mm, va + P, M, VMLAB_MADV_DONTNEED),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va, M - P, VMLAB_MADV_DONTNEED), 0);
	assert_true(pmd_leaf(e.mm, va));
	assert_pool(&e, 2, 0, 0, 0);
	assert_int_equal(vmlab_madvise(e.mm, va, M + P, VMLAB_MADV_DONTNEED), 0);
	assert_false(pmd_leaf(e.mm, va));
	assert_true(pmd_leaf(e.mm, va + M));
	assert_pool(&e, 2, 1, 1, 0); /* back, its reservation restored */
	assert_int_equal(rd(e.mm, 1, va), 0); /* a new zeroed page */
	assert_int_equal(rd(e.mm, 1, va + M), 2);
	assert_pool(&e, 2, 0, 0, 0);
	/* The other zapping advice is refused. */
	assert_int_equal(vmlab_madvise(e.mm, va, M, VMLAB_MADV_FREE),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va, M, VMLAB_MADV_PAGEOUT),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va, M, VMLAB_MADV_COLD),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va, M, VMLAB_MADV_WIPEONFORK),
			 -VMLAB_EINVAL);
	/* REMOVE needs a shared mapping: a private one is EACCES. */
	assert_int_equal(vmlab_madvise(e.mm, va, M, VMLAB_MADV_REMOVE),
			 -VMLAB_EACCES);
	/* Both back; the owner keeps their reservations (6.9+). */
	assert_int_equal(vmlab_madvise(e.mm, va, 2 * M, VMLAB_MADV_DONTNEED), 0);
	assert_pool(&e, 2, 2, 2, 0);
	t_done(&e);
}

static void test_granularity(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 va = huge_setup(&e, 3, 3 * M);
	wr(e.mm, 0, va + M, 3);
	/* No split inside a huge page: munmap, mprotect, madvise. */
	assert_int_equal(vmlab_munmap(e.mm, va + P, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munmap(e.mm, va, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mprotect(e.mm, va, P, VMLAB_PROT_READ),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va + P, P, VMLAB_MADV_DONTFORK),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	/* An aligned start but not end: the start's split stays when the
	 * end's fails (vms_gather_munmap_vmas() does not undo it). */
	assert_int_equal(vmlab_munmap(e.mm, va + M, M + P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	assert_true(pmd_leaf(e.mm, va + M));
	/* At 2 MiB boundaries: three VMAs, the middle one read-only. */
	assert_int_equal(vmlab_mprotect(e.mm, va + M, M, VMLAB_PROT_READ), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	assert_int_equal(vmlab_user_write8(e.mm, 0, va + M, 1), VMLAB_SIGSEGV);
	assert_int_equal(rd(e.mm, 1, va + M), 3);
	/* Unmapping the last third gives its unused reservation back; the
	 * faulted middle one keeps its page. */
	assert_pool(&e, 3, 2, 2, 0);
	assert_int_equal(vmlab_munmap(e.mm, va + 2 * M, M), 0);
	assert_pool(&e, 3, 2, 1, 0);
	assert_int_equal(vmlab_munmap(e.mm, va + M, M), 0);
	assert_pool(&e, 3, 3, 1, 0);
	/* mremap: growing is EINVAL, shrinking in place works. */
	assert_int_equal(vmlab_mremap(e.mm, va, M, 2 * M, VMLAB_MREMAP_MAYMOVE, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, va + P, P, P, 0, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mremap(e.mm, va, M, P, 0, 0), (s64)va);
	assert_int_equal(vmlab_munmap(e.mm, va, M), 0);
	assert_pool(&e, 3, 3, 0, 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 0);
	t_done(&e);
}

static void test_fork(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 4), 0);
	s64 a = vmlab_mmap(e.mm, 0, M, RW, HUGE, NULL, 0);
	s64 s = vmlab_mmap(e.mm, 0, M, RW, VMLAB_MAP_SHARED |
			   VMLAB_MAP_ANONYMOUS | VMLAB_MAP_HUGETLB, NULL, 0);
	assert_true(a > 0 && s > 0);
	wr(e.mm, 0, (u64)a, 1);
	wr(e.mm, 0, (u64)s, 1);
	assert_pool(&e, 4, 2, 0, 0);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	/* Page tables copied: the child sees both pages without faults. */
	assert_true(pmd_leaf(c, (u64)a) && pmd_leaf(c, (u64)s));
	assert_int_equal(rd(c, 1, (u64)a), 1);
	assert_int_equal(rd(c, 1, (u64)s), 1);
	assert_pool(&e, 4, 2, 0, 0);
	/* Private: the child's write copies the 2 MiB page. */
	wr(c, 1, (u64)a + 9, 2);
	assert_pool(&e, 4, 1, 0, 0);
	assert_int_equal(rd(e.mm, 0, (u64)a + 9), 0);
	assert_int_equal(rd(c, 1, (u64)a), 1);
	/* The parent's page is its own again: written in place. */
	wr(e.mm, 0, (u64)a + 9, 3);
	assert_pool(&e, 4, 1, 0, 0);
	assert_int_equal(rd(c, 1, (u64)a + 9), 2);
	/* Shared: one page for both. */
	wr(c, 1, (u64)s + 4, 5);
	assert_int_equal(rd(e.mm, 0, (u64)s + 4), 5);
	assert_pool(&e, 4, 1, 0, 0);
	/* MADV_REMOVE (hugetlbfs_punch_hole): part of a huge page is zeroed
	 * in place; a whole one leaves every mapping and the pool gets it. */
	wr(c, 1, (u64)s + P + 1, 6);
	assert_int_equal(vmlab_madvise(e.mm, (u64)s + P, P, VMLAB_MADV_REMOVE), 0);
	assert_int_equal(rd(c, 1, (u64)s + P + 1), 0);
	assert_int_equal(rd(c, 1, (u64)s + 4), 5);
	assert_true(pmd_leaf(c, (u64)s));
	assert_int_equal(vmlab_madvise(e.mm, (u64)s, M, VMLAB_MADV_REMOVE), 0);
	assert_false(pmd_leaf(c, (u64)s) || pmd_leaf(e.mm, (u64)s));
	assert_pool(&e, 4, 2, 0, 0);
	assert_int_equal(rd(c, 1, (u64)s + 4), 0); /* a new page */
	assert_int_equal(rd(e.mm, 0, (u64)s + 4), 0);
	assert_pool(&e, 4, 1, 0, 0);
	vmlab_user_mm_destroy(c);
	assert_pool(&e, 4, 2, 0, 0);
	assert_int_equal(rd(e.mm, 0, (u64)a + 9), 3);
	t_done(&e);
	/* (t_done destroyed the mm: every page went back first.) */
}

/* Claim 4.17 (seeds/guard-pages-pagewalk.txt): "We do not support
 * hugetlb at this stage" - guard-region advice on a VM_HUGETLB VMA is
 * EINVAL (is_valid_guard_vma(): VM_HUGETLB, and VM_DONTEXPAND in
 * VM_SPECIAL), installed or removed, faulted or not, and nothing
 * changes. */
static void test_guard_einval(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 va = huge_setup(&e, 2, 2 * M);
	wr(e.mm, 0, va, 4);
	assert_int_equal(vmlab_madvise(e.mm, va, P, VMLAB_MADV_GUARD_INSTALL),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va + M, M,
				       VMLAB_MADV_GUARD_INSTALL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, va, 2 * M, VMLAB_MADV_GUARD_REMOVE),
			 -VMLAB_EINVAL);
	struct vmlab_vma_info vi = vma(e.mm, va);
	assert_int_equal(vi.guard_pages, 0);
	assert_false(vi.flags & VMLAB_VM_MAYBE_GUARD);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	assert_int_equal(rd(e.mm, 1, va), 4);
	assert_true(pmd_leaf(e.mm, va));
	struct vmlab_range r[1];
	assert_int_equal(vmlab_guard_scan(e.mm, va, va + 2 * M, r, 1), 0);
	/* The same advice on ordinary memory next to it works. */
	s64 b = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_true(b > 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)b, P, VMLAB_MADV_GUARD_INSTALL),
			 0);
	t_done(&e);
}

/* --------------------------------------------------- host differential */

static int host_read_ul(const char *path, unsigned long *out)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fscanf(f, "%lu", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

static int host_write_ul(const char *path, unsigned long v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%lu\n", v) > 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* HugePages_Free and _Rsvd from /proc/meminfo. */
static void host_pool(long *free_, long *rsvd)
{
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");
	*free_ = *rsvd = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %ld", free_);
		sscanf(line, "HugePages_Rsvd: %ld", rsvd);
	}
	fclose(f);
}

#define NSTEP 13

/* The steps, on the host (host != 0) or on the model. */
static void steps(long *r, struct env *e, bool host)
{
	const u64 m = M;
	long k = 0;
#define RES(x) (r[k++] = (x))
#define SYS(host_expr, model_expr)                                           \
	RES(host ? ((host_expr) < 0 ? -errno : 0) : (long)(model_expr))
	if (host) {
		void *p3 = mmap(NULL, 3 * m, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		RES(p3 == MAP_FAILED ? -errno : 0);
		if (p3 != MAP_FAILED)
			munmap(p3, 3 * m);
	} else {
		s64 x = vmlab_mmap(e->mm, 0, 3 * m, RW, HUGE, NULL, 0);
		RES(x < 0 ? (long)x : 0);
	}
	u64 va;
	if (host) {
		void *p = mmap(NULL, 2 * m, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		RES(p == MAP_FAILED ? -errno : 0);
		if (p == MAP_FAILED)
			return;
		va = (u64)(uintptr_t)p;
	} else {
		s64 x = vmlab_mmap(e->mm, 0, 2 * m, RW, HUGE, NULL, 0);
		RES(x < 0 ? (long)x : 0);
		if (x < 0)
			return;
		va = (u64)x;
	}
	long fr, rs;
	RES((long)(va & (m - 1)));
	if (host) {
		host_pool(&fr, &rs);
	} else {
		struct vmlab_hugetlb_meminfo h = mi(e);
		fr = (long)h.free, rs = (long)h.rsvd;
	}
	RES(fr * 100 + rs);
	if (host)
		*(volatile char *)(uintptr_t)(va + 5 * P) = 1;
	else
		wr(e->mm, 0, va + 5 * P, 1);
	if (host) {
		host_pool(&fr, &rs);
	} else {
		struct vmlab_hugetlb_meminfo h = mi(e);
		fr = (long)h.free, rs = (long)h.rsvd;
	}
	RES(fr * 100 + rs);
	void *hp = (void *)(uintptr_t)va;
	SYS(madvise(hp, P, VMLAB_MADV_GUARD_INSTALL),
	    vmlab_madvise(e->mm, va, P, VMLAB_MADV_GUARD_INSTALL));
	SYS(madvise(hp, 2 * m, VMLAB_MADV_GUARD_REMOVE),
	    vmlab_madvise(e->mm, va, 2 * m, VMLAB_MADV_GUARD_REMOVE));
	SYS(munmap((char *)hp + P, P), vmlab_munmap(e->mm, va + P, P));
	SYS(mprotect(hp, P, PROT_READ),
	    vmlab_mprotect(e->mm, va, P, VMLAB_PROT_READ));
	SYS(madvise(hp, m, MADV_REMOVE),
	    vmlab_madvise(e->mm, va, m, VMLAB_MADV_REMOVE));
	SYS(madvise((char *)hp + P, m, MADV_DONTNEED),
	    vmlab_madvise(e->mm, va + P, m, VMLAB_MADV_DONTNEED));
	SYS(madvise(hp, m, MADV_DONTNEED),
	    vmlab_madvise(e->mm, va, m, VMLAB_MADV_DONTNEED));
	if (host) {
		host_pool(&fr, &rs);
		munmap(hp, 2 * m);
	} else {
		struct vmlab_hugetlb_meminfo h = mi(e);
		fr = (long)h.free, rs = (long)h.rsvd;
		assert_int_equal(vmlab_munmap(e->mm, va, 2 * m), 0);
	}
	RES(fr * 100 + rs);
	assert_int_equal(k, NSTEP);
#undef SYS
#undef RES
}

/* The same steps on the model and on the host with a pool of two pages
 * (nr_hugepages written as root and restored).  Skipped when the host
 * kernel is older than 6.18, has huge pages in use already, or does not
 * let the pool be set. */
static void test_host_differential(void **state)
{
	(void)state;
	static const char knob[] = "/proc/sys/vm/nr_hugepages";
	unsigned long old = 0, now = 0;
	long hf, hr;
	if (!t_host_is_6_18() || geteuid() != 0 || host_read_ul(knob, &old))
		skip();
	host_pool(&hf, &hr);
	if (hf != (long)old || hr != 0)
		skip(); /* someone else's huge pages are in use */
	if (host_write_ul(knob, 2) || host_read_ul(knob, &now) || now != 2) {
		(void)host_write_ul(knob, old);
		skip();
	}
	long h[NSTEP] = {0}, md[NSTEP] = {0};
	steps(h, NULL, true);
	int restored = host_write_ul(knob, old);
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_nr_hugepages(e.m, 2), 0);
	steps(md, &e, false);
	t_done(&e);
	assert_int_equal(restored, 0);
	for (int i = 0; i < NSTEP; i++) {
		if (md[i] != h[i])
			print_error("step %d: model %ld host %ld\n", i, md[i], h[i]);
		assert_int_equal(md[i], h[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_mmap_reserve),
		cmocka_unit_test(test_fault_pmd_leaf),
		cmocka_unit_test(test_dontneed),
		cmocka_unit_test(test_granularity),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_guard_einval),
		cmocka_unit_test(test_host_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
