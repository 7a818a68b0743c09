/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU TLBs: split L1 (iTLB, dTLB) and a unified L2, one set-associative
 * array per page size, PCID-tagged entries with a global bit, round-robin
 * replacement per set (deterministic, and a hit changes no state, which
 * keeps the hit path short).  A paging-structure cache (PDE/PDPTE caches)
 * lets walks skip levels.  The host fast path mirrors L1 hits of the
 * current context at 4 KiB granularity and is dropped whenever an L1 entry
 * it was derived from goes away.
 */
#include <stdlib.h>

#include "internal.h"

static int array_init(struct tlb_array *a, const struct vmlab_tlb_geom *g,
		      int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	memset(a, 0, sizeof(*a));
	a->level = (u8)level;
	if (!g->entries)
		return 0;
	/* config_check() validated the geometry. */
	assert(g->ways > 0 && g->ways <= g->entries);
	assert(g->entries % g->ways == 0);
	a->ways = g->ways;
	a->sets = g->entries / g->ways;
	assert(a->sets && (a->sets & (a->sets - 1)) == 0);
	a->e = calloc(g->entries, sizeof(*a->e));
	a->tag = calloc(g->entries, sizeof(*a->tag));
	a->next = calloc(a->sets, sizeof(*a->next));
	a->set_valid = calloc(a->sets, sizeof(*a->set_valid));
	if (!a->e || !a->tag || !a->next || !a->set_valid)
		return -VMLAB_ENOMEM;
	assert(a->nr_valid == 0 && a->sets * a->ways == g->entries);
	return 0;
}

static void array_destroy(struct tlb_array *a)
{
	free(a->e);
	free(a->tag);
	free(a->next);
	free(a->set_valid);
	a->set_valid = NULL;
	a->e = NULL;
	a->tag = NULL;
	a->next = NULL;
}

int tlb_init(struct vmlab_machine *m, struct cpu *c)
{
	const struct vmlab_config *cfg = &m->cfg;
	assert(vmlab_cpu_valid(m, c->id) && &m->cpu[c->id] == c);
	assert(!c->pwc && !c->pwc_n);
	int err = 0;
	for (int l = 0; l < 3 && !err; l++) {
		err = array_init(&c->itlb[l], &cfg->itlb[l], l);
		if (!err)
			err = array_init(&c->dtlb[l], &cfg->dtlb[l], l);
		if (!err)
			err = array_init(&c->stlb[l], &cfg->stlb[l], l);
		c->stlb[l].l2 = true;
	}
	if (err)
		return err;
	if (cfg->pwc_entries) {
		c->pwc = calloc(cfg->pwc_entries, sizeof(*c->pwc));
		if (!c->pwc)
			return -VMLAB_ENOMEM;
		c->pwc_n = cfg->pwc_entries;
	}
	/* pwc_slot() splits the cache in two halves. */
	assert(c->pwc_n == 0 || c->pwc_n >= 2);
	c->loaded_asid = 0;
	return 0;
}

void tlb_destroy(struct cpu *c)
{
	for (int l = 0; l < 3; l++) {
		array_destroy(&c->itlb[l]);
		array_destroy(&c->dtlb[l]);
		array_destroy(&c->stlb[l]);
	}
	free(c->pwc);
	c->pwc = NULL;
}

u16 cpu_pcid(const struct cpu *c)
{
	assert(c->loaded_asid < TLB_NR_DYN_ASIDS);
	return (u16)(c->loaded_asid + 1);
}

/* ---------------------------------------------------------- fast path */

void fast_flush(struct cpu *c)
{
	memset(c->fast, 0, sizeof(c->fast));
}

void fast_drop_range(struct cpu *c, u64 start, u64 end)
{
	assert(start < end);
	assert(!(start & ~VMLAB_PAGE_MASK) && !(end & ~VMLAB_PAGE_MASK));
	if (end - start <= 16 * VMLAB_PAGE_SIZE) {
		/* At most 16 pages: probe their slots only. */
		for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE) {
			u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1);
			for (int k = 0; k < VMLAB_NR_ACCESS; k++)
				if ((c->fast[k][idx].tag & VMLAB_PAGE_MASK) == va)
					c->fast[k][idx].tag = 0;
		}
		return;
	}
	for (int k = 0; k < VMLAB_NR_ACCESS; k++)
		for (u32 i = 0; i < FAST_SIZE; i++) {
			u64 va = c->fast[k][i].tag & VMLAB_PAGE_MASK;
			if (c->fast[k][i].tag && va >= start && va < end)
				c->fast[k][i].tag = 0;
		}
}

/* ------------------------------------------------------------ arrays */

#define TAG_G (1ULL << 13)

static inline u64 tag_of(u64 vpn, u16 pcid, bool global)
{
	return vpn << 14 | (global ? TAG_G : (u64)pcid << 1) | 1;
}

static inline u64 tag_entry(const struct tlb_entry *e)
{
	return tag_of(e->vpn, e->pcid, e->flags & TLBF_G);
}

static struct tlb_entry *array_lookup(struct tlb_array *a, u64 va, u16 pcid)
{
	if (!a->nr_valid)
		return NULL;
	u64 vpn = va >> vmlab_level_shift(a->level);
	u32 base = (u32)(vpn & (a->sets - 1)) * a->ways;
	const u64 *t = &a->tag[base];
	u64 own = tag_of(vpn, pcid, false), glob = tag_of(vpn, 0, true);
	for (u32 w = 0; w < a->ways; w++)
		if (t[w] == own || t[w] == glob) {
			struct tlb_entry *e = &a->e[base + w];
			assert((e->flags & TLBF_VALID) && e->vpn == vpn);
			return e;
		}
	return NULL;
}

static void entry_drop(struct vmlab_machine *m, struct cpu *c,
		       struct tlb_array *a, struct tlb_entry *e)
{
	assert(e->flags & TLBF_VALID);
	assert(a->nr_valid > 0);
	size_t idx = (size_t)(e - a->e);
	assert(idx < (size_t)a->sets * a->ways); /* e belongs to a */
	assert(a->tag[idx] == tag_entry(e) && e->level == a->level);
	assert(a->set_valid[idx / a->ways] > 0);
	if (obs_on(m, OBS_TLB_DROP))
		OBS_CALL(m, tlb_drop, c->id, to_tlbe(e));
	/* The host fast path mirrors L1 entries only. */
	if (!a->l2) {
		u64 start = tlb_entry_va(e);
		fast_drop_range(c, start, start + vmlab_level_size(e->level));
	}
	e->flags = 0;
	a->tag[idx] = 0;
	a->set_valid[idx / a->ways]--;
	a->nr_valid--;
	count(m, c->id, VMLAB_C_tlb_entries_dropped, 1);
}

struct tlb_array *tlb_l1_array(struct cpu *c, enum vmlab_access kind,
			       int level)
{
	assert(level >= 0 && level < 3);
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	return kind == VMLAB_FETCH ? &c->itlb[level] : &c->dtlb[level];
}

struct tlb_entry *tlb_lookup_l1(struct cpu *c, enum vmlab_access kind,
				u64 va, u16 pcid)
{
	assert(pcid >= 1 && pcid <= TLB_NR_DYN_ASIDS);
	struct tlb_array *arr = kind == VMLAB_FETCH ? c->itlb : c->dtlb;
	for (int l = 0; l < 3; l++) {
		struct tlb_entry *e = array_lookup(&arr[l], va, pcid);
		if (e) {
			assert(e->level == l);
			return e;
		}
	}
	return NULL;
}

struct tlb_entry *tlb_lookup_l2(struct cpu *c, u64 va, u16 pcid)
{
	assert(pcid >= 1 && pcid <= TLB_NR_DYN_ASIDS);
	for (int l = 0; l < 3; l++) {
		struct tlb_entry *e = array_lookup(&c->stlb[l], va, pcid);
		if (e) {
			assert(e->level == l);
			return e;
		}
	}
	return NULL;
}

/*
 * Insert into array a, which must have the entry's page-size level.  An
 * entry for the same page and tag is replaced in place so no page is ever
 * cached twice in one array.
 */
struct tlb_entry *tlb_insert(struct vmlab_machine *m, struct cpu *c,
			     struct tlb_array *a, const struct tlb_entry *ne)
{
	assert(a->e && a->level == ne->level);
	assert(ne->flags & TLBF_VALID);
	assert(ne->pcid >= 1 && ne->pcid <= TLB_NR_DYN_ASIDS);
	/* A page of this size names a frame aligned to it. */
	assert((ne->pfn & ((1ULL << (9 * ne->level)) - 1)) == 0);
	u32 set = (u32)(ne->vpn & (a->sets - 1));
	u32 base = set * a->ways;
	u64 want = tag_entry(ne);
	/* Callers insert only after a lookup in this array missed, so the
	 * page is not cached here; a full set skips the search for a hole. */
	u32 slot = a->ways;
	if (a->set_valid[set] < a->ways) {
		for (u32 w = 0; w < a->ways; w++)
			if (!a->tag[base + w]) {
				slot = w;
				break;
			}
	}
	if (slot == a->ways) {
		u16 *next = &a->next[set];
		slot = *next % a->ways;
		*next = (u16)((*next + 1) % a->ways);
	}
	assert(a->tag[base + slot] != want);
	struct tlb_entry *e = &a->e[base + slot];
	if (e->flags & TLBF_VALID)
		entry_drop(m, c, a, e);
	*e = *ne;
	a->tag[base + slot] = want;
	a->set_valid[set]++;
	a->nr_valid++;
	assert(a->set_valid[set] <= a->ways);
	assert(a->nr_valid <= a->sets * a->ways);
	/* Findable, and not shadowed by another entry for the page (a set
	 * scan: debug builds only, it costs the miss path ~5%). */
	if (VMLAB_EXPENSIVE_CHECKS)
		assert(array_lookup(a, tlb_entry_va(e), e->pcid) == e);
	if (obs_on(m, OBS_TLB_FILL))
		OBS_CALL(m, tlb_fill, c->id, to_tlbe(e));
	if (debug_every(&c->dbg_tick, 512))
		tlb_check(m, c);
	return e;
}

static void visit_array(struct vmlab_machine *m, struct cpu *c,
			struct tlb_array *a, u64 start, u64 end,
			tlb_visit_fn fn, void *ctx)
{
	assert(a->e && start < end && fn);
	u64 shift = vmlab_level_shift(a->level);
	u64 first = start >> shift, last = (end - 1) >> shift;
	if (last - first + 1 >= a->sets) {
		u32 n = a->sets * a->ways;
		for (u32 i = 0; i < n; i++) {
			struct tlb_entry *e = &a->e[i];
			if ((e->flags & TLBF_VALID) && e->vpn >= first &&
			    e->vpn <= last)
				fn(m, c, e, ctx);
		}
		return;
	}
	/* Few pages: only their sets can hold them (fewer than a->sets). */
	assert(last - first + 1 < a->sets);
	for (u64 vpn = first; vpn <= last; vpn++) {
		struct tlb_entry *set = &a->e[(vpn & (a->sets - 1)) * a->ways];
		for (u32 w = 0; w < a->ways; w++)
			if ((set[w].flags & TLBF_VALID) && set[w].vpn == vpn)
				fn(m, c, &set[w], ctx);
	}
}

/* The arrays of a CPU that hold entries, iTLB, dTLB then L2, by size. */
static int live_arrays(struct cpu *c, struct tlb_array *out[9])
{
	struct tlb_array *all[3] = {c->itlb, c->dtlb, c->stlb};
	int n = 0;
	for (int k = 0; k < 3; k++)
		for (int l = 0; l < 3; l++)
			if (all[k][l].e && all[k][l].nr_valid)
				out[n++] = &all[k][l];
	assert(n <= 9);
	return n;
}

/* Visit valid entries of every array overlapping [start, end). */
void tlb_visit_range(struct vmlab_machine *m, struct cpu *c, u64 start,
		     u64 end, tlb_visit_fn fn, void *ctx)
{
	assert(start < end);
	assert(fn);
	struct tlb_array *live[9];
	int n = live_arrays(c, live);
	for (int i = 0; i < n; i++)
		visit_array(m, c, live[i], start, end, fn, ctx);
}

typedef bool (*drop_pred)(const struct tlb_entry *e, u64 arg, u16 pcid);

static u64 drop_where(struct vmlab_machine *m, struct cpu *c, drop_pred pred,
		      u64 arg, u16 pcid)
{
	assert(pcid <= TLB_NR_DYN_ASIDS);
	struct tlb_array *live[9];
	int nl = live_arrays(c, live);
	u64 dropped = 0;
	for (int j = 0; j < nl; j++) {
		struct tlb_array *a = live[j];
		u32 n = a->sets * a->ways, before = a->nr_valid;
		(void)before;
		for (u32 i = 0; i < n; i++)
			if ((a->e[i].flags & TLBF_VALID) &&
			    pred(&a->e[i], arg, pcid)) {
				entry_drop(m, c, a, &a->e[i]);
				dropped++;
			}
		assert(a->nr_valid <= before);
	}
	if (debug_every(&c->dbg_tick, 512))
		tlb_check(m, c);
	return dropped;
}

/* ------------------------------------------------------------ PWC */

void pwc_flush(struct cpu *c, int pcid)
{
	assert(pcid >= -1 && pcid <= TLB_NR_DYN_ASIDS);
	for (u32 i = 0; i < c->pwc_n; i++)
		if (pcid < 0 || c->pwc[i].pcid == pcid)
			c->pwc[i].valid = 0;
}

/*
 * The paging-structure caches are direct mapped: half the entries cache
 * PTE tables (PDE cache), half PMD tables (PDPTE cache), indexed by the
 * region number.  One compare per lookup keeps the walk cheap.
 */
static inline struct pwc_entry *pwc_slot(struct cpu *c, u64 tag, int level)
{
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	u32 half = c->pwc_n / 2;
	assert(half > 0);
	return &c->pwc[(u32)level * half + (u32)(tag & (half - 1))];
}

struct pwc_entry *pwc_lookup(struct cpu *c, u64 va, int level, u16 pcid)
{
	if (!c->pwc_n)
		return NULL;
	u64 tag = va >> vmlab_level_shift(level + 1);
	struct pwc_entry *p = pwc_slot(c, tag, level);
	if (p->valid && p->tag == tag && p->pcid == pcid) {
		assert(p->level == level);
		return p;
	}
	return NULL;
}

void pwc_insert(struct cpu *c, u64 va, int level, u16 pcid, u64 pfn)
{
	if (!c->pwc_n)
		return;
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	assert(pcid >= 1 && pcid <= TLB_NR_DYN_ASIDS);
	u64 tag = va >> vmlab_level_shift(level + 1);
	struct pwc_entry *p = pwc_slot(c, tag, level);
	p->tag = tag;
	p->pfn = pfn;
	p->pcid = pcid;
	p->level = (u8)level;
	p->valid = 1;
	assert(pwc_lookup(c, va, level, pcid) == p);
}

/* ------------------------------------------------------- invalidation */

static bool pred_invlpg(const struct tlb_entry *e, u64 va, u16 pcid)
{
	u64 start = tlb_entry_va(e);
	return va >= start && va < start + vmlab_level_size(e->level) &&
	       ((e->flags & TLBF_G) || e->pcid == pcid);
}

static bool pred_pcid(const struct tlb_entry *e, u64 unused, u16 pcid)
{
	(void)unused;
	return !(e->flags & TLBF_G) && e->pcid == pcid;
}

static bool pred_all(const struct tlb_entry *e, u64 unused, u16 pcid)
{
	(void)e;
	(void)unused;
	(void)pcid;
	return true;
}

/* Postcondition of a flush (VMLAB_EXPENSIVE_CHECKS): no valid entry that
 * pred selects is left in any array.  An invlpg'd page can only sit in
 * the one set its address indexes in each array. */
#if VMLAB_EXPENSIVE_CHECKS
static void flushed_check(const struct cpu *c, drop_pred pred, u64 arg,
			  u16 pcid)
{
	const struct tlb_array *all[3] = {c->itlb, c->dtlb, c->stlb};
	for (int k = 0; k < 3; k++)
		for (int l = 0; l < 3; l++) {
			const struct tlb_array *a = &all[k][l];
			if (!a->e)
				continue;
			u32 first = 0, n = a->sets * a->ways;
			if (pred == pred_invlpg) {
				u64 vpn = arg >> vmlab_level_shift(a->level);
				first = (u32)(vpn & (a->sets - 1)) * a->ways;
				n = a->ways;
			}
			for (u32 i = first; i < first + n; i++)
				assert(!(a->e[i].flags & TLBF_VALID) ||
				       !pred(&a->e[i], arg, pcid));
		}
}
#else
static inline void flushed_check(const struct cpu *c, drop_pred pred, u64 arg,
				 u16 pcid)
{
	(void)c;
	(void)pred;
	(void)arg;
	(void)pcid;
}
#endif

/*
 * The entries that can translate va sit in one set per array (the set of
 * va's page number at that array's page size), so an invalidation of one
 * address looks at those sets only, not at the whole TLB.
 */
static u64 drop_va(struct vmlab_machine *m, struct cpu *c, u64 va, u16 pcid)
{
	struct tlb_array *live[9];
	int nl = live_arrays(c, live);
	u64 dropped = 0;
	for (int j = 0; j < nl; j++) {
		struct tlb_array *a = live[j];
		u64 vpn = va >> vmlab_level_shift(a->level);
		u32 base = (u32)(vpn & (a->sets - 1)) * a->ways;
		for (u32 w = 0; w < a->ways; w++) {
			struct tlb_entry *e = &a->e[base + w];
			if (a->tag[base + w] && e->vpn == vpn &&
			    pred_invlpg(e, va, pcid)) {
				entry_drop(m, c, a, e);
				dropped++;
			}
		}
	}
	return dropped;
}

void tlb_invlpg(struct vmlab_machine *m, struct cpu *c, u64 va)
{
	assert(vmlab_cpu_valid(m, c->id));
	va &= VMLAB_PAGE_MASK;
	u16 pcid = cpu_pcid(c);
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, VMLAB_INV_VA, false, va, pcid);
	u64 n = drop_va(m, c, va, pcid);
	flushed_check(c, pred_invlpg, va, pcid);
	/* INVLPG also empties the paging-structure caches of this PCID. */
	pwc_flush(c, pcid);
	count(m, c->id, VMLAB_C_invlpg, 1);
	count(m, c->id, VMLAB_C_pages_invalidated, 1);
	(void)n;
	ev(m, VMLAB_EV_INVLPG, c->id, va, pcid, 0);
}

void tlb_invlpg_quiet(struct vmlab_machine *m, struct cpu *c, u64 va)
{
	assert(vmlab_cpu_valid(m, c->id));
	drop_va(m, c, va & VMLAB_PAGE_MASK, cpu_pcid(c));
	flushed_check(c, pred_invlpg, va & VMLAB_PAGE_MASK, cpu_pcid(c));
}

void tlb_flush_pcid(struct vmlab_machine *m, struct cpu *c, u16 pcid)
{
	assert(pcid >= 1 && pcid <= TLB_NR_DYN_ASIDS);
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, VMLAB_INV_ASID, false, 0, pcid);
	drop_where(m, c, pred_pcid, 0, pcid);
	flushed_check(c, pred_pcid, 0, pcid);
	pwc_flush(c, pcid);
	count(m, c->id, VMLAB_C_flush_local, 1);
	ev(m, VMLAB_EV_FLUSH_LOCAL, c->id, pcid, 0, 0);
}

void tlb_flush_all_entries(struct vmlab_machine *m, struct cpu *c)
{
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, VMLAB_INV_ALL, false, 0, 0);
	drop_where(m, c, pred_all, 0, 0);
	pwc_flush(c, -1);
	fast_flush(c);
	assert(vmlab_tlb_occupancy(m, c->id) == 0);
	count(m, c->id, VMLAB_C_flush_global, 1);
	ev(m, VMLAB_EV_FLUSH_GLOBAL, c->id, 0, 0, 0);
}

u32 vmlab_tlb_occupancy(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu))
		return 0;
	struct cpu *c = &m->cpu[cpu];
	u32 n = 0;
	for (int l = 0; l < 3; l++)
		n += c->itlb[l].nr_valid + c->dtlb[l].nr_valid +
		     c->stlb[l].nr_valid;
	return n;
}

static void tlbf_to_prot(u8 f, vmlab_pgprot_t *prot)
{
	assert(f & TLBF_VALID);
	vmlab_pgprot_t p = VMLAB_PAGE_PRESENT;
	if (f & TLBF_W)
		p |= VMLAB_PAGE_RW;
	if (!(f & TLBF_X))
		p |= VMLAB_PAGE_NX;
	if (f & TLBF_U)
		p |= VMLAB_PAGE_USER;
	if (f & TLBF_G)
		p |= VMLAB_PAGE_GLOBAL;
	if (f & TLBF_D)
		p |= VMLAB_PAGE_DIRTY;
	*prot = p;
}

int vmlab_tlb_probe(struct vmlab_machine *m, int cpu, u64 va, u64 *pfn,
		    vmlab_pgprot_t *prot)
{
	if (!vmlab_cpu_valid(m, cpu))
		return -1;
	struct cpu *c = &m->cpu[cpu];
	struct tlb_array *all[3] = {c->dtlb, c->itlb, c->stlb};
	for (int k = 0; k < 3; k++)
		for (int l = 0; l < 3; l++) {
			struct tlb_array *a = &all[k][l];
			if (!a->e || !a->nr_valid)
				continue;
			u64 vpn = va >> vmlab_level_shift(l);
			struct tlb_entry *set =
				&a->e[(vpn & (a->sets - 1)) * a->ways];
			for (u32 w = 0; w < a->ways; w++) {
				struct tlb_entry *e = &set[w];
				if (!(e->flags & TLBF_VALID) || e->vpn != vpn)
					continue;
				assert(e->level == l);
				if (pfn)
					*pfn = e->pfn + ((va >> VMLAB_PAGE_SHIFT) &
							 ((1ULL << (9 * l)) - 1));
				if (prot)
					tlbf_to_prot(e->flags, prot);
				return l;
			}
		}
	return -1;
}

struct vmlab_mm *cpu_mm_of_pcid(struct vmlab_machine *m, struct cpu *c,
				u16 pcid)
{
	assert(pcid >= 1 && pcid <= TLB_NR_DYN_ASIDS);
	(void)m;
	const struct asid_slot *s = &c->asid[pcid - 1];
	/* A slot's mm is the one whose context it was last given to. */
	assert(!s->mm || s->mm->ctx_id == s->ctx_id);
	return s->mm; /* NULL once that mm is gone */
}

/* ------------------------------------------------------- debug checks */

#if VMLAB_EXPENSIVE_CHECKS
/*
 * One array: tag[] agrees with e[] (a zero tag exactly on an invalid way,
 * else the entry's own tag); a valid entry has the array's level, sits in
 * the set its vpn indexes, names a frame aligned to its page size and a
 * PCID in 1..TLB_NR_DYN_ASIDS; no tag occurs twice in a set (no page is
 * cached twice); set_valid[] and nr_valid equal recounts.
 */
static void array_check(const struct tlb_array *a)
{
	if (!a->e) {
		assert(a->nr_valid == 0);
		return;
	}
	u32 total = 0;
	for (u32 s = 0; s < a->sets; s++) {
		const u64 *t = &a->tag[s * a->ways];
		const struct tlb_entry *set = &a->e[s * a->ways];
		u32 n = 0;
		for (u32 w = 0; w < a->ways; w++) {
			const struct tlb_entry *e = &set[w];
			if (!(e->flags & TLBF_VALID)) {
				assert(t[w] == 0);
				continue;
			}
			n++;
			assert(t[w] == tag_entry(e) && e->level == a->level);
			assert((e->vpn & (a->sets - 1)) == s);
			assert((e->pfn & ((1ULL << (9 * e->level)) - 1)) == 0);
			assert(e->pcid >= 1 && e->pcid <= TLB_NR_DYN_ASIDS);
			for (u32 v = w + 1; v < a->ways; v++)
				assert(t[v] != t[w]);
		}
		assert(a->set_valid[s] == n && a->next[s] < a->ways);
		total += n;
	}
	assert(a->nr_valid == total);
}

/* Is a fast-path slot for va (kind) backed by a valid, non-stale L1 entry
 * of the current PCID (or a global one) whose frame has host bytes? */
static bool fast_backed(struct vmlab_machine *m, struct cpu *c,
			enum vmlab_access kind, u64 va, const u8 *host)
{
	for (int l = 0; l < 3; l++) {
		const struct tlb_entry *e =
			array_lookup(tlb_l1_array(c, kind, l), va, cpu_pcid(c));
		if (!e || (e->flags & TLBF_STALE))
			continue;
		if (kind == VMLAB_WRITE && !(e->flags & TLBF_D))
			continue;
		u64 pfn = e->pfn + ((va >> VMLAB_PAGE_SHIFT) &
				    ((1ULL << (9 * l)) - 1));
		const struct frame_section *s =
			m->phys.sections[pfn >> SECTION_SHIFT];
		if (s && s->content[pfn & (SECTION_FRAMES - 1)] == host)
			return true;
	}
	return false;
}

/* Every live fast-path slot sits at its page's index and mirrors an L1
 * entry that the slow path would use (see fast_fill, fast_drop_range). */
static void fast_check(struct vmlab_machine *m, struct cpu *c)
{
	for (int k = 0; k < VMLAB_NR_ACCESS; k++)
		for (u32 i = 0; i < FAST_SIZE; i++) {
			const struct fast_entry *fe = &c->fast[k][i];
			if (!fe->tag)
				continue;
			u64 va = fe->tag & VMLAB_PAGE_MASK;
			assert((fe->tag & 1) && fe->host);
			assert(((va >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1)) == i);
			assert(fast_backed(m, c, (enum vmlab_access)k, va,
					   fe->host));
		}
}

/* Valid paging-structure cache entries sit in the slot their region
 * indexes, in the half of their level, under a live PCID. */
static void pwc_check(const struct cpu *c)
{
	u32 half = c->pwc_n / 2;
	for (u32 i = 0; i < c->pwc_n; i++) {
		const struct pwc_entry *p = &c->pwc[i];
		if (!p->valid)
			continue;
		assert(p->level == VMLAB_LVL_PTE || p->level == VMLAB_LVL_PMD);
		assert(p->pcid >= 1 && p->pcid <= TLB_NR_DYN_ASIDS);
		assert(i == p->level * half + (u32)(p->tag & (half - 1)));
	}
}

/* A CPU's whole TLB state: every array, the fast path, the PWC, ASIDs. */
void tlb_check(struct vmlab_machine *m, struct cpu *c)
{
	assert(c->loaded_asid < TLB_NR_DYN_ASIDS);
	assert(c->next_asid < TLB_NR_DYN_ASIDS && c->loaded_mm);
	/* The loaded ASID slot describes the loaded mm. */
	const struct asid_slot *s = &c->asid[c->loaded_asid];
	assert(s->ctx_id == c->loaded_mm->ctx_id && s->mm == c->loaded_mm);
	assert(s->tlb_gen <= c->loaded_mm->tlb_gen);
	for (int l = 0; l < 3; l++) {
		array_check(&c->itlb[l]);
		array_check(&c->dtlb[l]);
		array_check(&c->stlb[l]);
	}
	fast_check(m, c);
	pwc_check(c);
}
#endif
