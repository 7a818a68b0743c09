/* SPDX-License-Identifier: MIT */
/*
 * vmlab replay-trace: replay a real kernel trace (tracefs vmalloc/tlb
 * events or an mmtrace of a program's memory calls) and print where the
 * model and the kernel agree, and the first places they differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "vmlab/replay.h"

static bool num_arg(const char *s, u64 *out)
{
	char *end;
	if (!s || !*s)
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (*end)
		return false;
	*out = v;
	return true;
}

int cmd_replay_trace(int argc, char **argv)
{
	struct vmlab_replay_opts o = {0};
	enum vmlab_trace_kind kind = VMLAB_TRACE_UNKNOWN;
	const char *path = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		u64 v;
		bool has = i + 1 < argc;
		if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--no-execmem-cpa")) {
			o.no_execmem_cpa = true;
		} else if (!strcmp(a, "--cpus") && has && num_arg(argv[i + 1], &v) &&
			   v >= 1 && v <= VMLAB_MAX_CPUS) {
			o.nr_cpus = (int)v;
			i++;
		} else if (!strcmp(a, "--lazy-max-pages") && has &&
			   num_arg(argv[i + 1], &v) && v >= 1) {
			o.lazy_max_pages = v;
			i++;
		} else if (!strcmp(a, "--flush-ceiling") && has &&
			   num_arg(argv[i + 1], &v) && v >= 1 && v < (1u << 30)) {
			o.flush_ceiling = (u32)v;
			i++;
		} else if (!strcmp(a, "--vmalloc-start") && has &&
			   num_arg(argv[i + 1], &v) && vmlab_replay_vmalloc_start_ok(v)) {
			o.vmalloc_start = v;
			i++;
		} else if (!strcmp(a, "--divergences") && has &&
			   num_arg(argv[i + 1], &v) && v >= 1 && v <= 10000) {
			o.max_divergences = (int)v;
			i++;
		} else if (!strcmp(a, "--arch") && has) {
			o.arch = argv[++i];
			const char *why = vmlab_replay_arch_error(o.arch);
			if (why) {
				fprintf(stderr, "vmlab replay-trace: --%s\n", why);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--kind") && has) {
			const char *k = argv[++i];
			if (!strcmp(k, "vmalloc"))
				kind = VMLAB_TRACE_VMALLOC;
			else if (!strcmp(k, "mm"))
				kind = VMLAB_TRACE_MM;
			else {
				fprintf(stderr, "vmlab replay-trace: --kind vmalloc|mm, not '%s'\n", k);
				return EXIT_USAGE;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "vmlab replay-trace: bad option or value: %s\n", a);
			return EXIT_USAGE;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "vmlab replay-trace: one trace at a time\n");
			return EXIT_USAGE;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: vmlab replay-trace FILE [--json] [--kind vmalloc|mm] ...\n");
		return EXIT_USAGE;
	}
	struct vmlab_replay_result *r = NULL;
	char err[512];
	if (vmlab_replay_file(path, kind, &o, &r, err, sizeof(err))) {
		fprintf(stderr, "vmlab replay-trace: %s\n", err);
		return EXIT_BAD_TRACE;
	}
	vmlab_replay_print(r, stdout, json);
	vmlab_replay_free(r);
	return EXIT_OK;
}
