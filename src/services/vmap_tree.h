/* SPDX-License-Identifier: MIT */
/*
 * The kernel virtual address allocator of mm/vmalloc.c (Linux 6.x).
 *
 * Address space inside [start, end) is either free, busy or reserved:
 *  - free space is kept by the tree as coalesced blocks in a red-black tree
 *    keyed by va_start and augmented with subtree_max_size, plus a list of
 *    the same blocks in address order (free_vmap_area_root/_list);
 *  - busy areas are caller-owned vmap_area nodes in a second red-black tree
 *    keyed by va_start (vmap_area_root), for lookup by address, threaded
 *    by a list in address order, and in a hash by va_start beside it, so
 *    that the common lookup (vfree() of the address vmalloc() returned)
 *    is O(1), and so is the common insert (right beside the last one);
 *  - reserved space was handed out by vmlab_vmap_alloc_range() but has no
 *    busy node (yet).
 *
 * All addresses and sizes are page multiples. Nothing here is thread-safe:
 * the kernel serialises these trees with spinlocks, the caller does here.
 */
#ifndef VMLAB_SERVICES_VMAP_TREE_H
#define VMLAB_SERVICES_VMAP_TREE_H

#include <stddef.h>

#include <vmlab/types.h>

struct vmlab_vmap_area {
	u64 va_start; /* [va_start, va_end) */
	u64 va_end;
	u64 subtree_max_size; /* free tree only: largest block below here */
	struct {
		struct vmlab_vmap_area *parent, *left, *right;
		bool red;
	} rb;
	struct {
		struct vmlab_vmap_area *prev, *next;
	} list;	   /* the free or the busy list, by address */
	struct vmlab_vmap_area *hnext; /* busy only: the by-start hash chain */
	u8 state;  /* enum vmlab_vmap_state, maintained by the tree */
	void *vm;  /* owner's vm_struct, opaque here */
	u64 flags; /* owner's use */
};

enum vmlab_vmap_state {
	VMLAB_VA_DETACHED = 0,
	VMLAB_VA_BUSY = 1,
	VMLAB_VA_FREE = 2,
};

/* How a free block was cut by an allocation (mm/vmalloc.c enum fit_type). */
enum vmlab_vmap_fit_type {
	VMLAB_NOTHING_FIT = 0,
	VMLAB_FL_FIT_TYPE = 1, /* the whole block */
	VMLAB_LE_FIT_TYPE = 2, /* its left edge */
	VMLAB_RE_FIT_TYPE = 3, /* its right edge */
	VMLAB_NE_FIT_TYPE = 4, /* the middle: the block is split in two */
	VMLAB_NR_FIT_TYPES = 5,
};

struct vmlab_vmap_tree;

/* A zeroed, detached node for a busy area; free it with free(). */
struct vmlab_vmap_area *vmlab_vmap_area_alloc(void);

/* The whole of [start, end) starts free. Page-aligned, start < end. */
int vmlab_vmap_tree_init(struct vmlab_vmap_tree **out, u64 start, u64 end);
/* The same, the tree's own nodes and hash allocated by zalloc (zeroed,
 * calloc's arguments; NULL fails the operation with -ENOMEM) instead of
 * calloc: a machine's owner routes them through its host-allocation
 * failure injection.  Freed with free(). */
int vmlab_vmap_tree_init_alloc(struct vmlab_vmap_tree **out, u64 start,
			       u64 end,
			       void *(*zalloc)(void *ctx, size_t n, size_t size),
			       void *ctx);
/* Frees the free-space nodes; busy nodes stay the caller's. */
void vmlab_vmap_tree_destroy(struct vmlab_vmap_tree *t);

/*
 * Reserve size bytes aligned to align inside [vstart, vend).
 * Bottom-up returns the lowest fitting address, top-down the highest.
 * size: non-zero page multiple. align: power of two; below PAGE_SIZE it
 * means PAGE_SIZE, as in the kernel (callers pass align = 1).
 * Returns 0 and *addr, -VMLAB_ENOMEM if nothing fits (state unchanged),
 * -VMLAB_EINVAL on bad arguments.
 */
int vmlab_vmap_alloc_range(struct vmlab_vmap_tree *t, u64 size, u64 align,
			   u64 vstart, u64 vend, bool topdown, u64 *addr);
/*
 * Give [addr, addr + size) back, coalescing with free neighbours.
 * -VMLAB_EINVAL if it is malformed, outside the tree or overlaps free
 * space (the kernel WARNs and drops it); -VMLAB_EBUSY if a busy area
 * still covers part of it; -VMLAB_ENOMEM if a node cannot be allocated.
 */
int vmlab_vmap_free_range(struct vmlab_vmap_tree *t, u64 addr, u64 size);

/*
 * When on, bottom-up searches with align > PAGE_SIZE prune by
 * size + align - 1 as __alloc_vmap_area() does: faster, but it may pick a
 * block above the lowest fit, or fail although an aligned fit exists.
 * Off (default): the lowest fit, always.
 */
void vmlab_vmap_set_adjust_search_size(struct vmlab_vmap_tree *t, bool on);

/*
 * Busy tree. Insert: [va_start, va_end) page-aligned, inside the tree, not
 * free; -VMLAB_EEXIST if it overlaps a busy area, -VMLAB_EINVAL otherwise.
 */
int vmlab_vmap_busy_insert(struct vmlab_vmap_tree *t,
			   struct vmlab_vmap_area *va);
/* The busy area with va_start <= addr < va_end, or NULL. */
struct vmlab_vmap_area *vmlab_vmap_busy_find(const struct vmlab_vmap_tree *t,
					     u64 addr);
/* The busy area starting exactly at addr, or NULL. */
struct vmlab_vmap_area *
vmlab_vmap_busy_find_start(const struct vmlab_vmap_tree *t, u64 addr);
/* The lowest busy area with va_end > addr, or NULL. */
struct vmlab_vmap_area *
vmlab_vmap_busy_find_exceed(const struct vmlab_vmap_tree *t, u64 addr);
void vmlab_vmap_busy_remove(struct vmlab_vmap_tree *t,
			    struct vmlab_vmap_area *va);
/* The free block holding addr, or NULL (KASAN's release needs the
 * merged free region around a purged range). */
const struct vmlab_vmap_area *
vmlab_vmap_free_find(const struct vmlab_vmap_tree *t, u64 addr);

/*
 * alloc_vmap_area()/free_vmap_area() in one step: reserve a range and
 * insert va for it; remove va and free its range.
 */
int vmlab_vmap_alloc_area(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
			  u64 size, u64 align, u64 vstart, u64 vend,
			  bool topdown);
int vmlab_vmap_free_area(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va);

/* In address order. The free blocks are the tree's: read only. */
struct vmlab_vmap_area *vmlab_vmap_busy_first(const struct vmlab_vmap_tree *t);
struct vmlab_vmap_area *vmlab_vmap_busy_next(const struct vmlab_vmap_tree *t,
					     const struct vmlab_vmap_area *va);
const struct vmlab_vmap_area *
vmlab_vmap_free_first(const struct vmlab_vmap_tree *t);
const struct vmlab_vmap_area *
vmlab_vmap_free_next(const struct vmlab_vmap_tree *t,
		     const struct vmlab_vmap_area *va);

u64 vmlab_vmap_nr_busy(const struct vmlab_vmap_tree *t);
u64 vmlab_vmap_nr_free_blocks(const struct vmlab_vmap_tree *t);
u64 vmlab_vmap_free_bytes(const struct vmlab_vmap_tree *t);
/* How many allocations cut a block this way since init. */
u64 vmlab_vmap_fit_count(const struct vmlab_vmap_tree *t,
			 enum vmlab_vmap_fit_type type);

/*
 * Every invariant: red-black shape, order, no overlap anywhere, free blocks
 * coalesced, subtree_max_size, free list == free tree, counters. Prints the
 * first broken one to stderr and returns false.
 */
bool vmlab_vmap_tree_check(const struct vmlab_vmap_tree *t);

#endif
