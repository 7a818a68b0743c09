/* SPDX-License-Identifier: MIT */
/*
 * The machine's architecture dispatch for generic code: entry helpers,
 * the root table of an address, the layout.  The formats themselves live
 * in src/arch/<arch>/.
 */
#include "arch/arch.h"

u64 vmlab_mk_leaf(const struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot,
		  int level)
{
	return m->arch->mk_leaf(pfn, prot, level);
}

u64 vmlab_mk_swap(const struct vmlab_machine *m, u32 type, u64 offset)
{
	return m->arch->mk_swap(type, offset);
}

u64 vmlab_mk_marker(const struct vmlab_machine *m, u32 bits)
{
	return m->arch->mk_marker(bits);
}

void vmlab_pte_decode(const struct vmlab_machine *m, u64 entry, int level,
		      struct vmlab_pte_info *out)
{
	m->arch->decode(entry, level, out);
}

u64 vmlab_mm_root(const struct vmlab_machine *m, const struct vmlab_mm *mm,
		  u64 va)
{
	assert(mm);
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
