/* SPDX-License-Identifier: MIT */
/* Benchmarks of the machine layer: access path, walks, map/unmap, CPA,
 * sparse memory. */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

#define VA_BASE 0xffffc90000000000ULL

static void map_one(struct vmlab_machine *m, u64 va)
{
	u64 pfn;
	if (vmlab_alloc_pages(m, 0, 0, &pfn) ||
	    vmlab_map_range(m, vmlab_init_mm(m), va, pfn << VMLAB_PAGE_SHIFT,
			    VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0)) {
		fprintf(stderr, "bench: map failed\n");
		exit(1);
	}
	u64 zero = 0;
	vmlab_write(m, 0, va, &zero, 8, NULL);
}

static void access_hit(struct bench_out *o, u64 n, bool checker,
		       const char *arch, const char *name)
{
	struct vmlab_machine *m = bench_boot_arch(VMLAB_GiB, 4, checker, arch);
	map_one(m, VA_BASE);
	u64 sum = 0, v = 0;
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++) {
		/* Memory may change between two accesses of a real sweep: the
		 * compiler may not hoist the hit's loads (tag, host) out of
		 * the loop, so each iteration pays a whole hit. */
		__asm__ volatile("" ::: "memory");
		vmlab_read_u64(m, 0, VA_BASE + ((i & 63) << 3), &v);
		sum += v;
	}
	double dt = bench_now() - t0;
	if (sum == 1)
		printf("\n");
	bench_figure(o, name, "accesses_per_s", (double)n / dt, "1/s");
	bench_figure(o, name, "ns_per_access", dt * 1e9 / (double)n, "ns");
	vmlab_machine_destroy(m);
}

static void bench_access_hit(struct bench_out *o, u64 n)
{
	access_hit(o, n, false, "x86_64", "access-hit");
}

/* The same loop on arm64: the hit path is architecture-neutral, so it
 * should cost what x86's does (bench/callgrind.py hit-arm64). */
static void bench_access_hit_arm64(struct bench_out *o, u64 n)
{
	access_hit(o, n, false, "arm64", "access-hit-arm64");
}

static void bench_access_hit_checked(struct bench_out *o, u64 n)
{
	access_hit(o, n, true, "x86_64", "access-hit-checked");
}

/* Pages 1 GiB apart: every access misses L1, L2 and the paging-structure
 * caches, so each one walks all 4 levels. */
static void access_miss(struct bench_out *o, u64 n, bool checker,
			const char *arch, const char *name)
{
	const u64 pages = 4096;
	struct vmlab_machine *m =
		bench_boot_arch(2 * VMLAB_GiB, 4, checker, arch);
	for (u64 p = 0; p < pages; p++)
		map_one(m, VA_BASE + p * VMLAB_PUD_SIZE);
	u64 v, w0 = vmlab_counter(m, -1, VMLAB_C_walk);
	u64 l0 = vmlab_counter(m, -1, VMLAB_C_walk_level);
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++)
		vmlab_read(m, 1, VA_BASE + (i % pages) * VMLAB_PUD_SIZE, &v, 8,
			   NULL);
	double dt = bench_now() - t0;
	u64 walks = vmlab_counter(m, -1, VMLAB_C_walk) - w0;
	u64 levels = vmlab_counter(m, -1, VMLAB_C_walk_level) - l0;
	bench_figure(o, name, "walks_per_s", (double)walks / dt, "1/s");
	bench_figure(o, name, "levels_per_walk",
		     walks ? (double)levels / (double)walks : 0, "");
	bench_figure(o, name, "walks_per_access", (double)walks / (double)n, "");
	vmlab_machine_destroy(m);
}

static void bench_access_miss(struct bench_out *o, u64 n)
{
	access_miss(o, n, false, "x86_64", "access-miss");
}

static void bench_access_miss_arm64(struct bench_out *o, u64 n)
{
	access_miss(o, n, false, "arm64", "access-miss-arm64");
}

static void bench_access_miss_checked(struct bench_out *o, u64 n)
{
	access_miss(o, n, true, "x86_64", "access-miss-checked");
}

static void bench_map_unmap(struct bench_out *o, u64 n)
{
	struct vmlab_machine *m = bench_boot(VMLAB_GiB, 4, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	for (u64 p = 0; p < 512; p++) /* a populated PTE table */
		map_one(m, VA_BASE + VMLAB_PMD_SIZE + p * VMLAB_PAGE_SIZE);
	u64 pfn;
	vmlab_alloc_pages(m, 0, 0, &pfn);
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++) {
		u64 va = VA_BASE + (i & 511) * VMLAB_PAGE_SIZE;
		vmlab_map_range(m, k, va, pfn << VMLAB_PAGE_SHIFT,
				VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0);
		struct vmlab_mmu_gather tlb;
		vmlab_tlb_gather_mmu(&tlb, k, 0);
		vmlab_unmap_range(m, &tlb, va, VMLAB_PAGE_SIZE, false);
		vmlab_tlb_finish_mmu(m, &tlb);
	}
	double dt = bench_now() - t0;
	bench_figure(o, "map-unmap-4k", "pairs_per_s", (double)n / dt, "1/s");
	bench_figure(o, "map-unmap-4k", "ipis_per_pair",
		     (double)vmlab_counter(m, -1, VMLAB_C_ipi_sent) / (double)n,
		     "");
	vmlab_machine_destroy(m);
}

static void bench_set_memory_split(struct bench_out *o, u64 n)
{
	struct vmlab_machine *m = bench_boot(64 * VMLAB_GiB, 4, false);
	u64 frames = vmlab_nr_frames(m);
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++) {
		/* Scattered: a different 2 MiB region each time. */
		u64 pfn = ((i * 2654435761ULL) % (frames / 512)) * 512 + 7;
		vmlab_set_memory_ro(m, 0, vmlab_page_address(m, pfn), 1);
		vmlab_set_memory_rw(m, 0, vmlab_page_address(m, pfn), 1);
	}
	double dt = bench_now() - t0;
	struct vmlab_directmap_stats st;
	vmlab_directmap_stats(m, &st);
	bench_figure(o, "set-memory-split", "ops_per_s", 2.0 * (double)n / dt,
		     "1/s");
	bench_figure(o, "set-memory-split", "level3_splits",
		     (double)st.level3_splits, "");
	bench_figure(o, "set-memory-split", "level2_splits",
		     (double)st.level2_splits, "");
	vmlab_machine_destroy(m);
}

static void bench_sparse_1t(struct bench_out *o, u64 n)
{
	(void)n;
	long rss0 = bench_rss_kib();
	double t0 = bench_now();
	struct vmlab_machine *m = bench_boot(VMLAB_TiB, 4, false);
	double tboot = bench_now() - t0;
	u64 pages = VMLAB_GiB / VMLAB_PAGE_SIZE;
	u64 base = 512ULL * VMLAB_GiB >> VMLAB_PAGE_SHIFT; /* mid-memory */
	for (u64 p = 0; p < pages; p++) {
		u64 v = p;
		vmlab_write(m, 0, vmlab_page_address(m, base + p), &v, 8, NULL);
	}
	double dt = bench_now() - t0;
	long rss = bench_rss_kib();
	bench_figure(o, "sparse-1t", "boot_s", tboot, "s");
	bench_figure(o, "sparse-1t", "boot_and_touch_1g_s", dt, "s");
	bench_figure(o, "sparse-1t", "host_rss_gib",
		     (double)(rss - rss0) / (1024.0 * 1024.0), "GiB");
	vmlab_machine_destroy(m);
}

const struct bench bench_machine[] = {
	{"access-hit", "TLB-hit reads, checker off", bench_access_hit,
	 200000000},
	{"access-hit-checked", "TLB-hit reads, checker on",
	 bench_access_hit_checked, 100000000},
	{"access-miss", "reads that walk all 4 levels", bench_access_miss,
	 5000000},
	{"access-hit-arm64", "TLB-hit reads, checker off, arm64",
	 bench_access_hit_arm64, 200000000},
	{"access-miss-arm64", "reads that walk all 4 levels, arm64",
	 bench_access_miss_arm64, 5000000},
	{"access-miss-checked", "reads that walk all 4 levels, checker on",
	 bench_access_miss_checked, 2000000},
	{"map-unmap-4k", "map+unmap of one page with its flush",
	 bench_map_unmap, 1000000},
	{"set-memory-split", "set_memory_ro/rw on scattered direct-map pages",
	 bench_set_memory_split, 20000},
	{"sparse-1t", "boot 1 TiB, touch 1 GiB: host RSS", bench_sparse_1t, 1},
};
const int bench_machine_n = sizeof(bench_machine) / sizeof(bench_machine[0]);
