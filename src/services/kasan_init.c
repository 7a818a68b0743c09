/* SPDX-License-Identifier: MIT */
/*
 * KASAN's boot-time shadow layout, after mm/kasan/init.c
 * (kasan_populate_early_shadow), arch/x86/mm/kasan_init_64.c and
 * arch/arm64/mm/kasan_init.c with CONFIG_KASAN_VMALLOC:
 *
 *  - kasan_early_init(): one shared early shadow page and one shared
 *    table per level below the top (kasan_early_shadow_pte/pmd/pud), every
 *    entry of each pointing at the next, so one top-level link maps a whole
 *    PGD entry's worth of shadow onto the early page; at first the whole
 *    shadow region is mapped that way, writable.
 *  - kasan_init(): the shadow's top-level entries are cleared, the TLBs
 *    flushed, and the region rebuilt: real (zeroed) shadow for the
 *    direct map's RAM, the early shadow again over address ranges that are
 *    neither RAM nor vmalloc/modules (only where a range covers a whole
 *    entry is a shared table linked; at its ends the walk allocates real
 *    tables whose entries point at the shared ones), the vmalloc and
 *    module shadow left unmapped (the seed's requirement), and the holes
 *    of the linear map unmapped.  Then TLBs flushed, the early PTEs made
 *    read-only, the early page zeroed, and TLBs flushed again.
 *
 * Linux runs instrumented code all along and so rebuilds on a temporary
 * top-level table (x86 early_top_pgt, arm64 tmp_pg_dir); nothing runs in
 * the model meanwhile, so init_mm's own table is rebuilt in place.
 */
#include <stdlib.h>

#include "services/kasan_internal.h"
#include "vmlab/mutant.h"

/* x86-64 (Documentation/arch/x86/x86_64/mm.rst, 4-level; the layout's
 * cpu_entry_area and kernel_image): the CPU entry area, whose shadow
 * Linux populates on demand (not modelled: left unmapped), and
 * __START_KERNEL_map, the kernel image (not modelled either: its real
 * shadow is left out). */

static inline u64 align_up(u64 x, u64 a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline u64 align_down(u64 x, u64 a)
{
	return x & ~(a - 1);
}

/* The early table of a level (PUD, PMD or PTE), 0 for the page. */
static u64 early_of(const struct kasan_state *ks, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	return ks->early_tbl[level];
}

static void set_at(struct kasan_state *ks, u64 table, u64 idx, u64 va,
		   int level, u64 val)
{
	assert(idx < VMLAB_PTRS_PER_TABLE);
	vmlab_set_entry(ks->m, vmlab_init_mm(ks->m), va, level,
			(table << VMLAB_PAGE_SHIFT) + idx * 8, val);
}

/* kasan_early_init()'s tables: every entry points one level down; the
 * PTEs at the early page, writable until kasan_init() is done. */
static int early_tables_create(struct kasan_state *ks)
{
	struct vmlab_machine *m = ks->m;

	if (vmlab_alloc_pages(m, -1, 0, &ks->early_page))
		return -VMLAB_ENOMEM;
	vmlab_phys_fill(m, ks->early_page << VMLAB_PAGE_SHIFT, 0,
			VMLAB_PAGE_SIZE);
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PUD; l++) {
		int err = vmlab_pgtable_alloc(m, l, &ks->early_tbl[l]);
		if (err)
			return err;
	}
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PUD; l++) {
		u64 step = vmlab_level_size(l);
		u64 val = l == VMLAB_LVL_PTE
			      ? vmlab_mk_leaf(m, ks->early_page,
					      VMLAB_PAGE_KERNEL, VMLAB_LVL_PTE)
			      : m->arch->mk_table(ks->early_tbl[l - 1], false);
		/* A shared table translates many ranges: its stores name
		 * the first, in the shadow region. */
		for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++)
			set_at(ks, ks->early_tbl[l], i,
			       ks->shadow_start + i * step, l, val);
	}
	assert(ks->early_page && ks->early_tbl[VMLAB_LVL_PUD]);
	return 0;
}

bool kasan_early_table(const struct kasan_state *ks, u64 pfn)
{
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PUD; l++)
		if (ks->early_tbl[l] && pfn == ks->early_tbl[l])
			return true;
	return false;
}

/* The top-level entry translating va in init_mm. */
static vmlab_ptep_t top_entry(struct kasan_state *ks, u64 va)
{
	vmlab_ptep_t p = 0;
	int err = vmlab_lookup_entry(ks->m, vmlab_init_mm(ks->m), va,
				     VMLAB_LVL_PGD, &p);

	assert(!err);
	(void)err;
	return p;
}

/* clear_pgds() over the shadow region; x86's preallocated (empty) PUD
 * tables there are freed after the flush, as they were never used. */
static void clear_pgds(struct kasan_state *ks, u64 *freed, size_t *nfreed)
{
	struct vmlab_machine *m = ks->m;
	u64 pgd = (1ULL << VMLAB_PGDIR_SHIFT);

	for (u64 va = align_down(ks->shadow_start, pgd); va < ks->shadow_end;
	     va += pgd) {
		vmlab_ptep_t p = top_entry(ks, va);
		struct vmlab_pte_info in;

		vmlab_pte_decode(m, vmlab_get_entry(m, p), VMLAB_LVL_PGD, &in);
		if (in.kind == VMLAB_PTE_NONE)
			continue;
		vmlab_set_entry(m, vmlab_init_mm(m), va, VMLAB_LVL_PGD, p, 0);
		if (in.kind == VMLAB_PTE_TABLE && !kasan_early_table(ks, in.pfn))
			freed[(*nfreed)++] = in.pfn;
	}
}

/* kasan_early_init(): the whole shadow region on the early shadow. */
static void map_early_all(struct kasan_state *ks, u64 *freed, size_t *nfreed)
{
	struct vmlab_machine *m = ks->m;
	u64 link = m->arch->mk_table(early_of(ks, VMLAB_LVL_PUD), false);

	clear_pgds(ks, freed, nfreed);
	for (u64 va = align_down(ks->shadow_start, (1ULL << VMLAB_PGDIR_SHIFT));
	     va < ks->shadow_end; va += (1ULL << VMLAB_PGDIR_SHIFT))
		vmlab_set_entry(m, vmlab_init_mm(m), va, VMLAB_LVL_PGD,
				top_entry(ks, va), link);
}

/*
 * kasan_populate_early_shadow() below one entry of level + 1: [s, e)
 * page-aligned.  A range covering a whole entry links the shared table
 * of the level below (or, at the PTE level, the early page read-only);
 * a partial one gets a real table, walked on.
 */
static int populate_early(struct kasan_state *ks, u64 s, u64 e, int level)
{
	struct vmlab_machine *m = ks->m;
	struct vmlab_mm *mm = vmlab_init_mm(m);
	u64 size = vmlab_level_size(level);

	assert(s < e && !(s & ~VMLAB_PAGE_MASK) && !(e & ~VMLAB_PAGE_MASK));
	for (u64 a = s, next; a < e; a = next) {
		next = align_down(a, size) + size;
		next = next > e || next == 0 ? e : next;
		vmlab_ptep_t p;
		int err = vmlab_lookup_entry(m, mm, a, level, &p);
		assert(!err);
		u64 cur = vmlab_get_entry(m, p);
		struct vmlab_pte_info in;

		vmlab_pte_decode(m, cur, level, &in);
		if (level == VMLAB_LVL_PTE) {
			assert(in.kind == VMLAB_PTE_NONE);
			vmlab_set_entry(m, mm, a, level, p,
					vmlab_mk_leaf(m, ks->early_page,
						      VMLAB_PAGE_KERNEL_RO,
						      VMLAB_LVL_PTE));
			ks->st.early_shadow_entries++;
			continue;
		}
		if (!(a & (size - 1)) && next - a == size) {
			assert(in.kind == VMLAB_PTE_NONE);
			vmlab_set_entry(m, mm, a, level, p,
					m->arch->mk_table(early_of(ks, level - 1),
							  false));
			ks->st.early_shadow_entries++;
			continue;
		}
		if (in.kind == VMLAB_PTE_NONE) {
			u64 t;
			err = vmlab_pgtable_alloc(m, level - 1, &t);
			if (err)
				return err;
			vmlab_set_entry(m, mm, align_down(a, size), level, p,
					m->arch->mk_table(t, false));
		} else {
			/* Only real tables are walked into (never a shared
			 * one: its entries are every range's). */
			assert(in.kind == VMLAB_PTE_TABLE &&
			       !kasan_early_table(ks, in.pfn));
		}
		err = populate_early(ks, a, next, level - 1);
		if (err)
			return err;
	}
	return 0;
}

/* The shadow of memory [lo, hi): early shadow, page-aligned outward as
 * kasan_mem_to_shadow_align_down/up. */
static int early_range(struct kasan_state *ks, u64 lo, u64 hi)
{
	u64 s = align_down(kasan_shadow(ks, lo), VMLAB_PAGE_SIZE);
	u64 e = hi ? align_up(kasan_shadow(ks, hi), VMLAB_PAGE_SIZE)
		   : ks->shadow_end; /* up to 2^64 */

	s = s < ks->shadow_start ? ks->shadow_start : s;
	e = e > ks->shadow_end ? ks->shadow_end : e;
	return s < e ? populate_early(ks, s, e, VMLAB_LVL_PGD) : 0;
}

struct mem_range {
	u64 lo, hi;
};

/* The ranges each architecture's kasan_init() puts on the early shadow
 * (memory addresses; hi 0 is the top of the address space). */
static int early_ranges(struct kasan_state *ks)
{
	const struct vmlab_va_layout *l = ks->layout;
	struct mem_range r[7];
	int n = 0;

	if (vmlab_mutant(ks->m, VMLAB_MUT_KASAN_VMALLOC_EARLY_SHADOW)) {
		/* The layout without KASAN_VMALLOC: vmalloc and modules on
		 * the early shadow too. */
		r[n++] = (struct mem_range){l->vmalloc_start,
					    l->vmalloc_end + 1};
		if (l->modules_end != l->vmalloc_start)
			r[n++] = (struct mem_range){l->modules_vaddr,
						    l->modules_end};
		else
			r[n - 1].lo = l->modules_vaddr;
	}

	if (ks->m->arch->id == VMLAB_ARCH_ARM64) {
		/* PAGE_END .. MODULES_VADDR, VMALLOC_END .. the top (arm64's
		 * VMALLOC_END is exclusive, the layout's inclusive). */
		r[n++] = (struct mem_range){l->linear_end, l->modules_vaddr};
		r[n++] = (struct mem_range){l->vmalloc_end + 1, 0};
	} else {
		r[n++] = (struct mem_range){kasan_shadow_to_mem(ks, ks->shadow_start),
					l->page_offset};
		/* PAGE_OFFSET + MAXMEM .. VMALLOC_START */
		r[n++] = (struct mem_range){l->linear_end, l->vmalloc_start};
		r[n++] = (struct mem_range){l->vmalloc_end + 1,
					l->cpu_entry_area};
		r[n++] = (struct mem_range){l->cpu_entry_area_end,
					l->kernel_image};
		r[n++] = (struct mem_range){l->modules_end, 0};
	}
	for (int i = 0; i < n; i++) {
		int err = early_range(ks, r[i].lo, r[i].hi);
		if (err)
			return err;
	}
	return 0;
}

/*
 * kasan_init() for the direct map: real, zeroed shadow pages, 2 MiB
 * leaves where the shadow allows it (kasan_populate_pmd()).
 */
static int map_dm_shadow(struct kasan_state *ks)
{
	struct vmlab_machine *m = ks->m;
	u64 s = ks->dm_shadow_start, e = ks->dm_shadow_end;
	u64 max = ((e - s) >> VMLAB_PAGE_SHIFT) + 1;

	ks->dm_blocks = host_calloc(m, max, sizeof(u64));
	if (!ks->dm_blocks)
		return -VMLAB_ENOMEM;
	while (s < e) {
		bool huge = !(s & (VMLAB_PMD_SIZE - 1)) && e - s >= VMLAB_PMD_SIZE;
		int order = huge ? 9 : 0;
		u64 pfn, len = VMLAB_PAGE_SIZE << order;

		if (vmlab_alloc_pages(m, -1, order, &pfn))
			return -VMLAB_ENOMEM;
		assert(ks->nr_dm_blocks < max);
		ks->dm_blocks[ks->nr_dm_blocks++] = pfn << 4 | (u64)order;
		int err = vmlab_map_range(m, vmlab_init_mm(m), s,
					  pfn << VMLAB_PAGE_SHIFT, len,
					  VMLAB_PAGE_KERNEL,
					  huge ? VMLAB_MAP_HUGE_PMD : 0);
		if (err)
			return err;
		ks->st.dm_shadow_pages += 1ULL << order;
		s += len;
	}
	return 0;
}

/* x86: every kernel top-level entry keeps a table (user mms copy them,
 * preallocate_vmalloc_pages); the vmalloc shadow's come from
 * kasan_shallow_populate_pgds(), the rest stay empty. */
static int shallow_populate(struct kasan_state *ks)
{
	struct vmlab_machine *m = ks->m;

	if (m->arch->split_root)
		return 0;
	for (u64 va = align_down(ks->shadow_start, (1ULL << VMLAB_PGDIR_SHIFT));
	     va < ks->shadow_end; va += (1ULL << VMLAB_PGDIR_SHIFT)) {
		vmlab_ptep_t p = top_entry(ks, va);
		u64 pud;

		if (vmlab_get_entry(m, p))
			continue;
		int err = vmlab_pgtable_alloc(m, VMLAB_LVL_PUD, &pud);
		if (err)
			return err;
		vmlab_set_entry(m, vmlab_init_mm(m), va, VMLAB_LVL_PGD, p,
				m->arch->mk_table(pud, false));
	}
	return 0;
}

int kasan_init_shadow(struct kasan_state *ks)
{
	struct vmlab_machine *m = ks->m;
	size_t npgd = (size_t)((ks->shadow_end - align_down(ks->shadow_start,
							   (1ULL << VMLAB_PGDIR_SHIFT))) >>
			       VMLAB_PGDIR_SHIFT);
	u64 *freed = host_calloc(m, npgd + 1, sizeof(u64));
	size_t nfreed = 0;
	int err = freed ? early_tables_create(ks) : -VMLAB_ENOMEM;

	if (!err) {
		map_early_all(ks, freed, &nfreed);
		/* kasan_init(): off the early shadow, TLBs flushed. */
		clear_pgds(ks, freed, &nfreed);
		vmlab_flush_tlb_all(m, 0);
		ks->st.boot_flushes++;
		assert(nfreed <= npgd);
		for (size_t i = 0; i < nfreed; i++)
			vmlab_pgtable_free(m, freed[i]);
		err = early_ranges(ks);
	}
	free(freed);
	if (!err)
		err = map_dm_shadow(ks);
	if (!err)
		err = shallow_populate(ks);
	if (err)
		return err;
	vmlab_flush_tlb_all(m, 0);
	/* The early page may hold what early boot wrote: zeroed, and from
	 * now on read-only, with a flush so no writable entry survives. */
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++)
		set_at(ks, early_of(ks, VMLAB_LVL_PTE), i,
		       ks->shadow_start + i * VMLAB_PAGE_SIZE, VMLAB_LVL_PTE,
		       vmlab_mk_leaf(m, ks->early_page, VMLAB_PAGE_KERNEL_RO,
				     VMLAB_LVL_PTE));
	vmlab_phys_fill(m, ks->early_page << VMLAB_PAGE_SHIFT, 0,
			VMLAB_PAGE_SIZE);
	vmlab_flush_tlb_all(m, 0);
	ks->st.boot_flushes += 2;
	return 0;
}

bool vmlab_kasan_early_table(const struct vmlab_machine *m, u64 pfn)
{
	const struct kasan_state *ks = m ? m->svc[VMLAB_SVC_KASAN] : NULL;

	return ks && kasan_early_table(ks, pfn);
}

u64 vmlab_kasan_early_page(const struct vmlab_machine *m)
{
	const struct kasan_state *ks = m ? m->svc[VMLAB_SVC_KASAN] : NULL;

	return ks ? ks->early_page : 0;
}
