/* SPDX-License-Identifier: MIT */
#ifndef VMLAB_CLI_H
#define VMLAB_CLI_H

#include "vmlab/vmlab.h"

/* Exit codes, documented in vmlab(1). */
enum {
	EXIT_OK = 0,
	EXIT_FINDING = 1, /* checker report or scenario failure */
	EXIT_USAGE = 2,
};

int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* scenario_cmds.c */
int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_tour(int argc, char **argv);
/* mutants.c */
int cmd_mutants(int argc, char **argv);

#endif
