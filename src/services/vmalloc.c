/* SPDX-License-Identifier: MIT */
/*
 * vmalloc areas: allocation of kernel virtual space and of the frames
 * behind it, after mm/vmalloc.c of Linux 6.x (alloc_vmap_area(),
 * __get_vm_area_node(), __vmalloc_area_node(), __vmalloc_node_range(),
 * vmap()).  Freeing is in vmalloc_free.c, the lazy purge in
 * vmalloc_lazy.c, vm_map_ram() in vmap_block.c.
 *
 * What the model leaves out: NUMA nodes and the per-node vmap pools of
 * 6.9+ (it behaves as nr_vmap_nodes == 1), KASAN/kmemleak hooks (KASAN
 * comes with its own issue), memcg accounting, ioremap, the page array
 * being itself vmalloc()ed when larger than a page, __GFP_NOFAIL retries.
 */
#include <stdlib.h>

#include "vmlab/checker.h"
#include "services/kasan_internal.h"
#include "services/vmalloc_internal.h"
#include "services/vmalloc_lazy.h"

static inline bool is_pow2(u64 x)
{
	return x && !(x & (x - 1));
}

static inline u64 align_up(u64 x, u64 a)
{
	return (x + a - 1) & ~(a - 1);
}

bool cpu_bad(struct vmlab_machine *m, int cpu, const char *fn)
{
	assert(m && fn && !vmlab_cpu_valid(m, cpu));
	vmlab_warn(m, "%s: no CPU %d", fn, cpu);
	return false;
}

/* ------------------------------------------------------- descriptors */

/*
 * kmem_cache_alloc(vmap_area_cachep): recycled descriptors first.  For
 * a vm area (vm_init: get_vm_area_node() sets the vm_struct, the tree
 * the node's links, alloc_vmap_area() va.vm and va_flags) only the
 * fields nobody sets before reading them are cleared; any other caller
 * gets the whole descriptor zeroed.
 */
static vm_always_inline struct vmalloc_area *area_get(struct vmalloc_state *st,
						      bool vm_init)
{
	struct vmalloc_area *a = st->cache;

	if (!a) {
		assert(st->nr_cache == 0);
		return host_calloc(st->m, 1, sizeof(*a));
	}
	assert(st->nr_cache > 0 && a->va.state == VMLAB_VA_DETACHED);
	st->cache = a->lazy_next;
	st->nr_cache--;
	if (!vm_init) {
		memset(a, 0, sizeof(*a));
		return a;
	}
	a->va.flags = 0;
	a->pages = NULL;
	a->vb = NULL;
	a->lazy_declared = false;
	return a;
}

struct vmalloc_area *area_new(struct vmalloc_state *st)
{
	return area_get(st, false);
}

/* -------------------------------------------------------- vmap areas */

/*
 * The area is in the busy tree and Linux has dropped free_vmap_area_lock
 * and vmap_area_lock: kasan_populate_vmalloc() runs with neither, taking
 * only init_mm.page_table_lock per shadow PTE.  Here the operation's lock
 * goes too (when its caller allows it), so a purge on another CPU can
 * release shadow while this one populates -- the race of the seed, safe
 * because the release only frees shadow its free region covers whole.
 */
static int kasan_populate_unlocked(struct vmalloc_state *st, int cpu,
				   struct vmalloc_area *a, u64 size)
{
	struct vmlab_machine *m = st->m;
	bool unlocked = vmlab_op_unlock(m, cpu, "spin_unlock vmap_area_lock");
	int err = kasan_populate_vmalloc(m, cpu, a->va.va_start, size);

	if (unlocked)
		vmlab_op_relock(m, cpu, "spin_lock vmap_area_lock");
	assert(a->va.vm == a && a->va.va_end - a->va.va_start == size);
	return err;
}

/*
 * alloc_vmap_area(): reserve [addr, addr + size) and put it in the busy
 * tree.  As in the kernel, a failed search purges the lazy areas once
 * (their space is only unusable, not in use) and tries again.
 */
static vm_always_inline int
alloc_vmap_area_inl(struct vmalloc_state *st, int cpu, struct vmalloc_area *a,
		    u64 size, u64 align, u64 vstart, u64 vend, u32 va_flags,
		    bool topdown)
{
	struct vmlab_machine *m = st->m;
	bool purged = false;
	int ret;

	if (!size || (size & ~VMLAB_PAGE_MASK) || !is_pow2(align))
		return -VMLAB_EINVAL;
	for (;;) {
		ret = vmlab_vmap_alloc_area(st->tree, &a->va, size, align,
					    vstart, vend, topdown);
		vm_trace(m, cpu, "alloc_vmap_area", ret ? vend : a->va.va_start,
			 size, align, vstart, vend, ret != 0);
		if (ret != -VMLAB_ENOMEM)
			break;
		if (purged) {
			vmlab_warn(m,
				   "vmalloc_node_range for size %llu failed: "
				   "Address range restricted to %#llx - %#llx",
				   (unsigned long long)size,
				   (unsigned long long)vstart,
				   (unsigned long long)vend);
			return -VMLAB_EBUSY;
		}
		reclaim_and_purge_vmap_areas(st, cpu);
		kasan_release_late(st, cpu, false);
		purged = true;
	}
	if (ret)
		return ret;
	a->va.vm = a;
	a->va_flags = va_flags;
	st->nr_busy_areas++;
	st->busy_bytes += size;
	/* The mutant populates the shadow only for vm_struct areas, as
	 * __get_vm_area_node() and __vmalloc_node_range() did before
	 * d98c9e83b5e7: vm_map_ram() space gets none. */
	bool no_shadow = (va_flags & VMAP_RAM) &&
			 vmlab_mutant(m, VMLAB_MUT_MAP_RAM_NO_SHADOW);
	if (unlikely(vm_kasan_on(m)) && !no_shadow &&
	    kasan_populate_unlocked(st, cpu, a, size)) {
		/* free_vmap_area(): the space goes straight back. */
		st->nr_busy_areas--;
		st->busy_bytes -= size;
		a->va.vm = NULL;
		if (vmlab_vmap_free_area(st->tree, &a->va))
			st->lost_bytes += size; /* host out of memory too */
		return -VMLAB_ENOMEM;
	}
	/* What the tree just handed out (debug builds recheck). */
	assert(!VMLAB_DEBUG_CHECKS ||
	       (!(a->va.va_start & (align - 1)) && a->va.va_start >= vstart &&
		a->va.va_end - a->va.va_start == size));
	return 0;
}

int alloc_vmap_area(struct vmalloc_state *st, int cpu, struct vmalloc_area *a,
		    u64 size, u64 align, u64 vstart, u64 vend, u32 va_flags,
		    bool topdown)
{
	return alloc_vmap_area_inl(st, cpu, a, size, align, vstart, vend,
				   va_flags, topdown);
}

/* ----------------------------------------------------------- mapping */

static bool pte_table_empty(struct vmlab_machine *m, u64 table)
{
	assert(table < vmlab_nr_frames(m));
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++)
		if (vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8))
			return false;
	return true;
}

/*
 * vmap_try_huge_pmd()'s pmd_free_pte_page() (x86): a PTE table left by
 * earlier 4 KiB areas is detached, the paging-structure caches flushed
 * with one invlpg-sized kernel range flush, and the table freed, so a
 * 2 MiB leaf can take its slot.  false: keep 4 KiB mappings there.
 */
static bool pmd_make_room(struct vmalloc_state *st, int cpu, u64 va)
{
	struct vmlab_machine *m = st->m;
	struct vmlab_mm *mm = vmlab_init_mm(m);
	struct vmlab_pte_info in;
	vmlab_ptep_t ptep;

	assert(!(va & (VMLAB_PMD_SIZE - 1)));
	if (vmlab_lookup_entry(m, mm, va, VMLAB_LVL_PMD, &ptep))
		return true; /* no PMD table yet: map_range builds one */
	vmlab_pte_decode(m, vmlab_get_entry(m, ptep), VMLAB_LVL_PMD, &in);
	if (in.kind == VMLAB_PTE_NONE)
		return true;
	if (in.kind != VMLAB_PTE_TABLE || !pte_table_empty(m, in.pfn))
		return false;
	vmlab_set_entry(m, mm, va, VMLAB_LVL_PMD, ptep, 0);
	if (!vmlab_mutant(m, VMLAB_MUT_PMD_FREE_PTE_NO_FLUSH))
		vmlab_flush_tlb_kernel_range(m, cpu, va, va + VMLAB_PAGE_SIZE);
	vmlab_pgtable_free(m, in.pfn);
	assert(!vmlab_get_entry(m, ptep));
	return true;
}

/* 4 KiB leaves (vmap_pages_pte_range()), in runs of contiguous frames. */
static vm_always_inline int map_small_pages(struct vmalloc_state *st,
					    u64 addr, u64 nr,
					    vmlab_pgprot_t prot,
					    const u64 *pfns)
{
	assert(nr > 0 && !(addr & ~VMLAB_PAGE_MASK));
	/* The last map's table first: consecutive areas share one. */
	return vmlab_map_pages(st->m, &st->m->init_mm, addr, pfns, nr, prot,
			       &st->map_run);
}

static int map_huge_pages(struct vmalloc_state *st, int cpu, u64 addr, u64 nr,
			  vmlab_pgprot_t prot, const u64 *pfns)
{
	const u64 step = VMLAB_PMD_SIZE >> VMLAB_PAGE_SHIFT;

	assert(!(addr & (VMLAB_PMD_SIZE - 1)) && !(nr % step));
	for (u64 i = 0; i < nr; i += step) {
		u64 va = addr + i * VMLAB_PAGE_SIZE;
		int err;

		if (pmd_make_room(st, cpu, va))
			err = vmlab_map_range(st->m, vmlab_init_mm(st->m), va,
					      pfns[i] << VMLAB_PAGE_SHIFT,
					      VMLAB_PMD_SIZE, prot,
					      VMLAB_MAP_HUGE_PMD);
		else
			err = map_small_pages(st, va, step, prot, pfns + i);
		if (err)
			return err;
	}
	return 0;
}

/*
 * vmap_pages_range(): map the frames at addr.  page_shift PMD_SHIFT maps
 * 2 MiB leaves (the frames come in aligned order-9 blocks); a frame that
 * does not exist is refused as WARN_ON(!pfn_valid()) does.
 */
static vm_always_inline int
vmap_pages_range_inl(struct vmalloc_state *st, int cpu, u64 addr, u64 size,
		     vmlab_pgprot_t prot, const u64 *pfns, u32 page_shift)
{
	u64 nr = size >> VMLAB_PAGE_SHIFT;

	assert(size && !(size & ~VMLAB_PAGE_MASK));
	for (u64 i = 0; i < nr; i++) {
		if (pfns[i] >= st->m->phys.nr_frames) {
			vmlab_warn(st->m, "vmap: pfn %#llx is not valid",
				   (unsigned long long)pfns[i]);
			return -VMLAB_EINVAL;
		}
	}
	if (page_shift == VMLAB_PMD_SHIFT)
		return map_huge_pages(st, cpu, addr, nr, prot, pfns);
	return map_small_pages(st, addr, nr, prot, pfns);
}

int vmap_pages_range(struct vmalloc_state *st, int cpu, u64 addr, u64 size,
		     vmlab_pgprot_t prot, const u64 *pfns, u32 page_shift)
{
	return vmap_pages_range_inl(st, cpu, addr, size, prot, pfns,
				    page_shift);
}

/* ------------------------------------------------------- vm areas */

/* get_vm_area_node() sets each field: a new one must be added there. */
static_assert(sizeof(struct vmlab_vm_struct) == 8 * sizeof(u64),
	      "struct vmlab_vm_struct changed");

/* The kernel BUG_ON()s there: the model warns and fails the call. */
static vm_always_inline bool not_in_interrupt(struct vmalloc_state *st, int cpu)
{
	/* Every entry point has checked the CPU (debug builds recheck). */
	assert(!VMLAB_DEBUG_CHECKS || vmlab_cpu_valid(st->m, cpu));
	if (!st_in_interrupt(st, cpu))
		return true;
	vmlab_warn(st->m,
		   "kernel BUG at mm/vmalloc.c: __get_vm_area_node() "
		   "in interrupt context on CPU %d",
		   cpu);
	return false;
}

/*
 * __get_vm_area_node(): a vmap area of size rounded to the mapping
 * granule, plus the guard page, with its vm_struct.
 */
static vm_always_inline struct vmalloc_area *
get_vm_area_node(struct vmalloc_state *st, int cpu, u64 size, u64 align,
		 u32 shift, u64 flags, u64 start, u64 end, const char *caller)
{
	u64 requested = size;
	struct vmalloc_area *a;

	if (!not_in_interrupt(st, cpu))
		return NULL;
	size = align_up(size, 1ULL << shift);
	if (!size || size < requested)
		return NULL;
	if (!(flags & VMLAB_VM_NO_GUARD)) {
		if (size + VMLAB_PAGE_SIZE < size)
			return NULL;
		size += VMLAB_PAGE_SIZE;
	}
	a = area_get(st, true);
	if (!a)
		return NULL;
	if (alloc_vmap_area_inl(st, cpu, a, size, align, start, end, 0,
				flags & VMLAB_VM_TOPDOWN_VMAP)) {
		area_put(st, a);
		return NULL;
	}
	a->has_vm = true;
	/* Field by field: a compound literal is a zeroing loop first. */
	a->vm.addr = a->va.va_start;
	a->vm.size = size;
	a->vm.requested_size = requested;
	a->vm.flags = flags;
	a->vm.pages = NULL;
	a->vm.nr_pages = 0;
	a->vm.page_order = 0;
	a->vm.phys_addr = 0;
	a->vm.caller = caller;
	assert(area_size(a) == size && size >= requested);
	assert(get_vm_area_size(&a->vm) >= requested);
	return a;
}

/* vm_area_alloc_pages(): blocks of 2^order frames until done or OOM. */
static vm_always_inline u32 vm_area_alloc_pages(struct vmalloc_state *st, int cpu, u32 order,
			       u32 nr_pages, u64 *pages)
{
	u32 nr = 0;

	assert(!(nr_pages & ((1u << order) - 1)));
	while (nr < nr_pages) {
		u64 pfn;

		if (vmlab_alloc_pages(st->m, cpu, (int)order, &pfn))
			break;
		for (u32 i = 0; i < (1u << order); i++)
			pages[nr + i] = pfn + i;
		nr += 1u << order;
	}
	assert(nr <= nr_pages && !(nr & ((1u << order) - 1)));
	return nr;
}

/*
 * The area's page array (vm->pages), charged to the machine's host
 * budget: NULL past it, as kvmalloc would fail.  Element -1 holds the
 * length, so pages_array_free() can uncharge it.
 */
static vm_always_inline u64 *pages_array(struct vmlab_machine *m, struct vmalloc_area *a,
			u32 nr)
{
	assert(a && !a->pages);
	if (nr <= 1)
		return &a->inline_pfn;
	u64 bytes = ((u64)nr + 1) * sizeof(u64);
	if (vmlab_host_charge(m, bytes))
		return NULL;
	u64 *p = host_calloc(m, (size_t)nr + 1, sizeof(u64));
	if (!p) {
		vmlab_host_uncharge(m, bytes);
		return NULL;
	}
	p[0] = nr;
	return p + 1;
}

void pages_array_free(struct vmlab_machine *m, u64 *pages)
{
	assert(pages && pages[-1] >= 2);
	vmlab_host_uncharge(m, (pages[-1] + 1) * sizeof(u64));
	free(pages - 1);
}

static void zero_pages(struct vmlab_machine *m, const u64 *pages, u32 nr)
{
	assert(pages && nr > 0);
	for (u32 i = 0; i < nr; i++)
		vmlab_phys_fill(m, pages[i] << VMLAB_PAGE_SHIFT, 0,
				VMLAB_PAGE_SIZE);
}

/*
 * __vmalloc_area_node(): frames, then the mapping.  On failure the area
 * is vfree()d (what was mapped goes lazy, what was allocated is freed).
 */
static vm_always_inline bool vmalloc_area_node(struct vmalloc_state *st, int cpu,
			      struct vmalloc_area *a, vmlab_pgprot_t prot,
			      u32 page_shift, bool zero)
{
	struct vmlab_machine *m = st->m;
	u64 size = get_vm_area_size(&a->vm);
	u32 nr_small = (u32)(size >> VMLAB_PAGE_SHIFT);
	u32 order = page_shift - VMLAB_PAGE_SHIFT;

	assert(a->has_vm && (a->vm.flags & VMLAB_VM_UNINITIALIZED));
	assert(page_shift == VMLAB_PAGE_SHIFT || page_shift == VMLAB_PMD_SHIFT);
	a->pages = pages_array(m, a, nr_small);
	if (!a->pages) {
		vmlab_warn(m,
			   "vmalloc error: size %llu, failed to allocated "
			   "page array size %llu",
			   (unsigned long long)size,
			   (unsigned long long)nr_small * 8);
		goto fail;
	}
	a->vm.pages = a->pages;
	a->vm.page_order = order;
	a->vm.nr_pages =
	    vm_area_alloc_pages(st, cpu, order, nr_small, a->pages);
	st->nr_vmalloc_pages += a->vm.nr_pages;
	if (a->vm.nr_pages != nr_small) {
		if (order == 0)
			vmlab_warn(m,
				   "vmalloc error: size %llu, failed to "
				   "allocate pages",
				   (unsigned long long)size);
		goto fail;
	}
	if (zero)
		zero_pages(m, a->pages, nr_small);
	if (vmap_pages_range_inl(st, cpu, a->vm.addr, size, prot, a->pages,
				 page_shift)) {
		vmlab_warn(m, "vmalloc error: size %llu, failed to map pages",
			   (unsigned long long)size);
		goto fail;
	}
	assert(!VMLAB_DEBUG_CHECKS ||
	       (a->vm.nr_pages == nr_small && a->vm.pages == a->pages));
	return true;
fail:
	vfree_process(st, cpu, a->vm.addr);
	return false;
}

/* The huge-page decision of __vmalloc_node_range() (x86: PSE, 2 MiB). */
static vm_always_inline u32 vmalloc_shift(u64 size, u64 vm_flags)
{
	assert(size > 0);
	if ((vm_flags & VMLAB_VM_ALLOW_HUGE_VMAP) && size >= VMLAB_PMD_SIZE)
		return VMLAB_PMD_SHIFT;
	return VMLAB_PAGE_SHIFT;
}

static vm_always_inline u64
vmalloc_node_range_inl(struct vmalloc_state *st, int cpu, u64 size, u64 align,
		       u64 start, u64 end, vmlab_pgprot_t prot, u64 vm_flags,
		       const char *caller, bool zero)
{
	struct vmlab_machine *m = st->m;
	u32 shift;

	assert(!VMLAB_DEBUG_CHECKS || vmlab_cpu_valid(m, cpu));
	if (!size) {
		vmlab_warn(m, "WARNING: __vmalloc_node_range(): size 0");
		return 0;
	}
	if ((size >> VMLAB_PAGE_SHIFT) > m->phys.nr_frames) {
		vmlab_warn(m, "vmalloc error: size %llu, exceeds total pages",
			   (unsigned long long)size);
		return 0;
	}
	if (!not_in_interrupt(st, cpu))
		return 0;
	shift = vmalloc_shift(size, vm_flags);
	for (bool retry = false;; retry = true) {
		/* A VM_ALLOW_HUGE_VMAP request is aligned to its granule,
		 * except on the 4 KiB retry, as the kernel's again: path. */
		u64 a_align = !retry && (vm_flags & VMLAB_VM_ALLOW_HUGE_VMAP) &&
				      align < (1ULL << shift)
				  ? 1ULL << shift
				  : align;
		struct vmalloc_area *a = get_vm_area_node(
		    st, cpu, size, a_align, shift,
		    VMLAB_VM_ALLOC | VMLAB_VM_UNINITIALIZED | vm_flags, start,
		    end, caller);

		if (!a)
			vmlab_warn(m,
				   "vmalloc error: size %llu, vm_struct "
				   "allocation failed",
				   (unsigned long long)size);
		else if (vmalloc_area_node(st, cpu, a, prot, shift, zero)) {
			a->vm.flags &= ~VMLAB_VM_UNINITIALIZED;
			if (unlikely(vm_kasan_on(m)))
				kasan_unpoison_vmalloc(m, cpu, a->vm.addr,
						       size, caller);
			assert(!VMLAB_DEBUG_CHECKS ||
			       (a->vm.addr >= start && a->vm.addr < end));
			vmalloc_check(st);
			return a->vm.addr;
		}
		/* Huge pages may just be unavailable: retry with 4 KiB. */
		if (shift == VMLAB_PAGE_SHIFT)
			break;
		shift = VMLAB_PAGE_SHIFT;
	}
	vmalloc_check(st);
	return 0;
}

/* __vmalloc_node_range(), any request. */
static u64 vmalloc_node_range(struct vmalloc_state *st, int cpu, u64 size,
			      u64 align, u64 start, u64 end,
			      vmlab_pgprot_t prot, u64 vm_flags,
			      const char *caller, bool zero)
{
	return vmalloc_node_range_inl(st, cpu, size, align, start, end, prot,
				      vm_flags, caller, zero);
}

/* ------------------------------------------------------ public API */

u64 vmlab_vmalloc_node_range(struct vmlab_machine *m, int cpu, u64 size,
			     u64 align, u64 start, u64 end, vmlab_pgprot_t prot,
			     u64 vm_flags, const char *caller)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st || !cpu_ok(m, cpu, "__vmalloc_node_range"))
		return 0;
	vmlab_checker_set_op(m, cpu, "vmalloc");
	return vmalloc_node_range(st, cpu, size, align, start, end, prot,
				  vm_flags, caller, false);
}

/* The vmalloc() family: the whole window, PAGE_KERNEL.  inl: this entry
 * point gets its own copy of the path, its constants folded in. */
static vm_always_inline u64 vmalloc_common(struct vmlab_machine *m, int cpu,
					   u64 size, u64 align, u64 vm_flags,
					   const char *caller, bool zero,
					   bool inl)
{
	struct vmalloc_state *st = vm_state(m);

	if (!st || !cpu_ok(m, cpu, caller))
		return 0;
	vmlab_checker_set_op(m, cpu, caller);
	if (inl)
		return vmalloc_node_range_inl(st, cpu, size, align,
					      st->r.vstart, st->r.vend,
					      VMLAB_PAGE_KERNEL, vm_flags,
					      caller, zero);
	return vmalloc_node_range(st, cpu, size, align, st->r.vstart,
				  st->r.vend, VMLAB_PAGE_KERNEL,
				  vm_flags, caller, zero);
}

u64 vmlab_vmalloc(struct vmlab_machine *m, int cpu, u64 size)
{
	return vmalloc_common(m, cpu, size, 1, 0, "vmalloc", false, true);
}

u64 vmlab_vzalloc(struct vmlab_machine *m, int cpu, u64 size)
{
	return vmalloc_common(m, cpu, size, 1, 0, "vzalloc", true, true);
}

u64 vmlab_vmalloc_align(struct vmlab_machine *m, int cpu, u64 size, u64 align,
			const char *caller)
{
	return vmalloc_common(m, cpu, size, align, 0,
			      caller ? caller : "__vmalloc_node", false, false);
}

u64 vmlab_vmalloc_huge(struct vmlab_machine *m, int cpu, u64 size)
{
	return vmalloc_common(m, cpu, size, 1, VMLAB_VM_ALLOW_HUGE_VMAP,
			      "vmalloc_huge", false, false);
}

/* vmap()'s refusals, all WARN_ON_ONCE() in the kernel. */
static bool vmap_args_ok(struct vmlab_machine *m, const u64 *pfns, u32 count,
			 u64 *flags)
{
	assert(m && flags);
	/* The seed's v2 still handled flagged vmap() areas in vunmap(). */
	if ((*flags & VMLAB_VM_FLUSH_RESET_PERMS) &&
	    m->cfg.reset_perms == VMLAB_RESET_PERMS_MAINLINE) {
		vmlab_warn(m, "WARNING: vmap(): VM_FLUSH_RESET_PERMS is not "
			      "supported for vmap()ed areas");
		return false;
	}
	if (*flags & VMLAB_VM_NO_GUARD) {
		vmlab_warn(m, "WARNING: vmap(): VM_NO_GUARD dropped: your top "
			      "guard is someone else's bottom guard");
		*flags &= ~VMLAB_VM_NO_GUARD;
	}
	if (!pfns && count) {
		vmlab_warn(m, "vmap: no page array");
		return false;
	}
	return count <= vmlab_nr_frames(m);
}

/* VM_MAP_PUT_PAGES: the area takes a copy of the array and the frames. */
static bool vmap_take_pages(struct vmlab_machine *m, struct vmalloc_area *a,
			    const u64 *pfns, u32 count)
{
	assert(a->has_vm && count > 0);
	a->pages = pages_array(m, a, count);
	if (!a->pages)
		return false;
	memcpy(a->pages, pfns, (size_t)count * sizeof(u64));
	a->vm.pages = a->pages;
	a->vm.nr_pages = count;
	return true;
}

u64 vmlab_vmap(struct vmlab_machine *m, int cpu, const u64 *pfns, u32 count,
	       u64 vm_flags, vmlab_pgprot_t prot)
{
	struct vmalloc_state *st = vm_state(m);
	struct vmalloc_area *a;

	if (!st || !cpu_ok(m, cpu, "vmap") ||
	    !vmap_args_ok(m, pfns, count, &vm_flags))
		return 0;
	vmlab_checker_set_op(m, cpu, "vmap");
	u64 size = (u64)count << VMLAB_PAGE_SHIFT;
	a = get_vm_area_node(st, cpu, size, 1, VMLAB_PAGE_SHIFT, vm_flags,
			     st->r.vstart, st->r.vend, "vmap");
	if (!a)
		return 0;
	u64 addr = a->vm.addr;
	if (vmap_pages_range(st, cpu, addr, size, prot | VMLAB_PAGE_NX, pfns,
			     VMLAB_PAGE_SHIFT) ||
	    ((vm_flags & VMLAB_VM_MAP_PUT_PAGES) &&
	     !vmap_take_pages(m, a, pfns, count))) {
		vmlab_vunmap(m, cpu, addr);
		return 0;
	}
	assert(vmlab_find_vm_area(m, addr) == &a->vm);
	kasan_unpoison_vmalloc(m, cpu, addr, size, "vmap");
	vmalloc_check(st);
	return addr;
}

const struct vmlab_vm_struct *vmlab_find_vm_area(struct vmlab_machine *m,
						 u64 addr)
{
	struct vmalloc_state *st = vm_state(m);
	struct vmalloc_area *a = st ? find_busy_area(st, addr) : NULL;

	return a && a->has_vm ? &a->vm : NULL;
}

void vmlab_set_vm_flush_reset_perms(struct vmlab_machine *m, u64 addr)
{
	struct vmalloc_state *st = vm_state(m);
	struct vmalloc_area *a = st ? find_busy_area(st, addr) : NULL;

	if (a && a->has_vm)
		a->vm.flags |= VMLAB_VM_FLUSH_RESET_PERMS;
}

void vmlab_set_in_interrupt(struct vmlab_machine *m, int cpu, bool on)
{
	struct vmalloc_state *st = vm_state(m);

	if (st && cpu_ok(m, cpu, "set_in_interrupt"))
		st->in_interrupt[cpu] = on;
}

u64 vmlab_vmalloc_used_pages(const struct vmlab_machine *m)
{
	const struct vmalloc_state *st = m ? m->svc[VMLAB_SVC_VMALLOC] : NULL;

	return st ? st->nr_vmalloc_pages : 0;
}

/* ------------------------------------------------------------- boot */

static void vmalloc_destroy(struct vmlab_machine *m)
{
	struct vmalloc_state *st = vm_state(m);
	struct vmalloc_area *a, *next;

	assert(st);
	vmlab_cancel_work(m, &st->drain_work);
	vfree_deferred_destroy(st);
	vmap_blocks_destroy(st);
	/* Busy areas: their frames go with the machine; host memory here. */
	struct vmlab_vmap_area *va = vmlab_vmap_busy_first(st->tree);
	while (va) {
		struct vmlab_vmap_area *n = vmlab_vmap_busy_next(st->tree, va);

		vmlab_vmap_busy_remove(st->tree, va);
		area_put(st, va_to_area(va));
		va = n;
	}
	for (a = st->lazy_head; a; a = next) {
		next = a->lazy_next;
		area_put(st, a);
	}
	for (a = st->cache; a; a = next) {
		next = a->lazy_next;
		free(a);
	}
	vmlab_vmap_tree_destroy(st->tree);
	free(st->in_interrupt);
	free(st->vbq);
	free(st);
	svc_set(m, VMLAB_SVC_VMALLOC, NULL, NULL);
}

/*
 * One tree spans both windows; what lies between them (vmemmap, the
 * kernel image, ...) is reserved once, so no request can land there.
 */
static void vmalloc_ranges_init(struct vmalloc_ranges *r,
				const struct vmlab_va_layout *l)
{
	r->vstart = l->vmalloc_start;
	r->vend = l->vmalloc_end;
	r->mstart = l->modules_vaddr;
	r->mend = l->modules_end;
	assert(r->vstart < r->vend && r->mstart < r->mend);
	/* The windows do not overlap: one lies wholly below the other. */
	assert(r->vend < r->mstart || r->mend <= r->vstart);
	bool modules_above = r->mstart > r->vend;
	r->tree_start = modules_above ? r->vstart : r->mstart;
	r->tree_end = modules_above ? r->mend : r->vend + 1;
	r->gap_start = modules_above ? r->vend + 1 : r->mend;
	r->gap_end = modules_above ? r->mstart : r->vstart;
	assert(r->tree_start <= r->gap_start && r->gap_start <= r->gap_end &&
	       r->gap_end <= r->tree_end);
}

/* The tree's nodes come from the machine's host allocations. */
static void *vm_tree_zalloc(void *m, size_t n, size_t size)
{
	return host_calloc(m, n, size);
}

static int vmalloc_tree_init(struct vmalloc_state *st)
{
	const struct vmalloc_ranges *r = &st->r;
	u64 addr;
	int err = vmlab_vmap_tree_init_alloc(&st->tree, r->tree_start,
					     r->tree_end, vm_tree_zalloc,
					     st->m);

	if (err || r->gap_start == r->gap_end)
		goto out;
	err = vmlab_vmap_alloc_range(st->tree, r->gap_end - r->gap_start,
				     VMLAB_PAGE_SIZE, r->gap_start, r->gap_end,
				     false, &addr);
	if (err)
		return err;
	assert(addr == r->gap_start);
out:
	/* __alloc_vmap_area() prunes by size + align - 1: do the same. */
	if (!err)
		vmlab_vmap_set_adjust_search_size(st->tree, true);
	return err;
}

static struct vmalloc_state *vmalloc_state_alloc(struct vmlab_machine *m)
{
	struct vmalloc_state *st = host_calloc(m, 1, sizeof(*st));
	int n = vmlab_nr_cpus(m);

	if (!st)
		return NULL;
	assert(n > 0);
	st->m = m;
	vmalloc_ranges_init(&st->r, vmlab_layout(m));
	st->lazy_start = UINT64_MAX;
	st->lazy_max = lazy_max_pages_formula(m);
	vmlab_tlb_gather_mmu(&st->lazy_tlb, vmlab_init_mm(m), 0);
	st->in_interrupt = host_calloc(m, (size_t)n, sizeof(bool));
	st->vbq = host_calloc(m, (size_t)n, sizeof(*st->vbq));
	st->drain_work = (struct vmlab_work){.fn = drain_vmap_area_work,
					     .arg = st,
					     .name = "drain_vmap_area_work"};
	if (!st->in_interrupt || !st->vbq || vfree_deferred_init(st) ||
	    vmalloc_tree_init(st)) {
		vfree_deferred_destroy(st);
		vmlab_vmap_tree_destroy(st->tree);
		free(st->in_interrupt);
		free(st->vbq);
		free(st);
		return NULL;
	}
	return st;
}

int vmlab_vmalloc_init(struct vmlab_machine *m)
{
	struct vmalloc_state *st;

	if (!m)
		return -VMLAB_EINVAL;
	if (vm_state(m))
		return -VMLAB_EEXIST;
	st = vmalloc_state_alloc(m);
	if (!st)
		return -VMLAB_ENOMEM;
	svc_set(m, VMLAB_SVC_VMALLOC, st, vmalloc_destroy);
	assert(vm_state(m) == st && vmlab_vmap_nr_busy(st->tree) == 0);
	vmalloc_check(st);
	return 0;
}
