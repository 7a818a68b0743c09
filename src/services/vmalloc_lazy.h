/* SPDX-License-Identifier: MIT */
/*
 * The adding half of the lazy purge list (vmalloc_lazy.c has the purge):
 * lazy_max_pages(), free_vmap_area_noflush() and free_unmap_vmap_area(),
 * after mm/vmalloc.c of Linux 6.x.  Inline: every vfree() comes here.
 */
#ifndef VMLAB_SERVICES_VMALLOC_LAZY_H
#define VMLAB_SERVICES_VMALLOC_LAZY_H

#include "vmlab/checker.h"
#include "services/vmalloc_internal.h"

static inline u64 fls_u32(u32 x)
{
	return x ? 32 - (u64)__builtin_clz(x) : 0;
}

/*
 * The kernel's lazy_max_pages(): a log scale of the CPU count, so big
 * machines batch more flushes without waiting unboundedly.
 */
static inline u64 lazy_max_pages_formula(const struct vmlab_machine *m)
{
	assert(m->nr_cpus >= 1 && m->nr_cpus <= VMLAB_MAX_CPUS);
	return fls_u32((u32)m->nr_cpus) *
	       (32 * VMLAB_MiB / VMLAB_PAGE_SIZE);
}

/* lazy_max_pages(): the formula's, or the one set by hand, kept in the
 * state (the CPU count never changes). */
static inline u64 lazy_max_pages(const struct vmlab_machine *m)
{
	const struct vmalloc_state *st = m->svc[VMLAB_SVC_VMALLOC];

	if (likely(st != NULL)) {
		assert(!VMLAB_DEBUG_CHECKS ||
		       st->lazy_max == (st->lazy_max_override
					    ? st->lazy_max_override
					    : lazy_max_pages_formula(m)));
		return st->lazy_max;
	}
	return lazy_max_pages_formula(m);
}

static inline void lazy_append(struct vmalloc_state *st, struct vmalloc_area *a)
{
	assert(a->va.va_start < a->va.va_end);
	assert(!VMLAB_DEBUG_CHECKS || !st->lazy_tail == !st->lazy_head);
	a->lazy_next = NULL;
	if (st->lazy_tail)
		st->lazy_tail->lazy_next = a;
	else
		st->lazy_head = a;
	st->lazy_tail = a;
	st->nr_lazy++;
	if (a->va.va_start < st->lazy_start)
		st->lazy_start = a->va.va_start;
	if (a->va.va_end > st->lazy_end)
		st->lazy_end = a->va.va_end;
}

/*
 * free_vmap_area_noflush(): the area is unmapped and out of the busy
 * tree.  Its range is a real window of stale TLB entries, which the
 * checker is told about, except for VM_FLUSH_RESET_PERMS areas: their
 * design promises the flush before anything else happens to the frames.
 */
static vm_always_inline void free_vmap_area_noflush(struct vmalloc_state *st, int cpu,
					  struct vmalloc_area *a)
{
	struct vmlab_machine *m = st->m;
	u64 nr_lazy_max = lazy_max_pages(m);
	u64 va_start = a->va.va_start;
	bool frp = a->has_vm && (a->vm.flags & VMLAB_VM_FLUSH_RESET_PERMS);

	assert(a->va.state == VMLAB_VA_DETACHED);
	st->lazy_nr += area_size(a) >> VMLAB_PAGE_SHIFT;
	lazy_append(st, a);
	/* (The call does nothing without a checker: not made then.) */
	if (!frp && unlikely(m->svc[VMLAB_SVC_CHECK] != NULL))
		vmlab_checker_lazy_add(m, a->va.va_start, a->va.va_end);
	a->lazy_declared = !frp;
	a->has_vm = false; /* the vm_struct went to remove_vm_area()'s caller */
	a->vb = NULL;
	vm_trace(m, cpu, "free_vmap_area_noflush", va_start, st->lazy_nr,
		 nr_lazy_max, 0, 0, 0);
	if (st->lazy_nr > nr_lazy_max)
		vmlab_queue_work(m, &st->drain_work);
	assert(!VMLAB_DEBUG_CHECKS ||
	       (st->lazy_tail == a && st->lazy_end >= a->va.va_end));
}

static vm_always_inline void free_unmap_vmap_area(struct vmalloc_state *st, int cpu,
					struct vmalloc_area *a)
{
	assert(a->va.state == VMLAB_VA_DETACHED);
	vunmap_range_noflush(st, cpu, a->va.va_start, a->va.va_end);
	free_vmap_area_noflush(st, cpu, a);
}

#endif
