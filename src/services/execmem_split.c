/* SPDX-License-Identifier: MIT */
/*
 * The split module range of seeds/vmalloc-exec-rox.txt (Peter Zijlstra's
 * proposal): text bottom-up from MODULES_VADDR, data top-down with
 * VM_TOPDOWN_VMAP, and a tracked boundary between them.  The X part
 * [x_base, x_end) grows only at its end, one 2 MiB aligned ROX step at a
 * time (a 2 MiB leaf when the buddy has one, filled with INT3 and made
 * ROX before anyone sees it); data is allocated only above x_end, so the
 * two never cross: a step that would overlap data fails instead.
 *
 * Text is carved from the X part at page granularity, as the vmap_area
 * tree Peter suggested would give (Song's question 3.13: no sub-page
 * sharing), so every text allocation is RO+X from birth and is written
 * with text_poke_copy(); a freed one is refilled with INT3.
 */
#include "services/execmem_internal.h"

/* The X-part page map covers the whole module range; pages not yet in
 * the X part are marked used so a search never returns them. */
static int xmap_init(struct execmem *xm)
{
	if (xm->xmap.w)
		return 0;
	u32 pages = (u32)((xm->mod_end - xm->mod_start) >> VMLAB_PAGE_SHIFT);
	u32 bits = (pages + 63) & ~63u;
	if (cm_init(&xm->xmap, xm->m, bits))
		return -VMLAB_ENOMEM;
	cm_set(&xm->xmap, 0, bits);
	return 0;
}

/* Take the next 2 MiB of the module range into the X part. */
static int grow_x(struct execmem *xm, int cpu)
{
	assert(!(xm->x_end & (VMLAB_PMD_SIZE - 1)));
	if (xm->x_end + VMLAB_PMD_SIZE > xm->data_low) {
		vmlab_warn(xm->m, "execmem: X part would cross the data "
			      "boundary at %#llx",
			   (unsigned long long)xm->data_low);
		return -VMLAB_ENOSPC;
	}
	u64 a = xm_rox_area(xm, cpu, VMLAB_PMD_SIZE, xm->x_end,
			    xm->x_end + VMLAB_PMD_SIZE,
			    VMLAB_VM_ALLOW_HUGE_VMAP | VMLAB_VM_NO_GUARD,
			    "execmem_text_grow");
	if (!a)
		return -VMLAB_ENOMEM;
	assert(a == xm->x_end);
	u32 pos = (u32)((xm->x_end - xm->x_base) >> VMLAB_PAGE_SHIFT);
	cm_clear(&xm->xmap, pos, VMLAB_PTRS_PER_TABLE);
	xm->x_end += VMLAB_PMD_SIZE;
	xm->boundary_grows++;
	return 0;
}

static u64 lowest_data(struct execmem *xm)
{
	u64 low = xm->mod_end;
	for (u64 i = 0; i < xm->live.cap; i++) {
		const struct xm_alloc *a = &xm->live.slot[i];
		if (a->addr && a->type == VMLAB_EXECMEM_MODULE_DATA &&
		    a->addr < low)
			low = a->addr;
	}
	return low;
}

u64 split_alloc(struct execmem *xm, int cpu, enum vmlab_execmem_type t,
		u64 size, u64 *reserved, enum xm_kind *kind)
{
	u64 bytes = (size + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK;
	*reserved = bytes;
	if (!xm_is_text(t)) {
		/* module_alloc_data(): highest fit, above the boundary. */
		*kind = XM_AREA;
		u64 a = xm_vmalloc(xm, cpu, bytes, VMLAB_PAGE_SIZE, xm->x_end,
				   xm->mod_end,
				   VMLAB_VM_TOPDOWN_VMAP |
				       VMLAB_VM_FLUSH_RESET_PERMS,
				   "execmem_alloc_data");
		if (a && a < xm->data_low)
			xm->data_low = a;
		assert(!a || a >= xm->x_end);
		return a;
	}
	*kind = XM_SPLIT;
	if (xmap_init(xm))
		return 0;
	u32 n = (u32)(bytes >> VMLAB_PAGE_SHIFT);
	s64 pos;
	while ((pos = cm_find(&xm->xmap, n)) < 0)
		if (grow_x(xm, cpu))
			return 0;
	cm_set(&xm->xmap, (u32)pos, n);
	u64 addr = xm->x_base + ((u64)pos << VMLAB_PAGE_SHIFT);
	/* Never across the boundary. */
	assert(addr + bytes <= xm->x_end && xm->x_end <= xm->data_low);
	return addr;
}

int split_free(struct execmem *xm, int cpu, const struct xm_alloc *a)
{
	if (a->kind == XM_AREA) {
		assert(a->type == VMLAB_EXECMEM_MODULE_DATA);
		vmlab_vfree(xm->m, cpu, a->addr);
		xm->area_bytes -= xm_reserved(a, xm->chunk_shift);
		xm->nr_areas--;
		if (a->addr == xm->data_low)
			xm->data_low = lowest_data(xm);
		return 0;
	}
	assert(a->kind == XM_SPLIT && a->addr >= xm->x_base &&
	       a->addr + xm_reserved(a, xm->chunk_shift) <= xm->x_end);
	int err = vmlab_text_poke_set(xm->m, cpu, a->addr, INT3, xm_reserved(a, xm->chunk_shift));
	cm_clear(&xm->xmap, (u32)((a->addr - xm->x_base) >> VMLAB_PAGE_SHIFT),
		 (u32)(xm_reserved(a, xm->chunk_shift) >> VMLAB_PAGE_SHIFT));
	return err;
}

void split_destroy(struct execmem *xm)
{
	cm_destroy(&xm->xmap);
}
