/* SPDX-License-Identifier: MIT */
/*
 * Device-exclusive entries (mm/rmap.c make_device_exclusive(), mm/memory.c
 * remove_device_exclusive_entry() / restore_exclusive_pte()): a device
 * that wants atomic access to a page takes it away from the CPU; the PTE
 * becomes a non-present entry naming the page, secondary MMUs other than
 * the owner hear MMU_NOTIFY_EXCLUSIVE, and the CPU's next access puts the
 * PTE back (another EXCLUSIVE range, no owner: the device loses it).
 * The page stays mapped (mapcount, RSS) while the entry stands.
 */
#include "user/swapops.h"
#include "vmlab/migrate.h"

void restore_exclusive_pte(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   u64 addr, vmlab_ptep_t p,
			   const struct vmlab_pte_info *in)
{
	assert(is_device_exclusive_entry(in));
	assert(v->vm_start <= addr && addr < v->vm_end);
	u64 pfn = in->swp_offset;
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	/* Writable again only if the entry was (and the VMA still is). */
	if (in->swp_type == SWP_DEVICE_EXCLUSIVE_WRITE &&
	    (v->vm_flags & VMLAB_VM_WRITE))
		prot |= VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY;
	if (!(prot & VMLAB_PAGE_PRESENT) && !(prot & VMLAB_PAGE_PROTNONE))
		prot = VMLAB_PAGE_NONE;
	/* pte_swp_soft_dirty(orig_pte): pte_mksoft_dirty(). */
	if (in->swp_soft_dirty)
		prot |= PAGE_SOFT_DIRTY;
	upte_set(mm, addr, p, mk_upte(mm->m, pfn, prot));
}

int remove_device_exclusive_entry(struct vmlab_user_mm *mm,
				  struct vmlab_vma *v, u64 addr,
				  vmlab_ptep_t p)
{
	u64 orig = upte_get(mm, p);
	struct vmlab_mmu_notifier_range r;
	/* Owner NULL: every device mapping of the page goes. */
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_EXCLUSIVE, addr,
		      addr + VMLAB_PAGE_SIZE);
	user_ptl(mm, true);
	struct vmlab_pte_info in;
	mm->m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	/* pte_same(): someone else may have restored or zapped it while
	 * the notifier slept. */
	if (upte_get(mm, p) == orig && is_device_exclusive_entry(&in))
		restore_exclusive_pte(mm, v, addr, p, &in);
	user_ptl(mm, false);
	user_mn_end(&r);
	return 0; /* the access retries */
}

void pfn_entry_drop(struct vmlab_user_mm *mm, const struct vmlab_pte_info *in,
		    struct ugather *g)
{
	assert(is_pfn_swap_entry(in));
	u64 pfn = in->swp_offset;
	struct vmlab_page *pg = upage(mm->m, pfn);
	assert(pg->mapcount > 0 && pg->refcount > 0);
	pg->mapcount--;
	rss_add(mm, pfn, -1);
	ug_put_page(g, pfn);
}

bool vmlab_is_device_exclusive(struct vmlab_user_mm *mm, u64 addr)
{
	vmlab_ptep_t p;
	if (!mm || mm->magic != USER_MM_MAGIC || addr >= TASK_SIZE_OF(mm) ||
	    upte_lookup(mm, addr & VMLAB_PAGE_MASK, &p))
		return false;
	struct vmlab_pte_info in;
	mm->m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	return is_device_exclusive_entry(&in);
}

static int make_device_exclusive_locked(struct vmlab_user_mm *mm, u64 addr,
				void *owner, u64 *pfn)
{
	if (!mm || mm->magic != USER_MM_MAGIC || addr >= TASK_SIZE_OF(mm))
		return -VMLAB_EINVAL;
	addr &= VMLAB_PAGE_MASK;
	user_enter(mm, "make_device_exclusive");
	struct vmlab_vma *v = vma_lookup(mm, addr);
	if (!v || !vma_is_anonymous(v) || !(v->vm_flags & VMLAB_VM_WRITE) ||
	    (v->vm_flags & VMLAB_VM_SHARED))
		return -VMLAB_EFAULT;
	/* folio_walk after get_user_pages(FOLL_WRITE): a present, writable,
	 * exclusive anonymous page. */
	int err = faultin_page(mm, v, addr, true);
	if (err)
		return err == -VMLAB_ENOMEM ? err : -VMLAB_EFAULT;
	vmlab_ptep_t p;
	if (upte_lookup(mm, addr, &p))
		return -VMLAB_EFAULT;
	struct vmlab_machine *m = mm->m;
	struct vmlab_mmu_notifier_range r;
	vmlab_mmu_notifier_range_init(&r, m, VMLAB_MMU_NOTIFY_EXCLUSIVE, 0,
				      mm->hw, user_cpu(mm), addr,
				      addr + VMLAB_PAGE_SIZE);
	r.owner = owner; /* mmu_notifier_range_init_owner() */
	if (vmlab_mm_has_notifiers(mm->hw))
		vmlab_mmu_notifier_invalidate_range_start(&r);
	user_ptl(mm, true);
	struct vmlab_pte_info in;
	m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	err = -VMLAB_EBUSY;
	if (in.kind == VMLAB_PTE_LEAF && !is_zero_pfn(mm, in.pfn) &&
	    upage(m, in.pfn)->owner == PG_OWNER_ANON &&
	    upage(m, in.pfn)->mapcount == 1) {
		/* ptep_clear_flush(): CPU TLBs and the secondary-TLB hook. */
		upte_set(mm, addr, p, 0);
		user_flush_tlb_mm_range(mm, addr, addr + VMLAB_PAGE_SIZE);
		u32 type = (in.prot & VMLAB_PAGE_RW) ? SWP_DEVICE_EXCLUSIVE_WRITE
						      : SWP_DEVICE_EXCLUSIVE_READ;
		upte_set(mm, addr, p,
			 swp_entry_keep_soft_dirty(
				 m, vmlab_mk_swap(m, type, in.pfn), in.prot));
		if (pfn)
			*pfn = in.pfn;
		err = 0;
	}
	user_ptl(mm, false);
	if (vmlab_mm_has_notifiers(mm->hw))
		vmlab_mmu_notifier_invalidate_range_end(&r);
	assert(err || vmlab_is_device_exclusive(mm, addr));
	return err;
}

/* the driver holds mmap_read_lock around make_device_exclusive() */
int vmlab_make_device_exclusive(struct vmlab_user_mm *mm, u64 addr,
				void *owner, u64 *pfn)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	mmap_read_lock(mm);
	int r = make_device_exclusive_locked(mm, addr, owner, pfn);
	mmap_read_unlock(mm);
	return r;
}
