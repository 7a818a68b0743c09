/* SPDX-License-Identifier: MIT */
/*
 * A batch as JSON and back: the header (what was run), one summary per
 * sweep point (mean, min, max, standard deviation of every figure over
 * the point's runs) and the records.  Printing is a function of the
 * header and the records only, so a merge of shards prints the same
 * bytes as the run that did every item itself.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/batch.h"
#include "vmlab/mutant.h"

/* ------------------------------------------------------ aggregation */

static int find_fig(const struct point_agg *pa, const char *col,
		    const char *row)
{
	for (int k = 0; k < pa->nr; k++)
		if (!strcmp(pa->f[k].column, col) && !strcmp(pa->f[k].row, row))
			return k;
	return -1;
}

void batch_aggregate(const struct batch *b, u64 point, struct point_agg *pa)
{
	memset(pa, 0, sizeof(*pa));
	int cap = 0;
	u64 i0 = point * b->spec.runs, i1 = i0 + b->spec.runs;
	assert(point < b->nr_points);
	/* First pass: counts, sums, extremes, in item order. */
	for (u64 i = i0; i < i1; i++) {
		const struct batch_record *rec = &b->rec[i];
		if (!rec->present)
			continue;
		pa->runs++;
		if (rec->status != SIM_OK && !pa->failed++)
			pa->error = rec->error;
		pa->unexpected += rec->unexpected;
		for (int g = 0; g < rec->nr_figs; g++) {
			const struct batch_fig *fg = &rec->figs[g];
			int k = find_fig(pa, fg->column, fg->row);
			if (k < 0) {
				if (pa->nr == cap) {
					cap = cap ? 2 * cap : 16;
					pa->f = realloc(pa->f, (size_t)cap *
							sizeof(*pa->f));
					if (!pa->f)
						abort();
				}
				k = pa->nr++;
				pa->f[k] = (struct agg_fig){
					.column = fg->column, .row = fg->row,
					.number = true, .text = fg->text};
			}
			struct agg_fig *a = &pa->f[k];
			if (!fg->number || !a->number) {
				if (a->number && a->n)
					a->text = NULL; /* numbers, then not */
				else if (a->text && strcmp(a->text, fg->text))
					a->text = NULL; /* runs disagree */
				a->number = false;
				a->n++;
				continue;
			}
			double v = strtod(fg->text, NULL);
			a->min = a->n ? fmin(a->min, v) : v;
			a->max = a->n ? fmax(a->max, v) : v;
			a->mean += v;
			a->n++;
		}
	}
	for (int k = 0; k < pa->nr; k++)
		if (pa->f[k].number && pa->f[k].n)
			pa->f[k].mean /= (double)pa->f[k].n;
	/* Second pass: the spread around the mean. */
	for (u64 i = i0; i < i1; i++) {
		const struct batch_record *rec = &b->rec[i];
		for (int g = 0; rec->present && g < rec->nr_figs; g++) {
			int k = find_fig(pa, rec->figs[g].column, rec->figs[g].row);
			assert(k >= 0);
			if (!pa->f[k].number)
				continue;
			double d = strtod(rec->figs[g].text, NULL) - pa->f[k].mean;
			pa->f[k].stddev += d * d;
		}
	}
	for (int k = 0; k < pa->nr; k++) {
		struct agg_fig *a = &pa->f[k];
		a->stddev = a->number && a->n > 1
				    ? sqrt(a->stddev / (double)(a->n - 1))
				    : 0;
	}
}

void point_agg_free(struct point_agg *pa)
{
	free(pa->f);
	memset(pa, 0, sizeof(*pa));
}

/* ------------------------------------------------------------ print */

static void num(FILE *f, double v)
{
	if (v == v && v - v == 0)
		fprintf(f, "%.17g", v);
	else
		fputs("null", f);
}

void batch_print_record(const struct batch *b, u64 i, FILE *f)
{
	const struct batch_record *rec = &b->rec[i];
	assert(rec->present);
	fprintf(f, "{\"i\": %llu, \"seed\": %llu, \"status\": %d, "
		   "\"reports\": %llu, \"unexpected\": %llu, \"check\": ",
		(unsigned long long)i, (unsigned long long)batch_item_seed(b, i),
		rec->status, (unsigned long long)rec->nr_reports,
		(unsigned long long)rec->unexpected);
	if (rec->check)
		json_string(f, rec->check);
	else
		fputs("null", f);
	fputs(", \"hash\": ", f);
	json_string(f, rec->hash);
	fputs(", \"error\": ", f);
	if (rec->error)
		json_string(f, rec->error);
	else
		fputs("null", f);
	fputs(", \"figures\": [", f);
	for (int g = 0; g < rec->nr_figs; g++) {
		const struct batch_fig *fg = &rec->figs[g];
		fputs(g ? ", [" : "[", f);
		json_string(f, fg->column);
		fputs(", ", f);
		json_string(f, fg->row);
		fputs(", ", f);
		if (fg->number || !strcmp(fg->text, "true") ||
		    !strcmp(fg->text, "false") || !strcmp(fg->text, "null"))
			fputs(fg->text, f);
		else
			json_string(f, fg->text);
		fputc(']', f);
	}
	fputs("]}\n", f);
}

static void print_point(const struct batch *b, u64 p, FILE *f)
{
	const char *defs[SIM_MAX_DEFS];
	struct point_agg pa;
	batch_point_defs(b, p, defs);
	batch_aggregate(b, p, &pa);
	fputs("  {\"params\": {", f);
	for (int a = 0; a < b->spec.nr_axes; a++) {
		const char *eq = strchr(defs[a], '=');
		fputs(a ? ", " : "", f);
		json_string(f, b->spec.axes[a].name);
		fputs(": ", f);
		json_scalar(f, eq + 1);
	}
	fprintf(f, "}, \"runs\": %llu, \"failed\": %llu, "
		   "\"unexpected_reports\": %llu, \"figures\": [",
		(unsigned long long)pa.runs, (unsigned long long)pa.failed,
		(unsigned long long)pa.unexpected);
	for (int k = 0; k < pa.nr; k++) {
		const struct agg_fig *a = &pa.f[k];
		fputs(k ? ",\n    {\"column\": " : "\n    {\"column\": ", f);
		json_string(f, a->column);
		fputs(", \"figure\": ", f);
		json_string(f, a->row);
		fprintf(f, ", \"n\": %llu", (unsigned long long)a->n);
		if (a->number) {
			fputs(", \"mean\": ", f);
			num(f, a->mean);
			fputs(", \"min\": ", f);
			num(f, a->min);
			fputs(", \"max\": ", f);
			num(f, a->max);
			fputs(", \"stddev\": ", f);
			num(f, a->stddev);
		} else {
			fputs(", \"value\": ", f);
			if (a->text)
				json_string(f, a->text);
			else
				fputs("null", f);
		}
		fputc('}', f);
	}
	fputs("]}", f);
	point_agg_free(&pa);
}

void batch_print_json(const struct batch *b, FILE *f)
{
	const struct batch_spec *s = &b->spec;
	fprintf(f, "{\"vmlab\": \"%s\", \"kind\": ", VMLAB_VERSION);
	json_string(f, s->kind);
	fputs(", \"scenario\": ", f);
	json_string(f, s->scenario);
	fprintf(f, ",\n \"first_seed\": %llu, \"runs\": %llu, \"policy\": ",
		(unsigned long long)s->first_seed, (unsigned long long)s->runs);
	json_string(f, s->policy);
	fprintf(f, ", \"depth\": %d, \"cpus\": %d, \"max_steps\": %llu, "
		   "\"pct_steps\": %llu,\n \"axes\": [",
		s->depth, s->cpus, (unsigned long long)s->max_steps,
		(unsigned long long)s->pct_steps);
	for (int a = 0; a < s->nr_axes; a++) {
		fputs(a ? ", {\"name\": " : "{\"name\": ", f);
		json_string(f, s->axes[a].name);
		fputs(", \"values\": [", f);
		for (int v = 0; v < s->axes[a].nr_values; v++) {
			fputs(v ? ", " : "", f);
			json_scalar(f, s->axes[a].values[v]);
		}
		fputs("]}", f);
	}
	fputc(']', f);
	if (s->mutants) { /* only with --mutant: older documents unchanged */
		fputs(",\n \"mutants\": [", f);
		for (const char *p = s->mutants; *p;) {
			size_t len = strcspn(p, ",");
			fprintf(f, "%s\"%.*s\"", p == s->mutants ? "" : ", ",
				(int)len, p);
			p += len + (p[len] == ',');
		}
		fputc(']', f);
	}
	if (s->shard_n > 1)
		fprintf(f, ",\n \"shard\": \"%d/%d\"", s->shard_k, s->shard_n);
	if (!strcmp(s->kind, "explore")) {
		u64 ff = batch_first_failure(b);
		fputs(",\n \"failing_seed\": ", f);
		if (ff < b->nr_items) {
			const struct batch_record *r = &b->rec[ff];
			fprintf(f, "%llu, \"runs_until_failure\": %llu, "
				   "\"check\": ",
				(unsigned long long)batch_item_seed(b, ff),
				(unsigned long long)ff + 1);
			if (r->check)
				json_string(f, r->check);
			else
				fputs("null", f);
			fputs(", \"error\": ", f);
			json_string(f, r->error);
		} else {
			fputs("null", f);
		}
	}
	fputs(",\n \"points\": [", f);
	for (u64 p = 0; p < b->nr_points && strcmp(s->kind, "explore"); p++) {
		fputs(p ? ",\n" : "\n", f);
		print_point(b, p, f);
	}
	fputs("],\n \"records\": [", f);
	bool any = false;
	for (u64 i = 0; i < b->nr_items; i++) {
		if (!b->rec[i].present)
			continue;
		fputs(any ? ",\n  " : "\n  ", f);
		any = true;
		/* the record line without its newline */
		char *line = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&line, &len);
		if (!m)
			abort();
		batch_print_record(b, i, m);
		fclose(m);
		assert(len > 0 && line[len - 1] == '\n');
		fwrite(line, 1, len - 1, f);
		free(line);
	}
	fputs("]}\n", f);
}

/* ------------------------------------------------------------- read */

static bool get_u64(const struct jnode *o, const char *key, u64 *v)
{
	const struct jnode *j = json_get(o, key);
	if (!j || j->type != J_NUM || j->s[0] == '-')
		return false;
	*v = strtoull(j->s, NULL, 10);
	return true;
}

static const char *get_str(const struct jnode *o, const char *key)
{
	const struct jnode *j = json_get(o, key);
	return j && j->type == J_STR ? j->s : NULL;
}

int batch_record_from_json(struct batch *b, const struct jnode *j, char *err,
			   size_t n)
{
	u64 i, status, reps, unexp;
	const struct jnode *figs = json_get(j, "figures");
	if (!get_u64(j, "i", &i) || !get_u64(j, "status", &status) ||
	    !get_u64(j, "reports", &reps) || !get_u64(j, "unexpected", &unexp) ||
	    !get_str(j, "hash") || !figs || figs->type != J_ARR) {
		snprintf(err, n, "a record lacks i, status, reports, "
				 "unexpected, hash or figures");
		return -1;
	}
	if (i >= b->nr_items || b->rec[i].present) {
		snprintf(err, n, "record %llu: %s", (unsigned long long)i,
			 i >= b->nr_items ? "not an item of this batch"
					  : "given twice");
		return -1;
	}
	struct batch_record *rec = &b->rec[i];
	rec->present = true;
	rec->status = (int)status;
	rec->nr_reports = reps;
	rec->unexpected = unexp;
	rec->hash = xstrdup(get_str(j, "hash"));
	if (get_str(j, "check"))
		rec->check = xstrdup(get_str(j, "check"));
	if (get_str(j, "error"))
		rec->error = xstrdup(get_str(j, "error"));
	rec->figs = calloc((size_t)figs->nr_kid + 1, sizeof(*rec->figs));
	if (!rec->figs)
		abort();
	for (int g = 0; g < figs->nr_kid; g++) {
		const struct jnode *t = figs->kid[g];
		if (t->type != J_ARR || t->nr_kid != 3 ||
		    t->kid[0]->type != J_STR || t->kid[1]->type != J_STR ||
		    t->kid[2]->type == J_ARR || t->kid[2]->type == J_OBJ) {
			snprintf(err, n, "record %llu: a figure is not "
					 "[column, figure, value]",
				 (unsigned long long)i);
			return -1;
		}
		struct batch_fig *fg = &rec->figs[rec->nr_figs++];
		fg->column = xstrdup(t->kid[0]->s);
		fg->row = xstrdup(t->kid[1]->s);
		fg->text = xstrdup(t->kid[2]->s);
		fg->number = t->kid[2]->type == J_NUM;
	}
	return 0;
}

/* The header's "mutants": an array of catalogue names, joined by ','. */
static int batch_mutants_from_json(const struct jnode *mu, struct batch_spec *s,
				   char *err, size_t n)
{
	if (!mu)
		return 0;
	if (mu->type != J_ARR || !mu->nr_kid) {
		snprintf(err, n, "\"mutants\" is not a list of names");
		return -1;
	}
	size_t len = 0;
	for (int k = 0; k < mu->nr_kid; k++) {
		const struct jnode *e = mu->kid[k];
		if (e->type != J_STR || vmlab_mutant_lookup(e->s) < 0) {
			snprintf(err, n, "\"mutants\": '%s' is not a mutant",
				 e->type == J_STR ? e->s : "?");
			return -1;
		}
		len += strlen(e->s) + 1;
	}
	s->mutants = malloc(len);
	if (!s->mutants)
		abort();
	s->mutants[0] = 0;
	for (int k = 0; k < mu->nr_kid; k++) {
		if (k)
			strcat(s->mutants, ",");
		strcat(s->mutants, mu->kid[k]->s);
	}
	assert(strlen(s->mutants) + 1 == len);
	return 0;
}

int batch_from_json(const struct jnode *doc, struct batch *b, char *err,
		    size_t n)
{
	memset(b, 0, sizeof(*b));
	struct batch_spec *s = &b->spec;
	u64 depth, cpus;
	const struct jnode *axes = json_get(doc, "axes");
	const struct jnode *recs = json_get(doc, "records");
	if (!get_str(doc, "kind") || !get_str(doc, "scenario") ||
	    !get_str(doc, "policy") || !get_u64(doc, "first_seed", &s->first_seed) ||
	    !get_u64(doc, "runs", &s->runs) || !get_u64(doc, "depth", &depth) ||
	    !get_u64(doc, "cpus", &cpus) ||
	    !get_u64(doc, "max_steps", &s->max_steps) ||
	    !get_u64(doc, "pct_steps", &s->pct_steps) || !axes ||
	    axes->type != J_ARR || !recs || recs->type != J_ARR || !s->runs) {
		snprintf(err, n, "not a vmlab stat, sweep or explore document");
		return -1;
	}
	s->kind = xstrdup(get_str(doc, "kind"));
	s->scenario = xstrdup(get_str(doc, "scenario"));
	s->policy = xstrdup(get_str(doc, "policy"));
	s->depth = (int)depth;
	s->cpus = (int)cpus;
	s->shard_k = s->shard_n = 1;
	const char *sh = get_str(doc, "shard");
	if (sh && !batch_parse_shard(sh, &s->shard_k, &s->shard_n)) {
		snprintf(err, n, "bad shard '%s'", sh);
		return -1;
	}
	if (batch_mutants_from_json(json_get(doc, "mutants"), s, err, n))
		return -1;
	s->axes = calloc((size_t)axes->nr_kid + 1, sizeof(*s->axes));
	if (!s->axes)
		abort();
	for (int a = 0; a < axes->nr_kid; a++) {
		const struct jnode *ax = axes->kid[a];
		const struct jnode *vals = json_get(ax, "values");
		if (!get_str(ax, "name") || !vals || vals->type != J_ARR ||
		    !vals->nr_kid) {
			snprintf(err, n, "axis %d: no name or values", a);
			return -1;
		}
		struct batch_axis *x = &s->axes[s->nr_axes++];
		x->name = xstrdup(get_str(ax, "name"));
		for (int v = 0; v < vals->nr_kid; v++) {
			const char *t = vals->kid[v]->s;
			size_t len = strlen(x->name) + strlen(t) + 2;
			char **vs = realloc(x->values, (size_t)(v + 1) * sizeof(*vs));
			char **ds = vs ? realloc(x->defs, (size_t)(v + 1) *
							     sizeof(*ds))
				       : NULL;
			if (!vs || !ds)
				abort();
			x->values = vs;
			x->defs = ds;
			x->values[v] = xstrdup(t);
			x->defs[v] = malloc(len);
			if (!x->defs[v])
				abort();
			snprintf(x->defs[v], len, "%s=%s", x->name, t);
			x->nr_values++;
		}
	}
	batch_init(b);
	b->figures = strcmp(s->kind, "explore") != 0;
	b->stop_at_failure = !b->figures;
	for (int k = 0; k < recs->nr_kid; k++)
		if (batch_record_from_json(b, recs->kid[k], err, n))
			return -1;
	return 0;
}
