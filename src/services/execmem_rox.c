/* SPDX-License-Identifier: MIT */
/*
 * The execmem ROX cache (mm/execmem.c with CONFIG_ARCH_HAS_EXECMEM_ROX,
 * x86-64 module text since 6.13/6.15): execmem_cache_populate() takes
 * round_up(size, 2 MiB) with VM_ALLOW_HUGE_VMAP, fills it with INT3 while
 * writable, set_memory_rox() and adds it to the free ranges (merged with
 * neighbours); __execmem_cache_alloc() takes the first free range, in
 * address order, that holds the request; execmem_cache_free() refills
 * the range with INT3 through text_poke_set() and gives it back, then
 * schedules execmem_cache_clean(), which releases cached areas that are
 * wholly free.
 *
 * The kernel keeps the ranges in maple trees; here a sorted array of
 * free ranges (busy ones are the execmem table's).  Its clean-up tests a
 * free range for 2 MiB alignment and frees the area at its start; this
 * one releases each cached area that lies inside free space, the same
 * outcome for areas of one 2 MiB page.
 */
#include <stdlib.h>

#include "services/execmem_internal.h"

bool rox_serves(const struct execmem *xm, enum vmlab_execmem_type t)
{
	/* x86 execmem_arch_setup(): only EXECMEM_MODULE_TEXT has
	 * EXECMEM_ROX_CACHE. */
	return t == VMLAB_EXECMEM_MODULE_TEXT ||
	       (t == VMLAB_EXECMEM_BPF &&
		(xm->cfg.flags & VMLAB_EXECMEM_ROX_BPF));
}

/* First free range whose start is >= addr. */
static size_t free_index(const struct execmem *xm, u64 addr)
{
	size_t lo = 0, hi = xm->nr_free;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (xm->free[mid].start < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void free_del(struct execmem *xm, size_t i)
{
	assert(i < xm->nr_free);
	memmove(&xm->free[i], &xm->free[i + 1],
		(xm->nr_free - i - 1) * sizeof(xm->free[0]));
	xm->nr_free--;
}

/* execmem_cache_add(): merge with the neighbours it touches. */
static int free_add(struct execmem *xm, u64 start, u64 end)
{
	assert(start < end);
	size_t i = free_index(xm, start);
	/* Never overlapping what is already free. */
	assert(i == xm->nr_free || xm->free[i].start >= end);
	assert(i == 0 || xm->free[i - 1].end <= start);
	bool left = i > 0 && xm->free[i - 1].end == start;
	bool right = i < xm->nr_free && xm->free[i].start == end;
	if (left && right) {
		xm->free[i - 1].end = xm->free[i].end;
		free_del(xm, i);
		return 0;
	}
	if (left) {
		xm->free[i - 1].end = end;
		return 0;
	}
	if (right) {
		xm->free[i].start = start;
		return 0;
	}
	if (xm->nr_free == xm->cap_free) {
		size_t cap = xm->cap_free ? 2 * xm->cap_free : 64;
		struct xm_range *n = host_realloc(xm->m, xm->free, cap * sizeof(*n));
		if (!n)
			return -VMLAB_ENOMEM;
		xm->free = n;
		xm->cap_free = cap;
	}
	memmove(&xm->free[i + 1], &xm->free[i],
		(xm->nr_free - i) * sizeof(xm->free[0]));
	xm->free[i] = (struct xm_range){start, end};
	xm->nr_free++;
	return 0;
}

static u64 cache_take(struct execmem *xm, u64 size, u64 start, u64 end)
{
	for (size_t i = 0; i < xm->nr_free; i++) {
		struct xm_range *r = &xm->free[i];
		if (r->end - r->start < size || r->start < start ||
		    r->start + size >= end)
			continue;
		u64 a = r->start;
		r->start += size;
		if (r->start == r->end)
			free_del(xm, i);
		return a;
	}
	return 0;
}

static int cache_populate(struct execmem *xm, int cpu, u64 size, u64 start,
			  u64 end)
{
	u64 bytes = (size + VMLAB_PMD_SIZE - 1) & ~(VMLAB_PMD_SIZE - 1);
	if (xm->nr_cache == xm->cap_cache) {
		size_t cap = xm->cap_cache ? 2 * xm->cap_cache : 16;
		struct xm_cache_area *n =
			host_realloc(xm->m, xm->cache, cap * sizeof(*n));
		if (!n)
			return -VMLAB_ENOMEM;
		xm->cache = n;
		xm->cap_cache = cap;
	}
	u64 a = xm_rox_area(xm, cpu, bytes, start, end,
			    VMLAB_VM_ALLOW_HUGE_VMAP, "execmem_cache_populate");
	if (!a)
		return -VMLAB_ENOMEM;
	int err = free_add(xm, a, a + bytes);
	if (err) {
		vmlab_vfree(xm->m, cpu, a);
		xm->nr_areas--;
		return err;
	}
	xm->cache[xm->nr_cache++] = (struct xm_cache_area){a, bytes};
	return 0;
}

u64 rox_alloc(struct execmem *xm, int cpu, enum vmlab_execmem_type t,
	      u64 size)
{
	u64 start, end;
	xm_type_range(xm, t, &start, &end);
	u64 a = cache_take(xm, size, start, end);
	if (!a && !cache_populate(xm, cpu, size, start, end))
		a = cache_take(xm, size, start, end);
	return a;
}

/* execmem_cache_clean(), from the work queue. */
static void cache_clean(struct vmlab_machine *m, int cpu, void *arg)
{
	struct execmem *xm = arg;
	assert(xm->m == m);
	mutex_lock(m, cpu, &xm->lock);
	for (size_t c = 0; c < xm->nr_cache;) {
		struct xm_cache_area *ca = &xm->cache[c];
		size_t i = free_index(xm, ca->addr + 1);
		struct xm_range *r = i ? &xm->free[i - 1] : NULL;
		if (!r || r->start > ca->addr || r->end < ca->addr + ca->size) {
			c++;
			continue;
		}
		/* Cut the area out of the free range it lies in. */
		struct xm_range rest = {ca->addr + ca->size, r->end};
		r->end = ca->addr;
		if (r->start == r->end)
			free_del(xm, i - 1);
		if (rest.start < rest.end && free_add(xm, rest.start, rest.end))
			vmlab_warn(m, "execmem_cache_clean: out of memory");
		vmlab_vfree(m, cpu, ca->addr);
		xm->nr_areas--;
		*ca = xm->cache[--xm->nr_cache];
	}
	mutex_unlock(m, cpu, &xm->lock);
}

int rox_free(struct execmem *xm, int cpu, const struct xm_alloc *a)
{
	assert(a->kind == XM_CACHE && a->size > 0);
	int err = vmlab_text_poke_set(xm->m, cpu, a->addr, INT3, a->size);
	if (free_add(xm, a->addr, a->addr + a->size))
		return -VMLAB_ENOMEM;
	if (!xm->clean_work.fn)
		xm->clean_work = (struct vmlab_work){
		    .fn = cache_clean, .arg = xm, .name = "execmem_cache_clean"};
	vmlab_queue_work(xm->m, &xm->clean_work);
	return err;
}

void rox_destroy(struct execmem *xm)
{
	free(xm->free);
	free(xm->cache);
	xm->free = NULL;
	xm->cache = NULL;
	xm->nr_free = xm->nr_cache = 0;
}

u64 rox_reserved(const struct execmem *xm)
{
	u64 sum = 0;
	for (size_t i = 0; i < xm->nr_cache; i++)
		sum += xm->cache[i].size;
	return sum;
}
