/* SPDX-License-Identifier: MIT */
/*
 * The coherence checker.  It observes the machine through hooks (entry
 * stores, TLB fills and drops, frame allocation and free, paging-structure
 * cache use) and keeps, per frame, how many page-table leaves and cached
 * TLB entries outside the direct map translate to it and with which rights.
 * The direct map maps every frame by construction, so it is consulted by
 * lookup instead of being counted.
 *
 * A TLB entry is marked stale when an entry store leaves it granting more
 * than the table; stale entries leave the host fast path, so the hit path
 * costs the same with the checker on.
 *
 * Counting TLB entries.  A TLB entry counts in its frames' tlb_ref/tlb_w/
 * tlb_x (CKF_COUNTED) only when it may grant what the page tables do not
 * say: every entry that grants execute (counted at fill: tlb_x is exact),
 * every writable fill while anything is executable (it is judged for
 * W+X then), and every entry in the range of an entry store, counted
 * before the store is judged.  An uncounted entry is therefore what its
 * mm's table maps at its address: the same frames, writable only where
 * the leaf is, so the leaf's pt_ref/pt_w stand for it.  Hence, exactly as
 * if every entry were counted: a frame freed with pt_ref 0 has a cached
 * translation only if tlb_ref is not 0, and "writable somewhere" is
 * pt_w || tlb_w.  A walk's fill then costs the checker nothing (the
 * machine filters: observer.h tlb_marked_only).  Where tables change
 * behind set_pte (a wild write, a frame freed while reachable: taint) or
 * a walk went through a stale paging-structure entry, every entry is
 * counted from then on (count_all); while a temporary mm is registered,
 * too, as its exemption compares exact writable counts.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "machine/internal.h"

#include "check/ck.h"

const char *vmlab_check_name(enum vmlab_check c)
{
	static const char *const n[] = {"stale-access", "freed-frame-reachable",
					 "wx-alias", "secondary-stale", "kasan",
					 "bbm-violation"};
	_Static_assert(sizeof(n) / sizeof(n[0]) == VMLAB_NR_CHECKS,
		       "a name per check");
	return c < VMLAB_NR_CHECKS ? n[c] : "?";
}

void ck_oom(struct vmlab_machine *m, const char *what)
{
	struct checker *ck = CK(m);
	assert(ck);
	if (!ck->off)
		vmlab_warn(m, "checker: host out of memory (%s): checking stops",
			   what);
	ck->off = true;
}

struct ck_frame *ck_frame_slow(struct vmlab_machine *m, u64 pfn)
{
	struct checker *ck = CK(m);
	assert(ck && ck->frames && pfn < m->phys.nr_frames);
	u64 s = pfn >> SECTION_SHIFT;
	if (unlikely(!ck->frames[s])) {
		/* The debug builds' recount (ck_check_counts) allocates
		 * with plain calloc: fault injection counts the same host
		 * allocations in every build. */
		size_t sz = sizeof(struct ck_frame);
		ck->frames[s] = ck->recount ? calloc(SECTION_FRAMES, sz) :
					      host_calloc(m, SECTION_FRAMES, sz);
		if (!ck->frames[s]) {
			ck_oom(m, "frame state");
			memset(&ck->scratch, 0, sizeof(ck->scratch));
			return &ck->scratch;
		}
	}
	return &ck->frames[s][pfn & (SECTION_FRAMES - 1)];
}

/* ------------------------------------------------------- observer */

static void obs_entry_store(void *ctx, struct vmlab_machine *m,
			    struct vmlab_mm *mm, u64 va, int level,
			    vmlab_ptep_t ptep, u64 old, u64 val)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	(void)ptep;
	ck_set_entry(m, mm, va, level, old, val);
}

static void obs_tlb_fill(void *ctx, struct vmlab_machine *m, int cpu,
			 struct vmlab_tlbe *e)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	ck_tlb_fill(m, &m->cpu[cpu], tlbe(e));
}

static void obs_tlb_drop(void *ctx, struct vmlab_machine *m, int cpu,
			 const struct vmlab_tlbe *e)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	ck_tlb_drop(m, &m->cpu[cpu], tlbe(e));
}

static void obs_watched_hit(void *ctx, struct vmlab_machine *m, int cpu,
			    const struct vmlab_tlbe *e, enum vmlab_access kind,
			    u64 va)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	ck_stale_hit(m, &m->cpu[cpu], tlbe(e), kind, va);
}

static void obs_pwc_use(void *ctx, struct vmlab_machine *m, int cpu, u64 va,
			int level, u64 table_pfn)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	ck_pwc_used(m, &m->cpu[cpu], level, table_pfn, va);
}

static void obs_frame_alloc(void *ctx, struct vmlab_machine *m, u64 pfn,
			    int order)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	ck_pages_alloced(m, pfn, order);
}

static void obs_frame_free(void *ctx, struct vmlab_machine *m, int cpu,
			   u64 pfn, int order)
{
	(void)ctx;
	if (CK(m)->off)
		return;
	ck_pages_freed(m, cpu, pfn, order);
}

/* A store into a live page table behind set_pte's back (corruption a
 * kernel bug would cause): the table counts cannot follow it, so they
 * stop being trusted, as after a freed table was reachable. */
static void obs_pgtable_wild(void *ctx, struct vmlab_machine *m, int cpu,
			     u64 pfn)
{
	(void)ctx;
	struct checker *ck = CK(m);
	assert(ck && pfn < m->phys.nr_frames);
	if (!ck->tainted)
		vmlab_warn(m, "cpu%d: store into page-table page %#llx outside "
			   "set_pte (a wild write): page-table counts are no "
			   "longer checked", cpu, (unsigned long long)pfn);
	ck_taint(m);
}

static const struct vmlab_observer ck_observer = {
	.name = "checker",
	.entry_store = obs_entry_store,
	.tlb_fill = obs_tlb_fill,
	.tlb_drop = obs_tlb_drop,
	.watched_hit = obs_watched_hit,
	.pwc_use = obs_pwc_use,
	.frame_alloc = obs_frame_alloc,
	.frame_free = obs_frame_free,
	.pgtable_wild = obs_pgtable_wild,
	.tlb_marked_only = true,
};

void ck_arm_set(struct vmlab_machine *m, u8 mask)
{
	struct checker *ck = CK(m);
	assert(mask == ck_fill_mask(ck) && mask != ck->fill_mask);
	ck->fill_mask = mask;
	obs_set_fill_mask(m, &ck_observer, ck, mask);
	assert(m->obs_fill_mask & TLBF_X);
}

static void count_visit(struct vmlab_machine *m, struct cpu *c,
			struct tlb_entry *e, void *p)
{
	(void)p;
	ck_count_entry(m, c, e);
}

/* Count every cached entry not counted yet. */
static void count_existing(struct vmlab_machine *m)
{
	for (int i = 0; i < m->nr_cpus; i++)
		tlb_visit_range(m, &m->cpu[i], 0, ~0ULL, count_visit, NULL);
	assert(CK(m)->x_total >= 0 && CK(m)->dm_tlb_x >= 0);
}

void ck_count_all_mode(struct vmlab_machine *m)
{
	struct checker *ck = CK(m);
	assert(ck);
	if (ck->count_all)
		return;
	ck->count_all = true;
	count_existing(m);
	ck_arm(m);
	assert(ck->fill_mask == 0xff);
}

/* Temporary mms (temp_mm.c) need exact writable counts while any is
 * registered: count every entry, and every fill from now on. */
void ck_temp_counting(struct vmlab_machine *m)
{
	count_existing(m);
	ck_arm(m);
}

void ck_taint(struct vmlab_machine *m)
{
	CK(m)->tainted = true;
	ck_count_all_mode(m);
}

struct census {
	u64 pfn;
	u32 ref, w, x;
};

static void census_visit(struct vmlab_machine *m, struct cpu *c,
			 struct tlb_entry *e, void *p)
{
	(void)m;
	(void)c;
	struct census *k = p;
	u64 frames = vmlab_level_size(e->level) >> VMLAB_PAGE_SHIFT;
	if ((e->flags & TLBF_DM) || k->pfn < e->pfn || k->pfn >= e->pfn + frames)
		return;
	k->ref++;
	k->w += (e->flags & TLBF_W) != 0;
	k->x += kx_tlb(e->flags);
}

void ck_tlb_census(struct vmlab_machine *m, u64 pfn, u32 *ref, u32 *w,
		   u32 *x)
{
	struct census k = {pfn, 0, 0, 0};
	for (int i = 0; i < m->nr_cpus; i++)
		tlb_visit_range(m, &m->cpu[i], 0, ~0ULL, census_visit, &k);
	*ref = k.ref;
	*w = k.w;
	*x = k.x;
	assert(k.w <= k.ref && k.x <= k.ref);
}

static void ck_destroy(struct vmlab_machine *m)
{
	struct checker *ck = CK(m);
	if (!ck)
		return;
	vmlab_observer_unregister(m, &ck_observer, ck);
	for (size_t i = 0; i < ck->nr_rep; i++)
		free(ck->rep[i].text);
	free(ck->rep);
	free(ck->lazy);
	free(ck->wx_pending);
	if (ck->frames) {
		for (u64 s = 0; s < m->phys.nr_sections; s++)
			free(ck->frames[s]);
		free(ck->frames);
	}
	free(ck);
	svc_set(m, VMLAB_SVC_CHECK, NULL, NULL);
	assert(!CK(m));
}

static int ck_create(struct vmlab_machine *m)
{
	assert(!CK(m));
	assert(m->phys.nr_sections > 0); /* phys_init() ran */
	struct checker *ck = host_calloc(m, 1, sizeof(*ck));
	if (!ck)
		return -VMLAB_ENOMEM;
	ck->cur_cpu = -1;
	svc_set(m, VMLAB_SVC_CHECK, ck, ck_destroy);
	ck->frames = host_calloc(m, m->phys.nr_sections, sizeof(*ck->frames));
	if (!ck->frames)
		return -VMLAB_ENOMEM;
	int err = vmlab_observer_register(m, &ck_observer, ck);
	assert(err || CK(m) == ck);
	if (!err)
		ck_arm(m); /* executable fills from boot on */
	return err;
}

/* -------------------------------------------------------------- text */

void bprintf(struct buf *b, const char *fmt, ...)
{
	for (int tries = 0; tries < 2; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL,
				  b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		assert(n >= 0);
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			assert(b->s[b->len] == '\0');
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s)
			return; /* host out of memory: the text stops here */
		b->s = s;
		b->cap = cap;
	}
	/* The second try has room for n + 1 bytes: never reached. */
	assert(!"bprintf: buffer did not grow");
}

static void prot_str(char *out, size_t n, u64 prot, bool present)
{
	snprintf(out, n, "%s%s%s%s%s%s", present ? "P" : "-",
		 (prot & VMLAB_PAGE_RW) ? " RW" : " RO",
		 (prot & VMLAB_PAGE_NX) ? " NX" : " X",
		 (prot & VMLAB_PAGE_USER) ? " U" : "",
		 (present && (prot & VMLAB_PAGE_GLOBAL)) ? " G" : "",
		 (prot & VMLAB_PAGE_DIRTY) ? " D" : "");
}

void entry_str(struct vmlab_machine *m, char *out, size_t n, u64 e,
		      int level)
{
	static const char *const lv[] = {"PTE", "PMD", "PUD", "PGD"};
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD && n > 0);
	struct vmlab_pte_info in;
	m->arch->decode(e, level, &in);
	char p[48];
	switch (in.kind) {
	case VMLAB_PTE_NONE:
		snprintf(out, n, "%s %#018llx (none)", lv[level],
			 (unsigned long long)e);
		return;
	case VMLAB_PTE_TABLE:
		snprintf(out, n, "%s %#018llx (table pfn %#llx)", lv[level],
			 (unsigned long long)e, (unsigned long long)in.pfn);
		return;
	case VMLAB_PTE_LEAF:
	case VMLAB_PTE_PROTNONE:
		prot_str(p, sizeof(p), in.prot, in.kind == VMLAB_PTE_LEAF);
		snprintf(out, n, "%s %#018llx (pfn %#llx [%s])", lv[level],
			 (unsigned long long)e, (unsigned long long)in.pfn, p);
		return;
	default:
		snprintf(out, n, "%s %#018llx (%s)", lv[level],
			 (unsigned long long)e,
			 in.kind == VMLAB_PTE_MARKER ? "marker" : "swap");
	}
}

void tlb_str(char *out, size_t n, const struct tlb_entry *e)
{
	static const char *const sz[] = {"4K", "2M", "1G"};
	assert((e->flags & TLBF_VALID) && e->level <= VMLAB_LVL_PUD && n > 0);
	snprintf(out, n, "%s va %#llx -> pfn %#llx [%s%s%s%s%s] pcid %u, filled at event #%u",
		 sz[e->level], (unsigned long long)tlb_entry_va(e),
		 (unsigned long long)e->pfn, (e->flags & TLBF_W) ? "RW" : "RO",
		 (e->flags & TLBF_X) ? " X" : " NX",
		 (e->flags & TLBF_U) ? " U" : "", (e->flags & TLBF_G) ? " G" : "",
		 (e->flags & TLBF_D) ? " D" : "", e->pcid, e->fill_seq);
}

void add_history(struct vmlab_machine *m, struct buf *b, u64 va,
			u64 pfn)
{
	struct checker *ck = CK(m);
	bprintf(b, "History (recent entry stores for this address/frame):\n");
	u64 first = ck->hist_n > HIST_SIZE ? ck->hist_n - HIST_SIZE : 0;
	int shown = 0;
	/* Bounded: the ring keeps HIST_SIZE stores. */
	assert(ck->hist_n - first <= HIST_SIZE);
	for (u64 i = first; i < ck->hist_n; i++) {
		const struct hist *h = &ck->hist[i % HIST_SIZE];
		assert(h->level >= VMLAB_LVL_PTE && h->level <= VMLAB_LVL_PGD);
		u64 size = vmlab_level_size(h->level);
		struct vmlab_pte_info o, n;
		m->arch->decode(h->old, h->level, &o);
		m->arch->decode(h->val, h->level, &n);
		bool va_hit = va >= h->va && va < h->va + size;
		bool pfn_hit = (o.kind == VMLAB_PTE_LEAF && o.pfn <= pfn &&
				pfn < o.pfn + (size >> VMLAB_PAGE_SHIFT)) ||
			       (n.kind == VMLAB_PTE_LEAF && n.pfn <= pfn &&
				pfn < n.pfn + (size >> VMLAB_PAGE_SHIFT));
		if (!va_hit && !pfn_hit)
			continue;
		char so[96], sn[96];
		entry_str(m, so, sizeof(so), h->old, h->level);
		entry_str(m, sn, sizeof(sn), h->val, h->level);
		/* Stores with no CPU and no operation are boot's (the
		 * direct map, init_mm's tables). */
		char who[48];
		if (h->cpu < 0)
			snprintf(who, sizeof(who), "%s", h->op ? h->op : "boot");
		else
			snprintf(who, sizeof(who), "cpu%d %s", h->cpu,
				 h->op ? h->op : "(no operation)");
		bprintf(b, "  #%llu %s: va %#llx %s -> %s\n",
			(unsigned long long)h->seq, who,
			(unsigned long long)h->va, so, sn);
		shown++;
	}
	if (!shown)
		bprintf(b, "  (none in the last %d stores)\n", HIST_SIZE);
}

bool already(struct checker *ck, enum vmlab_check c, int cpu, u64 va,
		    u64 pfn)
{
	assert(ck->nr_rep <= MAX_REPORTS && ck->nr_rep <= ck->cap_rep);
	for (size_t i = ck->nr_rep; i-- > 0;) {
		const struct vmlab_report *r = &ck->rep[i];
		if (r->check == c && r->cpu == cpu && r->pfn == pfn &&
		    (r->va & VMLAB_PAGE_MASK) == (va & VMLAB_PAGE_MASK))
			return true;
	}
	return false;
}

void emit(struct vmlab_machine *m, enum vmlab_check c, int cpu, u64 va,
		 u64 pfn, enum vmlab_access acc, struct buf *b)
{
	struct checker *ck = CK(m);
	assert(ck && (unsigned)c < VMLAB_NR_CHECKS);
	bprintf(b, "Replay: --seed %llu\n", (unsigned long long)m->cfg.seed);
	if (!b->s) { /* host out of memory for any text */
		ck->found[c]++;
		ck->dropped++;
		return;
	}
	bprintf(b, "==================================================================\n");
	ck->found[c]++;
	/* A frame freed while reachable may be rewritten under the tables:
	 * the count checks stop trusting them (sticky, unlike found[]). */
	if (c == VMLAB_CHECK_FREED_FRAME_REACHABLE)
		ck_taint(m);
	if (ck->nr_rep >= MAX_REPORTS) {
		ck->dropped++;
		free(b->s);
		return;
	}
	if (ck->nr_rep == ck->cap_rep) {
		size_t cap = ck->cap_rep ? ck->cap_rep * 2 : 16;
		struct vmlab_report *r =
			host_realloc(m, ck->rep, cap * sizeof(*r));
		if (!r) {
			ck->dropped++;
			free(b->s);
			ck_oom(m, "reports");
			return;
		}
		ck->rep = r;
		ck->cap_rep = cap;
	}
	assert(ck->nr_rep < ck->cap_rep && b->s);
	ck->rep[ck->nr_rep++] = (struct vmlab_report){
		.check = c, .cpu = cpu, .va = va, .pfn = pfn, .access = acc,
		.seq = m->nr_events, .text = b->s,
	};
	ev(m, VMLAB_EV_REPORT, cpu, (u64)c, va, pfn);
}

void header(struct vmlab_machine *m, struct buf *b, enum vmlab_check c,
		   int cpu, const char *what)
{
	assert(b && !b->s && what); /* a report starts with its header */
	const char *op = vmlab_cpu_valid(m, cpu) ? m->cpu[cpu].op : NULL;
	bprintf(b, "==================================================================\n");
	bprintf(b, "BUG: vmlab: %s on CPU %d: %s\n", vmlab_check_name(c), cpu,
		what);
	if (op)
		bprintf(b, "CPU %d was in: %s\n", cpu, op);
	bprintf(b, "At event #%llu\n", (unsigned long long)m->nr_events);
}

void vmlab_checker_report(struct vmlab_machine *m, enum vmlab_check check,
			  int cpu, u64 va, u64 pfn, enum vmlab_access access,
			  const char *fmt, ...)
{
	if (!CK(m))
		return;
	if ((unsigned)check >= VMLAB_NR_CHECKS) {
		/* found[] is indexed by the check: refuse, don't corrupt. */
		vmlab_warn(m, "checker_report: bad check %d", (int)check);
		return;
	}
	/* Upper layers' splats can be long (KASAN's shadow dump). */
	char what[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	struct buf b = {0};
	header(m, &b, check, cpu, what);
	add_history(m, &b, va, pfn);
	emit(m, check, cpu, va, pfn, access, &b);
}

/* ------------------------------------------------------------- API */

int vmlab_machine_create(const struct vmlab_config *cfg,
			 struct vmlab_machine **out)
{
	/* On from boot, the checker sees init_mm's tables being built. */
	return machine_create(cfg, cfg && cfg->checker ? ck_create : NULL, out);
}

void vmlab_checker_enable(struct vmlab_machine *m, bool on)
{
	if (on == (CK(m) != NULL))
		return;
	if (!on) {
		ck_destroy(m);
		assert(!CK(m));
		return;
	}
	if (ck_create(m)) {
		ck_destroy(m);
		vmlab_warn(m, "checker: out of memory, staying off");
		return;
	}
	ck_rebuild(m);
}

bool vmlab_checker_enabled(const struct vmlab_machine *m)
{
	return CK(m) != NULL;
}

size_t vmlab_nr_reports(const struct vmlab_machine *m)
{
	assert(!CK(m) || CK(m)->nr_rep <= MAX_REPORTS);
	return CK(m) ? CK(m)->nr_rep : 0;
}

/* Counts every finding of that check, including those past the cap on
 * kept reports, so a flood of one kind cannot hide another. */
size_t vmlab_nr_reports_of(const struct vmlab_machine *m, enum vmlab_check c)
{
	if (!CK(m) || c >= VMLAB_NR_CHECKS)
		return 0;
	return (size_t)CK(m)->found[c];
}

const struct vmlab_report *vmlab_get_report(const struct vmlab_machine *m,
					    size_t i)
{
	if (!CK(m) || i >= CK(m)->nr_rep)
		return NULL;
	const struct vmlab_report *r = &CK(m)->rep[i];
	assert(r->text && (unsigned)r->check < VMLAB_NR_CHECKS);
	return r;
}

void vmlab_clear_reports(struct vmlab_machine *m)
{
	if (!CK(m))
		return;
	for (size_t i = 0; i < CK(m)->nr_rep; i++)
		free(CK(m)->rep[i].text);
	CK(m)->nr_rep = 0;
	CK(m)->dropped = 0;
	memset(CK(m)->found, 0, sizeof(CK(m)->found));
}

void vmlab_print_reports(const struct vmlab_machine *m, void *file)
{
	FILE *f = file ? file : stdout;
	for (size_t i = 0; CK(m) && i < CK(m)->nr_rep; i++)
		fputs(CK(m)->rep[i].text, f);
	if (CK(m) && CK(m)->dropped)
		fprintf(f, "(%llu further reports not kept)\n",
			(unsigned long long)CK(m)->dropped);
}

void vmlab_checker_set_op(struct vmlab_machine *m, int cpu, const char *op)
{
	if (!vmlab_cpu_valid(m, cpu))
		return;
	m->cpu[cpu].op = op;
	if (CK(m))
		CK(m)->cur_cpu = cpu;
}

void vmlab_checker_cpa_begin(struct vmlab_machine *m)
{
	struct checker *ck = CK(m);
	if (!ck)
		return;
	ck->cpa_depth++;
	assert(ck->cpa_depth > 0);
}

void vmlab_checker_cpa_end(struct vmlab_machine *m)
{
	struct checker *ck = CK(m);
	if (!ck)
		return;
	if (ck->cpa_depth <= 0) {
		vmlab_warn(m, "checker: CPA window closed but not open");
		return;
	}
	if (--ck->cpa_depth == 0)
		ck_cpa_window_end(m);
}

void vmlab_checker_lazy_add(struct vmlab_machine *m, u64 start, u64 end)
{
	struct checker *ck = CK(m);
	if (!ck || start >= end)
		return;
	if (ck->nr_lazy == MAX_LAZY) {
		vmlab_warn(m, "checker: too many lazy ranges");
		return;
	}
	if (!ck->lazy) {
		ck->lazy = host_calloc(m, MAX_LAZY, sizeof(*ck->lazy));
		if (!ck->lazy) {
			ck_oom(m, "lazy ranges");
			return;
		}
	}
	ck->lazy[ck->nr_lazy++] = (struct lazy_range){start, end};
	assert(ck->nr_lazy <= MAX_LAZY);
}

void vmlab_checker_lazy_del(struct vmlab_machine *m, u64 start, u64 end)
{
	struct checker *ck = CK(m);
	if (!ck)
		return;
	/* Remove every range inside [start, end): a purge covers many. */
	size_t j = 0;
	for (size_t i = 0; i < ck->nr_lazy; i++)
		if (!(ck->lazy[i].start >= start && ck->lazy[i].end <= end))
			ck->lazy[j++] = ck->lazy[i];
	assert(j <= ck->nr_lazy); /* compaction only removes */
	ck->nr_lazy = j;
}

bool ck_in_lazy(const struct checker *ck, u64 va)
{
	assert(ck->nr_lazy <= MAX_LAZY);
	for (size_t i = 0; i < ck->nr_lazy; i++)
		if (va >= ck->lazy[i].start && va < ck->lazy[i].end)
			return true;
	return false;
}
