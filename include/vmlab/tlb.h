/* SPDX-License-Identifier: MIT */
/*
 * Memory accesses through the TLBs, faults, and TLB flushing.
 */
#ifndef VMLAB_TLB_H
#define VMLAB_TLB_H

#include "pgtable.h"

/* x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h). */
#define VMLAB_PF_PROT (1u << 0)  /* 0: not-present page, 1: protection */
#define VMLAB_PF_WRITE (1u << 1)
#define VMLAB_PF_USER (1u << 2)
#define VMLAB_PF_RSVD (1u << 3)
#define VMLAB_PF_INSTR (1u << 4)

/* Flags for an access. */
#define VMLAB_ACC_USER (1u << 0) /* CPL 3 */

struct vmlab_fault {
	int cpu;
	u64 va;             /* faulting address (CR2) */
	enum vmlab_access access;
	u32 error_code;     /* VMLAB_PF_* */
	u64 entry;          /* the entry found at the failing level */
	int level;          /* level of that entry, -1 if unknown */
};

/* Returned by a fault handler. */
enum vmlab_fault_ret {
	VMLAB_FAULT_RETRY = 0, /* handled: retry the access */
	VMLAB_FAULT_FAIL = 1,  /* deliver to the caller as a failed access */
};

typedef enum vmlab_fault_ret (*vmlab_fault_fn)(struct vmlab_machine *m,
					       const struct vmlab_fault *f,
					       void *ctx);
void vmlab_set_fault_handler(struct vmlab_machine *m, vmlab_fault_fn fn,
			     void *ctx);

/*
 * Access [va, va+len) from cpu.  Returns 0 (bytes moved) or -VMLAB_EFAULT
 * with *f describing the fault (f may be NULL).  Accesses may cross pages;
 * len is at most 1 MiB.  Bad arguments (unknown cpu, len 0 or too large,
 * non-canonical va) give -VMLAB_EINVAL.
 */
int vmlab_access(struct vmlab_machine *m, int cpu, enum vmlab_access kind,
		 u64 va, void *buf, size_t len, u32 flags,
		 struct vmlab_fault *f);
int vmlab_read(struct vmlab_machine *m, int cpu, u64 va, void *buf,
	       size_t len, struct vmlab_fault *f);
int vmlab_write(struct vmlab_machine *m, int cpu, u64 va, const void *buf,
		size_t len, struct vmlab_fault *f);
int vmlab_fetch(struct vmlab_machine *m, int cpu, u64 va, void *buf,
		size_t len, struct vmlab_fault *f);
/* Fetch whose bytes are discarded (instruction-stream workloads). */
int vmlab_touch(struct vmlab_machine *m, int cpu, enum vmlab_access kind,
		u64 va, u32 flags, struct vmlab_fault *f);

/* ------------------------------------------------------------- flushing */

/* Local: invlpg of one page (current PCID and global entries). */
void vmlab_flush_tlb_one(struct vmlab_machine *m, int cpu, u64 va);
/* Local: all non-global entries of the current PCID (CR3 reload). */
void vmlab_flush_tlb_local(struct vmlab_machine *m, int cpu);
/* Local: everything, global entries and every PCID included. */
void vmlab_flush_tlb_global(struct vmlab_machine *m, int cpu);

/*
 * flush_tlb_kernel_range(): invlpg each page on every online CPU (local
 * directly, others by IPI), or a global flush everywhere when the range is
 * larger than flush_ceiling pages.
 */
void vmlab_flush_tlb_kernel_range(struct vmlab_machine *m, int cpu, u64 start,
				  u64 end);
/* flush_tlb_all(): global flush on every CPU. */
void vmlab_flush_tlb_all(struct vmlab_machine *m, int cpu);
/*
 * flush_tlb_mm_range(): flush [start, end) of mm on every CPU in its
 * cpumask.  Lazy-TLB CPUs get no IPI unless freed_tables (they catch up
 * through tlb_gen when they switch back).  end == VMLAB_TLB_FLUSH_ALL:
 * whole mm.
 */
#define VMLAB_TLB_FLUSH_ALL (~0ULL)
void vmlab_flush_tlb_mm_range(struct vmlab_machine *m, int cpu,
			      struct vmlab_mm *mm, u64 start, u64 end,
			      int stride_shift, bool freed_tables);

/*
 * Batched unmap flushes (reclaim's TTU_BATCH_FLUSH, arch_tlbbatch_*):
 * when should_defer says so, the unmapper records each mm in the batch
 * instead of flushing it, and flushes once (try_to_unmap_flush()) before
 * the pages are freed: every non-lazy CPU of the recorded masks flushes
 * its running context in full (tlb_flush reasons local shootdown /
 * remote shootdown).  Architectures that do not batch never defer.
 */
struct vmlab_tlbbatch {
	u64 cpumask[VMLAB_MAX_CPUS / 64];
	bool pending;
};
bool vmlab_tlbbatch_should_defer(struct vmlab_machine *m, int cpu,
				 const struct vmlab_mm *mm);
void vmlab_tlbbatch_add_pending(struct vmlab_machine *m,
				struct vmlab_tlbbatch *b, struct vmlab_mm *mm);
void vmlab_tlbbatch_flush(struct vmlab_machine *m, int cpu,
			  struct vmlab_tlbbatch *b);

/* ------------------------------------------------- inline hit path */

/*
 * The host fast path mirrors, per CPU and access kind, the L1 entries of
 * the current context at 4 KiB granularity (never stale ones, never ones
 * a checker would need to see).  It is exposed only so the accessors
 * below can hit it without a call; its layout is not an interface.
 */
#define VMLAB_FAST_SIZE 256
struct vmlab_fast_entry {
	u64 tag; /* page va | 1 (valid) | 2 (user mode); 0: empty */
	u8 *host;
};
/* An entry's KASAN shadow link: the page's shadow bytes through this
 * CPU's fast path when the entry was filled with an inline shadow check
 * on (shadow_offset below), else a page of non-zero bytes (check out of
 * line); dropped with the shadow's entry.  Kept as a host address biased
 * by the page's va >> 3, so the shadow byte of an address va in the page
 * is at bias + (va >> 3) (no masking on the hit).  Padded to an entry's
 * stride, so the link of e[k][i] is sh[k][i], a constant offset from the
 * entry. */
struct vmlab_fast_shadow {
	__UINTPTR_TYPE__ bias;
	u64 unused;
};
/* One CPU's fast path and, right after it, its counters (vmlab_counter),
 * so a hit counts itself at a fixed offset from the entry it matched;
 * then the shadow links, out of the entries so that those stay 16 bytes
 * (four to a cache line) and only KASAN's check reads the links. */
struct vmlab_fast_cpu {
	struct vmlab_fast_entry e[VMLAB_NR_ACCESS][VMLAB_FAST_SIZE];
	u64 cnt[VMLAB_NR_COUNTERS];
	struct vmlab_fast_shadow sh[VMLAB_NR_ACCESS][VMLAB_FAST_SIZE];
};
#define VMLAB__FAST_SHADOW_OFF                                               \
	(__builtin_offsetof(struct vmlab_fast_cpu, sh) -                     \
	 __builtin_offsetof(struct vmlab_fast_cpu, e))
struct vmlab_fast_view {
	struct vmlab__machine_head head; /* first: vmlab_cpu_valid() */
	/* Indexed by CPU id; an id without a CPU names an always-empty
	 * block (no tag matches), so the hit tests no CPU count: a constant
	 * id needs no check at all, a variable one a compare with a
	 * constant. */
	struct vmlab_fast_cpu *cpu[VMLAB_MAX_CPUS];
	/* Non-zero while the only access observers are shadow checks with
	 * this offset (KASAN, observer.h inline_shadow_offset): fast-path
	 * fills link each page to its shadow bytes, and a watched hit
	 * passes inline when its shadow byte is 0. */
	u64 shadow_offset;
};
/* Tag bit of fast-path entries while an observer wants access events. */
#define VMLAB_FAST_TAG_WATCH 4ULL

/* The machine begins with its fast view. */
static inline const struct vmlab_fast_view *
vmlab__fast_view(const struct vmlab_machine *m)
{
	return (const struct vmlab_fast_view *)(const void *)m;
}

static inline const struct vmlab_fast_entry *
vmlab__fast_hit(const struct vmlab_machine *m, int cpu, int kind, u64 va)
{
	const struct vmlab_fast_view *v = vmlab__fast_view(m);
	if (__builtin_expect((unsigned)cpu >= VMLAB_MAX_CPUS || (va & 7), 0))
		return 0;
	struct vmlab_fast_cpu *fc = v->cpu[cpu];
	const struct vmlab_fast_entry *fe =
		&fc->e[kind][(va >> VMLAB_PAGE_SHIFT) & (VMLAB_FAST_SIZE - 1)];
	u64 want = (va & VMLAB_PAGE_MASK) | 1;
	if (__builtin_expect(fe->tag == want, 1)) {
		fc->cnt[VMLAB_C_tlb_l1_hit]++;
		return fe;
	}
	/* KASAN's check, inline as the compiler emits it: a watched hit
	 * passes when the shadow byte of the aligned 8-byte access is 0;
	 * anything else (poison, no shadow link) goes out of line.  The
	 * empty asm keeps the compiler from merging this path's loads and
	 * count with the plain hit's, which would cost that one registers
	 * and an instruction or two. */
	__asm__("" : "+r"(fe), "+r"(fc));
	const struct vmlab_fast_shadow *sh =
		(const struct vmlab_fast_shadow *)(const void *)(
			(const char *)fe + VMLAB__FAST_SHADOW_OFF);
	if (fe->tag != (want | VMLAB_FAST_TAG_WATCH) ||
	    *(const u8 *)(sh->bias + (__UINTPTR_TYPE__)(va >> 3)))
		return 0;
	fc->cnt[VMLAB_C_tlb_l1_hit]++;
	return fe;
}

/* The out-of-line rest of vmlab_read_u64: value and error in registers,
 * so a caller's destination need not live in memory for the slow call. */
struct vmlab__u64_res {
	u64 v;
	int err;
};
struct vmlab__u64_res vmlab__read_u64_slow(struct vmlab_machine *m, int cpu,
					   u64 va);

/* Aligned 8-byte kernel-mode read/write: the TLB-hit case inline, every
 * other case (miss, fault, checker) through vmlab_read/vmlab_write.
 * *out is left alone on an error. */
static inline int vmlab_read_u64(struct vmlab_machine *m, int cpu, u64 va,
				 u64 *out)
{
	const struct vmlab_fast_entry *fe = vmlab__fast_hit(m, cpu, VMLAB_READ, va);
	if (__builtin_expect(fe != 0, 1)) {
		/* A typed store to *out (not a byte copy, which may alias the
		 * fast view) lets a caller's loop keep the view in registers. */
		u64 v;
		__builtin_memcpy(&v, fe->host + (va & (VMLAB_PAGE_SIZE - 1)), 8);
		*out = v;
		return 0;
	}
	struct vmlab__u64_res r = vmlab__read_u64_slow(m, cpu, va);
	if (!r.err)
		*out = r.v;
	return r.err;
}

static inline int vmlab_write_u64(struct vmlab_machine *m, int cpu, u64 va,
				  u64 val)
{
	const struct vmlab_fast_entry *fe = vmlab__fast_hit(m, cpu, VMLAB_WRITE, va);
	if (__builtin_expect(fe != 0, 1)) {
		__builtin_memcpy(fe->host + (va & (VMLAB_PAGE_SIZE - 1)), &val, 8);
		return 0;
	}
	return vmlab_write(m, cpu, va, &val, 8, 0);
}

/* Number of valid TLB entries (all arrays, all sizes) on a CPU. */
u32 vmlab_tlb_occupancy(struct vmlab_machine *m, int cpu);
/* Does cpu's TLB hold a translation for va (any PCID)? prot gets its
 * permissions (RW, NX, USER, DIRTY bits); returns the page-size level or -1. */
int vmlab_tlb_probe(struct vmlab_machine *m, int cpu, u64 va, u64 *pfn,
		    vmlab_pgprot_t *prot);

#endif
