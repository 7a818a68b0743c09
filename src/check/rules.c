/* SPDX-License-Identifier: MIT */
/*
 * The checker's rules, run from the machine's hooks: reverse-map counts,
 * stale-entry marking, W+X detection, and the checks at frame free and at
 * use of a stale TLB or paging-structure cache entry.
 */
#include <stdlib.h>

#include "check/ck.h"

#define MAX_RANGE_STEPS 4096 /* bound on translations per evaluation */

void table_grant(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
			struct grant *g)
{
	u64 pa;
	vmlab_pgprot_t prot;
	int level;
	memset(g, 0, sizeof(*g));
	if (vmlab_translate(m, mm, va, &pa, &prot, &level) ||
	    !(prot & VMLAB_PAGE_PRESENT))
		return;
	g->ok = true;
	g->pfn = pa >> VMLAB_PAGE_SHIFT;
	g->w = prot & VMLAB_PAGE_RW;
	g->x = !(prot & VMLAB_PAGE_NX);
	g->u = prot & VMLAB_PAGE_USER;
	g->level = level;
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
}

struct vmlab_mm *entry_mm(struct vmlab_machine *m, struct cpu *c,
				 const struct tlb_entry *e)
{
	assert(e->flags & TLBF_VALID);
	if (e->flags & TLBF_G)
		return &m->init_mm;
	return cpu_mm_of_pcid(m, c, e->pcid);
}

/* Could this entry still be used?  Entries of a PCID whose mm is gone,
 * or that will be flushed before the mm is loaded again, cannot. */
bool entry_reachable(struct vmlab_machine *m, struct cpu *c,
			    const struct tlb_entry *e)
{
	assert(e->flags & TLBF_VALID);
	if (e->flags & TLBF_G)
		return true;
	return tlb_tag_live(m, c, e->pcid);
}

/* Does the table grant what e grants at va? */
static bool grants_at(struct vmlab_machine *m, struct vmlab_mm *mm,
		      const struct tlb_entry *e, u64 va, u64 *step)
{
	struct grant g;
	table_grant(m, mm, va, &g);
	*step = VMLAB_PAGE_SIZE;
	if (!g.ok)
		return false;
	/* va lies inside the page e translates. */
	assert(va - tlb_entry_va(e) < vmlab_level_size(e->level));
	u64 want = e->pfn + ((va - tlb_entry_va(e)) >> VMLAB_PAGE_SHIFT);
	if (g.level > 0 && g.level <= e->level)
		*step = vmlab_level_size(g.level);
	return g.pfn == want && (!(e->flags & TLBF_W) || g.w) &&
	       (!(e->flags & TLBF_X) || g.x) && (!(e->flags & TLBF_U) || g.u);
}

bool stale_in(struct vmlab_machine *m, struct vmlab_mm *mm,
		     const struct tlb_entry *e, u64 lo, u64 hi)
{
	assert(mm && (e->flags & TLBF_VALID));
	u64 s = tlb_entry_va(e), t = s + vmlab_level_size(e->level);
	if (lo < s)
		lo = s;
	if (hi > t)
		hi = t;
	u64 step;
	for (int i = 0; lo < hi && i < MAX_RANGE_STEPS; i++, lo += step)
		if (!grants_at(m, mm, e, lo, &step))
			return true;
	return false;
}

static void mark(struct cpu *c, struct tlb_entry *e,
		 bool stale)
{
	assert(e->flags & TLBF_VALID);
	if (stale && !(e->flags & TLBF_STALE)) {
		e->flags |= TLBF_STALE;
		u64 s = tlb_entry_va(e);
		fast_drop_range(c, s, s + vmlab_level_size(e->level));
	} else if (!stale) {
		e->flags &= (u8)~TLBF_STALE;
		e->ckflags &= (u8)~CKF_REPORTED;
	}
}

struct eval_ctx {
	struct vmlab_mm *mm;
	u64 lo, hi;
};

static void eval_entry(struct vmlab_machine *m, struct cpu *c,
		       struct tlb_entry *e, void *p)
{
	struct eval_ctx *x = p;
	assert(x->lo < x->hi);
	/* The store may make e differ from the table: count it (any mm's,
	 * reachable or not: uncounted entries must be what the table says). */
	ck_count_entry(m, c, e);
	struct vmlab_mm *emm = entry_mm(m, c, e);
	if (!emm)
		return;
	/* A user-half change only concerns that mm's own entries. */
	if (x->mm && !(x->lo >> 63) && emm != x->mm)
		return;
	if (stale_in(m, emm, e, x->lo, x->hi)) {
		mark(c, e, true);
		return;
	}
	if (e->flags & TLBF_STALE) {
		u64 s = tlb_entry_va(e);
		mark(c, e,
		     stale_in(m, emm, e, s, s + vmlab_level_size(e->level)));
	}
}

/* ---------------------------------------------------------- counts */

/* One frame's counts move by d (a leaf or a TLB entry of it). */
static inline void count_frame(struct checker *ck, struct ck_frame *f,
			       bool w, bool x, int d, bool tlb)
{
	u32 *ref = tlb ? &f->tlb_ref : &f->pt_ref;
	u32 *fw = tlb ? &f->tlb_w : &f->pt_w;
	u32 *fx = tlb ? &f->tlb_x : &f->pt_x;
	/* Removing what was never counted: a wild write put the old
	 * entry there (tainted); nothing to take back. */
	if (d < 0 && !tlb && ck->tainted &&
	    (!*ref || (w && !*fw) || (x && !*fx)))
		return;
	assert(d > 0 || *ref > 0);
	assert(d > 0 || ((!w || *fw > 0) && (!x || *fx > 0)));
	*ref += (u32)d;
	if (w)
		*fw += (u32)d;
	if (x) {
		*fx += (u32)d;
		ck->x_total += d;
	}
	/* W and X references are references. */
	assert(*fw <= *ref && *fx <= *ref && ck->x_total >= 0);
}

void count_leaf(struct vmlab_machine *m, u64 pfn, u64 frames, bool w,
		       bool x, int d, bool tlb)
{
	struct checker *ck = CK(m);
	assert(d == 1 || d == -1);
	/* At most one 1 GiB page's frames. */
	assert(frames >= 1 && frames <= vmlab_level_size(VMLAB_LVL_PUD) >>
					     VMLAB_PAGE_SHIFT);
	for (u64 i = 0; i < frames && pfn + i < m->phys.nr_frames; i++) {
		struct ck_frame *f = ck_frame(m, pfn + i);
		if (unlikely(ck->off))
			return; /* host out of memory: the checker stopped */
		count_frame(ck, f, w, x, d, tlb);
	}
}

void dm_probe(struct vmlab_machine *m, u64 pfn, struct srcs *s)
{
	assert(pfn < m->phys.nr_frames);
	if (m->dm_end <= m->dm_start)
		return;
	u64 va = m->dm_start + (pfn << VMLAB_PAGE_SHIFT);
	assert(in_direct_map(m, va)); /* the direct map covers all RAM */
	struct grant g;
	table_grant(m, &m->init_mm, va, &g);
	s->w |= g.ok && g.w;
	s->x |= g.ok && g.x;
	for (int i = 0; i < m->nr_cpus; i++) {
		vmlab_pgprot_t p;
		if (vmlab_tlb_probe(m, i, va, NULL, &p) < 0)
			continue;
		s->w |= (p & VMLAB_PAGE_RW) != 0;
		s->x |= !(p & VMLAB_PAGE_NX);
	}
}

static void frame_sources(struct vmlab_machine *m, u64 pfn, struct srcs *s)
{
	struct ck_frame *f = ck_frame(m, pfn);
	s->w = f->pt_w || f->tlb_w;
	s->x = f->pt_x || f->tlb_x;
	dm_probe(m, pfn, s);
}

static void wx_check(struct vmlab_machine *m, int cpu, u64 va, u64 pfn,
		     u64 frames, const char *how)
{
	struct checker *ck = CK(m);
	assert(frames >= 1 && frames <= vmlab_level_size(VMLAB_LVL_PUD) >>
					     VMLAB_PAGE_SHIFT);
	/* One report per store or fill: a W+X 2 MiB leaf is one finding,
	 * not 512. */
	for (u64 i = 0; i < frames && pfn + i < m->phys.nr_frames; i++) {
		struct srcs s;
		frame_sources(m, pfn + i, &s);
		if (!s.w || !s.x)
			continue;
		if (ck->nr_temp && ck_temp_exempt(m, pfn + i))
			continue;
		u64 fva = va + (i << VMLAB_PAGE_SHIFT);
		if (already(ck, VMLAB_CHECK_WX_ALIAS, cpu, fva, pfn + i))
			continue;
		struct ck_frame *f = ck_frame(m, pfn + i);
		u32 t_ref, t_w, t_x;
		ck_tlb_census(m, pfn + i, &t_ref, &t_w, &t_x);
		assert(t_ref >= f->tlb_ref && t_w >= f->tlb_w && t_x == f->tlb_x);
		struct buf b = {0};
		header(m, &b, VMLAB_CHECK_WX_ALIAS, cpu,
		       "frame writable and executable at once");
		bprintf(&b, "Frame %#llx, made so by %s at va %#llx\n",
			(unsigned long long)(pfn + i), how,
			(unsigned long long)fva);
		bprintf(&b, "Page-table leaves: %u (%u writable, %u executable); "
			    "cached TLB entries: %u (%u writable, %u executable), "
			    "direct map not counted\n",
			f->pt_ref, f->pt_w, f->pt_x, t_ref, t_w, t_x);
		if (frames > 1)
			bprintf(&b, "(first W+X frame of the %llu this %s covers)\n",
				(unsigned long long)frames, how);
		add_history(m, &b, fva, pfn + i);
		emit(m, VMLAB_CHECK_WX_ALIAS, cpu, fva, pfn + i, VMLAB_WRITE, &b);
		return;
	}
}

/*
 * Inside one CPA call the kernel changes the primary mapping and then its
 * alias (cpa_process_alias() after __change_page_attr(), per chunk), and
 * flushes once at the end: set_memory_rox() on a vmalloc area has its
 * pages RO+X there while the direct map still says RW, for a moment no
 * access can use (the TLB fill rule still sees any use).  A store's W+X
 * is therefore judged when the call ends; only what survives is a bug.
 * Returns false (judge now) outside a call or if the list cannot grow.
 */
static bool wx_defer(struct checker *ck, int cpu, u64 va, u64 pfn, u64 frames)
{
	if (!ck->cpa_depth)
		return false;
	if (ck->nr_wx_pending == ck->cap_wx_pending) {
		size_t cap = ck->cap_wx_pending ? 2 * ck->cap_wx_pending : 64;
		void *p = realloc(ck->wx_pending, cap * sizeof(*ck->wx_pending));
		if (!p)
			return false;
		ck->wx_pending = p;
		ck->cap_wx_pending = cap;
	}
	ck->wx_pending[ck->nr_wx_pending++] =
		(struct ck_wx_pending){va, pfn, frames, cpu};
	assert(ck->nr_wx_pending <= ck->cap_wx_pending);
	return true;
}

void ck_cpa_window_end(struct vmlab_machine *m)
{
	struct checker *ck = CK(m);
	assert(ck && ck->cpa_depth == 0);
	size_t n = ck->nr_wx_pending;
	ck->nr_wx_pending = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ck_wx_pending *p = &ck->wx_pending[i];
		wx_check(m, p->cpu, p->va, p->pfn, p->frames,
			 "a set_memory change that outlived its call");
	}
	assert(ck->nr_wx_pending == 0);
}

/* ------------------------------------------------------------ hooks */

static void record(struct checker *ck, struct vmlab_machine *m, u64 va,
		   int level, u64 old, u64 val)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	struct hist *h = &ck->hist[ck->hist_n++ % HIST_SIZE];
	h->seq = m->nr_events;
	h->cpu = ck->cur_cpu;
	h->op = vmlab_cpu_valid(m, ck->cur_cpu) ? m->cpu[ck->cur_cpu].op : NULL;
	h->va = va;
	h->level = level;
	h->old = old;
	h->val = val;
}

static inline void rmap_entry(struct vmlab_machine *m, u64 va, int level,
		       const struct vmlab_pte_info *in, int d)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	assert(d == 1 || d == -1);
	if (in->kind == VMLAB_PTE_TABLE) {
		count_leaf(m, in->pfn, 1, false, false, d, false);
		return;
	}
	if (in->kind != VMLAB_PTE_LEAF)
		return;
	bool x = kx_prot(in->prot);
	if (in_direct_map(m, va)) {
		if (x && (d > 0 || CK(m)->dm_x > 0 || !CK(m)->tainted))
			CK(m)->dm_x += d;
		assert(CK(m)->dm_x >= 0);
		return;
	}
	if (level == VMLAB_LVL_PTE && in->pfn < m->phys.nr_frames)
		count_frame(CK(m), ck_frame(m, in->pfn), in->prot & VMLAB_PAGE_RW,
			    x, d, false);
	else
		count_leaf(m, in->pfn,
			   vmlab_level_size(level) >> VMLAB_PAGE_SHIFT,
			   in->prot & VMLAB_PAGE_RW, x, d, false);
}

/* An empty entry (most stores' old or new value) needs no decoder. */
static inline void decode_entry(struct vmlab_machine *m, u64 e, int level,
				struct vmlab_pte_info *in)
{
	if (!e) {
		memset(in, 0, sizeof(*in));
		assert(in->kind == VMLAB_PTE_NONE);
		return;
	}
	m->arch->decode(e, level, in);
}

void ck_set_entry(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		  int level, u64 old, u64 val)
{
	struct checker *ck = CK(m);
	assert(ck && old != val);
	/* vmlab_set_entry() passes the first address of the entry. */
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	assert(!(va & (vmlab_level_size(level) - 1)));
	record(ck, m, va, level, old, val);
	if (m->arch->bbm_required)
		ck_bbm(m, mm, va, level, old, val);
	struct vmlab_pte_info o, n;
	decode_entry(m, old, level, &o);
	decode_entry(m, val, level, &n);
	rmap_entry(m, va, level, &o, -1);
	rmap_entry(m, va, level, &n, +1);
	u64 size = vmlab_level_size(level);
	/* No CPU caches an mm it never loaded (a new mm, a fork child
	 * under construction) or one destroy detached: nothing goes stale.
	 * The cached entries of the range are counted and re-judged before
	 * W+X is: what they grant is no longer covered by the table's. */
	bool cached = !mm || mm->is_init || mm->cached;
	/* The last PGD slot ends at 2^64: clamp rather than wrap. */
	u64 end = va + size ? va + size : ~0ULL;
	struct eval_ctx x = {mm, va, end};
	struct cpu *cpus = m->cpu;
	for (int i = 0, nr = cached ? m->nr_cpus : 0; i < nr; i++)
		if (cpus[i].used_mask) /* else it caches nothing */
			tlb_visit_range(m, &cpus[i], va, end, eval_entry, &x);
	if (n.kind == VMLAB_PTE_LEAF) {
		bool same = o.kind == VMLAB_PTE_LEAF && o.pfn == n.pfn;
		bool gain_w = (n.prot & VMLAB_PAGE_RW) &&
			      !(same && (o.prot & VMLAB_PAGE_RW));
		bool gain_x = kx_prot(n.prot) && !(same && kx_prot(o.prot));
		if ((gain_x || (gain_w && (ck->x_total || ck->dm_x))) &&
		    !wx_defer(ck, ck->cur_cpu, va, n.pfn,
			      size >> VMLAB_PAGE_SHIFT))
			wx_check(m, ck->cur_cpu, va, n.pfn,
				 size >> VMLAB_PAGE_SHIFT, "a page-table store");
	}
	ck_arm(m);
	if (debug_every(&ck->dbg_tick, 4096))
		ck_check_counts(m);
}

static u64 entry_frames(const struct tlb_entry *e)
{
	assert(e->level <= VMLAB_LVL_PUD);
	return vmlab_level_size(e->level) >> VMLAB_PAGE_SHIFT;
}

void ck_count_entry(struct vmlab_machine *m, struct cpu *c,
		    struct tlb_entry *e)
{
	(void)c;
	assert(e->flags & TLBF_VALID);
	if (e->ckflags & CKF_COUNTED)
		return;
	e->ckflags |= CKF_COUNTED;
	if (e->flags & TLBF_DM) {
		CK(m)->dm_tlb_x += kx_tlb(e->flags);
		return;
	}
	count_leaf(m, e->pfn, entry_frames(e), e->flags & TLBF_W,
		   kx_tlb(e->flags), +1, true);
}

/* The machine hands over executable fills, writable ones while anything
 * is executable, marked ones (an L2 entry's L1 copy) and, in count-all
 * mode, every fill (ck_arm): each is counted. */
void ck_tlb_fill(struct vmlab_machine *m, struct cpu *c,
		 const struct tlb_entry *ce)
{
	struct checker *ck = CK(m);
	struct tlb_entry *e = (struct tlb_entry *)(uintptr_t)ce;
	assert(ck && (e->flags & TLBF_VALID));
	bool w = e->flags & TLBF_W, x = kx_tlb(e->flags);
	/* A new entry: a mark it carries is its L2 original's count. */
	e->ckflags |= CKF_COUNTED;
	if (e->flags & TLBF_DM) {
		if (x)
			ck->dm_tlb_x++;
	} else {
		count_leaf(m, e->pfn, entry_frames(e), w, x, +1, true);
	}
	if (x || (w && (ck->x_total || ck->dm_x || ck->dm_tlb_x)))
		wx_check(m, c->id, tlb_entry_va(e), e->pfn, entry_frames(e),
			 "a TLB fill");
	ck_arm(m);
}

void ck_tlb_drop(struct vmlab_machine *m, struct cpu *c,
		 const struct tlb_entry *e)
{
	(void)c;
	assert(CK(m) && (e->flags & TLBF_VALID));
	if (!(e->ckflags & CKF_COUNTED))
		return; /* marked for another reason, never counted */
	if (e->flags & TLBF_DM) {
		if (kx_tlb(e->flags))
			CK(m)->dm_tlb_x--;
		assert(CK(m)->dm_tlb_x >= 0);
	} else {
		count_leaf(m, e->pfn, entry_frames(e), e->flags & TLBF_W,
			   kx_tlb(e->flags), -1, true);
	}
	if (kx_tlb(e->flags))
		ck_arm(m);
}

void ck_pages_alloced(struct vmlab_machine *m, u64 pfn, int order)
{
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	assert(!(pfn & ((1ULL << order) - 1)) &&
	       pfn + (1ULL << order) <= m->phys.nr_frames);
	for (u64 i = 0; i < (1ULL << order); i++)
		ck_frame(m, pfn + i)->alloc_seq = (u32)m->nr_events;
}
