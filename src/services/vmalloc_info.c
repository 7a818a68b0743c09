/* SPDX-License-Identifier: MIT */
/*
 * What vmalloc shows of itself: /proc/vmallocinfo (vmalloc_info_show()
 * and show_purge_info() of mm/vmalloc.c), VmallocUsed, counters for
 * tests and scenarios, and the debug-build consistency checks.
 */
#include <stdlib.h>

#include "services/vmalloc_internal.h"
#include "services/vmalloc_lazy.h"

/* ------------------------------------------------------ vmallocinfo */

static void show_vm_flags(FILE *f, u64 flags)
{
	if (flags & VMLAB_VM_IOREMAP)
		fputs(" ioremap", f);
	if (flags & VMLAB_VM_ALLOC)
		fputs(" vmalloc", f);
	if (flags & VMLAB_VM_MAP)
		fputs(" vmap", f);
	if (flags & VMLAB_VM_USERMAP)
		fputs(" user", f);
	if (flags & VMLAB_VM_DMA_COHERENT)
		fputs(" dma-coherent", f);
}

/*
 * One busy area.  Addresses are printed in full (%pK with
 * kptr_restrict=0); the caller tag stands for %pS; the model has one
 * NUMA node, so show_numa_info() prints N0 with every page.
 */
static void show_area(FILE *f, const struct vmalloc_area *a)
{
	const struct vmlab_vm_struct *v = &a->vm;

	if (!a->has_vm) {
		if (a->va_flags & VMAP_RAM)
			fprintf(f, "0x%016llx-0x%016llx %7llu vm_map_ram\n",
				(unsigned long long)a->va.va_start,
				(unsigned long long)a->va.va_end,
				(unsigned long long)area_size(a));
		return;
	}
	if (v->flags & VMLAB_VM_UNINITIALIZED)
		return;
	fprintf(f, "0x%016llx-0x%016llx %7llu", (unsigned long long)v->addr,
		(unsigned long long)(v->addr + v->size),
		(unsigned long long)v->size);
	if (v->caller)
		fprintf(f, " %s", v->caller);
	if (v->nr_pages)
		fprintf(f, " pages=%u", v->nr_pages);
	if (v->phys_addr)
		fprintf(f, " phys=0x%llx", (unsigned long long)v->phys_addr);
	show_vm_flags(f, v->flags);
	if (v->nr_pages)
		fprintf(f, " N0=%u", v->nr_pages);
	fputc('\n', f);
}

static int va_start_cmp(const void *pa, const void *pb)
{
	u64 a = (*(struct vmalloc_area *const *)pa)->va.va_start;
	u64 b = (*(struct vmalloc_area *const *)pb)->va.va_start;

	return a < b ? -1 : a > b;
}

/* show_purge_info(): the lazy areas, in address order. */
static void show_purge_info(FILE *f, const struct vmalloc_state *st)
{
	struct vmalloc_area **v;
	u64 n = 0;

	if (!st->nr_lazy)
		return;
	v = host_malloc(st->m, st->nr_lazy * sizeof(*v));
	if (!v) {
		fputs("(unpurged areas not shown: out of host memory)\n", f);
		return;
	}
	for (struct vmalloc_area *a = st->lazy_head; a; a = a->lazy_next)
		v[n++] = a;
	assert(n == st->nr_lazy);
	qsort(v, n, sizeof(*v), va_start_cmp);
	for (u64 i = 0; i < n; i++)
		fprintf(f, "0x%016llx-0x%016llx %7llu unpurged vm_area\n",
			(unsigned long long)v[i]->va.va_start,
			(unsigned long long)v[i]->va.va_end,
			(unsigned long long)area_size(v[i]));
	free(v);
}

void vmlab_vmallocinfo(struct vmlab_machine *m, FILE *f)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st || !f)
		return;
	for (struct vmlab_vmap_area *va = vmlab_vmap_busy_first(st->tree); va;
	     va = vmlab_vmap_busy_next(st->tree, va))
		show_area(f, va_to_area(va));
	show_purge_info(f, st);
}

/* ------------------------------------------------------------ stats */

void vmlab_vmalloc_stats(const struct vmlab_machine *m,
			 struct vmlab_vmalloc_stats *out)
{
	const struct vmalloc_state *st = m ? m->svc[VMLAB_SVC_VMALLOC] : NULL;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!st)
		return;
	out->nr_busy = vmlab_vmap_nr_busy(st->tree);
	out->nr_lazy = st->nr_lazy;
	out->lazy_pages = st->lazy_nr;
	out->lazy_max_pages = lazy_max_pages(m);
	out->nr_purges = st->nr_purges;
	out->nr_purged_areas = st->nr_purged_areas;
	out->nr_drain_runs = st->nr_drain_runs;
	out->nr_vmap_blocks = st->nr_blocks;
	out->vmalloc_pages = st->nr_vmalloc_pages;
	out->free_bytes = vmlab_vmap_free_bytes(st->tree);
	for (int i = 0; i < vmlab_nr_cpus(m); i++)
		out->nr_deferred += st->deferred[i].nr;
}

/* ------------------------------------------------------ debug checks */

#ifdef VMLAB_DEBUG
/*
 * After every operation, O(1): our counts against the tree's, and the
 * address space adding up: free + busy + lazy + the reserved gap.
 */
void vmalloc_check(struct vmalloc_state *st)
{
	u64 total = st->r.tree_end - st->r.tree_start;

	assert(vmlab_vmap_nr_busy(st->tree) == st->nr_busy_areas);
	assert(vmlab_vmap_free_bytes(st->tree) + st->busy_bytes +
		   st->lazy_nr * VMLAB_PAGE_SIZE + st->lost_bytes +
		   (st->r.gap_end - st->r.gap_start) ==
	       total);
	assert(!st->lazy_head == !st->nr_lazy && !st->nr_lazy == !st->lazy_nr);
	assert(!st->lazy_head || st->lazy_start < st->lazy_end);
	assert(st->nr_cache <= VMALLOC_CACHE_MAX);
	(void)total;
}

/* At each purge and on demand: every list walked, the tree verified. */
void vmalloc_check_full(struct vmalloc_state *st)
{
	u64 pages = 0, n = 0;

	vmalloc_check(st);
	for (struct vmalloc_area *a = st->lazy_head; a; a = a->lazy_next) {
		assert(a->va.state == VMLAB_VA_DETACHED && !a->has_vm);
		assert(a->va.va_start >= st->lazy_start &&
		       a->va.va_end <= st->lazy_end);
		pages += area_size(a) >> VMLAB_PAGE_SHIFT;
		n++;
	}
	assert(pages == st->lazy_nr && n == st->nr_lazy);
	vmap_blocks_check(st);
	assert(vmlab_vmap_tree_check(st->tree));
	(void)pages;
	(void)n;
}
#endif
