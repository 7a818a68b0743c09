/* SPDX-License-Identifier: MIT */
/*
 * Internals of execmem (execmem.c: types, ranges, bookkeeping, per-area;
 * execmem_pack.c: prog packs and the chunk bitmap; execmem_split.c: the
 * split module range; execmem_rox.c: the ROX cache; execmem_figures.c:
 * the workload and figures) and text_poke.c.  State hangs off the machine
 * in the VMLAB_SVC_EXECMEM slot.
 */
#ifndef VMLAB_SERVICES_EXECMEM_INTERNAL_H
#define VMLAB_SERVICES_EXECMEM_INTERNAL_H

#include "machine/internal.h"
#include "vmlab/checker.h"
#include "vmlab/directmap.h"
#include "vmlab/execmem.h"
#include "vmlab/vmalloc.h"

#define INT3 0xcc

/* kernel/bpf/core.c */
#define PACK_CHUNK_SHIFT 6 /* BPF_PROG_CHUNK_SHIFT; 0 with EXECMEM_PACK_1B */
#define PACK_SIZE VMLAB_PMD_SIZE /* SZ_2M * num_possible_nodes(), 1 node */

/* x86 text_poke_mm_addr without KASLR: TASK_UNMAPPED_BASE =
 * PAGE_ALIGN(TASK_SIZE_MAX / 3); the 2 MiB variant's address is the next
 * 2 MiB boundary past the two 4 KiB poking pages. */
#define POKE_ADDR 0x2aaaaaaab000ULL
#define POKE_ADDR_2M 0x2aaaaac00000ULL

/* ------------------------------------------------------ chunk bitmap */

/*
 * A first-fit bitmap with a summary of full words, so a search skips
 * used space 64 words at a time: bitmap_find_next_zero_area() gives the
 * same answer, linearly.
 */
struct vmlab_vmap_tree;

struct chunk_map {
	u32 nbits, nwords;
	u32 nfree;
	u64 *w;
	u64 *full; /* bit i: word i is all ones */
	/* Set (ct_init, execmem_chunktree.c): a vmap_area tree tracks the
	 * bits instead, one busy vmap_area per cm_take(). */
	struct vmlab_vmap_tree *tree;
};

int cm_init(struct chunk_map *cm, struct vmlab_machine *m, u32 nbits);
void cm_destroy(struct chunk_map *cm);
/* Lowest position of nbits free bits, or -1. */
s64 cm_find(const struct chunk_map *cm, u32 nbits);
/* cm_find() + cm_set(): the lowest fit, taken; -1 if none. */
s64 cm_take(struct chunk_map *cm, u32 nbits);
void cm_set(struct chunk_map *cm, u32 pos, u32 n);
void cm_clear(struct chunk_map *cm, u32 pos, u32 n);
bool cm_test(const struct chunk_map *cm, u32 pos);
bool cm_all_set(const struct chunk_map *cm, u32 pos, u32 n);
/* Host bytes the tracking of the kernel would take: the bitmap, or the
 * tree's vmap_area nodes (counted into *nodes). */
u64 cm_track_bytes(const struct chunk_map *cm, u64 *nodes);

/* execmem_chunktree.c: the same operations on a vmap_area tree. */
int ct_init(struct chunk_map *cm, u32 nbits);
void ct_destroy(struct chunk_map *cm);
s64 ct_take(struct chunk_map *cm, u32 n);
void ct_set(struct chunk_map *cm, u32 pos, u32 n);
void ct_clear(struct chunk_map *cm, u32 pos, u32 n);
/* Is [pos, pos + n) exactly one allocation? */
bool ct_is_alloc(const struct chunk_map *cm, u32 pos, u32 n);
u64 ct_track_bytes(const struct chunk_map *cm, u64 *nodes);

/* -------------------------------------------------- live allocations */

enum xm_kind {
	XM_AREA,      /* a vmalloc area of its own */
	XM_PACK,      /* chunks of a prog pack */
	XM_SPLIT,     /* pages of the split range's X part */
	XM_CACHE,     /* a range of the ROX cache */
	XM_TAIL,      /* pages of the kernel text's tail pool */
};

/* 16 bytes, so 10k live allocations stay cache-friendly. */
struct xm_alloc {
	u64 addr; /* 0: empty slot */
	u32 size; /* as asked (at most the module range) */
	u8 type;
	u8 kind;
	bool rox;	/* RO+X now: writes go through text_poke */
	bool finalized; /* PER_AREA: set_memory_ro/x done */
};

/* Backing bytes it holds: chunks for a pack, the range for the ROX cache,
 * whole pages otherwise. */
static inline u64 xm_reserved(const struct xm_alloc *a, u32 chunk_shift)
{
	if (a->kind == XM_CACHE)
		return a->size;
	u64 g = a->kind == XM_PACK ? 1ULL << chunk_shift : VMLAB_PAGE_SIZE;
	return ((u64)a->size + g - 1) & ~(g - 1);
}

/* Open addressing, linear probing, backward-shift deletion. */
struct xm_table {
	struct xm_alloc *slot;
	u64 cap; /* power of two */
	u64 nr;
};

/* ---------------------------------------------------------- packs */

struct xm_pack {
	u64 addr; /* 2 MiB aligned */
	struct chunk_map map;
	u32 slot;  /* position in list order (seg tree leaf) */
	u32 fail;  /* a search for >= fail chunks failed since the last free */
	bool live;
};

/* ----------------------------------------------------- ROX cache */

struct xm_range {
	u64 start, end;
};

struct xm_cache_area {
	u64 addr, size; /* a 2 MiB-multiple vmalloc area in the cache */
};

/* ---------------------------------------------------- kernel text */

struct xm_ktext {
	u64 text, etext, map_end; /* _text, _etext, round_up(_etext, 2M) */
	u64 pool;		  /* round_up(_etext, 4K) */
	bool tail_pool;		  /* Song: keep the last 2 MiB, pool its tail */
	u32 nr_blocks;		  /* 2 MiB blocks mapped */
	u64 gap_freed;		  /* mainline: gap pages freed */
	struct chunk_map map;	  /* the last block's pages: set = in use */
	u64 used, allocs;
};

/* ------------------------------------------------------- the state */

struct xm_poke {
	struct vmlab_mm *mm; /* poking_mm */
	u64 text_pokes, bytes, switches, flushes;
};

struct execmem {
	struct vmlab_machine *m;
	struct vmlab_execmem_config cfg;
	u64 mod_start, mod_end; /* MODULES_VADDR, MODULES_END (vmlab_layout) */
	struct vmlab_lock lock; /* text_mutex / pack_mutex */
	u32 chunk_shift;	/* PACK: log2 of the chunk size */
	struct xm_table live;
	u64 live_bytes;
	u64 area_bytes; /* reserved by XM_AREA allocations */
	u64 nr_areas;
	struct xm_poke poke;
	/* PACK: list order = slot order; seg[] is a max tree over slots. */
	struct xm_pack **packs; /* by slot, NULL when released */
	u32 nr_slots, cap_slots, nr_packs;
	u32 *seg; /* 2 * cap_slots */
	struct xm_pack **pack_index; /* per 2 MiB of the module range */
	/* SPLIT_RANGE */
	u64 x_base, x_end;	/* X part [x_base, x_end) */
	struct chunk_map xmap;	/* its pages */
	u64 boundary_grows;
	u64 data_low;
	u64 split_text_bytes;
	/* ROX_CACHE */
	struct xm_range *free;
	size_t nr_free, cap_free;
	struct xm_cache_area *cache;
	size_t nr_cache, cap_cache;
	struct vmlab_work clean_work;
	struct xm_ktext *kt; /* the kernel image's text, once mapped */
};

static inline struct execmem *xm_state(struct vmlab_machine *m)
{
	return m->svc[VMLAB_SVC_EXECMEM];
}

/* execmem.c */
struct execmem *xm_get(struct vmlab_machine *m);
struct xm_alloc *xm_lookup(struct execmem *xm, u64 addr);
int xm_insert(struct execmem *xm, const struct xm_alloc *a);
void xm_remove(struct execmem *xm, u64 addr);
bool xm_is_text(enum vmlab_execmem_type t);
void xm_type_range(const struct execmem *xm, enum vmlab_execmem_type t,
		   u64 *start, u64 *end);
/* A vmalloc area in [start, end) of the module range. */
u64 xm_vmalloc(struct execmem *xm, int cpu, u64 size, u64 align, u64 start,
	       u64 end, u64 vm_flags, const char *caller);
/* A 2 MiB-multiple area filled with INT3 while writable, then ROX. */
u64 xm_rox_area(struct execmem *xm, int cpu, u64 size, u64 start, u64 end,
		u64 vm_flags, const char *caller);
void xm_fill_writable(struct execmem *xm, u64 addr, u64 size);
/* Leaf bases (tagged with their level in bit 0) of the mapped pages. */
struct xm_leaves {
	u64 *v;
	size_t n, cap; /* cap > 0 */
};
/* Append one per translation of [start, end) that is mapped; false: no
 * host memory. */
bool xm_cover_range(struct vmlab_machine *m, struct xm_leaves *lv, u64 start,
		    u64 end);

/* execmem_ktext.c: the tail pool (0 when none or full). */
u64 ktext_alloc(struct execmem *xm, u64 size);
int ktext_free(struct execmem *xm, int cpu, const struct xm_alloc *a);
bool ktext_contains(const struct execmem *xm, u64 addr);
void ktext_destroy(struct execmem *xm);

/* execmem_pack.c */
u64 pack_alloc(struct execmem *xm, int cpu, u64 size, u64 *reserved,
	       enum xm_kind *kind);
/* 0 or -EINVAL (addr/size not one of its chunk runs). */
int pack_free(struct execmem *xm, int cpu, u64 addr, u64 size);
/* The chunk bookkeeping alone (benchmarks): no text_poke. */
s64 pack_take(struct execmem *xm, int cpu, u32 nbits, struct xm_pack **out);
void pack_give(struct execmem *xm, struct xm_pack *p, u32 pos, u32 nbits);
void pack_destroy_all(struct execmem *xm);
u64 pack_reserved(const struct execmem *xm);
/* Tracking memory of the live packs (cm_track_bytes); *nodes: vmap_areas,
 * *used: bytes of the chunks taken. */
u64 pack_track_bytes(const struct execmem *xm, u64 *nodes, u64 *used);

/* execmem_split.c */
u64 split_alloc(struct execmem *xm, int cpu, enum vmlab_execmem_type t,
		u64 size, u64 *reserved, enum xm_kind *kind);
int split_free(struct execmem *xm, int cpu, const struct xm_alloc *a);
void split_destroy(struct execmem *xm);

/* execmem_rox.c */
u64 rox_alloc(struct execmem *xm, int cpu, enum vmlab_execmem_type t,
	      u64 size);
int rox_free(struct execmem *xm, int cpu, const struct xm_alloc *a);
bool rox_serves(const struct execmem *xm, enum vmlab_execmem_type t);
void rox_destroy(struct execmem *xm);
u64 rox_reserved(const struct execmem *xm);

/* text_poke.c */
int poke_init(struct execmem *xm);
void poke_destroy(struct execmem *xm);

#endif
