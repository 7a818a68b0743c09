/* SPDX-License-Identifier: MIT */
/*
 * The direct map (the linear map of all RAM at PAGE_OFFSET) and the
 * set_memory_*() / set_direct_map_*() interface: x86's
 * arch/x86/mm/pat/set_memory.c, arm64's arch/arm64/mm/pageattr.c.
 */
#ifndef VMLAB_DIRECTMAP_H
#define VMLAB_DIRECTMAP_H

#include "pgtable.h"

/*
 * The linear map's base is the architecture's PAGE_OFFSET (x86-64 4-level
 * without KASLR: 0xffff888000000000; arm64 48-bit: 0xffff000000000000),
 * so page_address() needs the machine.
 */
u64 vmlab_page_address(const struct vmlab_machine *m, u64 pfn);
u64 vmlab_virt_to_pfn(const struct vmlab_machine *m, u64 va);

/* All set_memory_* take the initiating cpu, a page-aligned address (the
 * kernel WARNs and aligns otherwise) and a page count; 0 or -errno. */
int vmlab_set_memory_ro(struct vmlab_machine *m, int cpu, u64 addr, int n);
int vmlab_set_memory_rw(struct vmlab_machine *m, int cpu, u64 addr, int n);
int vmlab_set_memory_x(struct vmlab_machine *m, int cpu, u64 addr, int n);
int vmlab_set_memory_nx(struct vmlab_machine *m, int cpu, u64 addr, int n);
int vmlab_set_memory_np(struct vmlab_machine *m, int cpu, u64 addr, int n);
int vmlab_set_memory_p(struct vmlab_machine *m, int cpu, u64 addr, int n);
int vmlab_set_memory_rox(struct vmlab_machine *m, int cpu, u64 addr, int n);
/* Direct-map alias of one page, without any TLB flush. */
int vmlab_set_direct_map_invalid_noflush(struct vmlab_machine *m, u64 pfn);
int vmlab_set_direct_map_default_noflush(struct vmlab_machine *m, u64 pfn);
bool vmlab_kernel_page_present(struct vmlab_machine *m, u64 pfn);

/* /proc/meminfo and /proc/vmstat figures. */
struct vmlab_directmap_stats {
	u64 directmap_4k;  /* bytes mapped by 4 KiB entries (DirectMap4k) */
	u64 directmap_2m;  /* DirectMap2M */
	u64 directmap_1g;  /* DirectMap1G */
	u64 level2_splits; /* direct_map_level2_splits: 2M -> 4K */
	u64 level3_splits; /* direct_map_level3_splits: 1G -> 2M */
	u64 collapses;     /* large pages rebuilt (collapse on rox) */
};
void vmlab_directmap_stats(struct vmlab_machine *m,
			   struct vmlab_directmap_stats *out);

/*
 * Hook run at the start of every set_memory call: the vmalloc layer
 * registers vm_unmap_aliases() here so lazily-freed aliases cannot keep
 * stale permissions across the change (CPA calls it the same way).
 */
typedef void (*vmlab_cpa_hook_fn)(struct vmlab_machine *m, int cpu, void *ctx);
void vmlab_set_cpa_hook(struct vmlab_machine *m, vmlab_cpa_hook_fn fn,
			void *ctx);

#endif
