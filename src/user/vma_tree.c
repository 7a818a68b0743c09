/* SPDX-License-Identifier: MIT */
/*
 * The VMA tree of an mm: an AVL tree keyed by vm_start standing in for the
 * maple tree.  VMAs never overlap, so ordering by start also orders by end
 * and find_vma() is one descent.  Each node carries the gap in front of it
 * and the largest gap in its subtree, so get_unmapped_area() finds the
 * highest (or lowest) hole that fits in O(log n), as the maple tree's gap
 * tracking does.  A doubly linked list in address order gives prev/next.
 */
#include "user/uinternal.h"

static inline int ht(const struct vmlab_vma *n)
{
	return n ? n->height : 0;
}

static inline u64 mgap(const struct vmlab_vma *n)
{
	return n ? n->max_gap : 0;
}

static void pull(struct vmlab_vma *n)
{
	int hl = ht(n->left), hr = ht(n->right);
	n->height = 1 + (hl > hr ? hl : hr);
	u64 g = n->gap;
	if (mgap(n->left) > g)
		g = mgap(n->left);
	if (mgap(n->right) > g)
		g = mgap(n->right);
	n->max_gap = g;
}

static struct vmlab_vma *rot_right(struct vmlab_vma *n)
{
	struct vmlab_vma *l = n->left;
	assert(l);
	n->left = l->right;
	l->right = n;
	pull(n);
	pull(l);
	return l;
}

static struct vmlab_vma *rot_left(struct vmlab_vma *n)
{
	struct vmlab_vma *r = n->right;
	assert(r);
	n->right = r->left;
	r->left = n;
	pull(n);
	pull(r);
	return r;
}

static struct vmlab_vma *balance(struct vmlab_vma *n)
{
	pull(n);
	int bf = ht(n->left) - ht(n->right);
	if (bf > 1) {
		if (ht(n->left->left) < ht(n->left->right))
			n->left = rot_left(n->left);
		return rot_right(n);
	}
	if (bf < -1) {
		if (ht(n->right->right) < ht(n->right->left))
			n->right = rot_right(n->right);
		return rot_left(n);
	}
	return n;
}

static struct vmlab_vma *insert_rec(struct vmlab_vma *n, struct vmlab_vma *v)
{
	if (!n) {
		v->left = v->right = NULL;
		pull(v);
		return v;
	}
	assert(n->vm_start != v->vm_start);
	if (v->vm_start < n->vm_start)
		n->left = insert_rec(n->left, v);
	else
		n->right = insert_rec(n->right, v);
	return balance(n);
}

static struct vmlab_vma *remove_min(struct vmlab_vma *n,
				    struct vmlab_vma **min)
{
	if (!n->left) {
		*min = n;
		return n->right;
	}
	n->left = remove_min(n->left, min);
	return balance(n);
}

static struct vmlab_vma *erase_rec(struct vmlab_vma *n, struct vmlab_vma *v)
{
	assert(n); /* v is in the tree */
	if (n != v) {
		if (v->vm_start < n->vm_start)
			n->left = erase_rec(n->left, v);
		else
			n->right = erase_rec(n->right, v);
		return balance(n);
	}
	struct vmlab_vma *l = n->left, *r = n->right, *m = NULL;
	if (!r)
		return l;
	r = remove_min(r, &m);
	m->left = l;
	m->right = r;
	return balance(m);
}

/* Re-derive the augmentation on the path from the root to v. */
static void refresh_rec(struct vmlab_vma *n, struct vmlab_vma *v)
{
	assert(n);
	if (n != v)
		refresh_rec(v->vm_start < n->vm_start ? n->left : n->right, v);
	pull(n);
}

static void set_gap(struct vmlab_user_mm *mm, struct vmlab_vma *v)
{
	u64 pend = v->prev ? v->prev->vm_end : 0;
	assert(pend <= v->vm_start);
	v->gap = v->vm_start - pend;
	if (mm->root)
		refresh_rec(mm->root, v);
}

/* ------------------------------------------------------------ lookups */

struct vmlab_vma *find_vma(struct vmlab_user_mm *mm, u64 addr)
{
	struct vmlab_vma *n = mm->root, *best = NULL;
	while (n) {
		if (n->vm_end > addr) {
			best = n;
			if (n->vm_start <= addr)
				return n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct vmlab_vma *vma_lookup(struct vmlab_user_mm *mm, u64 addr)
{
	struct vmlab_vma *v = find_vma(mm, addr);
	return (v && v->vm_start <= addr) ? v : NULL;
}

struct vmlab_vma *find_vma_intersection(struct vmlab_user_mm *mm, u64 start,
					u64 end)
{
	struct vmlab_vma *v = find_vma(mm, start);
	return (v && v->vm_start < end) ? v : NULL;
}

/* The last VMA starting below addr. */
static struct vmlab_vma *find_prev(struct vmlab_user_mm *mm, u64 addr)
{
	struct vmlab_vma *n = mm->root, *best = NULL;
	while (n) {
		if (n->vm_start < addr) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* --------------------------------------------------------- updates */

void vt_insert(struct vmlab_user_mm *mm, struct vmlab_vma *v)
{
	assert(v->vm_start < v->vm_end);
	struct vmlab_vma *p = find_prev(mm, v->vm_start);
	struct vmlab_vma *nx = p ? p->next : mm->first;
	assert(!p || p->vm_end <= v->vm_start);
	assert(!nx || v->vm_end <= nx->vm_start);
	v->prev = p;
	v->next = nx;
	if (p)
		p->next = v;
	else
		mm->first = v;
	if (nx)
		nx->prev = v;
	else
		mm->last = v;
	v->gap = v->vm_start - (p ? p->vm_end : 0);
	mm->root = insert_rec(mm->root, v);
	if (nx)
		set_gap(mm, nx);
	mm->map_count++;
}

void vt_erase(struct vmlab_user_mm *mm, struct vmlab_vma *v)
{
	assert(mm->map_count > 0);
	mm->root = erase_rec(mm->root, v);
	struct vmlab_vma *p = v->prev, *nx = v->next;
	if (p)
		p->next = nx;
	else
		mm->first = nx;
	if (nx)
		nx->prev = p;
	else
		mm->last = p;
	v->prev = v->next = v->left = v->right = NULL;
	if (nx)
		set_gap(mm, nx);
	mm->map_count--;
}

void vt_changed(struct vmlab_user_mm *mm, struct vmlab_vma *v)
{
	assert(v->vm_start < v->vm_end);
	assert(!v->prev || v->prev->vm_end <= v->vm_start);
	assert(!v->next || v->vm_end <= v->next->vm_start);
	set_gap(mm, v);
	if (v->next)
		set_gap(mm, v->next);
}

/* ------------------------------------------------------ gap search */

struct gapq {
	u64 len, low, high;
	bool topdown;
	u64 addr;
};

static bool gap_fits(struct gapq *q, u64 gs, u64 ge)
{
	u64 lo = gs > q->low ? gs : q->low;
	u64 hi = ge < q->high ? ge : q->high;
	if (hi <= lo || hi - lo < q->len)
		return false;
	q->addr = q->topdown ? hi - q->len : lo;
	return true;
}

static bool search(struct vmlab_vma *n, struct gapq *q)
{
	if (!n || n->max_gap < q->len)
		return false;
	u64 gs = n->vm_start - n->gap;
	/* Left subtree gaps lie below gs, right subtree gaps above vm_end. */
	bool left_ok = gs > q->low;
	bool right_ok = n->vm_end < q->high;
	if (q->topdown) {
		if (right_ok && search(n->right, q))
			return true;
		if (gap_fits(q, gs, n->vm_start))
			return true;
		return left_ok && search(n->left, q);
	}
	if (left_ok && search(n->left, q))
		return true;
	if (gap_fits(q, gs, n->vm_start))
		return true;
	return right_ok && search(n->right, q);
}

static s64 gap_find(struct vmlab_user_mm *mm, u64 len, u64 low, u64 high,
		    bool topdown)
{
	if (!len || high <= low || high - low < len)
		return -VMLAB_ENOMEM;
	struct gapq q = {.len = len, .low = low, .high = high,
			 .topdown = topdown};
	u64 top_start = mm->last ? mm->last->vm_end : 0;
	if (topdown && gap_fits(&q, top_start, ~0ULL))
		return (s64)q.addr;
	if (search(mm->root, &q))
		return (s64)q.addr;
	if (!topdown && gap_fits(&q, top_start, ~0ULL))
		return (s64)q.addr;
	return -VMLAB_ENOMEM;
}

s64 vt_gap_topdown(struct vmlab_user_mm *mm, u64 len, u64 low, u64 high)
{
	return gap_find(mm, len, low, high, true);
}

s64 vt_gap_bottomup(struct vmlab_user_mm *mm, u64 len, u64 low, u64 high)
{
	return gap_find(mm, len, low, high, false);
}

/* ------------------------------------------------------ validation */

#if VMLAB_DEBUG_CHECKS
static int check_rec(const struct vmlab_vma *n, u64 *count)
{
	if (!n)
		return 0;
	int hl = check_rec(n->left, count), hr = check_rec(n->right, count);
	assert(hl - hr <= 1 && hr - hl <= 1);
	assert(n->height == 1 + (hl > hr ? hl : hr));
	u64 g = n->gap;
	if (n->left) {
		assert(n->left->vm_start < n->vm_start);
		g = n->left->max_gap > g ? n->left->max_gap : g;
	}
	if (n->right) {
		assert(n->right->vm_start > n->vm_start);
		g = n->right->max_gap > g ? n->right->max_gap : g;
	}
	assert(n->max_gap == g);
	(*count)++;
	return n->height;
}
#endif

void vt_validate(struct vmlab_user_mm *mm)
{
#if VMLAB_DEBUG_CHECKS
	u64 n = 0, listed = 0, end = 0;
	check_rec(mm->root, &n);
	for (const struct vmlab_vma *v = mm->first; v; v = v->next) {
		assert(v->vm_start < v->vm_end && v->vm_start >= end);
		assert(v->gap == v->vm_start - end);
		assert(!v->next || v->next->prev == v);
		assert(v->mm == mm);
		end = v->vm_end;
		listed++;
	}
	assert(n == listed && n == mm->map_count);
#else
	(void)mm;
#endif
}
