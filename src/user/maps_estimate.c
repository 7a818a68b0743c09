/* SPDX-License-Identifier: MIT */
/*
 * The guard-marker VMA estimate over /proc/PID/maps text
 * (include/vmlab/maps.h): a line parser and one pass over the mappings in
 * address order, following runs of small PROT_NONE mappings and looking
 * at what lies at either end of each.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "vmlab/maps.h"

/* One maps line: "start-end perms offset dev inode [path]". */
struct maps_line {
	u64 start, end;
	char perms[5];
	u64 inode;
	bool named; /* a path or [name] follows */
	char path_head[32]; /* its first bytes, to tell [stack] from files */
};

static const char *hex(const char *p, const char *e, u64 *out)
{
	u64 v = 0;
	int n = 0;
	for (; p < e && n < 17; p++, n++) {
		char c = *p;
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: -1;
		if (d < 0)
			break;
		v = v << 4 | (u64)d;
	}
	*out = v;
	return n > 0 && n <= 16 ? p : NULL;
}

static const char *skip_field(const char *p, const char *e)
{
	while (p < e && *p != ' ')
		p++;
	while (p < e && *p == ' ')
		p++;
	return p;
}

static bool parse_line(const char *p, const char *e, struct maps_line *l)
{
	memset(l, 0, sizeof(*l));
	p = hex(p, e, &l->start);
	if (!p || p >= e || *p != '-')
		return false;
	p = hex(p + 1, e, &l->end);
	if (!p || p + 5 > e || *p != ' ' || l->end <= l->start)
		return false;
	memcpy(l->perms, p + 1, 4);
	if (strspn(l->perms, "rwxps-") != 4)
		return false;
	p = skip_field(p + 1, e); /* perms */
	p = skip_field(p, e);     /* offset */
	p = skip_field(p, e);     /* dev */
	u64 inode = 0;
	int digits = 0;
	for (; p < e && *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
		inode = inode * 10 + (u64)(*p - '0');
	if (!digits)
		return false;
	l->inode = inode;
	while (p < e && *p == ' ')
		p++;
	size_t n = (size_t)(e - p);
	l->named = n > 0;
	n = n < sizeof(l->path_head) - 1 ? n : sizeof(l->path_head) - 1;
	memcpy(l->path_head, p, n);
	return true;
}

static bool prot_none_private(const struct maps_line *l)
{
	return !strcmp(l->perms, "---p");
}

/* An anonymous read-write mapping: a stack, a heap, TLS, an arena. */
static bool anon_rw(const struct maps_line *l)
{
	return l->inode == 0 && l->perms[0] == 'r' && l->perms[1] == 'w' &&
	       l->perms[3] == 'p';
}

/* A PROT_NONE mapping in an ELF image: file-backed beside its own file
 * (glibc's ld.so), or anonymous between two segments of one file (the
 * rest of the reservation bionic's linker maps the segments into). */
static void judge_gap(struct vmlab_maps_estimate *est,
		      const struct maps_line *prev, const struct maps_line *g,
		      const struct maps_line *next)
{
	assert(prot_none_private(g));
	bool below = prev && prev->end == g->start;
	bool above = next && next->start == g->end;
	if (g->inode != 0) {
		if ((below && prev->inode == g->inode) ||
		    (above && next->inode == g->inode))
			est->file_gaps++;
	} else if (below && above && prev->inode && prev->inode == next->inode) {
		est->segment_gaps++;
	}
}

/* An anonymous PROT_NONE mapping small enough to be a guard. */
static bool guard_sized(const struct maps_line *l, u64 max_guard)
{
	return prot_none_private(l) && l->inode == 0 &&
	       l->end - l->start <= max_guard;
}

/*
 * A run of adjacent guard-sized PROT_NONE VMAs: bionic puts its guard and
 * ART its protected page side by side below a Java thread's stack, and a
 * TLS guard can touch the next signal stack's guard.  Markers fold every
 * VMA of a run that touches an anonymous read-write mapping.
 */
struct guard_run {
	u64 len;        /* VMAs in the run; 0: none open */
	u64 end;        /* where its last VMA ends */
	bool lo;        /* an anonymous RW mapping ends where it starts */
	char lo_perms[5];
};

static void run_close(struct vmlab_maps_estimate *est, struct guard_run *r,
		      const struct maps_line *next)
{
	if (!r->len)
		return;
	bool hi = next && next->start == r->end && anon_rw(next);
	if (r->lo || hi)
		est->guards += r->len;
	if (r->lo && hi && !strcmp(r->lo_perms, next->perms))
		est->merges++;
	assert(!(r->lo || hi) || est->guards >= r->len);
	r->len = 0;
}

static void run_add(struct vmlab_maps_estimate *est, struct guard_run *r,
		    const struct maps_line *prev, const struct maps_line *g)
{
	assert(prot_none_private(g) && g->inode == 0);
	if (r->len && g->start == r->end) {
		r->len++;
		r->end = g->end;
		return;
	}
	run_close(est, r, g);
	r->len = 1;
	r->end = g->end;
	r->lo = prev && prev->end == g->start && anon_rw(prev);
	memcpy(r->lo_perms, r->lo ? prev->perms : "", r->lo ? 5 : 1);
	assert(r->end > g->start && (!r->lo || r->lo_perms[1] == 'w'));
}

int vmlab_maps_estimate_add(struct vmlab_maps_estimate *est, const char *text,
			    size_t len, u64 max_guard)
{
	if (!est || (!text && len))
		return -VMLAB_EINVAL;
	if (!max_guard)
		max_guard = VMLAB_MAPS_MAX_GUARD_DEFAULT;
	/* A window of three lines: the one judged and its neighbours. */
	struct maps_line w[3];
	struct guard_run run = {0};
	int have = 0; /* lines in the window */
	const char *p = text, *end = text + len;
	u64 guards0 = est->guards;
	(void)guards0; /* asserts only */
	est->processes++;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct maps_line l;
		if (e > p && parse_line(p, e, &l)) {
			est->vmas++;
			if (have == 3) {
				w[0] = w[1];
				w[1] = w[2];
				have = 2;
			}
			w[have++] = l;
			const struct maps_line *prev =
			    have >= 2 ? &w[have - 2] : NULL;
			if (guard_sized(&l, max_guard))
				run_add(est, &run, prev, &l);
			else
				run_close(est, &run, &l);
			/* Judge the middle line once its successor is known. */
			const struct maps_line *mid =
			    have == 3 ? &w[1] : have == 2 ? &w[0] : NULL;
			if (mid && prot_none_private(mid))
				judge_gap(est, have == 3 ? &w[0] : NULL, mid,
					  &l);
		} else if (e > p) {
			est->bad_lines++;
		}
		p = nl ? nl + 1 : end;
	}
	/* The last line has no successor. */
	run_close(est, &run, NULL);
	if (have >= 1 && prot_none_private(&w[have - 1]))
		judge_gap(est, have >= 2 ? &w[have - 2] : NULL, &w[have - 1],
			  NULL);
	assert(est->guards - guards0 <= est->vmas);
	assert(est->segment_gaps <= est->vmas && est->file_gaps <= est->vmas);
	return 0;
}
