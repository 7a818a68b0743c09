/* SPDX-License-Identifier: MIT */
/*
 * Page-table pages and entries in simulated memory: the primitives that
 * the hardware walker and every upper layer share.  Entries are named by
 * physical address; every store goes through vmlab_set_entry() so that the
 * observers (checker, secondary MMUs), the counters and the trace see it.
 */
#include "internal.h"

static inline u64 *entry_slot(struct vmlab_machine *m, vmlab_ptep_t ptep,
			      bool for_write)
{
	assert((ptep & 7) == 0);
	u8 *page = frame_content(m, ptep >> VMLAB_PAGE_SHIFT, for_write);
	assert(page && (!for_write || page != m->phys.zero_page));
	return (u64 *)(void *)(page + (ptep & (VMLAB_PAGE_SIZE - 1)));
}

/* Software walkers may follow a table entry that holds garbage (data
 * written through an alias): past RAM there is nothing, read as empty. */
static bool ptep_valid(struct vmlab_machine *m, vmlab_ptep_t ptep,
		       const char *what)
{
	if (likely((ptep >> VMLAB_PAGE_SHIFT) < m->phys.nr_frames &&
		   !(ptep & 7)))
		return true;
	vmlab_warn(m, "%s: page-table entry address %#llx is past RAM or "
		      "misaligned (a table holding garbage?)", what,
		   (unsigned long long)ptep);
	return false;
}

u64 vmlab_get_entry(struct vmlab_machine *m, vmlab_ptep_t ptep)
{
	if (!ptep_valid(m, ptep, "get_entry"))
		return 0;
	return *entry_slot(m, ptep, false);
}

bool entry_slot_is(struct vmlab_machine *m, vmlab_ptep_t ptep, const u64 *slot)
{
	return slot == entry_slot(m, ptep, true);
}

void vmlab_set_entry(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		     int level, vmlab_ptep_t ptep, u64 val)
{
	if (level < VMLAB_LVL_PTE || level >= VMLAB_NR_LEVELS) {
		vmlab_warn(m, "set_entry: bad level %d", level);
		return;
	}
	if (!ptep_valid(m, ptep, "set_entry"))
		return;
	/* Stored as given (the hardware takes what is written), but a
	 * reserved encoding is a bug: the walker faults on it and the mm
	 * code treats it as a bad entry (pgtable_bad, print_bad_pte). */
	if (unlikely(m->arch->bad_entry(val, level)))
		vmlab_warn(m, "set_entry: malformed %s entry %#llx at level %d "
			      "(va %#llx): a reserved encoding, accesses fault",
			   m->arch->name, (unsigned long long)val, level,
			   (unsigned long long)va);
	entry_store(m, mm, va, level, ptep, entry_slot(m, ptep, true), val);
}

int vmlab_pgtable_alloc(struct vmlab_machine *m, int level, u64 *pfn)
{
	assert(level >= VMLAB_LVL_PTE && level < VMLAB_NR_LEVELS);
	int err = vmlab_alloc_pages(m, -1, 0, pfn);
	if (err)
		return err;
	/* Its host page now: table stores are CPU stores, which cannot fail. */
	err = frame_content_prepare(m, *pfn);
	if (err) {
		vmlab_free_pages(m, -1, *pfn, 0);
		return err;
	}
	struct vmlab_page *pg = vmlab_pfn_to_page(m, *pfn);
	assert(pg && (pg->flags & VMLAB_PG_HEAD) && pg->order == 0);
	assert(!(pg->flags & VMLAB_PG_TABLE) && pg->refcount == 1);
	/* A recycled frame keeps old bytes; a table must start empty. */
	vmlab_phys_fill(m, *pfn << VMLAB_PAGE_SHIFT, 0, VMLAB_PAGE_SIZE);
	pg->flags |= VMLAB_PG_TABLE;
	pg->pt_level = (u16)level;
	/* From now on a write reaching it outside vmlab_set_entry() must see
	 * the slow path: no CPU keeps a fast write entry to its direct-map
	 * alias (other aliases of a free frame are use-after-free already). */
	u64 dm = vmlab_layout(m)->page_offset + (*pfn << VMLAB_PAGE_SHIFT);
	for (int i = 0; i < m->nr_cpus; i++)
		fast_drop_range(&m->cpu[i], dm, dm + VMLAB_PAGE_SIZE);
	count(m, -1, VMLAB_C_pgtable_alloc, 1);
	return 0;
}

void vmlab_pgtable_free(struct vmlab_machine *m, u64 pfn)
{
	struct vmlab_page *pg = vmlab_pfn_to_page(m, pfn);
	if (!pg || !(pg->flags & VMLAB_PG_TABLE)) {
		vmlab_warn(m, "pgtable_free: pfn %#llx is not a page table",
			   (unsigned long long)pfn);
		return;
	}
	assert(pg->pt_level < VMLAB_NR_LEVELS);
	if (obs_on(m, OBS_PGTABLE_FREE))
		OBS_CALL(m, pgtable_free, pfn, pg->pt_level);
	count(m, -1, VMLAB_C_pgtable_free, 1);
	m->pt_seq++; /* cached pointers to this table are stale */
	vmlab_free_pages(m, -1, pfn, 0);
	pg->flags &= ~(u32)VMLAB_PG_TABLE;
}

static inline u64 table_index(u64 va, int level)
{
	return (va >> vmlab_level_shift(level)) & (VMLAB_PTRS_PER_TABLE - 1);
}

vmlab_ptep_t entry_addr(u64 table_pfn, u64 va, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	return (table_pfn << VMLAB_PAGE_SHIFT) + table_index(va, level) * 8;
}

int vmlab_lookup_entry(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		       int level, vmlab_ptep_t *ptep)
{
	if (!mm || level < VMLAB_LVL_PTE || level > VMLAB_LVL_PGD || !ptep)
		return -VMLAB_EINVAL;
	if (!vmlab_mm_has_root(m, mm, va))
		return -VMLAB_ENOENT;
	u64 table = vmlab_mm_root(m, mm, va);
	for (int l = VMLAB_LVL_PGD; l > level; l--) {
		u64 e = vmlab_get_entry(m, entry_addr(table, va, l));
		struct vmlab_pte_info info;
		m->arch->decode(e, l, &info);
		if (info.kind != VMLAB_PTE_TABLE)
			return -VMLAB_ENOENT;
		table = info.pfn;
	}
	*ptep = entry_addr(table, va, level);
	assert((*ptep & 7) == 0);
	return 0;
}

int vmlab_translate(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		    u64 *pa, vmlab_pgprot_t *prot, int *level)
{
	if (!mm)
		return -VMLAB_EINVAL;
	if (!vmlab_mm_has_root(m, mm, va))
		return -VMLAB_ENOENT;
	u64 table = vmlab_mm_root(m, mm, va);
	vmlab_pgprot_t eff = VMLAB_PAGE_RW | VMLAB_PAGE_USER;
	for (int l = VMLAB_LVL_PGD; l >= VMLAB_LVL_PTE; l--) {
		u64 e = vmlab_get_entry(m, entry_addr(table, va, l));
		struct vmlab_pte_info info;
		m->arch->decode(e, l, &info);
		if (info.kind == VMLAB_PTE_TABLE) {
			/* Effective rights are the AND over levels (NX: OR). */
			eff &= info.prot | VMLAB_PAGE_NX;
			eff |= info.prot & VMLAB_PAGE_NX;
			table = info.pfn;
			continue;
		}
		if (info.kind != VMLAB_PTE_LEAF)
			return -VMLAB_ENOENT;
		/* Leaves exist at PTE, PMD and PUD only. */
		assert(l >= VMLAB_LVL_PTE && l <= VMLAB_LVL_PUD);
		u64 off = va & (vmlab_level_size(l) - 1);
		if (pa)
			*pa = (info.pfn << VMLAB_PAGE_SHIFT) + off;
		if (prot) {
			vmlab_pgprot_t p = info.prot;
			p &= ~(VMLAB_PAGE_RW | VMLAB_PAGE_USER) | eff;
			p |= eff & VMLAB_PAGE_NX;
			*prot = p;
		}
		if (level)
			*level = l;
		return 0;
	}
	return -VMLAB_ENOENT;
}
