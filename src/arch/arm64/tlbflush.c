/* SPDX-License-Identifier: MIT */
/*
 * arm64 TLB maintenance, after arch/arm64/include/asm/tlbflush.h: the
 * inner-shareable TLBI instructions reach every CPU's TLB in hardware (no
 * IPIs), a DSB ISH waits for them to complete.  Ranges above MAX_DVM_OPS
 * (PTRS_PER_PTE) pages become one flush of the ASID or of everything.
 * Last-level forms (VALE1IS, VAALE1IS) leave the walk caches alone; the
 * others drop cached tables too.  Also the arm64 switch_mm() (a TTBR0
 * write with the mm's ASID from context.c) and the rest of the machine
 * hooks, arm64_tlb_ops (arch/arch.h).
 */
#include "arch/arm64/arm64.h"

#define MAX_DVM_OPS VMLAB_PTRS_PER_TABLE

enum tlbi_op {
	TLBI_VA,   /* VAE1 / VALE1: one page of one ASID (and global ones) */
	TLBI_VAA,  /* VAAE1 / VAALE1: one page, every ASID */
	TLBI_ASID, /* ASIDE1: every non-global entry of one ASID */
	TLBI_ALL,  /* VMALLE1: everything */
};

/* One TLBI on CPU c's own TLB. */
static void tlbi_one(struct vmlab_machine *m, struct cpu *c, enum tlbi_op op,
		     u64 va, u16 asid, bool last_level)
{
	switch (op) {
	case TLBI_VA:
	case TLBI_VAA:
		tlb_drop_va(m, c, va, asid, op == TLBI_VAA);
		if (!last_level)
			pwc_flush(c, op == TLBI_VAA ? -1 : asid);
		return;
	case TLBI_ASID:
		tlb_drop_tag(m, c, asid);
		pwc_flush(c, asid);
		return;
	case TLBI_ALL:
		tlb_drop_all(m, c);
		return;
	}
	assert(!"unknown TLBI");
}

static enum vmlab_inval_kind inval_kind(enum tlbi_op op)
{
	return op == TLBI_ASID ? VMLAB_INV_ASID :
	       op == TLBI_ALL	? VMLAB_INV_ALL :
				  VMLAB_INV_VA;
}

/* The ...IS form issued by cpu: every CPU's TLB, counted once. */
static void tlbi_is(struct vmlab_machine *m, int cpu, enum tlbi_op op, u64 va,
		    u16 asid, bool last_level)
{
	assert(vmlab_cpu_valid(m, cpu));
	count(m, cpu, VMLAB_C_tlbi_is, 1);
	ev(m, VMLAB_EV_INVLPG, cpu, va, asid, 1 + (u64)op);
	if (obs_on(m, OBS_TLB_INVAL)) {
		struct vmlab_tlb_inval inv = {
			.kind = inval_kind(op),
			.cpu = cpu,
			.broadcast = true,
			.all_asids = op == TLBI_VAA,
			.va = va,
			.asid = asid,
			.mm = op == TLBI_ALL ? NULL :
					       arm64_mm_of_asid(m, &m->cpu[cpu],
								asid),
		};
		OBS_CALL(m, tlb_inval, &inv);
	}
	for (int i = 0; i < m->nr_cpus; i++)
		tlbi_one(m, &m->cpu[i], op, va, asid, last_level);
	if (op == TLBI_VA || op == TLBI_VAA)
		count(m, cpu, VMLAB_C_pages_invalidated, 1);
}

static void tlbi_local(struct vmlab_machine *m, struct cpu *c, enum tlbi_op op,
		       u64 va, u16 asid, bool last_level)
{
	count(m, c->id, VMLAB_C_tlbi_local, 1);
	ev(m, VMLAB_EV_FLUSH_LOCAL, c->id, va, asid, 1 + (u64)op);
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, inval_kind(op), false, va, asid);
	tlbi_one(m, c, op, va, asid, last_level);
}

static void dsb(struct vmlab_machine *m, int cpu)
{
	count(m, cpu, VMLAB_C_dsb, 1);
	/* Others may run between the TLBIs and their completion. */
	sched_point(m, cpu, "dsb ish");
}

/* TLBI VMALLE1IS + DSB ISH: every entry of every CPU. */
static void tlbi_all_is(struct vmlab_machine *m, int cpu)
{
	tlbi_is(m, cpu, TLBI_ALL, 0, 0, false);
	dsb(m, cpu);
}

static void arm64_flush_tlb_all(struct vmlab_machine *m, int cpu)
{
	count(m, cpu, VMLAB_C_flush_all, 1);
	tlbi_all_is(m, cpu);
}

static void arm64_flush_tlb_kernel_range(struct vmlab_machine *m, int cpu,
					 u64 start, u64 end)
{
	assert(start < end && !(start & ~VMLAB_PAGE_MASK));
	if (end == VMLAB_TLB_FLUSH_ALL ||
	    end - start >= MAX_DVM_OPS * VMLAB_PAGE_SIZE) {
		/* The kernel calls flush_tlb_all() here; counted as the range
		 * flush it is (flush_kernel_range_full), as x86's full range
		 * flush is, not twice. */
		count(m, cpu, VMLAB_C_flush_kernel_range_full, 1);
		tlbi_all_is(m, cpu);
		return;
	}
	count(m, cpu, VMLAB_C_flush_kernel_range, 1);
	/* Bounded by MAX_DVM_OPS pages. */
	assert((end - start) / VMLAB_PAGE_SIZE < MAX_DVM_OPS);
	for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE)
		tlbi_is(m, cpu, TLBI_VAA, va, 0, true);
	dsb(m, cpu);
}

static void arm64_flush_tlb_mm_range(struct vmlab_machine *m, int cpu,
				     struct vmlab_mm *mm, u64 start, u64 end,
				     int stride_shift, bool freed_tables)
{
	assert(!mm->is_init && stride_shift >= 12 && stride_shift <= 30);
	u64 stride = 1ULL << stride_shift;
	start &= ~(stride - 1);
	mm->tlb_gen++;
	bool full = end == VMLAB_TLB_FLUSH_ALL || start >= end ||
		    (end - start) >= MAX_DVM_OPS * stride;
	/* An mm never given an ASID has nothing cached in any CPU. */
	u16 asid = (u16)(mm->context_id & ((1ULL << m->asid_bits) - 1));
	if (asid) {
		count(m, cpu, full ? VMLAB_C_flush_mm_range_full :
				     VMLAB_C_flush_mm_range, 1);
		if (full) {
			tlbi_is(m, cpu, TLBI_ASID, 0, asid, false);
		} else {
			/* Last-level ops unless page tables were freed. */
			for (u64 va = start; va < end; va += stride)
				tlbi_is(m, cpu, TLBI_VA, va, asid, !freed_tables);
		}
		dsb(m, cpu);
	}
	/* 6.6+: flush_tlb_mm() tells secondary TLBs (0, -1UL), and
	 * flush_tlb_page() / __flush_tlb_range() the page-aligned range.  The
	 * mutant is f7edb07ad7c6's bug: __flush_tlb_range_op advanced start
	 * while issuing the TLBIs, so the notifier got [end, end). */
	if (full)
		start = 0, end = VMLAB_TLB_FLUSH_ALL;
	else if (vmlab_mutant(m, VMLAB_MUT_ARM64_EMPTY_RANGE))
		start = end = (end + stride - 1) & ~(stride - 1);
	obs_mm_flush(m, cpu, mm, start, end);
}

static void arm64_local_flush_tlb_page(struct vmlab_machine *m,
				       struct cpu *c, u64 va, u16 asid)
{
	tlbi_local(m, c, TLBI_VA, va & VMLAB_PAGE_MASK, asid, true);
	dsb(m, c->id);
}

void arm64_local_flush_tlb_all(struct vmlab_machine *m, struct cpu *c)
{
	tlbi_local(m, c, TLBI_ALL, 0, 0, false);
	dsb(m, c->id);
	fast_flush(c);
}

/* ------------------------------------------------- the machine hooks */

static void arm64_boot_cpu(struct vmlab_machine *m, struct cpu *c)
{
	/* init_mm is TTBR1; TTBR0 holds the reserved tables under ASID 0.
	 * Nothing is shared with user mms. */
	assert(c->loaded_mm == &m->init_mm);
	(void)m;
	c->hw_tag = 0;
}

/* switch_mm(): TTBR0 write with the mm's (possibly new) ASID. */
static void arm64_load_mm(struct vmlab_machine *m, struct cpu *c,
			  struct vmlab_mm *mm)
{
	assert(mm && c->loaded_mm != mm); /* a switch, not a reload */
	c->loaded_mm = mm;
	c->lazy = false;
	count(m, c->id, VMLAB_C_ttbr_write, 1);
	fast_flush(c);
	arm64_switch_context(m, c, mm);
	mm_cpumask_set(mm, c->id);
	assert(c->loaded_mm == mm && c->fast[VMLAB_READ][0].tag == 0);
	ev(m, VMLAB_EV_SWITCH_MM, c->id, mm->ctx_id, c->hw_tag, 0);
}

static void arm64_reload_mm(struct vmlab_machine *m, struct cpu *c)
{
	(void)m;
	assert(c->loaded_mm);
	c->lazy = false; /* flushes were broadcast: nothing to catch up */
}

static void arm64_flush_one(struct vmlab_machine *m, struct cpu *c, u64 va)
{
	arm64_local_flush_tlb_page(m, c, va, cpu_pcid(c));
}

/* local_flush_tlb_mm(): the non-global entries of the running ASID. */
static void arm64_flush_local(struct vmlab_machine *m, struct cpu *c)
{
	u16 asid = cpu_pcid(c);
	count(m, c->id, VMLAB_C_tlbi_local, 1);
	count(m, c->id, VMLAB_C_dsb, 1);
	if (obs_on(m, OBS_TLB_INVAL))
		obs_inval(m, c->id, VMLAB_INV_ASID, false, 0, asid);
	tlb_drop_tag(m, c, asid);
	pwc_flush(c, asid);
}

/*
 * The exception was taken although the table allows the access (a stale
 * TLB entry from before a permission upgrade): the fault path counts it
 * and flush_tlb_fix_spurious_fault() invalidates the page on this CPU (a
 * local TLBI + DSB) before the retry.
 */
static void arm64_fix_spurious_fault(struct vmlab_machine *m, struct cpu *c,
				     u64 va)
{
	count(m, c->id, VMLAB_C_page_fault, 1);
	arm64_local_flush_tlb_page(m, c, va, cpu_pcid(c));
}

const struct vmlab_arch_tlb_ops arm64_tlb_ops = {
	.init = arm64_asid_init,
	.destroy = arm64_asid_destroy,
	.boot_cpu = arm64_boot_cpu,
	.load_mm = arm64_load_mm,
	.reload_mm = arm64_reload_mm,
	.mm_release = arm64_mm_release,
	.flush_one = arm64_flush_one,
	.flush_local = arm64_flush_local,
	.flush_global = arm64_local_flush_tlb_all,
	.flush_kernel_range = arm64_flush_tlb_kernel_range,
	.flush_all = arm64_flush_tlb_all,
	.flush_mm_range = arm64_flush_tlb_mm_range,
	.tag_live = arm64_asid_live,
	.mm_of_tag = arm64_mm_of_asid,
	.fix_spurious_fault = arm64_fix_spurious_fault,
};
