/* SPDX-License-Identifier: MIT */
/*
 * vm_map_ram(): short-lived mappings of up to VMAP_MAX_ALLOC pages carved
 * from per-CPU vmap blocks, after mm/vmalloc.c of Linux 6.7+ (new_vmap_block(),
 * vb_alloc(), vb_free(), purge_fragmented_block() with
 * VMAP_PURGE_THRESHOLD, the dirty-range part of _vm_unmap_aliases()).
 *
 * A block is one VMAP_BLOCK_SIZE vmap area.  vb_alloc() only takes from
 * the never-used tail (free); vb_free() unmaps without a flush and counts
 * the pages dirty, never free again: the space comes back only when the
 * whole block is dirty (it is then freed lazily) or purged as fragmented.
 * [dirty_min, dirty_max) is the part vm_unmap_aliases() still has to
 * flush.  The kernel's xarray lookup by address is the busy tree here.
 */
#include <stdlib.h>

#include "vmlab/checker.h"
#include "services/kasan_internal.h"
#include "services/vmalloc_internal.h"
#include "services/vmalloc_lazy.h"

#define BITS VMLAB_VMAP_BBMAP_BITS

static inline u32 get_order(u64 size)
{
	u32 order = 0;

	assert(size > 0);
	while ((VMLAB_PAGE_SIZE << order) < size)
		order++;
	return order;
}

static u64 vb_start(const struct vmap_block *vb)
{
	assert(vb->area && vb->area->vb == vb);
	return vb->area->va.va_start;
}

/* The per-CPU xarray a block is filed in (addr_to_vb_xa()). */
static int vb_xa_index(const struct vmalloc_state *st,
		       const struct vmap_block *vb)
{
	return (int)((vb_start(vb) / VMLAB_VMAP_BLOCK_SIZE) %
		     (u64)vmlab_nr_cpus(st->m));
}

/* ---------------------------------------------------------- bitmap */

static void bitmap_assign(u64 *map, u64 start, u64 n, bool set)
{
	assert(n > 0 && start + n <= BITS);
	for (u64 i = start; i < start + n; i++) {
		if (set)
			map[i / 64] |= 1ULL << (i % 64);
		else
			map[i / 64] &= ~(1ULL << (i % 64));
	}
}

static bool bitmap_all_set(const u64 *map, u64 start, u64 n)
{
	assert(start + n <= BITS);
	for (u64 i = start; i < start + n; i++)
		if (!(map[i / 64] & (1ULL << (i % 64))))
			return false;
	return true;
}

/* inline: only the assertions call it (unused under NDEBUG). */
static inline u64 bitmap_weight(const u64 *map)
{
	u64 w = 0;

	for (u64 i = 0; i < BITS / 64; i++)
		w += (u64)__builtin_popcountll(map[i]);
	return w;
}

/* ----------------------------------------------------------- lists */

static void free_list_add(struct vmalloc_state *st, struct vmap_block *vb)
{
	struct vmap_block_queue *q = &st->vbq[vb->cpu];

	assert(!vb->on_free_list && vb->free > 0);
	assert(!q->tail == !q->head);
	vb->free_next = NULL;
	vb->free_prev = q->tail;
	*(q->tail ? &q->tail->free_next : &q->head) = vb;
	q->tail = vb;
	vb->on_free_list = true;
}

static void free_list_del(struct vmalloc_state *st, struct vmap_block *vb)
{
	struct vmap_block_queue *q = &st->vbq[vb->cpu];

	if (!vb->on_free_list)
		return;
	*(vb->free_prev ? &vb->free_prev->free_next : &q->head) = vb->free_next;
	*(vb->free_next ? &vb->free_next->free_prev : &q->tail) = vb->free_prev;
	vb->free_prev = vb->free_next = NULL;
	vb->on_free_list = false;
	assert(!q->tail == !q->head);
}

static void all_list_add(struct vmalloc_state *st, struct vmap_block *vb)
{
	assert(!st->blocks || !st->blocks->all_prev);
	vb->all_prev = NULL;
	vb->all_next = st->blocks;
	if (st->blocks)
		st->blocks->all_prev = vb;
	st->blocks = vb;
	st->nr_blocks++;
}

static void all_list_del(struct vmalloc_state *st, struct vmap_block *vb)
{
	*(vb->all_prev ? &vb->all_prev->all_next : &st->blocks) = vb->all_next;
	if (vb->all_next)
		vb->all_next->all_prev = vb->all_prev;
	assert(st->nr_blocks > 0);
	st->nr_blocks--;
}

/* ------------------------------------------------------ life cycle */

/* new_vmap_block(): a block with its first 2^order pages taken. */
static u64 new_vmap_block(struct vmalloc_state *st, int cpu, u32 order)
{
	struct vmap_block *vb = host_calloc(st->m, 1, sizeof(*vb));
	struct vmalloc_area *a = vb ? area_new(st) : NULL;

	if (!a ||
	    alloc_vmap_area(st, cpu, a, VMLAB_VMAP_BLOCK_SIZE,
			    VMLAB_VMAP_BLOCK_SIZE, st->r.vstart,
			    st->r.vend, VMAP_RAM | VMAP_BLOCK, false)) {
		if (a)
			area_put(st, a);
		free(vb);
		return 0;
	}
	assert(BITS > (1u << order)); /* something must stay free */
	vb->area = a;
	a->vb = vb;
	vb->free = BITS - (1u << order);
	vb->dirty_min = BITS;
	vb->cpu = cpu;
	bitmap_assign(vb->used_map, 0, 1u << order, true);
	all_list_add(st, vb);
	free_list_add(st, vb);
	assert(!(a->va.va_start & (VMLAB_VMAP_BLOCK_SIZE - 1)));
	return a->va.va_start;
}

/* free_vmap_block(): the block's area goes lazy as a whole. */
static void free_vmap_block(struct vmalloc_state *st, int cpu,
			    struct vmap_block *vb)
{
	struct vmalloc_area *a = vb->area;

	assert(vb->dirty == BITS && vb->free == 0);
	free_list_del(st, vb);
	all_list_del(st, vb);
	unlink_busy_area(st, a);
	free_vmap_area_noflush(st, cpu, a);
	free(vb);
}

/*
 * purge_fragmented_block(): a block with nothing in use and, unless
 * forced, less than VMAP_PURGE_THRESHOLD free, is emptied out so it can
 * be freed; blocks still useful for allocation are kept.
 */
static bool purge_fragmented_block(struct vmalloc_state *st,
				   struct vmap_block *vb, bool force)
{
	if (vb->free + vb->dirty != BITS || vb->dirty == BITS)
		return false;
	/* The mutant purges any block with nothing in use, as before
	 * 77e50af07f14: a block still good for allocations is thrown away
	 * (and a new one set up for the next vm_map_ram()). */
	if (!(force || vb->free < VMLAB_VMAP_PURGE_THRESHOLD) &&
	    !vmlab_mutant(st->m, VMLAB_MUT_VB_PURGE_USABLE))
		return false;
	vb->free = 0;	  /* no more allocations */
	vb->dirty = BITS; /* not purged twice */
	vb->dirty_min = 0;
	vb->dirty_max = BITS;
	free_list_del(st, vb);
	assert(bitmap_weight(vb->used_map) == 0);
	return true;
}

static void free_purged_blocks(struct vmalloc_state *st, int cpu,
			       struct vmap_block **purge, u64 n)
{
	assert(n == 0 || purge);
	for (u64 i = 0; i < n; i++)
		free_vmap_block(st, cpu, purge[i]);
}

/* purge_fragmented_blocks(q), forced, over queue q's free list. */
static void purge_fragmented_blocks(struct vmalloc_state *st, int cpu, int q)
{
	struct vmap_block **purge = NULL, *vb;
	u64 n = 0, cap = 0;

	assert(q >= 0 && q < vmlab_nr_cpus(st->m));
	for (vb = st->vbq[q].head; vb; vb = vb->free_next) {
		if (vb->free + vb->dirty != BITS || vb->dirty == BITS)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct vmap_block **p =
			    host_realloc(st->m, purge, cap * sizeof(*p));
			if (!p)
				break; /* the rest waits for the next purge */
			purge = p;
		}
		purge[n++] = vb;
	}
	/* Marking after the walk: purging unlinks from this very list. */
	for (u64 i = 0; i < n; i++) {
		bool ok = purge_fragmented_block(st, purge[i], true);

		assert(ok);
		(void)ok;
	}
	free_purged_blocks(st, cpu, purge, n);
	free(purge);
}

void purge_fragmented_blocks_allcpus(struct vmalloc_state *st, int cpu)
{
	for (int q = 0; q < vmlab_nr_cpus(st->m); q++)
		purge_fragmented_blocks(st, cpu, q);
}

/* ------------------------------------------------------ vm_unmap_aliases */

static int vb_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct vmalloc_state *st = ctx;
	const struct vmap_block *a = *(struct vmap_block *const *)pa;
	const struct vmap_block *b = *(struct vmap_block *const *)pb;
	int qa = vb_xa_index(st, a), qb = vb_xa_index(st, b);

	assert(a == b || vb_start(a) != vb_start(b));
	if (qa != qb)
		return qa < qb ? -1 : 1;
	return vb_start(a) < vb_start(b) ? -1 : vb_start(a) > vb_start(b);
}

/* for_each_possible_cpu: xa_for_each, i.e. by queue, then by address. */
static struct vmap_block **blocks_in_xa_order(struct vmalloc_state *st)
{
	struct vmap_block **v =
		host_malloc(st->m, st->nr_blocks * sizeof(*v));
	u64 i = 0;

	if (!v)
		return NULL;
	for (struct vmap_block *vb = st->blocks; vb; vb = vb->all_next)
		v[i++] = vb;
	assert(i == st->nr_blocks);
	qsort_r(v, i, sizeof(*v), vb_cmp, st);
	return v;
}

/* Take a block's dirty range for the coming flush. */
static void take_dirty(struct vmalloc_state *st, struct vmap_block *vb,
		       u64 *start, u64 *end)
{
	u64 s = vb_start(vb) + vb->dirty_min * VMLAB_PAGE_SIZE;
	u64 e = vb_start(vb) + vb->dirty_max * VMLAB_PAGE_SIZE;

	assert(vb->dirty_min < vb->dirty_max && vb->dirty_max <= BITS);
	*start = s < *start ? s : *start;
	*end = e > *end ? e : *end;
	/* The mutant keeps the range, as before a09fad96ffb1: every later
	 * vm_unmap_aliases() (each CPA call) flushes it again. */
	if (vmlab_mutant(st->m, VMLAB_MUT_VB_DIRTY_FLUSHED_AGAIN))
		return;
	vb->dirty_min = BITS; /* not flushed over and over */
	vb->dirty_max = 0;
}

bool vmap_blocks_collect_dirty(struct vmalloc_state *st, int cpu, u64 *start,
			       u64 *end)
{
	struct vmap_block **v, **purge;
	u64 n = st->nr_blocks, np = 0;
	bool flush = false;

	if (!n)
		return false;
	v = blocks_in_xa_order(st);
	if (!v) {
		/* No host memory to order them: every dirty range is still
		 * flushed (the aliases must go), none purged this time. */
		vmlab_warn(st->m, "vm_unmap_aliases: out of host memory, "
				  "no block purged");
		for (struct vmap_block *vb = st->blocks; vb; vb = vb->all_next)
			if (vb->dirty_max && vb->dirty != BITS) {
				take_dirty(st, vb, start, end);
				flush = true;
			}
		return flush;
	}
	purge = v; /* purged ones are gathered at the front as we go */
	for (u64 i = 0; i < n; i++) {
		struct vmap_block *vb = v[i];

		/* The mutant walks the free lists, as before fc1e0d980037. */
		if (!vb->on_free_list &&
		    vmlab_mutant(st->m, VMLAB_MUT_VB_FULL_NO_FLUSH))
			continue;
		if (purge_fragmented_block(st, vb, false))
			purge[np++] = vb;
		else if (vb->dirty_max && vb->dirty != BITS) {
			take_dirty(st, vb, start, end);
			flush = true;
		}
	}
	assert(np <= n);
	free_purged_blocks(st, cpu, purge, np);
	free(v);
	assert(st->nr_blocks == n - np);
	return flush;
}

void vmap_blocks_destroy(struct vmalloc_state *st)
{
	struct vmap_block *vb = st->blocks, *next;

	for (; vb; vb = next) {
		next = vb->all_next;
		assert(vb->area->vb == vb);
		vb->area->vb = NULL;
		free(vb);
	}
	st->blocks = NULL;
	st->nr_blocks = 0;
}

/* ------------------------------------------------------ vb_alloc/free */

static u64 vb_alloc(struct vmalloc_state *st, int cpu, u64 size)
{
	u32 order = get_order(size);
	u64 need = 1u << order;

	assert(size && size <= VMLAB_VMAP_MAX_ALLOC * VMLAB_PAGE_SIZE);
	for (struct vmap_block *vb = st->vbq[cpu].head; vb;
	     vb = vb->free_next) {
		u64 off;

		if (vb->free < need)
			continue;
		off = BITS - vb->free;
		vb->free -= need;
		bitmap_assign(vb->used_map, off, need, true);
		if (!vb->free)
			free_list_del(st, vb);
		assert(off + need <= BITS);
		return vb_start(vb) + off * VMLAB_PAGE_SIZE;
	}
	return new_vmap_block(st, cpu, order);
}

/* The kernel trusts its caller here; a bad range would corrupt it. */
static struct vmap_block *vb_lookup(struct vmalloc_state *st, u64 addr, u64 off,
				    u64 n)
{
	struct vmalloc_area *a = find_busy_area(st, addr);
	struct vmap_block *vb = a && (a->va_flags & VMAP_BLOCK) ? a->vb : NULL;

	assert(!vb || vb->area == a);
	if (!vb || off + n > BITS || !bitmap_all_set(vb->used_map, off, n)) {
		vmlab_warn(st->m,
			   "vm_unmap_ram(%#llx, %llu pages): not mapped "
			   "by vm_map_ram()",
			   (unsigned long long)addr, (unsigned long long)n);
		return NULL;
	}
	return vb;
}

static void vb_free(struct vmalloc_state *st, int cpu, u64 addr, u64 size)
{
	u32 order = get_order(size);
	u64 n = 1u << order;
	u64 off = (addr & (VMLAB_VMAP_BLOCK_SIZE - 1)) >> VMLAB_PAGE_SHIFT;
	struct vmap_block *vb = vb_lookup(st, addr, off, n);

	if (!vb)
		return;
	bitmap_assign(vb->used_map, off, n, false);
	vunmap_range_noflush(st, cpu, addr, addr + size);
	/* A real lazy window: the caller may now free its frames. */
	vmlab_checker_lazy_add(st->m, addr, addr + size);
	vb->dirty_min = off < vb->dirty_min ? off : vb->dirty_min;
	vb->dirty_max = off + n > vb->dirty_max ? off + n : vb->dirty_max;
	vb->dirty += n;
	assert(vb->dirty + vb->free <= BITS);
	if (vb->dirty == BITS) {
		assert(!vb->free);
		free_vmap_block(st, cpu, vb);
	}
}

/* ------------------------------------------------------ public API */

static u64 map_ram_area(struct vmalloc_state *st, int cpu, u64 size)
{
	struct vmalloc_area *a = area_new(st);

	assert(size > VMLAB_VMAP_MAX_ALLOC * VMLAB_PAGE_SIZE);
	if (!a)
		return 0;
	if (alloc_vmap_area(st, cpu, a, size, VMLAB_PAGE_SIZE,
			    st->r.vstart, st->r.vend, VMAP_RAM,
			    false)) {
		area_put(st, a);
		return 0;
	}
	return a->va.va_start;
}

u64 vmlab_vm_map_ram(struct vmlab_machine *m, int cpu, const u64 *pfns,
		     u32 count)
{
	struct vmalloc_state *st = vm_state(m);
	u64 size = (u64)count << VMLAB_PAGE_SHIFT, addr;

	if (!st || !cpu_ok(m, cpu, "vm_map_ram"))
		return 0;
	if (!count || !pfns || st_in_interrupt(st, cpu)) {
		vmlab_warn(m, "WARNING: vm_map_ram(%u pages)%s", count,
			   count && pfns ? " in interrupt context" : "");
		return 0;
	}
	vmlab_checker_set_op(m, cpu, "vm_map_ram");
	addr = count <= VMLAB_VMAP_MAX_ALLOC ? vb_alloc(st, cpu, size)
					     : map_ram_area(st, cpu, size);
	if (!addr)
		return 0;
	if (vmap_pages_range(st, cpu, addr, size, VMLAB_PAGE_KERNEL, pfns,
			     VMLAB_PAGE_SHIFT)) {
		vmlab_vm_unmap_ram(m, cpu, addr, count);
		return 0;
	}
	/* Before d98c9e83b5e7 (the mutant) vm_map_ram() had no KASAN calls. */
	if (!vmlab_mutant(m, VMLAB_MUT_MAP_RAM_NO_SHADOW))
		kasan_unpoison_vmalloc(m, cpu, addr, size, "vm_map_ram");
	vmalloc_check(st);
	return addr;
}

static bool unmap_ram_args_ok(struct vmlab_machine *m, u64 addr, u32 count)
{
	const struct vmalloc_state *st = vm_state(m);

	assert(m && st);
	if (!addr || addr < st->r.vstart || addr > st->r.vend ||
	    (addr & ~VMLAB_PAGE_MASK) || !count) {
		vmlab_warn(m,
			   "kernel BUG at mm/vmalloc.c: vm_unmap_ram(%#llx, "
			   "%u)",
			   (unsigned long long)addr, count);
		return false;
	}
	return true;
}

void vmlab_vm_unmap_ram(struct vmlab_machine *m, int cpu, u64 addr, u32 count)
{
	struct vmalloc_state *st = vm_state(m);
	struct vmalloc_area *a;

	if (!st || !cpu_ok(m, cpu, "vm_unmap_ram") ||
	    !unmap_ram_args_ok(m, addr, count))
		return;
	vmlab_checker_set_op(m, cpu, "vm_unmap_ram");
	if (!vmlab_mutant(m, VMLAB_MUT_MAP_RAM_NO_SHADOW))
		kasan_poison_vmalloc(m, cpu, addr,
				     (u64)count << VMLAB_PAGE_SHIFT);
	if (count <= VMLAB_VMAP_MAX_ALLOC) {
		vb_free(st, cpu, addr, (u64)count << VMLAB_PAGE_SHIFT);
		vmalloc_check(st);
		return;
	}
	a = find_busy_area(st, addr);
	if (!a || a->va_flags != VMAP_RAM) {
		vmlab_warn(m, "WARNING: vm_unmap_ram(%#llx): no such area",
			   (unsigned long long)addr);
		return;
	}
	unlink_busy_area(st, a);
	free_unmap_vmap_area(st, cpu, a);
	vmalloc_check(st);
}

/* ------------------------------------------------------ debug support */

/* Every block's accounting: used + free + dirty pages make the block. */
void vmap_blocks_check(const struct vmalloc_state *st)
{
	u64 n = 0;

	for (const struct vmap_block *vb = st->blocks; vb; vb = vb->all_next) {
		assert(bitmap_weight(vb->used_map) + vb->free + vb->dirty ==
		       BITS);
		assert(vb->area->vb == vb && (vb->area->va_flags & VMAP_BLOCK));
		assert(vb->on_free_list == (vb->free > 0));
		assert(vb->dirty_max <= BITS);
		n++;
	}
	assert(n == st->nr_blocks);
	(void)n;
}
