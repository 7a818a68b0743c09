/* SPDX-License-Identifier: MIT */
/*
 * The machine's architecture dispatch for generic code: entry helpers,
 * the root table of an address, the layout.  The formats themselves live
 * in src/arch/<arch>/.
 */
#include "arch/arch.h"

/* Swap types a swap entry holds (MAX_SWAPFILES_SHIFT, both formats). */
#define SWP_TYPES 32u

u64 vmlab_mk_leaf(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot,
		  int level)
{
	const struct vmlab_arch_ops *a = m->arch;
	if (unlikely(level < VMLAB_LVL_PTE || level > VMLAB_LVL_PUD ||
		     pfn >> (a->pa_bits - VMLAB_PAGE_SHIFT) ||
		     (pfn & ((1ULL << (9 * level)) - 1)) ||
		     !(prot & (VMLAB_PAGE_PRESENT | VMLAB_PAGE_PROTNONE)))) {
		vmlab_warn(m, "mk_leaf: no %s leaf for pfn %#llx prot %#llx at "
			      "level %d",
			   a->name, (unsigned long long)pfn,
			   (unsigned long long)prot, level);
		return 0;
	}
	u64 e = a->mk_leaf(pfn, prot, level);
	assert(e != 0);
	return e;
}

u64 vmlab_mk_swap(struct vmlab_machine *m, u32 type, u64 offset)
{
	const struct vmlab_arch_ops *a = m->arch;
	if (unlikely(type >= SWP_TYPES || offset >= a->swp_offsets)) {
		vmlab_warn(m, "mk_swap: swap type %u offset %#llx does not fit "
			      "a %s swap entry",
			   type, (unsigned long long)offset, a->name);
		return 0;
	}
	u64 e = a->mk_swap(type, offset);
	if (unlikely(e == 0))
		vmlab_warn(m, "mk_swap: swap type %u offset %#llx encodes as "
			      "pte_none on %s (slot 0 is the swap header)",
			   type, (unsigned long long)offset, a->name);
	return e;
}

u64 vmlab_mk_marker(struct vmlab_machine *m, u32 bits)
{
	if (unlikely(bits == 0)) {
		vmlab_warn(m, "mk_marker: a PTE marker with no bits");
		return 0;
	}
	u64 e = m->arch->mk_marker(bits);
	assert(e != 0);
	return e;
}

void vmlab_pte_decode(const struct vmlab_machine *m, u64 entry, int level,
		      struct vmlab_pte_info *out)
{
	m->arch->decode(entry, level, out);
}

bool vmlab_mm_has_root(const struct vmlab_machine *m,
		       const struct vmlab_mm *mm, u64 va)
{
	assert(mm);
	return !(m->arch->split_root && mm->is_init && !(va >> 63));
}

u64 vmlab_mm_root(const struct vmlab_machine *m, const struct vmlab_mm *mm,
		  u64 va)
{
	assert(mm);
	assert(vmlab_mm_has_root(m, mm, va));
	/* arm64: TTBR1 (init_mm's tables) translates the upper half. */
	if (m->arch->split_root && (va >> 63))
		return m->init_mm.pgd_pfn;
	return mm->pgd_pfn;
}

u64 vmlab_pgd_index_va(const struct vmlab_machine *m,
		       const struct vmlab_mm *mm, u64 idx)
{
	assert(idx < VMLAB_PTRS_PER_TABLE);
	u64 va = idx << VMLAB_PGDIR_SHIFT;
	/* x86: the upper half of one table is the kernel's (sign-extended);
	 * arm64: init_mm's root is all kernel, a user root all user. */
	bool kernel = m->arch->split_root ? mm->is_init : idx >= 256;
	return kernel ? va | 0xffff000000000000ULL : va;
}

bool vmlab_pte_needs_flush(const struct vmlab_machine *m, u64 old, u64 new_)
{
	return old != new_ && m->arch->pte_needs_flush(old, new_);
}

const struct vmlab_va_layout *vmlab_layout(const struct vmlab_machine *m)
{
	return &m->arch->layout;
}

const struct vmlab_va_layout *vmlab_arch_layout(const char *arch)
{
	if (!arch || !strcmp(arch, "x86_64"))
		return &vmlab_arch_x86_64.layout;
	if (!strcmp(arch, "arm64"))
		return &vmlab_arch_arm64.layout;
	return NULL;
}
