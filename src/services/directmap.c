/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 direct map and change_page_attr (CPA), after
 * arch/x86/mm/pat/set_memory.c of Linux 6.14 and later (CPA_COLLAPSE), with
 * cpa_flush() in its flush_tlb_kernel_range() form.
 *
 * All RAM is mapped at VMLAB_PAGE_OFFSET with the largest leaves possible.
 * set_memory_*() apply (prot & ~mask_clr) | mask_set page by page, keeping
 * a large leaf when the whole of it gets the same new protection and
 * splitting 1G -> 2M -> 4K otherwise.  A change to an address outside the
 * direct map is repeated on the direct-map alias of each frame, minus NX.
 * set_memory_rox() then tries to rebuild large leaves (CPA_COLLAPSE).
 *
 * What the model leaves out: the kernel image and its high mapping (so no
 * highmap alias and no static_protections()), CPA_ARRAY/CPA_PAGES_ARRAY,
 * cache attributes, set_memory_4k().  A non-present entry keeps its frame
 * in the machine's PROT_NONE encoding (the only non-present form of the
 * model's x86 format that holds a frame); its logical protection is the
 * kernel's, i.e. without _PAGE_GLOBAL.
 */
#include <stdlib.h>
#include <string.h>

#include "vmlab/checker.h"
#include "machine/internal.h"
#include "services/directmap_internal.h"
#include "vmlab/directmap.h"

#define CPA_FLUSHTLB 1u
#define CPA_NO_CHECK_ALIAS 8u /* do not change the direct-map alias */
#define CPA_COLLAPSE 16u      /* try to rebuild large leaves (rox) */

#define PMD_MASK (~(VMLAB_PMD_SIZE - 1))
#define PUD_MASK (~(VMLAB_PUD_SIZE - 1))
/* Above this much RAM the debug walk of the whole direct map is skipped. */
#define DM_CHECK_MAX_BYTES (64 * VMLAB_GiB)
/* ... and of 4 KiB leaves: a page-granular linear map (arm64 rodata_full)
 * would make every CPA call walk all of them. */
#define DM_CHECK_MAX_PTES (64 * 1024)

/* A page table detached by a collapse, freed only after the flush. */
struct pgtable_ref {
	u64 pfn;
	u64 va; /* first address it translated */
	int level;
};

/* Per-machine CPA state (the kernel's globals, hung off the svc slot). */
struct directmap {
	u64 pages[3]; /* direct_pages_count[]: 4K, 2M, 1G leaves */
	u64 level2_splits;
	u64 level3_splits;
	u64 collapses;
	struct pgtable_ref *pgtables; /* collapse queue */
	size_t nr_pgtables, cap_pgtables;
	struct vmlab_lock cpa_lock; /* whole call: the collapse queue is shared */
	/* Debug builds: dm_check()'s copy of each PTE table it counted, one
	 * slot per 2 MiB of the direct map (allocated on first use). */
	struct dm_memo **memo;
	u64 nr_memo;
};

/* A counted PTE table: its frame, its leaf bytes and its 512 entries. */
struct dm_memo {
	u64 pfn;
	u64 bytes;
	u64 copy[VMLAB_PTRS_PER_TABLE];
};

/* The kernel's struct cpa_data, for one contiguous range. */
struct cpa_data {
	struct vmlab_machine *m;
	int cpu; /* initiator: counts and flush IPIs go here */
	u64 vaddr;
	vmlab_pgprot_t mask_set;
	vmlab_pgprot_t mask_clr;
	u64 numpages;
	u64 curpage;
	u64 pfn;
	unsigned flags;
	bool force_flush_all;
};

/* One entry as CPA sees it. */
struct cpa_pte {
	bool none; /* not a leaf: nothing CPA can change */
	bool present;
	u64 pfn;
	vmlab_pgprot_t prot;
};

static inline struct directmap *dm_state(struct vmlab_machine *m)
{
	return svc_get(m, VMLAB_SVC_DIRECTMAP);
}

static inline bool canonical(const struct vmlab_machine *m, u64 va)
{
	return vmlab_va_canonical(m, va);
}

static inline u64 cpa_addr(const struct cpa_data *cpa, u64 idx)
{
	return cpa->vaddr + idx * VMLAB_PAGE_SIZE;
}

/* -------------------------------------------------------- entries */

/*
 * lookup_address(): the init_mm entry that maps va: the PTE slot (maybe
 * empty), or a PMD/PUD entry that is a large leaf or not present.  false
 * when an upper level is empty or va is not canonical.
 */
static bool lookup_address(struct vmlab_machine *m, u64 va, vmlab_ptep_t *ptep,
			   int *level)
{
	assert(ptep && level);
	if (!canonical(m, va) || !vmlab_mm_has_root(m, &m->init_mm, va))
		return false;
	u64 table = vmlab_mm_root(m, &m->init_mm, va);
	for (int l = VMLAB_LVL_PGD; l > VMLAB_LVL_PTE; l--) {
		vmlab_ptep_t p = entry_addr(table, va, l);
		struct vmlab_pte_info info;
		m->arch->decode(vmlab_get_entry(m, p), l, &info);
		if (info.kind == VMLAB_PTE_TABLE) {
			table = info.pfn;
			continue;
		}
		/* No leaves at the PGD of 4-level x86-64. */
		if (info.kind == VMLAB_PTE_NONE || l == VMLAB_LVL_PGD)
			return false;
		*ptep = p;
		*level = l;
		return true;
	}
	assert(table < vmlab_nr_frames(m));
	*ptep = entry_addr(table, va, VMLAB_LVL_PTE);
	*level = VMLAB_LVL_PTE;
	return true;
}

static void cpa_read(struct vmlab_machine *m, vmlab_ptep_t ptep, int level,
		     struct cpa_pte *out)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	struct vmlab_pte_info info;
	m->arch->decode(vmlab_get_entry(m, ptep), level, &info);
	memset(out, 0, sizeof(*out));
	out->pfn = info.pfn;
	if (info.kind == VMLAB_PTE_LEAF) {
		out->present = true;
		out->prot = info.prot;
	} else if (info.kind == VMLAB_PTE_PROTNONE) {
		out->prot = info.prot & ~VMLAB_PAGE_PROTNONE;
	} else {
		/* Not a leaf: empty, a table, a swap entry or a marker. */
		out->none = true;
	}
}

/* pfn_pte(): a non-present entry keeps its frame in the PROT_NONE form. */
static u64 cpa_mk(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot,
		  int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	if (prot & VMLAB_PAGE_PRESENT)
		return m->arch->mk_leaf(pfn, prot, level);
	return m->arch->mk_leaf(pfn, prot | VMLAB_PAGE_PROTNONE, level);
}

/* _PAGE_GLOBAL means PROT_NONE on a non-present entry: drop it there. */
static inline vmlab_pgprot_t pgprot_clear_protnone_bits(vmlab_pgprot_t p)
{
	return (p & VMLAB_PAGE_PRESENT) ? p : p & ~VMLAB_PAGE_GLOBAL;
}

/* Strict W^X: the kernel warns (once per site) but allows the change. */
static vmlab_pgprot_t verify_rwx(struct cpa_data *cpa, vmlab_pgprot_t old,
				 vmlab_pgprot_t nprot, u64 start, u64 pfn,
				 u64 npg)
{
	assert(npg > 0 && !(start & ~VMLAB_PAGE_MASK));
	/* x86's verify_rwx(); arm64's pageattr.c has no such check. */
	if (cpa->m->arch->id != VMLAB_ARCH_X86_64)
		return nprot;
	const vmlab_pgprot_t rwnx = VMLAB_PAGE_RW | VMLAB_PAGE_NX;
	if (!((old ^ nprot) & rwnx) || (nprot & rwnx) != VMLAB_PAGE_RW)
		return nprot;
	vmlab_warn(cpa->m,
		   "CPA detected W^X violation: %#llx -> %#llx range: "
		   "%#llx - %#llx PFN %llx",
		   (unsigned long long)old, (unsigned long long)nprot,
		   (unsigned long long)start,
		   (unsigned long long)(start + npg * VMLAB_PAGE_SIZE - 1),
		   (unsigned long long)pfn);
	return nprot;
}

/* ----------------------------------------------- meminfo accounting */

/* Only the direct map is counted (virt_addr_valid() in the kernel). */
static void split_page_count(struct cpa_data *cpa, u64 address, int level)
{
	assert(level == VMLAB_LVL_PMD || level == VMLAB_LVL_PUD);
	struct directmap *st = dm_state(cpa->m);
	assert(st);
	if (!in_direct_map(cpa->m, address) || st->pages[level] == 0)
		return;
	st->pages[level]--;
	st->pages[level - 1] += VMLAB_PTRS_PER_TABLE;
	if (level == VMLAB_LVL_PMD)
		st->level2_splits++;
	else
		st->level3_splits++;
}

static void collapse_page_count(struct cpa_data *cpa, u64 address, int level)
{
	assert(level == VMLAB_LVL_PMD || level == VMLAB_LVL_PUD);
	struct directmap *st = dm_state(cpa->m);
	if (!in_direct_map(cpa->m, address))
		return;
	if (st->pages[level - 1] < VMLAB_PTRS_PER_TABLE) {
		/* Only raw page-table writes behind CPA's back get here;
		 * dm_check() resynchronises the counts in debug builds. */
		vmlab_warn(cpa->m, "CPA: direct_pages_count[%d] below a table "
				   "(direct map changed outside CPA)", level - 1);
		return;
	}
	st->pages[level]++;
	st->pages[level - 1] -= VMLAB_PTRS_PER_TABLE;
}

/* ------------------------------------------------------ large pages */

/*
 * __should_split_large_page(): 1 to split, 0 when the large leaf covers
 * the request (unchanged, or changed in place because the request spans
 * all of it).  Clips cpa->numpages to the part inside the leaf.
 */
static int should_split_large_page(struct cpa_data *cpa, vmlab_ptep_t ptep,
				   int level, u64 address)
{
	struct vmlab_machine *m = cpa->m;
	struct cpa_pte old;
	cpa_read(m, ptep, level, &old);
	assert(!old.none && level > VMLAB_LVL_PTE);
	u64 psize = vmlab_level_size(level);
	u64 lpaddr = address & ~(psize - 1);
	u64 inside = (lpaddr + psize - address) >> VMLAB_PAGE_SHIFT;
	assert(cpa->numpages > 0 && inside > 0);
	if (inside < cpa->numpages)
		cpa->numpages = inside;
	vmlab_pgprot_t req = pgprot_clear_protnone_bits(
	    (old.prot & ~cpa->mask_clr) | cpa->mask_set);
	cpa->pfn = old.pfn + ((address & (psize - 1)) >> VMLAB_PAGE_SHIFT);
	/* Same protection: nothing to do, whatever the range. */
	if (req == old.prot)
		return 0;
	u64 numpages = psize >> VMLAB_PAGE_SHIFT;
	if (address != lpaddr || cpa->numpages != numpages)
		return 1;
	vmlab_pgprot_t nprot =
	    verify_rwx(cpa, old.prot, req, lpaddr, old.pfn, numpages);
	vmlab_set_entry(m, &m->init_mm, lpaddr, level, ptep,
			cpa_mk(m, old.pfn, nprot, level));
	cpa->flags |= CPA_FLUSHTLB;
	return 0;
}

/*
 * split_large_page(): one level down, same protection.  The kernel flushes
 * every TLB right away: the SDM leaves undefined a CPU holding a large and
 * a small translation of one address whose attributes then diverge.
 */
static int split_large_page(struct cpa_data *cpa, int level, u64 address)
{
	struct vmlab_machine *m = cpa->m;
	assert(vmlab_cpu_valid(m, cpa->cpu));
	int err = vmlab_split_leaf(m, cpa->cpu, &m->init_mm, address, level);
	assert(err != -VMLAB_ENOENT && err != -VMLAB_EINVAL);
	if (err)
		return err;
	split_page_count(cpa, address, level);
	vmlab_flush_tlb_all(m, cpa->cpu);
	count(m, cpa->cpu, VMLAB_C_cpa_flush, 1);
	return 0;
}

/* ------------------------------------------------------------- CPA */

/* __cpa_process_fault(): no entry at vaddr. */
static int cpa_process_fault(struct cpa_data *cpa, u64 vaddr, bool primary)
{
	assert(cpa->numpages > 0 && !(vaddr & ~VMLAB_PAGE_MASK));
	/* Alias paths only follow the primary one: skip the page. */
	if (!primary) {
		cpa->numpages = 1;
		return 0;
	}
	/* The direct map may have holes; they are expected. */
	if (in_direct_map(cpa->m, vaddr)) {
		cpa->numpages = 1;
		cpa->pfn = vmlab_virt_to_pfn(cpa->m, vaddr);
		return 0;
	}
	vmlab_warn(cpa->m,
		   "CPA: called for zero pte. vaddr = %#llx cpa->vaddr = %#llx",
		   (unsigned long long)vaddr, (unsigned long long)cpa->vaddr);
	return -VMLAB_EFAULT;
}

static void cpa_change_pte(struct cpa_data *cpa, vmlab_ptep_t ptep, u64 address,
			   const struct cpa_pte *old)
{
	struct vmlab_machine *m = cpa->m;
	assert(!old->none && !(address & ~VMLAB_PAGE_MASK));
	vmlab_pgprot_t prot = (old->prot & ~cpa->mask_clr) | cpa->mask_set;
	prot = verify_rwx(cpa, old->prot, prot, address, old->pfn, 1);
	prot = pgprot_clear_protnone_bits(prot);
	/* Keep the frame: only the attributes change. */
	u64 val = cpa_mk(m, old->pfn, prot, VMLAB_LVL_PTE);
	cpa->pfn = old->pfn;
	if (vmlab_get_entry(m, ptep) != val) {
		vmlab_set_entry(m, &m->init_mm, address, VMLAB_LVL_PTE, ptep,
				val);
		cpa->flags |= CPA_FLUSHTLB;
	}
	cpa->numpages = 1;
}

/* __change_page_attr(): one step at cpa->curpage; sets cpa->numpages to
 * the pages it covered. */
static int change_page_attr(struct cpa_data *cpa, bool primary)
{
	struct vmlab_machine *m = cpa->m;
	assert(cpa->numpages > 0);
	u64 address = cpa_addr(cpa, cpa->curpage);
	/* At most two splits (1G -> 2M -> 4K) before a PTE is reached. */
	for (int splits = 0;; splits++) {
		assert(splits <= 2);
		vmlab_ptep_t ptep;
		int level;
		struct cpa_pte old;
		if (!lookup_address(m, address, &ptep, &level))
			return cpa_process_fault(cpa, address, primary);
		cpa_read(m, ptep, level, &old);
		if (old.none)
			return cpa_process_fault(cpa, address, primary);
		if (level == VMLAB_LVL_PTE) {
			cpa_change_pte(cpa, ptep, address, &old);
			return 0;
		}
		if (!should_split_large_page(cpa, ptep, level, address))
			return 0;
		int err = split_large_page(cpa, level, address);
		if (err)
			return err;
	}
}

static int change_page_attr_set_clr_range(struct cpa_data *cpa, bool primary);

/*
 * cpa_process_alias(): a change made through another mapping (vmalloc,
 * modules) is made on the direct map too, so no alias keeps rights the
 * caller removed.  The direct map never gets X: NX is masked out.  Any
 * alias forces a full flush (the flush range only names the primary).
 */
static int cpa_process_alias(struct cpa_data *cpa)
{
	struct vmlab_machine *m = cpa->m;
	assert(cpa->numpages > 0);
	if (cpa->pfn >= vmlab_nr_frames(m))
		return 0;
	if (in_direct_map(m, cpa_addr(cpa, cpa->curpage)))
		return 0;
	struct cpa_data alias = *cpa;
	alias.vaddr = vmlab_page_address(m, cpa->pfn);
	alias.curpage = 0;
	alias.mask_clr &= ~VMLAB_PAGE_NX;
	alias.mask_set &= ~VMLAB_PAGE_NX;
	assert(in_direct_map(m, alias.vaddr));
	cpa->force_flush_all = true;
	return change_page_attr_set_clr_range(&alias, false);
}

/* __change_page_attr_set_clr(): walk the range step by step. */
static int change_page_attr_set_clr_range(struct cpa_data *cpa, bool primary)
{
	u64 numpages = cpa->numpages;
	u64 rempages = numpages;
	int ret = 0;
	assert(cpa->curpage == 0);
	if (!(cpa->mask_set | cpa->mask_clr))
		return 0;
	while (rempages) {
		cpa->numpages = rempages;
		ret = change_page_attr(cpa, primary);
		if (ret)
			break;
		if (primary && !(cpa->flags & CPA_NO_CHECK_ALIAS)) {
			ret = cpa_process_alias(cpa);
			if (ret)
				break;
		}
		assert(cpa->numpages > 0 && cpa->numpages <= rempages);
		rempages -= cpa->numpages;
		cpa->curpage += cpa->numpages;
	}
	cpa->numpages = numpages;
	return ret;
}

/* ---------------------------------------------------------- collapse */

static bool pgtables_reserve(struct vmlab_machine *m, struct directmap *st,
			     size_t more)
{
	assert(more > 0);
	if (st->nr_pgtables + more <= st->cap_pgtables)
		return true;
	size_t cap = st->cap_pgtables ? st->cap_pgtables * 2 : 64;
	while (cap < st->nr_pgtables + more)
		cap *= 2;
	struct pgtable_ref *p = host_realloc(m, st->pgtables, cap * sizeof(*p));
	if (!p)
		return false;
	st->pgtables = p;
	st->cap_pgtables = cap;
	return true;
}

static void pgtables_queue(struct directmap *st, u64 pfn, u64 va, int level)
{
	assert(st->nr_pgtables < st->cap_pgtables);
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	st->pgtables[st->nr_pgtables++] = (struct pgtable_ref){pfn, va, level};
}

/*
 * collapse_pmd_page() / collapse_pud_page(): 512 leaves of one protection
 * over aligned, contiguous frames become one leaf a level up.  The
 * detached table is queued, to be freed after the flush.
 */
static int collapse_table(struct cpa_data *cpa, vmlab_ptep_t parent, u64 table,
			  u64 addr, int level)
{
	struct vmlab_machine *m = cpa->m;
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	assert(vmlab_pfn_to_page(m, table)->flags & VMLAB_PG_TABLE);
	u64 stride = 1ULL << (9 * level); /* frames per entry */
	addr &= ~(vmlab_level_size(level + 1) - 1);
	struct cpa_pte first, e;
	cpa_read(m, table << VMLAB_PAGE_SHIFT, level, &first);
	if (!first.present || (first.pfn & (stride * VMLAB_PTRS_PER_TABLE - 1)))
		return 0;
	for (u64 i = 1; i < VMLAB_PTRS_PER_TABLE; i++) {
		cpa_read(m, (table << VMLAB_PAGE_SHIFT) + i * 8, level, &e);
		if (!e.present || e.prot != first.prot ||
		    e.pfn != first.pfn + i * stride)
			return 0;
	}
	vmlab_set_entry(m, &m->init_mm, addr, level + 1, parent,
			m->arch->mk_leaf(first.pfn, first.prot, level + 1));
	pgtables_queue(dm_state(m), table, addr, level);
	collapse_page_count(cpa, addr, level + 1);
	dm_state(m)->collapses++;
	return 1;
}

/* collapse_large_pages(): the PMD around addr, then its PUD if that
 * worked. */
static int collapse_large_pages(struct cpa_data *cpa, u64 addr)
{
	struct vmlab_machine *m = cpa->m;
	addr &= PMD_MASK;
	assert(canonical(m, addr));
	vmlab_ptep_t pudp;
	if (vmlab_lookup_entry(m, &m->init_mm, addr, VMLAB_LVL_PUD, &pudp))
		return 0;
	struct vmlab_pte_info pud, pmd;
	m->arch->decode(vmlab_get_entry(m, pudp), VMLAB_LVL_PUD, &pud);
	if (pud.kind != VMLAB_PTE_TABLE)
		return 0;
	vmlab_ptep_t pmdp = entry_addr(pud.pfn, addr, VMLAB_LVL_PMD);
	m->arch->decode(vmlab_get_entry(m, pmdp), VMLAB_LVL_PMD, &pmd);
	if (pmd.kind != VMLAB_PTE_TABLE)
		return 0;
	int collapsed = collapse_table(cpa, pmdp, pmd.pfn, addr, VMLAB_LVL_PTE);
	/* 1G leaves only where the direct map may use them (gbpages). */
	if (collapsed && m->cfg.direct_map_1g)
		collapsed +=
		    collapse_table(cpa, pudp, pud.pfn, addr, VMLAB_LVL_PMD);
	return collapsed;
}

/*
 * A detached table is unreachable once every CPU has flushed.  Its stale
 * entries are cleared through vmlab_set_entry() before the frame goes
 * back, so the checker's reverse map stops counting them.
 */
static void free_detached_table(struct vmlab_machine *m,
				const struct pgtable_ref *t)
{
	assert(t->level == VMLAB_LVL_PTE || t->level == VMLAB_LVL_PMD);
	assert(vmlab_pfn_to_page(m, t->pfn)->flags & VMLAB_PG_TABLE);
	u64 step = vmlab_level_size(t->level);
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++) {
		vmlab_ptep_t p = (t->pfn << VMLAB_PAGE_SHIFT) + i * 8;
		if (vmlab_get_entry(m, p))
			vmlab_set_entry(m, &m->init_mm, t->va + i * step,
					t->level, p, 0);
	}
	vmlab_pgtable_free(m, t->pfn);
}

/* cpa_collapse_large_pages(): every 2 MiB block the range touches; the
 * detached tables are freed only after a flush of every TLB. */
static void cpa_collapse_large_pages(struct cpa_data *cpa)
{
	struct vmlab_machine *m = cpa->m;
	struct directmap *st = dm_state(m);
	assert(st->nr_pgtables == 0 && (cpa->flags & CPA_COLLAPSE));
	u64 start = cpa->vaddr & PMD_MASK;
	u64 end = cpa_addr(cpa, cpa->numpages);
	int collapsed = 0;
	for (u64 addr = start; addr >= start && addr < end;
	     addr += VMLAB_PMD_SIZE) {
		/* Host out of memory: stop collapsing, nothing is lost. */
		if (!pgtables_reserve(m, st, 2))
			break;
		collapsed += collapse_large_pages(cpa, addr);
	}
	if (!collapsed)
		return;
	vmlab_flush_tlb_all(m, cpa->cpu);
	count(m, cpa->cpu, VMLAB_C_cpa_flush, 1);
	for (size_t i = 0; i < st->nr_pgtables; i++)
		free_detached_table(m, &st->pgtables[i]);
	st->nr_pgtables = 0;
}

/* ------------------------------------------------------------ flush */

/* cpa_flush(): one range flush of the primary range (every TLB when an
 * alias was changed too); flush_tlb_kernel_range applies the ceiling. */
static void cpa_flush(struct cpa_data *cpa)
{
	struct vmlab_machine *m = cpa->m;
	assert(cpa->flags & CPA_FLUSHTLB);
	assert(vmlab_cpu_valid(m, cpa->cpu));
	u64 start = cpa->vaddr;
	u64 end = cpa_addr(cpa, cpa->numpages);
	if ((cpa->force_flush_all &&
	     !vmlab_mutant(m, VMLAB_MUT_CPA_ALIAS_PRIMARY_FLUSH)) ||
	    end <= start)
		end = VMLAB_TLB_FLUSH_ALL;
	if (!vmlab_mutant(m, VMLAB_MUT_CPA_NO_FLUSH))
		vmlab_flush_tlb_kernel_range(m, cpa->cpu, start, end);
	count(m, cpa->cpu, VMLAB_C_cpa_flush, 1);
	if (cpa->flags & CPA_COLLAPSE)
		cpa_collapse_large_pages(cpa);
}

/* On error the kernel does not know what changed: flush everything. */
static void cpa_flush_all(struct cpa_data *cpa)
{
	assert(cpa->flags & CPA_FLUSHTLB);
	if (!vmlab_mutant(cpa->m, VMLAB_MUT_CPA_ERROR_NO_FLUSH))
		vmlab_flush_tlb_all(cpa->m, cpa->cpu);
	count(cpa->m, cpa->cpu, VMLAB_C_cpa_flush, 1);
}

/* ----------------------------------------------------- debug checks */

#if VMLAB_DEBUG_CHECKS && !defined(NDEBUG)
static inline u64 table_index(u64 va, int level)
{
	return (va >> vmlab_level_shift(level)) & (VMLAB_PTRS_PER_TABLE - 1);
}

static void dm_count_leaves(struct vmlab_machine *m, u64 table, int level,
			    u64 va, u64 end, u64 bytes[3]);

/*
 * The PTE table mapping the 2 MiB at va.  The walk runs after every CPA
 * call and most tables did not change since the last one: a table whose
 * 512 entries equal the copy taken when it was last counted has the same
 * count (decode is a function of the entry and the level), so only a
 * table with a changed entry, wherever the change came from (CPA, a raw
 * call, a store through an alias), is decoded again.
 */
static void dm_count_ptes(struct vmlab_machine *m, u64 table, u64 va,
			  u64 bytes[3])
{
	struct directmap *st = dm_state(m);
	u64 slot = (va - m->dm_start) >> VMLAB_PMD_SHIFT;
	assert(table < m->phys.nr_frames && !(va & (VMLAB_PMD_SIZE - 1)));
	assert(st->memo && slot < st->nr_memo);
	const u64 *t = (const u64 *)(const void *)frame_content(m, table, false);
	struct dm_memo *mo = st->memo[slot];
	if (mo && mo->pfn == table && !memcmp(mo->copy, t, sizeof(mo->copy))) {
		bytes[VMLAB_LVL_PTE] += mo->bytes;
		return;
	}
	u64 before = bytes[VMLAB_LVL_PTE];
	dm_count_leaves(m, table, VMLAB_LVL_PTE, va, va + VMLAB_PMD_SIZE, bytes);
	if (!mo)
		mo = st->memo[slot] = malloc(sizeof(*mo));
	if (mo) { /* else counted without a memo next time too */
		mo->pfn = table;
		mo->bytes = bytes[VMLAB_LVL_PTE] - before;
		memcpy(mo->copy, t, sizeof(mo->copy));
	}
}

static void dm_count_leaves(struct vmlab_machine *m, u64 table, int level,
			    u64 va, u64 end, u64 bytes[3])
{
	u64 size = vmlab_level_size(level);
	/* The table frame is read in place (this walk follows every CPA
	 * call): the same values vmlab_get_entry() returns, a frame never
	 * written reading as zeroes.  A link past RAM (garbage written
	 * through an alias) takes get_entry's path, which warns. */
	const u64 *t = table < m->phys.nr_frames ?
			       (const u64 *)(const void *)frame_content(
				   m, table, false) :
			       NULL;
	assert(va >= end || entry_addr(table, va, level) ==
				    (table << VMLAB_PAGE_SHIFT) +
					    table_index(va, level) * 8);
	for (; va < end; va += size) {
		struct vmlab_pte_info info;
		u64 i = table_index(va, level);
		m->arch->decode(t ? t[i] :
				    vmlab_get_entry(m, entry_addr(table, va,
								  level)),
				level, &info);
		if (info.kind == VMLAB_PTE_TABLE && level > VMLAB_LVL_PTE) {
			u64 next = va + size < end ? va + size : end;
			if (level == VMLAB_LVL_PMD && dm_state(m)->memo &&
			    info.pfn < m->phys.nr_frames && next - va == size)
				dm_count_ptes(m, info.pfn, va, bytes);
			else
				dm_count_leaves(m, info.pfn, level - 1, va,
						next, bytes);
		} else if (info.kind == VMLAB_PTE_LEAF ||
			   info.kind == VMLAB_PTE_PROTNONE) {
			assert(level <= VMLAB_LVL_PUD);
			bytes[level] += size;
		}
	}
}

/*
 * direct_pages_count[] must match what the tables hold when every change
 * went through CPA.  Raw page-table calls on a direct-map address (the
 * C API's vmlab_map_range/unmap/protect, Lua's m:map/unmap/protect) are
 * allowed and bypass the accounting, as a raw set_pte() would in the
 * kernel: a mismatch is then input, not a broken invariant, so it warns
 * and resynchronises the counts (as /proc/meminfo would merely be off).
 */
static void dm_check(struct vmlab_machine *m)
{
	struct directmap *st = dm_state(m);
	assert(st && st->nr_pgtables == 0);
	if (m->dm_end - m->dm_start > DM_CHECK_MAX_BYTES ||
	    st->pages[VMLAB_LVL_PTE] > DM_CHECK_MAX_PTES)
		return;
	if (!st->memo) {
		/* Without it (host out of memory) every table is decoded. */
		st->nr_memo = (m->dm_end - m->dm_start) >> VMLAB_PMD_SHIFT;
		st->memo = calloc(st->nr_memo, sizeof(*st->memo));
	}
	u64 bytes[3] = {0, 0, 0};
	vmlab_ptep_t pudp;
	int err = vmlab_lookup_entry(m, &m->init_mm, m->dm_start, VMLAB_LVL_PUD,
				     &pudp);
	if (err) {
		vmlab_warn(m, "direct map: no PUD table at its start (%s): "
			      "changed outside CPA", vmlab_strerror(err));
		return;
	}
	dm_count_leaves(m, pudp >> VMLAB_PAGE_SHIFT, VMLAB_LVL_PUD, m->dm_start,
			m->dm_end, bytes);
	bool same = true;
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PUD; l++)
		same &= bytes[l] == st->pages[l] << vmlab_level_shift(l);
	if (same)
		return;
	vmlab_warn(m, "direct map changed outside CPA: DirectMap counts "
		      "resynchronised (4k %llu -> %llu pages)",
		   (unsigned long long)st->pages[VMLAB_LVL_PTE],
		   (unsigned long long)(bytes[VMLAB_LVL_PTE] >> VMLAB_PAGE_SHIFT));
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PUD; l++)
		st->pages[l] = bytes[l] >> vmlab_level_shift(l);
	assert(st->pages[VMLAB_LVL_PTE] << VMLAB_PAGE_SHIFT ==
	       bytes[VMLAB_LVL_PTE]);
}
#else
static inline void dm_check(struct vmlab_machine *m)
{
	(void)m;
}
#endif

/* -------------------------------------------------------- interface */

/* change_page_attr_set_clr() for one range. */
static int change_page_attr_set_clr(struct vmlab_machine *m, int cpu, u64 addr,
				    int numpages, vmlab_pgprot_t set,
				    vmlab_pgprot_t clr, unsigned flags,
				    const char *op)
{
	assert(set | clr);
	if (!m)
		return -VMLAB_EINVAL;
	if (!dm_state(m) || !vmlab_cpu_valid(m, cpu) || numpages < 0) {
		/* The kernel would sign-extend a negative count and run to
		 * the first unmapped page; refuse instead. */
		vmlab_warn(m, "%s: bad call (direct map %s, cpu %d, %d pages)",
			   op, dm_state(m) ? "up" : "not initialised", cpu,
			   numpages);
		return -VMLAB_EINVAL;
	}
	spin_lock(m, cpu, &dm_state(m)->cpa_lock);
	vmlab_checker_cpa_begin(m);
	count(m, cpu, VMLAB_C_cpa_call, 1);
	vmlab_checker_set_op(m, cpu, op);
	if (addr & ~VMLAB_PAGE_MASK) {
		vmlab_warn(m, "%s: misaligned address %#llx", op,
			   (unsigned long long)addr);
		addr &= VMLAB_PAGE_MASK;
	}
	assert(!(addr & ~VMLAB_PAGE_MASK));
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		/*
		 * arm64 change_memory_common(): kernel mappings are live and
		 * splitting a block would need break-before-make, so only
		 * vmalloc/vmap page mappings are changed; the linear map is
		 * refused.  Its alias follows only for a read-only change
		 * with rodata_full (the linear map is then page-mapped), and
		 * there is no large-page collapse.
		 */
		if (in_direct_map(m, addr)) {
			vmlab_checker_cpa_end(m);
			spin_unlock(m, cpu, &dm_state(m)->cpa_lock);
			return -VMLAB_EINVAL;
		}
		bool ro_only = !((set | clr) &
				 ~(VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY));
		if (!(m->rodata_full && ro_only))
			flags |= CPA_NO_CHECK_ALIAS;
		flags &= ~CPA_COLLAPSE;
	}
	/* vm_unmap_aliases(): no lazily freed vmalloc alias may survive
	 * with the old rights.  Called before every change. */
	if (m->cpa_hook)
		m->cpa_hook(m, cpu, m->cpa_hook_ctx);
	struct cpa_data cpa = {
	    .m = m,
	    .cpu = cpu,
	    .vaddr = addr,
	    .mask_set = set,
	    .mask_clr = clr,
	    .numpages = (u64)numpages,
	    .flags = flags,
	};
	int ret = change_page_attr_set_clr_range(&cpa, true);
	if (cpa.flags & CPA_FLUSHTLB) {
		if (ret)
			cpa_flush_all(&cpa);
		else
			cpa_flush(&cpa);
	}
	dm_check(m);
	vmlab_checker_cpa_end(m);
	spin_unlock(m, cpu, &dm_state(m)->cpa_lock);
	return ret;
}

int vmlab_set_memory_ro(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n, 0,
					VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY, 0,
					"set_memory_ro");
}

int vmlab_set_memory_rw(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n, VMLAB_PAGE_RW, 0, 0,
					"set_memory_rw");
}

int vmlab_set_memory_x(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n, 0, VMLAB_PAGE_NX, 0,
					"set_memory_x");
}

int vmlab_set_memory_nx(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n, VMLAB_PAGE_NX, 0, 0,
					"set_memory_nx");
}

int vmlab_set_memory_np(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n, 0, VMLAB_PAGE_PRESENT,
					0, "set_memory_np");
}

int vmlab_set_memory_p(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n, VMLAB_PAGE_PRESENT, 0,
					0, "set_memory_p");
}

/*
 * The review's alternative to set_memory_nx() + set_memory_rw(): one
 * change_memory_common() (change_page_attr_set_clr() on x86) with both
 * masks, so one page-table pass and one flush.
 */
int set_memory_nx_rw(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	return change_page_attr_set_clr(m, cpu, addr, n,
					VMLAB_PAGE_NX | VMLAB_PAGE_RW, 0, 0,
					"set_memory_nx_rw");
}

int vmlab_set_memory_rox(struct vmlab_machine *m, int cpu, u64 addr, int n)
{
	/* Without ARCH_HAS_SET_MEMORY_ROX (arm64) the generic one is
	 * set_memory_ro() then set_memory_x(): the read-only change takes
	 * the linear alias along (rodata_full), the exec change does not. */
	if (m && m->arch->id == VMLAB_ARCH_ARM64) {
		int ret = vmlab_set_memory_ro(m, cpu, addr, n);
		return ret ? ret : vmlab_set_memory_x(m, cpu, addr, n);
	}
	return change_page_attr_set_clr(m, cpu, addr, n, 0,
					VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY |
					    VMLAB_PAGE_NX,
					CPA_COLLAPSE, "set_memory_rox");
}

/*
 * __set_pages_np() / __set_pages_p(): the direct-map entry of one frame,
 * no vm_unmap_aliases(), no alias, no flush (a split still flushes).  The
 * model has no CPU context here, so split flushes are issued by CPU 0.
 * As in the kernel, going through not-present drops _PAGE_GLOBAL, and
 * setting present again does not restore it (mask_set is P|RW only).
 */
static int set_pages_np_p(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t set,
			  vmlab_pgprot_t clr, const char *op)
{
	assert(set | clr);
	if (!m)
		return -VMLAB_EINVAL;
	if (!dm_state(m) || pfn >= vmlab_nr_frames(m)) {
		vmlab_warn(m, "%s: bad pfn %#llx", op, (unsigned long long)pfn);
		return -VMLAB_EINVAL;
	}
	/* arm64: without can_set_direct_map() (rodata_full off) the linear
	 * map is block-mapped and these are no-ops. */
	if (m->arch->id == VMLAB_ARCH_ARM64 && !m->rodata_full)
		return 0;
	/* Without ARCH_HAS_SET_DIRECT_MAP they are the generic stubs. */
	if (!m->has_set_alias)
		return 0;
	spin_lock(m, 0, &dm_state(m)->cpa_lock);
	vmlab_checker_set_op(m, 0, op);
	struct cpa_data cpa = {
	    .m = m,
	    .cpu = 0,
	    .vaddr = vmlab_page_address(m, pfn),
	    .mask_set = set,
	    .mask_clr = clr,
	    .numpages = 1,
	    .flags = CPA_NO_CHECK_ALIAS,
	};
	int ret = change_page_attr_set_clr_range(&cpa, true);
	dm_check(m);
	spin_unlock(m, 0, &dm_state(m)->cpa_lock);
	return ret;
}

int vmlab_set_direct_map_invalid_noflush(struct vmlab_machine *m, u64 pfn)
{
	return set_pages_np_p(m, pfn, 0, VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW,
			      "set_direct_map_invalid_noflush");
}

int vmlab_set_direct_map_default_noflush(struct vmlab_machine *m, u64 pfn)
{
	return set_pages_np_p(m, pfn, VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW, 0,
			      "set_direct_map_default_noflush");
}

bool vmlab_kernel_page_present(struct vmlab_machine *m, u64 pfn)
{
	if (!m || !dm_state(m) || pfn >= vmlab_nr_frames(m))
		return false;
	vmlab_ptep_t ptep;
	int level;
	if (!lookup_address(m, vmlab_page_address(m, pfn), &ptep, &level))
		return false;
	return m->arch->hw_present(vmlab_get_entry(m, ptep));
}

void vmlab_directmap_stats(struct vmlab_machine *m,
			   struct vmlab_directmap_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	struct directmap *st = m ? dm_state(m) : NULL;
	if (!st)
		return;
	out->directmap_4k = st->pages[VMLAB_LVL_PTE] << VMLAB_PAGE_SHIFT;
	out->directmap_2m = st->pages[VMLAB_LVL_PMD] << VMLAB_PMD_SHIFT;
	out->directmap_1g = st->pages[VMLAB_LVL_PUD] << VMLAB_PUD_SHIFT;
	out->level2_splits = st->level2_splits;
	out->level3_splits = st->level3_splits;
	out->collapses = st->collapses;
}

void vmlab_set_cpa_hook(struct vmlab_machine *m, vmlab_cpa_hook_fn fn,
			void *ctx)
{
	if (!m)
		return;
	m->cpa_hook = fn;
	m->cpa_hook_ctx = ctx;
}

/* ------------------------------------------------------------- boot */

static void directmap_destroy(struct vmlab_machine *m)
{
	struct directmap *st = dm_state(m);
	assert(st && st->nr_pgtables == 0);
	for (u64 i = 0; st->memo && i < st->nr_memo; i++)
		free(st->memo[i]);
	free(st->memo);
	free(st->pgtables);
	free(st);
	svc_set(m, VMLAB_SVC_DIRECTMAP, NULL, NULL);
}

int vmlab_directmap_init(struct vmlab_machine *m)
{
	assert(m);
	if (dm_state(m))
		return -VMLAB_EEXIST;
	struct directmap *st = host_calloc(m, 1, sizeof(*st));
	if (!st)
		return -VMLAB_ENOMEM;
	u64 mem = vmlab_nr_frames(m) << VMLAB_PAGE_SHIFT;
	assert(mem && !(mem & (VMLAB_PMD_SIZE - 1)));
	bool gb = m->cfg.direct_map_1g;
	/* arm64 with rodata_full (can_set_direct_map()) maps the linear map
	 * with pages only (NO_BLOCK_MAPPINGS), so no permission change ever
	 * has to split a live block. */
	bool pages_only = m->arch->id == VMLAB_ARCH_ARM64 && m->rodata_full;
	/* Set first, so the checker sees the stores as direct-map ones. */
	u64 base = vmlab_layout(m)->page_offset;
	m->dm_start = base;
	m->dm_end = base + mem;
	u32 flags = pages_only ? 0 :
		    VMLAB_MAP_HUGE_PMD | (gb ? VMLAB_MAP_HUGE_PUD : 0);
	int err = vmlab_map_range(m, &m->init_mm, base, 0, mem,
				  VMLAB_PAGE_KERNEL, flags);
	if (err) {
		m->dm_start = m->dm_end = 0;
		free(st);
		return err;
	}
	/* update_page_count() as kernel_physical_mapping_init() leaves it;
	 * PAGE_OFFSET is 1 GiB aligned, so leaves start at pa 0. */
	u64 gbytes = gb && !pages_only ? mem & PUD_MASK : 0;
	st->pages[VMLAB_LVL_PUD] = gbytes >> VMLAB_PUD_SHIFT;
	st->pages[VMLAB_LVL_PMD] =
	    pages_only ? 0 : (mem - gbytes) >> VMLAB_PMD_SHIFT;
	st->pages[VMLAB_LVL_PTE] =
	    pages_only ? mem >> VMLAB_PAGE_SHIFT :
			 ((mem - gbytes) & (VMLAB_PMD_SIZE - 1)) >>
				 VMLAB_PAGE_SHIFT;
	svc_set(m, VMLAB_SVC_DIRECTMAP, st, directmap_destroy);
	dm_check(m);
	return 0;
}

u64 vmlab_page_address(const struct vmlab_machine *m, u64 pfn)
{
	return vmlab_layout(m)->page_offset + (pfn << VMLAB_PAGE_SHIFT);
}

u64 vmlab_virt_to_pfn(const struct vmlab_machine *m, u64 va)
{
	return (va - vmlab_layout(m)->page_offset) >> VMLAB_PAGE_SHIFT;
}
