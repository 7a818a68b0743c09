/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader for the documents vmlab itself writes (merge reads
 * the shards' results, workers send their records up a pipe).  Numbers
 * keep their text, so a value read back prints as the same bytes;
 * members keep their order.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cli/batch.h"

struct jp {
	const char *p;
	char *err;
	size_t n;
	int depth;
};

static struct jnode *jnew(enum jtype t)
{
	struct jnode *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->type = t;
	return j;
}

static char *jdup(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (!d)
		abort();
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

void json_free(struct jnode *j)
{
	if (!j)
		return;
	for (int i = 0; i < j->nr_kid; i++)
		json_free(j->kid[i]);
	free(j->kid);
	free(j->s);
	free(j->key);
	free(j);
}

static void add_kid(struct jnode *j, struct jnode *k)
{
	assert(j->type == J_ARR || j->type == J_OBJ);
	if ((j->nr_kid & (j->nr_kid - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
		int cap = j->nr_kid ? 2 * j->nr_kid : 1;
		struct jnode **kid = realloc(j->kid, (size_t)cap * sizeof(*kid));
		if (!kid)
			abort();
		j->kid = kid;
	}
	j->kid[j->nr_kid++] = k;
}

static bool jerr(struct jp *jp, const char *what)
{
	if (!jp->err[0])
		snprintf(jp->err, jp->n, "JSON: %s near '%.20s'", what, jp->p);
	return false;
}

static void ws(struct jp *jp)
{
	while (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\t' ||
	       *jp->p == '\r')
		jp->p++;
}

/* A string at jp->p (after the quote); its value, NULL on error. */
static char *jstring(struct jp *jp)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	for (;;) {
		unsigned char c = (unsigned char)*jp->p++;
		if (!c || c < 0x20) {
			free(s);
			jerr(jp, "unterminated string");
			return NULL;
		}
		if (c == '"')
			break;
		if (c == '\\') {
			c = (unsigned char)*jp->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				char hex[5] = {0};
				for (int i = 0; i < 4 && jp->p[i]; i++)
					hex[i] = jp->p[i];
				char *end;
				unsigned long u = strtoul(hex, &end, 16);
				if (end != hex + 4 || u > 0x7f) {
					free(s);
					jerr(jp, "unsupported \\u escape");
					return NULL;
				}
				jp->p += 4;
				c = (unsigned char)u;
				break;
			}
			case '"': case '\\': case '/': break;
			default:
				free(s);
				jerr(jp, "bad escape");
				return NULL;
			}
		}
		if (len + 2 > cap) {
			cap *= 2;
			char *t = realloc(s, cap);
			if (!t)
				abort();
			s = t;
		}
		s[len++] = (char)c;
	}
	s[len] = 0;
	return s;
}

static struct jnode *jvalue(struct jp *jp);

static struct jnode *jcontainer(struct jp *jp, bool obj)
{
	struct jnode *j = jnew(obj ? J_OBJ : J_ARR);
	char close = obj ? '}' : ']';
	if (++jp->depth > 64) {
		jerr(jp, "nested too deeply");
		goto bad;
	}
	ws(jp);
	if (*jp->p == close) {
		jp->p++;
		jp->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		ws(jp);
		if (obj) {
			if (*jp->p != '"') {
				jerr(jp, "expected a member name");
				goto bad;
			}
			jp->p++;
			if (!(key = jstring(jp)))
				goto bad;
			ws(jp);
			if (*jp->p++ != ':') {
				free(key);
				jerr(jp, "expected ':'");
				goto bad;
			}
		}
		struct jnode *k = jvalue(jp);
		if (!k) {
			free(key);
			goto bad;
		}
		k->key = key;
		add_kid(j, k);
		ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p++ == close)
			break;
		jerr(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
	jp->depth--;
	return j;
bad:
	json_free(j);
	return NULL;
}

static struct jnode *jvalue(struct jp *jp)
{
	ws(jp);
	const char *p = jp->p;
	if (*p == '{' || *p == '[') {
		jp->p++;
		return jcontainer(jp, *p == '{');
	}
	if (*p == '"') {
		jp->p++;
		char *s = jstring(jp);
		if (!s)
			return NULL;
		struct jnode *j = jnew(J_STR);
		j->s = s;
		return j;
	}
	static const struct { const char *w; enum jtype t; } words[] = {
		{"true", J_BOOL}, {"false", J_BOOL}, {"null", J_NULL}};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t len = strlen(words[i].w);
		if (!strncmp(p, words[i].w, len)) {
			struct jnode *j = jnew(words[i].t);
			j->s = jdup(p, len);
			jp->p += len;
			return j;
		}
	}
	char *end;
	(void)strtod(p, &end);
	if (end == p || (*p != '-' && (*p < '0' || *p > '9'))) {
		jerr(jp, "expected a value");
		return NULL;
	}
	struct jnode *j = jnew(J_NUM);
	j->s = jdup(p, (size_t)(end - p));
	jp->p = end;
	return j;
}

struct jnode *json_parse(const char *text, char *err, size_t n)
{
	assert(text && err && n);
	err[0] = 0;
	struct jp jp = {.p = text, .err = err, .n = n};
	struct jnode *j = jvalue(&jp);
	if (j) {
		ws(&jp);
		if (*jp.p) {
			jerr(&jp, "text after the document");
			json_free(j);
			return NULL;
		}
	}
	assert(j || err[0]);
	return j;
}

const struct jnode *json_get(const struct jnode *obj, const char *key)
{
	if (!obj || obj->type != J_OBJ)
		return NULL;
	for (int i = 0; i < obj->nr_kid; i++)
		if (!strcmp(obj->kid[i]->key, key))
			return obj->kid[i];
	return NULL;
}
