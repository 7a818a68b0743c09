/* SPDX-License-Identifier: MIT */
#ifndef VMLAB_CLI_H
#define VMLAB_CLI_H

#include "sim/sim.h"
#include "vmlab/vmlab.h"

/* Exit codes, documented in vmlab(1). */
enum {
	EXIT_OK = 0,
	EXIT_FINDING = 1, /* checker report or scenario failure */
	EXIT_USAGE = 2,
	EXIT_BAD_TRACE = 3, /* replay-trace: unreadable or malformed trace */
};

/* Options of the scenario commands (scenario_cmds.c parses them). */
struct cli_args {
	struct sim_opts o;
	bool json, csv;
	bool have_seed;
	bool have_policy;
	bool verbose;
	u64 seeds; /* explore */
	u64 runs;  /* stat */
	int jobs;  /* 0: every online CPU */
	int shard_k, shard_n;
	const char *output; /* -o FILE */
};

int cli_parse(const char *cmd, int argc, char **argv, struct cli_args *a,
	      bool want_file);
/* A usage error: message, pointer to help, EXIT_USAGE. */
int cli_bad(const char *cmd, const char *what, const char *arg);
bool cli_parse_u64(const char *s, u64 *out);

int cmd_demo(int argc, char **argv);
int cmd_maps_estimate(int argc, char **argv);
struct vmlab_maps_estimate;
/* Every /proc/PID/maps of this host added to *est (maps_estimate.c);
 * -1 if /proc cannot be read. */
int cli_maps_estimate_host(struct vmlab_maps_estimate *est, u64 max_guard);
int cmd_bench(int argc, char **argv);
/* scenario_cmds.c */
int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_tour(int argc, char **argv);
/* mutants.c */
int cmd_mutants(int argc, char **argv);
/* stat.c */
int cmd_stat(int argc, char **argv);
int cmd_merge(int argc, char **argv);
/* A run whose -D options give lists or ranges: the sweep. */
bool cli_is_sweep(const struct cli_args *a);
struct batch;
/* The batch of `runs` seeds per point a command line asks for, run with
 * its --jobs; the output its --json/--csv/--shard asks for.  0 or an
 * exit status. */
int cli_make_batch(const char *cmd, const char *kind,
		   const struct cli_args *a, u64 runs, struct batch *b);
int cli_run_batch(const char *cmd, struct cli_args *a, struct batch *b);
int cli_batch_output(const char *cmd, const struct cli_args *a,
		     const struct batch *b, bool sweep);
int cli_sweep(const char *cmd, struct cli_args *a);
/* claims.c */
int cmd_claims(int argc, char **argv);
/* The tour's summary of the claims table; returns the failures. */
int cli_claims_summary(FILE *f);
/* report_html.c */
int cmd_report(int argc, char **argv);
/* replay_trace.c */
int cmd_replay_trace(int argc, char **argv);

#endif
