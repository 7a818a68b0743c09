/* SPDX-License-Identifier: MIT */
/*
 * The generic page walker (mm/pagewalk.c), including the install_pte
 * extension of the guard-region series: with install_pte set, missing
 * tables are allocated, the callback supplies each missing PTE, and
 * pte_entry only sees entries that already exist.  Large leaves are split
 * only when a lower-level callback needs to see their entries.
 */
#include "machine/internal.h"
#include "mm/internal.h"

#define MAX_AGAIN 16 /* bound on ACTION_AGAIN repeats for one entry */

typedef int (*entry_fn)(vmlab_ptep_t e, u64 addr, u64 next,
			struct vmlab_walk *w);

static entry_fn level_cb(const struct vmlab_walk_ops *ops, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	switch (level) {
	case VMLAB_LVL_PGD: return ops->pgd_entry;
	case VMLAB_LVL_PUD: return ops->pud_entry;
	case VMLAB_LVL_PMD: return ops->pmd_entry;
	default: return ops->pte_entry;
	}
}

/* The kernel's hole depth: 0 PGD, 1 P4D, 2 PUD, 3 PMD. */
static int hole_depth(int level)
{
	/* PTE-level holes are never reported: pte_entry sees every PTE. */
	assert(level >= VMLAB_LVL_PMD && level <= VMLAB_LVL_PGD);
	return level == VMLAB_LVL_PGD ? 0 : (level == VMLAB_LVL_PUD ? 2 : 3);
}

static inline u64 next_boundary(u64 va, int level, u64 end)
{
	assert(va < end);
	u64 next = (va | (vmlab_level_size(level) - 1)) + 1;
	next = (next == 0 || next > end) ? end : next;
	assert(va < next && next - va <= vmlab_level_size(level));
	return next;
}

/* Does a callback below `level` need a large leaf split to see it? */
static bool wants_split(const struct vmlab_walk_ops *ops, int level)
{
	assert(level == VMLAB_LVL_PMD || level == VMLAB_LVL_PUD);
	if (ops->pte_entry)
		return true;
	return level == VMLAB_LVL_PUD && ops->pmd_entry;
}

static int walk_ptes(struct vmlab_walk *w, u64 table, u64 va, u64 end)
{
	const struct vmlab_walk_ops *ops = w->ops;
	/* One PTE table: at most 512 entries, page aligned. */
	assert(va < end && end - va <= VMLAB_PMD_SIZE);
	assert(!(va & ~VMLAB_PAGE_MASK) && !(end & ~VMLAB_PAGE_MASK));
	for (; va < end; va += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t ptep = entry_addr(table, va, VMLAB_LVL_PTE);
		u64 e = vmlab_get_entry(w->m, ptep);
		int err = 0;
		if (ops->install_pte && e == 0) {
			u64 val = 0;
			err = ops->install_pte(va, va + VMLAB_PAGE_SIZE, &val, w);
			if (!err && val)
				vmlab_set_entry(w->m, w->mm, va, VMLAB_LVL_PTE,
						ptep, val);
		} else if (ops->pte_entry) {
			err = ops->pte_entry(ptep, va, va + VMLAB_PAGE_SIZE, w);
		}
		if (err)
			return err;
	}
	return 0;
}

static int walk_level(struct vmlab_walk *w, u64 table, int level, u64 va,
		      u64 end);

static int install_table(struct vmlab_walk *w, u64 va, int level,
			 vmlab_ptep_t ptep, u64 *child)
{
	assert(level >= VMLAB_LVL_PMD && level <= VMLAB_LVL_PGD);
	assert(vmlab_get_entry(w->m, ptep) == 0); /* fills a hole only */
	int err = vmlab_pgtable_alloc(w->m, level - 1, child);
	if (err)
		return err;
	bool user = !w->mm->is_init && !(va >> 63);
	vmlab_set_entry(w->m, w->mm, va, level, ptep,
			w->m->arch->mk_table(*child, user));
	return 0;
}

static int walk_one(struct vmlab_walk *w, u64 table, int level, u64 va,
		    u64 next)
{
	const struct vmlab_walk_ops *ops = w->ops;
	struct vmlab_machine *m = w->m;
	/* One entry above the PTE level, covering [va, next). */
	assert(level >= VMLAB_LVL_PMD && level <= VMLAB_LVL_PGD);
	assert(va < next && next - va <= vmlab_level_size(level));
	vmlab_ptep_t ptep = entry_addr(table, va, level);
	entry_fn cb = level_cb(ops, level);
	for (int again = 0; again < MAX_AGAIN; again++) {
		u64 e = vmlab_get_entry(m, ptep);
		struct vmlab_pte_info info;
		m->arch->decode(e, level, &info);
		if (info.kind == VMLAB_PTE_NONE) {
			if (!ops->install_pte)
				return ops->pte_hole ? ops->pte_hole(va, next,
						hole_depth(level), w) : 0;
			u64 child;
			int err = install_table(w, va, level, ptep, &child);
			if (err)
				return err;
			continue; /* now a table: show it to the callback */
		}
		w->action = VMLAB_WALK_SUBTREE;
		if (cb) {
			int err = cb(ptep, va, next, w);
			if (err)
				return err;
		}
		if (w->action == VMLAB_WALK_AGAIN)
			continue;
		if (w->action == VMLAB_WALK_CONTINUE)
			return 0;
		/* The callback may have changed the entry. */
		e = vmlab_get_entry(m, ptep);
		m->arch->decode(e, level, &info);
		if (info.kind == VMLAB_PTE_TABLE)
			return walk_level(w, info.pfn, level - 1, va, next);
		if (info.kind == VMLAB_PTE_LEAF && m->arch->is_large(e, level) &&
		    wants_split(ops, level)) {
			/* The walk API has no CPU: the boot CPU splits. */
			int err = vmlab_split_leaf(m, 0, w->mm, va, level);
			if (err)
				return err;
			continue;
		}
		return 0; /* leaf or non-present entry: nothing below */
	}
	vmlab_warn(m, "walk_page_range: ACTION_AGAIN loop at %#llx",
		   (unsigned long long)va);
	return -VMLAB_EAGAIN;
}

static int walk_level(struct vmlab_walk *w, u64 table, int level, u64 va,
		      u64 end)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	assert(table < w->m->phys.nr_frames && va < end);
	if (level == VMLAB_LVL_PTE)
		return walk_ptes(w, table, va, end);
	/* Bounded: one pass per entry of this table. */
	for (int n = 0; va < end; n++) {
		assert(n < VMLAB_PTRS_PER_TABLE);
		u64 next = next_boundary(va, level, end);
		int err = walk_one(w, table, level, va, next);
		if (err)
			return err;
		va = next;
	}
	return 0;
}

int walk_page_range_mm(struct vmlab_machine *m, struct vmlab_mm *mm, u64 start,
		       u64 end, const struct vmlab_walk_ops *ops,
		       void *private)
{
	if (!mm || !ops || start >= end ||
	    ((start | end) & (VMLAB_PAGE_SIZE - 1)))
		return -VMLAB_EINVAL;
	if (!vmlab_va_canonical(m, start) || !vmlab_va_canonical(m, end - 1) ||
	    (start >> 63) != ((end - 1) >> 63) ||
	    !vmlab_mm_has_root(m, mm, start))
		return -VMLAB_EINVAL;
	if ((unsigned)ops->walk_lock > VMLAB_PGWALK_VMA_RDLOCK_VERIFY)
		return -VMLAB_EINVAL;
	/* process_mm_walk_lock() and process_vma_walk_lock(). */
	if (mm->walk_lock)
		mm->walk_lock(mm, start, end, (int)ops->walk_lock);
	struct vmlab_walk w = {
		.ops = ops, .m = m, .mm = mm, .private = private,
	};
	if (!mm->walk_skip)
		return walk_level(&w, vmlab_mm_root(m, mm, start), VMLAB_LVL_PGD,
				  start, end);
	for (u64 va = start; va < end;) {
		bool skip = false;
		u64 next = mm->walk_skip(mm, va, end, &skip);
		assert(next > va && next <= end);
		int err = skip ? 0 :
				 walk_level(&w, vmlab_mm_root(m, mm, va),
					    VMLAB_LVL_PGD, va, next);
		if (err)
			return err;
		va = next;
	}
	return 0;
}

/* check_ops_valid(): PTE installation is mm-internal. */
int vmlab_walk_page_range(struct vmlab_machine *m, struct vmlab_mm *mm,
			  u64 start, u64 end, const struct vmlab_walk_ops *ops,
			  void *private)
{
	if (ops && ops->install_pte)
		return -VMLAB_EINVAL;
	assert(!ops || !ops->install_pte);
	return walk_page_range_mm(m, mm, start, end, ops, private);
}
