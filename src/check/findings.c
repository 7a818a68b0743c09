/* SPDX-License-Identifier: MIT */
/*
 * Findings made at the moment of use or free: an access through a stale
 * TLB entry, a walk through a stale paging-structure cache entry, a frame
 * freed while still reachable.  Also the rebuild of the checker's counts
 * when it is switched on in a running machine.
 */
#include <stdlib.h>

#include "check/ck.h"

static void current_entry(struct vmlab_machine *m, struct vmlab_mm *mm,
			  u64 va, char *out, size_t n)
{
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PGD; l++) {
		vmlab_ptep_t p;
		if (vmlab_lookup_entry(m, mm, va, l, &p) == 0) {
			entry_str(m, out, n, vmlab_get_entry(m, p), l);
			return;
		}
	}
	snprintf(out, n, "(no table)");
}

static void missing_flush(struct vmlab_machine *m, struct buf *b, int cpu,
			  u64 va)
{
	bprintf(b, "Missing: no flush of %#llx reached CPU %d after the entry "
		   "changed (invlpg / flush_tlb_kernel_range / "
		   "flush_tlb_mm_range)\n",
		(unsigned long long)(va & VMLAB_PAGE_MASK), cpu);
	(void)m;
}

void ck_stale_hit(struct vmlab_machine *m, struct cpu *c,
		  const struct tlb_entry *ce, enum vmlab_access kind, u64 va)
{
	struct checker *ck = m->ck;
	struct tlb_entry *e = (struct tlb_entry *)(uintptr_t)ce;
	struct vmlab_mm *mm = entry_mm(m, c, e);
	if (!mm || (e->ckflags & CKF_REPORTED))
		return;
	struct grant g;
	table_grant(m, mm, va, &g);
	u64 pfn = e->pfn + ((va - tlb_entry_va(e)) >> VMLAB_PAGE_SHIFT);
	bool other_frame = !g.ok || g.pfn != pfn;
	bool bad = other_frame || (kind == VMLAB_WRITE && !g.w) ||
		   (kind == VMLAB_FETCH && !g.x);
	if (!bad)
		return; /* uses only what the table still grants */
	if (ck_in_lazy(ck, va)) {
		/* The lazy-vfree window: real, tolerated until the frame
		 * has been handed out again. */
		struct ck_frame *f = ck_frame(m, pfn);
		if ((s32)(f->alloc_seq - e->fill_seq) <= 0)
			return;
	}
	e->ckflags |= CKF_REPORTED;
	struct buf b = {0};
	char what[128], used[160], cur[128];
	snprintf(what, sizeof(what), "%s at %#llx through a stale TLB entry",
		 vmlab_access_name(kind), (unsigned long long)va);
	header(m, &b, VMLAB_CHECK_STALE_ACCESS, c->id, what);
	tlb_str(used, sizeof(used), e);
	current_entry(m, mm, va, cur, sizeof(cur));
	bprintf(&b, "Translation used: %s\n", used);
	bprintf(&b, "Current entry:    %s\n", cur);
	bprintf(&b, "The entry grants %s the table no longer does\n",
		other_frame ? "a frame" :
		kind == VMLAB_WRITE ? "write permission" : "execute permission");
	add_history(m, &b, va, pfn);
	missing_flush(m, &b, c->id, va);
	emit(m, VMLAB_CHECK_STALE_ACCESS, c->id, va, pfn, kind, &b);
}

void ck_pwc_used(struct vmlab_machine *m, struct cpu *c,
		 const struct pwc_entry *p, u64 va)
{
	struct vmlab_mm *mm = c->loaded_mm;
	vmlab_ptep_t ptep;
	bool ok = false;
	if (vmlab_lookup_entry(m, mm, va, p->level + 1, &ptep) == 0) {
		struct vmlab_pte_info in;
		m->arch->decode(vmlab_get_entry(m, ptep), p->level + 1, &in);
		ok = in.kind == VMLAB_PTE_TABLE && in.pfn == p->pfn;
	}
	if (ok || already(m->ck, VMLAB_CHECK_STALE_ACCESS, c->id, va, p->pfn))
		return;
	struct buf b = {0};
	char what[160];
	snprintf(what, sizeof(what),
		 "page walk for %#llx through a stale paging-structure cache "
		 "entry (table pfn %#llx)",
		 (unsigned long long)va, (unsigned long long)p->pfn);
	header(m, &b, VMLAB_CHECK_STALE_ACCESS, c->id, what);
	add_history(m, &b, va, p->pfn);
	missing_flush(m, &b, c->id, va);
	emit(m, VMLAB_CHECK_STALE_ACCESS, c->id, va, p->pfn, VMLAB_READ, &b);
}

struct find_ctx {
	u64 pfn;
	struct tlb_entry *hit;
};

static void find_pfn(struct vmlab_machine *m, struct cpu *c,
		     struct tlb_entry *e, void *p)
{
	struct find_ctx *f = p;
	if (f->hit || (e->flags & TLBF_DM) || !entry_reachable(m, c, e))
		return;
	if (f->pfn < e->pfn || f->pfn >= e->pfn + (vmlab_level_size(e->level) >>
						   VMLAB_PAGE_SHIFT))
		return;
	if (ck_in_lazy(m->ck, tlb_entry_va(e)))
		return;
	f->hit = e;
}

static void report_free(struct vmlab_machine *m, int cpu, u64 pfn,
			const char *why, const struct tlb_entry *e, int on_cpu)
{
	if (already(m->ck, VMLAB_CHECK_FREED_FRAME_REACHABLE, cpu, 0, pfn))
		return;
	struct buf b = {0};
	char what[160];
	snprintf(what, sizeof(what), "frame %#llx freed while %s",
		 (unsigned long long)pfn, why);
	header(m, &b, VMLAB_CHECK_FREED_FRAME_REACHABLE, cpu, what);
	if (e) {
		char used[160];
		tlb_str(used, sizeof(used), e);
		bprintf(&b, "Still cached on CPU %d: %s\n", on_cpu, used);
		missing_flush(m, &b, on_cpu, tlb_entry_va(e));
	}
	add_history(m, &b, e ? tlb_entry_va(e) : 0, pfn);
	emit(m, VMLAB_CHECK_FREED_FRAME_REACHABLE, cpu, 0, pfn, VMLAB_READ, &b);
}

static void check_freed_frame(struct vmlab_machine *m, int cpu, u64 pfn)
{
	struct ck_frame *f = ck_frame(m, pfn);
	struct vmlab_page *pg = vmlab_pfn_to_page(m, pfn);
	if (f->pt_ref)
		report_free(m, cpu, pfn, pg->flags & VMLAB_PG_TABLE ?
			    "a page table still links it as a table" :
			    "a page table still maps it", NULL, -1);
	for (int i = 0; f->tlb_ref && i < m->nr_cpus; i++) {
		struct find_ctx fc = {pfn, NULL};
		tlb_visit_range(m, &m->cpu[i], 0, ~0ULL, find_pfn, &fc);
		if (fc.hit) {
			report_free(m, cpu, pfn, "a TLB still translates to it",
				    fc.hit, i);
			break;
		}
	}
	if (!(pg->flags & VMLAB_PG_TABLE))
		return;
	for (int i = 0; i < m->nr_cpus; i++) {
		struct cpu *c = &m->cpu[i];
		for (u32 k = 0; k < c->pwc_n; k++)
			if (c->pwc[k].valid && c->pwc[k].pfn == pfn) {
				char why[96];
				snprintf(why, sizeof(why),
					 "CPU %d's paging-structure cache "
					 "still points to it", i);
				report_free(m, cpu, pfn, why, NULL, i);
				return;
			}
	}
}

void ck_pages_freed(struct vmlab_machine *m, int cpu, u64 pfn, int order)
{
	assert(order >= 0 && order <= VMLAB_MAX_ORDER);
	for (u64 i = 0; i < (1ULL << order); i++)
		check_freed_frame(m, cpu, pfn + i);
}

/* ----------------------------------------------------------- rebuild */

static void scan_table(struct vmlab_machine *m, u64 table, int level,
		       u64 base)
{
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++) {
		u64 va = base + (i << vmlab_level_shift(level));
		if (level == VMLAB_LVL_PGD && i >= 256)
			va |= 0xffff000000000000ULL;
		u64 e = vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8);
		struct vmlab_pte_info in;
		m->arch->decode(e, level, &in);
		if (in.kind == VMLAB_PTE_TABLE) {
			count_leaf(m, in.pfn, 1, false, false, +1, false);
			scan_table(m, in.pfn, level - 1, va);
		} else if (in.kind == VMLAB_PTE_LEAF) {
			bool x = !(in.prot & VMLAB_PAGE_NX);
			if (in_direct_map(m, va))
				m->ck->dm_x += x;
			else
				count_leaf(m, in.pfn,
					   vmlab_level_size(level) >>
						   VMLAB_PAGE_SHIFT,
					   in.prot & VMLAB_PAGE_RW, x, +1, false);
		}
	}
}

static void rebuild_entry(struct vmlab_machine *m, struct cpu *c,
			  struct tlb_entry *e, void *p)
{
	(void)p;
	ck_tlb_fill(m, c, e);
	struct vmlab_mm *mm = entry_mm(m, c, e);
	u64 s = tlb_entry_va(e);
	if (mm && stale_in(m, mm, e, s, s + vmlab_level_size(e->level)))
		e->flags |= TLBF_STALE;
}

void ck_rebuild(struct vmlab_machine *m)
{
	scan_table(m, m->init_mm.pgd_pfn, VMLAB_LVL_PGD, 0);
	for (struct vmlab_mm *mm = m->mm_list; mm; mm = mm->next_mm) {
		/* The kernel half is shared: count only the user half. */
		u64 pgd = mm->pgd_pfn;
		for (u64 i = 0; i < 256; i++) {
			u64 e = vmlab_get_entry(m, (pgd << VMLAB_PAGE_SHIFT) + i * 8);
			struct vmlab_pte_info in;
			m->arch->decode(e, VMLAB_LVL_PGD, &in);
			if (in.kind != VMLAB_PTE_TABLE)
				continue;
			count_leaf(m, in.pfn, 1, false, false, +1, false);
			scan_table(m, in.pfn, VMLAB_LVL_PUD,
				   i << VMLAB_PGDIR_SHIFT);
		}
		for (u64 i = 256; i < 512; i++) {
			u64 e = vmlab_get_entry(m, (pgd << VMLAB_PAGE_SHIFT) + i * 8);
			struct vmlab_pte_info in;
			m->arch->decode(e, VMLAB_LVL_PGD, &in);
			if (in.kind == VMLAB_PTE_TABLE)
				count_leaf(m, in.pfn, 1, false, false, +1,
					   false);
		}
	}
	for (int i = 0; i < m->nr_cpus; i++) {
		fast_flush(&m->cpu[i]);
		tlb_visit_range(m, &m->cpu[i], 0, ~0ULL, rebuild_entry, NULL);
	}
}
