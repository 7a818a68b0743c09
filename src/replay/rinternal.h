/* SPDX-License-Identifier: MIT */
/*
 * Internals of trace replay (src/replay/): a growable string, a line
 * cursor over the trace text, number parsing that reports instead of
 * failing silently, and the result builder both replay engines use.
 */
#ifndef VMLAB_REPLAY_INTERNAL_H
#define VMLAB_REPLAY_INTERNAL_H

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmlab/replay.h"
#include "vmlab/vmlab.h"

/* ---------------------------------------------------------- strings */

struct sbuf {
	char *s;
	size_t n, cap;
	bool oom;
};
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_putn(struct sbuf *b, const char *s, size_t n);
/* Hand the string over (never NULL; "" when empty). */
char *sb_take(struct sbuf *b);

/* Room for one more element in a growable array: 0 or -VMLAB_ENOMEM. */
int vec_reserve(void **arr, size_t *cap, size_t n, size_t elem);
#define VEC_RESERVE(arr, cap, n)                                             \
	vec_reserve((void **)&(arr), &(cap), (n), sizeof(*(arr)))

/* ------------------------------------------------------------ lines */

struct lines {
	const char *p, *end;
	u64 lineno;	 /* of the line last returned */
	bool last_unterminated; /* the line last returned had no '\n' */
};
void lines_init(struct lines *l, const char *text, size_t len);
/* Next line without its '\n' (and '\r'); false at the end. */
bool lines_next(struct lines *l, const char **s, size_t *n);

/* A token of a line: [s, s+n). */
struct tok {
	const char *s;
	size_t n;
};
bool tok_eq(struct tok t, const char *lit);
/* Parse a whole token as a number; false if it is not one. */
bool tok_u64(struct tok t, int base, u64 *out); /* base 0: 0x or decimal */
bool tok_s64(struct tok t, s64 *out);		/* decimal, optional '-' */
/* "key=value" tokens: the value of key in [s, s+n) (after a space or at
 * the start), false if absent. */
bool field(const char *s, size_t n, const char *key, struct tok *val);

/* ----------------------------------------------------- the result */

#define RB_MAX_ROWS 128

struct rbuild {
	struct vmlab_replay_result *r;
	size_t notes_cap, divs_cap;
	int max_divs;
	struct vmlab_replay_row overflow; /* rows past RB_MAX_ROWS */
	u64 overflow_rows;
};
int rb_init(struct rbuild *b, enum vmlab_trace_kind kind, const char *source,
	    int max_divs);
struct vmlab_replay_row *rb_row(struct rbuild *b, const char *quantity);
void rb_note(struct rbuild *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Count a divergence; keep its text if among the first ones.  text is
 * taken over (freed if not kept). */
void rb_div(struct rbuild *b, u64 line, char *text);
bool rb_want_div(const struct rbuild *b);

static inline void row_count(struct vmlab_replay_row *row, bool agree)
{
	assert(row);
	row->compared++;
	if (agree)
		row->agreed++;
}

/* ------------------------------------------------------ the engines */

int replay_vmalloc(const char *text, size_t len, const char *source,
		   const struct vmlab_replay_opts *o,
		   struct vmlab_replay_result **out, char *err, size_t errlen,
		   bool parse_only, u64 *nrec);
int replay_mm(const char *text, size_t len, const char *source,
	      const struct vmlab_replay_opts *o,
	      struct vmlab_replay_result **out, char *err, size_t errlen,
	      bool parse_only, u64 *nrec);

void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
