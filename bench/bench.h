/* SPDX-License-Identifier: MIT */
/* Benchmarks: each reports figures; none is a test. */
#ifndef VMLAB_BENCH_H
#define VMLAB_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "vmlab/vmlab.h"

struct bench_out {
	bool json;
	bool compare_host; /* --compare-host: also time the host kernel */
	int nr_figures;
};

struct bench {
	const char *name;
	const char *what;
	void (*run)(struct bench_out *o, u64 iterations);
	u64 default_iterations;
};

double bench_now(void); /* host monotonic seconds: benchmarks only */
long bench_rss_kib(void);
void bench_figure(struct bench_out *o, const char *bench, const char *name,
		  double value, const char *unit);
struct vmlab_machine *bench_boot(u64 mem, int cpus, bool checker);
/* The same machine shape on another architecture ("arm64"). */
struct vmlab_machine *bench_boot_arch(u64 mem, int cpus, bool checker,
				      const char *arch);

extern const struct bench bench_machine[];
extern const int bench_machine_n;
extern const struct bench bench_vmalloc[];
extern const int bench_vmalloc_n;
extern const struct bench bench_sim[];
extern const int bench_sim_n;
extern const struct bench bench_user[];
extern const int bench_user_n;
extern const struct bench bench_notifier[];
extern const int bench_notifier_n;
extern const struct bench bench_kasan[];
extern const int bench_kasan_n;
extern const struct bench bench_execmem[];
extern const int bench_execmem_n;
extern const struct bench bench_replay[];
extern const int bench_replay_n;
extern const struct bench bench_host[];
extern const int bench_host_n;

#endif
