/* SPDX-License-Identifier: MIT */
/* The vmlab command. */
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

static const struct command commands[] = {
	{"demo", cmd_demo, "stale TLB entry caught by the checker, then fixed",
	 "vmlab demo [--seed N]\n"
	 "  Builds a 4-CPU machine, maps a page, lets CPU 1 cache it, unmaps\n"
	 "  and frees it on CPU 0 without a flush and lets CPU 1 read through\n"
	 "  its stale entry: the checker reports it.  Then the same with the\n"
	 "  flush, and the checker stays silent.  Exit 0 when both behave.\n"},
	{"bench", cmd_bench, "run benchmarks (figures, not tests)",
	 "vmlab bench [NAME...] [--iterations N] [--json] [--list]\n"
	 "  Runs the named benchmarks (all by default) and prints each figure.\n"},
	{"version", cmd_version, "print the version", "vmlab version\n"},
	{"help", cmd_help, "help on a command", "vmlab help [COMMAND]\n"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmlab COMMAND [ARGS]\n\n"
		   "An executable model of the Linux memory-mapping subsystem.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nExit codes: 0 ok, 1 checker report or scenario failure, "
		   "2 usage error.\n");
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
		return cmd_demo(1, (char *[]){"demo", NULL});
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
