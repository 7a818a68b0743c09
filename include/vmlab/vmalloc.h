/* SPDX-License-Identifier: MIT */
/*
 * vmalloc: kernel virtual areas, lazy purge, vm_unmap_aliases() and
 * VM_FLUSH_RESET_PERMS, after mm/vmalloc.c and include/linux/vmalloc.h of
 * Linux 6.x on x86-64 with 4-level paging and no KASLR.
 *
 * Conventions, as in the kernel:
 *  - addresses are u64; 0 means failure (the kernel's NULL);
 *  - frames are named by pfn (the model's struct page *);
 *  - every call takes the CPU that does the work: its counters, its
 *    IPIs, its TLB, its checker label;
 *  - misuse gets the kernel's answer (NULL, -EINVAL, -EBUSY, or a
 *    kernel-style vmlab_warn() and no state change); nothing crashes.
 *
 * Interrupt context is a per-CPU flag (vmlab_set_in_interrupt()): vfree()
 * called there takes the vfree_atomic() path, as in_interrupt() makes the
 * kernel's vfree() do; calls that BUG_ON(in_interrupt()) in the kernel
 * warn and fail here.
 *
 * Deferred work (the lazy-purge worker "drain_vmap_area_work", the per-CPU
 * "vfree_deferred" workers) goes on the machine's work queue; it runs when
 * someone calls vmlab_run_work() (the sim layer's kworkers do).
 */
#ifndef VMLAB_VMALLOC_H
#define VMLAB_VMALLOC_H

#include <stdio.h>

#include "pgtable.h"

/* ------------------------------------------------------------- ranges */

/* x86-64's ranges: arch/x86/include/asm/pgtable_64_types.h, 4-level
 * paging, no KASLR.  A machine's own (arm64's differ) are in
 * vmlab_layout(m), which is what the services use. */
#define VMLAB_VMALLOC_START 0xffffc90000000000ULL
#define VMLAB_VMALLOC_SIZE_TB 32ULL
/* Inclusive, as the kernel defines it: START + 32 TiB - 1. */
#define VMLAB_VMALLOC_END                                                      \
	(VMLAB_VMALLOC_START + (VMLAB_VMALLOC_SIZE_TB << 40) - 1)
/* __START_KERNEL_map + KERNEL_IMAGE_SIZE (512 MiB without KASLR). */
#define VMLAB_MODULES_VADDR 0xffffffffa0000000ULL
#define VMLAB_MODULES_END 0xffffffffff000000ULL
#define VMLAB_MODULES_LEN (VMLAB_MODULES_END - VMLAB_MODULES_VADDR)

/* ---------------------------------------------------------- vm flags */

/* include/linux/vmalloc.h */
#define VMLAB_VM_IOREMAP 0x00000001ULL
#define VMLAB_VM_ALLOC 0x00000002ULL
#define VMLAB_VM_MAP 0x00000004ULL
#define VMLAB_VM_USERMAP 0x00000008ULL
#define VMLAB_VM_DMA_COHERENT 0x00000010ULL
#define VMLAB_VM_UNINITIALIZED 0x00000020ULL
#define VMLAB_VM_NO_GUARD 0x00000040ULL
#define VMLAB_VM_KASAN 0x00000080ULL
#define VMLAB_VM_FLUSH_RESET_PERMS 0x00000100ULL
#define VMLAB_VM_MAP_PUT_PAGES 0x00000200ULL
#define VMLAB_VM_ALLOW_HUGE_VMAP 0x00000400ULL
#define VMLAB_VM_DEFER_KMEMLEAK 0x00000800ULL
#define VMLAB_VM_SPARSE 0x00001000ULL
/*
 * Not in mainline: the VM_TOPDOWN_VMAP of seeds/vmalloc-exec-rox.txt
 * (highest fit instead of lowest), for execmem's data-top-down strategy.
 */
#define VMLAB_VM_TOPDOWN_VMAP 0x00002000ULL

/* ------------------------------------------------ per-CPU vmap blocks */

#define VMLAB_VMAP_MAX_ALLOC 64 /* BITS_PER_LONG: larger go to the tree */
/*
 * VMAP_BBMAP_BITS = min(1024, max(2 * VMAP_MAX_ALLOC,
 *                   VMALLOC_PAGES / roundup_pow_of_two(NR_CPUS) / 16)),
 * with VMALLOC_SPACE = 128 GiB and NR_CPUS = VMLAB_MAX_CPUS (256): 1024.
 */
#define VMLAB_VMAP_BBMAP_BITS 1024
#define VMLAB_VMAP_BLOCK_SIZE ((u64)VMLAB_VMAP_BBMAP_BITS * VMLAB_PAGE_SIZE)
/* A fragmented block is purged early only if it has less free than this. */
#define VMLAB_VMAP_PURGE_THRESHOLD (VMLAB_VMAP_BBMAP_BITS / 4)

/* ------------------------------------------------------- vm_struct */

/*
 * A read-only view of a vm area (struct vm_struct).  Valid until the area
 * is freed.  size includes the guard page unless VM_NO_GUARD, as in the
 * kernel; pages[] holds one pfn per small page even for huge mappings.
 */
struct vmlab_vm_struct {
	u64 addr;
	u64 size;
	u64 requested_size;
	u64 flags;
	const u64 *pages;
	u32 nr_pages;
	u32 page_order; /* 9: mapped with 2 MiB leaves (vmalloc_huge) */
	u64 phys_addr;
	const char *caller; /* as given; never copied */
};

/* ------------------------------------------------------- allocation */

/*
 * __vmalloc_node_range(): size bytes (rounded up to pages), aligned to
 * align (a power of two) inside [start, end), mapped with prot.  vm_flags
 * are added to VM_ALLOC (VM_NO_GUARD, VM_FLUSH_RESET_PERMS,
 * VM_ALLOW_HUGE_VMAP, VMLAB_VM_TOPDOWN_VMAP, ...).  caller is the tag
 * /proc/vmallocinfo shows; it must outlive the area (a string literal).
 * Addresses outside [VMALLOC_START, MODULES_END) are never handed out.
 */
u64 vmlab_vmalloc_node_range(struct vmlab_machine *m, int cpu, u64 size,
			     u64 align, u64 start, u64 end, vmlab_pgprot_t prot,
			     u64 vm_flags, const char *caller);
u64 vmlab_vmalloc(struct vmlab_machine *m, int cpu, u64 size);
u64 vmlab_vzalloc(struct vmlab_machine *m, int cpu, u64 size);
/* __vmalloc_node(size, align, ...): vmalloc with an alignment. */
u64 vmlab_vmalloc_align(struct vmlab_machine *m, int cpu, u64 size, u64 align,
			const char *caller);
/* VM_ALLOW_HUGE_VMAP: 2 MiB leaves when size >= 2 MiB, else 4 KiB. */
u64 vmlab_vmalloc_huge(struct vmlab_machine *m, int cpu, u64 size);

/*
 * vmap(): map count caller frames contiguously.  The mapping is always
 * NX (pgprot_nx(), as the kernel's vmap()); VM_FLUSH_RESET_PERMS is
 * refused with a warning; VM_NO_GUARD is dropped with a warning.  With
 * VM_MAP_PUT_PAGES the frames (order-0 blocks) become the area's and
 * vfree() frees them.
 */
u64 vmlab_vmap(struct vmlab_machine *m, int cpu, const u64 *pfns, u32 count,
	       u64 vm_flags, vmlab_pgprot_t prot);
void vmlab_vunmap(struct vmlab_machine *m, int cpu, u64 addr);

/* vm_map_ram()/vm_unmap_ram(): per-CPU vmap blocks for <= 64 pages. */
u64 vmlab_vm_map_ram(struct vmlab_machine *m, int cpu, const u64 *pfns,
		     u32 count);
void vmlab_vm_unmap_ram(struct vmlab_machine *m, int cpu, u64 addr, u32 count);

/* The area containing addr (NULL for none or a vm_map_ram range). */
const struct vmlab_vm_struct *vmlab_find_vm_area(struct vmlab_machine *m,
						 u64 addr);

/* ------------------------------------------------------------- free */

/*
 * vfree(): unmap without flushing, put the range on the lazy list, free
 * the frames; VM_FLUSH_RESET_PERMS areas get vm_reset_perms() first.  In
 * interrupt context this is vfree_atomic().  addr 0 is a no-op.
 */
void vmlab_vfree(struct vmlab_machine *m, int cpu, u64 addr);
/*
 * vfree_atomic(): link the area into this CPU's deferred list through its
 * first word (a store through cpu's TLB, as llist_add() does) and
 * schedule the worker.  Refused with a warning for VM_FLUSH_RESET_PERMS
 * areas ("can't be freed in atomic context") and when that store faults.
 */
void vmlab_vfree_atomic(struct vmlab_machine *m, int cpu, u64 addr);
/* set_vm_flush_reset_perms(): flag the area containing addr. */
void vmlab_set_vm_flush_reset_perms(struct vmlab_machine *m, u64 addr);
/* Model of in_interrupt() for cpu. */
void vmlab_set_in_interrupt(struct vmlab_machine *m, int cpu, bool on);

/* ------------------------------------------------- lazy purge, aliases */

/* vm_unmap_aliases(): one flush for lazy areas and dirty block ranges. */
void vmlab_vm_unmap_aliases(struct vmlab_machine *m, int cpu);
/* The same with vmlab_cpa_hook_fn's signature: CPA calls it (boot.c). */
void vmlab_vm_unmap_aliases_hook(struct vmlab_machine *m, int cpu, void *ctx);
/* Purge fragmented blocks and every lazy area now (the overflow path's
 * reclaim_and_purge_vmap_areas()); true if an area was purged. */
bool vmlab_purge_vmap_area_lazy(struct vmlab_machine *m, int cpu);
/* fls(num_online_cpus()) * (32 MiB / PAGE_SIZE). */
u64 vmlab_lazy_max_pages(const struct vmlab_machine *m);
/* Override lazy_max_pages() (a mechanism to vary; 0: the formula). */
void vmlab_set_lazy_max_pages(struct vmlab_machine *m, u64 pages);
/* vmap_lazy_nr: pages unmapped and waiting for a purge. */
u64 vmlab_vmap_lazy_nr(const struct vmlab_machine *m);

/* ----------------------------------------------------- observability */

/* /proc/vmallocinfo, busy areas in address order, then lazy ones. */
void vmlab_vmallocinfo(struct vmlab_machine *m, FILE *f);
/* meminfo VmallocUsed, in pages (vmalloc_nr_pages()). */
u64 vmlab_vmalloc_used_pages(const struct vmlab_machine *m);

struct vmlab_vmalloc_stats {
	u64 nr_busy;	/* areas in the busy tree (blocks included) */
	u64 nr_lazy;	/* areas waiting for a purge */
	u64 lazy_pages; /* vmap_lazy_nr */
	u64 lazy_max_pages;
	u64 nr_purges; /* purges that freed at least one area */
	u64 nr_purged_areas;
	u64 nr_drain_runs; /* runs of the purge worker */
	u64 nr_vmap_blocks;
	u64 vmalloc_pages; /* VmallocUsed in pages */
	u64 free_bytes;	   /* free virtual space in both windows */
	u64 nr_deferred;   /* vfree_atomic() areas not yet freed */
};
void vmlab_vmalloc_stats(const struct vmlab_machine *m,
			 struct vmlab_vmalloc_stats *out);

/* ------------------------------------------------------------ boot */

/* Called by vmlab_boot() after the direct map. 0 or -VMLAB_ENOMEM. */
int vmlab_vmalloc_init(struct vmlab_machine *m);

/* ------------------------------------------------- the seed's claim */

/*
 * seeds/vm-flush-reset-perms.txt: free n BPF-program-like areas of RO+X
 * memory one way or another and measure the free phase.
 */
enum vmlab_frp_way {
	/* set_vm_flush_reset_perms() then vfree(): one flush each. */
	VMLAB_FRP_FLUSH_RESET_PERMS,
	/* set_memory_nx, set_memory_rw, vfree, lazy purge: the seed's
	 * fallback order; no W+X window but one flush per call. */
	VMLAB_FRP_OLD_NX_RW,
	/* set_memory_rw, set_memory_nx, vfree: W+X between the two. */
	VMLAB_FRP_OLD_RW_NX,
	/* set_memory_rw, vfree, as BPF freed its JIT images before 2019
	 * (bpf_jit_binary_unlock_ro()): W+X until the lazy purge. */
	VMLAB_FRP_OLD_RW,
	VMLAB_NR_FRP_WAYS
};

const char *vmlab_frp_way_name(enum vmlab_frp_way way);

struct vmlab_frp_result {
	struct vmlab_counters delta; /* the free phase, purge included */
	u64 flushes;		     /* kernel range flushes + flush_tlb_all */
	u64 ipis;
	u64 pages_invalidated; /* invlpg'd, one page on one CPU each */
	u64 entries_dropped;   /* TLB entries lost, full flushes' included */
	double time_ns;	       /* simulated */
	size_t wx_reports;     /* checker findings during the free phase */
	size_t stale_reports;
	size_t freed_reports;
};

/*
 * Allocate n areas of 1 or 2 pages (alternating) with vmalloc, write code
 * bytes from CPU 0, make them RO+X, fetch each from the last CPU (its
 * iTLB caches the executable alias), then free them `way` and purge.
 * Needs >= 2 CPUs.  Returns 0, or -VMLAB_EINVAL / -VMLAB_ENOMEM.
 */
int vmlab_scenario_flush_reset_perms(struct vmlab_machine *m, int n,
				     enum vmlab_frp_way way,
				     struct vmlab_frp_result *out);

#endif
