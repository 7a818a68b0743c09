/* SPDX-License-Identifier: MIT */
/*
 * arm64 (VMSAv8-64, 4 KiB granule, 48-bit VA, 4 levels) descriptor format,
 * the arch rules generic mm code asks for, and the kernel VA layout.  The
 * hardware walker's rules are in walk.h beside this file.
 *
 * Descriptors (arch/arm64/include/asm/pgtable-hwdef.h, pgtable-prot.h):
 *   bit 0 valid; bit 1 table (levels 0-2) / page (level 3), a block has it
 *   clear at level 1 (1 GiB) or 2 (2 MiB); AttrIndx[4:2]; NS 5; AP[1] 6
 *   (EL0 access); AP[2] 7 (read-only, PTE_RDONLY); SH[9:8]; AF 10; nG 11;
 *   output address [47:12]; DBM 51 (Linux: PTE_WRITE); contiguous 52; PXN
 *   53; UXN 54; software bits: PTE_DIRTY 55, PTE_SPECIAL 56, PTE_PROT_NONE
 *   58 (only when not valid).  Table descriptors: PXNTable 59, UXNTable 60.
 *
 * Linux keeps "writable" in DBM and "hardware dirty" as !RDONLY: a clean
 * writable page is DBM|RDONLY, so its first write is seen (by hardware
 * DBM, or by a permission fault when DBM is off).  Dirty is PTE_DIRTY or
 * (DBM && !RDONLY).
 *
 * Swap entries (not valid, PROT_NONE clear): type in bits [7:3], offset in
 * [57:8]; PTE markers are swap entries of the last type.
 */
#include "arch/arm64/arm64.h"

#define SWP_TYPE_SHIFT 3
#define SWP_TYPE_BITS 5
#define SWP_OFFSET_SHIFT 8
#define SWP_OFFSET_BITS 50
#define SWP_PTE_MARKER ((1u << SWP_TYPE_BITS) - 1)

static u64 a64_mk_leaf(u64 pfn, vmlab_pgprot_t prot, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PUD);
	assert(pfn < (1ULL << 36));
	assert((pfn & ((1ULL << (9 * level)) - 1)) == 0);
	bool user = prot & VMLAB_PAGE_USER;
	bool nx = prot & VMLAB_PAGE_NX;
	u64 e = (pfn << VMLAB_PAGE_SHIFT) | A64_SH_INNER |
		A64_ATTRINDX((prot & (VMLAB_PAGE_PCD | VMLAB_PAGE_PWT)) ?
				     A64_MT_NORMAL_NC :
				     A64_MT_NORMAL);
	if (level == VMLAB_LVL_PTE)
		e |= A64_TABLE_PAGE; /* a page descriptor at level 3 */
	if (user)
		e |= A64_USER | A64_PXN | (nx ? A64_UXN : 0);
	else
		e |= A64_UXN | (nx ? A64_PXN : 0);
	if (prot & VMLAB_PAGE_ACCESSED)
		e |= A64_AF;
	if (!(prot & VMLAB_PAGE_GLOBAL) || !(prot & VMLAB_PAGE_PRESENT))
		e |= A64_NG;
	/* pte_mkwrite(): PTE_WRITE; RDONLY stays set until dirty. */
	if (prot & VMLAB_PAGE_RW) {
		e |= A64_DBM;
		if (!(prot & VMLAB_PAGE_DIRTY))
			e |= A64_RDONLY;
	} else {
		e |= A64_RDONLY;
		if (prot & VMLAB_PAGE_DIRTY)
			e |= A64_SW_DIRTY;
	}
	if (prot & VMLAB_PAGE_PRESENT)
		return e | A64_VALID;
	/* PAGE_NONE: not valid, PTE_PROT_NONE, still names its frame. */
	assert(prot & VMLAB_PAGE_PROTNONE);
	e |= A64_PROT_NONE;
	assert(!(e & A64_VALID));
	return e;
}

static u64 a64_mk_table(u64 pfn, bool user)
{
	assert(pfn < (1ULL << 36));
	/* pmd_populate(): user tables PXNTable, kernel tables UXNTable. */
	u64 e = (pfn << VMLAB_PAGE_SHIFT) | A64_VALID | A64_TABLE_PAGE |
		(user ? A64_PXN_TABLE : A64_UXN_TABLE);
	assert(((e & A64_OA_MASK) >> VMLAB_PAGE_SHIFT) == pfn);
	return e;
}

static u64 a64_mk_swap(u32 type, u64 offset)
{
	assert(type < (1u << SWP_TYPE_BITS));
	assert(offset < (1ULL << SWP_OFFSET_BITS));
	/* The entry is type and offset as they are (no inversion, unlike
	 * x86): (0, 0) encodes as 0, pte_none().  The kernel never stores it
	 * (slot 0 of a swap area is the header); vmlab_mk_swap() warns. */
	u64 e = ((u64)type << SWP_TYPE_SHIFT) | (offset << SWP_OFFSET_SHIFT);
	assert(!(e & (A64_VALID | A64_PROT_NONE)));
	return e;
}

static u64 a64_mk_marker(u32 bits)
{
	assert(bits != 0);
	u64 e = a64_mk_swap(SWP_PTE_MARKER, bits);
	assert(e != 0);
	return e;
}

static vmlab_pgprot_t a64_prot(u64 e, bool present)
{
	vmlab_pgprot_t p = 0;
	bool user = e & A64_USER;
	if (present)
		p |= VMLAB_PAGE_PRESENT;
	if (e & A64_DBM)
		p |= VMLAB_PAGE_RW;
	if (user)
		p |= VMLAB_PAGE_USER;
	if (e & A64_AF)
		p |= VMLAB_PAGE_ACCESSED;
	if ((e & A64_SW_DIRTY) || ((e & A64_DBM) && !(e & A64_RDONLY)))
		p |= VMLAB_PAGE_DIRTY;
	if (!(e & A64_NG) && present)
		p |= VMLAB_PAGE_GLOBAL;
	if (user ? (e & A64_UXN) : (e & A64_PXN))
		p |= VMLAB_PAGE_NX;
	if (((e >> 2) & 7) == A64_MT_NORMAL_NC)
		p |= VMLAB_PAGE_PCD;
	return p;
}

static bool a64_bad_entry(u64 e, int level)
{
	if (!(e & A64_VALID))
		return false;
	/* Level 3 needs the page bit; level 0 cannot hold a block. */
	if (level == VMLAB_LVL_PTE || level == VMLAB_LVL_PGD)
		return !(e & A64_TABLE_PAGE);
	return false;
}

static void a64_decode(u64 e, int level, struct vmlab_pte_info *out)
{
	memset(out, 0, sizeof(*out));
	if (e == 0) {
		out->kind = VMLAB_PTE_NONE;
		return;
	}
	if (a64_bad_entry(e, level)) {
		out->kind = VMLAB_PTE_BAD;
		return;
	}
	if (e & A64_VALID) {
		bool table = level > VMLAB_LVL_PTE && (e & A64_TABLE_PAGE);
		out->kind = table ? VMLAB_PTE_TABLE : VMLAB_PTE_LEAF;
		out->pfn = (e & A64_OA_MASK) >> VMLAB_PAGE_SHIFT;
		out->prot = table ? VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW |
					    VMLAB_PAGE_USER
				  : a64_prot(e, true);
		return;
	}
	if (e & A64_PROT_NONE) {
		out->kind = VMLAB_PTE_PROTNONE;
		out->pfn = (e & A64_OA_MASK) >> VMLAB_PAGE_SHIFT;
		out->prot = a64_prot(e, false) | VMLAB_PAGE_PROTNONE;
		return;
	}
	u32 type = (u32)((e >> SWP_TYPE_SHIFT) & ((1u << SWP_TYPE_BITS) - 1));
	u64 offset = (e >> SWP_OFFSET_SHIFT) & ((1ULL << SWP_OFFSET_BITS) - 1);
	if (type == SWP_PTE_MARKER) {
		out->kind = VMLAB_PTE_MARKER;
		out->marker = (u32)offset;
		return;
	}
	out->kind = VMLAB_PTE_SWAP;
	out->swp_type = type;
	out->swp_offset = offset;
}

static bool a64_hw_present(u64 e)
{
	return e & A64_VALID;
}

static bool a64_is_large(u64 e, int level)
{
	assert(level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	return (level == VMLAB_LVL_PMD || level == VMLAB_LVL_PUD) &&
	       (e & (A64_VALID | A64_TABLE_PAGE)) == A64_VALID;
}

/* Hardware AF (and DBM dirty) update as FEAT_HAFDBS performs it. */
static u64 a64_set_ad(u64 e, bool dirty)
{
	assert(e & A64_VALID);
	u64 ne = e | A64_AF;
	if (dirty && (e & A64_DBM))
		ne &= ~A64_RDONLY;
	return ne;
}

/*
 * arm64 has no pte_needs_flush(): the generic definition flushes after
 * every change of a present entry (mprotect upgrades included), which is
 * what the core mm code does there.
 */
static bool a64_pte_needs_flush(u64 old, u64 new_)
{
	(void)new_;
	assert(old != new_);
	return old & A64_VALID;
}

/*
 * The architecture's break-before-make rule for a live entry, as
 * pgattr_change_is_safe() (arch/arm64/mm/mmu.c) encodes it: permissions
 * (PXN, RDONLY, DBM/PTE_WRITE), nG -> nG|G... may change in place; a new
 * output address, a block <-> table change, a memory type or
 * shareability change, the contiguous bit, or nG -> G need the entry to
 * go invalid and be invalidated from every TLB first.  AF, UXN and the
 * software bits are let through (core mm changes them in place).
 */
static bool a64_bbm_required(u64 old, u64 new_, int level)
{
	if (!(old & A64_VALID) || !(new_ & A64_VALID))
		return false;
	bool ot = level > VMLAB_LVL_PTE && (old & A64_TABLE_PAGE);
	bool nt = level > VMLAB_LVL_PTE && (new_ & A64_TABLE_PAGE);
	if (ot != nt || ((old ^ new_) & A64_OA_MASK))
		return true;
	if (ot)
		return false; /* the same table: only its attributes changed */
	if ((old | new_) & A64_CONT)
		return true;
	if (old & ~new_ & A64_NG)
		return true;
	return (old ^ new_) & (A64_ATTR_MASK | A64_SH_MASK);
}

const struct vmlab_arch_ops vmlab_arch_arm64 = {
	.name = "arm64",
	.id = VMLAB_ARCH_ARM64,
	.levels = 4,
	.pa_bits = 48,
	.swp_offsets = 1ULL << SWP_OFFSET_BITS,
	.mk_leaf = a64_mk_leaf,
	.mk_table = a64_mk_table,
	.mk_swap = a64_mk_swap,
	.mk_marker = a64_mk_marker,
	.decode = a64_decode,
	/* Valid with the page bit: a level-3 page descriptor. */
	.pte_page_mask = A64_VALID | A64_TABLE_PAGE,
	.hw_present = a64_hw_present,
	.is_large = a64_is_large,
	.set_ad = a64_set_ad,
	.spurious_fault_ok = false,
	.pte_needs_flush = a64_pte_needs_flush,
	.bad_entry = a64_bad_entry,
	.bbm_required = a64_bbm_required,
	.split_root = true,
	.tlb = &arm64_tlb_ops,
	/*
	 * 48-bit VA, 4K pages, generic KASAN, after arch/arm64/include/asm/
	 * memory.h (6.x): PAGE_OFFSET = -(1 << VA_BITS); with KASAN the linear
	 * map ends at PAGE_END = KASAN_SHADOW_START = KASAN_SHADOW_END -
	 * (1 << (VA_BITS - 3)), KASAN_SHADOW_END = (1 << (64 - 3)) +
	 * KASAN_SHADOW_OFFSET, the Kconfig offset 0xdfff800000000000 (arch/
	 * arm64/Kconfig, 48-bit, generic); MODULES_VADDR = _PAGE_END(48) =
	 * -(1 << 47), MODULES_VSIZE = SZ_2G; asm/pgtable.h: VMALLOC_START =
	 * MODULES_END, VMALLOC_END = VMEMMAP_START - SZ_256M with VMEMMAP_START
	 * = -SZ_1G - VMEMMAP_SIZE, VMEMMAP_SIZE = (2^47 >> PAGE_SHIFT) * 64
	 * (struct page) = 2 TiB.  arm64's VMALLOC_END is an exclusive bound;
	 * vmalloc_end here is inclusive, as x86 defines it.  asm/processor.h:
	 * TASK_SIZE_64 = 1 << vabits_actual, TASK_UNMAPPED_BASE =
	 * PAGE_ALIGN(DEFAULT_MAP_WINDOW / 4).
	 */
	.layout = {
		.page_offset = 0xffff000000000000ULL,
		.linear_end = 0xffff600000000000ULL,
		.vmalloc_start = 0xffff800080000000ULL,
		.vmalloc_end = 0xfffffdffb0000000ULL - 1,
		.modules_vaddr = 0xffff800000000000ULL,
		.modules_end = 0xffff800080000000ULL,
		.kasan_shadow_start = 0xffff600000000000ULL,
		.kasan_shadow_end = 0xffff800000000000ULL,
		.kasan_shadow_offset = 0xdfff800000000000ULL,
		.task_size = 1ULL << 48,
		/* PAGE_ALIGN(DEFAULT_MAP_WINDOW_64 / 4), the window 1 << 48 */
		.task_unmapped_base = 1ULL << 46,
		.va_bits = 48,
	},
};
