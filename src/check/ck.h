/* SPDX-License-Identifier: MIT */
/* Checker internals shared by checker.c (reports) and rules.c (hooks). */
#ifndef VMLAB_CK_H
#define VMLAB_CK_H

#include "vmlab/checker.h"

#include "machine/internal.h"

#define HIST_SIZE 256    /* recent entry stores and flushes kept */
#define MAX_REPORTS 4096 /* beyond this, findings are only counted */
#define MAX_LAZY 65536
#define CKF_REPORTED 1
/* The entry's frames are in the counts (tlb_ref/w/x, dm_tlb_x).  Fills
 * are counted when they grant execute (or write while anything is
 * executable), others when a store in their range may make them differ
 * from the table; an uncounted entry is what the table says: see
 * checker.c, "Counting TLB entries". */
#define CKF_COUNTED 2

struct hist {
	u64 seq;
	int cpu;
	const char *op;
	u64 va;
	int level;
	u64 old, val;
};

struct lazy_range {
	u64 start, end;
};

/* A store's W+X candidate deferred to the end of the CPA call. */
struct ck_wx_pending {
	u64 va, pfn, frames;
	int cpu;
};

/* A temporary mm (x86 poking_mm) and the poke it is open for, if any. */
#define CK_MAX_TEMP 4
struct ck_temp {
	struct vmlab_mm *mm;
	u64 start, end; /* where it maps its aliases */
	int cpu;	/* the poking CPU, -1: no poke open */
	int nr_runs;
	struct vmlab_checker_alias run[2];
};

struct checker {
	struct vmlab_report *rep;
	size_t nr_rep, cap_rep;
	u64 dropped;
	u64 found[VMLAB_NR_CHECKS]; /* every finding, kept or not */
	struct hist hist[HIST_SIZE];
	u64 hist_n;
	struct lazy_range *lazy;
	size_t nr_lazy;
	int cur_cpu; /* CPU whose code stores entries (-1: unknown) */
	s64 x_total;  /* executable refs outside the direct map (pt + tlb) */
	s64 dm_x;     /* executable direct-map leaves */
	s64 dm_tlb_x; /* cached executable direct-map entries */
	u32 dbg_tick; /* VMLAB_DEBUG: entry stores, paces ck_check_counts() */
	bool tainted; /* a freed frame was reachable: tables may be corrupt */
	bool pwc_suspect; /* a walk used a stale paging-structure entry */
	bool count_all;   /* every entry is counted (ck_count_all_mode) */
	u8 fill_mask;     /* the TLBF_* fills the machine hands us */
	struct ck_frame **frames; /* per section, allocated on first touch */
	struct ck_temp temp[CK_MAX_TEMP];
	int nr_temp;
	/* An open CPA call (vmlab_checker_cpa_begin): W+X made by its
	 * stores is judged when it ends, after its flush. */
	int cpa_depth;
	struct ck_wx_pending *wx_pending;
	size_t nr_wx_pending, cap_wx_pending;
	/* The host had no memory for the checker's own state (ck_oom): it
	 * stopped watching, with a warning; scratch stands in for the frame
	 * ck_frame() could not allocate. */
	bool off;
	bool recount; /* inside ck_check_counts (debug builds) */
	struct ck_frame scratch;
};

/* The checker lives in its service slot and watches through an observer
 * (include/vmlab/observer.h); the machine does not know it. */
static inline struct checker *CK(const struct vmlab_machine *m)
{
	return (struct checker *)m->svc[VMLAB_SVC_CHECK];
}

struct ck_frame *ck_frame_slow(struct vmlab_machine *m, u64 pfn);
/* Host out of memory for the checker's state: it stops, with a warning. */
void ck_oom(struct vmlab_machine *m, const char *what);
/* A frame's counts; its section's are allocated on first touch
 * (ck_frame_slow; host out of memory: a scratch frame, checking stops). */
static inline struct ck_frame *ck_frame(struct vmlab_machine *m, u64 pfn)
{
	struct checker *ck = CK(m);
	assert(ck && ck->frames && pfn < m->phys.nr_frames);
	struct ck_frame *sec = ck->frames[pfn >> SECTION_SHIFT];
	if (unlikely(!sec))
		return ck_frame_slow(m, pfn);
	return &sec[pfn & (SECTION_FRAMES - 1)];
}
/* bbm.c: the break-before-make rule, for architectures that have it. */
void ck_bbm(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va, int level,
	    u64 old, u64 val);
/* Judge the W+X stores deferred while a CPA call was open (rules.c). */
void ck_cpa_window_end(struct vmlab_machine *m);

/* Count e's frames if they are not yet (rules.c). */
void ck_count_entry(struct vmlab_machine *m, struct cpu *c,
		    struct tlb_entry *e);
/* Which fills the machine hands the checker: executable ones, writable
 * ones while anything is executable, all in count-all mode. */
static inline u8 ck_fill_mask(const struct checker *ck)
{
	if (ck->count_all || ck->nr_temp)
		return 0xff; /* TLBF_VALID: every fill */
	return (u8)(TLBF_X |
		    ((ck->x_total || ck->dm_x || ck->dm_tlb_x) ? TLBF_W : 0));
}
/* Tell the machine (checker.c). */
void ck_arm_set(struct vmlab_machine *m, u8 mask);
/* After counts or modes changed: keep the machine's filter in step. */
static inline void ck_arm(struct vmlab_machine *m)
{
	u8 mask = ck_fill_mask(CK(m));
	if (unlikely(mask != CK(m)->fill_mask))
		ck_arm_set(m, mask);
}
/* From now on, and for every cached entry, count them all: after a
 * wild write or a reachable free (tables changed behind set_pte), or
 * while a temporary mm needs exact writable counts (checker.c). */
void ck_count_all_mode(struct vmlab_machine *m);
void ck_taint(struct vmlab_machine *m);
void ck_temp_counting(struct vmlab_machine *m);
/* Every cached entry outside the direct map translating to pfn, counted
 * or not, with its W/X splits (report text; a scan). */
void ck_tlb_census(struct vmlab_machine *m, u64 pfn, u32 *ref, u32 *w,
		   u32 *x);

/* Observer callbacks (rules.c, findings.c), adapted in checker.c. */
void ck_set_entry(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		  int level, u64 old, u64 val);
void ck_tlb_fill(struct vmlab_machine *m, struct cpu *c,
		 const struct tlb_entry *e);
void ck_tlb_drop(struct vmlab_machine *m, struct cpu *c,
		 const struct tlb_entry *e);
/* A stale (watched) entry is being used: decide and report; the access
 * proceeds through it (hardware behaviour). */
void ck_stale_hit(struct vmlab_machine *m, struct cpu *c,
		  const struct tlb_entry *e, enum vmlab_access kind, u64 va);
void ck_pages_freed(struct vmlab_machine *m, int cpu, u64 pfn, int order);
void ck_pages_alloced(struct vmlab_machine *m, u64 pfn, int order);
void ck_pwc_used(struct vmlab_machine *m, struct cpu *c, int level,
		 u64 table_pfn, u64 va);

struct buf {
	char *s;
	size_t len, cap;
};

void bprintf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void entry_str(struct vmlab_machine *m, char *out, size_t n, u64 e, int level);
void tlb_str(char *out, size_t n, const struct tlb_entry *e);
void add_history(struct vmlab_machine *m, struct buf *b, u64 va, u64 pfn);
bool already(struct checker *ck, enum vmlab_check c, int cpu, u64 va, u64 pfn);
void emit(struct vmlab_machine *m, enum vmlab_check c, int cpu, u64 va,
	  u64 pfn, enum vmlab_access acc, struct buf *b);
void header(struct vmlab_machine *m, struct buf *b, enum vmlab_check c,
	    int cpu, const char *what);

struct grant {
	bool ok;
	u64 pfn;
	bool w, x, u;
	int level;
};

void table_grant(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		 struct grant *g);
struct vmlab_mm *entry_mm(struct vmlab_machine *m, struct cpu *c,
			  const struct tlb_entry *e);
bool entry_reachable(struct vmlab_machine *m, struct cpu *c,
		     const struct tlb_entry *e);
bool stale_in(struct vmlab_machine *m, struct vmlab_mm *mm,
	      const struct tlb_entry *e, u64 lo, u64 hi);
void count_leaf(struct vmlab_machine *m, u64 pfn, u64 frames, bool w, bool x,
		int d, bool tlb);
/*
 * W^X is about what the kernel can execute: a user-executable page that
 * the kernel can also write through the direct map is normal (SMEP keeps
 * the kernel from running it), so only supervisor-executable translations
 * count as executable here.
 */
static inline bool kx_prot(u64 prot)
{
	return !(prot & VMLAB_PAGE_NX) && !(prot & VMLAB_PAGE_USER);
}

static inline bool kx_tlb(u8 flags)
{
	return (flags & TLBF_X) && !(flags & TLBF_U);
}

struct srcs {
	bool w, x;
};
/* What the direct-map alias of pfn grants (table and every TLB). */
void dm_probe(struct vmlab_machine *m, u64 pfn, struct srcs *s);
bool ck_in_lazy(const struct checker *ck, u64 va);
/* Are all writable translations of pfn, the direct map's aside, aliases
 * of a temporary mm that only the poking CPU runs, or unreachable? */
bool ck_temp_exempt(struct vmlab_machine *m, u64 pfn);
void ck_rebuild(struct vmlab_machine *m);
/* VMLAB_EXPENSIVE_CHECKS: the live counts equal a recount (findings.c). */
#if VMLAB_EXPENSIVE_CHECKS
void ck_check_counts(struct vmlab_machine *m);
#else
static inline void ck_check_counts(struct vmlab_machine *m)
{
	(void)m;
}
#endif

#endif
