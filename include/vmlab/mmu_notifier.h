/* SPDX-License-Identifier: MIT */
/*
 * MMU notifiers (include/linux/mmu_notifier.h, mm/mmu_notifier.c): how the
 * primary MMU's owner (the user-mm layer) tells secondary MMUs (an SMMU
 * sharing the CPU page table, a KVM-like stage 2, a scenario's own
 * subscriber) that translations of an mm are about to be removed, narrowed
 * or moved, that they have been, that a secondary TLB must drop a range,
 * that the mm is going away, and how they age pages.
 *
 * The notifiers layer sits above mm core and below the user mm (DESIGN
 * §6): the user layer calls vmlab_mmu_notifier_invalidate_range_start()
 * and friends where Linux does; subscribers register per mm.  With no
 * subscriber every call is one NULL test.
 *
 * Sleeping: invalidate_range_start/end, release and interval invalidate
 * callbacks may sleep (each is a scheduling point), so they must never be
 * called with the page-table lock held; the user layer declares its PTL
 * sections (vmlab_mmu_notifier_ptl()) and a sleeping call inside one warns
 * and is counted (VMLAB_MN_PTL_VIOLATIONS).  arch_invalidate_secondary_tlbs
 * and the young callbacks run under the PTL and must not sleep.
 */
#ifndef VMLAB_MMU_NOTIFIER_H
#define VMLAB_MMU_NOTIFIER_H

#include "machine.h"

/* enum mmu_notifier_event, plus the seed's upgrade event. */
enum vmlab_mmu_notifier_event {
	VMLAB_MMU_NOTIFY_UNMAP = 0,
	VMLAB_MMU_NOTIFY_CLEAR,
	VMLAB_MMU_NOTIFY_PROTECTION_VMA,
	VMLAB_MMU_NOTIFY_PROTECTION_PAGE,
	VMLAB_MMU_NOTIFY_SOFT_DIRTY,
	VMLAB_MMU_NOTIFY_RELEASE,
	VMLAB_MMU_NOTIFY_MIGRATE,
	VMLAB_MMU_NOTIFY_EXCLUSIVE,
	/* The posted patch (seed 5): RO -> RW; for invalidating secondary
	 * TLBs only, never for installing or upgrading secondary PTEs. */
	VMLAB_MMU_NOTIFY_PROTECTION_UPGRADE,
	VMLAB_MMU_NR_EVENTS
};
const char *vmlab_mmu_notifier_event_name(enum vmlab_mmu_notifier_event e);

#define VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE (1u << 0)

struct vmlab_mmu_notifier_range {
	struct vmlab_machine *m;
	struct vmlab_mm *mm;
	u64 start, end; /* [start, end) */
	enum vmlab_mmu_notifier_event event;
	unsigned int flags;
	int cpu;        /* where the primary-MMU change runs */
	void *owner;    /* MIGRATE/EXCLUSIVE: who asked (subscribers skip) */
};

struct vmlab_mmu_notifier;

/* struct mmu_notifier_ops.  Every member may be NULL. */
struct vmlab_mmu_notifier_ops {
	/* exit_mmap() or unregister: stop using the mm's translations. */
	void (*release)(struct vmlab_mmu_notifier *sub, struct vmlab_mm *mm);
	/* Aging: return non-zero if any page in the range was young. */
	int (*clear_flush_young)(struct vmlab_mmu_notifier *sub,
				 struct vmlab_mm *mm, u64 start, u64 end);
	int (*clear_young)(struct vmlab_mmu_notifier *sub, struct vmlab_mm *mm,
			   u64 start, u64 end);
	int (*test_young)(struct vmlab_mmu_notifier *sub, struct vmlab_mm *mm,
			  u64 address);
	/* -VMLAB_EAGAIN only when the range is not blockable. */
	int (*invalidate_range_start)(struct vmlab_mmu_notifier *sub,
				      const struct vmlab_mmu_notifier_range *r);
	void (*invalidate_range_end)(struct vmlab_mmu_notifier *sub,
				     const struct vmlab_mmu_notifier_range *r);
	/* The secondary-TLB hook (invalidate_range before 6.6): runs where
	 * the CPU TLB is flushed, possibly under the PTL. */
	void (*arch_invalidate_secondary_tlbs)(struct vmlab_mmu_notifier *sub,
					       struct vmlab_mm *mm, u64 start,
					       u64 end);
	/* mmu_notifier_get(): create a subscription for mm. */
	struct vmlab_mmu_notifier *(*alloc_notifier)(struct vmlab_mm *mm,
						     void *ctx);
	/* Last reference dropped (mmu_notifier_put / unregister). */
	void (*free_notifier)(struct vmlab_mmu_notifier *sub);
};

/* struct mmu_notifier: embed it in the subscriber's object. */
struct vmlab_mmu_notifier {
	const struct vmlab_mmu_notifier_ops *ops;
	struct vmlab_mm *mm; /* set by register */
	struct vmlab_mmu_notifier *next;
	int users;           /* mmu_notifier_get() references */
	bool registered;
};

/* 0, -VMLAB_EINVAL (NULL, no ops), -VMLAB_EEXIST (sub already
 * registered), -VMLAB_ENOMEM. */
int vmlab_mmu_notifier_register(struct vmlab_machine *m,
				struct vmlab_mmu_notifier *sub,
				struct vmlab_mm *mm);
/* Calls ->release (if the mm is still live) then ->free_notifier.
 * -VMLAB_ENOENT for a subscription not registered on mm. */
int vmlab_mmu_notifier_unregister(struct vmlab_machine *m,
				  struct vmlab_mmu_notifier *sub,
				  struct vmlab_mm *mm);
/* mmu_notifier_get(): the subscription of mm with these ops (users + 1),
 * or a new one from ops->alloc_notifier.  NULL on failure. */
struct vmlab_mmu_notifier *
vmlab_mmu_notifier_get(struct vmlab_machine *m,
		       const struct vmlab_mmu_notifier_ops *ops,
		       struct vmlab_mm *mm, void *ctx);
void vmlab_mmu_notifier_put(struct vmlab_machine *m,
			    struct vmlab_mmu_notifier *sub);

/* ------------------------------------------------- interval notifiers */

struct vmlab_mmu_interval_notifier;

struct vmlab_mmu_interval_notifier_ops {
	/* Under the driver's lock: call vmlab_mmu_interval_set_seq(ni,
	 * cur_seq).  Return false only for a non-blockable range it cannot
	 * handle now. */
	bool (*invalidate)(struct vmlab_mmu_interval_notifier *ni,
			   const struct vmlab_mmu_notifier_range *r,
			   u64 cur_seq);
};

struct vmlab_mmu_interval_notifier {
	const struct vmlab_mmu_interval_notifier_ops *ops;
	struct vmlab_mm *mm;
	u64 start, last; /* [start, last] */
	u64 invalidate_seq;
	struct vmlab_mmu_interval_notifier *next;
	bool inserted;
};

/* [start, start + length).  0, -VMLAB_EINVAL, -VMLAB_EEXIST,
 * -VMLAB_ENOMEM. */
int vmlab_mmu_interval_notifier_insert(struct vmlab_machine *m,
				       struct vmlab_mmu_interval_notifier *ni,
				       struct vmlab_mm *mm, u64 start,
				       u64 length,
				       const struct vmlab_mmu_interval_notifier_ops *ops);
/* -VMLAB_ENOENT when ni is not inserted.  Waits (scheduling) for an
 * invalidation of ni in progress to end, as Linux does. */
int vmlab_mmu_interval_notifier_remove(struct vmlab_machine *m,
				       struct vmlab_mmu_interval_notifier *ni);
/* The sequence protocol: begin (waits while ni is being invalidated),
 * fault in, take the driver lock, retry if read_retry says so. */
u64 vmlab_mmu_interval_read_begin(struct vmlab_machine *m,
				  struct vmlab_mmu_interval_notifier *ni);
bool vmlab_mmu_interval_read_retry(const struct vmlab_mmu_interval_notifier *ni,
				   u64 seq);
bool vmlab_mmu_interval_check_retry(const struct vmlab_mmu_interval_notifier *ni,
				    u64 seq);
void vmlab_mmu_interval_set_seq(struct vmlab_mmu_interval_notifier *ni,
				u64 cur_seq);

/* ----------------------------------------- primary-MMU side (callers) */

static inline bool vmlab_mm_has_notifiers(const struct vmlab_mm *mm)
{
	return mm && mm->notifier_subscriptions != NULL;
}

void vmlab_mmu_notifier_range_init(struct vmlab_mmu_notifier_range *r,
				   struct vmlab_machine *m,
				   enum vmlab_mmu_notifier_event event,
				   unsigned int flags, struct vmlab_mm *mm,
				   int cpu, u64 start, u64 end);
/* Marks r blockable (callbacks may sleep) and starts it: 0. */
int vmlab_mmu_notifier_invalidate_range_start(
	struct vmlab_mmu_notifier_range *r);
/* As-is (the OOM reaper's kind): 0, or -VMLAB_EAGAIN when a subscriber
 * refused the non-blockable range (those that accepted it get their end
 * callback, as Linux does). */
int vmlab_mmu_notifier_invalidate_range_start_nonblock(
	const struct vmlab_mmu_notifier_range *r);
void vmlab_mmu_notifier_invalidate_range_end(
	const struct vmlab_mmu_notifier_range *r);
void vmlab_mmu_notifier_arch_invalidate_secondary_tlbs(struct vmlab_machine *m,
							struct vmlab_mm *mm,
							u64 start, u64 end);
/* Where arch_invalidate_secondary_tlbs() is called: by the architecture's
 * TLB-flush code (machine observer mm_flush, as Linux 6.6+ does it) for
 * every flush of a user mm with subscribers.  Between on and off, the
 * flushes of mm tell no secondary TLB: a flush Linux makes without the
 * hook (before 6.6, the upgrade's flush_tlb_page(); planted bugs). */
void vmlab_mmu_notifier_flush_nonotify(struct vmlab_mm *mm, bool on);
/* exit_mmap(): every subscriber's ->release; interval notifiers stay. */
void vmlab_mmu_notifier_release(struct vmlab_machine *m, struct vmlab_mm *mm);
int vmlab_mmu_notifier_clear_flush_young(struct vmlab_machine *m,
					 struct vmlab_mm *mm, u64 start,
					 u64 end);
int vmlab_mmu_notifier_clear_young(struct vmlab_machine *m,
				   struct vmlab_mm *mm, u64 start, u64 end);
int vmlab_mmu_notifier_test_young(struct vmlab_machine *m,
				  struct vmlab_mm *mm, u64 address);
/* The mm is being freed: drop the subscriptions' state (every
 * subscription must have been unregistered; leftovers warn). */
void vmlab_mmu_notifier_subscriptions_destroy(struct vmlab_machine *m,
					      struct vmlab_mm *mm);

/* PTL sections of the primary MMU (held: +1 on lock, -1 on unlock). */
void vmlab_mmu_notifier_ptl(struct vmlab_mm *mm, bool lock);

/* ------------------------------------- the upgrade event (seed 5) */

/*
 * How a RO -> RW upgrade of a present PTE (wp_page_reuse(),
 * ptep_set_access_flags() in the fault path) reaches secondary MMUs:
 *  NONE: not at all (Linux before 6.6);
 *  RANGE_END: the posted patch: after the PTL is dropped, only if the PTE
 *    changed, invalidate_range_start/end with PROTECTION_UPGRADE;
 *  ACCESS_FLAGS_NOTIFY: the reviewer's ptep_set_access_flags_notify():
 *    the secondary-TLB hook, only on architectures whose CPU TLB needs the
 *    upgrade invalidated (arm64), as merged in 6.6.
 */
enum vmlab_upgrade_notify {
	VMLAB_UPGRADE_NOTIFY_NONE = 0,
	VMLAB_UPGRADE_NOTIFY_RANGE_END,
	VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS,
	VMLAB_NR_UPGRADE_NOTIFY
};
const char *vmlab_upgrade_notify_name(enum vmlab_upgrade_notify u);
/* "none", "range_end", "access_flags_notify"; -VMLAB_EINVAL otherwise. */
int vmlab_upgrade_notify_parse(const char *s, enum vmlab_upgrade_notify *out);
void vmlab_set_upgrade_notify(struct vmlab_machine *m,
			      enum vmlab_upgrade_notify u);
enum vmlab_upgrade_notify vmlab_get_upgrade_notify(struct vmlab_machine *m);

/* The primary MMU upgraded [va, va+PAGE) of mm (for reports: which
 * upgrade sent which notification). */
void vmlab_mmu_notifier_note_upgrade(struct vmlab_machine *m,
				     struct vmlab_mm *mm, u64 va,
				     const char *how, bool notified);
/* The last upgrade noted for va of mm: false if none. */
bool vmlab_mmu_notifier_last_upgrade(struct vmlab_machine *m,
				     struct vmlab_mm *mm, u64 va,
				     const char **how, bool *notified,
				     u64 *seq);

/* ------------------------------------------------------- statistics */

#define VMLAB_MN_STATS(X)                                                    \
	X(range_start)          /* invalidate_range_start calls (per mm op) */ \
	X(range_end)                                                         \
	X(secondary_tlbs)       /* arch_invalidate_secondary_tlbs calls */     \
	X(callbacks)            /* subscriber callbacks run */               \
	X(interval_invalidate)  /* interval ->invalidate calls */            \
	X(release)                                                           \
	X(young)                /* clear/test young calls */                 \
	X(ptl_violations)       /* sleeping callback under the PTL */        \
	X(nesting_violations)   /* end without start, unbalanced ranges */   \
	X(upgrades)             /* RO->RW upgrades seen by the fault path */ \
	X(upgrade_notifies)     /* ... of them that notified */

enum vmlab_mn_stat {
#define VMLAB_X_MN(n) VMLAB_MN_##n,
	VMLAB_MN_STATS(VMLAB_X_MN)
#undef VMLAB_X_MN
	VMLAB_NR_MN_STATS
};
const char *vmlab_mn_stat_name(enum vmlab_mn_stat s);
u64 vmlab_mn_stat(struct vmlab_machine *m, enum vmlab_mn_stat s);
/* Per event: invalidate_range_start calls that carried it. */
u64 vmlab_mn_event_count(struct vmlab_machine *m,
			 enum vmlab_mmu_notifier_event e);
void vmlab_mn_stats_reset(struct vmlab_machine *m);

/* Observation hook for tests and traces: every start/end/secondary call
 * as it happens (kind 0 start, 1 end, 2 secondary tlbs, 3 release). */
typedef void (*vmlab_mn_trace_fn)(void *ctx, int kind,
				  const struct vmlab_mmu_notifier_range *r,
				  bool ptl_held);
void vmlab_mn_set_trace(struct vmlab_machine *m, vmlab_mn_trace_fn fn,
			void *ctx);

#endif
