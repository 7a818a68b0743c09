/* SPDX-License-Identifier: MIT */
/*
 * Differential property test of the mm core and the TLBs against a naive
 * reference model of what x86-64 allows.
 *
 * Each sequence boots a small machine (2-4 CPUs, 64-256 MiB) and runs a
 * few hundred seeded random operations on three 2 MiB regions of the
 * vmalloc range: map a 4 KiB page or a 2 MiB leaf, unmap and change
 * protection (each either flushed through the mmu_gather or deliberately
 * not flushed), split a 2 MiB leaf, explicit flushes, and reads, writes
 * and fetches from random CPUs.
 *
 * The reference keeps, per page, the translation the page table holds and,
 * per CPU, every translation that CPU may still have cached: one it could
 * have filled since the last flush that reached it.  An access may succeed
 * through any cached translation that permits it, or follow the table (a
 * cached entry that denies the access only costs a spurious fault and a
 * re-walk on x86).  Each frame holds a unique 8-byte tag at offset 0, so a
 * read or fetch tells which frame it reached and a write is found in
 * physical memory afterwards.
 *
 * With the checker on, every access that succeeded through a translation
 * granting more than the table must be covered by a stale-access report
 * for that CPU and 2 MiB region filed since the CPU began caching the page
 * (the checker reports a stale TLB entry once, and a 2 MiB entry covers
 * the region); an access the table allows, and any other operation, must
 * file none.  Frames are freed only when no CPU may cache them, so
 * freed-frame-reachable never fires.  Fully flushed sequences file no
 * stale-access report, and no report at all when they also never map
 * anything executable (an executable mapping is a W+X alias of the
 * writable direct map, which the checker rightly reports).
 *
 * Breaking a flush in the library (skipping the remote CPUs of
 * flush_tlb_kernel_range, an invlpg that misses 2 MiB entries, a protect
 * that gathers no range, a gather that frees before flushing) or the
 * checker's stale-access report makes this test fail.
 */
#include <stdlib.h>

#include "helpers.h"

#define NR_SEQ 300
#define NR_OPS 200
#define NR_REG 3
#define REG_PAGES 512
#define NP (NR_REG * REG_PAGES)
#define MAXC 4
#define SETK 16 /* cached translations kept per (cpu, page) */
#define LOGN 24 /* operations remembered for a failure message */

enum pmd_state { PMD_NONE, PMD_TABLE, PMD_LEAF };

/* Sequence flavours. */
enum mode {
	MODE_LOOSE,     /* flushes may be skipped, any protection */
	MODE_LOOSE_OFF, /* the same with the checker off (hardware view) */
	MODE_STRICT,    /* every change flushed */
	MODE_STRICT_NX, /* every change flushed, nothing ever executable */
};

/* A cached or table translation: block << 11 | frame in block << 2 |
 * rw << 1 | x.  Blocks are never reused within a sequence. */
typedef u32 tr_t;
#define TR(b, off, rw, x) \
	((tr_t)(((u32)(b) << 11) | ((u32)(off) << 2) | ((rw) ? 2u : 0u) | \
		((x) ? 1u : 0u)))
#define TR_BLK(t) ((t) >> 11)
#define TR_OFF(t) (((t) >> 2) & 511u)
#define TR_RW(t) (((t) >> 1) & 1u)
#define TR_X(t) ((t)&1u)

struct blk {
	u64 pfn;
	int order;
	int mapped; /* pages the table maps to it */
	int refs;   /* reference cached-translation entries naming it */
	bool freed;
	u64 *tag;   /* per frame: the tag at offset 0, 0 = not tagged yet */
};

struct pte {
	bool present;
	bool rw, x;
	u32 blk;
	u16 off;
};

struct ref {
	struct vmlab_machine *m;
	int ncpu;
	enum mode mode;
	bool checker;
	u64 rng;
	u32 seq;
	int op;
	u64 next_tag;
	bool want_flush_all;
	enum pmd_state pmd[NR_REG];
	struct pte tab[NP];
	tr_t set[MAXC][NP][SETK];
	u8 n[MAXC][NP];
	size_t ep[MAXC][NP]; /* report count when the set became non-empty */
	struct blk *blk;
	u32 nblk, capblk;
	char log[LOGN][96];
};

/* Totals over the whole run, to prove the interesting paths ran. */
static struct {
	u64 accesses, ok_table, ok_stale, faults, faults_np, stale_checked;
	u64 maps, maps_2m, unmaps, protects, splits, flushes, eexist;
	u64 unflushed, freed_gather, freed_late, spurious;
} st;

/* ------------------------------------------------------------ helpers */

static u64 rnd(struct ref *R)
{
	u64 z = (R->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u32 below(struct ref *R, u32 n)
{
	return (u32)(rnd(R) % n);
}

static u64 page_va(int pg)
{
	return KVA + (u64)pg * VMLAB_PAGE_SIZE;
}

static void logop(struct ref *R, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logop(struct ref *R, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(R->log[R->op % LOGN], sizeof(R->log[0]), fmt, ap);
	va_end(ap);
}

static void dump_log(struct ref *R)
{
	int first = R->op >= LOGN ? R->op - LOGN + 1 : 0;
	for (int i = first; i <= R->op; i++)
		fprintf(stderr, "  op %3d: %s\n", i, R->log[i % LOGN]);
	vmlab_print_reports(R->m, stderr);
}

#define CHECK(R, cond, ...)                                                  \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "test_diff: seq %u op %d: ",         \
				(R)->seq, (R)->op);                          \
			fprintf(stderr, __VA_ARGS__);                        \
			fprintf(stderr, "\n");                               \
			dump_log(R);                                         \
			fail_msg("%s", #cond);                               \
		}                                                            \
	} while (0)

static size_t nr_stale(struct ref *R)
{
	return vmlab_nr_reports_of(R->m, VMLAB_CHECK_STALE_ACCESS);
}

static u64 tr_pfn(struct ref *R, tr_t t)
{
	return R->blk[TR_BLK(t)].pfn + TR_OFF(t);
}

static tr_t tab_tr(struct ref *R, int pg)
{
	const struct pte *p = &R->tab[pg];
	return TR(p->blk, p->off, p->rw, p->x);
}

static bool permits(bool rw, bool x, enum vmlab_access kind)
{
	return kind == VMLAB_READ || (kind == VMLAB_WRITE && rw) ||
	       (kind == VMLAB_FETCH && x);
}

/* ---------------------------------------------------- reference sets */

static void set_add(struct ref *R, int cpu, int pg, tr_t t)
{
	u8 *n = &R->n[cpu][pg];
	for (int i = 0; i < *n; i++)
		if (R->set[cpu][pg][i] == t)
			return;
	CHECK(R, *n < SETK, "reference set overflow");
	if (*n == 0)
		R->ep[cpu][pg] = vmlab_nr_reports(R->m);
	R->set[cpu][pg][(*n)++] = t;
	R->blk[TR_BLK(t)].refs++;
	if (*n >= SETK - 4)
		R->want_flush_all = true;
}

static void set_clear(struct ref *R, int cpu, int pg)
{
	for (int i = 0; i < R->n[cpu][pg]; i++)
		R->blk[TR_BLK(R->set[cpu][pg][i])].refs--;
	R->n[cpu][pg] = 0;
}

/* A flush of pages [lo, hi) reached every CPU. */
static void ref_flush(struct ref *R, int lo, int hi)
{
	for (int c = 0; c < R->ncpu; c++)
		for (int pg = lo; pg < hi; pg++)
			set_clear(R, c, pg);
}

/* After a walk of pg by cpu: it may now cache the table's translation
 * (for a 2 MiB leaf, that of every page of the region). */
static void ref_fill(struct ref *R, int cpu, int pg)
{
	int r = pg / REG_PAGES;
	if (R->pmd[r] == PMD_LEAF) {
		for (int q = r * REG_PAGES; q < (r + 1) * REG_PAGES; q++)
			set_add(R, cpu, q, tab_tr(R, q));
	} else {
		set_add(R, cpu, pg, tab_tr(R, pg));
	}
}

/* ------------------------------------------------------------- blocks */

static int blk_new(struct ref *R, int cpu, int order, u32 *out)
{
	u64 pfn;
	if (vmlab_alloc_pages(R->m, cpu, order, &pfn))
		return -1;
	if (R->nblk == R->capblk) {
		R->capblk = R->capblk ? 2 * R->capblk : 64;
		R->blk = realloc(R->blk, R->capblk * sizeof(*R->blk));
		assert_non_null(R->blk);
	}
	struct blk *b = &R->blk[R->nblk];
	memset(b, 0, sizeof(*b));
	b->pfn = pfn;
	b->order = order;
	b->tag = calloc((size_t)1 << order, sizeof(u64));
	assert_non_null(b->tag);
	*out = R->nblk++;
	return 0;
}

static void blk_free_now(struct ref *R, u32 bi)
{
	struct blk *b = &R->blk[bi];
	assert_false(b->freed);
	vmlab_free_pages(R->m, 0, b->pfn, b->order);
	b->freed = true;
}

/* Free every unmapped block no CPU may cache any more. */
static void reclaim(struct ref *R)
{
	for (u32 i = 0; i < R->nblk; i++) {
		struct blk *b = &R->blk[i];
		if (!b->freed && b->mapped == 0 && b->refs == 0) {
			blk_free_now(R, i);
			st.freed_late++;
		}
	}
}

static u64 new_tag(struct ref *R)
{
	return 0x7a00000000000000ULL | ((u64)R->seq << 32) | ++R->next_tag;
}

/* Make sure the frame behind t carries a tag the reference knows. */
static void ensure_tag(struct ref *R, tr_t t)
{
	struct blk *b = &R->blk[TR_BLK(t)];
	CHECK(R, !b->freed, "a translation names a freed block");
	u64 *tag = &b->tag[TR_OFF(t)];
	if (*tag)
		return;
	*tag = new_tag(R);
	vmlab_phys_write(R->m, tr_pfn(R, t) << VMLAB_PAGE_SHIFT, tag, 8);
}

/* ------------------------------------------------------------ accesses */

static const char *const kind_name[] = {"read", "write", "fetch"};

static void do_access(struct ref *R, int cpu, int pg, enum vmlab_access kind)
{
	struct vmlab_machine *m = R->m;
	u64 va = page_va(pg);
	const struct pte *T = &R->tab[pg];
	tr_t cand[SETK + 1];
	int nc = 0;
	if (T->present)
		cand[nc++] = tab_tr(R, pg);
	for (int i = 0; i < R->n[cpu][pg]; i++)
		cand[nc++] = R->set[cpu][pg][i];
	for (int i = 0; i < nc; i++)
		ensure_tag(R, cand[i]);
	logop(R, "cpu%d %s page %d (table: %s pfn %#llx%s%s; %d cached)", cpu,
	      kind_name[kind], pg, T->present ? "present" : "none",
	      T->present ? (unsigned long long)tr_pfn(R, tab_tr(R, pg)) : 0ULL,
	      T->present && T->rw ? " RW" : "", T->present && T->x ? " X" : "",
	      R->n[cpu][pg]);

	size_t stale0 = nr_stale(R);
	struct vmlab_fault f;
	memset(&f, 0, sizeof(f));
	u64 val = 0, wtag = 0;
	int rc;
	if (kind == VMLAB_WRITE) {
		wtag = new_tag(R);
		rc = vmlab_write(m, cpu, va, &wtag, 8, &f);
	} else if (kind == VMLAB_READ) {
		rc = vmlab_read(m, cpu, va, &val, 8, &f);
	} else {
		rc = vmlab_fetch(m, cpu, va, &val, 8, &f);
	}
	st.accesses++;
	bool table_ok = T->present && permits(T->rw, T->x, kind);

	if (rc == -VMLAB_EFAULT) {
		/* Only the table's own verdict can end in a fault. */
		CHECK(R, !table_ok, "%s faulted (error %#x) although the table "
		      "grants it", kind_name[kind], f.error_code);
		u32 want = (T->present ? VMLAB_PF_PROT : 0) |
			   (kind == VMLAB_WRITE ? VMLAB_PF_WRITE : 0) |
			   (kind == VMLAB_FETCH ? VMLAB_PF_INSTR : 0);
		CHECK(R, f.error_code == want, "error code %#x, want %#x",
		      f.error_code, want);
		CHECK(R, f.va == va && f.cpu == cpu && f.access == kind,
		      "fault record names va %#llx cpu %d access %d",
		      (unsigned long long)f.va, f.cpu, (int)f.access);
		CHECK(R, nr_stale(R) == stale0,
		      "stale-access report on a faulting access");
		st.faults++;
		if (!T->present)
			st.faults_np++;
		return;
	}
	CHECK(R, rc == 0, "access returned %d", rc);

	/* Which frame did it reach? */
	int hit = -1;
	for (int i = 0; i < nc; i++) {
		struct blk *b = &R->blk[TR_BLK(cand[i])];
		u64 now = b->tag[TR_OFF(cand[i])];
		if (kind == VMLAB_WRITE) {
			u64 pa = tr_pfn(R, cand[i]) << VMLAB_PAGE_SHIFT;
			vmlab_phys_read(m, pa, &now, 8);
			if (now == wtag) {
				if (hit >= 0 && tr_pfn(R, cand[hit]) !=
							tr_pfn(R, cand[i]))
					CHECK(R, false, "one write reached "
					      "two frames");
				hit = hit >= 0 ? hit : i;
			} else {
				CHECK(R, now == b->tag[TR_OFF(cand[i])],
				      "frame %#llx changed by a write that "
				      "went elsewhere",
				      (unsigned long long)tr_pfn(R, cand[i]));
			}
		} else if (now == val && hit < 0) {
			hit = i;
		}
	}
	CHECK(R, hit >= 0, "%s succeeded but reached no frame this CPU may "
	      "translate to (%s %#llx)", kind_name[kind],
	      kind == VMLAB_WRITE ? "wrote" : "read",
	      (unsigned long long)(kind == VMLAB_WRITE ? wtag : val));
	u64 F = tr_pfn(R, cand[hit]);
	bool via_table = table_ok && F == tr_pfn(R, tab_tr(R, pg));
	if (via_table) {
		CHECK(R, nr_stale(R) == stale0,
		      "stale-access report for an access the table allows");
		ref_fill(R, cpu, pg);
		st.ok_table++;
	} else {
		/* Legal only through a translation this CPU may cache. */
		bool legal = false;
		for (int i = 0; i < R->n[cpu][pg]; i++) {
			tr_t t = R->set[cpu][pg][i];
			legal |= tr_pfn(R, t) == F &&
				 permits(TR_RW(t), TR_X(t), kind);
		}
		CHECK(R, legal, "%s reached frame %#llx through no translation "
		      "the CPU may still cache (a flush did not take)",
		      kind_name[kind], (unsigned long long)F);
		st.ok_stale++;
		if (R->checker) {
			bool found = false;
			size_t nr = vmlab_nr_reports(m);
			u64 reg = va & ~(VMLAB_PMD_SIZE - 1);
			for (size_t i = R->ep[cpu][pg]; i < nr && !found; i++) {
				const struct vmlab_report *rep =
					vmlab_get_report(m, i);
				u64 rreg = rep->va & ~(VMLAB_PMD_SIZE - 1);
				found = rep->check ==
						VMLAB_CHECK_STALE_ACCESS &&
					rep->cpu == cpu && rreg == reg;
			}
			CHECK(R, found, "stale %s of frame %#llx on cpu%d with "
			      "no stale-access report", kind_name[kind],
			      (unsigned long long)F, cpu);
			st.stale_checked++;
		}
	}
	if (kind == VMLAB_WRITE)
		R->blk[TR_BLK(cand[hit])].tag[TR_OFF(cand[hit])] = wtag;
}

/* ------------------------------------------------------ table changes */

/* Hull [*lo, *hi) of the present leaves in [p0, p0+n) of region r, as the
 * gather records it; returns the number of leaves vmlab_unmap_range() or
 * vmlab_protect_range() will report. */
static s64 leaves_in(struct ref *R, int r, int p0, int n, int *lo, int *hi)
{
	int base = r * REG_PAGES;
	*lo = *hi = 0;
	if (R->pmd[r] == PMD_LEAF) {
		if (n == REG_PAGES) {
			*lo = base;
			*hi = base + REG_PAGES;
			return 1;
		}
		*lo = base + p0;
		*hi = base + p0 + n;
		return n;
	}
	s64 cnt = 0;
	for (int p = p0; p < p0 + n; p++) {
		if (!R->tab[base + p].present)
			continue;
		if (!cnt)
			*lo = base + p;
		*hi = base + p + 1;
		cnt++;
	}
	return cnt;
}

static int cached_page(struct ref *R, int cpu)
{
	int start = (int)below(R, NP);
	for (int i = 0; i < NP; i++) {
		int pg = (start + i) % NP;
		if (R->n[cpu][pg])
			return pg;
	}
	return -1;
}

static void pick_range(struct ref *R, int *r, int *p0, int *n)
{
	int pg = below(R, 3) ? -1 : cached_page(R, (int)below(R, (u32)R->ncpu));
	if (pg >= 0) {
		/* Around a page some CPU may cache. */
		*r = pg / REG_PAGES;
		*p0 = pg % REG_PAGES;
		*n = 1 + (int)below(R, 3);
		if (*p0 + *n > REG_PAGES)
			*n = REG_PAGES - *p0;
		return;
	}
	*r = (int)below(R, NR_REG);
	if (below(R, 8) == 0) {
		*p0 = 0;
		*n = REG_PAGES;
		return;
	}
	*p0 = below(R, 4) ? (int)below(R, 6) : (int)below(R, REG_PAGES);
	*n = 1 + (int)below(R, 4);
	if (*p0 + *n > REG_PAGES)
		*n = REG_PAGES - *p0;
}

static int pick_page(struct ref *R)
{
	int r = (int)below(R, NR_REG);
	int p = below(R, 4) ? (int)below(R, 6) : (int)below(R, REG_PAGES);
	return r * REG_PAGES + p;
}

/* Accesses favour pages this CPU may cache, where staleness lives. */
static int pick_access_page(struct ref *R, int cpu)
{
	u32 d = below(R, 10);
	int pg = -1;
	if (d < 3) {
		pg = cached_page(R, cpu);
	} else if (d < 7) {
		/* A page the table maps, most of the time. */
		int start = (int)below(R, NP);
		for (int i = 0; i < NP && pg < 0; i++)
			if (R->tab[(start + i) % NP].present)
				pg = (start + i) % NP;
	}
	return pg >= 0 ? pg : pick_page(R);
}

/* Queue every block that is unmapped and no longer cached (now that the
 * reference has applied this flush) on the gather: it is freed after the
 * flush, as the kernel frees pages. */
static void gather_free(struct ref *R, struct vmlab_mmu_gather *tlb)
{
	for (u32 i = 0; i < R->nblk; i++) {
		struct blk *b = &R->blk[i];
		if (b->freed || b->mapped || b->refs)
			continue;
		vmlab_tlb_remove_page(R->m, tlb, b->pfn, b->order);
		b->freed = true;
		st.freed_gather++;
	}
}

static void do_unmap(struct ref *R, int cpu, bool flush)
{
	int r, p0, n, lo, hi;
	pick_range(R, &r, &p0, &n);
	int base = r * REG_PAGES;
	bool whole = n == REG_PAGES;
	s64 want = leaves_in(R, r, p0, n, &lo, &hi);
	bool free_tables = flush;
	logop(R, "cpu%d unmap pages %d..%d%s (pmd %d)", cpu, base + p0,
	      base + p0 + n - 1, flush ? " +flush" : " NO FLUSH", R->pmd[r]);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(R->m), cpu);
	s64 got = vmlab_unmap_range(R->m, &tlb, page_va(base + p0),
				    (u64)n * VMLAB_PAGE_SIZE, free_tables);
	CHECK(R, got == want, "unmap cleared %lld leaves, want %lld",
	      (long long)got, (long long)want);
	for (int p = p0; p < p0 + n; p++) {
		struct pte *t = &R->tab[base + p];
		if (t->present)
			R->blk[t->blk].mapped--;
		t->present = false;
	}
	if (R->pmd[r] == PMD_LEAF) {
		R->pmd[r] = whole ? PMD_NONE : PMD_TABLE;
	} else if (R->pmd[r] == PMD_TABLE && whole && free_tables) {
		/* The emptied PTE table is freed after the flush. */
		R->pmd[r] = PMD_NONE;
		lo = base;
		hi = base + REG_PAGES;
	}
	st.unmaps++;
	if (!flush) {
		st.unflushed++;
		return; /* the gather is dropped: nothing was queued on it */
	}
	if (lo < hi)
		ref_flush(R, lo, hi);
	gather_free(R, &tlb);
	vmlab_tlb_finish_mmu(R->m, &tlb);
}

static void do_protect(struct ref *R, int cpu, bool flush)
{
	int r, p0, n, lo, hi;
	pick_range(R, &r, &p0, &n);
	int base = r * REG_PAGES;
	vmlab_pgprot_t set = 0, clear = 0;
	if (R->mode == MODE_STRICT_NX) {
		if (below(R, 2))
			set = VMLAB_PAGE_RW;
		else
			clear = VMLAB_PAGE_RW;
	} else if (R->mode == MODE_STRICT) {
		/* W^X kept: RW+NX, RO+NX or RO+X. */
		switch (below(R, 3)) {
		case 0: set = VMLAB_PAGE_RW | VMLAB_PAGE_NX; break;
		case 1: clear = VMLAB_PAGE_RW; break;
		default:
			clear = VMLAB_PAGE_RW | VMLAB_PAGE_NX;
			break;
		}
	} else {
		switch (below(R, 4)) {
		case 0: set = VMLAB_PAGE_RW; break;
		case 1: clear = VMLAB_PAGE_RW; break;
		case 2: set = VMLAB_PAGE_NX; break;
		default: clear = VMLAB_PAGE_NX; break;
		}
	}
	s64 want = leaves_in(R, r, p0, n, &lo, &hi);
	logop(R, "cpu%d protect pages %d..%d set %#llx clear %#llx%s (pmd %d)",
	      cpu, base + p0, base + p0 + n - 1, (unsigned long long)set,
	      (unsigned long long)clear, flush ? " +flush" : " NO FLUSH",
	      R->pmd[r]);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(R->m), cpu);
	s64 got = vmlab_protect_range(R->m, &tlb, page_va(base + p0),
				      (u64)n * VMLAB_PAGE_SIZE, set, clear);
	CHECK(R, got == want, "protect changed %lld leaves, want %lld",
	      (long long)got, (long long)want);
	for (int p = p0; p < p0 + n; p++) {
		struct pte *t = &R->tab[base + p];
		if (!t->present)
			continue;
		if (clear & VMLAB_PAGE_RW)
			t->rw = false;
		if (set & VMLAB_PAGE_RW)
			t->rw = true;
		if (clear & VMLAB_PAGE_NX)
			t->x = true;
		if (set & VMLAB_PAGE_NX)
			t->x = false;
	}
	if (R->pmd[r] == PMD_LEAF && n != REG_PAGES)
		R->pmd[r] = PMD_TABLE;
	st.protects++;
	if (!flush) {
		st.unflushed++;
		return;
	}
	if (lo < hi)
		ref_flush(R, lo, hi);
	vmlab_tlb_finish_mmu(R->m, &tlb);
}

static vmlab_pgprot_t pick_prot(struct ref *R, bool *rw, bool *x)
{
	static const vmlab_pgprot_t prots[] = {
		VMLAB_PAGE_KERNEL, VMLAB_PAGE_KERNEL_RO, VMLAB_PAGE_KERNEL_ROX,
		VMLAB_PAGE_KERNEL_EXEC,
	};
	u32 nprot = R->mode == MODE_STRICT_NX ? 2 :
		    R->mode == MODE_STRICT    ? 3 :
						4;
	vmlab_pgprot_t p = prots[below(R, nprot)];
	*rw = p & VMLAB_PAGE_RW;
	*x = !(p & VMLAB_PAGE_NX);
	return p;
}

static void do_map(struct ref *R, int cpu, bool huge)
{
	int pg = pick_page(R);
	int r = pg / REG_PAGES;
	bool rw, x;
	vmlab_pgprot_t prot = pick_prot(R, &rw, &x);
	int want;
	if (huge) {
		pg = r * REG_PAGES;
		want = R->pmd[r] == PMD_NONE ? 0 : -VMLAB_EEXIST;
	} else {
		want = R->pmd[r] == PMD_LEAF || R->tab[pg].present ?
			       -VMLAB_EEXIST : 0;
	}
	u32 bi;
	logop(R, "cpu%d map %s at page %d rw %d x %d (pmd %d)", cpu,
	      huge ? "2M" : "4K", pg, rw, x, R->pmd[r]);
	if (blk_new(R, cpu, huge ? 9 : 0, &bi))
		return; /* out of frames: nothing to compare */
	struct blk *b = &R->blk[bi];
	int got = vmlab_map_range(R->m, vmlab_init_mm(R->m), page_va(pg),
				  b->pfn << VMLAB_PAGE_SHIFT,
				  huge ? VMLAB_PMD_SIZE : VMLAB_PAGE_SIZE, prot,
				  huge ? VMLAB_MAP_HUGE_PMD : 0);
	CHECK(R, got == want, "map returned %d, want %d", got, want);
	if (got) {
		blk_free_now(R, bi);
		st.eexist++;
		return;
	}
	int npg = huge ? REG_PAGES : 1;
	for (int i = 0; i < npg; i++)
		R->tab[pg + i] = (struct pte){true, rw, x, bi, (u16)i};
	b->mapped = npg;
	R->pmd[r] = huge ? PMD_LEAF : PMD_TABLE;
	if (huge)
		st.maps_2m++;
	else
		st.maps++;
}

static void do_split(struct ref *R)
{
	int pg = pick_page(R);
	int r = pg / REG_PAGES;
	int want = R->pmd[r] == PMD_LEAF ? 0 : -VMLAB_ENOENT;
	logop(R, "split at page %d (pmd %d)", pg, R->pmd[r]);
	int got = vmlab_split_leaf(R->m, 0, vmlab_init_mm(R->m), page_va(pg),
				   VMLAB_LVL_PMD);
	CHECK(R, got == want, "split returned %d, want %d", got, want);
	if (!got) {
		R->pmd[r] = PMD_TABLE;
		st.splits++;
	}
}

static void do_flush(struct ref *R, int cpu)
{
	u32 what = below(R, 5);
	st.flushes++;
	if (what == 0) {
		logop(R, "cpu%d flush_tlb_all", cpu);
		vmlab_flush_tlb_all(R->m, cpu);
		ref_flush(R, 0, NP);
	} else if (what <= 2) {
		int pg = pick_page(R);
		int tgt = (int)below(R, (u32)R->ncpu);
		logop(R, "cpu%d flush_tlb_one page %d", tgt, pg);
		vmlab_flush_tlb_one(R->m, tgt, page_va(pg));
		set_clear(R, tgt, pg);
	} else {
		int r, p0, n;
		pick_range(R, &r, &p0, &n);
		int lo = r * REG_PAGES + p0, hi = lo + n;
		if (below(R, 8) == 0) {
			lo = 0;
			hi = NP;
		}
		logop(R, "cpu%d flush_tlb_kernel_range pages %d..%d", cpu, lo,
		      hi - 1);
		vmlab_flush_tlb_kernel_range(R->m, cpu, page_va(lo),
					     page_va(hi));
		ref_flush(R, lo, hi);
	}
}

/* ----------------------------------------------------------- sequences */

static void run_seq(struct ref *R, u32 seq)
{
	memset(R, 0, offsetof(struct ref, blk));
	R->nblk = 0;
	R->seq = seq;
	R->rng = 0x243f6a8885a308d3ULL ^ ((u64)seq << 17);
	R->mode = (enum mode[]){MODE_LOOSE, MODE_LOOSE, MODE_LOOSE_OFF,
				MODE_STRICT, MODE_STRICT_NX}[seq % 5];
	R->checker = R->mode != MODE_LOOSE_OFF;
	R->ncpu = 2 + (int)((seq / 5) % 3);
	static const u64 mems[] = {64 * VMLAB_MiB, 128 * VMLAB_MiB,
				   256 * VMLAB_MiB};
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = R->ncpu;
	cfg.mem_bytes = mems[(seq / 15) % 3];
	cfg.checker = R->checker;
	cfg.seed = seq;
	assert_int_equal(vmlab_boot(&cfg, &R->m), 0);
	vmlab_set_quiet(R->m, true);
	bool strict = R->mode == MODE_STRICT || R->mode == MODE_STRICT_NX;

	for (R->op = 0; R->op < NR_OPS; R->op++) {
		int cpu = (int)below(R, (u32)R->ncpu);
		u32 dice = below(R, 100);
		size_t stale0 = nr_stale(R);
		bool access = false;
		if (dice < 50) {
			access = true;
			u32 k = below(R, 4);
			k = k == 3 ? VMLAB_READ : k;
			do_access(R, cpu, pick_access_page(R, cpu),
				  (enum vmlab_access)k);
		} else if (dice < 64) {
			do_map(R, cpu, false);
		} else if (dice < 70) {
			do_map(R, cpu, true);
		} else if (dice < 79) {
			do_unmap(R, cpu, strict || below(R, 2));
		} else if (dice < 89) {
			do_protect(R, cpu, strict || below(R, 2));
		} else if (dice < 93) {
			do_split(R);
		} else {
			do_flush(R, cpu);
		}
		if (!access)
			CHECK(R, nr_stale(R) == stale0,
			      "stale-access report outside any access");
		/* The checker keeps at most 4096 reports and wx-alias files
		 * one per 4 KiB frame of a large leaf: start afresh before
		 * the buffer fills, with no TLB entry left that was already
		 * reported (it would not report again). */
		if (vmlab_nr_reports(R->m) > 2048) {
			vmlab_clear_reports(R->m);
			R->want_flush_all = true;
		}
		if (R->want_flush_all) {
			vmlab_flush_tlb_all(R->m, 0);
			ref_flush(R, 0, NP);
			R->want_flush_all = false;
		}
		reclaim(R);
		if (R->checker) {
			CHECK(R, vmlab_nr_reports_of(R->m,
					VMLAB_CHECK_FREED_FRAME_REACHABLE) == 0,
			      "a frame no CPU may cache was reported "
			      "reachable");
			if (strict)
				CHECK(R, nr_stale(R) == 0,
				      "stale-access report in a fully flushed "
				      "sequence");
			if (R->mode == MODE_STRICT_NX)
				CHECK(R, vmlab_nr_reports(R->m) == 0,
				      "report in a flushed, never-executable "
				      "sequence");
		}
	}
	/* Everything unmapped can go once a global flush has been done. */
	vmlab_flush_tlb_all(R->m, 0);
	ref_flush(R, 0, NP);
	reclaim(R);
	for (u32 i = 0; i < R->nblk; i++) {
		CHECK(R, R->blk[i].refs == 0, "reference refcount leak");
		CHECK(R, R->blk[i].freed || R->blk[i].mapped,
		      "unmapped block never freed");
		free(R->blk[i].tag);
	}
	if (R->checker)
		CHECK(R, vmlab_nr_reports_of(R->m,
				VMLAB_CHECK_FREED_FRAME_REACHABLE) == 0,
		      "freed-frame-reachable report");
	CHECK(R, vmlab_nr_warnings(R->m) == 0, "kernel-style warnings: %llu",
	      (unsigned long long)vmlab_nr_warnings(R->m));
	st.spurious += vmlab_counter(R->m, -1, VMLAB_C_spurious_fault);
	vmlab_machine_destroy(R->m);
	R->m = NULL;
}

static void test_differential(void **state)
{
	(void)state;
	struct ref *R = calloc(1, sizeof(*R));
	assert_non_null(R);
	memset(&st, 0, sizeof(st));
	for (u32 seq = 1; seq <= NR_SEQ; seq++)
		run_seq(R, seq);
	free(R->blk);
	free(R);
	/* The run must have exercised what it claims to check. */
	assert_true(st.ok_stale > 150);
	assert_true(st.stale_checked > 100);
	assert_true(st.ok_table > 5000);
	assert_true(st.faults > 1000 && st.faults_np > 500);
	assert_true(st.maps > 1000 && st.maps_2m > 100 && st.splits > 30);
	assert_true(st.unmaps > 1000 && st.protects > 1000 && st.eexist > 100);
	assert_true(st.unflushed > 1000 && st.flushes > 1000);
	assert_true(st.freed_gather > 100 && st.freed_late > 100);
	assert_true(st.spurious > 100); /* stale but more restrictive */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
