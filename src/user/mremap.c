/* SPDX-License-Identifier: MIT */
/*
 * mremap() (mm/mremap.c, Linux 6.17+): shrink by unmapping the tail,
 * expand in place by merging the extension into the VMA (and maybe its
 * successor), or move: copy_vma() places a VMA at the new address (merging
 * there if it can; an unfaulted anonymous VMA takes the new address's
 * pgoff so it can), move_page_tables() moves every entry (guard markers
 * and swap entries included, whole PTE tables when both ends are 2 MiB
 * aligned), the old range's TLB entries are flushed, and the source is
 * unmapped.  MREMAP_FIXED moves of an unchanged size may span several
 * VMAs, keeping the gaps between them.
 */
#include "user/swapops.h"

enum remap_type { RT_NO_RESIZE, RT_SHRINK, RT_EXPAND };

struct vrm {
	struct vmlab_user_mm *mm;
	struct vmlab_vma *vma;
	u64 addr, old_len, new_len, new_addr, delta;
	int flags;
	enum remap_type type;
	bool populate_expand;
};

static bool implies_new_addr(const struct vrm *r)
{
	return r->flags & (VMLAB_MREMAP_FIXED | VMLAB_MREMAP_DONTUNMAP);
}

static int check_params(const struct vrm *r)
{
	int f = r->flags;
	assert(r->mm && !(r->old_len & (VMLAB_PAGE_SIZE - 1)));
	assert(!(r->new_len & (VMLAB_PAGE_SIZE - 1)));
	if (f & ~(VMLAB_MREMAP_FIXED | VMLAB_MREMAP_MAYMOVE |
		  VMLAB_MREMAP_DONTUNMAP))
		return -VMLAB_EINVAL;
	if (r->addr & (VMLAB_PAGE_SIZE - 1))
		return -VMLAB_EINVAL;
	if (!r->new_len || r->new_len > TASK_SIZE_OF(r->mm))
		return -VMLAB_EINVAL;
	if (!implies_new_addr(r))
		return 0;
	if (r->new_addr > TASK_SIZE_OF(r->mm) - r->new_len ||
	    (r->new_addr & (VMLAB_PAGE_SIZE - 1)) ||
	    !(f & VMLAB_MREMAP_MAYMOVE))
		return -VMLAB_EINVAL;
	if ((f & VMLAB_MREMAP_DONTUNMAP) && r->old_len != r->new_len)
		return -VMLAB_EINVAL;
	/* The target may not overlap the source. */
	if (r->addr < r->new_addr + r->new_len && r->new_addr < r->addr + r->old_len)
		return -VMLAB_EINVAL;
	return 0;
}

static int check_prep(struct vrm *r)
{
	struct vmlab_vma *v = r->vma;
	if (!v)
		return -VMLAB_EFAULT;
	assert(v->vm_start <= r->addr && r->addr < v->vm_end);
	r->type = r->old_len == r->new_len ? RT_NO_RESIZE :
		  r->old_len > r->new_len ? RT_SHRINK : RT_EXPAND;
	r->delta = r->type == RT_SHRINK ? r->old_len - r->new_len :
					  r->new_len - r->old_len;
	if (!implies_new_addr(r))
		r->new_addr = r->addr;
	if (r->type != RT_EXPAND && !implies_new_addr(r))
		return 0;
	/* old_len 0 duplicates shared mappings only. */
	if (!r->old_len &&
	    !(v->vm_flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYSHARE)))
		return -VMLAB_EINVAL;
	if ((r->flags & VMLAB_MREMAP_DONTUNMAP) &&
	    (v->vm_flags & (VMLAB_VM_DONTEXPAND | VMLAB_VM_PFNMAP)))
		return -VMLAB_EINVAL;
	u64 old_len = r->type == RT_SHRINK ? r->new_len : r->old_len;
	if (old_len > v->vm_end - r->addr)
		return -VMLAB_EFAULT; /* not across the VMA's end */
	if (r->new_len == old_len)
		return 0;
	if (v->vm_flags & VMLAB_VM_LOCKED)
		r->populate_expand = true;
	u64 pgoff = linear_page_index(v, r->addr);
	if (pgoff + PAGES(r->new_len) < pgoff)
		return -VMLAB_EINVAL;
	if (v->vm_flags & (VMLAB_VM_DONTEXPAND | VMLAB_VM_PFNMAP))
		return -VMLAB_EFAULT;
	return 0;
}

/* --------------------------------------------------- moving entries */

static void flush_old(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	assert(start < end && end <= USER_VA_END(mm));
	if (!vmlab_mutant(mm->m, VMLAB_MUT_MREMAP_NO_FLUSH))
		user_flush_tlb_mm_range(mm, start, end);
}

/* move_normal_pmd(): hand a whole PTE table over. 1: moved, 0: not. */
static int move_pmd(struct vmlab_user_mm *mm, u64 oa, u64 na)
{
	struct vmlab_machine *m = mm->m;
	vmlab_ptep_t op, np;
	assert(!((oa | na) & (VMLAB_PMD_SIZE - 1)));
	if (vmlab_lookup_entry(m, mm->hw, oa, VMLAB_LVL_PMD, &op))
		return 0;
	u64 oe = vmlab_get_entry(m, op);
	struct vmlab_pte_info in;
	/* move_huge_pmd(): a THP moves as its one entry. */
	bool huge = pmd_trans_huge(m, oe, &in);
	if (in.kind != VMLAB_PTE_TABLE && !huge)
		return in.kind == VMLAB_PTE_NONE; /* nothing to move */
	if (upt_alloc_level(mm, na, VMLAB_LVL_PMD, &np) ||
	    vmlab_get_entry(m, np))
		return 0;
	/* take_rmap_locks() for every PMD move (97113eb39fa7): an rmap walk
	 * must not find the table at its new place, unmap and free a page
	 * before the old range is flushed.  The mutant takes none, as when
	 * the new VMA lay after the old one before that fix. */
	int cpu = user_cpu(mm);
	bool rmap = !vmlab_mutant(m, VMLAB_MUT_MREMAP_PMD_NO_RMAP_LOCK);
	if (rmap)
		vmlab_down_write_killable(m, cpu, &mm->rmap_lock, NULL,
					  "take_rmap_locks");
	vmlab_set_entry(m, mm->hw, oa, VMLAB_LVL_PMD, op, 0);
	vmlab_set_entry(m, mm->hw, na, VMLAB_LVL_PMD, np, oe);
	/* Other CPUs run meanwhile (the rmap walk takes the PTE table's
	 * lock, not the PMD locks held here). */
	sched_point(m, cpu, "move_normal_pmd");
	flush_old(mm, oa, oa + VMLAB_PMD_SIZE);
	if (rmap)
		vmlab_up_write(m, cpu, &mm->rmap_lock, "drop_rmap_locks");
	return 1;
}

static int move_ptes(struct vmlab_user_mm *mm, u64 oa, u64 na, u64 len)
{
	struct vmlab_machine *m = mm->m;
	bool flush = false;
	assert(len && len <= VMLAB_PMD_SIZE);
	assert(PAGES(oa) % VMLAB_PTRS_PER_TABLE + PAGES(len) <= VMLAB_PTRS_PER_TABLE);
	/* Part of a THP moves as PTEs: split_huge_pmd() first. */
	if (split_huge_pmd(mm, oa))
		return -VMLAB_ENOMEM;
	flush_tlb_batched_pending(mm);
	for (u64 off = 0; off < len; off += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t op, np;
		if (upte_lookup(mm, oa + off, &op))
			return 0; /* no table: nothing in this chunk */
		u64 e = vmlab_get_entry(m, op);
		if (!e)
			continue;
		if (upte_alloc(mm, na + off, &np))
			return -VMLAB_ENOMEM;
		assert(!vmlab_get_entry(m, np));
		flush |= m->arch->hw_present(e);
		upte_set(mm, oa + off, op, 0);
		upte_set(mm, na + off, np, move_soft_dirty_pte(m, e));
	}
	if (flush)
		flush_old(mm, oa, oa + len);
	return 0;
}

static int move_page_tables(struct vmlab_user_mm *mm, u64 oa, u64 na,
			    u64 len)
{
	const u64 pmd_mask = VMLAB_PMD_SIZE - 1;
	assert(!((oa | na | len) & (VMLAB_PAGE_SIZE - 1)));
	/* move_page_tables(): the old range is UNMAP for secondary MMUs. */
	struct vmlab_mmu_notifier_range r;
	int err = 0;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_UNMAP, oa, oa + len);
	for (u64 off = 0; off < len && !err;) {
		u64 o = oa + off, n = na + off;
		if (!(o & pmd_mask) && !(n & pmd_mask) &&
		    len - off >= VMLAB_PMD_SIZE && move_pmd(mm, o, n)) {
			off += VMLAB_PMD_SIZE;
			continue;
		}
		u64 ext = VMLAB_PMD_SIZE - (o & pmd_mask);
		if (VMLAB_PMD_SIZE - (n & pmd_mask) < ext)
			ext = VMLAB_PMD_SIZE - (n & pmd_mask);
		if (len - off < ext)
			ext = len - off;
		assert(ext > 0 && ext <= VMLAB_PMD_SIZE);
		err = move_ptes(mm, o, n, ext);
		off += ext;
	}
	user_mn_end(&r);
	return err;
}

/* copy_vma(): the VMA at the destination, merged there if possible. */
static struct vmlab_vma *copy_vma(struct vmlab_user_mm *mm,
				  struct vmlab_vma *v, u64 addr, u64 len,
				  u64 pgoff)
{
	assert(v->mm == mm && len);
	/* An unfaulted anonymous VMA can take the destination's pgoff. */
	if (vma_is_anonymous(v) && !v->anon_vma)
		pgoff = PAGES(addr);
	struct vmlab_vma *next = find_vma(mm, addr);
	struct vmlab_vma *prev = next ? next->prev : mm->last;
	assert(!next || next->vm_start >= addr + len);
	/* The destination's neighbours may grow into it. */
	vma_start_write_range(mm, addr, addr + len);
	struct vmlab_vma *nv = vma_merge_copied_range(mm, v, prev, next, addr,
						     addr + len, pgoff);
	if (nv)
		return nv;
	nv = vma_alloc(mm);
	if (!nv)
		return NULL;
	nv->vm_start = addr;
	nv->vm_end = addr + len;
	nv->vm_pgoff = pgoff;
	nv->vm_flags = v->vm_flags;
	vma_set_anon(nv, v->anon_vma, v->anon_chain);
	if (v->file) {
		nv->file = v->file;
		file_get(nv->file);
	}
	vma_link(mm, nv);
	assert(vma_lookup(mm, addr) == nv);
	return nv;
}

static s64 move_vma(struct vrm *r)
{
	struct vmlab_user_mm *mm = r->mm;
	if (mm->map_count >= MAX_MAP_COUNT - 3)
		return -VMLAB_ENOMEM;
	struct vmlab_vma *v = r->vma;
	assert(v && v->vm_start <= r->addr && r->addr + r->old_len <= v->vm_end);
	u64 pgoff = linear_page_index(v, r->addr);
	bool whole = r->addr == v->vm_start && r->old_len == v->vm_end - v->vm_start;
	struct vmlab_vma *nv = copy_vma(mm, v, r->new_addr, r->new_len, pgoff);
	if (!nv)
		return -VMLAB_ENOMEM;
	uffd_mremap_prep(nv); /* no UFFD_FEATURE_EVENT_REMAP: unregistered */
	int err = move_page_tables(mm, r->addr, r->new_addr, r->old_len);
	if (err) {
		/* Move what went back, then drop the destination. */
		move_page_tables(mm, r->new_addr, r->addr, r->old_len);
		do_munmap(mm, r->new_addr, r->new_len);
		return err;
	}
	if (r->flags & VMLAB_MREMAP_DONTUNMAP) {
		/* The old VMA stays, empty, unlocked; an entirely emptied one
		 * drops its anon_vma links. */
		v = vma_lookup(mm, r->addr);
		assert(v);
		v->vm_flags &= ~VM_LOCKED_MASK;
		if (whole && v != nv && v->anon_vma) {
			struct uanon_vma *av = v->anon_vma;
			v->anon_vma = NULL;
			v->anon_chain = 0;
			if (--av->refs == 0)
				free(av);
		}
	} else if (r->old_len) {
		do_munmap(mm, r->addr, r->old_len);
	}
	return (s64)r->new_addr;
}

static s64 set_new_addr(struct vrm *r)
{
	struct vmlab_vma *v = r->vma;
	assert(v && r->new_len);
	int mf = ((r->flags & VMLAB_MREMAP_FIXED) ? VMLAB_MAP_FIXED : 0) |
		 ((v->vm_flags & VMLAB_VM_MAYSHARE) ? VMLAB_MAP_SHARED : 0);
	s64 a = get_unmapped_area(r->mm, v->file,
				  implies_new_addr(r) ? r->new_addr : 0,
				  r->new_len, linear_page_index(v, r->addr), mf);
	if (a >= 0)
		r->new_addr = (u64)a;
	return a;
}

static s64 mremap_to(struct vrm *r)
{
	struct vmlab_user_mm *mm = r->mm;
	assert(implies_new_addr(r));
	if (r->flags & VMLAB_MREMAP_FIXED) {
		int err = do_munmap(mm, r->new_addr, r->new_len);
		if (err)
			return err;
		r->vma = vma_lookup(mm, r->addr);
		if (!r->vma)
			return -VMLAB_EFAULT;
	}
	if (r->type == RT_SHRINK) {
		int err = do_munmap(mm, r->addr + r->new_len, r->delta);
		if (err)
			return err;
		r->vma = vma_lookup(mm, r->addr);
		if (!r->vma)
			return -VMLAB_EFAULT;
		r->old_len = r->new_len;
	}
	s64 a = set_new_addr(r);
	return a < 0 ? a : move_vma(r);
}

static bool vma_expandable(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   u64 delta)
{
	u64 end = v->vm_end + delta;
	assert(delta && !(delta & (VMLAB_PAGE_SIZE - 1)));
	if (end < v->vm_end || find_vma_intersection(mm, v->vm_end, end))
		return false;
	return get_unmapped_area(mm, NULL, v->vm_start, end - v->vm_start, 0,
				 VMLAB_MAP_FIXED) >= 0;
}

static s64 expand_vma(struct vrm *r)
{
	struct vmlab_user_mm *mm = r->mm;
	struct vmlab_vma *v = r->vma;
	assert(r->type == RT_EXPAND && r->new_len > r->old_len);
	if (v->vm_end - r->addr == r->old_len &&
	    vma_expandable(mm, v, r->delta)) {
		/* vma_merge_extend(): the extension merges into v. */
		struct vmlab_vma *n = vma_merge_new_range(
			mm, v, v->next, v->vm_end, v->vm_end + r->delta,
			v->vm_flags, v->file, v->vm_pgoff + vma_pages(v),
			v->anon_vma, v->anon_chain);
		if (!n)
			return -VMLAB_ENOMEM;
		return (s64)r->addr;
	}
	if (!(r->flags & VMLAB_MREMAP_MAYMOVE))
		return -VMLAB_ENOMEM;
	s64 a = set_new_addr(r);
	return a < 0 ? a : move_vma(r);
}

static s64 mremap_at(struct vrm *r)
{
	assert(!implies_new_addr(r) && r->vma);
	switch (r->type) {
	case RT_NO_RESIZE:
		return (s64)r->addr;
	case RT_SHRINK: {
		int err = do_munmap(r->mm, r->addr + r->new_len, r->delta);
		return err ? err : (s64)r->addr;
	}
	case RT_EXPAND:
		return expand_vma(r);
	}
	return -VMLAB_EINVAL;
}

/* remap_move(): MREMAP_FIXED, same size, possibly many VMAs. */
static s64 remap_move(struct vrm *r)
{
	struct vmlab_user_mm *mm = r->mm;
	u64 start = r->addr, end = r->addr + r->old_len;
	u64 target = r->new_addr, last_end = 0;
	s64 res = -VMLAB_EFAULT;
	bool seen = false;
	assert(r->flags & VMLAB_MREMAP_FIXED);
	assert(r->old_len == r->new_len && start < end);
	struct vmlab_vma *v = find_vma(mm, start);
	while (v && v->vm_start < end) {
		u64 a = v->vm_start > start ? v->vm_start : start;
		u64 l = (end < v->vm_end ? end : v->vm_end) - a;
		if (!seen && start < v->vm_start)
			return -VMLAB_EFAULT; /* no hole at the start */
		/* Keep the source's gaps between destination VMAs. */
		u64 offset = seen ? v->vm_start - last_end : 0;
		last_end = v->vm_end;
		struct vrm sub = {.mm = mm, .vma = v, .addr = a, .old_len = l,
				  .new_len = l, .new_addr = target + offset,
				  .flags = r->flags};
		s64 rv = check_prep(&sub);
		if (!rv)
			rv = mremap_to(&sub);
		if (rv < 0)
			return rv;
		if (!seen)
			res = rv;
		seen = true;
		target = (u64)rv + l;
		/* Go on with the VMAs that started after this one: it may
		 * still be there (DONTUNMAP), or have grown by merging with
		 * what was moved next to it. */
		v = find_vma(mm, last_end);
		if (v && v->vm_start < last_end)
			v = v->next;
	}
	return res;
}

s64 vmlab_mremap(struct vmlab_user_mm *mm, u64 old_addr, u64 old_len,
		 u64 new_len, int flags, u64 new_addr)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "mremap");
	struct vrm r = {.mm = mm, .addr = old_addr,
			.old_len = PAGE_ALIGN_UP(old_len),
			.new_len = PAGE_ALIGN_UP(new_len), .new_addr = new_addr,
			.flags = flags};
	if ((old_len && !r.old_len) || (new_len && !r.new_len))
		return -VMLAB_EINVAL; /* rounded past 2^64 */
	s64 err = check_params(&r);
	if (err)
		return err;
	if (mmap_write_lock_killable(mm))
		return -VMLAB_EINTR;
	/* check_params() bounded a fixed destination and the new length;
	 * the old range may run past the address space (no VMA there: the
	 * lookup below fails with EFAULT), so its end saturates. */
	u64 span = r.old_len > r.new_len ? r.old_len : r.new_len;
	vma_start_write_range(mm, r.addr,
			      r.addr + span < r.addr ? ~0ULL : r.addr + span);
	if (flags & VMLAB_MREMAP_FIXED)
		vma_start_write_range(mm, new_addr, new_addr + r.new_len);
	s64 res;
	struct vmlab_vma *hv = vma_lookup(mm, r.addr);
	if (hv && (hv->vm_flags & VMLAB_VM_HUGETLB)) {
		/* align_hugetlb(): lengths rounded to 2 MiB, both addresses
		 * aligned, no growth (the reservation cannot follow).  What is
		 * left is shrinking in place; moving a hugetlb mapping
		 * (MREMAP_FIXED, DONTUNMAP) is not modelled: EINVAL. */
		r.old_len = (r.old_len + VMLAB_PMD_SIZE - 1) & HPAGE_PMD_MASK;
		r.new_len = (r.new_len + VMLAB_PMD_SIZE - 1) & HPAGE_PMD_MASK;
		if (((r.addr | new_addr) & ~HPAGE_PMD_MASK) ||
		    r.new_len > r.old_len || implies_new_addr(&r)) {
			mmap_write_unlock(mm);
			return -VMLAB_EINVAL;
		}
	}
	if ((flags & VMLAB_MREMAP_FIXED) && r.old_len == r.new_len) {
		res = remap_move(&r);
	} else {
		r.vma = vma_lookup(mm, r.addr);
		res = check_prep(&r);
		if (!res)
			res = implies_new_addr(&r) ? mremap_to(&r) : mremap_at(&r);
	}
	mmap_write_unlock(mm);
	if (res >= 0 && r.populate_expand)
		mm_populate(mm, (u64)res + r.old_len, r.delta, true);
	return res;
}
