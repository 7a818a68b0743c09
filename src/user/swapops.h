/* SPDX-License-Identifier: MIT */
/*
 * Non-swap swap entries of the user layer (include/linux/swapops.h):
 * migration entries and device-exclusive entries name a page frame (the
 * offset is the pfn) under swap types the swap area never uses, below the
 * PTE-marker type; plus the soft-dirty helpers the fault and protection
 * paths share (src/user/soft_dirty.c, migrate.c, exclusive.c).
 */
#ifndef VMLAB_USER_SWAPOPS_H
#define VMLAB_USER_SWAPOPS_H

#include "user/uinternal.h"

/* Soft-dirty in the arch-neutral protection (x86 _PAGE_SOFT_DIRTY, bit
 * 58, a software bit); an architecture without it drops the bit. */
#define PAGE_SOFT_DIRTY (1ULL << 58)

#define SWP_MIGRATION_READ 27
#define SWP_MIGRATION_WRITE 28
#define SWP_DEVICE_EXCLUSIVE_READ 29
#define SWP_DEVICE_EXCLUSIVE_WRITE 30

static inline bool is_migration_entry(const struct vmlab_pte_info *in)
{
	return in->kind == VMLAB_PTE_SWAP &&
	       (in->swp_type == SWP_MIGRATION_READ ||
		in->swp_type == SWP_MIGRATION_WRITE);
}
static inline bool is_device_exclusive_entry(const struct vmlab_pte_info *in)
{
	return in->kind == VMLAB_PTE_SWAP &&
	       (in->swp_type == SWP_DEVICE_EXCLUSIVE_READ ||
		in->swp_type == SWP_DEVICE_EXCLUSIVE_WRITE);
}
/* is_pfn_swap_entry(): the entry names a page, not a swap slot. */
static inline bool is_pfn_swap_entry(const struct vmlab_pte_info *in)
{
	return is_migration_entry(in) || is_device_exclusive_entry(in);
}

/* soft_dirty.c */
bool soft_dirty_supported(struct vmlab_machine *m);
/* pte_mkdirty(): dirty and (where the architecture has it) soft-dirty. */
static inline vmlab_pgprot_t prot_mkdirty(vmlab_pgprot_t p)
{
	return p | VMLAB_PAGE_DIRTY | PAGE_SOFT_DIRTY;
}
/* pte_swp_mksoft_dirty() (on) / pte_swp_clear_soft_dirty() of swap
 * entry e; e unchanged where swap entries have no soft-dirty bit. */
static inline u64 swp_set_soft_dirty(struct vmlab_machine *m, u64 e, bool on)
{
	assert(e);
	return m->arch->swp_set_soft_dirty ? m->arch->swp_set_soft_dirty(e, on)
					   : e;
}
/* A swap entry for present PTE prot: soft-dirty if the PTE was
 * (try_to_unmap_one(), try_to_migrate_one(), make_device_exclusive()). */
static inline u64 swp_entry_keep_soft_dirty(struct vmlab_machine *m, u64 e,
					    vmlab_pgprot_t prot)
{
	return (prot & PAGE_SOFT_DIRTY) ? swp_set_soft_dirty(m, e, true) : e;
}
/* New and expanded VMAs are soft-dirty (mmap_region(), do_brk_flags()). */
void vma_set_soft_dirty(struct vmlab_vma *v);
/* vma_soft_dirty_enabled(): tracking armed (VM_SOFTDIRTY cleared), so a
 * shared writable mapping maps pages read-only until written
 * (vma_wants_writenotify()). */
bool vma_soft_dirty_enabled(const struct vmlab_vma *v);

/* move_soft_dirty_pte() (mm/mremap.c move_ptes()): the PTE e with
 * soft-dirty set where it is present. */
u64 move_soft_dirty_pte(struct vmlab_machine *m, u64 e);

/* exclusive.c: a CPU (or IOPF) access met a device-exclusive entry:
 * remove_device_exclusive_entry(); 0 (retry the access). */
int remove_device_exclusive_entry(struct vmlab_user_mm *mm,
				  struct vmlab_vma *v, u64 addr,
				  vmlab_ptep_t p);
/* restore_exclusive_pte() (PTL held by the caller, no notifier): the
 * present PTE back from the device-exclusive entry in. */
void restore_exclusive_pte(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   u64 addr, vmlab_ptep_t p,
			   const struct vmlab_pte_info *in);
/* zap: drop what a pfn swap entry holds, as for a present page. */
void pfn_entry_drop(struct vmlab_user_mm *mm, const struct vmlab_pte_info *in,
		    struct ugather *g);

#endif
