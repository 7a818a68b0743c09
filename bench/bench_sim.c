/* SPDX-License-Identifier: MIT */
/* Benchmarks of the sim layer: the scheduler's switch rate and explore's
 * throughput on a 10,000-operation, 4-CPU scenario with the checker on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "sim/sim.h"

/* Each CPU owns 12 pages it reads, writes and, every 16th operation,
 * unmaps (flush: IPIs to every CPU, scheduling points in the shootdown)
 * and maps back; 16 more pages are shared by all for reads and writes.
 * A correct workload: no seed may make the checker report. */
static const char explore_scenario[] =
	"local P = vmlab.params{ops = 10000}\n"
	"local m = vmlab.machine{cpus = 4, memory = '256M', checker = true}\n"
	"local base, own, shared = vmlab.VMALLOC_START, 12, 16\n"
	"local pfn = {}\n"
	"for i = 0, 4 * own + shared - 1 do\n"
	"  pfn[i] = m:alloc_pages()\n"
	"  m:map(base + i * 4096, pfn[i], 1)\n"
	"end\n"
	"local ops, progs = 0, {}\n"
	"for cpu = 0, 3 do\n"
	"  progs[cpu] = function(c)\n"
	"    local i = 0\n"
	"    while i < P.ops // 4 do\n"
	"      local mine = base + (cpu * own + m:random(own) - 1) * 4096\n"
	"      local common = base + (4 * own + m:random(shared) - 1) * 4096\n"
	"      if i % 16 == 0 then\n"
	"        c:unmap(mine, 1)\n"
	"        c:map(mine, pfn[(mine - base) // 4096], 1)\n"
	"        i = i + 2\n"
	"      elseif i % 4 == 1 then\n"
	"        c:write64(common + 8 * cpu, i)\n"
	"        i = i + 1\n"
	"      elseif i % 4 == 2 then\n"
	"        c:write64(mine, i)\n"
	"        i = i + 1\n"
	"      else\n"
	"        c:read64(i % 2 == 0 and mine or common)\n"
	"        i = i + 1\n"
	"      end\n"
	"    end\n"
	"    ops = ops + i\n"
	"  end\n"
	"end\n"
	"m:run(progs)\n"
	"vmlab.result{ops = ops, reports = m:nr_reports()}\n";

static void bench_explore(struct bench_out *o, u64 seeds)
{
	struct sim_opts so;
	sim_opts_default(&so);
	so.scenario = "explore-throughput";
	so.text = explore_scenario;
	so.text_len = sizeof(explore_scenario) - 1;
	so.policy = VMLAB_SCHED_RANDOM;
	so.quiet = true;
	u64 points = 0, fails = 0;
	double t0 = bench_now();
	for (u64 s = 1; s <= seeds; s++) {
		struct sim_result r;
		so.seed = s;
		if (sim_run(&so, &r) != SIM_OK) {
			fails++;
			if (fails == 1)
				fprintf(stderr, "bench: seed %llu: %s\n",
					(unsigned long long)s,
					r.error ? r.error : "reports");
		}
		points += r.steps;
		sim_result_free(&r);
	}
	double dt = bench_now() - t0;
	bench_figure(o, "explore-throughput", "seeds_per_min",
		     (double)seeds * 60.0 / dt, "1/min");
	bench_figure(o, "explore-throughput", "ms_per_seed",
		     dt * 1e3 / (double)seeds, "ms");
	bench_figure(o, "explore-throughput", "sched_points_per_seed",
		     (double)points / (double)seeds, "");
	bench_figure(o, "explore-throughput", "failing_seeds", (double)fails,
		     "");
}

struct spin {
	u64 n;
};

static void spin_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	const struct spin *sp = arg;
	(void)cpu;
	for (u64 i = 0; i < sp->n; i++)
		vmlab_sched_point(m, "bench");
}

static void switch_rate(struct bench_out *o, u64 n,
			enum vmlab_sched_policy policy, const char *fig)
{
	struct vmlab_machine *m = bench_boot(64 * VMLAB_MiB, 4, false);
	struct vmlab_sched_config cfg;
	vmlab_sched_config_default(&cfg);
	cfg.policy = policy;
	cfg.pct_steps = n;
	cfg.kworker = false;
	struct vmlab_sched *s;
	struct spin sp = {n / 4};
	if (vmlab_sched_create(m, &cfg, &s)) {
		fprintf(stderr, "bench: sched_create failed\n");
		exit(1);
	}
	for (int c = 0; c < 4; c++)
		vmlab_sched_spawn(s, c, spin_prog, &sp, "spin");
	double t0 = bench_now();
	vmlab_sched_run(s);
	double dt = bench_now() - t0;
	char name[64];
	snprintf(name, sizeof(name), "%s_points_per_s", fig);
	bench_figure(o, "sched-switch", name,
		     (double)vmlab_sched_steps(s) / dt, "1/s");
	snprintf(name, sizeof(name), "%s_switches_per_s", fig);
	bench_figure(o, "sched-switch", name,
		     (double)vmlab_sched_switches(s) / dt, "1/s");
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

static void bench_switch(struct bench_out *o, u64 n)
{
	switch_rate(o, n, VMLAB_SCHED_RANDOM, "random");
	switch_rate(o, n, VMLAB_SCHED_RR, "rr");
	switch_rate(o, n, VMLAB_SCHED_PCT, "pct");
}

const struct bench bench_sim[] = {
	{"explore-throughput",
	 "seeds/min exploring a 10,000-op 4-CPU scenario, checker on",
	 bench_explore, 30},
	{"sched-switch", "scheduling points/s and context switches/s",
	 bench_switch, 20000000},
};
const int bench_sim_n = sizeof(bench_sim) / sizeof(bench_sim[0]);
