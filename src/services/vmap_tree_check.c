/* SPDX-License-Identifier: MIT */
/*
 * The vmap allocator's invariant check (vmlab_vmap_tree_check()): both
 * trees' red-black shape, order and links, subtree_max_size, free blocks
 * coalesced, lists equal to trees, no busy area over free space, the hash
 * and the counters.  Debug builds run it after every tree operation.
 */
#include "vmap_tree_internal.h"

#include <stdio.h>

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
	if (!is_free && vmap_hash_find(c->t, va->va_start) != va)
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
			     vmap_hash_find(t, t->busy_hint->va_start) != t->busy_hint))
		return check_fail("busy hint not busy", t->busy_hint->va_start, 0);
	if (!t->busy_hint && t->nr_busy)
		return check_fail("busy areas but no hint", t->nr_busy, 0);
	/* Every busy area is found in the hash, so equal counts mean the
	 * hash holds nothing else. */
	u64 hashed = 0;
	for (u64 i = 0; i < 1ULL << t->hbits; i++)
		for (const struct vmlab_vmap_area *va = t->htab[i]; va;
		     va = va->hnext)
			if (++hashed > t->nr_busy || vmap_hash_slot(t, va->va_start) != i)
				return check_fail("stray hash entry", va->va_start, i);
	return hashed == t->nr_busy ||
	       check_fail("hash count", hashed, t->nr_busy);
}
