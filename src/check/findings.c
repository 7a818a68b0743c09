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
	assert(mm && out && n > 0);
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
	struct checker *ck = CK(m);
	struct tlb_entry *e = (struct tlb_entry *)(uintptr_t)ce;
	/* Only stale entries come here, and only for an address they cover. */
	assert((e->flags & (TLBF_VALID | TLBF_STALE)) ==
	       (TLBF_VALID | TLBF_STALE));
	assert(va - tlb_entry_va(e) < vmlab_level_size(e->level));
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
	if (ck_in_lazy(ck, va) ||
	    (!mm->is_init && va >= mm->flush_lo && va < mm->flush_hi)) {
		/* The lazy-vfree window, and a user mm's flush in flight
		 * (another thread racing munmap or MADV_DONTNEED): real,
		 * tolerated until the frame has been handed out again. */
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

void ck_pwc_used(struct vmlab_machine *m, struct cpu *c, int level,
		 u64 table_pfn, u64 va)
{
	struct vmlab_mm *mm = c->loaded_mm;
	assert(mm);
	assert(level == VMLAB_LVL_PTE || level == VMLAB_LVL_PMD);
	vmlab_ptep_t ptep;
	bool ok = false;
	if (vmlab_lookup_entry(m, mm, va, level + 1, &ptep) == 0) {
		struct vmlab_pte_info in;
		m->arch->decode(vmlab_get_entry(m, ptep), level + 1, &in);
		ok = in.kind == VMLAB_PTE_TABLE && in.pfn == table_pfn;
	}
	/* The walk goes on through a table the tables no longer link: its
	 * fill may be what no table says, so every fill is counted now. */
	if (!ok)
		ck_count_all_mode(m);
	if (ok || already(CK(m), VMLAB_CHECK_STALE_ACCESS, c->id, va, table_pfn))
		return;
	struct buf b = {0};
	char what[160];
	snprintf(what, sizeof(what),
		 "page walk for %#llx through a stale paging-structure cache "
		 "entry (table pfn %#llx)",
		 (unsigned long long)va, (unsigned long long)table_pfn);
	header(m, &b, VMLAB_CHECK_STALE_ACCESS, c->id, what);
	add_history(m, &b, va, table_pfn);
	missing_flush(m, &b, c->id, va);
	emit(m, VMLAB_CHECK_STALE_ACCESS, c->id, va, table_pfn, VMLAB_READ, &b);
}

struct find_ctx {
	u64 pfn;
	struct tlb_entry *hit;
};

static void find_pfn(struct vmlab_machine *m, struct cpu *c,
		     struct tlb_entry *e, void *p)
{
	struct find_ctx *f = p;
	assert(e->flags & TLBF_VALID);
	if (f->hit || (e->flags & TLBF_DM) || !entry_reachable(m, c, e))
		return;
	if (f->pfn < e->pfn || f->pfn >= e->pfn + (vmlab_level_size(e->level) >>
						   VMLAB_PAGE_SHIFT))
		return;
	if (ck_in_lazy(CK(m), tlb_entry_va(e)))
		return;
	f->hit = e;
}

static void report_free(struct vmlab_machine *m, int cpu, u64 pfn,
			const char *why, const struct tlb_entry *e, int on_cpu)
{
	assert(pfn < m->phys.nr_frames && why);
	assert(!e || vmlab_cpu_valid(m, on_cpu));
	if (already(CK(m), VMLAB_CHECK_FREED_FRAME_REACHABLE, cpu, 0, pfn))
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
	struct ck_frame *f = ck_frame(m, pfn); /* asserts pfn is RAM */
	/* An allocated frame's section exists. */
	const struct frame_section *sec = m->phys.sections[pfn >> SECTION_SHIFT];
	assert(sec);
	const struct vmlab_page *pg = &sec->page[pfn & (SECTION_FRAMES - 1)];
	assert(!VMLAB_DEBUG_CHECKS || pg == vmlab_pfn_to_page(m, pfn));
	if (f->pt_ref)
		report_free(m, cpu, pfn, pg->flags & VMLAB_PG_TABLE ?
			    "a page table still links it as a table" :
			    "a page table still maps it", NULL, -1);
	/* Uncounted entries are covered by a leaf (pt_ref): with one, the
	 * scan looks for any entry, as a second report may still count. */
	for (int i = 0; (f->tlb_ref || f->pt_ref) && i < m->nr_cpus; i++) {
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
				/* Another PCID, flushed before its next use,
				 * is no path to the frame. */
				struct tlb_entry te = {.pcid = c->pwc[k].pcid,
						       .flags = TLBF_VALID};
				if (te.pcid != cpu_pcid(c) &&
				    !entry_reachable(m, c, &te))
					continue;
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
	/* vmlab_free_pages() validated the block. */
	assert(!(pfn & ((1ULL << order) - 1)) &&
	       pfn + (1ULL << order) <= m->phys.nr_frames);
	for (u64 i = 0; i < (1ULL << order); i++)
		check_freed_frame(m, cpu, pfn + i);
}

/* ----------------------------------------------------------- rebuild */

/*
 * Count a table's entries.  Each table frame is scanned once however many
 * entries link it (seen: one bit per frame), as the live counts count each
 * stored entry once: KASAN's early shadow tables are linked from thousands
 * of entries, and walking them per link would take billions of steps.
 */
static void scan_table(struct vmlab_machine *m, u64 table, int level,
		       u64 base, u64 *seen)
{
	/* Recursion depth is bounded by the level, which only decreases. */
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	assert(table < m->phys.nr_frames);
	if (seen[table / 64] & (1ULL << (table % 64)))
		return;
	seen[table / 64] |= 1ULL << (table % 64);
	for (u64 i = 0; i < VMLAB_PTRS_PER_TABLE; i++) {
		u64 va = level == VMLAB_LVL_PGD ?
				 vmlab_pgd_index_va(m, &m->init_mm, i) :
				 base + (i << vmlab_level_shift(level));
		u64 e = vmlab_get_entry(m, (table << VMLAB_PAGE_SHIFT) + i * 8);
		struct vmlab_pte_info in;
		m->arch->decode(e, level, &in);
		if (in.kind == VMLAB_PTE_TABLE) {
			count_leaf(m, in.pfn, 1, false, false, +1, false);
			/* A link past RAM (a wild write made it) the walker
			 * refuses too: nothing below it is reachable. */
			if (in.pfn < m->phys.nr_frames)
				scan_table(m, in.pfn, level - 1, va, seen);
		} else if (in.kind == VMLAB_PTE_LEAF) {
			bool x = kx_prot(in.prot);
			if (in_direct_map(m, va))
				CK(m)->dm_x += x;
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
	assert(e->flags & TLBF_VALID);
	ck_tlb_fill(m, c, e);
	struct vmlab_mm *mm = entry_mm(m, c, e);
	u64 s = tlb_entry_va(e);
	if (mm && stale_in(m, mm, e, s, s + vmlab_level_size(e->level)))
		e->flags |= TLBF_STALE;
}

/* Count every table link and leaf of init_mm and of each user mm (whose
 * kernel half is init_mm's: only its PGD links to it are its own). */
static void rebuild_tables(struct vmlab_machine *m)
{
	/* Plain calloc: the debug builds' ck_check_counts comes here too,
	 * and the host allocations fault injection counts must be the same
	 * in every build. */
	u64 *seen = calloc((m->phys.nr_frames + 63) / 64, sizeof(u64));
	if (!seen) {
		ck_oom(m, "page-table scan");
		return;
	}
	scan_table(m, m->init_mm.pgd_pfn, VMLAB_LVL_PGD, 0, seen);
	for (struct vmlab_mm *mm = m->mm_list; mm; mm = mm->next_mm) {
		/* The kernel half is shared: count only the user half. */
		u64 pgd = mm->pgd_pfn;
		u64 user = m->arch->split_root ? 512 : 256;
		for (u64 i = 0; i < user; i++) {
			u64 e = vmlab_get_entry(m, (pgd << VMLAB_PAGE_SHIFT) + i * 8);
			struct vmlab_pte_info in;
			m->arch->decode(e, VMLAB_LVL_PGD, &in);
			if (in.kind != VMLAB_PTE_TABLE)
				continue;
			count_leaf(m, in.pfn, 1, false, false, +1, false);
			if (in.pfn < m->phys.nr_frames)
				scan_table(m, in.pfn, VMLAB_LVL_PUD,
					   vmlab_pgd_index_va(m, mm, i), seen);
		}
		for (u64 i = user; i < 512; i++) {
			u64 e = vmlab_get_entry(m, (pgd << VMLAB_PAGE_SHIFT) + i * 8);
			struct vmlab_pte_info in;
			m->arch->decode(e, VMLAB_LVL_PGD, &in);
			if (in.kind == VMLAB_PTE_TABLE)
				count_leaf(m, in.pfn, 1, false, false, +1,
					   false);
		}
	}
	free(seen);
}

void ck_rebuild(struct vmlab_machine *m)
{
	/* Only a fresh checker is rebuilt: every count starts at zero. */
	assert(CK(m) && !CK(m)->x_total && !CK(m)->dm_x && !CK(m)->dm_tlb_x);
	rebuild_tables(m);
	/* Every host fast path, devices' included: no hit may skip a check
	 * from now on, however long ago its slot was filled. */
	vmlab_host_fast_flush(m, "checker on");
	for (int i = 0; i < m->nr_cpus; i++)
		tlb_visit_range(m, &m->cpu[i], 0, ~0ULL, rebuild_entry, NULL);
	ck_check_counts(m);
}

/* ------------------------------------------------------- debug checks */

#if VMLAB_EXPENSIVE_CHECKS
static void recount_entry(struct vmlab_machine *m, struct cpu *c,
			  struct tlb_entry *e, void *p)
{
	(void)p;
	assert(e->flags & TLBF_VALID);
	if (!(e->ckflags & CKF_COUNTED)) {
		/* Uncounted: never executable, and (tables trusted, its mm's
		 * tables kept up to date) what its mm's table says. */
		assert(!(e->flags & TLBF_X));
		struct vmlab_mm *mm = entry_mm(m, c, e);
		u64 s = tlb_entry_va(e);
		assert((e->flags & TLBF_DM) || CK(m)->count_all || !mm ||
		       !(mm->is_init || mm->cached) ||
		       !stale_in(m, mm, e, s, s + vmlab_level_size(e->level)));
		(void)mm;
		(void)s;
		return;
	}
	if (e->flags & TLBF_DM) {
		CK(m)->dm_tlb_x += kx_tlb(e->flags);
		return;
	}
	count_leaf(m, e->pfn, vmlab_level_size(e->level) >> VMLAB_PAGE_SHIFT,
		   e->flags & TLBF_W, kx_tlb(e->flags), +1, true);
}

/* Is pfn the root table of init_mm or of a live user mm? */
static bool is_root(struct vmlab_machine *m, u64 pfn)
{
	if (pfn == m->init_mm.pgd_pfn)
		return true;
	for (struct vmlab_mm *mm = m->mm_list; mm; mm = mm->next_mm)
		if (mm->pgd_pfn == pfn)
			return true;
	return false;
}

/* A page-table page holding entries but linked from no reachable table
 * (fresh: the recount): one being built before it is linked, as
 * split_entry() does.  Its entries are counted but not recounted. */
static bool orphan_tables(struct vmlab_machine *m, struct ck_frame **fresh)
{
	for (u64 s = 0; s < m->phys.nr_sections; s++) {
		const struct frame_section *sec = m->phys.sections[s];
		for (u64 i = 0; sec && i < SECTION_FRAMES; i++) {
			u64 pfn = s << SECTION_SHIFT | i;
			if (!(sec->page[i].flags & VMLAB_PG_TABLE) ||
			    (fresh[s] && fresh[s][i].pt_ref) || is_root(m, pfn))
				continue;
			for (u64 k = 0; k < VMLAB_PTRS_PER_TABLE; k++)
				if (vmlab_get_entry(m, (pfn << VMLAB_PAGE_SHIFT) +
							       k * 8))
					return true;
		}
	}
	return false;
}

/*
 * One section of live counts against the recount (NULL reads as zeros):
 * TLB counts always equal; page-table counts equal when exact, else (an
 * orphan table is being built) at least the recount, when tables were
 * recounted at all.  W and X never exceed the references.  Returns the
 * section's executable references, which x_total must sum to.
 */
static s64 section_check(const struct ck_frame *a, const struct ck_frame *b,
			 bool tables, bool exact)
{
	static const struct ck_frame zero;
	s64 x = 0;
	for (u64 i = 0; (a || b) && i < SECTION_FRAMES; i++) {
		const struct ck_frame *l = a ? &a[i] : &zero;
		const struct ck_frame *r = b ? &b[i] : &zero;
		assert(l->pt_w <= l->pt_ref && l->pt_x <= l->pt_ref);
		assert(l->tlb_w <= l->tlb_ref && l->tlb_x <= l->tlb_ref);
		assert(l->tlb_ref == r->tlb_ref && l->tlb_w == r->tlb_w &&
		       l->tlb_x == r->tlb_x);
		assert(!exact || (l->pt_ref == r->pt_ref && l->pt_w == r->pt_w &&
				  l->pt_x == r->pt_x));
		assert(!tables || (l->pt_ref >= r->pt_ref && l->pt_w >= r->pt_w &&
				   l->pt_x >= r->pt_x));
		x += (s64)l->pt_x + (s64)l->tlb_x;
	}
	return x;
}

/*
 * The checker's bookkeeping against a recount from scratch into fresh
 * arrays (no hook runs, so nothing changes: no reports, no stale marks):
 *  - per frame, the cached TLB entries outside the direct map and their
 *    W/X splits, and dm_tlb_x, equal the recount;
 *  - x_total is the sum of the per-frame executable references;
 *  - the page-table links and leaves (per frame, and dm_x) equal the
 *    recount over every mm's reachable tables, or exceed it while an
 *    unlinked table is being filled.  Skipped once a finding or a
 *    warning was made: buggy callers can leave tables the recount cannot
 *    trust (freed while linked, then rewritten).
 */
void ck_check_counts(struct vmlab_machine *m)
{
	struct checker *ck = CK(m);
	bool tables = !ck->tainted && !m->nr_warnings;
	struct ck_frame **live = CK(m)->frames;
	s64 x = ck->x_total, dx = ck->dm_x, dtx = ck->dm_tlb_x;
	if (ck->off)
		return; /* out of host memory before: nothing to cross-check */
	/* Debug builds only: plain calloc, as rebuild_tables. */
	CK(m)->frames = calloc(m->phys.nr_sections, sizeof(*live));
	if (!CK(m)->frames) {
		CK(m)->frames = live;
		return; /* no host memory for the cross-check: skipped */
	}
	ck->x_total = ck->dm_x = ck->dm_tlb_x = 0;
	ck->recount = true;
	if (tables)
		rebuild_tables(m);
	for (int i = 0; i < m->nr_cpus; i++)
		tlb_visit_range(m, &m->cpu[i], 0, ~0ULL, recount_entry, NULL);
	ck->recount = false;
	struct ck_frame **fresh = CK(m)->frames;
	CK(m)->frames = live;
	bool exact = tables && !orphan_tables(m, fresh);
	s64 sum = 0;
	for (u64 s = 0; s < m->phys.nr_sections; s++) {
		sum += section_check(live[s], fresh[s], tables, exact);
		free(fresh[s]);
	}
	free(fresh);
	assert(sum == x && ck->dm_tlb_x == dtx);
	assert(!exact || (ck->x_total == x && ck->dm_x == dx));
	assert(!tables || (ck->x_total <= x && ck->dm_x <= dx));
	ck->x_total = x;
	ck->dm_x = dx;
	ck->dm_tlb_x = dtx;
}
#endif
