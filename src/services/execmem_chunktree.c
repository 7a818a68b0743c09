/* SPDX-License-Identifier: MIT */
/*
 * The prog pack's chunks tracked by a vmap_area tree instead of a bitmap:
 * PeterZ's answer to "sub-2 MiB tracking still needs a bitmap" in
 * seeds/vmalloc-exec-rox.txt (claims 3.12, 3.13).  Each allocation is a
 * busy vmap_area and free space is the augmented free tree, exactly the
 * allocator vmalloc uses, over chunk units: chunk i of a pack is "page" i
 * of the tree, so the tree's page granularity becomes the chunk's (64 or
 * 1 byte) without touching it.  First fit bottom-up gives the bitmap's
 * lowest position, so the packs and chunks chosen stay the same; what
 * differs is the memory the tracking takes and how a free is checked (it
 * must match an allocation exactly).
 */
#include <stdlib.h>

#include "services/execmem_internal.h"
#include "services/vmap_tree.h"

/* sizeof(struct vmap_area) on 64-bit Linux 6.x: va_start, va_end,
 * rb_node, list_head, the subtree_max_size/vm union and flags. */
#define VMAP_AREA_BYTES 72

static inline u64 unit_addr(u32 pos)
{
	return (u64)pos << VMLAB_PAGE_SHIFT;
}

int ct_init(struct chunk_map *cm, u32 nbits)
{
	assert(nbits > 0);
	memset(cm, 0, sizeof(*cm));
	cm->nbits = nbits;
	cm->nfree = nbits;
	int err = vmlab_vmap_tree_init(&cm->tree, 0, unit_addr(nbits));
	assert(err || cm->tree);
	return err;
}

void ct_destroy(struct chunk_map *cm)
{
	struct vmlab_vmap_tree *t = cm->tree;
	if (!t)
		return;
	struct vmlab_vmap_area *va = vmlab_vmap_busy_first(t);
	while (va) {
		struct vmlab_vmap_area *n = vmlab_vmap_busy_next(t, va);
		vmlab_vmap_busy_remove(t, va);
		free(va);
		va = n;
	}
	vmlab_vmap_tree_destroy(t);
	cm->tree = NULL;
}

/* Reserve n units inside [lo, hi) as a busy vmap_area: its position. */
static s64 ct_alloc(struct chunk_map *cm, u32 n, u64 lo, u64 hi)
{
	struct vmlab_vmap_area *va = vmlab_vmap_area_alloc();
	if (!va)
		return -1;
	if (vmlab_vmap_alloc_area(cm->tree, va, unit_addr(n), 1, lo, hi,
				  false)) {
		free(va);
		return -1;
	}
	assert(va->va_end - va->va_start == unit_addr(n));
	cm->nfree -= n;
	return (s64)(va->va_start >> VMLAB_PAGE_SHIFT);
}

s64 ct_take(struct chunk_map *cm, u32 n)
{
	assert(cm->tree && n > 0);
	if (n > cm->nfree)
		return -1;
	return ct_alloc(cm, n, 0, unit_addr(cm->nbits));
}

void ct_set(struct chunk_map *cm, u32 pos, u32 n)
{
	assert(cm->tree && pos + n <= cm->nbits);
	s64 got = ct_alloc(cm, n, unit_addr(pos), unit_addr(pos + n));
	assert(got == (s64)pos);
	(void)got;
}

bool ct_is_alloc(const struct chunk_map *cm, u32 pos, u32 n)
{
	assert(cm->tree);
	if (pos >= cm->nbits || n == 0)
		return false;
	const struct vmlab_vmap_area *va =
		vmlab_vmap_busy_find_start(cm->tree, unit_addr(pos));
	return va && va->va_end - va->va_start == unit_addr(n);
}

void ct_clear(struct chunk_map *cm, u32 pos, u32 n)
{
	assert(ct_is_alloc(cm, pos, n));
	struct vmlab_vmap_area *va =
		vmlab_vmap_busy_find_start(cm->tree, unit_addr(pos));
	int err = vmlab_vmap_free_area(cm->tree, va);
	assert(!err);
	(void)err;
	free(va);
	cm->nfree += n;
	assert(cm->nfree <= cm->nbits);
}

u64 ct_track_bytes(const struct chunk_map *cm, u64 *nodes)
{
	assert(cm->tree);
	u64 n = vmlab_vmap_nr_busy(cm->tree) +
		vmlab_vmap_nr_free_blocks(cm->tree);
	*nodes += n;
	return n * VMAP_AREA_BYTES;
}
