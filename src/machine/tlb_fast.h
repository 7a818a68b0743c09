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

#if defined(__SSE2__) && !defined(VMLAB_NO_SIMD)
#include <emmintrin.h>
#endif

/* tlb.c: clear the dead ways of one set (they were counted when
 * flushed). */
void tlb_set_reap(struct cpu *c, struct tlb_array *a, u32 set);

/* The host fast path forgets an L1 entry going away.  A 4 KiB page is
 * one slot per kind, probed in place (no shadow pages: a shadow page's
 * links need fast_drop_range's rules).  Only kinds k0..k1 can mirror it:
 * the fast path of a kind is filled from that kind's L1 array (fetches
 * from the iTLB, reads and writes from the dTLB). */
static inline void fast_scrub_kinds(struct cpu *c, const struct tlb_entry *e,
				    int k0, int k1)
{
	assert(!VMLAB_DEBUG_CHECKS || (k0 >= 0 && k0 <= k1 && k1 < VMLAB_NR_ACCESS));
	u64 start = tlb_entry_va(e);
	if (likely(e->level == VMLAB_LVL_PTE && !c->shadow_off)) {
		u32 idx = (u32)(start >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1);
		for (int k = k0; k <= k1; k++)
			if ((c->fast[k][idx].tag & VMLAB_PAGE_MASK) == start)
				c->fast[k][idx].tag = 0;
		return;
	}
	fast_drop_range(c, start, start + vmlab_level_size(e->level));
}

static inline void fast_scrub(struct cpu *c, const struct tlb_entry *e)
{
	fast_scrub_kinds(c, e, 0, VMLAB_NR_ACCESS - 1);
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

/* The fingerprint of a way: a byte of the page number's tag bits after a
 * multiply, never 0 (0 marks an unused way).  It leaves the context out,
 * so a lookup tests one byte per way for its own and the global tag alike
 * and the same byte serves every array of the page's size. */
static inline u64 fp_of_vpn(u64 vpn)
{
	u64 h = ((vpn & TLB_TAG_VPN_MASK) * 0x9e3779b97f4a7c15ULL) >> 56;
	return h ? h : 1;
}

#define FP_ONES 0x0101010101010101ULL
#define FP_HIGHS 0x8080808080808080ULL

#define FP_LOWS 0x7f7f7f7f7f7f7f7fULL

/* High bit of each byte of word that equals the byte broadcast in bx
 * (b * FP_ONES), exactly (no borrow crosses bytes): a lookup needs no
 * bound on the way, since padding bytes (0) never equal a fingerprint. */
static inline u64 fp_match(u64 word, u64 bx)
{
	u64 x = word ^ bx;
	return ~(((x & FP_LOWS) + FP_LOWS) | x | FP_LOWS);
}

/* A superset of fp_match's bits, two operations cheaper: every equal
 * byte's bit, and possibly bits of bytes above an equal one (a borrow
 * crosses them).  Zero exactly when no byte is equal, and its lowest
 * bit is exact: a lookup compares the full tag of every candidate, so
 * the extra ones cost only on a hit. */
static inline u64 fp_match_any(u64 word, u64 bx)
{
	u64 x = word ^ bx;
	return (x - FP_ONES) & ~x & FP_HIGHS;
}

/* Way w of set s gets fingerprint b (0: unused). */
static inline void fp_set(struct tlb_set *s, u32 w, u64 b)
{
	assert(!VMLAB_DEBUG_CHECKS || b <= 0xff);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Byte w of the set's words is way w's lane (fp_match). */
	((u8 *)tlb_set_fp(s))[w] = (u8)b;
#else
	u64 *word = &tlb_set_fp(s)[w / 8];
	u32 sh = (w % 8) * 8;
	*word = (*word & ~(0xffULL << sh)) | b << sh;
#endif
}

static inline u64 fp_get(struct tlb_set *s, u32 w)
{
	return (tlb_set_fp(s)[w / 8] >> (w % 8 * 8)) & 0xff;
}

/* The context part of the tags a lookup for pcid matches (everything but
 * the page number): its own and, in slot 0, the global one, which a
 * lookup needs only where a fingerprint matched in an array holding
 * global entries (tag_glob). */
struct tag_ctx {
	u64 own;
	const u16 *tgen; /* the CPU's generations */
};

static inline struct tag_ctx tag_ctx_of(const struct cpu *c, u16 pcid)
{
	return (struct tag_ctx){tag_make(0, pcid, false,
					 c->tgen[gen_slot(pcid, false)]),
				c->tgen};
}

static inline u64 tag_glob(struct tag_ctx tk)
{
	return tag_make(0, 0, true, tk.tgen[0]);
}

/* What a lookup of one page size computes once for every array of that
 * size: the page number, its tag bits and its broadcast fingerprint. */
struct tlb_key {
	u64 vpn, vbits, fbx;
};

static inline struct tlb_key tlb_key_of(u64 va, u32 shift)
{
	u64 vpn = va >> shift;
	return (struct tlb_key){vpn, (vpn & TLB_TAG_VPN_MASK) << TLB_TAG_VPN_SHIFT,
				fp_of_vpn(vpn) * FP_ONES};
}

/*
 * The way of set s (of a) holding the page of key k under context tk, or
 * NULL.  Fingerprints first (one word test per eight ways), full tags only
 * where one matches; the global tag is compared only while the array
 * holds global entries.
 */
/* Way w of set s holds the page of key k under context tk? */
static inline __attribute__((always_inline)) struct tlb_entry *
way_match(const struct tlb_array *a, struct tlb_set *s, u32 w,
	  struct tlb_key k, struct tag_ctx tk)
{
	assert(w < a->ways);
	u64 t = tlb_set_tags(a, s)[w];
	if (t != (k.vbits | tk.own) &&
	    !(a->nr_global && t == (k.vbits | tag_glob(tk))))
		return NULL;
	struct tlb_entry *e = tlb_set_ents(a, s) + w;
	/* Per-entry consistency: debug builds only (the miss path runs it
	 * for every array). */
	assert(!VMLAB_DEBUG_CHECKS || ((e->flags & TLBF_VALID) &&
				       e->vpn == k.vpn && e->level == a->level));
	return e;
}

static inline __attribute__((always_inline)) struct tlb_entry *
set_find(const struct tlb_array *a, struct tlb_set *s, struct tlb_key k,
	 struct tag_ctx tk)
{
	assert(!VMLAB_DEBUG_CHECKS ||
	       s == tlb_set_at(a, (u32)(k.vpn & a->set_mask)));
	const u64 *f = tlb_set_fp(s);
	u32 i = 0, nw = a->fp_words;
	assert(nw % 2 == 0);
#if defined(__SSE2__) && !defined(VMLAB_NO_SIMD)
	/* Sixteen ways per compare, exact: one bit per equal byte. */
	__m128i bx = _mm_set1_epi64x((long long)k.fbx);
	do {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(f + i));
		for (u32 z = (u32)_mm_movemask_epi8(_mm_cmpeq_epi8(v, bx)); z;
		     z &= z - 1) {
			struct tlb_entry *e =
				way_match(a, s, i * 8 + (u32)__builtin_ctz(z), k, tk);
			if (e)
				return e;
		}
	} while ((i += 2) < nw);
#else
	do {
		for (u64 z = fp_match_any(f[i], k.fbx); z; z &= z - 1) {
			u32 w = i * 8 + (u32)__builtin_ctzll(z) / 8;
			/* A borrow's candidate among the padding bytes (all
			 * 0, above every way): no way there. */
			if (unlikely(w >= a->ways))
				break;
			struct tlb_entry *e = way_match(a, s, w, k, tk);
			if (e)
				return e;
		}
	} while (++i < nw);
#endif
	return NULL;
}

static inline struct tlb_entry *array_find(struct tlb_array *a, u64 va,
					   struct tag_ctx tk)
{
	assert(a->blk);
	struct tlb_key k = tlb_key_of(va, a->shift);
	return set_find(a, tlb_set_at(a, (u32)(k.vpn & a->set_mask)), k, tk);
}

static inline struct tlb_entry *array_lookup(struct cpu *c, struct tlb_array *a,
					     u64 va, u16 pcid)
{
	return array_find(a, va, tag_ctx_of(c, pcid));
}

/* The large-page arrays (2 MiB, 1 GiB) of one kind (0 itlb, 1 dtlb,
 * 2 stlb) that hold entries: the CPU's used_mask skips the empty ones
 * (the 4 KiB arrays are probed without asking: an empty set's
 * fingerprints are all 0 and match nothing). */
static inline __attribute__((always_inline)) struct tlb_entry *
lookup_large(struct cpu *c, int k, struct tlb_array *arr, u64 va,
	     struct tag_ctx tk)
{
	assert(k >= 0 && k < 3);
	u32 bits = (c->used_mask >> (3 * k)) & 6;
	if (likely(!bits))
		return NULL;
	struct tlb_entry *e = NULL;
	if ((bits & 2) && (e = array_find(&arr[VMLAB_LVL_PMD], va, tk)))
		return e;
	if (bits & 4)
		e = array_find(&arr[VMLAB_LVL_PUD], va, tk);
	return e;
}

/* The first unused way of a set that has one (the lowest zero
 * fingerprint: exact, padding bytes past the ways come after every way),
 * now counted as used.  Out of line: a warm TLB replaces in place. */
static __attribute__((noinline, unused)) u32
tlb_take_hole(struct cpu *c, struct tlb_array *a, struct tlb_set *s, bool g,
	      u32 gs)
{
	assert(s->used < a->ways && gs < TLB_GEN_SLOTS);
	u32 slot = a->ways;
	for (u32 i = 0; i < a->fp_words; i++) {
		u64 z = fp_match(tlb_set_fp(s)[i], 0);
		if (z) {
			slot = i * 8 + (u32)__builtin_ctzll(z) / 8;
			break;
		}
	}
	assert(slot < a->ways && !tlb_set_tags(a, s)[slot]);
	s->used++;
	if (a->nr_used++ == 0)
		c->used_mask |= array_bit(c, a);
	a->nr_global += g;
	c->ctx_live[gs]++;
	if (gs >= c->gen_hi)
		c->gen_hi = gs + 1;
	return slot;
}

/* A victim of another context than the entry replacing it: the live
 * counts per generation slot and the global count move. */
static __attribute__((noinline, unused)) void
tlb_victim_recount(struct cpu *c, struct tlb_array *a, u64 vt, bool g, u32 gs)
{
	assert(gs < TLB_GEN_SLOTS && c->ctx_live[tag_slot(vt)] > 0);
	c->ctx_live[tag_slot(vt)]--;
	c->ctx_live[gs]++;
	a->nr_global += (u32)g - ((vt & TLB_TAG_G) != 0);
	if (gs >= c->gen_hi)
		c->gen_hi = gs + 1;
}

/* The fast path forgets a 4 KiB L1 victim: its slot in each kind the
 * array feeds (k0 == k1: the iTLB's fetches; else reads and writes). */
static inline __attribute__((always_inline)) void
scrub_4k(struct cpu *c, u64 start, int k0, int k1)
{
	u32 idx = (u32)(start >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1);
	if ((c->fast[k0][idx].tag & VMLAB_PAGE_MASK) == start)
		c->fast[k0][idx].tag = 0;
	if (k1 != k0 && (c->fast[k1][idx].tag & VMLAB_PAGE_MASK) == start)
		c->fast[k1][idx].tag = 0;
}

/*
 * Put ne into set s (index set) of array a (of ne's page size) under tag,
 * whose generation slot is gs and fingerprint fb.  Callers insert only
 * after a lookup in this array missed, so the page is not cached here.
 * A hole is the first unused way; in a full set the round-robin victim is
 * overwritten in place: its tag and entry are replaced, only the counts
 * that differ move (no drop-then-insert), and the host fast path is
 * scrubbed only for an L1 victim, only in the kinds k0..k1 its array
 * feeds (k0 < 0: L2).  obs: observers may want the drop and the fill
 * (false only where the caller has tested that none does); plain: a
 * victim's fast-path slots are two probes (a 4 KiB array, no KASAN shadow
 * links; a constant where the caller knows).
 */
static inline __attribute__((always_inline)) struct tlb_entry *
set_insert(struct vmlab_machine *m, struct cpu *c, struct tlb_array *a,
	   struct tlb_set *s, u32 set, const struct tlb_entry *ne, u64 tag,
	   u32 gs, u64 fb, int k0, int k1, bool obs, bool plain)
{
	/* Per-entry checks (debug builds: the miss path runs two inserts):
	 * the array has ne's size, ne is valid, a context tag, and a page of
	 * this size names a frame aligned to it; tag and fingerprint are the
	 * entry's. */
	assert(!VMLAB_DEBUG_CHECKS ||
	       (a->blk && a->level == ne->level && (ne->flags & TLBF_VALID) &&
		tlb_tag_ok(ne->pcid) && s == tlb_set_at(a, set) &&
		set == (u32)(ne->vpn & a->set_mask) &&
		(ne->pfn & ((1ULL << (9 * ne->level)) - 1)) == 0 &&
		tag == tag_entry(c, ne) && gs == tag_slot(tag) &&
		fb == fp_of_vpn(ne->vpn)));
	(void)m;
	if (unlikely(s->epoch != c->flush_epoch))
		tlb_set_reap(c, a, set);
	u32 slot;
	u64 *tags = tlb_set_tags(a, s);
	struct tlb_entry *ents = tlb_set_ents(a, s);
	if (likely(s->used == a->ways)) {
		/* next < ways (array_check): no division. */
		slot = s->next;
		s->next = (u16)(slot + 1 == a->ways ? 0 : slot + 1);
		struct tlb_entry *v = &ents[slot];
		u64 vt = tags[slot];
		assert(!VMLAB_DEBUG_CHECKS || tag_live(c, vt));
		if (obs && obs_drop_wanted(m, v))
			OBS_CALL(m, tlb_drop, c->id, to_tlbe(v));
		/* k0 < 0: an L2 array, which the fast path does not mirror
		 * (a constant where the fill inlines this). */
		assert(!VMLAB_DEBUG_CHECKS || (k0 < 0) == a->l2);
		if (k0 >= 0) {
			/* plain: a 4 KiB array on a CPU without shadow links
			 * (the caller knows; array_check: e->level is the
			 * array's). */
			assert(!plain || (a->level == VMLAB_LVL_PTE &&
					  v->level == VMLAB_LVL_PTE &&
					  !c->shadow_off));
			if (plain || likely(v->level == VMLAB_LVL_PTE &&
					    !c->shadow_off))
				scrub_4k(c, v->vpn << VMLAB_PAGE_SHIFT, k0, k1);
			else
				fast_scrub_kinds(c, v, k0, k1);
		}
		/* The victim's context counts move to the new entry's only
		 * when the two differ (most misses replace their own). */
		if (unlikely((vt ^ tag) &
			     (TLB_TAG_G | TLB_TAG_CTX_MASK << TLB_TAG_CTX_SHIFT)))
			tlb_victim_recount(c, a, vt, tag & TLB_TAG_G, gs);
		c->cnt[VMLAB_C_tlb_entries_dropped]++;
	} else {
		slot = tlb_take_hole(c, a, s, tag & TLB_TAG_G, gs);
	}
	struct tlb_entry *e = &ents[slot];
	*e = *ne;
	tags[slot] = tag;
	fp_set(s, slot, fb);
	assert(!VMLAB_DEBUG_CHECKS ||
	       (s->used <= a->ways && a->nr_global <= a->nr_used &&
		c->ctx_live[gs] > 0));
	/* Findable, and not shadowed by another entry for the page (a set
	 * scan: debug builds only, it costs the miss path ~5%). */
	if (VMLAB_EXPENSIVE_CHECKS)
		assert(array_lookup(c, a, tlb_entry_va(e), e->pcid) == e);
	if (obs && obs_fill_wanted(m, e))
		OBS_CALL(m, tlb_fill, c->id, to_tlbe(e));
	if (debug_every(&c->dbg_tick, 512))
		tlb_check(m, c);
	return e;
}

/* set_insert() of ne into its set of a, observers told. */
static inline struct tlb_entry *
tlb_insert(struct vmlab_machine *m, struct cpu *c, struct tlb_array *a,
	   const struct tlb_entry *ne, u64 tag, u32 gs, u64 fb, int k0, int k1)
{
	u32 set = (u32)(ne->vpn & a->set_mask);
	return set_insert(m, c, a, tlb_set_at(a, set), set, ne, tag, gs, fb,
			  k0, k1, true, false);
}

/*
 * The paging-structure caches are direct mapped: half the entries cache
 * PTE tables (PDE cache), half PMD tables (PDPTE cache), indexed by the
 * region number.  One compare per lookup keeps the walk cheap.  An entry
 * carries the table's host bytes when the frame has them (they never move
 * once allocated), so a walk resumed from it looks up no frame.
 */
static inline struct pwc_entry *pwc_slot(struct cpu *c, u64 tag, int level)
{
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	assert(c->pwc_n >= 2);
	return c->pwc_half[level] + (tag & c->pwc_mask);
}

static inline struct pwc_entry *pwc_lookup(struct cpu *c, u64 va, int level, u16 pcid)
{
	if (!c->pwc_n)
		return NULL;
	u64 tag = va >> vmlab_level_shift(level + 1);
	struct pwc_entry *p = pwc_slot(c, tag, level);
	if (p->key == pwc_key(tag, pcid)) {
		assert(p->valid && p->level == level && p->pcid == pcid);
		return p;
	}
	return NULL;
}

/* Cache the table pfn (host: its bytes, NULL when the frame has none or
 * is past RAM) that covers va's region at level. */
static inline void pwc_insert(struct cpu *c, u64 va, int level, u16 pcid,
			      u64 pfn, u64 *host)
{
	if (!c->pwc_n)
		return;
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	assert(tlb_tag_ok(pcid));
	u64 tag = va >> vmlab_level_shift(level + 1);
	struct pwc_entry *p = pwc_slot(c, tag, level);
	p->key = pwc_key(tag, pcid);
	p->tag = tag;
	p->pfn = pfn;
	p->host = host;
	p->pcid = pcid;
	p->level = (u8)level;
	p->valid = 1;
	assert(!VMLAB_DEBUG_CHECKS || pwc_lookup(c, va, level, pcid) == p);
}

#endif
