/* SPDX-License-Identifier: MIT */
/*
 * Trace replay: the parsers against malformed, truncated, reordered and
 * empty input (an error naming the line, never a crash), the replay of
 * the committed fixtures, and of the public samples in ../shared/traces
 * when they are there, with the agreement asserted at what was measured.
 */
#include <dirent.h>
#include <stdlib.h>

#include "helpers.h"

#ifndef FIXTURES
#define FIXTURES "tests/data/replay"
#endif
#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "fuzz/corpus/fuzz_replay"
#endif

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	for (size_t k; b && (k = fread(b + n, 1, cap - n, f)) > 0;) {
		n += k;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			}
			b = nb;
		}
	}
	fclose(f);
	if (b) {
		char *nb = realloc(b, n + 1);
		if (!nb)
			free(b);
		b = nb;
	}
	if (b)
		b[n] = 0;
	*len = n;
	return b;
}

static char *fixture(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", FIXTURES, name);
	char *t = slurp(path, len);
	assert_non_null(t);
	return t;
}

/* A gzipped public sample, through gzip -dc; NULL when absent. */
static char *sample(const char *name, size_t *len)
{
	const char *dir = getenv("VMLAB_TRACES");
	char cmd[1024];
	if (!dir)
		return NULL;
	snprintf(cmd, sizeof(cmd), "%s/%s.gz", dir, name);
	FILE *t = fopen(cmd, "rb");
	if (!t)
		return NULL;
	fclose(t);
	snprintf(cmd, sizeof(cmd), "gzip -dc '%s/%s.gz' 2>/dev/null", dir, name);
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *b = malloc(cap);
	for (size_t k; b && (k = fread(b + n, 1, cap - n, p)) > 0;) {
		n += k;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb)
				free(b);
			b = nb;
		}
	}
	int st = pclose(p);
	if (b && n == cap) {
		char *nb = realloc(b, n + 1);
		if (!nb)
			free(b);
		b = nb;
	}
	if (st != 0 || !n || !b) {
		free(b);
		return NULL;
	}
	b[n] = 0;
	*len = n;
	return b;
}

static void expect_error(const char *text, size_t len, const char *needle)
{
	char err[512] = "";
	u64 n;
	int r = vmlab_trace_parse_check(text, len, VMLAB_TRACE_UNKNOWN, &n, err,
					sizeof(err));
	if (r == 0 || !strstr(err, needle))
		fail_msg("expected an error with '%s', got %d '%s'", needle, r, err);
	struct vmlab_replay_result *res = NULL;
	r = vmlab_replay_text(text, len, VMLAB_TRACE_UNKNOWN, "t", NULL, &res,
			      err, sizeof(err));
	assert_int_equal(r, -VMLAB_EINVAL);
	assert_null(res);
}

/* Replace the first occurrence of from by to (a new string). */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	assert_non_null(p);
	size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to);
	char *o = malloc(strlen(s) - fl + tl + 1);
	memcpy(o, s, a);
	memcpy(o + a, to, tl);
	strcpy(o + a + tl, p + fl);
	return o;
}

static const struct vmlab_replay_row *row(const struct vmlab_replay_result *r,
					  const char *q)
{
	const struct vmlab_replay_row *w = vmlab_replay_row(r, q);
	if (!w)
		fail_msg("no row '%s'", q);
	return w;
}

static void expect_row(const struct vmlab_replay_result *r, const char *q,
		       u64 compared, u64 agreed)
{
	const struct vmlab_replay_row *w = row(r, q);
	if (w->compared != compared || w->agreed != agreed)
		fail_msg("%s: %llu/%llu, expected %llu/%llu", q,
			 (unsigned long long)w->agreed,
			 (unsigned long long)w->compared,
			 (unsigned long long)agreed, (unsigned long long)compared);
}

static struct vmlab_replay_result *replay(const char *text, size_t len,
					  const struct vmlab_replay_opts *o)
{
	struct vmlab_replay_result *r = NULL;
	char err[512] = "";
	int e = vmlab_replay_text(text, len, VMLAB_TRACE_UNKNOWN, "t", o, &r, err,
				  sizeof(err));
	if (e)
		fail_msg("replay failed: %s", err);
	assert_non_null(r);
	return r;
}

/* ------------------------------------------------------------ tracefs */

static void test_tracefs_bad_input(void **state)
{
	(void)state;
	size_t len;
	char *t = fixture("vmalloc-drain.txt", &len);
	expect_error("", 0, "empty");
	expect_error("# tracer: nop\n#\n", 16, "no trace records");
	/* cut inside the last line */
	expect_error(t, len - 20, "truncated: the file ends inside a line");
	/* fewer records than the header announces */
	char *last = strstr(t, " test vm task-200");
	expect_error(t, (size_t)(last - t), "header announces 11 entries");
	char *m = subst(t, "size=8192", "sise=8192");
	expect_error(m, strlen(m), ":13: alloc_vmap_area: missing field size=");
	free(m);
	m = subst(t, "nr_lazy=16388", "nr_lazy=16x88");
	expect_error(m, strlen(m), ":17: free_vmap_area_noflush: bad value nr_lazy=");
	free(m);
	m = subst(t, "10.000006:", "09.000006:");
	expect_error(m, strlen(m), ":18: timestamp earlier than line 17's");
	free(m);
	m = subst(t, "reason:flush on task switch (0)", "reason:flush on task switch (9)");
	expect_error(m, strlen(m), ":16: tlb_flush");
	free(m);
	m = subst(t, "     kworker/0:1-20      [000]", "garbage");
	expect_error(m, strlen(m), ":18: not a trace record");
	free(m);
	m = subst(t, "align=1", "align=3");
	expect_error(m, strlen(m), ":13: alloc_vmap_area: size, align");
	free(m);
	/* fuzz_replay: an unaligned va_start made the placement of the
	 * inferred pre-trace areas try 65536 unaligned places */
	m = subst(t, "va_start: 18446683600570023936", "va_start: 18446683600570023935");
	expect_error(m, strlen(m), ":13: alloc_vmap_area: va_start not page aligned");
	free(m);
	free(t);
}

static void test_tracefs_drain(void **state)
{
	(void)state;
	size_t len;
	char *t = fixture("vmalloc-drain.txt", &len);
	struct vmlab_replay_result *r = replay(t, len, NULL);
	assert_int_equal(r->kind, VMLAB_TRACE_VMALLOC);
	assert_int_equal(r->records, 10); /* sched_switch skipped */
	expect_row(r, "alloc at the traced address", 3, 3);
	/* the first free and the pre-trace area are inferred */
	expect_row(r, "nr_lazy after each free", 2, 2);
	expect_row(r, "purges after the same free", 1, 1);
	expect_row(r, "purged range start/end", 1, 1);
	expect_row(r, "num_purged", 1, 1);
	expect_row(r, "purge run by (task/worker)", 1, 1);
	expect_row(r, "purge flush range/full (33-page ceiling)", 1, 1);
	assert_true(row(r, "tlb_flush: flush on task switch")->apart);
	assert_int_equal(r->total_divs, 0);
	assert_true(vmlab_replay_rate(r) == 1.0);
	vmlab_replay_free(r);
	/* the mechanism changed: lazy_max_pages doubled, no drain */
	struct vmlab_replay_opts o = {.lazy_max_pages = 32768};
	r = replay(t, len, &o);
	/* the third record finds its place still lazy: the allocation's own
	 * overflow purge runs, from the task, where the kernel's worker did */
	expect_row(r, "purges after the same free", 1, 1);
	expect_row(r, "purge run by (task/worker)", 1, 0);
	expect_row(r, "nr_lazy_max", 4, 0);
	assert_true(r->total_divs >= 1);
	assert_non_null(strstr(r->divs[0].text, "areas by worker; vmlab"));
	vmlab_replay_free(r);
	free(t);
}

static void test_tracefs_execmem(void **state)
{
	(void)state;
	size_t len;
	char *t = fixture("vmalloc-execmem.txt", &len);
	struct vmlab_replay_result *r = replay(t, len, NULL);
	expect_row(r, "purges after the same free", 2, 2);
	expect_row(r, "purge run by (task/worker)", 2, 2);
	expect_row(r, "purged range start/end", 2, 2);
	assert_true(row(r, "purge start in the direct map")->apart);
	assert_int_equal(r->total_divs, 0);
	vmlab_replay_free(r);
	/* without the CPA of execmem areas the alloc-time purge is missing */
	struct vmlab_replay_opts o = {.no_execmem_cpa = true};
	r = replay(t, len, &o);
	expect_row(r, "purges after the same free", 2, 1);
	vmlab_replay_free(r);
	free(t);
}

/* ------------------------------------------------------------ mmtrace */

static void test_mmtrace_bad_input(void **state)
{
	(void)state;
	size_t len;
	char *t = fixture("mmtrace-python-head.txt", &len);
	char *m;
	expect_error("# mmtrace 1\n", 12, "no exec maps block");
	expect_error(t, len - 1, "truncated: the file ends inside a line");
	m = subst(t, "# end pid=1194 exit=0\n", "");
	expect_error(m, strlen(m), "truncated: no '# end' line");
	free(m);
	m = subst(t, "seq=3 ", "seq=1 ");
	expect_error(m, strlen(m), ":24: seq=1 after seq=2 of the same thread (line 23)");
	free(m);
	m = subst(t, "flags=PRIVATE|ANONYMOUS", "flags=PRIVATE|ANONYMOUSX");
	expect_error(m, strlen(m), ":23: unknown flags=PRIVATE|ANONYMOUSX");
	free(m);
	m = subst(t, "vmas=14", "vmas=15");
	expect_error(m, strlen(m), ":21: maps block has 14 lines, vmas=15");
	free(m);
	m = subst(t, " -> 0xaca000", "");
	expect_error(m, strlen(m), ":22: 'brk': not a call record");
	free(m);
	m = subst(t, "00400000-0041f000 r--p", "00400000-0041f000 r-?p");
	expect_error(m, strlen(m), ":7: not a /proc/PID/maps line");
	free(m);
	m = subst(t, "# mmtrace 1\n", "");
	expect_error(m, strlen(m), "not a trace vmlab knows");
	free(m);
	m = subst(t, "path=/etc/ld.so.cache", "path=/etc/ld.so.cache%2");
	expect_error(m, strlen(m), ":24: bad percent-encoding in path=");
	free(m);
	m = subst(t, "-> 0\n", "-> -12\n");
	expect_error(m, strlen(m), "a negative result without errno=");
	free(m);
	free(t);
}

static void test_mmtrace_heads(void **state)
{
	(void)state;
	size_t len;
	char *t = fixture("mmtrace-python-head.txt", &len);
	struct vmlab_replay_result *r = replay(t, len, NULL);
	assert_int_equal(r->kind, VMLAB_TRACE_MM);
	expect_row(r, "mmap", 20, 20);
	expect_row(r, "mmap address chosen (not FIXED)", 7, 7);
	expect_row(r, "brk", 2, 2);
	expect_row(r, "mprotect", 6, 6);
	assert_int_equal(r->total_divs, 0);
	vmlab_replay_free(r);
	free(t);
	t = fixture("mmtrace-mmprog-head.txt", &len);
	r = replay(t, len, NULL);
	expect_row(r, "mmap", 12, 12);
	expect_row(r, "madvise", 8, 8);
	expect_row(r, "signals (access replayed)", 5, 5);
	expect_row(r, "error codes", 2, 2);
	assert_int_equal(r->total_divs, 0);
	vmlab_replay_free(r);
	/* a divergence: the mmap below the vDSO moved, resynchronised */
	char *m = subst(t, "seq=2 addr=0x0 len=0x2000", "seq=2 addr=0x0 len=0x3000");
	r = replay(m, strlen(m), NULL);
	assert_true(r->total_divs >= 1);
	assert_non_null(strstr(r->divs[0].text, "kernel -> 0x7ffff7fc0000, vmlab -> 0x7ffff7fbf000"));
	assert_non_null(strstr(r->divs[0].text, "vmlab before the call"));
	/* both views: the model's own placement and the kernel's */
	assert_non_null(strstr(r->divs[0].text, "vmlab after the call (its own result):\n"
						"    7ffff7fbf000-7ffff7fc2000 rw-p"));
	assert_non_null(strstr(r->divs[0].text, "(the kernel's result applied):\n"
						"    7ffff7fc0000-7ffff7fc3000 rw-p"));
	vmlab_replay_free(r);
	free(m);
	free(t);
}

/* A failed allocation: the kernel purges and retries; so does the model. */
static void test_failed_alloc(void **state)
{
	(void)state;
	static const char t[] =
		" t-1 [000] ..... 1.000001: alloc_vmap_area: va_start: 18446683600570023936 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffc90000002000 failed=0\n"
		" t-1 [000] ..... 1.000002: free_vmap_area_noflush: va_start=0xffffc90000000000 nr_lazy=2 nr_lazy_max=16384\n"
		" t-1 [000] ..... 1.000003: alloc_vmap_area: va_start: 18446683600570032128 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffc90000002000 failed=1\n"
		" t-1 [000] ..... 1.000004: purge_vmap_area_lazy: start=0xffffc90000000000 end=0xffffc90000002000 num_purged=1\n"
		" t-1 [000] ..... 1.000005: alloc_vmap_area: va_start: 18446683600570032128 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffc90000010000 failed=0\n";
	struct vmlab_replay_result *r = replay(t, sizeof(t) - 1, NULL);
	expect_row(r, "alloc at the traced address", 2, 2);
	expect_row(r, "purges after the same free", 1, 1);
	expect_row(r, "purge run by (task/worker)", 1, 1);
	expect_row(r, "purged range start/end", 1, 1);
	expect_row(r, "num_purged", 1, 1);
	assert_true(row(r, "failed allocations")->apart);
	assert_int_equal(r->total_divs, 0);
	vmlab_replay_free(r);
}

/* A file of the fuzz corpus in a buffer of exactly its size (no NUL
 * after it), so that a read past the end is a sanitizer report. */
static char *corpus_file(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", FUZZ_CORPUS, name);
	char *t = slurp(path, len);
	assert_non_null(t);
	char *exact = malloc(*len ? *len : 1);
	assert_non_null(exact);
	memcpy(exact, t, *len);
	free(t);
	return exact;
}

/* The line number after "SRC:" in an error message, 0 if there is none. */
static unsigned long err_line(const char *err, const char *src)
{
	size_t n = strlen(src);
	if (strncmp(err, src, n) || err[n] != ':')
		return 0;
	char *end;
	unsigned long line = strtoul(err + n + 1, &end, 10);
	return *end == ':' ? line : 0;
}

/* Inputs fuzz_replay crashed on (now in its corpus): each is refused with
 * a message naming the line, by the parser and by the replay. */
static void test_fuzz_crashers(void **state)
{
	(void)state;
	static const struct {
		const char *name, *needle;
		unsigned long line;
	} crash[] = {
		/* "###" test read past the line end (heap-buffer-overflow) */
		{"crash-568073bb34b544666b549bd0915f98239cf39766",
		 "not a trace record", 6},
		/* only events of other kinds: run() asserted records > 0 */
		{"crash-58731a0f83fab4bdd8ff358373fb172a85099def",
		 "no records of the vmalloc/tlb events, only 1 of others", 5},
		{"crash-6cb045b324be4720ca47ffe49d0d767dd86f0c1a",
		 "the first, this line's: 'free_vpid_area_noflush'", 10},
	};
	for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++) {
		size_t len;
		char *t = corpus_file(crash[i].name, &len);
		char err[512] = "";
		u64 n;
		int r = vmlab_trace_parse_check(t, len, VMLAB_TRACE_UNKNOWN, &n,
						err, sizeof(err));
		if (r != -VMLAB_EINVAL || !strstr(err, crash[i].needle) ||
		    err_line(err, "-") != crash[i].line)
			fail_msg("%s: %d '%s'", crash[i].name, r, err);
		struct vmlab_replay_result *res = NULL;
		r = vmlab_replay_text(t, len, VMLAB_TRACE_UNKNOWN, "t", NULL,
				      &res, err, sizeof(err));
		assert_int_equal(r, -VMLAB_EINVAL);
		assert_null(res);
		assert_int_equal(err_line(err, "t"), crash[i].line);
		free(t);
	}
}

/* Every file of the fuzz corpus: a result, or a refusal naming the line. */
static void test_fuzz_corpus(void **state)
{
	(void)state;
	DIR *d = opendir(FUZZ_CORPUS);
	assert_non_null(d);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		size_t len;
		char *t = corpus_file(e->d_name, &len);
		char err[512] = "";
		struct vmlab_replay_result *res = NULL;
		int r = vmlab_replay_text(t, len, VMLAB_TRACE_UNKNOWN, "t", NULL,
					  &res, err, sizeof(err));
		if (r == 0) {
			assert_non_null(res);
			vmlab_replay_free(res);
		} else if (r != -VMLAB_EINVAL || res ||
			   (len && !err_line(err, "t") && !strstr(err, "gzip"))) {
			fail_msg("%s: %d '%s'", e->d_name, r, err);
		}
		free(t);
		files++;
	}
	closedir(d);
	assert_true(files >= 3);
}

/* Every row of b as in a: same quantities, same counts. */
static void expect_same_rows(const struct vmlab_replay_result *a,
			     const struct vmlab_replay_result *b)
{
	assert_int_equal(a->nrows, b->nrows);
	for (size_t i = 0; i < a->nrows; i++) {
		const struct vmlab_replay_row *w = row(b, a->rows[i].quantity);
		if (w->compared != a->rows[i].compared ||
		    w->agreed != a->rows[i].agreed || w->apart != a->rows[i].apart)
			fail_msg("%s: %llu/%llu, without KASLR %llu/%llu",
				 w->quantity, (unsigned long long)w->agreed,
				 (unsigned long long)w->compared,
				 (unsigned long long)a->rows[i].agreed,
				 (unsigned long long)a->rows[i].compared);
	}
	assert_int_equal(a->total_divs, b->total_divs);
}

static bool has_note(const struct vmlab_replay_result *r, const char *needle)
{
	for (size_t i = 0; i < r->nnotes; i++)
		if (strstr(r->notes[i], needle))
			return true;
	return false;
}

/* The vmalloc and direct-map addresses of a tracefs text as a KASLR boot
 * would print them (vmalloc_base vs, page_offset_base dm): "0x" and 16
 * hex digits, and alloc_vmap_area's decimal va_start. */
static char *kaslr_move(const char *t, size_t len, u64 vs, u64 dm, size_t *olen)
{
	const u64 VS = VMLAB_VMALLOC_START, DM = 0xffff888000000000ULL;
	char *o = malloc(2 * len + 64);
	size_t n = 0;
	assert_non_null(o);
	for (size_t i = 0; i < len;) {
		bool hex = i + 18 <= len && t[i] == '0' && t[i + 1] == 'x';
		bool dec = i + 10 <= len && !memcmp(t + i, "va_start: ", 10);
		if (!hex && !dec) {
			o[n++] = t[i++];
			continue;
		}
		size_t at = i + (hex ? 2 : 10);
		char *end;
		u64 a = strtoull(t + at, &end, hex ? 16 : 10);
		if (hex && end != t + at + 16) {
			o[n++] = t[i++];
			continue;
		}
		if (a - VS < (VMLAB_VMALLOC_SIZE_TB << 40))
			a = a - VS + vs;
		else if (a - DM < (64ULL << 40))
			a = a - DM + dm;
		n += (size_t)sprintf(o + n, hex ? "0x%016llx" : "va_start: %llu",
				     (unsigned long long)a);
		i = (size_t)(end - t);
	}
	*olen = n;
	return o;
}

/* vmalloc-drain-kaslr.txt is vmalloc-drain.txt from a KASLR boot
 * (vmalloc_base 0xffffb3a5c0000000, page_offset_base 0xffff9d1200000000):
 * the range is found from the allocations' vstart, or given, and the
 * replay agrees as on the unmoved trace; the model's range forced on it
 * does not. */
static void test_tracefs_kaslr(void **state)
{
	(void)state;
	size_t len, klen;
	char *t = fixture("vmalloc-drain.txt", &len);
	char *k = fixture("vmalloc-drain-kaslr.txt", &klen);
	struct vmlab_replay_result *a = replay(t, len, NULL);
	struct vmlab_replay_result *b = replay(k, klen, NULL);
	expect_same_rows(a, b);
	assert_true(has_note(b, "VMALLOC_START 0xffffb3a5c0000000 (the vstart of 3 of 3 allocations, KASLR)"));
	assert_true(has_note(a, "VMALLOC_START 0xffffc90000000000 (the vstart of 3 of 3 allocations), the model's"));
	vmlab_replay_free(b);
	struct vmlab_replay_opts o = {.vmalloc_start = 0xffffb3a5c0000000ULL};
	b = replay(k, klen, &o);
	expect_same_rows(a, b);
	assert_true(has_note(b, "(option, KASLR)"));
	vmlab_replay_free(b);
	o.vmalloc_start = VMLAB_VMALLOC_START;
	b = replay(k, klen, &o);
	expect_row(b, "alloc at the traced address", 3, 0);
	assert_true(b->total_divs > a->total_divs);
	vmlab_replay_free(b);
	assert_true(vmlab_replay_vmalloc_start_ok(0xffa0000000000000ULL));
	assert_false(vmlab_replay_vmalloc_start_ok(0xffffc90000000001ULL));
	assert_false(vmlab_replay_vmalloc_start_ok(0x7fff00000000ULL));
	assert_false(vmlab_replay_vmalloc_start_ok(0xffffffffc0000000ULL));
	vmlab_replay_free(a);
	free(t);
	free(k);
}

/* The stack grew by faults between exec and exit: counted apart. */
static void test_stack_growth(void **state)
{
	(void)state;
	static const char t[] =
		"# mmtrace 1\n# maps-begin pid=1 tid=1 when=exec vmas=2\n"
		"555555554000-555555556000 r-xp 00000000 fe:00 7 /bin/x\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n# maps-end\n"
		"mmap pid=1 tid=1 seq=1 addr=0x0 len=0x1000 prot=READ flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7ffe000\n"
		"# maps-begin pid=1 tid=1 when=exit vmas=3\n"
		"555555554000-555555556000 r-xp 00000000 fe:00 7 /bin/x\n"
		"7ffff7ffe000-7ffff7fff000 r--p 00000000 00:00 0\n"
		"7ffffffd0000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n# maps-end\n"
		"# end pid=1 exit=0\n";
	struct vmlab_replay_result *r = replay(t, sizeof(t) - 1, NULL);
	expect_row(r, "mmap", 1, 1);
	expect_row(r, "final maps lines equal", 3, 3);
	expect_row(r, "VMA boundaries from faults", 1, 0);
	assert_non_null(strstr(r->maps_diff, "+7ffffffde000-7ffffffff000"));
	vmlab_replay_free(r);
}

/* Values that parse but no kernel would print: replayed, never a crash,
 * never an unbounded allocation. */
static void test_hostile_values(void **state)
{
	(void)state;
	static const char vm[] =
		" a-1 [000] ..... 1.000001: alloc_vmap_area: va_start: 18446683600570023936 size=1099511627776 align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0\n"
		" a-1 [000] ..... 1.000002: free_vmap_area_noflush: va_start=0xffffc90000000000 nr_lazy=99999999999 nr_lazy_max=16384\n"
		" a-1 [000] ..... 1.000003: purge_vmap_area_lazy: start=0xffffc90000000000 end=0xffffc90004004000 num_purged=4000000000\n"
		" a-1 [000] ..... 1.000004: free_vmap_area_noflush: va_start=0xfffffffffffff000 nr_lazy=999999999999 nr_lazy_max=16384\n"
		" a-1 [000] ..... 1.000005: alloc_vmap_area: va_start: 18446744073709547520 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0\n"
		" a-1 [999] ..... 1.000006: alloc_vmap_area: va_start: 0 size=8192 align=4096 vstart=0x0 vend=0xffffe8ffffffffff failed=0\n";
	struct vmlab_replay_result *r = replay(vm, sizeof(vm) - 1, NULL);
	expect_row(r, "alloc at the traced address", 3, 0);
	assert_true(r->total_divs >= 3);
	vmlab_replay_free(r);
	static const char mm[] =
		"# mmtrace 1\n# maps-begin pid=1 tid=1 when=exec vmas=2\n"
		"555555554000-555555556000 r-xp fffffffffffff000 fe:00 7 /bin/x\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n# maps-end\n"
		"mmap pid=1 tid=1 seq=1 addr=0x0 len=0xffffffffffffffff prot=READ flags=PRIVATE fd=3 off=0x0 path=/bin/x fsize=0xffffffffffffffff -> -12 errno=ENOMEM\n"
		"mmap pid=1 tid=1 seq=2 addr=0xfffffffffffff000 len=0x2000 prot=READ flags=PRIVATE|FIXED|ANONYMOUS fd=-1 off=0x0 -> -12 errno=ENOMEM\n"
		"brk pid=1 tid=1 seq=3 addr=0xffffffffffffffff -> 0x555555556000\n"
		"madvise pid=1 tid=1 seq=4 addr=0x0 len=0xffffffffffffffff advice=999 -> -22 errno=EINVAL\n"
		"shmat pid=1 tid=1 seq=5 nr=30 shmid=3 addr=0x0 shmflg=0x0 -> 0x7ffff7ff0000\n"
		"signal pid=1 tid=1 sig=SIGSEGV code=1 addr=0xffffffffffffffff\n"
		"# end pid=1 exit=0\n";
	r = replay(mm, sizeof(mm) - 1, NULL);
	expect_row(r, "mmap", 2, 2);
	expect_row(r, "brk", 1, 1);
	expect_row(r, "madvise", 1, 1);
	assert_true(row(r, "shmat (not modelled)")->apart);
	vmlab_replay_free(r);
}

/* -------------------------------------------------- the public samples */

static void test_sample_vmalloc(void **state)
{
	(void)state;
	size_t len;
	char *t = sample("vmalloc-bpf-fork.txt", &len);
	if (!t)
		skip();
	struct vmlab_replay_result *r = replay(t, len, NULL);
	/* measured: every compared record agrees */
	expect_row(r, "alloc at the traced address", 3649, 3649);
	expect_row(r, "nr_lazy after each free", 3627, 3627);
	expect_row(r, "nr_lazy_max", 3653, 3653);
	expect_row(r, "purges after the same free", 3, 3);
	expect_row(r, "purged range start/end", 2, 2);
	expect_row(r, "num_purged", 2, 2);
	expect_row(r, "purge run by (task/worker)", 3, 3);
	expect_row(r, "purge flush range/full (33-page ceiling)", 3, 3);
	expect_row(r, "tlb_flush records of purge flushes", 3, 3);
	expect_row(r, "frees of pre-trace areas", 26, 0);
	expect_row(r, "tlb_flush: flush on task switch", 23694, 0);
	assert_int_equal(r->total_divs, 0);
	/* the same trace from a KASLR boot, the vmalloc range above and below
	 * the model's: the same agreement, row by row */
	static const u64 moved[][2] = {{0xffffb3a5c0000000ULL, 0xffff9d1200000000ULL},
				       {0xffffd4c280000000ULL, 0xffffcb0000000000ULL}};
	for (int i = 0; i < 2; i++) {
		size_t klen;
		char *k = kaslr_move(t, len, moved[i][0], moved[i][1], &klen);
		struct vmlab_replay_result *kr = replay(k, klen, NULL);
		expect_same_rows(r, kr);
		assert_true(has_note(kr, "KASLR"));
		vmlab_replay_free(kr);
		free(k);
	}
	vmlab_replay_free(r);
	/* lazy_max_pages halved: the drain comes earlier than the kernel's */
	struct vmlab_replay_opts o = {.lazy_max_pages = 8192};
	r = replay(t, len, &o);
	/* measured: a fourth purge, the drain when the inferred backlog
	 * alone passes the new limit; nr_lazy diverges after it */
	assert_int_equal(r->model_purges, 4);
	expect_row(r, "purges after the same free", 4, 3);
	expect_row(r, "purge run by (task/worker)", 3, 2);
	expect_row(r, "nr_lazy after each free", 3627, 1545);
	assert_int_equal(row(r, "nr_lazy_max")->agreed, 0);
	vmlab_replay_free(r);
	free(t);
}

static void test_sample_mm(void **state)
{
	(void)state;
	size_t len;
	char *t = sample("mmtrace-python-import.txt", &len);
	if (!t)
		skip();
	struct vmlab_replay_result *r = replay(t, len, NULL);
	expect_row(r, "mmap", 29, 29);
	expect_row(r, "mmap address chosen (not FIXED)", 13, 13);
	expect_row(r, "brk", 14, 14);
	expect_row(r, "mprotect", 7, 7);
	expect_row(r, "munmap", 2, 2);
	expect_row(r, "final VMA count", 1, 1);
	expect_row(r, "final maps lines equal", 45, 45);
	assert_string_equal(r->maps_diff, "");
	vmlab_replay_free(r);
	free(t);
	t = sample("mmtrace-mmprog.txt", &len);
	if (!t)
		skip();
	r = replay(t, len, NULL);
	expect_row(r, "mmap", 22, 22);
	expect_row(r, "mmap address chosen (not FIXED)", 14, 14);
	expect_row(r, "munmap", 13, 13);
	expect_row(r, "mprotect", 8, 8);
	expect_row(r, "mremap", 7, 7);
	expect_row(r, "mremap address chosen (MAYMOVE)", 2, 2);
	expect_row(r, "madvise", 35, 35);
	expect_row(r, "brk", 4, 4);
	expect_row(r, "mlock", 1, 1);
	expect_row(r, "munlock", 1, 1);
	expect_row(r, "error codes", 6, 6);
	expect_row(r, "signals (access replayed)", 7, 7);
	expect_row(r, "final VMA count", 1, 1);
	expect_row(r, "final maps lines equal", 33, 33);
	/* the one boundary the anon_vma of untraced faults explains */
	expect_row(r, "VMA boundaries from faults", 1, 0);
	assert_non_null(strstr(r->maps_diff, "-7ffff7d97000-7ffff7da0000 rw-p"));
	vmlab_replay_free(r);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tracefs_bad_input),
		cmocka_unit_test(test_tracefs_drain),
		cmocka_unit_test(test_tracefs_execmem),
		cmocka_unit_test(test_tracefs_kaslr),
		cmocka_unit_test(test_mmtrace_bad_input),
		cmocka_unit_test(test_mmtrace_heads),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_failed_alloc),
		cmocka_unit_test(test_fuzz_crashers),
		cmocka_unit_test(test_fuzz_corpus),
		cmocka_unit_test(test_stack_growth),
		cmocka_unit_test(test_sample_vmalloc),
		cmocka_unit_test(test_sample_mm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
