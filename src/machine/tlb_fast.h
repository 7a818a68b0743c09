/* SPDX-License-Identifier: MIT */
/*
 * The TLB's hot paths, inline where they run (the miss path in access.c,
 * the flushes in tlb.c): tags and generations, fingerprints, the lookup
 * of a kind's page-size arrays, the insert with in-place victim
 * replacement, the fast-path scrub of an L1 victim, and the
 * paging-structure cache.  The arrays' layout is in internal.h.
 */
#ifndef VMLAB_MACHINE_TLB_FAST_H
#define VMLAB_MACHINE_TLB_FAST_H

#include "internal.h"

/* tlb.c: clear the dead ways of one set (they were counted when
 * flushed). */
void tlb_set_reap(struct cpu *c, struct tlb_array *a, u32 set);

/* The host fast path forgets an L1 entry going away.  A 4 KiB page is
 * one slot per kind, probed in place (no shadow pages: a shadow page's
 * links need fast_drop_range's rules). */
static inline void fast_scrub(struct cpu *c, const struct tlb_entry *e)
{
	u64 start = tlb_entry_va(e);
	if (likely(e->level == VMLAB_LVL_PTE && !c->shadow_off)) {
		u32 idx = (u32)(start >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1);
		for (int k = 0; k < VMLAB_NR_ACCESS; k++)
			if ((c->fast[k][idx].tag & VMLAB_PAGE_MASK) == start)
				c->fast[k][idx].tag = 0;
		return;
	}
	fast_drop_range(c, start, start + vmlab_level_size(e->level));
}

/* The generation slot of a context (slot 0: global entries). */
static inline u32 gen_slot(u64 ctx, bool global)
{
	return global ? 0 : 1 + (u32)((ctx - 1) & (TLB_GEN_SLOTS - 2));
}

static inline u64 tag_make(u64 vpn, u64 ctx, bool global, u16 gen)
{
	return (vpn & TLB_TAG_VPN_MASK) << TLB_TAG_VPN_SHIFT |
	       (global ? TLB_TAG_G : ctx << TLB_TAG_CTX_SHIFT) |
	       (u64)gen << TLB_TAG_GEN_SHIFT | 1;
}

static inline u32 tag_slot(u64 t)
{
	return gen_slot((t >> TLB_TAG_CTX_SHIFT) & TLB_TAG_CTX_MASK,
			t & TLB_TAG_G);
}

/* A nonzero tag whose generation is its slot's current one. */
static inline bool tag_live(const struct cpu *c, u64 t)
{
	return t && (t >> TLB_TAG_GEN_SHIFT) == c->tgen[tag_slot(t)];
}

/* The tag an entry has now, under the current generation of its slot. */
static inline u64 tag_entry(const struct cpu *c, const struct tlb_entry *e)
{
	bool g = e->flags & TLBF_G;
	return tag_make(e->vpn, e->pcid, g, c->tgen[gen_slot(e->pcid, g)]);
}

static inline u16 array_bit(const struct cpu *c, const struct tlb_array *a)
{
	const struct tlb_array *base = a->l2 ? c->stlb :
				       a >= c->dtlb && a < c->dtlb + 3 ? c->dtlb :
									  c->itlb;
	int k = base == c->itlb ? 0 : base == c->dtlb ? 1 : 2;
	return (u16)(1u << (k * 3 + a->level));
}

/* The fingerprint of a nonzero tag: its top byte after a multiply,
 * never 0 (0 marks an unused way). */
static inline u64 fp_of(u64 tag)
{
	u64 h = (tag * 0x9e3779b97f4a7c15ULL) >> 56;
	return h ? h : 1;
}

#define FP_ONES 0x0101010101010101ULL
#define FP_HIGHS 0x8080808080808080ULL

/* High bit of each byte of word that equals the byte b (exact for the
 * lowest such byte; a higher flag may be false, so callers verify). */
static inline u64 fp_match(u64 word, u64 b)
{
	u64 x = word ^ (b * FP_ONES);
	return (x - FP_ONES) & ~x & FP_HIGHS;
}

/* Way w of a's set gets fingerprint b (0: unused). */
static inline void fp_set(struct tlb_array *a, u32 set, u32 w, u64 b)
{
	u64 *word = &a->fp[set * a->fp_words + w / 8];
	u32 sh = (w % 8) * 8;
	*word = (*word & ~(0xffULL << sh)) | b << sh;
}

/* The context part of the tags a lookup for pcid matches (everything but
 * the page number): its own and, in slot 0, the global one. */
struct tag_ctx {
	u64 own, glob;
};

static inline struct tag_ctx tag_ctx_of(const struct cpu *c, u16 pcid)
{
	return (struct tag_ctx){tag_make(0, pcid, false,
					 c->tgen[gen_slot(pcid, false)]),
				tag_make(0, 0, true, c->tgen[0])};
}

static inline struct tlb_entry *array_find(struct tlb_array *a, u64 va,
					   struct tag_ctx k)
{
	u64 vpn = va >> a->shift;
	u32 set = (u32)(vpn & (a->sets - 1));
	u32 base = set * a->ways;
	const u64 *t = &a->tag[base];
	const u64 *f = &a->fp[set * a->fp_words];
	u64 vbits = (vpn & TLB_TAG_VPN_MASK) << TLB_TAG_VPN_SHIFT;
	u64 own = vbits | k.own;
	/* Without global entries only the own tag can match (glob == own). */
	bool any_g = unlikely(a->nr_global != 0);
	u64 glob = any_g ? vbits | k.glob : own;
	u64 fo = fp_of(own), fg = fp_of(glob);
	u32 w = a->ways;
	for (u32 i = 0; i < a->fp_words; i++) {
		u64 z = fp_match(f[i], fo);
		if (any_g)
			z |= fp_match(f[i], fg);
		for (; z; z &= z - 1) {
			u32 cw = i * 8 + (u32)__builtin_ctzll(z) / 8;
			if (cw < a->ways && (t[cw] == own || t[cw] == glob)) {
				w = cw;
				goto found;
			}
		}
	}
	return NULL;
found:;
	struct tlb_entry *e = &a->e[base + w];
	/* Per-entry consistency: debug builds only (the miss path runs it
	 * for every array). */
	assert(!VMLAB_DEBUG_CHECKS ||
	       ((e->flags & TLBF_VALID) && e->vpn == vpn && e->level == a->level));
	return e;
}

static inline struct tlb_entry *array_lookup(struct cpu *c, struct tlb_array *a,
				      u64 va, u16 pcid)
{
	assert(a->e);
	return array_find(a, va, tag_ctx_of(c, pcid));
}

/* The used page-size arrays of one kind (0 itlb, 1 dtlb, 2 stlb), smallest
 * page first. */
static inline struct tlb_entry *lookup_kind(struct cpu *c, int k,
					    struct tlb_array *arr, u64 va,
					    u16 pcid)
{
	u32 bits = (c->used_mask >> (3 * k)) & 7;
	if (!bits)
		return NULL;
	struct tag_ctx tk = tag_ctx_of(c, pcid);
	for (; bits; bits &= bits - 1) {
		int l = __builtin_ctz(bits);
		struct tlb_entry *e = array_find(&arr[l], va, tk);
		if (e)
			return e;
	}
	return NULL;
}

static inline struct tlb_entry *tlb_lookup_l1(struct cpu *c, enum vmlab_access kind,
				u64 va, u16 pcid)
{
	assert(tlb_tag_ok(pcid));
	return kind == VMLAB_FETCH ? lookup_kind(c, 0, c->itlb, va, pcid)
				   : lookup_kind(c, 1, c->dtlb, va, pcid);
}

static inline struct tlb_entry *tlb_lookup_l2(struct cpu *c, u64 va, u16 pcid)
{
	assert(tlb_tag_ok(pcid));
	return lookup_kind(c, 2, c->stlb, va, pcid);
}

/*
 * Insert into array a, which must have the entry's page-size level.
 * Callers insert only after a lookup in this array missed, so the page is
 * not cached here.  A hole is the first unused way; in a full set the
 * round-robin victim is overwritten in place.
 */
static inline struct tlb_entry *tlb_insert(struct vmlab_machine *m, struct cpu *c,
			     struct tlb_array *a, const struct tlb_entry *ne)
{
	assert(a->e && a->level == ne->level);
	/* Per-entry checks (debug builds): valid, a context tag, and a page
	 * of this size names a frame aligned to it. */
	assert(!VMLAB_DEBUG_CHECKS ||
	       ((ne->flags & TLBF_VALID) && tlb_tag_ok(ne->pcid) &&
		(ne->pfn & ((1ULL << (9 * ne->level)) - 1)) == 0));
	u32 set = (u32)(ne->vpn & (a->sets - 1));
	u32 base = set * a->ways;
	if (unlikely(a->set_epoch[set] != c->flush_epoch))
		tlb_set_reap(c, a, set);
	u32 slot = a->ways;
	if (a->set_used[set] < a->ways) {
		/* The first unused way: the lowest zero fingerprint (exact;
		 * padding bytes past the ways come after every way). */
		for (u32 i = 0; i < a->fp_words; i++) {
			u64 z = fp_match(a->fp[set * a->fp_words + i], 0);
			if (z) {
				slot = i * 8 + (u32)__builtin_ctzll(z) / 8;
				break;
			}
		}
		assert(slot < a->ways && !a->tag[base + slot]);
		a->set_used[set]++;
		if (a->nr_used++ == 0)
			c->used_mask |= array_bit(c, a);
	} else {
		/* next[set] < ways (array_check): no division. */
		u16 *next = &a->next[set];
		slot = *next;
		*next = (u16)(slot + 1 == a->ways ? 0 : slot + 1);
		/* In place: the victim's bookkeeping is undone, its way kept. */
		struct tlb_entry *v = &a->e[base + slot];
		u64 vt = a->tag[base + slot];
		assert(!VMLAB_DEBUG_CHECKS || tag_live(c, vt));
		if (obs_on(m, OBS_TLB_DROP))
			OBS_CALL(m, tlb_drop, c->id, to_tlbe(v));
		if (!a->l2)
			fast_scrub(c, v);
		c->ctx_live[tag_slot(vt)]--;
		a->nr_global -= (vt & TLB_TAG_G) != 0;
		c->cnt[VMLAB_C_tlb_entries_dropped]++;
	}
	struct tlb_entry *e = &a->e[base + slot];
	*e = *ne;
	bool g = ne->flags & TLBF_G;
	u32 gs = gen_slot(ne->pcid, g);
	a->tag[base + slot] = tag_make(ne->vpn, ne->pcid, g, c->tgen[gs]);
	fp_set(a, set, slot, fp_of(a->tag[base + slot]));
	a->nr_global += g;
	c->ctx_live[gs]++;
	if (gs >= c->gen_hi)
		c->gen_hi = gs + 1;
	assert(!VMLAB_DEBUG_CHECKS ||
	       (a->set_used[set] <= a->ways && a->nr_global <= a->nr_used));
	/* Findable, and not shadowed by another entry for the page (a set
	 * scan: debug builds only, it costs the miss path ~5%). */
	if (VMLAB_EXPENSIVE_CHECKS)
		assert(array_lookup(c, a, tlb_entry_va(e), e->pcid) == e);
	if (obs_on(m, OBS_TLB_FILL))
		OBS_CALL(m, tlb_fill, c->id, to_tlbe(e));
	if (debug_every(&c->dbg_tick, 512))
		tlb_check(m, c);
	return e;
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

static inline struct pwc_entry *pwc_lookup(struct cpu *c, u64 va, int level, u16 pcid)
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

static inline void pwc_insert(struct cpu *c, u64 va, int level, u16 pcid, u64 pfn)
{
	if (!c->pwc_n)
		return;
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	assert(tlb_tag_ok(pcid));
	u64 tag = va >> vmlab_level_shift(level + 1);
	struct pwc_entry *p = pwc_slot(c, tag, level);
	p->tag = tag;
	p->pfn = pfn;
	p->pcid = pcid;
	p->level = (u8)level;
	p->valid = 1;
	assert(!VMLAB_DEBUG_CHECKS || pwc_lookup(c, va, level, pcid) == p);
}

#endif
