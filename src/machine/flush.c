/* SPDX-License-Identifier: MIT */
/*
 * Address-space switching and TLB flushing.  The public entry points
 * dispatch on the architecture at the top: arm64 goes to src/arch/arm64
 * (ASIDs of context.c, broadcast TLBI of tlbflush.c); the x86 code here
 * follows arch/x86/mm/tlb.c:
 * per-CPU dynamic ASIDs (TLB_NR_DYN_ASIDS) with tlb_gen catch-up, lazy TLB
 * mode, flush_tlb_kernel_range() with tlb_single_page_flush_ceiling, and
 * flush_tlb_mm_range() that leaves lazy CPUs alone unless page tables
 * were freed.
 */
#include <stdlib.h>

#include "internal.h"

#include "arch/arm64/arm64.h"

static inline void mask_set(struct vmlab_mm *mm, int cpu)
{
	assert(cpu >= 0 && cpu < VMLAB_MAX_CPUS);
	mm->cpumask[cpu / 64] |= 1ULL << (cpu % 64);
}

static inline void mask_clear(struct vmlab_mm *mm, int cpu)
{
	assert(cpu >= 0 && cpu < VMLAB_MAX_CPUS);
	/* init_mm stays in every CPU's mask (x86 never clears it). */
	assert(!mm->is_init);
	mm->cpumask[cpu / 64] &= ~(1ULL << (cpu % 64));
}

bool vmlab_mm_cpumask_test(const struct vmlab_mm *mm, int cpu)
{
	if (cpu < 0 || cpu >= VMLAB_MAX_CPUS)
		return false;
	return mm->cpumask[cpu / 64] & (1ULL << (cpu % 64));
}

struct vmlab_mm *vmlab_init_mm(struct vmlab_machine *m)
{
	return &m->init_mm;
}

struct vmlab_mm *vmlab_cpu_mm(struct vmlab_machine *m, int cpu)
{
	/* Every CPU runs some mm from boot on (init_mm at first). */
	assert(!vmlab_cpu_valid(m, cpu) || m->cpu[cpu].loaded_mm);
	return vmlab_cpu_valid(m, cpu) ? m->cpu[cpu].loaded_mm : NULL;
}

bool vmlab_cpu_is_lazy(struct vmlab_machine *m, int cpu)
{
	return vmlab_cpu_valid(m, cpu) && m->cpu[cpu].lazy;
}

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

/* arm64 switch_mm(): TTBR0 write with the mm's (possibly new) ASID. */
static void load_mm_arm64(struct vmlab_machine *m, struct cpu *c,
			  struct vmlab_mm *mm)
{
	c->loaded_mm = mm;
	c->lazy = false;
	count(m, c->id, VMLAB_C_ttbr_write, 1);
	fast_flush(c);
	arm64_switch_context(m, c, mm);
	mask_set(mm, c->id);
	assert(c->loaded_mm == mm && c->fast[VMLAB_READ][0].tag == 0);
	ev(m, VMLAB_EV_SWITCH_MM, c->id, mm->ctx_id, c->hw_tag, 0);
}

static void load_mm(struct vmlab_machine *m, struct cpu *c,
		    struct vmlab_mm *mm)
{
	assert(mm && c->loaded_mm != mm); /* a switch, not a reload */
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		load_mm_arm64(m, c, mm);
		return;
	}
	bool need_flush;
	u16 asid = choose_asid(m, c, mm, &need_flush);
	c->loaded_asid = asid;
	c->hw_tag = (u16)(asid + 1);
	c->loaded_mm = mm;
	c->lazy = false;
	count(m, c->id, VMLAB_C_cr3_write, 1);
	fast_flush(c);
	if (need_flush)
		tlb_flush_pcid(m, c, cpu_pcid(c));
	c->asid[asid].ctx_id = mm->ctx_id;
	c->asid[asid].tlb_gen = mm->tlb_gen;
	c->asid[asid].mm = mm;
	mask_set(mm, c->id);
	/* The loaded slot now names mm, and the fast path starts empty. */
	assert(c->loaded_mm == mm && cpu_pcid(c) == asid + 1);
	assert(c->fast[VMLAB_READ][0].tag == 0);
	ev(m, VMLAB_EV_SWITCH_MM, c->id, mm->ctx_id, asid, need_flush);
}

void vmlab_switch_mm(struct vmlab_machine *m, int cpu, struct vmlab_mm *mm)
{
	if (!vmlab_cpu_valid(m, cpu) || !mm) {
		vmlab_warn(m, "switch_mm: bad cpu %d or mm", cpu);
		return;
	}
	struct cpu *c = &m->cpu[cpu];
	assert(c->loaded_mm && c->loaded_asid < TLB_NR_DYN_ASIDS);
	if (c->loaded_mm == mm && m->arch->id == VMLAB_ARCH_ARM64) {
		c->lazy = false; /* arm64 flushes by broadcast: nothing to catch up */
		return;
	}
	if (c->loaded_mm == mm) {
		/* Leaving lazy mode: catch up on flushes we skipped. */
		struct asid_slot *s = &c->asid[c->loaded_asid];
		assert(s->ctx_id == mm->ctx_id && s->tlb_gen <= mm->tlb_gen);
		if (s->tlb_gen < mm->tlb_gen &&
		    !vmlab_mutant(m, VMLAB_MUT_LAZY_NO_CATCHUP)) {
			tlb_flush_pcid(m, c, cpu_pcid(c));
			s->tlb_gen = mm->tlb_gen;
		}
		c->lazy = false;
		return;
	}
	if (c->loaded_mm && !c->loaded_mm->is_init)
		mask_clear(c->loaded_mm, cpu);
	load_mm(m, c, mm);
}

void vmlab_enter_lazy_tlb(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	struct cpu *c = &m->cpu[cpu];
	assert(c->loaded_mm);
	if (!c->loaded_mm->is_init)
		c->lazy = true;
	/* init_mm is never lazily kept: there is nothing to switch back to. */
	assert(!c->lazy || !c->loaded_mm->is_init);
}

int vmlab_mm_create(struct vmlab_machine *m, struct vmlab_mm **out)
{
	if (!out)
		return -VMLAB_EINVAL;
	struct vmlab_mm *mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -VMLAB_ENOMEM;
	int err = vmlab_pgtable_alloc(m, VMLAB_LVL_PGD, &mm->pgd_pfn);
	if (err) {
		free(mm);
		return err;
	}
	mm->ctx_id = m->next_ctx_id++;
	if (m->arch->split_root) {
		/* arm64: the kernel half is TTBR1's, nothing to share. */
		mm->next_mm = m->mm_list;
		m->mm_list = mm;
		*out = mm;
		return 0;
	}
	/* Share the kernel half: copy init_mm's upper 256 PGD entries. */
	u64 src = m->init_mm.pgd_pfn << VMLAB_PAGE_SHIFT;
	u64 dst = mm->pgd_pfn << VMLAB_PAGE_SHIFT;
	for (u64 i = VMLAB_PTRS_PER_TABLE / 2; i < VMLAB_PTRS_PER_TABLE; i++) {
		/* Preallocated at boot: every kernel PGD entry is a table. */
		assert(vmlab_get_entry(m, src + i * 8) != 0);
		vmlab_set_entry(m, mm,
				0xffff000000000000ULL | (i << VMLAB_PGDIR_SHIFT),
				VMLAB_LVL_PGD, dst + i * 8,
				vmlab_get_entry(m, src + i * 8));
	}
	mm->next_mm = m->mm_list;
	m->mm_list = mm;
	assert(mm->ctx_id > m->init_mm.ctx_id && !mm->is_init);
	*out = mm;
	return 0;
}

void vmlab_mm_destroy(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	if (!mm || mm->is_init)
		return;
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		if (c->loaded_mm == mm)
			load_mm(m, c, &m->init_mm);
		for (int a = 0; a < TLB_NR_DYN_ASIDS; a++)
			if (c->asid[a].mm == mm)
				c->asid[a].mm = NULL;
	}
	u64 pgd = mm->pgd_pfn << VMLAB_PAGE_SHIFT;
	u64 user_entries = m->arch->split_root ? VMLAB_PTRS_PER_TABLE :
						 VMLAB_PTRS_PER_TABLE / 2;
	if (m->arch->id == VMLAB_ARCH_ARM64)
		arm64_mm_release(m, mm);
	for (u64 i = 0; i < user_entries; i++)
		if (vmlab_get_entry(m, pgd + i * 8))
			vmlab_warn(m, "mm_destroy: user PGD entry %llu still "
				      "populated (leaked tables)",
				   (unsigned long long)i);
	/* Unlink the shared kernel half so the free sees no references. */
	for (u64 i = user_entries; i < VMLAB_PTRS_PER_TABLE; i++)
		vmlab_set_entry(m, mm,
				0xffff000000000000ULL | (i << VMLAB_PGDIR_SHIFT),
				VMLAB_LVL_PGD, pgd + i * 8, 0);
	vmlab_pgtable_free(m, mm->pgd_pfn);
	for (struct vmlab_mm **pp = &m->mm_list; *pp; pp = &(*pp)->next_mm)
		if (*pp == mm) {
			*pp = mm->next_mm;
			break;
		}
	/* No CPU runs it or can find it by PCID any more. */
	for (int i = 0; i < m->nr_cpus; i++)
		assert(m->cpu[i].loaded_mm != mm);
	free(mm);
}

/* ---------------------------------------------------------- local */

void vmlab_flush_tlb_one(struct vmlab_machine *m, int cpu, u64 va)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		struct cpu *c = &m->cpu[cpu];
		arm64_local_flush_tlb_page(m, c, va, cpu_pcid(c));
		return;
	}
	tlb_invlpg(m, &m->cpu[cpu], va);
}

void vmlab_flush_tlb_local(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	struct cpu *c = &m->cpu[cpu];
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		/* Non-global entries of the running ASID. */
		count(m, cpu, VMLAB_C_tlbi_local, 1);
		count(m, cpu, VMLAB_C_dsb, 1);
		if (obs_on(m, OBS_TLB_INVAL))
			obs_inval(m, cpu, VMLAB_INV_ASID, false, 0,
				  cpu_pcid(c));
		tlb_drop_tag(m, c, cpu_pcid(c));
		pwc_flush(c, cpu_pcid(c));
		return;
	}
	tlb_flush_pcid(m, c, cpu_pcid(c));
	fast_flush(c);
}

void vmlab_flush_tlb_global(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		arm64_local_flush_tlb_all(m, &m->cpu[cpu]);
		return;
	}
	tlb_flush_all_entries(m, &m->cpu[cpu]);
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

void vmlab_flush_tlb_kernel_range(struct vmlab_machine *m, int cpu, u64 start,
				  u64 end)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "flush_tlb_kernel_range: bad cpu %d", cpu);
		return;
	}
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		arm64_flush_tlb_kernel_range(m, cpu, start, end);
		return;
	}
	start &= VMLAB_PAGE_MASK;
	if (end != VMLAB_TLB_FLUSH_ALL)
		end = (end + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK;
	if (start >= end)
		return;
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

void vmlab_flush_tlb_all(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		arm64_flush_tlb_all(m, cpu);
		return;
	}
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
enum { TLB_REMOTE_SHOOTDOWN = 1, TLB_LOCAL_MM_SHOOTDOWN = 3,
       TLB_REMOTE_SEND_IPI = 4 };

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
		mask_clear(mm, c->id);
		load_mm(m, c, &m->init_mm);
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

void vmlab_flush_tlb_mm_range(struct vmlab_machine *m, int cpu,
			      struct vmlab_mm *mm, u64 start, u64 end,
			      int stride_shift, bool freed_tables)
{
	if (!vmlab_cpu_valid(m, cpu) || !mm || stride_shift < 12 ||
	    stride_shift > 30) {
		vmlab_warn(m, "flush_tlb_mm_range: bad arguments");
		return;
	}
	if (mm->is_init) {
		vmlab_flush_tlb_kernel_range(m, cpu, start, end);
		return;
	}
	if (m->arch->id == VMLAB_ARCH_ARM64) {
		arm64_flush_tlb_mm_range(m, cpu, mm, start, end, stride_shift,
					 freed_tables);
		return;
	}
	start &= ~((1ULL << stride_shift) - 1);
	if (vmlab_mutant(m, VMLAB_MUT_CEILING_TRUNCATED) &&
	    end != VMLAB_TLB_FLUSH_ALL && start < end &&
	    range_pages(start, end, stride_shift) > m->cfg.flush_ceiling)
		end = start + ((u64)m->cfg.flush_ceiling << stride_shift);
	bool full = end == VMLAB_TLB_FLUSH_ALL || start >= end ||
		    range_pages(start, end, stride_shift) >
			    m->cfg.flush_ceiling;
	count(m, cpu, full ? VMLAB_C_flush_mm_range_full :
			     VMLAB_C_flush_mm_range, 1);
	u64 gen = ++mm->tlb_gen;
	(void)gen;
	s64 pages = full ? -1 : (s64)range_pages(start, end, stride_shift);
	bool sent = false;
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		if (!vmlab_mm_cpumask_test(mm, i) || c->loaded_mm != mm)
			continue;
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
}

bool tlb_tag_live(struct vmlab_machine *m, struct cpu *c, u16 tag)
{
	if (m->arch->id == VMLAB_ARCH_ARM64)
		return arm64_asid_live(m, c, tag);
	assert(tag >= 1 && tag <= TLB_NR_DYN_ASIDS);
	const struct asid_slot *s = &c->asid[tag - 1];
	if (!s->mm)
		return false;
	/* A lazy CPU runs no user code: it catches up through tlb_gen. */
	if (tag == cpu_pcid(c) && c->loaded_mm == s->mm && !c->lazy)
		return true;
	return s->tlb_gen >= s->mm->tlb_gen;
}
