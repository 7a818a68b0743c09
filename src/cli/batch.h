/* SPDX-License-Identifier: MIT */
/*
 * Batches of runs for stat, sweeps, explore and report: the points of a
 * sweep (-D name=v1,v2 or a range), the work items (point x seed), the
 * record each run leaves, shards (--shard K/N), worker processes
 * (--jobs N) and the small JSON reader merge uses.
 *
 * A record is kept as text, exactly as it is written to JSON, so that a
 * record read back from a shard's file is the same bytes as the one the
 * unsharded run made: merge gives the unsharded answer byte for byte.
 */
#ifndef VMLAB_CLI_BATCH_H
#define VMLAB_CLI_BATCH_H

#include <stdio.h>

#include "sim/sim.h"

#define BATCH_MAX_VALUES 4096

/* One -D: a name and its values (one for a plain -D name=value). */
struct batch_axis {
	char *name;
	char **values;
	char **defs; /* "name=value" per value */
	int nr_values;
};

/* What a batch runs; the header of its JSON document. */
struct batch_spec {
	char *kind;     /* "stat", "sweep", "explore" */
	char *scenario;
	u64 first_seed; /* seeds first..first+runs-1 for every point */
	u64 runs;
	char *policy;
	int depth;
	int cpus;
	u64 max_steps, pct_steps;
	struct batch_axis *axes;
	int nr_axes;
	int shard_k, shard_n; /* 1/1: the whole batch */
	char *mutants; /* --mutant names in catalogue order, "a,b"; NULL: none */
};

/* A figure of one run: column, row and the value as JSON text. */
struct batch_fig {
	char *column, *row;
	char *text;  /* 12, 0.5, "2.00" (a JSON string), true */
	bool number; /* text is a JSON number */
};

struct batch_record {
	bool present;
	int status;
	u64 nr_reports, unexpected;
	char *hash; /* "0x..." */
	char *check; /* first unexpected report's check, or NULL */
	char *error; /* the run's error, or NULL */
	struct batch_fig *figs;
	int nr_figs;
};

struct batch {
	struct batch_spec spec;
	u64 nr_points; /* product of the axes' value counts */
	u64 nr_items;  /* nr_points * runs */
	struct batch_record *rec; /* one per item */
	bool figures;             /* records keep their figures */
	bool stop_at_failure;     /* explore: stop at the first failing item */
};

/* strdup that never returns NULL (NULL gives ""). */
char *xstrdup(const char *s);

/* Parse one -D: "name=v", "name=v1,v2,v3", "name=1..64" (step 1),
 * "name=1..64*2" (times 2), "name=0..100+25" (plus 25).  0 or an error
 * message in err. */
int batch_parse_axis(const char *def, struct batch_axis *ax, char *err,
		     size_t n);
/* "K/N" with 1 <= K <= N. */
bool batch_parse_shard(const char *s, int *k, int *n);
void batch_spec_free(struct batch_spec *s);

void batch_init(struct batch *b);
void batch_free(struct batch *b);

/* Item i: its point and seed; the point's "name=value" defs (into defs,
 * at most SIM_MAX_DEFS). */
u64 batch_item_point(const struct batch *b, u64 i);
u64 batch_item_seed(const struct batch *b, u64 i);
void batch_point_defs(const struct batch *b, u64 point, const char **defs);
bool batch_in_shard(const struct batch *b, u64 i);

/* Run every item of the shard with `jobs` worker processes (1: in this
 * process), base giving everything but seed and defs.  Results do not
 * depend on jobs.  Returns SIM_USAGE (with the message in err) when a
 * run is a usage error, else SIM_OK.  bar: draw a progress bar on
 * stderr. */
int batch_run(struct batch *b, const struct sim_opts *base, int jobs,
	      bool bar, char *err, size_t n);
/* The lowest failing item of the shard (explore), or nr_items. */
u64 batch_first_failure(const struct batch *b);

/* One record from a finished run. */
void batch_record_from(struct batch_record *rec, const struct sim_result *r,
		       bool figures);
void batch_record_free(struct batch_record *rec);

/* The default worker count: the machine's online CPUs. */
int batch_default_jobs(void);

/* Progress on stderr, drawn only on a terminal and only once a batch has
 * run for a second (short runs stay quiet). */
struct progress {
	bool on, shown;
	u64 total, done;
	double t0;
	const char *what;
};
void progress_start(struct progress *p, bool tty, u64 total,
		    const char *what);
void progress_step(struct progress *p, u64 done);
void progress_end(struct progress *p);
/* Take the bar off the line (before other output), keep counting. */
void progress_clear(struct progress *p);

/* A point's figures over its runs, in the order they first appear. */
struct agg_fig {
	const char *column, *row; /* borrowed from the records */
	u64 n;
	bool number;      /* every value a number: the statistics hold */
	const char *text; /* not a number: the value if all runs agree */
	double mean, min, max, stddev; /* sample standard deviation */
};

struct point_agg {
	u64 runs, failed, unexpected;
	const char *error; /* first failing run's error */
	struct agg_fig *f;
	int nr;
};

void batch_aggregate(const struct batch *b, u64 point, struct point_agg *pa);
void point_agg_free(struct point_agg *pa);


/* ------------------------------------------------------ JSON reader */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jnode {
	enum jtype type;
	char *s;       /* string value, or a number's text, or "true" */
	char *key;     /* member name inside an object */
	struct jnode **kid;
	int nr_kid;
};

/* Parse a whole document; NULL with a message in err. */
struct jnode *json_parse(const char *text, char *err, size_t n);
void json_free(struct jnode *j);
const struct jnode *json_get(const struct jnode *obj, const char *key);

/* The batch document: header, per-point summaries, records. */
void batch_print_json(const struct batch *b, FILE *f);
/* One record as one line of JSON (workers send these up a pipe), and
 * back. */
void batch_print_record(const struct batch *b, u64 i, FILE *f);
int batch_record_from_json(struct batch *b, const struct jnode *j,
			   char *err, size_t n);
/* Read a batch document back (merge); 0 or an error in err. */
int batch_from_json(const struct jnode *doc, struct batch *b, char *err,
		    size_t n);

#endif
