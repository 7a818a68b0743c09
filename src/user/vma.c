/* SPDX-License-Identifier: MIT */
/*
 * VMA objects and the rules of mm/vma.c: split_vma(), merging a new range
 * (vma_merge_new_range), merging a modified range of an existing VMA
 * (vma_merge_existing_range), vma_modify_flags(), and the anon_vma state
 * that decides whether neighbours may merge: an anon_vma identity per VMA
 * plus the length of its anon_vma_chain (a VMA inherited through fork has
 * more than one link and merges only with VMAs sharing its anon_vma).
 */
#include "user/uinternal.h"

static void vma_debug_check(struct vmlab_user_mm *mm)
{
	/* Whole-tree checks are O(n): run them while the tree is small. */
	if (VMLAB_DEBUG_CHECKS && mm->map_count <= 256)
		vt_validate(mm);
}

struct vmlab_vma *vma_alloc(struct vmlab_user_mm *mm)
{
	struct vmlab_vma *v = host_calloc(mm->m, 1, sizeof(*v));
	if (!v)
		return NULL;
	v->mm = mm;
	/* A VMA made under the write lock is write-locked until its end
	 * (vma_start_write() before it is inserted). */
	if (mmap_write_locked(mm))
		v->vm_lock_seq = mm->mm_lock_seq;
	mm->ev.vma_alloc++;
	return v;
}

void vma_free(struct vmlab_vma *v)
{
	assert(!v->anon_vma && !v->file && !v->hugetlb);
	/* vma_mark_detached() waited for the readers: none may be left. */
	assert(!v->vm_lock.owner);
	v->mm->ev.vma_free++;
	free(v);
}

void vma_set_anon(struct vmlab_vma *v, struct uanon_vma *av, int chain)
{
	assert(!v->anon_vma);
	if (!av)
		return;
	assert(chain >= 1);
	v->anon_vma = av;
	v->anon_chain = chain;
	av->refs++;
}

static void vma_drop_anon(struct vmlab_vma *v)
{
	struct uanon_vma *av = v->anon_vma;
	if (!av)
		return;
	assert(av->refs > 0);
	if (--av->refs == 0)
		free(av);
	v->anon_vma = NULL;
	v->anon_chain = 0;
}

void vma_link(struct vmlab_user_mm *mm, struct vmlab_vma *v)
{
	assert(v->mm == mm);
	assert(!(v->vm_start & (VMLAB_PAGE_SIZE - 1)) && v->vm_end <= TASK_SIZE_OF(mm));
	vt_insert(mm, v);
	if (v->file)
		file_link_vma(v->file, v);
	vma_debug_check(mm);
}

void vma_remove(struct vmlab_user_mm *mm, struct vmlab_vma *v)
{
	assert(v->mm == mm);
	vt_erase(mm, v);
	if (v->file) {
		struct vmlab_file *f = v->file;
		if (file_vma_linked(f, v)) /* munmap unlinked it already */
			file_unlink_vma(f, v);
		v->file = NULL;
		vmlab_file_put(f);
	}
	hugetlb_vma_close(v);
	vma_drop_anon(v);
	vma_free(v);
	vma_debug_check(mm);
}

/* ---------------------------------------------------------- anon_vma */

static bool anon_vma_compatible(const struct vmlab_vma *a,
				const struct vmlab_vma *b)
{
	return a->vm_end == b->vm_start && a->file == b->file &&
	       !((a->vm_flags ^ b->vm_flags) & ~(VM_ACCESS_FLAGS | VM_STICKY)) &&
	       b->vm_pgoff == a->vm_pgoff + vma_pages(a);
}

/* reusable_anon_vma(): old's anon_vma may be shared by a neighbour only if
 * old was never forked (its chain is singular). */
static struct uanon_vma *reusable(const struct vmlab_vma *old,
				  const struct vmlab_vma *a,
				  const struct vmlab_vma *b)
{
	assert(old == a || old == b);
	if (anon_vma_compatible(a, b) && old->anon_vma && old->anon_chain == 1)
		return old->anon_vma;
	return NULL;
}

/* find_mergeable_anon_vma(): next first, then prev. */
static struct uanon_vma *find_mergeable_anon_vma(const struct vmlab_vma *v)
{
	struct uanon_vma *av = NULL;
	assert(!v->anon_vma);
	if (v->next)
		av = reusable(v->next, v, v->next);
	if (!av && v->prev)
		av = reusable(v->prev, v->prev, v);
	return av;
}

int anon_vma_prepare(struct vmlab_vma *v)
{
	if (v->anon_vma)
		return 0;
	struct uanon_vma *av = find_mergeable_anon_vma(v);
	if (!av) {
		av = host_calloc(v->mm->m, 1, sizeof(*av));
		if (!av)
			return -VMLAB_ENOMEM;
		av->id = ++v->mm->svc->next_anon_id;
	}
	vma_set_anon(v, av, 1);
	assert(v->anon_vma->refs >= 1);
	return 0;
}

/* dup_anon_vma(): dst takes src's anon_vma when it has none. */
static void dup_anon_vma(struct vmlab_vma *dst, const struct vmlab_vma *src)
{
	assert(dst && src);
	/* Both set: the merge checks made them the same. */
	assert(!src->anon_vma || !dst->anon_vma ||
	       src->anon_vma == dst->anon_vma);
	if (src->anon_vma && !dst->anon_vma)
		vma_set_anon(dst, src->anon_vma, src->anon_chain);
}

/* ------------------------------------------------------------ split */

int split_vma(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr,
	      bool new_below, bool check_count)
{
	assert(v->vm_start < addr && addr < v->vm_end);
	assert(!(addr & (VMLAB_PAGE_SIZE - 1)));
	if (check_count && mm->map_count >= MAX_MAP_COUNT)
		return -VMLAB_ENOMEM;
	/* hugetlb_vm_op_split(): hugetlb VMAs split at huge pages only. */
	if ((v->vm_flags & VMLAB_VM_HUGETLB) && (addr & ~HPAGE_PMD_MASK))
		return -VMLAB_EINVAL;
	struct vmlab_vma *n = vma_alloc(mm);
	if (!n)
		return -VMLAB_ENOMEM;
	vma_adjust_trans_huge(mm, addr);
	n->vm_start = v->vm_start;
	n->vm_end = v->vm_end;
	n->vm_pgoff = v->vm_pgoff;
	n->vm_flags = v->vm_flags;
	n->uffd_ctx = v->uffd_ctx;
	vma_set_anon(n, v->anon_vma, v->anon_chain);
	if (v->file) {
		n->file = v->file;
		file_get(n->file);
	}
	if (v->vm_flags & VMLAB_VM_HUGETLB)
		hugetlb_vma_dup(n, v, false);
	if (new_below) {
		n->vm_end = addr;
		v->vm_start = addr;
		v->vm_pgoff += PAGES(addr - n->vm_start);
	} else {
		n->vm_start = addr;
		n->vm_pgoff += PAGES(addr - v->vm_start);
		v->vm_end = addr;
	}
	vt_changed(mm, v);
	vma_link(mm, n);
	mm->ev.vma_split++;
	return 0;
}

/* ------------------------------------------------------------ merge */

struct vmg {
	struct vmlab_vma *prev, *middle, *next;
	u64 start, end, pgoff, flags;
	struct vmlab_file *file;
	struct uanon_vma *anon;     /* the anon_vma the range brings */
	struct vmlab_vma *copied_from; /* mremap's source VMA */
	struct vmlab_uffd *uffd; /* the vm_userfaultfd_ctx it must have */
};

static bool is_mergeable_vma(const struct vmlab_vma *t, const struct vmg *g)
{
	assert(t && g);
	return !((t->vm_flags ^ g->flags) & ~VM_STICKY) && t->file == g->file &&
	       t->uffd_ctx == g->uffd;
}

static bool is_mergeable_anon_vma(const struct vmlab_vma *tgt,
				  const struct vmg *g)
{
	assert(!g->middle || g->middle->anon_vma == g->anon);
	if (!tgt->anon_vma && g->anon)
		return !vma_is_fork_child(g->middle) &&
		       !vma_is_fork_child(g->copied_from);
	if (tgt->anon_vma && !g->anon)
		return !vma_is_fork_child(tgt);
	return tgt->anon_vma == g->anon;
}

/* can_vma_merge_left(): g's range may extend prev. */
static bool can_merge_left(const struct vmg *g)
{
	const struct vmlab_vma *p = g->prev;
	assert(g->start < g->end);
	return p && p->vm_end == g->start && is_mergeable_vma(p, g) &&
	       is_mergeable_anon_vma(p, g) &&
	       p->vm_pgoff + vma_pages(p) == g->pgoff;
}

/* can_vma_merge_right(): next may extend down over g's range; with a left
 * merge too, prev's and next's anon_vmas must agree. */
static bool can_merge_right(const struct vmg *g, bool left)
{
	const struct vmlab_vma *n = g->next;
	assert(g->start < g->end);
	if (!n || n->vm_start != g->end || !is_mergeable_vma(n, g) ||
	    !is_mergeable_anon_vma(n, g) ||
	    n->vm_pgoff != g->pgoff + PAGES(g->end - g->start))
		return false;
	if (!left)
		return true;
	return !g->prev->anon_vma || !n->anon_vma ||
	       g->prev->anon_vma == n->anon_vma;
}

struct vmlab_vma *vma_merge_new_range(struct vmlab_user_mm *mm,
				      struct vmlab_vma *prev,
				      struct vmlab_vma *next, u64 start,
				      u64 end, u64 flags,
				      struct vmlab_file *file, u64 pgoff,
				      struct uanon_vma *anon, int anon_chain)
{
	(void)anon_chain;
	struct vmg g = {.prev = prev, .next = next, .start = start,
			.end = end, .pgoff = pgoff, .flags = flags,
			.file = file, .anon = anon};
	assert(start < end);
	if ((flags & VMLAB_VM_SPECIAL) || (!prev && !next))
		return NULL;
	bool left = can_merge_left(&g);
	bool right = can_merge_right(&g, left);
	if (!left && !right)
		return NULL;
	struct vmlab_vma *t;
	/* vma_expand(): the sticky flags of every VMA merged survive. */
	u64 sticky = (flags | (left ? prev->vm_flags : 0) |
		      (right ? next->vm_flags : 0)) & VM_STICKY;
	if (left) {
		t = prev;
		u64 new_end = end;
		if (right) {
			new_end = next->vm_end;
			dup_anon_vma(prev, next);
			vma_remove(mm, next);
		}
		t->vm_end = new_end;
	} else {
		t = next;
		t->vm_start = start;
		t->vm_pgoff = pgoff;
	}
	t->vm_flags |= sticky;
	vt_changed(mm, t);
	mm->ev.vma_merge++;
	vma_debug_check(mm);
	assert(t->vm_start <= start && end <= t->vm_end);
	return t;
}

/* A merge that also takes the copied_from rule (mremap's copy_vma). */
struct vmlab_vma *vma_merge_copied_range(struct vmlab_user_mm *mm,
					 struct vmlab_vma *src,
					 struct vmlab_vma *prev,
					 struct vmlab_vma *next, u64 start,
					 u64 end, u64 pgoff)
{
	struct vmg g = {.prev = prev, .next = next, .start = start,
			.end = end, .pgoff = pgoff, .flags = src->vm_flags,
			.file = src->file, .anon = src->anon_vma,
			.copied_from = src, .uffd = src->uffd_ctx};
	if ((g.flags & VMLAB_VM_SPECIAL) || (!prev && !next))
		return NULL;
	bool left = can_merge_left(&g);
	bool right = can_merge_right(&g, left);
	if (!left && !right)
		return NULL;
	struct vmlab_vma *t = left ? prev : next;
	u64 sticky = (g.flags | (left ? prev->vm_flags : 0) |
		      (right ? next->vm_flags : 0)) & VM_STICKY;
	assert(!next || next->vm_start >= end);
	/* The range brings src's anon_vma along; take it while src is
	 * alive (src may be the neighbour this merge removes). */
	dup_anon_vma(t, src);
	if (left && right) {
		u64 new_end = next->vm_end;
		dup_anon_vma(prev, next);
		vma_remove(mm, next);
		t->vm_end = new_end;
	} else if (left) {
		t->vm_end = end;
	} else {
		t->vm_start = start;
		t->vm_pgoff = pgoff;
	}
	t->vm_flags |= sticky;
	vt_changed(mm, t);
	mm->ev.vma_merge++;
	return t;
}

/*
 * vma_merge_existing_range(): [start, end) of middle gets g->flags; merge
 * it into prev and/or next when they match.  Returns the VMA now covering
 * the range, or NULL when no merge is possible.
 */
static struct vmlab_vma *merge_existing(struct vmlab_user_mm *mm,
					struct vmg *g)
{
	struct vmlab_vma *mid = g->middle;
	assert(mid->vm_start <= g->start && g->end <= mid->vm_end);
	bool left_side = g->start == mid->vm_start;
	bool right_side = g->end == mid->vm_end;
	if ((g->flags & VMLAB_VM_SPECIAL) || (!left_side && !right_side))
		return NULL;
	g->next = right_side ? mid->next : NULL;
	bool left = left_side && can_merge_left(g);
	bool right = right_side && can_merge_right(g, left);
	if (!left && !right)
		return NULL;
	bool remove_mid = left_side && right_side;
	struct vmlab_vma *prev = g->prev, *next = g->next, *t;
	/* vma_merge_existing_range(): sticky flags of the range and of the
	 * neighbours it merges with are kept (reported back in g->flags). */
	g->flags |= ((left ? prev->vm_flags : 0) |
		     (right ? next->vm_flags : 0)) & VM_STICKY;
	if (left && right) {
		/* prev grows over middle and next; both go. */
		u64 new_end = next->vm_end;
		dup_anon_vma(prev, next->anon_vma ? next : mid);
		vma_remove(mm, mid);
		vma_remove(mm, next);
		prev->vm_end = new_end;
		t = prev;
	} else if (left) {
		dup_anon_vma(prev, mid);
		if (remove_mid) {
			vma_remove(mm, mid);
		} else {
			mid->vm_pgoff += PAGES(g->end - mid->vm_start);
			mid->vm_start = g->end;
			vt_changed(mm, mid);
		}
		prev->vm_end = g->end;
		t = prev;
	} else {
		dup_anon_vma(next, mid);
		u64 pglen = PAGES(g->end - g->start);
		if (remove_mid) {
			u64 s = mid->vm_start;
			vma_remove(mm, mid);
			next->vm_start = s;
			next->vm_pgoff -= pglen;
		} else {
			mid->vm_end = g->start;
			vt_changed(mm, mid);
			next->vm_start = g->start;
			next->vm_pgoff = g->pgoff;
		}
		t = next;
	}
	vt_changed(mm, t);
	mm->ev.vma_merge++;
	vma_debug_check(mm);
	assert(!((t->vm_flags ^ g->flags) & ~VM_STICKY));
	return t;
}

struct vmlab_vma *vma_modify_flags(struct vmlab_user_mm *mm,
				   struct vmlab_vma *prev, struct vmlab_vma *v,
				   u64 start, u64 end, u64 newflags, int *err)
{
	assert(!prev || prev == v->prev || prev == v);
	(void)prev;
	return vma_modify_flags_uffd(mm, v, start, end, newflags, v->uffd_ctx,
				     err);
}

struct vmlab_vma *vma_modify_flags_uffd(struct vmlab_user_mm *mm,
					struct vmlab_vma *v, u64 start,
					u64 end, u64 newflags,
					struct vmlab_uffd *uffd, int *err)
{
	assert(v->vm_start <= start && end <= v->vm_end && start < end);
	assert(!uffd == !(newflags & VM_UFFD_FLAGS));
	*err = 0;
	struct vmg g = {.prev = start == v->vm_start ? v->prev : v,
			.middle = v, .start = start, .end = end,
			.pgoff = linear_page_index(v, start), .flags = newflags,
			.file = v->file, .anon = v->anon_vma, .uffd = uffd};
	struct vmlab_vma *merged = merge_existing(mm, &g);
	if (merged) {
		merged->vm_flags = g.flags; /* newflags and the sticky ones */
		merged->uffd_ctx = uffd;
		return merged;
	}
	if (v->vm_start < start) {
		*err = split_vma(mm, v, start, true, true);
		if (*err)
			return NULL;
	}
	if (v->vm_end > end) {
		*err = split_vma(mm, v, end, false, true);
		if (*err)
			return NULL;
	}
	v->vm_flags = newflags;
	v->uffd_ctx = uffd;
	assert(v->vm_start == start && v->vm_end == end);
	return v;
}

/* x86 protection_map: private writable mappings start read-only (COW). */
vmlab_pgprot_t vm_get_page_prot(u64 f)
{
	/* x86 has no write-only or exec-only pages: no VM_MAY* check here. */
	assert(!(f & VMLAB_VM_SHARED) || (f & VMLAB_VM_MAYSHARE));
	if (!(f & VM_ACCESS_FLAGS))
		return VMLAB_PAGE_NONE;
	vmlab_pgprot_t p = VMLAB_PAGE_PRESENT | VMLAB_PAGE_USER |
			   VMLAB_PAGE_ACCESSED;
	if ((f & VMLAB_VM_WRITE) && (f & VMLAB_VM_SHARED))
		p |= VMLAB_PAGE_RW;
	if (!(f & VMLAB_VM_EXEC))
		p |= VMLAB_PAGE_NX;
	return p;
}
