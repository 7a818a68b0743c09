/* SPDX-License-Identifier: MIT */
/*
 * The user-mm operations that fire the remaining MMU-notifier events:
 * soft-dirty tracking (fs/proc/task_mmu.c clear_refs_write(), pagemap bit
 * 55: MMU_NOTIFY_SOFT_DIRTY), page migration (mm/migrate.c move_pages()
 * through try_to_migrate_one(): MMU_NOTIFY_CLEAR per page; and
 * mm/migrate_device.c migrate_vma_setup(): MMU_NOTIFY_MIGRATE with the
 * caller as owner) and device-exclusive entries (mm/rmap.c
 * make_device_exclusive(): MMU_NOTIFY_EXCLUSIVE with the owner; a CPU
 * access restores the PTE, mm/memory.c remove_device_exclusive_entry()).
 *
 * Soft-dirty exists where the architecture's PTE has the bit
 * (CONFIG_HAVE_ARCH_SOFT_DIRTY: x86-64 here, _PAGE_SOFT_DIRTY = bit 58);
 * on arm64 VM_SOFTDIRTY is 0 and pagemap bit 55 is never set, but writing
 * 4 to clear_refs still sends the SOFT_DIRTY range and flushes, as Linux
 * does.  mremap's move_ptes() marks moved PTEs soft-dirty
 * (move_soft_dirty_pte(); a PTE table moved whole by move_normal_pmd()
 * keeps its bits); soft-dirty of swap entries (_PAGE_SWP_SOFT_DIRTY) is
 * not modelled.
 *
 * Migration moves exclusively mapped anonymous pages (mapcount 1) to new
 * frames; other pages stay where they are (not counted).  Between
 * unmapping (migration entries) and remapping no other program runs in
 * the model, so nobody waits on a migration entry.
 */
#ifndef VMLAB_MIGRATE_H
#define VMLAB_MIGRATE_H

#include "user.h"

/* /proc/PID/clear_refs values (enum clear_refs_types). */
#define VMLAB_CLEAR_REFS_ALL 1
#define VMLAB_CLEAR_REFS_ANON 2
#define VMLAB_CLEAR_REFS_MAPPED 3
#define VMLAB_CLEAR_REFS_SOFT_DIRTY 4
#define VMLAB_CLEAR_REFS_MM_HIWATER_RSS 5 /* accepted, nothing to reset */

/* Writing type to /proc/PID/clear_refs: 1-3 clear the accessed bits of
 * all / anonymous / file pages; 4 write-protects every PTE, clears
 * soft-dirty and VM_SOFTDIRTY, with MMU_NOTIFY_SOFT_DIRTY over the whole
 * mm and a flush_tlb_mm().  0 or -VMLAB_EINVAL. */
int vmlab_clear_refs(struct vmlab_user_mm *mm, int type);
/* Does the machine's PTE format keep a soft-dirty bit? */
bool vmlab_soft_dirty_supported(struct vmlab_machine *m);

/* move_pages(2) of [addr, addr+len) to new frames: per page,
 * try_to_migrate_one() (CLEAR range, ptep_clear_flush, migration entry),
 * the copy, remove_migration_ptes().  Pages moved, or -VMLAB_EINVAL /
 * -VMLAB_ENOMEM / -VMLAB_EFAULT (no VMA at addr). */
s64 vmlab_migrate_pages(struct vmlab_user_mm *mm, u64 addr, u64 len);
/* migrate_vma_setup() + migrate_vma_pages() + migrate_vma_finalize() of
 * [start, end): one MIGRATE range owned by owner (subscribers that are the
 * owner may skip it), migration entries for every page, one flush, copy,
 * remap.  Pages moved, or -errno as above. */
s64 vmlab_migrate_vma(struct vmlab_user_mm *mm, u64 start, u64 end,
		      void *owner);
/* make_device_exclusive() of the page at addr: faulted in writable
 * (FOLL_WRITE), EXCLUSIVE range owned by owner, ptep_clear_flush, a
 * device-exclusive entry; *pfn the page (for the device's own mapping).
 * The next CPU access (or fork, which restores first) puts the PTE back
 * with an EXCLUSIVE range of no owner.  0, -VMLAB_EINVAL,
 * -VMLAB_EFAULT (no writable anonymous VMA, or the fault failed),
 * -VMLAB_EBUSY (the page is not exclusively mapped anonymous memory). */
int vmlab_make_device_exclusive(struct vmlab_user_mm *mm, u64 addr,
				void *owner, u64 *pfn);
/* Is the PTE of addr a device-exclusive entry? */
bool vmlab_is_device_exclusive(struct vmlab_user_mm *mm, u64 addr);

#endif
