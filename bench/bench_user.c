/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the user layer: the guard-stacks claim (marker vs
 * PROT_NONE stacks), anonymous write faults, and fork + copy-on-write of a
 * populated 64 MiB mm, THP fault / split / collapse.  Host rates come from the wall clock; counts and
 * simulated time from the model.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"

#define P 4096ULL
#define RW (VMLAB_PROT_READ | VMLAB_PROT_WRITE)
#define ANON (VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS)

static void die(const char *what, long long err)
{
	fprintf(stderr, "bench: %s failed (%lld)\n", what, err);
	exit(1);
}

static void guard_stacks(struct bench_out *o, u64 n)
{
	const char *b = "guard-stacks";
	if (n > (1u << 20))
		n = 1u << 20;
	for (int markers = 1; markers >= 0; markers--) {
		struct vmlab_machine *m = bench_boot(VMLAB_GiB, 4, false);
		struct vmlab_guard_stacks_result r;
		double t0 = bench_now();
		int err = vmlab_scenario_guard_stacks(m, (int)n, 16, markers, &r);
		double dt = bench_now() - t0;
		if (err)
			die("guard-stacks scenario", err);
		const char *w = markers ? "markers" : "prot_none";
		char name[64];
#define FIG(f, v, u)                                                         \
	do {                                                                 \
		snprintf(name, sizeof(name), "%s_%s", w, f);                 \
		bench_figure(o, b, name, v, u);                              \
	} while (0)
		FIG("stacks_per_s", (double)n / dt, "1/s");
		FIG("vmas_added", (double)r.vmas_added, "");
		FIG("vmas_per_stack", r.vmas_per_stack, "");
		FIG("pgtable_pages", (double)r.pgtable_pages, "");
		FIG("syscalls_per_stack", r.syscalls_per_stack, "");
		FIG("flushes", (double)r.flushes, "");
		FIG("pte_writes_per_stack", (double)r.pte_writes / (double)n, "");
		FIG("sim_ns_per_stack", r.sim_ns_per_stack, "ns");
		FIG("guard_sigsegv", (double)r.guard_sigsegv, "");
#undef FIG
		vmlab_machine_destroy(m);
	}
}

static void fault_anon(struct bench_out *o, u64 n)
{
	const char *b = "fault-anon";
	const u64 region = 16384; /* pages: 64 MiB per round */
	struct vmlab_machine *m = bench_boot(VMLAB_GiB, 4, false);
	struct vmlab_user_mm *mm;
	if (vmlab_user_mm_create(m, &mm))
		die("mm create", 0);
	vmlab_user_switch(mm, 0);
	u64 done = 0;
	double busy = 0;
	struct vmlab_counters c0, c1, d;
	vmlab_counters_snapshot(m, &c0);
	while (done < n) {
		u64 pages = n - done < region ? n - done : region;
		s64 a = vmlab_mmap(mm, 0, pages * P, RW, ANON, NULL, 0);
		if (a < 0)
			die("mmap", a);
		double t0 = bench_now();
		for (u64 i = 0; i < pages; i++)
			if (vmlab_user_write8(mm, 0, (u64)a + i * P, 1))
				die("write", (long long)i);
		busy += bench_now() - t0;
		if (vmlab_munmap(mm, (u64)a, pages * P))
			die("munmap", 0);
		done += pages;
	}
	vmlab_counters_snapshot(m, &c1);
	vmlab_counters_diff(&c1, &c0, &d);
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	bench_figure(o, b, "faults_per_s", (double)done / busy, "1/s");
	bench_figure(o, b, "ns_per_fault", busy * 1e9 / (double)done, "ns");
	bench_figure(o, b, "anon_faults", (double)st.fault_anon, "");
	bench_figure(o, b, "pgtable_allocs", (double)d.v[VMLAB_C_pgtable_alloc],
		     "");
	bench_figure(o, b, "sim_ns_per_fault", d.time_ns / (double)done, "ns");
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void fork_cow(struct bench_out *o, u64 rounds)
{
	const char *b = "fork-cow";
	const u64 pages = 16384; /* 64 MiB */
	struct vmlab_machine *m = bench_boot(VMLAB_GiB, 4, false);
	struct vmlab_user_mm *p;
	if (vmlab_user_mm_create(m, &p))
		die("mm create", 0);
	vmlab_user_switch(p, 0);
	s64 a = vmlab_mmap(p, 0, pages * P, RW, ANON | VMLAB_MAP_POPULATE, NULL,
			   0);
	if (a < 0)
		die("mmap", a);
	double t_fork = 0, t_cow = 0;
	struct vmlab_counters c0, c1, d;
	vmlab_counters_snapshot(m, &c0);
	u64 cows = 0;
	for (u64 r = 0; r < rounds; r++) {
		struct vmlab_user_mm *c;
		double t0 = bench_now();
		if (vmlab_fork(p, &c))
			die("fork", 0);
		double t1 = bench_now();
		vmlab_user_switch(c, 1);
		for (u64 i = 0; i < pages; i++)
			if (vmlab_user_write8(c, 1, (u64)a + i * P, (u8)r))
				die("cow write", (long long)i);
		double t2 = bench_now();
		struct vmlab_user_stats st;
		vmlab_user_stats(c, &st);
		cows += st.fault_cow;
		vmlab_user_mm_destroy(c);
		t_fork += t1 - t0;
		t_cow += t2 - t1;
	}
	vmlab_counters_snapshot(m, &c1);
	vmlab_counters_diff(&c1, &c0, &d);
	double total = (double)(pages * rounds);
	bench_figure(o, b, "pages_per_s", total / (t_fork + t_cow), "1/s");
	bench_figure(o, b, "fork_ms", t_fork * 1e3 / (double)rounds, "ms");
	bench_figure(o, b, "cow_pages_per_s", total / t_cow, "1/s");
	bench_figure(o, b, "cow_faults", (double)cows, "");
	bench_figure(o, b, "sim_ns_per_page", d.time_ns / total, "ns");
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

/* One timed phase over n PMD ranges: host ns and simulated ns per range. */
static void thp_phase(struct bench_out *o, struct vmlab_machine *m,
		      const char *phase, double busy, const struct vmlab_counters *c0,
		      u64 n)
{
	struct vmlab_counters c1, d;
	char name[64];
	vmlab_counters_snapshot(m, &c1);
	vmlab_counters_diff(&c1, c0, &d);
	snprintf(name, sizeof(name), "%s_ns", phase);
	bench_figure(o, "thp", name, busy * 1e9 / (double)n, "ns");
	snprintf(name, sizeof(name), "%s_sim_ns", phase);
	bench_figure(o, "thp", name, d.time_ns / (double)n, "ns");
}

/* The three phases out of line: bench/callgrind.py counts each one alone
 * (--toggle-collect), its instructions per 2 MiB range. */
__attribute__((noinline)) static void
thp_fault_all(struct vmlab_user_mm *mm, u64 h, u64 n)
{
	for (u64 i = 0; i < n; i++)
		if (vmlab_user_write8(mm, 0, h + i * VMLAB_PMD_SIZE, 1))
			die("thp fault", (long long)i);
}

__attribute__((noinline)) static void
thp_split_all(struct vmlab_user_mm *mm, u64 h, u64 n)
{
	for (u64 i = 0; i < n; i++)
		if (vmlab_mprotect(mm, h + i * VMLAB_PMD_SIZE, P,
				   VMLAB_PROT_READ) ||
		    vmlab_mprotect(mm, h + i * VMLAB_PMD_SIZE, P, RW))
			die("split", (long long)i);
}

__attribute__((noinline)) static void
thp_collapse_all(struct vmlab_user_mm *mm, u64 h, u64 n)
{
	if (vmlab_madvise(mm, h, n * VMLAB_PMD_SIZE, VMLAB_MADV_COLLAPSE))
		die("collapse", 0);
}

/* THP cost: a PMD fault (2 MiB zeroed), split_huge_pmd (a one-page
 * mprotect), MADV_COLLAPSE back, per 2 MiB range. */
static void thp(struct bench_out *o, u64 n)
{
	if (n > 256)
		n = 256; /* 512 MiB of THPs in a 1 GiB machine */
	struct vmlab_machine *m = bench_boot(VMLAB_GiB, 4, false);
	struct vmlab_user_mm *mm;
	if (vmlab_user_mm_create(m, &mm) || vmlab_user_set_thp(m, VMLAB_THP_ALWAYS))
		die("mm create", 0);
	vmlab_user_switch(mm, 0);
	const u64 M = VMLAB_PMD_SIZE;
	s64 a = vmlab_mmap(mm, 0, (n + 1) * M, RW, ANON, NULL, 0);
	if (a < 0)
		die("mmap", a);
	u64 h = ((u64)a + M - 1) & ~(M - 1);
	struct vmlab_counters c0;
	vmlab_counters_snapshot(m, &c0);
	double t0 = bench_now();
	thp_fault_all(mm, h, n);
	thp_phase(o, m, "fault", bench_now() - t0, &c0, n);
	vmlab_counters_snapshot(m, &c0);
	t0 = bench_now();
	thp_split_all(mm, h, n);
	thp_phase(o, m, "split", bench_now() - t0, &c0, n);
	vmlab_counters_snapshot(m, &c0);
	t0 = bench_now();
	thp_collapse_all(mm, h, n);
	thp_phase(o, m, "collapse", bench_now() - t0, &c0, n);
	struct vmlab_thp_vmstat st;
	vmlab_user_thp_vmstat(m, &st);
	if (st.thp_fault_alloc != n || st.thp_split_pmd != n ||
	    st.thp_collapse_alloc != n)
		die("thp counters", (long long)st.thp_collapse_alloc);
	bench_figure(o, "thp", "ranges", (double)n, "");
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

const struct bench bench_user[] = {
	{"thp", "THP fault, split_huge_pmd and MADV_COLLAPSE per 2 MiB", thp,
	 128},
	{"guard-stacks",
	 "20,000 16-page stacks with a guard page: markers vs PROT_NONE",
	 guard_stacks, 20000},
	{"fault-anon", "anonymous write faults (faults/s)", fault_anon,
	 1u << 19},
	{"fork-cow", "fork of a populated 64 MiB mm + first-write COW (pages/s)",
	 fork_cow, 4},
};
const int bench_user_n = (int)(sizeof(bench_user) / sizeof(bench_user[0]));
