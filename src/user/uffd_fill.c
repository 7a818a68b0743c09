/* SPDX-License-Identifier: MIT */
/*
 * The page filling of UFFDIO_COPY and UFFDIO_ZEROPAGE (mm/userfaultfd.c
 * mfill_atomic() of Linux 6.18): one registered VMA must hold the range,
 * private VMAs get anonymous pages (or the shared zero page), shared shmem
 * ones page-cache pages; a page already there is EEXIST.  The ioctls'
 * checks and wake-ups are userfaultfd.c's.
 */
#include "user/swapops.h"

/* mfill_atomic_install_pte() and the PTE-level part of
 * mfill_atomic_pte_copy() / _zeropage() / shmem_mfill_atomic_pte(). */
static int mfill_pte(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 a,
		     const u8 *src, int cpu)
{
	struct vmlab_machine *m = mm->m;
	vmlab_ptep_t p;
	if (upte_alloc(mm, a, &p))
		return -VMLAB_ENOMEM;
	struct vmlab_pte_info in;
	m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	/* A copy may overwrite any marker, guard ones included (6.18's
	 * pte_none_mostly()); the zero page wants a none PTE. */
	bool free_slot = in.kind == VMLAB_PTE_NONE ||
			 (src && in.kind == VMLAB_PTE_MARKER);
	if (!free_slot)
		return -VMLAB_EEXIST;
	vmlab_pgprot_t prot = vm_get_page_prot(v->vm_flags);
	u64 pfn;
	if (v->vm_flags & VMLAB_VM_SHARED) {
		/* shmem_mfill_atomic_pte(): a new page-cache page. */
		struct vmlab_file *f = v->file;
		u64 index = linear_page_index(v, a);
		if (index >= PAGES(PAGE_ALIGN_UP(f->size)))
			return -VMLAB_EFAULT; /* mfill_file_over_size() */
		if (file_slot(f, index))
			return -VMLAB_EEXIST;
		int err = shmem_get_page(f, cpu, index, &pfn);
		if (err)
			return err == -VMLAB_ENOMEM ? err : -VMLAB_EFAULT;
		if (src)
			memcpy(frame_content(m, pfn, true), src, VMLAB_PAGE_SIZE);
		page_get(m, pfn);
		upage(m, pfn)->mapcount++;
		rss_add(mm, pfn, 1);
		upte_set(mm, a, p, mk_upte(m, pfn, prot_mkdirty(prot)));
		return 0;
	}
	if (!src) {
		/* mfill_atomic_pte_zeropage(): the shared zero page. */
		upte_set(mm, a, p, mk_upte(m, mm->svc->zero_pfn, prot));
		return 0;
	}
	if (alloc_user_page(mm, cpu, &pfn))
		return -VMLAB_ENOMEM;
	memcpy(frame_content(m, pfn, true), src, VMLAB_PAGE_SIZE);
	if (v->vm_flags & VMLAB_VM_WRITE)
		prot |= VMLAB_PAGE_RW;
	if (in.kind == VMLAB_PTE_MARKER)
		upte_set(mm, a, p, 0);
	map_new_anon(mm, p, a, pfn, prot_mkdirty(prot));
	return 0;
}

s64 mfill_atomic(struct vmlab_user_mm *mm, u64 dst, const u8 *src, u64 len,
		 bool wp)
{
	assert(mm && !(dst & ~VMLAB_PAGE_MASK) && len);
	user_enter(mm, src ? "uffdio_copy" : "uffdio_zeropage");
	int cpu = user_cpu(mm);
	mmap_read_lock(mm);
	struct vmlab_vma *v = vma_lookup(mm, dst);
	s64 err = 0, done = 0;
	/* uffd_mfill_lock(): one registered VMA must hold the range. */
	if (!v || len > v->vm_end - dst || !v->uffd_ctx)
		err = -VMLAB_ENOENT;
	else if (wp && !(v->vm_flags & VMLAB_VM_UFFD_WP))
		err = -VMLAB_EINVAL;
	else if (!vma_is_anonymous(v) && !vma_is_shmem(v))
		err = -VMLAB_EINVAL;
	else if (!(v->vm_flags & VMLAB_VM_SHARED) && anon_vma_prepare(v))
		err = -VMLAB_ENOMEM;
	for (u64 a = dst; !err && a < dst + len; a += VMLAB_PAGE_SIZE) {
		vmlab_ptep_t pmdp;
		struct vmlab_pte_info hin;
		if (!vmlab_lookup_entry(mm->m, mm->hw, a, VMLAB_LVL_PMD, &pmdp) &&
		    pmd_trans_huge(mm->m, vmlab_get_entry(mm->m, pmdp), &hin)) {
			err = -VMLAB_EEXIST; /* a THP is mapped there */
			break;
		}
		user_ptl(mm, true);
		err = mfill_pte(mm, v, a, src ? src + (a - dst) : NULL, cpu);
		user_ptl(mm, false);
		if (!err)
			done += VMLAB_PAGE_SIZE;
	}
	mmap_read_unlock(mm);
	assert(done >= 0 && (u64)done <= len);
	return done ? done : err;
}

