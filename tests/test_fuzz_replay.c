/* SPDX-License-Identifier: MIT */
/*
 * The replay fuzz target (fuzz/fuzz_replay.c) over seeded mutations of
 * the committed fixtures: byte flips, cuts, shuffled, doubled and dropped
 * lines, numbers replaced by extreme values.  Deterministic (one seed);
 * the target aborts on any outcome other than a result or a clear error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmlab/types.h"

#ifndef FIXTURES
#define FIXTURES "tests/data/replay"
#endif

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *b = malloc(1 << 16);
	*len = b ? fread(b, 1, 1 << 16, f) : 0;
	fclose(f);
	return b;
}

/* Line starts of t[0, n), at most max. */
static size_t line_starts(const char *t, size_t n, size_t *at, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++)
		if (i == 0 || t[i - 1] == '\n')
			at[k++] = i;
	return k;
}

static size_t mutate(const char *src, size_t n, char *out, size_t cap)
{
	size_t at[512], k = line_starts(src, n, at, 512), o = 0;
	int op = (int)(next() % 6);
	if (op == 0 || k < 2) { /* byte flips */
		memcpy(out, src, n);
		for (int i = 0, m = 1 + (int)(next() % 8); i < m; i++)
			out[next() % n] = (char)next();
		return n;
	}
	if (op == 1) /* cut anywhere */
		return memcpy(out, src, n), next() % n;
	for (size_t i = 0; i < k; i++) {
		size_t j = i;
		if (op == 2) /* a line replaced by its successor: reordered */
			j = (i + next() % 3 == i + 1) ? (i + 1 < k ? i + 1 : i) : i;
		size_t s = at[j], e = j + 1 < k ? at[j + 1] : n;
		int copies = op == 3 && next() % 8 == 0 ? 2 : op == 4 && next() % 8 == 0 ? 0 : 1;
		for (int c = 0; c < copies && o + (e - s) + 24 < cap; c++) {
			memcpy(out + o, src + s, e - s);
			o += e - s;
		}
		if (op == 5 && next() % 4 == 0 && o + 24 < cap) {
			static const char *const v[] = {"0x0 ", "0xffffffffffffffff ",
							"18446744073709551615 ", "-1 ",
							"0x7ffffffff000 "};
			const char *w = v[next() % 5];
			memcpy(out + o, w, strlen(w));
			o += strlen(w);
		}
	}
	return o;
}

int main(void)
{
	static const char *const names[] = {
		"vmalloc-drain.txt", "vmalloc-execmem.txt",
		"mmtrace-mmprog-head.txt", "mmtrace-python-head.txt"};
	char *src[4];
	size_t len[4];
	for (int i = 0; i < 4; i++) {
		src[i] = load(names[i], &len[i]);
		if (!src[i] || !len[i]) {
			fprintf(stderr, "no fixture %s\n", names[i]);
			return 1;
		}
		LLVMFuzzerTestOneInput((const unsigned char *)src[i], len[i]);
	}
	size_t cap = 1 << 17;
	char *buf = malloc(cap);
	if (!buf)
		return 1;
	int iters = 400;
	for (int it = 0; it < iters; it++) {
		int f = (int)(next() % 4);
		size_t n = mutate(src[f], len[f], buf, cap);
		LLVMFuzzerTestOneInput((const unsigned char *)buf, n);
	}
	LLVMFuzzerTestOneInput((const unsigned char *)"", 0);
	printf("fuzz_replay: %d mutated inputs, no crash\n", iters);
	free(buf);
	for (int i = 0; i < 4; i++)
		free(src[i]);
	return 0;
}
