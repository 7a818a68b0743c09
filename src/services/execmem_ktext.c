/* SPDX-License-Identifier: MIT */
/*
 * The kernel image's text mapping (x86-64) and Song's proposal of
 * seeds/vmalloc-exec-rox.txt for its tail: this file owns both.
 *
 * Mainline (arch/x86/mm/init_64.c mark_rodata_ro()): the image's text is
 * mapped with 2 MiB pages from _text; rodata starts at the next 2 MiB
 * boundary (the linker script aligns it), so [round_up(_etext, 4K),
 * round_up(_etext, 2M)) is padding that free_kernel_image_pages() gives
 * back to the page allocator.  Freeing it changes the high mapping of
 * part of the last text page, which splits that page into 4 KiB pages:
 * the end of the kernel's text is then covered by 4 KiB translations.
 * The freed pages' high mapping is removed, as with PTI
 * (set_memory_np_noalias()), so no stale mapping of a freed frame stays.
 *
 * Song: map 2 MiB pages up to round_up(_etext, 2M) and keep them, and
 * use [_etext, round_up(_etext, 2M)) as the first pool of module text
 * (EXECMEM_MODULE_TEXT is served from it before execmem's allocator), so
 * the first modules' text shares the kernel's last 2 MiB translation.
 * The pool is tracked per page here (a module's text is page-granular),
 * so it starts at round_up(_etext, 4K).
 */
#include <stdlib.h>

#include "services/execmem_internal.h"

/* __START_KERNEL (no KASLR): __START_KERNEL_map + CONFIG_PHYSICAL_START. */
#define KTEXT_START 0xffffffff81000000ULL
/* KERNEL_IMAGE_SIZE is 1 GiB with KASLR, 512 MiB without. */
#define KTEXT_MAX (512 * VMLAB_MiB - 16 * VMLAB_MiB)
#define PMD_PAGES (VMLAB_PMD_SIZE >> VMLAB_PAGE_SHIFT)

static u64 round_up(u64 x, u64 a)
{
	return (x + a - 1) & ~(a - 1);
}

/* The frames of [va, va + n pages) of the high mapping (read back from
 * the tables: the frames are the ones mapped). */
static u64 ktext_pfn(struct vmlab_machine *m, u64 va)
{
	u64 pa;
	vmlab_pgprot_t prot;
	int level;
	int err = vmlab_translate(m, vmlab_init_mm(m), va, &pa, &prot, &level);
	assert(!err);
	(void)err;
	return pa >> VMLAB_PAGE_SHIFT;
}

/* The 2 MiB blocks: allocated, direct-map alias read-only (what
 * set_memory_ro() of the text does to the alias), mapped ROX. */
static int map_blocks(struct vmlab_machine *m, int cpu, struct xm_ktext *kt)
{
	for (u64 va = kt->text; va < kt->map_end; va += VMLAB_PMD_SIZE) {
		u64 pfn;
		int err = vmlab_alloc_pages(m, cpu, 9, &pfn);
		if (err)
			return err;
		/* Text bytes are not modelled: INT3 everywhere. */
		vmlab_phys_fill(m, pfn << VMLAB_PAGE_SHIFT, INT3, VMLAB_PMD_SIZE);
		err = vmlab_set_memory_ro(m, cpu, vmlab_page_address(m, pfn),
					  (int)PMD_PAGES);
		if (!err)
			err = vmlab_map_range(m, vmlab_init_mm(m), va,
					      pfn << VMLAB_PAGE_SHIFT,
					      VMLAB_PMD_SIZE,
					      VMLAB_PAGE_KERNEL_ROX,
					      VMLAB_MAP_HUGE_PMD);
		if (err) {
			vmlab_set_memory_rw(m, cpu, vmlab_page_address(m, pfn),
					    (int)PMD_PAGES);
			vmlab_free_pages(m, cpu, pfn, 9);
			return err;
		}
		kt->nr_blocks++;
	}
	assert(kt->nr_blocks == (kt->map_end - kt->text) / VMLAB_PMD_SIZE);
	return 0;
}

/* free_kernel_image_pages() of the gap: split, unmap, flush, alias back
 * to read-write, frames freed one by one. */
static int free_gap(struct vmlab_machine *m, int cpu, struct xm_ktext *kt)
{
	u64 last = kt->map_end - VMLAB_PMD_SIZE;
	u64 head = ktext_pfn(m, last);
	int err = vmlab_split_leaf(m, cpu, vmlab_init_mm(m), last,
				   VMLAB_LVL_PMD);
	if (err)
		return err;
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), cpu);
	err = vmlab_unmap_range(m, &tlb, kt->pool, kt->map_end - kt->pool,
				false);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_flush_tlb_kernel_range(m, cpu, kt->pool, kt->map_end);
	if (err < 0)
		return err;
	u64 first = head + ((kt->pool - last) >> VMLAB_PAGE_SHIFT);
	u64 n = (kt->map_end - kt->pool) >> VMLAB_PAGE_SHIFT;
	err = vmlab_set_memory_rw(m, cpu, vmlab_page_address(m, first), (int)n);
	if (err)
		return err;
	err = vmlab_split_page(m, head, 9);
	if (err)
		return err;
	for (u64 i = 0; i < n; i++)
		vmlab_free_pages(m, cpu, first + i, 0);
	kt->gap_freed = n;
	assert(first + n == head + PMD_PAGES);
	return 0;
}

int vmlab_kernel_text_map(struct vmlab_machine *m, int cpu, u64 text_bytes,
			  bool tail_pool)
{
	if (!m)
		return -VMLAB_EINVAL;
	if (m->arch->id != VMLAB_ARCH_X86_64) {
		vmlab_warn(m, "kernel_text_map: the x86-64 image layout only");
		return -VMLAB_EINVAL;
	}
	if (!vmlab_cpu_valid(m, cpu) || !text_bytes || text_bytes > KTEXT_MAX) {
		vmlab_warn(m, "kernel_text_map: bad cpu %d or size %llu", cpu,
			   (unsigned long long)text_bytes);
		return -VMLAB_EINVAL;
	}
	struct execmem *xm = xm_get(m);
	if (!xm)
		return -VMLAB_ENOMEM;
	if (xm->kt)
		return -VMLAB_EBUSY;
	struct xm_ktext *kt = host_calloc(m, 1, sizeof(*kt));
	if (!kt || cm_init(&kt->map, m, (u32)PMD_PAGES)) {
		free(kt);
		return -VMLAB_ENOMEM;
	}
	kt->text = KTEXT_START;
	kt->etext = KTEXT_START + text_bytes;
	kt->map_end = round_up(kt->etext, VMLAB_PMD_SIZE);
	kt->pool = round_up(kt->etext, VMLAB_PAGE_SIZE);
	kt->tail_pool = tail_pool;
	/* The pool's pages are the last block's from pool on. */
	cm_set(&kt->map, 0,
	       (u32)((kt->pool - (kt->map_end - VMLAB_PMD_SIZE)) >>
		     VMLAB_PAGE_SHIFT));
	xm->kt = kt;
	vmlab_checker_set_op(m, cpu, "kernel_text_map");
	int err = map_blocks(m, cpu, kt);
	if (!err && !tail_pool && kt->pool < kt->map_end)
		err = free_gap(m, cpu, kt);
	if (err)
		vmlab_warn(m, "kernel_text_map: %d (the image stays as far as "
			      "it got)", err);
	return err;
}

u64 ktext_alloc(struct execmem *xm, u64 size)
{
	struct xm_ktext *kt = xm->kt;
	assert(size > 0);
	if (!kt || !kt->tail_pool)
		return 0;
	u64 pages = round_up(size, VMLAB_PAGE_SIZE) >> VMLAB_PAGE_SHIFT;
	if (pages > kt->map.nfree)
		return 0;
	s64 pos = cm_take(&kt->map, (u32)pages);
	if (pos < 0)
		return 0;
	kt->used += pages << VMLAB_PAGE_SHIFT;
	kt->allocs++;
	u64 addr = kt->map_end - VMLAB_PMD_SIZE + ((u64)pos << VMLAB_PAGE_SHIFT);
	assert(addr >= kt->pool && addr + size <= kt->map_end);
	return addr;
}

int ktext_free(struct execmem *xm, int cpu, const struct xm_alloc *a)
{
	struct xm_ktext *kt = xm->kt;
	assert(kt && a->kind == XM_TAIL && a->addr >= kt->pool);
	u64 pages = round_up(a->size, VMLAB_PAGE_SIZE) >> VMLAB_PAGE_SHIFT;
	u32 pos = (u32)((a->addr - (kt->map_end - VMLAB_PMD_SIZE)) >>
			VMLAB_PAGE_SHIFT);
	/* The freed text is refilled with INT3 through the poking mm. */
	int err = vmlab_text_poke_set(xm->m, cpu, a->addr, INT3,
				      pages << VMLAB_PAGE_SHIFT);
	cm_clear(&kt->map, pos, (u32)pages);
	assert(kt->used >= pages << VMLAB_PAGE_SHIFT);
	kt->used -= pages << VMLAB_PAGE_SHIFT;
	return err;
}

bool ktext_contains(const struct execmem *xm, u64 addr)
{
	return xm->kt && addr >= xm->kt->text && addr < xm->kt->map_end;
}

void ktext_destroy(struct execmem *xm)
{
	if (!xm->kt)
		return;
	cm_destroy(&xm->kt->map);
	free(xm->kt);
	xm->kt = NULL;
}

void vmlab_kernel_text_stats(struct vmlab_machine *m,
			     struct vmlab_kernel_text_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct execmem *xm = m ? xm_state(m) : NULL;
	const struct xm_ktext *kt = xm ? xm->kt : NULL;
	if (!kt)
		return;
	out->text = kt->text;
	out->etext = kt->etext;
	out->map_end = kt->map_end;
	out->tail_pool = kt->tail_pool;
	out->gap_freed_pages = kt->gap_freed;
	out->pool_bytes = kt->tail_pool ? kt->map_end - kt->pool : 0;
	out->pool_used = kt->used;
	out->pool_allocs = kt->allocs;
	/* Translations of [_text, _etext): what the iTLB needs for it
	 * (one contiguous range: no leaf twice). */
	struct xm_leaves lv = {host_malloc(m, 64 * sizeof(u64)), 0, 64};
	if (lv.v && xm_cover_range(m, &lv, kt->text, kt->etext))
		for (size_t i = 0; i < lv.n; i++) {
			if (lv.v[i] & 1)
				out->leaves_2m++;
			else
				out->leaves_4k++;
		}
	free(lv.v);
}
