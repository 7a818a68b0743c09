/* SPDX-License-Identifier: MIT */
/*
 * What a run prints: the figure table (columns side by side), the
 * checker's findings per machine, the verdict; or all of it as one JSON
 * document.  Nothing here depends on timing: output is a function of the
 * result, which is a function of the run's inputs.
 */
#include <assert.h>
#include <string.h>

#include "sim/sim.h"

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
	     p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

bool json_is_number(const char *s)
{
	if (!s || !*s)
		return false;
	const char *p = s;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return false; /* JSON has no leading zeros */
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == 0;
}

void json_scalar(FILE *f, const char *s)
{
	if (json_is_number(s))
		fputs(s, f);
	else if (s && (!strcmp(s, "true") || !strcmp(s, "false")))
		fputs(s, f);
	else
		json_string(f, s);
}

void sim_format_value(const struct sim_value *v, char *buf, size_t n)
{
	switch (v->type) {
	case SV_INT: snprintf(buf, n, "%lld", (long long)v->i); break;
	case SV_NUM: snprintf(buf, n, "%.6g", v->d); break;
	case SV_BOOL: snprintf(buf, n, "%s", v->i ? "yes" : "no"); break;
	case SV_STR: snprintf(buf, n, "%s", v->s); break;
	default: snprintf(buf, n, "-"); break;
	}
}

void json_value(FILE *f, const struct sim_value *v)
{
	switch (v->type) {
	case SV_INT: fprintf(f, "%lld", (long long)v->i); break;
	case SV_NUM:
		/* JSON has no inf/nan */
		if (v->d == v->d && v->d - v->d == 0)
			fprintf(f, "%.17g", v->d);
		else
			fputs("null", f);
		break;
	case SV_BOOL: fputs(v->i ? "true" : "false", f); break;
	case SV_STR: json_string(f, v->s); break;
	default: fputs("null", f); break;
	}
}

/* --------------------------------------------------------- verdict */

void sim_verdict(const struct sim_result *r, char *buf, size_t n)
{
	assert(buf && n);
	if (r->error) {
		snprintf(buf, n, "%s", r->error);
		return;
	}
	size_t expected = 0;
	for (size_t i = 0; i < r->nr_reports; i++)
		expected += r->reports[i].expected;
	if (expected)
		snprintf(buf, n, "ok: the checker reported what the scenario "
				 "shows (%zu expected report%s)",
			 expected, expected == 1 ? "" : "s");
	else
		snprintf(buf, n, "ok: the checker is silent");
}

/* "1 stale-access, 2 freed-frame-reachable" for one machine. */
static void findings(const struct sim_result *r, const char *label,
		     char *buf, size_t n)
{
	size_t count[VMLAB_NR_CHECKS] = {0}, len = 0;
	assert(label && buf && n > 0);
	for (size_t i = 0; i < r->nr_reports; i++) {
		if (strcmp(r->reports[i].machine, label))
			continue;
		for (int c = 0; c < VMLAB_NR_CHECKS; c++)
			if (!strcmp(r->reports[i].check,
				    vmlab_check_name((enum vmlab_check)c)))
				count[c]++;
	}
	buf[0] = 0;
	for (int c = 0; c < VMLAB_NR_CHECKS && len < n; c++)
		if (count[c])
			len += (size_t)snprintf(buf + len, n - len, "%s%zu %s",
						len ? ", " : "", count[c],
						vmlab_check_name((enum vmlab_check)c));
	if (!buf[0])
		snprintf(buf, n, "clean");
}

/* ------------------------------------------------------------ text */

void sim_print_figures(const struct sim_result *r, FILE *f)
{
	if (!r->nr_rows)
		return;
	int wname = 8;
	assert(r->nr_columns > 0);
	for (int i = 0; i < r->nr_rows; i++)
		if ((int)strlen(r->rows[i].name) > wname)
			wname = (int)strlen(r->rows[i].name);
	int w[64];
	int nc = r->nr_columns < 64 ? r->nr_columns : 64;
	for (int c = 0; c < nc; c++) {
		w[c] = (int)strlen(r->columns[c]);
		w[c] = w[c] < 10 ? 10 : w[c];
		for (int i = 0; i < r->nr_rows; i++) {
			char v[64];
			sim_format_value(&r->rows[i].v[c], v, sizeof(v));
			if ((int)strlen(v) > w[c])
				w[c] = (int)strlen(v);
		}
	}
	if (nc > 1 || strcmp(r->columns[0], "value")) {
		fprintf(f, "  %-*s", wname, "");
		for (int c = 0; c < nc; c++)
			fprintf(f, "  %*s", w[c], r->columns[c]);
		fputc('\n', f);
	}
	for (int i = 0; i < r->nr_rows; i++) {
		fprintf(f, "  %-*s", wname, r->rows[i].name);
		for (int c = 0; c < nc; c++) {
			char v[64];
			sim_format_value(&r->rows[i].v[c], v, sizeof(v));
			fprintf(f, "  %*s", w[c], v);
		}
		fputc('\n', f);
	}
}

void sim_print_checker(const struct sim_result *r, FILE *f)
{
	assert(r && f);
	for (int i = 0; i < r->nr_machines; i++) {
		const struct sim_machine_info *mi = &r->machines[i];
		char buf[256];
		findings(r, mi->label, buf, sizeof(buf));
		fprintf(f, "  checker on '%s': %s%s\n", mi->label, buf,
			mi->found && (mi->found & ~mi->expect) == 0
				? " (expected: the bug this scenario shows)"
				: "");
		for (int k = 0; k < mi->nr_warn; k++)
			fprintf(f, "  kernel warnings on '%s': %llu x %.*s\n",
				mi->label, (unsigned long long)mi->warn[k].count,
				(int)mi->warn[k].key_len, mi->warn[k].first);
	}
}

/* Each kind of warning in full, once, under its machine's label. */
static void print_warnings(const struct sim_result *r, FILE *f)
{
	for (int i = 0; i < r->nr_machines; i++)
		for (int k = 0; k < r->machines[i].nr_warn; k++) {
			const struct sim_warning *w = &r->machines[i].warn[k];
			fprintf(f, "\n[%s] WARNING: %s\n", r->machines[i].label,
				w->first);
			if (w->count > 1)
				fprintf(f, "[%s] ... and %llu more like it\n",
					r->machines[i].label,
					(unsigned long long)w->count - 1);
		}
}

/*
 * Unexpected reports are printed whole.  Expected ones (the bug a
 * scenario demonstrates) are printed once per machine and check, then
 * counted: forty copies of the same splat hide more than they show.
 */
void sim_print_reports(const struct sim_result *r, FILE *f)
{
	for (size_t i = 0; i < r->nr_reports; i++) {
		const struct sim_report *p = &r->reports[i];
		size_t same = 0, first = i;
		for (size_t k = 0; k < r->nr_reports; k++) {
			const struct sim_report *q = &r->reports[k];
			if (!p->expected || !q->expected ||
			    strcmp(q->machine, p->machine) ||
			    strcmp(q->check, p->check))
				continue;
			if (k < first)
				first = k;
			same++;
		}
		if (p->expected && first != i)
			continue;
		fprintf(f, "\n[%s]%s\n%s", p->machine,
			p->expected ? " (expected)" : "", p->text);
		if (p->expected && same > 1)
			fprintf(f, "[%s] ... and %zu more expected %s report%s\n",
				p->machine, same - 1, p->check,
				same == 2 ? "" : "s");
	}
}

void sim_print_text(const struct sim_result *r, const struct sim_opts *o,
		    FILE *f, bool full_reports)
{
	assert(r && o && f);
	fprintf(f, "%s: %s\n", r->name ? r->name : "?",
		r->description ? r->description : "");
	fprintf(f, "seed %llu, policy %s", (unsigned long long)o->seed,
		vmlab_sched_policy_name(o->policy));
	if (o->policy == VMLAB_SCHED_PCT)
		fprintf(f, " (depth %d, k %llu)", o->depth,
			(unsigned long long)r->pct_steps);
	for (int i = 0; i < r->nr_params; i++)
		fprintf(f, "%s%s", i ? " " : ", ", r->params[i]);
	fputs("\n\n", f);
	if (r->output && r->output_len)
		fwrite(r->output, 1, r->output_len, f);
	if (r->nr_rows) {
		sim_print_figures(r, f);
		fputc('\n', f);
	}
	sim_print_checker(r, f);
	if (full_reports) {
		print_warnings(r, f);
		sim_print_reports(r, f);
	}
	fprintf(f, "\ntrace hash %#018llx, %d machine%s, %llu scheduling "
		   "points, %llu switches\n",
		(unsigned long long)r->hash, r->nr_machines,
		r->nr_machines == 1 ? "" : "s", (unsigned long long)r->steps,
		(unsigned long long)r->switches);
	char v[1024];
	sim_verdict(r, v, sizeof(v));
	/* A scenario that plants a race (explore's target) failing with a
	 * checker report has done what it is for: the same words as the
	 * tour's, and still exit 1 (a report), as explore counts it. */
	const char *word = r->status == SIM_OK ? "result"
			   : r->planted && r->nr_reports
				   ? "FOUND (the race this scenario plants)"
				   : "FAILED";
	fprintf(f, "%s: %s\n", word, v);
}

/* ------------------------------------------------------------ JSON */

void sim_print_json(const struct sim_result *r, const struct sim_opts *o,
		    FILE *f)
{
	assert(r && o && f);
	fprintf(f, "{\"vmlab\": \"%s\",\n \"scenario\": ", VMLAB_VERSION);
	json_string(f, r->name);
	fputs(",\n \"description\": ", f);
	json_string(f, r->description);
	fprintf(f, ",\n \"seed\": %llu, \"policy\": \"%s\", \"depth\": %d, "
		   "\"pct_steps\": %llu,\n \"params\": {",
		(unsigned long long)o->seed, vmlab_sched_policy_name(o->policy),
		o->depth, (unsigned long long)r->pct_steps);
	for (int i = 0; i < r->nr_params; i++) {
		const char *eq = strchr(r->params[i], '=');
		fprintf(f, "%s\"%.*s\": ", i ? ", " : "",
			(int)(eq - r->params[i]), r->params[i]);
		json_scalar(f, eq + 1); /* 16, true, "name": typed */
	}
	fputs("},\n \"columns\": [", f);
	for (int c = 0; c < r->nr_columns; c++) {
		fputs(c ? ", " : "", f);
		json_string(f, r->columns[c]);
	}
	fputs("],\n \"figures\": {", f);
	for (int c = 0; c < r->nr_columns; c++) {
		fputs(c ? ",\n  " : "\n  ", f);
		json_string(f, r->columns[c]);
		fputs(": {", f);
		int k = 0;
		for (int i = 0; i < r->nr_rows; i++) {
			if (r->rows[i].v[c].type == SV_NONE)
				continue;
			fputs(k++ ? ", " : "", f);
			json_string(f, r->rows[i].name);
			fputs(": ", f);
			json_value(f, &r->rows[i].v[c]);
		}
		fputc('}', f);
	}
	fputs("},\n \"machines\": [", f);
	for (int i = 0; i < r->nr_machines; i++) {
		const struct sim_machine_info *mi = &r->machines[i];
		fputs(i ? ",\n  {\"label\": " : "\n  {\"label\": ", f);
		json_string(f, mi->label);
		fprintf(f, ", \"cpus\": %d, \"trace_hash\": \"%#llx\", "
			   "\"events\": %llu, \"warnings\": %llu, "
			   "\"reports\": %zu, \"warning_kinds\": [",
			mi->cpus, (unsigned long long)mi->hash,
			(unsigned long long)mi->events,
			(unsigned long long)mi->warnings, mi->nr_reports);
		for (int k = 0; k < mi->nr_warn; k++) {
			fputs(k ? ", {\"count\": " : "{\"count\": ", f);
			fprintf(f, "%llu, \"first\": ",
				(unsigned long long)mi->warn[k].count);
			json_string(f, mi->warn[k].first);
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputs("],\n \"reports\": [", f);
	for (size_t i = 0; i < r->nr_reports; i++) {
		const struct sim_report *p = &r->reports[i];
		fputs(i ? ",\n  {\"machine\": " : "\n  {\"machine\": ", f);
		json_string(f, p->machine);
		fprintf(f, ", \"check\": \"%s\", \"cpu\": %d, \"va\": "
			   "\"0x%llx\", \"pfn\": %llu, \"access\": \"%s\", "
			   "\"expected\": %s, \"text\": ",
			p->check, p->cpu, (unsigned long long)p->va,
			(unsigned long long)p->pfn, p->access,
			p->expected ? "true" : "false");
		json_string(f, p->text);
		fputc('}', f);
	}
	fputs("],\n \"output\": ", f);
	json_string(f, r->output);
	fprintf(f, ",\n \"scheduling_points\": %llu, \"switches\": %llu, "
		   "\"trace_hash\": \"%#llx\",\n \"status\": %d, \"verdict\": ",
		(unsigned long long)r->steps, (unsigned long long)r->switches,
		(unsigned long long)r->hash, (int)r->status);
	char v[1024];
	sim_verdict(r, v, sizeof(v));
	json_string(f, v);
	fputs(",\n \"error\": ", f);
	if (r->error)
		json_string(f, r->error);
	else
		fputs("null", f);
	fputs("}\n", f);
}
