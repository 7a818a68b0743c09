/* SPDX-License-Identifier: MIT */
/*
 * Address spaces and TLB flushing, the generic part: mm creation and
 * teardown, the CPU mask, lazy TLB mode, and the public switch and flush
 * entry points, which check their arguments and call the architecture's
 * hooks (arch/arch.h): src/arch/x86/tlbflush.c (PCIDs, invlpg, IPI
 * shootdowns) or src/arch/arm64/tlbflush.c (ASIDs, broadcast TLBI + DSB).
 */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"

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

static void load_mm(struct vmlab_machine *m, struct cpu *c,
		    struct vmlab_mm *mm)
{
	assert(mm && c->loaded_mm != mm); /* a switch, not a reload */
	mm->cached = true;
	m->arch->tlb->load_mm(m, c, mm);
	/* The CPU runs mm now, and its fast path starts empty. */
	assert(c->loaded_mm == mm && vmlab_mm_cpumask_test(mm, c->id));
}

void vmlab_switch_mm(struct vmlab_machine *m, int cpu, struct vmlab_mm *mm)
{
	if (!vmlab_cpu_valid(m, cpu) || !mm) {
		vmlab_warn(m, "switch_mm: bad cpu %d or mm", cpu);
		return;
	}
	struct cpu *c = &m->cpu[cpu];
	assert(c->loaded_mm);
	if (c->loaded_mm == mm) {
		/* Leaving lazy mode: the architecture catches up. */
		m->arch->tlb->reload_mm(m, c);
		assert(!c->lazy);
		return;
	}
	if (c->loaded_mm && !c->loaded_mm->is_init &&
	    !m->arch->tlb->lazy_cpumask)
		mm_cpumask_clear(c->loaded_mm, cpu);
	load_mm(m, c, mm);
}

void vmlab_unuse_temporary_mm(struct vmlab_machine *m, int cpu,
			      struct vmlab_mm *prev)
{
	if (!vmlab_cpu_valid(m, cpu) || !prev) {
		vmlab_warn(m, "unuse_temporary_mm: bad cpu %d or mm", cpu);
		return;
	}
	struct vmlab_mm *tmp = m->cpu[cpu].loaded_mm;
	/* No flush needs to reach this CPU for the temporary mm any more,
	 * however lazily the mask is kept. */
	if (tmp != prev && !tmp->is_init)
		mm_cpumask_clear(tmp, cpu);
	vmlab_switch_mm(m, cpu, prev);
	assert(m->cpu[cpu].loaded_mm == prev);
	assert(tmp == prev || tmp->is_init || !vmlab_mm_cpumask_test(tmp, cpu));
}

bool vmlab_tlbbatch_should_defer(struct vmlab_machine *m, int cpu,
				 const struct vmlab_mm *mm)
{
	/* arch_tlbbatch_should_defer(): worth batching when another CPU
	 * may cache the mm. */
	if (!m->arch->tlb->tlbbatch_flush || !vmlab_cpu_valid(m, cpu) || !mm)
		return false;
	for (int i = 0; i < m->nr_cpus; i++)
		if (i != cpu && vmlab_mm_cpumask_test(mm, i))
			return true;
	return false;
}

void vmlab_tlbbatch_add_pending(struct vmlab_machine *m,
				struct vmlab_tlbbatch *b, struct vmlab_mm *mm)
{
	assert(b && mm && !mm->is_init);
	if (!m->arch->tlb->tlbbatch_add_pending) {
		vmlab_warn(m, "tlbbatch_add_pending: the architecture does not "
			      "batch");
		return;
	}
	u64 gen = mm->tlb_gen;
	(void)gen;
	m->arch->tlb->tlbbatch_add_pending(m, b->cpumask, mm);
	b->pending = true;
	assert(mm->tlb_gen > gen);
}

void vmlab_tlbbatch_flush(struct vmlab_machine *m, int cpu,
			  struct vmlab_tlbbatch *b)
{
	if (!b || !b->pending)
		return;
	if (!vmlab_cpu_valid(m, cpu) || !m->arch->tlb->tlbbatch_flush) {
		vmlab_warn(m, "tlbbatch_flush: bad cpu %d or no batching", cpu);
		return;
	}
	m->arch->tlb->tlbbatch_flush(m, cpu, b->cpumask);
	memset(b, 0, sizeof(*b));
	assert(!b->pending);
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
	struct vmlab_mm *mm = host_calloc(m, 1, sizeof(*mm));
	if (!mm)
		return -VMLAB_ENOMEM;
	int err = vmlab_pgtable_alloc(m, VMLAB_LVL_PGD, &mm->pgd_pfn);
	if (err) {
		free(mm);
		return err;
	}
	mm->ctx_id = m->next_ctx_id++;
	mm->next_trim_ns = vmlab_sim_time_ns(m, -1) + 1e9; /* jiffies + HZ */
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
	}
	m->arch->tlb->mm_release(m, mm);
	u64 pgd = mm->pgd_pfn << VMLAB_PAGE_SHIFT;
	u64 user_entries = m->arch->split_root ? VMLAB_PTRS_PER_TABLE :
						 VMLAB_PTRS_PER_TABLE / 2;
	for (u64 i = 0; i < user_entries; i++)
		if (vmlab_get_entry(m, pgd + i * 8))
			vmlab_warn(m, "mm_destroy: user PGD entry %llu still "
				      "populated (leaked tables)",
				   (unsigned long long)i);
	/* Every CPU dropped it above: no translation through its tables
	 * can be used again (its PCID entries name no mm). */
	mm->cached = false;
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

/* ------------------------------------------- flushes: checks, dispatch */

void vmlab_flush_tlb_one(struct vmlab_machine *m, int cpu, u64 va)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	m->arch->tlb->flush_one(m, &m->cpu[cpu], va);
}

void vmlab_flush_tlb_local(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	m->arch->tlb->flush_local(m, &m->cpu[cpu]);
}

void vmlab_flush_tlb_global(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	m->arch->tlb->flush_global(m, &m->cpu[cpu]);
}

void vmlab_flush_tlb_kernel_range(struct vmlab_machine *m, int cpu, u64 start,
				  u64 end)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "flush_tlb_kernel_range: bad cpu %d", cpu);
		return;
	}
	/* Whole pages; the hooks see a non-empty, page-aligned range. */
	start &= VMLAB_PAGE_MASK;
	if (end != VMLAB_TLB_FLUSH_ALL)
		end = (end + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK;
	if (start >= end)
		return;
	m->arch->tlb->flush_kernel_range(m, cpu, start, end);
}

void vmlab_flush_tlb_all(struct vmlab_machine *m, int cpu)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", __func__, cpu);
		return;
	}
	m->arch->tlb->flush_all(m, cpu);
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
	u64 gen = mm->tlb_gen;
	(void)gen;
	m->arch->tlb->flush_mm_range(m, cpu, mm, start, end, stride_shift,
				     freed_tables);
	/* Every flush of an mm moves its generation on. */
	assert(mm->tlb_gen > gen);
}

bool tlb_tag_live(struct vmlab_machine *m, struct cpu *c, u16 tag)
{
	assert(tlb_tag_ok(tag));
	return m->arch->tlb->tag_live(m, c, tag);
}

struct vmlab_mm *cpu_mm_of_pcid(struct vmlab_machine *m, struct cpu *c,
				u16 pcid)
{
	assert(tlb_tag_ok(pcid));
	return m->arch->tlb->mm_of_tag(m, c, pcid);
}
