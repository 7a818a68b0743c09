/* SPDX-License-Identifier: MIT */
/*
 * Internals of the vmalloc service, shared by vmalloc.c (areas),
 * vmalloc_free.c (vfree and friends), vmalloc_lazy.c (lazy purge and
 * vm_unmap_aliases), vmap_block.c (vm_map_ram) and vmalloc_info.c.
 *
 * The kernel keeps these as globals; here they hang off the machine in
 * the VMLAB_SVC_VMALLOC slot, so two machines never share any of it.
 */
#ifndef VMLAB_SERVICES_VMALLOC_INTERNAL_H
#define VMLAB_SERVICES_VMALLOC_INTERNAL_H

#include <stddef.h>
#include <stdlib.h>

#include "machine/internal.h"
#include "services/vmap_tree.h"
#include "vmlab/vmalloc.h"

/* The vmalloc()/vfree() chain of mm/vmalloc.c is many small functions;
 * they are inlined into one body per public entry point, so that the
 * common request's constants fold through them and no layer repeats its
 * caller's checks or spills its arguments. */
#define vm_always_inline inline __attribute__((always_inline))

/* va->flags bits of a vmap_area without a vm_struct (mm/vmalloc.c). */
#define VMAP_RAM 0x1   /* a vm_map_ram() area */
#define VMAP_BLOCK 0x2 /* ... that is a per-CPU vmap block */

/* Spare descriptors kept for reuse: enough for a whole purge's worth of
 * one-page areas at 256 CPUs, so steady vmalloc/vfree never mallocs. */
#define VMALLOC_CACHE_MAX 65536

/*
 * The machine's kernel layout as vmalloc sees it (vmlab_layout(): x86 has
 * the modules above the vmalloc window, arm64 below it).  The tree spans
 * both windows and what lies between them; vend is inclusive, as x86's
 * VMALLOC_END; [gap_start, gap_end) is reserved for good (may be empty).
 */
struct vmalloc_ranges {
	u64 vstart, vend;	  /* VMALLOC_START, VMALLOC_END */
	u64 mstart, mend;	  /* MODULES_VADDR, MODULES_END */
	u64 tree_start, tree_end; /* the vmap tree's span */
	u64 gap_start, gap_end;	  /* between the two windows */
};

struct vmap_block;

/*
 * One vmap_area and, when it is a vm area, its vm_struct.  The kernel
 * allocates the two separately; one allocation here halves the host
 * work on the vmalloc/vfree path without changing what is modelled.
 */
struct vmalloc_area {
	struct vmlab_vmap_area va;	/* va.vm points back here */
	struct vmlab_vm_struct vm;	/* valid when has_vm */
	u64 *pages;			/* vm.pages, owned (or &inline_pfn) */
	u64 inline_pfn;			/* one-page areas need no array */
	struct vmalloc_area *lazy_next; /* lazy list, or the spare cache */
	struct vmap_block *vb;		/* VMAP_BLOCK areas */
	u32 va_flags;			/* VMAP_RAM | VMAP_BLOCK */
	bool has_vm;
	bool lazy_declared; /* told the checker it is a lazy window */
};

/* A per-CPU vmap block: VMAP_BBMAP_BITS pages carved up by vb_alloc(). */
struct vmap_block {
	struct vmalloc_area *area;
	u64 free, dirty; /* pages never handed out / unmapped, not reusable */
	u64 dirty_min, dirty_max; /* page range not yet flushed */
	u64 used_map[VMLAB_VMAP_BBMAP_BITS / 64];
	int cpu; /* the vmap_block_queue whose free list holds it */
	bool on_free_list;
	struct vmap_block *free_prev, *free_next; /* that queue's list */
	struct vmap_block *all_prev, *all_next;	  /* every block */
};

struct vmap_block_queue {
	struct vmap_block *head, *tail;
};

/* vfree_deferred: areas freed from atomic context, newest last. */
struct vfree_deferred {
	struct vmlab_work wq;
	struct vmalloc_state *st;
	int cpu;
	u64 *addrs;
	size_t nr, cap;
};

struct vmalloc_state {
	struct vmlab_machine *m;
	struct vmalloc_ranges r;
	struct vmlab_vmap_tree *tree;
	/* lazily freed areas: unmapped, flush pending, not reusable */
	struct vmalloc_area *lazy_head, *lazy_tail;
	u64 lazy_nr;	/* vmap_lazy_nr, pages */
	u64 nr_lazy;	/* areas */
	u64 lazy_start; /* lowest va_start on the list (ULONG_MAX: none) */
	u64 lazy_end;	/* highest va_end on the list */
	struct vmlab_work drain_work;
	/* The gather lazy unmaps use: its range is never flushed (the purge
	 * flushes), so one is kept rather than cleared per vfree. */
	struct vmlab_mmu_gather lazy_tlb;
	/* Where the last 4 KiB vmalloc mapping went (vmlab_map_pages()): the
	 * next map and the unmap of an area in that region use its table
	 * while it is valid, any other takes the general path. */
	struct vmlab_pte_run map_run;
	/* atomic context */
	bool *in_interrupt;
	struct vfree_deferred *deferred;
	/* vm_map_ram */
	struct vmap_block_queue *vbq;
	struct vmap_block *blocks; /* every block, newest first */
	u64 nr_blocks;
	/* accounting */
	u64 nr_vmalloc_pages;
	u64 nr_busy_areas; /* our count of the busy tree, cross-checked */
	u64 busy_bytes;
	u64 lost_bytes; /* never back in the free tree: host out of memory */
	u64 nr_purges, nr_purged_areas, nr_drain_runs;
	/* lazy_max_pages() set by hand (vmlab_set_lazy_max_pages); 0: the
	 * kernel's formula */
	u64 lazy_max_override;
	u64 lazy_max; /* lazy_max_pages(): the override, or the formula's */
	/* spare descriptors (kmem_cache-like) */
	struct vmalloc_area *cache;
	u32 nr_cache;
};

static inline struct vmalloc_state *vm_state(struct vmlab_machine *m)
{
	return m ? svc_get(m, VMLAB_SVC_VMALLOC) : NULL;
}

static inline struct vmalloc_area *va_to_area(struct vmlab_vmap_area *va)
{
	return (struct vmalloc_area *)((char *)va -
				       offsetof(struct vmalloc_area, va));
}

static inline u64 area_size(const struct vmalloc_area *a)
{
	return a->va.va_end - a->va.va_start;
}

/* get_vm_area_size(): the mapped part, without the guard page. */
static inline u64 get_vm_area_size(const struct vmlab_vm_struct *vm)
{
	return (vm->flags & VMLAB_VM_NO_GUARD) ? vm->size
					       : vm->size - VMLAB_PAGE_SIZE;
}

/* vmlab_kasan_enabled() without the call, for the per-area paths. */
static inline bool vm_kasan_on(const struct vmlab_machine *m)
{
	return m->svc[VMLAB_SVC_KASAN] != NULL;
}

static inline bool st_in_interrupt(const struct vmalloc_state *st, int cpu)
{
	return st->in_interrupt[cpu];
}

/* Emit a tracepoint with the kernel's name (a string literal, interned
 * once per site) and fields a..f in order. */
static inline void vm_trace_tp(struct vmlab_machine *m, int cpu,
			       const struct vmlab_tracepoint *tp, u64 a, u64 b,
			       u64 c, u64 d, u64 e, u64 f)
{
	/* The folded hash is the run-time one (debug builds recheck). */
	assert(!VMLAB_DEBUG_CHECKS || tp->hash == vmlab_name_hash(tp->name));
	assert(tp->name);
	assert(!VMLAB_DEBUG_CHECKS || vmlab_cpu_valid(m, cpu));
	if (likely(m->ev_fn == NULL)) { /* emit_event()'s hash alone */
		emit_hash(m, VMLAB_EV_USER, cpu, a, b, c, d, e, f, true,
			  tp->hash);
		return;
	}
	struct vmlab_event ev = {.type = VMLAB_EV_USER,
				 .cpu = cpu,
				 .a = a,
				 .b = b,
				 .c = c,
				 .d = d,
				 .e = e,
				 .f = f,
				 .name = tp->name,
				 .name_hash = tp->hash};
	emit_event(m, &ev);
}
#define vm_trace(m, cpu, name, a, b, c, d, e, f)                             \
	do {                                                                 \
		static const struct vmlab_tracepoint tp__ =                  \
			VMLAB_TRACEPOINT(name);                              \
		vm_trace_tp(m, cpu, &tp__, a, b, c, d, e, f);                \
	} while (0)

/* The busy tree as vmalloc uses it (vmap_busy.c has the tree). */
/* __find_vmap_area(): the busy area containing addr. */
static inline struct vmalloc_area *find_busy_area(struct vmalloc_state *st,
						  u64 addr)
{
	struct vmlab_vmap_area *va = vmlab_vmap_busy_find(st->tree, addr);

	if (!va)
		return NULL;
	assert(va->vm == va_to_area(va) && va->state == VMLAB_VA_BUSY);
	assert(!VMLAB_DEBUG_CHECKS || (addr >= va->va_start && addr < va->va_end));
	return va_to_area(va);
}

static inline void unlink_busy_area(struct vmalloc_state *st,
				    struct vmalloc_area *a)
{
	assert(st->nr_busy_areas > 0 && st->busy_bytes >= area_size(a));
	assert(a->va.state == VMLAB_VA_BUSY);
	vmlab_vmap_busy_remove(st->tree, &a->va);
	st->nr_busy_areas--;
	st->busy_bytes -= area_size(a);
}

/*
 * vunmap_range_noflush(): clear the PTEs, keep the page tables (vmalloc
 * never frees them), flush nothing.  The gather only collects a range
 * that nobody flushes: the flush is the purge's.
 */
static inline void vunmap_range_noflush(struct vmalloc_state *st, int cpu,
					u64 start, u64 end)
{
	struct vmlab_mmu_gather *tlb = &st->lazy_tlb;

	assert(start < end && tlb->mm == &st->m->init_mm);
	tlb->cpu = cpu;
	tlb->start = ~0ULL; /* an empty range: nothing to flush */
	tlb->end = 0;
	s64 n = vmlab_unmap_range_noflush(st->m, tlb, start, end - start,
					  &st->map_run);
	/* Page tables stay, so nothing was queued for freeing. */
	assert(!VMLAB_DEBUG_CHECKS || (n >= 0 && tlb->nr_pages == 0));
	(void)n;
}

/* vmalloc.c */
struct vmalloc_area *area_new(struct vmalloc_state *st);
/* Free an area's page array (not the inline one) and uncharge it. */
void pages_array_free(struct vmlab_machine *m, u64 *pages);
/* kmem_cache_free(): back to the spare descriptors (inline: a purge puts
 * thousands). */
static inline void area_put(struct vmalloc_state *st, struct vmalloc_area *a)
{
	assert(a && a->va.state == VMLAB_VA_DETACHED);
	if (a->pages && a->pages != &a->inline_pfn)
		pages_array_free(st->m, a->pages);
	a->pages = NULL;
	if (st->nr_cache >= VMALLOC_CACHE_MAX) {
		free(a);
		return;
	}
	a->lazy_next = st->cache;
	st->cache = a;
	st->nr_cache++;
}
int alloc_vmap_area(struct vmalloc_state *st, int cpu, struct vmalloc_area *a,
		    u64 size, u64 align, u64 vstart, u64 vend, u32 va_flags,
		    bool topdown);
int vmap_pages_range(struct vmalloc_state *st, int cpu, u64 addr, u64 size,
		     vmlab_pgprot_t prot, const u64 *pfns, u32 page_shift);
/* The warning of a call naming no CPU of the machine (false). */
bool cpu_bad(struct vmlab_machine *m, int cpu, const char *fn);
static inline bool cpu_ok(struct vmlab_machine *m, int cpu, const char *fn)
{
	return likely(vmlab_cpu_valid(m, cpu)) || cpu_bad(m, cpu, fn);
}

/* vmalloc_free.c */
void vfree_process(struct vmalloc_state *st, int cpu, u64 addr);
int vfree_deferred_init(struct vmalloc_state *st);
void vfree_deferred_destroy(struct vmalloc_state *st);

/* vmalloc_lazy.c */
bool __purge_vmap_area_lazy(struct vmalloc_state *st, int cpu, u64 start,
			    u64 end);
void reclaim_and_purge_vmap_areas(struct vmalloc_state *st, int cpu);
/* The kasan-release-unlocked mutant's releases, after the purge. */
void kasan_release_late(struct vmalloc_state *st, int cpu, bool may_unlock);
void _vm_unmap_aliases(struct vmalloc_state *st, int cpu, u64 start, u64 end,
		       bool flush);
void drain_vmap_area_work(struct vmlab_machine *m, int cpu, void *arg);

/* vmap_block.c */
void purge_fragmented_blocks_allcpus(struct vmalloc_state *st, int cpu);
/* Collect dirty ranges of every block into [*start, *end); purge
 * fragmented ones.  True if some dirty range needs a flush. */
bool vmap_blocks_collect_dirty(struct vmalloc_state *st, int cpu, u64 *start,
			       u64 *end);
void vmap_blocks_destroy(struct vmalloc_state *st);
void vmap_blocks_check(const struct vmalloc_state *st);

/* vmalloc_info.c: cheap cross-checks after every operation (debug). */
#ifdef VMLAB_DEBUG
void vmalloc_check(struct vmalloc_state *st);
/* The whole-structure walk, at purge time and on demand (debug). */
void vmalloc_check_full(struct vmalloc_state *st);
#else
static inline void vmalloc_check(struct vmalloc_state *st)
{
	(void)st;
}

static inline void vmalloc_check_full(struct vmalloc_state *st)
{
	(void)st;
}
#endif

#endif
