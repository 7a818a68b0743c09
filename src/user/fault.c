/* SPDX-License-Identifier: MIT */
/*
 * Page faults on user addresses (arch/x86/mm/fault.c do_user_addr_fault(),
 * mm/memory.c handle_mm_fault()): access_error(), demand paging of
 * anonymous memory (the shared zero page on a read, a private page on a
 * write: do_anonymous_page), copy-on-write (do_wp_page), shmem/file pages
 * (do_fault, do_cow_fault), swap-in (do_swap_page) and PTE markers: a
 * guard marker is SIGSEGV, a poison marker SIGBUS.  A missing page of a
 * userfaultfd-registered VMA goes to handle_userfault() (userfaultfd.c),
 * and the task sleeps once the fault's locks are dropped.
 */
#include "user/swapops.h"
#include "vmlab/mutant.h"

#define OOM VMLAB_SIGKILL

static int sig(int *code, int signo, int c)
{
	assert(signo == VMLAB_SIGSEGV || signo == VMLAB_SIGBUS);
	assert(c >= 0);
	*code = c;
	return signo;
}

void map_new_anon(struct vmlab_user_mm *mm, vmlab_ptep_t p, u64 addr,
		  u64 pfn, vmlab_pgprot_t prot)
{
	struct vmlab_page *pg = upage(mm->m, pfn);
	assert(pg->owner == PG_OWNER_ANON && pg->refcount == 1);
	assert(pg->mapcount == 0);
	assert(!mm->m->arch->hw_present(upte_get(mm, p)));
	pg->mapcount = 1;
	pg->private_ |= PGP_ANON_EXCLUSIVE;
	rss_add(mm, pfn, 1);
	upte_set(mm, addr, p, mk_upte(mm->m, pfn, prot));
}

static int do_anonymous_page(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			     int cpu, u64 addr, bool write, vmlab_ptep_t p)
{
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	assert(vma_is_anonymous(v) && !(v->vm_flags & VMLAB_VM_SHARED));
	assert(!write || (v->vm_flags & VMLAB_VM_WRITE));
	if (!write) {
		/* Reads map the shared zero page, read-only. */
		assert(!(prot & VMLAB_PAGE_RW));
		upte_set(mm, addr, p, mk_upte(mm->m, mm->svc->zero_pfn, prot));
		mm->ev.fault_zero++;
		return 0;
	}
	if (anon_vma_prepare(v))
		return OOM;
	u64 pfn, first;
	int order;
	prot = prot_mkdirty(prot | VMLAB_PAGE_RW);
	if (!mthp_alloc_anon(mm, v, cpu, addr, p, &pfn, &first, &order)) {
		/* A multi-size THP: set_ptes() over the whole folio. */
		vmlab_ptep_t f = p - ((addr - first) / VMLAB_PAGE_SIZE) * 8;
		for (u64 i = 0; i < (1ULL << order); i++)
			map_new_anon(mm, f + i * 8, first + i * VMLAB_PAGE_SIZE,
				     pfn + i, prot);
		mm->ev.fault_anon++;
		return 0;
	}
	if (alloc_user_page(mm, cpu, &pfn))
		return OOM;
	map_new_anon(mm, p, addr, pfn, prot);
	mm->ev.fault_anon++;
	return 0;
}

static bool pte_writable(struct vmlab_machine *m, u64 e)
{
	struct vmlab_pte_info in;
	m->arch->decode(e, VMLAB_LVL_PTE, &in);
	return in.kind == VMLAB_PTE_LEAF && (in.prot & VMLAB_PAGE_RW);
}

/*
 * ptep_set_access_flags() for a fault that makes a present PTE more
 * permissive (wp_page_reuse(), wp_page_shared()), with the upgrade event
 * of seed 5 as the machine's upgrade_notify selects:
 *  - the PTE store and, where the CPU TLB may keep the read-only entry
 *    (arm64 __ptep_set_access_flags(): flush_tlb_page(), a broadcast
 *    TLBI), the flush, under the PTL; x86 relies on the spurious fault;
 *  - access_flags_notify: ptep_set_access_flags_notify(), i.e. the
 *    secondary-TLB hook next to that flush (arm64 only, as merged in 6.6
 *    where flush_tlb_page() calls it);
 *  - range_end (the posted patch): after the PTL is dropped and only if
 *    the PTE changed, invalidate_range_start/end(PROTECTION_UPGRADE);
 *  - none: nothing tells secondary MMUs.
 */
static void set_access_flags(struct vmlab_user_mm *mm, int cpu, u64 addr,
			     vmlab_ptep_t p, u64 entry, bool dirty,
			     const char *how)
{
	struct vmlab_machine *m = mm->m;
	u64 old = upte_get(mm, p);
	bool changed = old != entry;
	bool upgrade = changed && !pte_writable(m, old) && pte_writable(m, entry);
	enum vmlab_upgrade_notify mode = vmlab_get_upgrade_notify(m);
	bool notified = false;
	assert(pte_writable(m, entry) || !upgrade);
	user_ptl(mm, true);
	if (changed) {
		upte_set(mm, addr, p, entry);
		if (dirty && !m->arch->spurious_fault_ok) {
			/* flush_tlb_page(): since 6bbd42e2df8f (6.6) its arch
			 * code tells the secondary TLBs too; before (none,
			 * range_end) it did not, nor does it in the mutant. */
			bool mute = mode != VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS ||
				    vmlab_mutant(m, VMLAB_MUT_UPGRADE_NO_SECONDARY);
			if (mute)
				vmlab_mmu_notifier_flush_nonotify(mm->hw, true);
			vmlab_flush_tlb_mm_range(m, cpu, mm->hw, addr,
						 addr + VMLAB_PAGE_SIZE,
						 VMLAB_PAGE_SHIFT, false);
			if (mute)
				vmlab_mmu_notifier_flush_nonotify(mm->hw, false);
			notified = !mute && vmlab_mm_has_notifiers(mm->hw);
		}
	}
	user_ptl(mm, false);
	if (upgrade && mode == VMLAB_UPGRADE_NOTIFY_RANGE_END &&
	    vmlab_mm_has_notifiers(mm->hw)) {
		struct vmlab_mmu_notifier_range r;
		user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_PROTECTION_UPGRADE, addr,
			      addr + VMLAB_PAGE_SIZE);
		user_mn_end(&r);
		notified = true;
	}
	if (upgrade)
		vmlab_mmu_notifier_note_upgrade(m, mm->hw, addr, how, notified);
}

/*
 * The tail of handle_pte_fault() for a present PTE that allows the access:
 * entry = pte_mkyoung(pte_mkdirty on a write), ptep_set_access_flags().
 * That is where an architecture without hardware access-flag and dirty
 * management (arm64 without FEAT_HAFDBS) gets its AF set after an
 * access-flag fault, and a clean writable page (DBM, still read-only) its
 * dirty state after the permission fault of the first write; arm64's
 * __ptep_set_access_flags() then flushes the page when dirty made it
 * writable (flush_tlb_page: the TLB may hold the read-only entry).  With
 * nothing to change the fault was spurious (another CPU, or the hardware,
 * got there first): the retry finds the entry.
 */
static int pte_mkyoung_fault(struct vmlab_user_mm *mm, int cpu, u64 addr,
			     vmlab_ptep_t p, const struct vmlab_pte_info *in,
			     bool write)
{
	struct vmlab_machine *m = mm->m;
	assert(in->kind == VMLAB_PTE_LEAF);
	assert(!write || (in->prot & VMLAB_PAGE_RW));
	vmlab_pgprot_t prot = in->prot | VMLAB_PAGE_ACCESSED |
			      (write ? VMLAB_PAGE_DIRTY : 0);
	if (prot == in->prot)
		return 0;
	mm->ev.fault_young++;
	set_access_flags(mm, cpu, addr, p, mk_upte(m, in->pfn, prot), write,
			 "handle_pte_fault");
	return 0;
}

/* do_wp_page(): write to a read-only present PTE of a writable VMA. */
static int do_wp_page(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		      u64 addr, vmlab_ptep_t p, const struct vmlab_pte_info *in)
{
	struct vmlab_machine *m = mm->m;
	vmlab_pgprot_t wprot =
		prot_mkdirty(vm_get_page_prot(v->vm_flags) | VMLAB_PAGE_RW);
	bool zero = is_zero_pfn(mm, in->pfn);
	struct vmlab_page *old = zero ? NULL : upage(m, in->pfn);
	assert(in->kind == VMLAB_PTE_LEAF && !(in->prot & VMLAB_PAGE_RW));
	assert(v->vm_flags & VMLAB_VM_WRITE);
	assert(!old || old->mapcount > 0);
	if (v->vm_flags & VMLAB_VM_SHARED) {
		/* wp_page_shared(): the page is ours to write. */
		set_access_flags(mm, cpu, addr, p, mk_upte(m, in->pfn, wprot),
				 true, "wp_page_shared");
		mm->ev.fault_reuse++;
		return 0;
	}
	if (old && old->owner == PG_OWNER_ANON &&
	    ((old->private_ & PGP_ANON_EXCLUSIVE) || old->refcount == 1)) {
		/* wp_page_reuse(): nobody else holds it, no copy needed and
		 * no flush (the old entry was more restrictive). */
		old->private_ |= PGP_ANON_EXCLUSIVE;
		old->private_ &= ~PGP_LAZYFREE;
		set_access_flags(mm, cpu, addr, p, mk_upte(m, in->pfn, wprot),
				 true, "wp_page_reuse");
		mm->ev.fault_reuse++;
		return 0;
	}
	/* wp_page_copy() */
	if (anon_vma_prepare(v))
		return OOM;
	u64 npfn;
	if (alloc_user_page(mm, cpu, &npfn))
		return OOM;
	if (!zero)
		copy_page_content(m, npfn, in->pfn);
	/* ptep_clear_flush(): no CPU may keep the old translation once the
	 * new page is mapped; the old page goes only after the flush.
	 * wp_page_copy(): CLEAR around it, the secondary TLBs flushed with
	 * the CPU's (ptep_clear_flush_notify) under the PTL. */
	struct vmlab_mmu_notifier_range r;
	user_mn_start(mm, &r, VMLAB_MMU_NOTIFY_CLEAR, addr,
		      addr + VMLAB_PAGE_SIZE);
	struct ugather g;
	ug_init(&g, mm, cpu);
	user_ptl(mm, true);
	upte_set(mm, addr, p, 0);
	ug_add_range(&g, addr, addr + VMLAB_PAGE_SIZE);
	if (old) {
		assert(old->mapcount > 0);
		old->mapcount--;
		rss_add(mm, in->pfn, -1);
		ug_put_page(&g, in->pfn);
	}
	if (vmlab_mutant(m, VMLAB_MUT_COW_NO_FLUSH))
		ug_drop_flush(&g);
	ug_finish(&g);
	map_new_anon(mm, p, addr, npfn, wprot);
	user_ptl(mm, false);
	user_mn_end(&r);
	mm->ev.fault_cow++;
	return 0;
}

static int do_swap_page(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			int cpu, u64 addr, vmlab_ptep_t p,
			const struct vmlab_pte_info *in, bool write)
{
	u64 off = in->swp_offset;
	assert(vma_is_anonymous(v) || !(v->vm_flags & VMLAB_VM_SHARED));
	/* An entry naming no slot in use (garbage in the table): the
	 * kernel's print_bad_pte and VM_FAULT_SIGBUS. */
	if (!swap_slot_ok(mm->svc, off) || !mm->swap_ents)
		return VMLAB_SIGBUS;
	u64 pfn;
	if (alloc_user_page(mm, cpu, &pfn))
		return OOM;
	swap_read(mm->svc, off, frame_content(mm->m, pfn, true));
	swap_free(mm->svc, off);
	assert(mm->swap_ents > 0);
	mm->swap_ents--;
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	if (write && (v->vm_flags & VMLAB_VM_WRITE))
		prot = prot_mkdirty(prot | VMLAB_PAGE_RW);
	/* pte_swp_soft_dirty(orig_pte): pte_mksoft_dirty(). */
	if (in->swp_soft_dirty)
		prot |= PAGE_SOFT_DIRTY;
	/* Without a swap cache every swapped-in page is exclusive. */
	map_new_anon(mm, p, addr, pfn, prot);
	mm->ev.fault_swapin++;
	return 0;
}

/* The debugfs knob fault_around_bytes (default 64 KiB): a power of two
 * of pages, at most a PTE table; below a page fault-around is off. */
int vmlab_user_set_fault_around_bytes(struct vmlab_machine *m, u64 bytes)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s)
		return -VMLAB_EINVAL;
	if (bytes / VMLAB_PAGE_SIZE > VMLAB_PTRS_PER_TABLE)
		return -VMLAB_EINVAL;
	u64 pages = 1;
	while (pages * 2 <= bytes / VMLAB_PAGE_SIZE)
		pages *= 2;
	s->fault_around_pages = pages;
	assert(pages >= 1 && pages <= VMLAB_PTRS_PER_TABLE);
	return 0;
}

/*
 * do_fault_around() + filemap_map_pages(): a read fault also maps the
 * pages of the aligned fault_around_bytes window (16 pages by default;
 * clamped to the VMA, the PTE table
 * and EOF) that are already in the page cache, where the PTE is none.
 * True when the faulting page itself got mapped.
 *
 * had_table: the PMD held a PTE table before this fault.  Without one,
 * the table comes from filemap_map_pmd(), which 6.18 skips (to keep
 * SIGBUS past i_size) when the first cached page of the window is the
 * file's last one, except on shmem: then a regular file maps nothing
 * (checked against the host on ext4).
 */
static bool fault_around(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			 u64 addr, bool had_table)
{
	struct vmlab_file *f = v->file;
	const u64 nr = mm->svc->fault_around_pages;
	assert(f && v->vm_start <= addr && addr < v->vm_end);
	/* should_fault_around(): a single page is no fault-around. */
	if (nr <= 1)
		return false;
	u64 pte_off = (addr >> VMLAB_PAGE_SHIFT) & (VMLAB_PTRS_PER_TABLE - 1);
	u64 vma_off = PAGES(addr - v->vm_start);
	u64 from = pte_off & ~(nr - 1);
	if (pte_off - from > vma_off)
		from = pte_off - vma_off;
	u64 to = from + nr;
	if (to > VMLAB_PTRS_PER_TABLE)
		to = VMLAB_PTRS_PER_TABLE;
	if (to > pte_off + vma_pages(v) - vma_off)
		to = pte_off + vma_pages(v) - vma_off;
	u64 eof = PAGES(PAGE_ALIGN_UP(f->size));
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	if (vma_soft_dirty_enabled(v))
		prot &= ~VMLAB_PAGE_RW; /* vma_wants_writenotify() */
	bool got = false;
	assert(from <= pte_off && pte_off < to && to - from <= nr);
	if (!had_table && f->thp_area) {
		/* next_uptodate_folio(): the first cached page below EOF */
		u64 first = ~0ULL;
		for (u64 i = from; i < to && first == ~0ULL; i++) {
			u64 index = linear_page_index(v, addr) - pte_off + i;
			u64 sl = file_slot(f, index);
			if (index < eof && sl && !(sl & 1))
				first = index;
		}
		if (first != ~0ULL && first + 1 >= eof)
			return false;
	}
	for (u64 i = from; i < to; i++) {
		u64 va = addr - ((pte_off - i) << VMLAB_PAGE_SHIFT);
		u64 index = linear_page_index(v, va);
		u64 sl = file_slot(f, index);
		vmlab_ptep_t p;
		if (index >= eof || !sl || (sl & 1) || upte_alloc(mm, va, &p) ||
		    upte_get(mm, p))
			continue;
		u64 pfn = sl >> 1;
		page_get(mm->m, pfn);
		upage(mm->m, pfn)->mapcount++;
		rss_add(mm, pfn, 1);
		upte_set(mm, va, p, mk_upte(mm->m, pfn, prot));
		got |= va == addr;
	}
	return got;
}

/* do_read_fault() / do_shared_fault() / do_cow_fault() on shmem. */
static int do_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		    u64 addr, bool write, vmlab_ptep_t p, bool had_table,
		    int *code)
{
	struct vmlab_file *f = v->file;
	u64 index = linear_page_index(v, addr);
	assert(f && f->magic == FILE_MAGIC);
	assert(!(v->vm_flags & VMLAB_VM_PFNMAP));
	/* Fault-around comes first: it can map neighbours even when the
	 * faulting page itself lies past EOF. */
	if (!write && fault_around(mm, v, addr, had_table)) {
		mm->ev.fault_file++;
		return 0;
	}
	if (index >= PAGES(PAGE_ALIGN_UP(f->size)))
		return sig(code, VMLAB_SIGBUS, VMLAB_BUS_ADRERR);
	/* shmem_get_folio_gfp(): no page in the cache is a missing fault. */
	if (userfaultfd_missing(v) && !file_slot(f, index))
		return handle_userfault(mm, v, cpu, addr, write);
	u64 cpfn;
	int err = shmem_get_page(f, cpu, index, &cpfn);
	if (err == -VMLAB_ENOMEM)
		return OOM;
	if (err)
		return sig(code, VMLAB_SIGBUS, VMLAB_BUS_ADRERR);
	/* finish_fault(): the PTE table comes only now, so a fault that
	 * ends in SIGBUS leaves none */
	if (!had_table && upte_alloc(mm, addr, &p))
		return OOM;
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	if (write && !(v->vm_flags & VMLAB_VM_SHARED)) {
		if (anon_vma_prepare(v))
			return OOM;
		u64 npfn;
		if (alloc_user_page(mm, cpu, &npfn))
			return OOM;
		copy_page_content(mm->m, npfn, cpfn);
		map_new_anon(mm, p, addr, npfn,
			     prot_mkdirty(prot | VMLAB_PAGE_RW));
		mm->ev.fault_cow++;
		return 0;
	}
	if (write)
		prot = prot_mkdirty(prot);
	else if (vma_soft_dirty_enabled(v))
		prot &= ~VMLAB_PAGE_RW; /* vma_wants_writenotify() */
	page_get(mm->m, cpfn);
	upage(mm->m, cpfn)->mapcount++;
	rss_add(mm, cpfn, 1);
	upte_set(mm, addr, p, mk_upte(mm->m, cpfn, prot));
	mm->ev.fault_file++;
	return 0;
}

/* The PMD over addr holds a PTE table (pmdp: its walked entry, or 0). */
static bool pte_table_present(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp,
			      u64 addr)
{
	vmlab_ptep_t p;
	if (!pmdp)
		return !upte_lookup(mm, addr, &p);
	struct vmlab_pte_info in;
	mm->m->arch->decode(vmlab_get_entry(mm->m, pmdp), VMLAB_LVL_PMD, &in);
	assert(addr < USER_VA_END(mm));
	return in.kind == VMLAB_PTE_TABLE;
}

static int handle_pte_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			    int cpu, u64 addr, bool write, int *code,
			    vmlab_ptep_t pmdp)
{
	struct vmlab_machine *m = mm->m;
	assert(v->vm_start <= addr && addr < v->vm_end);
	assert(!(addr & (VMLAB_PAGE_SIZE - 1)));
	vmlab_ptep_t p = 0;
	/* do_pte_missing() of a file VMA allocates the table late */
	bool had_table = vma_is_anonymous(v) ||
			 pte_table_present(mm, pmdp, addr);
	if (!had_table && !(v->vm_flags & VMLAB_VM_PFNMAP))
		return do_fault(mm, v, cpu, addr, write, p, false, code);
	if (upte_alloc_pmd(mm, pmdp, addr, &p))
		return OOM;
	u64 e = upte_get(mm, p);
	struct vmlab_pte_info in;
	m->arch->decode(e, VMLAB_LVL_PTE, &in);
	switch (in.kind) {
	case VMLAB_PTE_NONE:
		break;
	case VMLAB_PTE_MARKER:
		if (in.marker & VMLAB_PTE_MARKER_POISONED)
			return sig(code, VMLAB_SIGBUS, VMLAB_BUS_MCEERR_AR);
		if (in.marker & VMLAB_PTE_MARKER_GUARD)
			return sig(code, VMLAB_SIGSEGV, VMLAB_SEGV_MAPERR);
		upte_set(mm, addr, p, 0); /* a bare uffd-wp marker */
		break;
	case VMLAB_PTE_SWAP:
		if (is_device_exclusive_entry(&in))
			return remove_device_exclusive_entry(mm, v, addr, p);
		if (is_migration_entry(&in)) {
			/* migration_entry_wait(): until it is remapped. */
			sched_point(m, cpu, "migration entry wait");
			return 0;
		}
		return do_swap_page(mm, v, cpu, addr, p, &in, write);
	case VMLAB_PTE_PROTNONE:
		/* An accessible VMA over a PROT_NONE entry: restore it. */
		upte_set(mm, addr, p,
			 mk_upte(m, in.pfn, vm_get_page_prot(v->vm_flags) |
					     (in.prot & (VMLAB_PAGE_DIRTY |
							 PAGE_SOFT_DIRTY))));
		return 0;
	case VMLAB_PTE_LEAF:
		if (write && !(in.prot & VMLAB_PAGE_RW))
			return do_wp_page(mm, v, cpu, addr, p, &in);
		return pte_mkyoung_fault(mm, cpu, addr, p, &in, write);
	default:
		/* A reserved encoding the hardware faulted on: pgtable_bad()'s
		 * "Bad pagetable" oops, the task is killed. */
		assert(in.kind == VMLAB_PTE_BAD || in.kind == VMLAB_PTE_TABLE);
		vmlab_warn(m, "Bad pagetable: pte %#llx at %#llx",
			   (unsigned long long)e, (unsigned long long)addr);
		return VMLAB_SIGKILL;
	}
	if (v->vm_flags & VMLAB_VM_PFNMAP)
		return sig(code, VMLAB_SIGBUS, VMLAB_BUS_ADRERR); /* no ->fault */
	if (vma_is_anonymous(v)) {
		if (userfaultfd_missing(v)) /* do_anonymous_page() */
			return handle_userfault(mm, v, cpu, addr, write);
		return do_anonymous_page(mm, v, cpu, addr, write, p);
	}
	return do_fault(mm, v, cpu, addr, write, p, had_table, code);
}

static bool access_error(const struct vmlab_vma *v, bool write, bool prot)
{
	return write ? !(v->vm_flags & VMLAB_VM_WRITE) :
		       (prot || !(v->vm_flags & VM_ACCESS_FLAGS));
}

/* __handle_mm_fault(): the PMD level first (create_huge_pmd(), a
 * fault on a huge PMD), then the PTE. */
static int __handle_mm_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			     int cpu, u64 addr, bool write, int *code)
{
	int r;
	vmlab_ptep_t pmdp = 0; /* the PMD entry, once walked to */
	assert(v->vm_start <= addr && addr < v->vm_end);
	if (v->vm_flags & VMLAB_VM_HUGETLB)
		return hugetlb_fault(mm, v, cpu, addr, write);
	if ((vma_is_anonymous(v) || shmem_vma_maybe_huge(v)) &&
	    !uffd_skip_huge_fault(mm, v, addr) &&
	    huge_pmd_fault(mm, v, cpu, addr, write, &r, &pmdp))
		return r;
	return handle_pte_fault(mm, v, cpu, addr, write, code, pmdp);
}

static int handle_mm_fault_locked(struct vmlab_user_mm *mm, int cpu,
				  u64 addr, bool write, bool prot, int *code)
{
	assert(mm && mm->magic == USER_MM_MAGIC && code);
	assert(addr < TASK_SIZE_OF(mm));
	*code = 0;
	addr &= VMLAB_PAGE_MASK;
	struct vmlab_vma *v = find_vma(mm, addr);
	if (!v || v->vm_start > addr)
		return sig(code, VMLAB_SIGSEGV, VMLAB_SEGV_MAPERR);
	if (access_error(v, write, prot))
		return sig(code, VMLAB_SIGSEGV, VMLAB_SEGV_ACCERR);
	mm->ev.faults++;
	return __handle_mm_fault(mm, v, cpu, addr, write, code);
}

/* A caller that keeps its locks (a device's fault): a userfault sleeps
 * with them held. */
int handle_mm_fault(struct vmlab_user_mm *mm, int cpu, u64 addr, bool write,
		    bool fetch, bool prot, int *code)
{
	(void)fetch;
	int s = handle_mm_fault_locked(mm, cpu, addr, write, prot, code);
	if (s == UFFD_FAULT_WAIT)
		s = uffd_wait_fault(mm, cpu, code);
	return s;
}

/* The fault's locks are dropped: a userfault sleeps now, then the access
 * is retried (VM_FAULT_RETRY). */
static int user_fault_done(struct vmlab_user_mm *mm, int cpu, int s,
			   int *code)
{
	if (mm->svc->uffd_real)
		mm->svc->uffd_real[cpu] = 0;
	if (s == UFFD_FAULT_WAIT)
		s = uffd_wait_fault(mm, cpu, code);
	assert(s != UFFD_FAULT_WAIT);
	return s;
}

int user_addr_fault(struct vmlab_user_mm *mm, int cpu, u64 addr, bool write,
		    bool fetch, bool prot, int *code)
{
	assert(mm && mm->magic == USER_MM_MAGIC && code);
	assert(addr < TASK_SIZE_OF(mm));
	(void)fetch;
	/* A user-mode fault, at this address (handle_userfault()'s
	 * FAULT_FLAG_USER and real_address). */
	if (mm->svc->uffd_real)
		mm->svc->uffd_real[cpu] = addr;
	/* do_user_addr_fault(): the VMA's read lock if it can be had ... */
	struct vmlab_vma *v = lock_vma_under_rcu(mm, addr & VMLAB_PAGE_MASK);
	if (v) {
		int s;
		*code = 0;
		if (access_error(v, write, prot)) {
			s = sig(code, VMLAB_SIGSEGV, VMLAB_SEGV_ACCERR);
		} else {
			mm->ev.faults++;
			s = __handle_mm_fault(mm, v, cpu,
					      addr & VMLAB_PAGE_MASK, write,
					      code);
		}
		vma_end_read(v);
		mm->ev.vma_lock_success++;
		return user_fault_done(mm, cpu, s, code);
	}
	/* ... else lock_mm_and_find_vma(): mmap_lock for reading. */
	mmap_read_lock(mm);
	int s = handle_mm_fault_locked(mm, cpu, addr, write, prot, code);
	mmap_read_unlock(mm);
	return user_fault_done(mm, cpu, s, code);
}

int faultin_page(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr,
		 bool write)
{
	assert(v && v->vm_start <= addr && addr < v->vm_end);
	assert(!write || (v->vm_flags & VMLAB_VM_WRITE));
	vmlab_ptep_t p;
	if (upte_lookup(mm, addr, &p) == 0) {
		struct vmlab_pte_info in;
		mm->m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
		if (in.kind == VMLAB_PTE_LEAF &&
		    (!write || (in.prot & VMLAB_PAGE_RW)))
			return 0; /* follow_page() finds it */
	}
	vmlab_ptep_t pmdp;
	struct vmlab_pte_info hin;
	if (!vmlab_lookup_entry(mm->m, mm->hw, addr, VMLAB_LVL_PMD, &pmdp) &&
	    pmd_trans_huge(mm->m, vmlab_get_entry(mm->m, pmdp), &hin) &&
	    hin.kind == VMLAB_PTE_LEAF && (!write || (hin.prot & VMLAB_PAGE_RW)))
		return 0; /* follow_huge_pmd() */
	int code;
	mm->ev.faults++;
	int s = __handle_mm_fault(mm, v, user_cpu(mm), addr, write, &code);
	if (s == UFFD_FAULT_WAIT) /* GUP sleeps holding mmap_lock */
		s = uffd_wait_fault(mm, user_cpu(mm), &code);
	if (s == OOM)
		return -VMLAB_ENOMEM;
	return s ? -VMLAB_EFAULT : 0;
}

enum vmlab_fault_ret user_fault_handler(struct vmlab_machine *m,
					const struct vmlab_fault *f,
					void *ctx)
{
	struct user_svc *s = ctx;
	assert(s && s->m == m && f);
	assert(vmlab_cpu_valid(m, f->cpu));
	struct vmlab_mm *hw = vmlab_cpu_mm(m, f->cpu);
	struct vmlab_user_mm *mm = hw && !hw->is_init ? hw->owner : NULL;
	bool user_mode = f->error_code & VMLAB_PF_USER;
	if (!mm || mm->magic != USER_MM_MAGIC || mm->svc != s ||
	    (f->va >= USER_VA_END(mm) && !user_mode)) {
		if (s->prev_fn)
			return s->prev_fn(m, f, s->prev_ctx);
		return VMLAB_FAULT_FAIL;
	}
	int code = VMLAB_SEGV_MAPERR, signo = VMLAB_SIGSEGV;
	if (f->error_code & VMLAB_PF_RSVD) {
		/* do_user_addr_fault(): a reserved bit in a paging entry is
		 * pgtable_bad(), an oops; the task is killed. */
		vmlab_warn(m, "Bad pagetable: reserved-bit fault at %#llx",
			   (unsigned long long)f->va);
		s->sig[f->cpu] = (struct vmlab_siginfo){VMLAB_SIGKILL, 0,
							f->va};
		return VMLAB_FAULT_FAIL;
	}
	if (f->va < TASK_SIZE_OF(mm))
		signo = user_addr_fault(mm, f->cpu, f->va,
					f->error_code & VMLAB_PF_WRITE,
					f->error_code & VMLAB_PF_INSTR,
					f->error_code & VMLAB_PF_PROT, &code);
	if (!signo)
		return VMLAB_FAULT_RETRY;
	s->sig[f->cpu] = (struct vmlab_siginfo){signo, code, f->va};
	if (signo == VMLAB_SIGSEGV)
		mm->ev.sigsegv++;
	else if (signo == VMLAB_SIGBUS)
		mm->ev.sigbus++;
	return VMLAB_FAULT_FAIL;
}
