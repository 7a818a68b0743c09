/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the trace replay parsers and engines (src/replay/):
 * any bytes go through detection and parsing of both trace kinds, and
 * small inputs that parse are replayed in full, with the default options
 * and with options the input's bytes choose.  The only acceptable
 * outcomes are a result or -VMLAB_EINVAL with a message; a crash, a
 * sanitizer report or a message without a line is a bug.
 *
 * libFuzzer:
 *   CC=clang meson setup build-fuzz -Db_sanitize=address,undefined \
 *       -Db_lundef=false -Ddefault_library=static
 *   ninja -C build-fuzz libvmlab.a
 *   clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Isrc \
 *       fuzz/fuzz_replay.c build-fuzz/libvmlab.a -lm -o fuzz_replay
 *   ./fuzz_replay tests/data/replay/
 * The test `fuzz_replay` (tests/meson.build) runs the same entry point
 * over seeded mutations of the committed fixtures on every `make check`.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmlab/replay.h"
#include "vmlab/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void replay(const char *text, size_t size,
		   const struct vmlab_replay_opts *o);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	const char *text = (const char *)data;
	static const enum vmlab_trace_kind kinds[] = {
		VMLAB_TRACE_UNKNOWN, VMLAB_TRACE_VMALLOC, VMLAB_TRACE_MM};
	bool parsed = false;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		u64 n = 0;
		err[0] = 0;
		int r = vmlab_trace_parse_check(text, size, kinds[k], &n, err,
						sizeof(err));
		/* an error always says something */
		if (r != 0 && !err[0])
			abort();
		if (r != 0 && r != -VMLAB_EINVAL)
			abort();
		parsed |= r == 0 && kinds[k] == VMLAB_TRACE_UNKNOWN;
	}
	if (!parsed || size > (64u << 10))
		return 0;
	replay(text, size, NULL);
	/* again with the options changed, chosen by the input's bytes:
	 * tiny lazy limits (many purges), flush ceilings, CPU counts, and a
	 * vmalloc range that moves every address */
	u64 h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ULL;
	struct vmlab_replay_opts o = {
		.nr_cpus = 1 + (int)(h % 8), /* a big machine boots slowly */
		.lazy_max_pages = 1 + (h >> 8) % 64,
		.flush_ceiling = 1 + (u32)((h >> 16) % 64),
		.no_execmem_cpa = (h >> 24) & 1,
		.max_divergences = 1 + (int)((h >> 25) % 8),
		.vmalloc_start = 0xff00000000000000ULL + ((h >> 28) << 12) % 0xff000000000000ULL,
	};
	if (!vmlab_replay_vmalloc_start_ok(o.vmalloc_start))
		abort();
	if ((h >> 27) & 1)
		o.vmalloc_start = 0; /* the trace's own */
	replay(text, size, &o);
	return 0;
}

/* A replay: a result that prints, or an error with a message. */
static void replay(const char *text, size_t size,
		   const struct vmlab_replay_opts *o)
{
	char err[512] = "";
	struct vmlab_replay_result *res = NULL;
	int r = vmlab_replay_text(text, size, VMLAB_TRACE_UNKNOWN, "fuzz", o,
				  &res, err, sizeof(err));
	if (r == 0) {
		if (!res)
			abort();
		double rate = vmlab_replay_rate(res);
		if (!(rate >= 0.0 && rate <= 1.0))
			abort();
		FILE *f = fopen("/dev/null", "w");
		if (f) {
			vmlab_replay_print(res, f, false);
			vmlab_replay_print(res, f, true);
			fclose(f);
		}
		vmlab_replay_free(res);
	} else if (res || !err[0]) {
		abort();
	}
}
