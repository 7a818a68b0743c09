/* SPDX-License-Identifier: MIT */
/*
 * text_poke() for x86 (arch/x86/kernel/alternative.c, __text_poke()):
 * the only writer of RO+X text.  A temporary mm (poking_mm, a machine
 * address space of its own: own root, own PCID) maps the target frame(s)
 * writable, non-global, at a user-half poking address; the poking CPU
 * alone switches to it (use_temporary_mm()), copies, clears the PTE,
 * switches back (unuse_temporary_mm()) and flushes the poking address in
 * that mm (flush_tlb_mm_range(): the mm runs nowhere now, so this only
 * moves its TLB generation on and the next use of the mm starts clean).
 *
 * text_poke_copy() goes up to two pages per poke as the kernel's does;
 * VMLAB_TEXT_POKE_2M adds the 2 MiB option the seed thread mentions (one
 * 2 MiB poking leaf over a 2 MiB text leaf).  Two mutants skip the
 * flush (text-poke-no-flush) or the switch back (text-poke-leave-mm), and
 * the checker catches both.
 *
 * arm64 patches through the fixmap instead (patch_map()/patch_unmap()):
 * under patch_lock with interrupts off, FIX_TEXT_POKE0 in init_mm maps
 * the page writable, the copy goes through it, clear_fixmap() clears the
 * PTE and flush_tlb_kernel_range() (TLBI VAALE1IS) removes it everywhere;
 * a page at a time.
 */
#include "services/execmem_internal.h"

#define POKE_RANGE_END (POKE_ADDR_2M + VMLAB_PMD_SIZE)
/*
 * arm64 (arch/arm64/kernel/patching.c): the page is mapped at the fixmap
 * slot FIX_TEXT_POKE0 of init_mm, __fix_to_virt() = FIXADDR_TOP (-8 MiB)
 * minus its index; the index depends on the configuration (the FDT slots
 * before it), the model takes 515.
 */
#define FIX_TEXT_POKE0_VA (0xffffffffff800000ULL - 515 * VMLAB_PAGE_SIZE)
/* The poking PTE: PAGE_KERNEL without _PAGE_GLOBAL. */
#define POKE_PROT (VMLAB_PAGE_KERNEL & ~VMLAB_PAGE_GLOBAL)

int poke_init(struct execmem *xm)
{
	return vmlab_mm_create(xm->m, &xm->poke.mm);
}

void poke_destroy(struct execmem *xm)
{
	struct vmlab_machine *m = xm->m;
	struct vmlab_mm *mm = xm->poke.mm;
	if (!mm)
		return;
	vmlab_checker_temp_mm_forget(m, mm);
	/* Tear the user half down (tables only: no alias is left mapped
	 * outside a poke), then the mm. */
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, mm, 0);
	/* The whole PGD slot, so every table under it can go. */
	u64 slot = vmlab_level_size(VMLAB_LVL_PGD);
	vmlab_unmap_range(m, &tlb, POKE_ADDR & ~(slot - 1), slot, true);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_mm_destroy(m, mm);
	xm->poke.mm = NULL;
}

/* Kernel text: present, executable, outside the direct map, in the
 * module range or the kernel image's text mapping.  *pfn and *level of the leaf. */
static int text_frame(struct vmlab_machine *m, u64 va, u64 *pfn, int *level)
{
	u64 pa;
	vmlab_pgprot_t prot;
	const struct execmem *xm = xm_state(m);
	const struct vmlab_va_layout *l = vmlab_layout(m);
	if ((va < l->modules_vaddr || va >= l->modules_end) &&
	    !(xm && ktext_contains(xm, va)))
		return -VMLAB_EINVAL;
	if (vmlab_translate(m, vmlab_init_mm(m), va, &pa, &prot, level))
		return -VMLAB_EFAULT;
	if (!(prot & VMLAB_PAGE_PRESENT))
		return -VMLAB_EFAULT;
	if (prot & VMLAB_PAGE_NX)
		return -VMLAB_EINVAL;
	*pfn = pa >> VMLAB_PAGE_SHIFT;
	return 0;
}

static void clear_alias(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
			int level)
{
	vmlab_ptep_t ptep;
	int err = vmlab_lookup_entry(m, mm, va, level, &ptep);
	assert(!err);
	(void)err;
	vmlab_set_entry(m, mm, va, level, ptep, 0);
}

/*
 * One __text_poke(): [addr, addr+len) within two small pages, or exactly
 * one 2 MiB leaf (huge).  src == NULL: fill with byte (text_poke_set()).
 */
static int poke_once(struct execmem *xm, int cpu, u64 addr, const u8 *src,
		     int byte, u64 len, bool huge)
{
	struct vmlab_machine *m = xm->m;
	struct vmlab_mm *mm = xm->poke.mm;
	assert(len > 0 && mm);
	struct vmlab_checker_alias run[2];
	int nr = 1, level;
	u64 pfn;
	int err = text_frame(m, addr, &pfn, &level);
	if (err)
		return err;
	u64 poke_va, off, span;
	if (huge) {
		assert(!(addr & (VMLAB_PMD_SIZE - 1)) && len == VMLAB_PMD_SIZE);
		if (level != VMLAB_LVL_PMD)
			return -VMLAB_EINVAL;
		poke_va = POKE_ADDR_2M;
		off = 0;
		span = VMLAB_PMD_SIZE;
		run[0] = (struct vmlab_checker_alias){poke_va, pfn, 512};
	} else {
		off = addr & (VMLAB_PAGE_SIZE - 1);
		assert(off + len <= 2 * VMLAB_PAGE_SIZE);
		poke_va = POKE_ADDR;
		span = off + len > VMLAB_PAGE_SIZE ? 2 * VMLAB_PAGE_SIZE
						   : VMLAB_PAGE_SIZE;
		run[0] = (struct vmlab_checker_alias){poke_va, pfn, 1};
		if (span > VMLAB_PAGE_SIZE) {
			u64 pfn2;
			err = text_frame(m, (addr & VMLAB_PAGE_MASK) +
						VMLAB_PAGE_SIZE,
					 &pfn2, &level);
			if (err)
				return err;
			run[1] = (struct vmlab_checker_alias){
			    poke_va + VMLAB_PAGE_SIZE, pfn2, 1};
			nr = 2;
		}
	}
	vmlab_checker_set_op(m, cpu, "text_poke");
	vmlab_checker_poke_begin(m, cpu, mm, POKE_ADDR, POKE_RANGE_END, run,
				 nr);
	for (int i = 0; i < nr && !err; i++)
		err = vmlab_map_range(m, mm, run[i].va,
				      run[i].pfn << VMLAB_PAGE_SHIFT,
				      run[i].npages << VMLAB_PAGE_SHIFT,
				      POKE_PROT, huge ? VMLAB_MAP_HUGE_PMD : 0);
	if (err) {
		vmlab_checker_poke_end(m, cpu, mm);
		return err;
	}
	/* use_temporary_mm(): this CPU only. */
	struct vmlab_mm *prev = vmlab_cpu_mm(m, cpu);
	if (prev != mm) {
		vmlab_switch_mm(m, cpu, mm);
		xm->poke.switches++;
	}
	u8 buf[VMLAB_PAGE_SIZE];
	if (!src)
		memset(buf, byte, sizeof(buf));
	for (u64 done = 0; done < len && !err;) {
		u64 n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		err = vmlab_write(m, cpu, poke_va + off + done,
				  src ? src + done : buf, n, NULL);
		done += n;
	}
	for (int i = 0; i < nr; i++)
		clear_alias(m, mm, run[i].va, huge ? VMLAB_LVL_PMD : VMLAB_LVL_PTE);
	if (!vmlab_mutant(m, VMLAB_MUT_TEXT_POKE_LEAVE_MM) && prev != mm) {
		vmlab_unuse_temporary_mm(m, cpu, prev);
		xm->poke.switches++;
	}
	if (!vmlab_mutant(m, VMLAB_MUT_TEXT_POKE_NO_FLUSH)) {
		vmlab_flush_tlb_mm_range(m, cpu, mm, poke_va, poke_va + span,
					 huge ? VMLAB_PMD_SHIFT
					      : VMLAB_PAGE_SHIFT,
					 false);
		xm->poke.flushes++;
	}
	vmlab_checker_poke_end(m, cpu, mm);
	xm->poke.text_pokes++;
	if (err)
		return err;
	xm->poke.bytes += len;
	/* The kernel's BUG_ON(memcmp(addr, src, len)) after a memcpy poke:
	 * read back through the text's own mapping. */
	for (u64 done = 0; src && done < len;) {
		u64 n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (vmlab_read(m, cpu, addr + done, buf, n, NULL) ||
		    memcmp(buf, src + done, n)) {
			vmlab_warn(m, "text_poke: text at %#llx does not match "
				      "what was written",
				   (unsigned long long)(addr + done));
			return -VMLAB_EIO;
		}
		done += n;
	}
	return 0;
}

static bool is_arm64(const struct vmlab_machine *m)
{
	return m->arch->id == VMLAB_ARCH_ARM64;
}

/* arm64 __text_poke(): [addr, addr+len) within one page, through the
 * FIX_TEXT_POKE0 fixmap slot.  src == NULL: fill with byte. */
static int fixmap_poke(struct execmem *xm, int cpu, u64 addr, const u8 *src,
		       int byte, u64 len)
{
	struct vmlab_machine *m = xm->m;
	u64 off = addr & (VMLAB_PAGE_SIZE - 1), pfn;
	int level;
	assert(len > 0 && off + len <= VMLAB_PAGE_SIZE);
	int err = text_frame(m, addr, &pfn, &level);
	if (err)
		return err;
	struct vmlab_mm *init = vmlab_init_mm(m);
	const struct vmlab_checker_alias run = {FIX_TEXT_POKE0_VA, pfn, 1};
	vmlab_checker_set_op(m, cpu, "aarch64_insn_patch_text");
	vmlab_checker_poke_begin(m, cpu, init, FIX_TEXT_POKE0_VA,
				 FIX_TEXT_POKE0_VA + VMLAB_PAGE_SIZE, &run, 1);
	/* set_fixmap_offset(FIX_TEXT_POKE0, phys) */
	err = vmlab_map_range(m, init, FIX_TEXT_POKE0_VA,
			      pfn << VMLAB_PAGE_SHIFT, VMLAB_PAGE_SIZE,
			      VMLAB_PAGE_KERNEL, 0);
	if (err) {
		vmlab_checker_poke_end(m, cpu, init);
		return err;
	}
	u8 buf[VMLAB_PAGE_SIZE];
	if (!src)
		memset(buf, byte, len);
	err = vmlab_write(m, cpu, FIX_TEXT_POKE0_VA + off, src ? src : buf, len,
			  NULL);
	/* clear_fixmap(): pte_clear + flush_tlb_kernel_range. */
	clear_alias(m, init, FIX_TEXT_POKE0_VA, VMLAB_LVL_PTE);
	if (!vmlab_mutant(m, VMLAB_MUT_TEXT_POKE_NO_FLUSH)) {
		vmlab_flush_tlb_kernel_range(m, cpu, FIX_TEXT_POKE0_VA,
					     FIX_TEXT_POKE0_VA +
						 VMLAB_PAGE_SIZE);
		xm->poke.flushes++;
	}
	vmlab_checker_poke_end(m, cpu, init);
	xm->poke.text_pokes++;
	if (!err)
		xm->poke.bytes += len;
	return err;
}

static int poke_args(struct vmlab_machine *m, int cpu, u64 addr, u64 len,
		     const char *fn, struct execmem **out)
{
	if (!m)
		return -VMLAB_EINVAL;
	if (!vmlab_cpu_valid(m, cpu) || !len || addr + len < addr) {
		vmlab_warn(m, "%s: bad cpu %d or length %llu", fn, cpu,
			   (unsigned long long)len);
		return -VMLAB_EINVAL;
	}
	*out = xm_get(m);
	return *out ? 0 : -VMLAB_ENOMEM;
}

int vmlab_text_poke(struct vmlab_machine *m, int cpu, u64 addr,
		    const void *src, u64 len)
{
	struct execmem *xm;
	int err = poke_args(m, cpu, addr, len, "text_poke", &xm);
	if (err)
		return err;
	if (!src || len > VMLAB_PAGE_SIZE) {
		vmlab_warn(m, "text_poke: %llu bytes (at most a page)",
			   (unsigned long long)len);
		return -VMLAB_EINVAL;
	}
	if (is_arm64(m)) {
		/* aarch64_insn_copy(): a page at a time. */
		u64 first = VMLAB_PAGE_SIZE - (addr & (VMLAB_PAGE_SIZE - 1));
		if (first > len)
			first = len;
		err = fixmap_poke(xm, cpu, addr, src, 0, first);
		if (!err && first < len)
			err = fixmap_poke(xm, cpu, addr + first,
					  (const u8 *)src + first, 0, len - first);
		return err;
	}
	return poke_once(xm, cpu, addr, src, 0, len, false);
}

/* text_poke_copy_locked(): up to two pages per poke, or a 2 MiB leaf at
 * a time with VMLAB_TEXT_POKE_2M. */
static int poke_range(struct vmlab_machine *m, int cpu, u64 addr,
		      const u8 *src, int byte, u64 len, const char *fn)
{
	struct execmem *xm;
	int err = poke_args(m, cpu, addr, len, fn, &xm);
	if (err)
		return err;
	bool big = xm->cfg.flags & VMLAB_TEXT_POKE_2M, arm64 = is_arm64(m);
	for (u64 done = 0; done < len;) {
		u64 p = addr + done, rest = len - done, s;
		if (arm64) {
			s = VMLAB_PAGE_SIZE - (p & (VMLAB_PAGE_SIZE - 1));
			if (s > rest)
				s = rest;
			err = fixmap_poke(xm, cpu, p, src ? src + done : NULL,
					  byte, s);
			if (err)
				return err;
			done += s;
			continue;
		}
		u64 pfn;
		int level;
		bool huge = big && !(p & (VMLAB_PMD_SIZE - 1)) &&
			    rest >= VMLAB_PMD_SIZE &&
			    !text_frame(m, p, &pfn, &level) &&
			    level == VMLAB_LVL_PMD;
		if (huge)
			s = VMLAB_PMD_SIZE;
		else {
			s = 2 * VMLAB_PAGE_SIZE - (p & (VMLAB_PAGE_SIZE - 1));
			if (s > rest)
				s = rest;
		}
		err = poke_once(xm, cpu, p, src ? src + done : NULL, byte, s,
				huge);
		if (err) {
			vmlab_warn(m, "%s: %#llx: %s", fn,
				   (unsigned long long)p, vmlab_strerror(err));
			return err;
		}
		done += s;
	}
	return 0;
}

int vmlab_text_poke_copy(struct vmlab_machine *m, int cpu, u64 addr,
			 const void *src, u64 len)
{
	if (m && !src) {
		vmlab_warn(m, "text_poke_copy: NULL source");
		return -VMLAB_EINVAL;
	}
	return poke_range(m, cpu, addr, src, 0, len, "text_poke_copy");
}

int vmlab_text_poke_set(struct vmlab_machine *m, int cpu, u64 addr, int byte,
			u64 len)
{
	return poke_range(m, cpu, addr, NULL, byte & 0xff, len,
			  "text_poke_set");
}
