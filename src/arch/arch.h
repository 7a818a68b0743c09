/* SPDX-License-Identifier: MIT */
/*
 * The boundary between the machine and the architecture layer.
 *
 * Architecture code (src/arch/<arch>/) reaches the machine only through
 * this header: the machine state it maintains (struct cpu, struct
 * vmlab_machine), the TLB drop primitives, counters, events, observers.
 * Generic machine code (src/machine/) reaches an architecture only through
 * the hooks declared here (struct vmlab_arch_tlb_ops, selected with the
 * architecture's vmlab_arch_ops): the address-space switch, TLB tags, the
 * flush instructions and the fault-time TLB fix.  The one exception is the
 * hardware walker, whose per-architecture rules (src/arch/<arch>/walk.h)
 * are inlined into the machine's walk dispatch so the walk loop makes no
 * indirect call per level.  tests/layering_test.py checks both directions.
 */
#ifndef VMLAB_ARCH_ARCH_H
#define VMLAB_ARCH_ARCH_H

#include "machine/internal.h"

/*
 * The machine's per-architecture hooks (after the split between mm/ and
 * arch/<arch>/mm/tlb.c).  Every hook is set; the public entry points of
 * src/machine/flush.c check their arguments and then call these.
 */
struct vmlab_arch_tlb_ops {
	/* Machine-wide TLB-tag state (arm64: the ASID allocator). */
	int (*init)(struct vmlab_machine *m);
	void (*destroy)(struct vmlab_machine *m);
	/* Boot: CPU c runs init_mm (loaded_mm and the cpumask are set). */
	void (*boot_cpu)(struct vmlab_machine *m, struct cpu *c);
	/* switch_mm() to another mm (c->loaded_mm != mm) ... */
	void (*load_mm)(struct vmlab_machine *m, struct cpu *c,
			struct vmlab_mm *mm);
	/* ... or back to the one loaded, leaving lazy mode. */
	void (*reload_mm)(struct vmlab_machine *m, struct cpu *c);
	/* mm is being destroyed: no CPU runs it any more. */
	void (*mm_release)(struct vmlab_machine *m, struct vmlab_mm *mm);
	/* Local flushes on CPU c: one page, the running context, all. */
	void (*flush_one)(struct vmlab_machine *m, struct cpu *c, u64 va);
	void (*flush_local)(struct vmlab_machine *m, struct cpu *c);
	void (*flush_global)(struct vmlab_machine *m, struct cpu *c);
	/* Machine-wide flushes issued by cpu (x86: IPIs; arm64: TLBI IS);
	 * a kernel range is page-aligned and not empty. */
	void (*flush_kernel_range)(struct vmlab_machine *m, int cpu, u64 start,
				   u64 end);
	void (*flush_all)(struct vmlab_machine *m, int cpu);
	void (*flush_mm_range)(struct vmlab_machine *m, int cpu,
			       struct vmlab_mm *mm, u64 start, u64 end,
			       int stride_shift, bool freed_tables);
	/* TLB tags: could entries tagged tag still be used on c, and whose
	 * are they (NULL: no live mm)? */
	bool (*tag_live)(struct vmlab_machine *m, struct cpu *c, u16 tag);
	struct vmlab_mm *(*mm_of_tag)(struct vmlab_machine *m, struct cpu *c,
				      u16 tag);
	/* A cached entry denied an access the table allows: what the fault
	 * path does before the retry (x86: nothing architectural, the entry
	 * is dropped by the re-walk; arm64: flush_tlb_fix_spurious_fault). */
	void (*fix_spurious_fault)(struct vmlab_machine *m, struct cpu *c,
				   u64 va);
	/* arch_tlbbatch_flush(): the deferred flush of reclaim's batched
	 * unmaps over the CPUs in cpumask.  NULL: the architecture does not
	 * batch (its unmaps flush as they go). */
	void (*tlbbatch_flush)(struct vmlab_machine *m, int cpu,
			       const u64 *cpumask);
	/* arch_tlbbatch_add_pending(): mm's unmapped PTEs join the batch
	 * whose CPUs are cpumask (set with tlbbatch_flush). */
	void (*tlbbatch_add_pending)(struct vmlab_machine *m, u64 *cpumask,
				     struct vmlab_mm *mm);
	/* The mm_cpumask is updated lazily (x86 since 6.14): switching away
	 * keeps the CPU's bit, and the first flush that reaches the CPU
	 * while it runs another mm clears it (TLB_REMOTE_WRONG_CPU). */
	bool lazy_cpumask;
};

extern const struct vmlab_arch_ops vmlab_arch_x86_64;
extern const struct vmlab_arch_ops vmlab_arch_arm64;

/* The mm's CPU mask (mm_cpumask()), kept by the switch code of both. */
static inline void mm_cpumask_set(struct vmlab_mm *mm, int cpu)
{
	assert(cpu >= 0 && cpu < VMLAB_MAX_CPUS);
	mm->cpumask[cpu / 64] |= 1ULL << (cpu % 64);
}

static inline void mm_cpumask_clear(struct vmlab_mm *mm, int cpu)
{
	assert(cpu >= 0 && cpu < VMLAB_MAX_CPUS);
	/* init_mm stays in every CPU's mask (x86 never clears it). */
	assert(!mm->is_init);
	mm->cpumask[cpu / 64] &= ~(1ULL << (cpu % 64));
}

#endif
