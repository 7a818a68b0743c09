/* SPDX-License-Identifier: MIT */
/*
 * The checker's rule for temporary mms (x86 poking_mm, used by text_poke):
 * a writable alias of RO+X text is acceptable only while it lives in an
 * mm that no CPU but the poking one runs, for the length of the poke.
 * wx_check() asks ck_temp_exempt() before reporting; poke_end reports
 * what outlives the poke (the mm still loaded, the PTE still there, or a
 * reachable TLB entry: the missing flush after switching back).
 */
#include "check/ck.h"

static struct ck_temp *temp_of(struct checker *ck, const struct vmlab_mm *mm)
{
	for (int i = 0; i < ck->nr_temp; i++)
		if (ck->temp[i].mm == mm)
			return &ck->temp[i];
	return NULL;
}

/* No CPU but t->cpu runs (or lazily keeps, or may cache) the mm.  An
 * init_mm window (arm64's fixmap slot) is private by patch_lock with
 * interrupts off: only its TLB entries on other CPUs break it. */
static bool temp_private(struct vmlab_machine *m, const struct ck_temp *t)
{
	assert(t->mm);
	if (t->mm->is_init)
		return t->cpu >= 0;
	for (int i = 0; i < m->nr_cpus; i++) {
		if (i == t->cpu)
			continue;
		if (m->cpu[i].loaded_mm == t->mm ||
		    vmlab_mm_cpumask_test(t->mm, i))
			return false;
	}
	return t->cpu >= 0;
}

struct tlb_count {
	const struct ck_temp *t;
	u64 pfn;
	bool priv;
	u32 n;
};

static void count_exempt_tlb(struct vmlab_machine *m, struct cpu *c,
			     struct tlb_entry *e, void *p)
{
	struct tlb_count *x = p;
	if (!(e->flags & TLBF_W) || (e->flags & TLBF_DM) ||
	    ((e->flags & TLBF_G) && !x->t->mm->is_init))
		return;
	u64 frames = vmlab_level_size(e->level) >> VMLAB_PAGE_SHIFT;
	if (x->pfn < e->pfn || x->pfn >= e->pfn + frames)
		return;
	if (entry_mm(m, c, e) != x->t->mm)
		return;
	/* Unusable entries grant nothing; the poking CPU's own are the
	 * poke's while the mm is private to it. */
	if (!entry_reachable(m, c, e) || (x->priv && c->id == x->t->cpu))
		x->n++;
}

bool ck_temp_exempt(struct vmlab_machine *m, u64 pfn)
{
	struct checker *ck = CK(m);
	assert(ck && ck->nr_temp > 0);
	struct srcs d = {false, false};
	dm_probe(m, pfn, &d);
	if (d.w)
		return false;
	u32 ex_pt = 0, ex_tlb = 0;
	for (int i = 0; i < ck->nr_temp; i++) {
		const struct ck_temp *t = &ck->temp[i];
		bool priv = temp_private(m, t);
		for (int r = 0; priv && r < t->nr_runs; r++) {
			const struct vmlab_checker_alias *a = &t->run[r];
			if (pfn < a->pfn || pfn >= a->pfn + a->npages)
				continue;
			struct grant g;
			table_grant(m, t->mm,
				    a->va + ((pfn - a->pfn) << VMLAB_PAGE_SHIFT),
				    &g);
			if (g.ok && g.w && g.pfn == pfn)
				ex_pt++;
		}
		struct tlb_count x = {t, pfn, priv, 0};
		for (int c = 0; c < m->nr_cpus; c++)
			tlb_visit_range(m, &m->cpu[c], t->start, t->end,
					count_exempt_tlb, &x);
		ex_tlb += x.n;
	}
	const struct ck_frame *f = ck_frame(m, pfn);
	assert(ex_pt <= f->pt_w || ck->tainted);
	return f->pt_w == ex_pt && f->tlb_w == ex_tlb;
}

void vmlab_checker_poke_begin(struct vmlab_machine *m, int cpu,
			      struct vmlab_mm *mm, u64 start, u64 end,
			      const struct vmlab_checker_alias *runs,
			      int nr_runs)
{
	struct checker *ck = CK(m);
	if (!ck)
		return;
	if (!mm || start >= end || nr_runs < 0 || nr_runs > 2 ||
	    (nr_runs && !runs) || !vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "checker_poke_begin: bad arguments");
		return;
	}
	struct ck_temp *t = temp_of(ck, mm);
	if (!t) {
		if (ck->nr_temp == CK_MAX_TEMP) {
			vmlab_warn(m, "checker: more than %d temporary mms",
				   CK_MAX_TEMP);
			return;
		}
		t = &ck->temp[ck->nr_temp++];
		t->mm = mm;
		if (ck->nr_temp == 1)
			ck_temp_counting(m);
	}
	t->start = start;
	t->end = end;
	t->cpu = cpu;
	t->nr_runs = nr_runs;
	for (int i = 0; i < nr_runs; i++)
		t->run[i] = runs[i];
	assert(t->mm == mm && t->cpu == cpu);
}

struct leak_ctx {
	const struct ck_temp *t;
	int found_cpu;
	u64 va, pfn;
};

static void find_leak(struct vmlab_machine *m, struct cpu *c,
		      struct tlb_entry *e, void *p)
{
	struct leak_ctx *x = p;
	if (x->found_cpu >= 0 || !(e->flags & TLBF_W) ||
	    (e->flags & TLBF_DM) ||
	    ((e->flags & TLBF_G) && !x->t->mm->is_init))
		return;
	if (entry_mm(m, c, e) != x->t->mm || !entry_reachable(m, c, e))
		return;
	const struct ck_frame *f = ck_frame(m, e->pfn);
	if (!f->pt_x && !f->tlb_x)
		return;
	x->found_cpu = c->id;
	x->va = tlb_entry_va(e);
	x->pfn = e->pfn;
}

void vmlab_checker_poke_end(struct vmlab_machine *m, int cpu,
			    struct vmlab_mm *mm)
{
	struct checker *ck = CK(m);
	struct ck_temp *t = ck ? temp_of(ck, mm) : NULL;
	if (!t)
		return;
	assert(t->mm == mm);
	t->cpu = -1;
	for (int i = 0; i < m->nr_cpus && !mm->is_init; i++)
		if (m->cpu[i].loaded_mm == mm)
			vmlab_checker_report(
			    m, VMLAB_CHECK_WX_ALIAS, cpu, t->start, 0,
			    VMLAB_WRITE,
			    "temporary mm (ctx %llu) still loaded on CPU %d "
			    "after text_poke: its writable aliases of text "
			    "are no longer private to one poke",
			    (unsigned long long)mm->ctx_id, i);
	for (int r = 0; r < t->nr_runs; r++) {
		struct grant g;
		table_grant(m, mm, t->run[r].va, &g);
		if (g.ok && g.w)
			vmlab_checker_report(
			    m, VMLAB_CHECK_WX_ALIAS, cpu, t->run[r].va, g.pfn,
			    VMLAB_WRITE,
			    "text_poke left its writable alias mapped in the "
			    "temporary mm");
	}
	struct leak_ctx x = {t, -1, 0, 0};
	for (int c = 0; c < m->nr_cpus && x.found_cpu < 0; c++)
		tlb_visit_range(m, &m->cpu[c], t->start, t->end, find_leak, &x);
	if (x.found_cpu >= 0)
		vmlab_checker_report(
		    m, VMLAB_CHECK_WX_ALIAS, cpu, x.va, x.pfn, VMLAB_WRITE,
		    "writable alias of text %#llx survives in CPU %d's TLB "
		    "after text_poke switched back: the flush of the poking "
		    "address never came",
		    (unsigned long long)x.pfn, x.found_cpu);
	t->nr_runs = 0;
}

void vmlab_checker_temp_mm_forget(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	struct checker *ck = m ? CK(m) : NULL;
	struct ck_temp *t = ck ? temp_of(ck, mm) : NULL;
	if (!t)
		return;
	*t = ck->temp[--ck->nr_temp];
	assert(!temp_of(ck, mm));
	ck_arm(m); /* the last one gone: back to counting what may differ */
}
