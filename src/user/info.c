/* SPDX-License-Identifier: MIT */
/*
 * Inspection (fs/proc/task_mmu.c): /proc/PID/maps and smaps-style
 * listings, VMA descriptions with page counts, /proc/PID/pagemap entries
 * (PM_GUARD_REGION, bit 58, since 6.14) and a scan for runs of guard
 * markers.
 */
#include "user/swapops.h"

struct count_ctx {
	u64 rss, anon, swap, guard, thp, hugetlb, shmem_pmd;
	bool pfnmap;
};

/* smaps_pmd_entry(): AnonHugePages; the huge zero page counts nowhere. */
static int count_pmd(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 e,
		     u64 lo, u64 hi, void *arg)
{
	struct count_ctx *c = arg;
	struct vmlab_pte_info in;
	(void)pmdp;
	bool huge = pmd_trans_huge(mm->m, e, &in);
	assert(huge && lo < hi);
	(void)huge;
	if (is_huge_zero_pfn(mm, in.pfn))
		return 0;
	/* smaps_hugetlb_range(): hugetlb pages are not in Rss. */
	if (upage(mm->m, in.pfn)->private_ & PGP_HUGETLB) {
		c->hugetlb += PAGES(hi - lo);
		return 0;
	}
	c->rss += PAGES(hi - lo);
	/* A shmem THP: ShmemPmdMapped, not AnonHugePages. */
	if (upage(mm->m, in.pfn)->owner == PG_OWNER_FILE) {
		c->shmem_pmd += PAGES(hi - lo);
		return 0;
	}
	c->anon += PAGES(hi - lo);
	c->thp += PAGES(hi - lo);
	return 0;
}

static int count_table(struct vmlab_user_mm *mm, u64 table, vmlab_ptep_t pmdp,
		       u64 lo, u64 hi, void *arg)
{
	struct count_ctx *c = arg;
	(void)pmdp;
	assert(lo < hi && hi - lo <= VMLAB_PMD_SIZE);
	assert(table < vmlab_nr_frames(mm->m));
	for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
		u64 e = vmlab_get_entry(mm->m, entry_addr(table, va, 0));
		if (!e)
			continue;
		struct vmlab_pte_info in;
		mm->m->arch->decode(e, VMLAB_LVL_PTE, &in);
		if (in.kind == VMLAB_PTE_LEAF || in.kind == VMLAB_PTE_PROTNONE) {
			/* smaps_pte_entry(): vm_normal_page() is NULL for
			 * the shared zero page, so it adds nothing to Rss,
			 * Pss or Anonymous. */
			if (is_zero_pfn(mm, in.pfn))
				continue;
			c->rss++;
			if (!c->pfnmap &&
			    upage(mm->m, in.pfn)->owner == PG_OWNER_ANON)
				c->anon++;
		} else if (is_pfn_swap_entry(&in)) {
			/* A device-exclusive page is still the mm's. */
			c->rss++;
			c->anon += upage(mm->m, in.swp_offset)->owner ==
				   PG_OWNER_ANON;
		} else if (in.kind == VMLAB_PTE_SWAP) {
			c->swap++;
		} else if (is_guard_marker(&in)) {
			c->guard++;
		}
	}
	return 0;
}

static void fill_info(struct vmlab_user_mm *mm, const struct vmlab_vma *v,
		      struct vmlab_vma_info *o)
{
	struct count_ctx c = {.pfnmap = v->vm_flags & VMLAB_VM_PFNMAP};
	assert(v->mm == mm && o);
	for_each_pmd(mm, v->vm_start, v->vm_end, count_table, count_pmd, &c);
	assert(c.rss + c.swap + c.guard <= vma_pages(v));
	*o = (struct vmlab_vma_info){
		.start = v->vm_start, .end = v->vm_end, .pgoff = v->vm_pgoff,
		.flags = v->vm_flags,
		.file_id = v->file ? v->file->id : 0,
		.name = v->file ? v->file->name : NULL,
		.anon_vma_id = v->anon_vma ? v->anon_vma->id : 0,
		.rss_pages = c.rss, .anon_pages = c.anon, .swap_pages = c.swap,
		.guard_pages = c.guard, .thp_pages = c.thp,
		.shmem_pmd_pages = c.shmem_pmd,
		.hugetlb_pages = c.hugetlb,
	};
}

size_t vmlab_user_vmas(struct vmlab_user_mm *mm, struct vmlab_vma_info *out,
		       size_t max)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return 0;
	size_t n = 0;
	for (const struct vmlab_vma *v = mm->first; v; v = v->next, n++)
		if (out && n < max)
			fill_info(mm, v, &out[n]);
	assert(n == mm->map_count);
	return n;
}

int vmlab_user_vma_at(struct vmlab_user_mm *mm, u64 addr,
		      struct vmlab_vma_info *out)
{
	if (!mm || mm->magic != USER_MM_MAGIC || !out)
		return -VMLAB_EINVAL;
	struct vmlab_vma *v = vma_lookup(mm, addr);
	if (!v)
		return -VMLAB_ENOENT;
	fill_info(mm, v, out);
	return 0;
}

static void maps_line(FILE *f, const struct vmlab_vma *v)
{
	u64 fl = v->vm_flags;
	assert(f && v->vm_start < v->vm_end);
	int n = fprintf(f, "%08llx-%08llx %c%c%c%c %08llx %s %llu",
			(unsigned long long)v->vm_start,
			(unsigned long long)v->vm_end,
			(fl & VMLAB_VM_READ) ? 'r' : '-',
			(fl & VMLAB_VM_WRITE) ? 'w' : '-',
			(fl & VMLAB_VM_EXEC) ? 'x' : '-',
			(fl & VMLAB_VM_MAYSHARE) ? 's' : 'p',
			(unsigned long long)(v->file ? v->vm_pgoff << VMLAB_PAGE_SHIFT
						     : 0),
			v->file ? "00:01" : "00:00",
			(unsigned long long)(v->file ? v->file->id : 0));
	/* memfds and /dev/zero have no name in a directory; a regular
	 * file has one until unlinked */
	if (v->file)
		fprintf(f, "%*s%s%s", n < 73 ? 73 - n : 1, "", v->file->name,
			v->file->regular && v->file->linked ? "" : " (deleted)");
	fputc('\n', f);
}

void vmlab_user_print_maps(struct vmlab_user_mm *mm, void *file)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return;
	FILE *f = file ? file : stdout;
	assert(!mm->first || !mm->first->prev);
	for (const struct vmlab_vma *v = mm->first; v; v = v->next)
		maps_line(f, v);
}

static void vmflags_str(FILE *f, u64 fl)
{
	static const struct {
		u64 bit;
		const char *name;
	} names[] = {
		{VMLAB_VM_READ, "rd"},       {VMLAB_VM_WRITE, "wr"},
		{VMLAB_VM_EXEC, "ex"},       {VMLAB_VM_SHARED, "sh"},
		{VMLAB_VM_MAYREAD, "mr"},    {VMLAB_VM_MAYWRITE, "mw"},
		{VMLAB_VM_MAYEXEC, "me"},    {VMLAB_VM_MAYSHARE, "ms"},
		{VMLAB_VM_GROWSDOWN, "gd"},  {VMLAB_VM_PFNMAP, "pf"},
		{VMLAB_VM_MAYBE_GUARD, "gu"},
		{VMLAB_VM_LOCKED, "lo"},     {VMLAB_VM_IO, "io"},
		{VMLAB_VM_SEQ_READ, "sr"},   {VMLAB_VM_RAND_READ, "rr"},
		{VMLAB_VM_DONTCOPY, "dc"},   {VMLAB_VM_DONTEXPAND, "de"},
		{VMLAB_VM_LOCKONFAULT, "lf"}, {VMLAB_VM_ACCOUNT, "ac"},
		{VMLAB_VM_NORESERVE, "nr"},  {VMLAB_VM_HUGETLB, "ht"},
		{VMLAB_VM_SYNC, "sf"},       {VMLAB_VM_WIPEONFORK, "wf"},
		{VMLAB_VM_DONTDUMP, "dd"},   {VMLAB_VM_MIXEDMAP, "mm"},
		{VMLAB_VM_HUGEPAGE, "hg"},   {VMLAB_VM_NOHUGEPAGE, "nh"},
		{VMLAB_VM_MERGEABLE, "mg"},  {VMLAB_VM_DROPPABLE, "dp"},
	};
	assert(f);
	fprintf(f, "VmFlags:");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (fl & names[i].bit)
			fprintf(f, " %s", names[i].name);
	fputc('\n', f);
}

void vmlab_user_print_smaps(struct vmlab_user_mm *mm, void *file)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return;
	FILE *f = file ? file : stdout;
	for (const struct vmlab_vma *v = mm->first; v; v = v->next) {
		struct vmlab_vma_info in;
		fill_info(mm, v, &in);
		assert(in.anon_pages <= in.rss_pages);
		maps_line(f, v);
		fprintf(f, "Size:           %8llu kB\n",
			(unsigned long long)((in.end - in.start) >> 10));
		fprintf(f, "Rss:            %8llu kB\n",
			(unsigned long long)(in.rss_pages * 4));
		fprintf(f, "Anonymous:      %8llu kB\n",
			(unsigned long long)(in.anon_pages * 4));
		fprintf(f, "AnonHugePages:  %8llu kB\n",
			(unsigned long long)(in.thp_pages * 4));
		fprintf(f, "ShmemPmdMapped: %8llu kB\n",
			(unsigned long long)(in.shmem_pmd_pages * 4));
		fprintf(f, "Swap:           %8llu kB\n",
			(unsigned long long)(in.swap_pages * 4));
		fprintf(f, "Guard:          %8llu kB\n",
			(unsigned long long)(in.guard_pages * 4));
		fprintf(f, "Locked:         %8llu kB\n",
			(unsigned long long)((v->vm_flags & VMLAB_VM_LOCKED) ?
						     in.rss_pages * 4 : 0));
		vmflags_str(f, v->vm_flags);
	}
}

/* ------------------------------------------------------------ pagemap */

/* pagemap_pmd_range() on a huge PMD: the page of va within it. */
static u64 pmd_pagemap(struct vmlab_user_mm *mm, u64 va)
{
	vmlab_ptep_t pmdp;
	struct vmlab_pte_info in;
	if (vmlab_lookup_entry(mm->m, mm->hw, va, VMLAB_LVL_PMD, &pmdp) ||
	    !pmd_trans_huge(mm->m, vmlab_get_entry(mm->m, pmdp), &in))
		return 0;
	u64 pfn = in.pfn + PAGES(va & ~HPAGE_PMD_MASK);
	u64 r = VMLAB_PM_PRESENT | (pfn & VMLAB_PM_PFN_MASK) |
		((in.prot & PAGE_SOFT_DIRTY) ? VMLAB_PM_SOFT_DIRTY : 0);
	if (is_huge_zero_pfn(mm, in.pfn))
		return r;
	const struct vmlab_page *pg = upage(mm->m, in.pfn);
	/* PM_MMAP_EXCLUSIVE: the folio mapped once (6.18: whole-folio). */
	if (pg->private_ & (PGP_THP | PGP_HUGETLB) ? pg->mapcount == 1 :
				     upage(mm->m, pfn)->mapcount == 1)
		r |= VMLAB_PM_MMAP_EXCLUSIVE;
	return r;
}

static u64 pte_pagemap(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 va)
{
	vmlab_ptep_t p;
	if (upte_lookup(mm, va, &p))
		return pmd_pagemap(mm, va);
	u64 e = upte_get(mm, p);
	struct vmlab_pte_info in;
	mm->m->arch->decode(e, VMLAB_LVL_PTE, &in);
	/* pte_soft_dirty(), or pte_swp_soft_dirty() for a swap entry. */
	u64 sd = ((in.kind == VMLAB_PTE_LEAF || in.kind == VMLAB_PTE_PROTNONE) &&
		  (in.prot & PAGE_SOFT_DIRTY)) ||
				 (in.kind == VMLAB_PTE_SWAP && in.swp_soft_dirty) ?
			 VMLAB_PM_SOFT_DIRTY :
			 0;
	if (is_pfn_swap_entry(&in)) {
		/* pfn_swap_entry_to_page(): flags of the page it names. */
		const struct vmlab_page *pg = upage(mm->m, in.swp_offset);
		return VMLAB_PM_SWAP | sd |
		       (((u64)in.swp_type | (in.swp_offset << 5)) &
			VMLAB_PM_PFN_MASK) |
		       (pg->owner != PG_OWNER_ANON ? VMLAB_PM_FILE : 0) |
		       (pg->mapcount == 1 ? VMLAB_PM_MMAP_EXCLUSIVE : 0);
	}
	switch (in.kind) {
	case VMLAB_PTE_LEAF:
	case VMLAB_PTE_PROTNONE: { /* pte_present() on x86 */
		u64 r = VMLAB_PM_PRESENT | (in.pfn & VMLAB_PM_PFN_MASK) | sd;
		if (is_zero_pfn(mm, in.pfn) || (v->vm_flags & VMLAB_VM_PFNMAP))
			return r; /* vm_normal_page(): none */
		const struct vmlab_page *pg = mapped_upage(mm->m, in.pfn);
		if (!pg)
			return r; /* no mapped user page: a bad pte */
		if (pg->owner != PG_OWNER_ANON)
			r |= VMLAB_PM_FILE;
		if (pg->mapcount == 1)
			r |= VMLAB_PM_MMAP_EXCLUSIVE;
		return r;
	}
	case VMLAB_PTE_SWAP:
		return VMLAB_PM_SWAP | sd |
		       (((u64)in.swp_type | (in.swp_offset << 5)) &
			VMLAB_PM_PFN_MASK);
	case VMLAB_PTE_MARKER: {
		/* Markers are swap entries of the last type (31 on x86). */
		u64 r = VMLAB_PM_SWAP | ((31ULL | ((u64)in.marker << 5)) &
					 VMLAB_PM_PFN_MASK);
		if (in.marker & VMLAB_PTE_MARKER_UFFD_WP)
			r |= VMLAB_PM_UFFD_WP;
		if (in.marker & VMLAB_PTE_MARKER_GUARD)
			r |= VMLAB_PM_GUARD_REGION;
		return r;
	}
	default:
		return 0;
	}
}

/* pagemap_pte_hole() / pte_to_pagemap_entry(): a page of a VM_SOFTDIRTY
 * VMA is soft-dirty whatever its PTE says. */
static u64 pagemap_entry(struct vmlab_user_mm *mm, u64 va)
{
	assert(!(va & (VMLAB_PAGE_SIZE - 1)) && va < USER_VA_END(mm));
	struct vmlab_vma *v = vma_lookup(mm, va);
	if (!v)
		return 0;
	u64 r = pte_pagemap(mm, v, va);
	/* The mutant is pagemap_pte_hole() before 68b5a6524856: a page
	 * whose page table is not there (no PTE table, no huge PMD) reads
	 * PM_NOT_PRESENT only, whatever the VMA's VM_SOFTDIRTY says. */
	vmlab_ptep_t p;
	bool hole_lost =
		vmlab_mutant(mm->m, VMLAB_MUT_PAGEMAP_HOLE_NOT_SOFT_DIRTY) &&
		!r && upte_lookup(mm, va, &p);
	if ((v->vm_flags & VMLAB_VM_SOFTDIRTY) && !hole_lost)
		r |= VMLAB_PM_SOFT_DIRTY;
	return r;
}

int vmlab_pagemap_read(struct vmlab_user_mm *mm, u64 addr, u64 *entries,
		       size_t n)
{
	if (!mm || mm->magic != USER_MM_MAGIC || (!entries && n) ||
	    (addr & (VMLAB_PAGE_SIZE - 1)))
		return -VMLAB_EINVAL;
	if (addr >= USER_VA_END(mm) || n > PAGES(USER_VA_END(mm) - addr))
		return -VMLAB_EINVAL;
	/* The mutant is pagemap_pte_range() before 62c98294410d: having
	 * walked past the end of a VMA in a PTE table, it looked up the next
	 * VMA and used a PM_NOT_PRESENT entry with that VMA's VM_SOFTDIRTY
	 * for every address up to it, the unmapped gap included. */
	bool gap_bug = vmlab_mutant(mm->m, VMLAB_MUT_PAGEMAP_GAP_SOFT_DIRTY);
	bool left = false; /* a VMA ended in this PMD's walk */
	for (size_t i = 0; i < n; i++) {
		u64 va = addr + (i << VMLAB_PAGE_SHIFT);
		if (i && !(va & (VMLAB_PMD_SIZE - 1)))
			left = false; /* the next pagemap_pte_range() */
		entries[i] = pagemap_entry(mm, va);
		if (!gap_bug)
			continue;
		vmlab_ptep_t p;
		if (vma_lookup(mm, va)) {
			left = true;
			continue;
		}
		struct vmlab_vma *next = find_vma(mm, va);
		if (left && next && (next->vm_flags & VMLAB_VM_SOFTDIRTY) &&
		    !upte_lookup(mm, va, &p))
			entries[i] |= VMLAB_PM_SOFT_DIRTY;
	}
	return (int)n;
}

struct scan_ctx {
	struct vmlab_range *out;
	size_t max, n;
	bool open;
	u64 start, last_end;
};

static void scan_close(struct scan_ctx *c)
{
	if (!c->open)
		return;
	assert(c->start < c->last_end);
	assert(!c->max || c->out);
	if (c->n < c->max)
		c->out[c->n] = (struct vmlab_range){c->start, c->last_end};
	c->n++;
	c->open = false;
}

static int scan_table(struct vmlab_user_mm *mm, u64 table, vmlab_ptep_t pmdp,
		      u64 lo, u64 hi, void *arg)
{
	struct scan_ctx *c = arg;
	(void)pmdp;
	assert(lo < hi && hi - lo <= VMLAB_PMD_SIZE);
	assert(!c->open || c->last_end <= lo);
	for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
		struct vmlab_pte_info in;
		mm->m->arch->decode(vmlab_get_entry(mm->m,
						    entry_addr(table, va, 0)),
				    VMLAB_LVL_PTE, &in);
		if (!is_guard_marker(&in)) {
			scan_close(c);
			continue;
		}
		if (c->open && c->last_end != va)
			scan_close(c);
		if (!c->open) {
			c->open = true;
			c->start = va;
		}
		c->last_end = va + VMLAB_PAGE_SIZE;
	}
	return 0;
}

/* A huge PMD holds no guard marker: it ends a run. */
static int scan_pmd(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 e,
		    u64 lo, u64 hi, void *arg)
{
	(void)mm;
	(void)pmdp;
	(void)e;
	(void)lo; /* lo, hi: read by the assertion only */
	(void)hi;
	assert(lo < hi);
	scan_close(arg);
	return 0;
}

size_t vmlab_guard_scan(struct vmlab_user_mm *mm, u64 start, u64 end,
			struct vmlab_range *out, size_t max)
{
	if (!mm || mm->magic != USER_MM_MAGIC || start >= end)
		return 0;
	start &= VMLAB_PAGE_MASK;
	if (end > USER_VA_END(mm))
		end = USER_VA_END(mm);
	end = PAGE_ALIGN_UP(end);
	if (start >= end)
		return 0; /* all of it past the user address space */
	struct scan_ctx c = {.out = out, .max = out ? max : 0};
	for_each_pmd(mm, start, end, scan_table, scan_pmd, &c);
	scan_close(&c);
	return c.n;
}
