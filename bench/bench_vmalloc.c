/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the vmalloc service: vmalloc+vfree of one page against a
 * busy tree of a given size, and the kernel's long_busy_list shape.  The
 * purge worker runs whenever it is queued, so purges and their flushes
 * are inside the measured time, as they are on a real machine.  Figures
 * only mean something from a build without -Ddebug_checks (the debug
 * build verifies whole trees after every operation).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

#define BENCH_MEM (16 * VMLAB_GiB) /* sparse: costs only what is used */

struct live {
	struct vmlab_machine *m;
	u64 *addr;
	u64 n;
};

static void die(const char *what)
{
	fprintf(stderr, "bench: %s failed\n", what);
	exit(1);
}

static void live_fill(struct live *l, u64 n, u64 pages)
{
	l->addr = malloc((n ? n : 1) * sizeof(u64));
	if (!l->addr)
		die("malloc");
	for (u64 i = 0; i < n; i++) {
		l->addr[i] = vmlab_vmalloc(l->m, 0, pages * VMLAB_PAGE_SIZE);
		if (!l->addr[i])
			die("vmalloc");
	}
	l->n = n;
}

static void live_free(struct live *l)
{
	for (u64 i = 0; i < l->n; i++)
		vmlab_vfree(l->m, 0, l->addr[i]);
	free(l->addr);
	l->addr = NULL;
}

static inline void run_pending(struct vmlab_machine *m)
{
	if (vmlab_nr_pending_work(m))
		vmlab_run_work(m, 0, 16);
}

/* n pairs of vmalloc(PAGE_SIZE) + vfree; returns host seconds. */
static double pairs(struct vmlab_machine *m, u64 n)
{
	double t0 = bench_now();

	for (u64 i = 0; i < n; i++) {
		u64 a = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE);

		if (!a)
			die("vmalloc");
		vmlab_vfree(m, 0, a);
		run_pending(m);
	}
	return bench_now() - t0;
}

static double flushes(const struct vmlab_machine *m)
{
	return (double)(vmlab_counter(m, -1, VMLAB_C_flush_kernel_range) +
			vmlab_counter(m, -1, VMLAB_C_flush_kernel_range_full));
}

/* Pairs run before the measured ones (descriptor cache, page tables, a
 * few purges): a fixed count, so that differencing two iteration counts
 * (the callgrind method, tests/perf_guard.py) cancels it exactly. */
#define WARM_PAIRS 20000

static void one_page(struct bench_out *o, u64 n, u64 live, bool checker,
		     const char *name)
{
	struct live l = {.m = bench_boot(BENCH_MEM, 4, checker)};

	live_fill(&l, live, 1);
	pairs(l.m, WARM_PAIRS);
	vmlab_counters_reset(l.m);
	double dt = pairs(l.m, n);
	bench_figure(o, name, "pairs_per_s", (double)n / dt, "1/s");
	bench_figure(o, name, "ns_per_pair", dt * 1e9 / (double)n, "ns");
	bench_figure(o, name, "flushes_per_1k_pairs",
		     flushes(l.m) * 1000.0 / (double)n, "");
	live_free(&l);
	vmlab_machine_destroy(l.m);
}

static void bench_1page(struct bench_out *o, u64 n)
{
	one_page(o, n, 100000, false, "vmalloc-1page");
}

/* The two ends of vmalloc-scaling alone, for instruction counts. */
static void bench_1page_1k(struct bench_out *o, u64 n)
{
	one_page(o, n, 1000, false, "vmalloc-1page-1k");
}

static void bench_1page_1m(struct bench_out *o, u64 n)
{
	one_page(o, n, 1000000, false, "vmalloc-1page-1m");
}

static void bench_1page_checked(struct bench_out *o, u64 n)
{
	one_page(o, n, 100000, true, "vmalloc-1page-checked");
}

static double scaling_one(u64 live, u64 n)
{
	struct live l = {.m = bench_boot(BENCH_MEM, 4, false)};

	live_fill(&l, live, 1);
	pairs(l.m, WARM_PAIRS);
	double dt = pairs(l.m, n);
	live_free(&l);
	vmlab_machine_destroy(l.m);
	return dt * 1e9 / (double)n;
}

static void bench_scaling(struct bench_out *o, u64 n)
{
	static const u64 sizes[] = {1000, 10000, 100000, 1000000};
	static const char *const names[] = {"ns_per_pair_1k", "ns_per_pair_10k",
					    "ns_per_pair_100k",
					    "ns_per_pair_1m"};
	double ns[4];

	for (int i = 0; i < 4; i++) {
		ns[i] = scaling_one(sizes[i], n);
		bench_figure(o, "vmalloc-scaling", names[i], ns[i], "ns");
	}
	bench_figure(o, "vmalloc-scaling", "ratio_1m_over_1k", ns[3] / ns[0],
		     "");
}

/* lib/test_vmalloc.c's long_busy_list_alloc_test, timed. */
static void bench_long_busy(struct bench_out *o, u64 n)
{
	struct live l = {.m = bench_boot(BENCH_MEM, 4, false)};
	u8 zero = 0, one = 1;

	live_fill(&l, 15000, 1);
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++) {
		u64 p1 = vmlab_vmalloc(l.m, 0, 100 * VMLAB_PAGE_SIZE);
		u64 p2 = vmlab_vmalloc(l.m, 0, VMLAB_PAGE_SIZE);

		if (!p1 || !p2)
			die("vmalloc");
		vmlab_write(l.m, 0, p1, &zero, 1, NULL);
		vmlab_write(l.m, 0, p2, &one, 1, NULL);
		vmlab_vfree(l.m, 0, p1);
		vmlab_vfree(l.m, 0, p2);
		run_pending(l.m);
	}
	double dt = bench_now() - t0;
	bench_figure(o, "vmalloc-long-busy", "loops_per_s", (double)n / dt,
		     "1/s");
	bench_figure(o, "vmalloc-long-busy", "pairs_per_s",
		     2.0 * (double)n / dt, "1/s");
	bench_figure(o, "vmalloc-long-busy", "ns_per_loop",
		     dt * 1e9 / (double)n, "ns");
	live_free(&l);
	vmlab_machine_destroy(l.m);
}

const struct bench bench_vmalloc[] = {
    {"vmalloc-1page", "vmalloc+vfree of one page, 100,000 live areas",
     bench_1page, 2000000},
    {"vmalloc-1page-checked", "the same with the checker on",
     bench_1page_checked, 500000},
    {"vmalloc-1page-1k", "vmalloc+vfree of one page, 1,000 live areas",
     bench_1page_1k, 2000000},
    {"vmalloc-1page-1m", "vmalloc+vfree of one page, 1,000,000 live areas",
     bench_1page_1m, 1000000},
    {"vmalloc-scaling", "vmalloc+vfree cost at 1k..1M live areas",
     bench_scaling, 1000000},
    {"vmalloc-long-busy", "lib/test_vmalloc.c long_busy_list shape",
     bench_long_busy, 100000},
};
const int bench_vmalloc_n = sizeof(bench_vmalloc) / sizeof(bench_vmalloc[0]);
