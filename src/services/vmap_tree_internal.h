/* SPDX-License-Identifier: MIT */
/*
 * Internals of the vmap allocator (vmap_tree.h), shared by its parts:
 * vmap_rbtree.c (the red-black tree both trees are, augmented with
 * subtree_max_size for the free one), vmap_free_tree.c (free space:
 * free_vmap_area_root/_list, the lowest-fit search, va_clip(), merging),
 * vmap_busy.c (busy areas: vmap_area_root/list and the by-start hash) and
 * vmap_tree_check.c (the invariant check).  Not for other users.
 */
#ifndef VMLAB_SERVICES_VMAP_TREE_INTERNAL_H
#define VMLAB_SERVICES_VMAP_TREE_INTERNAL_H

#include "vmap_tree.h"

#include <assert.h>
#include <stdlib.h>

/* A red-black tree of n < 2^64 nodes is at most 2 * log2(n + 1) high. */
#define VMAP_RB_MAX_HEIGHT 128

/* A loop's step bound: per step, so checked under the debug switch. */
#define VMAP_BOUND(ctr, limit)                                                 \
	do {                                                                   \
		if (VMAP_DEBUG) {                                              \
			(ctr)++;                                               \
			assert((ctr) <= (limit));                              \
		}                                                              \
		(void)(ctr);                                                   \
	} while (0)

#ifdef VMLAB_DEBUG
#define VMAP_DEBUG 1
#define vmap_debug_check(t) assert(vmlab_vmap_tree_check(t))
#else
#define VMAP_DEBUG 0
#define vmap_debug_check(t) ((void)(t))
#endif

enum { L = 0, R = 1 };

struct vmap_rb_root {
	struct vmlab_vmap_area *node;
	struct vmlab_vmap_area *head, *tail; /* the same nodes by address */
	bool augment; /* maintain subtree_max_size (the free tree) */
};

struct vmlab_vmap_tree {
	u64 start, end;
	void *(*zalloc)(void *ctx, size_t n, size_t size); /* NULL: calloc */
	void *zalloc_ctx;
	struct vmap_rb_root busy_root;
	struct vmap_rb_root free_root;
	struct vmlab_vmap_area *preload; /* the kernel's ne_fit_preload_node */
	/* The busy area inserted last, or its neighbour once it is gone:
	 * vmalloc hands out addresses in order, so the next insert usually
	 * hangs right beside it (busy_link_hint). */
	struct vmlab_vmap_area *busy_hint;
	u64 nr_busy, nr_free, free_bytes;
	/* Busy areas by va_start: 2^hbits chains (grown to keep them short;
	 * only exact-start lookups use it, so its order is never seen). */
	struct vmlab_vmap_area **htab;
	unsigned int hbits, hshift; /* hshift: 64 - hbits */
	u64 hcap;		    /* 1 << hbits: grown at that many */
	u64 nr_fit[VMLAB_NR_FIT_TYPES];
	bool adjust_search_size;
};

/* One search request: either direction, plus the pruning length. */
struct vmap_req {
	u64 size, align, vstart, vend;
	u64 length; /* a subtree whose largest block is smaller is skipped */
	bool topdown;
};

static inline u64 va_size(const struct vmlab_vmap_area *va)
{
	return va->va_end - va->va_start;
}

static inline u64 get_subtree_max_size(const struct vmlab_vmap_area *va)
{
	return va ? va->subtree_max_size : 0;
}

static inline u64 max_u64(u64 a, u64 b)
{
	return a > b ? a : b;
}

static inline u64 compute_subtree_max_size(const struct vmlab_vmap_area *va)
{
	return max_u64(va_size(va),
		       max_u64(get_subtree_max_size(va->rb.left),
			       get_subtree_max_size(va->rb.right)));
}

static inline bool is_pow2(u64 x)
{
	return x && !(x & (x - 1));
}

static inline bool page_aligned(u64 x)
{
	return !(x & (VMLAB_PAGE_SIZE - 1));
}

static inline bool is_red(const struct vmlab_vmap_area *va)
{
	return va && va->rb.red;
}

static inline struct vmlab_vmap_area **rb_link(struct vmlab_vmap_area *va,
					       int dir)
{
	return dir == L ? &va->rb.left : &va->rb.right;
}

#define CHILD(va, dir) (*rb_link((va), (dir)))

/* ---- the red-black tree (vmap_rbtree.c) -------------------------------- */

/* Hang va at *link under parent (a descent's result) and rebalance. */
void rb_link_node(struct vmap_rb_root *root, struct vmlab_vmap_area *va,
		  struct vmlab_vmap_area *parent,
		  struct vmlab_vmap_area **link);
void rb_erase(struct vmap_rb_root *root, struct vmlab_vmap_area *z);
/* The leftmost (dir L) or rightmost (R) node below va. */
struct vmlab_vmap_area *rb_extreme(struct vmlab_vmap_area *va, int dir);

/*
 * After va's own size changed, fix its ancestors; stop at the first one
 * whose value does not move, as nothing above can move either. After an
 * erase several nodes on the path may be stale (the successor moved up),
 * so to_root goes all the way.
 */
static inline void augment_tree_propagate_from(struct vmlab_vmap_area *va,
					       bool to_root)
{
	unsigned int depth = 0;

	for (; va; va = va->rb.parent) {
		u64 new_max = compute_subtree_max_size(va);

		VMAP_BOUND(depth, VMAP_RB_MAX_HEIGHT);
		if (va->subtree_max_size == new_max && depth > 1 && !to_root)
			break;
		va->subtree_max_size = new_max;
	}
}

/*
 * Where a node for [start, end) would hang; NULL if it overlaps a node.
 * Every node it could overlap lies on this descent path, so the check is
 * complete.
 */
static inline struct vmlab_vmap_area **
find_va_links(struct vmap_rb_root *root, u64 start, u64 end,
	      struct vmlab_vmap_area **parent)
{
	struct vmlab_vmap_area **link = &root->node;
	unsigned int depth = 0;

	assert(start < end);
	*parent = NULL;
	while (*link) {
		struct vmlab_vmap_area *tmp = *link;

		VMAP_BOUND(depth, VMAP_RB_MAX_HEIGHT);
		if (end <= tmp->va_start)
			link = &tmp->rb.left;
		else if (start >= tmp->va_end)
			link = &tmp->rb.right;
		else
			return NULL;
		*parent = tmp;
	}
	return link;
}

/* The lowest node with va_end > addr (find_vmap_area_exceed_addr()). */
static inline struct vmlab_vmap_area *
va_find_exceed(struct vmlab_vmap_area *n, u64 addr)
{
	struct vmlab_vmap_area *va = NULL;
	unsigned int depth = 0;

	while (n) {
		VMAP_BOUND(depth, VMAP_RB_MAX_HEIGHT);
		if (n->va_end > addr) {
			va = n;
			if (n->va_start <= addr)
				break;
			n = n->rb.left;
		} else {
			n = n->rb.right;
		}
	}
	return va;
}

/* Does any node of the tree at root overlap [start, end)? */
static inline bool range_overlaps(struct vmlab_vmap_area *root, u64 start,
				  u64 end)
{
	struct vmlab_vmap_area *va = va_find_exceed(root, start);

	return va && va->va_start < end;
}

/*
 * Put va into root's address-ordered list where its tree link says: a
 * right child follows its parent, a left one comes just before it.
 */
static inline void list_link(struct vmap_rb_root *root,
			     struct vmlab_vmap_area *va,
			     struct vmlab_vmap_area *parent,
			     struct vmlab_vmap_area **link)
{
	struct vmlab_vmap_area *prev = NULL, *next;

	if (parent)
		prev = link == &parent->rb.right ? parent : parent->list.prev;
	next = prev ? prev->list.next : root->head;
	/* The link came from a descent or the hint (debug builds recheck
	 * that it is the in-order slot). */
	assert(!VMAP_DEBUG || ((!prev || prev->va_end <= va->va_start) &&
			       (!next || va->va_end <= next->va_start)));
	va->list.prev = prev;
	va->list.next = next;
	*(prev ? &prev->list.next : &root->head) = va;
	*(next ? &next->list.prev : &root->tail) = va;
}

static inline void list_unlink(struct vmap_rb_root *root,
			       struct vmlab_vmap_area *va)
{
	assert(!VMAP_DEBUG || (root->head && root->tail));
	*(va->list.prev ? &va->list.prev->list.next : &root->head) =
	    va->list.next;
	*(va->list.next ? &va->list.next->list.prev : &root->tail) =
	    va->list.prev;
	va->list.prev = va->list.next = NULL;
}

/* A page-aligned, non-empty range inside the tree's span. */
static inline bool range_ok(const struct vmlab_vmap_tree *t, u64 addr,
			    u64 size)
{
	return size && page_aligned(addr) && page_aligned(size) &&
	       addr >= t->start && addr < t->end && size <= t->end - addr;
}

/* ---- the busy hash (vmap_busy.c) --------------------------------------- */

int vmap_busy_init(struct vmlab_vmap_tree *t);
/* Link va into the busy tree, list and hash (check_free: refuse space
 * the free tree still holds); 0, -EEXIST, -EINVAL or -ENOMEM. */
int busy_link(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
	      bool check_free);
void vmap_busy_destroy(struct vmlab_vmap_tree *t);
/* The busy area starting at start, by hash. */
struct vmlab_vmap_area *vmap_hash_find(const struct vmlab_vmap_tree *t,
				       u64 start);

/* The hash chain of a busy area starting at start. */
static inline u64 vmap_hash_slot(const struct vmlab_vmap_tree *t, u64 start)
{
	return ((start >> 12) * 0x9e3779b97f4a7c15ULL) >> t->hshift;
}

/* The tree's own host allocations (vmlab_vmap_tree_init_alloc). */
static inline void *tree_zalloc(struct vmlab_vmap_tree *t, size_t n,
				size_t size)
{
	return t->zalloc ? t->zalloc(t->zalloc_ctx, n, size) : calloc(n, size);
}

#endif
