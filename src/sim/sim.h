/* SPDX-License-Identifier: MIT */
/*
 * The sim layer: Lua scenarios, their runner, figures, reports, traces.
 * Internal to the vmlab command, its tests and benchmarks.
 *
 * A run (sim_run()) is a pure function of the scenario text, its
 * parameters and the seed: the same inputs give the same output, the same
 * figures and the same trace hash.
 */
#ifndef VMLAB_SIM_H
#define VMLAB_SIM_H

#include <stdio.h>

#include "vmlab/sched.h"
#include "vmlab/vmlab.h"

/* Exit statuses of a run (and of the vmlab command). */
enum sim_status {
	SIM_OK = 0,
	SIM_FAIL = 1,  /* checker report, scenario error or assertion */
	SIM_USAGE = 2, /* missing file, syntax error, unknown parameter */
};

#define SIM_MAX_DEFS 64
/* Budget of a run: Lua instructions plus kernel work units (sandbox.c). */
#define SIM_DEFAULT_MAX_STEPS 200000000ULL
#define SIM_NO_STEP_LIMIT UINT64_MAX   /* --max-steps 0 */
#define SIM_DEFAULT_MAX_MEMORY (1ULL << 30) /* Lua heap bytes */
/* Machines one run may create (live or destroyed): with each machine's
 * host budget (VMLAB_DEFAULT_HOST_BYTES) it bounds a run's host memory. */
#define SIM_DEFAULT_MAX_MACHINES 64
#define SIM_MAX_MACHINES_LIMIT 4096 /* --max-machines ceiling */

struct sim_opts {
	const char *scenario; /* a file, or the name of a built-in */
	const char *text;     /* set: the scenario's text (scenario names it) */
	size_t text_len;
	u64 seed;
	int cpus; /* > 0: every machine gets this many CPUs */
	enum vmlab_sched_policy policy;
	int depth;          /* PCT bug depth */
	u64 pct_steps;      /* 0: calibrate (see doc/sim.md) */
	u64 max_steps;      /* 0: SIM_DEFAULT_MAX_STEPS */
	u64 max_memory;     /* Lua heap cap in bytes, 0: the default */
	int max_machines;   /* machines per run, 0: SIM_DEFAULT_MAX_MACHINES */
	/* Host-memory budget of each machine (vmlab_config.max_host_bytes);
	 * a scenario's host_memory may only lower it.  0: the default. */
	u64 max_host_memory;
	const char *defs[SIM_MAX_DEFS]; /* "name=value" */
	int nr_defs;
	FILE *out;            /* print() output; NULL: collected */
	const char *trace;    /* Chrome trace file, NULL: none */
	const char *ftrace;   /* tracefs-text trace file, NULL: none */
	bool dump_pagetable;  /* each machine's kernel page tables at its end */
	int dump_tlb;         /* 0: none; n > 0: CPU n-1's TLB; -1: every CPU */
	bool quiet;           /* kernel warnings off (explore, tour) */
	/* Historical bugs switched on in every machine (--mutant NAME). */
	u64 mutants[VMLAB_MUTANT_WORDS];
	/* Architecture of every machine that does not name one (--arch,
	 * -D arch=NAME); NULL: x86_64. */
	const char *arch;
};

void sim_opts_default(struct sim_opts *o);

enum sim_vtype { SV_NONE, SV_INT, SV_NUM, SV_BOOL, SV_STR };

struct sim_value {
	enum sim_vtype type;
	s64 i;
	double d;
	char *s;
};

struct sim_row {
	char *name;
	struct sim_value *v; /* one per column */
};

struct sim_report {
	char *machine; /* label */
	const char *check;
	int cpu;
	u64 va, pfn;
	const char *access;
	char *text;
	bool expected;
};

/* Kernel warnings of one kind ("CPA detected W^X violation") on one
 * machine: how many, and the first in full. */
struct sim_warning {
	char *first;
	size_t key_len; /* the kind: first's text up to its first ':' */
	u64 count;
};

struct sim_machine_info {
	char *label;
	int cpus;
	u64 hash, events, warnings;
	struct sim_warning *warn; /* by kind, in order of first appearance */
	int nr_warn;
	size_t nr_reports;
	u32 expect; /* bit per enum vmlab_check */
	u32 found;
};

struct sim_result {
	enum sim_status status;
	char *error;     /* why it failed, NULL if it did not */
	char *name;      /* scenario name */
	char *description;
	char **params;   /* "name=value", sorted, as used */
	int nr_params;
	char **columns;
	int nr_columns;
	struct sim_row *rows;
	int nr_rows;
	struct sim_report *reports;
	size_t nr_reports;
	struct sim_machine_info *machines;
	int nr_machines;
	char *output; /* print() output when collected */
	size_t output_len;
	u64 hash;     /* combined trace hash of every machine */
	u64 steps, switches, pct_steps;
	bool planted; /* "-- explore: N": the scenario plants a race */
};

/* Run one scenario.  Returns r->status; r must be freed. */
enum sim_status sim_run(const struct sim_opts *o, struct sim_result *r);
void sim_result_free(struct sim_result *r);

/* Output of a finished run. */
void sim_print_text(const struct sim_result *r, const struct sim_opts *o,
		    FILE *f, bool full_reports);
void sim_print_json(const struct sim_result *r, const struct sim_opts *o,
		    FILE *f);
/* The figure table, columns side by side. */
void sim_print_figures(const struct sim_result *r, FILE *f);
/* The checker's findings, one line per machine. */
void sim_print_checker(const struct sim_result *r, FILE *f);
/* Every report's splat: unexpected ones whole, expected ones once per
 * machine and check, then counted. */
void sim_print_reports(const struct sim_result *r, FILE *f);
/* PCT's k for these options: the scheduling points of a round-robin run
 * with seed 0 (a function of scenario and parameters only). */
u64 sim_calibrate(const struct sim_opts *o);
/* One-line verdict: "ok", "2 unexpected stale-access reports", ... */
void sim_verdict(const struct sim_result *r, char *buf, size_t n);

/* -------------------------------------------------------- built-ins */

struct sim_builtin {
	const char *name; /* "stale-tlb" */
	const char *path; /* "scenarios/stale-tlb.lua" */
	const char *text;
	size_t len;
};

extern const struct sim_builtin sim_builtins[];
extern const int sim_nr_builtins;
/* The mutant scenarios (scenarios/mutants/), run by `vmlab mutants`. */
/* The scenarios behind vmlab report's sweeps (scenarios/report/). */
extern const struct sim_builtin sim_report_scenarios[];
extern const int sim_nr_report_scenarios;
extern const struct sim_builtin sim_mutant_scenarios[];
extern const int sim_nr_mutant_scenarios;
/* The claim scenarios (scenarios/claims/), run by `vmlab claims`. */
extern const struct sim_builtin sim_claim_scenarios[];
extern const int sim_nr_claim_scenarios;
/* Recorded data the claim scenarios read (scenarios/claims/data/, e.g.
 * real processes' maps), by file name: vmlab.claim_data(). */
extern const struct sim_builtin sim_claim_data[];
extern const int sim_nr_claim_data;
/* The scenario called name in table t of n, or NULL. */
const struct sim_builtin *sim_find_scenario(const struct sim_builtin *t,
					    int n, const char *name);

const struct sim_builtin *sim_find_builtin(const char *name);
/* The text of the first "-- " comment line ("name: what it shows"), with
 * the leading "name: " dropped; "" if none.  Writes at most n bytes. */
void sim_describe(const char *text, size_t len, char *out, size_t n);
/* A "-- key: value" header line's value, or NULL (static buffer not
 * used: written to out). */
bool sim_header(const char *text, size_t len, const char *key, char *out,
		size_t n);

/* ---------------------------------------------------------- mutants */

/* One mutant's verdicts (include/vmlab/mutant.h). */
struct sim_mutant_outcome {
	u64 seeds;        /* explored per side */
	u64 first_catch;  /* seeds run until the first failure with it on
			   * (1 = the first seed), 0: never caught */
	bool check_named; /* the failure names the registry's check */
	u64 false_pos;    /* seeds failing with it off */
	char *on_error;   /* the first failure's message (owned) */
	char *off_error;  /* the first false positive's (owned) */
};

/* Run mutant id's scenario for seeds 1..seeds (0: the registry's own
 * number) with the mutant on, until caught, and with it off, every seed.
 * 0, or -VMLAB_EINVAL (unknown id / no scenario). */
int sim_mutant_run(int id, u64 seeds, struct sim_mutant_outcome *out);
void sim_mutant_outcome_free(struct sim_mutant_outcome *out);
/* The outcome passes: caught in budget, by the named check, and silent. */
bool sim_mutant_ok(int id, const struct sim_mutant_outcome *out);

/* The name of names closest to s, if close enough to be a typo of it. */
const char *sim_did_you_mean(const char *s, const char *const *names, int n);

/* ------------------------------------------------------------- JSON */

void json_string(FILE *f, const char *s);
void json_value(FILE *f, const struct sim_value *v);
/* s as a JSON number or boolean when it is one, else as a string. */
void json_scalar(FILE *f, const char *s);
bool json_is_number(const char *s);
/* A figure as text ("12", "0.5", "yes", the string). */
void sim_format_value(const struct sim_value *v, char *buf, size_t n);

/* ------------------------------------------------------------ claims */

/* One claim of the seed threads (src/sim/claims.c). */
struct sim_claim {
	const char *id;      /* "1.3" */
	const char *seed;    /* "vm-flush-reset-perms" */
	const char *text;    /* the claim in a line */
	const char *why_not; /* NULL: it has a scenario; else why it has none */
};

enum sim_claim_verdict {
	SIM_CLAIM_REPRODUCED,
	SIM_CLAIM_CONTRADICTED, /* the model disagrees with the thread */
	SIM_CLAIM_NOT_MODELLED,
	SIM_CLAIM_FAILED,       /* its scenario no longer holds: a regression */
};

struct sim_claim_outcome {
	enum sim_claim_verdict verdict;
	char *measured; /* the scenario's figures, "name: v1 / v2; ..." */
	char *why;      /* contradicted / not modelled / failed: why */
	char *arch;     /* the architecture(s) it ran on */
};

extern const int sim_nr_claims;
const struct sim_claim *sim_claim(int i); /* NULL past the end */
const struct sim_builtin *sim_claim_scenario(const struct sim_claim *c);
/* A claim scenario no registry entry names, or NULL. */
const char *sim_claims_orphan(void);
/* Run the claim's scenario with seed (or say why there is none). */
int sim_claim_run(const struct sim_claim *c, u64 seed,
		  struct sim_claim_outcome *out);
void sim_claim_outcome_free(struct sim_claim_outcome *out);
const char *sim_claim_verdict_name(enum sim_claim_verdict v);

#endif
