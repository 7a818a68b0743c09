/* SPDX-License-Identifier: MIT */
/*
 * Freeing vm areas, after mm/vmalloc.c of Linux 6.x: remove_vm_area(),
 * vm_reset_perms(), vfree(), vfree_atomic() and its per-CPU deferred
 * list, vunmap().
 *
 * Order of a vfree(), as in the kernel: the area leaves the busy tree,
 * its PTEs are cleared without a flush and its range joins the lazy list
 * (remove_vm_area()); a VM_FLUSH_RESET_PERMS area then gets its direct-map
 * aliases invalidated, one flush for everything, and the aliases reset
 * (vm_reset_perms()); only then are the frames freed.
 */
#include <stdlib.h>

#include "vmlab/checker.h"
#include "services/directmap_internal.h"
#include "services/kasan_internal.h"
#include "services/vmalloc_internal.h"
#include "services/vmalloc_lazy.h"
#include "vmlab/directmap.h"

/*
 * What remove_vm_area() hands back: the vm_struct outlives the vmap_area,
 * which now belongs to the lazy list.  When a purge may run before the
 * caller is done with the frames (vm_reset_perms(), vunmap()'s
 * vm_unmap_aliases()) and recycle the area, the vm_struct is copied;
 * otherwise the area's own is read, nothing running in between.
 */
struct vm_detached {
	const struct vmlab_vm_struct *vm; /* the area's, or &copy */
	u64 *pages;			  /* owned now */
	u64 inline_pfn;
	struct vmlab_vm_struct copy;
};

static vm_always_inline void detach_vm(struct vmalloc_area *a,
				       struct vm_detached *d, bool purge_next)
{
	assert(a->has_vm && a->va.state == VMLAB_VA_DETACHED);
	assert(!VMLAB_DEBUG_CHECKS || a->vm.nr_pages == 0 ||
	       a->pages == a->vm.pages);
	d->inline_pfn = a->inline_pfn;
	d->pages = a->pages == &a->inline_pfn ? &d->inline_pfn : a->pages;
	d->vm = &a->vm;
	if (purge_next || (a->vm.flags & VMLAB_VM_FLUSH_RESET_PERMS)) {
		d->copy = a->vm;
		d->copy.pages = d->pages;
		d->vm = &d->copy;
	}
	a->pages = NULL; /* the caller owns the array now */
}

static vm_always_inline void put_detached(struct vmlab_machine *m, struct vm_detached *d)
{
	assert(d);
	if (d->pages && d->pages != &d->inline_pfn)
		pages_array_free(m, d->pages);
	d->pages = NULL;
}

/*
 * remove_vm_area(): like the kernel, any page-aligned address inside the
 * area finds it.  Unlike the kernel, a vm_map_ram() range is left alone
 * (the kernel unlinks and leaks it) so a misuse changes nothing.
 */
static vm_always_inline bool remove_vm_area(struct vmalloc_state *st, int cpu,
					    u64 addr, struct vm_detached *d,
					    bool purge_next)
{
	struct vmalloc_area *a;

	if (addr & ~VMLAB_PAGE_MASK) {
		vmlab_warn(st->m, "Trying to vfree() bad address (%#llx)",
			   (unsigned long long)addr);
		return false;
	}
	a = find_busy_area(st, addr);
	if (!a || !a->has_vm)
		return false;
	assert(a->vm.addr == a->va.va_start);
	unlink_busy_area(st, a);
	detach_vm(a, d, purge_next);
	if (unlikely(vm_kasan_on(st->m)))
		kasan_poison_vmalloc(st->m, cpu, d->vm->addr,
				     get_vm_area_size(d->vm));
	free_unmap_vmap_area(st, cpu, a);
	assert(!VMLAB_DEBUG_CHECKS ||
	       (!a->has_vm && d->vm->addr == a->va.va_start));
	return true;
}

/*
 * vm_reset_perms(): invalidate every direct-map alias without flushing,
 * flush once over the direct-map range, the lazy areas (this one among
 * them) and the dirty vmap-block ranges, then restore the direct map.
 * At no point is a frame writable through one alias while another may
 * still execute it: the invalid alias cannot be cached anew before the
 * flush, and the default (RW) one comes back only after it.
 */
static void vm_reset_perms(struct vmalloc_state *st, int cpu,
			   const struct vm_detached *d)
{
	struct vmlab_machine *m = st->m;
	u64 start = UINT64_MAX, end = 0;
	u32 step = 1u << d->vm->page_order;
	bool flush_dmap = false;

	assert(d->vm->flags & VMLAB_VM_FLUSH_RESET_PERMS);
	assert(!(d->vm->nr_pages & (step - 1)));
	/* The mutant is 868b104d7379's loop, fixed by 8e41f8726dcf: addr
	 * was the area's (vmalloc) address and end = max(addr, end), so the
	 * flush range is [area, area) and the purge flushes the lazy
	 * vmalloc range only, never the direct map. */
	bool vm_range = vmlab_mutant(m, VMLAB_MUT_RESET_PERMS_DMAP_RANGE);
	for (u32 i = 0; i < d->vm->nr_pages; i += step) {
		u64 addr = vm_range ? d->vm->addr :
				      vmlab_page_address(m, d->pages[i]);

		start = addr < start ? addr : start;
		if (vm_range)
			end = addr > end ? addr : end;
		else if (addr + (VMLAB_PAGE_SIZE << d->vm->page_order) > end)
			end = addr + (VMLAB_PAGE_SIZE << d->vm->page_order);
		flush_dmap = true;
	}
	/* The mutant resets the direct map before the flush: the pages are
	 * writable there while another CPU still caches the executable
	 * vmalloc alias. */
	bool early = vmlab_mutant(m, VMLAB_MUT_RESET_PERMS_DEFAULT_EARLY);
	for (u32 i = 0; i < d->vm->nr_pages; i++)
		if (early)
			vmlab_set_direct_map_default_noflush(m, d->pages[i]);
		else
			vmlab_set_direct_map_invalid_noflush(m, d->pages[i]);
	assert(!flush_dmap || start < end || vm_range);
	vmlab_checker_set_op(m, cpu, "vm_reset_perms");
	_vm_unmap_aliases(st, cpu, start, end, flush_dmap);
	assert(st->lazy_nr == 0); /* the flush took every lazy area */
	for (u32 i = 0; i < d->vm->nr_pages && !early; i++)
		vmlab_set_direct_map_default_noflush(m, d->pages[i]);
	vmlab_checker_set_op(m, cpu, "vfree");
}

/* vm_area_free_pages(): blocks are freed in the order they came in. */
static vm_always_inline void free_detached_pages(struct vmalloc_state *st, int cpu,
				const struct vm_detached *d)
{
	bool put = d->vm->flags & VMLAB_VM_MAP_PUT_PAGES;
	u32 order = put ? 0 : d->vm->page_order;

	assert(!d->vm->nr_pages || d->pages);
	assert(!VMLAB_DEBUG_CHECKS || !(d->vm->nr_pages & ((1u << order) - 1)));
	for (u32 i = 0; i < d->vm->nr_pages; i += 1u << order)
		vmlab_free_pages(st->m, cpu, d->pages[i], (int)order);
	if (!put) {
		assert(st->nr_vmalloc_pages >= d->vm->nr_pages);
		st->nr_vmalloc_pages -= d->vm->nr_pages;
	}
}

/*
 * The seed's v2 fallback for an architecture without set_alias, run while
 * the area is still mapped: set_memory_nx() then set_memory_rw() (nx
 * first, so no RW+X window), each a page-table pass with its own flush
 * that takes the direct-map alias along, or the review's one call with
 * both masks.  Mainline has no such block.
 */
static vm_always_inline void reset_perms_fallback(struct vmalloc_state *st, int cpu, u64 addr)
{
	struct vmlab_machine *m = st->m;
	enum vmlab_reset_perms rp = m->cfg.reset_perms;
	struct vmalloc_area *a;

	assert(rp < VMLAB_NR_RESET_PERMS);
	if (rp == VMLAB_RESET_PERMS_MAINLINE || m->has_set_alias)
		return;
	a = find_busy_area(st, addr);
	if (!a || !a->has_vm || !(a->vm.flags & VMLAB_VM_FLUSH_RESET_PERMS))
		return;
	int n = (int)a->vm.nr_pages;
	assert(n >= 0 && a->vm.addr == addr);
	if (rp == VMLAB_RESET_PERMS_SEED_V2_ONE_CALL) {
		set_memory_nx_rw(m, cpu, addr, n);
	} else {
		vmlab_set_memory_nx(m, cpu, addr, n);
		vmlab_set_memory_rw(m, cpu, addr, n);
	}
	vmlab_checker_set_op(m, cpu, "vfree");
}

/* vfree() in process context. */
static vm_always_inline void vfree_process_inl(struct vmalloc_state *st,
					       int cpu, u64 addr)
{
	struct vm_detached d;

	if (!addr)
		return;
	u64 busy = st->nr_busy_areas;
	(void)busy; /* read by the postcondition only */
	assert(!VMLAB_DEBUG_CHECKS || vmlab_cpu_valid(st->m, cpu));
	vmlab_checker_set_op(st->m, cpu, "vfree");
	reset_perms_fallback(st, cpu, addr);
	if (!remove_vm_area(st, cpu, addr, &d, false)) {
		vmlab_warn(st->m,
			   "Trying to vfree() nonexistent vm area (%#llx)",
			   (unsigned long long)addr);
		return;
	}
	if (d.vm->flags & VMLAB_VM_FLUSH_RESET_PERMS)
		vm_reset_perms(st, cpu, &d);
	free_detached_pages(st, cpu, &d);
	put_detached(st->m, &d);
	assert(!VMLAB_DEBUG_CHECKS || st->nr_busy_areas == busy - 1);
	vmalloc_check(st);
}

void vfree_process(struct vmalloc_state *st, int cpu, u64 addr)
{
	vfree_process_inl(st, cpu, addr);
}

/* --------------------------------------------------- atomic context */

/*
 * delayed_vfree_work(): llist_del_all() hands the list newest first, and
 * the worker frees in that order, in process context.
 */
static void delayed_vfree_work(struct vmlab_machine *m, int cpu, void *arg)
{
	struct vfree_deferred *p = arg;
	u64 *addrs = p->addrs;
	size_t nr = p->nr;

	(void)m; /* the queue's machine: checked by the asserts only */
	assert(p && p->st->m == m && nr > 0);
	assert(p->cpu >= 0 && p->cpu < vmlab_nr_cpus(m));
	p->addrs = NULL;
	p->nr = p->cap = 0;
	while (nr--)
		vfree_process(p->st, cpu, addrs[nr]);
	free(addrs);
}

static bool deferred_push(struct vfree_deferred *p, u64 addr)
{
	assert(addr && p->nr <= p->cap);
	if (p->nr == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		u64 *n = host_realloc(p->st->m, p->addrs, cap * sizeof(*n));

		if (!n)
			return false;
		p->addrs = n;
		p->cap = cap;
	}
	p->addrs[p->nr++] = addr;
	assert(p->nr <= p->cap);
	return true;
}

/*
 * vfree_atomic(): the kernel stores its llist_node in the area's first
 * word, through this CPU's translation.  On memory made read-only that
 * store faults, which is why include/linux/vmalloc.h says a
 * VM_FLUSH_RESET_PERMS area "can't be freed in atomic context"; there is
 * no check in the kernel, so the model refuses with the warning instead
 * of the oops.
 */
static void vfree_atomic(struct vmalloc_state *st, int cpu, u64 addr)
{
	struct vmlab_machine *m = st->m;
	struct vfree_deferred *p = &st->deferred[cpu];
	struct vmalloc_area *a;

	assert(vmlab_cpu_valid(m, cpu));
	if (!addr)
		return;
	a = find_busy_area(st, addr);
	if (!a || !a->has_vm || (addr & ~VMLAB_PAGE_MASK)) {
		vmlab_warn(m, "Trying to vfree() nonexistent vm area (%#llx)",
			   (unsigned long long)addr);
		return;
	}
	if (a->vm.flags & VMLAB_VM_FLUSH_RESET_PERMS) {
		vmlab_warn(m,
			   "vfree_atomic(%#llx): VM_FLUSH_RESET_PERMS area "
			   "can't be freed in atomic context",
			   (unsigned long long)addr);
		return;
	}
	u64 next = p->nr ? p->addrs[p->nr - 1] : 0;
	vmlab_checker_set_op(m, cpu, "vfree_atomic");
	if (vmlab_write(m, cpu, addr, &next, sizeof(next), NULL)) {
		vmlab_warn(m,
			   "BUG: unable to handle page fault for address "
			   "%#llx: vfree_atomic() writes its list node there",
			   (unsigned long long)addr);
		return;
	}
	if (!deferred_push(p, addr)) {
		vmlab_warn(m, "vfree_atomic: out of host memory");
		return;
	}
	if (p->nr == 1) /* llist_add() returned true: the list was empty */
		vmlab_queue_work(m, &p->wq);
	assert(p->wq.pending);
}

int vfree_deferred_init(struct vmalloc_state *st)
{
	int n = vmlab_nr_cpus(st->m);

	assert(n > 0 && !st->deferred);
	st->deferred = host_calloc(st->m, (size_t)n, sizeof(*st->deferred));
	if (!st->deferred)
		return -VMLAB_ENOMEM;
	for (int i = 0; i < n; i++) {
		struct vfree_deferred *p = &st->deferred[i];

		p->st = st;
		p->cpu = i;
		p->wq = (struct vmlab_work){.fn = delayed_vfree_work,
					    .arg = p,
					    .name = "vfree_deferred"};
	}
	return 0;
}

void vfree_deferred_destroy(struct vmalloc_state *st)
{
	if (!st->deferred)
		return;
	for (int i = 0; i < vmlab_nr_cpus(st->m); i++) {
		vmlab_cancel_work(st->m, &st->deferred[i].wq);
		free(st->deferred[i].addrs);
	}
	free(st->deferred);
	st->deferred = NULL;
}

/* ------------------------------------------------------ public API */

void vmlab_vfree(struct vmlab_machine *m, int cpu, u64 addr)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st || !cpu_ok(m, cpu, "vfree"))
		return;
	if (st_in_interrupt(st, cpu)) {
		vfree_atomic(st, cpu, addr);
		return;
	}
	vfree_process_inl(st, cpu, addr);
}

void vmlab_vfree_atomic(struct vmlab_machine *m, int cpu, u64 addr)
{
	struct vmalloc_state *st = vm_state(m);

	if (st && cpu_ok(m, cpu, "vfree_atomic"))
		vfree_atomic(st, cpu, addr);
}

/*
 * vunmap() of a vmalloc() area: the kernel unmaps it and leaks its
 * frames; the model refuses with a warning, so the misuse is visible and
 * changes nothing.
 */
static bool vunmap_ok(struct vmalloc_state *st, int cpu, u64 addr)
{
	struct vmalloc_area *a = find_busy_area(st, addr);

	assert(addr && vmlab_cpu_valid(st->m, cpu));
	if (st_in_interrupt(st, cpu)) {
		vmlab_warn(st->m, "BUG: vunmap() called in interrupt context");
		return false;
	}
	if (a && a->has_vm && (a->vm.flags & VMLAB_VM_ALLOC)) {
		vmlab_warn(st->m,
			   "vunmap(%#llx): a vmalloc() area, use vfree() "
			   "(the kernel would leak its %u pages)",
			   (unsigned long long)addr, a->vm.nr_pages);
		return false;
	}
	return true;
}

void vmlab_vunmap(struct vmlab_machine *m, int cpu, u64 addr)
{
	struct vmalloc_state *st = vm_state(m);
	struct vm_detached d;

	if (!st || !cpu_ok(m, cpu, "vunmap") || !addr ||
	    !vunmap_ok(st, cpu, addr))
		return;
	vmlab_checker_set_op(m, cpu, "vunmap");
	if (!remove_vm_area(st, cpu, addr, &d, true)) {
		vmlab_warn(m, "Trying to vunmap() nonexistent vm area (%#llx)",
			   (unsigned long long)addr);
		return;
	}
	/* The frames stay the caller's (VM_MAP_PUT_PAGES ones leak, as in
	 * the kernel): only the descriptor goes. */
	assert(!(d.vm->flags & VMLAB_VM_ALLOC));
	/* The seed's v2: a flagged area not freeing its pages only needs
	 * its aliases gone - vm_unmap_aliases(), which purges this one. */
	if ((d.vm->flags & VMLAB_VM_FLUSH_RESET_PERMS) &&
	    m->cfg.reset_perms != VMLAB_RESET_PERMS_MAINLINE)
		_vm_unmap_aliases(st, cpu, UINT64_MAX, 0, false);
	put_detached(m, &d);
	vmalloc_check(st);
}
