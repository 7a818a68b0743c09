/* SPDX-License-Identifier: MIT */
/*
 * Physical memory: sparse frame descriptors and contents, and a buddy
 * allocator (orders 0..VMLAB_MAX_ORDER) with per-CPU lists of order-0 pages.
 *
 * Frames above the "frontier" have never been handed out and cost nothing:
 * like deferred struct-page init, max-order blocks are carved from it only
 * when the free lists run dry, so a 1 TiB machine boots in microseconds.
 */
#include <stdlib.h>

#include "internal.h"

#define NIL (~0ULL)
#define RESERVED_LOW_FRAMES 256 /* first MiB: BIOS, never allocated */

/* A section's descriptors, charged to the host budget: false when the
 * budget (unless forced) or the host has no room for them. */
static bool section_create(struct vmlab_machine *m, u64 s, bool force)
{
	struct phys *p = &m->phys;
	assert(s < p->nr_sections && !p->sections[s]);
	if (!force && !host_charge(m, sizeof(struct frame_section)))
		return false;
	p->sections[s] = host_calloc(m, 1, sizeof(struct frame_section));
	if (!p->sections[s]) {
		if (!force)
			host_uncharge(m, sizeof(struct frame_section));
		return false;
	}
	if (force)
		host_charge_force(m, sizeof(struct frame_section));
	return true;
}

/*
 * Frames are carved (frontier_carve) only into sections the budget
 * admitted, so this creates one only for a frame no allocation reached
 * (a raw physical access or pfn lookup), charged unconditionally.  NULL
 * when the host has no memory for it: the lookup finds no descriptor.
 */
static __attribute__((noinline)) struct frame_section *
section_first_use(struct vmlab_machine *m, u64 s)
{
	if (!section_create(m, s, true)) {
		vmlab_warn(m, "host out of memory: no frame descriptors for "
			      "pfns %#llx..%#llx",
			   (unsigned long long)(s << SECTION_SHIFT),
			   (unsigned long long)(((s + 1) << SECTION_SHIFT) - 1));
		return NULL;
	}
	return m->phys.sections[s];
}

/* Inline: every page lookup comes here, and a section exists but once.
 * NULL only when a section never used before cannot be created (host out
 * of memory): never for a frame below the frontier. */
static inline struct frame_section *section(struct vmlab_machine *m, u64 pfn)
{
	struct phys *p = &m->phys;
	assert(pfn < p->nr_frames);
	u64 s = pfn >> SECTION_SHIFT;
	assert(s < p->nr_sections);
	if (unlikely(!p->sections[s]))
		return section_first_use(m, s);
	return p->sections[s];
}

struct vmlab_page *vmlab_pfn_to_page(struct vmlab_machine *m, u64 pfn)
{
	if (pfn >= m->phys.nr_frames)
		return NULL;
	struct frame_section *s = section(m, pfn);
	return s ? &s->page[pfn & (SECTION_FRAMES - 1)] : NULL;
}

/* A frame the allocator handed out or keeps (below the frontier): its
 * section exists. */
static inline struct vmlab_page *page(struct vmlab_machine *m, u64 pfn)
{
	struct frame_section *s = section(m, pfn);
	assert(s); /* below the frontier, or created at boot */
	return &s->page[pfn & (SECTION_FRAMES - 1)];
}

/* A store the host has no page for: lost, loudly. */
static __attribute__((noinline)) u8 *store_lost(struct vmlab_machine *m,
					       u64 pfn)
{
	m->phys.lost_stores++;
	vmlab_warn(m, "host out of memory: stores to pfn %#llx lost",
		   (unsigned long long)pfn);
	return m->phys.sink_page;
}

u8 *frame_content(struct vmlab_machine *m, u64 pfn, bool for_write)
{
	struct frame_section *s = section(m, pfn);
	if (unlikely(!s))
		return for_write ? store_lost(m, pfn) : m->phys.zero_page;
	u8 **slot = &s->content[pfn & (SECTION_FRAMES - 1)];
	if (likely(*slot))
		return *slot;
	if (!for_write)
		return m->phys.zero_page;
	/* A CPU store cannot fail: charged past the limit if need be (the
	 * allocator kept headroom for the frames it handed out). */
	*slot = host_calloc(m, 1, VMLAB_PAGE_SIZE);
	if (!*slot)
		return store_lost(m, pfn);
	host_charge_force(m, VMLAB_PAGE_SIZE);
	m->phys.content_pages++;
	assert(m->phys.content_pages <= m->phys.nr_frames);
	return *slot;
}

int frame_content_prepare(struct vmlab_machine *m, u64 pfn)
{
	assert(pfn < m->phys.nr_frames);
	struct frame_section *s = section(m, pfn);
	if (!s)
		return -VMLAB_ENOMEM;
	u8 **slot = &s->content[pfn & (SECTION_FRAMES - 1)];
	if (*slot)
		return 0;
	if (!host_charge(m, VMLAB_PAGE_SIZE))
		return -VMLAB_ENOMEM;
	*slot = host_calloc(m, 1, VMLAB_PAGE_SIZE);
	if (!*slot) {
		host_uncharge(m, VMLAB_PAGE_SIZE);
		return -VMLAB_ENOMEM;
	}
	m->phys.content_pages++;
	assert(frame_content(m, pfn, true) == *slot);
	return 0;
}

/* ------------------------------------------------------- free lists */

static void list_add(struct vmlab_machine *m, int order, u64 pfn)
{
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	/* A free block is aligned to its size, below the frontier, and
	 * clear of the reserved low frames. */
	assert((pfn & ((1ULL << order) - 1)) == 0);
	assert(pfn >= RESERVED_LOW_FRAMES &&
	       pfn + (1ULL << order) <= m->phys.frontier);
	struct free_area *a = &m->phys.area[order];
	struct vmlab_page *pg = page(m, pfn);
	assert(!(pg->flags & (VMLAB_PG_BUDDY | VMLAB_PG_PCP | VMLAB_PG_RESERVED)));
	pg->flags = VMLAB_PG_BUDDY;
	pg->order = (u8)order;
	pg->refcount = 0;
	pg->lru_prev = NIL;
	pg->lru_next = a->head;
	if (pg->lru_next != NIL)
		page(m, pg->lru_next)->lru_prev = pfn;
	a->head = pfn;
	a->nr++;
	assert(a->nr <= m->phys.nr_frames >> order);
}

static void list_del(struct vmlab_machine *m, int order, u64 pfn)
{
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	struct free_area *a = &m->phys.area[order];
	struct vmlab_page *pg = page(m, pfn);
	assert(pg->flags & VMLAB_PG_BUDDY);
	assert(pg->order == order && a->nr > 0);
	/* Doubly linked: the neighbours point back at pfn. */
	assert(pg->lru_prev != NIL ? page(m, pg->lru_prev)->lru_next == pfn :
				     a->head == pfn);
	assert(pg->lru_next == NIL || page(m, pg->lru_next)->lru_prev == pfn);
	if (pg->lru_prev != NIL)
		page(m, pg->lru_prev)->lru_next = pg->lru_next;
	else
		a->head = pg->lru_next;
	if (pg->lru_next != NIL)
		page(m, pg->lru_next)->lru_prev = pg->lru_prev;
	pg->flags &= ~(u32)VMLAB_PG_BUDDY;
	pg->lru_next = pg->lru_prev = NIL;
	a->nr--;
}

/* Carve the largest aligned block at the frontier onto its free list. */
static bool frontier_carve(struct vmlab_machine *m)
{
	struct phys *p = &m->phys;
	if (p->frontier >= p->nr_frames)
		return false;
	/* The frontier enters a new section only if the budget has room for
	 * its descriptors; else memory is exhausted, as far as the model can
	 * hold it. */
	u64 s = p->frontier >> SECTION_SHIFT;
	if (!p->sections[s] && !section_create(m, s, false))
		return false;
	int order = VMLAB_MAX_ORDER;
	while (order > 0 && ((p->frontier & ((1ULL << order) - 1)) ||
			     p->frontier + (1ULL << order) > p->nr_frames))
		order--;
	u64 pfn = p->frontier;
	p->frontier += 1ULL << order;
	assert(p->frontier <= p->nr_frames && (pfn & ((1ULL << order) - 1)) == 0);
	list_add(m, order, pfn);
	return true;
}

static int buddy_alloc(struct vmlab_machine *m, int order, u64 *out)
{
	struct phys *p = &m->phys;
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	/* Bounded: every pass either returns or carves at the frontier, and
	 * carved orders rise to MAX_ORDER (alignment) then fall (the tail):
	 * a block of any order turns up within 2 * (MAX_ORDER + 1) carves. */
	for (int pass = 0;; pass++) {
		assert(pass <= 2 * (VMLAB_MAX_ORDER + 1));
		for (int o = order; o <= VMLAB_MAX_ORDER; o++) {
			if (!p->area[o].nr)
				continue;
			u64 pfn = p->area[o].head;
			list_del(m, o, pfn);
			/* Split down, returning the upper halves. */
			while (o > order) {
				o--;
				list_add(m, o, pfn + (1ULL << o));
			}
			/* Aligned, off every free list, below the frontier. */
			assert((pfn & ((1ULL << order) - 1)) == 0);
			assert(!(page(m, pfn)->flags & VMLAB_PG_BUDDY));
			assert(pfn + (1ULL << order) <= p->frontier);
			*out = pfn;
			return 0;
		}
		if (!frontier_carve(m))
			return -VMLAB_ENOMEM;
	}
}

static void buddy_free(struct vmlab_machine *m, u64 pfn, int order)
{
	struct phys *p = &m->phys;
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	assert((pfn & ((1ULL << order) - 1)) == 0);
	while (order < VMLAB_MAX_ORDER) {
		u64 buddy = pfn ^ (1ULL << order);
		if (buddy >= p->frontier)
			break;
		struct vmlab_page *bp = page(m, buddy);
		if (!(bp->flags & VMLAB_PG_BUDDY) || bp->order != order)
			break;
		list_del(m, order, buddy);
		pfn &= ~(1ULL << order);
		order++;
	}
	list_add(m, order, pfn);
	assert(p->area[order].head == pfn);
}

/* ----------------------------------------------------- per-CPU lists */

/* pg: pfn's descriptor (the caller has just looked it up). */
static inline void pcp_push(struct vmlab_machine *m, struct cpu *c, u64 pfn,
		     struct vmlab_page *pg)
{
	(void)m; /* read by the assertions only */
	assert(!VMLAB_DEBUG_CHECKS || pg == page(m, pfn));
	/* A free order-0 frame, on no list yet. */
	assert(pg->flags == 0 && pfn >= RESERVED_LOW_FRAMES &&
	       pfn < m->phys.frontier);
	assert((c->pcp_count == 0) == (c->pcp_head == NIL));
	pg->flags = VMLAB_PG_PCP;
	pg->order = 0;
	pg->refcount = 0;
	pg->lru_next = c->pcp_head;
	c->pcp_head = pfn;
	c->pcp_count++;
	/* Refills stop at PCP_BATCH, frees drain above PCP_HIGH. */
	assert(!VMLAB_DEBUG_CHECKS || c->pcp_count <= PCP_HIGH + 1);
}

/* The head frame, off the list; *pgp its descriptor. */
static inline u64 pcp_pop(struct vmlab_machine *m, struct cpu *c,
		   struct vmlab_page **pgp)
{
	assert(c->pcp_count > 0 && c->pcp_head != NIL);
	u64 pfn = c->pcp_head;
	struct vmlab_page *pg = page(m, pfn);
	*pgp = pg;
	assert(pg->flags & VMLAB_PG_PCP);
	c->pcp_head = pg->lru_next;
	c->pcp_count--;
	pg->flags = 0;
	pg->lru_next = NIL;
	/* Off the list: the head moved on, and count and head agree. */
	assert(!VMLAB_DEBUG_CHECKS ||
	       (c->pcp_head != pfn &&
		(c->pcp_count == 0) == (c->pcp_head == NIL)));
	return pfn;
}

static void pcp_drain(struct vmlab_machine *m, struct cpu *c, u32 n)
{
	u32 before = c->pcp_count;
	(void)before;
	struct vmlab_page *pg;
	for (u32 i = 0; i < n && c->pcp_count; i++)
		buddy_free(m, pcp_pop(m, c, &pg), 0);
	assert(c->pcp_count == (before > n ? before - n : 0));
}

static void pcp_refill(struct vmlab_machine *m, struct cpu *c)
{
	assert(c->pcp_count == 0); /* only an empty list is refilled */
	for (u32 i = 0; i < PCP_BATCH; i++) {
		u64 pfn;
		if (buddy_alloc(m, 0, &pfn))
			break;
		pcp_push(m, c, pfn, page(m, pfn));
	}
	assert(c->pcp_count <= PCP_BATCH);
}

/* ------------------------------------------------------------- API */

/* The block got, pg its head, leaves the allocator (cpu: -1 or valid). */
static inline int alloc_done(struct vmlab_machine *m, int cpu,
			     struct vmlab_page *pg, u64 got, int order,
			     u64 *pfn)
{
	assert(!VMLAB_DEBUG_CHECKS || pg == page(m, got));
	assert(pg->flags == 0 && m->phys.nr_free >= 1ULL << order);
	pg->flags = VMLAB_PG_HEAD;
	pg->order = (u8)order;
	pg->refcount = 1;
	pg->mapcount = 0;
	pg->private_ = 0;
	pg->owner = 0;
	m->phys.nr_free -= 1ULL << order;
	/* No CPU context (-1): CPU 0's counter, as count() charges it. */
	cpu_count(&m->cpu[cpu < 0 ? 0 : cpu], VMLAB_C_page_alloc);
	if (obs_on(m, OBS_FRAME_ALLOC))
		OBS_CALL(m, frame_alloc, got, order);
	ev(m, VMLAB_EV_PAGE_ALLOC, cpu, got, (u64)order, 0);
	*pfn = got;
	assert((got & ((1ULL << order) - 1)) == 0);
	if (debug_every(&m->phys.dbg_tick, 256))
		phys_check(m);
	return 0;
}

int vmlab_alloc_pages(struct vmlab_machine *m, int cpu, int order, u64 *pfn)
{
	struct cpu *c;
	struct vmlab_page *pg = NULL;

	/* The common request, one frame on a CPU whose list has one: the
	 * checks below all pass, and the list is where it comes from. */
	if (likely(order == 0 && pfn && vmlab_cpu_valid(m, cpu)) &&
	    (c = &m->cpu[cpu])->pcp_count && host_room(m, VMLAB_PAGE_SIZE)) {
		u64 got = pcp_pop(m, c, &pg);
		return alloc_done(m, cpu, pg, got, 0, pfn);
	}
	if (!pfn || order < 0 || order > VMLAB_MAX_ORDER)
		return -VMLAB_EINVAL;
	if (cpu != -1 && !vmlab_cpu_valid(m, cpu))
		vmlab_warn(m, "alloc_pages: no CPU %d (machine has %d): "
			      "allocating without a CPU context", cpu,
			   m->nr_cpus);
	if (!vmlab_cpu_valid(m, cpu))
		cpu = -1; /* no CPU context: use CPU 0's lists */
	/* Headroom for the block's contents, which CPU stores may write. */
	if (!host_room(m, VMLAB_PAGE_SIZE << order))
		return -VMLAB_ENOMEM;
	c = &m->cpu[vmlab_cpu_valid(m, cpu) ? cpu : 0];
	u64 got;
	if (order == 0) {
		if (!c->pcp_count)
			pcp_refill(m, c);
		if (!c->pcp_count) {
			/* Other CPUs' lists are the last resort, as
			 * the kernel drains them before OOM. */
			for (int i = 0; i < m->nr_cpus; i++)
				pcp_drain(m, &m->cpu[i], ~0u);
			pcp_refill(m, c);
		}
		if (!c->pcp_count)
			return -VMLAB_ENOMEM;
		got = pcp_pop(m, c, &pg);
	} else {
		int err = buddy_alloc(m, order, &got);
		if (err) {
			for (int i = 0; i < m->nr_cpus; i++)
				pcp_drain(m, &m->cpu[i], ~0u);
			err = buddy_alloc(m, order, &got);
		}
		if (err)
			return err;
		pg = page(m, got);
	}
	return alloc_done(m, cpu, pg, got, order, pfn);
}

/* The checks of a free_pages() call the fast case skips: false (with the
 * kernel's warning) when the block is not one to free; *cpu becomes -1
 * when it names no CPU. */
static bool free_pages_ok(struct vmlab_machine *m, int *cpu, u64 pfn,
			  int order)
{
	if (order < 0 || order > VMLAB_MAX_ORDER || pfn >= m->phys.nr_frames ||
	    (pfn & ((1ULL << order) - 1))) {
		vmlab_warn(m, "free_pages: bad block pfn %#llx order %d",
			   (unsigned long long)pfn, order);
		return false;
	}
	if (*cpu != -1 && !vmlab_cpu_valid(m, *cpu))
		vmlab_warn(m, "free_pages: no CPU %d (machine has %d): freeing "
			      "without a CPU context", *cpu, m->nr_cpus);
	if (!vmlab_cpu_valid(m, *cpu))
		*cpu = -1;
	const struct vmlab_page *pg = vmlab_pfn_to_page(m, pfn);
	if (!pg || !(pg->flags & VMLAB_PG_HEAD) || pg->order != order ||
	    pg->refcount <= 0) {
		vmlab_warn(m,
			   "free_pages: pfn %#llx order %d is not an allocated "
			   "block (double free?)",
			   (unsigned long long)pfn, order);
		return false;
	}
	return true;
}

void vmlab_free_pages(struct vmlab_machine *m, int cpu, u64 pfn, int order)
{
	struct vmlab_page *pg;

	/* The common free, an allocated frame from a CPU, passes every
	 * check free_pages_ok() makes: tested in one go. */
	if (!likely(order == 0 && pfn < m->phys.nr_frames &&
		    vmlab_cpu_valid(m, cpu) && (pg = page(m, pfn)) &&
		    (pg->flags & VMLAB_PG_HEAD) && pg->order == 0 &&
		    pg->refcount > 0)) {
		if (!free_pages_ok(m, &cpu, pfn, order))
			return;
		pg = page(m, pfn);
	}
	/* No CPU context (-1): CPU 0's lists and counter. */
	struct cpu *c = &m->cpu[cpu < 0 ? 0 : cpu];
	if (obs_on(m, OBS_FRAME_FREE))
		OBS_CALL(m, frame_free, cpu, pfn, order);
	ev(m, VMLAB_EV_PAGE_FREE, cpu, pfn, (u64)order, 0);
	cpu_count(c, VMLAB_C_page_free);
	pg->flags = 0;
	pg->refcount = 0;
	m->phys.nr_free += 1ULL << order;
	assert(m->phys.nr_free <= m->phys.nr_frames - RESERVED_LOW_FRAMES);
	if (order == 0) {
		pcp_push(m, c, pfn, pg);
		if (c->pcp_count > PCP_HIGH)
			pcp_drain(m, c, PCP_BATCH);
		assert(!VMLAB_DEBUG_CHECKS || c->pcp_count <= PCP_HIGH);
	} else {
		buddy_free(m, pfn, order);
	}
	if (debug_every(&m->phys.dbg_tick, 256))
		phys_check(m);
}

int vmlab_split_page(struct vmlab_machine *m, u64 pfn, int order)
{
	struct vmlab_page *pg = vmlab_pfn_to_page(m, pfn);
	if (!pg || order < 1 || order > VMLAB_MAX_ORDER ||
	    !(pg->flags & VMLAB_PG_HEAD) || pg->order != order ||
	    pg->refcount != 1) {
		vmlab_warn(m, "split_page: pfn %#llx order %d is not a block "
			      "with one reference",
			   (unsigned long long)pfn, order);
		return -VMLAB_EINVAL;
	}
	/* Each frame becomes a block of its own, one reference each, as
	 * split_page() leaves them: freed one by one (order 0) later. */
	for (u64 i = 1; i < (1ULL << order); i++) {
		struct vmlab_page *t = page(m, pfn + i);
		assert(t->flags == 0 && t->refcount == 0);
		*t = (struct vmlab_page){.flags = VMLAB_PG_HEAD, .refcount = 1,
					 .owner = pg->owner,
					 .lru_next = ~0ULL, .lru_prev = ~0ULL};
	}
	pg->order = 0;
	assert(page(m, pfn + (1ULL << order) - 1)->order == 0);
	return 0;
}

u64 vmlab_nr_free_pages(const struct vmlab_machine *m)
{
	return m->phys.nr_free;
}

u64 vmlab_nr_frames(const struct vmlab_machine *m)
{
	return m->phys.nr_frames;
}

u64 vmlab_host_content_bytes(const struct vmlab_machine *m)
{
	return m->phys.content_pages * VMLAB_PAGE_SIZE;
}

static void phys_copy(struct vmlab_machine *m, u64 pa, void *rbuf,
		      const void *wbuf, int fill, size_t len)
{
	if (pa + len < pa || pa + len > m->phys.nr_frames << VMLAB_PAGE_SHIFT) {
		vmlab_warn(m, "phys access beyond RAM at %#llx",
			   (unsigned long long)pa);
		return;
	}
	/* Bounded: one pass per page touched. */
	u64 passes = 0, max_passes = len / VMLAB_PAGE_SIZE + 2;
	(void)passes;
	(void)max_passes;
	while (len) {
		assert(++passes <= max_passes);
		u64 off = pa & (VMLAB_PAGE_SIZE - 1);
		size_t n = (size_t)(VMLAB_PAGE_SIZE - off);
		if (n > len)
			n = len;
		u64 pfn = pa >> VMLAB_PAGE_SHIFT;
		/* Zeros into a frame never written change nothing: no host
		 * page for them (vzalloc of a large area stays free). */
		const struct frame_section *sec = section(m, pfn);
		bool noop = !rbuf && !wbuf && !fill &&
			    (!sec || !sec->content[pfn & (SECTION_FRAMES - 1)]);
		u8 *p = noop ? NULL : frame_content(m, pfn, !rbuf);
		if (!rbuf)
			pgtable_wild_store(m, -1, pfn);
		if (noop) {
			assert(frame_content(m, pfn, false) == m->phys.zero_page);
		} else if (rbuf) {
			memcpy(rbuf, p + off, n);
			rbuf = (u8 *)rbuf + n;
		} else if (wbuf) {
			memcpy(p + off, wbuf, n);
			wbuf = (const u8 *)wbuf + n;
		} else {
			memset(p + off, fill, n);
		}
		pa += n;
		len -= n;
	}
}

void vmlab_phys_read(struct vmlab_machine *m, u64 pa, void *buf, size_t len)
{
	if (!buf) {
		vmlab_warn(m, "%s: NULL buffer", __func__);
		return;
	}
	phys_copy(m, pa, buf, NULL, 0, len);
}

void vmlab_phys_write(struct vmlab_machine *m, u64 pa, const void *buf,
		      size_t len)
{
	if (!buf) {
		vmlab_warn(m, "%s: NULL buffer", __func__);
		return;
	}
	phys_copy(m, pa, NULL, buf, 0, len);
}

void vmlab_phys_fill(struct vmlab_machine *m, u64 pa, int byte, size_t len)
{
	phys_copy(m, pa, NULL, NULL, byte, len);
}

int phys_init(struct vmlab_machine *m)
{
	struct phys *p = &m->phys;
	assert(m->cpu && !p->sections); /* CPUs first: they hold pcp lists */
	p->nr_frames = m->cfg.mem_bytes >> VMLAB_PAGE_SHIFT;
	p->nr_sections = (p->nr_frames + SECTION_FRAMES - 1) >> SECTION_SHIFT;
	if (!host_charge(m, p->nr_sections * sizeof(*p->sections)))
		return -VMLAB_ENOMEM;
	p->sections = host_calloc(m, p->nr_sections, sizeof(*p->sections));
	if (!p->sections)
		return -VMLAB_ENOMEM;
	/* The reserved low frames' section, now: page() cannot fail. */
	if (!section_create(m, 0, true))
		return -VMLAB_ENOMEM;
	for (int o = 0; o <= VMLAB_MAX_ORDER; o++) {
		p->area[o].head = NIL;
		p->area[o].nr = 0;
	}
	for (int i = 0; i < m->nr_cpus; i++) {
		m->cpu[i].pcp_head = NIL;
		m->cpu[i].pcp_count = 0;
	}
	for (u64 pfn = 0; pfn < RESERVED_LOW_FRAMES; pfn++)
		page(m, pfn)->flags = VMLAB_PG_RESERVED;
	p->frontier = RESERVED_LOW_FRAMES;
	p->nr_free = p->nr_frames - RESERVED_LOW_FRAMES;
	/* Everything above the frontier is free and on no list yet. */
	assert(p->nr_frames > RESERVED_LOW_FRAMES &&
	       p->nr_sections << SECTION_SHIFT >= p->nr_frames);
	return 0;
}

void phys_destroy(struct vmlab_machine *m)
{
	struct phys *p = &m->phys;
	if (p->sections) {
		for (u64 s = 0; s < p->nr_sections; s++) {
			struct frame_section *sec = p->sections[s];
			if (!sec)
				continue;
			/* Only frames below nr_frames ever get content (the
			 * last section of a small machine is mostly past it). */
			u64 n = p->nr_frames - (s << SECTION_SHIFT);
			assert(n > 0);
			for (u64 i = 0; i < n && i < SECTION_FRAMES; i++)
				free(sec->content[i]);
			free(sec);
		}
		free(p->sections);
		p->sections = NULL;
	}
}

/* ------------------------------------------------------- debug checks */

#if VMLAB_EXPENSIVE_CHECKS
/*
 * One buddy free list: doubly linked and acyclic (area->nr bounds the
 * walk), every block aligned to its order, between the reserved frames
 * and the frontier, marked exactly VMLAB_PG_BUDDY with its order, and not
 * left unmerged beside a free buddy of the same order.  Returns frames.
 */
static u64 area_check(struct vmlab_machine *m, int order)
{
	const struct phys *p = &m->phys;
	const struct free_area *a = &p->area[order];
	u64 prev = NIL, n = 0;
	for (u64 pfn = a->head; pfn != NIL; pfn = page(m, pfn)->lru_next) {
		assert(++n <= a->nr);
		const struct vmlab_page *pg = page(m, pfn);
		assert(pg->flags == VMLAB_PG_BUDDY && pg->order == order);
		assert(pg->lru_prev == prev);
		assert((pfn & ((1ULL << order) - 1)) == 0);
		assert(pfn >= RESERVED_LOW_FRAMES &&
		       pfn + (1ULL << order) <= p->frontier);
		u64 buddy = pfn ^ (1ULL << order);
		if (order < VMLAB_MAX_ORDER && buddy < p->frontier)
			assert(!(page(m, buddy)->flags & VMLAB_PG_BUDDY) ||
			       page(m, buddy)->order != order);
		prev = pfn;
	}
	assert(n == a->nr);
	return n << order;
}

/* One per-CPU list: pcp_count free order-0 frames marked VMLAB_PG_PCP. */
static u64 pcp_check(struct vmlab_machine *m, const struct cpu *c)
{
	u64 n = 0;
	for (u64 pfn = c->pcp_head; pfn != NIL; pfn = page(m, pfn)->lru_next) {
		assert(++n <= c->pcp_count);
		const struct vmlab_page *pg = page(m, pfn);
		assert(pg->flags == VMLAB_PG_PCP && pg->order == 0 &&
		       pg->refcount == 0);
		assert(pfn >= RESERVED_LOW_FRAMES && pfn < m->phys.frontier);
	}
	assert(n == c->pcp_count && n <= PCP_HIGH);
	return n;
}

/* The allocator: every list consistent, and nr_free equals the frames on
 * the buddy lists, on the per-CPU lists and above the frontier. */
void phys_check(struct vmlab_machine *m)
{
	const struct phys *p = &m->phys;
	assert(p->frontier >= RESERVED_LOW_FRAMES && p->frontier <= p->nr_frames);
	u64 free = p->nr_frames - p->frontier;
	for (int o = 0; o <= VMLAB_MAX_ORDER; o++)
		free += area_check(m, o);
	for (int i = 0; i < m->nr_cpus; i++)
		free += pcp_check(m, &m->cpu[i]);
	assert(free == p->nr_free);
}
#endif
