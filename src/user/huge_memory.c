/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages in user mappings (mm/huge_memory.c): the
 * transparent_hugepage settings and prctl(PR_SET_THP_DISABLE), which VMAs
 * may have THP (thp_vma_allowable_order), the PMD-level fault
 * (do_huge_pmd_anonymous_page with the huge zero page, do_huge_pmd_wp_page,
 * huge_pmd_set_accessed), split_huge_pmd (pmdp_invalidate, flush, a PTE
 * table of the same pages), zap_huge_pmd, change_huge_pmd, copy_huge_pmd,
 * and the thp_* counters of /proc/vmstat.
 *
 * Folio model: a PMD-mapped THP is an order-9 block whose head page
 * (PGP_THP) carries the refcount and mapcount of the whole folio.  The
 * first split of its PMD in any mm splits the folio as well (each page
 * then counts for itself); a PMD of another mm still mapping it is then a
 * huge mapping of 512 ordinary pages, handled page by page.
 */
#include "user/swapops.h"

/* ---------------------------------------------------------- settings */

int vmlab_user_set_thp(struct vmlab_machine *m, int mode)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s || mode < VMLAB_THP_ALWAYS || mode > VMLAB_THP_NEVER)
		return -VMLAB_EINVAL;
	s->thp_enabled = mode;
	assert(s->thp_enabled == mode);
	return 0;
}

int vmlab_user_get_thp(struct vmlab_machine *m)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	return s ? s->thp_enabled : -VMLAB_EINVAL;
}

int vmlab_user_set_thp_zero_page(struct vmlab_machine *m, bool on)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s)
		return -VMLAB_EINVAL;
	s->thp_use_zero_page = on;
	return 0;
}

int vmlab_prctl_set_thp_disable(struct vmlab_user_mm *mm, bool disable)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	user_enter(mm, "prctl");
	mm->thp_disable = disable;
	return 0;
}

int vmlab_prctl_get_thp_disable(const struct vmlab_user_mm *mm)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	return mm->thp_disable;
}

void vmlab_user_thp_vmstat(struct vmlab_machine *m,
			   struct vmlab_thp_vmstat *out)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	assert(out);
	*out = s ? s->thp : (struct vmlab_thp_vmstat){0};
}

void thp_destroy(struct user_svc *s)
{
	assert(s && !s->huge_zero_maps);
	if (!s->huge_zero_pfn)
		return;
	upage(s->m, s->huge_zero_pfn)->private_ = 0;
	vmlab_free_pages(s->m, -1, s->huge_zero_pfn, HPAGE_PMD_ORDER);
	s->huge_zero_pfn = 0;
}

/* ------------------------------------------------------ eligibility */

bool thp_vma_allowable(const struct vmlab_vma *v, enum tva_type type)
{
	const struct user_svc *s = v->mm->svc;
	(void)s; /* read by the assertions only */
	assert(v && v->mm && s);
	/* Anonymous private memory only (shmem: shmem_thp.c). */
	if (!vma_is_anonymous(v) || (v->vm_flags & VMLAB_VM_SHARED))
		return false;
	/* vma_thp_disabled(): VM_NOHUGEPAGE, MMF_DISABLE_THP; special and
	 * hugetlb VMAs never. */
	if (v->vm_flags & (VMLAB_VM_NOHUGEPAGE | VMLAB_VM_SPECIAL |
			   VMLAB_VM_HUGETLB))
		return false;
	if (v->mm->thp_disable)
		return false;
	/* Some PMD-aligned 2 MiB must fit in the VMA. */
	u64 h = (v->vm_start + VMLAB_PMD_SIZE - 1) & HPAGE_PMD_MASK;
	if (h < v->vm_start || !thp_vma_suitable(v, h))
		return false;
	/* MADV_COLLAPSE ignores the sysfs mode (TVA_FORCED_COLLAPSE). */
	if (type == TVA_FORCED_COLLAPSE)
		return true;
	assert(s->thp_enabled >= VMLAB_THP_ALWAYS &&
	       s->thp_enabled <= VMLAB_THP_NEVER);
	/* hugepages-2048kB/enabled, which inherits the global mode unless
	 * set (mthp.c). */
	return thp_order_enabled(v, HPAGE_PMD_ORDER);
}

bool pmd_trans_huge(struct vmlab_machine *m, u64 e, struct vmlab_pte_info *in)
{
	assert(in);
	m->arch->decode(e, VMLAB_LVL_PMD, in);
	/* A PROT_NONE entry is not present to the hardware (no large bit
	 * to it), but at the PMD level it can only be a huge leaf. */
	if (in->kind == VMLAB_PTE_PROTNONE)
		return true;
	return in->kind == VMLAB_PTE_LEAF && m->arch->is_large(e, VMLAB_LVL_PMD);
}

bool is_huge_zero_pfn(const struct vmlab_user_mm *mm, u64 pfn)
{
	return mm->svc->huge_zero_pfn && pfn == mm->svc->huge_zero_pfn;
}

int vmlab_user_thp_mapped(struct vmlab_user_mm *mm, u64 addr)
{
	if (!mm || mm->magic != USER_MM_MAGIC || addr >= TASK_SIZE_OF(mm))
		return -VMLAB_EINVAL;
	vmlab_ptep_t pmdp;
	struct vmlab_pte_info in;
	if (vmlab_lookup_entry(mm->m, mm->hw, addr, VMLAB_LVL_PMD, &pmdp))
		return 0;
	return pmd_trans_huge(mm->m, vmlab_get_entry(mm->m, pmdp), &in);
}

u64 mk_huge_pmd(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot)
{
	assert(!(pfn & (HPAGE_PMD_NR - 1)));
	assert(prot & (VMLAB_PAGE_USER | VMLAB_PAGE_PROTNONE));
	return vmlab_mk_leaf(m, pfn, prot & ~VMLAB_PAGE_PSE, VMLAB_LVL_PMD);
}

static void set_pmd(struct vmlab_user_mm *mm, u64 haddr, vmlab_ptep_t pmdp,
		    u64 e)
{
	vmlab_set_entry(mm->m, mm->hw, haddr, VMLAB_LVL_PMD, pmdp, e);
}

/* flush_pmd_tlb_range() plus the secondary TLBs. */
void flush_pmd_range(struct vmlab_user_mm *mm, int cpu, u64 haddr)
{
	vmlab_flush_tlb_mm_range(mm->m, cpu, mm->hw, haddr,
				 haddr + VMLAB_PMD_SIZE, VMLAB_PMD_SHIFT, false);
	if (vmlab_mm_has_notifiers(mm->hw))
		vmlab_mmu_notifier_arch_invalidate_secondary_tlbs(
			mm->m, mm->hw, haddr, haddr + VMLAB_PMD_SIZE);
}

/* A compound THP still (the head of an unsplit order-9 folio)? */
static struct vmlab_page *thp_head(struct vmlab_user_mm *mm, u64 pfn)
{
	struct vmlab_page *pg = upage(mm->m, pfn);
	return (pg->private_ & PGP_THP) ? pg : NULL;
}

/* ------------------------------------------------------------ faults */

static u64 get_huge_zero_pfn(struct user_svc *s, int cpu)
{
	if (s->huge_zero_pfn)
		return s->huge_zero_pfn;
	u64 pfn;
	if (vmlab_alloc_pages(s->m, cpu, HPAGE_PMD_ORDER, &pfn)) {
		s->thp.thp_zero_page_alloc_failed++;
		return 0;
	}
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		clear_user_frame(s->m, pfn + i);
		upage(s->m, pfn + i)->owner = PG_OWNER_ZERO;
	}
	s->thp.thp_zero_page_alloc++;
	s->huge_zero_pfn = pfn;
	assert(upage(s->m, pfn)->refcount == 1);
	return pfn;
}

/* vma_alloc_anon_folio_pmd(): a zeroed, exclusive order-9 folio. */
int thp_alloc_anon(struct vmlab_user_mm *mm, int cpu, u64 *pfn)
{
	int err = vmlab_alloc_pages(mm->m, cpu, HPAGE_PMD_ORDER, pfn);
	if (err)
		return err;
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		struct vmlab_page *pg = upage(mm->m, *pfn + i);
		clear_user_frame(mm->m, *pfn + i);
		pg->owner = PG_OWNER_ANON;
		pg->mapcount = 0;
		pg->private_ = 0;
	}
	struct vmlab_page *head = upage(mm->m, *pfn);
	assert(head->refcount == 1 && head->order == HPAGE_PMD_ORDER);
	head->private_ = PGP_THP | PGP_ANON_EXCLUSIVE;
	head->mapcount = 1;
	return 0;
}

void thp_map_pmd(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 haddr,
		 vmlab_ptep_t pmdp, u64 pfn)
{
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	assert(thp_vma_suitable(v, haddr) && thp_head(mm, pfn));
	assert(!vmlab_get_entry(mm->m, pmdp));
	/* maybe_pmd_mkwrite(pmd_mkdirty(mk_huge_pmd())) */
	if (v->vm_flags & VMLAB_VM_WRITE)
		prot |= VMLAB_PAGE_RW;
	rss_add(mm, pfn, (s64)HPAGE_PMD_NR);
	set_pmd(mm, haddr, pmdp, mk_huge_pmd(mm->m, pfn, prot_mkdirty(prot)));
}

#define FALLBACK THP_FALLBACK

void thp_map_file_pmd(struct vmlab_user_mm *mm, u64 haddr, vmlab_ptep_t pmdp,
		      u64 pfn, vmlab_pgprot_t prot)
{
	assert(!vmlab_get_entry(mm->m, pmdp) && !(pfn & (HPAGE_PMD_NR - 1)));
	rss_add(mm, pfn, (s64)HPAGE_PMD_NR);
	set_pmd(mm, haddr, pmdp, mk_huge_pmd(mm->m, pfn, prot));
}

static int do_huge_pmd_anonymous_page(struct vmlab_user_mm *mm,
				      struct vmlab_vma *v, int cpu, u64 haddr,
				      bool write, vmlab_ptep_t pmdp)
{
	struct user_svc *s = mm->svc;
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	assert(thp_vma_suitable(v, haddr));
	assert(!vmlab_get_entry(mm->m, pmdp));
	if (!write && s->thp_use_zero_page) {
		u64 z = get_huge_zero_pfn(s, cpu);
		if (!z)
			return FALLBACK;
		set_pmd(mm, haddr, pmdp, mk_huge_pmd(mm->m, z,
						     prot & ~VMLAB_PAGE_RW));
		s->huge_zero_maps++;
		mm->ev.fault_zero++;
		return 0;
	}
	if (anon_vma_prepare(v))
		return VMLAB_SIGKILL;
	u64 pfn;
	if (thp_alloc_anon(mm, cpu, &pfn)) {
		s->thp.thp_fault_fallback++;
		return FALLBACK;
	}
	thp_map_pmd(mm, v, haddr, pmdp, pfn);
	s->thp.thp_fault_alloc++;
	mm->ev.fault_anon++;
	return 0;
}

/* do_huge_pmd_wp_page(): a write to a read-only huge PMD. */
static int do_huge_pmd_wp_page(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			       int cpu, u64 haddr, vmlab_ptep_t pmdp,
			       const struct vmlab_pte_info *in)
{
	struct vmlab_machine *m = mm->m;
	vmlab_pgprot_t wprot =
		prot_mkdirty(vm_get_page_prot(v->vm_flags) | VMLAB_PAGE_RW);
	assert(v->vm_flags & VMLAB_VM_WRITE);
	assert(!(in->prot & VMLAB_PAGE_RW));
	if (is_huge_zero_pfn(mm, in->pfn)) {
		/* do_huge_zero_wp_pmd(): a new THP replaces the zero one;
		 * without one, split to 4 KiB zero pages and fall back. */
		u64 pfn;
		if (anon_vma_prepare(v))
			return VMLAB_SIGKILL;
		if (thp_alloc_anon(mm, cpu, &pfn)) {
			mm->svc->thp.thp_fault_fallback++;
			return split_huge_pmd(mm, haddr) ? VMLAB_SIGKILL :
							   FALLBACK;
		}
		struct vmlab_mmu_notifier_range r;
		user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, haddr,
			      haddr + VMLAB_PMD_SIZE);
		user_ptl(mm, true);
		set_pmd(mm, haddr, pmdp, 0); /* pmdp_huge_clear_flush() */
		flush_pmd_range(mm, cpu, haddr);
		rss_add(mm, pfn, (s64)HPAGE_PMD_NR);
		set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, pfn, wprot));
		user_ptl(mm, false);
		user_mn_end(&r);
		assert(mm->svc->huge_zero_maps > 0);
		mm->svc->huge_zero_maps--;
		mm->svc->thp.thp_fault_alloc++;
		mm->ev.fault_cow++;
		return 0;
	}
	struct vmlab_page *head = thp_head(mm, in->pfn);
	if (head && ((head->private_ & PGP_ANON_EXCLUSIVE) ||
		     (head->refcount == 1 && head->mapcount == 1))) {
		/* Reuse: the folio is ours alone (touch_pmd + write). */
		head->private_ |= PGP_ANON_EXCLUSIVE;
		user_ptl(mm, true);
		set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, in->pfn, wprot));
		if (!m->arch->spurious_fault_ok)
			flush_pmd_range(mm, cpu, haddr);
		user_ptl(mm, false);
		mm->ev.fault_reuse++;
		return 0;
	}
	/* Shared: split the PMD, then COW the 4 KiB page (since 5.8 THP
	 * COW falls back to PTEs). */
	return split_huge_pmd(mm, haddr) ? VMLAB_SIGKILL : FALLBACK;
}

bool huge_pmd_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		    u64 addr, bool write, int *ret, vmlab_ptep_t *pmdpp)
{
	struct vmlab_machine *m = mm->m;
	u64 haddr = addr & HPAGE_PMD_MASK;
	assert(v->vm_start <= addr && addr < v->vm_end && ret && pmdpp);
	vmlab_ptep_t pmdp;
	if (upt_alloc_level(mm, addr, VMLAB_LVL_PMD, &pmdp)) {
		*ret = VMLAB_SIGKILL;
		return true;
	}
	*pmdpp = pmdp;
	u64 e = vmlab_get_entry(m, pmdp);
	struct vmlab_pte_info in;
	int r = FALLBACK;
	if (!e) {
		if (!vma_is_anonymous(v))
			r = shmem_do_huge_pmd(mm, v, cpu, haddr, write, pmdp);
		else if (thp_vma_suitable(v, haddr) &&
			 thp_vma_allowable(v, TVA_PAGEFAULT))
			r = do_huge_pmd_anonymous_page(mm, v, cpu, haddr, write,
						       pmdp);
	} else if (pmd_trans_huge(m, e, &in)) {
		if (in.kind == VMLAB_PTE_PROTNONE) {
			vmlab_pgprot_t np = vm_get_page_prot(v->vm_flags) |
					    (in.prot & (VMLAB_PAGE_DIRTY |
							PAGE_SOFT_DIRTY));
			if (is_huge_zero_pfn(mm, in.pfn))
				np &= ~VMLAB_PAGE_RW;
			set_pmd(mm, haddr, pmdp, mk_huge_pmd(m, in.pfn, np));
			r = 0;
		} else if (write && !(in.prot & VMLAB_PAGE_RW) &&
			   !vma_is_anonymous(v)) {
			/* do_huge_pmd_wp_page() on a file THP: split, and
			 * the PTE fault does the rest. */
			r = split_huge_pmd(mm, haddr) ? VMLAB_SIGKILL : FALLBACK;
		} else if (write && !(in.prot & VMLAB_PAGE_RW)) {
			r = do_huge_pmd_wp_page(mm, v, cpu, haddr, pmdp, &in);
		} else {
			/* huge_pmd_set_accessed() */
			vmlab_pgprot_t np = in.prot | VMLAB_PAGE_ACCESSED |
					    (write ? VMLAB_PAGE_DIRTY : 0);
			if (np != in.prot) {
				mm->ev.fault_young++;
				set_pmd(mm, haddr, pmdp,
					mk_huge_pmd(m, in.pfn, np));
				if (write && !m->arch->spurious_fault_ok)
					flush_pmd_range(mm, cpu, haddr);
			}
			r = 0;
		}
	}
	if (r == FALLBACK)
		return false;
	*ret = r;
	return true;
}

/* ------------------------------------------------------------ split */

/* The folio behind a PMD being split becomes 512 ordinary pages, each
 * holding the folio's references and mappings. */
static void split_folio(struct vmlab_user_mm *mm, struct vmlab_page *head,
			u64 pfn)
{
	s32 refs = head->refcount, maps = head->mapcount;
	u64 excl = head->private_ & PGP_ANON_EXCLUSIVE;
	assert(refs >= maps && maps > 0);
	assert(head->order == HPAGE_PMD_ORDER);
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		struct vmlab_page *pg = upage(mm->m, pfn + i);
		pg->flags = VMLAB_PG_HEAD;
		pg->order = 0;
		pg->refcount = refs;
		pg->mapcount = maps;
		pg->private_ = excl;
		pg->owner = PG_OWNER_ANON;
	}
	/* Linux splits the folio later, if at all (deferred_split.c). */
	if (!deferred_folio_add(mm->svc, pfn))
		mm->svc->thp.thp_split_page++;
}

/* __split_huge_pmd_locked() on a file THP: the PMD goes (flushed before
 * the pages lose their mapping); the pages stay in the page cache and
 * later faults map them by PTE. */
static int split_file_pmd(struct vmlab_user_mm *mm, u64 haddr,
			  vmlab_ptep_t pmdp, const struct vmlab_pte_info *in)
{
	struct vmlab_machine *m = mm->m;
	assert(in->kind == VMLAB_PTE_LEAF || in->kind == VMLAB_PTE_PROTNONE);
	mm->svc->thp.thp_split_pmd++;
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, haddr,
		      haddr + VMLAB_PMD_SIZE);
	user_ptl(mm, true);
	set_pmd(mm, haddr, pmdp, 0);
	flush_pmd_range(mm, mm->cpu, haddr);
	user_ptl(mm, false);
	user_mn_end(&r);
	rss_add(mm, in->pfn, -(s64)HPAGE_PMD_NR);
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		struct vmlab_page *pg = upage(m, in->pfn + i);
		assert(pg->mapcount > 0 && pg->refcount > 1);
		pg->mapcount--;
		page_put(m, mm->cpu, in->pfn + i);
	}
	assert(!vmlab_get_entry(m, pmdp));
	return 0;
}

int split_huge_pmd(struct vmlab_user_mm *mm, u64 addr)
{
	struct vmlab_machine *m = mm->m;
	u64 haddr = addr & HPAGE_PMD_MASK;
	vmlab_ptep_t pmdp;
	struct vmlab_pte_info in;
	if (vmlab_lookup_entry(m, mm->hw, haddr, VMLAB_LVL_PMD, &pmdp))
		return 0;
	u64 e = vmlab_get_entry(m, pmdp);
	if (!pmd_trans_huge(m, e, &in))
		return 0;
	/* A hugetlb page is never split (the hugetlb paths never ask). */
	if (upage(m, in.pfn)->private_ & PGP_HUGETLB)
		return -VMLAB_EINVAL;
	if (!is_huge_zero_pfn(mm, in.pfn) &&
	    upage(m, in.pfn)->owner == PG_OWNER_FILE)
		return split_file_pmd(mm, haddr, pmdp, &in);
	u64 table;
	if (vmlab_pgtable_alloc(m, VMLAB_LVL_PTE, &table))
		return -VMLAB_ENOMEM;
	mm->svc->thp.thp_split_pmd++;
	bool zero = is_huge_zero_pfn(mm, in.pfn);
	vmlab_pgprot_t prot = in.prot & ~VMLAB_PAGE_PSE;
	/* __split_huge_pmd(): CLEAR around it; pmdp_invalidate() makes the
	 * PMD non-present and flushes its 2 MiB TLB entry before any PTE
	 * can be used (arm64: break-before-make). */
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, haddr,
		      haddr + VMLAB_PMD_SIZE);
	user_ptl(mm, true);
	set_pmd(mm, haddr, pmdp, 0);
	flush_pmd_range(mm, mm->cpu, haddr);
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		u64 va = haddr + (i << VMLAB_PAGE_SHIFT);
		u64 pfn = zero ? mm->svc->zero_pfn : in.pfn + i;
		vmlab_set_entry(m, mm->hw, va, VMLAB_LVL_PTE,
				entry_addr(table, va, VMLAB_LVL_PTE),
				mk_upte(m, pfn, prot));
	}
	set_pmd(mm, haddr, pmdp, m->arch->mk_table(table, true));
	user_ptl(mm, false);
	user_mn_end(&r);
	if (zero) {
		assert(mm->svc->huge_zero_maps > 0);
		mm->svc->huge_zero_maps--;
		return 0;
	}
	struct vmlab_page *head = thp_head(mm, in.pfn);
	if (head)
		split_folio(mm, head, in.pfn);
	assert(!thp_head(mm, in.pfn));
	return 0;
}

int thp_split_range(struct vmlab_user_mm *mm, u64 start, u64 end, bool whole)
{
	assert(start < end && end <= TASK_SIZE_OF(mm) + VMLAB_PAGE_SIZE);
	for (u64 h = start & HPAGE_PMD_MASK; h < end; h += VMLAB_PMD_SIZE) {
		bool partial = h < start || h + VMLAB_PMD_SIZE > end;
		if (!whole && !partial)
			continue;
		int err = split_huge_pmd(mm, h);
		if (err)
			return err;
	}
	return 0;
}

void vma_adjust_trans_huge(struct vmlab_user_mm *mm, u64 addr)
{
	/* A boundary inside a huge PMD: the PMD cannot stay. */
	if (addr & ~HPAGE_PMD_MASK)
		(void)split_huge_pmd(mm, addr);
}

/* ------------------------------------------- zap, protect and fork */

void zap_huge_pmd(struct ugather *g, vmlab_ptep_t pmdp, u64 e, u64 haddr)
{
	struct vmlab_user_mm *mm = g->mm;
	struct vmlab_pte_info in;
	bool huge = pmd_trans_huge(mm->m, e, &in);
	assert(huge && !(haddr & ~HPAGE_PMD_MASK));
	(void)huge;
	set_pmd(mm, haddr, pmdp, 0);
	if (in.kind == VMLAB_PTE_LEAF)
		ug_add_range_pmd(g, haddr);
	if (is_huge_zero_pfn(mm, in.pfn)) {
		assert(mm->svc->huge_zero_maps > 0);
		mm->svc->huge_zero_maps--;
		return;
	}
	struct vmlab_page *head = thp_head(mm, in.pfn);
	if (head) {
		assert(head->mapcount > 0);
		head->mapcount--;
		rss_add(mm, in.pfn, -(s64)HPAGE_PMD_NR);
		ug_put_page(g, in.pfn);
		return;
	}
	for (u64 i = 0; i < HPAGE_PMD_NR; i++) {
		struct vmlab_page *pg = upage(mm->m, in.pfn + i);
		assert(pg->mapcount > 0);
		pg->mapcount--;
		rss_add(mm, in.pfn + i, -1);
		ug_put_page(g, in.pfn + i);
	}
}

void change_huge_pmd(struct ugather *g, struct vmlab_vma *v,
		     vmlab_ptep_t pmdp, u64 e, u64 haddr,
		     vmlab_pgprot_t newprot, bool try_writable)
{
	struct vmlab_user_mm *mm = g->mm;
	struct vmlab_pte_info in;
	bool huge = pmd_trans_huge(mm->m, e, &in);
	assert(huge && thp_vma_suitable(v, haddr));
	(void)huge;
	vmlab_pgprot_t np = newprot | (in.prot & (VMLAB_PAGE_DIRTY |
						  PAGE_SOFT_DIRTY));
	bool zero = is_huge_zero_pfn(mm, in.pfn);
	if (zero) {
		np &= ~VMLAB_PAGE_RW;
	} else if (try_writable && !(np & VMLAB_PAGE_RW) &&
		   (v->vm_flags & VMLAB_VM_WRITE) && (np & VMLAB_PAGE_PRESENT) &&
		   !(vma_soft_dirty_enabled(v) && !(np & PAGE_SOFT_DIRTY))) {
		const struct vmlab_page *head = thp_head(mm, in.pfn);
		if (head && (head->private_ & PGP_ANON_EXCLUSIVE))
			np |= VMLAB_PAGE_RW;
	}
	u64 ne = mk_huge_pmd(mm->m, in.pfn, np);
	if (ne == e)
		return;
	set_pmd(mm, haddr, pmdp, ne);
	if (vmlab_pte_needs_flush(mm->m, e, ne))
		ug_add_range_pmd(g, haddr);
}

int copy_huge_pmd(struct vmlab_user_mm *dst, struct vmlab_user_mm *src,
		  struct vmlab_vma *sv, vmlab_ptep_t spmdp, u64 e, u64 haddr,
		  struct ugather *src_g)
{
	struct vmlab_machine *m = src->m;
	struct vmlab_pte_info in;
	bool huge = pmd_trans_huge(m, e, &in);
	assert(huge && thp_vma_suitable(sv, haddr));
	(void)huge;
	(void)sv; /* read by the assertion only */
	vmlab_ptep_t dp;
	if (upt_alloc_level(dst, haddr, VMLAB_LVL_PMD, &dp))
		return -VMLAB_ENOMEM;
	assert(!vmlab_get_entry(m, dp));
	vmlab_pgprot_t cp = in.prot & ~(VMLAB_PAGE_ACCESSED | VMLAB_PAGE_PSE);
	if (is_huge_zero_pfn(src, in.pfn)) {
		src->svc->huge_zero_maps++;
	} else {
		struct vmlab_page *head = thp_head(src, in.pfn);
		u64 n = head ? 1 : HPAGE_PMD_NR;
		for (u64 i = 0; i < n; i++) {
			struct vmlab_page *pg = upage(m, in.pfn + i);
			pg->refcount++;
			pg->mapcount++;
			pg->private_ &= ~PGP_ANON_EXCLUSIVE;
		}
		rss_add(dst, in.pfn, (s64)HPAGE_PMD_NR);
		if (in.prot & VMLAB_PAGE_RW) {
			/* pmdp_set_wrprotect(): both read-only until a
			 * write splits and copies. */
			set_pmd(src, haddr, spmdp,
				mk_huge_pmd(m, in.pfn, in.prot & ~VMLAB_PAGE_RW));
			if (src_g)
				ug_add_range_pmd(src_g, haddr);
			cp &= ~VMLAB_PAGE_RW;
		}
	}
	vmlab_set_entry(m, dst->hw, haddr, VMLAB_LVL_PMD, dp,
			mk_huge_pmd(m, in.pfn, cp));
	return 0;
}
