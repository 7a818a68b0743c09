/* SPDX-License-Identifier: MIT */
/*
 * The deferred split queue of PMD-sized anonymous THPs (mm/huge_memory.c:
 * deferred_split_folio(), deferred_split_scan()).  In Linux, splitting a
 * THP's PMD leaves the folio whole, mapped by PTEs; unmapping part of it
 * frees nothing but queues the folio (thp_deferred_split_page), and only
 * the shrinker, under memory pressure, splits it (thp_split_page) and
 * frees the subpages nobody maps.  A folio whose last page goes is freed
 * whole, without a split.
 *
 * The model splits the folio's bookkeeping at the PMD split (each page
 * then counts its own references, huge_memory.c), so this file keeps what
 * Linux keeps: a record per former THP whose pages carry PGP_FOLIO_PART,
 * the pages nobody uses any more held allocated (PGP_FOLIO_HELD, one
 * reference) until the folio is split by the scan or its last page goes.
 * Records are sorted by head pfn; a THP block is 512-aligned, so a page
 * finds its folio by masking its pfn.
 */
#include "user/uinternal.h"

static u64 folio_head(u64 pfn)
{
	return pfn & ~(HPAGE_PMD_NR - 1);
}

/* Index of the record for head, or where it would go. */
static u64 dfolio_find(const struct user_svc *s, u64 head, bool *found)
{
	u64 lo = 0, hi = s->nr_dfolio;
	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;
		if (s->dfolio[mid].head < head)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->nr_dfolio && s->dfolio[lo].head == head;
	assert(lo <= s->nr_dfolio);
	return lo;
}

bool deferred_folio_add(struct user_svc *s, u64 head)
{
	bool found;
	assert(head == folio_head(head));
	u64 i = dfolio_find(s, head, &found);
	assert(!found);
	if (s->nr_dfolio == s->cap_dfolio) {
		u64 n = s->cap_dfolio ? 2 * s->cap_dfolio : 16;
		struct deferred_folio *d = realloc(s->dfolio, n * sizeof(*d));
		if (!d)
			return false; /* the folio is then split at once */
		s->dfolio = d;
		s->cap_dfolio = n;
	}
	memmove(s->dfolio + i + 1, s->dfolio + i,
		(s->nr_dfolio - i) * sizeof(*s->dfolio));
	s->dfolio[i] = (struct deferred_folio){.head = head};
	s->nr_dfolio++;
	for (u64 p = 0; p < HPAGE_PMD_NR; p++)
		upage(s->m, head + p)->private_ |= PGP_FOLIO_PART;
	assert(s->dfolio[i].held == 0 && !s->dfolio[i].queued);
	return true;
}

static void dfolio_remove(struct user_svc *s, u64 i)
{
	assert(i < s->nr_dfolio);
	memmove(s->dfolio + i, s->dfolio + i + 1,
		(s->nr_dfolio - i - 1) * sizeof(*s->dfolio));
	s->nr_dfolio--;
}

/* Free the held pages of record i and forget it; the pages still in use
 * become ordinary pages. */
static void dfolio_release(struct user_svc *s, int cpu, u64 i)
{
	struct vmlab_machine *m = s->m;
	u64 head = s->dfolio[i].head, freed = 0;
	for (u64 p = 0; p < HPAGE_PMD_NR; p++) {
		struct vmlab_page *pg = upage(m, head + p);
		assert(pg->private_ & PGP_FOLIO_PART);
		if (pg->private_ & PGP_FOLIO_HELD) {
			assert(pg->refcount == 1 && pg->mapcount == 0);
			pg->private_ = 0;
			vmlab_free_pages(m, cpu, head + p, 0);
			freed++;
		} else {
			pg->private_ &= ~PGP_FOLIO_PART;
		}
	}
	assert(freed == s->dfolio[i].held);
	dfolio_remove(s, i);
}

bool deferred_folio_put(struct user_svc *s, int cpu, u64 pfn)
{
	struct vmlab_page *pg = upage(s->m, pfn);
	assert(pg->private_ & PGP_FOLIO_PART);
	assert(pg->refcount == 1 && pg->mapcount == 0);
	bool found;
	u64 i = dfolio_find(s, folio_head(pfn), &found);
	assert(found);
	struct deferred_folio *d = &s->dfolio[i];
	pg->private_ = PGP_FOLIO_PART | PGP_FOLIO_HELD;
	d->held++;
	if (d->held == HPAGE_PMD_NR) {
		/* The last page went: the whole folio is freed, off the
		 * queue, without a split. */
		dfolio_release(s, cpu, i);
		return true;
	}
	if (!d->queued) {
		/* Partly mapped now: deferred_split_folio(). */
		d->queued = true;
		s->thp.thp_deferred_split_page++;
	}
	assert(d->held < HPAGE_PMD_NR);
	return true;
}

int vmlab_user_deferred_split_scan(struct vmlab_machine *m)
{
	struct user_svc *s = m ? user_svc_peek(m) : NULL;
	if (!m)
		return -VMLAB_EINVAL;
	return s ? (int)deferred_split_scan(s, -1) : 0;
}

u64 deferred_split_scan(struct user_svc *s, int cpu)
{
	u64 split = 0;
	for (u64 i = 0; i < s->nr_dfolio;) {
		if (!s->dfolio[i].queued) {
			i++;
			continue;
		}
		dfolio_release(s, cpu, i);
		s->thp.thp_split_page++;
		split++;
	}
	assert(split <= HPAGE_PMD_NR * s->m->phys.nr_frames);
	return split;
}

void deferred_split_destroy(struct user_svc *s)
{
	while (s->nr_dfolio)
		dfolio_release(s, -1, s->nr_dfolio - 1);
	free(s->dfolio);
	s->dfolio = NULL;
	s->cap_dfolio = 0;
}
