/* SPDX-License-Identifier: MIT */
/*
 * The vmalloc address allocator: an augmented red-black tree of free blocks
 * and a plain red-black tree of busy areas, after mm/vmalloc.c (Linux 6.x).
 *
 * The red-black code is our own rather than a generic library because the
 * free tree needs subtree_max_size kept right through every rotation, which
 * is what lets a search skip whole subtrees that cannot hold the request.
 */
#include "vmap_tree.h"

#include <assert.h>
#include <stdio.h>
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
	unsigned int hbits;
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

static u64 compute_subtree_max_size(const struct vmlab_vmap_area *va)
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

/* ---- red-black tree ---------------------------------------------------- */

static void rb_replace_child(struct vmap_rb_root *root,
			     struct vmlab_vmap_area *parent,
			     struct vmlab_vmap_area *old,
			     struct vmlab_vmap_area *new)
{
	if (!parent) {
		assert(root->node == old);
		root->node = new;
	} else if (parent->rb.left == old) {
		parent->rb.left = new;
	} else {
		assert(parent->rb.right == old);
		parent->rb.right = new;
	}
}

/* x goes down on side dir; its child on the other side takes its place. */
static void rb_rotate(struct vmap_rb_root *root, struct vmlab_vmap_area *x,
		      int dir)
{
	struct vmlab_vmap_area *y = CHILD(x, !dir);
	struct vmlab_vmap_area *mid;

	assert(y);
	mid = CHILD(y, dir);
	CHILD(x, !dir) = mid;
	if (mid)
		mid->rb.parent = x;
	y->rb.parent = x->rb.parent;
	rb_replace_child(root, x->rb.parent, x, y);
	CHILD(y, dir) = x;
	x->rb.parent = y;
	if (root->augment) {
		/* y now covers exactly the blocks x covered. */
		y->subtree_max_size = x->subtree_max_size;
		x->subtree_max_size = compute_subtree_max_size(x);
	}
	assert(x->rb.parent == y);
}

static struct vmlab_vmap_area *rb_extreme(struct vmlab_vmap_area *va, int dir)
{
	unsigned int depth = 0;

	while (va && CHILD(va, dir)) {
		VMAP_BOUND(depth, VMAP_RB_MAX_HEIGHT);
		va = CHILD(va, dir);
	}
	return va;
}

/*
 * After va's own size changed, fix its ancestors; stop at the first one
 * whose value does not move, as nothing above can move either. After an
 * erase several nodes on the path may be stale (the successor moved up),
 * so to_root goes all the way.
 */
static void augment_tree_propagate_from(struct vmlab_vmap_area *va,
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

static void rb_insert_fixup(struct vmap_rb_root *root,
			    struct vmlab_vmap_area *va)
{
	struct vmlab_vmap_area *p, *g, *u;
	unsigned int steps = 0;
	int side;

	while ((p = va->rb.parent) && p->rb.red) {
		VMAP_BOUND(steps, VMAP_RB_MAX_HEIGHT);
		g = p->rb.parent; /* a red node is never the root */
		assert(g);
		side = p == g->rb.left ? L : R;
		u = CHILD(g, !side);
		if (is_red(u)) {
			p->rb.red = u->rb.red = false;
			g->rb.red = true;
			va = g;
			continue;
		}
		if (va == CHILD(p, !side)) {
			rb_rotate(root, p, side);
			va = p;
			p = va->rb.parent;
		}
		rb_rotate(root, g, !side);
		p->rb.red = false;
		g->rb.red = true;
	}
	root->node->rb.red = false;
}

static void rb_link_node(struct vmap_rb_root *root, struct vmlab_vmap_area *va,
			 struct vmlab_vmap_area *parent,
			 struct vmlab_vmap_area **link)
{
	assert(!*link);
	va->rb.parent = parent;
	va->rb.left = va->rb.right = NULL;
	va->rb.red = true;
	*link = va;
	if (root->augment) {
		/* Ancestors must be right before rotations read them. */
		va->subtree_max_size = va_size(va);
		augment_tree_propagate_from(va, false);
	}
	rb_insert_fixup(root, va);
	assert(!root->node->rb.red);
}

/* x replaced a removed black node under xp; x may be NULL. */
static void rb_erase_fixup(struct vmap_rb_root *root, struct vmlab_vmap_area *x,
			   struct vmlab_vmap_area *xp)
{
	unsigned int steps = 0;

	while (x != root->node && !is_red(x)) {
		int side = x == xp->rb.left ? L : R;
		struct vmlab_vmap_area *w = CHILD(xp, !side);

		VMAP_BOUND(steps, VMAP_RB_MAX_HEIGHT);
		assert(w); /* x's side lost a black, so w's side has one */
		if (w->rb.red) {
			w->rb.red = false;
			xp->rb.red = true;
			rb_rotate(root, xp, side);
			w = CHILD(xp, !side);
		}
		if (!is_red(w->rb.left) && !is_red(w->rb.right)) {
			w->rb.red = true;
			x = xp;
			xp = x->rb.parent;
			continue;
		}
		if (!is_red(CHILD(w, !side))) {
			CHILD(w, side)->rb.red = false;
			w->rb.red = true;
			rb_rotate(root, w, !side);
			w = CHILD(xp, !side);
		}
		w->rb.red = xp->rb.red;
		xp->rb.red = false;
		CHILD(w, !side)->rb.red = false;
		rb_rotate(root, xp, side);
		x = root->node;
	}
	if (x)
		x->rb.red = false;
}

static void rb_erase(struct vmap_rb_root *root, struct vmlab_vmap_area *z)
{
	struct vmlab_vmap_area *y = z, *x, *xp;
	bool removed_red;

	if (z->rb.left && z->rb.right)
		y = rb_extreme(z->rb.right, L);
	assert(!y->rb.left || !y->rb.right);
	x = y->rb.left ? y->rb.left : y->rb.right;
	xp = y->rb.parent;
	removed_red = y->rb.red;
	if (x)
		x->rb.parent = xp;
	rb_replace_child(root, xp, y, x);
	if (y != z) { /* the successor y takes z's place, links, colour */
		if (xp == z)
			xp = y;
		y->rb = z->rb;
		y->rb.left->rb.parent = y;
		if (y->rb.right)
			y->rb.right->rb.parent = y;
		rb_replace_child(root, z->rb.parent, z, y);
	}
	if (root->augment)
		augment_tree_propagate_from(xp, true);
	if (!removed_red)
		rb_erase_fixup(root, x, xp);
	z->rb.parent = z->rb.left = z->rb.right = NULL;
	assert(!root->node || !root->node->rb.red);
}

/*
 * Where a node for [start, end) would hang; NULL if it overlaps a node.
 * Every node it could overlap lies on this descent path, so the check is
 * complete.
 */
static struct vmlab_vmap_area **find_va_links(struct vmap_rb_root *root,
					      u64 start, u64 end,
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
static struct vmlab_vmap_area *va_find_exceed(struct vmlab_vmap_area *n,
					      u64 addr)
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

/* The busy node starting at addr, by descent (the hash's cross-check). */
static inline struct vmlab_vmap_area *
tree_find_start(const struct vmlab_vmap_tree *t, u64 addr)
{
	struct vmlab_vmap_area *va = va_find_exceed(t->busy_root.node, addr);

	return va && va->va_start == addr ? va : NULL;
}

static bool range_overlaps(struct vmlab_vmap_area *root, u64 start, u64 end)
{
	struct vmlab_vmap_area *va = va_find_exceed(root, start);

	return va && va->va_start < end;
}

/* ---- busy hash by start ------------------------------------------------ */

#define VMAP_HASH_MIN_BITS 10

static inline u64 hash_slot(const struct vmlab_vmap_tree *t, u64 start)
{
	return ((start >> 12) * 0x9e3779b97f4a7c15ULL) >> (64 - t->hbits);
}

static struct vmlab_vmap_area *hash_find(const struct vmlab_vmap_tree *t,
					 u64 start)
{
	struct vmlab_vmap_area *va = t->htab[hash_slot(t, start)];
	u64 n = 0;

	while (va && va->va_start != start) {
		VMAP_BOUND(n, t->nr_busy);
		va = va->hnext;
	}
	return va;
}

static void hash_add(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	struct vmlab_vmap_area **head = &t->htab[hash_slot(t, va->va_start)];

	va->hnext = *head;
	*head = va;
}

static void hash_del(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	struct vmlab_vmap_area **p = &t->htab[hash_slot(t, va->va_start)];
	u64 n = 0;

	while (*p != va) {
		assert(*p); /* a busy area is hashed */
		VMAP_BOUND(n, t->nr_busy);
		p = &(*p)->hnext;
	}
	*p = va->hnext;
	va->hnext = NULL;
}

/* Double the table when the busy areas outnumber its chains. */
static int hash_grow(struct vmlab_vmap_tree *t)
{
	unsigned int bits = t->hbits + 1;
	struct vmlab_vmap_area **old = t->htab, **n = calloc(1ULL << bits,
							     sizeof(*n));
	u64 moved = 0;

	if (!n)
		return -1;
	t->htab = n;
	t->hbits = bits;
	for (u64 i = 0; i < 1ULL << (bits - 1); i++)
		for (struct vmlab_vmap_area *va = old[i], *next; va; va = next) {
			next = va->hnext;
			hash_add(t, va);
			moved++;
		}
	assert(moved == t->nr_busy);
	free(old);
	return 0;
}

/* ---- preloaded node, free tree and free list --------------------------- */

/*
 * As the kernel preloads ne_fit_preload_node: get the node a split or an
 * insert may need before touching the tree, so neither can fail half-way.
 */
static int va_preload(struct vmlab_vmap_tree *t)
{
	if (!t->preload)
		t->preload = malloc(sizeof(*t->preload));
	return t->preload ? 0 : -VMLAB_ENOMEM;
}

static struct vmlab_vmap_area *va_take_preload(struct vmlab_vmap_tree *t,
					       u64 start, u64 end)
{
	struct vmlab_vmap_area *va = t->preload;

	assert(va && start < end);
	t->preload = NULL;
	*va = (struct vmlab_vmap_area){.va_start = start, .va_end = end};
	return va;
}

/*
 * Put va into root's address-ordered list where its tree link says: a
 * right child follows its parent, a left one comes just before it.
 */
static void list_link(struct vmap_rb_root *root, struct vmlab_vmap_area *va,
		      struct vmlab_vmap_area *parent,
		      struct vmlab_vmap_area **link)
{
	struct vmlab_vmap_area *prev = NULL, *next;

	if (parent)
		prev = link == &parent->rb.right ? parent : parent->list.prev;
	next = prev ? prev->list.next : root->head;
	assert(!prev || prev->va_end <= va->va_start);
	assert(!next || va->va_end <= next->va_start);
	va->list.prev = prev;
	va->list.next = next;
	*(prev ? &prev->list.next : &root->head) = va;
	*(next ? &next->list.prev : &root->tail) = va;
}

static void list_unlink(struct vmap_rb_root *root, struct vmlab_vmap_area *va)
{
	assert(root->head && root->tail);
	*(va->list.prev ? &va->list.prev->list.next : &root->head) =
	    va->list.next;
	*(va->list.next ? &va->list.next->list.prev : &root->tail) =
	    va->list.prev;
	va->list.prev = va->list.next = NULL;
}

/* Hang va at link and put it into the list right after prev. */
static void free_link(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
		      struct vmlab_vmap_area *parent,
		      struct vmlab_vmap_area **link)
{
	list_link(&t->free_root, va, parent, link);
	/* Callers merge touching blocks first: a gap must remain. */
	assert(!va->list.prev || va->list.prev->va_end < va->va_start);
	assert(!va->list.next || va->va_end < va->list.next->va_start);
	va->state = VMLAB_VA_FREE;
	rb_link_node(&t->free_root, va, parent, link);
	t->nr_free++;
	assert(t->free_root.head && t->free_root.tail);
}

static void free_unlink(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	assert(va->state == VMLAB_VA_FREE && t->nr_free > 0);
	rb_erase(&t->free_root, va);
	list_unlink(&t->free_root, va);
	va->state = VMLAB_VA_DETACHED;
	t->nr_free--;
}

/*
 * Insert the detached block va, merging it into a neighbour that touches
 * it; returns the block that now holds it, or NULL on overlap.
 */
static struct vmlab_vmap_area *
merge_or_add_vmap_area(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	struct vmlab_vmap_area *parent, *next, *prev, **link;
	bool merged = false;

	link = find_va_links(&t->free_root, va->va_start, va->va_end, &parent);
	if (!link)
		return NULL;
	next = NULL; /* the block that will follow va */
	if (parent)
		next = link == &parent->rb.right ? parent->list.next : parent;
	prev = next ? next->list.prev : t->free_root.tail;
	assert(!prev || prev->va_end <= va->va_start);
	assert(!next || next->va_start >= va->va_end);
	if (next && next->va_start == va->va_end) {
		next->va_start = va->va_start;
		free(va);
		va = next;
		merged = true;
	}
	if (prev && prev->va_end == va->va_start) {
		/* Dropping next first leaves the tree exact (the erase
		 * recomputes its whole path), so prev can then propagate
		 * with the early stop. */
		if (merged)
			free_unlink(t, va);
		prev->va_end = va->va_end;
		free(va);
		va = prev;
		merged = true;
	}
	if (merged)
		augment_tree_propagate_from(va, false);
	else
		free_link(t, va, parent, link);
	return va;
}

/* ---- allocation -------------------------------------------------------- */

/* Lowest aligned start at or above vstart inside va that holds size. */
static bool is_within_this_va(const struct vmlab_vmap_area *va,
			      const struct vmap_req *req, u64 *nva)
{
	u64 base = max_u64(va->va_start, req->vstart);
	u64 a;

	if (base > UINT64_MAX - (req->align - 1))
		return false; /* aligning up would wrap */
	a = (base + req->align - 1) & ~(req->align - 1);
	if (a >= va->va_end || va->va_end - a < req->size)
		return false;
	assert(a >= req->vstart && !(a & (req->align - 1)));
	*nva = a;
	return true;
}

/* Highest aligned start inside va whose end stays at or below vend. */
static bool is_within_this_va_topdown(const struct vmlab_vmap_area *va,
				      const struct vmap_req *req, u64 *nva)
{
	u64 top = va->va_end < req->vend ? va->va_end : req->vend;
	u64 a;

	if (top < req->size)
		return false;
	a = (top - req->size) & ~(req->align - 1);
	if (a < va->va_start)
		return false;
	assert(a + req->size <= req->vend && a + req->size <= va->va_end);
	*nva = a;
	return true;
}

/*
 * May the subtree searched first hold a fit? Bottom-up, everything left of
 * va ends at or below va_start, so it is useless once vstart >= va_start;
 * top-down mirrors that with vend.
 */
static bool first_side_open(const struct vmlab_vmap_area *va, int first,
			    const struct vmap_req *req)
{
	const struct vmlab_vmap_area *sub =
	    first == L ? va->rb.left : va->rb.right;

	if (get_subtree_max_size(sub) < req->length)
		return false;
	return req->topdown ? req->vend > va->va_end
			    : req->vstart < va->va_start;
}

/*
 * find_vmap_lowest_match(), both directions: an in-order walk (reversed
 * for top-down) that skips subtrees too small for req->length, so the first
 * fitting node met is the lowest (highest). Instead of the kernel's trick
 * of bumping vstart past a parent to avoid re-entering a subtree, we
 * remember which child we climbed out of; the result is the same.
 * Each node is entered from above once and left upwards once.
 */
static struct vmlab_vmap_area *
find_vmap_match(struct vmlab_vmap_tree *t, const struct vmap_req *req, u64 *nva)
{
	int first = req->topdown ? R : L;
	struct vmlab_vmap_area *node = t->free_root.node, *from = NULL;
	u64 steps = 0;

	while (node) {
		VMAP_BOUND(steps, 2 * t->nr_free + 1);
		if (from && from == CHILD(node, !first)) {
			from = node; /* both sides done */
			node = node->rb.parent;
			continue;
		}
		if (!from && first_side_open(node, first, req)) {
			node = CHILD(node, first);
			continue;
		}
		if (req->topdown ? is_within_this_va_topdown(node, req, nva)
				 : is_within_this_va(node, req, nva)) {
			assert(node->state == VMLAB_VA_FREE);
			return node;
		}
		from = NULL;
		if (get_subtree_max_size(CHILD(node, !first)) >= req->length) {
			node = CHILD(node, !first);
			continue;
		}
		from = node;
		node = node->rb.parent;
	}
	return NULL;
}

static enum vmlab_vmap_fit_type
classify_va_fit_type(const struct vmlab_vmap_area *va, u64 nva, u64 size)
{
	assert(size && page_aligned(size) && page_aligned(nva));
	if (nva < va->va_start || nva + size > va->va_end)
		return VMLAB_NOTHING_FIT;
	if (va->va_start == nva)
		return va->va_end == nva + size ? VMLAB_FL_FIT_TYPE
						: VMLAB_LE_FIT_TYPE;
	return va->va_end == nva + size ? VMLAB_RE_FIT_TYPE : VMLAB_NE_FIT_TYPE;
}

/* Where a block just below va hangs: the kernel starts find_va_links at va. */
static struct vmlab_vmap_area **link_before(struct vmlab_vmap_area *va,
					    struct vmlab_vmap_area **parent)
{
	if (!va->rb.left) {
		*parent = va;
		return &va->rb.left;
	}
	*parent = rb_extreme(va->rb.left, R);
	assert((*parent)->va_end < va->va_start);
	return &(*parent)->rb.right;
}

/* adjust_va_to_fit_type(), renamed va_clip() in 6.8: cut [nva, +size). */
static enum vmlab_vmap_fit_type va_clip(struct vmlab_vmap_tree *t,
					struct vmlab_vmap_area *va, u64 nva,
					u64 size)
{
	enum vmlab_vmap_fit_type type = classify_va_fit_type(va, nva, size);
	struct vmlab_vmap_area *lva, *parent, **link;

	assert(type != VMLAB_NOTHING_FIT);
	switch (type) {
	case VMLAB_FL_FIT_TYPE:
		free_unlink(t, va);
		free(va);
		break;
	case VMLAB_LE_FIT_TYPE:
		va->va_start += size;
		augment_tree_propagate_from(va, false);
		break;
	case VMLAB_RE_FIT_TYPE:
		va->va_end = nva;
		augment_tree_propagate_from(va, false);
		break;
	default:
		/* The left remainder gets the preloaded node, so a split
		 * can no longer fail half-way. */
		lva = va_take_preload(t, va->va_start, nva);
		va->va_start = nva + size;
		augment_tree_propagate_from(va, false);
		link = link_before(va, &parent);
		free_link(t, lva, parent, link);
		break;
	}
	t->nr_fit[type]++;
	return type;
}

static int __alloc_vmap_area(struct vmlab_vmap_tree *t,
			     const struct vmap_req *req, u64 *addr)
{
	struct vmlab_vmap_area *va;
	u64 nva = 0;

	va = find_vmap_match(t, req, &nva);
	if (!va)
		return -VMLAB_ENOMEM;
	/* The search enforces one bound; the other is checked here, as the
	 * kernel checks vend after find_vmap_lowest_match(). */
	if (req->topdown ? nva < req->vstart : nva + req->size > req->vend)
		return -VMLAB_ENOMEM;
	va_clip(t, va, nva, req->size);
	t->free_bytes -= req->size;
	assert(!(nva & (req->align - 1)));
	assert(nva >= req->vstart && nva + req->size <= req->vend);
	*addr = nva;
	return 0;
}

/* ---- public API -------------------------------------------------------- */

struct vmlab_vmap_area *vmlab_vmap_area_alloc(void)
{
	return calloc(1, sizeof(struct vmlab_vmap_area));
}

int vmlab_vmap_tree_init(struct vmlab_vmap_tree **out, u64 start, u64 end)
{
	struct vmlab_vmap_tree *t;
	struct vmlab_vmap_area *va, *parent, **link;

	if (!out || start >= end || !page_aligned(start) || !page_aligned(end))
		return -VMLAB_EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -VMLAB_ENOMEM;
	t->start = start;
	t->end = end;
	t->free_root.augment = true;
	t->hbits = VMAP_HASH_MIN_BITS;
	t->htab = calloc(1ULL << t->hbits, sizeof(*t->htab));
	if (!t->htab || va_preload(t)) {
		free(t->htab);
		free(t);
		return -VMLAB_ENOMEM;
	}
	va = va_take_preload(t, start, end);
	link = find_va_links(&t->free_root, start, end, &parent);
	free_link(t, va, parent, link);
	assert(t->nr_free == 1 && t->free_root.node == va);
	t->free_bytes = end - start;
	vmap_debug_check(t);
	*out = t;
	return 0;
}

void vmlab_vmap_tree_destroy(struct vmlab_vmap_tree *t)
{
	struct vmlab_vmap_area *va, *next;
	u64 n = 0;

	if (!t)
		return;
	for (va = t->free_root.head; va; va = next) {
		VMAP_BOUND(n, t->nr_free);
		next = va->list.next;
		free(va);
	}
	free(t->preload);
	free(t->htab);
	free(t);
}

void vmlab_vmap_set_adjust_search_size(struct vmlab_vmap_tree *t, bool on)
{
	assert(t);
	t->adjust_search_size = on;
}

int vmlab_vmap_alloc_range(struct vmlab_vmap_tree *t, u64 size, u64 align,
			   u64 vstart, u64 vend, bool topdown, u64 *addr)
{
	struct vmap_req req;
	bool adjust;
	int ret;

	if (!t || !addr || !size || !page_aligned(size) || !is_pow2(align) ||
	    vstart >= vend)
		return -VMLAB_EINVAL;
	align = max_u64(align, VMLAB_PAGE_SIZE);
	/* The kernel does not widen when the window is exactly the size:
	 * the widened search could never succeed there. */
	adjust = t->adjust_search_size && !topdown && align > VMLAB_PAGE_SIZE &&
		 vend - vstart != size;
	if (adjust && size > UINT64_MAX - (align - 1))
		return -VMLAB_ENOMEM;
	req = (struct vmap_req){.size = size,
				.align = align,
				.vstart = vstart,
				.vend = vend,
				.length = adjust ? size + align - 1 : size,
				.topdown = topdown};
	if (va_preload(t))
		return -VMLAB_ENOMEM;
	ret = __alloc_vmap_area(t, &req, addr);
	assert(ret == 0 || ret == -VMLAB_ENOMEM);
	vmap_debug_check(t);
	return ret;
}

static bool range_ok(const struct vmlab_vmap_tree *t, u64 addr, u64 size)
{
	return size && page_aligned(addr) && page_aligned(size) &&
	       addr >= t->start && addr < t->end && size <= t->end - addr;
}

int vmlab_vmap_free_range(struct vmlab_vmap_tree *t, u64 addr, u64 size)
{
	struct vmlab_vmap_area *va, *merged;

	if (!t || !range_ok(t, addr, size))
		return -VMLAB_EINVAL;
	if (range_overlaps(t->busy_root.node, addr, addr + size))
		return -VMLAB_EBUSY;
	if (va_preload(t))
		return -VMLAB_ENOMEM;
	va = va_take_preload(t, addr, addr + size);
	merged = merge_or_add_vmap_area(t, va);
	if (!merged) {
		t->preload = va;
		return -VMLAB_EINVAL; /* the kernel WARNs: double free */
	}
	assert(merged->va_start <= addr && merged->va_end >= addr + size);
	t->free_bytes += size;
	vmap_debug_check(t);
	return 0;
}

/*
 * Where [start, end) hangs in the busy tree if it goes right beside h
 * (the list says whether it does): the in-order slot between two
 * neighbours is unique, a right child of the lower one when that has
 * none, else a left child of the upper one, so this is the link a
 * descent from the root would find, in O(1).  NULL: not beside h.
 */
static struct vmlab_vmap_area **
busy_link_hint(struct vmlab_vmap_area *h, u64 start, u64 end,
	       struct vmlab_vmap_area **parent)
{
	struct vmlab_vmap_area *lo, *hi;

	assert(start < end && h->state == VMLAB_VA_BUSY);
	if (h->va_end <= start) {
		lo = h;
		hi = h->list.next;
		if (hi && hi->va_start < end)
			return NULL;
	} else if (end <= h->va_start) {
		hi = h;
		lo = h->list.prev;
		if (lo && lo->va_end > start)
			return NULL;
	} else {
		return NULL; /* overlaps h: the descent reports it */
	}
	if (lo && !lo->rb.right) {
		*parent = lo;
		return &lo->rb.right;
	}
	assert(hi && !hi->rb.left);
	*parent = hi;
	return &hi->rb.left;
}

/*
 * Link va into the busy tree, list and hash.  check_free: also refuse
 * space the free tree still holds (a second descent, which
 * alloc_vmap_area() does not need: it inserts exactly what it just took
 * from the free tree).
 */
static int busy_link(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
		     bool check_free)
{
	struct vmlab_vmap_area *parent = NULL, **link = NULL;

	if (t->busy_hint)
		link = busy_link_hint(t->busy_hint, va->va_start, va->va_end,
				      &parent);
	/* The hint's slot is the descent's (debug builds recheck). */
	if (VMAP_DEBUG && link) {
		struct vmlab_vmap_area *p2;

		assert(find_va_links(&t->busy_root, va->va_start, va->va_end,
				     &p2) == link && p2 == parent);
		(void)p2;
	}
	if (!link)
		link = find_va_links(&t->busy_root, va->va_start, va->va_end,
				     &parent);
	if (!link)
		return -VMLAB_EEXIST;
	if (check_free &&
	    range_overlaps(t->free_root.node, va->va_start, va->va_end))
		return -VMLAB_EINVAL; /* never allocated */
	if (t->nr_busy >= 1ULL << t->hbits && hash_grow(t))
		return -VMLAB_ENOMEM;
	va->state = VMLAB_VA_BUSY;
	list_link(&t->busy_root, va, parent, link);
	rb_link_node(&t->busy_root, va, parent, link);
	hash_add(t, va);
	t->nr_busy++;
	t->busy_hint = va;
	assert(hash_find(t, va->va_start) == va);
	vmap_debug_check(t);
	return 0;
}

int vmlab_vmap_busy_insert(struct vmlab_vmap_tree *t,
			   struct vmlab_vmap_area *va)
{
	if (!t || !va || va->va_end <= va->va_start ||
	    !range_ok(t, va->va_start, va->va_end - va->va_start))
		return -VMLAB_EINVAL;
	return busy_link(t, va, true);
}

struct vmlab_vmap_area *
vmlab_vmap_busy_find_exceed(const struct vmlab_vmap_tree *t, u64 addr)
{
	assert(t);
	return va_find_exceed(t->busy_root.node, addr);
}

const struct vmlab_vmap_area *
vmlab_vmap_free_find(const struct vmlab_vmap_tree *t, u64 addr)
{
	const struct vmlab_vmap_area *va;

	assert(t);
	va = va_find_exceed(t->free_root.node, addr);
	return va && va->va_start <= addr ? va : NULL;
}

struct vmlab_vmap_area *vmlab_vmap_busy_find(const struct vmlab_vmap_tree *t,
					     u64 addr)
{
	/* Most lookups name an area's start: the hash answers those. */
	struct vmlab_vmap_area *va = vmlab_vmap_busy_find_start(t, addr);

	if (va)
		return va;
	va = vmlab_vmap_busy_find_exceed(t, addr);
	return va && va->va_start <= addr ? va : NULL;
}

struct vmlab_vmap_area *
vmlab_vmap_busy_find_start(const struct vmlab_vmap_tree *t, u64 addr)
{
	struct vmlab_vmap_area *va;

	assert(t);
	va = hash_find(t, addr);
	/* The hash and the tree agree (a descent: debug builds only). */
	assert(!VMAP_DEBUG || va == tree_find_start(t, addr));
	return va;
}

void vmlab_vmap_busy_remove(struct vmlab_vmap_tree *t,
			    struct vmlab_vmap_area *va)
{
	assert(t && va && va->state == VMLAB_VA_BUSY);
	assert(t->nr_busy > 0);
	hash_del(t, va);
	if (t->busy_hint == va)
		t->busy_hint = va->list.prev ? va->list.prev : va->list.next;
	list_unlink(&t->busy_root, va);
	rb_erase(&t->busy_root, va);
	va->state = VMLAB_VA_DETACHED;
	t->nr_busy--;
	vmap_debug_check(t);
}

int vmlab_vmap_alloc_area(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
			  u64 size, u64 align, u64 vstart, u64 vend,
			  bool topdown)
{
	u64 addr;
	int ret;

	if (!va)
		return -VMLAB_EINVAL;
	ret = vmlab_vmap_alloc_range(t, size, align, vstart, vend, topdown,
				     &addr);
	if (ret)
		return ret;
	va->va_start = addr;
	va->va_end = addr + size;
	va->subtree_max_size = 0;
	/* Fresh space overlaps neither tree: the free-tree re-check only in
	 * debug builds. */
	ret = busy_link(t, va, VMAP_DEBUG);
	assert(ret == 0 || ret == -VMLAB_ENOMEM);
	if (ret)
		vmlab_vmap_free_range(t, addr, size);
	return ret;
}

int vmlab_vmap_free_area(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	if (!t || !va || va->state != VMLAB_VA_BUSY)
		return -VMLAB_EINVAL;
	vmlab_vmap_busy_remove(t, va);
	assert(va->state == VMLAB_VA_DETACHED);
	return vmlab_vmap_free_range(t, va->va_start, va_size(va));
}

struct vmlab_vmap_area *vmlab_vmap_busy_first(const struct vmlab_vmap_tree *t)
{
	assert(t);
	return t->busy_root.head;
}

struct vmlab_vmap_area *vmlab_vmap_busy_next(const struct vmlab_vmap_tree *t,
					     const struct vmlab_vmap_area *va)
{
	(void)t;
	assert(va && va->state == VMLAB_VA_BUSY);
	return va->list.next;
}

const struct vmlab_vmap_area *
vmlab_vmap_free_first(const struct vmlab_vmap_tree *t)
{
	assert(t);
	return t->free_root.head;
}

const struct vmlab_vmap_area *
vmlab_vmap_free_next(const struct vmlab_vmap_tree *t,
		     const struct vmlab_vmap_area *va)
{
	(void)t;
	assert(va && va->state == VMLAB_VA_FREE);
	return va->list.next;
}

u64 vmlab_vmap_nr_busy(const struct vmlab_vmap_tree *t)
{
	return t->nr_busy;
}

u64 vmlab_vmap_nr_free_blocks(const struct vmlab_vmap_tree *t)
{
	return t->nr_free;
}

u64 vmlab_vmap_free_bytes(const struct vmlab_vmap_tree *t)
{
	return t->free_bytes;
}

u64 vmlab_vmap_fit_count(const struct vmlab_vmap_tree *t,
			 enum vmlab_vmap_fit_type type)
{
	assert(t && (unsigned int)type < VMLAB_NR_FIT_TYPES);
	return t->nr_fit[type];
}

/* ---- invariant check --------------------------------------------------- */

struct vmap_check {
	const struct vmlab_vmap_tree *t;
	const struct vmap_rb_root *root;
	const struct vmlab_vmap_area *prev; /* in-order predecessor */
	const struct vmlab_vmap_area *lst;  /* free list cursor, both passes */
	u8 state;
	u64 n, bytes;
};

static bool check_fail(const char *what, u64 a, u64 b)
{
	fprintf(stderr, "vmap_tree check: %s (0x%llx, 0x%llx)\n", what,
		(unsigned long long)a, (unsigned long long)b);
	return false;
}

static int rb_fail(const char *what, u64 a)
{
	check_fail(what, a, 0);
	return -1;
}

/* Everything one node owes its in-order predecessor and the free list. */
static bool check_visit(struct vmap_check *c, const struct vmlab_vmap_area *va)
{
	const struct vmlab_vmap_area *prev = c->prev;
	bool is_free = c->state == VMLAB_VA_FREE;

	if (va->va_start >= va->va_end || !page_aligned(va->va_start) ||
	    !page_aligned(va->va_end) || va->va_start < c->t->start ||
	    va->va_end > c->t->end || va->state != c->state)
		return check_fail("bad area", va->va_start, va->va_end);
	if (prev && prev->va_end > va->va_start)
		return check_fail("overlap or disorder", prev->va_end,
				  va->va_start);
	if (is_free && prev && prev->va_end == va->va_start)
		return check_fail("free blocks not coalesced", prev->va_start,
				  va->va_start);
	if (va->list.prev != prev || (!prev && c->root->head != va))
		return check_fail("list != tree", va->va_start, c->state);
	if (is_free && c->lst != va)
		return check_fail("free list != free tree", va->va_start, 0);
	if (is_free)
		c->lst = c->lst->list.next;
	/* Busy pass: the free list, already checked, is merged in. */
	while (!is_free && c->lst && c->lst->va_end <= va->va_start)
		c->lst = c->lst->list.next;
	if (!is_free && c->lst && c->lst->va_start < va->va_end)
		return check_fail("busy area overlaps free space", va->va_start,
				  c->lst->va_start);
	if (!is_free && hash_find(c->t, va->va_start) != va)
		return check_fail("busy area not in the hash", va->va_start, 0);
	c->n++;
	c->bytes += va_size(va);
	c->prev = va;
	return true;
}

/* In-order walk checking shape too; black height, or -1 on failure. */
static int check_rb(struct vmap_check *c, const struct vmlab_vmap_area *n,
		    const struct vmlab_vmap_area *parent, int depth)
{
	int lh, rh;

	if (!n)
		return 1;
	if (depth > VMAP_RB_MAX_HEIGHT)
		return rb_fail("tree too high", (u64)depth);
	if (n->rb.parent != parent)
		return rb_fail("bad parent link", n->va_start);
	if (n->rb.red && (is_red(n->rb.left) || is_red(n->rb.right)))
		return rb_fail("red node with red child", n->va_start);
	if (c->state == VMLAB_VA_FREE &&
	    n->subtree_max_size != compute_subtree_max_size(n))
		return rb_fail("bad subtree_max_size", n->va_start);
	lh = check_rb(c, n->rb.left, n, depth + 1);
	if (lh < 0 || !check_visit(c, n))
		return -1;
	rh = check_rb(c, n->rb.right, n, depth + 1);
	if (rh < 0)
		return -1;
	if (lh != rh)
		return rb_fail("unequal black heights", n->va_start);
	return lh + !n->rb.red;
}

static bool check_tree(const struct vmlab_vmap_tree *t,
		       const struct vmap_rb_root *root, u8 state, u64 nr)
{
	struct vmap_check c = {
	    .t = t, .root = root, .lst = t->free_root.head, .state = state};
	bool is_free = state == VMLAB_VA_FREE;

	if (root->augment != is_free)
		return check_fail("augment flag", state, 0);
	if (root->node && root->node->rb.red)
		return check_fail("red root", root->node->va_start, 0);
	if (check_rb(&c, root->node, NULL, 1) < 0)
		return false;
	if (c.n != nr)
		return check_fail("node count", c.n, nr);
	if (root->tail != c.prev || (!nr && root->head))
		return check_fail("list ends", state, nr);
	if (is_free && (c.lst || t->free_root.tail != c.prev))
		return check_fail("free list longer than tree", 0, 0);
	if (is_free && c.bytes != t->free_bytes)
		return check_fail("free bytes", c.bytes, t->free_bytes);
	return true;
}

bool vmlab_vmap_tree_check(const struct vmlab_vmap_tree *t)
{
	if (!t)
		return check_fail("no tree", 0, 0);
	/* Free first: the busy pass walks the free list it validates. */
	if (!check_tree(t, &t->free_root, VMLAB_VA_FREE, t->nr_free) ||
	    !check_tree(t, &t->busy_root, VMLAB_VA_BUSY, t->nr_busy))
		return false;
	if (t->busy_hint && (t->busy_hint->state != VMLAB_VA_BUSY ||
			     hash_find(t, t->busy_hint->va_start) != t->busy_hint))
		return check_fail("busy hint not busy", t->busy_hint->va_start, 0);
	if (!t->busy_hint && t->nr_busy)
		return check_fail("busy areas but no hint", t->nr_busy, 0);
	/* Every busy area is found in the hash, so equal counts mean the
	 * hash holds nothing else. */
	u64 hashed = 0;
	for (u64 i = 0; i < 1ULL << t->hbits; i++)
		for (const struct vmlab_vmap_area *va = t->htab[i]; va;
		     va = va->hnext)
			if (++hashed > t->nr_busy || hash_slot(t, va->va_start) != i)
				return check_fail("stray hash entry", va->va_start, i);
	return hashed == t->nr_busy ||
	       check_fail("hash count", hashed, t->nr_busy);
}
