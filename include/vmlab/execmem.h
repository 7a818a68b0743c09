/* SPDX-License-Identifier: MIT */
/*
 * execmem: executable kernel memory by type (include/linux/execmem.h,
 * mm/execmem.c) on four interchangeable allocators, and text_poke
 * (arch/x86/kernel/alternative.c), the only way to write RO+X text.
 *
 * The allocators are the designs of seeds/vmalloc-exec-rox.txt and what
 * Linux merged afterwards, all on the model's vmalloc and direct map:
 *
 *   PER_AREA    module_alloc(): one vmalloc area per request in the module
 *               range, PAGE_KERNEL while the caller writes it, then
 *               vmlab_execmem_finalize() = set_memory_ro + set_memory_x
 *               (CPA splits the direct map), VM_FLUSH_RESET_PERMS on free.
 *   PACK        bpf_prog_pack (kernel/bpf/core.c, Linux 5.18) generalised
 *               to every text type as vmalloc_exec() proposed: 2 MiB packs
 *               (a 2 MiB leaf when the buddy has one), filled with INT3,
 *               set_memory_rox once, carved in 64-byte chunks by a bitmap;
 *               a request larger than a pack gets its own ROX area.
 *   SPLIT_RANGE Peter Zijlstra's proposal: text bottom-up and data top-down
 *               (VM_TOPDOWN_VMAP) in the module range, a tracked X/!X
 *               boundary neither side crosses, the X part grown in 2 MiB
 *               aligned ROX steps, every text allocation RO+X from birth.
 *   ROX_CACHE   the execmem ROX cache (EXECMEM_ROX_CACHE, Linux 6.13/6.15):
 *               2 MiB ROX huge pages cached, free ranges tracked, refilled
 *               with INT3 through text_poke_set on free, fully free 2 MiB
 *               pages released by a worker.
 *
 * Every write to RO+X memory goes through text_poke: x86's temporary
 * poking mm, loaded on the writing CPU only, the target frame mapped
 * writable at the poking address, memcpy, PTE cleared, switch back, and
 * the flush_tlb_mm_range() of the poking address.  The checker accepts that
 * alias (writable only in an mm no other CPU runs) and reports it when it
 * leaks.  All functions take the CPU doing the work.  Misuse returns the
 * kernel's error code or warns; nothing is corrupted.
 */
#ifndef VMLAB_EXECMEM_H
#define VMLAB_EXECMEM_H

#include "pgtable.h"

/* enum execmem_type (include/linux/execmem.h). */
enum vmlab_execmem_type {
	VMLAB_EXECMEM_MODULE_TEXT = 0, /* = EXECMEM_DEFAULT */
	VMLAB_EXECMEM_KPROBES,
	VMLAB_EXECMEM_FTRACE,
	VMLAB_EXECMEM_BPF,
	VMLAB_EXECMEM_MODULE_DATA,
	VMLAB_EXECMEM_TYPE_MAX
};

enum vmlab_execmem_allocator {
	VMLAB_EXECMEM_PER_AREA,
	VMLAB_EXECMEM_PACK,
	VMLAB_EXECMEM_SPLIT_RANGE,
	VMLAB_EXECMEM_ROX_CACHE,
	VMLAB_NR_EXECMEM_ALLOCATORS
};

/*
 * Variants.  The bugs (text_poke without the flush of the poking address,
 * the poking mm left loaded, set_memory_x before set_memory_ro) are
 * mutants of include/vmlab/mutant.h: text-poke-no-flush,
 * text-poke-leave-mm, set-memory-x-before-ro.
 */
/* PER_AREA: set_memory_x before set_memory_ro, the old order (W+X until
 * the set_memory_ro); the same as the set-memory-x-before-ro mutant. */
#define VMLAB_EXECMEM_X_BEFORE_RO (1u << 0)
/* text_poke_copy in 2 MiB steps (one 2 MiB poking leaf) where it can. */
#define VMLAB_TEXT_POKE_2M (1u << 1)
/* ROX_CACHE: also serve EXECMEM_BPF from the cache (x86 serves only
 * module text; this is the "what if BPF used it" comparison). */
#define VMLAB_EXECMEM_ROX_BPF (1u << 4)
/* PACK, the seed's design questions (seeds/vmalloc-exec-rox.txt): track
 * a pack's chunks with a vmap_area tree, one vmap_area per allocation
 * (PeterZ), instead of the bitmap (Song); and 1-byte chunks instead of
 * BPF_PROG_CHUNK_SIZE (64 bytes). */
#define VMLAB_EXECMEM_PACK_TREE (1u << 5)
#define VMLAB_EXECMEM_PACK_1B (1u << 6)
/* With PACK_TREE, Song's Q2: the pack's vmap_areas share its vm_struct,
 * which must be refcounted; this variant has no refcount and frees the
 * vm_struct with the first vmap_area freed (vmalloc's one-to-one rule),
 * under the programs still in the pack. */
#define VMLAB_EXECMEM_PACK_NOREF (1u << 7)

struct vmlab_execmem_config {
	enum vmlab_execmem_allocator allocator;
	u32 flags; /* VMLAB_EXECMEM_* / VMLAB_TEXT_POKE_* above */
};

const char *vmlab_execmem_allocator_name(enum vmlab_execmem_allocator a);
/* "per-area", ... -> allocator; -VMLAB_EINVAL for an unknown name. */
int vmlab_execmem_allocator_parse(const char *name);
const char *vmlab_execmem_type_name(enum vmlab_execmem_type t);
int vmlab_execmem_type_parse(const char *name);

/*
 * Choose the allocator (execmem_init()).  Without a call the machine uses
 * PER_AREA on first use.  -VMLAB_EBUSY while allocations are live,
 * -VMLAB_EINVAL for a bad config, -VMLAB_ENOMEM.
 */
int vmlab_execmem_setup(struct vmlab_machine *m,
			const struct vmlab_execmem_config *cfg);

/*
 * execmem_alloc(): size bytes of the type's memory.  Text comes back
 * RO+X (write it with vmlab_execmem_update_copy()) except with PER_AREA,
 * where it is RW until vmlab_execmem_finalize().  0 on failure: size 0,
 * larger than the module range, bad type, no space.
 */
u64 vmlab_execmem_alloc(struct vmlab_machine *m, int cpu,
			enum vmlab_execmem_type type, u64 size);
/* execmem_free(): 0, or -VMLAB_EINVAL (not an address execmem_alloc
 * returned, or already freed) with a warning. */
int vmlab_execmem_free(struct vmlab_machine *m, int cpu, u64 addr);
/* execmem_is_rox(): does the type's memory come back RO+X? */
bool vmlab_execmem_is_rox(struct vmlab_machine *m, enum vmlab_execmem_type t);
/*
 * Write len bytes at offset off of the allocation at addr:
 * text_poke_copy() for RO+X memory (execmem_update_copy()), a plain store
 * otherwise.  0, -VMLAB_EINVAL (addr not from execmem_alloc, or the range
 * leaves the allocation), -VMLAB_EFAULT.
 */
int vmlab_execmem_update_copy(struct vmlab_machine *m, int cpu, u64 addr,
			      u64 off, const void *src, u64 len);
/* PER_AREA text: set_memory_ro + set_memory_x (or the old order).  A no-op
 * returning 0 for memory already RO+X; -VMLAB_EINVAL for a bad address. */
int vmlab_execmem_finalize(struct vmlab_machine *m, int cpu, u64 addr);

/* ------------------------------------------------------------ text_poke */

/*
 * text_poke(): write len (<= one page, may cross into the next) bytes at
 * addr, a present kernel-text translation, through the poking mm.  0,
 * -VMLAB_EINVAL (len 0 or > 4096, or addr not kernel text),
 * -VMLAB_EFAULT (not mapped), -VMLAB_ENOMEM.
 */
int vmlab_text_poke(struct vmlab_machine *m, int cpu, u64 addr,
		    const void *src, u64 len);
/* text_poke_copy(): any length, a page (or with VMLAB_TEXT_POKE_2M a
 * 2 MiB leaf) at a time. */
int vmlab_text_poke_copy(struct vmlab_machine *m, int cpu, u64 addr,
			 const void *src, u64 len);
/* text_poke_set(): fill with one byte (INT3 refills). */
int vmlab_text_poke_set(struct vmlab_machine *m, int cpu, u64 addr, int byte,
			u64 len);

/* ---------------------------------------------------------- kernel text */

/*
 * The kernel image's text, mapped as x86-64 maps it (no KASLR: _text at
 * 0xffffffff81000000, _etext = _text + text_bytes): 2 MiB pages, RO+X,
 * from _text to round_up(_etext, 2M), the frames' direct-map alias made
 * read-only.  Then, seeds/vmalloc-exec-rox.txt:
 *  - tail_pool false, mainline (mark_rodata_ro()): the padding
 *    [round_up(_etext, 4K), round_up(_etext, 2M)) is freed to the page
 *    allocator, which splits the last 2 MiB page into 4 KiB pages;
 *  - tail_pool true, Song's proposal: the last 2 MiB page stays whole and
 *    the padding is the first pool of EXECMEM_MODULE_TEXT, served (RO+X,
 *    written with text_poke) before the configured allocator.
 * Once per machine, after vmlab_execmem_setup() if that is called.  0,
 * -VMLAB_EBUSY (already mapped), -VMLAB_EINVAL (arm64, a bad cpu, size 0
 * or past KERNEL_IMAGE_SIZE - 16 MiB), -VMLAB_ENOMEM.
 */
int vmlab_kernel_text_map(struct vmlab_machine *m, int cpu, u64 text_bytes,
			  bool tail_pool);

struct vmlab_kernel_text_stats {
	u64 text, etext, map_end; /* 0 when no image is mapped */
	bool tail_pool;
	u64 leaves_2m, leaves_4k; /* translations covering [_text, _etext) */
	u64 gap_freed_pages;	  /* mainline: pages given back */
	u64 pool_bytes;		  /* tail pool: its size */
	u64 pool_used;		  /* ... bytes (whole pages) in use */
	u64 pool_allocs;	  /* ... allocations it served */
};
void vmlab_kernel_text_stats(struct vmlab_machine *m,
			     struct vmlab_kernel_text_stats *out);

/* ------------------------------------------------------------ figures */

struct vmlab_execmem_stats {
	enum vmlab_execmem_allocator allocator;
	u64 nr_live;	    /* allocations not yet freed */
	u64 live_bytes;	    /* bytes asked for by them */
	u64 reserved_bytes; /* backing memory held (pages, packs, cache) */
	u64 wasted_bytes;   /* reserved - live: internal + pack slack */
	u64 nr_packs;	    /* PACK: packs; ROX_CACHE: cached 2 MiB pages */
	u64 nr_vmalloc_areas; /* vmalloc areas execmem holds */
	u64 text_pokes;	    /* __text_poke() calls */
	u64 bytes_poked;    /* bytes written through the poking mm */
	u64 temp_mm_switches; /* use_temporary_mm() + unuse */
	u64 poke_flushes;   /* flush_tlb_mm_range() of the poking address */
	u64 x_boundary;	    /* SPLIT_RANGE: end of the X part */
	u64 data_low;	    /* SPLIT_RANGE: lowest data address (or end) */
	u64 boundary_grows; /* SPLIT_RANGE: 2 MiB steps of X taken */
	u64 pack_track_bytes; /* PACK: the kernel's tracking memory: bitmap
			       * bytes, or vmap_areas x 72 bytes */
	u64 pack_track_nodes; /* PACK with the tree: vmap_areas (busy+free) */
	u64 pack_used_bytes;  /* PACK: bytes of the chunks taken (>= asked) */
};
void vmlab_execmem_stats(struct vmlab_machine *m,
			 struct vmlab_execmem_stats *out);

/*
 * Translations needed to cover the live text (and the kernel image's
 * [_text, _etext) once vmlab_kernel_text_map() mapped it): one per 4 KiB
 * page or per 2 MiB leaf that holds at least one such byte (what the
 * iTLB needs to hold the whole working set).  *pages_4k / *pages_2m get the counts.
 */
void vmlab_execmem_text_cover(struct vmlab_machine *m, u64 *pages_4k,
			      u64 *pages_2m);

/* ---------------------------------------------------------- workload */

/*
 * The BPF-like workload of the issue: load `programs` programs of `size`
 * JIT bytes each (execmem_alloc + write + finalize), run `rounds` rounds of
 * instruction fetches over their text round-robin on every CPU, then
 * unload them in a seeded random order.
 */
struct vmlab_execmem_workload {
	u32 programs;
	u32 size;
	u32 rounds;	 /* fetch rounds over all programs, per CPU */
	u32 fetch_bytes; /* bytes fetched per program per round (>= 1) */
	bool unload;	 /* free them at the end */
	enum vmlab_execmem_type type;
	/* Module-like loads: text of `size` plus rodata (size / 2, made
	 * read-only) and data (size / 4) as EXECMEM_MODULE_DATA. */
	bool modules;
	/* Mixed churn after loading: this many times, unload a random
	 * program and load a new one (before the fetch phase). */
	u32 churn;
};

struct vmlab_execmem_figures {
	u64 itlb_4k, itlb_2m; /* translations covering the loaded text */
	u64 itlb_miss, walks; /* during the fetch phase */
	u64 split_l2, split_l3; /* direct-map splits while loading */
	u64 split_l2_all, split_l3_all; /* ... over the whole run */
	u64 dm_4k, dm_2m, dm_1g; /* DirectMap*, after loading */
	u64 wasted_bytes, reserved_bytes;
	u64 nr_packs, nr_areas;
	u64 text_pokes, bytes_poked, temp_mm_switches, poke_flushes;
	u64 flushes, ipis;
	double time_ns;
	u64 wx_reports, stale_reports, freed_reports;
};

/* 0, -VMLAB_EINVAL (bad workload), -VMLAB_ENOMEM (a load failed). */
int vmlab_execmem_run_workload(struct vmlab_machine *m,
			       const struct vmlab_execmem_workload *w,
			       struct vmlab_execmem_figures *out);

#endif
