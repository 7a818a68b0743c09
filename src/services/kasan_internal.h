/* SPDX-License-Identifier: MIT */
/*
 * Internals of KASAN (kasan.c: shadow layout, boot, populate, poison,
 * release; kasan_report.c: the access check, reports and the area
 * history), and the hooks the vmalloc service calls.  State hangs off
 * the machine in the VMLAB_SVC_KASAN slot; with KASAN off the slot is
 * NULL and every hook returns at once.
 */
#ifndef VMLAB_SERVICES_KASAN_INTERNAL_H
#define VMLAB_SERVICES_KASAN_INTERNAL_H

#include "machine/internal.h"
#include "vmlab/checker.h"
#include "vmlab/kasan.h"
#include "vmlab/observer.h"

/* Areas remembered for reports (allocated and freed), newest last. */
#define KASAN_HIST 1024

struct kasan_area_rec {
	u64 start, end; /* the mapped part (guard page excluded) */
	u64 requested;	/* unpoisoned bytes */
	const char *caller;
	const char *alloc_op, *free_op;
	u64 alloc_seq, free_seq;
	int alloc_cpu, free_cpu;
	bool freed;
};

/* Releases the kasan-release-unlocked mutant runs late. */
struct kasan_late {
	struct kasan_late_rel {
		u64 start, end, free_start, free_end;
	} *rel;
	size_t n, cap;
};

struct kasan_state {
	struct vmlab_machine *m;
	const struct vmlab_va_layout *layout; /* the architecture's */
	u64 offset;	 /* KASAN_SHADOW_OFFSET of the architecture */
	u64 shadow_start, shadow_end; /* the shadow region */
	u64 dm_shadow_start, dm_shadow_end; /* direct map's real shadow */
	enum vmlab_kasan_release release;
	/* init_mm.page_table_lock: populate and depopulate take it per PTE */
	struct vmlab_lock page_table_lock;
	struct vmlab_kasan_stats st;
	struct vmlab_observer obs; /* registered with this state as ctx */
	/* boot-time direct-map shadow blocks (order, pfn), freed at exit */
	u64 *dm_blocks;
	u32 nr_dm_blocks;
	/* kasan_early_shadow_page and the shared early tables, by level
	 * (PTE, PMD, PUD), kasan_init.c */
	u64 early_page;
	u64 early_tbl[VMLAB_LVL_PUD + 1];
	bool in_report; /* a report reads memory: no checks meanwhile */
	struct kasan_late late; /* the mutant's releases not run yet */
	u32 populating; /* CPUs inside kasan_populate_vmalloc() now */
	struct kasan_area_rec hist[KASAN_HIST];
	u64 hist_n;
};

static inline struct kasan_state *kasan_state(struct vmlab_machine *m)
{
	return m ? svc_get(m, VMLAB_SVC_KASAN) : NULL;
}

static inline u64 kasan_shadow(const struct kasan_state *ks, u64 addr)
{
	return (addr >> VMLAB_KASAN_SHADOW_SCALE_SHIFT) + ks->offset;
}

/* The inverse: first address a shadow byte describes. */
static inline u64 kasan_shadow_to_mem(const struct kasan_state *ks, u64 sh)
{
	return (sh - ks->offset) << VMLAB_KASAN_SHADOW_SCALE_SHIFT;
}

bool kasan_is_vmalloc_or_module(const struct kasan_state *ks, u64 addr);

/* kasan_init.c: kasan_early_init() + kasan_init() (the shadow layout at
 * boot); is pfn one of the shared early shadow tables? */
int kasan_init_shadow(struct kasan_state *ks);
bool kasan_early_table(const struct kasan_state *ks, u64 pfn);

/* ---- hooks for the vmalloc service (no-ops with KASAN off) ---- */

/* alloc_vmap_area(): map shadow for [addr, addr + size). 0 or -ENOMEM. */
int kasan_populate_vmalloc(struct vmlab_machine *m, int cpu, u64 addr,
			   u64 size);
/* The area [addr, addr + size) is handed out: unpoison size bytes and
 * remember it (caller, CPU, event) for reports. */
void kasan_unpoison_vmalloc(struct vmlab_machine *m, int cpu, u64 addr,
			    u64 size, const char *caller);
/* remove_vm_area() / vm_unmap_ram(): poison with KASAN_VMALLOC_INVALID. */
void kasan_poison_vmalloc(struct vmlab_machine *m, int cpu, u64 addr,
			  u64 size);
/* The purge gave [start, end) back; the free block around it is
 * [free_start, free_end).  Frees the shadow nobody else can use. */
void kasan_release_vmalloc(struct vmlab_machine *m, int cpu, u64 start,
			   u64 end, u64 free_start, u64 free_end);

/*
 * The kasan-release-unlocked mutant: kasan_release_vmalloc() only notes
 * the release; the purge runs the noted ones after it dropped
 * free_vmap_area_lock.  take: the pending batch (false: none);
 * run: release each and free the batch.
 */
bool kasan_release_take(struct vmlab_machine *m, struct kasan_late *out);
void kasan_release_run(struct vmlab_machine *m, int cpu,
		       struct kasan_late *batch);

/* kasan_report.c */
void kasan_hist_alloc(struct kasan_state *ks, int cpu, u64 start, u64 end,
		      u64 requested, const char *caller);
void kasan_hist_free(struct kasan_state *ks, int cpu, u64 start);
void kasan_report(struct kasan_state *ks, int cpu, u64 addr, u64 size,
		  bool write, u64 bad_addr);
void kasan_report_fault(struct kasan_state *ks, int cpu, u64 addr,
			u64 shadow, const char *what);
/* Software read of one shadow byte (no TLB): 0 or -ENOENT. */
int kasan_peek(struct kasan_state *ks, u64 shadow_addr, u8 *out);

#endif
