/* SPDX-License-Identifier: MIT */
/*
 * x86-64 address-space switching and TLB flushing, after arch/x86/mm/tlb.c:
 * per-CPU dynamic ASIDs (TLB_NR_DYN_ASIDS PCIDs) with tlb_gen catch-up,
 * lazy TLB mode, invlpg / CR3 writes, and the IPI shootdowns:
 * flush_tlb_kernel_range() with tlb_single_page_flush_ceiling, and
 * flush_tlb_mm_range() that leaves lazy CPUs alone unless page tables
 * were freed.  The machine calls these through x86_tlb_ops (arch/arch.h).
 */
#include "arch/x86/x86.h"

/* choose_new_asid(): reuse this mm's slot, or take the next one round
 * robin (its old contents must then be flushed). */
static u16 choose_asid(struct vmlab_machine *m, struct cpu *c,
		       struct vmlab_mm *mm, bool *need_flush)
{
	/* ctx_id 0 marks a free slot: no mm may carry it. */
	assert(mm && mm->ctx_id != 0 && mm->ctx_id < m->next_ctx_id);
	if (!m->cfg.pcid) {
		*need_flush = true;
		return 0;
	}
	for (u16 i = 0; i < TLB_NR_DYN_ASIDS; i++) {
		if (c->asid[i].ctx_id == mm->ctx_id) {
			assert(c->asid[i].tlb_gen <= mm->tlb_gen);
			*need_flush = c->asid[i].tlb_gen < mm->tlb_gen;
			return i;
		}
	}
	u16 a = c->next_asid;
	assert(a < TLB_NR_DYN_ASIDS);
	c->next_asid = (u16)((c->next_asid + 1) % TLB_NR_DYN_ASIDS);
	*need_flush = true;
	count(m, c->id, VMLAB_C_asid_new, 1);
	return a;
}

static int x86_tlb_init(struct vmlab_machine *m)
{
	(void)m; /* the ASID slots are per CPU, zeroed with it */
	return 0;
}

static void x86_tlb_destroy(struct vmlab_machine *m)
{
	(void)m;
}

/* Boot runs init_mm in ASID 0, as initialize_tlbstate_and_flush() records
 * it in cpu_tlbstate.ctxs[0]. */
static void x86_boot_cpu(struct vmlab_machine *m, struct cpu *c)
{
	struct vmlab_mm *mm = &m->init_mm;
	assert(c->loaded_asid == 0 && !c->asid[0].ctx_id);
	assert(c->loaded_mm == mm);
	c->asid[0] = (struct asid_slot){mm->ctx_id, mm->tlb_gen, mm};
	c->hw_tag = 1; /* PCID = slot + 1 */
}

/* switch_mm_irqs_off() to another mm: CR3 write with its PCID. */
static void x86_load_mm(struct vmlab_machine *m, struct cpu *c,
			struct vmlab_mm *mm)
{
	assert(mm && c->loaded_mm != mm); /* a switch, not a reload */
	/* The switch is atomic in the model: the flush IPI that Linux sends
	 * into its LOADED_MM_SWITCHING window (fea4e317f9e7) is handled
	 * after the switch, as if the flush came after it.  The mutant opens
	 * the window, as before that fix: cpumask_set_cpu(), the tlb_gen
	 * read of choose_new_asid(), then others run before CR3 is loaded,
	 * and should_flush_tlb() skips this CPU (loaded_mm is not mm). */
	bool window = vmlab_mutant(m, VMLAB_MUT_SWITCH_WINDOW_SKIPPED) &&
		      !mm->is_init;
	if (window) {
		mm_cpumask_set(mm, c->id);
		c->switching = mm;
	}
	bool need_flush;
	u16 asid = choose_asid(m, c, mm, &need_flush);
	u64 gen = mm->tlb_gen; /* next_tlb_gen */
	if (window) {
		/* The scheduler holds none of the mm's locks here. */
		bool unlocked = vmlab_op_unlock(m, c->id, "switch_mm_irqs_off");
		sched_point(m, c->id, "switch_mm_irqs_off");
		if (unlocked)
			vmlab_op_relock(m, c->id, "switch_mm_irqs_off");
		c->switching = NULL;
		if (c->switch_ipi) { /* flush_tlb_func() after the switch */
			c->switch_ipi = false;
			need_flush = true;
			gen = mm->tlb_gen;
		}
	}
	assert(gen <= mm->tlb_gen);
	c->loaded_asid = asid;
	c->hw_tag = (u16)(asid + 1);
	c->loaded_mm = mm;
	c->lazy = false;
	count(m, c->id, VMLAB_C_cr3_write, 1);
	fast_flush(c);
	c->in_cr3_write = true;
	if (need_flush)
		tlb_flush_pcid(m, c, cpu_pcid(c));
	c->asid[asid].ctx_id = mm->ctx_id;
	c->asid[asid].tlb_gen = gen;
	c->asid[asid].mm = mm;
	c->in_cr3_write = false;
	mm_cpumask_set(mm, c->id);
	/* The loaded slot now names mm, and the fast path starts empty. */
	assert(c->loaded_mm == mm && cpu_pcid(c) == asid + 1);
	assert(c->fast[VMLAB_READ][0].tag == 0);
	ev(m, VMLAB_EV_SWITCH_MM, c->id, mm->ctx_id, asid, need_flush);
}

/* Leaving lazy mode: catch up on the flushes skipped meanwhile. */
static void x86_reload_mm(struct vmlab_machine *m, struct cpu *c)
{
	struct vmlab_mm *mm = c->loaded_mm;
	struct asid_slot *s = &c->asid[c->loaded_asid];
	assert(mm && s->ctx_id == mm->ctx_id && s->tlb_gen <= mm->tlb_gen);
	if (s->tlb_gen < mm->tlb_gen &&
	    !vmlab_mutant(m, VMLAB_MUT_LAZY_NO_CATCHUP)) {
		tlb_flush_pcid(m, c, cpu_pcid(c));
		s->tlb_gen = mm->tlb_gen;
	}
	c->lazy = false;
}

static void x86_mm_release(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	/* Its PCID slots name nobody now: tlb_tag_live() sees them dead. */
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		assert(c->loaded_mm != mm);
		for (int a = 0; a < TLB_NR_DYN_ASIDS; a++)
			if (c->asid[a].mm == mm)
				c->asid[a].mm = NULL;
	}
}

static void x86_flush_one(struct vmlab_machine *m, struct cpu *c, u64 va)
{
	tlb_invlpg(m, c, va);
}

static void x86_flush_local(struct vmlab_machine *m, struct cpu *c)
{
	tlb_flush_pcid(m, c, cpu_pcid(c));
	fast_flush(c);
}

static void x86_flush_global(struct vmlab_machine *m, struct cpu *c)
{
	tlb_flush_all_entries(m, c);
}

/* ------------------------------------------------------- shootdown */

static void send_ipi(struct vmlab_machine *m, int from, int to)
{
	assert(from != to && vmlab_cpu_valid(m, from) && vmlab_cpu_valid(m, to));
	sched_point(m, from, "ipi"); /* others run before the IPI lands */
	count(m, from, VMLAB_C_ipi_sent, 1);
	count(m, to, VMLAB_C_ipi_received, 1);
	ev(m, VMLAB_EV_IPI, from, (u64)to, 0, 0);
}

static u64 range_pages(u64 start, u64 end, int stride_shift)
{
	assert(start < end && stride_shift >= 12 && stride_shift <= 30);
	return (end - start + (1ULL << stride_shift) - 1) >> stride_shift;
}

static void kernel_range_local(struct vmlab_machine *m, struct cpu *c,
			       u64 start, u64 end, bool full)
{
	if (full) {
		tlb_flush_all_entries(m, c);
		return;
	}
	/* Bounded by tlb_single_page_flush_ceiling, else it would be full. */
	assert(start < end && !(start & ~VMLAB_PAGE_MASK));
	assert(range_pages(start, end, VMLAB_PAGE_SHIFT) <= m->cfg.flush_ceiling);
	for (u64 va = start; va < end; va += VMLAB_PAGE_SIZE)
		tlb_invlpg(m, c, va);
}

static void x86_flush_kernel_range(struct vmlab_machine *m, int cpu,
				   u64 start, u64 end)
{
	assert(start < end && !(start & ~VMLAB_PAGE_MASK));
	assert(end == VMLAB_TLB_FLUSH_ALL || !(end & ~VMLAB_PAGE_MASK));
	bool full = end == VMLAB_TLB_FLUSH_ALL ||
		    range_pages(start, end, VMLAB_PAGE_SHIFT) >
			    m->cfg.flush_ceiling;
	count(m, cpu, full ? VMLAB_C_flush_kernel_range_full :
			     VMLAB_C_flush_kernel_range, 1);
	/* on_each_cpu(): the caller runs it directly, the rest by IPI. */
	for (int i = 0; i < m->nr_cpus; i++) {
		if (i != cpu)
			send_ipi(m, cpu, i);
		kernel_range_local(m, &m->cpu[i], start, end, full);
	}
}

static void x86_flush_all(struct vmlab_machine *m, int cpu)
{
	assert(vmlab_cpu_valid(m, cpu));
	count(m, cpu, VMLAB_C_flush_all, 1);
	for (int i = 0; i < m->nr_cpus; i++) {
		if (i != cpu)
			send_ipi(m, cpu, i);
		tlb_flush_all_entries(m, &m->cpu[i]);
	}
}

/*
 * The tlb:tlb_flush tracepoint (include/trace/events/tlb.h): pages, -1
 * for a full flush, and the reason (enum tlb_flush_reason).  Task-switch
 * flushes are read off VMLAB_EV_SWITCH_MM by the trace writers.
 */
enum { TLB_REMOTE_SHOOTDOWN = 1, TLB_LOCAL_SHOOTDOWN = 2,
       TLB_LOCAL_MM_SHOOTDOWN = 3, TLB_REMOTE_SEND_IPI = 4,
       TLB_REMOTE_WRONG_CPU = 5 };

static void trace_tlb_flush(struct vmlab_machine *m, int cpu, int reason,
			    s64 pages)
{
	static const struct vmlab_tracepoint tp = VMLAB_TRACEPOINT("tlb_flush");
	struct vmlab_event e = {.type = VMLAB_EV_USER, .cpu = cpu,
				.a = (u64)pages, .b = (u64)reason,
				.name = tp.name, .name_hash = tp.hash};
	assert(reason >= 0 && reason <= 5 && pages >= -1);
	vmlab_emit(m, &e);
}

/* cpumask_any_but(mm_cpumask(mm), cpu) < nr_cpu_ids: a CPU other than
 * the initiator's may cache the mm. */
static bool mm_cpumask_any_but(const struct vmlab_machine *m,
			       const struct vmlab_mm *mm, int cpu)
{
	assert(vmlab_cpu_valid(m, cpu));
	for (int w = 0; w < (m->nr_cpus + 63) / 64; w++) {
		u64 bits = mm->cpumask[w];
		if (w == cpu / 64)
			bits &= ~(1ULL << (cpu % 64));
		if (bits)
			return true;
	}
	return false;
}

/* should_trim_cpumask(): at most once a second (simulated), a flush also
 * goes to the CPUs that left the mm, to clear their bits.  Linux asks it
 * only on the flush_tlb_multi() path, when a CPU other than the initiator
 * is in the mask: a local-only flush neither trims nor moves the
 * deadline (and costs no reading of the clock). */
static bool should_trim_cpumask(struct vmlab_machine *m, struct vmlab_mm *mm,
				int cpu)
{
	if (!mm_cpumask_any_but(m, mm, cpu))
		return false;
	double now = vmlab_sim_time_ns(m, -1);
	if (now < mm->next_trim_ns)
		return false;
	mm->next_trim_ns = now + 1e9;
	assert(mm->next_trim_ns > now);
	return true;
}

/* flush_tlb_func() on one CPU. */
static void mm_flush_local(struct vmlab_machine *m, struct cpu *c,
			   struct vmlab_mm *mm, u64 start, u64 end,
			   int stride_shift, bool full)
{
	assert(!mm->is_init && stride_shift >= 12 && stride_shift <= 30);
	if (c->loaded_mm != mm)
		return;
	if (c->lazy) {
		/* Page tables were freed under a lazy CPU: leave the mm
		 * (switch_mm to init_mm) rather than flush it. */
		mm_cpumask_clear(mm, c->id);
		x86_load_mm(m, c, &m->init_mm);
		return;
	}
	struct asid_slot *s = &c->asid[c->loaded_asid];
	assert(s->ctx_id == mm->ctx_id && s->tlb_gen <= mm->tlb_gen);
	if (full) {
		tlb_flush_pcid(m, c, cpu_pcid(c));
		fast_flush(c);
	} else {
		/* At most flush_ceiling pages, else the flush is full. */
		assert(range_pages(start, end, stride_shift) <=
		       m->cfg.flush_ceiling);
		for (u64 va = start; va < end; va += 1ULL << stride_shift)
			tlb_invlpg(m, c, va);
	}
	s->tlb_gen = mm->tlb_gen;
}

static void x86_flush_mm_range(struct vmlab_machine *m, int cpu,
			       struct vmlab_mm *mm, u64 start, u64 end,
			       int stride_shift, bool freed_tables)
{
	assert(!mm->is_init && vmlab_cpu_valid(m, cpu));
	u64 nstart = start, nend = end; /* as the caller asked */
	start &= ~((1ULL << stride_shift) - 1);
	if (vmlab_mutant(m, VMLAB_MUT_CEILING_TRUNCATED) &&
	    end != VMLAB_TLB_FLUSH_ALL && start < end &&
	    range_pages(start, end, stride_shift) > m->cfg.flush_ceiling)
		end = start + ((u64)m->cfg.flush_ceiling << stride_shift);
	bool full = end == VMLAB_TLB_FLUSH_ALL || start >= end ||
		    range_pages(start, end, stride_shift) >
			    m->cfg.flush_ceiling;
	if (vmlab_mutant(m, VMLAB_MUT_CEILING_OFF_BY_ONE) && !full &&
	    range_pages(start, end, stride_shift) == m->cfg.flush_ceiling)
		full = true; /* '>=' where Linux has '>' */
	count(m, cpu, full ? VMLAB_C_flush_mm_range_full :
			     VMLAB_C_flush_mm_range, 1);
	u64 gen = ++mm->tlb_gen;
	(void)gen;
	s64 pages = full ? -1 : (s64)range_pages(start, end, stride_shift);
	bool sent = false, trim = should_trim_cpumask(m, mm, cpu);
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		if (!vmlab_mm_cpumask_test(mm, i))
			continue;
		if (c->switching == mm) {
			/* should_flush_tlb() before fea4e317f9e7: loaded_mm is
			 * LOADED_MM_SWITCHING, neither mm nor lazy: no IPI
			 * unless tables were freed or the mask is trimmed. */
			if (!freed_tables && !trim)
				continue;
			if (i != cpu)
				send_ipi(m, cpu, i);
			c->switch_ipi = true;
			continue;
		}
		if (c->loaded_mm != mm) {
			/* A bit the switch left (lazy mm_cpumask): freed tables
			 * go to every CPU of the mask, the trim to every one
			 * not lazy (should_flush_tlb()); flush_tlb_func() there
			 * finds another mm, clears the bit, flushes nothing. */
			if (!freed_tables && (!trim || c->lazy))
				continue;
			if (i != cpu) {
				if (!sent)
					trace_tlb_flush(m, cpu, TLB_REMOTE_SEND_IPI,
							pages);
				sent = true;
				send_ipi(m, cpu, i);
			}
			mm_cpumask_clear(mm, i);
			trace_tlb_flush(m, i, TLB_REMOTE_WRONG_CPU, 0);
			continue;
		}
		if (i != cpu) {
			if (c->lazy &&
			    (!freed_tables ||
			     vmlab_mutant(m, VMLAB_MUT_LAZY_SKIP_FREED_TABLES))) {
				count(m, cpu, VMLAB_C_ipi_skipped_lazy, 1);
				continue;
			}
			if (!sent) /* once per shootdown, as flush_tlb_multi */
				trace_tlb_flush(m, cpu, TLB_REMOTE_SEND_IPI, pages);
			sent = true;
			send_ipi(m, cpu, i);
		}
		if (!c->lazy)
			trace_tlb_flush(m, i, i == cpu ? TLB_LOCAL_MM_SHOOTDOWN
						       : TLB_REMOTE_SHOOTDOWN,
					pages);
		mm_flush_local(m, c, mm, start, end, stride_shift, full);
	}
	/* Other tasks may have flushed meanwhile: tlb_gen only grows. */
	assert(mm->tlb_gen >= gen);
	/* 6.6+: mmu_notifier_arch_invalidate_secondary_tlbs(mm, start, end)
	 * after the CPUs' flush, with the range the caller gave. */
	obs_mm_flush(m, cpu, mm, nstart, nend);
}

/* ---------------------------------------------------------- tags */

static bool x86_tag_live(struct vmlab_machine *m, struct cpu *c, u16 tag)
{
	(void)m;
	assert(tag >= 1 && tag <= TLB_NR_DYN_ASIDS);
	const struct asid_slot *s = &c->asid[tag - 1];
	if (!s->mm)
		return false;
	/* A lazy CPU runs no user code: it catches up through tlb_gen. */
	if (tag == cpu_pcid(c) && c->loaded_mm == s->mm && !c->lazy)
		return true;
	return s->tlb_gen >= s->mm->tlb_gen;
}

static struct vmlab_mm *x86_mm_of_tag(struct vmlab_machine *m, struct cpu *c,
				      u16 pcid)
{
	(void)m;
	assert(pcid >= 1 && pcid <= TLB_NR_DYN_ASIDS);
	const struct asid_slot *s = &c->asid[pcid - 1];
	/* A slot's mm is the one whose context it was last given to. */
	assert(!s->mm || s->mm->ctx_id == s->ctx_id);
	return s->mm; /* NULL once that mm is gone */
}

/* The page-fault handler finds the entry fine (spurious_kernel_fault, or
 * a retry for a user address): only the stale TLB entry goes, no flush
 * instruction is counted. */
static void x86_fix_spurious_fault(struct vmlab_machine *m, struct cpu *c,
				   u64 va)
{
	tlb_invlpg_quiet(m, c, va);
}

/* arch_tlbbatch_flush(): flush_tlb_info without an mm, over the batch's
 * CPUs.  Each non-lazy one flushes the context it runs in full (not the
 * batched mms' other PCIDs: their tlb_gen was bumped when they were
 * added, so a switch back flushes them); one running init_mm has nothing
 * to do. */
static void x86_tlbbatch_flush(struct vmlab_machine *m, int cpu,
			       const u64 *mask)
{
	assert(vmlab_cpu_valid(m, cpu));
	bool remote = false;
	for (int i = 0; i < m->nr_cpus; i++)
		remote |= i != cpu && (mask[i / 64] >> (i % 64) & 1);
	if (remote) /* native_flush_tlb_multi(), TLB_FLUSH_ALL */
		trace_tlb_flush(m, cpu, TLB_REMOTE_SEND_IPI, -1);
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		if (!(mask[i / 64] >> (i % 64) & 1))
			continue;
		if (c->lazy) { /* should_flush_tlb(): caught up at the switch */
			if (i != cpu)
				count(m, cpu, VMLAB_C_ipi_skipped_lazy, 1);
			continue;
		}
		if (i != cpu)
			send_ipi(m, cpu, i);
		struct vmlab_mm *lm = c->loaded_mm;
		if (lm->is_init)
			continue;
		tlb_flush_pcid(m, c, cpu_pcid(c));
		fast_flush(c);
		c->asid[c->loaded_asid].tlb_gen = lm->tlb_gen;
		trace_tlb_flush(m, i, i == cpu ? TLB_LOCAL_SHOOTDOWN
					       : TLB_REMOTE_SHOOTDOWN, -1);
	}
}

/* arch_tlbbatch_add_pending(): the mm's generation moves on (its CPUs
 * that switch back later flush it then), its CPUs join the batch, and the
 * secondary TLBs hear of the whole mm right away: they are not batched. */
static void x86_tlbbatch_add_pending(struct vmlab_machine *m, u64 *mask,
				     struct vmlab_mm *mm)
{
	assert(mask && mm && !mm->is_init);
	mm->tlb_gen++;
	for (int w = 0; w < VMLAB_MAX_CPUS / 64; w++)
		mask[w] |= mm->cpumask[w];
	obs_mm_flush(m, -1, mm, 0, VMLAB_TLB_FLUSH_ALL);
}

const struct vmlab_arch_tlb_ops x86_tlb_ops = {
	.init = x86_tlb_init,
	.destroy = x86_tlb_destroy,
	.boot_cpu = x86_boot_cpu,
	.load_mm = x86_load_mm,
	.reload_mm = x86_reload_mm,
	.mm_release = x86_mm_release,
	.flush_one = x86_flush_one,
	.flush_local = x86_flush_local,
	.flush_global = x86_flush_global,
	.flush_kernel_range = x86_flush_kernel_range,
	.flush_all = x86_flush_all,
	.flush_mm_range = x86_flush_mm_range,
	.tag_live = x86_tag_live,
	.mm_of_tag = x86_mm_of_tag,
	.fix_spurious_fault = x86_fix_spurious_fault,
	.tlbbatch_add_pending = x86_tlbbatch_add_pending,
	.tlbbatch_flush = x86_tlbbatch_flush,
	.lazy_cpumask = true,
};
