/* SPDX-License-Identifier: MIT */
/*
 * Replay of a tracefs vmalloc/tlb trace on a fresh machine, and the
 * comparison, record by record.
 *
 * Each allocation is placed where the kernel put it (the search window
 * narrowed to exactly [va_start, va_start + size), the traced alignment
 * kept); each free goes through vmlab's vfree() and lazy path; purges
 * happen where vmlab's own policy decides (the drain worker runs after
 * the record that queued it, vm_unmap_aliases() and VM_FLUSH_RESET_PERMS
 * where the model calls them).  Areas in the execmem window (vstart above
 * the vmalloc range: modules, BPF) are execmem allocations: on x86-64
 * execmem_alloc() gives them VM_FLUSH_RESET_PERMS, and their users make
 * them ROX with set_memory_rox(), whose CPA calls vm_unmap_aliases().
 *
 * What the trace cannot show is inferred and said so: the lazy pages and
 * areas waiting at the first record, the size of areas allocated before
 * the trace (from the growth of nr_lazy when they are freed).
 */
#include <stdio.h>

#include "replay/tracefs.h"

#define PG 4096ULL
/* The model machine's RAM; areas are backed by real frames, so nothing
 * larger than a quarter of it is recreated (a hostile trace cannot make
 * the replay allocate without bound). */
#define REPLAY_MEM (8 * VMLAB_GiB)
#define MAX_AREA_PAGES (REPLAY_MEM / 4 / PG)
#define MAX_INIT_AREAS (1u << 20)

struct kpurge {
	u64 rec;	/* index in the trace */
	u64 after_free; /* frees replayed before it */
	u64 start, end, num;
	bool worker;
	bool inferred; /* depends on state inferred from this purge */
	bool full;     /* flush_tlb_all expected / done */
	bool matched;
};

struct vr {
	struct vmlab_machine *m;
	const struct vmlab_replay_opts *o;
	struct tfs_trace t;
	const char *text;
	struct rbuild b;
	/* listener state */
	bool quiet;	/* inferring: events are not the trace's */
	bool in_work;	/* running deferred work: the purge worker */
	u64 frees_done;
	bool have_free;
	u64 ev_nr_lazy, ev_nr_lazy_max;
	struct kpurge *vp; /* vmlab's purges */
	size_t nvp, capvp;
	u64 last_kr, last_krf;
	/* inferred state */
	u64 init_pages, init_areas;
	size_t first_purge; /* index in t.rec, or SIZE_MAX */
	/* the trace's vmalloc range: how it was found, records moved */
	char range_how[96];
	u64 moved;
};

/* ------------------------------------------------------------ events */

static void on_event(void *ctx, const struct vmlab_event *ev)
{
	struct vr *v = ctx;
	if (ev->type != VMLAB_EV_USER || !ev->name || v->quiet)
		return;
	u64 kr = vmlab_counter(v->m, -1, VMLAB_C_flush_kernel_range);
	u64 krf = vmlab_counter(v->m, -1, VMLAB_C_flush_kernel_range_full) +
		  vmlab_counter(v->m, -1, VMLAB_C_flush_all);
	if (!strcmp(ev->name, "free_vmap_area_noflush")) {
		v->frees_done++;
		v->have_free = true;
		v->ev_nr_lazy = ev->b;
		v->ev_nr_lazy_max = ev->c;
	} else if (!strcmp(ev->name, "purge_vmap_area_lazy")) {
		if (VEC_RESERVE(v->vp, v->capvp, v->nvp))
			return;
		struct kpurge *p = &v->vp[v->nvp++];
		memset(p, 0, sizeof(*p));
		p->after_free = v->frees_done;
		p->start = ev->a;
		p->end = ev->b;
		p->num = ev->c;
		p->worker = v->in_work;
		p->full = krf > v->last_krf;
		(void)kr;
	}
	v->last_kr = kr;
	v->last_krf = krf;
}

/* -------------------------------------------------------- context */

static void put_line(struct sbuf *sb, const struct vr *v, size_t i,
		     const char *mark)
{
	const struct tfs_rec *r = &v->t.rec[i];
	sb_printf(sb, "%s %6llu: %s-%d [%03u] ", mark,
		  (unsigned long long)r->line, r->comm, r->pid, r->cpu);
	switch (r->kind) {
	case TFS_ALLOC:
		sb_printf(sb, "alloc_vmap_area va_start=%#llx size=%llu align=%llu\n",
			  (unsigned long long)r->a, (unsigned long long)r->b,
			  (unsigned long long)r->c);
		break;
	case TFS_FREE:
		sb_printf(sb, "free_vmap_area_noflush va_start=%#llx nr_lazy=%llu nr_lazy_max=%llu\n",
			  (unsigned long long)r->a, (unsigned long long)r->b,
			  (unsigned long long)r->c);
		break;
	case TFS_PURGE:
		sb_printf(sb, "purge_vmap_area_lazy start=%#llx end=%#llx num_purged=%llu\n",
			  (unsigned long long)r->a, (unsigned long long)r->b,
			  (unsigned long long)r->c);
		break;
	default:
		sb_printf(sb, "tlb_flush pages:%lld reason:%s\n",
			  (long long)r->a, tfs_tlb_reason_name[r->reason]);
	}
}

/* The vmalloc records around i (tlb_flush ones left out). */
static void context(struct sbuf *sb, const struct vr *v, size_t i)
{
	size_t lo = i, hi = i;
	for (int k = 0; k < 3 && lo > 0;) {
		lo--;
		if (v->t.rec[lo].kind != TFS_TLB)
			k++;
	}
	for (int k = 0; k < 3 && hi + 1 < v->t.n;) {
		hi++;
		if (v->t.rec[hi].kind != TFS_TLB)
			k++;
	}
	for (size_t j = lo; j <= hi; j++)
		if (v->t.rec[j].kind != TFS_TLB || j == i)
			put_line(sb, v, j, j == i ? ">>" : "  ");
}

/* ---------------------------------------------------------- inference */

static bool in_vmalloc(u64 a)
{
	return a >= VMLAB_VMALLOC_START && a <= VMLAB_VMALLOC_END;
}

/* Sizes of areas allocated in the trace, for the frees: open hashing. */
struct amap {
	u64 *key, *val;
	size_t cap;
};

static size_t amap_slot(const struct amap *h, u64 k)
{
	u64 x = k * 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 20) & (h->cap - 1);
}

static int amap_put(struct amap *h, u64 k, u64 val, size_t *nused)
{
	if (2 * (*nused + 1) > h->cap) {
		struct amap n = {0};
		n.cap = h->cap ? 2 * h->cap : 4096;
		n.key = calloc(n.cap, sizeof(u64));
		n.val = calloc(n.cap, sizeof(u64));
		if (!n.key || !n.val) {
			free(n.key);
			free(n.val);
			return -VMLAB_ENOMEM;
		}
		for (size_t i = 0; i < h->cap; i++)
			if (h->key[i]) {
				size_t s = amap_slot(&n, h->key[i]);
				while (n.key[s])
					s = (s + 1) & (n.cap - 1);
				n.key[s] = h->key[i];
				n.val[s] = h->val[i];
			}
		free(h->key);
		free(h->val);
		*h = n;
	}
	size_t s = amap_slot(h, k);
	while (h->key[s] && h->key[s] != k)
		s = (s + 1) & (h->cap - 1);
	if (!h->key[s])
		(*nused)++;
	h->key[s] = k;
	h->val[s] = val;
	return 0;
}

static u64 amap_get(const struct amap *h, u64 k)
{
	if (!h->cap)
		return 0;
	size_t s = amap_slot(h, k);
	while (h->key[s]) {
		if (h->key[s] == k)
			return h->val[s];
		s = (s + 1) & (h->cap - 1);
	}
	return 0;
}

struct ival {
	u64 s, e;
};

static int ival_cmp(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;
	return x->s < y->s ? -1 : x->s > y->s;
}

/*
 * The state before the first record: lazy pages from the first free's
 * nr_lazy, lazy areas from the first purge's num_purged, placed (as
 * freed areas of vmlab) inside the first purge's range where no record
 * before that purge touches the address space.
 */
static int infer_initial(struct vr *v)
{
	struct tfs_trace *t = &v->t;
	struct amap sizes = {0};
	size_t nused = 0, first_free = SIZE_MAX, frees_before = 0;
	u64 prev_lazy = 0;
	bool prev_ok = false;
	u64 first_size = 0, est = 0;
	struct ival *res = NULL;
	size_t nres = 0;
	int err = 0;
	v->first_purge = SIZE_MAX;
	res = malloc((t->n + 1) * sizeof(*res));
	if (!res)
		return -VMLAB_ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		const struct tfs_rec *r = &t->rec[i];
		if (r->kind == TFS_ALLOC && !r->f) {
			if ((err = amap_put(&sizes, r->a, r->b, &nused)))
				goto out;
			if (v->first_purge == SIZE_MAX)
				res[nres++] = (struct ival){r->a, r->a + r->b};
		} else if (r->kind == TFS_FREE) {
			u64 known = amap_get(&sizes, r->a);
			if (first_free == SIZE_MAX) {
				first_free = i;
				first_size = known / PG;
			} else if (!known && !est && prev_ok && r->b > prev_lazy) {
				est = r->b - prev_lazy; /* a pre-trace area */
			}
			if (!known && v->first_purge == SIZE_MAX)
				res[nres++] = (struct ival){r->a, r->a + PG};
			if (v->first_purge == SIZE_MAX)
				frees_before++;
			prev_lazy = r->b;
			prev_ok = true;
		} else if (r->kind == TFS_PURGE) {
			if (v->first_purge == SIZE_MAX)
				v->first_purge = i;
			prev_ok = false;
		}
	}
	if (first_free == SIZE_MAX)
		goto out;
	const struct tfs_rec *f1 = &t->rec[first_free];
	if (!first_size) {
		first_size = est ? est : 1;
		rb_note(&v->b,
			"line %llu: the first freed area (%#llx) was allocated "
			"before the trace; its size is assumed %llu pages (%s)",
			(unsigned long long)f1->line, (unsigned long long)f1->a,
			(unsigned long long)first_size,
			est ? "as the next pre-trace area's, from nr_lazy's growth"
			    : "nothing better is known");
	}
	assert(f1->kind == TFS_FREE && first_size > 0);
	v->init_pages = f1->b > first_size ? f1->b - first_size : 0;
	if (v->first_purge != SIZE_MAX) {
		u64 np = t->rec[v->first_purge].c;
		v->init_areas = np > frees_before ? np - frees_before : 0;
	} else {
		v->init_areas = (v->init_pages + first_size - 1) / first_size;
	}
	if (v->init_pages && !v->init_areas)
		v->init_areas = 1;
	if (v->init_areas > v->init_pages)
		v->init_areas = v->init_pages;
	if (v->init_pages > MAX_AREA_PAGES || v->init_areas > MAX_INIT_AREAS) {
		rb_note(&v->b, "the inferred pre-trace lazy state (%llu pages, %llu "
			       "areas) is too large to recreate: left out",
			(unsigned long long)v->init_pages,
			(unsigned long long)v->init_areas);
		v->init_pages = v->init_areas = 0;
	}
	rb_note(&v->b,
		"inferred: %llu lazy pages in %llu areas waited for a purge "
		"before the first record (from nr_lazy at line %llu%s)",
		(unsigned long long)v->init_pages,
		(unsigned long long)v->init_areas,
		(unsigned long long)f1->line,
		v->first_purge != SIZE_MAX ? " and num_purged of the first purge"
					   : "; no purge, so the area count is a guess");
	if (!v->init_pages)
		goto out;
	/* place them: inside the first purge's range if it is a vmalloc one */
	u64 lo = VMLAB_VMALLOC_START + 16 * VMLAB_MiB, hi = VMLAB_VMALLOC_END;
	if (v->first_purge != SIZE_MAX) {
		const struct tfs_rec *p = &t->rec[v->first_purge];
		if (in_vmalloc(p->a) && in_vmalloc(p->b - 1) && p->a < p->b) {
			lo = p->a;
			hi = p->b;
		}
	}
	qsort(res, nres, sizeof(*res), ival_cmp);
	u64 q = v->init_pages / v->init_areas, rem = v->init_pages % v->init_areas;
	u64 addr = lo, placed = 0, outside = 0;
	size_t ri = 0;
	/* failed tries, all areas together: a hostile trace cannot make the
	 * search areas * tries long (skipping a clash only moves forward) */
	u64 budget = 1u << 16;
	v->quiet = true;
	for (u64 k = 0; k < v->init_areas && budget; k++) {
		u64 size = (q + (k < rem)) * PG;
		while (budget && addr + size > addr &&
		       addr + size - 1 <= VMLAB_VMALLOC_END) {
			while (ri < nres && res[ri].e <= addr)
				ri++;
			bool clash = false;
			for (size_t j = ri; j < nres && res[j].s < addr + size; j++)
				if (res[j].e > addr) {
					clash = true;
					addr = res[j].e;
				}
			if (clash) {
				addr = (addr + PG - 1) & ~(PG - 1);
				continue;
			}
			u64 a = vmlab_vmalloc_node_range(
				v->m, 0, size, 1, addr, addr + size,
				VMLAB_PAGE_KERNEL, VMLAB_VM_NO_GUARD,
				"replay: before the trace");
			if (a == addr) {
				vmlab_vfree(v->m, 0, a);
				placed++;
				if (addr + size > hi)
					outside++;
				addr += size;
				break;
			}
			if (a)
				vmlab_vfree(v->m, 0, a);
			addr += PG;
			budget--;
		}
	}
	v->quiet = false;
	if (placed < v->init_areas || outside)
		rb_note(&v->b,
			"%llu of the inferred areas could not be placed, %llu "
			"lie outside the first purge's range",
			(unsigned long long)(v->init_areas - placed),
			(unsigned long long)outside);
out:
	free(res);
	free(sizes.key);
	free(sizes.val);
	return err;
}

/* --------------------------------------------------------- the replay */

static int rec_cpu(const struct vr *v, const struct tfs_rec *r)
{
	int n = vmlab_nr_cpus(v->m);
	return r->cpu < n ? r->cpu : r->cpu % n;
}

static bool is_execmem(const struct tfs_rec *r)
{
	return r->d > VMLAB_VMALLOC_END;
}

static void do_alloc(struct vr *v, size_t i)
{
	assert(v && i < v->t.n && v->t.rec[i].kind == TFS_ALLOC);
	const struct tfs_rec *r = &v->t.rec[i];
	struct vmlab_replay_row *row = rb_row(&v->b, "alloc at the traced address");
	if (r->f) {
		struct vmlab_replay_row *fr = rb_row(&v->b, "failed allocations");
		fr->compared++;
		fr->apart = true;
		snprintf(fr->kernel, sizeof(fr->kernel), "%llu failed",
			 (unsigned long long)fr->compared);
		snprintf(fr->model, sizeof(fr->model), "overflow purge");
		snprintf(fr->note, sizeof(fr->note),
			 "the kernel's window was full (its occupancy before the trace is not known): "
			 "the model runs the overflow path's purge there");
		vmlab_purge_vmap_area_lazy(v->m, rec_cpu(v, r));
		return;
	}
	int cpu = rec_cpu(v, r);
	if (r->b / PG > MAX_AREA_PAGES || r->a + r->b < r->a) {
		row_count(row, false);
		struct sbuf sb = {0};
		sb_printf(&sb, "an area of %llu bytes at %#llx: larger than the model "
			       "machine replays\n",
			  (unsigned long long)r->b, (unsigned long long)r->a);
		context(&sb, v, i);
		rb_div(&v->b, r->line, sb_take(&sb));
		return;
	}
	bool ex = is_execmem(r);
	u64 flags = ex ? VMLAB_VM_FLUSH_RESET_PERMS : 0, size = r->b;
	if (size <= PG)
		flags |= VMLAB_VM_NO_GUARD;
	else
		size -= PG; /* the traced size counts the guard page */
	u64 a = vmlab_vmalloc_node_range(v->m, cpu, size, r->c, r->a,
					 r->a + r->b, VMLAB_PAGE_KERNEL, flags,
					 ex ? "execmem_alloc" : "replay");
	row_count(row, a && a == r->a);
	if (!a || a != r->a) {
		struct sbuf sb = {0};
		sb_printf(&sb, "vmlab could not place the area at %#llx "
			       "(%s); the space is still busy or lazy in the model\n",
			  (unsigned long long)r->a, a ? "placed elsewhere" : "no space");
		context(&sb, v, i);
		rb_div(&v->b, r->line, sb_take(&sb));
		if (a)
			vmlab_vfree(v->m, cpu, a);
		return;
	}
	if (ex && !v->o->no_execmem_cpa)
		vmlab_set_memory_rox(v->m, cpu, a, (int)(size / PG));
}

static void do_free(struct vr *v, size_t i, bool first)
{
	assert(v && i < v->t.n && v->t.rec[i].kind == TFS_FREE);
	const struct tfs_rec *r = &v->t.rec[i];
	int cpu = rec_cpu(v, r);
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(v->m, r->a);
	bool inferred = first;
	if (!vm || vm->addr != r->a) {
		/* allocated before the trace: its size from nr_lazy's growth */
		u64 now = vmlab_vmap_lazy_nr(v->m);
		u64 pages = r->b > now ? r->b - now : 0;
		if (pages > MAX_AREA_PAGES || r->a + pages * PG < r->a)
			pages = 0;
		inferred = true;
		struct vmlab_replay_row *ir = rb_row(&v->b, "frees of pre-trace areas");
		ir->compared++;
		ir->apart = true;
		snprintf(ir->kernel, sizeof(ir->kernel), "%llu frees",
			 (unsigned long long)ir->compared);
		snprintf(ir->model, sizeof(ir->model), "sizes inferred");
		snprintf(ir->note, sizeof(ir->note),
			 "allocated before the trace: size inferred from nr_lazy, not compared");
		u64 a = 0;
		if (pages) {
			v->quiet = true;
			a = vmlab_vmalloc_node_range(v->m, cpu, pages * PG, 1, r->a,
						     r->a + pages * PG,
						     VMLAB_PAGE_KERNEL,
						     VMLAB_VM_NO_GUARD,
						     "replay: before the trace");
			v->quiet = false;
			if (a && a != r->a) {
				vmlab_vfree(v->m, cpu, a);
				a = 0;
			}
		}
		if (!a) {
			struct sbuf sb = {0};
			sb_printf(&sb, "the freed area %#llx is unknown to vmlab "
				       "and could not be recreated (%llu pages)\n",
				  (unsigned long long)r->a, (unsigned long long)pages);
			context(&sb, v, i);
			rb_div(&v->b, r->line, sb_take(&sb));
			v->frees_done++; /* the kernel's free happened */
			return;
		}
	}
	v->have_free = false;
	vmlab_vfree(v->m, cpu, r->a);
	if (!v->have_free) {
		v->frees_done++;
		return;
	}
	struct vmlab_replay_row *nl = rb_row(&v->b, "nr_lazy after each free");
	struct vmlab_replay_row *nm = rb_row(&v->b, "nr_lazy_max");
	row_count(nm, v->ev_nr_lazy_max == r->c);
	snprintf(nm->kernel, sizeof(nm->kernel), "%llu", (unsigned long long)r->c);
	snprintf(nm->model, sizeof(nm->model), "%llu",
		 (unsigned long long)v->ev_nr_lazy_max);
	if (inferred)
		return;
	bool ok = v->ev_nr_lazy == r->b;
	row_count(nl, ok);
	if (!ok) {
		struct sbuf sb = {0};
		sb_printf(&sb, "nr_lazy: kernel %llu, vmlab %llu\n",
			  (unsigned long long)r->b,
			  (unsigned long long)v->ev_nr_lazy);
		context(&sb, v, i);
		rb_div(&v->b, r->line, sb_take(&sb));
	}
}

static const char *runner(bool worker)
{
	return worker ? "worker" : "task";
}

static void compare_purges(struct vr *v, struct kpurge *kp, size_t nkp)
{
	struct vmlab_replay_row *pc = rb_row(&v->b, "purges after the same free");
	struct vmlab_replay_row *pr = rb_row(&v->b, "purged range start/end");
	struct vmlab_replay_row *pn = rb_row(&v->b, "num_purged");
	struct vmlab_replay_row *pw = rb_row(&v->b, "purge run by (task/worker)");
	struct vmlab_replay_row *pf = rb_row(&v->b, "purge flush range/full (33-page ceiling)");
	u64 kw = 0, mw = 0, kf = 0, mf = 0, ksum = 0, msum = 0;
	size_t j = 0;
	assert(nkp <= v->t.n);
	for (size_t k = 0; k < nkp; k++) {
		struct kpurge *p = &kp[k];
		kw += p->worker;
		kf += p->full;
		while (j < v->nvp && v->vp[j].after_free < p->after_free)
			j++;
		struct kpurge *q = NULL;
		if (j < v->nvp && v->vp[j].after_free == p->after_free &&
		    !v->vp[j].matched)
			q = &v->vp[j++];
		row_count(pc, q != NULL);
		if (!q) {
			struct sbuf sb = {0};
			sb_printf(&sb, "the kernel purged after free #%llu; vmlab did not\n",
				  (unsigned long long)p->after_free);
			context(&sb, v, p->rec);
			rb_div(&v->b, v->t.rec[p->rec].line, sb_take(&sb));
			continue;
		}
		q->matched = p->matched = true;
		row_count(pw, q->worker == p->worker);
		row_count(pf, q->full == p->full);
		if (p->inferred)
			continue;
		bool dmap = !in_vmalloc(p->start) && p->start < VMLAB_VMALLOC_START;
		bool start_ok = dmap ? q->start < VMLAB_VMALLOC_START : q->start == p->start;
		row_count(pr, start_ok && q->end == p->end);
		row_count(pn, q->num == p->num);
		ksum += p->num;
		msum += q->num;
		if (dmap) {
			struct vmlab_replay_row *pd = rb_row(&v->b, "purge start in the direct map");
			pd->compared++;
			pd->agreed += q->start < VMLAB_VMALLOC_START;
			pd->apart = true;
			snprintf(pd->kernel, sizeof(pd->kernel), "%llu purges",
				 (unsigned long long)pd->compared);
			snprintf(pd->model, sizeof(pd->model), "%llu in the direct map",
				 (unsigned long long)pd->agreed);
			snprintf(pd->note, sizeof(pd->note),
				 "VM_FLUSH_RESET_PERMS: the direct-map address depends on "
				 "physical placement, which is not the kernel's; compared as 'in the direct map'");
		}
		if (!start_ok || q->end != p->end || q->num != p->num ||
		    q->worker != p->worker) {
			struct sbuf sb = {0};
			sb_printf(&sb, "purge: kernel [%#llx, %#llx) %llu areas by %s; "
				       "vmlab [%#llx, %#llx) %llu areas by %s\n",
				  (unsigned long long)p->start, (unsigned long long)p->end,
				  (unsigned long long)p->num, runner(p->worker),
				  (unsigned long long)q->start, (unsigned long long)q->end,
				  (unsigned long long)q->num, runner(q->worker));
			context(&sb, v, p->rec);
			rb_div(&v->b, v->t.rec[p->rec].line, sb_take(&sb));
		}
	}
	assert(pc->agreed <= pc->compared && pw->agreed <= pw->compared);
	for (size_t k = 0; k < v->nvp; k++) {
		mw += v->vp[k].worker;
		mf += v->vp[k].full;
		if (v->vp[k].matched)
			continue;
		row_count(pc, false);
		struct sbuf sb = {0};
		sb_printf(&sb, "vmlab purged after free #%llu ([%#llx, %#llx), %llu areas, by %s); "
			       "the kernel did not\n",
			  (unsigned long long)v->vp[k].after_free,
			  (unsigned long long)v->vp[k].start,
			  (unsigned long long)v->vp[k].end,
			  (unsigned long long)v->vp[k].num, runner(v->vp[k].worker));
		rb_div(&v->b, 0, sb_take(&sb));
	}
	snprintf(pr->kernel, sizeof(pr->kernel), "%llu compared",
		 (unsigned long long)pr->compared);
	snprintf(pr->model, sizeof(pr->model), "%llu equal",
		 (unsigned long long)pr->agreed);
	snprintf(pn->kernel, sizeof(pn->kernel), "%llu areas", (unsigned long long)ksum);
	snprintf(pn->model, sizeof(pn->model), "%llu areas", (unsigned long long)msum);
	snprintf(pc->kernel, sizeof(pc->kernel), "%zu purges", nkp);
	snprintf(pc->model, sizeof(pc->model), "%zu purges", v->nvp);
	snprintf(pw->kernel, sizeof(pw->kernel), "%llu/%llu",
		 (unsigned long long)(nkp - kw), (unsigned long long)kw);
	snprintf(pw->model, sizeof(pw->model), "%llu/%llu",
		 (unsigned long long)(v->nvp - mw), (unsigned long long)mw);
	snprintf(pf->kernel, sizeof(pf->kernel), "%llu/%llu",
		 (unsigned long long)(nkp - kf), (unsigned long long)kf);
	snprintf(pf->model, sizeof(pf->model), "%llu/%llu",
		 (unsigned long long)(v->nvp - mf), (unsigned long long)mf);
	if (v->first_purge != SIZE_MAX && v->init_areas)
		snprintf(pn->note, sizeof(pn->note),
			 "the first purge (line %llu) is not compared: the pre-trace lazy areas are inferred from it",
			 (unsigned long long)v->t.rec[v->first_purge].line);
}

static void tlb_rows(struct vr *v, const struct kpurge *kp, size_t nkp)
{
	u64 cnt[NR_TLB_FLUSH_REASONS] = {0}, full[NR_TLB_FLUSH_REASONS] = {0},
	    pages[NR_TLB_FLUSH_REASONS] = {0};
	for (size_t i = 0; i < v->t.n; i++) {
		const struct tfs_rec *r = &v->t.rec[i];
		if (r->kind != TFS_TLB)
			continue;
		cnt[r->reason]++;
		if ((s64)r->a < 0)
			full[r->reason]++;
		else
			pages[r->reason] += r->a;
	}
	/* Kernel range flushes (flush_tlb_kernel_range, flush_tlb_all) emit
	 * no tlb:tlb_flush on x86; the records come from user mm paths. */
	struct vmlab_replay_row *pr = rb_row(&v->b, "tlb_flush records of purge flushes");
	for (size_t k = 0; k < nkp; k++) {
		u64 seen = 0;
		const struct tfs_rec *p = &v->t.rec[kp[k].rec];
		for (size_t i = kp[k].rec; i-- > 0;) {
			const struct tfs_rec *r = &v->t.rec[i];
			if (r->cpu != p->cpu)
				continue;
			if (r->kind != TFS_TLB || r->pid != p->pid)
				break;
			seen++;
		}
		row_count(pr, seen == 0);
	}
	snprintf(pr->kernel, sizeof(pr->kernel), "0 expected");
	snprintf(pr->model, sizeof(pr->model), "0 (x86 traces none)");
	for (int k = 0; k < NR_TLB_FLUSH_REASONS; k++) {
		if (!cnt[k])
			continue;
		char q[64];
		snprintf(q, sizeof(q), "tlb_flush: %s", tfs_tlb_reason_name[k]);
		struct vmlab_replay_row *row = rb_row(&v->b, q);
		row->apart = true;
		row->compared = cnt[k];
		snprintf(row->kernel, sizeof(row->kernel), "%llu (%llu full, %llu pg)",
			 (unsigned long long)cnt[k], (unsigned long long)full[k],
			 (unsigned long long)pages[k]);
		snprintf(row->model, sizeof(row->model), "not replayed");
		snprintf(row->note, sizeof(row->note), "%s",
			 k == TLB_FLUSH_ON_TASK_SWITCH
				 ? "context switches (switch_mm_irqs_off): the tasks are not in the trace"
				 : "user-mm flush (flush_tlb_mm_range, fork/exit/munmap of the traced tasks): not replayed");
	}
}

static int run(struct vr *v)
{
	struct tfs_trace *t = &v->t;
	assert(v->m && t->n > 0);
	struct kpurge *kp = calloc(t->n + 1, sizeof(*kp));
	size_t nkp = 0;
	u64 frees = 0;
	bool first_free = true;
	if (!kp)
		return -VMLAB_ENOMEM;
	int err = infer_initial(v);
	if (err) {
		free(kp);
		return err;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct tfs_rec *r = &t->rec[i];
		switch (r->kind) {
		case TFS_ALLOC:
			do_alloc(v, i);
			break;
		case TFS_FREE:
			do_free(v, i, first_free);
			first_free = false;
			frees++;
			break;
		case TFS_PURGE: {
			struct kpurge *p = &kp[nkp++];
			p->rec = i;
			p->after_free = frees;
			p->start = r->a;
			p->end = r->b;
			p->num = r->c;
			p->inferred = i == v->first_purge && v->init_areas > 0;
			bool dmap = r->a < VMLAB_VMALLOC_START;
			p->worker = !strncmp(r->comm, "kworker/", 8) && !dmap;
			u32 ceil = vmlab_machine_config(v->m)->flush_ceiling;
			p->full = r->b > r->a && (r->b - r->a) / PG > ceil;
			break;
		}
		default:
			break;
		}
		if (vmlab_nr_pending_work(v->m)) {
			v->in_work = true;
			vmlab_run_work(v->m, rec_cpu(v, r), 1 << 20);
			v->in_work = false;
		}
	}
	assert(nkp <= t->n && v->frees_done >= frees);
	compare_purges(v, kp, nkp);
	tlb_rows(v, kp, nkp);
	free(kp);
	return 0;
}

static void summary(struct vr *v)
{
	struct vmlab_replay_result *res = v->b.r;
	u64 na = 0, nf = 0, np = 0, nt = 0;
	for (size_t i = 0; i < v->t.n; i++) {
		u8 k = v->t.rec[i].kind;
		na += k == TFS_ALLOC;
		nf += k == TFS_FREE;
		np += k == TFS_PURGE;
		nt += k == TFS_TLB;
	}
	res->records = v->t.n;
	struct vmlab_replay_row *a = (struct vmlab_replay_row *)
		vmlab_replay_row(res, "alloc at the traced address");
	if (a) {
		snprintf(a->kernel, sizeof(a->kernel), "%llu allocs", (unsigned long long)na);
		snprintf(a->model, sizeof(a->model), "%llu placed", (unsigned long long)a->agreed);
	}
	struct vmlab_replay_row *l = (struct vmlab_replay_row *)
		vmlab_replay_row(res, "nr_lazy after each free");
	if (l) {
		snprintf(l->kernel, sizeof(l->kernel), "%llu frees", (unsigned long long)nf);
		snprintf(l->model, sizeof(l->model), "%llu equal", (unsigned long long)l->agreed);
	}
	rb_note(&v->b, "records: %llu alloc_vmap_area, %llu free_vmap_area_noflush, "
		       "%llu purge_vmap_area_lazy, %llu tlb_flush; %llu other events skipped",
		(unsigned long long)na, (unsigned long long)nf, (unsigned long long)np,
		(unsigned long long)nt, (unsigned long long)v->t.other_events);
	if (v->t.lost_events)
		rb_note(&v->b, "%llu ring-buffer overruns ([LOST n EVENTS]): records are "
			       "missing, divergences after them may come from that",
			(unsigned long long)v->t.lost_events);
	rb_note(&v->b, "execmem rule: areas with vstart above VMALLOC_END are taken as "
		       "execmem_alloc() (VM_FLUSH_RESET_PERMS) made ROX by set_memory_rox()%s",
		v->o->no_execmem_cpa ? " (CPA off by option)" : "");
	res->model_purges = v->nvp;
	res->model_flushes = vmlab_counter(v->m, -1, VMLAB_C_flush_kernel_range);
	res->model_full_flushes = vmlab_counter(v->m, -1, VMLAB_C_flush_kernel_range_full);
}

bool vmlab_replay_vmalloc_start_ok(u64 addr)
{
	return !(addr & (PG - 1)) && addr >= TFS_KERNEL_HALF &&
	       addr < TFS_KERNEL_IMAGE_MAP;
}

/* The trace's vmalloc range (KASLR moves it) onto the model's. */
static u64 relocate(struct vr *v, const struct vmlab_replay_opts *o)
{
	u64 votes, allocs;
	u64 ts = tfs_vmalloc_start(&v->t, &votes, &allocs);
	if (o->vmalloc_start) {
		ts = o->vmalloc_start;
		snprintf(v->range_how, sizeof(v->range_how), "option");
	} else if (ts) {
		snprintf(v->range_how, sizeof(v->range_how),
			 "the vstart of %llu of %llu allocations",
			 (unsigned long long)votes, (unsigned long long)allocs);
	} else {
		ts = VMLAB_VMALLOC_START;
		snprintf(v->range_how, sizeof(v->range_how),
			 "no allocation shows it: taken as the model's");
	}
	v->moved = tfs_relocate(&v->t, ts, VMLAB_VMALLOC_START,
				VMLAB_VMALLOC_END - VMLAB_VMALLOC_START + 1);
	assert(vmlab_replay_vmalloc_start_ok(ts) || o->vmalloc_start);
	return ts;
}

/*
 * No #P: header: the CPU count from the first nr_lazy_max, which is
 * fls(cpus) * 8192 (at least as many as the CPU numbers seen).
 */
static int infer_cpus(const struct tfs_trace *t)
{
	int seen = t->max_cpu + 1 > 0 ? t->max_cpu + 1 : 1;
	for (size_t i = 0; i < t->n; i++) {
		if (t->rec[i].kind != TFS_FREE)
			continue;
		u64 f = t->rec[i].c / (32 * VMLAB_MiB / PG);
		if (t->rec[i].c % (32 * VMLAB_MiB / PG) || f < 1 || f > 9)
			break;
		int c = 1 << (f - 1); /* the fewest CPUs with that fls() */
		return seen > c ? seen : c;
	}
	return seen;
}

int replay_vmalloc(const char *text, size_t len, const char *source,
		   const struct vmlab_replay_opts *o,
		   struct vmlab_replay_result **out, char *err, size_t errlen,
		   bool parse_only, u64 *nrec)
{
	struct vr v;
	memset(&v, 0, sizeof(v));
	v.o = o;
	v.text = text;
	const char *src = source ? source : "-";
	int e = tfs_parse(text, len, src, &v.t, err, errlen);
	if (nrec)
		*nrec = v.t.n;
	if (e || parse_only) {
		tfs_free(&v.t);
		return e;
	}
	u64 tstart = relocate(&v, o);
	int cpus = o->nr_cpus > 0 ? o->nr_cpus
		   : v.t.nr_cpus_header ? v.t.nr_cpus_header
					: infer_cpus(&v.t);
	if (cpus < 1)
		cpus = 1;
	if (cpus > VMLAB_MAX_CPUS)
		cpus = VMLAB_MAX_CPUS;
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.nr_cpus = cpus;
	cfg.mem_bytes = REPLAY_MEM;
	cfg.checker = false;
	if (o->flush_ceiling)
		cfg.flush_ceiling = o->flush_ceiling;
	e = vmlab_boot(&cfg, &v.m);
	if (!e)
		e = rb_init(&v.b, VMLAB_TRACE_VMALLOC, src, o->max_divergences);
	if (e) {
		set_err(err, errlen, "%s: cannot build the machine (%d)", src, e);
		vmlab_machine_destroy(v.m);
		tfs_free(&v.t);
		if (v.b.r)
			vmlab_replay_free(v.b.r);
		return e;
	}
	vmlab_set_quiet(v.m, true);
	if (o->lazy_max_pages)
		vmlab_set_lazy_max_pages(v.m, o->lazy_max_pages);
	vmlab_set_event_listener(v.m, on_event, &v);
	if (tstart == VMLAB_VMALLOC_START)
		rb_note(&v.b, "vmalloc range: the trace's VMALLOC_START %#llx "
			       "(%s), the model's", (unsigned long long)tstart,
			v.range_how);
	else
		rb_note(&v.b, "vmalloc range: the trace's VMALLOC_START %#llx "
			       "(%s, KASLR); its addresses are replayed, and shown "
			       "below, moved to the model's %#llx (%llu records)",
			(unsigned long long)tstart, v.range_how,
			(unsigned long long)VMLAB_VMALLOC_START,
			(unsigned long long)v.moved);
	rb_note(&v.b, "machine: %d CPUs (%s), lazy_max_pages %llu", cpus,
		o->nr_cpus > 0 ? "option" : v.t.nr_cpus_header ? "#P: of the header" : "inferred from nr_lazy_max and the CPU numbers",
		(unsigned long long)vmlab_lazy_max_pages(v.m));
	e = run(&v);
	summary(&v);
	vmlab_set_event_listener(v.m, NULL, NULL);
	vmlab_machine_destroy(v.m);
	free(v.vp);
	tfs_free(&v.t);
	if (e) {
		set_err(err, errlen, "%s: replay failed (%d)", src, e);
		vmlab_replay_free(v.b.r);
		return e;
	}
	*out = v.b.r;
	return 0;
}
