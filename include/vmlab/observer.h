/* SPDX-License-Identifier: MIT */
/*
 * Machine observers: how upper layers (the checker, KASAN, the
 * secondary-MMU / SMMU layer, tracers) watch the machine without the
 * machine knowing them by name.
 *
 * An observer is a table of callbacks plus a context pointer, registered
 * on one machine.  Any callback may be NULL; the machine keeps, per event,
 * a bit saying whether any registered observer wants it, so an event
 * nobody wants costs one predictable branch on a slow path and nothing at
 * all on the TLB-hit path.  Callbacks run synchronously, in registration
 * order (deterministic), on the simulated CPU that caused the event.
 *
 * Events:
 *  entry_store   every page-table entry store through vmlab_set_entry()
 *                with old != val (hardware A/D/AF/DBM updates excluded:
 *                they never change a translation).  va is the first
 *                address the entry translates.  Called after the store.
 *  tlb_fill      an entry was inserted into a TLB array of cpu.
 *  tlb_drop      an entry left a TLB array (invalidation or eviction).
 *  tlb_inval     a TLB invalidation instruction executed: x86 invlpg /
 *                CR3 write / global flush on one CPU, arm64 TLBI (with
 *                inv->broadcast set for the inner-shareable forms, which
 *                reach every CPU and, with BTM, SMMUs).  One event per
 *                instruction, before the entries it removes are dropped.
 *  watched_hit   a TLB entry an observer marked as watched (see
 *                vmlab_tlbe_watch()) is being used by an access; such
 *                entries never enter the host fast path.
 *  pwc_use       a page walk starts from a paging-structure cache entry
 *                (table_pfn is the cached table of `level`).
 *  frame_alloc   a block of 2^order frames was handed out.
 *  frame_free    a block is about to be freed (still allocated).
 *  pgtable_free  a page-table page is about to be freed.
 *  pgtable_wild  a store is about to land in a page-table page without
 *                going through vmlab_set_entry(): a CPU write through
 *                some alias (the direct map) or a raw physical / device
 *                write - memory corruption as a kernel bug makes it.  No
 *                one is told which entries change: observers that count
 *                table contents must stop trusting their counts.
 *  access        a CPU access (kernel or user; flags carry VMLAB_ACC_USER)
 *                of [va, va+len) is about to be made, before translation,
 *                as compiler instrumentation (KASAN) sees it.
 *  mm_flush      the architecture's TLB-flush code finished a flush of a
 *                user mm's [start, end) (end VMLAB_TLB_FLUSH_ALL: all of
 *                it), at each place where Linux 6.6+ calls
 *                mmu_notifier_arch_invalidate_secondary_tlbs(): x86
 *                flush_tlb_mm_range() and arch_tlbbatch_add_pending() (the
 *                whole mm), arm64 flush_tlb_mm(), flush_tlb_page() and
 *                __flush_tlb_range().  Local-only flushes and the spurious-
 *                fault fix (local_flush_tlb_page_nonotify) send none.
 *  host_flush    every host-side fast path must be emptied (the checker
 *                came on: hits must be checked from now on).  The CPUs'
 *                are emptied by the machine; device models with a fast
 *                path of their own (the SMMU's) empty theirs.
 *
 * Cost of the access event: while no observer wants it, the access path
 * is unchanged (the host fast-path tags are the plain ones).  While one
 * does, fast-path tags carry a "watched" bit, so the inline accessors miss
 * and the out-of-line accessor matches the watched tag, calls the access
 * callbacks and completes the hit: about ten host instructions plus the
 * callbacks.  Registering or unregistering an access observer empties
 * every CPU's fast path.
 */
#ifndef VMLAB_OBSERVER_H
#define VMLAB_OBSERVER_H

#include "pgtable.h"

/* A machine TLB entry, opaque outside src/machine (src/ layers that
 * include machine/internal.h may convert it with tlbe()). */
struct vmlab_tlbe;

/* A TLB entry's public view. */
struct vmlab_tlb_info {
	u64 va;    /* first address it translates */
	u64 pfn;   /* first frame */
	int level; /* page-size level (0: 4K, 1: 2M, 2: 1G) */
	u16 asid;  /* PCID (x86) or ASID (arm64) tag; global: any */
	bool global, write, exec, user, dirty;
};
void vmlab_tlbe_info(const struct vmlab_tlbe *e, struct vmlab_tlb_info *out);
/* Mark an entry watched: later uses call watched_hit and bypass the host
 * fast path.  Clearing is done by the machine when the entry is dropped. */
void vmlab_tlbe_watch(struct vmlab_machine *m, int cpu, struct vmlab_tlbe *e);

enum vmlab_inval_kind {
	VMLAB_INV_VA,   /* one page: its ASID's entry and global ones
			 * (invlpg; TLBI VAE1/VAAE1/VALE1) */
	VMLAB_INV_ASID, /* all non-global entries of one ASID
			 * (CR3 write without NOFLUSH; TLBI ASIDE1) */
	VMLAB_INV_ALL,  /* everything, global entries included
			 * (CR4.PGE toggle; TLBI VMALLE1) */
};

struct vmlab_tlb_inval {
	enum vmlab_inval_kind kind;
	int cpu;        /* CPU executing the instruction */
	bool broadcast; /* arm64 ...IS form: every CPU in the domain */
	bool all_asids; /* VA: every ASID's entry for the page (TLBI VAAE1) */
	u64 va;         /* VA: page address */
	u16 asid;       /* VA / ASID: the tag (PCID on x86) */
	struct vmlab_mm *mm; /* address space owning asid, NULL if none */
};

struct vmlab_observer {
	const char *name;
	void (*entry_store)(void *ctx, struct vmlab_machine *m,
			    struct vmlab_mm *mm, u64 va, int level,
			    vmlab_ptep_t ptep, u64 old, u64 val);
	void (*tlb_fill)(void *ctx, struct vmlab_machine *m, int cpu,
			 struct vmlab_tlbe *e);
	void (*tlb_drop)(void *ctx, struct vmlab_machine *m, int cpu,
			 const struct vmlab_tlbe *e);
	void (*tlb_inval)(void *ctx, struct vmlab_machine *m,
			  const struct vmlab_tlb_inval *inv);
	void (*watched_hit)(void *ctx, struct vmlab_machine *m, int cpu,
			    const struct vmlab_tlbe *e, enum vmlab_access kind,
			    u64 va);
	void (*pwc_use)(void *ctx, struct vmlab_machine *m, int cpu, u64 va,
			int level, u64 table_pfn);
	void (*frame_alloc)(void *ctx, struct vmlab_machine *m, u64 pfn,
			    int order);
	void (*frame_free)(void *ctx, struct vmlab_machine *m, int cpu,
			   u64 pfn, int order);
	void (*pgtable_free)(void *ctx, struct vmlab_machine *m, u64 pfn,
			     int level);
	void (*pgtable_wild)(void *ctx, struct vmlab_machine *m, int cpu,
			     u64 pfn);
	void (*access)(void *ctx, struct vmlab_machine *m, int cpu,
		       enum vmlab_access kind, u64 va, size_t len, u32 flags);
	void (*mm_flush)(void *ctx, struct vmlab_machine *m, int cpu,
			 struct vmlab_mm *mm, u64 start, u64 end);
	void (*host_flush)(void *ctx, struct vmlab_machine *m, const char *why);
	/*
	 * An access callback that is a shadow-memory check (KASAN) may say
	 * so: for an aligned 8-byte kernel access it allows exactly what a
	 * shadow byte of 0 at (va >> 3) + inline_shadow_offset allows, and
	 * has no side effect then.  While every access observer declares
	 * the same offset, the inline accessors (tlb.h) make that check
	 * themselves and call out only when it fails.  0: no such promise.
	 */
	u64 inline_shadow_offset;
	/*
	 * An observer that keeps state for some TLB entries only (the
	 * checker) sets this: tlb_drop then need only run for entries carrying
	 * an observer mark, and tlb_fill for marked entries (an L2
	 * entry's mark travels with its L1 copy) and for entries whose
	 * permissions meet the observer's fill mask, which it moves as its
	 * state changes (machine/internal.h: obs_set_fill_mask).  A miss of
	 * the walk then costs it nothing.  false: every fill and drop.
	 */
	bool tlb_marked_only;
};

#define VMLAB_MAX_OBSERVERS 8

/*
 * Register ops (which must outlive the registration) with ctx.  0,
 * -VMLAB_EBUSY (the same ops/ctx pair is already registered), -VMLAB_ENOSPC
 * (VMLAB_MAX_OBSERVERS reached), -VMLAB_EINVAL (NULL ops).  Unregister
 * before ctx goes away; an observer living in a service slot unregisters
 * from its slot's destroy function.
 */
int vmlab_observer_register(struct vmlab_machine *m,
			    const struct vmlab_observer *ops, void *ctx);
/* Returns 0, or -VMLAB_ENOENT if the pair was not registered. */
int vmlab_observer_unregister(struct vmlab_machine *m,
			      const struct vmlab_observer *ops, void *ctx);

/* Empty every host fast path (CPUs', then host_flush observers'). */
void vmlab_host_fast_flush(struct vmlab_machine *m, const char *why);

#endif
