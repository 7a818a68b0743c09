/* SPDX-License-Identifier: MIT */
/* The vmlab command.  Exit codes (vmlab(1)): 0 ok, 1 checker report or
 * scenario failure, 2 usage error. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("vmlab %s\n", VMLAB_VERSION);
	return EXIT_OK;
}

static int cmd_help(int argc, char **argv);

#define RUN_OPTS                                                              \
	"  -D NAME=VALUE   set a parameter the scenario declares (repeatable)\n" \
	"  --seed N        run seed (default 1): scheduler, math.random, machine\n" \
	"  --cpus N        give every machine N CPUs\n"                          \
	"  --policy P      scheduler: random (default), rr or pct\n"            \
	"  --depth D       PCT bug depth (default 3)\n"                          \
	"  --max-steps N   budget: Lua instructions plus kernel work units\n"      \
	"                  (default 200000000; 0: no limit)\n"                   \
	"  --max-memory B  Lua memory cap (default 1G; K, M, G suffixes)\n"      \
	"  --max-host-memory B  host-memory budget per machine (default 1G)\n"  \
	"  --max-machines N  machines a run may create (default 64)\n"          \
	"  --mutant NAME   switch a historical kernel bug on (vmlab mutants)\n"

#define BATCH_OPTS                                                            \
	"  -D NAME=V1,V2   a sweep: every value (ranges A..B, A..B*F, A..B+S)\n"  \
	"  --json, --csv   one JSON document / one CSV table\n"                \
	"  --jobs N        worker processes (default: every online CPU);\n"    \
	"                  results do not depend on N\n"                       \
	"  --shard K/N     run the K-th of N parts (JSON; see 'vmlab merge')\n" \
	"  -o FILE         write the output to FILE\n"

/* The commands, in 'vmlab help' order.  To add one: a cmd_NAME in its own
 * file, declared in cli.h, and one line here. */
static const struct command commands[] = {
	{"tour", cmd_tour, "every built-in scenario, figures and verdicts",
	 "vmlab tour [--seed N] [--cpus N] [--policy P] [--depth D]\n"
	 "vmlab tour --list\n"
	 "  Runs every built-in scenario and prints, per mechanism, its figures\n"
	 "  side by side and the checker's verdict.  Scenarios with a planted\n"
	 "  race are explored: the tour shows the first seed each scheduling\n"
	 "  policy needs to expose it.  The default command.\n"
	 "  --list          the tour's entries in order, without running them\n"},
	{"run", cmd_run, "run a scenario (a file or a built-in name)",
	 "vmlab run FILE|NAME [-D k=v ...] [--seed N] [--cpus N] [--json]\n"
	 "          [--trace FILE] [--policy P] [--depth D]\n"
	 "  Runs the scenario once and prints its figures, the checker's\n"
	 "  reports in full, the trace hash and the verdict.\n" RUN_OPTS
	 "  --json          one JSON document instead of text\n"
	 "  --trace FILE    write a Chrome trace (open it in ui.perfetto.dev)\n"
	 "  --ftrace FILE   write the tracepoints (vmalloc:*, tlb:tlb_flush) in\n"
	 "                  the text of /sys/kernel/tracing/trace\n"
	 "  --dump-pagetable  each machine's kernel page tables at its end, as\n"
	 "                  /sys/kernel/debug/page_tables/kernel shows them\n"
	 "  --dump-tlb[=CPU] each CPU's (or one CPU's) TLB entries at the end\n"
	 "  With -D lists or ranges (-D pages=1..64*2) it is a sweep: one run\n"
	 "  per point of the cross product, one table (see 'vmlab help stat').\n"
	 BATCH_OPTS},
	{"explore", cmd_explore, "run seeds until one fails, print its replay",
	 "vmlab explore FILE|NAME --seeds N [--seed FIRST] [--policy pct|random|rr]\n"
	 "              [--depth D] [-D k=v ...] [--cpus N] [-v] [--json]\n"
	 "              [--jobs N] [--shard K/N]\n"
	 "  Runs seeds FIRST..FIRST+N-1 (policy pct by default) until the\n"
	 "  checker reports something the scenario does not expect or the\n"
	 "  scenario fails; prints the seed, the report and the exact 'vmlab\n"
	 "  replay' command.  Exit 1 when a seed fails, 0 when none did.\n"
	 "  Seeds run on --jobs workers (default: every CPU); the answer is\n"
	 "  the lowest failing seed, as if they ran one after the other.\n"},
	{"replay", cmd_replay, "reproduce one seed exactly",
	 "vmlab replay FILE|NAME --seed N [--policy P] [--depth D] [-D k=v ...]\n"
	 "             [--trace FILE] [--json]\n"
	 "  The same run as 'vmlab run', for the seed explore printed.\n"},
	{"stat", cmd_stat, "every figure over N seeds: mean, min, max, spread",
	 "vmlab stat FILE|NAME [--runs N] [--seed FIRST] [-D k=v ...] [--json|--csv]\n"
	 "           [--jobs N] [--shard K/N] [-o FILE]\n"
	 "  Runs the scenario with seeds FIRST..FIRST+N-1 (N = 10 by default)\n"
	 "  and prints every figure with its mean, min, max and standard\n"
	 "  deviation (and perf stat's +-%% of the mean).  With -D lists or\n"
	 "  ranges it does so for every point of the sweep.  Exit 1 when a\n"
	 "  run failed.\n" RUN_OPTS BATCH_OPTS},
	{"merge", cmd_merge, "merge the JSON of --shard K/N runs",
	 "vmlab merge FILE... [-o OUT]\n"
	 "  Reads the --json documents of the shards 1/N..N/N of one stat,\n"
	 "  sweep or explore and prints the document the unsharded run\n"
	 "  prints, byte for byte.  Exit 2 when a shard is missing, given\n"
	 "  twice or from another run; else the run's own exit status.\n"},
	{"report", cmd_report, "an HTML page: tour, sweeps as plots, findings",
	 "vmlab report [-o FILE.html] [--jobs N]\n"
	 "  Runs the tour and the report's sweeps (scenarios/report/) and\n"
	 "  writes one self-contained HTML page (inline SVG plots, no network,\n"
	 "  no script): each scenario's figures, verdict and checker splats,\n"
	 "  a plot per sweep, and a Perfetto trace per scenario in\n"
	 "  FILE-traces/.  Default FILE: vmlab-report.html.  Exit 1 when a\n"
	 "  scenario did not behave as expected.\n"},
	{"replay-trace", cmd_replay_trace, "replay a real kernel trace, compare",
	 "vmlab replay-trace FILE [--json] [--kind vmalloc|mm] [--cpus N]\n"
	 "                   [--lazy-max-pages N] [--flush-ceiling N]\n"
	 "                   [--no-execmem-cpa] [--divergences N]\n"
	 "                   [--vmalloc-start ADDR] [--arch x86_64]\n"
	 "  Replays a trace recorded on a real Linux kernel and prints the table\n"
	 "  'quantity | kernel | vmlab | agree', the first divergences with the\n"
	 "  records around them, what had to be inferred, and for mmtraces a\n"
	 "  diff -u of the final maps.  Kinds (detected from the text):\n"
	 "  vmalloc  tracefs buffer with vmalloc:alloc_vmap_area,\n"
	 "           free_vmap_area_noflush, purge_vmap_area_lazy, tlb:tlb_flush\n"
	 "  mm       mmtrace of a program's mmap/munmap/mprotect/mremap/madvise/\n"
	 "           brk calls and its maps at exec and exit (doc/replay.md)\n"
	 "  The options change a mechanism for the replay; --vmalloc-start\n"
	 "  gives the trace's VMALLOC_START (KASLR moves it; default: the\n"
	 "  vstart its vmalloc allocations show).  Exit 0 when the\n"
	 "  trace was read (divergences or not), 3 when it could not be read\n"
	 "  (the message names the line), 2 on a usage error.\n"},
	{"maps-estimate", cmd_maps_estimate,
	 "VMAs guard markers would save on real processes",
	 "vmlab maps-estimate [--host] [--max-guard BYTES] [--json] [FILE...]\n"
	 "  Reads /proc/PID/maps text (FILEs, or every process of this host\n"
	 "  with --host) and counts the anonymous PROT_NONE guard VMAs of at\n"
	 "  most BYTES (default 65536), in runs beside an anonymous read-write\n"
	 "  mapping (thread stacks, TLS, allocator guards): MADV_GUARD_INSTALL\n"
	 "  markers would fold each into its neighbour.  Prints the VMA saving\n"
	 "  (claim 4.4), the upper bound if neighbours merge too, and apart\n"
	 "  the PROT_NONE gaps of ELF images (file-backed, or a linker's\n"
	 "  anonymous gap between segments) that markers on file mappings\n"
	 "  (Linux 6.15) could take.  Exit 2 when a FILE cannot be read.\n"},
	{"list", cmd_list, "the built-in scenarios", "vmlab list\n"},
	{"claims", cmd_claims, "every claim of the seed threads, re-run: "
	 "reproduced or not",
	 "vmlab claims [ID|SEED...] [--json] [-v] [--seed N] [--expect FILE]\n"
	 "             [--host]\n"
	 "  Runs the scenario of each claim of the five seed threads\n"
	 "  (scenarios/claims/ID.lua) and prints id, seed, the claim, what\n"
	 "  vmlab measured and the verdict: reproduced, contradicted (the\n"
	 "  model disagrees with the thread, and why) or not modelled (why).\n"
	 "  ID is a claim (1.3), SEED a seed's name or number (2).\n"
	 "  --expect FILE   'ID verdict' lines: a claim expected reproduced or\n"
	 "                  contradicted that is not is a failure\n"
	 "  -v              every figure and message in full\n"
	 "  --host          beside a claim with a host counterpart (4.4), the\n"
	 "                  same figure on this machine, labelled, not part\n"
	 "                  of the verdict\n"
	 "  Exit 1 when a claim's scenario fails (or differs from --expect).\n"},
	{"mutants", cmd_mutants, "historical kernel bugs: caught when on, silent "
	 "when off",
	 "vmlab mutants [NAME...] [--list] [--seeds N]\n"
	 "  Lists the mutant catalogue (bug, fix, mechanism, the check that\n"
	 "  catches it) and runs each mutant's scenario: with the bug on it\n"
	 "  must fail within its stated number of explored seeds, with it off\n"
	 "  it must pass them all.  Prints seeds to first catch and host time.\n"
	 "  --list          the table only, nothing run\n"
	 "  --seeds N       explore N seeds instead of each mutant's own budget\n"
	 "  Exit 1 when a mutant is not caught or its scenario is not silent.\n"},
	{"demo", cmd_demo, "stale TLB entry caught by the checker, then fixed",
	 "vmlab demo [--seed N]\n"
	 "  Builds a 4-CPU machine, maps a page, lets CPU 1 cache it, unmaps\n"
	 "  and frees it on CPU 0 without a flush and lets CPU 1 read through\n"
	 "  its stale entry: the checker reports it.  Then the same with the\n"
	 "  flush, and the checker stays silent.  Exit 0 when both behave.\n"},
	{"bench", cmd_bench, "run benchmarks (figures, not tests)",
	 "vmlab bench [NAME...] [--iterations N] [--json] [--list]\n"
	 "                [--compare-host] [--help]\n"
	 "  Runs the named benchmarks (all by default) and prints each figure.\n"},
	{"version", cmd_version, "print the version", "vmlab version\n"},
	{"help", cmd_help, "help on a command", "vmlab help [COMMAND]\n"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmlab [COMMAND [ARGS]]\n\n"
		   "An executable model of the Linux memory-mapping subsystem.\n\n"
		   "Commands (default: tour):\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nExit codes: 0 ok, 1 checker report or scenario failure, "
		   "2 usage error.\nSee vmlab(1) and 'vmlab help COMMAND'.\n");
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	const struct command *c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "vmlab: no such command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	fputs(c->usage, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cmd_tour(1, (char *[]){"tour", NULL});
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	const struct command *c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "vmlab: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
