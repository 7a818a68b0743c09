/* SPDX-License-Identifier: MIT */
/*
 * The simulated machine: configuration, physical memory, CPUs, address
 * spaces (the machine-level part of an mm: page-table root, ASID state,
 * cpumask), counters and the cost model.
 *
 * Everything hangs off a struct vmlab_machine; two machines can live in one
 * process.  Nothing here depends on host addresses or wall-clock time.
 */
#ifndef VMLAB_MACHINE_H
#define VMLAB_MACHINE_H

#include "types.h"

struct vmlab_machine;
struct vmlab_mm;

/* ---------------------------------------------------------------- config */

#define VMLAB_MUTANT_WORDS 2 /* up to 128 mutants (include/vmlab/mutant.h) */

/* One TLB array: capacity for one page size.  entries == 0: no such array. */
struct vmlab_tlb_geom {
	u16 entries;
	u16 ways; /* entries % ways == 0; ways == entries: fully associative */
};

/* Nanoseconds charged per counted event; see vmlab_sim_time_ns(). */
struct vmlab_cost {
	double tlb_l1_hit;
	double tlb_l2_hit;
	double walk_level;     /* one page-table entry read by the walker */
	double invlpg;         /* single-page invalidate, ~100 ns on x86 */
	double flush_full;     /* full flush of one PCID (CR3 write) */
	double flush_global;   /* flush including global entries */
	double ipi;            /* IPI round trip, charged to the sender */
	double ipi_handle;     /* interrupt entry/exit on the receiver */
	double page_fault;     /* exception entry + handler dispatch */
	double pte_write;      /* one page-table entry store */
	double page_alloc;     /* buddy allocation or free */
	double cpa_call;       /* fixed cost of one set_memory call */
	double tlbi_is;        /* arm64 broadcast TLBI, issue cost */
	double tlbi_local;     /* arm64 non-shareable TLBI */
	double dsb;            /* DSB waiting for TLBI completion */
};

/* Options whose default depends on the architecture. */
enum vmlab_tristate { VMLAB_DEFAULT = 0, VMLAB_ON = 1, VMLAB_OFF = 2 };

/*
 * The VM_FLUSH_RESET_PERMS design vfree()/vunmap() follow
 * (seeds/vm-flush-reset-perms.txt): mainline (default), or the seed's
 * v2 vm_remove_mappings(): vunmap() of a flagged area ends in
 * vm_unmap_aliases(), and an architecture without set_alias (cfg
 * set_alias off) first runs set_memory_nx() + set_memory_rw() on the
 * area inside vfree - two calls, or, as Petkov asked in review, one call
 * with both masks (SEED_V2_ONE_CALL).
 */
enum vmlab_reset_perms {
	VMLAB_RESET_PERMS_MAINLINE = 0,
	VMLAB_RESET_PERMS_SEED_V2,
	VMLAB_RESET_PERMS_SEED_V2_ONE_CALL,
	VMLAB_NR_RESET_PERMS
};

struct vmlab_config {
	u64 mem_bytes; /* simulated RAM, 64 MiB .. 4 TiB, multiple of 2 MiB */
	int nr_cpus;   /* 1 .. VMLAB_MAX_CPUS */
	u64 seed;
	const char *arch;   /* "x86_64" (default) or "arm64" */
	/* x86-only: must stay at their defaults on arm64 */
	bool pcid;          /* PCID tags (default on); off: CR3 write flushes */
	bool checker;       /* coherence checker on */
	bool direct_map_1g; /* map the direct map with 1 GiB leaves (default) */
	u32 flush_ceiling;  /* tlb_single_page_flush_ceiling, default 33 */
	/* arm64-only: VMLAB_DEFAULT on x86 */
	u8 asid_bits;          /* 8 or 16; 0: 16 */
	enum vmlab_tristate hw_afdbm;    /* FEAT_HAFDBS AF/DBM (default on);
					  * off: software AF faults, DBM by
					  * permission faults */
	enum vmlab_tristate rodata_full; /* default on (can_set_direct_map) */
	/* ARCH_HAS_SET_DIRECT_MAP (the seed's set_alias_*), default on;
	 * off: set_direct_map_*_noflush() are the generic no-op stubs. */
	enum vmlab_tristate set_alias;
	enum vmlab_reset_perms reset_perms;
	/* TLB geometry, index = page-size level (0: 4K, 1: 2M, 2: 1G) */
	struct vmlab_tlb_geom itlb[3];
	struct vmlab_tlb_geom dtlb[3];
	struct vmlab_tlb_geom stlb[3]; /* unified second level */
	u16 pwc_entries;               /* paging-structure cache per CPU */
	struct vmlab_cost cost;
	/* Historical bugs switched on (bit per enum vmlab_mutant_id,
	 * include/vmlab/mutant.h); all clear by default. */
	u64 mutants[VMLAB_MUTANT_WORDS];
	/* Generic KASAN with vmalloc shadow (include/vmlab/kasan.h), off by
	 * default; kasan_release is an enum vmlab_kasan_release (0: fixed). */
	bool kasan;
	int kasan_release;
	/* Host-memory budget for the model's own state (frame descriptors
	 * and contents, page-table pages, TLB arrays, vmalloc page arrays):
	 * an allocation past it fails with -VMLAB_ENOMEM, as the kernel's
	 * would.  0: VMLAB_DEFAULT_HOST_BYTES. */
	u64 max_host_bytes;
	/* Host allocation fault injection from creation on (as
	 * vmlab_host_fail_nth, which only reaches allocations made after the
	 * machine exists): the nth host allocation of the boot fails once.
	 * 0: none. */
	u64 host_fail_nth;
};

#define VMLAB_DEFAULT_HOST_BYTES (1ULL << 30)

/* Server-class defaults (Golden Cove-like TLBs, 4 CPUs, 1 GiB). */
void vmlab_config_default(struct vmlab_config *cfg);

/* What is wrong with cfg, naming the option (an option of the other
 * architecture, an out-of-range value), or NULL if it is valid. */
const char *vmlab_config_error(const struct vmlab_config *cfg);

/* Returns 0 or -VMLAB_EINVAL (bad config) / -VMLAB_ENOMEM. */
int vmlab_machine_create(const struct vmlab_config *cfg,
			 struct vmlab_machine **out);
void vmlab_machine_destroy(struct vmlab_machine *m);
const struct vmlab_config *vmlab_machine_config(const struct vmlab_machine *m);
int vmlab_nr_cpus(const struct vmlab_machine *m);
u64 vmlab_nr_frames(const struct vmlab_machine *m);
/* Host bytes the machine's model state holds now, and its budget. */
u64 vmlab_host_bytes(const struct vmlab_machine *m);
u64 vmlab_host_limit(const struct vmlab_machine *m);
/* Charge bytes to the budget for an upper layer's host allocation:
 * -VMLAB_ENOMEM (nothing charged) past the limit; uncharge on free. */
int vmlab_host_charge(struct vmlab_machine *m, u64 bytes);
/* Host allocation fault injection, deterministic (the kernel's fail-nth):
 * the nth host allocation the model makes from now (1: the next) fails as
 * if the host were out of memory, once; 0 cancels.  The operation that
 * needed it returns -ENOMEM (or, where the kernel cannot fail, degrades:
 * a gather flushes early, reclaim keeps the page).  vmlab_host_failed():
 * allocations failed so far. */
void vmlab_host_fail_nth(struct vmlab_machine *m, u64 nth);
u64 vmlab_host_failed(const struct vmlab_machine *m);
void vmlab_host_uncharge(struct vmlab_machine *m, u64 bytes);

/* Deterministic PRNG owned by the machine (xoshiro256**). */
u64 vmlab_rand(struct vmlab_machine *m);
u64 vmlab_rand_below(struct vmlab_machine *m, u64 bound); /* bound > 0 */

/* Kernel-style warning: printed once per site, counted, never fatal. */
void vmlab_warn(struct vmlab_machine *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
u64 vmlab_nr_warnings(const struct vmlab_machine *m);
void vmlab_set_quiet(struct vmlab_machine *m, bool quiet);
/* Warnings (the kernel's WARN and pr_warn) go to fn, one formatted
 * message at a time, instead of stderr; NULL restores stderr. */
typedef void (*vmlab_warn_fn)(void *ctx, const char *msg);
void vmlab_set_warn_handler(struct vmlab_machine *m, vmlab_warn_fn fn,
			    void *ctx);

/* -------------------------------------------------------- physical memory */

/* struct page of the model. */
enum vmlab_page_flags {
	VMLAB_PG_RESERVED = 1u << 0, /* firmware / never allocatable */
	VMLAB_PG_BUDDY = 1u << 1,    /* head of a free buddy block */
	VMLAB_PG_TABLE = 1u << 2,    /* page-table page */
	VMLAB_PG_HEAD = 1u << 3,     /* head of an allocated block */
	VMLAB_PG_PCP = 1u << 4,      /* on a per-CPU free list */
};

struct vmlab_page {
	u32 flags;
	u8 order;      /* buddy order of the block this page heads */
	u8 owner;      /* free-form tag for observability */
	u16 pt_level;  /* level of the table when VMLAB_PG_TABLE */
	s32 refcount;  /* 0 when free */
	s32 mapcount;  /* user mappings (maintained by the user-mm layer) */
	u64 private_;  /* for the layer that owns the page */
	u64 lru_next;  /* free-list links (allocator internal), pfn or ~0 */
	u64 lru_prev;
};

/* Allocate 2^order frames.  0 and *pfn set, or -VMLAB_ENOMEM. */
int vmlab_alloc_pages(struct vmlab_machine *m, int cpu, int order, u64 *pfn);
/* split_page(): an allocated block of 2^order frames (one reference)
 * becomes 2^order order-0 blocks, each freed on its own.  0 or
 * -VMLAB_EINVAL with a warning. */
int vmlab_split_page(struct vmlab_machine *m, u64 pfn, int order);
/* Free a block obtained from vmlab_alloc_pages(); misuse warns. */
void vmlab_free_pages(struct vmlab_machine *m, int cpu, u64 pfn, int order);
struct vmlab_page *vmlab_pfn_to_page(struct vmlab_machine *m, u64 pfn);
u64 vmlab_nr_free_pages(const struct vmlab_machine *m);
/* Bytes of host memory holding frame contents (sparse storage). */
u64 vmlab_host_content_bytes(const struct vmlab_machine *m);

/* Raw physical memory access (no translation, no TLB). */
void vmlab_phys_read(struct vmlab_machine *m, u64 pa, void *buf, size_t len);
void vmlab_phys_write(struct vmlab_machine *m, u64 pa, const void *buf,
		      size_t len);
void vmlab_phys_fill(struct vmlab_machine *m, u64 pa, int byte, size_t len);

/* ----------------------------------------------------- address spaces */

/*
 * The machine-level part of an address space.  init_mm (vmlab_init_mm())
 * holds the kernel page tables; user mms copy its kernel half (the kernel
 * PGD entries are preallocated at boot, as x86-64 does, so they never
 * change afterwards).
 */
struct vmlab_mm {
	u64 pgd_pfn;   /* root table */
	u64 ctx_id;    /* unique, never reused (x86 mm->context.ctx_id) */
	u64 tlb_gen;   /* bumped by every flush request for this mm */
	bool is_init;  /* the kernel's init_mm */
	bool cached;   /* loaded since creation and not yet detached by destroy */
	u64 context_id; /* arm64 mm->context.id: generation | ASID, 0: none */
	u64 cpumask[VMLAB_MAX_CPUS / 64]; /* CPUs that may cache this mm */
	void *owner;   /* the upper layer's object embedding this mm */
	/* Set by that layer: check (and for WRLOCK take) the locks a page
	 * walk's mode (enum vmlab_pgwalk_lock) requires over [start, end). */
	void (*walk_lock)(struct vmlab_mm *mm, u64 start, u64 end, int mode);
	/* Set by that layer (walk_page_test() and __walk_page_range()): the
	 * end of the run of [va, end) a walk treats alike, and whether it
	 * skips it (a hugetlb VMA: the walker has no hugetlb_entry and
	 * never installs there).  NULL: every address is walked. */
	u64 (*walk_skip)(struct vmlab_mm *mm, u64 va, u64 end, bool *skip);
	/* [flush_lo, flush_hi): a user mm's mmu_gather is flushing it now
	 * (tlb_flush_mmu); another thread may still use its TLB entries
	 * there until the flush reaches it, as on real hardware */
	u64 flush_lo, flush_hi;
	/* mm->notifier_subscriptions: the notifiers layer's, NULL if none */
	void *notifier_subscriptions;
	/* x86 mm->context.next_trim_cpumask: simulated ns after which the
	 * next flush also reaches the CPUs it left (once a second). */
	double next_trim_ns;
	struct vmlab_mm *next_mm; /* machine's registry of live mms */
};

struct vmlab_mm *vmlab_init_mm(struct vmlab_machine *m);
/* Allocate a user mm with a fresh PGD; -VMLAB_ENOMEM on failure. */
int vmlab_mm_create(struct vmlab_machine *m, struct vmlab_mm **out);
/*
 * Free the PGD (user half must already be torn down) and the mm.  Every
 * CPU that had it loaded is switched to init_mm first.
 */
void vmlab_mm_destroy(struct vmlab_machine *m, struct vmlab_mm *mm);
bool vmlab_mm_cpumask_test(const struct vmlab_mm *mm, int cpu);

/* ------------------------------------------------------------------ CPUs */

/* switch_mm_irqs_off(): load mm's CR3 on cpu (PCID-aware). */
void vmlab_switch_mm(struct vmlab_machine *m, int cpu, struct vmlab_mm *mm);
/* unuse_temporary_mm(): back to prev, and this CPU leaves the temporary
 * mm's cpumask (text_poke's poking_mm). */
void vmlab_unuse_temporary_mm(struct vmlab_machine *m, int cpu,
			      struct vmlab_mm *prev);
/* Switch to a kernel thread: keep the old mm loaded, lazily. */
void vmlab_enter_lazy_tlb(struct vmlab_machine *m, int cpu);
struct vmlab_mm *vmlab_cpu_mm(struct vmlab_machine *m, int cpu);
bool vmlab_cpu_is_lazy(struct vmlab_machine *m, int cpu);
/* Every machine begins with this head (the first member of its fast
 * view, tlb.h), so the CPU-id check many entry points make and the
 * canonical-address check (pgtable.h) are inline. */
struct vmlab__machine_head {
	int nr_cpus; /* set at boot, never changed */
	/* canonical: va >> va_top_shift is 0 or all ones (set at boot) */
	unsigned va_top_shift;
};
static inline bool vmlab_cpu_valid(const struct vmlab_machine *m, int cpu)
{
	const struct vmlab__machine_head *h =
		(const struct vmlab__machine_head *)(const void *)m;
	return cpu >= 0 && cpu < h->nr_cpus;
}

/* -------------------------------------------------- counters and cost */

#define VMLAB_COUNTERS(X)                                                    \
	X(tlb_l1_hit)                                                        \
	X(tlb_l2_hit)                                                        \
	X(tlb_miss)                                                          \
	X(itlb_miss)                                                         \
	X(dtlb_miss)                                                         \
	X(tlb_fill)                                                          \
	X(pwc_hit)                                                           \
	X(walk)                                                              \
	X(walk_level)                                                        \
	X(ad_update)                                                         \
	X(page_fault)                                                        \
	X(spurious_fault)                                                    \
	X(invlpg)                                                            \
	X(flush_local)                                                       \
	X(flush_global)                                                      \
	X(flush_kernel_range)                                                \
	X(flush_kernel_range_full)                                           \
	X(flush_mm_range)                                                    \
	X(flush_mm_range_full)                                               \
	X(flush_all)                                                         \
	X(ipi_sent)                                                          \
	X(ipi_received)                                                      \
	X(ipi_skipped_lazy)                                                  \
	X(pages_invalidated)                                                 \
	X(tlb_entries_dropped)                                               \
	X(asid_new)                                                          \
	X(cr3_write)                                                         \
	X(pte_write)                                                         \
	X(pgtable_alloc)                                                     \
	X(pgtable_free)                                                      \
	X(page_alloc)                                                        \
	X(page_free)                                                         \
	X(cpa_call)                                                          \
	X(cpa_flush)                                                         \
	X(tlbi_is)                                                           \
	X(tlbi_local)                                                        \
	X(dsb)                                                               \
	X(asid_rollover)                                                     \
	X(af_fault)                                                          \
	X(ttbr_write)

enum vmlab_counter {
#define VMLAB_X_ENUM(name) VMLAB_C_##name,
	VMLAB_COUNTERS(VMLAB_X_ENUM)
#undef VMLAB_X_ENUM
	VMLAB_NR_COUNTERS
};

const char *vmlab_counter_name(enum vmlab_counter c);
/* cpu == -1: total over all CPUs. */
u64 vmlab_counter(const struct vmlab_machine *m, int cpu, enum vmlab_counter c);
void vmlab_counters_reset(struct vmlab_machine *m);
/* Simulated time: counters weighted by the cost table (cpu -1 = sum). */
double vmlab_sim_time_ns(const struct vmlab_machine *m, int cpu);
void vmlab_set_cost(struct vmlab_machine *m, const struct vmlab_cost *cost);

/* A snapshot of every counter, for before/after differences. */
struct vmlab_counters {
	u64 v[VMLAB_NR_COUNTERS];
	double time_ns;
};
void vmlab_counters_snapshot(const struct vmlab_machine *m,
			     struct vmlab_counters *out);
void vmlab_counters_diff(const struct vmlab_counters *after,
			 const struct vmlab_counters *before,
			 struct vmlab_counters *out);

/* Text or JSON dump of counters (totals and per CPU) and memory figures. */
void vmlab_stats_dump(const struct vmlab_machine *m, void *file, bool json);

/* ------------------------------------------------- events and the hash */

enum vmlab_event_type {
	VMLAB_EV_PTE_WRITE,
	VMLAB_EV_TLB_FILL,
	VMLAB_EV_FAULT,
	VMLAB_EV_INVLPG,
	VMLAB_EV_FLUSH_LOCAL,
	VMLAB_EV_FLUSH_GLOBAL,
	VMLAB_EV_IPI,
	VMLAB_EV_PAGE_ALLOC,
	VMLAB_EV_PAGE_FREE,
	VMLAB_EV_SWITCH_MM,
	VMLAB_EV_REPORT,
	VMLAB_EV_USER, /* emitted by upper layers (vmalloc tracepoints...) */
	VMLAB_NR_EVENTS
};

/*
 * Tracepoint names are interned once per emitting site: a static
 * {name, hash} whose hash the compiler folds from the literal (FNV-1a over
 * at most VMLAB_TP_NAME_MAX bytes), so the hot paths hash one word per
 * event instead of the name's bytes.  vmlab_name_hash() is the same
 * function at run time, for names that are not literals.
 */
struct vmlab_tracepoint {
	const char *name;
	unsigned long long hash;
};
#define VMLAB_TP_NAME_MAX 40
#define VMLAB__FNV_BASIS 0xcbf29ce484222325ULL
#define VMLAB__FNV_PRIME 0x100000001b3ULL
#define VMLAB__TPC(s, i)                                                     \
	((i) < sizeof(s) ? (unsigned long long)(unsigned char)                 \
			       (s)[(i) < sizeof(s) ? (i) : 0]                  \
			 : 0ULL)
#define VMLAB__TPS(s, i, h)                                                  \
	(((h) ^ VMLAB__TPC(s, i)) *                                            \
	 ((i) + 1 < sizeof(s) ? VMLAB__FNV_PRIME : 1ULL))
#define VMLAB__TPH0(s) VMLAB__FNV_BASIS
#define VMLAB__TPH1(s) VMLAB__TPS(s, 0, VMLAB__TPH0(s))
#define VMLAB__TPH2(s) VMLAB__TPS(s, 1, VMLAB__TPH1(s))
#define VMLAB__TPH3(s) VMLAB__TPS(s, 2, VMLAB__TPH2(s))
#define VMLAB__TPH4(s) VMLAB__TPS(s, 3, VMLAB__TPH3(s))
#define VMLAB__TPH5(s) VMLAB__TPS(s, 4, VMLAB__TPH4(s))
#define VMLAB__TPH6(s) VMLAB__TPS(s, 5, VMLAB__TPH5(s))
#define VMLAB__TPH7(s) VMLAB__TPS(s, 6, VMLAB__TPH6(s))
#define VMLAB__TPH8(s) VMLAB__TPS(s, 7, VMLAB__TPH7(s))
#define VMLAB__TPH9(s) VMLAB__TPS(s, 8, VMLAB__TPH8(s))
#define VMLAB__TPH10(s) VMLAB__TPS(s, 9, VMLAB__TPH9(s))
#define VMLAB__TPH11(s) VMLAB__TPS(s, 10, VMLAB__TPH10(s))
#define VMLAB__TPH12(s) VMLAB__TPS(s, 11, VMLAB__TPH11(s))
#define VMLAB__TPH13(s) VMLAB__TPS(s, 12, VMLAB__TPH12(s))
#define VMLAB__TPH14(s) VMLAB__TPS(s, 13, VMLAB__TPH13(s))
#define VMLAB__TPH15(s) VMLAB__TPS(s, 14, VMLAB__TPH14(s))
#define VMLAB__TPH16(s) VMLAB__TPS(s, 15, VMLAB__TPH15(s))
#define VMLAB__TPH17(s) VMLAB__TPS(s, 16, VMLAB__TPH16(s))
#define VMLAB__TPH18(s) VMLAB__TPS(s, 17, VMLAB__TPH17(s))
#define VMLAB__TPH19(s) VMLAB__TPS(s, 18, VMLAB__TPH18(s))
#define VMLAB__TPH20(s) VMLAB__TPS(s, 19, VMLAB__TPH19(s))
#define VMLAB__TPH21(s) VMLAB__TPS(s, 20, VMLAB__TPH20(s))
#define VMLAB__TPH22(s) VMLAB__TPS(s, 21, VMLAB__TPH21(s))
#define VMLAB__TPH23(s) VMLAB__TPS(s, 22, VMLAB__TPH22(s))
#define VMLAB__TPH24(s) VMLAB__TPS(s, 23, VMLAB__TPH23(s))
#define VMLAB__TPH25(s) VMLAB__TPS(s, 24, VMLAB__TPH24(s))
#define VMLAB__TPH26(s) VMLAB__TPS(s, 25, VMLAB__TPH25(s))
#define VMLAB__TPH27(s) VMLAB__TPS(s, 26, VMLAB__TPH26(s))
#define VMLAB__TPH28(s) VMLAB__TPS(s, 27, VMLAB__TPH27(s))
#define VMLAB__TPH29(s) VMLAB__TPS(s, 28, VMLAB__TPH28(s))
#define VMLAB__TPH30(s) VMLAB__TPS(s, 29, VMLAB__TPH29(s))
#define VMLAB__TPH31(s) VMLAB__TPS(s, 30, VMLAB__TPH30(s))
#define VMLAB__TPH32(s) VMLAB__TPS(s, 31, VMLAB__TPH31(s))
#define VMLAB__TPH33(s) VMLAB__TPS(s, 32, VMLAB__TPH32(s))
#define VMLAB__TPH34(s) VMLAB__TPS(s, 33, VMLAB__TPH33(s))
#define VMLAB__TPH35(s) VMLAB__TPS(s, 34, VMLAB__TPH34(s))
#define VMLAB__TPH36(s) VMLAB__TPS(s, 35, VMLAB__TPH35(s))
#define VMLAB__TPH37(s) VMLAB__TPS(s, 36, VMLAB__TPH36(s))
#define VMLAB__TPH38(s) VMLAB__TPS(s, 37, VMLAB__TPH37(s))
#define VMLAB__TPH39(s) VMLAB__TPS(s, 38, VMLAB__TPH38(s))
#define VMLAB__TPH40(s) VMLAB__TPS(s, 39, VMLAB__TPH39(s))
/* A string literal of at most VMLAB_TP_NAME_MAX bytes (else the array
 * size below is negative and the build fails). */
#define VMLAB_TRACEPOINT(lit)                                                \
	{(lit), VMLAB__TPH40(lit) +                                            \
		    0 * sizeof(char[sizeof(lit) <= VMLAB_TP_NAME_MAX + 1 ? 1 : -1])}
unsigned long long vmlab_name_hash(const char *name);

struct vmlab_event {
	enum vmlab_event_type type;
	int cpu;
	u64 a, b, c, d, e, f; /* fields; tracepoints use them in order */
	const char *name; /* VMLAB_EV_USER: tracepoint name */
	u64 name_hash;    /* vmlab_name_hash(name), or 0: computed on emit */
};

/* Every event goes into the trace hash (FNV-1a over its fields). */
u64 vmlab_trace_hash(const struct vmlab_machine *m);
u64 vmlab_event_count(const struct vmlab_machine *m);
typedef void (*vmlab_event_fn)(void *ctx, const struct vmlab_event *ev);
void vmlab_set_event_listener(struct vmlab_machine *m, vmlab_event_fn fn,
			      void *ctx);
void vmlab_emit(struct vmlab_machine *m, const struct vmlab_event *ev);

/* --------------------------------------------------- deferred work */

/*
 * Deferred work (schedule_work(), the vmalloc purge worker, vfree_atomic's
 * worker, RCU-like callbacks): queued in FIFO order and run when someone
 * calls vmlab_run_work(): a test, the scheduler's kworker inside a run, the
 * Lua binding's kworker at the end of each operation outside one.  A work
 * item already queued is not queued twice, as with schedule_work().
 */
typedef void (*vmlab_work_fn)(struct vmlab_machine *m, int cpu, void *arg);
struct vmlab_work {
	vmlab_work_fn fn;
	void *arg;
	const char *name;
	u64 name_hash; /* of name, cached at the first queueing (0: not yet) */
	bool pending;
	struct vmlab_work *next;
};
/* Returns false if it was already pending. */
bool vmlab_queue_work(struct vmlab_machine *m, struct vmlab_work *w);
/* Run queued work on cpu until the queue is empty or max items ran
 * (work queued by work runs too); returns how many ran. */
int vmlab_run_work(struct vmlab_machine *m, int cpu, int max);
int vmlab_nr_pending_work(const struct vmlab_machine *m);
/* Totals since boot: items queued, items run. */
void vmlab_work_totals(const struct vmlab_machine *m, u64 *queued, u64 *ran);
/* Remove w from the queue if pending (cancel_work()). */
bool vmlab_cancel_work(struct vmlab_machine *m, struct vmlab_work *w);

#endif
