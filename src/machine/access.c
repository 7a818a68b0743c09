/* SPDX-License-Identifier: MIT */
/*
 * CPU memory accesses: fast path, TLB lookup, the hardware page walk (the
 * paging-structure cache here, each architecture's rules in
 * src/arch/<arch>/walk.h), faults and the fault-time retry rules.
 */
#include "internal.h"
#include "tlb_fast.h"

#define MAX_ACCESS_LEN VMLAB_MiB
#define MAX_FAULT_RETRIES 8

/* x86: bits 63..47 equal; arm64: bits 63..48 (TTBR0 or TTBR1 region). */
static inline bool canonical(const struct vmlab_machine *m, u64 va)
{
	return vmlab_va_canonical(m, va);
}

/* Result of a hardware walk. */
struct walk_res {
	bool ok;
	u32 error_code;
	u64 entry;
	int level;
	struct tlb_entry te;
};

/* Permission rules shared by both architectures' TLB flags: a user-mode
 * access needs U, a write W, a fetch X, and supervisor fetches from user
 * pages fault (x86 SMEP; arm64 Linux sets PXN on every user page). */
static inline u32 perm_fault(u8 f, enum vmlab_access kind, bool user)
{
	assert((f & TLBF_VALID) && (unsigned)kind < VMLAB_NR_ACCESS);
	if (user && !(f & TLBF_U))
		return VMLAB_PF_PROT;
	if (kind == VMLAB_WRITE && !(f & TLBF_W))
		return VMLAB_PF_PROT;
	if (kind == VMLAB_FETCH && (!(f & TLBF_X) || (!user && (f & TLBF_U))))
		return VMLAB_PF_PROT;
	return 0;
}

static inline u32 err_bits(enum vmlab_access kind, bool user)
{
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	return (kind == VMLAB_WRITE ? VMLAB_PF_WRITE : 0) |
	       (kind == VMLAB_FETCH ? VMLAB_PF_INSTR : 0) |
	       (user ? VMLAB_PF_USER : 0);
}

static inline bool table_bad(const struct vmlab_machine *m, u64 table)
{
	return unlikely(table >= m->phys.nr_frames);
}

/* A frame's host entries, NULL when it has none (never written). */
static inline u64 *table_host(const struct vmlab_machine *m, u64 table)
{
	assert(table < m->phys.nr_frames); /* callers check table_bad() */
	const struct frame_section *s = m->phys.sections[table >> SECTION_SHIFT];
	return s ? (u64 *)(void *)s->content[table & (SECTION_FRAMES - 1)]
		 : NULL;
}

/* The entries a walk reads in table (host: its bytes when known): an
 * unwritten frame reads as zeros (all invalid), NULL past RAM (the
 * caller's reserved-bit fault). */
static inline u64 *walk_table(const struct vmlab_machine *m, u64 table,
			      u64 *host)
{
	if (likely(host != NULL))
		return host;
	if (table_bad(m, table))
		return NULL;
	host = table_host(m, table);
	return host ? host : (u64 *)(void *)m->phys.zero_page;
}

/* The slot of va's entry in a level's table entries. */
static inline u64 *walk_slot(u64 *entries, u64 va, int level)
{
	assert(entries && level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	return entries +
	       ((va >> vmlab_level_shift(level)) & (VMLAB_PTRS_PER_TABLE - 1));
}

/*
 * What every level of a walk needs, loaded once at its start: the frame
 * sections and the end of RAM (the walk's stores into counters and the
 * paging-structure cache could alias them, so the compiler would reload
 * them per level), and the context's tag with its PWC key bits.
 */
struct walk_env {
	struct frame_section *const *secs;
	u64 nr_frames;
	u64 pctx; /* pwc_key(0, tag) */
	u16 tag;
};

static inline struct walk_env walk_env_of(const struct vmlab_machine *m,
					  const struct cpu *c)
{
	return (struct walk_env){m->phys.sections, m->phys.nr_frames,
				 pwc_key(0, cpu_pcid(c)), cpu_pcid(c)};
}

/* The host entries of table frame pfn < nr_frames, NULL when it has none
 * (never written: it reads as zeros). */
static inline u64 *env_host(const struct walk_env *w, u64 pfn)
{
	assert(pfn < w->nr_frames);
	const struct frame_section *s = w->secs[pfn >> SECTION_SHIFT];
	return s ? (u64 *)(void *)s->content[pfn & (SECTION_FRAMES - 1)] : NULL;
}

/* The paging-structure cache's entry for va's table at level (PTE or
 * PMD table) under the walk's tag, NULL on a miss. */
static inline struct pwc_entry *pwc_find(struct cpu *c, const struct walk_env *w,
					 u64 va, int level)
{
	assert(c->pwc_n && (level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD));
	u64 tag = va >> vmlab_level_shift(level + 1);
	struct pwc_entry *p = c->pwc_half[level] + (tag & c->pwc_mask);
	if (p->key != (tag << 17 | w->pctx))
		return NULL;
	assert(p->valid && p->level == level && p->pcid == w->tag);
	return p;
}

/*
 * Start of a walk from root, resumed from the paging-structure cache
 * (tagged like the TLB) when it holds va's PTE or PMD table: the level
 * and *entries of its table (NULL: the table is past RAM, *table names
 * it).  The cache hands over the table's host bytes with its pfn.
 */
static inline int walk_start(struct vmlab_machine *m, struct cpu *c, u64 va,
			     const struct walk_env *w, u64 root, u64 *table,
			     u64 **entries)
{
	assert(c->loaded_mm);
	assert(!VMLAB_DEBUG_CHECKS || w->tag == cpu_pcid(c));
	c->cnt[VMLAB_C_walk]++;
	struct pwc_entry *p = NULL;
	if (likely(c->pwc_n) && !(p = pwc_find(c, w, va, VMLAB_LVL_PTE)))
		p = pwc_find(c, w, va, VMLAB_LVL_PMD);
	if (!p) {
		*table = root;
		if (unlikely(root >= w->nr_frames)) {
			*entries = NULL;
		} else {
			u64 *h = env_host(w, root);
			*entries = h ? h : (u64 *)(void *)m->phys.zero_page;
		}
		return VMLAB_LVL_PGD;
	}
	c->cnt[VMLAB_C_pwc_hit]++;
	if (obs_on(m, OBS_PWC_USE))
		OBS_CALL(m, pwc_use, c->id, va, p->level, p->pfn);
	/* Only PTE and PMD tables are cached: the walk starts below PUD. */
	assert(p->level == VMLAB_LVL_PTE || p->level == VMLAB_LVL_PMD);
	/* A cached host pointer is the frame's (debug builds check). */
	assert(!VMLAB_DEBUG_CHECKS || !p->host ||
	       p->host == table_host(m, p->pfn));
	*table = p->pfn;
	*entries = walk_table(m, p->pfn, p->host);
	return p->level;
}

/*
 * A table entry at level names table: the walk goes down into it.  The
 * paging-structure cache learns it (PMD and PTE tables) with its host
 * bytes; returns the entries to read next, NULL past RAM.
 */
static inline u64 *walk_next(struct vmlab_machine *m, struct cpu *c, u64 va,
			     int level, const struct walk_env *w, u64 table)
{
	assert(level > VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	u64 *host = likely(table < w->nr_frames) ? env_host(w, table) : NULL;
	if (level <= VMLAB_LVL_PUD && likely(c->pwc_n)) {
		/* pwc_insert(), the tag's key bits known. */
		u64 t = va >> vmlab_level_shift(level);
		struct pwc_entry *p = c->pwc_half[level - 1] + (t & c->pwc_mask);
		p->key = t << 17 | w->pctx;
		p->tag = t;
		p->pfn = table;
		p->host = host;
		p->pcid = w->tag;
		p->level = (u8)(level - 1);
		p->valid = 1;
		assert(!VMLAB_DEBUG_CHECKS ||
		       pwc_lookup(c, va, level - 1, w->tag) == p);
	}
	if (likely(host != NULL))
		return host;
	return table < w->nr_frames ? (u64 *)(void *)m->phys.zero_page : NULL;
}

/* Hardware A/D (AF/DBM) update: same translation, only `bits` change. */
static inline void entry_set_ad(struct vmlab_machine *m, u64 *slot, u64 val,
				u64 bits)
{
	(void)m;
	(void)bits;
	assert(!((*slot ^ val) & ~bits));
	assert((u8 *)slot < m->phys.zero_page ||
	       (u8 *)slot >= m->phys.zero_page + VMLAB_PAGE_SIZE);
	*slot = val;
}

static inline void walk_fail(struct walk_res *r, u64 e, int level, u32 pf,
			     enum vmlab_access kind, bool user)
{
	r->ok = false;
	r->entry = e;
	r->level = level;
	r->error_code = pf | err_bits(kind, user);
}

/*
 * A table entry holding garbage (written through an alias) may name a
 * table past RAM, a large page misaligned for its size or a frame past
 * RAM: the walk stops with a reserved-bit fault, as an address above
 * MAXPHYADDR does on x86 (an address-size fault on arm64), instead of
 * reading the host's memory.
 */
static __attribute__((noinline)) void
walk_rsvd(struct vmlab_machine *m, struct walk_res *r, enum vmlab_access kind,
	  bool user, int level, u64 pfn, u64 e)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	vmlab_warn(m, "page walk: entry at level %d names pfn %#llx (past RAM "
		      "or misaligned): reserved-bit fault", level,
		   (unsigned long long)pfn);
	walk_fail(r, e, level, VMLAB_PF_PROT | VMLAB_PF_RSVD, kind, user);
}

/* Is a leaf's output usable: aligned to its size, inside RAM? */
static inline bool leaf_bad(const struct vmlab_machine *m, u64 pfn, int level)
{
	u64 pages = 1ULL << (9 * level);
	return (pfn & (pages - 1)) || pfn + pages > m->phys.nr_frames;
}

static inline void walk_ok(struct vmlab_machine *m, struct walk_res *r,
			   u64 va, u64 e, int level, u64 pfn, u16 tag, u8 f)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	r->ok = true;
	r->entry = e;
	r->level = level;
	r->te = (struct tlb_entry){
		.vpn = va >> vmlab_level_shift(level),
		.pfn = pfn,
		.pcid = tag,
		.level = (u8)level,
		.flags = (u8)(f | (in_direct_map(m, va) ? TLBF_DM : 0)),
		.fill_seq = (u32)m->nr_events,
	};
	assert(!VMLAB_DEBUG_CHECKS ||
	       (tlb_entry_va(&r->te) <= va &&
		va - tlb_entry_va(&r->te) < vmlab_level_size(level)));
}

/*
 * The common miss is walked first as a pure probe: it reads the tables
 * and changes nothing, and either finds a walk the common path can commit
 * in one go (every table present with A/AF needing no update, tables and
 * the 4 KiB leaf inside RAM with host bytes, the access allowed with no
 * A/D/AF/DBM update due) or gives up, and the general walk runs as if the
 * probe had never been (no counter, cache or entry has moved).  What the
 * commit needs of the walk is here.
 */
struct walk_probe {
	u64 pfn;      /* the leaf's frame */
	u8 *host;     /* its bytes */
	u8 flags;     /* the TLB entry's TLBF_* (no TLBF_DM) */
	int start;    /* the level the walk began at: PGD, or the PWC's */
	u64 pmd_pfn;  /* PMD table read below a PUD entry (start PGD/PUD) */
	u64 pte_pfn;  /* PTE table read below a PMD entry (start >= PMD) */
	u64 *pmd_host, *pte_host;
	/* The PWC slots and keys of va's PTE and PMD tables (the lookups
	 * missed there; the commit fills them) */
	struct pwc_entry *pwc[2];
	u64 key[2];
};

/* The host bytes of frame pfn for the probe: NULL past RAM or when the
 * frame has none (the general walk handles both). */
static inline u64 *probe_host(const struct walk_env *w, u64 pfn)
{
	if (unlikely(pfn >= w->nr_frames))
		return NULL;
	return env_host(w, pfn);
}

/* One table level of the probe: va's entry at level in table t, and the
 * table below it when the entry's bits under mask are want (its frame
 * in *pfn); NULL: give up. */
static inline __attribute__((always_inline)) u64 *
probe_down(const struct walk_env *w, const u64 *t, u64 va, int level,
	   u64 mask, u64 want, u64 oa_mask, u64 *e, u64 *pfn)
{
	*e = *walk_slot((u64 *)(uintptr_t)t, va, level);
	if (unlikely((*e & mask) != want))
		return NULL;
	*pfn = (*e & oa_mask) >> VMLAB_PAGE_SHIFT;
	return probe_host(w, *pfn);
}

/* The probe's start: the PWC's PTE or PMD table (its level in p->start)
 * or the root's table; NULL: give up. */
static inline u64 *probe_start(struct cpu *c, const struct walk_env *w,
			       u64 va, u64 root, struct walk_probe *p)
{
	if (likely(c->pwc_n)) {
		/* (The compiler cannot tell a PTE-table hit skips these.) */
		p->pwc[1] = NULL;
		p->key[1] = 0;
		for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PMD; l++) {
			u64 t = va >> vmlab_level_shift(l + 1);
			struct pwc_entry *e = c->pwc_half[l] + (t & c->pwc_mask);
			p->pwc[l] = e;
			p->key[l] = t << 17 | w->pctx;
			if (e->key == p->key[l]) {
				assert(e->valid && e->level == l &&
				       e->pcid == w->tag);
				p->start = l;
				return e->host;
			}
		}
	} else {
		p->pwc[0] = p->pwc[1] = NULL; /* no PWC: nothing to learn */
		p->key[0] = p->key[1] = 0;
	}
	p->start = VMLAB_LVL_PGD;
	return probe_host(w, root);
}

#include "arch/arm64/walk.h"
#include "arch/x86/walk.h"

/* The walk: one switch on the architecture, then that architecture's
 * tight loop (no indirect call per level). */
static void hw_walk(struct vmlab_machine *m, struct cpu *c, u64 va,
		    enum vmlab_access kind, bool user, struct walk_res *r)
{
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	assert(!VMLAB_DEBUG_CHECKS || canonical(m, va));
	switch (m->arch->id) {
	case VMLAB_ARCH_X86_64:
		x86_walk(m, c, va, kind, user, r);
		return;
	case VMLAB_ARCH_ARM64:
		arm64_walk(m, c, va, kind, user, r);
		return;
	}
	assert(!"unknown architecture");
	walk_fail(r, 0, -1, VMLAB_PF_RSVD, kind, user);
}

/* The fast-path kinds an L1 array of kind feeds (fast_scrub_kinds). */
static inline int feed_lo(enum vmlab_access kind)
{
	return kind == VMLAB_FETCH ? VMLAB_FETCH : VMLAB_READ;
}

static inline int feed_hi(enum vmlab_access kind)
{
	return kind == VMLAB_FETCH ? VMLAB_FETCH : VMLAB_WRITE;
}

/* Insert e into a (of e's size), its tag, slot and fingerprint computed
 * here. */
static inline struct tlb_entry *insert_entry(struct vmlab_machine *m,
					     struct cpu *c, struct tlb_array *a,
					     const struct tlb_entry *e,
					     enum vmlab_access kind)
{
	bool g = e->flags & TLBF_G;
	u32 gs = gen_slot(e->pcid, g);
	return tlb_insert(m, c, a, e, tag_make(e->vpn, e->pcid, g, c->tgen[gs]),
			  gs, fp_of_vpn(e->vpn), a->l2 ? -1 : feed_lo(kind),
			  feed_hi(kind));
}

/* Insert e at the largest level an array of the kind supports
 * (a 1 GiB page is fractured into 2 MiB or 4 KiB entries). */
static struct tlb_entry *fill_array(struct vmlab_machine *m, struct cpu *c,
				    struct tlb_array *arr, u64 va,
				    const struct tlb_entry *src,
				    enum vmlab_access kind)
{
	int l = src->level;
	assert(l >= VMLAB_LVL_PTE && l <= VMLAB_LVL_PUD);
	assert(!VMLAB_DEBUG_CHECKS || src->vpn == va >> vmlab_level_shift(l));
	while (l > 0 && !arr[l].blk)
		l--;
	assert(arr[l].blk);
	if (likely(l == src->level))
		return insert_entry(m, c, &arr[l], src, kind);
	struct tlb_entry ne = *src;
	u64 sub = (va >> vmlab_level_shift(l)) &
		  ((1ULL << (9 * (src->level - l))) - 1);
	ne.level = (u8)l;
	ne.vpn = va >> vmlab_level_shift(l);
	ne.pfn = src->pfn + (sub << (9 * l));
	/* A fractured piece translates va to the same frame as src. */
	assert(!VMLAB_DEBUG_CHECKS ||
	       ne.pfn + ((va >> VMLAB_PAGE_SHIFT) & ((1ULL << (9 * l)) - 1)) ==
		       src->pfn + ((va >> VMLAB_PAGE_SHIFT) &
				   ((1ULL << (9 * src->level)) - 1)));
	return insert_entry(m, c, &arr[l], &ne, kind);
}

/* Where the miss's lookups found va's 4 KiB page would sit: its key and
 * its set in the kind's L1 array and in L2 (s2 NULL: no 4 KiB L2). */
struct miss_probe {
	struct tlb_key k;
	struct tlb_set *s1, *s2;
	u32 set1, set2;
};

/* The fill after a walk, in general: observers told, any page size. */
static __attribute__((noinline)) struct tlb_entry *
tlb_fill_slow(struct vmlab_machine *m, struct cpu *c, enum vmlab_access kind,
	      u64 va, const struct tlb_entry *te)
{
	struct tlb_array *l1 = kind == VMLAB_FETCH ? c->itlb : c->dtlb;
	int l = te->level;
	assert(l >= VMLAB_LVL_PTE && l <= VMLAB_LVL_PUD);
	if (likely(c->stlb[l].blk && l1[l].blk)) {
		bool g = te->flags & TLBF_G;
		u32 gs = gen_slot(te->pcid, g);
		u64 tag = tag_make(te->vpn, te->pcid, g, c->tgen[gs]);
		u64 fb = fp_of_vpn(te->vpn);
		tlb_insert(m, c, &c->stlb[l], te, tag, gs, fb, -1, -1);
		return tlb_insert(m, c, &l1[l], te, tag, gs, fb, feed_lo(kind),
				  feed_hi(kind));
	}
	fill_array(m, c, c->stlb, va, te, kind);
	return fill_array(m, c, l1, va, te, kind);
}

/*
 * The fill after a walk: L2, then the kind's L1, the tag computed once
 * for both.  A 4 KiB page (the common walk) goes into the sets the
 * lookups found, in place, with no observer that wants fills or drops:
 * no observer code on this path at all.
 */
static inline struct tlb_entry *tlb_fill(struct vmlab_machine *m,
					 struct cpu *c, enum vmlab_access kind,
					 u64 va, const struct tlb_entry *te,
					 const struct miss_probe *pr)
{
	assert(!VMLAB_DEBUG_CHECKS || (te->flags & TLBF_VALID));
	cpu_count(c, VMLAB_C_tlb_fill);
	ev(m, VMLAB_EV_TLB_FILL, c->id, va, te->pfn, te->flags);
	struct tlb_entry *e;
	if (likely(te->level == VMLAB_LVL_PTE && pr->s2 &&
		   !(m->obs_mask &
		     (1u << OBS_TLB_FILL | 1u << OBS_TLB_DROP)))) {
		struct tlb_array *l1 = kind == VMLAB_FETCH ? c->itlb : c->dtlb;
		bool g = te->flags & TLBF_G;
		u32 gs = gen_slot(te->pcid, g);
		u64 tag = pr->k.vbits | tag_make(0, te->pcid, g, c->tgen[gs]);
		u64 fb = pr->k.fbx & 0xff;
		assert(!VMLAB_DEBUG_CHECKS || pr->k.vpn == te->vpn);
		set_insert(m, c, &c->stlb[0], pr->s2, pr->set2, te, tag, gs, fb,
			   -1, -1, false, false);
		e = kind == VMLAB_FETCH
			    ? set_insert(m, c, &l1[0], pr->s1, pr->set1, te, tag,
					 gs, fb, VMLAB_FETCH, VMLAB_FETCH, false,
					 false)
			    : set_insert(m, c, &l1[0], pr->s1, pr->set1, te, tag,
					 gs, fb, VMLAB_READ, VMLAB_WRITE, false,
					 false);
	} else {
		e = tlb_fill_slow(m, c, kind, va, te);
	}
	assert(!VMLAB_DEBUG_CHECKS ||
	       (e->level <= te->level && (e->flags & TLBF_VALID)));
	return e;
}

static enum vmlab_fault_ret deliver_fault(struct vmlab_machine *m,
					  struct cpu *c, u64 va,
					  enum vmlab_access kind,
					  const struct walk_res *r,
					  struct vmlab_fault *f)
{
	assert(!r->ok && r->level >= -1 && r->level <= VMLAB_LVL_PGD);
	assert(!(r->error_code & ~0x1fu)); /* VMLAB_PF_* only */
	struct vmlab_fault fl = {
		.cpu = c->id,
		.va = va,
		.access = kind,
		.error_code = r->error_code,
		.entry = r->entry,
		.level = r->level,
	};
	cpu_count(c, VMLAB_C_page_fault);
	ev(m, VMLAB_EV_FAULT, c->id, va, r->error_code, (u64)kind);
	if (f)
		*f = fl;
	if (!m->fault_fn)
		return VMLAB_FAULT_FAIL;
	return m->fault_fn(m, &fl, m->fault_ctx);
}

static inline u64 fast_tag(u64 va, bool user)
{
	return (va & VMLAB_PAGE_MASK) | 1 | (user ? 2 : 0);
}

/* The shadow link of an entry with no shadow on the fast path: "not
 * accessible" for every granule, so the inline check goes out of line. */
const u8 fast_no_shadow[VMLAB_PAGE_SIZE >> 3] = {
	[0 ... (VMLAB_PAGE_SIZE >> 3) - 1] = 0xff};

/* Mirror e on the fast path when it may be; returns pfn's host bytes
 * when they exist (NULL: the caller asks frame_content()). */
static u8 *fast_fill(struct vmlab_machine *m, struct cpu *c,
		     enum vmlab_access kind, u64 va, bool user,
		     const struct tlb_entry *e, u64 pfn)
{
	assert(e->flags & TLBF_VALID);
	/* pfn is the frame of va's page inside e's (possibly large) page. */
	assert(!VMLAB_DEBUG_CHECKS || pfn - e->pfn < (1ULL << (9 * e->level)));
	assert(pfn < m->phys.nr_frames);
	struct frame_section *s = m->phys.sections[pfn >> SECTION_SHIFT];
	u8 *host = s ? s->content[pfn & (SECTION_FRAMES - 1)] : NULL;
	if (!host)
		return NULL; /* unwritten frame: reads stay on the slow path */
	/* Writes into a page table stay on the slow path, which says so. */
	if (kind == VMLAB_WRITE &&
	    (s->page[pfn & (SECTION_FRAMES - 1)].flags & VMLAB_PG_TABLE))
		return host;
	if (e->flags & TLBF_STALE)
		return host;
	if (kind == VMLAB_WRITE && !(e->flags & TLBF_D))
		return host;
	struct fast_entry *fe =
		&c->fast[kind][(va >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1)];
	/* Entries may point into a shadow page's slot: replacing one drops
	 * every link (fast_drop_range does the same). */
	if (unlikely(c->shadow_off) && fe->tag &&
	    fast_in_shadow(c, fe->tag & VMLAB_PAGE_MASK))
		fast_flush(c);
	fast_store(c, kind, va, fast_tag(va, user) | m->fast_watch, host);
	if (unlikely(c->shadow_off) && !user) {
		/* The inline shadow check reads the page's shadow through this
		 * CPU's read fast path, as KASAN's load would go via its TLB. */
		u64 sh = ((va & VMLAB_PAGE_MASK) >> 3) + c->shadow_off;
		const struct fast_entry *se =
			&c->fast[VMLAB_READ][(sh >> VMLAB_PAGE_SHIFT) &
					     (FAST_SIZE - 1)];
		if (se != fe && se->tag == ((sh & VMLAB_PAGE_MASK) | 1 |
					    m->fast_watch))
			c->fast_shadow[kind][fe - c->fast[kind]].bias =
				fast_shadow_bias(se->host + (sh & (VMLAB_PAGE_SIZE - 1)),
						 va);
	}
	return host;
}

/*
 * A cached entry denies an access the tables may now allow (a permission
 * upgrade without a flush).  x86: the page-fault handler finds the entry
 * fine (spurious_kernel_fault / a retry) and the re-walk refills.  arm64:
 * the exception is taken and the fault path's flush_tlb_fix_spurious_fault
 * invalidates the page on this CPU (a local TLBI + DSB) before the retry.
 * The architecture's hook does either.
 */
static void spurious_fault(struct vmlab_machine *m, struct cpu *c, u64 va)
{
	cpu_count(c, VMLAB_C_spurious_fault);
	m->arch->tlb->fix_spurious_fault(m, c, va);
}

/* The PWC learns a table the committed probe read (pwc_insert's fields,
 * in the slot and under the key the probe's lookup computed). */
static inline void pwc_learn(const struct walk_probe *p,
			     const struct walk_env *w, int level, u64 pfn,
			     u64 *host)
{
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	struct pwc_entry *e = p->pwc[level];
	e->key = p->key[level];
	e->tag = p->key[level] >> 17;
	e->pfn = pfn;
	e->host = host;
	e->pcid = w->tag;
	e->level = (u8)level;
	e->valid = 1;
}

/*
 * The common TLB miss, done in one go: va's 4 KiB page in neither the
 * kind's L1 nor L2 (no large-page entry for it either), a walk the probe
 * can take (struct walk_probe), no observer that wants its fill or (a
 * walk from the PWC) PWC uses, no KASAN shadow linking.  Everything the general path would
 * do, in the order it would do it where order shows (fill_seq before the
 * fill's event, L2 before L1, PMD table before PTE table): the counters,
 * the PWC, the event, the two in-place inserts, the fast-path mirror.
 * Returns va's host byte, or NULL with nothing changed.
 */
/* miss_fast()'s two inserts, L2 then L1; obs: a constant, true when
 * observers may want the victims' drops. */
static inline __attribute__((always_inline)) void
miss_insert(struct vmlab_machine *m, struct cpu *c, enum vmlab_access kind,
	    struct tlb_array *l1, struct tlb_set *s1, u32 set1,
	    struct tlb_array *l2, struct tlb_set *s2, u32 set2,
	    const struct tlb_entry *te, u64 tag, u32 gs, u64 fb, bool obs)
{
	assert(te->level == VMLAB_LVL_PTE && !te->ckflags);
	set_insert(m, c, l2, s2, set2, te, tag, gs, fb, -1, -1, obs, true);
	if (kind == VMLAB_FETCH)
		set_insert(m, c, l1, s1, set1, te, tag, gs, fb, VMLAB_FETCH,
			   VMLAB_FETCH, obs, true);
	else
		set_insert(m, c, l1, s1, set1, te, tag, gs, fb, VMLAB_READ,
			   VMLAB_WRITE, obs, true);
}

static inline __attribute__((always_inline)) u8 *
miss_fast(struct vmlab_machine *m, struct cpu *c, enum vmlab_access kind,
	  u64 va, bool user)
{
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	assert(!VMLAB_DEBUG_CHECKS || canonical(m, va));
	if (unlikely(c->shadow_off || !c->stlb[0].blk))
		return NULL;
	u16 pcid = cpu_pcid(c);
	struct tlb_array *l1 = kind == VMLAB_FETCH ? c->itlb : c->dtlb;
	struct tlb_array *l2 = &c->stlb[0];
	struct tag_ctx tk = tag_ctx_of(c, pcid);
	struct tlb_key k = tlb_key_of(va, VMLAB_PAGE_SHIFT);
	u32 set1 = (u32)(k.vpn & l1->set_mask), set2 = (u32)(k.vpn & l2->set_mask);
	struct tlb_set *s1 = tlb_set_at(l1, set1), *s2 = tlb_set_at(l2, set2);
	if (set_find(l1, s1, k, tk) || set_find(l2, s2, k, tk))
		return NULL;
	/* Large-page arrays in use (bits 1-2 of each kind's three). */
	if (unlikely(c->used_mask & (kind == VMLAB_FETCH ? 0x6 << 0 | 0x6 << 6
							 : 0x6 << 3 | 0x6 << 6)) &&
	    ((kind == VMLAB_FETCH ? lookup_large(c, 0, c->itlb, va, tk)
				  : lookup_large(c, 1, c->dtlb, va, tk)) ||
	     lookup_large(c, 2, c->stlb, va, tk)))
		return NULL;
	struct walk_env w = walk_env_of(m, c);
	struct walk_probe p;
	/* Set on the probe's paths that read them (the compiler cannot
	 * tell which start reads which). */
	p.pmd_pfn = p.pte_pfn = 0;
	p.pmd_host = p.pte_host = NULL;
	if (m->arch->id == VMLAB_ARCH_X86_64 ? !x86_probe(c, &w, va, kind, user, &p)
					     : !arm64_probe(m, c, &w, va, kind, user, &p))
		return NULL;
	/* Observers that want this walk's PWC use or its fill get them on
	 * the general path (tlb_marked_only observers want few fills);
	 * victims' drops are told by set_insert(). */
	u8 flags = (u8)(p.flags | (in_direct_map(m, va) ? TLBF_DM : 0));
	bool obs = unlikely(m->obs_mask & (1u << OBS_TLB_FILL |
					   1u << OBS_TLB_DROP |
					   1u << OBS_PWC_USE));
	if (obs &&
	    ((p.start != VMLAB_LVL_PGD && obs_on(m, OBS_PWC_USE)) ||
	     (obs_on(m, OBS_TLB_FILL) && (flags & m->obs_fill_mask))))
		return NULL;
	/* Writes into a page table stay on the slow path, which says so. */
	if (kind == VMLAB_WRITE &&
	    (w.secs[p.pfn >> SECTION_SHIFT]->page[p.pfn & (SECTION_FRAMES - 1)]
		     .flags & VMLAB_PG_TABLE))
		return NULL;
	/* Commit. */
	static_assert(VMLAB_C_itlb_miss + 1 == VMLAB_C_dtlb_miss,
		      "the L1 miss counters are adjacent");
	c->cnt[VMLAB_C_dtlb_miss - (kind == VMLAB_FETCH)]++;
	c->cnt[VMLAB_C_tlb_miss]++;
	c->cnt[VMLAB_C_walk]++;
	c->cnt[VMLAB_C_walk_level] += (u64)p.start + 1;
	if (p.start != VMLAB_LVL_PGD)
		c->cnt[VMLAB_C_pwc_hit]++;
	if (p.start != VMLAB_LVL_PTE && p.pwc[0]) {
		if (p.start == VMLAB_LVL_PGD)
			pwc_learn(&p, &w, VMLAB_LVL_PMD, p.pmd_pfn, p.pmd_host);
		pwc_learn(&p, &w, VMLAB_LVL_PTE, p.pte_pfn, p.pte_host);
		assert(!VMLAB_DEBUG_CHECKS ||
		       pwc_lookup(c, va, VMLAB_LVL_PTE, w.tag) == p.pwc[0]);
	}
	struct tlb_entry te = {
		.vpn = k.vpn,
		.pfn = p.pfn,
		.pcid = pcid,
		.level = VMLAB_LVL_PTE,
		.flags = flags,
		.fill_seq = (u32)m->nr_events,
	};
	cpu_count(c, VMLAB_C_tlb_fill);
	ev(m, VMLAB_EV_TLB_FILL, c->id, va, te.pfn, te.flags);
	bool g = te.flags & TLBF_G;
	u32 gs = gen_slot(pcid, g);
	u64 tag = k.vbits | (g ? tag_glob(tk) : tk.own);
	u64 fb = k.fbx & 0xff;
	if (likely(!obs))
		miss_insert(m, c, kind, l1, s1, set1, l2, s2, set2, &te, tag,
			    gs, fb, false);
	else
		miss_insert(m, c, kind, l1, s1, set1, l2, s2, set2, &te, tag,
			    gs, fb, true);
	/* fast_fill(): host bytes, not a page table written, not stale, D
	 * set for a write, no shadow. */
	fast_store(c, kind, va, fast_tag(va, user) | m->fast_watch, p.host);
	return p.host + (va & (VMLAB_PAGE_SIZE - 1));
}

/*
 * Translate one page's worth of access.  Returns the host bytes of the
 * frame (offset applied) or NULL with *f filled on an undelivered fault.
 */
static __attribute__((noinline)) u8 *
translate_general(struct vmlab_machine *m, struct cpu *c,
		  enum vmlab_access kind, u64 va, bool user,
		  struct vmlab_fault *f)
{
	/* The callers checked va (access_miss) or hit its tag (canonical). */
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	assert(!VMLAB_DEBUG_CHECKS || canonical(m, va));
	u16 pcid = cpu_pcid(c);
	assert(tlb_tag_ok(pcid));
	struct tlb_array *l1 = kind == VMLAB_FETCH ? c->itlb : c->dtlb;
	for (int tries = 0; tries < MAX_FAULT_RETRIES; tries++) {
		/* Once per try: a fault handler's flush moves generations. */
		struct tag_ctx tk = tag_ctx_of(c, pcid);
		struct miss_probe pr = {.k = tlb_key_of(va, VMLAB_PAGE_SHIFT)};
		pr.set1 = (u32)(pr.k.vpn & l1->set_mask);
		pr.s1 = tlb_set_at(l1, pr.set1);
		struct tlb_entry *e = set_find(l1, pr.s1, pr.k, tk);
		if (!e)
			e = kind == VMLAB_FETCH
				    ? lookup_large(c, 0, c->itlb, va, tk)
				    : lookup_large(c, 1, c->dtlb, va, tk);
		if (e) {
			cpu_count(c, VMLAB_C_tlb_l1_hit);
		} else {
			cpu_count(c, kind == VMLAB_FETCH ? VMLAB_C_itlb_miss :
							       VMLAB_C_dtlb_miss);
			struct tlb_entry *e2 = NULL;
			if (likely(c->stlb[0].blk)) {
				pr.set2 = (u32)(pr.k.vpn & c->stlb[0].set_mask);
				pr.s2 = tlb_set_at(&c->stlb[0], pr.set2);
				e2 = set_find(&c->stlb[0], pr.s2, pr.k, tk);
			}
			if (!e2)
				e2 = lookup_large(c, 2, c->stlb, va, tk);
			if (e2) {
				cpu_count(c, VMLAB_C_tlb_l2_hit);
				struct tlb_entry copy = *e2;
				e = fill_array(m, c, l1, va, &copy, kind);
			}
		}
		/* A cached entry that denies the access, or a write through
		 * a clean entry, is dropped and the access re-walks: the
		 * spurious-fault path of x86. */
		if (e && (perm_fault(e->flags, kind, user) ||
			  (kind == VMLAB_WRITE && !(e->flags & TLBF_D)))) {
			if (perm_fault(e->flags, kind, user))
				spurious_fault(m, c, va);
			else
				tlb_invlpg_quiet(m, c, va); /* D / DBM update */
			e = NULL;
		}
		if (!e) {
			cpu_count(c, VMLAB_C_tlb_miss);
			struct walk_res r;
			hw_walk(m, c, va, kind, user, &r);
			if (!r.ok) {
				if (deliver_fault(m, c, va, kind, &r, f) ==
				    VMLAB_FAULT_RETRY)
					continue;
				return NULL;
			}
			e = tlb_fill(m, c, kind, va, &r.te, &pr);
		} else if (unlikely(e->flags & TLBF_STALE) &&
			   obs_on(m, OBS_WATCHED_HIT)) {
			OBS_CALL(m, watched_hit, c->id, to_tlbe(e), kind, va);
		}
		assert(!VMLAB_DEBUG_CHECKS ||
		       ((e->flags & TLBF_VALID) && e->level <= VMLAB_LVL_PUD));
		u64 pfn = e->pfn + ((va >> VMLAB_PAGE_SHIFT) &
				    ((1ULL << (9 * e->level)) - 1));
		u8 *host = fast_fill(m, c, kind, va, user, e, pfn);
		if (kind == VMLAB_WRITE)
			pgtable_wild_store(m, c->id, pfn);
		if (unlikely(!host))
			host = frame_content(m, pfn, kind == VMLAB_WRITE);
		assert(!VMLAB_DEBUG_CHECKS || host == m->phys.sink_page ||
		       host == frame_content(m, pfn, kind == VMLAB_WRITE));
		return host + (va & (VMLAB_PAGE_SIZE - 1));
	}
	struct walk_res r = {.error_code = err_bits(kind, user), .level = -1};
	vmlab_warn(m, "cpu%d: fault at %#llx not resolved after %d retries",
		   c->id, (unsigned long long)va, MAX_FAULT_RETRIES);
	if (f)
		*f = (struct vmlab_fault){c->id, va, kind, r.error_code, 0, -1};
	return NULL;
}

/* A fast-path miss: the common TLB miss in one go, else everything. */
static inline __attribute__((always_inline)) u8 *
translate_slow(struct vmlab_machine *m, struct cpu *c, enum vmlab_access kind,
	       u64 va, bool user, struct vmlab_fault *f)
{
	u8 *host = miss_fast(m, c, kind, va, user);
	if (likely(host != NULL))
		return host;
	return translate_general(m, c, kind, va, user, f);
}

/* The same out of line, for the page loop of a multi-page access. */
static __attribute__((noinline)) u8 *
translate_slow_ool(struct vmlab_machine *m, struct cpu *c,
		   enum vmlab_access kind, u64 va, bool user,
		   struct vmlab_fault *f)
{
	return translate_slow(m, c, kind, va, user, f);
}

static inline u8 *translate(struct vmlab_machine *m, struct cpu *c,
			    enum vmlab_access kind, u64 va, bool user,
			    struct vmlab_fault *f)
{
	struct fast_entry *fe =
		&c->fast[kind][(va >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1)];
	if (likely(fe->tag == (fast_tag(va, user) | m->fast_watch))) {
		c->cnt[VMLAB_C_tlb_l1_hit]++;
		return fe->host + (va & (VMLAB_PAGE_SIZE - 1));
	}
	return translate_slow_ool(m, c, kind, va, user, f);
}

static inline void copy_small(u8 *dst, const u8 *src, size_t len)
{
	/* Constant sizes let the compiler emit one load and one store. */
	switch (len) {
	case 8: memcpy(dst, src, 8); return;
	case 4: memcpy(dst, src, 4); return;
	case 2: memcpy(dst, src, 2); return;
	case 1: *dst = *src; return;
	default: memcpy(dst, src, len);
	}
}

/* Move the bytes page by page; arguments are checked and observers have
 * seen the access. */
static inline int access_pages(struct vmlab_machine *m, struct cpu *c,
			       enum vmlab_access kind, u64 va, u8 *p,
			       size_t len, u32 flags, struct vmlab_fault *f)
{
	assert(len > 0 && len <= MAX_ACCESS_LEN);
	assert(!VMLAB_DEBUG_CHECKS || canonical(m, va));
	bool user = flags & VMLAB_ACC_USER;
	/* Bounded: len <= 1 MiB touches at most 257 pages. */
	u32 pages = 0;
	(void)pages;
	while (len) {
		assert(++pages <= MAX_ACCESS_LEN / VMLAB_PAGE_SIZE + 1);
		size_t n = (size_t)(VMLAB_PAGE_SIZE - (va & (VMLAB_PAGE_SIZE - 1)));
		if (n > len)
			n = len;
		u8 *host = translate(m, c, kind, va, user, f);
		if (!host)
			return -VMLAB_EFAULT;
		if (kind == VMLAB_WRITE)
			memcpy(host, p, n);
		else if (p)
			memcpy(p, host, n);
		if (p)
			p += n;
		va += n;
		len -= n;
	}
	return 0;
}

/* A valid CPU id, a valid kind and the flags in one word: the miss entry
 * takes six arguments, all in registers, so the inline hit path's miss
 * is a tail call (no registers saved around it). */
static inline u64 acc_key(int cpu, enum vmlab_access kind, u32 flags)
{
	assert((unsigned)cpu < VMLAB_MAX_CPUS && kind < VMLAB_NR_ACCESS);
	return (u64)(u32)cpu | (u64)kind << 16 | (u64)flags << 32;
}

/* An access of bytes inside one page the fast path missed, p set, CPU
 * id and kind already checked. */
static __attribute__((noinline)) int
access_miss_page(struct vmlab_machine *m, u64 key, u64 va, u8 *p, size_t len,
		 struct vmlab_fault *f)
{
	int cpu = (int)(key & 0xffff);
	enum vmlab_access kind = (enum vmlab_access)((key >> 16) & 0xffff);
	u32 flags = (u32)(key >> 32);
	assert(cpu < m->nr_cpus && kind < VMLAB_NR_ACCESS);
	/* The callers have just tested it (14 instructions of a walk). */
	assert(!VMLAB_DEBUG_CHECKS ||
	       (p && len - 1 < VMLAB_PAGE_SIZE - (va & (VMLAB_PAGE_SIZE - 1))));
	struct cpu *c = &m->cpu[cpu];
	/* Access observers on: a hit carries the watched tag, which vouches
	 * for va as a plain hit's does (no further checks), and the
	 * observers see the access before it is made.  Bytes inside one
	 * page: its last byte is canonical when va is. */
	if (unlikely(m->fast_watch) &&
	    c->fast[kind][(va >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1)].tag ==
		    (fast_tag(va, flags & VMLAB_ACC_USER) | FAST_TAG_WATCH)) {
		assert(m->fast_watch == FAST_TAG_WATCH);
		/* translate() matches the watched tag again (an observer may
		 * have changed the mapping meanwhile). */
	} else if (!canonical(m, va) || va + len < va) {
		return -VMLAB_EINVAL;
	}
	if (obs_on(m, OBS_ACCESS))
		OBS_CALL(m, access, cpu, kind, va, len, flags);
	if (unlikely(m->fast_watch))
		return access_pages(m, c, kind, va, p, len, flags, f);
	/* The fast path has just missed this very tag (nothing ran since):
	 * straight to the TLB. */
	u8 *host = translate_slow(m, c, kind, va, flags & VMLAB_ACC_USER, f);
	if (!host)
		return -VMLAB_EFAULT;
	if (kind == VMLAB_WRITE)
		copy_small(host, p, len);
	else
		copy_small(p, host, len);
	return 0;
}

/* An access the fast path missed, CPU id and kind already checked. */
static __attribute__((noinline)) int
access_miss(struct vmlab_machine *m, u64 key, u64 va, u8 *p, size_t len,
	    struct vmlab_fault *f)
{
	if (p && len - 1 < VMLAB_PAGE_SIZE - (va & (VMLAB_PAGE_SIZE - 1)))
		return access_miss_page(m, key, va, p, len, f);
	int cpu = (int)(key & 0xffff);
	enum vmlab_access kind = (enum vmlab_access)((key >> 16) & 0xffff);
	u32 flags = (u32)(key >> 32);
	assert(cpu < m->nr_cpus && kind < VMLAB_NR_ACCESS);
	if (len == 0 || len > MAX_ACCESS_LEN || !canonical(m, va) ||
	    va + len < va || !canonical(m, va + len - 1) ||
	    (kind == VMLAB_WRITE && !p))
		return -VMLAB_EINVAL;
	if (obs_on(m, OBS_ACCESS))
		OBS_CALL(m, access, cpu, kind, va, len, flags);
	return access_pages(m, &m->cpu[cpu], kind, va, p, len, flags, f);
}

/*
 * The hit path: one tag compare in the host fast path, which holds only
 * canonical, currently-valid L1 translations of this CPU, so a hit needs
 * no further argument checks beyond the CPU id, the kind and the length.
 */
static inline int access_fast(struct vmlab_machine *m, int cpu,
			      enum vmlab_access kind, u64 va, u8 *p,
			      size_t len, u32 flags, struct vmlab_fault *f)
{
	if (unlikely((unsigned)cpu >= (unsigned)m->nr_cpus ||
		     (unsigned)kind >= VMLAB_NR_ACCESS))
		return -VMLAB_EINVAL;
	if (likely(p && len - 1 < VMLAB_PAGE_SIZE - (va & (VMLAB_PAGE_SIZE - 1)))) {
		struct cpu *c = &m->cpu[cpu];
		struct fast_entry *fe = &c->fast[kind][(va >> VMLAB_PAGE_SHIFT) &
						       (FAST_SIZE - 1)];
		u64 want = fast_tag(va, flags & VMLAB_ACC_USER);
		if (likely(fe->tag == want)) {
			c->cnt[VMLAB_C_tlb_l1_hit]++;
			u8 *host = fe->host + (va & (VMLAB_PAGE_SIZE - 1));
			if (kind == VMLAB_WRITE)
				copy_small(host, p, len);
			else
				copy_small(p, host, len);
			return 0;
		}
		return access_miss_page(m, acc_key(cpu, kind, flags), va, p,
					len, f);
	}
	return access_miss(m, acc_key(cpu, kind, flags), va, p, len, f);
}

int vmlab_access(struct vmlab_machine *m, int cpu, enum vmlab_access kind,
		 u64 va, void *buf, size_t len, u32 flags,
		 struct vmlab_fault *f)
{
	return access_fast(m, cpu, kind, va, buf, len, flags, f);
}

int vmlab_read(struct vmlab_machine *m, int cpu, u64 va, void *buf,
	       size_t len, struct vmlab_fault *f)
{
	if (unlikely(!buf))
		return -VMLAB_EINVAL;
	return access_fast(m, cpu, VMLAB_READ, va, buf, len, 0, f);
}

struct vmlab__u64_res vmlab__read_u64_slow(struct vmlab_machine *m, int cpu,
					   u64 va)
{
	struct vmlab__u64_res r = {0, 0};
	r.err = access_fast(m, cpu, VMLAB_READ, va, (u8 *)&r.v, 8, 0, NULL);
	return r;
}

int vmlab_write(struct vmlab_machine *m, int cpu, u64 va, const void *buf,
		size_t len, struct vmlab_fault *f)
{
	if (unlikely(!buf))
		return -VMLAB_EINVAL;
	return access_fast(m, cpu, VMLAB_WRITE, va, (u8 *)(uintptr_t)buf, len,
			   0, f);
}

int vmlab_fetch(struct vmlab_machine *m, int cpu, u64 va, void *buf,
		size_t len, struct vmlab_fault *f)
{
	if (!buf)
		return -VMLAB_EINVAL;
	return vmlab_access(m, cpu, VMLAB_FETCH, va, buf, len, 0, f);
}

int vmlab_touch(struct vmlab_machine *m, int cpu, enum vmlab_access kind,
		u64 va, u32 flags, struct vmlab_fault *f)
{
	if (kind == VMLAB_WRITE)
		return -VMLAB_EINVAL; /* a write needs bytes */
	u8 sink;
	return access_fast(m, cpu, kind, va, &sink, 1, flags, f);
}
