/* SPDX-License-Identifier: MIT */
/*
 * vmlab claims: every claim of the five seed threads (src/sim/claims.c)
 * re-run from its scenario and printed as a table: what vmlab measured
 * and the verdict (reproduced / contradicted / not modelled).  A claim
 * whose scenario stops holding is FAILED and the exit status is 1; with
 * --expect FILE, a claim expected reproduced or contradicted that is
 * something else is a failure too, so the table is a regression suite.
 * --host adds, beside a claim whose scenario names a host measurement
 * ("-- host: maps-estimate"), the same figure taken on this machine:
 * labelled, never part of the verdict (scenarios read no host state).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sim/sim.h"
#include "vmlab/maps.h"

#define MAX_EXPECT 128

struct expect {
	char id[16];
	char verdict[32];
};

struct claims_args {
	bool json, verbose, host;
	u64 seed;
	const char *expect_file;
	const char *sel[64];
	int nr_sel;
};

/* ID ("1.3"), seed name ("kasan-vmalloc-shadow") or seed number ("2"). */
static bool selected(const struct sim_claim *c, const struct claims_args *a)
{
	assert(c && a && a->nr_sel >= 0);
	if (!a->nr_sel)
		return true;
	for (int i = 0; i < a->nr_sel; i++) {
		const char *s = a->sel[i];
		size_t n = strlen(s);
		if (!strcmp(s, c->id) || !strcmp(s, c->seed))
			return true;
		if (!strchr(s, '.') && !strncmp(c->id, s, n) && c->id[n] == '.')
			return true;
	}
	return false;
}

static bool known_selector(const char *s)
{
	assert(s && sim_nr_claims > 0);
	for (int i = 0; i < sim_nr_claims; i++) {
		struct claims_args one = {.nr_sel = 1, .sel = {s}};
		if (selected(sim_claim(i), &one))
			return true;
	}
	return false;
}

static int parse(int argc, char **argv, struct claims_args *a)
{
	assert(argc >= 1 && argv && a);
	memset(a, 0, sizeof(*a));
	a->seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--json")) {
			a->json = true;
		} else if (!strcmp(s, "--host")) {
			a->host = true;
		} else if (!strcmp(s, "-v") || !strcmp(s, "--verbose")) {
			a->verbose = true;
		} else if (!strcmp(s, "--seed") && i + 1 < argc) {
			if (!cli_parse_u64(argv[++i], &a->seed))
				return cli_bad("claims", "--seed needs a number",
					       argv[i]);
		} else if (!strcmp(s, "--expect") && i + 1 < argc) {
			a->expect_file = argv[++i];
		} else if (s[0] == '-') {
			return cli_bad("claims", "unknown option", s);
		} else if (!known_selector(s)) {
			return cli_bad("claims", "no such claim id or seed", s);
		} else if (a->nr_sel < (int)(sizeof(a->sel) / sizeof(a->sel[0]))) {
			a->sel[a->nr_sel++] = s;
		} else {
			return cli_bad("claims", "too many selectors", s);
		}
	}
	return 0;
}

/* "ID VERDICT" lines ('#' comments); returns the count or -1. */
static int read_expect(const char *path, struct expect *e, int max)
{
	assert(path && e && max > 0);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "vmlab claims: cannot read %s\n", path);
		return -1;
	}
	char line[256];
	int n = 0, lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		if (n == max || sscanf(p, "%15s %31[a-z ]", e[n].id,
				       e[n].verdict) != 2) {
			fprintf(stderr, "%s:%d: expected 'ID verdict'\n", path,
				lineno);
			fclose(f);
			return -1;
		}
		size_t l = strlen(e[n].verdict);
		while (l && e[n].verdict[l - 1] == ' ')
			e[n].verdict[--l] = 0;
		n++;
	}
	fclose(f);
	assert(n <= max);
	return n;
}

static const char *expected_of(const struct expect *e, int n, const char *id)
{
	assert(id && n >= 0 && (e || !n));
	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].id, id))
			return e[i].verdict;
	return NULL;
}

/* The host counterpart a claim's scenario names, measured on this
 * machine into buf ("" if it names none).  Only maps-estimate exists. */
static void host_figure(const struct sim_claim *c, char *buf, size_t n)
{
	assert(c && buf && n > 0);
	buf[0] = 0;
	const struct sim_builtin *b = sim_claim_scenario(c);
	char what[64];
	if (!b || !sim_header(b->text, b->len, "host", what, sizeof(what)))
		return;
	if (strcmp(what, "maps-estimate")) {
		snprintf(buf, n, "unknown host measurement '%s'", what);
		return;
	}
	struct vmlab_maps_estimate e = {0};
	if (cli_maps_estimate_host(&e, 0)) {
		snprintf(buf, n, "cannot read /proc");
		return;
	}
	double pct = e.vmas ? 100.0 * (double)e.guards / (double)e.vmas : 0;
	snprintf(buf, n,
		 "%llu processes, %llu VMAs, %llu guard VMAs, %.2f %% fewer "
		 "VMAs with markers (vmlab maps-estimate --host)",
		 (unsigned long long)e.processes, (unsigned long long)e.vmas,
		 (unsigned long long)e.guards, pct);
	assert(strlen(buf) < n);
}

static void print_row(const struct sim_claim *c,
		      const struct sim_claim_outcome *o, bool verbose,
		      const char *host)
{
	assert(c && o && o->verdict <= SIM_CLAIM_FAILED);
	printf("%-5s %-22s %-13s %.70s%s\n", c->id, c->seed,
	       sim_claim_verdict_name(o->verdict), c->text,
	       strlen(c->text) > 70 ? "..." : "");
	if (o->measured && o->measured[0])
		printf("      measured (%s): %.*s%s\n", o->arch ? o->arch : "-",
		       verbose ? 100000 : 160, o->measured,
		       !verbose && strlen(o->measured) > 160 ? " ..." : "");
	if (o->why && o->why[0])
		printf("      %s: %.*s\n",
		       o->verdict == SIM_CLAIM_FAILED ? "error" : "why",
		       verbose ? 100000 : 300, o->why);
	if (host && host[0])
		printf("      host (this machine, not part of the verdict): %s\n",
		       host);
}

static void json_row(const struct sim_claim *c,
		     const struct sim_claim_outcome *o, bool first,
		     const char *host)
{
	assert(c && o && o->verdict <= SIM_CLAIM_FAILED);
	printf("%s\n    {\"id\": ", first ? "" : ",");
	json_string(stdout, c->id);
	printf(", \"seed\": ");
	json_string(stdout, c->seed);
	printf(", \"claim\": ");
	json_string(stdout, c->text);
	printf(", \"verdict\": ");
	json_string(stdout, sim_claim_verdict_name(o->verdict));
	printf(", \"arch\": ");
	json_string(stdout, o->arch ? o->arch : "");
	printf(", \"measured\": ");
	json_string(stdout, o->measured ? o->measured : "");
	printf(", \"why\": ");
	json_string(stdout, o->why ? o->why : "");
	if (host && host[0]) {
		printf(", \"host\": ");
		json_string(stdout, host);
	}
	printf("}");
}

/* The tour's view: per seed, how many claims each verdict has, and the
 * curated claims below with what was measured.  Returns the failures. */
int cli_claims_summary(FILE *f)
{
	static const char *const show[] = {"1.3", "1.5", "2.2", "2.7",
					   "3.3", "4.2", "5.7", "5.13"};
	int failed = 0, total[SIM_CLAIM_FAILED + 1] = {0};
	const char *seed = NULL;
	int cnt[SIM_CLAIM_FAILED + 1] = {0};
	assert(f && sim_nr_claims > 0);
	for (int i = 0; i <= sim_nr_claims; i++) {
		const struct sim_claim *c = sim_claim(i);
		if (seed && (!c || strcmp(c->seed, seed))) {
			fprintf(f, "  %-24s %2d reproduced, %d contradicted, %2d "
				   "not modelled%s\n",
				seed, cnt[SIM_CLAIM_REPRODUCED],
				cnt[SIM_CLAIM_CONTRADICTED],
				cnt[SIM_CLAIM_NOT_MODELLED],
				cnt[SIM_CLAIM_FAILED] ? ", FAILED" : "");
			memset(cnt, 0, sizeof(cnt));
		}
		if (!c)
			break;
		seed = c->seed;
		struct sim_claim_outcome o;
		if (sim_claim_run(c, 1, &o))
			return failed + 1;
		cnt[o.verdict]++;
		total[o.verdict]++;
		failed += o.verdict == SIM_CLAIM_FAILED;
		for (size_t k = 0; k < sizeof(show) / sizeof(show[0]); k++)
			if (!strcmp(show[k], c->id) &&
			    o.verdict != SIM_CLAIM_NOT_MODELLED)
				fprintf(f, "    %s %s: %.110s\n", c->id,
					sim_claim_verdict_name(o.verdict),
					o.measured ? o.measured : "");
		sim_claim_outcome_free(&o);
	}
	assert(total[SIM_CLAIM_REPRODUCED] + total[SIM_CLAIM_CONTRADICTED] +
	       total[SIM_CLAIM_NOT_MODELLED] + total[SIM_CLAIM_FAILED] ==
	       sim_nr_claims);
	fprintf(f, "  claims: %d reproduced, %d contradicted, %d not modelled "
		   "of %d ('vmlab claims' for the table)\n",
		total[SIM_CLAIM_REPRODUCED], total[SIM_CLAIM_CONTRADICTED],
		total[SIM_CLAIM_NOT_MODELLED], sim_nr_claims);
	return failed;
}

int cmd_claims(int argc, char **argv)
{
	struct claims_args a;
	int err = parse(argc, argv, &a);
	if (err)
		return err;
	const char *orphan = sim_claims_orphan();
	if (orphan) {
		fprintf(stderr, "vmlab claims: scenarios/claims/%s.lua claims "
				"an id the registry does not have\n", orphan);
		return EXIT_FINDING;
	}
	static struct expect exp[MAX_EXPECT];
	int nr_exp = 0;
	if (a.expect_file &&
	    (nr_exp = read_expect(a.expect_file, exp, MAX_EXPECT)) < 0)
		return EXIT_USAGE;
	int count[SIM_CLAIM_FAILED + 1] = {0}, regress = 0, rows = 0;
	if (a.json)
		printf("{\"claims\": [");
	for (int i = 0; i < sim_nr_claims; i++) {
		const struct sim_claim *c = sim_claim(i);
		if (!selected(c, &a))
			continue;
		struct sim_claim_outcome o;
		if (sim_claim_run(c, a.seed, &o))
			return EXIT_FINDING;
		assert(o.verdict <= SIM_CLAIM_FAILED);
		count[o.verdict]++;
		const char *want = expected_of(exp, nr_exp, c->id);
		bool bad = o.verdict == SIM_CLAIM_FAILED ||
			   (want && strcmp(want, "not modelled") &&
			    strcmp(want, sim_claim_verdict_name(o.verdict)));
		char host[256] = "";
		if (a.host)
			host_figure(c, host, sizeof(host));
		if (a.json) {
			json_row(c, &o, rows == 0, host);
		} else {
			print_row(c, &o, a.verbose || bad, host);
			if (bad && want)
				printf("      REGRESSION: expected %s\n", want);
		}
		regress += bad;
		rows++;
		sim_claim_outcome_free(&o);
	}
	assert(rows <= sim_nr_claims && regress <= rows);
	if (a.json) {
		printf("\n  ],\n  \"summary\": {\"claims\": %d, \"reproduced\": "
		       "%d, \"contradicted\": %d, \"not_modelled\": %d, "
		       "\"failed\": %d}\n}\n",
		       rows, count[SIM_CLAIM_REPRODUCED],
		       count[SIM_CLAIM_CONTRADICTED],
		       count[SIM_CLAIM_NOT_MODELLED], regress);
	} else {
		printf("\nclaims: %d reproduced, %d contradicted, %d not "
		       "modelled, %d failed (of %d)\n",
		       count[SIM_CLAIM_REPRODUCED],
		       count[SIM_CLAIM_CONTRADICTED],
		       count[SIM_CLAIM_NOT_MODELLED], regress, rows);
	}
	return regress ? EXIT_FINDING : EXIT_OK;
}
