/* SPDX-License-Identifier: MIT */
/*
 * Trace replay, the common part: detection of the trace kind, file
 * reading, the helpers both parsers use, the result object and its
 * printing as a table or as JSON.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "replay/rinternal.h"

/* ---------------------------------------------------------- strings */

static void sb_grow(struct sbuf *b, size_t more)
{
	if (b->oom)
		return;
	if (b->n + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + more + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = true;
		return;
	}
	b->s = s;
	b->cap = cap;
}

void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	sb_grow(b, n);
	if (b->oom)
		return;
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = 0;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k <= 0)
		return;
	sb_grow(b, (size_t)k);
	if (b->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

char *sb_take(struct sbuf *b)
{
	char *s = b->s;
	if (!s || b->oom) {
		free(s);
		s = calloc(1, 1);
	}
	b->s = NULL;
	b->n = b->cap = 0;
	b->oom = false;
	return s;
}

int vec_reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
	assert(arr && cap && elem && n <= *cap);
	if (n < *cap)
		return 0;
	size_t nc = *cap ? 2 * *cap : 16;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -VMLAB_ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ lines */

void lines_init(struct lines *l, const char *text, size_t len)
{
	assert(text || !len);
	l->p = text;
	l->end = text + len;
	l->lineno = 0;
	l->last_unterminated = false;
}

bool lines_next(struct lines *l, const char **s, size_t *n)
{
	assert(l && s && n && l->p <= l->end);
	if (l->p >= l->end)
		return false;
	const char *q = memchr(l->p, '\n', (size_t)(l->end - l->p));
	const char *e = q ? q : l->end;
	*s = l->p;
	*n = (size_t)(e - l->p);
	if (*n && (*s)[*n - 1] == '\r')
		(*n)--;
	l->last_unterminated = !q;
	l->p = q ? q + 1 : l->end;
	l->lineno++;
	return true;
}

bool tok_eq(struct tok t, const char *lit)
{
	size_t k = strlen(lit);
	return t.n == k && !memcmp(t.s, lit, k);
}

bool tok_u64(struct tok t, int base, u64 *out)
{
	size_t i = 0;
	if (!t.n)
		return false;
	if (base == 0) {
		base = 10;
		if (t.n > 2 && t.s[0] == '0' && (t.s[1] == 'x' || t.s[1] == 'X')) {
			base = 16;
			i = 2;
		}
	} else if (base == 16 && t.n > 2 && t.s[0] == '0' &&
		   (t.s[1] == 'x' || t.s[1] == 'X')) {
		i = 2;
	}
	if (i >= t.n)
		return false;
	u64 v = 0;
	for (; i < t.n; i++) {
		int c = (unsigned char)t.s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - (u64)d) / (u64)base)
			return false; /* overflow */
		v = v * (u64)base + (u64)d;
	}
	*out = v;
	return true;
}

bool tok_s64(struct tok t, s64 *out)
{
	bool neg = t.n && t.s[0] == '-';
	struct tok u = {t.s + neg, t.n - neg};
	u64 v;
	if (!tok_u64(u, 10, &v) || v > (u64)INT64_MAX)
		return false;
	*out = neg ? -(s64)v : (s64)v;
	return true;
}

bool field(const char *s, size_t n, const char *key, struct tok *val)
{
	assert(key && val && (s || !n));
	size_t k = strlen(key);
	for (size_t i = 0; i + k < n; i++) {
		if ((i == 0 || s[i - 1] == ' ') && !memcmp(s + i, key, k) &&
		    s[i + k] == '=') {
			size_t j = i + k + 1, e = j;
			while (e < n && s[e] != ' ')
				e++;
			val->s = s + j;
			val->n = e - j;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------ the result */

int rb_init(struct rbuild *b, enum vmlab_trace_kind kind, const char *source,
	    int max_divs)
{
	memset(b, 0, sizeof(*b));
	b->r = calloc(1, sizeof(*b->r));
	if (!b->r)
		return -VMLAB_ENOMEM;
	b->r->kind = kind;
	b->r->source = strdup(source ? source : "-");
	b->max_divs = max_divs > 0 ? max_divs : 5;
	b->r->rows = calloc(RB_MAX_ROWS, sizeof(*b->r->rows));
	return b->r->source && b->r->rows ? 0 : -VMLAB_ENOMEM;
}

/*
 * Rows never move (callers keep pointers to several at once): the array
 * is allocated once; quantities past RB_MAX_ROWS (a trace naming very many
 * unknown calls) share one row that is not reported.
 */
struct vmlab_replay_row *rb_row(struct rbuild *b, const char *quantity)
{
	struct vmlab_replay_result *r = b->r;
	for (size_t i = 0; i < r->nrows; i++)
		if (!strcmp(r->rows[i].quantity, quantity))
			return &r->rows[i];
	if (r->nrows == RB_MAX_ROWS) {
		b->overflow_rows++;
		return &b->overflow;
	}
	struct vmlab_replay_row *row = &r->rows[r->nrows++];
	memset(row, 0, sizeof(*row));
	snprintf(row->quantity, sizeof(row->quantity), "%s", quantity);
	return row;
}

void rb_note(struct rbuild *b, const char *fmt, ...)
{
	struct vmlab_replay_result *r = b->r;
	if (VEC_RESERVE(r->notes, b->notes_cap, r->nnotes))
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = malloc((size_t)(k > 0 ? k : 0) + 1);
	if (!s)
		return;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)(k > 0 ? k : 0) + 1, fmt, ap);
	va_end(ap);
	r->notes[r->nnotes++] = s;
}

bool rb_want_div(const struct rbuild *b)
{
	return b->r->ndivs < (size_t)b->max_divs;
}

void rb_div(struct rbuild *b, u64 line, char *text)
{
	struct vmlab_replay_result *r = b->r;
	assert(r && text && r->ndivs <= (size_t)b->max_divs);
	r->total_divs++;
	if (!rb_want_div(b)) {
		free(text);
		return;
	}
	if (VEC_RESERVE(r->divs, b->divs_cap, r->ndivs)) {
		free(text);
		return;
	}
	r->divs[r->ndivs].line = line;
	r->divs[r->ndivs].text = text;
	r->ndivs++;
}

void vmlab_replay_free(struct vmlab_replay_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nnotes; i++)
		free(r->notes[i]);
	for (size_t i = 0; i < r->ndivs; i++)
		free(r->divs[i].text);
	free(r->notes);
	free(r->divs);
	free(r->rows);
	free(r->source);
	free(r->kernel_maps);
	free(r->model_maps);
	free(r->maps_diff);
	free(r);
}

double vmlab_replay_rate(const struct vmlab_replay_result *r)
{
	u64 c = 0, a = 0;
	for (size_t i = 0; r && i < r->nrows; i++) {
		if (r->rows[i].apart)
			continue;
		c += r->rows[i].compared;
		a += r->rows[i].agreed;
	}
	return c ? (double)a / (double)c : 1.0;
}

const struct vmlab_replay_row *
vmlab_replay_row(const struct vmlab_replay_result *r, const char *quantity)
{
	for (size_t i = 0; r && quantity && i < r->nrows; i++)
		if (!strcmp(r->rows[i].quantity, quantity))
			return &r->rows[i];
	return NULL;
}

/* -------------------------------------------------------- detection */

enum vmlab_trace_kind vmlab_trace_detect(const char *text, size_t len)
{
	struct lines l;
	const char *s;
	size_t n;
	lines_init(&l, text, len);
	for (int i = 0; i < 64 && lines_next(&l, &s, &n); i++) {
		if (n >= 10 && !memcmp(s, "# mmtrace ", 10))
			return VMLAB_TRACE_MM;
		if ((n >= 8 && !memcmp(s, "# tracer", 8)) ||
		    memmem(s, n, ": alloc_vmap_area:", 18) ||
		    memmem(s, n, ": free_vmap_area_noflush:", 25) ||
		    memmem(s, n, ": purge_vmap_area_lazy:", 23) ||
		    memmem(s, n, ": tlb_flush:", 12))
			return VMLAB_TRACE_VMALLOC;
	}
	return VMLAB_TRACE_UNKNOWN;
}

static int dispatch(const char *text, size_t len, enum vmlab_trace_kind kind,
		    const char *source, const struct vmlab_replay_opts *opts,
		    struct vmlab_replay_result **out, char *err, size_t errlen,
		    bool parse_only, u64 *nrec)
{
	struct vmlab_replay_opts def = {0};
	if (!opts)
		opts = &def;
	const char *why = vmlab_replay_arch_error(opts->arch);
	if (why) {
		set_err(err, errlen, "%s", why);
		return -VMLAB_EINVAL;
	}
	if (!text && len) {
		set_err(err, errlen, "%s: no text", source ? source : "-");
		return -VMLAB_EINVAL;
	}
	if (kind == VMLAB_TRACE_UNKNOWN)
		kind = vmlab_trace_detect(text, len);
	if (!len) {
		set_err(err, errlen, "%s: empty trace", source ? source : "-");
		return -VMLAB_EINVAL;
	}
	if (len >= 2 && (unsigned char)text[0] == 0x1f &&
	    (unsigned char)text[1] == 0x8b) {
		set_err(err, errlen, "%s: gzip-compressed; gunzip it first",
			source ? source : "-");
		return -VMLAB_EINVAL;
	}
	switch (kind) {
	case VMLAB_TRACE_VMALLOC:
		return replay_vmalloc(text, len, source, opts, out, err, errlen,
				      parse_only, nrec);
	case VMLAB_TRACE_MM:
		return replay_mm(text, len, source, opts, out, err, errlen,
				 parse_only, nrec);
	default:
		set_err(err, errlen,
			"%s:1: not a trace vmlab knows (expected a tracefs "
			"buffer with vmalloc/tlb events or '# mmtrace 1')",
			source ? source : "-");
		return -VMLAB_EINVAL;
	}
}

const char *vmlab_replay_arch_error(const char *arch)
{
	if (!arch || !strcmp(arch, "x86_64"))
		return NULL;
	if (!strcmp(arch, "arm64"))
		return "arch arm64: the traces replayed are x86-64 kernels' "
		       "(x86 addresses, the 33-page flush ceiling, IPIs); a "
		       "replay runs an x86_64 machine only";
	return "unknown arch (a replay runs an x86_64 machine)";
}

int vmlab_replay_text(const char *text, size_t len, enum vmlab_trace_kind kind,
		      const char *source, const struct vmlab_replay_opts *opts,
		      struct vmlab_replay_result **out, char *err,
		      size_t errlen)
{
	if (!out) {
		set_err(err, errlen, "no result pointer");
		return -VMLAB_EINVAL;
	}
	*out = NULL;
	return dispatch(text, len, kind, source, opts, out, err, errlen, false,
			NULL);
}

int vmlab_trace_parse_check(const char *text, size_t len,
			    enum vmlab_trace_kind kind, u64 *records,
			    char *err, size_t errlen)
{
	u64 n = 0;
	int r = dispatch(text, len, kind, "-", NULL, NULL, err, errlen, true,
			 &n);
	if (records)
		*records = n;
	return r;
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	if (buf && ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* A gzip-compressed file goes through gzip -dc (the samples are .gz). */
static bool is_gzip(const char *path)
{
	unsigned char m[2] = {0, 0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t k = fread(m, 1, 2, f);
	fclose(f);
	return k == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

int vmlab_replay_file(const char *path, enum vmlab_trace_kind kind,
		      const struct vmlab_replay_opts *opts,
		      struct vmlab_replay_result **out, char *err,
		      size_t errlen)
{
	if (!path || !out) {
		set_err(err, errlen, "no file name");
		return -VMLAB_EINVAL;
	}
	*out = NULL;
	bool std = !strcmp(path, "-"), gz = !std && is_gzip(path);
	FILE *f;
	if (gz) {
		char cmd[4200];
		if (strchr(path, '\'') || strlen(path) > 4000) {
			set_err(err, errlen, "%s: gzip-compressed; gunzip it first", path);
			return -VMLAB_EINVAL;
		}
		snprintf(cmd, sizeof(cmd), "gzip -dc -- '%s' 2>/dev/null", path);
		f = popen(cmd, "r");
	} else {
		f = std ? stdin : fopen(path, "rb");
	}
	if (!f) {
		set_err(err, errlen, "%s: cannot open: %s", path,
			strerror(errno));
		return -VMLAB_EINVAL;
	}
	size_t len = 0;
	char *text = read_all(f, &len);
	int e = errno;
	if (gz) {
		if (pclose(f) != 0) {
			free(text);
			set_err(err, errlen, "%s: gzip -dc failed (corrupt or "
				"truncated file, or no gzip)", path);
			return -VMLAB_EINVAL;
		}
	} else if (!std) {
		fclose(f);
	}
	if (!text) {
		set_err(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return -VMLAB_EINVAL;
	}
	int r = vmlab_replay_text(text, len, kind, path, opts, out, err,
				  errlen);
	free(text);
	return r;
}

/* --------------------------------------------------------- printing */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *kind_name(enum vmlab_trace_kind k)
{
	return k == VMLAB_TRACE_VMALLOC ? "vmalloc"
	       : k == VMLAB_TRACE_MM	? "mm"
					: "unknown";
}

static void print_json(const struct vmlab_replay_result *r, FILE *f)
{
	fprintf(f, "{\"trace\": ");
	json_str(f, r->source);
	fprintf(f, ", \"kind\": \"%s\", \"records\": %llu, \"agreement\": %.6f,\n",
		kind_name(r->kind), (unsigned long long)r->records,
		vmlab_replay_rate(r));
	fprintf(f, " \"rows\": [");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct vmlab_replay_row *w = &r->rows[i];
		fprintf(f, "%s\n  {\"quantity\": ", i ? "," : "");
		json_str(f, w->quantity);
		fprintf(f, ", \"kernel\": ");
		json_str(f, w->kernel);
		fprintf(f, ", \"vmlab\": ");
		json_str(f, w->model);
		fprintf(f, ", \"compared\": %llu, \"agreed\": %llu, "
			   "\"rate\": %.6f, \"apart\": %s, \"note\": ",
			(unsigned long long)w->compared,
			(unsigned long long)w->agreed,
			w->compared ? (double)w->agreed / (double)w->compared
				    : 1.0,
			w->apart ? "true" : "false");
		json_str(f, w->note);
		fputc('}', f);
	}
	fprintf(f, "],\n \"notes\": [");
	for (size_t i = 0; i < r->nnotes; i++) {
		fprintf(f, "%s\n  ", i ? "," : "");
		json_str(f, r->notes[i]);
	}
	fprintf(f, "],\n \"divergences\": %llu, \"first_divergences\": [",
		(unsigned long long)r->total_divs);
	for (size_t i = 0; i < r->ndivs; i++) {
		fprintf(f, "%s\n  {\"line\": %llu, \"text\": ", i ? "," : "",
			(unsigned long long)r->divs[i].line);
		json_str(f, r->divs[i].text);
		fputc('}', f);
	}
	fprintf(f, "]");
	if (r->kind == VMLAB_TRACE_MM) {
		fprintf(f, ",\n \"maps_diff\": ");
		json_str(f, r->maps_diff);
	}
	fprintf(f, "}\n");
}

void vmlab_replay_print(const struct vmlab_replay_result *r, FILE *f,
			bool json)
{
	if (!r || !f)
		return;
	if (json) {
		print_json(r, f);
		return;
	}
	fprintf(f, "trace %s (%s, %llu records)\n\n", r->source,
		kind_name(r->kind), (unsigned long long)r->records);
	fprintf(f, "%-40s | %-24s | %-24s | %s\n", "quantity", "kernel",
		"vmlab", "agree");
	fprintf(f, "%.40s-+-%.24s-+-%.24s-+-%s\n",
		"------------------------------------------",
		"------------------------------", "------------------------",
		"------------------");
	for (size_t i = 0; i < r->nrows; i++) {
		const struct vmlab_replay_row *w = &r->rows[i];
		char agree[64];
		if (w->apart)
			snprintf(agree, sizeof(agree), "apart");
		else if (!w->compared)
			snprintf(agree, sizeof(agree), "-");
		else
			snprintf(agree, sizeof(agree), "%llu/%llu %.1f%%",
				 (unsigned long long)w->agreed,
				 (unsigned long long)w->compared,
				 100.0 * (double)w->agreed /
					 (double)w->compared);
		fprintf(f, "%-40s | %-24s | %-24s | %s\n", w->quantity,
			w->kernel, w->model, agree);
	}
	fprintf(f, "\nagreement over compared records: %.2f%%\n",
		100.0 * vmlab_replay_rate(r));
	bool any_note = false;
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].note[0]) {
			if (!any_note)
				fprintf(f, "\nrow notes:\n");
			any_note = true;
			fprintf(f, "  %s: %s\n", r->rows[i].quantity,
				r->rows[i].note);
		}
	if (r->nnotes) {
		fprintf(f, "\ninferred and not modelled:\n");
		for (size_t i = 0; i < r->nnotes; i++)
			fprintf(f, "  - %s\n", r->notes[i]);
	}
	fprintf(f, "\ndivergences: %llu", (unsigned long long)r->total_divs);
	if (r->ndivs)
		fprintf(f, " (first %zu shown)", r->ndivs);
	fprintf(f, "\n");
	for (size_t i = 0; i < r->ndivs; i++)
		fprintf(f, "\n-- line %llu --\n%s", (unsigned long long)r->divs[i].line,
			r->divs[i].text);
	if (r->kind == VMLAB_TRACE_MM) {
		if (!r->maps_diff)
			fprintf(f, "\nfinal maps: none in the trace (no when=exit block)\n");
		else if (r->maps_diff[0])
			fprintf(f, "\nfinal maps, diff -u kernel vmlab:\n%s",
				r->maps_diff);
		else
			fprintf(f, "\nfinal maps: identical\n");
	}
}
