/* SPDX-License-Identifier: MIT */
/*
 * hugetlb in user mappings (mm/hugetlb.c, fs/hugetlbfs/inode.c, Linux
 * 6.18), for the one hstate the model has, 2 MiB: the machine's pool
 * (nr_hugepages, nr_overcommit_hugepages, /proc/meminfo's HugePages_Total,
 * _Free, _Rsvd, _Surp), MAP_HUGETLB's length and size checks, the
 * reservation made at mmap time (hugetlb_reserve_pages: ENOMEM when the
 * pool cannot back the mapping) and given back on unmap, the fault
 * (hugetlb_no_page, hugetlb_wp) mapping a whole 2 MiB page by one PMD
 * leaf, zap, change_protection and fork (copy_hugetlb_page_range), and
 * the free path back into the pool.  Sharing PMD tables between mms
 * (huge_pmd_share / huge_pmd_unshare) is hugetlb_share.c.
 *
 * The hugetlbfs inode of a MAP_HUGETLB mapping is a struct hugetlb_obj:
 * its reservation map (one flag per huge page: reserved and not yet
 * consumed) and, for shared mappings, its page cache.  A private
 * mapping's map belongs to the VMAs of the mm that made it
 * (HPAGE_RESV_OWNER); fork's child gets none.
 */
#include "user/swapops.h"

#define HPAGE_SIZE VMLAB_PMD_SIZE
/* folio_test_hugetlb_restore_reserve(): its free gives a reservation
 * back (the page of a private mapping's owner, zapped). */
#define PGP_RESTORE_RESERVE (1ULL << 4)
#define HUGE_SIZELOG_2MB 21 /* MAP_HUGE_2MB >> MAP_HUGE_SHIFT */

struct hugetlb_obj {
	int refs;    /* VMAs pointing at it */
	bool shared; /* VM_MAYSHARE: pages live in page[] */
	u64 nr;      /* huge-page indices [0, nr) */
	u8 *resv;    /* per index: a reservation not consumed yet */
	u64 *page;   /* shared: head pfn cached at the index, 0 none */
};

static struct hugetlb_pool *pool(struct vmlab_machine *m)
{
	struct user_svc *s = user_svc(m);
	assert(s && s->m == m);
	return &s->hp;
}

/* --------------------------------------------------------- the pool */

/* alloc_fresh_hugetlb_folio(): an order-9 block made a hugetlb folio. */
static int alloc_fresh(struct vmlab_machine *m, int cpu, u64 *pfn)
{
	if (vmlab_alloc_pages(m, cpu, HPAGE_PMD_ORDER, pfn))
		return -VMLAB_ENOMEM;
	assert(!(*pfn & (HPAGE_PMD_NR - 1)));
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		struct vmlab_page *pg = upage(m, *pfn + i);
		pg->owner = PG_OWNER_HUGETLB;
		pg->mapcount = 0;
		pg->private_ = 0;
	}
	struct vmlab_page *head = upage(m, *pfn);
	assert(head->refcount == 1 && head->order == HPAGE_PMD_ORDER);
	head->private_ = PGP_HUGETLB;
	return 0;
}

/* update_and_free_hugetlb_folio(): back to the buddy allocator. */
static void release_folio(struct vmlab_machine *m, int cpu, u64 pfn)
{
	struct vmlab_page *head = upage(m, pfn);
	(void)head; /* read by the assertions only */
	assert((head->private_ & PGP_HUGETLB) && head->mapcount == 0);
	assert(head->order == HPAGE_PMD_ORDER);
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		upage(m, pfn + i)->private_ = 0;
		upage(m, pfn + i)->owner = 0;
	}
	vmlab_free_pages(m, cpu, pfn, HPAGE_PMD_ORDER);
}

static int enqueue(struct hugetlb_pool *p, u64 pfn)
{
	assert(p->free <= p->cap && !(pfn & (HPAGE_PMD_NR - 1)));
	if (p->free == p->cap) {
		u64 cap = p->cap ? p->cap * 2 : 16;
		u64 *n = realloc(p->free_list, cap * sizeof(*n));
		if (!n)
			return -VMLAB_ENOMEM;
		p->free_list = n;
		p->cap = cap;
	}
	p->free_list[p->free++] = pfn;
	assert(p->free <= p->nr);
	return 0;
}

static u64 dequeue(struct hugetlb_pool *p)
{
	assert(p->free > 0);
	return p->free_list[--p->free];
}

void free_huge_folio(struct vmlab_machine *m, int cpu, u64 pfn)
{
	struct hugetlb_pool *p = pool(m);
	struct vmlab_page *head = upage(m, pfn);
	assert((head->private_ & PGP_HUGETLB) && head->refcount == 1);
	assert(p->free < p->nr);
	if (head->private_ & PGP_RESTORE_RESERVE)
		p->resv++;
	head->mapcount = 0;
	head->private_ = PGP_HUGETLB; /* no longer anon-exclusive */
	/* A surplus page is not kept: the pool shrinks back. */
	if (p->surplus || enqueue(p, pfn)) {
		if (p->surplus)
			p->surplus--;
		p->nr--;
		release_folio(m, cpu, pfn);
	}
}

/* alloc_surplus_hugetlb_folio(): a page beyond nr_hugepages, while
 * nr_overcommit_hugepages allows. */
static int alloc_surplus(struct vmlab_machine *m, int cpu, u64 *pfn)
{
	struct hugetlb_pool *p = pool(m);
	assert(p->surplus <= p->nr);
	if (p->surplus >= p->overcommit || alloc_fresh(m, cpu, pfn))
		return -VMLAB_ENOMEM;
	p->nr++;
	p->surplus++;
	return 0;
}

/* alloc_hugetlb_folio(): with the index's reservation, any free page;
 * without, one no reservation counts on, else a surplus page. */
static int alloc_hugetlb_folio(struct vmlab_machine *m, int cpu, bool resv,
			       u64 *pfn)
{
	struct hugetlb_pool *p = pool(m);
	assert(p->resv <= p->free);
	if (resv) {
		assert(p->resv > 0);
		p->resv--;
	} else if (p->free == p->resv) {
		return alloc_surplus(m, cpu, pfn) ? -VMLAB_ENOSPC : 0;
	}
	*pfn = dequeue(p);
	assert(upage(m, *pfn)->private_ == PGP_HUGETLB);
	return 0;
}

/* hugetlb_acct_memory(delta > 0) with gather_surplus_pages(). */
static int acct_reserve(struct vmlab_machine *m, u64 delta)
{
	struct hugetlb_pool *p = pool(m);
	assert(p->resv <= p->free && delta);
	u64 have = p->free - p->resv;
	if (delta > have) {
		u64 needed = delta - have, got = 0, pfn;
		if (p->surplus + needed > p->overcommit)
			return -VMLAB_ENOMEM;
		for (; got < needed; got++) {
			if (alloc_surplus(m, -1, &pfn))
				break;
			if (enqueue(p, pfn)) {
				p->nr--, p->surplus--;
				release_folio(m, -1, pfn);
				break;
			}
		}
		if (got < needed) {
			/* Hand back what was gathered. */
			for (; got; got--) {
				p->nr--, p->surplus--;
				release_folio(m, -1, dequeue(p));
			}
			return -VMLAB_ENOMEM;
		}
	}
	p->resv += delta;
	assert(p->resv <= p->free);
	return 0;
}

/* hugetlb_acct_memory(-n): return_unused_surplus_pages(). */
static void acct_unreserve(struct vmlab_machine *m, u64 n)
{
	struct hugetlb_pool *p = pool(m);
	assert(n <= p->resv);
	p->resv -= n;
	assert(p->resv <= p->free);
	for (; n && p->surplus && p->free > p->resv; n--) {
		p->nr--, p->surplus--;
		release_folio(m, -1, dequeue(p));
	}
}

int vmlab_user_set_nr_hugepages(struct vmlab_machine *m, u64 count)
{
	if (!m)
		return -VMLAB_EINVAL;
	struct hugetlb_pool *p = pool(m);
	assert(p->resv <= p->free && p->surplus <= p->nr);
	/* set_max_huge_pages(): surplus pages in use become persistent
	 * first, then fresh pages until count (as many as there is memory
	 * for; the write still succeeds). */
	while (p->surplus && count > p->nr - p->surplus)
		p->surplus--;
	while (count > p->nr - p->surplus) {
		u64 pfn;
		if (alloc_fresh(m, -1, &pfn))
			break;
		p->nr++;
		if (enqueue(p, pfn)) {
			p->nr--;
			release_folio(m, -1, pfn);
			break;
		}
	}
	/* Shrinking frees only pages neither used nor reserved; pages in
	 * use above count become surplus. */
	u64 min_count = p->resv + p->nr - p->free;
	if (min_count < count)
		min_count = count;
	while (min_count < p->nr - p->surplus && p->free > p->resv) {
		p->nr--;
		release_folio(m, -1, dequeue(p));
	}
	while (count < p->nr - p->surplus)
		p->surplus++;
	assert(p->resv <= p->free && p->free <= p->nr);
	return 0;
}

int vmlab_user_set_nr_overcommit_hugepages(struct vmlab_machine *m, u64 count)
{
	if (!m)
		return -VMLAB_EINVAL;
	pool(m)->overcommit = count;
	return 0;
}

int vmlab_user_hugetlb_meminfo(struct vmlab_machine *m,
			       struct vmlab_hugetlb_meminfo *out)
{
	if (!m || !out)
		return -VMLAB_EINVAL;
	const struct hugetlb_pool *p = pool(m);
	*out = (struct vmlab_hugetlb_meminfo){
		.total = p->nr, .free = p->free, .rsvd = p->resv,
		.surp = p->surplus, .overcommit = p->overcommit,
		.page_size = HPAGE_SIZE,
	};
	assert(out->rsvd <= out->free && out->free <= out->total);
	return 0;
}

void hugetlb_destroy(struct user_svc *s)
{
	struct hugetlb_pool *p = &s->hp;
	/* Every mapping went with its mm: no reservation is left. */
	assert(!p->resv && p->free == p->nr);
	while (p->free) {
		p->nr--;
		release_folio(s->m, -1, dequeue(p));
	}
	free(p->free_list);
	*p = (struct hugetlb_pool){0};
}

/* ------------------------------------------------- mmap, reservation */

u64 hugetlb_mmap_len(int flags, u64 len, int *err)
{
	/* hstate_sizelog(): 0 is the default hstate; only 2 MiB exists. */
	int log = (flags >> VMLAB_MAP_HUGE_SHIFT) & VMLAB_MAP_HUGE_MASK;
	assert(flags & VMLAB_MAP_HUGETLB);
	if (log && log != HUGE_SIZELOG_2MB) {
		*err = -VMLAB_EINVAL;
		return 0;
	}
	u64 r = (len + HPAGE_SIZE - 1) & HPAGE_PMD_MASK;
	if (r < len) {
		*err = -VMLAB_ENOMEM; /* ALIGN() wrapped: no such length */
		return 0;
	}
	*err = r ? 0 : -VMLAB_EINVAL;
	return r;
}

static struct hugetlb_obj *obj_new(u64 nr, bool shared)
{
	struct hugetlb_obj *o = calloc(1, sizeof(*o));
	assert(nr > 0);
	if (!o)
		return NULL;
	o->resv = calloc(nr ? nr : 1, 1);
	o->page = shared ? calloc(nr ? nr : 1, sizeof(u64)) : NULL;
	if (!o->resv || (shared && !o->page)) {
		free(o->resv);
		free(o->page);
		free(o);
		return NULL;
	}
	o->refs = 1;
	o->shared = shared;
	o->nr = nr;
	return o;
}

struct hugetlb_obj *hugetlb_reserve(struct vmlab_user_mm *mm, u64 pgoff,
				    u64 len, u64 vm_flags, int *err)
{
	assert(len && !(len & ~HPAGE_PMD_MASK));
	/* hugetlbfs_file_mmap(): the offset must be huge-page aligned. */
	if (pgoff & (HPAGE_PMD_NR - 1)) {
		*err = -VMLAB_EINVAL;
		return NULL;
	}
	u64 from = pgoff >> HPAGE_PMD_ORDER, n = len >> VMLAB_PMD_SHIFT;
	struct hugetlb_obj *o = obj_new(from + n, vm_flags & VMLAB_VM_MAYSHARE);
	if (!o) {
		*err = -VMLAB_ENOMEM;
		return NULL;
	}
	/* VM_NORESERVE (MAP_NORESERVE): faults take what is free. */
	if (!(vm_flags & VMLAB_VM_NORESERVE)) {
		*err = acct_reserve(mm->m, n);
		if (*err) {
			hugetlb_obj_put(mm->svc, o);
			return NULL;
		}
		memset(o->resv + from, 1, n);
	}
	*err = 0;
	assert(o->refs == 1 && o->nr == from + n);
	return o;
}

/* Reservations of indices [from, to) of o not consumed: given back. */
static void unreserve(struct user_svc *s, struct hugetlb_obj *o, u64 from,
		      u64 to)
{
	u64 n = 0;
	assert(from <= to && to <= o->nr);
	for (u64 i = from; i < to; i++) {
		n += o->resv[i];
		o->resv[i] = 0;
	}
	if (n)
		acct_unreserve(s->m, n);
}

void hugetlb_obj_put(struct user_svc *s, struct hugetlb_obj *o)
{
	assert(o && o->refs > 0);
	if (--o->refs)
		return;
	/* The inode goes (remove_inode_hugepages, hugetlb_unreserve_pages):
	 * its cached pages back to the pool, its reservations too. */
	for (u64 i = 0; o->page && i < o->nr; i++)
		if (o->page[i])
			page_put(s->m, -1, o->page[i]);
	unreserve(s, o, 0, o->nr);
	free(o->resv);
	free(o->page);
	free(o);
}

void hugetlb_vma_dup(struct vmlab_vma *n, const struct vmlab_vma *v, bool fork)
{
	assert(v->vm_flags & VMLAB_VM_HUGETLB);
	assert(!n->hugetlb);
	/* A private mapping's reservations stay with the mm that made it
	 * (reset_vma_resv_huge_pages() in the child). */
	if (!v->hugetlb || (fork && !v->hugetlb->shared))
		return;
	n->hugetlb = v->hugetlb;
	n->hugetlb->refs++;
	assert(n->hugetlb->refs > 1);
}

static u64 vma_hugecache_offset(const struct vmlab_vma *v, u64 addr)
{
	return ((addr - v->vm_start) >> VMLAB_PMD_SHIFT) +
	       (v->vm_pgoff >> HPAGE_PMD_ORDER);
}

void hugetlb_vma_close(struct vmlab_vma *v)
{
	struct hugetlb_obj *o = v->hugetlb;
	if (!o)
		return;
	assert(v->vm_flags & VMLAB_VM_HUGETLB);
	assert(vma_hugecache_offset(v, v->vm_end) <= o->nr);
	/* hugetlb_vm_op_close(): the owner's unused private reservations
	 * of this range go back (shared ones stay with the inode). */
	if (!o->shared)
		unreserve(v->mm->svc, o, vma_hugecache_offset(v, v->vm_start),
			  vma_hugecache_offset(v, v->vm_end));
	v->hugetlb = NULL;
	hugetlb_obj_put(v->mm->svc, o);
}

/* __walk_page_range(): a hugetlb VMA is walked only by a hugetlb_entry,
 * which the model's walks do not have; the install_pte walk leaves it
 * alone ("We do not support hugetlb at this stage"). */
u64 hugetlb_walk_skip(struct vmlab_mm *hw, u64 va, u64 end, bool *skip)
{
	struct vmlab_user_mm *mm = hw->owner;
	assert(mm && mm->magic == USER_MM_MAGIC && va < end);
	struct vmlab_vma *v = find_vma(mm, va);
	*skip = v && v->vm_start <= va && (v->vm_flags & VMLAB_VM_HUGETLB);
	if (*skip)
		return v->vm_end < end ? v->vm_end : end;
	for (; v && v->vm_start < end; v = v->next)
		if (v->vm_flags & VMLAB_VM_HUGETLB)
			return v->vm_start;
	return end;
}

/* ------------------------------------------------------------ faults */

static void set_pmd(struct vmlab_user_mm *mm, u64 haddr, vmlab_ptep_t pmdp,
		    u64 e)
{
	vmlab_set_entry(mm->m, mm->hw, haddr, VMLAB_LVL_PMD, pmdp, e);
}

static void clear_huge_page(struct vmlab_machine *m, u64 pfn)
{
	for (u64 i = 0; i < HPAGE_PMD_NR; i++)
		clear_user_frame(m, pfn + i);
}

/* hugetlb_no_page(): the page cache's page (shared) or a new one. */
static int hugetlb_no_page(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   int cpu, u64 haddr, bool write, vmlab_ptep_t pmdp)
{
	struct vmlab_machine *m = mm->m;
	struct hugetlb_obj *o = v->hugetlb;
	u64 idx = vma_hugecache_offset(v, haddr), pfn = 0;
	bool shared = v->vm_flags & VMLAB_VM_MAYSHARE;
	assert(!shared || (o && idx < o->nr));
	if (shared && o->page[idx]) {
		pfn = o->page[idx];
		upage(m, pfn)->refcount++;
	} else {
		bool resv = o && idx < o->nr && o->resv[idx];
		/* No page and none reserved: -ENOSPC is SIGBUS. */
		if (alloc_hugetlb_folio(m, cpu, resv, &pfn))
			return VMLAB_SIGBUS;
		if (resv)
			o->resv[idx] = 0;
		clear_huge_page(m, pfn);
		if (shared) {
			o->page[idx] = pfn; /* the cache's reference */
			upage(m, pfn)->refcount++;
		} else {
			upage(m, pfn)->private_ |= PGP_ANON_EXCLUSIVE;
		}
	}
	struct vmlab_page *head = upage(m, pfn);
	assert((head->private_ & PGP_HUGETLB) && head->refcount > head->mapcount);
	head->mapcount++;
	/* make_huge_pte(): writable if shared; a private write fault gets
	 * its new exclusive page writable at once (hugetlb_wp reuse). */
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	if (write)
		prot |= VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY;
	if (shared)
		mm->ev.fault_file++;
	else
		mm->ev.fault_anon++;
	set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, pfn, prot));
	return 0;
}

/* hugetlb_wp(): a write to a read-only huge PMD of a writable VMA. */
static int hugetlb_wp(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		      u64 haddr, vmlab_ptep_t pmdp,
		      const struct vmlab_pte_info *in)
{
	struct vmlab_machine *m = mm->m;
	struct vmlab_page *old = upage(m, in->pfn);
	vmlab_pgprot_t wprot = vm_get_page_prot(v->vm_flags) | VMLAB_PAGE_RW |
			       VMLAB_PAGE_DIRTY;
	assert((v->vm_flags & VMLAB_VM_WRITE) && (old->private_ & PGP_HUGETLB));
	if ((v->vm_flags & VMLAB_VM_SHARED) ||
	    (old->private_ & PGP_ANON_EXCLUSIVE) ||
	    (old->refcount == 1 && old->mapcount == 1)) {
		/* Ours alone (or shared memory): write in place. */
		if (!(v->vm_flags & VMLAB_VM_SHARED))
			old->private_ |= PGP_ANON_EXCLUSIVE;
		set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, in->pfn, wprot));
		if (!m->arch->spurious_fault_ok)
			flush_pmd_range(mm, cpu, haddr);
		mm->ev.fault_reuse++;
		return 0;
	}
	/* COW into a page no reservation counts on (the owner stealing the
	 * page back from its children, unmap_ref_private, is not modelled:
	 * no page is SIGBUS for everyone). */
	u64 pfn;
	if (alloc_hugetlb_folio(m, cpu, false, &pfn))
		return VMLAB_SIGBUS;
	for (u64 i = 0; i < HPAGE_PMD_NR; i++)
		copy_page_content(m, pfn + i, in->pfn + i);
	struct vmlab_page *n = upage(m, pfn);
	assert(n->refcount == 1 && !n->mapcount);
	n->private_ |= PGP_ANON_EXCLUSIVE;
	n->mapcount = 1;
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, haddr, haddr + HPAGE_SIZE);
	user_ptl(mm, true);
	set_pmd(mm, haddr, pmdp, 0); /* huge_ptep_clear_flush() */
	flush_pmd_range(mm, cpu, haddr);
	set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, pfn, wprot));
	user_ptl(mm, false);
	user_mn_end(&r);
	assert(old->mapcount > 0);
	old->mapcount--;
	page_put(m, cpu, in->pfn);
	mm->ev.fault_cow++;
	return 0;
}

int hugetlb_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		  u64 addr, bool write)
{
	struct vmlab_machine *m = mm->m;
	u64 haddr = addr & HPAGE_PMD_MASK;
	vmlab_ptep_t pmdp;
	assert(v->vm_flags & VMLAB_VM_HUGETLB);
	assert(haddr >= v->vm_start && haddr + HPAGE_SIZE <= v->vm_end);
	if (huge_pte_alloc(mm, v, haddr, &pmdp))
		return VMLAB_SIGKILL;
	u64 e = vmlab_get_entry(m, pmdp);
	if (!e)
		return hugetlb_no_page(mm, v, cpu, haddr, write, pmdp);
	struct vmlab_pte_info in;
	if (!pmd_trans_huge(m, e, &in)) {
		vmlab_warn(m, "hugetlb: non-huge pmd %#llx at %#llx",
			   (unsigned long long)e, (unsigned long long)haddr);
		return VMLAB_SIGBUS;
	}
	if (write && (in.kind == VMLAB_PTE_PROTNONE ||
		      !(in.prot & VMLAB_PAGE_RW)))
		return hugetlb_wp(mm, v, cpu, haddr, pmdp, &in);
	if (in.kind == VMLAB_PTE_PROTNONE) {
		/* An accessible VMA over a PROT_NONE entry: restore it. */
		vmlab_pgprot_t np = vm_get_page_prot(v->vm_flags) |
				    (in.prot & (VMLAB_PAGE_DIRTY | PAGE_SOFT_DIRTY));
		set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, in.pfn, np));
		return 0;
	}
	/* huge_ptep_set_access_flags() */
	vmlab_pgprot_t np = in.prot | VMLAB_PAGE_ACCESSED |
			    (write ? VMLAB_PAGE_DIRTY : 0);
	if (np != in.prot) {
		mm->ev.fault_young++;
		set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, in.pfn, np));
	}
	return 0;
}

/* ------------------------------------------------------ hole punch */

/* Zero [from, to) (page aligned) of the cached page at idx, if any
 * (hugetlbfs_zero_partial_page()). */
static void zero_partial(struct vmlab_machine *m, struct hugetlb_obj *o,
			 u64 from, u64 to)
{
	u64 idx = from >> VMLAB_PMD_SHIFT;
	assert(from < to && ((to - 1) >> VMLAB_PMD_SHIFT) == idx);
	if (idx >= o->nr || !o->page[idx])
		return;
	for (u64 a = from; a < to; a += VMLAB_PAGE_SIZE)
		clear_user_frame(m, o->page[idx] + PAGES(a & ~HPAGE_PMD_MASK));
}

/* hugetlb_vmdelete_list(): huge page idx unmapped from every mapping of
 * o, in whichever mm. */
static void unmap_index(struct user_svc *s, struct hugetlb_obj *o, u64 idx)
{
	for (struct vmlab_user_mm *mm = s->mms; mm; mm = mm->next)
		for (struct vmlab_vma *v = mm->first; v; v = v->next) {
			if (v->hugetlb != o)
				continue;
			u64 first = v->vm_pgoff >> HPAGE_PMD_ORDER;
			u64 n = (v->vm_end - v->vm_start) >> VMLAB_PMD_SHIFT;
			if (idx < first || idx >= first + n)
				continue;
			u64 h = v->vm_start + ((idx - first) << VMLAB_PMD_SHIFT);
			struct ugather g;
			ug_init(&g, mm, user_cpu(mm));
			hugetlb_zap_range(&g, v, h, h + HPAGE_SIZE);
			ug_finish(&g);
		}
}

int hugetlb_punch_hole(struct vmlab_vma *v, u64 start, u64 end)
{
	struct hugetlb_obj *o = v->hugetlb;
	struct user_svc *s = v->mm->svc;
	assert(o && o->shared && start < end);
	assert(v->vm_start <= start && end <= v->vm_end);
	/* hugetlbfs_punch_hole(): whole huge pages go, the rest of the
	 * range is zeroed in place. */
	u64 off = (start - v->vm_start) + (v->vm_pgoff << VMLAB_PAGE_SHIFT);
	u64 oend = off + (end - start);
	u64 hs = (off + HPAGE_SIZE - 1) & HPAGE_PMD_MASK;
	u64 he = oend & HPAGE_PMD_MASK;
	if (hs > he) { /* inside one huge page */
		zero_partial(s->m, o, off, oend);
		return 0;
	}
	if (off < hs)
		zero_partial(s->m, o, off, hs);
	if (he < oend)
		zero_partial(s->m, o, he, oend);
	u64 unreserved = 0, last = he >> VMLAB_PMD_SHIFT;
	for (u64 idx = hs >> VMLAB_PMD_SHIFT; idx < last && idx < o->nr; idx++) {
		unmap_index(s, o, idx);
		if (o->page[idx]) {
			u64 pfn = o->page[idx];
			o->page[idx] = 0;
			assert(upage(s->m, pfn)->mapcount == 0);
			page_put(s->m, -1, pfn); /* the cache's reference */
		}
		unreserved += o->resv[idx];
		o->resv[idx] = 0;
	}
	if (unreserved) /* hugetlb_unreserve_pages() */
		acct_unreserve(s->m, unreserved);
	return 0;
}

/* ------------------------------------------- zap, protect and fork */

/* The huge PMD leaf at haddr, or false. */
static bool huge_leaf(struct vmlab_user_mm *mm, u64 haddr, vmlab_ptep_t *pmdp,
		      struct vmlab_pte_info *in)
{
	if (vmlab_lookup_entry(mm->m, mm->hw, haddr, VMLAB_LVL_PMD, pmdp))
		return false;
	u64 e = vmlab_get_entry(mm->m, *pmdp);
	return e && pmd_trans_huge(mm->m, e, in);
}

void hugetlb_zap_range(struct ugather *g, struct vmlab_vma *v, u64 start,
		       u64 end)
{
	struct vmlab_user_mm *mm = g->mm;
	/* Every caller works on whole huge pages (may_split, DONTNEED's
	 * rounding). */
	assert(!((start | end) & ~HPAGE_PMD_MASK));
	assert(v->vm_start <= start && end <= v->vm_end);
	for (u64 h = start; h < end; h += HPAGE_SIZE) {
		vmlab_ptep_t pmdp;
		struct vmlab_pte_info in;
		/* A table shared with another mm is unlinked whole, its
		 * entries left to the others (huge_pmd_unshare). */
		if (huge_pmd_unshare(mm, v, h)) {
			hugetlb_unshare_flush(g, h);
			h = (h | (VMLAB_PUD_SIZE - 1)) + 1 - HPAGE_SIZE;
			continue;
		}
		if (!huge_leaf(mm, h, &pmdp, &in))
			continue;
		set_pmd(mm, h, pmdp, 0);
		if (in.kind == VMLAB_PTE_LEAF)
			ug_add_range_pmd(g, h);
		struct vmlab_page *head = upage(mm->m, in.pfn);
		assert((head->private_ & PGP_HUGETLB) && head->mapcount > 0);
		head->mapcount--;
		/* __unmap_hugepage_range() (6.9+): the owner's private page
		 * gets its reservation back, so no one else can take the
		 * page a refault needs (unless the pool has surplus pages).
		 * Only when this is the last reference here: a page a fork
		 * child still maps keeps the reservation consumed. */
		struct hugetlb_obj *o = v->hugetlb;
		if (o && !o->shared && !mm->svc->hp.surplus &&
		    head->refcount == 1) {
			head->private_ |= PGP_RESTORE_RESERVE;
			o->resv[vma_hugecache_offset(v, h)] = 1;
		}
		/* Freed into the pool after the flush (tlb_finish_mmu). */
		ug_put_page(g, in.pfn);
	}
}

void hugetlb_change_protection(struct ugather *g, struct vmlab_vma *v,
			       u64 start, u64 end)
{
	struct vmlab_user_mm *mm = g->mm;
	vmlab_pgprot_t newprot = vm_get_page_prot(v->vm_flags);
	assert(!((start | end) & ~HPAGE_PMD_MASK));
	assert(v->vm_start <= start && end <= v->vm_end);
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_PROTECTION_VMA, start, end);
	for (u64 h = start; h < end; h += HPAGE_SIZE) {
		vmlab_ptep_t pmdp;
		struct vmlab_pte_info in;
		/* The other mms keep their protection: this one unlinks the
		 * shared table and refaults into a table of its own. */
		if (huge_pmd_unshare(mm, v, h)) {
			hugetlb_unshare_flush(g, h);
			h = (h | (VMLAB_PUD_SIZE - 1)) + 1 - HPAGE_SIZE;
			continue;
		}
		if (!huge_leaf(mm, h, &pmdp, &in))
			continue;
		/* huge_pte_modify(): a private page comes back read-only and
		 * a write reuses it (hugetlb_wp). */
		u64 e = vmlab_get_entry(mm->m, pmdp);
		u64 ne = mk_huge_pmd(mm->m, in.pfn,
				     newprot | (in.prot & (VMLAB_PAGE_DIRTY |
							   PAGE_SOFT_DIRTY)));
		if (ne == e)
			continue;
		set_pmd(mm, h, pmdp, ne);
		if (vmlab_pte_needs_flush(mm->m, e, ne))
			ug_add_range_pmd(g, h);
	}
	user_mn_end(&r);
}

int copy_hugetlb_page_range(struct vmlab_user_mm *dst, struct vmlab_vma *dv,
			    struct vmlab_user_mm *src, struct vmlab_vma *sv)
{
	struct vmlab_machine *m = src->m;
	bool cow = (sv->vm_flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE)) ==
		   VMLAB_VM_MAYWRITE;
	(void)dv; /* read by the assertion only */
	assert(dv->vm_start == sv->vm_start && dv->vm_end == sv->vm_end);
	assert(dv->mm == dst && (sv->vm_flags & VMLAB_VM_HUGETLB));
	struct vmlab_mmu_notifier_range r;
	if (cow)
		user_mn_start(src, &r, VMLAB_MMU_NOTIFY_PROTECTION_PAGE,
			      sv->vm_start, sv->vm_end);
	int err = 0;
	for (u64 h = sv->vm_start; h < sv->vm_end && !err; h += HPAGE_SIZE) {
		vmlab_ptep_t sp, dp;
		struct vmlab_pte_info in;
		if (!huge_leaf(src, h, &sp, &in))
			continue;
		if (huge_pte_alloc(dst, dv, h, &dp)) {
			err = -VMLAB_ENOMEM;
			break;
		}
		/* The child links the parent's table: nothing to copy. */
		if (hugetlb_pmd_shared(dst, h)) {
			h = (h | (VMLAB_PUD_SIZE - 1)) + 1 - HPAGE_SIZE;
			continue;
		}
		struct vmlab_page *head = upage(m, in.pfn);
		assert(head->private_ & PGP_HUGETLB);
		head->refcount++;
		head->mapcount++;
		vmlab_pgprot_t cp = in.prot & ~VMLAB_PAGE_ACCESSED;
		if (cow) {
			/* Both sides read-only until a write copies. */
			head->private_ &= ~PGP_ANON_EXCLUSIVE;
			if (in.prot & VMLAB_PAGE_RW)
				set_pmd(src, h, sp,
					mk_huge_pmd(m, in.pfn,
						    in.prot & ~VMLAB_PAGE_RW));
			cp &= ~VMLAB_PAGE_RW;
		}
		vmlab_set_entry(m, dst->hw, h, VMLAB_LVL_PMD, dp,
				mk_huge_pmd(m, in.pfn, cp));
	}
	/* dup_mmap() flushes the parent's whole mm afterwards. */
	if (cow)
		user_mn_end(&r);
	return err;
}
