/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the Lua scenario entry.  The input is a scenario
 * text run in the sandbox with a small step budget and memory cap; any
 * outcome (pass, failure, usage error) is fine, a crash or a sanitizer
 * report is not.  Seeds: scenarios/, scenarios/mutants/, tests' texts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "fuzz";
	o.text = (const char *)data;
	o.text_len = size;
	o.quiet = true;
	o.max_steps = 300000;
	o.max_memory = 64u << 20;
	/* Within libFuzzer's RSS limit: 8 machines of 128 MiB at most. */
	o.max_machines = 8;
	o.max_host_memory = 128u << 20;
	struct sim_result r;
	sim_run(&o, &r);
	sim_result_free(&r);
	return 0;
}
