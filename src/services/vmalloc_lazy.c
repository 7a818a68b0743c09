/* SPDX-License-Identifier: MIT */
/*
 * Lazy freeing of vmap areas and vm_unmap_aliases(), after mm/vmalloc.c
 * of Linux 6.x: __purge_vmap_area_lazy(), drain_vmap_area_work(),
 * reclaim_and_purge_vmap_areas(), _vm_unmap_aliases(); the list's adding
 * side, free_vmap_area_noflush(), is inline in vmalloc_lazy.h.
 *
 * A freed area is unmapped at once but its TLB entries may live on: the
 * range waits on the lazy list, unusable, until a purge flushes the
 * lowest-to-highest span of everything waiting with one
 * flush_tlb_kernel_range() and only then gives the space back.  The
 * purge runs from a worker once more than lazy_max_pages() wait.
 *
 * The lazy list is kept in free order (6.9+ keeps it sorted per node;
 * only its span matters to the flush, and /proc/vmallocinfo sorts it).
 */
#include "vmlab/checker.h"
#include "services/kasan_internal.h"
#include "services/vmalloc_internal.h"
#include "services/vmalloc_lazy.h"

static void free_run(struct vmalloc_state *st, int cpu, u64 start, u64 end)
{
	assert(start < end && !(start & ~VMLAB_PAGE_MASK));
	int err = vmlab_vmap_free_range(st->tree, start, end - start);

	/* The tree needs a node for a block that merges with nothing (the
	 * kernel reuses the freed vmap_area): with no host memory for one,
	 * the range stays reserved, lost to vmalloc, the tree consistent. */
	assert(err == 0 || err == -VMLAB_ENOMEM);
	if (err) {
		st->lost_bytes += end - start;
		vmlab_warn(st->m, "vmalloc: host out of memory: [%#llx, %#llx) "
				  "not returned to the free tree",
			   (unsigned long long)start, (unsigned long long)end);
		return;
	}
	/* KASAN frees the shadow only the merged free block now covers. */
	if (unlikely(vm_kasan_on(st->m))) {
		const struct vmlab_vmap_area *fb =
		    vmlab_vmap_free_find(st->tree, start);

		assert(fb && fb->va_start <= start && fb->va_end >= end);
		kasan_release_vmalloc(st->m, cpu, start, end, fb->va_start,
				      fb->va_end);
	}
}

/*
 * Give every lazy area back to the free tree; the flush is done.  Areas
 * freed one after the other at touching addresses (the common case) go
 * back as one range: the tree ends up the same as with one call per area
 * (merge_or_add_vmap_area() coalesces either way), for a fraction of the
 * work.
 */
static u64 reclaim_lazy_list(struct vmalloc_state *st, int cpu)
{
	struct vmalloc_area *a = st->lazy_head, *next;
	u64 n = 0, run_start = 0, run_end = 0;

	assert(a && st->nr_lazy > 0);
	st->lazy_head = st->lazy_tail = NULL;
	st->lazy_start = UINT64_MAX;
	st->lazy_end = 0;
	for (; a; a = next) {
		u64 pages = area_size(a) >> VMLAB_PAGE_SHIFT;

		if (run_end != a->va.va_start) {
			if (run_end)
				free_run(st, cpu, run_start, run_end);
			run_start = a->va.va_start;
		}
		run_end = a->va.va_end;
		assert(st->lazy_nr >= pages);
		next = a->lazy_next;
		st->lazy_nr -= pages;
		area_put(st, a);
		n++;
	}
	if (run_end)
		free_run(st, cpu, run_start, run_end);
	assert(n == st->nr_lazy);
	st->nr_lazy = 0;
	return n;
}

/*
 * __purge_vmap_area_lazy(): one flush over [min(start, lowest lazy),
 * max(end, highest lazy)), then the space is free again.  Returns true
 * if any area was purged (the caller's range was then flushed too).
 */
bool __purge_vmap_area_lazy(struct vmalloc_state *st, int cpu, u64 start,
			    u64 end)
{
	struct vmlab_machine *m = st->m;
	u64 n = 0;

	assert(vmlab_cpu_valid(m, cpu));
	if (st->lazy_head) {
		start = st->lazy_start < start ? st->lazy_start : start;
		end = st->lazy_end > end ? st->lazy_end : end;
		if (!vmlab_mutant(m, VMLAB_MUT_PURGE_NO_FLUSH))
			vmlab_flush_tlb_kernel_range(m, cpu, start, end);
		n = reclaim_lazy_list(st, cpu);
		vmlab_checker_lazy_del(m, start, end);
		st->nr_purges++;
		st->nr_purged_areas += n;
		vmalloc_check_full(st);
	}
	assert(st->lazy_nr == 0 || n == 0);
	vm_trace(m, cpu, "purge_vmap_area_lazy", start, end, n, 0, 0, 0);
	return n > 0;
}

/*
 * The kasan-release-unlocked mutant's shadow releases, run once the purge
 * is over: the operation's lock (free_vmap_area_lock) dropped first when
 * may_unlock and the caller allows it, so another CPU can allocate from
 * the free region the releases were computed with.
 */
void kasan_release_late(struct vmalloc_state *st, int cpu, bool may_unlock)
{
	struct vmlab_machine *m = st->m;
	struct kasan_late batch;

	if (likely(!kasan_release_take(m, &batch)))
		return;
	assert(batch.n > 0);
	bool unlocked = may_unlock &&
			vmlab_op_unlock(m, cpu, "spin_unlock free_vmap_area_lock");
	kasan_release_run(m, cpu, &batch);
	if (unlocked)
		vmlab_op_relock(m, cpu, "spin_lock free_vmap_area_lock");
}

/* The allocation overflow path's purge: fragmented blocks too. */
void reclaim_and_purge_vmap_areas(struct vmalloc_state *st, int cpu)
{
	assert(vmlab_cpu_valid(st->m, cpu));
	purge_fragmented_blocks_allcpus(st, cpu);
	__purge_vmap_area_lazy(st, cpu, UINT64_MAX, 0);
	assert(st->lazy_nr == 0 && !st->lazy_head);
}

/* drain_vmap_work: one purge empties the whole list. */
void drain_vmap_area_work(struct vmlab_machine *m, int cpu, void *arg)
{
	struct vmalloc_state *st = arg;

	assert(st && st->m == m);
	st->nr_drain_runs++;
	vmlab_checker_set_op(m, cpu, "drain_vmap_area_work");
	__purge_vmap_area_lazy(st, cpu, UINT64_MAX, 0);
	assert(st->lazy_nr == 0);
	kasan_release_late(st, cpu, false);
}

/*
 * _vm_unmap_aliases(): the dirty ranges of the vmap blocks, the lazy
 * areas and [start, end) go in one flush.  If no lazy area was purged,
 * a flush of the range alone is still due when a block was dirty or the
 * caller asked (flush).
 */
void _vm_unmap_aliases(struct vmalloc_state *st, int cpu, u64 start, u64 end,
		       bool flush)
{
	struct vmlab_machine *m = st->m;

	assert(vmlab_cpu_valid(m, cpu));
	if (vmap_blocks_collect_dirty(st, cpu, &start, &end) &&
	    !vmlab_mutant(m, VMLAB_MUT_UNMAP_ALIASES_NO_BLOCKS))
		flush = true;
	if (!__purge_vmap_area_lazy(st, cpu, start, end) && flush &&
	    start < end) { /* [a, a) flushes nothing (the range mutant) */
		vmlab_flush_tlb_kernel_range(m, cpu, start, end);
		vmlab_checker_lazy_del(m, start, end);
	}
	assert(st->lazy_nr == 0);
	vmalloc_check(st);
}

/* ------------------------------------------------------ public API */

void vmlab_vm_unmap_aliases(struct vmlab_machine *m, int cpu)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st || !cpu_ok(m, cpu, "vm_unmap_aliases"))
		return;
	/* CPA calls this with its own label set: keep it for its stores. */
	const char *op = m->cpu[cpu].op;
	vmlab_checker_set_op(m, cpu, "vm_unmap_aliases");
	_vm_unmap_aliases(st, cpu, UINT64_MAX, 0, false);
	kasan_release_late(st, cpu, true);
	vmlab_checker_set_op(m, cpu, op);
}

void vmlab_vm_unmap_aliases_hook(struct vmlab_machine *m, int cpu, void *ctx)
{
	(void)ctx;
	vmlab_vm_unmap_aliases(m, cpu);
}

bool vmlab_purge_vmap_area_lazy(struct vmlab_machine *m, int cpu)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st || !cpu_ok(m, cpu, "purge_vmap_area_lazy"))
		return false;
	u64 before = st->nr_purged_areas;
	vmlab_checker_set_op(m, cpu, "purge_vmap_area_lazy");
	reclaim_and_purge_vmap_areas(st, cpu);
	kasan_release_late(st, cpu, true);
	return st->nr_purged_areas > before;
}

u64 vmlab_lazy_max_pages(const struct vmlab_machine *m)
{
	return m ? lazy_max_pages(m) : 0;
}

void vmlab_set_lazy_max_pages(struct vmlab_machine *m, u64 pages)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st)
		return;
	st->lazy_max_override = pages;
	st->lazy_max = pages ? pages : lazy_max_pages_formula(m);
}

u64 vmlab_vmap_lazy_nr(const struct vmlab_machine *m)
{
	const struct vmalloc_state *st = m ? m->svc[VMLAB_SVC_VMALLOC] : NULL;

	return st ? st->lazy_nr : 0;
}
