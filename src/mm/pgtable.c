/* SPDX-License-Identifier: MIT */
/*
 * Range primitives over page tables: map, unmap, change protection and
 * split a large leaf.  None of them flushes: unmap and protect record what
 * needs flushing in the caller's mmu_gather, which also holds freed pages
 * and page-table pages until the flush is done.
 */
#include "machine/internal.h"


static inline bool user_table(const struct vmlab_mm *mm, u64 va)
{
	assert(mm);
	return !mm->is_init && !(va >> 63);
}

static inline u64 level_end(u64 va, int level, u64 end)
{
	assert(va < end);
	u64 next = (va | (vmlab_level_size(level) - 1)) + 1;
	/* next wraps to 0 at the top of the address space. */
	next = (next == 0 || next > end) ? end : next;
	assert(va < next && next - va <= vmlab_level_size(level));
	return next;
}

static int range_check(const struct vmlab_machine *m,
		       const struct vmlab_mm *mm, u64 va, u64 size)
{
	assert(mm);
	if (!size || (va | size) & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	if (va + size - 1 < va || !vmlab_va_canonical(m, va) ||
	    !vmlab_va_canonical(m, va + size - 1))
		return -VMLAB_EINVAL;
	/* Ranges are half-open; one ending at 2^64 (the fixmap's last page)
	 * cannot be named, so it is refused rather than wrapped to 0. */
	if (va + size == 0)
		return -VMLAB_EINVAL;
	/* A range may not straddle the non-canonical hole. */
	if ((va >> 63) != ((va + size - 1) >> 63))
		return -VMLAB_EINVAL;
	/* arm64: init_mm translates no user address (its TTBR0 is
	 * reserved_pg_dir). */
	if (!vmlab_mm_has_root(m, mm, va))
		return -VMLAB_EINVAL;
	return 0;
}

/* ------------------------------------------------- PTE-table cache */

static inline struct ptc_entry *ptc_slot(struct vmlab_machine *m,
					 const struct vmlab_mm *mm, u64 region)
{
	return &m->ptc[(region ^ mm->ctx_id) & (PTC_SIZE - 1)];
}

/* The cached PTE table of va's 2 MiB region in mm, or NULL. */
static inline u64 *ptc_get(struct vmlab_machine *m, const struct vmlab_mm *mm,
			   u64 va, u64 *table)
{
	u64 region = va >> VMLAB_PMD_SHIFT;
	const struct ptc_entry *p = ptc_slot(m, mm, region);
	if (p->host && p->seq == m->pt_seq && p->region == region &&
	    p->ctx_id == mm->ctx_id) {
		*table = p->table;
		return p->host;
	}
	return NULL;
}

/* Remember that the walk of va in mm reached PTE table `table`. */
static u64 *ptc_put(struct vmlab_machine *m, const struct vmlab_mm *mm, u64 va,
		    u64 table)
{
	u64 region = va >> VMLAB_PMD_SHIFT;
	struct ptc_entry *p = ptc_slot(m, mm, region);
	u64 *host = (u64 *)(void *)frame_content(m, table, true);
	if (unlikely((u8 *)host == m->phys.sink_page))
		return host; /* host out of memory: not a table to remember */
	*p = (struct ptc_entry){mm->ctx_id, region, m->pt_seq, table, host};
	/* Debug builds: the cache agrees with a walk from the top (while
	 * only the model wrote the tables: after a wild store into one the
	 * two walkers may decode its garbage differently). */
	if (VMLAB_DEBUG_CHECKS && !m->nr_pgtable_wild) {
		vmlab_ptep_t ptep;
		int err = vmlab_lookup_entry(m, (struct vmlab_mm *)(uintptr_t)mm,
					     va, VMLAB_LVL_PTE, &ptep);
		assert(!err && ptep >> VMLAB_PAGE_SHIFT == table);
		(void)err;
	}
	return host;
}

/* [va, va + size) inside one 2 MiB region. */
static inline bool one_region(u64 va, u64 size)
{
	return va >> VMLAB_PMD_SHIFT == (va + size - 1) >> VMLAB_PMD_SHIFT;
}

/*
 * The checks of range_check() a range inside one 2 MiB region needs when
 * that region's PTE table is cached: a cached region was reached by a
 * walk of a checked, canonical address, so the region is canonical and
 * so is all of [va, va + size).  Not ending at 2^64 rules out the wrap.
 */
static inline bool cached_range_ok(u64 va, u64 size)
{
	return size && !((va | size) & (VMLAB_PAGE_SIZE - 1)) &&
	       one_region(va, size) && va + size != 0;
}

/* The table below entry e at level, allocating it if e is none. */
static int ensure_table(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
			int level, vmlab_ptep_t ptep, u64 *table)
{
	assert(level >= VMLAB_LVL_PMD && level <= VMLAB_LVL_PGD);
	u64 e = vmlab_get_entry(m, ptep);
	struct vmlab_pte_info info;
	m->arch->decode(e, level, &info);
	if (info.kind == VMLAB_PTE_TABLE) {
		*table = info.pfn;
		return 0;
	}
	if (info.kind != VMLAB_PTE_NONE)
		return -VMLAB_EEXIST;
	int err = vmlab_pgtable_alloc(m, level - 1, table);
	if (err)
		return err;
	vmlab_set_entry(m, mm, va, level, ptep,
			m->arch->mk_table(*table, user_table(mm, va)));
	/* The new table is linked, and knows its level. */
	assert(vmlab_pfn_to_page(m, *table)->pt_level == level - 1);
	return 0;
}

struct map_args {
	struct vmlab_mm *mm;
	u64 end;
	u64 pa_delta; /* pa = va + pa_delta (mod 2^64) */
	vmlab_pgprot_t prot;
	u32 flags;
};

static bool huge_ok(const struct map_args *a, u64 va, int level)
{
	assert(level >= VMLAB_LVL_PMD && level <= VMLAB_LVL_PGD);
	u32 want = level == VMLAB_LVL_PMD ? VMLAB_MAP_HUGE_PMD :
		   level == VMLAB_LVL_PUD ? VMLAB_MAP_HUGE_PUD : 0;
	u64 size = vmlab_level_size(level);
	return (a->flags & want) && !(va & (size - 1)) &&
	       !((va + a->pa_delta) & (size - 1)) && a->end - va >= size;
}

/* 4 KiB leaves for [va, end) in one PTE table whose entries are host[]. */
static int map_ptes(struct vmlab_machine *m, const struct map_args *a,
		    u64 table, u64 *host, u64 va, u64 end)
{
	assert(va < end && end - va <= VMLAB_PMD_SIZE && one_region(va, end - va));
	for (; va < end; va += VMLAB_PAGE_SIZE) {
		u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (VMLAB_PTRS_PER_TABLE - 1);
		if (host[idx] && !(a->flags & VMLAB_MAP_REPLACE))
			return -VMLAB_EEXIST;
		u64 pfn = (va + a->pa_delta) >> VMLAB_PAGE_SHIFT;
		entry_store(m, a->mm, va, VMLAB_LVL_PTE,
			    (table << VMLAB_PAGE_SHIFT) + idx * 8, &host[idx],
			    m->arch->mk_leaf(pfn, a->prot, VMLAB_LVL_PTE));
	}
	return 0;
}

static int map_level(struct vmlab_machine *m, struct map_args *a, u64 table,
		     int level, u64 va, u64 end)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	if (level == VMLAB_LVL_PTE)
		return map_ptes(m, a, table, ptc_put(m, a->mm, va, table), va,
				end);
	assert(va < end && end <= a->end && !(va & ~VMLAB_PAGE_MASK));
	/* Bounded: one pass per entry of this table. */
	for (int n = 0; va < end; n++) {
		assert(n < VMLAB_PTRS_PER_TABLE);
		u64 next = level_end(va, level, end);
		vmlab_ptep_t ptep = entry_addr(table, va, level);
		bool leaf = level == VMLAB_LVL_PTE || huge_ok(a, va, level);
		if (leaf) {
			u64 old = vmlab_get_entry(m, ptep);
			struct vmlab_pte_info info;
			m->arch->decode(old, level, &info);
			if (info.kind == VMLAB_PTE_TABLE ||
			    (old && !(a->flags & VMLAB_MAP_REPLACE)))
				return -VMLAB_EEXIST;
			/* A leaf maps its whole entry. */
			assert(next - va == vmlab_level_size(level));
			u64 pfn = (va + a->pa_delta) >> VMLAB_PAGE_SHIFT;
			vmlab_set_entry(m, a->mm, va, level, ptep,
					m->arch->mk_leaf(pfn, a->prot, level));
		} else {
			u64 child;
			int err = ensure_table(m, a->mm, va, level, ptep, &child);
			if (err)
				return err;
			err = map_level(m, a, child, level - 1, va, next);
			if (err)
				return err;
		}
		va = next;
	}
	return 0;
}

int vmlab_map_range(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		    u64 pa, u64 size, vmlab_pgprot_t prot, u32 flags)
{
	if (!mm || (pa & (VMLAB_PAGE_SIZE - 1)))
		return -VMLAB_EINVAL;
	if (pa + size < pa || (pa + size) >> VMLAB_PAGE_SHIFT > m->phys.nr_frames)
		return -VMLAB_EINVAL;
	if (!(prot & (VMLAB_PAGE_PRESENT | VMLAB_PAGE_PROTNONE)))
		return -VMLAB_EINVAL;
	struct map_args a = {mm, va + size, pa - va, prot, flags};
	/* 4 KiB pages in a region whose PTE table is cached: no walk, and
	 * the cache vouches for the address. */
	u64 table, *host;
	if (!(flags & (VMLAB_MAP_HUGE_PMD | VMLAB_MAP_HUGE_PUD)) &&
	    cached_range_ok(va, size) && (host = ptc_get(m, mm, va, &table))) {
		assert(!VMLAB_DEBUG_CHECKS || !range_check(m, mm, va, size));
		return map_ptes(m, &a, table, host, va, va + size);
	}
	if (range_check(m, mm, va, size))
		return -VMLAB_EINVAL;
	return map_level(m, &a, vmlab_mm_root(m, mm, va), VMLAB_LVL_PGD, va,
			 va + size);
}

/*
 * The cached-table case of vmlab_map_pages(): nr frames at va, inside
 * one region, its table's entries host[].  The frames were checked; as
 * map_ptes(), an entry already set stops it with -EEXIST.
 */
static int map_pages_cached(struct vmlab_machine *m, struct vmlab_mm *mm,
			    u64 va, const u64 *pfns, u64 nr,
			    vmlab_pgprot_t prot, u64 table, u64 *host)
{
	u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (VMLAB_PTRS_PER_TABLE - 1);
	vmlab_ptep_t ptep = (table << VMLAB_PAGE_SHIFT) + idx * 8;

	assert(nr && idx + nr <= VMLAB_PTRS_PER_TABLE);
	for (u64 i = 0; i < nr; i++, idx++, ptep += 8, va += VMLAB_PAGE_SIZE) {
		if (host[idx])
			return -VMLAB_EEXIST;
		entry_store(m, mm, va, VMLAB_LVL_PTE, ptep, &host[idx],
			    m->arch->mk_leaf(pfns[i], prot, VMLAB_LVL_PTE));
	}
	return 0;
}

/* The run of a range mapped in one region (its table cached by now). */
static void pte_run_note(struct vmlab_machine *m, const struct vmlab_mm *mm,
			 u64 va, u64 size, struct vmlab_pte_run *run)
{
	u64 table, *host = NULL;

	if (one_region(va, size))
		host = ptc_get(m, mm, va, &table);
	*run = (struct vmlab_pte_run){.seq = m->pt_seq,
				      .ctx_id = mm->ctx_id,
				      .region = va >> VMLAB_PMD_SHIFT,
				      .table = host ? table : 0,
				      .host = host};
}

/* Is run still the PTE table of va's region in mm? */
static inline bool pte_run_valid(const struct vmlab_machine *m,
				 const struct vmlab_mm *mm,
				 const struct vmlab_pte_run *run, u64 va)
{
	return run && run->host && run->seq == m->pt_seq &&
	       run->region == va >> VMLAB_PMD_SHIFT && run->ctx_id == mm->ctx_id;
}

/* Debug builds: a valid run is the table a walk of va reaches. */
static void pte_run_debug_check(struct vmlab_machine *m, struct vmlab_mm *mm,
				const struct vmlab_pte_run *run, u64 va)
{
	if (VMLAB_DEBUG_CHECKS && !m->nr_pgtable_wild) { /* as ptc_put */
		vmlab_ptep_t p;
		int err = vmlab_lookup_entry(m, mm, va, VMLAB_LVL_PTE, &p);
		assert(!err && p >> VMLAB_PAGE_SHIFT == run->table);
		assert(frame_content(m, run->table, false) == (u8 *)run->host);
		(void)err;
	}
	(void)m;
	(void)mm;
	(void)run;
	(void)va;
}

/* vmlab_map_pages() without a valid run for va: the cache, or walks. */
static __attribute__((noinline)) int
map_pages_slow(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
	       const u64 *pfns, u64 nr, vmlab_pgprot_t prot,
	       struct vmlab_pte_run *run)
{
	u64 size = nr << VMLAB_PAGE_SHIFT, table = 0, *host = NULL;

	if (run)
		run->host = NULL;
	if (!mm || !pfns || !nr || nr > (~0ULL >> VMLAB_PAGE_SHIFT))
		return -VMLAB_EINVAL;
	/* Every frame exists and the range lies in one region whose table
	 * is cached: the checks vmlab_map_range() makes of each run hold
	 * for all of them. */
	bool ok = (prot & (VMLAB_PAGE_PRESENT | VMLAB_PAGE_PROTNONE)) &&
		  cached_range_ok(va, size);
	for (u64 i = 0; i < nr; i++)
		ok &= pfns[i] < m->phys.nr_frames;
	if (ok && (host = ptc_get(m, mm, va, &table))) {
		assert(!VMLAB_DEBUG_CHECKS || !range_check(m, mm, va, size));
		int err = map_pages_cached(m, mm, va, pfns, nr, prot, table,
					   host);
		if (run && !err)
			*run = (struct vmlab_pte_run){m->pt_seq, mm->ctx_id,
						      va >> VMLAB_PMD_SHIFT,
						      table, host};
		return err;
	}
	for (u64 i = 0; i < nr;) {
		u64 j = i + 1;

		while (j < nr && pfns[j] == pfns[j - 1] + 1)
			j++;
		int err = vmlab_map_range(m, mm, va + (i << VMLAB_PAGE_SHIFT),
					  pfns[i] << VMLAB_PAGE_SHIFT,
					  (j - i) << VMLAB_PAGE_SHIFT, prot, 0);
		if (err)
			return err;
		i = j;
	}
	if (run)
		pte_run_note(m, mm, va, size, run);
	return 0;
}

int vmlab_map_pages(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		    const u64 *pfns, u64 nr, vmlab_pgprot_t prot,
		    struct vmlab_pte_run *run)
{
	/* The common case, pages landing in the table of the caller's run:
	 * the range is checked as map_pages_slow() checks it, and the run
	 * stays as it is. */
	bool ok = mm && pfns && nr && nr <= VMLAB_PTRS_PER_TABLE &&
		  pte_run_valid(m, mm, run, va) &&
		  (prot & (VMLAB_PAGE_PRESENT | VMLAB_PAGE_PROTNONE)) &&
		  cached_range_ok(va, nr << VMLAB_PAGE_SHIFT);
	for (u64 i = 0; ok && i < nr; i++)
		ok = pfns[i] < m->phys.nr_frames;
	if (!likely(ok))
		return map_pages_slow(m, mm, va, pfns, nr, prot, run);
	pte_run_debug_check(m, mm, run, va);
	int err = map_pages_cached(m, mm, va, pfns, nr, prot, run->table,
				   run->host);
	if (err)
		run->host = NULL;
	return err;
}

/* ------------------------------------------------------------ split */

/*
 * Where the architecture forbids replacing a live block by a table
 * directly (arm64 break-before-make; x86 has no such rule), the block goes
 * invalid and is flushed from every TLB first, as __split_huge_pmd()'s
 * pmdp_invalidate() does.  cpu issues the flush.
 */
static void split_break(struct vmlab_machine *m, struct vmlab_mm *mm, int cpu,
			u64 base, int level, vmlab_ptep_t ptep)
{
	u64 size = vmlab_level_size(level);
	assert(!(base & (size - 1)) && vmlab_cpu_valid(m, cpu));
	vmlab_set_entry(m, mm, base, level, ptep, 0);
	if (mm->is_init)
		vmlab_flush_tlb_kernel_range(m, cpu, base, base + size);
	else
		vmlab_flush_tlb_mm_range(m, cpu, mm, base, base + size,
					 vmlab_level_shift(level), false);
	assert(vmlab_get_entry(m, ptep) == 0);
}

static int split_entry(struct vmlab_machine *m, struct vmlab_mm *mm, int cpu,
		       u64 va, int level, vmlab_ptep_t ptep)
{
	assert(level == VMLAB_LVL_PMD || level == VMLAB_LVL_PUD);
	u64 e = vmlab_get_entry(m, ptep);
	struct vmlab_pte_info info;
	m->arch->decode(e, level, &info);
	if (info.kind != VMLAB_PTE_LEAF && info.kind != VMLAB_PTE_PROTNONE)
		return -VMLAB_ENOENT;
	u64 table;
	int err = vmlab_pgtable_alloc(m, level - 1, &table);
	if (err)
		return err;
	u64 base = va & ~(vmlab_level_size(level) - 1);
	u64 step = vmlab_level_size(level - 1);
	u64 te = m->arch->mk_table(table, user_table(mm, base));
	/* Break first (the new entries must not meet cached ones), as
	 * __split_huge_pmd_locked() invalidates before it fills. */
	if (m->arch->bbm_required && m->arch->bbm_required(e, te, level))
		split_break(m, mm, cpu, base, level, ptep);
	/* Fill the new table completely before it becomes reachable, so no
	 * walker ever sees a half-built table. */
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++) {
		u64 pfn = info.pfn + i * (step >> VMLAB_PAGE_SHIFT);
		vmlab_set_entry(m, mm, base + i * step, level - 1,
				(table << VMLAB_PAGE_SHIFT) + i * 8,
				m->arch->mk_leaf(pfn, info.prot, level - 1));
	}
	vmlab_set_entry(m, mm, base, level, ptep, te);
	/* The large leaf is now a table of next-level leaves. */
	struct vmlab_pte_info now;
	m->arch->decode(vmlab_get_entry(m, ptep), level, &now);
	assert(now.kind == VMLAB_PTE_TABLE && now.pfn == table);
	return 0;
}

int vmlab_split_leaf(struct vmlab_machine *m, int cpu, struct vmlab_mm *mm,
		     u64 va, int level)
{
	if (!mm || !vmlab_cpu_valid(m, cpu) || (level != VMLAB_LVL_PMD && level != VMLAB_LVL_PUD) ||
	    !vmlab_va_canonical(m, va))
		return -VMLAB_EINVAL;
	vmlab_ptep_t ptep;
	int err = vmlab_lookup_entry(m, mm, va, level, &ptep);
	if (err)
		return err;
	if (!m->arch->is_large(vmlab_get_entry(m, ptep), level)) {
		u64 e = vmlab_get_entry(m, ptep);
		struct vmlab_pte_info info;
		m->arch->decode(e, level, &info);
		if (info.kind != VMLAB_PTE_PROTNONE)
			return -VMLAB_ENOENT;
	}
	/* A break-before-make flush is issued by the CPU splitting. */
	return split_entry(m, mm, cpu, va, level, ptep);
}

/* ---------------------------------------------------- unmap / protect */

struct zap_args {
	struct vmlab_mmu_gather *tlb;
	bool free_tables;
	bool protect;
	vmlab_pgprot_t set, clear;
	s64 done;
};

static bool table_empty(struct vmlab_machine *m, u64 table)
{
	assert(table < m->phys.nr_frames);
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++)
		if (vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8))
			return false;
	return true;
}

/* slot: the entry's host bytes when the caller has them, else NULL. */
static void leaf_op(struct vmlab_machine *m, struct zap_args *z, u64 va,
		    int level, vmlab_ptep_t ptep, u64 *slot,
		    const struct vmlab_pte_info *in)
{
	struct vmlab_mmu_gather *tlb = z->tlb;
	u64 size = vmlab_level_size(level);
	/* A whole non-table entry, never an empty one. */
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	assert(in->kind != VMLAB_PTE_TABLE && in->kind != VMLAB_PTE_NONE);
	assert(!(va & (size - 1)));
	bool was_present = in->kind == VMLAB_PTE_LEAF;
	if (!z->protect) {
		if (slot)
			entry_store(m, tlb->mm, va, level, ptep, slot, 0);
		else
			vmlab_set_entry(m, tlb->mm, va, level, ptep, 0);
	} else {
		if (in->kind != VMLAB_PTE_LEAF && in->kind != VMLAB_PTE_PROTNONE)
			return;
		vmlab_pgprot_t p = (in->prot & ~z->clear) | z->set;
		/* Not present to hardware, but the frame is kept: the x86
		 * PROT_NONE encoding (callers manage the shared G bit). */
		if (!(p & VMLAB_PAGE_PRESENT))
			p |= VMLAB_PAGE_PROTNONE;
		u64 val = m->arch->mk_leaf(in->pfn, p, level);
		if (slot)
			entry_store(m, tlb->mm, va, level, ptep, slot, val);
		else
			vmlab_set_entry(m, tlb->mm, va, level, ptep, val);
	}
	if (was_present) {
		vmlab_tlb_add_range(tlb, va, va + size,
				    (int)vmlab_level_shift(level));
		z->done++;
	}
}

/*
 * The 4 KiB entries of [va, end) in one PTE table whose entries are host[].
 * Unmapping a present page (the common entry) needs no decoding: it is
 * cleared in place, and the pages cleared so join the gather as one range
 * at the end (the range and stride leaf_op's per-page adds would give).
 */
static void zap_ptes(struct vmlab_machine *m, struct zap_args *z, u64 table,
		     u64 *host, u64 va, u64 end)
{
	const u64 page = m->arch->pte_page_mask;
	u64 lo = end, hi = 0; /* present pages cleared inline */

	assert(va < end && end - va <= VMLAB_PMD_SIZE && one_region(va, end - va));
	assert(page);
	for (; va < end; va += VMLAB_PAGE_SIZE) {
		u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (VMLAB_PTRS_PER_TABLE - 1);
		u64 e = host[idx];
		vmlab_ptep_t ptep = (table << VMLAB_PAGE_SHIFT) + idx * 8;
		if (!e)
			continue; /* none */
		struct vmlab_pte_info info;
		if ((e & page) == page && !z->protect) {
			if (VMLAB_DEBUG_CHECKS) {
				m->arch->decode(e, VMLAB_LVL_PTE, &info);
				assert(info.kind == VMLAB_PTE_LEAF);
			}
			entry_store(m, z->tlb->mm, va, VMLAB_LVL_PTE, ptep,
				    &host[idx], 0);
			lo = va < lo ? va : lo;
			hi = va + VMLAB_PAGE_SIZE;
			z->done++;
			continue;
		}
		m->arch->decode(e, VMLAB_LVL_PTE, &info);
		if (info.kind == VMLAB_PTE_NONE)
			continue; /* an arch may encode "none" non-zero */
		assert(info.kind != VMLAB_PTE_TABLE); /* no tables below PTE */
		leaf_op(m, z, va, VMLAB_LVL_PTE, ptep, &host[idx], &info);
	}
	if (hi)
		vmlab_tlb_add_range(z->tlb, lo, hi, VMLAB_PAGE_SHIFT);
}

static int zap_level(struct vmlab_machine *m, struct zap_args *z, u64 table,
		     int level, u64 va, u64 end)
{
	struct vmlab_mm *mm = z->tlb->mm;
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD && va < end);
	if (level == VMLAB_LVL_PTE) {
		zap_ptes(m, z, table, ptc_put(m, mm, va, table), va, end);
		return 0;
	}
	/* Bounded: one pass per entry, plus one re-read after each split. */
	for (int n = 0; va < end; n++) {
		assert(n < 2 * VMLAB_PTRS_PER_TABLE);
		u64 next = level_end(va, level, end);
		vmlab_ptep_t ptep = entry_addr(table, va, level);
		u64 e = vmlab_get_entry(m, ptep);
		struct vmlab_pte_info info;
		m->arch->decode(e, level, &info);
		bool whole = next - va == vmlab_level_size(level) ||
			     level == VMLAB_LVL_PTE;
		if (info.kind == VMLAB_PTE_NONE) {
			va = next;
			continue;
		}
		if (info.kind != VMLAB_PTE_TABLE && level > VMLAB_LVL_PTE &&
		    !whole) {
			int err = split_entry(m, mm, z->tlb->cpu, va, level,
					      ptep);
			if (err)
				return err;
			continue; /* re-read: now a table */
		}
		if (info.kind != VMLAB_PTE_TABLE) {
			leaf_op(m, z, va & ~(vmlab_level_size(level) - 1),
				level, ptep, NULL, &info);
			va = next;
			continue;
		}
		int err = zap_level(m, z, info.pfn, level - 1, va, next);
		if (err)
			return err;
		/* Kernel PGD entries are permanent (shared by every mm). */
		bool permanent = level == VMLAB_LVL_PGD && !user_table(mm, va);
		if (z->free_tables && whole && !permanent &&
		    table_empty(m, info.pfn)) {
			vmlab_set_entry(m, mm, va, level, ptep, 0);
			vmlab_tlb_add_range(z->tlb, va, next, VMLAB_PAGE_SHIFT);
			vmlab_tlb_remove_table(m, z->tlb, info.pfn);
		}
		va = next;
	}
	return 0;
}

static s64 zap_range(struct vmlab_machine *m, struct zap_args *z, u64 va,
		     u64 size)
{
	if (!z->tlb || !z->tlb->mm)
		return -VMLAB_EINVAL;
	/* Entries only (tables stay) in a region whose PTE table is
	 * cached: no walk, and the cache vouches for the address.  Freeing
	 * tables needs the upper levels. */
	u64 table, *host;
	int err = 0;
	if (!z->free_tables && cached_range_ok(va, size) &&
	    (host = ptc_get(m, z->tlb->mm, va, &table))) {
		assert(!VMLAB_DEBUG_CHECKS || !range_check(m, z->tlb->mm, va, size));
		zap_ptes(m, z, table, host, va, va + size);
	} else {
		err = range_check(m, z->tlb->mm, va, size);
		if (err)
			return err;
		err = zap_level(m, z, vmlab_mm_root(m, z->tlb->mm, va),
				VMLAB_LVL_PGD, va, va + size);
	}
	assert(z->done >= 0 && (u64)z->done <= size >> VMLAB_PAGE_SHIFT);
	return err ? err : z->done;
}

/*
 * zap_ptes() for an unmap of a cached region whose entries are none or
 * present leaves (vunmap of a vmalloc area): each is cleared in place and
 * the range joins the gather once.  The first entry of another kind
 * hands the rest to zap_ptes(), so the stores and the gathered range are
 * the ones zap_ptes() alone gives.
 */
static s64 zap_ptes_cached(struct vmlab_machine *m,
			   struct vmlab_mmu_gather *tlb, u64 table, u64 *host,
			   u64 va, u64 end)
{
	const u64 page = m->arch->pte_page_mask;
	u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (VMLAB_PTRS_PER_TABLE - 1);
	vmlab_ptep_t ptep = (table << VMLAB_PAGE_SHIFT) + idx * 8;
	u64 lo = va, hi = 0;
	s64 done = 0;

	assert(va < end && one_region(va, end - va) && page);
	for (; va < end; va += VMLAB_PAGE_SIZE, idx++, ptep += 8) {
		u64 e = host[idx];
		if (!e)
			continue;
		if ((e & page) != page) { /* not a present leaf */
			struct zap_args z = {.tlb = tlb, .done = done};
			if (hi)
				vmlab_tlb_add_range(tlb, lo, hi,
						    VMLAB_PAGE_SHIFT);
			zap_ptes(m, &z, table, host, va, end);
			return z.done;
		}
		if (VMLAB_DEBUG_CHECKS) {
			struct vmlab_pte_info info;
			m->arch->decode(e, VMLAB_LVL_PTE, &info);
			assert(info.kind == VMLAB_PTE_LEAF);
		}
		if (!hi)
			lo = va;
		entry_store(m, tlb->mm, va, VMLAB_LVL_PTE, ptep, &host[idx], 0);
		hi = va + VMLAB_PAGE_SIZE;
		done++;
	}
	if (hi)
		vmlab_tlb_add_range(tlb, lo, hi, VMLAB_PAGE_SHIFT);
	return done;
}

s64 vmlab_unmap_range(struct vmlab_machine *m, struct vmlab_mmu_gather *tlb,
		      u64 va, u64 size, bool free_tables)
{
	u64 table, *host;

	/* Entries only, in a region whose PTE table is cached (as
	 * zap_range()'s first case), without its set-up. */
	if (likely(tlb && tlb->mm && !free_tables) &&
	    cached_range_ok(va, size) &&
	    (host = ptc_get(m, tlb->mm, va, &table))) {
		assert(!VMLAB_DEBUG_CHECKS || !range_check(m, tlb->mm, va, size));
		return zap_ptes_cached(m, tlb, table, host, va, va + size);
	}
	struct zap_args z = {.tlb = tlb, .free_tables = free_tables};
	return zap_range(m, &z, va, size);
}

s64 vmlab_unmap_range_noflush(struct vmlab_machine *m,
			      struct vmlab_mmu_gather *tlb, u64 va, u64 size,
			      const struct vmlab_pte_run *run)
{
	const u64 page = m->arch->pte_page_mask;
	u64 end = va + size;

	/* The run is still where the range's leaves are (it lies in one
	 * region). */
	if (!likely(tlb && tlb->mm && pte_run_valid(m, tlb->mm, run, va) &&
		    size && !((va | size) & ~VMLAB_PAGE_MASK) &&
		    one_region(va, size)))
		return vmlab_unmap_range(m, tlb, va, size, false);
	pte_run_debug_check(m, tlb->mm, run, va);
	u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (VMLAB_PTRS_PER_TABLE - 1);
	u64 *e = run->host + idx;
	vmlab_ptep_t ptep = (run->table << VMLAB_PAGE_SHIFT) + idx * 8;
	s64 done = 0;
	for (; va < end; va += VMLAB_PAGE_SIZE, e++, ptep += 8) {
		if (!*e)
			continue;
		if ((*e & page) != page) { /* not a present leaf: the rest */
			s64 n = vmlab_unmap_range(m, tlb, va, end - va, false);
			return n < 0 ? n : done + n;
		}
		entry_store(m, tlb->mm, va, VMLAB_LVL_PTE, ptep, e, 0);
		done++;
	}
	assert(done <= (s64)(size >> VMLAB_PAGE_SHIFT));
	return done;
}

s64 vmlab_protect_range(struct vmlab_machine *m,
			struct vmlab_mmu_gather *tlb, u64 va, u64 size,
			vmlab_pgprot_t set, vmlab_pgprot_t clear)
{
	struct zap_args z = {.tlb = tlb, .protect = true, .set = set,
			     .clear = clear};
	return zap_range(m, &z, va, size);
}
