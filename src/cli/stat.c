/* SPDX-License-Identifier: MIT */
/*
 * vmlab stat (perf stat for scenarios: every figure over N seeds with
 * mean, min, max and spread), sweeps (-D name=v1,v2 or a range: the
 * cross product, one table) and vmlab merge (the shards' JSON documents
 * back into the unsharded one, byte for byte).
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch.h"
#include "vmlab/mutant.h"
#include "cli/cli.h"

bool cli_is_sweep(const struct cli_args *a)
{
	for (int i = 0; i < a->o.nr_defs; i++) {
		const char *eq = strchr(a->o.defs[i], '=');
		if (eq && (strchr(eq, ',') || strstr(eq, "..")))
			return true;
	}
	return false;
}

/* The --mutant set as "name,name" in catalogue order; NULL for none. */
static char *mutant_names(const u64 *set)
{
	char *s = NULL;
	size_t len = 0;
	for (int id = 0; id < VMLAB_NR_MUTANTS; id++) {
		if (!(set[id / 64] >> (id % 64) & 1))
			continue;
		const char *name = vmlab_mutant_info(id)->name;
		size_t add = strlen(name) + 1;
		s = realloc(s, len + add + 1);
		if (!s)
			abort();
		snprintf(s + len, add + 1, "%s%s", len ? "," : "", name);
		len += add - !len;
	}
	assert(!s || strlen(s) == len);
	return s;
}

/* The batch a command line asks for; 0 or EXIT_USAGE. */
int cli_make_batch(const char *cmd, const char *kind,
		      const struct cli_args *a, u64 runs, struct batch *b)
{
	memset(b, 0, sizeof(*b));
	struct batch_spec *s = &b->spec;
	s->kind = xstrdup(kind);
	s->scenario = xstrdup(a->o.scenario);
	s->first_seed = a->o.seed;
	s->runs = runs;
	s->policy = xstrdup(vmlab_sched_policy_name(a->o.policy));
	s->depth = a->o.depth;
	s->cpus = a->o.cpus;
	s->max_steps = a->o.max_steps;
	s->pct_steps = a->o.pct_steps;
	s->shard_k = a->shard_k;
	s->shard_n = a->shard_n;
	s->mutants = mutant_names(a->o.mutants);
	s->axes = calloc((size_t)a->o.nr_defs + 1, sizeof(*s->axes));
	if (!s->axes)
		abort();
	u64 points = 1;
	for (int i = 0; i < a->o.nr_defs; i++) {
		char err[256];
		if (batch_parse_axis(a->o.defs[i], &s->axes[i], err,
				     sizeof(err))) {
			s->nr_axes = i + 1;
			batch_spec_free(s);
			return cli_bad(cmd, err, NULL);
		}
		s->nr_axes = i + 1;
		points *= (u64)s->axes[i].nr_values;
		if (points * runs > 10000000) {
			batch_spec_free(s);
			return cli_bad(cmd, "more than 10,000,000 runs", NULL);
		}
	}
	batch_init(b);
	b->figures = strcmp(kind, "explore") != 0;
	b->stop_at_failure = !b->figures;
	return 0;
}

/* The base options every item of a batch shares. */
static void base_opts(const struct batch *b, const struct cli_args *a,
		      struct sim_opts *o)
{
	*o = a->o;
	o->nr_defs = 0;
	if (o->policy == VMLAB_SCHED_PCT && !o->pct_steps) {
		/* calibrated once, for the first point (a function of the
		 * scenario and parameters: every worker would get it) */
		const char *defs[SIM_MAX_DEFS];
		batch_point_defs(b, 0, defs);
		struct sim_opts c = *o;
		for (int i = 0; i < b->spec.nr_axes; i++)
			c.defs[i] = defs[i];
		c.nr_defs = b->spec.nr_axes;
		if (b->nr_points == 1)
			o->pct_steps = sim_calibrate(&c);
	}
}

int cli_run_batch(const char *cmd, struct cli_args *a, struct batch *b)
{
	struct sim_opts base;
	base_opts(b, a, &base);
	char err[1024];
	int jobs = a->jobs ? a->jobs : batch_default_jobs();
	if (batch_run(b, &base, jobs, true, err, sizeof(err)) == SIM_USAGE) {
		fprintf(stderr, "vmlab %s: %s\n", cmd, err);
		return EXIT_USAGE;
	}
	return 0;
}

/* ------------------------------------------------------------ text */

static void fmt_num(double v, char *buf, size_t n)
{
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.4g", v);
}

static void point_label(const struct batch *b, u64 p, char *buf, size_t n)
{
	const char *defs[SIM_MAX_DEFS];
	batch_point_defs(b, p, defs);
	size_t len = 0;
	buf[0] = 0;
	for (int a = 0; a < b->spec.nr_axes && len < n; a++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s",
					a ? " " : "", defs[a]);
}

static void print_stat_point(const struct batch *b, u64 p, FILE *f)
{
	struct point_agg pa;
	batch_aggregate(b, p, &pa);
	int wname = 24;
	for (int k = 0; k < pa.nr; k++)
		if ((int)strlen(pa.f[k].row) + 2 > wname)
			wname = (int)strlen(pa.f[k].row) + 2;
	fprintf(f, "  %-*s %12s %12s %12s %12s\n", wname, "", "mean", "min",
		"max", "stddev");
	const char *col = NULL;
	for (int k = 0; k < pa.nr; k++) {
		const struct agg_fig *g = &pa.f[k];
		if (!col || strcmp(col, g->column)) {
			col = g->column;
			fprintf(f, "  %s\n", col);
		}
		if (!g->number) {
			fprintf(f, "    %-*s %12s\n", wname - 2, g->row,
				g->text ? g->text : "(varies)");
			continue;
		}
		char m[32], lo[32], hi[32], sd[32];
		fmt_num(g->mean, m, sizeof(m));
		fmt_num(g->min, lo, sizeof(lo));
		fmt_num(g->max, hi, sizeof(hi));
		fmt_num(g->stddev, sd, sizeof(sd));
		fprintf(f, "    %-*s %12s %12s %12s %12s", wname - 2, g->row, m,
			lo, hi, sd);
		if (g->mean != 0 && g->n > 1)
			fprintf(f, "  (+- %.2f%%)",
				100.0 * g->stddev / sqrt((double)g->n) /
					fabs(g->mean));
		fputc('\n', f);
	}
	fprintf(f, "  runs: %llu, failed: %llu, unexpected reports: %llu\n",
		(unsigned long long)pa.runs, (unsigned long long)pa.failed,
		(unsigned long long)pa.unexpected);
	if (pa.error)
		fprintf(f, "  first failure: %s\n", pa.error);
	point_agg_free(&pa);
}

/* Sweep: one block per figure, a row per point, a column per scenario
 * column (the mean when a point has several runs). */
static void print_sweep(const struct batch *b, FILE *f)
{
	struct point_agg *pa = calloc(b->nr_points, sizeof(*pa));
	if (!pa)
		abort();
	for (u64 p = 0; p < b->nr_points; p++)
		batch_aggregate(b, p, &pa[p]);
	const struct point_agg *first = &pa[0];
	/* rows: figures in the order of the first point; columns too */
	for (int k = 0; k < first->nr; k++) {
		bool seen = false;
		for (int j = 0; j < k && !seen; j++)
			seen = !strcmp(first->f[j].row, first->f[k].row);
		if (seen)
			continue;
		const char *row = first->f[k].row;
		fprintf(f, "\n%s%s\n", row, b->spec.runs > 1 ? " (mean)" : "");
		char lab[256];
		int wl = 10;
		for (u64 p = 0; p < b->nr_points; p++) {
			point_label(b, p, lab, sizeof(lab));
			if ((int)strlen(lab) > wl)
				wl = (int)strlen(lab);
		}
		fprintf(f, "  %-*s", wl, "");
		for (int j = 0; j < first->nr; j++)
			if (!strcmp(first->f[j].row, row))
				fprintf(f, "  %14s", first->f[j].column);
		fputc('\n', f);
		for (u64 p = 0; p < b->nr_points; p++) {
			point_label(b, p, lab, sizeof(lab));
			fprintf(f, "  %-*s", wl, lab);
			for (int j = 0; j < first->nr; j++) {
				if (strcmp(first->f[j].row, row))
					continue;
				char v[64] = "-";
				for (int q = 0; q < pa[p].nr; q++) {
					const struct agg_fig *g = &pa[p].f[q];
					if (strcmp(g->row, row) ||
					    strcmp(g->column, first->f[j].column))
						continue;
					if (g->number)
						fmt_num(g->mean, v, sizeof(v));
					else
						snprintf(v, sizeof(v), "%s",
							 g->text ? g->text : "varies");
				}
				fprintf(f, "  %14s", v);
			}
			fputc('\n', f);
		}
	}
	u64 failed = 0, runs = 0;
	for (u64 p = 0; p < b->nr_points; p++) {
		failed += pa[p].failed;
		runs += pa[p].runs;
		if (pa[p].error) {
			char lab[256];
			point_label(b, p, lab, sizeof(lab));
			fprintf(f, "\n%s: %llu of %llu runs failed: %s\n", lab,
				(unsigned long long)pa[p].failed,
				(unsigned long long)pa[p].runs, pa[p].error);
		}
	}
	fprintf(f, "\n%llu points, %llu runs, %llu failed\n",
		(unsigned long long)b->nr_points, (unsigned long long)runs,
		(unsigned long long)failed);
	for (u64 p = 0; p < b->nr_points; p++)
		point_agg_free(&pa[p]);
	free(pa);
}

static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* One table: a line per point and figure. */
static void print_csv(const struct batch *b, FILE *f)
{
	for (int a = 0; a < b->spec.nr_axes; a++) {
		csv_field(f, b->spec.axes[a].name);
		fputc(',', f);
	}
	fputs("column,figure,runs,mean,min,max,stddev,value\n", f);
	for (u64 p = 0; p < b->nr_points; p++) {
		const char *defs[SIM_MAX_DEFS];
		struct point_agg pa;
		batch_point_defs(b, p, defs);
		batch_aggregate(b, p, &pa);
		for (int k = 0; k < pa.nr; k++) {
			const struct agg_fig *g = &pa.f[k];
			for (int a = 0; a < b->spec.nr_axes; a++) {
				csv_field(f, strchr(defs[a], '=') + 1);
				fputc(',', f);
			}
			csv_field(f, g->column);
			fputc(',', f);
			csv_field(f, g->row);
			fprintf(f, ",%llu,", (unsigned long long)g->n);
			if (g->number)
				fprintf(f, "%.17g,%.17g,%.17g,%.17g,\n", g->mean,
					g->min, g->max, g->stddev);
			else {
				fputs(",,,,", f);
				csv_field(f, g->text ? g->text : "");
				fputc('\n', f);
			}
		}
		point_agg_free(&pa);
	}
}

static int batch_status(const struct batch *b)
{
	for (u64 i = 0; i < b->nr_items; i++)
		if (b->rec[i].present && b->rec[i].status != SIM_OK)
			return EXIT_FINDING;
	return EXIT_OK;
}

int cli_batch_output(const char *cmd, const struct cli_args *a,
		  const struct batch *b, bool sweep)
{
	FILE *f = stdout;
	if (a->output && !(f = fopen(a->output, "w"))) {
		fprintf(stderr, "vmlab %s: cannot write '%s'\n", cmd, a->output);
		return EXIT_USAGE;
	}
	if (a->json || b->spec.shard_n > 1) {
		batch_print_json(b, f);
	} else if (a->csv) {
		print_csv(b, f);
	} else if (sweep) {
		fprintf(f, "sweep %s: %llu point%s x %llu run%s (seeds %llu..%llu), "
			   "policy %s%s%s\n", b->spec.scenario,
			(unsigned long long)b->nr_points, b->nr_points == 1 ? "" : "s",
			(unsigned long long)b->spec.runs, b->spec.runs == 1 ? "" : "s",
			(unsigned long long)b->spec.first_seed,
			(unsigned long long)(b->spec.first_seed + b->spec.runs - 1),
			b->spec.policy, b->spec.mutants ? ", mutant " : "",
			b->spec.mutants ? b->spec.mutants : "");
		print_sweep(b, f);
	} else {
		fprintf(f, "stat %s: %llu runs, seeds %llu..%llu, policy %s%s%s\n",
			b->spec.scenario, (unsigned long long)b->spec.runs,
			(unsigned long long)b->spec.first_seed,
			(unsigned long long)(b->spec.first_seed + b->spec.runs - 1),
			b->spec.policy, b->spec.mutants ? ", mutant " : "",
			b->spec.mutants ? b->spec.mutants : "");
		for (u64 p = 0; p < b->nr_points; p++) {
			char lab[256];
			point_label(b, p, lab, sizeof(lab));
			if (lab[0])
				fprintf(f, "\n%s\n", lab);
			print_stat_point(b, p, f);
		}
	}
	if (f != stdout && fclose(f)) {
		fprintf(stderr, "vmlab %s: cannot write '%s'\n", cmd, a->output);
		return EXIT_USAGE;
	}
	return batch_status(b);
}

/* run/replay with lists or ranges in -D: one run per point. */
int cli_sweep(const char *cmd, struct cli_args *a)
{
	if (a->o.trace)
		return cli_bad(cmd, "--trace takes one run, not a sweep", NULL);
	struct batch b;
	int err = cli_make_batch(cmd, "sweep", a, a->runs ? a->runs : 1, &b);
	if (err)
		return err;
	if (!(err = cli_run_batch(cmd, a, &b)))
		err = cli_batch_output(cmd, a, &b, true);
	batch_free(&b);
	return err;
}

int cmd_stat(int argc, char **argv)
{
	struct cli_args a;
	int err = cli_parse("stat", argc, argv, &a, true);
	if (err)
		return err;
	if (a.o.trace || a.seeds)
		return cli_bad("stat", "--trace and --seeds belong to run and "
				       "explore (stat takes --runs N)", NULL);
	if (a.json && a.csv)
		return cli_bad("stat", "--json or --csv, not both", NULL);
	struct batch b;
	if ((err = cli_make_batch("stat", "stat", &a, a.runs ? a.runs : 10, &b)))
		return err;
	if (!(err = cli_run_batch("stat", &a, &b)))
		err = cli_batch_output("stat", &a, &b, cli_is_sweep(&a));
	batch_free(&b);
	return err;
}

/* ------------------------------------------------------------ merge */

static char *slurp(const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, n, "cannot read '%s'", path);
		return NULL;
	}
	size_t cap = 65536, len = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	size_t got;
	while ((got = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (len + 1 == cap) {
			cap *= 2;
			if (!(s = realloc(s, cap)))
				abort();
		}
	}
	fclose(f);
	s[len] = 0;
	return s;
}

/* What must agree between shards: the header without the shard. */
static char *header_of(struct batch *b)
{
	int k = b->spec.shard_k, nn = b->spec.shard_n;
	b->spec.shard_k = b->spec.shard_n = 1;
	struct batch h = *b;
	h.nr_items = 0; /* no records, no points */
	h.nr_points = 0;
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	if (!m)
		abort();
	batch_print_json(&h, m);
	fclose(m);
	b->spec.shard_k = k;
	b->spec.shard_n = nn;
	return s;
}

int cmd_merge(int argc, char **argv)
{
	const char *outp = NULL;
	int nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			outp = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_bad("merge", "unknown option", argv[i]);
		else
			argv[1 + nfiles++] = argv[i];
	}
	if (!nfiles)
		return cli_bad("merge", "which files? (the --json output of "
					"each --shard K/N run)", NULL);
	struct batch all;
	char *head = NULL;
	int st = EXIT_OK, nshards = 0;
	bool *seen = NULL;
	char err[512];
	memset(&all, 0, sizeof(all));
	for (int i = 0; i < nfiles && st == EXIT_OK; i++) {
		char *text = slurp(argv[1 + i], err, sizeof(err));
		struct jnode *j = text ? json_parse(text, err, sizeof(err)) : NULL;
		struct batch b;
		memset(&b, 0, sizeof(b));
		if (!j || batch_from_json(j, &b, err, sizeof(err))) {
			fprintf(stderr, "vmlab merge: %s: %s\n", argv[1 + i], err);
			st = EXIT_USAGE;
		} else if (!i) {
			head = header_of(&b);
			nshards = b.spec.shard_n;
			seen = calloc((size_t)nshards + 1, 1);
			if (!seen)
				abort();
		} else {
			char *h = header_of(&b);
			const char *m0 = all.spec.mutants, *m1 = b.spec.mutants;
			if (!m0 != !m1 || (m0 && strcmp(m0, m1))) {
				/* a mutant run and a clean one (or two
				 * mutants) answer different questions */
				fprintf(stderr, "vmlab merge: %s was run with "
						"%s%s, %s with %s%s: refusing to "
						"merge mixed runs\n",
					argv[1], m0 ? "--mutant " : "no mutant",
					m0 ? m0 : "", argv[1 + i],
					m1 ? "--mutant " : "no mutant",
					m1 ? m1 : "");
				st = EXIT_USAGE;
			} else if (strcmp(h, head) || b.spec.shard_n != nshards) {
				fprintf(stderr, "vmlab merge: %s is not a shard of "
						"the same run as %s\n",
					argv[1 + i], argv[1]);
				st = EXIT_USAGE;
			}
			free(h);
		}
		if (st == EXIT_OK && seen[b.spec.shard_k]) {
			fprintf(stderr, "vmlab merge: shard %d/%d given twice\n",
				b.spec.shard_k, nshards);
			st = EXIT_USAGE;
		}
		if (st == EXIT_OK) {
			seen[b.spec.shard_k] = true;
			if (!i) {
				all = b;
				memset(&b, 0, sizeof(b));
			} else {
				for (u64 k = 0; k < b.nr_items; k++) {
					if (!b.rec[k].present)
						continue;
					if (all.rec[k].present) {
						fprintf(stderr, "vmlab merge: item %llu "
								"in two shards\n",
							(unsigned long long)k);
						st = EXIT_USAGE;
						break;
					}
					all.rec[k] = b.rec[k];
					memset(&b.rec[k], 0, sizeof(b.rec[k]));
				}
			}
		}
		batch_free(&b);
		json_free(j);
		free(text);
	}
	for (int k = 1; st == EXIT_OK && k <= nshards; k++)
		if (!seen[k]) {
			fprintf(stderr, "vmlab merge: shard %d/%d is missing\n", k,
				nshards);
			st = EXIT_USAGE;
		}
	if (st == EXIT_OK) {
		all.spec.shard_k = all.spec.shard_n = 1;
		u64 upto = all.nr_items;
		if (all.stop_at_failure) { /* explore: up to the first failure */
			upto = batch_first_failure(&all);
			for (u64 k = upto + 1; k < all.nr_items; k++)
				batch_record_free(&all.rec[k]);
			upto = upto < all.nr_items ? upto + 1 : upto;
		}
		for (u64 k = 0; k < upto && st == EXIT_OK; k++)
			if (!all.rec[k].present) {
				fprintf(stderr, "vmlab merge: item %llu is in no "
						"shard\n", (unsigned long long)k);
				st = EXIT_USAGE;
			}
	}
	if (st == EXIT_OK) {
		FILE *f = outp ? fopen(outp, "w") : stdout;
		if (!f) {
			fprintf(stderr, "vmlab merge: cannot write '%s'\n", outp);
			st = EXIT_USAGE;
		} else {
			batch_print_json(&all, f);
			if (f != stdout)
				fclose(f);
			st = batch_status(&all);
		}
	}
	batch_free(&all);
	free(head);
	free(seen);
	return st;
}
