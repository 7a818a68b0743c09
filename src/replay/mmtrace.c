/* SPDX-License-Identifier: MIT */
/*
 * Parser of mmtrace text: "# key..." metadata lines, maps blocks between
 * "# maps-begin ... vmas=N" and "# maps-end" (verbatim /proc/PID/maps
 * lines), and records "NAME pid=P tid=T seq=N ARGS -> RESULT [errno=E]"
 * or "NAME pid=... FIELDS" for events.  Flags, protections and advice
 * are symbolic (uapi names without their prefix, '|'-separated, unknown
 * bits appended in hex); values with spaces are percent-encoded.
 *
 * Refused with a message naming the line: a record before the first exec
 * maps, an unknown symbol, a missing or malformed field, a maps block
 * whose line count differs from vmas=, a seq not above the previous one
 * of the same thread (reordered), a missing "# end" (truncated) or a
 * last line cut short.
 */
#include <stdio.h>

#include "replay/mmtrace.h"
#include "vmlab/user.h"

const char *const mt_kind_name[MT_NR_KINDS] = {
	"mmap", "munmap", "mprotect", "pkey_mprotect", "mremap", "madvise",
	"brk", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
	"clone", "clone3", "fork", "vfork", "execve", "other",
	"signal", "thread-new", "thread-exit", "process-new", "maps",
};

struct sym {
	const char *name;
	u64 val;
};

static const struct sym prot_syms[] = {
	{"NONE", 0}, {"READ", 1}, {"WRITE", 2}, {"EXEC", 4}, {"SEM", 8},
	{"GROWSDOWN", 0x01000000}, {"GROWSUP", 0x02000000}, {NULL, 0},
};

static const struct sym map_syms[] = {
	{"0", 0}, {"SHARED", 0x01}, {"PRIVATE", 0x02},
	{"SHARED_VALIDATE", 0x03}, {"DROPPABLE", 0x08}, {"FIXED", 0x10},
	{"ANONYMOUS", 0x20}, {"32BIT", 0x40}, {"GROWSDOWN", 0x100},
	{"DENYWRITE", 0x800}, {"EXECUTABLE", 0x1000}, {"LOCKED", 0x2000},
	{"NORESERVE", 0x4000}, {"POPULATE", 0x8000}, {"NONBLOCK", 0x10000},
	{"STACK", 0x20000}, {"HUGETLB", 0x40000}, {"SYNC", 0x80000},
	{"FIXED_NOREPLACE", 0x100000}, {"UNINITIALIZED", 0x4000000},
	{NULL, 0},
};

static const struct sym mremap_syms[] = {
	{"0", 0}, {"MAYMOVE", 1}, {"FIXED", 2}, {"DONTUNMAP", 4}, {NULL, 0},
};

static const struct sym mlock_syms[] = {
	{"0", 0}, {"ONFAULT", 1}, {"CURRENT", 1}, {"FUTURE", 2}, {NULL, 0},
};

static const struct sym advice_syms[] = {
	{"NORMAL", 0}, {"RANDOM", 1}, {"SEQUENTIAL", 2}, {"WILLNEED", 3},
	{"DONTNEED", 4}, {"FREE", 8}, {"REMOVE", 9}, {"DONTFORK", 10},
	{"DOFORK", 11}, {"MERGEABLE", 12}, {"UNMERGEABLE", 13},
	{"HUGEPAGE", 14}, {"NOHUGEPAGE", 15}, {"DONTDUMP", 16},
	{"DODUMP", 17}, {"WIPEONFORK", 18}, {"KEEPONFORK", 19}, {"COLD", 20},
	{"PAGEOUT", 21}, {"POPULATE_READ", 22}, {"POPULATE_WRITE", 23},
	{"DONTNEED_LOCKED", 24}, {"COLLAPSE", 25}, {"HWPOISON", 100},
	{"SOFT_OFFLINE", 101}, {"GUARD_INSTALL", 102}, {"GUARD_REMOVE", 103},
	{NULL, 0},
};

/* include/uapi/linux/sched.h, for clone's flags= (only VM and VFORK
 * matter to the replay; the others are checked for spelling). */
static const struct sym clone_syms[] = {
	{"0", 0}, {"VM", 0x100}, {"FS", 0x200}, {"FILES", 0x400},
	{"SIGHAND", 0x800}, {"PIDFD", 0x1000}, {"PTRACE", 0x2000},
	{"VFORK", 0x4000}, {"PARENT", 0x8000}, {"THREAD", 0x10000},
	{"NEWNS", 0x20000}, {"SYSVSEM", 0x40000}, {"SETTLS", 0x80000},
	{"PARENT_SETTID", 0x100000}, {"CHILD_CLEARTID", 0x200000},
	{"DETACHED", 0x400000}, {"UNTRACED", 0x800000},
	{"CHILD_SETTID", 0x1000000}, {"NEWCGROUP", 0x2000000},
	{"NEWUTS", 0x4000000}, {"NEWIPC", 0x8000000},
	{"NEWUSER", 0x10000000}, {"NEWPID", 0x20000000},
	{"NEWNET", 0x40000000}, {"IO", 0x80000000ULL},
	{"CLEAR_SIGHAND", 0x100000000ULL}, {"INTO_CGROUP", 0x200000000ULL},
	{NULL, 0},
};

#define FAIL(...)                                                            \
	do {                                                                 \
		set_err(err, errlen, __VA_ARGS__);                           \
		return -VMLAB_EINVAL;                                        \
	} while (0)

/* "A|B|0x40" → bits; HUGE_n sets the MAP_HUGE_SHIFT field. */
static bool parse_syms(struct tok t, const struct sym *tab, bool huge,
		       u64 *out)
{
	u64 v = 0;
	size_t i = 0;
	assert(tab && out);
	if (!t.n)
		return false;
	while (i <= t.n) {
		size_t j = i;
		while (j < t.n && t.s[j] != '|')
			j++;
		struct tok p = {t.s + i, j - i};
		u64 x;
		bool ok = false;
		if (p.n > 2 && p.s[0] == '0' && p.s[1] == 'x' && tok_u64(p, 16, &x)) {
			v |= x;
			ok = true;
		} else if (huge && p.n > 5 && !memcmp(p.s, "HUGE_", 5) &&
			   tok_u64((struct tok){p.s + 5, p.n - 5}, 10, &x) &&
			   x < 64) {
			v |= x << 26;
			ok = true;
		} else {
			for (const struct sym *s = tab; s->name; s++)
				if (tok_eq(p, s->name)) {
					v |= s->val;
					ok = true;
					break;
				}
		}
		if (!ok)
			return false;
		i = j + 1;
	}
	*out = v;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decoded copy, NULL on a bad escape or no memory. */
static char *decode(struct tok t)
{
	char *s = malloc(t.n + 1), *o = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < t.n; i++) {
		if (t.s[i] == '%') {
			if (i + 2 >= t.n) {
				free(s);
				return NULL;
			}
			int a = hexval(t.s[i + 1]), b = hexval(t.s[i + 2]);
			if (a < 0 || b < 0) {
				free(s);
				return NULL;
			}
			*o++ = (char)(a * 16 + b);
			i += 2;
		} else {
			*o++ = t.s[i];
		}
	}
	*o = 0;
	return s;
}

static int add_rec(struct mt_trace *t, const struct mt_rec *r)
{
	if (VEC_RESERVE(t->rec, t->cap, t->n))
		return -VMLAB_ENOMEM;
	t->rec[t->n++] = *r;
	return 0;
}

void mt_free(struct mt_trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->rec[i].path);
	for (size_t i = 0; i < t->nmaps; i++) {
		for (size_t j = 0; j < t->maps[i].n; j++)
			free(t->maps[i].v[j].path);
		free(t->maps[i].v);
	}
	free(t->rec);
	free(t->maps);
	memset(t, 0, sizeof(*t));
}

/* One /proc/PID/maps line. */
static bool parse_maps_line(const char *s, size_t n, struct mt_vma *v)
{
	size_t pos = 0;
	memset(v, 0, sizeof(*v));
	struct tok range = {0}, perms, off, dev, ino;
	size_t i = 0;
	while (i < n && s[i] != ' ')
		i++;
	range = (struct tok){s, i};
	pos = i;
#define NEXT(t)                                                              \
	do {                                                                 \
		while (pos < n && s[pos] == ' ')                             \
			pos++;                                               \
		size_t b_ = pos;                                             \
		while (pos < n && s[pos] != ' ')                             \
			pos++;                                               \
		t = (struct tok){s + b_, pos - b_};                          \
	} while (0)
	NEXT(perms);
	NEXT(off);
	NEXT(dev);
	NEXT(ino);
#undef NEXT
	const char *dash = memchr(range.s, '-', range.n);
	if (!dash || perms.n != 4 || dev.n == 0 || dev.n >= sizeof(v->dev))
		return false;
	if (!tok_u64((struct tok){range.s, (size_t)(dash - range.s)}, 16, &v->start) ||
	    !tok_u64((struct tok){dash + 1, (size_t)(range.s + range.n - dash - 1)}, 16, &v->end) ||
	    !tok_u64(off, 16, &v->off) || !tok_u64(ino, 10, &v->inode) ||
	    v->start >= v->end || ((v->start | v->end) & 4095))
		return false;
	for (int k = 0; k < 4; k++) {
		static const char ok[4][3] = {"r-", "w-", "x-", "ps"};
		if (perms.s[k] != ok[k][0] && perms.s[k] != ok[k][1])
			return false;
	}
	memcpy(v->perms, perms.s, 4);
	memcpy(v->dev, dev.s, dev.n);
	while (pos < n && s[pos] == ' ')
		pos++;
	if (pos < n) {
		v->path = malloc(n - pos + 1);
		if (!v->path)
			return false;
		memcpy(v->path, s + pos, n - pos);
		v->path[n - pos] = 0;
	}
	return true;
}

static int need_u64(const char *s, size_t n, const char *key, int base,
		    u64 *v, const char *src, u64 line, char *err, size_t errlen)
{
	struct tok t;
	if (!field(s, n, key, &t))
		FAIL("%s:%llu: missing %s=", src, (unsigned long long)line, key);
	if (!tok_u64(t, base, v))
		FAIL("%s:%llu: bad %s=%.*s", src, (unsigned long long)line, key,
		     (int)t.n, t.s);
	return 0;
}

static int need_s64(const char *s, size_t n, const char *key, s64 *v,
		    const char *src, u64 line, char *err, size_t errlen)
{
	struct tok t;
	if (!field(s, n, key, &t))
		FAIL("%s:%llu: missing %s=", src, (unsigned long long)line, key);
	if (!tok_s64(t, v))
		FAIL("%s:%llu: bad %s=%.*s", src, (unsigned long long)line, key,
		     (int)t.n, t.s);
	return 0;
}

static int need_sym(const char *s, size_t n, const char *key,
		    const struct sym *tab, bool huge, u64 *v, const char *src,
		    u64 line, char *err, size_t errlen)
{
	struct tok t;
	if (!field(s, n, key, &t))
		FAIL("%s:%llu: missing %s=", src, (unsigned long long)line, key);
	if (!parse_syms(t, tab, huge, v))
		FAIL("%s:%llu: unknown %s=%.*s", src, (unsigned long long)line,
		     key, (int)t.n, t.s);
	return 0;
}

static const struct {
	const char *name;
	enum mt_kind kind;
} call_names[] = {
	{"mmap", MT_MMAP},	   {"munmap", MT_MUNMAP},
	{"mprotect", MT_MPROTECT}, {"pkey_mprotect", MT_PKEY_MPROTECT},
	{"mremap", MT_MREMAP},	   {"madvise", MT_MADVISE},
	{"brk", MT_BRK},	   {"mlock", MT_MLOCK},
	{"mlock2", MT_MLOCK2},	   {"munlock", MT_MUNLOCK},
	{"mlockall", MT_MLOCKALL}, {"munlockall", MT_MUNLOCKALL},
	{"clone", MT_CLONE},	   {"clone3", MT_CLONE3},
	{"fork", MT_FORK},	   {"vfork", MT_VFORK},
	{"execve", MT_EXECVE},
};

/* The arguments of a call record (before "->") by kind. */
static int call_args(struct mt_rec *r, const char *s, size_t n,
		     const char *src, char *err, size_t errlen)
{
	u64 line = r->line;
	int e = 0;
#define U(k, b, p) (e = need_u64(s, n, k, b, p, src, line, err, errlen))
#define S(k, tab, huge, p) (e = need_sym(s, n, k, tab, huge, p, src, line, err, errlen))
	switch (r->kind) {
	case MT_MMAP: {
		if (U("addr", 16, &r->addr) || U("len", 16, &r->len) ||
		    S("prot", prot_syms, false, &r->prot) ||
		    S("flags", map_syms, true, &r->flags) ||
		    (e = need_s64(s, n, "fd", &r->fd, src, line, err, errlen)) ||
		    U("off", 16, &r->off))
			return e;
		struct tok p;
		if (field(s, n, "path", &p)) {
			r->path = decode(p);
			if (!r->path)
				FAIL("%s:%llu: bad percent-encoding in path=", src,
				     (unsigned long long)line);
			if (U("fsize", 16, &r->fsize))
				return e;
		}
		return 0;
	}
	case MT_MUNMAP:
	case MT_MLOCK:
	case MT_MUNLOCK:
		return U("addr", 16, &r->addr) || U("len", 16, &r->len) ? e : 0;
	case MT_MLOCK2:
		return U("addr", 16, &r->addr) || U("len", 16, &r->len) ||
			       S("flags", mlock_syms, false, &r->flags)
		       ? e
		       : 0;
	case MT_MLOCKALL:
		return S("flags", mlock_syms, false, &r->flags) ? e : 0;
	case MT_MPROTECT:
	case MT_PKEY_MPROTECT:
		return U("addr", 16, &r->addr) || U("len", 16, &r->len) ||
			       S("prot", prot_syms, false, &r->prot)
		       ? e
		       : 0;
	case MT_MREMAP:
		return U("addr", 16, &r->addr) || U("old_len", 16, &r->old_len) ||
			       U("new_len", 16, &r->new_len) ||
			       S("flags", mremap_syms, false, &r->flags) ||
			       U("new_addr", 16, &r->new_addr)
		       ? e
		       : 0;
	case MT_MADVISE: {
		if (U("addr", 16, &r->addr) || U("len", 16, &r->len))
			return e;
		struct tok t;
		if (!field(s, n, "advice", &t))
			FAIL("%s:%llu: missing advice=", src, (unsigned long long)line);
		if (!parse_syms(t, advice_syms, false, &r->advice) &&
		    !tok_u64(t, 10, &r->advice))
			FAIL("%s:%llu: unknown advice=%.*s", src,
			     (unsigned long long)line, (int)t.n, t.s);
		return 0;
	}
	case MT_BRK:
		return U("addr", 16, &r->addr) ? e : 0;
	case MT_CLONE:
	case MT_CLONE3:
		return S("flags", clone_syms, false, &r->flags) ? e : 0;
	case MT_EXECVE: {
		struct tok p;
		if (field(s, n, "path", &p) && !(r->path = decode(p)))
			FAIL("%s:%llu: bad percent-encoding in path=", src,
			     (unsigned long long)line);
		return 0;
	}
	default:
		return 0;
	}
#undef U
#undef S
}

static int parse_record(struct mt_trace *t, const char *s, size_t n,
			u64 line, const char *src, char *err, size_t errlen)
{
	struct mt_rec r;
	assert(t && s && n > 0);
	memset(&r, 0, sizeof(r));
	r.line = line;
	size_t sp = 0;
	while (sp < n && s[sp] != ' ')
		sp++;
	struct tok name = {s, sp};
	int e;
	if (tok_eq(name, "signal") || tok_eq(name, "thread-new") ||
	    tok_eq(name, "thread-exit") || tok_eq(name, "process-new")) {
		r.kind = tok_eq(name, "signal")	       ? MT_SIGNAL
			 : tok_eq(name, "thread-new")  ? MT_THREAD_NEW
			 : tok_eq(name, "thread-exit") ? MT_THREAD_EXIT
						       : MT_PROCESS_NEW;
		if ((e = need_s64(s, n, "pid", &r.pid, src, line, err, errlen)))
			return e;
		if (r.kind == MT_SIGNAL) {
			struct tok sig;
			if ((e = need_s64(s, n, "tid", &r.tid, src, line, err, errlen)) ||
			    (e = need_u64(s, n, "code", 0, &r.code, src, line, err, errlen)) ||
			    (e = need_u64(s, n, "addr", 16, &r.sigaddr, src, line, err, errlen)))
				return e;
			if (!field(s, n, "sig", &sig) || sig.n < 4 ||
			    memcmp(sig.s, "SIG", 3))
				FAIL("%s:%llu: signal: missing sig=SIGxxx", src,
				     (unsigned long long)line);
			r.signo = tok_eq(sig, "SIGSEGV") ? 11 : tok_eq(sig, "SIGBUS") ? 7 : 0;
		}
		return add_rec(t, &r);
	}
	const char *arrow = memmem(s, n, " -> ", 4);
	if (!arrow)
		FAIL("%s:%llu: '%.*s': not a call record (no ' -> RESULT')", src,
		     (unsigned long long)line, (int)(name.n > 40 ? 40 : name.n),
		     name.s);
	size_t an = (size_t)(arrow - s);
	r.kind = MT_OTHER_CALL;
	for (size_t i = 0; i < sizeof(call_names) / sizeof(call_names[0]); i++)
		if (tok_eq(name, call_names[i].name))
			r.kind = (u8)call_names[i].kind;
	if (r.kind == MT_OTHER_CALL) {
		for (size_t i = 0; i < name.n; i++)
			if (!((name.s[i] >= 'a' && name.s[i] <= 'z') ||
			      (name.s[i] >= '0' && name.s[i] <= '9') || name.s[i] == '_'))
				FAIL("%s:%llu: bad record name '%.*s'", src,
				     (unsigned long long)line,
				     (int)(name.n > 40 ? 40 : name.n), name.s);
		size_t k = name.n < sizeof(r.name) - 1 ? name.n : sizeof(r.name) - 1;
		memcpy(r.name, name.s, k);
	}
	if ((e = need_s64(s, an, "pid", &r.pid, src, line, err, errlen)) ||
	    (e = need_s64(s, an, "tid", &r.tid, src, line, err, errlen)) ||
	    (e = need_u64(s, an, "seq", 10, &r.seq, src, line, err, errlen)))
		return e;
	if ((e = call_args(&r, s, an, src, err, errlen))) {
		free(r.path);
		return e;
	}
	/* the result */
	const char *res = arrow + 4;
	size_t rn = (size_t)(s + n - res), k = 0;
	while (k < rn && res[k] != ' ')
		k++;
	struct tok rt = {res, k};
	if (tok_eq(rt, "?")) {
		r.unfinished = true;
	} else if (rt.n > 2 && rt.s[0] == '0' && rt.s[1] == 'x') {
		u64 v;
		if (!tok_u64(rt, 16, &v)) {
			free(r.path);
			FAIL("%s:%llu: bad result '%.*s'", src, (unsigned long long)line,
			     (int)rt.n, rt.s);
		}
		r.result = (s64)v;
		r.result_hex = true;
	} else if (!tok_s64(rt, &r.result)) {
		free(r.path);
		FAIL("%s:%llu: bad result '%.*s'", src, (unsigned long long)line,
		     (int)(rt.n > 30 ? 30 : rt.n), rt.s);
	}
	if (r.result < 0 && r.result >= -4095 && !memmem(res, rn, "errno=", 6)) {
		free(r.path);
		FAIL("%s:%llu: a negative result without errno=", src,
		     (unsigned long long)line);
	}
	int ee = add_rec(t, &r);
	if (ee)
		free(r.path);
	return ee;
}

int mt_parse(const char *text, size_t len, const char *src,
	     struct mt_trace *t, char *err, size_t errlen)
{
	struct lines l;
	const char *s;
	size_t n;
	struct mt_maps *cur = NULL;
	u64 want = 0;
	bool have_exec_maps = false;
	assert(t && (text || !len));
	memset(t, 0, sizeof(*t));
	lines_init(&l, text, len);
	while (lines_next(&l, &s, &n)) {
		if (l.last_unterminated && n)
			FAIL("%s:%llu: truncated: the file ends inside a line", src,
			     (unsigned long long)l.lineno);
		if (!n)
			continue;
		if (t->ended)
			FAIL("%s:%llu: text after '# end'", src,
			     (unsigned long long)l.lineno);
		if (cur && s[0] != '#') {
			if (cur->n >= want)
				FAIL("%s:%llu: more maps lines than vmas=%llu", src,
				     (unsigned long long)l.lineno,
				     (unsigned long long)want);
			if (VEC_RESERVE(cur->v, cur->cap, cur->n))
				FAIL("%s: out of memory", src);
			if (!parse_maps_line(s, n, &cur->v[cur->n]))
				FAIL("%s:%llu: not a /proc/PID/maps line", src,
				     (unsigned long long)l.lineno);
			cur->n++;
			continue;
		}
		if (s[0] == '#') {
			if (n >= 10 && !memcmp(s, "# mmtrace ", 10)) {
				u64 v;
				if (!tok_u64((struct tok){s + 10, n - 10}, 10, &v) || v != 1)
					FAIL("%s:%llu: mmtrace version %.*s, vmlab reads 1",
					     src, (unsigned long long)l.lineno,
					     (int)(n - 10), s + 10);
				t->version = 1;
			} else if (n >= 14 && !memcmp(s, "# maps-begin ", 13)) {
				if (cur)
					FAIL("%s:%llu: maps-begin inside a maps block", src,
					     (unsigned long long)l.lineno);
				struct tok w;
				if (!field(s, n, "vmas", &w) || !tok_u64(w, 10, &want) ||
				    want > 10000000)
					FAIL("%s:%llu: maps-begin without vmas=N", src,
					     (unsigned long long)l.lineno);
				if (!field(s, n, "when", &w) ||
				    !(tok_eq(w, "exec") || tok_eq(w, "exit")))
					FAIL("%s:%llu: maps-begin without when=exec|exit",
					     src, (unsigned long long)l.lineno);
				if (VEC_RESERVE(t->maps, t->capmaps, t->nmaps))
					FAIL("%s: out of memory", src);
				cur = &t->maps[t->nmaps++];
				memset(cur, 0, sizeof(*cur));
				cur->at_exec = tok_eq(w, "exec");
				cur->line = l.lineno;
				struct tok pid;
				if (field(s, n, "pid", &pid))
					tok_s64(pid, &cur->pid);
			} else if (n >= 10 && !memcmp(s, "# maps-end", 10)) {
				if (!cur)
					FAIL("%s:%llu: maps-end without maps-begin", src,
					     (unsigned long long)l.lineno);
				if (cur->n != want)
					FAIL("%s:%llu: maps block has %zu lines, vmas=%llu",
					     src, (unsigned long long)l.lineno, cur->n,
					     (unsigned long long)want);
				cur->end_line = l.lineno;
				struct mt_rec r;
				memset(&r, 0, sizeof(r));
				r.kind = MT_MAPS;
				r.line = cur->line;
				r.maps = t->nmaps - 1;
				if (cur->at_exec)
					have_exec_maps = true;
				cur = NULL;
				if (add_rec(t, &r))
					FAIL("%s: out of memory", src);
			} else if (n >= 5 && !memcmp(s, "# end", 5) &&
				   (n == 5 || s[5] == ' ')) {
				if (cur)
					FAIL("%s:%llu: '# end' inside a maps block", src,
					     (unsigned long long)l.lineno);
				t->ended = true;
			}
			continue;
		}
		if (!t->version)
			FAIL("%s:%llu: no '# mmtrace 1' header before the records",
			     src, (unsigned long long)l.lineno);
		if (!have_exec_maps)
			FAIL("%s:%llu: a record before the exec maps block", src,
			     (unsigned long long)l.lineno);
		int e = parse_record(t, s, n, l.lineno, src, err, errlen);
		if (e)
			return e;
		struct mt_rec *r = &t->rec[t->n - 1];
		if (r->kind < MT_SIGNAL) {
			t->calls++;
			/* seq: entry order; the same thread's only grows */
			size_t lim = t->n > 4096 ? t->n - 4096 : 0;
			for (size_t j = t->n - 1; j-- > lim;) {
				const struct mt_rec *q = &t->rec[j];
				if (q->kind >= MT_SIGNAL || q->tid != r->tid)
					continue;
				if (q->seq >= r->seq)
					FAIL("%s:%llu: seq=%llu after seq=%llu of the same "
					     "thread (line %llu): records reordered",
					     src, (unsigned long long)l.lineno,
					     (unsigned long long)r->seq,
					     (unsigned long long)q->seq,
					     (unsigned long long)q->line);
				break;
			}
		}
	}
	if (!t->version)
		FAIL("%s:%llu: empty or not an mmtrace (no '# mmtrace 1')", src,
		     (unsigned long long)l.lineno);
	if (cur)
		FAIL("%s:%llu: truncated inside a maps block", src,
		     (unsigned long long)l.lineno);
	if (!have_exec_maps)
		FAIL("%s:%llu: no exec maps block", src, (unsigned long long)l.lineno);
	if (!t->ended)
		FAIL("%s:%llu: truncated: no '# end' line", src,
		     (unsigned long long)l.lineno);
	return 0;
}
