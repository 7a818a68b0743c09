/* SPDX-License-Identifier: MIT */
/*
 * User page tables and pages: PTE lookup and allocation, a walk over the
 * PTE tables of a range, free_pgtables() with the kernel's floor/ceiling
 * rule, the mmu_gather wrapper that drops page references only after the
 * TLB flush, and page reference counting.
 */
#include "user/uinternal.h"

/* ------------------------------------------------------------ pages */

void page_get(struct vmlab_machine *m, u64 pfn)
{
	struct vmlab_page *pg = upage(m, pfn);
	assert(pg && pg->refcount > 0);
	assert(pg->owner == PG_OWNER_ANON || pg->owner == PG_OWNER_FILE);
	pg->refcount++;
}

void page_put(struct vmlab_machine *m, int cpu, u64 pfn)
{
	struct vmlab_page *pg = upage(m, pfn);
	assert(pg && pg->refcount > 0);
	if (pg->refcount > 1) {
		pg->refcount--;
		return;
	}
	assert(pg->mapcount == 0);
	/* A hugetlb folio goes back into its pool. */
	if (pg->private_ & PGP_HUGETLB) {
		free_huge_folio(m, cpu, pfn);
		return;
	}
	/* A page of a THP split only at its PMD stays with its folio. */
	if ((pg->private_ & PGP_FOLIO_PART) &&
	    deferred_folio_put(user_svc_peek(m), cpu, pfn))
		return;
	/* A PMD-mapped THP goes back as the order-9 block it is. */
	int order = (pg->private_ & PGP_THP) ? HPAGE_PMD_ORDER : 0;
	assert(!order || pg->order == HPAGE_PMD_ORDER);
	pg->private_ = 0;
	vmlab_free_pages(m, cpu, pfn, order);
}

void clear_user_frame(struct vmlab_machine *m, u64 pfn)
{
	assert(pfn < m->phys.nr_frames);
	struct frame_section *sec = m->phys.sections[pfn >> SECTION_SHIFT];
	u8 *p = sec ? sec->content[pfn & (SECTION_FRAMES - 1)] : NULL;
	if (p) /* a recycled frame keeps old bytes: clear_page() */
		memset(p, 0, VMLAB_PAGE_SIZE);
}

int alloc_user_page(struct vmlab_user_mm *mm, int cpu, u64 *pfn)
{
	int err = vmlab_alloc_pages(mm->m, cpu, 0, pfn);
	/* Direct reclaim runs the THP shrinker: split queued folios. */
	if (err && deferred_split_scan(mm->svc, cpu))
		err = vmlab_alloc_pages(mm->m, cpu, 0, pfn);
	if (err)
		return err;
	clear_user_frame(mm->m, *pfn);
	struct vmlab_page *pg = upage(mm->m, *pfn);
	pg->owner = PG_OWNER_ANON;
	pg->mapcount = 0;
	pg->private_ = 0;
	return 0;
}

void copy_page_content(struct vmlab_machine *m, u64 dst, u64 src)
{
	assert(dst != src);
	assert(dst < m->phys.nr_frames && src < m->phys.nr_frames);
	const u8 *s = frame_content(m, src, false);
	if (s == m->phys.zero_page) {
		clear_user_frame(m, dst);
		return;
	}
	memcpy(frame_content(m, dst, true), s, VMLAB_PAGE_SIZE);
}

u64 mk_upte(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot)
{
	assert(prot & (VMLAB_PAGE_USER | VMLAB_PAGE_PROTNONE));
	assert(!(prot & VMLAB_PAGE_GLOBAL) || !(prot & VMLAB_PAGE_PRESENT));
	return vmlab_mk_leaf(m, pfn, prot, VMLAB_LVL_PTE);
}

bool is_zero_pfn(struct vmlab_user_mm *mm, u64 pfn)
{
	return pfn == mm->svc->zero_pfn;
}

void rss_add(struct vmlab_user_mm *mm, u64 pfn, s64 d)
{
	const struct vmlab_page *pg = upage(mm->m, pfn);
	/* mm_counter_file(): shmem pages and regular files' apart */
	bool regfile = pg->owner == PG_OWNER_FILE &&
		       (pg->private_ & PGP_REGFILE);
	u64 *c = pg->owner == PG_OWNER_ANON ? &mm->rss_anon :
		 regfile		    ? &mm->rss_file :
					      &mm->rss_shmem;
	if (unlikely(d < 0 && *c < (u64)-d)) {
		/* A page counted to another mm (garbage in a page table
		 * named it): the counter stays at zero. */
		vmlab_warn(mm->m, "BUG: Bad rss-counter: pfn %#llx",
			   (unsigned long long)pfn);
		*c = 0;
		return;
	}
	*c += (u64)d;
}

/* ----------------------------------------------------------- gather */

void ug_init(struct ugather *g, struct vmlab_user_mm *mm, int cpu)
{
	assert(mm && mm->magic == USER_MM_MAGIC);
	vmlab_tlb_gather_mmu(&g->tlb, mm->hw, cpu);
	g->mm = mm;
	g->put = g->inline_;
	g->nput = 0;
	g->cap = UG_INLINE;
}

void ug_add_range(struct ugather *g, u64 start, u64 end)
{
	assert(start < end && end <= USER_VA_END(g->mm));
	vmlab_tlb_add_range(&g->tlb, start, end, VMLAB_PAGE_SHIFT);
	assert(g->tlb.start <= start && g->tlb.end >= end);
}

void ug_add_range_pmd(struct ugather *g, u64 haddr)
{
	assert(!(haddr & ~HPAGE_PMD_MASK) && haddr < USER_VA_END(g->mm));
	vmlab_tlb_add_range(&g->tlb, haddr, haddr + VMLAB_PMD_SIZE,
			    VMLAB_PMD_SHIFT);
	assert(g->tlb.start <= haddr && g->tlb.end >= haddr + VMLAB_PMD_SIZE);
}

void ug_put_page(struct ugather *g, u64 pfn)
{
	assert(g->put && g->nput <= g->cap);
	assert(!is_zero_pfn(g->mm, pfn));
	if (g->mm->svc->bugs & VMLAB_USER_BUG_EARLY_FREE) {
		/* The planted bug: the reference goes before the flush. */
		page_put(g->mm->m, g->tlb.cpu, pfn);
		return;
	}
	if (g->nput == g->cap) {
		struct vmlab_machine *m = g->mm->m;
		size_t cap = g->cap * 2;
		u64 *p = g->put == g->inline_ ?
				 host_malloc(m, cap * sizeof(*p)) :
				 host_realloc(m, g->put, cap * sizeof(*p));
		if (!p) {
			/* No batch to grow into: as __tlb_remove_folio_pages()
			 * when tlb_next_batch() fails, flush what is gathered
			 * and free those pages now. */
			vmlab_tlb_flush_mmu(m, &g->tlb);
			for (size_t i = 0; i < g->nput; i++)
				page_put(m, g->tlb.cpu, g->put[i]);
			g->nput = 0;
		} else {
			if (g->put == g->inline_)
				memcpy(p, g->inline_, sizeof(g->inline_));
			g->put = p;
			g->cap = cap;
		}
	}
	assert(g->nput < g->cap);
	g->put[g->nput++] = pfn;
}

void ug_drop_flush(struct ugather *g)
{
	/* Entries were cleared; the mutant forgets the range (and freed
	 * tables), so the finish frees without any flush. */
	g->tlb.start = ~0ULL;
	g->tlb.end = 0;
	g->tlb.freed_tables = false;
	g->tlb.fullmm = false;
}

void ug_finish(struct ugather *g)
{
	struct vmlab_machine *m = g->mm->m;
	assert(g->put && g->nput <= g->cap);
	/* tlb_finish_mmu(): the CPU flush, whose arch code also tells the
	 * secondary TLBs (mmu_notifier_arch_invalidate_secondary_tlbs, 6.6+:
	 * observer mm_flush). */
	vmlab_tlb_finish_mmu(m, &g->tlb);
	/* Only now can no CPU or device reach the pages through a stale
	 * entry. */
	for (size_t i = 0; i < g->nput; i++)
		page_put(m, g->tlb.cpu, g->put[i]);
	if (g->put != g->inline_)
		free(g->put);
	g->put = g->inline_;
	g->nput = 0;
	g->cap = UG_INLINE;
}

void user_tlbbatch_add(struct vmlab_user_mm *mm, struct vmlab_tlbbatch *b)
{
	assert(b && mm->hw);
	/* x86 arch_tlbbatch_add_pending() tells the secondary TLBs of the
	 * whole mm right away (they are not in the batch). */
	vmlab_tlbbatch_add_pending(mm->m, b, mm->hw);
	mm->tlb_flush_batched = true;
	assert(b->pending);
}

void flush_tlb_batched_pending(struct vmlab_user_mm *mm)
{
	assert(mm->magic == USER_MM_MAGIC);
	/* As the kernel, also when reclaim's own flush has already run:
	 * only this flush clears the mark.  The mutant is the kernel before
	 * 3ea277194daa: the PTE reclaim cleared looks like nothing to flush. */
	if (!mm->tlb_flush_batched ||
	    vmlab_mutant(mm->m, VMLAB_MUT_BATCHED_PENDING_IGNORED))
		return;
	mm->tlb_flush_batched = false;
	user_flush_tlb_mm_range(mm, 0, VMLAB_TLB_FLUSH_ALL);
}

void user_flush_tlb_mm_range(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	assert(start < end);
	vmlab_flush_tlb_mm_range(mm->m, user_cpu(mm), mm->hw, start, end,
				 VMLAB_PAGE_SHIFT, false);
}

/* ------------------------------------------------------------ PTEs */

int upte_lookup(struct vmlab_user_mm *mm, u64 addr, vmlab_ptep_t *ptep)
{
	assert(addr < USER_VA_END(mm) && ptep);
	return vmlab_lookup_entry(mm->m, mm->hw, addr, VMLAB_LVL_PTE, ptep);
}

/* __pte_alloc() and the upper levels' kin: a new, empty table of level
 * l - 1 linked from the empty level-l entry p that covers addr. */
static int table_populate(struct vmlab_user_mm *mm, u64 addr, int l,
			  vmlab_ptep_t p, u64 *table)
{
	struct vmlab_machine *m = mm->m;
	assert(l > VMLAB_LVL_PTE && !vmlab_get_entry(m, p));
	u64 child;
	int err = vmlab_pgtable_alloc(m, l - 1, &child);
	if (err)
		return err;
	u64 base = addr & ~(vmlab_level_size(l) - 1);
	vmlab_set_entry(m, mm->hw, base, l, p, m->arch->mk_table(child, true));
	*table = child;
	return 0;
}

int upt_alloc_level(struct vmlab_user_mm *mm, u64 addr, int level,
		    vmlab_ptep_t *ptep)
{
	struct vmlab_machine *m = mm->m;
	assert(addr < USER_VA_END(mm));
	assert(level >= VMLAB_LVL_PTE && level < VMLAB_LVL_PGD);
	u64 table = mm->hw->pgd_pfn;
	for (int l = VMLAB_LVL_PGD; l > level; l--) {
		vmlab_ptep_t p = entry_addr(table, addr, l);
		struct vmlab_pte_info in;
		m->arch->decode(vmlab_get_entry(m, p), l, &in);
		if (in.kind == VMLAB_PTE_TABLE) {
			table = in.pfn;
			continue;
		}
		if (l == VMLAB_LVL_PMD && level == VMLAB_LVL_PTE &&
		    pmd_trans_huge(m, vmlab_get_entry(m, p), &in)) {
			/* A PTE wanted under a huge PMD: split it first (the
			 * kernel's callers split_huge_pmd() before). */
			int err = split_huge_pmd(mm, addr);
			if (err)
				return err;
			l++;
			continue;
		}
		if (in.kind != VMLAB_PTE_NONE)
			return -VMLAB_EEXIST; /* no PUD-sized user leaves */
		int err = table_populate(mm, addr, l, p, &table);
		if (err)
			return err;
	}
	*ptep = entry_addr(table, addr, level);
	return 0;
}

int upte_alloc(struct vmlab_user_mm *mm, u64 addr, vmlab_ptep_t *ptep)
{
	return upt_alloc_level(mm, addr, VMLAB_LVL_PTE, ptep);
}

/* The walk from the top finds the same PTE (debug_checks). */
static inline bool pte_walks_to(struct vmlab_user_mm *mm, u64 addr,
				vmlab_ptep_t p)
{
	vmlab_ptep_t w;
	return upte_lookup(mm, addr, &w) == 0 && w == p;
}

int upte_alloc_pmd(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 addr,
		   vmlab_ptep_t *ptep)
{
	assert(addr < USER_VA_END(mm) && ptep);
	if (pmdp) {
		struct vmlab_pte_info in;
		mm->m->arch->decode(vmlab_get_entry(mm->m, pmdp), VMLAB_LVL_PMD,
				    &in);
		u64 table = in.pfn;
		int err = in.kind == VMLAB_PTE_NONE ?
				  table_populate(mm, addr, VMLAB_LVL_PMD, pmdp,
						 &table) :
				  0;
		if (err)
			return err;
		if (in.kind == VMLAB_PTE_NONE || in.kind == VMLAB_PTE_TABLE) {
			*ptep = entry_addr(table, addr, VMLAB_LVL_PTE);
			assert(!VMLAB_DEBUG_CHECKS || pte_walks_to(mm, addr, *ptep));
			return 0;
		}
	}
	/* A huge PMD, or none walked to: the whole walk (and split). */
	return upte_alloc(mm, addr, ptep);
}

static inline u64 lvl_next(u64 va, int level, u64 end)
{
	u64 next = (va | (vmlab_level_size(level) - 1)) + 1;
	return (next == 0 || next > end) ? end : next;
}

struct ptt {
	pt_fn fn;
	pmd_fn hfn;
	void *arg;
};

static int ptt_rec(struct vmlab_user_mm *mm, u64 table, int level, u64 va,
		   u64 end, const struct ptt *t)
{
	struct vmlab_machine *m = mm->m;
	assert(level >= VMLAB_LVL_PMD);
	assert(va < end && end <= USER_VA_END(mm));
	while (va < end) {
		u64 next = lvl_next(va, level, end);
		vmlab_ptep_t p = entry_addr(table, va, level);
		struct vmlab_pte_info in;
		u64 e = vmlab_get_entry(m, p);
		m->arch->decode(e, level, &in);
		if (level == VMLAB_LVL_PMD && pmd_trans_huge(m, e, &in)) {
			int r = t->hfn ? t->hfn(mm, p, e, va, next, t->arg) :
					 PT_SPLIT;
			if (r != PT_SPLIT && r)
				return r;
			if (r == PT_SPLIT) {
				r = split_huge_pmd(mm, va);
				if (r)
					return r;
				m->arch->decode(vmlab_get_entry(m, p), level, &in);
				/* A file THP's PMD is zapped, not split. */
				assert(in.kind == VMLAB_PTE_TABLE ||
				       !vmlab_get_entry(m, p));
			}
		}
		if (in.kind == VMLAB_PTE_TABLE) {
			int err = level == VMLAB_LVL_PMD ?
					  t->fn(mm, in.pfn, p, va, next, t->arg) :
					  ptt_rec(mm, in.pfn, level - 1, va,
						  next, t);
			if (err)
				return err;
		}
		va = next;
	}
	return 0;
}

int for_each_pmd(struct vmlab_user_mm *mm, u64 start, u64 end, pt_fn fn,
		 pmd_fn hfn, void *arg)
{
	const struct ptt t = {.fn = fn, .hfn = hfn, .arg = arg};
	assert(start <= end && end <= USER_VA_END(mm));
	assert(fn);
	if (start >= end)
		return 0;
	return ptt_rec(mm, mm->hw->pgd_pfn, VMLAB_LVL_PGD, start, end, &t);
}

int for_each_pte_table(struct vmlab_user_mm *mm, u64 start, u64 end,
		       pt_fn fn, void *arg)
{
	return for_each_pmd(mm, start, end, fn, NULL, arg);
}

/* -------------------------------------------------- free_pgtables */

static bool table_empty(struct vmlab_machine *m, u64 table)
{
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++)
		if (vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8))
			return false;
	return true;
}

static void free_rec(struct ugather *g, u64 table, int level, u64 va,
		     u64 end, u64 floor, u64 ceil)
{
	struct vmlab_user_mm *mm = g->mm;
	struct vmlab_machine *m = mm->m;
	assert(level >= VMLAB_LVL_PMD && level <= VMLAB_LVL_PGD);
	assert(floor < ceil);
	while (va < end) {
		u64 next = lvl_next(va, level, end);
		u64 size = vmlab_level_size(level);
		u64 s = va & ~(size - 1);
		vmlab_ptep_t p = entry_addr(table, va, level);
		struct vmlab_pte_info in;
		m->arch->decode(vmlab_get_entry(m, p), level, &in);
		if (in.kind == VMLAB_PTE_TABLE) {
			if (level > VMLAB_LVL_PMD)
				free_rec(g, in.pfn, level - 1, va, next, floor,
					 ceil);
			/* The table below covers [s, s + size): free it when
			 * no VMA can use any of that span. */
			if (s >= floor && s + size <= ceil) {
				if (VMLAB_DEBUG_CHECKS && !table_empty(m, in.pfn))
					vmlab_warn(m, "free_pgtables: table at %#llx "
						      "not empty",
						   (unsigned long long)s);
				vmlab_set_entry(m, mm->hw, s, level, p, 0);
				ug_add_range(g, s, s + VMLAB_PAGE_SIZE);
				vmlab_tlb_remove_table(m, &g->tlb, in.pfn);
			}
		}
		va = next;
	}
}

void free_pgtables(struct ugather *g, u64 start, u64 end, u64 floor,
		   u64 ceiling)
{
	u64 ceil = ceiling ? ceiling : USER_VA_END(g->mm);
	assert(start <= end && end <= USER_VA_END(g->mm));
	if (start >= end || floor >= ceil)
		return;
	free_rec(g, g->mm->hw->pgd_pfn, VMLAB_LVL_PGD, start, end, floor,
		 ceil);
}

static u64 count_rec(struct vmlab_machine *m, u64 table, int level)
{
	u64 n = 1;
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	assert(upage(m, table)->flags & VMLAB_PG_TABLE);
	if (level == VMLAB_LVL_PTE)
		return n;
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++) {
		u64 e = vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8);
		struct vmlab_pte_info in;
		m->arch->decode(e, level, &in);
		if (in.kind == VMLAB_PTE_TABLE)
			n += count_rec(m, in.pfn, level - 1);
	}
	return n;
}

u64 count_pgtables(struct vmlab_user_mm *mm)
{
	struct vmlab_machine *m = mm->m;
	u64 n = 1; /* the PGD */
	assert(mm->hw && !mm->hw->is_init);
	/* The user entries: x86's lower half, arm64's whole TTBR0 table. */
	u64 nr = USER_VA_END(mm) >> VMLAB_PGDIR_SHIFT;
	assert(nr && nr <= VMLAB_PTRS_PER_TABLE);
	for (u64 i = 0; i < nr; i++) {
		u64 e = vmlab_get_entry(m, (mm->hw->pgd_pfn << VMLAB_PAGE_SHIFT) +
					   i * 8);
		struct vmlab_pte_info in;
		m->arch->decode(e, VMLAB_LVL_PGD, &in);
		if (in.kind == VMLAB_PTE_TABLE)
			n += count_rec(m, in.pfn, VMLAB_LVL_PUD);
	}
	return n;
}
