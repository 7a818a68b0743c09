/* SPDX-License-Identifier: MIT */
/*
 * vmlab mutants: the historical-bug catalogue as a table, each mutant run
 * (caught when on, within its seeds; silent when off).  Host time is the
 * only figure here that is not a function of the inputs, and it is shown
 * as such.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "sim/sim.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool selected(int id, int argc, char **argv, const bool *is_name)
{
	bool any = false;
	for (int i = 1; i < argc; i++) {
		if (!is_name[i])
			continue;
		any = true;
		if (!strcmp(argv[i], vmlab_mutant_info(id)->name))
			return true;
	}
	return !any;
}

int cmd_mutants(int argc, char **argv)
{
	bool list = false;
	u64 seeds = 0;
	bool *is_name = calloc((size_t)argc + 1, sizeof(bool));
	if (!is_name)
		return EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--list")) {
			list = true;
		} else if (!strcmp(argv[i], "--seeds") && i + 1 < argc &&
			   argv[i + 1][0] != '-') {
			seeds = strtoull(argv[++i], &end, 0);
			if (*end || !seeds) {
				free(is_name);
				fprintf(stderr, "vmlab mutants: --seeds needs a "
						"number > 0\n");
				return EXIT_USAGE;
			}
		} else if (vmlab_mutant_lookup(argv[i]) >= 0) {
			is_name[i] = true;
		} else {
			fprintf(stderr, "vmlab mutants: no such mutant or option "
					"'%s' (see 'vmlab mutants --list')\n",
				argv[i]);
			free(is_name);
			return EXIT_USAGE;
		}
	}
	printf("%-34s %-9s %-30s %-22s %9s %9s %9s\n", "bug", "kind", "fix",
	       "caught by",
	       list ? "seeds" : "1st catch", list ? "" : "off ok",
	       list ? "" : "host ms");
	int failed = 0, ran = 0, kinds[VMLAB_MUTANT_SELF_TEST + 1] = {0};
	for (int id = 0; id < VMLAB_NR_MUTANTS; id++) {
		const struct vmlab_mutant_info *mi = vmlab_mutant_info(id);
		if (!selected(id, argc, argv, is_name))
			continue;
		const char *kind = vmlab_mutant_kind_name(vmlab_mutant_kind(mi));
		kinds[vmlab_mutant_kind(mi)]++;
		if (list) {
			printf("%-34s %-9s %-30s %-22s %9d\n    %s\n", mi->name,
			       kind, mi->fix, mi->check, mi->seeds,
			       mi->mechanism);
			continue;
		}
		struct sim_mutant_outcome o;
		double t0 = now_ms();
		int err = sim_mutant_run(id, seeds, &o);
		double ms = now_ms() - t0;
		bool ok = !err && sim_mutant_ok(id, &o);
		char catch_[32], off[32];
		if (o.first_catch)
			snprintf(catch_, sizeof(catch_), "%llu/%llu",
				 (unsigned long long)o.first_catch,
				 (unsigned long long)o.seeds);
		else
			snprintf(catch_, sizeof(catch_), "MISSED");
		snprintf(off, sizeof(off), "%llu/%llu",
			 (unsigned long long)(o.seeds - o.false_pos),
			 (unsigned long long)o.seeds);
		printf("%-34s %-9s %-30s %-22s %9s %9s %9.0f%s\n", mi->name,
		       kind, mi->fix, mi->check, catch_, off, ms,
		       ok ? "" : "  FAIL");
		printf("    %s\n", mi->mechanism);
		if (err)
			printf("    no scenario '%s'\n", mi->scenario);
		else if (!ok && o.first_catch && !o.check_named)
			printf("    caught, but not by %s: %s\n", mi->check,
			       o.on_error);
		if (o.off_error)
			printf("    false positive with it off: %s\n", o.off_error);
		failed += !ok;
		ran++;
		sim_mutant_outcome_free(&o);
	}
	free(is_name);
	printf("\n%d named kernel bugs (fix commit or CVE), %d model what-ifs, "
	       "%d self-tests%s\n", kinds[VMLAB_MUTANT_KERNEL],
	       kinds[VMLAB_MUTANT_WHAT_IF], kinds[VMLAB_MUTANT_SELF_TEST],
	       kinds[VMLAB_MUTANT_UNLABELLED] ? ", some unlabelled" : "");
	if (!list)
		printf("\nmutants: %d of %d caught when on and silent when off\n",
		       ran - failed, ran);
	return failed ? EXIT_FINDING : EXIT_OK;
}
