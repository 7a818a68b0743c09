/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the parsers.  The input's first line is a -D value
 * given to a scenario declaring one parameter of each type (integer,
 * number, boolean, string) and to the mutant and check-name lookups; the
 * whole input is read as scenario headers (sim_describe, sim_header).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

static const char scenario[] =
	"local P = vmlab.params{i = 1, n = 1.5, b = true, s = 'x'}\n"
	"assert(type(P.i) == 'number' and type(P.b) == 'boolean')\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char desc[256], val[256];
	const char *text = (const char *)data;
	sim_describe(text, size, desc, sizeof(desc));
	sim_header(text, size, "seeds", val, sizeof(val));
	size_t n = 0;
	while (n < size && n < 200 && data[n] != '\n' && data[n])
		n++;
	char value[256];
	memcpy(value, data, n);
	value[n] = 0;
	vmlab_mutant_lookup(value);
	static const char *const names[] = {"i", "n", "b", "s"};
	for (int k = 0; k < 4; k++) {
		char def[300];
		snprintf(def, sizeof(def), "%s=%s", names[k], value);
		struct sim_opts o;
		sim_opts_default(&o);
		o.scenario = "params";
		o.text = scenario;
		o.text_len = sizeof(scenario) - 1;
		o.quiet = true;
		o.defs[o.nr_defs++] = def;
		struct sim_result r;
		sim_run(&o, &r);
		sim_result_free(&r);
	}
	return 0;
}
