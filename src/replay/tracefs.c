/* SPDX-License-Identifier: MIT */
/*
 * Parser of the tracefs trace buffer's text (/sys/kernel/tracing/trace)
 * for the events vmlab replays.  A line reads
 *
 *   <comm>-<pid> [(<tgid>)] [<cpu>] [<irq flags>] <sec>.<usec>: <event>: <fields>
 *
 * with the event's fields printed by its TP_printk() (formats as in
 * include/trace/events/vmalloc.h and tlb.h).  Header and comment lines
 * start with '#'; "CPU:n [LOST m EVENTS]" marks a ring-buffer overrun.
 * Events of other kinds are counted and skipped.  A known event whose
 * fields do not parse, a timestamp going backwards (records reordered),
 * a last line cut short or fewer records than the header announces are
 * errors that name the line.
 */
#include <stdio.h>

#include "replay/tracefs.h"

const char *const tfs_tlb_reason_name[NR_TLB_FLUSH_REASONS] = {
	"flush on task switch", "remote shootdown",  "local shootdown",
	"local MM shootdown",	"remote IPI send",   "remote wrong CPU",
};

static int add_rec(struct tfs_trace *t, const struct tfs_rec *r)
{
	if (VEC_RESERVE(t->rec, t->cap, t->n))
		return -VMLAB_ENOMEM;
	t->rec[t->n++] = *r;
	return 0;
}

void tfs_free(struct tfs_trace *t)
{
	free(t->rec);
	memset(t, 0, sizeof(*t));
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Find "[cpu]" after "comm-pid"; fills the task fields, returns the
 * offset just past ']' or 0 when the line has no such prefix. */
static size_t parse_prefix(const char *s, size_t n, struct tfs_rec *r)
{
	for (size_t i = 1; i + 2 < n; i++) {
		if (s[i] != '[' || s[i - 1] != ' ' || !is_digit(s[i + 1]))
			continue;
		size_t j = i + 1;
		u64 cpu = 0;
		while (j < n && is_digit(s[j]) && cpu < 100000)
			cpu = cpu * 10 + (u64)(s[j++] - '0');
		if (j >= n || s[j] != ']')
			continue;
		/* before '[': "comm-pid" possibly followed by "(tgid)" */
		size_t e = i - 1;
		while (e > 0 && s[e - 1] == ' ')
			e--;
		if (e > 0 && s[e - 1] == ')') {
			size_t o = e - 1;
			while (o > 0 && s[o - 1] != '(')
				o--;
			if (o == 0)
				continue;
			e = o - 1;
			while (e > 0 && s[e - 1] == ' ')
				e--;
		}
		size_t d = e;
		while (d > 0 && is_digit(s[d - 1]))
			d--;
		if (d == e || d == 0 || s[d - 1] != '-')
			continue;
		u64 pid = 0;
		for (size_t k = d; k < e && pid < (1u << 30); k++)
			pid = pid * 10 + (u64)(s[k] - '0');
		size_t b = 0;
		while (b < d - 1 && s[b] == ' ')
			b++;
		size_t cl = d - 1 - b;
		if (cl >= sizeof(r->comm))
			cl = sizeof(r->comm) - 1;
		memcpy(r->comm, s + b, cl);
		r->comm[cl] = 0;
		r->pid = (s32)pid;
		r->cpu = (u16)(cpu > 65535 ? 65535 : cpu);
		assert(j + 1 <= n && s[j] == ']');
		return j + 1;
	}
	return 0;
}

/* "<sec>.<usec>:" → ns; false if tok is not a timestamp. */
static bool parse_ts(struct tok t, u64 *ns)
{
	if (t.n < 3 || t.s[t.n - 1] != ':')
		return false;
	const char *dot = memchr(t.s, '.', t.n);
	if (!dot)
		return false;
	struct tok a = {t.s, (size_t)(dot - t.s)};
	struct tok b = {dot + 1, (size_t)(t.s + t.n - 1 - dot - 1)};
	u64 sec, frac;
	if (!tok_u64(a, 10, &sec) || !tok_u64(b, 10, &frac) || b.n > 9 ||
	    sec > 1000000000ULL)
		return false;
	for (size_t k = b.n; k < 9; k++)
		frac *= 10;
	*ns = sec * 1000000000ULL + frac;
	return true;
}

static struct tok next_tok(const char *s, size_t n, size_t *pos)
{
	size_t i = *pos;
	while (i < n && s[i] == ' ')
		i++;
	size_t b = i;
	while (i < n && s[i] != ' ')
		i++;
	*pos = i;
	return (struct tok){s + b, i - b};
}

#define FAIL(...)                                                            \
	do {                                                                 \
		set_err(err, errlen, __VA_ARGS__);                           \
		return -VMLAB_EINVAL;                                        \
	} while (0)

static int need(const char *p, size_t n, const char *key, int base, u64 *v,
		const char *src, u64 line, const char *ev, char *err,
		size_t errlen)
{
	struct tok t;
	if (!field(p, n, key, &t))
		FAIL("%s:%llu: %s: missing field %s=", src,
		     (unsigned long long)line, ev, key);
	if (!tok_u64(t, base, v))
		FAIL("%s:%llu: %s: bad value %s=%.*s", src,
		     (unsigned long long)line, ev, key, (int)t.n, t.s);
	return 0;
}

static int parse_event(const char *ev, size_t evn, const char *p, size_t n,
		       struct tfs_rec *r, const char *src, char *err,
		       size_t errlen)
{
	u64 line = r->line;
	int e = 0;
	assert(ev && r && (p || !n));
	if (evn == 15 && !memcmp(ev, "alloc_vmap_area", 15)) {
		r->kind = TFS_ALLOC;
		struct tok t;
		size_t pos = 0;
		t = next_tok(p, n, &pos);
		if (!tok_eq(t, "va_start:"))
			FAIL("%s:%llu: alloc_vmap_area: expected 'va_start: N'",
			     src, (unsigned long long)line);
		t = next_tok(p, n, &pos);
		if (!tok_u64(t, 10, &r->a))
			FAIL("%s:%llu: alloc_vmap_area: bad va_start '%.*s'",
			     src, (unsigned long long)line, (int)t.n, t.s);
		if ((e = need(p, n, "size", 10, &r->b, src, line, "alloc_vmap_area", err, errlen)) ||
		    (e = need(p, n, "align", 10, &r->c, src, line, "alloc_vmap_area", err, errlen)) ||
		    (e = need(p, n, "vstart", 16, &r->d, src, line, "alloc_vmap_area", err, errlen)) ||
		    (e = need(p, n, "vend", 16, &r->e, src, line, "alloc_vmap_area", err, errlen)) ||
		    (e = need(p, n, "failed", 10, &r->f, src, line, "alloc_vmap_area", err, errlen)))
			return e;
		if (r->a & 4095)
			FAIL("%s:%llu: alloc_vmap_area: va_start not page "
			     "aligned", src, (unsigned long long)line);
		if (!r->b || (r->b & 4095) || (r->c & (r->c - 1)) || !r->c ||
		    r->d > r->e)
			FAIL("%s:%llu: alloc_vmap_area: size, align or range "
			     "impossible (size=%llu align=%llu)",
			     src, (unsigned long long)line,
			     (unsigned long long)r->b, (unsigned long long)r->c);
		return 0;
	}
	if (evn == 22 && !memcmp(ev, "free_vmap_area_noflush", 22)) {
		r->kind = TFS_FREE;
		if ((e = need(p, n, "va_start", 16, &r->a, src, line, "free_vmap_area_noflush", err, errlen)) ||
		    (e = need(p, n, "nr_lazy", 10, &r->b, src, line, "free_vmap_area_noflush", err, errlen)) ||
		    (e = need(p, n, "nr_lazy_max", 10, &r->c, src, line, "free_vmap_area_noflush", err, errlen)))
			return e;
		if (r->a & 4095)
			FAIL("%s:%llu: free_vmap_area_noflush: va_start not "
			     "page aligned", src, (unsigned long long)line);
		return 0;
	}
	if (evn == 20 && !memcmp(ev, "purge_vmap_area_lazy", 20)) {
		r->kind = TFS_PURGE;
		if ((e = need(p, n, "start", 16, &r->a, src, line, "purge_vmap_area_lazy", err, errlen)) ||
		    (e = need(p, n, "end", 16, &r->b, src, line, "purge_vmap_area_lazy", err, errlen)) ||
		    (e = need(p, n, "num_purged", 10, &r->c, src, line, "purge_vmap_area_lazy", err, errlen)))
			return e;
		return 0;
	}
	if (evn == 9 && !memcmp(ev, "tlb_flush", 9)) {
		r->kind = TFS_TLB;
		size_t pos = 0;
		struct tok t = next_tok(p, n, &pos);
		s64 pages;
		if (t.n < 7 || memcmp(t.s, "pages:", 6) ||
		    !tok_s64((struct tok){t.s + 6, t.n - 6}, &pages) ||
		    pages < -1)
			FAIL("%s:%llu: tlb_flush: expected 'pages:N'", src,
			     (unsigned long long)line);
		/* "reason:<text> (<n>)": the number in parentheses decides */
		const char *rs = memmem(p, n, "reason:", 7);
		const char *lp = n ? memrchr(p, '(', n) : NULL;
		u64 id;
		if (!rs || !lp || p[n - 1] != ')' ||
		    !tok_u64((struct tok){lp + 1, (size_t)(p + n - 1 - lp - 1)},
			     10, &id) ||
		    id >= NR_TLB_FLUSH_REASONS)
			FAIL("%s:%llu: tlb_flush: expected 'reason:TEXT (N)' "
			     "with N in 0..5", src, (unsigned long long)line);
		r->a = (u64)pages;
		r->reason = (u8)id;
		return 0;
	}
	return 1; /* another event */
}

int tfs_parse(const char *text, size_t len, const char *src,
	      struct tfs_trace *t, char *err, size_t errlen)
{
	struct lines l;
	const char *s;
	size_t n;
	u64 last_ts = 0, last_ts_line = 0, events = 0, other_line = 0;
	struct tok other = {"", 0};
	assert(t && (text || !len));
	memset(t, 0, sizeof(*t));
	t->max_cpu = -1;
	lines_init(&l, text, len);
	while (lines_next(&l, &s, &n)) {
		size_t b = 0;
		while (b < n && (s[b] == ' ' || s[b] == '\t'))
			b++;
		if (b == n)
			continue;
		if (l.last_unterminated)
			FAIL("%s:%llu: truncated: the file ends inside a line",
			     src, (unsigned long long)l.lineno);
		if (s[b] == '#') {
			const char *q = memmem(s, n, "entries-in-buffer/entries-written:", 34);
			if (q) {
				size_t pos = (size_t)(q - s) + 34;
				struct tok e = next_tok(s, n, &pos);
				const char *sl = memchr(e.s, '/', e.n);
				if (sl)
					tok_u64((struct tok){e.s, (size_t)(sl - e.s)},
						10, &t->header_entries);
			}
			const char *pp = memmem(s, n, "#P:", 3);
			u64 ncpu;
			if (pp) {
				size_t pos = (size_t)(pp - s) + 3;
				if (tok_u64(next_tok(s, n, &pos), 10, &ncpu) &&
				    ncpu >= 1 && ncpu <= 4096)
					t->nr_cpus_header = (int)ncpu;
			}
			continue;
		}
		if (memmem(s, n, "[LOST ", 6) && memmem(s, n, " EVENTS]", 8)) {
			t->lost_events++;
			continue;
		}
		if (n - b >= 3 && !memcmp(s + b, "###", 3))
			continue; /* "##### CPU 1 buffer started ####" */
		struct tfs_rec r;
		memset(&r, 0, sizeof(r));
		r.line = l.lineno;
		size_t pos = parse_prefix(s, n, &r);
		if (!pos)
			FAIL("%s:%llu: not a trace record (expected "
			     "'TASK-PID [CPU] ... TIMESTAMP: EVENT: FIELDS')",
			     src, (unsigned long long)l.lineno);
		struct tok tk = next_tok(s, n, &pos);
		if (!parse_ts(tk, &r.ts_ns)) {
			tk = next_tok(s, n, &pos); /* the irq-flags column */
			if (!parse_ts(tk, &r.ts_ns))
				FAIL("%s:%llu: no timestamp 'SEC.USEC:'", src,
				     (unsigned long long)l.lineno);
		}
		struct tok ev = next_tok(s, n, &pos);
		if (ev.n < 2 || ev.s[ev.n - 1] != ':')
			FAIL("%s:%llu: no event name after the timestamp", src,
			     (unsigned long long)l.lineno);
		ev.n--;
		events++;
		if (r.ts_ns < last_ts)
			FAIL("%s:%llu: timestamp earlier than line %llu's: "
			     "records out of order", src,
			     (unsigned long long)l.lineno,
			     (unsigned long long)last_ts_line);
		last_ts = r.ts_ns;
		last_ts_line = l.lineno;
		while (pos < n && s[pos] == ' ')
			pos++;
		int k = parse_event(ev.s, ev.n, s + pos, n - pos, &r, src, err,
				    errlen);
		if (k < 0)
			return k;
		if (k > 0) {
			if (!t->other_events++) {
				other = ev;
				other_line = l.lineno;
			}
			continue;
		}
		if ((int)r.cpu > t->max_cpu)
			t->max_cpu = r.cpu;
		if (add_rec(t, &r))
			FAIL("%s: out of memory", src);
	}
	if (t->header_entries && events < t->header_entries)
		FAIL("%s:%llu: truncated: the header announces %llu entries, "
		     "the file has %llu", src, (unsigned long long)l.lineno,
		     (unsigned long long)t->header_entries,
		     (unsigned long long)events);
	if (!events)
		FAIL("%s:%llu: no trace records (empty buffer, or not the "
		     "vmalloc/tlb events)", src, (unsigned long long)l.lineno);
	/* records of other events only: nothing to replay */
	if (!t->n)
		FAIL("%s:%llu: no records of the vmalloc/tlb events, only "
		     "%llu of others (the first, this line's: '%.*s')",
		     src, (unsigned long long)other_line,
		     (unsigned long long)t->other_events,
		     (int)(other.n > 40 ? 40 : other.n), other.s);
	return 0;
}

/* ------------------------------------------------- the vmalloc range */

static int u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;
	return x < y ? -1 : x > y;
}

u64 tfs_vmalloc_start(const struct tfs_trace *t, u64 *votes, u64 *allocs)
{
	u64 *vs = malloc((t->n + 1) * sizeof(*vs));
	size_t n = 0;
	*votes = *allocs = 0;
	if (!vs)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct tfs_rec *r = &t->rec[i];
		if (r->kind != TFS_ALLOC)
			continue;
		(*allocs)++;
		/* execmem windows lie above the kernel image map; a window
		 * that is not page aligned is no VMALLOC_START */
		if (r->d >= TFS_KERNEL_IMAGE_MAP || r->d < TFS_KERNEL_HALF ||
		    (r->d & 4095) || r->e <= r->d)
			continue;
		vs[n++] = r->d;
	}
	qsort(vs, n, sizeof(*vs), u64_cmp);
	u64 best = 0, best_n = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && vs[j] == vs[i])
			j++;
		if (j - i > best_n) { /* ties: the lowest */
			best = vs[i];
			best_n = j - i;
		}
		i = j;
	}
	assert(best_n <= n && (!best || best >= TFS_KERNEL_HALF));
	free(vs);
	*votes = best_n;
	return best;
}

/* Moved by delta if in [from, from + size), else unchanged. */
static bool shift_in(u64 *a, u64 from, u64 size, u64 delta)
{
	if (*a - from >= size)
		return false;
	*a += delta;
	return true;
}

u64 tfs_relocate(struct tfs_trace *t, u64 from, u64 to, u64 size)
{
	u64 delta = to - from, moved = 0; /* modulo 2^64 */
	assert(size > 0 && to + (size - 1) >= to);
	if (!delta)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		struct tfs_rec *r = &t->rec[i];
		switch (r->kind) {
		case TFS_ALLOC: {
			bool in = shift_in(&r->a, from, size, delta);
			if (shift_in(&r->d, from, size, delta) &&
			    !shift_in(&r->e, from, size, delta) && r->e > from)
				r->e = to + (size - 1); /* a larger VMALLOC_END */
			moved += in;
			break;
		}
		case TFS_FREE:
			moved += shift_in(&r->a, from, size, delta);
			break;
		case TFS_PURGE: {
			u64 a0 = r->a, b0 = r->b;
			/* a start below the range is in the direct map (a
			 * VM_FLUSH_RESET_PERMS purge): it stays below */
			if (!shift_in(&r->a, from, size, delta) && r->a < from &&
			    r->a >= TFS_KERNEL_HALF && r->a + delta < to &&
			    r->a + delta >= TFS_KERNEL_HALF)
				r->a += delta;
			if (r->b > 0 && r->b - 1 - from < size)
				r->b += delta;
			moved += r->a != a0 || r->b != b0;
			break;
		}
		default:
			break;
		}
	}
	return moved;
}
