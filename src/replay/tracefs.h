/* SPDX-License-Identifier: MIT */
/*
 * The tracefs text parser's output: the records of the four events vmlab
 * replays (vmalloc:alloc_vmap_area, vmalloc:free_vmap_area_noflush,
 * vmalloc:purge_vmap_area_lazy, tlb:tlb_flush), in file order.
 */
#ifndef VMLAB_REPLAY_TRACEFS_H
#define VMLAB_REPLAY_TRACEFS_H

#include "replay/rinternal.h"

enum tfs_kind { TFS_ALLOC, TFS_FREE, TFS_PURGE, TFS_TLB };

/* arch/x86/include/asm/mmu.h's enum tlb_flush_reason, in its order. */
enum tfs_tlb_reason {
	TLB_FLUSH_ON_TASK_SWITCH,
	TLB_REMOTE_SHOOTDOWN,
	TLB_LOCAL_SHOOTDOWN,
	TLB_LOCAL_MM_SHOOTDOWN,
	TLB_REMOTE_SEND_IPI,
	TLB_REMOTE_WRONG_CPU,
	NR_TLB_FLUSH_REASONS
};
extern const char *const tfs_tlb_reason_name[NR_TLB_FLUSH_REASONS];

struct tfs_rec {
	u64 line;
	u64 ts_ns;
	u8 kind; /* enum tfs_kind */
	u8 reason; /* TFS_TLB */
	u16 cpu;
	s32 pid;
	char comm[20]; /* task name, truncated */
	/* alloc: va_start size align vstart vend failed
	 * free: va_start nr_lazy nr_lazy_max
	 * purge: start end num_purged
	 * tlb: pages (s64 in a; -1 = full flush) */
	u64 a, b, c, d, e, f;
};

struct tfs_trace {
	struct tfs_rec *rec;
	size_t n, cap;
	int nr_cpus_header; /* #P: of the header, 0 if absent */
	int max_cpu;	    /* highest CPU number seen */
	u64 lost_events;    /* "[LOST n EVENTS]" markers */
	u64 other_events;   /* events of other kinds, ignored */
	u64 header_entries; /* entries-in-buffer of the header (0: none) */
};

/* 0, or -VMLAB_EINVAL with a message naming the line in err. */
int tfs_parse(const char *text, size_t len, const char *source,
	      struct tfs_trace *t, char *err, size_t errlen);
void tfs_free(struct tfs_trace *t);

/* x86-64: the kernel half starts at the 5-level PAGE_OFFSET's top bits;
 * __START_KERNEL_map, above which the execmem windows lie. */
#define TFS_KERNEL_HALF 0xff00000000000000ULL
#define TFS_KERNEL_IMAGE_MAP 0xffffffff80000000ULL

/*
 * The trace's VMALLOC_START: vmalloc() and vmap() pass VMALLOC_START ..
 * VMALLOC_END as vstart/vend, so it is the most frequent vstart below the
 * kernel image map (ties: the lowest).  KASLR (CONFIG_RANDOMIZE_MEMORY)
 * moves it at boot.  0 when no allocation shows it; *votes allocations
 * of *allocs did.
 */
u64 tfs_vmalloc_start(const struct tfs_trace *t, u64 *votes, u64 *allocs);
/*
 * Move the records' vmalloc addresses from the trace's range [from, from
 * + size) to the model's [to, to + size): allocation addresses and
 * windows, freed areas, purged ranges (a start in the direct map moves
 * with it, staying below the range).  Returns the records changed.
 */
u64 tfs_relocate(struct tfs_trace *t, u64 from, u64 to, u64 size);

#endif
