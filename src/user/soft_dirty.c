/* SPDX-License-Identifier: MIT */
/*
 * Soft-dirty tracking and /proc/PID/clear_refs (fs/proc/task_mmu.c):
 * clear_refs_write() with clear_refs_test_walk() / clear_refs_pte_range()
 * / clear_soft_dirty(), the VM_SOFTDIRTY flag of new VMAs, and the
 * architecture probe (CONFIG_HAVE_ARCH_SOFT_DIRTY).  Pagemap bit 55 is
 * read in info.c; the write fault that sets soft-dirty again is
 * pte_mkdirty() in fault.c (prot_mkdirty()).
 */
#include "user/swapops.h"
#include "vmlab/migrate.h"
#include "vmlab/mutant.h"

bool soft_dirty_supported(struct vmlab_machine *m)
{
	assert(m && m->arch);
	/* The PTE format keeps the software bit or drops it. */
	struct vmlab_pte_info in;
	u64 e = vmlab_mk_leaf(m, 1, VMLAB_PAGE_USER_RO | PAGE_SOFT_DIRTY,
			      VMLAB_LVL_PTE);
	m->arch->decode(e, VMLAB_LVL_PTE, &in);
	assert(in.kind == VMLAB_PTE_LEAF && in.pfn == 1);
	return in.prot & PAGE_SOFT_DIRTY;
}

bool vmlab_soft_dirty_supported(struct vmlab_machine *m)
{
	return m && soft_dirty_supported(m);
}

void vma_set_soft_dirty(struct vmlab_vma *v)
{
	assert(v && v->mm && v->vm_start < v->vm_end);
	/* VM_SOFTDIRTY is VM_NONE without CONFIG_MEM_SOFT_DIRTY. */
	if (soft_dirty_supported(v->mm->m))
		v->vm_flags |= VMLAB_VM_SOFTDIRTY;
}

bool vma_soft_dirty_enabled(const struct vmlab_vma *v)
{
	assert(v && v->mm);
	return !(v->vm_flags & VMLAB_VM_SOFTDIRTY) &&
	       soft_dirty_supported(v->mm->m);
}

u64 move_soft_dirty_pte(struct vmlab_machine *m, u64 e)
{
	struct vmlab_pte_info in;
	m->arch->decode(e, VMLAB_LVL_PTE, &in);
	/* A moved page counts as written; a swap entry keeps the mark in
	 * its own bit (pte_swp_mksoft_dirty). */
	if (in.kind == VMLAB_PTE_SWAP)
		return swp_set_soft_dirty(m, e, true);
	if (in.kind != VMLAB_PTE_LEAF && in.kind != VMLAB_PTE_PROTNONE)
		return e;
	u64 ne = vmlab_mk_leaf(m, in.pfn, in.prot | PAGE_SOFT_DIRTY,
			       VMLAB_LVL_PTE);
	assert(m->arch->hw_present(ne) == m->arch->hw_present(e));
	return ne;
}

struct clear_refs_ctx {
	int type;
	struct vmlab_vma *v;
	u64 changed; /* soft-dirty: PTEs write-protected / cleaned */
};

/* clear_soft_dirty() of one PTE (PTL held): write-protect a present
 * entry (ptep_modify_prot_start/commit) and clear its soft-dirty bit. */
static bool clear_soft_dirty(struct vmlab_user_mm *mm, u64 va,
			     vmlab_ptep_t p, const struct vmlab_pte_info *in)
{
	struct vmlab_machine *m = mm->m;
	assert(in->kind == VMLAB_PTE_LEAF || in->kind == VMLAB_PTE_PROTNONE ||
	       in->kind == VMLAB_PTE_SWAP);
	u64 ne;
	if (in->kind == VMLAB_PTE_SWAP) {
		/* is_swap_pte(): pte_swp_clear_soft_dirty(), no flush. */
		ne = swp_set_soft_dirty(m, upte_get(mm, p), false);
	} else {
		vmlab_pgprot_t np = in->prot & ~(VMLAB_PAGE_RW | PAGE_SOFT_DIRTY);
		ne = mk_upte(m, in->pfn, np);
	}
	if (ne == upte_get(mm, p))
		return false;
	upte_set(mm, va, p, ne);
	return true;
}

static int clear_refs_table(struct vmlab_user_mm *mm, u64 table,
			    vmlab_ptep_t pmdp, u64 lo, u64 hi, void *arg)
{
	struct clear_refs_ctx *c = arg;
	struct vmlab_machine *m = mm->m;
	(void)pmdp;
	assert(lo < hi && c->v->vm_start <= lo && hi <= c->v->vm_end);
	user_ptl(mm, true); /* pte_offset_map_lock() */
	for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t p = entry_addr(table, va, VMLAB_LVL_PTE);
		struct vmlab_pte_info in;
		m->arch->decode(vmlab_get_entry(m, p), VMLAB_LVL_PTE, &in);
		if (in.kind == VMLAB_PTE_SWAP &&
		    c->type == VMLAB_CLEAR_REFS_SOFT_DIRTY) {
			c->changed += clear_soft_dirty(mm, va, p, &in);
			continue;
		}
		if (in.kind != VMLAB_PTE_LEAF && in.kind != VMLAB_PTE_PROTNONE)
			continue;
		if (c->type == VMLAB_CLEAR_REFS_SOFT_DIRTY) {
			c->changed += clear_soft_dirty(mm, va, p, &in);
			continue;
		}
		/* ptep_test_and_clear_young(): no flush, as Linux. */
		if (in.kind == VMLAB_PTE_LEAF &&
		    (in.prot & VMLAB_PAGE_ACCESSED) && !is_zero_pfn(mm, in.pfn))
			upte_set(mm, va, p,
				 mk_upte(m, in.pfn,
					 in.prot & ~VMLAB_PAGE_ACCESSED));
	}
	user_ptl(mm, false);
	return 0;
}

/* clear_refs_test_walk(): which VMAs a type walks. */
static bool clear_refs_skip(const struct vmlab_vma *v, int type)
{
	if (v->vm_flags & VMLAB_VM_PFNMAP)
		return true;
	if (type == VMLAB_CLEAR_REFS_ANON && v->file)
		return true;
	return type == VMLAB_CLEAR_REFS_MAPPED && !v->file;
}

static int clear_refs_locked(struct vmlab_user_mm *mm, int type)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	if (type < VMLAB_CLEAR_REFS_ALL || type > VMLAB_CLEAR_REFS_MM_HIWATER_RSS)
		return -VMLAB_EINVAL;
	user_enter(mm, "clear_refs");
	if (type == VMLAB_CLEAR_REFS_MM_HIWATER_RSS)
		return 0; /* no hiwater RSS in the model */
	struct vmlab_machine *m = mm->m;
	bool sd = type == VMLAB_CLEAR_REFS_SOFT_DIRTY;
	/* The mutant: the walk write-protects behind the secondary MMUs'
	 * back (no SOFT_DIRTY range) and the flush reaches only CPUs. */
	bool lost = sd && vmlab_mutant(m, VMLAB_MUT_SOFT_DIRTY_NO_NOTIFY);
	struct vmlab_mmu_notifier_range r;
	if (sd) {
		for (struct vmlab_vma *v = mm->first; v; v = v->next)
			v->vm_flags &= ~VMLAB_VM_SOFTDIRTY;
		/* inc_tlb_flush_pending(); the range is (0, -1UL). */
		vmlab_mmu_notifier_range_init(&r, m, VMLAB_MMU_NOTIFY_SOFT_DIRTY,
					      0, mm->hw, user_cpu(mm), 0,
					      VMLAB_TLB_FLUSH_ALL);
		if (!lost && vmlab_mm_has_notifiers(mm->hw))
			vmlab_mmu_notifier_invalidate_range_start(&r);
	}
	struct clear_refs_ctx c = {.type = type};
	for (struct vmlab_vma *v = mm->first; v; v = v->next) {
		if (clear_refs_skip(v, type))
			continue;
		c.v = v;
		for_each_pte_table(mm, v->vm_start, v->vm_end, clear_refs_table,
				   &c);
	}
	if (sd) {
		if (!lost && vmlab_mm_has_notifiers(mm->hw))
			vmlab_mmu_notifier_invalidate_range_end(&r);
		/* flush_tlb_mm(); dec_tlb_flush_pending().  The mutant is
		 * the kernel between 0758cd830494 and 912efa17e512: the walk
		 * ran inside an mmu_gather that batched no page, whose
		 * tlb_finish_mmu() flushed nothing. */
		if (lost)
			vmlab_mmu_notifier_flush_nonotify(mm->hw, true);
		if (!vmlab_mutant(m, VMLAB_MUT_CLEAR_REFS_NO_FLUSH))
			user_flush_tlb_mm_range(mm, 0, VMLAB_TLB_FLUSH_ALL);
		if (lost)
			vmlab_mmu_notifier_flush_nonotify(mm->hw, false);
	}
	assert(sd || c.changed == 0);
	return 0;
}

/* clear_refs_write(): under mmap_read_lock */
int vmlab_clear_refs(struct vmlab_user_mm *mm, int type)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	mmap_read_lock(mm);
	int r = clear_refs_locked(mm, type);
	mmap_read_unlock(mm);
	return r;
}
