/* SPDX-License-Identifier: MIT */
/* `vmlab bench`: runs the benchmarks in bench/ and prints their figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"
#include "cli/batch.h"
#include "cli/cli.h"

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

long bench_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

void bench_figure(struct bench_out *o, const char *bench, const char *name,
		  double value, const char *unit)
{
	if (o->json)
		printf("%s{\"bench\": \"%s\", \"figure\": \"%s\", "
		       "\"value\": %.6g, \"unit\": \"%s\"}",
		       o->nr_figures ? ",\n " : "", bench, name, value, unit);
	else
		printf("%-22s %-28s %14.6g %s\n", bench, name, value, unit);
	o->nr_figures++;
	fflush(stdout);
}

struct vmlab_machine *bench_boot(u64 mem, int cpus, bool checker)
{
	return bench_boot_arch(mem, cpus, checker, "x86_64");
}

struct vmlab_machine *bench_boot_arch(u64 mem, int cpus, bool checker,
				      const char *arch)
{
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.arch = arch;
	cfg.mem_bytes = mem;
	cfg.nr_cpus = cpus;
	cfg.checker = checker;
	struct vmlab_machine *m;
	if (vmlab_boot(&cfg, &m)) {
		fprintf(stderr, "bench: boot failed\n");
		exit(EXIT_FINDING);
	}
	vmlab_set_quiet(m, true);
	return m;
}

struct registry {
	const struct bench *b;
	int n;
};

int cmd_bench(int argc, char **argv)
{
	const struct registry regs[] = {{bench_machine, bench_machine_n},
					{bench_vmalloc, bench_vmalloc_n},
					{bench_sim, bench_sim_n},
					{bench_user, bench_user_n},
					{bench_notifier, bench_notifier_n},
					{bench_kasan, bench_kasan_n},
					{bench_execmem, bench_execmem_n},
					{bench_replay, bench_replay_n},
					{bench_host, bench_host_n}};
	struct bench_out o = {0};
	u64 iterations = 0;
	const char *names[64];
	int nr_names = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			o.json = true;
		} else if (!strcmp(argv[i], "--compare-host")) {
			o.compare_host = true;
		} else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
			iterations = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--list") ||
			   !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			if (argv[i][2] != 'l')
				printf("usage: vmlab bench [NAME...] "
				       "[--iterations N] [--json] [--list] "
				       "[--compare-host]\n"
				       "--compare-host: the user-* benchmarks also "
				       "run their operations on this host's "
				       "kernel\n(host_* figures) and print the "
				       "ratio host/vmlab.\n"
				       "Benchmarks (figures, never tests; "
				       "use a release build: make bench):\n");
			for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++)
				for (int k = 0; k < regs[r].n; k++)
					printf("%-22s %s\n", regs[r].b[k].name,
					       regs[r].b[k].what);
			return EXIT_OK;
		} else if (argv[i][0] == '-' || nr_names == 64) {
			fprintf(stderr, "vmlab bench: bad argument '%s'\n", argv[i]);
			return EXIT_USAGE;
		} else {
			names[nr_names++] = argv[i];
		}
	}
	for (int k = 0; k < nr_names; k++) {
		bool found = false;
		for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++)
			for (int j = 0; j < regs[r].n; j++)
				found |= !strcmp(regs[r].b[j].name, names[k]);
		if (!found) {
			fprintf(stderr, "vmlab bench: no benchmark '%s' "
					"(see vmlab bench --list)\n", names[k]);
			return EXIT_USAGE;
		}
	}
	if (o.json)
		printf("[");
	u64 total = 0, done = 0;
	for (int pass = 0; pass < 2; pass++) {
		struct progress pg;
		if (pass)
			progress_start(&pg, true, total, "benchmarks");
		for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++)
			for (int j = 0; j < regs[r].n; j++) {
				const struct bench *b = &regs[r].b[j];
				bool want = nr_names == 0;
				for (int k = 0; k < nr_names; k++)
					want |= !strcmp(b->name, names[k]);
				if (!want)
					continue;
				if (!pass) { /* count them first, for the bar */
					total++;
					continue;
				}
				progress_clear(&pg); /* the figure's line first */
				fflush(stderr);
				b->run(&o, iterations ? iterations :
							b->default_iterations);
				fflush(stdout);
				progress_step(&pg, ++done);
			}
		if (pass)
			progress_end(&pg);
	}
	if (o.json)
		printf("]\n");
	return EXIT_OK;
}
