/* SPDX-License-Identifier: MIT */
/*
 * Replay of an mmtrace on a vmlab user address space, and the comparison.
 *
 * The exec maps become the initial layout (each VMA as listed, files of
 * the size the trace shows standing for the files named), the layout
 * parameters are read off it (mmap_base: the end of the interpreter the
 * ELF loader placed just below it; start_brk: the end of the program's
 * image), then every call runs with its recorded arguments and its
 * result is compared with the kernel's.  When both succeed at different
 * addresses the model is put where the kernel was (and the divergence
 * counted), so that later records compare against the same layout.  At
 * the end the VMA list is compared with the exit maps, line by line, and
 * shown as a diff -u.
 */
#include <stdio.h>

#include "replay/mmtrace.h"
#include "vmlab/user.h"

struct mfile {
	char *path;
	struct vmlab_file *f;
	u64 size;
	char dev[12];
	u64 inode;
};

struct special {
	u64 start;
	char name[32];
};

struct mr {
	const struct vmlab_replay_opts *o;
	struct mt_trace t;
	struct rbuild b;
	struct vmlab_machine *m;
	struct vmlab_user_mm *mm;
	struct mfile *files;
	size_t nfiles, capfiles;
	struct special *sp;
	size_t nsp, capsp;
	u64 stack_start;
	bool vsyscall;
	u64 resyncs;
};

/* ------------------------------------------------------------- files */

/*
 * A file of a disk filesystem (ext4, xfs: f_op->get_unmapped_area is
 * thp_get_unmapped_area) or a shmem/device one (no alignment with the
 * default huge=never).
 */
static bool regular_path(const char *path)
{
	static const char *const shm[] = {"/memfd:", "/dev/", "/SYSV", "/proc/",
					  "/sys/", "/run/", "/tmp/"};
	for (size_t i = 0; i < sizeof(shm) / sizeof(shm[0]); i++)
		if (!strncmp(path, shm[i], strlen(shm[i])))
			return false;
	return path[0] == '/';
}

static struct mfile *file_for(struct mr *r, const char *path, u64 size)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].path, path)) {
			struct mfile *f = &r->files[i];
			if (size > f->size && f->f) {
				vmlab_ftruncate(f->f, size);
				f->size = size;
			}
			return f;
		}
	if (VEC_RESERVE(r->files, r->capfiles, r->nfiles))
		return NULL;
	struct mfile *f = &r->files[r->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path || vmlab_memfd_create(r->m, NULL, &f->f)) {
		free(f->path);
		return NULL;
	}
	vmlab_file_set_thp_area(f->f, regular_path(path));
	vmlab_ftruncate(f->f, size);
	f->size = size;
	r->nfiles++;
	return f;
}

static const struct mfile *file_by_id(const struct mr *r, u64 id)
{
	for (size_t i = 0; i < r->nfiles; i++)
		if (r->files[i].f && vmlab_file_id(r->files[i].f) == id)
			return &r->files[i];
	return NULL;
}

/* The identity (dev, inode) of each path, from every maps block. */
static void learn_ids(struct mr *r)
{
	for (size_t k = 0; k < r->t.nmaps; k++)
		for (size_t j = 0; j < r->t.maps[k].n; j++) {
			const struct mt_vma *v = &r->t.maps[k].v[j];
			if (!v->path || v->path[0] != '/' || !v->inode)
				continue;
			struct mfile *f = file_for(r, v->path, 0);
			if (f && !f->inode) {
				f->inode = v->inode;
				memcpy(f->dev, v->dev, sizeof(f->dev));
			}
		}
}

/* ------------------------------------------------------------- maps */

static int perms_prot(const char *p)
{
	return (p[0] == 'r' ? VMLAB_PROT_READ : 0) |
	       (p[1] == 'w' ? VMLAB_PROT_WRITE : 0) |
	       (p[2] == 'x' ? VMLAB_PROT_EXEC : 0);
}

static void add_special(struct mr *r, u64 start, const char *name)
{
	if (VEC_RESERVE(r->sp, r->capsp, r->nsp))
		return;
	r->sp[r->nsp].start = start;
	snprintf(r->sp[r->nsp].name, sizeof(r->sp[r->nsp].name), "%s", name);
	r->nsp++;
}

static bool is_bracket(const char *p)
{
	return p && p[0] == '[';
}

/* The layout after exec: the VMAs as listed and the layout parameters. */
static int build_exec(struct mr *r, const struct mt_maps *mp)
{
	assert(!r->mm && mp->at_exec);
	int err = vmlab_user_mm_create(r->m, &r->mm);
	if (err)
		return err;
	r->nsp = 0;
	r->stack_start = 0;
	u64 heap_s = 0, heap_e = 0, interp_end = 0;
	for (size_t i = 0; i < mp->n; i++) {
		const struct mt_vma *v = &mp->v[i];
		const char *p = v->path;
		if (p && !strcmp(p, "[vsyscall]")) {
			r->vsyscall = true;
			continue; /* the gate page: not a VMA of the process */
		}
		int prot = perms_prot(v->perms);
		int flags = v->perms[3] == 's' ? VMLAB_MAP_SHARED : VMLAB_MAP_PRIVATE;
		int kind = VMLAB_EXEC_VMA;
		struct vmlab_file *f = NULL;
		if (p && p[0] == '/' && v->inode) {
			struct mfile *mf = file_for(r, p, v->off + (v->end - v->start));
			if (!mf)
				return -VMLAB_ENOMEM;
			f = mf->f;
		} else if (p && !strcmp(p, "[stack]")) {
			kind = VMLAB_EXEC_STACK;
			r->stack_start = v->start;
		} else if (p && !strcmp(p, "[heap]")) {
			heap_s = v->start;
			heap_e = v->end;
		} else if (is_bracket(p) && strncmp(p, "[anon:", 6)) {
			kind = VMLAB_EXEC_SPECIAL;
			add_special(r, v->start, p);
		}
		err = vmlab_user_map_exec(r->mm, v->start, v->end, prot, flags, f,
					  f ? v->off : 0, kind);
		if (err) {
			rb_note(&r->b, "line %llu: exec VMA %#llx-%#llx refused by the model (%d)",
				(unsigned long long)mp->line, (unsigned long long)v->start,
				(unsigned long long)v->end, err);
			continue;
		}
	}
	/* the interpreter: a file other than the image's (the first run of
	 * touching VMAs), the highest below the stack */
	const char *image = mp->n ? mp->v[0].path : NULL;
	for (size_t i = 0; i < mp->n; i++) {
		const struct mt_vma *v = &mp->v[i];
		if (v->path && v->path[0] == '/' && v->inode &&
		    (!image || strcmp(v->path, image)) &&
		    (!r->stack_start || v->end <= r->stack_start) &&
		    v->end > interp_end)
			interp_end = v->end;
	}
	struct vmlab_user_layout l;
	vmlab_user_get_layout(r->mm, &l);
	if (heap_s) {
		l.start_brk = heap_s;
		l.brk = heap_e;
	} else if (mp->n) {
		/* the program's image: the run of touching VMAs from the lowest */
		u64 end = mp->v[0].end;
		for (size_t i = 1; i < mp->n && mp->v[i].start == end; i++)
			end = mp->v[i].end;
		l.start_brk = l.brk = end;
	}
	u64 dflt = l.mmap_base;
	/* mmap_base() is TASK_SIZE minus a gap of 128 MiB to 5/6 of it */
	if (interp_end && interp_end <= dflt && interp_end >= dflt / 6)
		l.mmap_base = interp_end;
	/* the legacy layout (ADDR_COMPAT_LAYOUT, vm.legacy_va_layout): the
	 * interpreter sits at the bottom-up base */
	for (size_t i = 0; i < mp->n; i++)
		if (mp->v[i].start == l.mmap_legacy_base && mp->v[i].inode &&
		    mp->v[i].path && (!image || strcmp(mp->v[i].path, image))) {
			l.topdown = false;
			rb_note(&r->b, "the interpreter sits at the legacy base %#llx: "
				       "bottom-up layout",
				(unsigned long long)l.mmap_legacy_base);
			break;
		}
	if (vmlab_user_set_layout(r->mm, &l))
		rb_note(&r->b, "the inferred layout was refused; defaults kept");
	rb_note(&r->b, "inferred from the exec maps (line %llu): start_brk %#llx%s, "
		       "mmap_base %#llx (%s)",
		(unsigned long long)mp->line, (unsigned long long)l.start_brk,
		heap_s ? " ([heap])" : " (end of the program image)",
		(unsigned long long)l.mmap_base,
		l.mmap_base == dflt ? "TASK_SIZE - 128 MiB, the default"
				    : "end of the interpreter, not the default");
	return 0;
}

static const char *special_at(const struct mr *r, u64 start)
{
	for (size_t i = 0; i < r->nsp; i++)
		if (r->sp[i].start == start)
			return r->sp[i].name;
	return NULL;
}

/* ------------------------------------------------------- maps text */

static void maps_line(struct sbuf *sb, u64 start, u64 end, const char *perms,
		      u64 off, const char *dev, u64 inode, const char *name)
{
	char head[160];
	int k = snprintf(head, sizeof(head), "%08llx-%08llx %.4s %08llx %s %llu ",
			 (unsigned long long)start, (unsigned long long)end, perms,
			 (unsigned long long)off, dev, (unsigned long long)inode);
	sb_putn(sb, head, (size_t)k);
	if (name) {
		for (; k < 73; k++)
			sb_putn(sb, " ", 1);
		sb_printf(sb, "%s", name);
	}
	sb_putn(sb, "\n", 1);
}

static char *kernel_maps_text(const struct mt_maps *mp)
{
	struct sbuf sb = {0};
	for (size_t i = 0; i < mp->n; i++) {
		const struct mt_vma *v = &mp->v[i];
		maps_line(&sb, v->start, v->end, v->perms, v->off, v->dev, v->inode,
			  v->path);
	}
	return sb_take(&sb);
}

/* A maps line of the model, before it is printed. */
struct mline {
	u64 start, end, off, inode, anon, file_id, flags, pgoff;
	char perms[5];
	const char *dev, *name;
};

static size_t model_lines(struct mr *r, struct mline **out)
{
	size_t n = (size_t)vmlab_user_nr_vmas(r->mm);
	struct vmlab_vma_info *vi = calloc(n + 1, sizeof(*vi));
	struct mline *ml = calloc(n + 2, sizeof(*ml));
	struct vmlab_user_layout l;
	*out = ml;
	if (!vi || !ml) {
		free(vi);
		return 0;
	}
	n = vmlab_user_vmas(r->mm, vi, n);
	vmlab_user_get_layout(r->mm, &l);
	for (size_t i = 0; i < n; i++) {
		const struct vmlab_vma_info *v = &vi[i];
		struct mline *m = &ml[i];
		m->perms[0] = (v->flags & VMLAB_VM_READ) ? 'r' : '-';
		m->perms[1] = (v->flags & VMLAB_VM_WRITE) ? 'w' : '-';
		m->perms[2] = (v->flags & VMLAB_VM_EXEC) ? 'x' : '-';
		m->perms[3] = (v->flags & VMLAB_VM_MAYSHARE) ? 's' : 'p';
		const struct mfile *f = v->file_id ? file_by_id(r, v->file_id) : NULL;
		const char *name = NULL;
		if (f)
			name = f->path;
		else if ((name = special_at(r, v->start)))
			;
		else if (v->start < l.brk && v->end > l.start_brk)
			name = "[heap]";
		else if (r->stack_start >= v->start && r->stack_start < v->end)
			name = "[stack]";
		m->start = v->start;
		m->end = v->end;
		m->off = f ? v->pgoff << 12 : 0;
		m->dev = f && f->inode ? f->dev : "00:00";
		m->inode = f ? f->inode : 0;
		m->name = name;
		m->anon = v->anon_vma_id;
		m->file_id = v->file_id;
		m->flags = v->flags;
		m->pgoff = v->pgoff;
	}
	if (r->vsyscall) {
		struct mline *m = &ml[n++];
		m->start = 0xffffffffff600000ULL;
		m->end = 0xffffffffff601000ULL;
		memcpy(m->perms, "--xp", 4);
		m->dev = "00:00";
		m->name = "[vsyscall]";
	}
	free(vi);
	return n;
}

static char *lines_text(const struct mline *ml, size_t n)
{
	struct sbuf sb = {0};
	for (size_t i = 0; i < n; i++)
		maps_line(&sb, ml[i].start, ml[i].end, ml[i].perms, ml[i].off,
			  ml[i].dev, ml[i].inode, ml[i].name);
	return sb_take(&sb);
}

/* The kernel VMA containing [s, e), or NULL. */
static const struct mt_vma *kernel_vma(const struct mt_maps *mp, u64 s, u64 e)
{
	for (size_t i = 0; i < mp->n; i++)
		if (mp->v[i].start <= s && mp->v[i].end >= e)
			return &mp->v[i];
	return NULL;
}

/*
 * VMA boundaries that only untraced page faults explain: the stack grown
 * below its exec-time start, and two model VMAs the kernel has as one,
 * identical but for their anon_vmas (each made by a fault the model did
 * replay, where the kernel's came from earlier faults the trace does not
 * record).  They are joined for the comparison; returns how many.  A
 * kernel boundary the model lacks is never explained away: maps does not
 * show every flag, so it stays a divergence.
 */
static u64 set_apart_faults(struct mline *ml, size_t *pn, const struct mt_maps *mp)
{
	size_t n = *pn, o = 0;
	u64 moved = 0;
	assert(ml && mp);
	for (size_t i = 0; i < n; i++) {
		struct mline *last = o ? &ml[o - 1] : NULL;
		const struct mline *c = &ml[i];
		if (last && last->end == c->start && last->flags == c->flags &&
		    last->file_id == c->file_id && last->anon && c->anon &&
		    last->anon != c->anon && !strcmp(last->perms, c->perms) &&
		    (!c->file_id || last->pgoff + ((last->end - last->start) >> 12) == c->pgoff) &&
		    kernel_vma(mp, last->start, c->end)) {
			last->end = c->end;
			moved++;
			continue;
		}
		ml[o++] = *c;
	}
	n = o;
	/* the stack grows by page faults, without a call */
	for (size_t i = 0; i < n; i++) {
		if (!ml[i].name || strcmp(ml[i].name, "[stack]"))
			continue;
		for (size_t k = 0; k < mp->n; k++) {
			const struct mt_vma *kv = &mp->v[k];
			if (kv->path && !strcmp(kv->path, "[stack]") &&
			    kv->end == ml[i].end && kv->start < ml[i].start &&
			    (i == 0 || ml[i - 1].end <= kv->start)) {
				ml[i].start = kv->start;
				moved++;
			}
		}
	}
	assert(n <= *pn + mp->n);
	*pn = n;
	return moved;
}

/* --------------------------------------------------------- diff -u */

struct tlines {
	const char **s;
	size_t *n;
	size_t count;
};

static int split_lines(const char *text, struct tlines *t)
{
	size_t cnt = 0;
	for (const char *p = text; *p; p++)
		cnt += *p == '\n';
	t->s = calloc(cnt + 1, sizeof(*t->s));
	t->n = calloc(cnt + 1, sizeof(*t->n));
	t->count = 0;
	if (!t->s || !t->n)
		return -VMLAB_ENOMEM;
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		t->s[t->count] = p;
		t->n[t->count++] = (size_t)(e - p);
		p = *e ? e + 1 : e;
	}
	return 0;
}

static bool line_eq(const struct tlines *a, size_t i, const struct tlines *b,
		    size_t j)
{
	return a->n[i] == b->n[j] && !memcmp(a->s[i], b->s[j], a->n[i]);
}

/*
 * diff -u of two texts by a longest common subsequence of lines; *same
 * gets the number of lines common to both.
 */
static char *diff_u(const char *ka, const char *kb, const char *la,
		    const char *lb, u64 *same)
{
	struct tlines a = {0}, b = {0};
	struct sbuf sb = {0};
	char *ops = NULL;
	u32 *dp = NULL;
	*same = 0;
	if (split_lines(ka, &a) || split_lines(kb, &b))
		goto out;
	size_t n = a.count, m = b.count;
	if ((n + 1) * (m + 1) > 64u << 20)
		goto out;
	dp = calloc((n + 1) * (m + 1), sizeof(*dp));
	ops = malloc(n + m + 1);
	if (!dp || !ops)
		goto out;
#define DP(i, j) dp[(i) * (m + 1) + (j)]
	for (size_t i = n; i-- > 0;)
		for (size_t j = m; j-- > 0;)
			DP(i, j) = line_eq(&a, i, &b, j) ? DP(i + 1, j + 1) + 1
			       : DP(i + 1, j) >= DP(i, j + 1) ? DP(i + 1, j)
							      : DP(i, j + 1);
	size_t no = 0, i = 0, j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && line_eq(&a, i, &b, j)) {
			ops[no++] = ' ';
			i++;
			j++;
		} else if (j < m && (i == n || DP(i, j + 1) >= DP(i + 1, j))) {
			ops[no++] = '+';
			j++;
		} else {
			ops[no++] = '-';
			i++;
		}
	}
#undef DP
	*same = dp[0];
	assert(*same <= n && *same <= m && no == n + m - *same);
	if (*same == n && n == m)
		goto out;
	sb_printf(&sb, "--- %s\n+++ %s\n", la, lb);
	/* hunks: changes with 3 lines of context */
	size_t k = 0;
	while (k < no) {
		while (k < no && ops[k] == ' ')
			k++;
		if (k >= no)
			break;
		size_t hs = k >= 3 ? k - 3 : 0, he = k;
		for (;;) {
			while (he < no && ops[he] != ' ')
				he++;
			size_t run = 0;
			while (he + run < no && ops[he + run] == ' ')
				run++;
			if (he + run >= no || run > 6) {
				he += run < 3 ? run : 3;
				break;
			}
			he += run;
		}
		size_t ai = 0, bi = 0;
		for (size_t q = 0; q < hs; q++) {
			ai += ops[q] != '+';
			bi += ops[q] != '-';
		}
		size_t ac = 0, bc = 0;
		for (size_t q = hs; q < he; q++) {
			ac += ops[q] != '+';
			bc += ops[q] != '-';
		}
		sb_printf(&sb, "@@ -%zu,%zu +%zu,%zu @@\n", ai + (ac > 0), ac,
			  bi + (bc > 0), bc);
		for (size_t q = hs; q < he; q++) {
			if (ops[q] == '+') {
				sb_printf(&sb, "+%.*s\n", (int)b.n[bi], b.s[bi]);
				bi++;
			} else {
				sb_printf(&sb, "%c%.*s\n", ops[q], (int)a.n[ai], a.s[ai]);
				ai++;
				bi += ops[q] == ' ';
			}
		}
		k = he;
	}
out:
	free(dp);
	free(ops);
	free(a.s);
	free(a.n);
	free(b.s);
	free(b.n);
	return sb_take(&sb);
}

/* ------------------------------------------------------------ calls */

/* The model's VMAs within 64 KiB of [lo, hi), as maps lines. */
static void view(struct sbuf *sb, struct mr *r, u64 lo, u64 hi,
		 const char *title)
{
	u64 a = lo > (1u << 16) ? lo - (1u << 16) : 0, b = hi + (1u << 16);
	struct mline *ml;
	size_t n = model_lines(r, &ml);
	struct sbuf part = {0};
	int shown = 0;
	for (size_t i = 0; i < n && shown < 12; i++) {
		if (ml[i].end <= a || ml[i].start >= b)
			continue;
		sb_putn(&part, "    ", 4);
		maps_line(&part, ml[i].start, ml[i].end, ml[i].perms, ml[i].off,
			  ml[i].dev, ml[i].inode, ml[i].name);
		shown++;
	}
	free(ml);
	sb_printf(sb, "  %s:\n", title);
	char *p = sb_take(&part);
	sb_printf(sb, "%s", shown ? p : "    (nothing mapped there)\n");
	free(p);
}

/* The model's own result of a call whose address differs from the
 * kernel's, before the model is put where the kernel's result says: the
 * views then cover both addresses. */
static void own_view(struct sbuf *sb, struct mr *r, s64 got, u64 len,
		     u64 *lo, u64 *hi)
{
	if (!rb_want_div(&r->b) || got < 0)
		return;
	if ((u64)got < *lo)
		*lo = (u64)got;
	if ((u64)got + len > *hi && (u64)got + len > (u64)got)
		*hi = (u64)got + len;
	view(sb, r, *lo, *hi, "vmlab after the call (its own result)");
}

static void fmt_result(char *buf, size_t n, s64 v, bool addr)
{
	if (v < 0 && v >= -4095)
		snprintf(buf, n, "%lld", (long long)v);
	else if (addr)
		snprintf(buf, n, "%#llx", (unsigned long long)v);
	else
		snprintf(buf, n, "%lld", (long long)v);
}

static void apart_row(struct mr *r, const char *q, const char *note)
{
	struct vmlab_replay_row *row = rb_row(&r->b, q);
	row->apart = true;
	row->compared++;
	snprintf(row->note, sizeof(row->note), "%s", note);
	snprintf(row->kernel, sizeof(row->kernel), "%llu calls",
		 (unsigned long long)row->compared);
	snprintf(row->model, sizeof(row->model), "not replayed");
}

static bool is_fixed(u64 flags)
{
	return flags & (VMLAB_MAP_FIXED | VMLAB_MAP_FIXED_NOREPLACE);
}

static void do_call(struct mr *r, size_t i)
{
	const struct mt_rec *c = &r->t.rec[i];
	struct vmlab_user_mm *mm = r->mm;
	s64 got = 0;
	assert(mm && c->kind < MT_SIGNAL);
	bool addr_result = false, compare = true;
	u64 lo = c->addr, hi = c->addr + c->len;
	/* the view is around where the kernel's result points */
	if ((c->kind == MT_MMAP || c->kind == MT_MREMAP) && c->result >= 0 &&
	    !c->unfinished) {
		u64 k = (u64)c->result;
		u64 kl = c->kind == MT_MREMAP ? c->new_len : c->len;
		if (c->kind == MT_MMAP || k < lo)
			lo = k;
		if (k + kl > hi || c->kind == MT_MMAP)
			hi = k + kl;
	}
	if (c->kind == MT_MREMAP && c->addr + c->old_len > hi)
		hi = c->addr + c->old_len;
	struct sbuf before = {0}, own = {0};
	if (rb_want_div(&r->b))
		view(&before, r, lo, hi, "vmlab before the call");
	switch (c->kind) {
	case MT_MMAP: {
		struct vmlab_file *f = NULL;
		u64 flags = c->flags;
		if (!(flags & VMLAB_MAP_ANONYMOUS) && c->fd >= 0 && c->path) {
			if (!strcmp(c->path, "/dev/zero") && !(flags & VMLAB_MAP_SHARED))
				flags |= VMLAB_MAP_ANONYMOUS;
			else {
				struct mfile *mf = file_for(r, c->path, c->fsize);
				f = mf ? mf->f : NULL;
				if (mf && c->fsize != mf->size) {
					vmlab_ftruncate(mf->f, c->fsize);
					mf->size = c->fsize;
				}
			}
		}
		got = vmlab_mmap(mm, c->addr, c->len, (int)c->prot, (int)flags, f,
				 c->off);
		addr_result = true;
		if (!is_fixed(c->flags) && c->result >= 0 && !c->unfinished) {
			struct vmlab_replay_row *pl =
				rb_row(&r->b, "mmap address chosen (not FIXED)");
			row_count(pl, got == c->result);
		}
		if (!c->unfinished && got != c->result) {
			own_view(&own, r, got, c->len, &lo, &hi);
			/* put the model where the kernel was: a mapping the
			 * kernel made elsewhere or refused is undone (only when
			 * no MAP_FIXED replaced anything), one the kernel made
			 * is made there */
			bool undo = got >= 0 && !is_fixed(c->flags);
			if (undo)
				vmlab_munmap(mm, (u64)got, c->len);
			if (c->result >= 0 && (undo || got < 0))
				vmlab_mmap(mm, (u64)c->result, c->len, (int)c->prot,
					   (int)(flags | VMLAB_MAP_FIXED), f, c->off);
			r->resyncs += undo || (got < 0 && c->result >= 0);
		}
		break;
	}
	case MT_MUNMAP:
		got = vmlab_munmap(mm, c->addr, c->len);
		break;
	case MT_MPROTECT:
		got = vmlab_mprotect(mm, c->addr, c->len, (int)c->prot);
		break;
	case MT_MADVISE:
		got = vmlab_madvise(mm, c->addr, c->len, (int)c->advice);
		break;
	case MT_MLOCK:
		got = vmlab_mlock(mm, c->addr, c->len);
		break;
	case MT_MLOCK2:
		got = vmlab_mlock2(mm, c->addr, c->len, (unsigned)c->flags);
		break;
	case MT_MUNLOCK:
		got = vmlab_munlock(mm, c->addr, c->len);
		break;
	case MT_MREMAP:
		got = vmlab_mremap(mm, c->addr, c->old_len, c->new_len, (int)c->flags,
				   c->new_addr);
		addr_result = true;
		if (!(c->flags & VMLAB_MREMAP_FIXED) && c->result >= 0 &&
		    (c->flags & VMLAB_MREMAP_MAYMOVE) && !c->unfinished) {
			struct vmlab_replay_row *pl =
				rb_row(&r->b, "mremap address chosen (MAYMOVE)");
			row_count(pl, got == c->result);
		}
		if (got >= 0 && c->result >= 0 && got != c->result && !c->unfinished) {
			own_view(&own, r, got, c->new_len, &lo, &hi);
			vmlab_mremap(mm, (u64)got, c->new_len, c->new_len,
				     VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED,
				     (u64)c->result);
			r->resyncs++;
		}
		break;
	case MT_BRK:
		got = vmlab_brk(mm, c->addr);
		addr_result = true;
		{
			struct vmlab_user_layout l;
			vmlab_user_get_layout(mm, &l);
			lo = l.start_brk;
			hi = l.brk + VMLAB_PAGE_SIZE;
		}
		break;
	case MT_CLONE:
	case MT_CLONE3:
	case MT_FORK:
	case MT_VFORK:
		compare = false;
		if (c->kind == MT_VFORK || (c->flags & 0x100)) {
			apart_row(r, "clone of a thread (CLONE_VM)",
				  "shares the mm: nothing to replay");
		} else if (c->result > 0) {
			/* fork: copy the mm; the child is not traced, it goes */
			struct vmlab_user_mm *child = NULL;
			int e = vmlab_fork(mm, &child);
			struct vmlab_replay_row *fr = rb_row(&r->b, "fork (child not traced)");
			row_count(fr, e == 0);
			snprintf(fr->note, sizeof(fr->note),
				 "the mm is copied (anon_vma, guard markers, WIPEONFORK); the child's pid is not compared");
			vmlab_user_mm_destroy(child);
		}
		break;
	default:
		compare = false;
		break;
	}
	if (!compare) {
		free(sb_take(&before));
		free(sb_take(&own));
		return;
	}
	const char *kname = mt_kind_name[c->kind];
	if (c->unfinished) {
		apart_row(r, "unfinished calls", "the thread died inside the call: no result to compare");
		free(sb_take(&before));
		free(sb_take(&own));
		return;
	}
	struct vmlab_replay_row *row = rb_row(&r->b, kname);
	bool ok = got == c->result;
	row_count(row, ok);
	if (c->result < 0) {
		struct vmlab_replay_row *er = rb_row(&r->b, "error codes");
		row_count(er, ok);
	}
	if (!ok) {
		struct sbuf sb = {0};
		char kr[32], mr_[32];
		fmt_result(kr, sizeof(kr), c->result, addr_result);
		fmt_result(mr_, sizeof(mr_), got, addr_result);
		sb_printf(&sb, "%s seq=%llu addr=%#llx len=%#llx: kernel -> %s, vmlab -> %s%s\n",
			  kname, (unsigned long long)c->seq,
			  (unsigned long long)c->addr,
			  (unsigned long long)(c->kind == MT_MREMAP ? c->new_len : c->len),
			  kr, mr_,
			  (c->kind == MT_MMAP && !is_fixed(c->flags)) ||
					  (c->kind == MT_MREMAP && got >= 0 && c->result >= 0)
				  ? " (the model was put where the kernel's result says)"
				  : "");
		if (before.s)
			sb_putn(&sb, before.s, before.n);
		if (own.s)
			sb_putn(&sb, own.s, own.n);
		view(&sb, r, lo, hi, "vmlab after the call (the kernel's result applied)");
		rb_div(&r->b, c->line, sb_take(&sb));
	}
	free(sb_take(&before));
	free(sb_take(&own));
}

static void do_signal(struct mr *r, size_t i)
{
	const struct mt_rec *c = &r->t.rec[i];
	assert(r->mm && c->kind == MT_SIGNAL);
	if (c->signo != 11 && c->signo != 7) {
		apart_row(r, "other signals", "not from a memory access (SIGCHLD...)");
		return;
	}
	struct vmlab_siginfo si = {0};
	u8 byte = 0;
	int cpu = vmlab_user_cpu(r->mm);
	int got = vmlab_user_access_si(r->mm, cpu, VMLAB_READ, c->sigaddr, &byte, 1, &si);
	if (got == VMLAB_OK)
		got = vmlab_user_access_si(r->mm, cpu, VMLAB_WRITE, c->sigaddr, &byte, 1, &si);
	struct vmlab_replay_row *row = rb_row(&r->b, "signals (access replayed)");
	bool ok = got == (int)c->signo && (u64)si.code == c->code;
	row_count(row, ok);
	snprintf(row->note, sizeof(row->note),
		 "the access is not recorded: a read, then a write, at the fault address");
	if (!ok) {
		struct sbuf sb = {0};
		sb_printf(&sb, "signal at %#llx: kernel sig=%llu code=%llu, vmlab sig=%d code=%d\n",
			  (unsigned long long)c->sigaddr, (unsigned long long)c->signo,
			  (unsigned long long)c->code, got, si.code);
		view(&sb, r, c->sigaddr, c->sigaddr + 1, "vmlab");
		rb_div(&r->b, c->line, sb_take(&sb));
	}
}

static void final_maps(struct mr *r, const struct mt_maps *mp)
{
	struct vmlab_replay_result *res = r->b.r;
	free(res->kernel_maps);
	free(res->model_maps);
	free(res->maps_diff);
	struct mline *ml;
	size_t mn = model_lines(r, &ml);
	res->kernel_maps = kernel_maps_text(mp);
	res->model_maps = lines_text(ml, mn);
	u64 same = 0, same_adj = 0;
	res->maps_diff = diff_u(res->kernel_maps, res->model_maps, "kernel", "vmlab", &same);
	/* the comparison with anon_vma-only boundaries set apart */
	/* room for one cut per kernel boundary */
	struct mline *adj = ml ? realloc(ml, (mn + mp->n + 2) * sizeof(*ml)) : NULL;
	size_t an = mn;
	u64 apart = 0;
	if (adj) {
		ml = adj;
		apart = set_apart_faults(ml, &an, mp);
		char *t = lines_text(ml, an);
		free(diff_u(res->kernel_maps, t, "kernel", "vmlab", &same_adj));
		free(t);
	}
	free(ml);
	u64 kn = mp->n;
	struct vmlab_replay_row *cnt = rb_row(&r->b, "final VMA count");
	row_count(cnt, kn == (apart ? an : mn));
	snprintf(cnt->kernel, sizeof(cnt->kernel), "%llu", (unsigned long long)kn);
	snprintf(cnt->model, sizeof(cnt->model), "%llu", (unsigned long long)mn);
	struct vmlab_replay_row *ln = rb_row(&r->b, "final maps lines equal");
	u64 lines = apart ? (kn > an ? kn : an) : (kn > mn ? kn : mn);
	ln->compared += lines;
	ln->agreed += apart ? same_adj : same;
	snprintf(ln->kernel, sizeof(ln->kernel), "%llu lines", (unsigned long long)kn);
	snprintf(ln->model, sizeof(ln->model), "%llu equal", (unsigned long long)(apart ? same_adj : same));
	snprintf(ln->note, sizeof(ln->note),
		 "start, end, perms, shared/private, offset, file (dev:inode from the traces' maps)%s",
		 apart ? "; boundaries from untraced faults set apart" : "");
	if (apart) {
		struct vmlab_replay_row *ar = rb_row(&r->b, "VMA boundaries from faults");
		ar->apart = true;
		ar->compared += apart;
		snprintf(ar->kernel, sizeof(ar->kernel), "%llu differ", (unsigned long long)apart);
		snprintf(ar->model, sizeof(ar->model), "faults not traced");
		snprintf(ar->note, sizeof(ar->note),
			 "anon_vma merges and stack growth: page faults the trace does not record; "
			 "compared with them set apart (raw VMA count: %llu vs %llu)",
			 (unsigned long long)kn, (unsigned long long)mn);
		snprintf(cnt->note, sizeof(cnt->note), "compared with the boundaries from untraced faults set apart");
	}
}

static int run(struct mr *r)
{
	bool exec_pending = false;
	for (size_t i = 0; i < r->t.n; i++) {
		const struct mt_rec *c = &r->t.rec[i];
		if (c->kind == MT_MAPS) {
			const struct mt_maps *mp = &r->t.maps[c->maps];
			if (mp->at_exec) {
				if (r->mm)
					vmlab_user_mm_destroy(r->mm);
				r->mm = NULL;
				int e = build_exec(r, mp);
				if (e)
					return e;
				exec_pending = false;
			} else if (r->mm) {
				final_maps(r, mp);
			}
			continue;
		}
		if (!r->mm)
			continue;
		if (c->kind == MT_EXECVE) {
			exec_pending = c->result == 0;
			continue;
		}
		(void)exec_pending;
		if (c->kind == MT_SIGNAL) {
			do_signal(r, i);
			continue;
		}
		if (c->kind == MT_THREAD_NEW || c->kind == MT_THREAD_EXIT ||
		    c->kind == MT_PROCESS_NEW)
			continue;
		if (c->kind == MT_OTHER_CALL) {
			char q[64];
			snprintf(q, sizeof(q), "%s (not modelled)", c->name);
			apart_row(r, q, "a call vmlab does not model: its effect on the layout is missing");
			continue;
		}
		if (c->kind == MT_PKEY_MPROTECT || c->kind == MT_MLOCKALL ||
		    c->kind == MT_MUNLOCKALL) {
			char q[64];
			snprintf(q, sizeof(q), "%s (not modelled)", mt_kind_name[c->kind]);
			apart_row(r, q, c->kind == MT_PKEY_MPROTECT
						? "protection keys are not modelled"
						: "mlockall/munlockall are not modelled");
			continue;
		}
		do_call(r, i);
	}
	return 0;
}

int replay_mm(const char *text, size_t len, const char *source,
	      const struct vmlab_replay_opts *o,
	      struct vmlab_replay_result **out, char *err, size_t errlen,
	      bool parse_only, u64 *nrec)
{
	struct mr r;
	memset(&r, 0, sizeof(r));
	r.o = o;
	const char *src = source ? source : "-";
	int e = mt_parse(text, len, src, &r.t, err, errlen);
	if (nrec)
		*nrec = r.t.n;
	if (e || parse_only) {
		mt_free(&r.t);
		return e;
	}
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.nr_cpus = o->nr_cpus > 0 ? o->nr_cpus : 2;
	cfg.mem_bytes = 4 * VMLAB_GiB;
	cfg.checker = false;
	e = vmlab_boot(&cfg, &r.m);
	if (!e)
		e = rb_init(&r.b, VMLAB_TRACE_MM, src, o->max_divergences);
	if (!e) {
		vmlab_set_quiet(r.m, true);
		learn_ids(&r);
		e = run(&r);
	}
	if (!e) {
		r.b.r->records = r.t.calls;
		if (r.b.overflow_rows)
			rb_note(&r.b, "%llu records of call kinds past the first %d "
				      "quantities are not in the table",
				(unsigned long long)r.b.overflow_rows, RB_MAX_ROWS);
		if (r.resyncs)
			rb_note(&r.b, "%llu times the model's mapping differed from the "
				      "kernel's result: the model was put where the kernel's "
				      "result says, to compare the records after it",
				(unsigned long long)r.resyncs);
		rb_note(&r.b, "not in the trace, not replayed: page faults and "
			      "accesses (they decide which VMAs have an anon_vma, "
			      "which decides merges), file contents");
		for (size_t i = 0; i < r.b.r->nrows; i++) {
			struct vmlab_replay_row *w = &r.b.r->rows[i];
			if (w->apart || w->kernel[0])
				continue;
			snprintf(w->kernel, sizeof(w->kernel), "%llu calls",
				 (unsigned long long)w->compared);
			snprintf(w->model, sizeof(w->model), "%llu equal",
				 (unsigned long long)w->agreed);
		}
	}
	if (r.mm)
		vmlab_user_mm_destroy(r.mm);
	for (size_t i = 0; i < r.nfiles; i++) {
		vmlab_file_put(r.files[i].f);
		free(r.files[i].path);
	}
	free(r.files);
	free(r.sp);
	vmlab_machine_destroy(r.m);
	mt_free(&r.t);
	if (e) {
		set_err(err, errlen, "%s: replay failed (%d)", src, e);
		if (r.b.r)
			vmlab_replay_free(r.b.r);
		return e;
	}
	*out = r.b.r;
	return 0;
}
