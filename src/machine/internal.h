/* SPDX-License-Identifier: MIT */
/*
 * Internal state of the machine.  Only src/ includes this.  Upper layers
 * hang their own state off the machine through the service slots.
 */
#ifndef VMLAB_INTERNAL_H
#define VMLAB_INTERNAL_H

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "vmlab/machine.h"
#include "vmlab/mutant.h"
#include "vmlab/observer.h"
#include "vmlab/pgtable.h"
#include "vmlab/tlb.h"

#ifdef VMLAB_DEBUG
#define VMLAB_DEBUG_CHECKS 1
#else
#define VMLAB_DEBUG_CHECKS 0
#endif

/*
 * Expensive whole-structure checks run only in VMLAB_DEBUG builds with
 * asserts on, and only every n-th time a deterministic per-structure
 * counter ticks, so the debug test builds stay fast.
 */
#if VMLAB_DEBUG_CHECKS && !defined(NDEBUG)
#define VMLAB_EXPENSIVE_CHECKS 1
#else
#define VMLAB_EXPENSIVE_CHECKS 0
#endif

static inline bool debug_every(u32 *tick, u32 n)
{
	return VMLAB_EXPENSIVE_CHECKS && ++*tick % n == 0;
}

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ frames */

/* Descriptors and contents are allocated per section on first touch, so a
 * simulated TiB costs host memory only for what is used. */
#define SECTION_SHIFT 15 /* 32768 frames = 128 MiB per section */
#define SECTION_FRAMES (1ULL << SECTION_SHIFT)

struct frame_section {
	struct vmlab_page page[SECTION_FRAMES];
	u8 *content[SECTION_FRAMES]; /* NULL: frame never written (zeros) */
};

/* Per-frame checker counts: the checker allocates them per section
 * (src/check) and owns them; the machine only knows the layout. */
struct ck_frame {
	u32 pt_ref;  /* page-table entries (outside the direct map) -> frame */
	u32 pt_w;    /* ... of them writable leaves */
	u32 pt_x;    /* ... of them executable leaves */
	u32 tlb_ref; /* cached TLB entries (outside the direct map) -> frame */
	u32 tlb_w;
	u32 tlb_x;
	u32 alloc_seq; /* low bits of the event count at last allocation */
};

#define PCP_HIGH 64  /* pages kept on a per-CPU list before draining */
#define PCP_BATCH 16 /* pages moved per refill/drain */

struct free_area {
	u64 head; /* pfn heading the first free block, ~0: empty */
	u64 nr;
};

struct phys {
	u64 nr_frames;
	u64 nr_free;
	u64 frontier; /* frames >= frontier never handed out (lazy init) */
	struct frame_section **sections;
	u64 nr_sections;
	struct free_area area[VMLAB_MAX_ORDER + 1];
	u64 content_pages; /* host pages holding frame contents */
	u32 dbg_tick; /* VMLAB_DEBUG: allocator calls, paces phys_check() */
	u8 zero_page[VMLAB_PAGE_SIZE];
	/* Where a CPU store goes when the host has no page for its frame
	 * (host out of memory): the store is lost, with a warning, and the
	 * machine goes on (a store cannot fail).  Never read as a frame. */
	u8 sink_page[VMLAB_PAGE_SIZE];
	u64 lost_stores; /* stores into sink_page */
};

/* ---------------------------------------------------------------- TLB */

enum {
	TLBF_VALID = 1u << 0,
	TLBF_W = 1u << 1,
	TLBF_X = 1u << 2,
	TLBF_U = 1u << 3,
	TLBF_G = 1u << 4,
	TLBF_D = 1u << 5,
	TLBF_STALE = 1u << 6, /* watched by an observer (the checker: grants
				 more than the table); off the fast path */
	TLBF_DM = 1u << 7,    /* translates a direct-map address */
};

struct tlb_entry {
	u64 vpn;   /* va >> page shift of this array */
	u64 pfn;   /* first frame of the page */
	u16 pcid;
	u8 flags;  /* TLBF_* */
	u8 level;
	u8 ckflags; /* observer-owned (checker: CKF_*), 0 at fill */
	u32 fill_seq; /* low bits of the event count at fill (history) */
};

/*
 * Tags live apart from the entries so a set is scanned with one compare
 * per way on one cache line (two while the array holds global entries):
 *
 *   bit 0 valid | bits 1-16 context (PCID or ASID; 0 in global tags, so
 *   one tag matches any context) | bit 17 global | bits 18-53 the page
 *   number's low 36 bits (a canonical 48-bit address has no more) |
 *   bits 54-63 the generation of the entry's context on this CPU.
 *
 * A full flush of a context (or of everything) bumps the generation of
 * its slot (or of every slot): entries with an older generation no longer
 * match any lookup and count as holes, O(1) instead of a scan.  Dead
 * entries are cleared lazily, a set at a time, the first time an insert
 * touches the set after a flush (set_epoch), so replacement picks the
 * same way an eager flush would have left empty.  With an observer that
 * wants every drop (the checker), flushes scan and drop eagerly instead.
 */
#define TLB_TAG_CTX_SHIFT 1
#define TLB_TAG_CTX_MASK 0xffffULL
#define TLB_TAG_G (1ULL << 17)
#define TLB_TAG_VPN_SHIFT 18
/* 37 bits of the page number: VA bits 12..48 for 4 KiB pages.  Bit 48
 * tells the two halves apart (arm64: TTBR0 user 0x0000... from TTBR1
 * kernel 0xffff...; x86 canonical addresses too): with 36, a user address
 * with bit 47 clear aliased the global kernel entry of 0xffff<same bits>,
 * e.g. user 0x400000 hit the arm64 linear map's entry for PA 0x400000. */
#define TLB_TAG_VPN_MASK ((1ULL << 37) - 1)
#define TLB_TAG_GEN_SHIFT 55
#define TLB_GEN_MASK 0x1ffu
/* Generation slots per CPU: 0 for global entries, 1..64 for contexts
 * (context c uses slot 1 + ((c - 1) & 63): x86's 6 PCIDs never share one;
 * contexts that share a slot are over-flushed, which hardware may do). */
#define TLB_GEN_SLOTS 65

/*
 * Each way also has a one-byte fingerprint of its tag (0: unused), eight
 * to a word, fp_words words per set (whole 16-byte groups, the padding
 * bytes 0): a lookup tests sixteen ways with one vector compare (SSE2;
 * elsewhere eight per word with a few word operations) and compares full
 * tags only where a fingerprint matches, so a miss in a 16-way set costs
 * one compare, not 16.
 *
 * A set is one contiguous block, stride bytes: this header, the
 * fingerprint words, the tags, then the entries.  A lookup reads the
 * header's line and the fingerprints; an insert after a miss has the
 * block's address from the lookup and touches only it (no per-set side
 * arrays, no index multiply for the entry).
 */
struct tlb_set {
	u64 epoch; /* cpu->flush_epoch when the set was last reaped */
	u16 next;  /* round-robin victim (< ways; ways may exceed 255) */
	u16 used;  /* ways with a nonzero tag (dead ones too) */
	u32 pad;
	u64 w[];   /* fp[fp_words], tag[ways], then struct tlb_entry[ways] */
};

struct tlb_array {
	u8 *blk;   /* sets blocks of stride bytes; NULL: no such array */
	u32 stride;
	u32 set_mask;  /* sets - 1 */
	u32 sets;
	u16 ways;
	u16 fp_words;  /* (ways + 15) / 16 * 2: padding bytes stay 0 */
	u32 tag_off;   /* byte offset of the tags in a block */
	u32 ent_off;   /* ... of the entries */
	u8 level; /* page-size level */
	u8 shift; /* its page shift */
	bool l2;  /* the unified second level (not mirrored by the fast path) */
	u32 nr_used;    /* sum of the sets' used */
	u32 nr_global;  /* used ways with a global tag: 0 skips the compare */
};

static inline struct tlb_set *tlb_set_at(const struct tlb_array *a, u32 set)
{
	assert(!VMLAB_DEBUG_CHECKS || set < a->sets);
	return (struct tlb_set *)(void *)(a->blk + (size_t)set * a->stride);
}

static inline u64 *tlb_set_fp(struct tlb_set *s)
{
	return s->w;
}

static inline u64 *tlb_set_tags(const struct tlb_array *a, struct tlb_set *s)
{
	return (u64 *)(void *)((u8 *)s + a->tag_off);
}

static inline struct tlb_entry *tlb_set_ents(const struct tlb_array *a,
					     struct tlb_set *s)
{
	return (struct tlb_entry *)(void *)((u8 *)s + a->ent_off);
}

/* Way w of set (the flat index i = set * ways + w of the visitors). */
static inline struct tlb_entry *tlb_way(const struct tlb_array *a, u32 set,
					u32 w)
{
	assert(!VMLAB_DEBUG_CHECKS || w < a->ways);
	return tlb_set_ents(a, tlb_set_at(a, set)) + w;
}

static inline u64 *tlb_way_tag(const struct tlb_array *a, u32 set, u32 w)
{
	assert(!VMLAB_DEBUG_CHECKS || w < a->ways);
	return tlb_set_tags(a, tlb_set_at(a, set)) + w;
}

/* Does e sit in a (ptdump names an entry's array)? */
static inline bool tlb_array_holds(const struct tlb_array *a,
				   const struct tlb_entry *e)
{
	const u8 *p = (const u8 *)e;
	return a->blk && p >= a->blk && p < a->blk + (size_t)a->sets * a->stride;
}

/* Paging-structure cache entry: va region -> table frame.  key is the
 * lookup's one compare: tag << 17 | pcid << 1 | 1 (0: invalid). */
struct pwc_entry {
	u64 key;
	u64 pfn;  /* the table */
	u64 *host; /* its entries' host bytes, NULL: look the frame up */
	u64 tag;  /* va >> level shift of the region the table covers */
	u16 pcid;
	u8 level; /* level of the cached table (PTE table: 0, PMD table: 1) */
	u8 valid;
};

static inline u64 pwc_key(u64 tag, u16 pcid)
{
	return tag << 17 | (u64)pcid << 1 | 1;
}

/* Host fast path mirroring L1 4K-granular hits of the current context. */
#define FAST_SIZE VMLAB_FAST_SIZE
#define fast_entry vmlab_fast_entry

#define TLB_NR_DYN_ASIDS 6 /* as arch/x86/mm/tlb.c */

struct asid_slot {
	u64 ctx_id; /* 0: free */
	u64 tlb_gen;
	struct vmlab_mm *mm; /* NULL once the mm is destroyed */
};

struct cpu {
	int id;
	struct tlb_array itlb[3], dtlb[3], stlb[3];
	struct pwc_entry *pwc;
	u16 pwc_n;
	u16 pwc_next;
	u32 pwc_mask; /* pwc_n / 2 - 1: a half's index mask */
	struct pwc_entry *pwc_half[2]; /* PTE-table half, PMD-table half */
	/* Laid out as struct vmlab_fast_cpu (tlb.h, checked in machine.c):
	 * the inline hit counts cnt[VMLAB_C_tlb_l1_hit] through it. */
	struct {
		struct fast_entry fast[VMLAB_NR_ACCESS][FAST_SIZE];
		u64 cnt[VMLAB_NR_COUNTERS];
		/* each entry's shadow link, fast_no_shadow for none */
		struct vmlab_fast_shadow fast_shadow[VMLAB_NR_ACCESS]
						    [FAST_SIZE];
	};
	/* Fast-path slots written since the last fast_flush(), one bit each
	 * (kind * FAST_SIZE + index), so a flush clears only those. */
	u64 fast_used[VMLAB_NR_ACCESS * FAST_SIZE / 64];
	/* TLB generations (see struct tlb_array) and live entries per slot. */
	u16 tgen[TLB_GEN_SLOTS];
	u32 ctx_live[TLB_GEN_SLOTS];
	u32 gen_hi;      /* slots 0..gen_hi-1 have ever held an entry */
	u64 flush_epoch; /* generation bumps so far */
	u16 used_mask;   /* bit k*3+level: array (itlb, dtlb, stlb)[level] used */
	struct vmlab_mm *loaded_mm;
	u16 loaded_asid; /* slot index; PCID = slot + 1 */
	bool lazy;
	struct asid_slot asid[TLB_NR_DYN_ASIDS];
	u16 next_asid;
	u16 hw_tag; /* TLB tag of the running context: PCID or ASID */
	/* x86 switch_mm_irqs_off() between cpumask_set_cpu() and the
	 * loaded_mm write (LOADED_MM_SWITCHING): only with the mutant that
	 * opens that window; switch_ipi: a flush IPI arrived meanwhile. */
	struct vmlab_mm *switching;
	bool switch_ipi;
	/* x86_load_mm's CR3 write: loaded_mm is the new mm, its ASID slot
	 * still names the old owner (the entries a flush there drops are
	 * charged to it).  Read by tlb_check() only. */
	bool in_cr3_write;
	/* arm64 context.c per-CPU state (unused on x86) */
	u64 active_asid, reserved_asid;
	bool flush_pending; /* a rollover happened: flush before next use */
	u64 pcp_head; /* per-CPU list of free order-0 frames, ~0: empty */
	u32 pcp_count;
	const char *op; /* what the code running here is doing (reports) */
	/* The lock this CPU's operation runs under (the scheduler's caller's
	 * service lock) when the caller lets kernel code drop it where Linux
	 * holds none of its locks (vmlab_op_unlock); NULL: never dropped. */
	struct vmlab_lock *op_lock;
	u64 shadow_off; /* machine's fast.shadow_offset, for fast_drop_range */
	u32 dbg_tick; /* VMLAB_DEBUG: TLB changes, paces tlb_check() */
};

/* ------------------------------------------------------------ machine */

/*
 * The mm core's cache of PTE tables (src/mm/pgtable.c): for a (mm, 2 MiB
 * region), the table's frame and host bytes, so map and unmap of pages in
 * a region seen before skip the walk from the top.  Keyed by the mm's
 * ctx_id (never reused) and valid while machine->pt_seq is unchanged.
 */
#define PTC_SIZE 16
struct ptc_entry {
	u64 ctx_id;
	u64 region; /* va >> PMD shift */
	u64 seq;    /* machine->pt_seq at fill */
	u64 table;  /* pfn of the PTE table */
	u64 *host;  /* its 512 entries */
};

/* Observer events (observer.h), one bit each in machine->obs_mask. */
enum obs_event {
	OBS_ENTRY_STORE,
	OBS_TLB_FILL,
	OBS_TLB_DROP,
	OBS_TLB_INVAL,
	OBS_WATCHED_HIT,
	OBS_PWC_USE,
	OBS_FRAME_ALLOC,
	OBS_FRAME_FREE,
	OBS_PGTABLE_FREE,
	OBS_PGTABLE_WILD,
	OBS_ACCESS,
	OBS_MM_FLUSH,
	OBS_HOST_FLUSH,
	OBS_NR_EVENTS
};

struct obs_slot {
	const struct vmlab_observer *ops;
	void *ctx;
	u8 fill_mask; /* tlb_marked_only: TLBF_* bits whose fills it wants */
};

/* Fast-path tag bit set while an observer wants access events. */
#define FAST_TAG_WATCH VMLAB_FAST_TAG_WATCH

/* ----------------------------------------------- locks and scheduling */

/*
 * Kernel-style locks and scheduling points, where races live.  The
 * scheduler (src/sim/sched.c) installs m->sched_hook for the length of a
 * run; without it a point costs one predictable branch and a lock is a
 * flag.  A zero-filled lock is free, so locks inside calloc'd service
 * state need no initialiser.  Adding a point to kernel code is one line:
 * spin_lock(m, cpu, &st->lock) or sched_point(m, cpu, "why").
 */
struct vmlab_lock {
	u32 owner;        /* 0: free, else the holder's task id */
	const char *name; /* what the holder called (deadlock reports) */
};

/* wait != NULL: the running task cannot go on until wait->owner == 0. */
typedef void (*vmlab_sched_hook_fn)(void *ctx, int cpu, const char *why,
				    const struct vmlab_lock *wait);

/* Service slots, destroyed in reverse order: the checker comes first so it
 * outlives (and sees the frees of) every service torn down before it. */
enum vmlab_svc {
	VMLAB_SVC_CHECK,
	VMLAB_SVC_DIRECTMAP,
	VMLAB_SVC_VMALLOC,
	VMLAB_SVC_KASAN,
	VMLAB_SVC_EXECMEM,
	VMLAB_SVC_USER,
	VMLAB_SVC_NOTIFIER,
	VMLAB_SVC_SIM,
	VMLAB_NR_SVC
};

struct vmlab_machine {
	struct vmlab_fast_view fast; /* first: the inline accessors read it */
	struct vmlab_config cfg;
	u64 host_bytes, host_limit; /* the host-memory budget (hostmem.c) */
	/* host allocation fault injection (vmlab_host_fail_nth): allocations
	 * made through host_malloc() and friends, the one that fails (0:
	 * none), and how many failed */
	u64 host_allocs, host_fail_at, host_failed;
	const struct vmlab_arch_ops *arch;
	/* arm64: ASID allocator (context.c) and hardware features */
	u64 *asid_map;
	u64 asid_gen;
	u64 asid_cur_idx;
	u32 asid_bits;
	bool hw_afdbm;    /* FEAT_HAFDBS: hardware AF and dirty (DBM) update */
	bool rodata_full; /* linear map at page granularity, aliases follow */
	bool has_set_alias; /* ARCH_HAS_SET_DIRECT_MAP */
	struct phys phys;
	struct cpu *cpu;
	int nr_cpus;
	u64 rng[4];
	struct vmlab_mm init_mm;
	struct vmlab_mm *mm_list; /* user mms, newest first */
	u64 next_ctx_id;
	/* Page-table structure changes (a table entry stored, a table
	 * freed): the mm core's PTE-table cache is valid while it stands. */
	u64 pt_seq;
	struct ptc_entry ptc[PTC_SIZE];
	/* direct map VA range (set by boot), excluded from rmap counting */
	u64 dm_start, dm_end;
	/* stores into page-table pages outside vmlab_set_entry() */
	u64 nr_pgtable_wild;
	/* events */
	u64 hash;
	u64 nr_events;
	vmlab_event_fn ev_fn;
	void *ev_ctx;
	/* deferred work, FIFO */
	struct vmlab_work *work_head, *work_tail;
	int nr_work;
	u64 work_queued, work_ran; /* totals since boot */
	u32 work_dbg_tick; /* VMLAB_DEBUG: paces work_check() */
	/* faults */
	vmlab_fault_fn fault_fn;
	void *fault_ctx;
	/* warnings */
	u64 nr_warnings;
	bool quiet;
	vmlab_warn_fn warn_fn; /* set: warnings go there, not to stderr */
	void *warn_ctx;
	/* observers (observer.h), in registration order */
	struct obs_slot obs[VMLAB_MAX_OBSERVERS];
	int nr_obs;
	u32 obs_mask;   /* 1 << OBS_*: some observer has that callback */
	u8 obs_fill_mask; /* TLBF_* bits of the fills observers want */
	u8 obs_drop_all;  /* 1: some tlb_drop observer wants every drop */
	u64 fast_watch; /* FAST_TAG_WATCH while OBS_ACCESS is wanted, else 0 */
	/* services */
	void *svc[VMLAB_NR_SVC];
	void (*svc_destroy[VMLAB_NR_SVC])(struct vmlab_machine *m);
	void (*cpa_hook)(struct vmlab_machine *m, int cpu, void *ctx);
	void *cpa_hook_ctx;
	/* scheduler (src/sim), set only while one runs this machine */
	vmlab_sched_hook_fn sched_hook;
	void *sched_ctx;
	u32 sched_task; /* running task's id (>= 1), 0 outside a run */
	int sched_cpu;  /* its CPU (-1: none, the kworker between items) */
};

/* The end of the lower (user) half of the address space: x86 1 << 47
 * (TASK_SIZE + PAGE_SIZE), arm64 1 << 48 (TTBR0's reach, TASK_SIZE). */
static inline u64 vmlab_user_va_end(const struct vmlab_machine *m)
{
	const struct vmlab__machine_head *h =
		(const struct vmlab__machine_head *)(const void *)m;
	return 1ULL << h->va_top_shift;
}

static inline void sched_point(struct vmlab_machine *m, int cpu,
			       const char *why)
{
	if (unlikely(m->sched_hook != NULL))
		m->sched_hook(m->sched_ctx, cpu, why, NULL);
}

/* Both are scheduling points; why must be a literal. */
void vmlab_lock_acquire(struct vmlab_machine *m, int cpu,
			struct vmlab_lock *l, const char *why);
void vmlab_lock_release(struct vmlab_machine *m, int cpu,
			struct vmlab_lock *l, const char *why);
/* A lock whose free acquisition and release are no scheduling points
 * (waiting for a holder is): a lock added where one race lives keeps the
 * schedules of every run in which nobody yields while holding it. */
void vmlab_lock_take_quiet(struct vmlab_machine *m, int cpu,
			   struct vmlab_lock *l, const char *why);
void vmlab_lock_drop_quiet(struct vmlab_machine *m, struct vmlab_lock *l,
			   const char *why);
/*
 * Where Linux runs part of an operation with none of the service's locks
 * held (kasan_populate_vmalloc() after alloc_vmap_area() dropped
 * vmap_area_lock), drop the CPU's op_lock so other CPUs' operations can
 * interleave there.  Returns whether it was dropped (only inside a
 * scheduler run, by its holder); vmlab_op_relock() takes it back.
 */
bool vmlab_op_unlock(struct vmlab_machine *m, int cpu, const char *why);
void vmlab_op_relock(struct vmlab_machine *m, int cpu, const char *why);
/* The sim marks an operation's lock droppable (NULL: no longer). */
void vmlab_set_op_lock(struct vmlab_machine *m, int cpu,
		       struct vmlab_lock *l);
#define spin_lock(m, cpu, l) vmlab_lock_acquire(m, cpu, l, "spin_lock " #l)
#define spin_unlock(m, cpu, l)                                               \
	vmlab_lock_release(m, cpu, l, "spin_unlock " #l)
#define mutex_lock(m, cpu, l) vmlab_lock_acquire(m, cpu, l, "mutex_lock " #l)
#define mutex_unlock(m, cpu, l)                                              \
	vmlab_lock_release(m, cpu, l, "mutex_unlock " #l)

/*
 * A reader-writer semaphore (kernel/locking/rwsem.c as the model needs it):
 * any number of readers or one writer.  A writer takes `wr` first, which
 * keeps new readers out (they wait for it, as behind a queued writer in
 * Linux), then waits for the readers already in to leave.  `rd.owner` is
 * the number of readers, so the scheduler's "wait until owner is 0" is
 * the writer's wait for them.  Zero-filled: free.
 */
struct vmlab_rwsem {
	struct vmlab_lock wr;
	struct vmlab_lock rd; /* owner: readers inside */
};
/* All are scheduling points; why must be a literal.  The _killable forms
 * give up with -VMLAB_EINTR when *fatal becomes true before the lock is
 * taken (a SIGKILL for the task, checked while it waits). */
void vmlab_down_read(struct vmlab_machine *m, int cpu, struct vmlab_rwsem *s,
		     const char *why);
bool vmlab_down_read_trylock(struct vmlab_machine *m, struct vmlab_rwsem *s);
void vmlab_up_read(struct vmlab_machine *m, int cpu, struct vmlab_rwsem *s,
		   const char *why);
int vmlab_down_write_killable(struct vmlab_machine *m, int cpu,
			      struct vmlab_rwsem *s, const bool *fatal,
			      const char *why);
void vmlab_up_write(struct vmlab_machine *m, int cpu, struct vmlab_rwsem *s,
		    const char *why);
static inline bool vmlab_rwsem_is_write_locked(const struct vmlab_rwsem *s)
{
	return s->wr.owner != 0;
}
/* Whether the running context holds s for writing. */
bool vmlab_rwsem_write_owned(const struct vmlab_machine *m,
			     const struct vmlab_rwsem *s);
static inline u32 vmlab_rwsem_readers(const struct vmlab_rwsem *s)
{
	return s->rd.owner;
}
/* Wait (a scheduling point) until l->owner is 0; outside a run, warn that
 * nothing can release it.  The waiter does not take l. */
void vmlab_wait_free(struct vmlab_machine *m, int cpu,
		     const struct vmlab_lock *l, const char *why);

/* Counting: per CPU; no CPU context (boot: -1) is charged to CPU 0. */
static inline void count(struct vmlab_machine *m, int cpu,
			 enum vmlab_counter c, u64 n)
{
	u64 *v = &m->cpu[(unsigned)cpu < (unsigned)m->nr_cpus ? cpu : 0].cnt[c];
	assert(*v + n >= *v); /* counters never decrease (nor wrap) */
	*v += n;
}

/* Counting one event on a CPU the caller holds (the miss path): no id
 * check, and a u64 bumped by one does not wrap. */
static inline void cpu_count(struct cpu *c, enum vmlab_counter ctr)
{
	assert((unsigned)ctr < VMLAB_NR_COUNTERS);
	c->cnt[ctr]++;
}

/* Historical bug id (include/vmlab/mutant.h) switched on for this
 * machine: one bit test, usable from any layer. */
static inline bool vmlab_mutant(const struct vmlab_machine *m, int id)
{
	return unlikely((m->cfg.mutants[(unsigned)id / 64] >>
			 ((unsigned)id % 64)) & 1);
}

static inline bool in_direct_map(const struct vmlab_machine *m, u64 va)
{
	return va >= m->dm_start && va < m->dm_end;
}

/* Events. */
static inline void hash_u64(u64 *h, u64 v)
{
	/* A multiply-xorshift step per word: cheap, and order-sensitive. */
	*h = (*h ^ v) * 0x100000001b3ULL;
	*h ^= *h >> 29;
}

/* An event's fields folded into one word (vmlab_emit; fields d..f are
 * zero in the machine's own events, so ev() leaves them out: their
 * products are 0). */
static inline u64 ev_mix(u32 type, int cpu, u64 a, u64 b, u64 c)
{
	/* Each field gets its own odd multiplier (so fields are not
	 * interchangeable); the independent products pipeline, and one
	 * chained step per event keeps the stream order-sensitive. */
	u64 x = ((u64)type << 32 | (u32)cpu) * 0x9e3779b97f4a7c15ULL;
	x ^= a * 0xc2b2ae3d27d4eb4fULL;
	x ^= b * 0x165667b19e3779f9ULL;
	x ^= c * 0xd6e8feb86659fd93ULL;
	return x;
}

/* The listener's copy of an event ev() hashed inline (machine.c). */
void ev_listen(struct vmlab_machine *m, enum vmlab_event_type t, int cpu,
	       u64 a, u64 b, u64 c);

/* A machine event: hashed inline (the miss and vmalloc paths emit
 * several), handed to a listener out of line.  Same hash as
 * vmlab_emit() of the same event. */
static inline void ev(struct vmlab_machine *m, enum vmlab_event_type t,
		      int cpu, u64 a, u64 b, u64 c)
{
	assert((unsigned)t < VMLAB_NR_EVENTS && t != VMLAB_EV_USER);
	u64 x = ev_mix((u32)t, cpu, a, b, c);
	hash_u64(&m->hash, x ^ (x >> 31));
	m->nr_events++;
	if (unlikely(m->ev_fn != NULL))
		ev_listen(m, t, cpu, a, b, c);
}

/* An event's fold into the run's hash, from its fields (named: it has
 * a name, whose hash is name_hash). */
static inline void emit_hash(struct vmlab_machine *m, u32 type, int cpu,
			     u64 a, u64 b, u64 c, u64 d, u64 e, u64 f,
			     bool named, u64 name_hash)
{
	u64 x = ev_mix(type, cpu, a, b, c);
	x ^= (d * 0xff51afd7ed558ccdULL) ^ (e * 0xc4ceb9fe1a85ec53ULL) ^
	     (f * 0x94d049bb133111ebULL);
	hash_u64(&m->hash, x ^ (x >> 31));
	if (named)
		hash_u64(&m->hash, name_hash);
	m->nr_events++;
}

/* vmlab_emit(), inline for the services whose hot paths emit
 * tracepoints: with no listener the event is only hashed, never built. */
static inline void emit_event(struct vmlab_machine *m,
			      const struct vmlab_event *e)
{
	assert(e->type < VMLAB_NR_EVENTS);
	emit_hash(m, e->type, e->cpu, e->a, e->b, e->c, e->d, e->e, e->f,
		  e->name != NULL,
		  !e->name || e->name_hash ? e->name_hash
					   : vmlab_name_hash(e->name));
	if (unlikely(m->ev_fn != NULL))
		m->ev_fn(m->ev_ctx, e);
}

/* mutant.c */
bool mutant_config_valid(const struct vmlab_config *cfg);
/* machine.c: vmlab_machine_create() is this with the config-selected
 * observers (src/check supplies attach(), run before init_mm is built). */
int machine_create(const struct vmlab_config *cfg,
		   int (*attach)(struct vmlab_machine *m),
		   struct vmlab_machine **out);

/* phys.c */
int phys_init(struct vmlab_machine *m);
/* The host-memory budget (hostmem.c): charge fails past the limit,
 * charge_force never does (a CPU store), room only tests. */
bool host_charge(struct vmlab_machine *m, u64 bytes);
void host_charge_force(struct vmlab_machine *m, u64 bytes);
void host_uncharge(struct vmlab_machine *m, u64 bytes);
/* The model's own host allocations (malloc/calloc/realloc, NULL on
 * failure, injected by vmlab_host_fail_nth as the kernel's fail-nth).
 * Callers turn NULL into -ENOMEM for the operation. */
void *host_malloc(struct vmlab_machine *m, size_t size);
void *host_calloc(struct vmlab_machine *m, size_t n, size_t size);
void *host_realloc(struct vmlab_machine *m, void *p, size_t size);
/* Room for bytes more under the budget (inline: every page allocation
 * asks). */
static inline bool host_room(const struct vmlab_machine *m, u64 bytes)
{
	return m->host_bytes <= m->host_limit &&
	       bytes <= m->host_limit - m->host_bytes;
}
/* A frame's host page, allocated now (page-table pages are written at
 * once): -VMLAB_ENOMEM past the budget or when the host has none. */
int frame_content_prepare(struct vmlab_machine *m, u64 pfn);
void phys_destroy(struct vmlab_machine *m);
u8 *frame_content(struct vmlab_machine *m, u64 pfn, bool for_write);

/* entry.c */
vmlab_ptep_t entry_addr(u64 table_pfn, u64 va, int level);
/* Is slot the host bytes of the entry at ptep?  (debug cross-check) */
bool entry_slot_is(struct vmlab_machine *m, vmlab_ptep_t ptep, const u64 *slot);

/* tlb.c */
int tlb_init(struct vmlab_machine *m, struct cpu *c);
void tlb_destroy(struct cpu *c);
/* The hardware tag of the running context: PCID (x86, slot + 1) or ASID
 * (arm64), kept by the context switch.  Inline: the miss path asks twice. */
static inline u16 cpu_pcid(const struct cpu *c)
{
	return c->hw_tag;
}
void tlb_invlpg(struct vmlab_machine *m, struct cpu *c, u64 va);
/* Drop the entries for va without counting a flush (fault path). */
void tlb_invlpg_quiet(struct vmlab_machine *m, struct cpu *c, u64 va);
void tlb_flush_pcid(struct vmlab_machine *m, struct cpu *c, u16 pcid);
/* Drops without counting or tracing (the arm64 TLBI code counts). */
void tlb_drop_va(struct vmlab_machine *m, struct cpu *c, u64 va, u16 tag,
		 bool any_tag);
void tlb_drop_tag(struct vmlab_machine *m, struct cpu *c, u16 tag);
void tlb_drop_all(struct vmlab_machine *m, struct cpu *c);
/* Could entries with this tag still be used on c (checker, notifiers)? */
bool tlb_tag_live(struct vmlab_machine *m, struct cpu *c, u16 tag);
static inline bool tlb_tag_ok(u32 tag)
{
	return tag <= 0xffff;
}
void tlb_flush_all_entries(struct vmlab_machine *m, struct cpu *c);
void fast_flush(struct cpu *c);
/* Shadow link of a fast-path entry not linked to its shadow (access.c). */
extern const u8 fast_no_shadow[VMLAB_PAGE_SIZE >> 3];
/* The shadow link (tlb.h vmlab_fast_shadow.bias) of va's page whose
 * shadow bytes start at shadow: bias + (a >> 3) is a's shadow byte. */
static inline uintptr_t fast_shadow_bias(const u8 *shadow, u64 va)
{
	return (uintptr_t)shadow - (uintptr_t)((va & VMLAB_PAGE_MASK) >> 3);
}
/* Write a fast-path slot (and note it for the next fast_flush()). */
static inline void fast_store(struct cpu *c, enum vmlab_access kind, u64 va,
			      u64 tag, u8 *host)
{
	u32 idx = (u32)(va >> VMLAB_PAGE_SHIFT) & (FAST_SIZE - 1);
	u32 bit = (u32)kind * FAST_SIZE + idx;
	c->fast[kind][idx] = (struct fast_entry){tag, host};
	/* Only a watched hit reads the shadow link (tlb.h vmlab__fast_hit),
	 * and a change of the watch state flushes the fast path: an
	 * unwatched entry's link is never read. */
	if (tag & FAST_TAG_WATCH)
		c->fast_shadow[kind][idx].bias =
			fast_shadow_bias(fast_no_shadow, va);
	c->fast_used[bit / 64] |= 1ULL << (bit % 64);
}
typedef void (*tlb_visit_fn)(struct vmlab_machine *m, struct cpu *c,
			     struct tlb_entry *e, void *ctx);
void tlb_visit_range(struct vmlab_machine *m, struct cpu *c, u64 start,
		     u64 end, tlb_visit_fn fn, void *ctx);
struct tlb_array *tlb_l1_array(struct cpu *c, enum vmlab_access kind,
			       int level);
/* Lookup, insert, PWC: inline in tlb_fast.h. */
void fast_drop_range(struct cpu *c, u64 start, u64 end);
/* The shadow region of an inline shadow check (c->shadow_off set): the
 * shadow of the kernel half, kernel addresses from 0xffff000000000000. */
static inline u64 fast_shadow_lo(const struct cpu *c)
{
	return (0xffff000000000000ULL >> 3) + c->shadow_off;
}
static inline bool fast_in_shadow(const struct cpu *c, u64 va)
{
	return va - fast_shadow_lo(c) <=
	       (~0ULL >> 3) - (0xffff000000000000ULL >> 3);
}
void pwc_flush(struct cpu *c, int pcid); /* pcid < 0: all */
struct vmlab_mm *cpu_mm_of_pcid(struct vmlab_machine *m, struct cpu *c,
				u16 pcid);

/* Whole-structure invariant checks (VMLAB_EXPENSIVE_CHECKS; else no-ops):
 * a CPU's TLB arrays, paging-structure cache and fast path (tlb.c), and
 * the buddy allocator with its per-CPU lists (phys.c). */
#if VMLAB_EXPENSIVE_CHECKS
void tlb_check(struct vmlab_machine *m, struct cpu *c);
void phys_check(struct vmlab_machine *m);
#else
static inline void tlb_check(struct vmlab_machine *m, struct cpu *c)
{
	(void)m;
	(void)c;
}
static inline void phys_check(struct vmlab_machine *m)
{
	(void)m;
}
#endif

static inline u64 tlb_entry_va(const struct tlb_entry *e)
{
	return e->vpn << vmlab_level_shift(e->level);
}

/* Observers: obs_on() is the cheap test at each event site, OBS_CALL the
 * dispatch (every registered observer with that callback, in order). */
static inline bool obs_on(const struct vmlab_machine *m, enum obs_event e)
{
	return unlikely(m->obs_mask & (1u << e));
}

/* A TLB fill or drop reaches the observers (tlb_marked_only filters):
 * fills of entries with a wanted permission bit or a mark, drops of
 * marked entries unless some observer wants them all. */
static inline bool obs_fill_wanted(const struct vmlab_machine *m,
				   const struct tlb_entry *e)
{
	return obs_on(m, OBS_TLB_FILL) &&
	       ((e->flags & m->obs_fill_mask) | e->ckflags);
}

static inline bool obs_drop_wanted(const struct vmlab_machine *m,
				   const struct tlb_entry *e)
{
	return obs_on(m, OBS_TLB_DROP) && (e->ckflags | m->obs_drop_all);
}

/* A tlb_marked_only observer moves its fill mask (observer.c). */
void obs_set_fill_mask(struct vmlab_machine *m,
		       const struct vmlab_observer *ops, void *ctx, u8 mask);

#define OBS_CALL(m, fn, ...)                                                 \
	do {                                                                 \
		for (int obs_i_ = 0; obs_i_ < (m)->nr_obs; obs_i_++)         \
			if ((m)->obs[obs_i_].ops->fn)                        \
				(m)->obs[obs_i_].ops->fn((m)->obs[obs_i_].ctx, \
							 (m), __VA_ARGS__);  \
	} while (0)

/* A store is about to land in frame pfn outside vmlab_set_entry(): if
 * the frame is a page table, that is a wild write (observer.h). */
/*
 * vmlab_set_entry() with the entry's host slot already known: inline, as
 * the map and unmap loops store one entry per page.
 */
static inline void entry_store(struct vmlab_machine *m, struct vmlab_mm *mm,
			       u64 va, int level, vmlab_ptep_t ptep, u64 *slot,
			       u64 val)
{
	assert(level >= VMLAB_LVL_PTE && level < VMLAB_NR_LEVELS);
	assert(!VMLAB_DEBUG_CHECKS || entry_slot_is(m, ptep, slot));
	u64 old = *slot;
	*slot = val;
	/* No CPU context: charged to CPU 0, as count(m, -1, ...) does. */
	m->cpu[0].cnt[VMLAB_C_pte_write]++;
	ev(m, VMLAB_EV_PTE_WRITE, -1, va, (u64)level, val);
	/* A table entry changed: cached table pointers may be stale. */
	if (level > VMLAB_LVL_PTE && old != val)
		m->pt_seq++;
	if (obs_on(m, OBS_ENTRY_STORE) && old != val)
		OBS_CALL(m, entry_store, mm, va & ~(vmlab_level_size(level) - 1),
			 level, ptep, old, val);
}

static inline void pgtable_wild_store(struct vmlab_machine *m, int cpu,
				      u64 pfn)
{
	assert(pfn < m->phys.nr_frames);
	const struct frame_section *s = m->phys.sections[pfn >> SECTION_SHIFT];
	if (unlikely(s && (s->page[pfn & (SECTION_FRAMES - 1)].flags &
			   VMLAB_PG_TABLE))) {
		m->nr_pgtable_wild++;
		/* The store may have changed a table entry: cached table
		 * pointers (vmalloc's PTE-table run, the table cache) are
		 * stale, as after entry_store's change of a table entry. */
		m->pt_seq++;
		if (obs_on(m, OBS_PGTABLE_WILD))
			OBS_CALL(m, pgtable_wild, cpu, pfn);
	}
}

static inline struct tlb_entry *tlbe(const struct vmlab_tlbe *e)
{
	return (struct tlb_entry *)(uintptr_t)e;
}

static inline struct vmlab_tlbe *to_tlbe(struct tlb_entry *e)
{
	return (struct vmlab_tlbe *)(void *)e;
}

/* The architecture flushed [start, end) of user mm mm (observer.h
 * mm_flush: where Linux 6.6+ tells secondary TLBs). */
static inline void obs_mm_flush(struct vmlab_machine *m, int cpu,
				struct vmlab_mm *mm, u64 start, u64 end)
{
	assert(mm && !mm->is_init);
	if (obs_on(m, OBS_MM_FLUSH))
		OBS_CALL(m, mm_flush, cpu, mm, start, end);
}

/* Tell observers about an invalidation instruction on c. */
void obs_inval(struct vmlab_machine *m, int cpu, enum vmlab_inval_kind kind,
	       bool broadcast, u64 va, u16 asid);

/* Service slots. */
static inline void *svc_get(struct vmlab_machine *m, enum vmlab_svc s)
{
	return m->svc[s];
}

void svc_set(struct vmlab_machine *m, enum vmlab_svc s, void *state,
	     void (*destroy)(struct vmlab_machine *m));

#endif
