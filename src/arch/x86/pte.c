/* SPDX-License-Identifier: MIT */
/*
 * x86-64 4-level page-table entry format, the arch rules the generic mm
 * code asks for (pte_needs_flush, reserved encodings) and the kernel VA
 * layout.  The hardware walker's rules are in walk.h beside this file.
 *
 * Present entries: P RW US PWT PCD A D PS G at bits 0..8, NX at 63, frame
 * address in bits 12..51.  Non-present, non-zero entries hold either a
 * PROT_NONE leaf (bit 8, _PAGE_PROTNONE) or a swap entry: type in the top 5
 * bits and the offset inverted in bits 9..58 (the L1TF mitigation keeps
 * non-present entries from naming real frames).  PROT_NONE entries invert
 * their frame number for the same reason.  PTE markers are swap entries of
 * the last swap type (SWP_PTE_MARKER).  A swap entry's bit 1 is its
 * soft-dirty bit (_PAGE_SWP_SOFT_DIRTY).
 */
#include "arch/x86/x86.h"


#define SWP_TYPE_BITS 5
#define SWP_OFFSET_FIRST_BIT 9
#define SWP_OFFSET_SHIFT (SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS)
#define SWP_PTE_MARKER ((1u << SWP_TYPE_BITS) - 1)
#define SWP_OFFSET_BITS (64 - SWP_OFFSET_SHIFT)

static u64 x86_mk_leaf(u64 pfn, vmlab_pgprot_t prot, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	assert(pfn < (1ULL << 40));
	/* Large leaves name a frame aligned to their size. */
	assert((pfn & ((1ULL << (9 * level)) - 1)) == 0);
	u64 flags = prot & (X86_FLAGS_MASK & ~X86_PS);
	if (level > VMLAB_LVL_PTE)
		flags |= X86_PS;
	if (prot & X86_P)
		return (pfn << VMLAB_PAGE_SHIFT) | flags;
	assert(prot & X86_PROTNONE);
	u64 e = ((~pfn << VMLAB_PAGE_SHIFT) & X86_PFN_MASK) | flags;
	/* Not present to hardware, yet never pte_none() nor a swap entry. */
	assert(!(e & X86_P) && (e & X86_PROTNONE));
	return e;
}

static u64 x86_mk_table(u64 pfn, bool user)
{
	assert(pfn < (1ULL << 40));
	/* _KERNPG_TABLE / _PAGE_TABLE: permissions are decided at the leaf. */
	u64 e = (pfn << VMLAB_PAGE_SHIFT) | X86_P | X86_RW | X86_A | X86_D;
	/* PS clear: at PMD/PUD the walker descends rather than stops. */
	assert(!(e & X86_PS) && (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT == pfn);
	return user ? e | X86_US : e;
}

static u64 x86_mk_swap(u32 type, u64 offset)
{
	assert(type < (1u << SWP_TYPE_BITS));
	/* The all-ones offset would encode as pte_none(). */
	assert(offset < (1ULL << SWP_OFFSET_BITS) - 1);
	u64 e = (~offset << SWP_OFFSET_SHIFT) >> SWP_TYPE_BITS;
	e |= (u64)type << (64 - SWP_TYPE_BITS);
	assert(!(e & (X86_P | X86_PROTNONE)));
	/* decode() gives type and offset back. */
	assert((u32)(e >> (64 - SWP_TYPE_BITS)) == type);
	assert(((~e << SWP_TYPE_BITS) >> SWP_OFFSET_SHIFT) == offset);
	return e;
}

/* _PAGE_SWP_SOFT_DIRTY is _PAGE_RW (bit 1), free in a swap entry. */
static u64 x86_swp_set_soft_dirty(u64 e, bool on)
{
	assert(e && !(e & (X86_P | X86_PROTNONE)));
	u64 ne = on ? e | X86_RW : e & ~X86_RW;
	assert((ne & ~X86_RW) == (e & ~X86_RW));
	return ne;
}

static u64 x86_mk_marker(u32 bits)
{
	assert(bits != 0);
	return x86_mk_swap(SWP_PTE_MARKER, bits);
}

static void x86_decode(u64 e, int level, struct vmlab_pte_info *out)
{
	memset(out, 0, sizeof(*out));
	if (e == 0) {
		out->kind = VMLAB_PTE_NONE;
		return;
	}
	if (e & X86_P) {
		bool leaf = level == VMLAB_LVL_PTE ||
			    (level < VMLAB_LVL_PGD && (e & X86_PS));
		out->kind = leaf ? VMLAB_PTE_LEAF : VMLAB_PTE_TABLE;
		out->pfn = (e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
		out->prot = e & X86_FLAGS_MASK & ~X86_PS;
		return;
	}
	if (e & X86_PROTNONE) {
		out->kind = VMLAB_PTE_PROTNONE;
		out->pfn = (~e & X86_PFN_MASK) >> VMLAB_PAGE_SHIFT;
		out->prot = e & X86_FLAGS_MASK & ~X86_PS;
		return;
	}
	u32 type = (u32)(e >> (64 - SWP_TYPE_BITS));
	u64 offset = (~e << SWP_TYPE_BITS) >> SWP_OFFSET_SHIFT;
	if (type == SWP_PTE_MARKER) {
		out->kind = VMLAB_PTE_MARKER;
		out->marker = (u32)offset;
		return;
	}
	out->kind = VMLAB_PTE_SWAP;
	out->swp_type = type;
	out->swp_offset = offset;
	out->swp_soft_dirty = e & X86_RW;
}

static bool x86_hw_present(u64 e)
{
	return e & X86_P;
}

static bool x86_is_large(u64 e, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	return (level == VMLAB_LVL_PMD || level == VMLAB_LVL_PUD) &&
	       (e & (X86_P | X86_PS)) == (X86_P | X86_PS);
}

static u64 x86_set_ad(u64 e, bool dirty)
{
	assert(e & X86_P);
	u64 ne = e | X86_A | (dirty ? X86_D : 0);
	assert(!((ne ^ e) & ~(X86_A | X86_D))); /* same translation */
	return ne;
}

/*
 * pte_needs_flush() of arch/x86/include/asm/tlbflush.h: a present entry
 * that lost its frame, a right, or had a cache/permission bit flipped
 * needs a flush; gaining A or D (or a change of a software bit) does not.
 */
static bool x86_pte_needs_flush(u64 old, u64 new_)
{
	assert(old != new_);
	if (!(old & X86_P))
		return false;
	if ((old & X86_PFN_MASK) != (new_ & X86_PFN_MASK))
		return true;
	u64 diff = (old ^ new_) & ~X86_PFN_MASK & ~X86_A;
	if (diff & old & (X86_D | X86_P))
		return true;
	return diff & (X86_RW | X86_US | X86_PWT | X86_PCD | X86_G |
		       X86_NX);
}

/* PS in a PML4 entry is reserved (#PF with RSVD set). */
static bool x86_bad_entry(u64 e, int level)
{
	return level == VMLAB_LVL_PGD && (e & (X86_P | X86_PS)) ==
						 (X86_P | X86_PS);
}

const struct vmlab_arch_ops vmlab_arch_x86_64 = {
	.name = "x86_64",
	.id = VMLAB_ARCH_X86_64,
	.levels = 4,
	.pa_bits = 52,
	/* The all-ones offset would encode as pte_none(). */
	.swp_offsets = (1ULL << SWP_OFFSET_BITS) - 1,
	.mk_leaf = x86_mk_leaf,
	.mk_table = x86_mk_table,
	.mk_swap = x86_mk_swap,
	.swp_set_soft_dirty = x86_swp_set_soft_dirty,
	.mk_marker = x86_mk_marker,
	.decode = x86_decode,
	.pte_page_mask = X86_P,
	.hw_present = x86_hw_present,
	.is_large = x86_is_large,
	.set_ad = x86_set_ad,
	.spurious_fault_ok = true,
	.pte_needs_flush = x86_pte_needs_flush,
	.bad_entry = x86_bad_entry,
	.split_root = false,
	.tlb = &x86_tlb_ops,
	/* Documentation/arch/x86/x86_64/mm.rst, 4-level paging. */
	.layout = {
		.page_offset = 0xffff888000000000ULL,
		.linear_end = 0xffffc88000000000ULL,
		.vmalloc_start = 0xffffc90000000000ULL,
		.vmalloc_end = 0xffffe8ffffffffffULL,
		.modules_vaddr = 0xffffffffa0000000ULL,
		.modules_end = 0xffffffffff000000ULL,
		.kasan_shadow_start = 0xffffec0000000000ULL,
		.kasan_shadow_end = 0xfffffc0000000000ULL,
		.kasan_shadow_offset = 0xdffffc0000000000ULL,
		/* CPU_ENTRY_AREA_BASE, CPU_ENTRY_AREA_MAP_SIZE (one P4D entry,
		 * 512 GiB), __START_KERNEL_map */
		.cpu_entry_area = 0xfffffe0000000000ULL,
		.cpu_entry_area_end = 0xfffffe0000000000ULL + (512ULL << 30),
		.kernel_image = 0xffffffff80000000ULL,
		/* asm/page_64_types.h: TASK_SIZE_MAX = (1 << 47) - PAGE_SIZE;
		 * asm/processor.h: TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE
		 * / 3). */
		.task_size = (1ULL << 47) - VMLAB_PAGE_SIZE,
		.task_unmapped_base = ((((1ULL << 47) - VMLAB_PAGE_SIZE) / 3) +
				       VMLAB_PAGE_SIZE - 1) &
				      VMLAB_PAGE_MASK,
		.va_bits = 48,
	},
};
