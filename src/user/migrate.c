/* SPDX-License-Identifier: MIT */
/*
 * Page migration of anonymous memory: move_pages(2) through
 * try_to_migrate_one() (mm/rmap.c: an MMU_NOTIFY_CLEAR range per page,
 * ptep_clear_flush, a migration entry), migrate_folio's copy and
 * remove_migration_ptes() (mm/migrate.c); and the device flavour,
 * migrate_vma_setup() / migrate_vma_pages() / migrate_vma_finalize()
 * (mm/migrate_device.c: one MMU_NOTIFY_MIGRATE range owned by the caller,
 * migration entries for the whole range, one flush).  The new page takes
 * the old one's place in every respect (mapcount, exclusivity, dirty,
 * soft-dirty, writability); the old page is freed after the flush.
 */
#include <string.h>

#include "user/swapops.h"
#include "vmlab/migrate.h"

struct mig_page {
	u64 va, old_pfn, new_pfn;
	vmlab_pgprot_t prot; /* the PTE's, to restore */
};

/* Can the page at p move (an exclusively mapped anonymous page)? */
static bool migratable(struct vmlab_user_mm *mm, vmlab_ptep_t p,
		       struct vmlab_pte_info *in)
{
	mm->m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, in);
	if (in->kind != VMLAB_PTE_LEAF || is_zero_pfn(mm, in->pfn))
		return false;
	const struct vmlab_page *pg = upage(mm->m, in->pfn);
	return pg->owner == PG_OWNER_ANON && pg->mapcount == 1 &&
	       pg->refcount == 1;
}

/* Under the PTL: the present PTE becomes a migration entry (the caller
 * flushes before the copy). */
static void install_migration_entry(struct vmlab_user_mm *mm, u64 va,
				    vmlab_ptep_t p,
				    const struct vmlab_pte_info *in)
{
	u32 type = (in->prot & VMLAB_PAGE_RW) ? SWP_MIGRATION_WRITE
					      : SWP_MIGRATION_READ;
	assert(in->kind == VMLAB_PTE_LEAF);
	upte_set(mm, va, p, 0);
	/* try_to_migrate_one(): pte_swp_mksoft_dirty() (the remap takes
	 * the bit back with the PTE's protection). */
	upte_set(mm, va, p,
		 swp_entry_keep_soft_dirty(mm->m,
					   vmlab_mk_swap(mm->m, type, in->pfn),
					   in->prot));
}

/* migrate_folio() + remove_migration_pte(): copy, hand the page's state
 * over, map the new page where the migration entry stands.  held: the
 * caller took a reference of its own on the old page (the device
 * flavour's collect), dropped here too. */
static void remap(struct vmlab_user_mm *mm, struct ugather *g,
		  const struct mig_page *mp, bool held)
{
	struct vmlab_machine *m = mm->m;
	vmlab_ptep_t p;
	int err = upte_lookup(mm, mp->va, &p);
	assert(!err || held);
	struct vmlab_pte_info in = {.kind = VMLAB_PTE_NONE};
	if (!err)
		m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	if (!is_migration_entry(&in) || in.swp_offset != mp->old_pfn) {
		/* migrate_vma only: a zap (MADV_DONTNEED, mmap_read_lock)
		 * removed the entry after the collect dropped the PTL and
		 * took the mapping's reference; remove_migration_pte()
		 * finds nothing, the new page goes, the old one with the
		 * collect's reference. */
		assert(held);
		ug_put_page(g, mp->new_pfn);
		ug_put_page(g, mp->old_pfn);
		return;
	}
	copy_page_content(m, mp->new_pfn, mp->old_pfn);
	struct vmlab_page *o = upage(m, mp->old_pfn), *n = upage(m, mp->new_pfn);
	n->owner = o->owner;
	/* The new page belongs to no former THP. */
	n->private_ = o->private_ & ~(PGP_FOLIO_PART | PGP_FOLIO_HELD);
	n->mapcount = o->mapcount;
	o->mapcount = 0;
	rss_add(mm, mp->new_pfn, 1);
	rss_add(mm, mp->old_pfn, -1);
	user_ptl(mm, true);
	upte_set(mm, mp->va, p, mk_upte(m, mp->new_pfn, mp->prot));
	user_ptl(mm, false);
	ug_put_page(g, mp->old_pfn);
	if (held)
		ug_put_page(g, mp->old_pfn);
}

/* Validate [start, end) and find its first VMA. */
static int range_check(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	if (!mm || mm->magic != USER_MM_MAGIC || start >= end ||
	    ((start | end) & (VMLAB_PAGE_SIZE - 1)) || end > TASK_SIZE_OF(mm))
		return -VMLAB_EINVAL;
	return find_vma_intersection(mm, start, end) ? 0 : -VMLAB_EFAULT;
}

static s64 migrate_pages_locked(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	int err = range_check(mm, addr, addr + len);
	if (err)
		return err;
	user_enter(mm, "move_pages");
	s64 moved = 0;
	for (u64 va = addr; va < addr + len; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p;
		struct vmlab_pte_info in;
		struct vmlab_vma *v = vma_lookup(mm, va);
		if (!v || !vma_is_anonymous(v) || upte_lookup(mm, va, &p) ||
		    !migratable(mm, p, &in))
			continue;
		struct mig_page mp = {.va = va, .old_pfn = in.pfn,
				      .prot = in.prot};
		if (alloc_user_page(mm, user_cpu(mm), &mp.new_pfn))
			return moved ? moved : -VMLAB_ENOMEM;
		/* try_to_migrate_one(): CLEAR around the unmap; the flush
		 * (ptep_clear_flush) also reaches secondary TLBs. */
		struct vmlab_mmu_notifier_range r;
		user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, va,
			      va + VMLAB_PAGE_SIZE);
		struct ugather g;
		ug_init(&g, mm, user_cpu(mm));
		user_ptl(mm, true);
		bool still = migratable(mm, p, &in) && in.pfn == mp.old_pfn;
		if (still) {
			install_migration_entry(mm, va, p, &in);
			user_flush_tlb_mm_range(mm, va, va + VMLAB_PAGE_SIZE);
		}
		user_ptl(mm, false);
		if (still)
			remap(mm, &g, &mp, false);
		else
			ug_put_page(&g, mp.new_pfn);
		ug_finish(&g); /* the old page goes, after the flush */
		user_mn_end(&r);
		moved += still;
	}
	return moved;
}

/* do_pages_move() looks the VMAs up under mmap_read_lock */
s64 vmlab_migrate_pages(struct vmlab_user_mm *mm, u64 addr, u64 len)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	mmap_read_lock(mm);
	s64 r = migrate_pages_locked(mm, addr, len);
	mmap_read_unlock(mm);
	return r;
}

static s64 migrate_vma_locked(struct vmlab_user_mm *mm, u64 start, u64 end,
		      void *owner)
{
	int err = range_check(mm, start, end);
	if (err)
		return err;
	struct vmlab_vma *v = vma_lookup(mm, start);
	if (!v || end > v->vm_end || !vma_is_anonymous(v))
		return -VMLAB_EINVAL; /* migrate_vma_setup(): one VMA */
	user_enter(mm, "migrate_vma");
	u64 n = PAGES(end - start);
	struct mig_page *pages = calloc(n, sizeof(*pages));
	if (!pages)
		return -VMLAB_ENOMEM;
	struct vmlab_machine *m = mm->m;
	/* migrate_vma_collect(): MIGRATE, owned by the caller. */
	struct vmlab_mmu_notifier_range r;
	vmlab_mmu_notifier_range_init(&r, m, VMLAB_MMU_NOTIFY_MIGRATE, 0,
				      mm->hw, user_cpu(mm), start, end);
	r.owner = owner;
	if (vmlab_mm_has_notifiers(mm->hw))
		vmlab_mmu_notifier_invalidate_range_start(&r);
	struct ugather g;
	ug_init(&g, mm, user_cpu(mm));
	u64 nr = 0;
	pte_table_lock(mm, true);
	for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p;
		struct vmlab_pte_info in;
		if (upte_lookup(mm, va, &p) || !migratable(mm, p, &in))
			continue;
		struct mig_page *mp = &pages[nr];
		if (alloc_user_page(mm, user_cpu(mm), &mp->new_pfn))
			break;
		mp->va = va;
		mp->old_pfn = in.pfn;
		mp->prot = in.prot;
		install_migration_entry(mm, va, p, &in);
		page_get(m, in.pfn); /* the collect's folio_get() */
		nr++;
	}
	/* migrate_vma_collect_pmd(): one flush_tlb_range() for the range
	 * before the PTL goes (60bae7370896); the mutant is the kernel
	 * before it, flushing after pte_unmap_unlock(): a MADV_DONTNEED
	 * in between finds non-present entries, flushes nothing and
	 * returns while another CPU still maps the old page. */
	bool late = vmlab_mutant(m, VMLAB_MUT_MIGRATE_VMA_FLUSH_UNLOCKED);
	if (nr && !late)
		user_flush_tlb_mm_range(mm, start, end);
	pte_table_lock(mm, false);
	/* pte_unmap_unlock(): a zap under mmap_read_lock may run here. */
	sched_point(m, user_cpu(mm), "migrate_vma_collect_pmd unlocked");
	if (nr && late)
		user_flush_tlb_mm_range(mm, start, end);
	/* migrate_vma_pages() + migrate_vma_finalize(). */
	for (u64 i = 0; i < nr; i++)
		remap(mm, &g, &pages[i], true);
	ug_finish(&g);
	if (vmlab_mm_has_notifiers(mm->hw))
		vmlab_mmu_notifier_invalidate_range_end(&r);
	free(pages);
	assert(nr <= n);
	return (s64)nr;
}

/* a driver calls migrate_vma_setup() holding mmap_read_lock */
s64 vmlab_migrate_vma(struct vmlab_user_mm *mm, u64 start, u64 end,
		      void *owner)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	mmap_read_lock(mm);
	s64 r = migrate_vma_locked(mm, start, end, owner);
	mmap_read_unlock(mm);
	return r;
}
