/* SPDX-License-Identifier: MIT */
/*
 * What KASAN costs the model: vmalloc+vfree of one page with 100k live
 * areas (as vmalloc-1page) and TLB-hit 8-byte reads of one vmalloc page
 * (as access-hit), each with KASAN off and on, on the same machine shape
 * so the two differ only by KASAN.  Host instructions per iteration come
 * from callgrind by differencing two iteration counts (doc/sim.md,
 * "KASAN"); the wall-clock figures here are for orientation only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

#define KASAN_BENCH_MEM (16 * VMLAB_GiB)
#define LIVE_AREAS 100000
#define WARM_PAIRS 20000

static struct vmlab_machine *kboot(bool kasan)
{
	struct vmlab_config cfg;
	struct vmlab_machine *m;

	vmlab_config_default(&cfg);
	cfg.mem_bytes = KASAN_BENCH_MEM;
	cfg.nr_cpus = 4;
	cfg.kasan = kasan;
	if (vmlab_boot(&cfg, &m)) {
		fprintf(stderr, "bench: boot failed\n");
		exit(1);
	}
	vmlab_set_quiet(m, true);
	return m;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s failed\n", what);
	exit(1);
}

static double pairs(struct vmlab_machine *m, u64 n)
{
	double t0 = bench_now();

	for (u64 i = 0; i < n; i++) {
		u64 a = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE);

		if (!a)
			die("vmalloc");
		vmlab_vfree(m, 0, a);
		if (vmlab_nr_pending_work(m))
			vmlab_run_work(m, 0, 16);
	}
	return bench_now() - t0;
}

static void one_page(struct bench_out *o, u64 n, bool kasan, const char *name)
{
	struct vmlab_machine *m = kboot(kasan);
	u64 *live = malloc(LIVE_AREAS * sizeof(u64));

	if (!live)
		die("malloc");
	for (u64 i = 0; i < LIVE_AREAS; i++)
		if (!(live[i] = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE)))
			die("vmalloc");
	pairs(m, WARM_PAIRS);
	struct vmlab_kasan_stats s0, s1;
	vmlab_kasan_stats(m, &s0);
	double dt = pairs(m, n);
	vmlab_kasan_stats(m, &s1);
	bench_figure(o, name, "pairs_per_s", (double)n / dt, "1/s");
	bench_figure(o, name, "ns_per_pair", dt * 1e9 / (double)n, "ns");
	if (kasan) {
		bench_figure(o, name, "shadow_pages_mapped",
			     (double)s1.shadow_pages_mapped, "");
		bench_figure(o, name, "shadow_frees_per_1k_pairs",
			     (double)(s1.shadow_pages_freed - s0.shadow_pages_freed) *
				 1000.0 / (double)n,
			     "");
	}
	for (u64 i = 0; i < LIVE_AREAS; i++)
		vmlab_vfree(m, 0, live[i]);
	free(live);
	vmlab_machine_destroy(m);
}

static void bench_1page_off(struct bench_out *o, u64 n)
{
	one_page(o, n, false, "kasan-vmalloc-1page-off");
}

static void bench_1page_on(struct bench_out *o, u64 n)
{
	one_page(o, n, true, "kasan-vmalloc-1page");
}

/*
 * access-hit's loop over a vmalloc page: 64 words, CPU 0, all hits.  The
 * second area is used: the first page of vmalloc and the first page of
 * its shadow fall on the same slot of the direct-mapped host fast path,
 * so there the data and the shadow entry would evict each other.
 */
static void access_hit(struct bench_out *o, u64 n, bool kasan,
		       const char *name)
{
	struct vmlab_machine *m = kboot(kasan);
	u64 first = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE);
	u64 va = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE);
	u64 sum = 0, v = 0;

	if (!first || !va)
		die("vmalloc");
	for (u64 i = 0; i < 64; i++)
		vmlab_write_u64(m, 0, va + (i << 3), i);
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++) {
		vmlab_read_u64(m, 0, va + ((i & 63) << 3), &v);
		sum += v;
	}
	double dt = bench_now() - t0;
	if (sum == 1)
		printf("\n");
	bench_figure(o, name, "accesses_per_s", (double)n / dt, "1/s");
	bench_figure(o, name, "ns_per_access", dt * 1e9 / (double)n, "ns");
	if (kasan) {
		struct vmlab_kasan_stats st;
		vmlab_kasan_stats(m, &st);
		bench_figure(o, name, "out_of_line_checks_per_access",
			     (double)st.checks / (double)(n + 64), "");
	}
	vmlab_machine_destroy(m);
}

static void bench_hit_off(struct bench_out *o, u64 n)
{
	access_hit(o, n, false, "kasan-access-hit-off");
}

static void bench_hit_on(struct bench_out *o, u64 n)
{
	access_hit(o, n, true, "kasan-access-hit");
}

const struct bench bench_kasan[] = {
	{"kasan-vmalloc-1page", "vmalloc+vfree of one page, 100k live, KASAN on",
	 bench_1page_on, 500000},
	{"kasan-vmalloc-1page-off", "the same machine with KASAN off",
	 bench_1page_off, 500000},
	{"kasan-access-hit", "TLB-hit reads of a vmalloc page, KASAN checks",
	 bench_hit_on, 50000000},
	{"kasan-access-hit-off", "the same reads with KASAN off", bench_hit_off,
	 50000000},
};
const int bench_kasan_n = sizeof(bench_kasan) / sizeof(bench_kasan[0]);
