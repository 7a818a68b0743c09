/* SPDX-License-Identifier: MIT */
/*
 * Page tables: entry format (behind the architecture interface), range
 * primitives (map, unmap, change protection, split a large leaf), the
 * mmu_gather that frees pages and page-table pages only after the flush,
 * and the generic page walker with the install_pte extension.
 *
 * Entries live in simulated frames.  An entry is named by its physical
 * address (a vmlab_ptep_t), never by a host pointer, and is written only
 * through vmlab_set_entry() so the checker and the trace see every store.
 */
#ifndef VMLAB_PGTABLE_H
#define VMLAB_PGTABLE_H

#include "machine.h"

typedef u64 vmlab_ptep_t; /* physical address of an 8-byte entry */

/*
 * Protection bits, arch-neutral.  The values happen to be x86's bit
 * positions; the architecture converts when it builds an entry.
 */
typedef u64 vmlab_pgprot_t;
#define VMLAB_PAGE_PRESENT (1ULL << 0)
#define VMLAB_PAGE_RW (1ULL << 1)
#define VMLAB_PAGE_USER (1ULL << 2)
#define VMLAB_PAGE_PWT (1ULL << 3)
#define VMLAB_PAGE_PCD (1ULL << 4)
#define VMLAB_PAGE_ACCESSED (1ULL << 5)
#define VMLAB_PAGE_DIRTY (1ULL << 6)
#define VMLAB_PAGE_PSE (1ULL << 7) /* large leaf at PMD/PUD (arch use) */
#define VMLAB_PAGE_GLOBAL (1ULL << 8)
/* Not present to hardware but a valid PROT_NONE mapping (x86 reuses G). */
#define VMLAB_PAGE_PROTNONE VMLAB_PAGE_GLOBAL
#define VMLAB_PAGE_NX (1ULL << 63)

/* The kernel's named protections (arch/x86/include/asm/pgtable_types.h). */
#define VMLAB_PAGE_KERNEL                                                    \
	(VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW | VMLAB_PAGE_ACCESSED |          \
	 VMLAB_PAGE_DIRTY | VMLAB_PAGE_GLOBAL | VMLAB_PAGE_NX)
#define VMLAB_PAGE_KERNEL_RO                                                 \
	(VMLAB_PAGE_PRESENT | VMLAB_PAGE_ACCESSED | VMLAB_PAGE_GLOBAL |      \
	 VMLAB_PAGE_NX)
#define VMLAB_PAGE_KERNEL_EXEC                                               \
	(VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW | VMLAB_PAGE_ACCESSED |          \
	 VMLAB_PAGE_DIRTY | VMLAB_PAGE_GLOBAL)
#define VMLAB_PAGE_KERNEL_ROX                                                \
	(VMLAB_PAGE_PRESENT | VMLAB_PAGE_ACCESSED | VMLAB_PAGE_GLOBAL)
#define VMLAB_PAGE_NONE (VMLAB_PAGE_PROTNONE | VMLAB_PAGE_ACCESSED)
#define VMLAB_PAGE_USER_RW                                                   \
	(VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW | VMLAB_PAGE_USER |              \
	 VMLAB_PAGE_ACCESSED | VMLAB_PAGE_NX)
#define VMLAB_PAGE_USER_RO                                                   \
	(VMLAB_PAGE_PRESENT | VMLAB_PAGE_USER | VMLAB_PAGE_ACCESSED |        \
	 VMLAB_PAGE_NX)

/* What an entry holds, decoded. */
enum vmlab_pte_kind {
	VMLAB_PTE_NONE,   /* all zero: nothing there */
	VMLAB_PTE_TABLE,  /* points to the next-level table */
	VMLAB_PTE_LEAF,   /* present translation (4K, or large at PMD/PUD) */
	VMLAB_PTE_SWAP,   /* non-present swap-style entry */
	VMLAB_PTE_MARKER, /* non-present PTE marker (guard, poison, ...) */
	VMLAB_PTE_PROTNONE, /* PROT_NONE leaf (not present to hardware) */
	VMLAB_PTE_BAD,    /* reserved encoding: the walker faults on it */
};

/* PTE marker bits, as include/linux/swapops.h. */
#define VMLAB_PTE_MARKER_UFFD_WP (1u << 0)
#define VMLAB_PTE_MARKER_POISONED (1u << 1)
#define VMLAB_PTE_MARKER_GUARD (1u << 2)

struct vmlab_pte_info {
	enum vmlab_pte_kind kind;
	u64 pfn;             /* LEAF, TABLE, PROTNONE */
	vmlab_pgprot_t prot; /* LEAF/PROTNONE: protection incl. A/D/G/NX */
	u32 swp_type;        /* SWAP */
	u64 swp_offset;      /* SWAP */
	bool swp_soft_dirty; /* SWAP: pte_swp_soft_dirty() */
	u32 marker;          /* MARKER bits */
};

/* Kernel virtual layout of an architecture (its asm/memory.h, asm/pgtable.h). */
struct vmlab_va_layout {
	u64 page_offset;   /* linear map (direct map) start */
	u64 linear_end;    /* end of the linear-map region */
	u64 vmalloc_start; /* the architecture's vmalloc region */
	u64 vmalloc_end;
	u64 modules_vaddr;
	u64 modules_end;
	u64 kasan_shadow_start; /* KASAN shadow region (generic, 1:8) */
	u64 kasan_shadow_end;
	u64 kasan_shadow_offset; /* shadow(addr) = (addr >> 3) + offset */
	/* x86-64 only (0 on arm64): the CPU entry area [cpu_entry_area,
	 * cpu_entry_area_end) and __START_KERNEL_map, the kernel image. */
	u64 cpu_entry_area, cpu_entry_area_end;
	u64 kernel_image;
	u64 task_size;     /* top of user space (TASK_SIZE) */
	u64 task_unmapped_base; /* TASK_UNMAPPED_BASE: bottom-up mmap start */
	int va_bits;       /* canonical: bits [63, va_bits - 1] (x86) or
			    * [63, va_bits] (arm64, TTBR split) all equal */
};

enum vmlab_arch_id { VMLAB_ARCH_X86_64, VMLAB_ARCH_ARM64 };

/* The machine's TLB hooks of an architecture (src/arch/arch.h). */
struct vmlab_arch_tlb_ops;

/* The architecture interface: entry format, table geometry and the
 * rules the generic mm code needs (src/arch/<arch>/). */
struct vmlab_arch_ops {
	const char *name;
	enum vmlab_arch_id id;
	int levels; /* 4 */
	/* Physical address bits a leaf or table entry can name. */
	int pa_bits;
	/* Swap offsets a swap entry can hold: [0, swp_offsets). */
	u64 swp_offsets;
	/* The raw encoders below assert their arguments are in range; the
	 * vmlab_mk_* helpers check them first (a warning, 0 returned). */
	u64 (*mk_leaf)(u64 pfn, vmlab_pgprot_t prot, int level);
	u64 (*mk_table)(u64 pfn, bool user);
	u64 (*mk_swap)(u32 type, u64 offset);
	/* pte_swp_mksoft_dirty() / pte_swp_clear_soft_dirty() of a swap
	 * entry; NULL: swap entries have no soft-dirty bit (no
	 * CONFIG_HAVE_ARCH_SOFT_DIRTY). */
	u64 (*swp_set_soft_dirty)(u64 entry, bool on);
	u64 (*mk_marker)(u32 marker_bits);
	void (*decode)(u64 entry, int level, struct vmlab_pte_info *out);
	/* A PTE-level entry holding every bit of pte_page_mask is a present
	 * 4 KiB leaf (decode says VMLAB_PTE_LEAF): the unmap loop tests
	 * that inline instead of decoding each entry. */
	u64 pte_page_mask;
	/* Hardware view: does a present, usable entry exist? */
	bool (*hw_present)(u64 entry);
	bool (*is_large)(u64 entry, int level);
	u64 (*set_ad)(u64 entry, bool dirty); /* A (and D) as hardware does */
	/* Does a stale TLB entry granting more than the table merely cause a
	 * spurious fault when it is more restrictive (x86: yes)? */
	bool spurious_fault_ok;
	/* pte_needs_flush(): after a present entry changed from old to new,
	 * must its TLB entries be flushed? */
	bool (*pte_needs_flush)(u64 old, u64 new_);
	/* Break-before-make: must a live valid entry old not be replaced by
	 * new directly (arm64; NULL where the architecture has no such rule)? */
	bool (*bbm_required)(u64 old, u64 new_, int level);
	/* A reserved encoding the walker faults on (a malformed entry). */
	bool (*bad_entry)(u64 entry, int level);
	/* Kernel half translated from its own root (arm64 TTBR1): user mms
	 * do not share init_mm's top-level entries. */
	bool split_root;
	struct vmlab_va_layout layout;
	/* Machine-internal: switch, TLB tags, flushes (src/arch/arch.h). */
	const struct vmlab_arch_tlb_ops *tlb;
};

const struct vmlab_arch_ops *vmlab_arch(const struct vmlab_machine *m);

/*
 * Entry helpers dispatching through the machine's architecture.  An
 * argument the format cannot hold (a level without leaves, a frame beyond
 * the physical address bits or not aligned to the leaf, a non-present
 * protection that is not PROT_NONE, a swap type >= 32 or an offset too
 * large, marker bits 0) is a kernel-style warning and gives 0 (pte_none).
 * So does a swap entry that encodes as pte_none: arm64's type 0, offset 0
 * (its swap entries are stored as they are, and slot 0 of a swap area is
 * its header, never handed out).
 */
u64 vmlab_mk_leaf(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot,
		  int level);
u64 vmlab_mk_swap(struct vmlab_machine *m, u32 type, u64 offset);
u64 vmlab_mk_marker(struct vmlab_machine *m, u32 bits);
void vmlab_pte_decode(const struct vmlab_machine *m, u64 entry, int level,
		      struct vmlab_pte_info *out);

/*
 * Has mm a table translating va?  Not where the kernel half has its own
 * root (arm64) and mm is init_mm with a TTBR0 (user) address: a kernel
 * thread's TTBR0 is reserved_pg_dir, all invalid, and init_mm's root is
 * the TTBR1 table, whose index for a user address names the linear map.
 */
bool vmlab_mm_has_root(const struct vmlab_machine *m,
		       const struct vmlab_mm *mm, u64 va);
/* The top-level table translating va for mm (init_mm's for kernel
 * addresses where the kernel half has its own root); vmlab_mm_has_root()
 * must hold. */
u64 vmlab_mm_root(const struct vmlab_machine *m, const struct vmlab_mm *mm,
		  u64 va);
/* First address translated by entry index idx of a top-level table of mm. */
u64 vmlab_pgd_index_va(const struct vmlab_machine *m,
		       const struct vmlab_mm *mm, u64 idx);
/* Is va canonical for the architecture (x86: bits 63..47 equal; arm64:
 * bits 63..48, a TTBR0 or TTBR1 address)? */
static inline bool vmlab_va_canonical(const struct vmlab_machine *m, u64 va)
{
	const struct vmlab__machine_head *h =
		(const struct vmlab__machine_head *)(const void *)m;
	u64 top = va >> h->va_top_shift;
	return top == 0 || top == (~0ULL >> h->va_top_shift);
}
bool vmlab_pte_needs_flush(const struct vmlab_machine *m, u64 old, u64 new_);
const struct vmlab_va_layout *vmlab_layout(const struct vmlab_machine *m);
/* The layout of an architecture by name (NULL: x86_64); NULL if unknown. */
const struct vmlab_va_layout *vmlab_arch_layout(const char *arch);

u64 vmlab_get_entry(struct vmlab_machine *m, vmlab_ptep_t ptep);
/*
 * Store an entry.  va is the first address the entry translates, level its
 * level; the store is counted, traced and shown to the checker.
 */
void vmlab_set_entry(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		     int level, vmlab_ptep_t ptep, u64 val);

/* Locate the entry translating va at `level`; 0 and *ptep, or -ENOENT when
 * a higher level is not a table (hole or large leaf). */
int vmlab_lookup_entry(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		       int level, vmlab_ptep_t *ptep);
/* Software walk: the leaf translating va (no TLB, no A/D); 0 or -ENOENT. */
int vmlab_translate(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		    u64 *pa, vmlab_pgprot_t *prot, int *level);

/* ------------------------------------------------------------ mmu_gather */

#define VMLAB_GATHER_BATCH 512

/*
 * Collects the range that needs flushing and the frames that may be freed
 * only after that flush (data pages and page-table pages).  Like the
 * kernel's mmu_gather: tlb_finish_mmu() flushes, then frees.
 */
struct vmlab_mmu_gather {
	struct vmlab_mm *mm;
	int cpu;   /* initiating CPU */
	u64 start; /* range needing a flush; start >= end: nothing */
	u64 end;
	bool freed_tables;
	int stride_shift;
	int nr_pages;
	u64 pages[VMLAB_GATHER_BATCH]; /* pfn << 4 | order */
	bool fullmm;
};

void vmlab_tlb_gather_mmu(struct vmlab_mmu_gather *tlb, struct vmlab_mm *mm,
			  int cpu);
void vmlab_tlb_add_range(struct vmlab_mmu_gather *tlb, u64 start, u64 end,
			 int stride_shift);
/* Queue a frame block to free after the flush (flushes early when full). */
void vmlab_tlb_remove_page(struct vmlab_machine *m,
			   struct vmlab_mmu_gather *tlb, u64 pfn, int order);
void vmlab_tlb_remove_table(struct vmlab_machine *m,
			    struct vmlab_mmu_gather *tlb, u64 pfn);
/* Flush what was gathered, then free the queued frames. */
void vmlab_tlb_flush_mmu(struct vmlab_machine *m,
			 struct vmlab_mmu_gather *tlb);
void vmlab_tlb_finish_mmu(struct vmlab_machine *m,
			  struct vmlab_mmu_gather *tlb);

/* ------------------------------------------------------ range primitives */

/* Flags for vmlab_map_range. */
#define VMLAB_MAP_HUGE_PMD (1u << 0) /* use 2 MiB leaves where aligned */
#define VMLAB_MAP_HUGE_PUD (1u << 1) /* use 1 GiB leaves where aligned */
#define VMLAB_MAP_REPLACE (1u << 2)  /* overwrite existing non-table entries */

/*
 * Map [va, va+size) to [pa, pa+size) with prot.  Allocates tables as
 * needed.  -EINVAL (misaligned, overflow, size 0), -EEXIST (an entry is
 * already present and MAP_REPLACE not given; nothing past it is mapped),
 * -ENOMEM.  No flush: new translations need none.
 */
int vmlab_map_range(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		    u64 pa, u64 size, vmlab_pgprot_t prot, u32 flags);

/*
 * Where vmlab_map_pages() put a range inside one 2 MiB region: its PTE
 * table, valid while the page-table structure stays as it was then.
 */
struct vmlab_pte_run {
	u64 seq;    /* the structure's version at the map (opaque) */
	u64 ctx_id; /* the mm's */
	u64 region; /* va >> PMD shift */
	u64 table;  /* pfn of the PTE table */
	u64 *host;  /* its entries; NULL: no run to remember */
};

/*
 * Map nr 4 KiB frames pfns[0..nr) at va, one leaf each, with prot (what
 * vmap_pages_range_noflush() does for 4 KiB pages): vmlab_map_range() of
 * each physically contiguous run, in order, with the same errors; a
 * range inside one 2 MiB region whose PTE table is already known is
 * stored straight into it.  run (may be NULL): on entry a run the caller
 * kept (zeroed: none), whose table is used if it is still valid and va
 * lies in its region (consecutive vmallocs land in one table); on return
 * where these leaves went.
 */
int vmlab_map_pages(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		    const u64 *pfns, u64 nr, vmlab_pgprot_t prot,
		    struct vmlab_pte_run *run);

/*
 * vunmap_range_noflush(): vmlab_unmap_range(m, tlb, va, size, false),
 * except that while run (from vmlab_map_pages(); may be NULL) is still
 * the table of va's region, its present 4 KiB leaves are cleared in
 * place without joining tlb, up to the first entry of another kind,
 * from which on vmlab_unmap_range() does the rest: for callers whose
 * flush comes from elsewhere (the lazy purge).
 * The stores and the count returned are the same either way.
 */
s64 vmlab_unmap_range_noflush(struct vmlab_machine *m,
			      struct vmlab_mmu_gather *tlb, u64 va, u64 size,
			      const struct vmlab_pte_run *run);

/*
 * Clear every entry in [va, va+size): large leaves only partly covered are
 * split first.  The range is added to the gather (no flush here).
 * free_tables: page-table pages that become empty are unlinked and queued
 * on the gather.  Returns the number of leaf entries cleared, or -errno.
 */
s64 vmlab_unmap_range(struct vmlab_machine *m, struct vmlab_mmu_gather *tlb,
		      u64 va, u64 size, bool free_tables);

/*
 * Change protection of present leaves in [va, va+size): prot =
 * (prot & ~clear) | set.  Splits large leaves partly covered.  The range
 * goes to the gather.  Returns leaves changed or -errno.
 */
s64 vmlab_protect_range(struct vmlab_machine *m,
			struct vmlab_mmu_gather *tlb, u64 va, u64 size,
			vmlab_pgprot_t set, vmlab_pgprot_t clear);

/*
 * Split the large leaf at `level` (PMD or PUD) that covers va into a table
 * of next-level leaves with the same protection.  No flush is done: the
 * translation is unchanged, only its granularity (the caller flushes if
 * the architecture or its later changes need it), except where the
 * architecture requires break-before-make (arm64): the block is invalidated
 * and flushed first, by cpu, the CPU doing the operation.  0, -ENOENT (no
 * large leaf there), -EINVAL (bad cpu, level or address), -ENOMEM.
 */
int vmlab_split_leaf(struct vmlab_machine *m, int cpu, struct vmlab_mm *mm,
		     u64 va, int level);

/* Allocate / free a zeroed page-table page (counted). */
int vmlab_pgtable_alloc(struct vmlab_machine *m, int level, u64 *pfn);
/* Immediate free: only for tables never linked or already flushed. */
void vmlab_pgtable_free(struct vmlab_machine *m, u64 pfn);

/* ------------------------------------------------------------ page walk */

struct vmlab_walk;

enum vmlab_walk_action {
	VMLAB_WALK_SUBTREE = 0,  /* descend (splitting a large leaf if needed) */
	VMLAB_WALK_CONTINUE = 1, /* skip this entry's subtree */
	VMLAB_WALK_AGAIN = 2,    /* call again for this entry */
};

/*
 * enum page_walk_lock (include/linux/pagewalk.h): the locks a walk of a
 * user mm requires (process_mm_walk_lock / process_vma_walk_lock of
 * mm/pagewalk.c).  A requirement not met is a kernel-style warning (the
 * kernel's mmap_assert_locked / vma_assert_write_locked) and the walk
 * goes on.  Kernel walks (init_mm) have no such locks to check.
 */
enum vmlab_pgwalk_lock {
	VMLAB_PGWALK_RDLOCK = 0,	/* mmap_lock held, read or write */
	VMLAB_PGWALK_WRLOCK,		/* mmap_lock held for writing; the walk
					 * write-locks each VMA (vma_start_write) */
	VMLAB_PGWALK_WRLOCK_VERIFY,	/* ... each VMA already write-locked */
	VMLAB_PGWALK_VMA_RDLOCK_VERIFY, /* each VMA locked (its per-VMA lock),
					 * no mmap_lock needed */
};

/* Callbacks, as the kernel's struct mm_walk_ops.  Non-zero return stops
 * the walk and is returned by vmlab_walk_page_range(). */
struct vmlab_walk_ops {
	int (*pgd_entry)(vmlab_ptep_t e, u64 addr, u64 next,
			 struct vmlab_walk *w);
	int (*pud_entry)(vmlab_ptep_t e, u64 addr, u64 next,
			 struct vmlab_walk *w);
	int (*pmd_entry)(vmlab_ptep_t e, u64 addr, u64 next,
			 struct vmlab_walk *w);
	/* Every PTE including empty ones, unless install_pte is set: then
	 * only entries that are not none. */
	int (*pte_entry)(vmlab_ptep_t e, u64 addr, u64 next,
			 struct vmlab_walk *w);
	/* depth: 0 PGD, 1 P4D (unused), 2 PUD, 3 PMD, as the kernel's. */
	int (*pte_hole)(u64 addr, u64 next, int depth, struct vmlab_walk *w);
	/* Set: missing tables are allocated and this supplies the new PTE
	 * value in *val (leave 0 to skip). */
	int (*install_pte)(u64 addr, u64 next, u64 *val, struct vmlab_walk *w);
	enum vmlab_pgwalk_lock walk_lock;
};

struct vmlab_walk {
	const struct vmlab_walk_ops *ops;
	struct vmlab_machine *m;
	struct vmlab_mm *mm;
	enum vmlab_walk_action action;
	void *private;
};

/* Walk [start, end) of mm's tables.  0, a callback's non-zero value,
 * -EINVAL (bad range, or ops->install_pte set: installing PTEs is
 * mm-internal, walk_page_range_mm() of src/mm/internal.h, as in the
 * kernel since 6.13), or -ENOMEM (install_pte table allocation). */
int vmlab_walk_page_range(struct vmlab_machine *m, struct vmlab_mm *mm,
			  u64 start, u64 end, const struct vmlab_walk_ops *ops,
			  void *private);

#endif
