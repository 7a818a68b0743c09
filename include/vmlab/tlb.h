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

/* Number of valid TLB entries (all arrays, all sizes) on a CPU. */
u32 vmlab_tlb_occupancy(struct vmlab_machine *m, int cpu);
/* Does cpu's TLB hold a translation for va (any PCID)? prot gets its
 * permissions (RW, NX, USER, DIRTY bits); returns the page-size level or -1. */
int vmlab_tlb_probe(struct vmlab_machine *m, int cpu, u64 va, u64 *pfn,
		    vmlab_pgprot_t *prot);

#endif
