/* SPDX-License-Identifier: MIT */
/*
 * Generic KASAN with real shadow memory for vmalloc (CONFIG_KASAN_GENERIC
 * + CONFIG_KASAN_VMALLOC), after mm/kasan/{shadow,generic,report}.c and
 * seeds/kasan-vmalloc-shadow.txt.
 *
 * One shadow byte describes 8 bytes of memory (KASAN_SHADOW_SCALE_SHIFT
 * 3): 0 all accessible, 1..7 only that many leading bytes, anything else
 * a poison value naming why the granule is off limits.  The shadow lives
 * in simulated frames mapped in init_mm at
 * (addr >> 3) + KASAN_SHADOW_OFFSET (the architecture's offset):
 *  - the direct map's shadow is real memory mapped at boot;
 *  - the shadow of ranges that are neither RAM nor vmalloc/modules maps
 *    the shared early (zero) shadow page read-only, through shared early
 *    tables (mm/kasan/init.c kasan_populate_early_shadow);
 *  - the shadow of vmalloc and modules starts unmapped (the seed's
 *    requirement) and is populated area by area, one shadow page shared
 *    by every area it covers, and released by the lazy vmap purge;
 *  - the shadow of the linear map's holes (x86: RAM end .. MAXMEM) and of
 *    the x86 CPU entry area stays unmapped, as in Linux.
 *
 * KASAN is switched on per machine: vmlab_config.kasan (and
 * .kasan_release), Lua vmlab.machine{kasan = true}.
 */
#ifndef VMLAB_KASAN_H
#define VMLAB_KASAN_H

#include "machine.h"

#define VMLAB_KASAN_SHADOW_SCALE_SHIFT 3
#define VMLAB_KASAN_GRANULE_SIZE (1ULL << VMLAB_KASAN_SHADOW_SCALE_SHIFT)
/* A shadow page describes this much memory: PAGE_SIZE << 3 = 32 KiB. */
#define VMLAB_KASAN_SHADOW_PAGE_SPAN                                         \
	(VMLAB_PAGE_SIZE << VMLAB_KASAN_SHADOW_SCALE_SHIFT)

/* CONFIG_KASAN_SHADOW_OFFSET per architecture (4-level x86-64; arm64
 * with 48-bit VAs, generic mode). */
#define VMLAB_KASAN_SHADOW_OFFSET_X86_64 0xdffffc0000000000ULL
#define VMLAB_KASAN_SHADOW_OFFSET_ARM64 0xdfff800000000000ULL

/* Shadow values (mm/kasan/kasan.h, generic mode). */
#define VMLAB_KASAN_PAGE_FREE 0xFF	 /* freed page (KASAN_PAGE_FREE) */
#define VMLAB_KASAN_PAGE_REDZONE 0xFE	 /* redzone of a page allocation */
#define VMLAB_KASAN_VMALLOC_INVALID 0xF8 /* vmalloc space not in use */

/*
 * What kasan_release_vmalloc() does at purge time with the shadow pages
 * whose range is free:
 *  SEED_V6   as posted in v6: pte_clear() + free_page(), no TLB flush;
 *  FIXED     as merged (3c5c3cfb9ef4) with the review's TLB maintenance:
 *            clear the PTEs, flush the shadow range, then free the pages;
 *  NO_EXTEND never extends the released range past the freed area, so a
 *            shadow page partly covered by it is never freed.
 */
enum vmlab_kasan_release {
	VMLAB_KASAN_RELEASE_FIXED = 0, /* the default (vmlab_config 0) */
	VMLAB_KASAN_RELEASE_SEED_V6 = 1,
	VMLAB_KASAN_RELEASE_NO_EXTEND = 2,
	VMLAB_NR_KASAN_RELEASE
};

const char *vmlab_kasan_release_name(enum vmlab_kasan_release r);
/* "seed-v6", "fixed", "no-extend"; -VMLAB_EINVAL otherwise. */
int vmlab_kasan_release_parse(const char *name, enum vmlab_kasan_release *out);

/*
 * Why a configuration cannot run with KASAN (NULL: it can).  vmlab_boot()
 * fails with -VMLAB_EINVAL and prints this when cfg->kasan is set.
 */
const char *vmlab_kasan_config_error(const struct vmlab_config *cfg);

/* Boot-time set-up, called by vmlab_boot() after the direct map. */
int vmlab_kasan_init(struct vmlab_machine *m);

bool vmlab_kasan_enabled(const struct vmlab_machine *m);
/* kasan_mem_to_shadow(); 0 when KASAN is off. */
u64 vmlab_kasan_mem_to_shadow(const struct vmlab_machine *m, u64 addr);
/* [start, end) of the shadow region (KASAN_SHADOW_START/END). */
void vmlab_kasan_shadow_region(const struct vmlab_machine *m, u64 *start,
			       u64 *end);
/* Shadow byte of addr, read without any TLB (0 and *out, or -ENOENT when
 * its shadow page is unmapped, -EINVAL when KASAN is off). */
int vmlab_kasan_shadow_byte(struct vmlab_machine *m, u64 addr, u8 *out);
/* Is the shadow page describing addr mapped? */
bool vmlab_kasan_shadow_mapped(struct vmlab_machine *m, u64 addr);
/* Is pfn one of the shared early shadow tables (kasan_early_shadow_pud,
 * _pmd, _pte)?  Walkers of the whole kernel half note such a link as one
 * range instead of descending (as ptdump's note_kasan_page_table). */
bool vmlab_kasan_early_table(const struct vmlab_machine *m, u64 pfn);
/* The frame of kasan_early_shadow_page (0 when KASAN is off). */
u64 vmlab_kasan_early_page(const struct vmlab_machine *m);

/*
 * The compiler instrumentation's check (__asan_loadN/__asan_storeN):
 * the shadow of [addr, addr + size) is read through cpu's TLB like any
 * kernel load; a poisoned byte gives a `kasan` checker finding.  Returns
 * true when the access is allowed.  Addresses outside the direct map,
 * vmalloc and modules are not checked.  The machine calls it for every
 * kernel-mode access when KASAN is on.
 */
bool vmlab_kasan_check(struct vmlab_machine *m, int cpu, u64 addr, u64 size,
		       bool write);

/* kasan_poison()/kasan_unpoison() of a range, as kernel code calls them
 * (writes to the shadow go through cpu's TLB). */
void vmlab_kasan_poison(struct vmlab_machine *m, int cpu, u64 addr, u64 size,
			u8 value);
void vmlab_kasan_unpoison(struct vmlab_machine *m, int cpu, u64 addr,
			  u64 size);

struct vmlab_kasan_stats {
	u64 dm_shadow_pages;	  /* real shadow of the direct map (boot) */
	u64 early_shadow_entries; /* entries kasan_init() pointed at the
				   * early shadow (shared tables, page) */
	u64 boot_flushes;	  /* kasan_init()'s full TLB flushes */
	u64 shadow_pages_mapped;  /* vmalloc shadow pages mapped now */
	u64 shadow_pages_populated; /* ... mapped since boot */
	u64 shadow_pages_freed;	  /* ... freed by kasan_release_vmalloc */
	u64 freed_without_flush;  /* ... of them freed with no TLB flush */
	u64 shadow_pages_shared;  /* mapped now and covering > 1 live area */
	u64 shadow_pages_one_per_area; /* what one page per area would take */
	u64 populate_skipped;	  /* shadow page already there (sharing) */
	u64 populate_raced;	  /* lost the race under page_table_lock */
	u64 populate_failures;
	u64 releases;		  /* kasan_release_vmalloc calls */
	/* ... of them while another CPU was inside kasan_populate_vmalloc
	 * (the race of the seed, reached under a scheduler) */
	u64 releases_during_populate;
	u64 release_flushes;
	u64 checks;		  /* checks that left the fast path */
	u64 reports;		  /* kasan findings */
	u64 vmalloc_bytes_live;	  /* bytes of live areas with shadow */
};
/* The figures; shadow_pages_shared and one_per_area are computed now
 * (a walk over the live areas). */
void vmlab_kasan_stats(struct vmlab_machine *m, struct vmlab_kasan_stats *out);

#endif
