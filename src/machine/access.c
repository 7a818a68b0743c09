/* SPDX-License-Identifier: MIT */
/*
 * CPU memory accesses: fast path, TLB lookup, hardware page walk (with the
 * paging-structure cache, A/D updates and x86 permission rules), faults
 * and spurious-fault retries.
 */
#include "internal.h"

#define MAX_ACCESS_LEN VMLAB_MiB
#define MAX_FAULT_RETRIES 8

static inline bool canonical(u64 va)
{
	u64 top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/* Result of a hardware walk. */
struct walk_res {
	bool ok;
	u32 error_code;
	u64 entry;
	int level;
	struct tlb_entry te;
};

static u8 prot_to_tlbf(u64 eff_prot, u64 leaf)
{
	u8 f = TLBF_VALID;
	if (eff_prot & VMLAB_PAGE_RW)
		f |= TLBF_W;
	if (!(eff_prot & VMLAB_PAGE_NX))
		f |= TLBF_X;
	if (eff_prot & VMLAB_PAGE_USER)
		f |= TLBF_U;
	if (leaf & VMLAB_PAGE_GLOBAL)
		f |= TLBF_G;
	if (leaf & VMLAB_PAGE_DIRTY)
		f |= TLBF_D;
	return f;
}

/* x86 permission rules: CR0.WP=1, SMEP on, SMAP not modelled. */
static u32 perm_fault(u8 f, enum vmlab_access kind, bool user)
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

static u32 err_bits(enum vmlab_access kind, bool user)
{
	assert((unsigned)kind < VMLAB_NR_ACCESS);
	return (kind == VMLAB_WRITE ? VMLAB_PF_WRITE : 0) |
	       (kind == VMLAB_FETCH ? VMLAB_PF_INSTR : 0) |
	       (user ? VMLAB_PF_USER : 0);
}

/* Start level and table for a walk, using the paging-structure cache. */
static int walk_start(struct vmlab_machine *m, struct cpu *c, u64 va,
		      u16 pcid, u64 *table)
{
	assert(c->loaded_mm && pcid == cpu_pcid(c));
	struct pwc_entry *p = pwc_lookup(c, va, VMLAB_LVL_PTE, pcid);
	if (!p)
		p = pwc_lookup(c, va, VMLAB_LVL_PMD, pcid);
	if (!p) {
		*table = c->loaded_mm->pgd_pfn;
		return VMLAB_LVL_PGD;
	}
	count(m, c->id, VMLAB_C_pwc_hit, 1);
	if (obs_on(m, OBS_PWC_USE))
		OBS_CALL(m, pwc_use, c->id, va, p->level, p->pfn);
	/* Only PTE and PMD tables are cached: the walk starts below PUD. */
	assert(p->level == VMLAB_LVL_PTE || p->level == VMLAB_LVL_PMD);
	*table = p->pfn;
	return p->level;
}

static void walk_rsvd(struct vmlab_machine *m, struct walk_res *r,
		      enum vmlab_access kind, bool user, int level, u64 pfn)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	vmlab_warn(m, "page walk: entry at level %d names pfn %#llx (past RAM "
		      "or misaligned): reserved-bit fault", level,
		   (unsigned long long)pfn);
	r->ok = false;
	r->error_code = VMLAB_PF_PROT | VMLAB_PF_RSVD | err_bits(kind, user);
	r->entry = 0;
	r->level = level;
}

static void hw_walk(struct vmlab_machine *m, struct cpu *c, u64 va,
		    enum vmlab_access kind, bool user, struct walk_res *r)
{
	assert(canonical(va) && (unsigned)kind < VMLAB_NR_ACCESS);
	u16 pcid = cpu_pcid(c);
	u64 table;
	int level = walk_start(m, c, va, pcid, &table);
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	/* Rights from cached upper levels are not re-derived: table entries
	 * are always P|RW(|US) in this model, as Linux builds them. */
	u64 eff = VMLAB_PAGE_RW | (user ? VMLAB_PAGE_USER : 0);
	if (level == VMLAB_LVL_PGD)
		eff = VMLAB_PAGE_RW | VMLAB_PAGE_USER;
	count(m, c->id, VMLAB_C_walk, 1);
	for (; level >= VMLAB_LVL_PTE; level--) {
		if (unlikely(table >= m->phys.nr_frames)) {
			/* A table entry holding garbage (written through an
			 * alias) points past RAM: the walk stops with a
			 * reserved-bit fault, as an address above MAXPHYADDR
			 * does on x86, instead of reading the host's memory. */
			walk_rsvd(m, r, kind, user, level, table);
			return;
		}
		vmlab_ptep_t ptep = entry_addr(table, va, level);
		u64 e = vmlab_get_entry(m, ptep);
		count(m, c->id, VMLAB_C_walk_level, 1);
		if (!m->arch->hw_present(e)) {
			r->ok = false;
			r->error_code = err_bits(kind, user);
			r->entry = e;
			r->level = level;
			return;
		}
		eff &= e | VMLAB_PAGE_NX;
		eff |= e & VMLAB_PAGE_NX;
		bool leaf = level == VMLAB_LVL_PTE || m->arch->is_large(e, level);
		if (!leaf) {
			if (!(e & VMLAB_PAGE_ACCESSED))
				entry_set_ad(m, ptep, e | VMLAB_PAGE_ACCESSED);
			table = (e & 0x000ffffffffff000ULL) >> VMLAB_PAGE_SHIFT;
			if (level <= VMLAB_LVL_PUD)
				pwc_insert(c, va, level - 1, pcid, table);
			continue;
		}
		/* A PGD entry is never a leaf on x86-64. */
		assert(level <= VMLAB_LVL_PUD);
		u64 lpfn = (e & 0x000ffffffffff000ULL) >> VMLAB_PAGE_SHIFT;
		u64 lpages = 1ULL << (9 * level);
		if (unlikely((lpfn & (lpages - 1)) ||
			     lpfn + lpages > m->phys.nr_frames)) {
			/* A misaligned large page (reserved bits set) or a
			 * frame past RAM: reserved-bit fault. */
			walk_rsvd(m, r, kind, user, level, lpfn);
			r->entry = e;
			return;
		}
		u8 f = prot_to_tlbf(eff, e);
		u32 pf = perm_fault(f, kind, user);
		r->entry = e;
		r->level = level;
		if (pf) {
			r->ok = false;
			r->error_code = pf | err_bits(kind, user);
			return;
		}
		bool dirty = kind == VMLAB_WRITE;
		u64 ne = m->arch->set_ad(e, dirty);
		if (ne != e) {
			entry_set_ad(m, ptep, ne);
			count(m, c->id, VMLAB_C_ad_update, 1);
		}
		r->ok = true;
		r->te = (struct tlb_entry){
			.vpn = va >> vmlab_level_shift(level),
			.pfn = (e & 0x000ffffffffff000ULL) >> VMLAB_PAGE_SHIFT,
			.pcid = pcid,
			.level = (u8)level,
			.flags = prot_to_tlbf(eff, ne),
			.fill_seq = (u32)m->nr_events,
		};
		if (in_direct_map(m, va))
			r->te.flags |= TLBF_DM;
		assert(tlb_entry_va(&r->te) <= va &&
		       va - tlb_entry_va(&r->te) < vmlab_level_size(level));
		return;
	}
	assert(!"walk fell off the bottom");
}

/* Insert e at the largest level an array of the kind supports
 * (a 1 GiB page is fractured into 2 MiB or 4 KiB entries). */
static struct tlb_entry *fill_array(struct vmlab_machine *m, struct cpu *c,
				    struct tlb_array *arr, u64 va,
				    const struct tlb_entry *src)
{
	int l = src->level;
	assert(l >= VMLAB_LVL_PTE && l <= VMLAB_LVL_PUD);
	assert(src->vpn == va >> vmlab_level_shift(l));
	while (l > 0 && !arr[l].e)
		l--;
	assert(arr[l].e);
	struct tlb_entry ne = *src;
	if (l != src->level) {
		u64 sub = (va >> vmlab_level_shift(l)) &
			  ((1ULL << (9 * (src->level - l))) - 1);
		ne.level = (u8)l;
		ne.vpn = va >> vmlab_level_shift(l);
		ne.pfn = src->pfn + (sub << (9 * l));
	}
	/* A fractured piece translates va to the same frame as src. */
	assert(ne.pfn + ((va >> VMLAB_PAGE_SHIFT) & ((1ULL << (9 * l)) - 1)) ==
	       src->pfn + ((va >> VMLAB_PAGE_SHIFT) &
			   ((1ULL << (9 * src->level)) - 1)));
	return tlb_insert(m, c, &arr[l], &ne);
}

static struct tlb_entry *tlb_fill(struct vmlab_machine *m, struct cpu *c,
				  enum vmlab_access kind, u64 va,
				  const struct tlb_entry *te)
{
	assert(te->flags & TLBF_VALID);
	count(m, c->id, VMLAB_C_tlb_fill, 1);
	ev(m, VMLAB_EV_TLB_FILL, c->id, va, te->pfn, te->flags);
	fill_array(m, c, c->stlb, va, te);
	struct tlb_entry *e =
		fill_array(m, c, kind == VMLAB_FETCH ? c->itlb : c->dtlb, va, te);
	assert(e->level <= te->level && (e->flags & TLBF_VALID));
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
	count(m, c->id, VMLAB_C_page_fault, 1);
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

static void fast_fill(struct vmlab_machine *m, struct cpu *c,
		      enum vmlab_access kind, u64 va, bool user,
		      const struct tlb_entry *e, u64 pfn)
{
	assert(e->flags & TLBF_VALID);
	/* pfn is the frame of va's page inside e's (possibly large) page. */
	assert(pfn - e->pfn < (1ULL << (9 * e->level)));
	if (e->flags & TLBF_STALE)
		return;
	if (kind == VMLAB_WRITE && !(e->flags & TLBF_D))
		return;
	assert(pfn < m->phys.nr_frames);
	struct frame_section *s = m->phys.sections[pfn >> SECTION_SHIFT];
	u8 *host = s ? s->content[pfn & (SECTION_FRAMES - 1)] : NULL;
	if (!host)
		return; /* unwritten frame: reads stay on the slow path */
	fast_store(c, kind, va, fast_tag(va, user) | m->fast_watch, host);
}

/*
 * Translate one page's worth of access.  Returns the host bytes of the
 * frame (offset applied) or NULL with *f filled on an undelivered fault.
 */
static u8 *translate_slow(struct vmlab_machine *m, struct cpu *c,
			  enum vmlab_access kind, u64 va, bool user,
			  struct vmlab_fault *f)
{
	assert(canonical(va) && (unsigned)kind < VMLAB_NR_ACCESS);
	u16 pcid = cpu_pcid(c);
	for (int tries = 0; tries < MAX_FAULT_RETRIES; tries++) {
		struct tlb_entry *e = tlb_lookup_l1(c, kind, va, pcid);
		if (e) {
			count(m, c->id, VMLAB_C_tlb_l1_hit, 1);
		} else {
			count(m, c->id, kind == VMLAB_FETCH ?
					       VMLAB_C_itlb_miss :
					       VMLAB_C_dtlb_miss, 1);
			struct tlb_entry *e2 = tlb_lookup_l2(c, va, pcid);
			if (e2) {
				count(m, c->id, VMLAB_C_tlb_l2_hit, 1);
				struct tlb_entry copy = *e2;
				e = fill_array(m, c, kind == VMLAB_FETCH ?
							     c->itlb : c->dtlb,
					       va, &copy);
			}
		}
		/* A cached entry that denies the access, or a write through
		 * a clean entry, is dropped and the access re-walks: the
		 * spurious-fault path of x86. */
		if (e && (perm_fault(e->flags, kind, user) ||
			  (kind == VMLAB_WRITE && !(e->flags & TLBF_D)))) {
			if (perm_fault(e->flags, kind, user))
				count(m, c->id, VMLAB_C_spurious_fault, 1);
			tlb_invlpg_quiet(m, c, va);
			e = NULL;
		}
		if (!e) {
			count(m, c->id, VMLAB_C_tlb_miss, 1);
			struct walk_res r;
			hw_walk(m, c, va, kind, user, &r);
			if (!r.ok) {
				if (deliver_fault(m, c, va, kind, &r, f) ==
				    VMLAB_FAULT_RETRY)
					continue;
				return NULL;
			}
			e = tlb_fill(m, c, kind, va, &r.te);
		} else if (unlikely(e->flags & TLBF_STALE) &&
			   obs_on(m, OBS_WATCHED_HIT)) {
			OBS_CALL(m, watched_hit, c->id, to_tlbe(e), kind, va);
		}
		assert((e->flags & TLBF_VALID) && e->level <= VMLAB_LVL_PUD);
		u64 pfn = e->pfn + ((va >> VMLAB_PAGE_SHIFT) &
				    ((1ULL << (9 * e->level)) - 1));
		fast_fill(m, c, kind, va, user, e, pfn);
		return frame_content(m, pfn, kind == VMLAB_WRITE) +
		       (va & (VMLAB_PAGE_SIZE - 1));
	}
	struct walk_res r = {.error_code = err_bits(kind, user), .level = -1};
	vmlab_warn(m, "cpu%d: fault at %#llx not resolved after %d retries",
		   c->id, (unsigned long long)va, MAX_FAULT_RETRIES);
	if (f)
		*f = (struct vmlab_fault){c->id, va, kind, r.error_code, 0, -1};
	return NULL;
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
	return translate_slow(m, c, kind, va, user, f);
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
static __attribute__((noinline)) int
access_pages(struct vmlab_machine *m, struct cpu *c, enum vmlab_access kind,
	     u64 va, u8 *p, size_t len, u32 flags, struct vmlab_fault *f)
{
	assert(len > 0 && len <= MAX_ACCESS_LEN && canonical(va));
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

static __attribute__((noinline)) int
access_slow(struct vmlab_machine *m, int cpu, enum vmlab_access kind, u64 va,
	    u8 *p, size_t len, u32 flags, struct vmlab_fault *f)
{
	if (!vmlab_cpu_valid(m, cpu) || kind >= VMLAB_NR_ACCESS || len == 0 ||
	    len > MAX_ACCESS_LEN || !canonical(va) || va + len < va ||
	    !canonical(va + len - 1) || (kind == VMLAB_WRITE && !p))
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
	if (likely((unsigned)cpu < (unsigned)m->nr_cpus &&
		   (unsigned)kind < VMLAB_NR_ACCESS && p &&
		   len - 1 < VMLAB_PAGE_SIZE - (va & (VMLAB_PAGE_SIZE - 1)))) {
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
		/* Access observers on: the hit carries the watched tag, and
		 * the observers see the access before it is made. */
		if (fe->tag == (want | FAST_TAG_WATCH)) {
			assert(m->fast_watch == FAST_TAG_WATCH);
			OBS_CALL(m, access, cpu, kind, va, len, flags);
			/* translate() matches the watched tag again (an
			 * observer may have changed the mapping meanwhile). */
			return access_pages(m, c, kind, va, p, len, flags, f);
		}
	}
	return access_slow(m, cpu, kind, va, p, len, flags, f);
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
