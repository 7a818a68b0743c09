/* SPDX-License-Identifier: MIT */
/*
 * The red-black tree under both vmap trees (vmap_tree_internal.h): insert
 * and erase with their fix-ups, and rotations that keep subtree_max_size
 * right when the root asks for it (the free tree), after lib/rbtree.c and
 * the augmented callbacks mm/vmalloc.c gives it.
 *
 * The red-black code is our own rather than a generic library because the
 * free tree needs subtree_max_size kept right through every rotation, which
 * is what lets a search skip whole subtrees that cannot hold the request.
 */
#include "vmap_tree_internal.h"

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

struct vmlab_vmap_area *rb_extreme(struct vmlab_vmap_area *va, int dir)
{
	unsigned int depth = 0;

	while (va && CHILD(va, dir)) {
		VMAP_BOUND(depth, VMAP_RB_MAX_HEIGHT);
		va = CHILD(va, dir);
	}
	return va;
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

void rb_link_node(struct vmap_rb_root *root, struct vmlab_vmap_area *va,
		  struct vmlab_vmap_area *parent, struct vmlab_vmap_area **link)
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

void rb_erase(struct vmap_rb_root *root, struct vmlab_vmap_area *z)
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
	assert(!VMAP_DEBUG || !root->node || !root->node->rb.red);
}
