/* SPDX-License-Identifier: MIT */
/*
 * fork() (kernel/fork.c dup_mmap(), mm/memory.c copy_page_range()):
 * VM_DONTCOPY VMAs stay behind, VM_WIPEONFORK VMAs arrive empty, locks
 * are not inherited, and page tables are copied only where a fault could
 * not rebuild them (the VMA has an anon_vma, or VM_COPY_ON_FORK flags:
 * VM_MAYBE_GUARD, which guard-marker install sets, VM_PFNMAP, VM_MIXEDMAP).  Private writable pages become read-only in both and are
 * shared until the first write; guard and poison markers are copied.  The
 * parent's TLB is flushed once at the end (flush_tlb_mm()).
 */
#include "user/swapops.h"

static bool is_cow_mapping(u64 flags)
{
	return (flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE)) ==
	       VMLAB_VM_MAYWRITE;
}

struct copy_ctx {
	struct vmlab_user_mm *dst;
	struct vmlab_vma *dv, *sv;
	/* The child's PTE table for the 2 MiB range being copied, once
	 * allocated (copy_pte_range() allocates it once per PMD, not per
	 * entry): 0 until the range's first entry to copy. */
	u64 dst_table;
	int err;
};

/* The remembered table is the one a walk of the child finds. */
static inline bool walks_to(struct vmlab_user_mm *mm, u64 va, vmlab_ptep_t dp)
{
	vmlab_ptep_t p;
	return upte_lookup(mm, va, &p) == 0 && p == dp;
}

static int copy_one(struct copy_ctx *c, struct vmlab_user_mm *src, u64 va,
		    vmlab_ptep_t sp, u64 e)
{
	struct vmlab_machine *m = src->m;
	struct vmlab_user_mm *dst = c->dst;
	assert(e && dst != src);
	assert(c->sv->vm_start <= va && va < c->sv->vm_end);
	struct vmlab_pte_info in;
	m->arch->decode(e, VMLAB_LVL_PTE, &in);
	if (is_device_exclusive_entry(&in)) {
		/* copy_nonpresent_pte(): try_restore_exclusive_pte(), then
		 * copy it as the present PTE it was. */
		restore_exclusive_pte(src, c->sv, va, sp, &in);
		e = upte_get(src, sp);
		m->arch->decode(e, VMLAB_LVL_PTE, &in);
	}
	u64 ne = e;
	switch (in.kind) {
	case VMLAB_PTE_LEAF:
	case VMLAB_PTE_PROTNONE: {
		vmlab_pgprot_t cp = in.prot & ~VMLAB_PAGE_ACCESSED;
		if (!is_zero_pfn(src, in.pfn) &&
		    !(c->sv->vm_flags & VMLAB_VM_PFNMAP)) {
			struct vmlab_page *pg = mapped_upage(m, in.pfn);
			if (!pg) { /* print_bad_pte(): the child gets none */
				vmlab_warn(m, "BUG: Bad page map: pte %#llx at "
					      "%#llx (fork)",
					   (unsigned long long)e,
					   (unsigned long long)va);
				return 0;
			}
			page_get(m, in.pfn);
			pg->mapcount++;
			pg->private_ &= ~PGP_ANON_EXCLUSIVE;
			rss_add(dst, in.pfn, 1);
		}
		if (is_cow_mapping(c->sv->vm_flags) && (in.prot & VMLAB_PAGE_RW)) {
			/* Both sides read-only: the first write copies. */
			upte_set(src, va, sp,
				 mk_upte(m, in.pfn, in.prot & ~VMLAB_PAGE_RW));
			cp &= ~VMLAB_PAGE_RW;
		}
		if (c->sv->vm_flags & VMLAB_VM_SHARED)
			cp &= ~VMLAB_PAGE_DIRTY;
		ne = mk_upte(m, in.pfn, cp);
		break;
	}
	case VMLAB_PTE_SWAP:
		if (!swap_dup(src->svc, in.swp_offset))
			return 0; /* a bad swap entry: the child gets none */
		dst->swap_ents++;
		break;
	case VMLAB_PTE_MARKER: {
		/* copy_pte_marker(): guard and poison always, uffd-wp only
		 * into a uffd-wp VMA (never here). */
		u32 keep = in.marker & (VMLAB_PTE_MARKER_GUARD |
					VMLAB_PTE_MARKER_POISONED);
		if (!keep)
			return 0;
		ne = vmlab_mk_marker(m, keep);
		break;
	}
	default:
		return 0;
	}
	vmlab_ptep_t dp;
	if (c->dst_table) {
		dp = entry_addr(c->dst_table, va, VMLAB_LVL_PTE);
	} else {
		if (upte_alloc(dst, va, &dp))
			return -VMLAB_ENOMEM;
		c->dst_table = dp >> VMLAB_PAGE_SHIFT;
	}
	assert(!VMLAB_DEBUG_CHECKS || walks_to(dst, va, dp));
	assert(!upte_get(dst, dp));
	upte_set(dst, va, dp, ne);
	return 0;
}

static int copy_table(struct vmlab_user_mm *src, u64 table, vmlab_ptep_t pmdp,
		      u64 lo, u64 hi, void *arg)
{
	struct copy_ctx *c = arg;
	(void)pmdp;
	assert(lo < hi && hi - lo <= VMLAB_PMD_SIZE);
	assert(!c->err);
	c->dst_table = 0; /* another PMD: another child table */
	const u64 *ents = upt_entries(src, table);
	for (u64 va = lo; va < hi; va += VMLAB_PAGE_SIZE) {
		u64 e = upt_entry(src, ents, table, va);
		if (!e)
			continue;
		c->err = copy_one(c, src, va,
				  entry_addr(table, va, VMLAB_LVL_PTE), e);
		if (c->err)
			return 1;
	}
	return 0;
}

static int copy_pmd(struct vmlab_user_mm *src, vmlab_ptep_t pmdp, u64 e,
		    u64 lo, u64 hi, void *arg)
{
	struct copy_ctx *c = arg;
	assert(!c->err && lo < hi);
	/* A huge PMD lies wholly inside its VMA: copied as one. */
	if (hi - lo != VMLAB_PMD_SIZE)
		return PT_SPLIT;
	c->err = copy_huge_pmd(c->dst, src, c->sv, pmdp, e, lo, NULL);
	return c->err ? 1 : 0;
}

int copy_page_range(struct vmlab_user_mm *dst, struct vmlab_vma *dv,
		    struct vmlab_user_mm *src, struct vmlab_vma *sv,
		    struct ugather *src_g)
{
	(void)src_g;
	assert(dv->vm_start == sv->vm_start && dv->vm_end == sv->vm_end);
	assert(!(sv->vm_flags & VMLAB_VM_WIPEONFORK) && dv->mm == dst);
	/* hugetlb page tables are always copied. */
	if (sv->vm_flags & VMLAB_VM_HUGETLB)
		return copy_hugetlb_page_range(dst, dv, src, sv);
	/* vma_needs_copy(): the child's VM_COPY_ON_FORK flags (guard markers
	 * may be there: VM_MAYBE_GUARD) or the parent's anon_vma; faults
	 * rebuild everything else. */
	if (!(dv->vm_flags & VM_COPY_ON_FORK) && !sv->anon_vma)
		return 0;
	struct copy_ctx c = {.dst = dst, .dv = dv, .sv = sv};
	/* copy_page_range(): a COW mapping's parent PTEs get write-protected,
	 * so secondary MMUs hear PROTECTION_PAGE around the copy. */
	bool is_cow = (sv->vm_flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE)) ==
		      VMLAB_VM_MAYWRITE;
	struct vmlab_mmu_notifier_range r;
	if (is_cow)
		user_mn_start(src, &r, VMLAB_MMU_NOTIFY_PROTECTION_PAGE,
			      sv->vm_start, sv->vm_end);
	for_each_pmd(src, sv->vm_start, sv->vm_end, copy_table, copy_pmd, &c);
	if (is_cow)
		user_mn_end(&r);
	return c.err;
}

int vmlab_fork(struct vmlab_user_mm *mm, struct vmlab_user_mm **child)
{
	if (!mm || mm->magic != USER_MM_MAGIC || !child)
		return -VMLAB_EINVAL;
	user_enter(mm, "fork");
	int err;
	struct vmlab_user_mm *c = user_mm_alloc(mm->svc, &err);
	if (!c)
		return err;
	/* dup_mmap(): the parent's mmap_lock for writing (killable), each
	 * VMA write-locked, the child's lock nested inside. */
	if (mmap_write_lock_killable(mm)) {
		vmlab_user_mm_destroy(c);
		return -VMLAB_EINTR;
	}
	vma_start_write_all(mm);
	mmap_write_lock(c);
	struct vmlab_user_layout layout;
	vmlab_user_get_layout(mm, &layout);
	int lerr = vmlab_user_set_layout(c, &layout);
	assert(lerr == 0);
	(void)lerr;
	c->cpu = mm->cpu;
	c->thp_disable = mm->thp_disable; /* MMF_DISABLE_THP is inherited */
	assert(c != mm && !c->map_count && c->svc == mm->svc);
	/* copy_files() and the credentials: descriptors and capabilities. */
	err = pidfd_dup_table(c, mm);
	struct vmlab_uffd *uf = NULL;
	for (struct vmlab_vma *v = mm->first; v && !err; v = v->next) {
		if (v->vm_flags & VMLAB_VM_DONTCOPY)
			continue;
		struct vmlab_vma *n = vma_alloc(c);
		if (!n) {
			err = -VMLAB_ENOMEM;
			break;
		}
		n->vm_start = v->vm_start;
		n->vm_end = v->vm_end;
		n->vm_pgoff = v->vm_pgoff;
		n->vm_flags = v->vm_flags & ~VM_LOCKED_MASK;
		/* dup_userfaultfd(): a context of the child's, or none. */
		err = dup_userfaultfd(n, v, &uf);
		if (err) {
			vma_link(c, n);
			break;
		}
		if (v->file) {
			n->file = v->file;
			file_get(n->file);
		}
		if (v->vm_flags & VMLAB_VM_HUGETLB)
			hugetlb_vma_dup(n, v, true);
		if (v->anon_vma && !(v->vm_flags & VMLAB_VM_WIPEONFORK)) {
			/* anon_vma_fork(): the parent's chain plus our own. */
			struct uanon_vma *av = calloc(1, sizeof(*av));
			if (!av) {
				vma_link(c, n);
				err = -VMLAB_ENOMEM;
				break;
			}
			av->id = ++mm->svc->next_anon_id;
			vma_set_anon(n, av, v->anon_chain + 1);
		}
		vma_link(c, n);
		if (!(v->vm_flags & VMLAB_VM_WIPEONFORK))
			err = copy_page_range(c, n, mm, v, NULL);
	}
	/* The parent's writable entries went read-only: flush_tlb_mm(). */
	if (!vmlab_mutant(mm->m, VMLAB_MUT_FORK_NO_FLUSH))
		user_flush_tlb_mm_range(mm, 0, VMLAB_TLB_FLUSH_ALL);
	mmap_write_unlock(c);
	mmap_write_unlock(mm);
	/* dup_userfaultfd_complete(): the fork events, locks dropped. */
	dup_userfaultfd_complete(mm, uf, err != 0);
	if (err) {
		vmlab_user_mm_destroy(c);
		return err;
	}
	assert(c->map_count <= mm->map_count);
	*child = c;
	return 0;
}
