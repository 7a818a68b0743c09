/* SPDX-License-Identifier: MIT */
/*
 * Free kernel virtual space, after mm/vmalloc.c (Linux 6.x): the free
 * blocks in free_vmap_area_root, a red-black tree keyed by va_start and
 * augmented with subtree_max_size, and free_vmap_area_list in address
 * order; the lowest-fit (and top-down highest-fit) search, va_clip()'s
 * cuts, merge_or_add_vmap_area()'s coalescing on free, the preloaded
 * node.  The tree's birth and death are here too (it starts as one free
 * block), and alloc_vmap_area()'s pairing of a range with a busy node
 * (vmap_busy.c has the busy tree).
 */
#include "vmap_tree_internal.h"

/* ---- preloaded node, free tree and free list --------------------------- */

/*
 * As the kernel preloads ne_fit_preload_node: get the node a split or an
 * insert may need before touching the tree, so neither can fail half-way.
 */
static int va_preload(struct vmlab_vmap_tree *t)
{
	if (!t->preload)
		t->preload = tree_zalloc(t, 1, sizeof(*t->preload));
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
	assert(!VMAP_DEBUG || (a >= req->vstart && !(a & (req->align - 1))));
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

	/* Bottom-up with exact pruning, the answer is the lowest block that
	 * fits: when the first block in address order does, it is that one
	 * (the descent would end there too; debug builds recheck). */
	va = t->free_root.head;
	if (!req->topdown && req->length == req->size && va &&
	    is_within_this_va(va, req, &nva)) {
		assert(!VMAP_DEBUG || find_vmap_match(t, req, &(u64){0}) == va);
	} else {
		va = find_vmap_match(t, req, &nva);
	}
	if (!va)
		return -VMLAB_ENOMEM;
	/* The search enforces one bound; the other is checked here, as the
	 * kernel checks vend after find_vmap_lowest_match(). */
	if (req->topdown ? nva < req->vstart : nva + req->size > req->vend)
		return -VMLAB_ENOMEM;
	va_clip(t, va, nva, req->size);
	t->free_bytes -= req->size;
	assert(!(nva & (req->align - 1)));
	assert(!VMAP_DEBUG ||
	       (nva >= req->vstart && nva + req->size <= req->vend));
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
	return vmlab_vmap_tree_init_alloc(out, start, end, NULL, NULL);
}

int vmlab_vmap_tree_init_alloc(struct vmlab_vmap_tree **out, u64 start,
			       u64 end,
			       void *(*zalloc)(void *ctx, size_t n, size_t size),
			       void *ctx)
{
	struct vmlab_vmap_tree *t;
	struct vmlab_vmap_area *va, *parent, **link;

	if (!out || start >= end || !page_aligned(start) || !page_aligned(end))
		return -VMLAB_EINVAL;
	t = zalloc ? zalloc(ctx, 1, sizeof(*t)) : calloc(1, sizeof(*t));
	if (!t)
		return -VMLAB_ENOMEM;
	t->zalloc = zalloc;
	t->zalloc_ctx = ctx;
	t->start = start;
	t->end = end;
	t->free_root.augment = true;
	if (vmap_busy_init(t) || va_preload(t)) {
		vmap_busy_destroy(t);
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
	vmap_busy_destroy(t);
	free(t);
}

void vmlab_vmap_set_adjust_search_size(struct vmlab_vmap_tree *t, bool on)
{
	assert(t);
	t->adjust_search_size = on;
}

static inline int alloc_range(struct vmlab_vmap_tree *t, u64 size, u64 align,
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

int vmlab_vmap_alloc_range(struct vmlab_vmap_tree *t, u64 size, u64 align,
			   u64 vstart, u64 vend, bool topdown, u64 *addr)
{
	return alloc_range(t, size, align, vstart, vend, topdown, addr);
}

/*
 * alloc_vmap_area()/free_vmap_area()'s tree halves: the range from the
 * free tree, then the busy node for it; and back.
 */
int vmlab_vmap_alloc_area(struct vmlab_vmap_tree *t, struct vmlab_vmap_area *va,
			  u64 size, u64 align, u64 vstart, u64 vend,
			  bool topdown)
{
	u64 addr;
	int ret;

	if (!va)
		return -VMLAB_EINVAL;
	ret = alloc_range(t, size, align, vstart, vend, topdown, &addr);
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

const struct vmlab_vmap_area *
vmlab_vmap_free_find(const struct vmlab_vmap_tree *t, u64 addr)
{
	const struct vmlab_vmap_area *va;

	assert(t);
	va = va_find_exceed(t->free_root.node, addr);
	return va && va->va_start <= addr ? va : NULL;
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
