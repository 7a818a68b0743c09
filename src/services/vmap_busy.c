/* SPDX-License-Identifier: MIT */
/*
 * Busy vmap areas, after mm/vmalloc.c (Linux 6.x): vmap_area_root, a
 * red-black tree keyed by va_start, and vmap_area_list in address order,
 * for lookup by any address inside an area; beside them a hash by
 * va_start (the kernel has none) so that the common lookup, vfree() of
 * the address vmalloc() returned, is O(1), and an insert hint so that the
 * common insert, right beside the last one, is too.  The nodes are the
 * caller's; vmlab_vmap_alloc_area()/vmlab_vmap_free_area() in
 * vmap_free_tree.c pair them with the free space.
 */
#include "vmap_tree_internal.h"

/* The busy node starting at addr, by descent (the hash's cross-check). */
static inline struct vmlab_vmap_area *
tree_find_start(const struct vmlab_vmap_tree *t, u64 addr)
{
	struct vmlab_vmap_area *va = va_find_exceed(t->busy_root.node, addr);

	return va && va->va_start == addr ? va : NULL;
}

/* ---- busy hash by start ------------------------------------------------ */

#define VMAP_HASH_MIN_BITS 10

struct vmlab_vmap_area *vmap_hash_find(const struct vmlab_vmap_tree *t,
				       u64 start)
{
	struct vmlab_vmap_area *va = t->htab[vmap_hash_slot(t, start)];
	u64 n = 0;

	while (va && va->va_start != start) {
		VMAP_BOUND(n, t->nr_busy);
		va = va->hnext;
	}
	return va;
}

static void hash_add(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	struct vmlab_vmap_area **head = &t->htab[vmap_hash_slot(t, va->va_start)];

	va->hnext = *head;
	*head = va;
}

static void hash_del(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va)
{
	struct vmlab_vmap_area **p = &t->htab[vmap_hash_slot(t, va->va_start)];
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
	struct vmlab_vmap_area **old = t->htab,
			       **n = tree_zalloc(t, 1ULL << bits, sizeof(*n));
	u64 moved = 0;

	if (!n)
		return -1;
	t->htab = n;
	t->hbits = bits;
	t->hshift = 64 - bits;
	t->hcap = 1ULL << bits;
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
int busy_link(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
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
	if (t->nr_busy >= t->hcap && hash_grow(t))
		return -VMLAB_ENOMEM;
	va->state = VMLAB_VA_BUSY;
	list_link(&t->busy_root, va, parent, link);
	rb_link_node(&t->busy_root, va, parent, link);
	hash_add(t, va);
	t->nr_busy++;
	t->busy_hint = va;
	assert(!VMAP_DEBUG || vmap_hash_find(t, va->va_start) == va);
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
	va = vmap_hash_find(t, addr);
	/* The hash and the tree agree (a descent: debug builds only). */
	assert(!VMAP_DEBUG || va == tree_find_start(t, addr));
	return va;
}

void vmlab_vmap_busy_remove(struct vmlab_vmap_tree *t,
			    struct vmlab_vmap_area *va)
{
	assert(va->state == VMLAB_VA_BUSY);
	assert(!VMAP_DEBUG || t->nr_busy > 0);
	hash_del(t, va);
	if (t->busy_hint == va)
		t->busy_hint = va->list.prev ? va->list.prev : va->list.next;
	list_unlink(&t->busy_root, va);
	rb_erase(&t->busy_root, va);
	va->state = VMLAB_VA_DETACHED;
	t->nr_busy--;
	vmap_debug_check(t);
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

u64 vmlab_vmap_nr_busy(const struct vmlab_vmap_tree *t)
{
	return t->nr_busy;
}

int vmap_busy_init(struct vmlab_vmap_tree *t)
{
	assert(t && !t->htab);
	t->hbits = VMAP_HASH_MIN_BITS;
	t->hshift = 64 - VMAP_HASH_MIN_BITS;
	t->hcap = 1ULL << VMAP_HASH_MIN_BITS;
	t->htab = tree_zalloc(t, 1ULL << t->hbits, sizeof(*t->htab));
	return t->htab ? 0 : -VMLAB_ENOMEM;
}

void vmap_busy_destroy(struct vmlab_vmap_tree *t)
{
	free(t->htab);
	t->htab = NULL;
}
