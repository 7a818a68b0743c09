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
#include "tlb_fast.h"

static int array_init(struct vmlab_machine *m, struct tlb_array *a,
		      const struct vmlab_tlb_geom *g, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	memset(a, 0, sizeof(*a));
	a->level = (u8)level;
	a->shift = (u8)vmlab_level_shift(level);
	if (!g->entries)
		return 0;
	/* config_check() validated the geometry. */
	assert(g->ways > 0 && g->ways <= g->entries);
	assert(g->entries % g->ways == 0);
	a->ways = g->ways;
	a->sets = g->entries / g->ways;
	a->set_mask = a->sets - 1;
	assert(a->sets && (a->sets & (a->sets - 1)) == 0);
	/* Whole 16-byte groups: set_find compares sixteen at a time. */
	a->fp_words = (u16)((a->ways + 15) / 16 * 2);
	/* A block: header, fingerprints, tags, entries (struct tlb_set). */
	u32 tag_off = (u32)sizeof(struct tlb_set) + 8u * a->fp_words;
	u32 ent_off = tag_off + 8u * a->ways;
	u32 stride = ent_off + (u32)sizeof(struct tlb_entry) * a->ways;
	a->tag_off = tag_off;
	a->ent_off = ent_off;
	a->stride = stride;
	u64 bytes = (u64)a->sets * stride;
	if (!host_charge(m, bytes))
		return -VMLAB_ENOMEM;
	a->blk = host_calloc(m, a->sets, stride);
	if (!a->blk)
		return -VMLAB_ENOMEM;
	assert(a->nr_used == 0 && a->sets * a->ways == g->entries);
	assert(tlb_way(a, a->sets - 1, a->ways - 1) + 1 ==
	       (struct tlb_entry *)(void *)(a->blk + bytes));
	return 0;
}

static void array_destroy(struct tlb_array *a)
{
	free(a->blk);
	a->blk = NULL;
}

int tlb_init(struct vmlab_machine *m, struct cpu *c)
{
	const struct vmlab_config *cfg = &m->cfg;
	assert(vmlab_cpu_valid(m, c->id) && &m->cpu[c->id] == c);
	assert(!c->pwc && !c->pwc_n);
	int err = 0;
	for (int l = 0; l < 3 && !err; l++) {
		err = array_init(m, &c->itlb[l], &cfg->itlb[l], l);
		if (!err)
			err = array_init(m, &c->dtlb[l], &cfg->dtlb[l], l);
		if (!err)
			err = array_init(m, &c->stlb[l], &cfg->stlb[l], l);
		c->stlb[l].l2 = true;
	}
	if (err)
		return err;
	if (cfg->pwc_entries) {
		if (!host_charge(m, cfg->pwc_entries * sizeof(*c->pwc)))
			return -VMLAB_ENOMEM;
		c->pwc = host_calloc(m, cfg->pwc_entries, sizeof(*c->pwc));
		if (!c->pwc)
			return -VMLAB_ENOMEM;
		c->pwc_n = cfg->pwc_entries;
		/* pwc_slot() splits the cache in two halves. */
		c->pwc_mask = c->pwc_n / 2 - 1;
		c->pwc_half[0] = c->pwc;
		c->pwc_half[1] = c->pwc + c->pwc_n / 2;
	}
	assert(c->pwc_n == 0 || c->pwc_n >= 2);
	c->loaded_asid = 0;
	c->used_mask = 0;
	c->gen_hi = 0;
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

/* ---------------------------------------------------------- fast path */

void fast_flush(struct cpu *c)
{
	/* Only the slots written since the last flush can be non-empty. */
	for (u32 w = 0; w < ARRAY_SIZE(c->fast_used); w++) {
		for (u64 bits = c->fast_used[w]; bits; bits &= bits - 1) {
			u32 bit = w * 64 + (u32)__builtin_ctzll(bits);
			c->fast[bit / FAST_SIZE][bit % FAST_SIZE].tag = 0;
		}
		c->fast_used[w] = 0;
	}
	if (VMLAB_EXPENSIVE_CHECKS)
		for (int k = 0; k < VMLAB_NR_ACCESS; k++)
			for (u32 i = 0; i < FAST_SIZE; i++)
				assert(!c->fast[k][i].tag);
}

void fast_drop_range(struct cpu *c, u64 start, u64 end)
{
	assert(start < end);
	assert(!(start & ~VMLAB_PAGE_MASK) && !(end & ~VMLAB_PAGE_MASK));
	/* A shadow page going: the entries linked to it go too. */
	if (unlikely(c->shadow_off) &&
	    (fast_in_shadow(c, start) || fast_in_shadow(c, end - 1) ||
	     (start < fast_shadow_lo(c) && end > fast_shadow_lo(c)))) {
		fast_flush(c);
		return;
	}
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

/* ------------------------------------------------- tags, generations */

/* Way w of set stops being used (its tag is cleared). */
static void way_clear(struct cpu *c, struct tlb_array *a, u32 set, u32 w)
{
	struct tlb_set *s = tlb_set_at(a, set);
	u64 *t = &tlb_set_tags(a, s)[w];
	assert(*t && s->used > 0 && a->nr_used > 0);
	if (*t & TLB_TAG_G) {
		assert(a->nr_global > 0);
		a->nr_global--;
	}
	*t = 0;
	fp_set(s, w, 0);
	tlb_set_ents(a, s)[w].flags = 0;
	s->used--;
	if (--a->nr_used == 0)
		c->used_mask &= (u16)~array_bit(c, a);
}

/* Clear the dead ways of one set (they were counted when flushed). */
void tlb_set_reap(struct cpu *c, struct tlb_array *a, u32 set)
{
	struct tlb_set *s = tlb_set_at(a, set);
	u64 *t = tlb_set_tags(a, s);
	for (u32 w = 0; w < a->ways; w++)
		if (t[w] && !tag_live(c, t[w]))
			way_clear(c, a, set, w);
	s->epoch = c->flush_epoch;
}

/* Drop the live entry in way w of set: observers, the fast path, the
 * counts. */
static void entry_drop(struct vmlab_machine *m, struct cpu *c,
		       struct tlb_array *a, u32 set, u32 w)
{
	assert(set < a->sets && w < a->ways);
	struct tlb_entry *e = tlb_way(a, set, w);
	u64 t = *tlb_way_tag(a, set, w);
	assert(tag_live(c, t) && t == tag_entry(c, e));
	if (obs_drop_wanted(m, e))
		OBS_CALL(m, tlb_drop, c->id, to_tlbe(e));
	/* The host fast path mirrors L1 entries only. */
	if (!a->l2)
		fast_scrub(c, e);
	u32 slot = tag_slot(t);
	assert(c->ctx_live[slot] > 0);
	c->ctx_live[slot]--;
	way_clear(c, a, set, w);
	c->cnt[VMLAB_C_tlb_entries_dropped]++;
}

struct tlb_array *tlb_l1_array(struct cpu *c, enum vmlab_access kind,
			       int level)
{
	assert(level >= 0 && level < 3);
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	return kind == VMLAB_FETCH ? &c->itlb[level] : &c->dtlb[level];
}

static void visit_array(struct vmlab_machine *m, struct cpu *c,
			struct tlb_array *a, u64 start, u64 end,
			tlb_visit_fn fn, void *ctx)
{
	assert(a->blk && start < end && fn);
	u64 shift = a->shift;
	u64 first = start >> shift, last = (end - 1) >> shift;
	if (last - first + 1 >= a->sets) {
		for (u32 set = 0; set < a->sets; set++) {
			struct tlb_set *s = tlb_set_at(a, set);
			for (u32 w = 0; w < a->ways; w++) {
				struct tlb_entry *e = &tlb_set_ents(a, s)[w];
				if (tag_live(c, tlb_set_tags(a, s)[w]) &&
				    e->vpn >= first && e->vpn <= last)
					fn(m, c, e, ctx);
			}
		}
		return;
	}
	/* Few pages: only their sets can hold them (fewer than a->sets). */
	assert(last - first + 1 < a->sets);
	for (u64 vpn = first; vpn <= last; vpn++) {
		struct tlb_set *s = tlb_set_at(a, (u32)(vpn & a->set_mask));
		for (u32 w = 0; w < a->ways; w++)
			if (tag_live(c, tlb_set_tags(a, s)[w]) &&
			    tlb_set_ents(a, s)[w].vpn == vpn)
				fn(m, c, &tlb_set_ents(a, s)[w], ctx);
	}
}

/* The arrays of a CPU that hold entries, iTLB, dTLB then L2, by size. */
static int live_arrays(struct cpu *c, struct tlb_array *out[9])
{
	struct tlb_array *all[3] = {c->itlb, c->dtlb, c->stlb};
	int n = 0;
	for (u32 bits = c->used_mask; bits; bits &= bits - 1) {
		int b = __builtin_ctz(bits);
		out[n++] = &all[b / 3][b % 3];
		assert(out[n - 1]->blk && out[n - 1]->nr_used);
	}
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

/* The eager flush: scan every used array (observers see each drop). */
static u64 drop_where(struct vmlab_machine *m, struct cpu *c, drop_pred pred,
		      u64 arg, u16 pcid)
{
	assert(tlb_tag_ok(pcid));
	struct tlb_array *live[9];
	int nl = live_arrays(c, live);
	u64 dropped = 0;
	for (int j = 0; j < nl; j++) {
		struct tlb_array *a = live[j];
		u32 before = a->nr_used;
		(void)before;
		for (u32 set = 0; set < a->sets; set++) {
			struct tlb_set *s = tlb_set_at(a, set);
			for (u32 w = 0; w < a->ways; w++)
				if (tag_live(c, tlb_set_tags(a, s)[w]) &&
				    pred(&tlb_set_ents(a, s)[w], arg, pcid)) {
					entry_drop(m, c, a, set, w);
					dropped++;
				}
		}
		assert(a->nr_used <= before);
	}
	if (debug_every(&c->dbg_tick, 512))
		tlb_check(m, c);
	return dropped;
}

/*
 * The O(1) flush: every live entry of the slot dies with its generation
 * (and is counted as dropped now, as an eager flush would).  When the
 * generation wraps, the slot's old tags could match again, so they are
 * cleared first, one scan per 1024 flushes of the slot.
 */
static void gen_bump(struct cpu *c, u32 slot)
{
	assert(slot < TLB_GEN_SLOTS);
	c->cnt[VMLAB_C_tlb_entries_dropped] += c->ctx_live[slot];
	c->ctx_live[slot] = 0;
	c->tgen[slot] = (u16)((c->tgen[slot] + 1) & TLB_GEN_MASK);
	c->flush_epoch++;
	if (unlikely(c->tgen[slot] == 0)) {
		struct tlb_array *live[9];
		int nl = live_arrays(c, live);
		for (int j = 0; j < nl; j++) {
			struct tlb_array *a = live[j];
			for (u32 set = 0; set < a->sets; set++)
				for (u32 w = 0; w < a->ways; w++) {
					u64 t = *tlb_way_tag(a, set, w);
					if (t && tag_slot(t) == slot)
						way_clear(c, a, set, w);
				}
		}
	}
	assert(c->ctx_live[slot] == 0);
}

/* ------------------------------------------------------------ PWC */

void pwc_flush(struct cpu *c, int pcid)
{
	assert(pcid >= -1 && pcid <= 0xffff);
	for (u32 i = 0; i < c->pwc_n; i++)
		if (pcid < 0 || c->pwc[i].pcid == pcid) {
			c->pwc[i].valid = 0;
			c->pwc[i].key = 0;
		}
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

/* Postcondition of a flush (VMLAB_EXPENSIVE_CHECKS): no live entry that
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
			if (!a->blk)
				continue;
			u32 first = 0, n = a->sets * a->ways;
			if (pred == pred_invlpg) {
				u64 vpn = arg >> a->shift;
				first = (u32)(vpn & a->set_mask) * a->ways;
				n = a->ways;
			}
			for (u32 i = first; i < first + n; i++)
				assert(!tag_live(c, *tlb_way_tag(a, i / a->ways,
								 i % a->ways)) ||
				       !pred(tlb_way(a, i / a->ways, i % a->ways),
					     arg, pcid));
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
static u64 drop_va(struct vmlab_machine *m, struct cpu *c, u64 va, u16 pcid,
		   drop_pred pred)
{
	struct tlb_array *live[9];
	int nl = live_arrays(c, live);
	u64 dropped = 0;
	for (int j = 0; j < nl; j++) {
		struct tlb_array *a = live[j];
		u64 vpn = va >> a->shift;
		u32 set = (u32)(vpn & a->set_mask);
		struct tlb_set *s = tlb_set_at(a, set);
		for (u32 w = 0; w < a->ways; w++) {
			struct tlb_entry *e = &tlb_set_ents(a, s)[w];
			if (tag_live(c, tlb_set_tags(a, s)[w]) && e->vpn == vpn &&
			    pred(e, va, pcid)) {
				entry_drop(m, c, a, set, w);
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
	u64 n = drop_va(m, c, va, pcid, pred_invlpg);
	flushed_check(c, pred_invlpg, va, pcid);
	/* INVLPG also empties the paging-structure caches of this PCID. */
	pwc_flush(c, pcid);
	c->cnt[VMLAB_C_invlpg]++;
	c->cnt[VMLAB_C_pages_invalidated]++;
	(void)n;
	ev(m, VMLAB_EV_INVLPG, c->id, va, pcid, 0);
}

void tlb_invlpg_quiet(struct vmlab_machine *m, struct cpu *c, u64 va)
{
	assert(vmlab_cpu_valid(m, c->id));
	drop_va(m, c, va & VMLAB_PAGE_MASK, cpu_pcid(c), pred_invlpg);
	flushed_check(c, pred_invlpg, va & VMLAB_PAGE_MASK, cpu_pcid(c));
}

/* Observers that see every drop get the eager scan; else O(1). */
static inline bool flush_eager(const struct vmlab_machine *m)
{
	return obs_on(m, OBS_TLB_DROP);
}

/* arm64 TLBI by VA for every ASID (VAAE1), without counting. */
static bool pred_va_any(const struct tlb_entry *e, u64 va, u16 pcid)
{
	(void)pcid;
	u64 start = tlb_entry_va(e);
	return va >= start && va < start + vmlab_level_size(e->level);
}

void tlb_drop_va(struct vmlab_machine *m, struct cpu *c, u64 va, u16 tag,
		 bool any_tag)
{
	va &= VMLAB_PAGE_MASK;
	drop_va(m, c, va, tag, any_tag ? pred_va_any : pred_invlpg);
	flushed_check(c, any_tag ? pred_va_any : pred_invlpg, va, tag);
}

void tlb_drop_tag(struct vmlab_machine *m, struct cpu *c, u16 tag)
{
	if (flush_eager(m))
		drop_where(m, c, pred_pcid, 0, tag);
	else
		gen_bump(c, gen_slot(tag, false));
	if (tag == cpu_pcid(c))
		fast_flush(c);
	flushed_check(c, pred_pcid, 0, tag);
}

void tlb_drop_all(struct vmlab_machine *m, struct cpu *c)
{
	if (flush_eager(m))
		drop_where(m, c, pred_all, 0, 0);
	else
		for (u32 s = 0; s < c->gen_hi; s++)
			gen_bump(c, s);
	pwc_flush(c, -1);
	fast_flush(c);
	assert(vmlab_tlb_occupancy(m, c->id) == 0);
}

void tlb_flush_pcid(struct vmlab_machine *m, struct cpu *c, u16 pcid)
{
	assert(tlb_tag_ok(pcid));
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, VMLAB_INV_ASID, false, 0, pcid);
	if (flush_eager(m)) {
		drop_where(m, c, pred_pcid, 0, pcid);
	} else {
		gen_bump(c, gen_slot(pcid, false));
		/* The fast path mirrors the current context only. */
		if (pcid == cpu_pcid(c))
			fast_flush(c);
	}
	flushed_check(c, pred_pcid, 0, pcid);
	pwc_flush(c, pcid);
	c->cnt[VMLAB_C_flush_local]++;
	ev(m, VMLAB_EV_FLUSH_LOCAL, c->id, pcid, 0, 0);
}

void tlb_flush_all_entries(struct vmlab_machine *m, struct cpu *c)
{
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, VMLAB_INV_ALL, false, 0, 0);
	if (flush_eager(m))
		drop_where(m, c, pred_all, 0, 0);
	else
		for (u32 s = 0; s < c->gen_hi; s++)
			gen_bump(c, s);
	pwc_flush(c, -1);
	fast_flush(c);
	assert(vmlab_tlb_occupancy(m, c->id) == 0);
	c->cnt[VMLAB_C_flush_global]++;
	ev(m, VMLAB_EV_FLUSH_GLOBAL, c->id, 0, 0, 0);
}

u32 vmlab_tlb_occupancy(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu))
		return 0;
	const struct cpu *c = &m->cpu[cpu];
	u32 n = 0;
	for (u32 s = 0; s < c->gen_hi; s++)
		n += c->ctx_live[s];
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
			if (!a->blk || !a->nr_used)
				continue;
			u64 vpn = va >> a->shift;
			struct tlb_set *s = tlb_set_at(a, (u32)(vpn & a->set_mask));
			for (u32 w = 0; w < a->ways; w++) {
				struct tlb_entry *e = &tlb_set_ents(a, s)[w];
				if (!tag_live(c, tlb_set_tags(a, s)[w]) ||
				    e->vpn != vpn)
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

/* ------------------------------------------------------- debug checks */

#if VMLAB_EXPENSIVE_CHECKS
/*
 * One array: a live tag is the entry's own tag under its slot's current
 * generation; a valid entry has the array's level, sits in the set its vpn
 * indexes, names a frame aligned to its page size and a PCID in
 * 1..TLB_NR_DYN_ASIDS; no live tag occurs twice in a set (no page is
 * cached twice); each set's used, nr_used and nr_global equal recounts.  live[]
 * gets the live entries per generation slot.
 */
static void array_check(const struct cpu *c, const struct tlb_array *a,
			u32 *live)
{
	if (!a->blk) {
		assert(a->nr_used == 0);
		return;
	}
	u32 total = 0, glob = 0;
	for (u32 s = 0; s < a->sets; s++) {
		struct tlb_set *blk = tlb_set_at(a, s);
		const u64 *t = tlb_set_tags(a, blk);
		const struct tlb_entry *set = tlb_set_ents(a, blk);
		u32 n = 0;
		for (u32 w = 0; w < a->ways; w++) {
			const struct tlb_entry *e = &set[w];
			u64 fb = fp_get(blk, w);
			assert(fb == (t[w] ? fp_of_vpn(e->vpn) : 0));
			if (!t[w])
				continue;
			n++;
			glob += (t[w] & TLB_TAG_G) != 0;
			if (!tag_live(c, t[w]))
				continue;
			live[tag_slot(t[w])]++;
			assert(e->flags & TLBF_VALID);
			assert(t[w] == tag_entry(c, e) && e->level == a->level);
			assert((e->vpn & a->set_mask) == s);
			assert((e->pfn & ((1ULL << (9 * e->level)) - 1)) == 0);
			assert(tlb_tag_ok(e->pcid));
			for (u32 v = w + 1; v < a->ways; v++)
				assert(t[v] != t[w]);
		}
		assert(blk->used == n && blk->next < a->ways);
		/* Padding fingerprint bytes past the ways stay 0. */
		for (u32 w = a->ways; w < 8u * a->fp_words; w++)
			assert(fp_get(blk, w) == 0);
		total += n;
	}
	assert(a->nr_used == total && a->nr_global == glob);
	assert(!total == !(c->used_mask & array_bit(c, a)));
}

/* Is a fast-path slot for va (kind) backed by a valid, non-stale L1 entry
 * of the current PCID (or a global one) whose frame has host bytes? */
static bool fast_backed(struct vmlab_machine *m, struct cpu *c,
			enum vmlab_access kind, u64 va, const u8 *host)
{
	for (int l = 0; l < 3; l++) {
		const struct tlb_entry *e =
			array_lookup(c, tlb_l1_array(c, kind, l), va, cpu_pcid(c));
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
		assert(!p->valid == !p->key);
		if (!p->valid)
			continue;
		assert(p->level == VMLAB_LVL_PTE || p->level == VMLAB_LVL_PMD);
		assert(tlb_tag_ok(p->pcid));
		assert(i == p->level * half + (u32)(p->tag & (half - 1)));
		assert(p->key == pwc_key(p->tag, p->pcid));
	}
}

/* A CPU's whole TLB state: every array, the fast path, the PWC, ASIDs. */
void tlb_check(struct vmlab_machine *m, struct cpu *c)
{
	assert(c->loaded_asid < TLB_NR_DYN_ASIDS);
	assert(c->next_asid < TLB_NR_DYN_ASIDS && c->loaded_mm);
	/* The loaded ASID slot describes the loaded mm (x86), but for the
	 * flush of a switch's CR3 write, which a debug tick may land in. */
	const struct asid_slot *s = &c->asid[c->loaded_asid];
	assert(m->arch->id != VMLAB_ARCH_X86_64 || c->in_cr3_write ||
	       (s->ctx_id == c->loaded_mm->ctx_id && s->mm == c->loaded_mm &&
		s->tlb_gen <= c->loaded_mm->tlb_gen));
	u32 live[TLB_GEN_SLOTS] = {0};
	for (int l = 0; l < 3; l++) {
		array_check(c, &c->itlb[l], live);
		array_check(c, &c->dtlb[l], live);
		array_check(c, &c->stlb[l], live);
	}
	for (u32 g = 0; g < TLB_GEN_SLOTS; g++)
		assert(live[g] == c->ctx_live[g] && (g < c->gen_hi || !live[g]));
	fast_check(m, c);
	pwc_check(c);
}
#endif
