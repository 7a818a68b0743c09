/* SPDX-License-Identifier: MIT */
/*
 * The scenario commands: run, replay, explore, list, tour.  Output is a
 * function of the arguments (no timings); the only thing that depends on
 * the terminal is explore's progress bar, drawn only when stdout is one.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/batch.h"
#include "sim/sim.h"

/* A decimal or 0x number that fits in 64 bits: strtoull alone would
 * clamp 2^64 and above to 2^64-1 and wrap "-1" and " -1" silently. */
bool cli_parse_u64(const char *s, u64 *out)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end || errno == ERANGE)
		return false;
	*out = v;
	return true;
}

/* Bytes, with an optional K, M or G (binary) suffix. */
static bool parse_bytes(const char *s, u64 *out)
{
	char buf[64];
	if (!s || strlen(s) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", s);
	size_t n = strlen(buf);
	int shift = 0;
	if (n && strchr("kKmMgG", buf[n - 1])) {
		shift = strchr("kK", buf[n - 1]) ? 10
			: strchr("mM", buf[n - 1]) ? 20 : 30;
		buf[n - 1] = 0;
	}
	u64 v;
	if (!cli_parse_u64(buf, &v) || v > (UINT64_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

int cli_bad(const char *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "vmlab %s: %s%s%s\n(see 'vmlab help %s')\n", cmd, what,
		arg ? " " : "", arg ? arg : "", cmd);
	return EXIT_USAGE;
}

/* Options shared by run, replay, explore, tour, stat and report; 0 or
 * EXIT_USAGE. */
int cli_parse(const char *cmd, int argc, char **argv, struct cli_args *a,
	      bool want_file)
{
	assert(cmd && argc >= 1);
	memset(a, 0, sizeof(*a));
	sim_opts_default(&a->o);
	a->shard_k = a->shard_n = 1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		u64 n;
		if (!strncmp(s, "-D", 2)) {
			const char *def = s[2] ? s + 2 : v;
			if (!s[2])
				i++;
			if (!def || !strchr(def, '=') || *def == '=')
				return cli_bad(cmd, "-D needs name=value, got",
					   def ? def : "nothing");
			if (!strncmp(def, "arch=", 5)) {
				/* -D arch=NAME is --arch NAME. */
				a->o.arch = def + 5;
				continue;
			}
			if (a->o.nr_defs == SIM_MAX_DEFS)
				return cli_bad(cmd, "too many -D", NULL);
			a->o.defs[a->o.nr_defs++] = def;
		} else if (!strcmp(s, "--max-memory")) {
			u64 bytes;
			if (!parse_bytes(v, &bytes) || bytes < (1u << 20) ||
			    bytes > SIZE_MAX)
				return cli_bad(cmd, "--max-memory needs bytes >= 1M "
						"(e.g. 512M, 2G), got",
					   v ? v : "nothing");
			a->o.max_memory = bytes;
			i++;
		} else if (!strcmp(s, "--max-host-memory")) {
			u64 bytes;
			if (!parse_bytes(v, &bytes) || bytes < VMLAB_MiB)
				return cli_bad(cmd, "--max-host-memory needs bytes "
						"per machine >= 1M (e.g. 256M, 4G), got",
					   v ? v : "nothing");
			a->o.max_host_memory = bytes;
			i++;
		} else if (!strcmp(s, "--arch")) {
			if (!vmlab_arch_layout(v))
				return cli_bad(cmd, "--arch is x86_64 or arm64, not",
					       v ? v : "nothing");
			a->o.arch = v;
			i++;
		} else if (!strcmp(s, "--mutant")) {
			int id = vmlab_mutant_lookup(v);
			if (id < 0)
				return cli_bad(cmd, "--mutant: no such mutant (see "
						"'vmlab mutants --list'):",
					   v ? v : "nothing");
			a->o.mutants[id / 64] |= 1ULL << (id % 64);
			i++;
		} else if (!strcmp(s, "--json")) {
			a->json = true;
		} else if (!strcmp(s, "--csv")) {
			a->csv = true;
		} else if (!strcmp(s, "--shard")) {
			if (!batch_parse_shard(v, &a->shard_k, &a->shard_n))
				return cli_bad(cmd, "--shard is K/N with 1 <= K <= N, "
					       "not", v ? v : "nothing");
			i++;
		} else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
			if (!v)
				return cli_bad(cmd, "-o needs a file name", NULL);
			a->output = v;
			i++;
		} else if (!strcmp(s, "--verbose") || !strcmp(s, "-v")) {
			a->verbose = true;
		} else if (!strcmp(s, "--dump-pagetable")) {
			a->o.dump_pagetable = true;
		} else if (!strcmp(s, "--dump-tlb")) {
			/* --dump-tlb (every CPU) or --dump-tlb=N */
			a->o.dump_tlb = -1;
		} else if (!strncmp(s, "--dump-tlb=", 11)) {
			if (!cli_parse_u64(s + 11, &n) || n >= VMLAB_MAX_CPUS)
				return cli_bad(cmd, "--dump-tlb=CPU needs a CPU number",
					       NULL);
			a->o.dump_tlb = (int)n + 1;
		} else if (!strcmp(s, "--ftrace")) {
			if (!v)
				return cli_bad(cmd, "--ftrace needs a file name", NULL);
			a->o.ftrace = v;
			i++;
		} else if (!strcmp(s, "--trace")) {
			if (!v)
				return cli_bad(cmd, "--trace needs a file name", NULL);
			a->o.trace = v;
			i++;
		} else if (!strcmp(s, "--policy")) {
			if (vmlab_sched_policy_parse(v, &a->o.policy))
				return cli_bad(cmd, "--policy is pct, random or rr, not",
					   v ? v : "nothing");
			a->have_policy = true;
			i++;
		} else if (!strcmp(s, "--seed") || !strcmp(s, "--seeds") ||
			   !strcmp(s, "--cpus") || !strcmp(s, "--depth") ||
			   !strcmp(s, "--max-steps") ||
			   !strcmp(s, "--max-machines") ||
			   !strcmp(s, "--pct-steps") || !strcmp(s, "--runs") ||
			   !strcmp(s, "-r") || !strcmp(s, "--jobs") ||
			   !strcmp(s, "-j")) {
			if (!cli_parse_u64(v, &n))
				return cli_bad(cmd, s, "needs a number");
			i++;
			if (!strcmp(s, "--seed")) {
				a->o.seed = n;
				a->have_seed = true;
			} else if (!strcmp(s, "--seeds")) {
				a->seeds = n;
			} else if (!strcmp(s, "--cpus")) {
				if (n < 1 || n > VMLAB_MAX_CPUS)
					return cli_bad(cmd, "--cpus is 1..256", NULL);
				a->o.cpus = (int)n;
			} else if (!strcmp(s, "--depth")) {
				if (n < 1 || n > VMLAB_SCHED_MAX_DEPTH)
					return cli_bad(cmd, "--depth is 1..64", NULL);
				a->o.depth = (int)n;
			} else if (!strcmp(s, "--max-steps")) {
				/* 0 is documented as no limit (vmlab(1)). */
				a->o.max_steps = n ? n : SIM_NO_STEP_LIMIT;
			} else if (!strcmp(s, "--max-machines")) {
				if (n < 1 || n > SIM_MAX_MACHINES_LIMIT)
					return cli_bad(cmd, "--max-machines is 1..4096",
						       NULL);
				a->o.max_machines = (int)n;
			} else if (!strcmp(s, "--runs") || !strcmp(s, "-r")) {
				if (n < 1 || n > 1000000)
					return cli_bad(cmd, "--runs is 1..1000000", NULL);
				a->runs = n;
			} else if (!strcmp(s, "--jobs") || !strcmp(s, "-j")) {
				if (n < 1 || n > 256)
					return cli_bad(cmd, "--jobs is 1..256", NULL);
				a->jobs = (int)n;
			} else {
				a->o.pct_steps = n;
			}
		} else if (s[0] == '-' && s[1]) {
			return cli_bad(cmd, "unknown option", s);
		} else if (want_file && !a->o.scenario) {
			a->o.scenario = s;
		} else {
			return cli_bad(cmd, "unexpected argument", s);
		}
	}
	if (want_file && !a->o.scenario)
		return cli_bad(cmd, "which scenario? (a file or a name from "
				"'vmlab list')", NULL);
	assert(a->o.nr_defs <= SIM_MAX_DEFS && a->o.depth >= 1);
	return 0;
}

static int report_usage(const char *cmd, const struct sim_result *r)
{
	fprintf(stderr, "vmlab %s: %s\n", cmd, r->error ? r->error : "error");
	return EXIT_USAGE;
}

/* run and replay: one run, its figures, its reports in full. */
static int run_one(const char *cmd, struct cli_args *a)
{
	struct sim_result r;
	assert(a->o.scenario);
	/* print() output is collected: it follows the header in text, and
	 * goes into the document in JSON. */
	a->o.out = NULL;
	if (sim_run(&a->o, &r) == SIM_USAGE) {
		if (a->json) /* machines get a document even then */
			sim_print_json(&r, &a->o, stdout);
		report_usage(cmd, &r);
		sim_result_free(&r);
		return EXIT_USAGE;
	}
	if (a->json)
		sim_print_json(&r, &a->o, stdout);
	else
		sim_print_text(&r, &a->o, stdout, true);
	int status = (int)r.status;
	/* Text has the error in its last line already; a JSON reader gets
	 * it on stderr too. */
	if (a->json && r.status != SIM_OK && r.error)
		fprintf(stderr, "vmlab %s: %s\n", cmd, r.error);
	sim_result_free(&r);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct cli_args a;
	int err = cli_parse("run", argc, argv, &a, true);
	if (err)
		return err;
	if (a.seeds)
		return cli_bad("run", "--seeds belongs to explore", NULL);
	if (cli_is_sweep(&a) || a.runs)
		return cli_sweep("run", &a);
	if (a.csv || a.shard_n > 1)
		return cli_bad("run", "--csv and --shard take a sweep (-D "
				      "name=v1,v2 or a range) or stat", NULL);
	return run_one("run", &a);
}

int cmd_replay(int argc, char **argv)
{
	struct cli_args a;
	int err = cli_parse("replay", argc, argv, &a, true);
	if (err)
		return err;
	if (!a.have_seed)
		return cli_bad("replay", "--seed N is required (the seed explore "
				     "printed)", NULL);
	return run_one("replay", &a);
}

/* ---------------------------------------------------------- explore */

static void replay_command(const struct cli_args *a, u64 seed, FILE *f)
{
	fprintf(f, "vmlab replay %s --seed %llu --policy %s", a->o.scenario,
		(unsigned long long)seed, vmlab_sched_policy_name(a->o.policy));
	if (a->o.policy == VMLAB_SCHED_PCT)
		fprintf(f, " --depth %d", a->o.depth);
	if (a->o.pct_steps)
		fprintf(f, " --pct-steps %llu", (unsigned long long)a->o.pct_steps);
	if (a->o.cpus)
		fprintf(f, " --cpus %d", a->o.cpus);
	if (a->o.max_steps)
		fprintf(f, " --max-steps %llu",
			a->o.max_steps == SIM_NO_STEP_LIMIT
				? 0ULL
				: (unsigned long long)a->o.max_steps);
	if (a->o.max_memory)
		fprintf(f, " --max-memory %llu",
			(unsigned long long)a->o.max_memory);
	if (a->o.max_host_memory)
		fprintf(f, " --max-host-memory %llu",
			(unsigned long long)a->o.max_host_memory);
	if (a->o.max_machines)
		fprintf(f, " --max-machines %d", a->o.max_machines);
	for (int i = 0; i < a->o.nr_defs; i++)
		fprintf(f, " -D %s", a->o.defs[i]);
	for (int id = 0; id < VMLAB_NR_MUTANTS; id++)
		if (a->o.mutants[id / 64] >> (id % 64) & 1)
			fprintf(f, " --mutant %s", vmlab_mutant_info(id)->name);
	fputc('\n', f);
}

/* Seeds first..first+n-1 until one fails; 0 if none did. */
struct explored {
	u64 seed;  /* failing seed, 0: none */
	u64 runs;
	struct sim_result r;
};

static int explore(struct cli_args *a, u64 first, u64 n,
		   struct explored *out)
{
	memset(out, 0, sizeof(*out));
	assert(n > 0 && a->o.scenario);
	struct sim_opts o = a->o;
	o.out = NULL;
	o.quiet = true;
	o.trace = NULL;
	if (o.policy == VMLAB_SCHED_PCT && !o.pct_steps)
		o.pct_steps = sim_calibrate(&o);
	for (u64 i = 0; i < n; i++) {
		o.seed = first + i;
		enum sim_status st = sim_run(&o, &out->r);
		out->runs++;
		if (st == SIM_USAGE)
			return EXIT_USAGE;
		if (st == SIM_FAIL) {
			assert(out->r.error);
			out->seed = o.seed;
			return EXIT_FINDING;
		}
		sim_result_free(&out->r);
	}
	return EXIT_OK;
}

int cmd_explore(int argc, char **argv)
{
	struct cli_args a;
	int err = cli_parse("explore", argc, argv, &a, true);
	if (err)
		return err;
	if (!a.seeds)
		return cli_bad("explore", "--seeds N is required", NULL);
	if (a.o.trace || a.csv || a.runs)
		return cli_bad("explore", "--trace belongs to run and replay "
				      "(replay the seed explore finds)", NULL);
	if (!a.have_policy)
		a.o.policy = VMLAB_SCHED_PCT;
	struct batch b;
	if ((err = cli_make_batch("explore", "explore", &a, a.seeds, &b)))
		return err;
	bool text = !a.json && a.shard_n == 1;
	if (text) {
		printf("explore %s: seeds %llu..%llu, policy %s", a.o.scenario,
		       (unsigned long long)a.o.seed,
		       (unsigned long long)(a.o.seed + a.seeds - 1),
		       vmlab_sched_policy_name(a.o.policy));
		if (a.o.policy == VMLAB_SCHED_PCT)
			printf(" (depth %d)", a.o.depth);
		printf("\n");
		fflush(stdout);
	}
	if ((err = cli_run_batch("explore", &a, &b)) || !text) {
		if (!err)
			err = cli_batch_output("explore", &a, &b, false);
		batch_free(&b);
		return err;
	}
	u64 ff = batch_first_failure(&b);
	batch_free(&b);
	if (ff == a.seeds) {
		printf("no failure in %llu seeds\n", (unsigned long long)a.seeds);
		return EXIT_OK;
	}
	/* The failing seed once more, here, for its reports in full. */
	struct sim_opts o = a.o;
	o.seed = a.o.seed + ff;
	o.out = NULL;
	o.quiet = true;
	if (o.policy == VMLAB_SCHED_PCT && !o.pct_steps)
		o.pct_steps = sim_calibrate(&o);
	struct sim_result r;
	sim_run(&o, &r);
	assert(r.status != SIM_OK);
	char v[1024];
	sim_verdict(&r, v, sizeof(v));
	printf("seed %llu fails (run %llu of %llu): %s\n\n",
	       (unsigned long long)o.seed, (unsigned long long)ff + 1,
	       (unsigned long long)a.seeds, v);
	size_t shown = 0;
	for (size_t i = 0; i < r.nr_reports; i++) {
		if (r.reports[i].expected || (shown == 1 && !a.verbose))
			continue;
		printf("[%s]\n%s\n", r.reports[i].machine, r.reports[i].text);
		shown++;
	}
	assert(shown <= r.nr_reports);
	if (r.nr_reports > shown && !a.verbose)
		printf("(%zu report%s in all: replay to see them)\n\n",
		       r.nr_reports, r.nr_reports == 1 ? "" : "s");
	printf("replay: ");
	replay_command(&a, o.seed, stdout);
	sim_result_free(&r);
	return EXIT_FINDING;
}

/* ------------------------------------------------------------- list */

int cmd_list(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_bad("list", "takes no arguments", NULL);
	for (int i = 0; i < sim_nr_builtins; i++) {
		char d[256];
		sim_describe(sim_builtins[i].text, sim_builtins[i].len, d,
			     sizeof(d));
		printf("%-20s %s\n", sim_builtins[i].name, d);
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------- tour */

/* A scenario whose header says "-- explore: N": the tour shows how many
 * seeds each policy needs to find its bug. */
static bool tour_explore(const struct sim_builtin *b, const struct cli_args *ta,
			 u64 n)
{
	static const enum vmlab_sched_policy pol[] = {VMLAB_SCHED_PCT,
						      VMLAB_SCHED_RANDOM};
	u64 found[2] = {0, 0};
	char check[64] = "";
	assert(b && n > 0);
	for (int p = 0; p < 2; p++) {
		struct cli_args a = *ta;
		a.o.scenario = b->name;
		a.o.policy = pol[p];
		struct explored e;
		explore(&a, 1, n, &e);
		found[p] = e.seed;
		if (e.seed && !check[0] && e.r.nr_reports)
			snprintf(check, sizeof(check), "%s", e.r.reports[0].check);
		if (e.seed)
			sim_result_free(&e.r);
	}
	char c0[48], c1[48];
	snprintf(c0, sizeof(c0), "pct (depth %d)", ta->o.depth);
	snprintf(c1, sizeof(c1), "random");
	char head[48];
	snprintf(head, sizeof(head), "explore, seeds 1..%llu",
		 (unsigned long long)n);
	printf("  %-34s  %14s  %14s\n", head, c0, c1);
	char v0[32], v1[32];
	snprintf(v0, sizeof(v0), found[0] ? "%llu" : "> %llu",
		 (unsigned long long)(found[0] ? found[0] : n));
	snprintf(v1, sizeof(v1), found[1] ? "%llu" : "> %llu",
		 (unsigned long long)(found[1] ? found[1] : n));
	printf("  %-34s  %14s  %14s\n", "first seed the checker flags", v0, v1);
	if (found[0])
		printf("  checker: %s, found by explore: the race this scenario "
		       "plants\n  replay:  vmlab replay %s --seed %llu --policy "
		       "pct --depth %d   (FOUND, exit 1: the report)\n",
		       check, b->name, (unsigned long long)found[0], ta->o.depth);
	else
		printf("  checker: the planted race was NOT found in %llu "
		       "seeds\n", (unsigned long long)n);
	return found[0] != 0;
}

/* Scenarios whose answer differs by architecture: the tour shows x86_64
 * and arm64 columns side by side. */
static bool tour_two_archs(const char *name)
{
	static const char *const both[] = {"stale-tlb", "direct-map-splits",
					   "flush-reset-perms", NULL};
	for (int i = 0; both[i]; i++)
		if (!strcmp(name, both[i]))
			return true;
	return false;
}

/* Both runs' tables merged column by column (same rows, same order). */
static void tour_print_pair(const struct sim_result *x, const struct sim_result *a)
{
	int nc = x->nr_columns < 16 ? x->nr_columns : 16;
	if (x->nr_rows != a->nr_rows || x->nr_columns != a->nr_columns ||
	    !x->nr_rows) {
		sim_print_figures(x, stdout);
		sim_print_figures(a, stdout);
		return;
	}
	char names[32][80];
	char *cols[32];
	struct sim_value vals[64][32];
	struct sim_row rows[64];
	int nr = x->nr_rows < 64 ? x->nr_rows : 64;
	for (int c = 0; c < nc; c++) {
		snprintf(names[2 * c], sizeof(names[0]), "x86 %s", x->columns[c]);
		snprintf(names[2 * c + 1], sizeof(names[0]), "arm64 %s",
			 a->columns[c]);
		cols[2 * c] = names[2 * c];
		cols[2 * c + 1] = names[2 * c + 1];
	}
	for (int i = 0; i < nr; i++) {
		for (int c = 0; c < nc; c++) {
			vals[i][2 * c] = x->rows[i].v[c];
			vals[i][2 * c + 1] = a->rows[i].v[c];
		}
		rows[i] = (struct sim_row){x->rows[i].name, vals[i]};
	}
	struct sim_result m = {.columns = cols, .nr_columns = 2 * nc,
			       .rows = rows, .nr_rows = nr};
	sim_print_figures(&m, stdout);
}

/* Run b on x86_64 and arm64; true if both are as expected. */
static bool tour_archs(const struct sim_builtin *b, const struct cli_args *ta)
{
	static const char *const arch[2] = {"x86_64", "arm64"};
	struct sim_result r[2];
	bool ok = true;
	for (int k = 0; k < 2; k++) {
		struct sim_opts o = ta->o;
		o.scenario = b->name;
		o.out = NULL;
		o.quiet = true;
		o.arch = arch[k];
		sim_run(&o, &r[k]);
	}
	tour_print_pair(&r[0], &r[1]);
	for (int k = 0; k < 2; k++) {
		printf("  [%s]\n", arch[k]);
		sim_print_checker(&r[k], stdout);
		char v[1024];
		sim_verdict(&r[k], v, sizeof(v));
		if (r[k].status != SIM_OK)
			printf("  FAILED (%s): %s\n", arch[k], v);
		ok &= r[k].status == SIM_OK;
		sim_result_free(&r[k]);
	}
	return ok;
}

/* The tour's own closing entry, after the built-ins. */
static const char tour_claims_line[] = "the seed threads' claims, re-run";

/* vmlab tour --list: the entries the tour prints, in its order (the
 * README's tour list is checked against it, test cli-readme). */
static int tour_list(void)
{
	for (int i = 0; i < sim_nr_builtins; i++) {
		char d[256];
		sim_describe(sim_builtins[i].text, sim_builtins[i].len, d,
			     sizeof(d));
		printf("%-20s %s\n", sim_builtins[i].name, d);
	}
	printf("%-20s %s\n", "claims", tour_claims_line);
	return EXIT_OK;
}

int cmd_tour(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--list"))
		return tour_list();
	struct cli_args ta;
	int err = cli_parse("tour", argc, argv, &ta, false);
	if (err)
		return err;
	if (ta.o.nr_defs || ta.o.trace || ta.json || ta.seeds)
		return cli_bad("tour", "takes only --seed, --cpus, --policy and "
				   "--depth (run a scenario for more)", NULL);
	printf("vmlab tour: every built-in scenario, seed %llu, policy %s\n",
	       (unsigned long long)ta.o.seed, vmlab_sched_policy_name(ta.o.policy));
	int ok = 0;
	for (int i = 0; i < sim_nr_builtins; i++) {
		const struct sim_builtin *b = &sim_builtins[i];
		char d[256], ex[32];
		sim_describe(b->text, b->len, d, sizeof(d));
		printf("\n== %s: %s ==\n", b->name, d);
		u64 n;
		if (sim_header(b->text, b->len, "explore", ex, sizeof(ex)) &&
		    (n = strtoull(ex, NULL, 10)) > 0) {
			ok += tour_explore(b, &ta, n);
			continue;
		}
		if (!ta.o.arch && tour_two_archs(b->name)) {
			ok += tour_archs(b, &ta);
			continue;
		}
		struct sim_opts o = ta.o;
		o.scenario = b->name;
		o.out = NULL;
		o.quiet = true;
		struct sim_result r;
		if (sim_run(&o, &r) != SIM_USAGE)
			sim_print_figures(&r, stdout);
		sim_print_checker(&r, stdout);
		char v[1024];
		sim_verdict(&r, v, sizeof(v));
		if (r.status != SIM_OK)
			printf("  FAILED: %s\n", v);
		ok += r.status == SIM_OK;
		sim_result_free(&r);
	}
	assert(ok >= 0 && ok <= sim_nr_builtins);
	printf("\n== claims: %s ==\n", tour_claims_line);
	int claims_failed = cli_claims_summary(stdout);
	printf("\ntour: %d of %d scenarios as expected\n", ok, sim_nr_builtins);
	return ok == sim_nr_builtins && !claims_failed ? EXIT_OK : EXIT_FINDING;
}
