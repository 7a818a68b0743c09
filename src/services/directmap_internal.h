/* SPDX-License-Identifier: MIT */
/*
 * Boot-time entry point of the direct map (arch/x86/mm/init_64.c's
 * kernel_physical_mapping_init() plus the CPA state of
 * arch/x86/mm/pat/set_memory.c), called by boot.c, and the one-call
 * nx+rw change the seed's vfree fallback may use (vmalloc_free.c).
 */
#ifndef VMLAB_SERVICES_DIRECTMAP_INTERNAL_H
#define VMLAB_SERVICES_DIRECTMAP_INTERNAL_H

struct vmlab_machine;

/*
 * Map all RAM [0, mem) at VMLAB_PAGE_OFFSET with PAGE_KERNEL, in 1 GiB
 * leaves where aligned and cfg.direct_map_1g, else 2 MiB leaves; set
 * m->dm_start/dm_end and register the VMLAB_SVC_DIRECTMAP slot.  Call once,
 * right after vmlab_machine_create().  0, -VMLAB_ENOMEM (no frames left for
 * the page tables) or -VMLAB_EEXIST (called twice).
 */
int vmlab_directmap_init(struct vmlab_machine *m);

/* set_memory_nx() and set_memory_rw() as one call: both masks, one
 * page-table pass, one flush.  0 or the errno set_memory_* return. */
int set_memory_nx_rw(struct vmlab_machine *m, int cpu, u64 addr, int n);

#endif
