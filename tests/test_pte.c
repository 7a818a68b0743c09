/* SPDX-License-Identifier: MIT */
/*
 * Page-table entry encoding and decoding, every bit and level, on the
 * suite's architecture: the generic round trips on both, and where the
 * bits themselves are checked, x86-64's entry format or arm64's VMSAv8-64
 * descriptors.  The vmlab_mk_* helpers' argument checks (a warning and
 * pte_none, never an abort).
 */
#include "helpers.h"

static struct vmlab_machine *M;

/* x86-64 entry bits (Intel SDM vol. 3, 4-level paging). */
#define X86_BIT_P (1ULL << 0)
#define X86_BIT_PS (1ULL << 7)
#define X86_BIT_PROTNONE (1ULL << 8)

/* arm64 descriptor bits (Arm ARM D8.3, 4 KiB granule). */
#define A64_BIT_VALID (1ULL << 0)
#define A64_BIT_TABLE_PAGE (1ULL << 1)
#define A64_BIT_ATTRINDX(e) (((e) >> 2) & 7)
#define A64_BIT_AP1_USER (1ULL << 6)
#define A64_BIT_AP2_RDONLY (1ULL << 7)
#define A64_BIT_SH(e) (((e) >> 8) & 3)
#define A64_BIT_AF (1ULL << 10)
#define A64_BIT_NG (1ULL << 11)
#define A64_BIT_DBM (1ULL << 51)
#define A64_BIT_PXN (1ULL << 53)
#define A64_BIT_UXN (1ULL << 54)
#define A64_BIT_PROT_NONE (1ULL << 58) /* Linux's software PROT_NONE */
#define A64_BIT_PXNTABLE (1ULL << 59)
#define A64_BIT_UXNTABLE (1ULL << 60)
#define A64_OA(e) (((e) >> 12) & ((1ULL << 36) - 1))

static int setup(void **state)
{
	(void)state;
	M = t_machine(1, 64 * VMLAB_MiB, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vmlab_machine_destroy(M);
	return 0;
}

/* What the architecture gives back of a protection it encoded: arm64 has
 * one non-cacheable memory type for PWT and PCD. */
static vmlab_pgprot_t decoded_prot(vmlab_pgprot_t prot)
{
	if (t_arm64() && (prot & (VMLAB_PAGE_PWT | VMLAB_PAGE_PCD)))
		prot = (prot & ~VMLAB_PAGE_PWT) | VMLAB_PAGE_PCD;
	return prot;
}

/* x86: each protection bit sits where the SDM puts it, PS marks a large
 * leaf, the frame is bits 12..51. */
static void check_x86_leaf(u64 e, u64 pfn, vmlab_pgprot_t bit, int level)
{
	assert_true(e & bit);
	assert_true(e & X86_BIT_P);
	assert_int_equal(!!(e & X86_BIT_PS), level > 0);
	assert_int_equal((e >> 12) & ((1ULL << 40) - 1), pfn);
}

/* arm64: valid; page bit at level 3, a block (bit 1 clear) at 1 and 2;
 * inner shareable; AP[1] for EL0, AP[2] read-only unless writable and
 * dirty, DBM for writable; the other privilege level never executes;
 * AF for accessed; nG unless global; AttrIndx normal or non-cacheable. */
static void check_a64_leaf(u64 e, u64 pfn, vmlab_pgprot_t prot, int level)
{
	assert_true(e & A64_BIT_VALID);
	assert_int_equal(!!(e & A64_BIT_TABLE_PAGE), level == VMLAB_LVL_PTE);
	assert_int_equal(A64_OA(e), pfn);
	assert_int_equal(A64_BIT_SH(e), 3);
	bool user = prot & VMLAB_PAGE_USER, nx = prot & VMLAB_PAGE_NX;
	assert_int_equal(!!(e & A64_BIT_AP1_USER), user);
	assert_int_equal(!!(e & A64_BIT_DBM), !!(prot & VMLAB_PAGE_RW));
	assert_int_equal(!!(e & A64_BIT_AP2_RDONLY),
			 !(prot & VMLAB_PAGE_RW) || !(prot & VMLAB_PAGE_DIRTY));
	assert_int_equal(!!(e & A64_BIT_PXN), user || nx);
	assert_int_equal(!!(e & A64_BIT_UXN), !user || nx);
	assert_int_equal(!!(e & A64_BIT_AF), !!(prot & VMLAB_PAGE_ACCESSED));
	assert_int_equal(!!(e & A64_BIT_NG), !(prot & VMLAB_PAGE_GLOBAL));
	assert_int_equal(A64_BIT_ATTRINDX(e),
			 (prot & (VMLAB_PAGE_PCD | VMLAB_PAGE_PWT)) ? 2 : 0);
}

static void test_leaf_bits_every_level(void **state)
{
	(void)state;
	const vmlab_pgprot_t bits[] = {
		VMLAB_PAGE_RW, VMLAB_PAGE_USER, VMLAB_PAGE_PWT, VMLAB_PAGE_PCD,
		VMLAB_PAGE_ACCESSED, VMLAB_PAGE_DIRTY, VMLAB_PAGE_GLOBAL,
		VMLAB_PAGE_NX, VMLAB_PAGE_RW | VMLAB_PAGE_DIRTY,
		VMLAB_PAGE_USER | VMLAB_PAGE_NX,
	};
	for (int level = 0; level <= VMLAB_LVL_PUD; level++) {
		u64 pfn = 0x12345ULL << (9 * level);
		for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
			vmlab_pgprot_t prot = VMLAB_PAGE_PRESENT | bits[b];
			u64 e = vmlab_mk_leaf(M, pfn, prot, level);
			if (t_arm64())
				check_a64_leaf(e, pfn, prot, level);
			else
				check_x86_leaf(e, pfn, bits[b], level);
			assert_true(vmlab_arch(M)->hw_present(e));
			struct vmlab_pte_info in;
			vmlab_pte_decode(M, e, level, &in);
			assert_int_equal(in.kind, VMLAB_PTE_LEAF);
			assert_int_equal(in.pfn, pfn);
			assert_int_equal(in.prot, decoded_prot(prot));
		}
	}
}

static void test_table_entries(void **state)
{
	(void)state;
	const struct vmlab_arch_ops *a = vmlab_arch(M);
	u64 k = a->mk_table(0x777, false), u = a->mk_table(0x777, true);
	if (t_arm64()) {
		/* Table descriptors: valid + table; pmd_populate()'s
		 * hierarchical XN: UXNTable for kernel tables, PXNTable for
		 * user ones. */
		assert_int_equal(k & 3, 3);
		assert_int_equal(u & 3, 3);
		assert_true((k & A64_BIT_UXNTABLE) && !(k & A64_BIT_PXNTABLE));
		assert_true((u & A64_BIT_PXNTABLE) && !(u & A64_BIT_UXNTABLE));
		assert_int_equal(A64_OA(k), 0x777);
	} else {
		assert_int_equal(k & 0xfff, 0x63); /* _KERNPG_TABLE: P RW A D */
		assert_int_equal(u & 0xfff, 0x67); /* _PAGE_TABLE: + US */
	}
	for (int level = 1; level <= VMLAB_LVL_PGD; level++) {
		struct vmlab_pte_info in;
		vmlab_pte_decode(M, k, level, &in);
		assert_int_equal(in.kind, VMLAB_PTE_TABLE);
		assert_int_equal(in.pfn, 0x777);
		assert_false(a->is_large(k, level));
	}
	/* At the PTE level the same bits are a 4K leaf (x86: a present PTE;
	 * arm64: bit 1 is the page bit at level 3). */
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, k, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_LEAF);
	assert_int_equal(in.pfn, 0x777);
}

static void test_none_swap_marker_protnone(void **state)
{
	(void)state;
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, 0, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_NONE);
	u64 w0 = vmlab_nr_warnings(M);
	for (u32 type = 0; type < 31; type += 5) {
		u64 offs[] = {0, 1, 0x12345, (1ULL << 49) + 3};
		for (size_t i = 0; i < 4; i++) {
			if (t_arm64() && type == 0 && offs[i] == 0)
				continue; /* pte_none: test_swap_entry_zero */
			u64 e = vmlab_mk_swap(M, type, offs[i]);
			assert_true(e != 0);
			assert_false(vmlab_arch(M)->hw_present(e));
			vmlab_pte_decode(M, e, 0, &in);
			assert_int_equal(in.kind, VMLAB_PTE_SWAP);
			assert_int_equal(in.swp_type, type);
			assert_int_equal(in.swp_offset, offs[i]);
		}
	}
	assert_int_equal(vmlab_nr_warnings(M), w0);
	if (t_arm64()) {
		/* Not valid, PROT_NONE clear, type in [7:3] and the offset in
		 * [57:8] as they are. */
		assert_int_equal(vmlab_mk_swap(M, 1, 1), (1ULL << 3) | (1ULL << 8));
		assert_false(vmlab_mk_swap(M, 30, (1ULL << 49) + 3) &
			     (A64_BIT_VALID | A64_BIT_PROT_NONE));
	} else {
		/* The offset is stored inverted (L1TF): a small offset sets
		 * the high frame bits; never P nor PROTNONE. */
		u64 e = vmlab_mk_swap(M, 1, 1);
		assert_true(e & (1ULL << 40));
		assert_false(e & (X86_BIT_P | X86_BIT_PROTNONE));
	}
	u64 g = vmlab_mk_marker(M, VMLAB_PTE_MARKER_GUARD);
	assert_false(vmlab_arch(M)->hw_present(g));
	vmlab_pte_decode(M, g, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_MARKER);
	assert_int_equal(in.marker, VMLAB_PTE_MARKER_GUARD);
	u64 pn = vmlab_mk_leaf(M, 0x4242, VMLAB_PAGE_NONE, 0);
	assert_false(vmlab_arch(M)->hw_present(pn));
	vmlab_pte_decode(M, pn, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_PROTNONE);
	assert_int_equal(in.pfn, 0x4242);
	if (t_arm64()) {
		/* Not valid, Linux's PTE_PROT_NONE, the frame as it is. */
		assert_false(pn & A64_BIT_VALID);
		assert_true(pn & A64_BIT_PROT_NONE);
		assert_int_equal(A64_OA(pn), 0x4242);
	} else {
		/* PROT_NONE inverts the frame number too. */
		assert_false(pn & X86_BIT_P);
		assert_int_not_equal((pn >> 12) & 0xffff, 0x4242);
	}
}

/*
 * Swap type 0, offset 0.  x86 stores the offset inverted, so the entry is
 * a swap entry like any other.  arm64 stores type and offset as they are:
 * the entry is 0, pte_none() (the kernel never makes it: slot 0 of a swap
 * area is the header).  vmlab_mk_swap() asserted there (an abort from the
 * public API); it now warns and gives pte_none.
 */
static void test_swap_entry_zero(void **state)
{
	(void)state;
	u64 w0 = vmlab_nr_warnings(M);
	u64 e = vmlab_mk_swap(M, 0, 0);
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, e, 0, &in);
	if (t_arm64()) {
		assert_int_equal(e, 0);
		assert_int_equal(in.kind, VMLAB_PTE_NONE);
		assert_int_equal(vmlab_nr_warnings(M), w0 + 1);
	} else {
		assert_true(e != 0);
		assert_int_equal(in.kind, VMLAB_PTE_SWAP);
		assert_int_equal(in.swp_type, 0);
		assert_int_equal(in.swp_offset, 0);
		assert_int_equal(vmlab_nr_warnings(M), w0);
	}
}

/* What no entry of the format can hold: a warning and pte_none. */
static void test_mk_bad_arguments(void **state)
{
	(void)state;
	const struct vmlab_arch_ops *a = vmlab_arch(M);
	u64 w0 = vmlab_nr_warnings(M);
	/* Swap: type 32 and up, the first offset the format cannot hold. */
	assert_int_equal(vmlab_mk_swap(M, 32, 1), 0);
	assert_int_equal(vmlab_mk_swap(M, ~0u, 1), 0);
	assert_int_equal(vmlab_mk_swap(M, 1, a->swp_offsets), 0);
	assert_int_equal(vmlab_mk_swap(M, 1, ~0ULL), 0);
	/* ... while the last one fits and comes back. */
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, vmlab_mk_swap(M, 1, a->swp_offsets - 1), 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_SWAP);
	assert_int_equal(in.swp_offset, a->swp_offsets - 1);
	assert_int_equal(vmlab_nr_warnings(M), w0 + 4);
	/* A marker with no bits. */
	assert_int_equal(vmlab_mk_marker(M, 0), 0);
	/* Leaves: no leaf at the PGD level or below the PTE level, a frame
	 * beyond the physical address bits, a large leaf's frame not aligned
	 * to its size, a non-present protection that is not PROT_NONE. */
	u64 too_big = 1ULL << (a->pa_bits - VMLAB_PAGE_SHIFT);
	assert_int_equal(vmlab_mk_leaf(M, 0, VMLAB_PAGE_KERNEL, VMLAB_LVL_PGD), 0);
	assert_int_equal(vmlab_mk_leaf(M, 0, VMLAB_PAGE_KERNEL, -1), 0);
	assert_int_equal(vmlab_mk_leaf(M, too_big, VMLAB_PAGE_KERNEL, 0), 0);
	assert_int_equal(vmlab_mk_leaf(M, 1, VMLAB_PAGE_KERNEL, VMLAB_LVL_PMD), 0);
	assert_int_equal(vmlab_mk_leaf(M, 512, VMLAB_PAGE_KERNEL, VMLAB_LVL_PUD), 0);
	assert_int_equal(vmlab_mk_leaf(M, 1, VMLAB_PAGE_RW, 0), 0);
	assert_int_equal(vmlab_nr_warnings(M), w0 + 4 + 1 + 6);
	/* The largest frame and an aligned large leaf are fine. */
	assert_true(vmlab_mk_leaf(M, too_big - 1, VMLAB_PAGE_KERNEL, 0) != 0);
	assert_true(vmlab_mk_leaf(M, 512, VMLAB_PAGE_KERNEL, VMLAB_LVL_PMD) != 0);
	assert_int_equal(vmlab_nr_warnings(M), w0 + 11);
}

static void test_hw_view(void **state)
{
	(void)state;
	const struct vmlab_arch_ops *a = vmlab_arch(M);
	u64 big = vmlab_mk_leaf(M, 512, VMLAB_PAGE_KERNEL, VMLAB_LVL_PMD);
	assert_true(a->is_large(big, VMLAB_LVL_PMD));
	assert_false(a->is_large(big, VMLAB_LVL_PTE));
	assert_false(a->is_large(a->mk_table(5, false), VMLAB_LVL_PMD));
	u64 clean = vmlab_mk_leaf(M, 9, VMLAB_PAGE_PRESENT | VMLAB_PAGE_RW, 0);
	/* The hardware's access and dirty update, seen through decode. */
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, a->set_ad(clean, false), 0, &in);
	assert_int_equal(in.prot & (VMLAB_PAGE_ACCESSED | VMLAB_PAGE_DIRTY),
			 VMLAB_PAGE_ACCESSED);
	vmlab_pte_decode(M, a->set_ad(clean, true), 0, &in);
	assert_int_equal(in.prot & (VMLAB_PAGE_ACCESSED | VMLAB_PAGE_DIRTY),
			 VMLAB_PAGE_ACCESSED | VMLAB_PAGE_DIRTY);
	assert_int_equal(in.pfn, 9);
	if (t_arm64()) {
		/* AF; dirty is DBM clearing AP[2] (FEAT_HAFDBS). */
		assert_int_equal(a->set_ad(clean, false), clean | A64_BIT_AF);
		assert_int_equal(a->set_ad(clean, true),
				 (clean | A64_BIT_AF) & ~A64_BIT_AP2_RDONLY);
		/* A read-only page has no DBM: a write leaves it read-only. */
		u64 ro = vmlab_mk_leaf(M, 9, VMLAB_PAGE_PRESENT, 0);
		assert_int_equal(a->set_ad(ro, true), ro | A64_BIT_AF);
	} else {
		assert_int_equal(a->set_ad(clean, false), clean | 0x20);
		assert_int_equal(a->set_ad(clean, true), clean | 0x60);
	}
	assert_true(a->hw_present(clean));
	assert_false(a->hw_present(vmlab_mk_marker(M, 4)));
}

/* The reserved encodings the walker faults on. */
static void test_bad_entry(void **state)
{
	(void)state;
	const struct vmlab_arch_ops *a = vmlab_arch(M);
	u64 table = a->mk_table(5, false);
	u64 leaf = vmlab_mk_leaf(M, 512, VMLAB_PAGE_KERNEL, VMLAB_LVL_PMD);
	for (int l = VMLAB_LVL_PMD; l <= VMLAB_LVL_PUD; l++) {
		assert_false(a->bad_entry(table, l));
		assert_false(a->bad_entry(leaf, l));
	}
	assert_false(a->bad_entry(vmlab_mk_marker(M, 4), VMLAB_LVL_PTE));
	if (t_arm64()) {
		/* A block at level 0 or 3 (bit 1 clear there), which decode
		 * names as such. */
		assert_true(a->bad_entry(leaf, VMLAB_LVL_PGD));
		assert_true(a->bad_entry(leaf, VMLAB_LVL_PTE));
		struct vmlab_pte_info in;
		vmlab_pte_decode(M, leaf, VMLAB_LVL_PTE, &in);
		assert_int_equal(in.kind, VMLAB_PTE_BAD);
	} else {
		/* PS in a PML4 entry (decode still reads it as a table: the
		 * software walks follow it, the hardware walk faults). */
		assert_true(a->bad_entry(leaf, VMLAB_LVL_PGD));
		assert_false(a->bad_entry(leaf, VMLAB_LVL_PTE));
	}
}

/*
 * pte_page_mask, the unmap loop's inline test, holds for exactly the
 * entries decode calls a PTE-level leaf: every protection of a page, and
 * none of none, swap, marker, PROT_NONE or a level-3 block (arm64).
 */
static void test_pte_page_mask(void **state)
{
	(void)state;
	const struct vmlab_arch_ops *a = vmlab_arch(M);
	const u64 mask = a->pte_page_mask;
	const vmlab_pgprot_t prots[] = {
	    VMLAB_PAGE_KERNEL, VMLAB_PAGE_KERNEL_RO, VMLAB_PAGE_KERNEL_EXEC,
	    VMLAB_PAGE_PRESENT, VMLAB_PAGE_NONE};
	u64 entries[16];
	size_t n = 0;
	assert_true(mask != 0);
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++)
		entries[n++] = vmlab_mk_leaf(M, 0x1234 + i, prots[i], 0);
	entries[n++] = vmlab_mk_swap(M, 3, 77);
	entries[n++] = vmlab_mk_marker(M, VMLAB_PTE_MARKER_GUARD);
	entries[n++] = vmlab_mk_leaf(M, 512, VMLAB_PAGE_KERNEL, VMLAB_LVL_PMD);
	entries[n++] = a->mk_table(5, false);
	for (size_t i = 0; i < n; i++) {
		struct vmlab_pte_info in;
		vmlab_pte_decode(M, entries[i], VMLAB_LVL_PTE, &in);
		assert_int_equal((entries[i] & mask) == mask,
				 in.kind == VMLAB_PTE_LEAF);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_bits_every_level),
		cmocka_unit_test(test_table_entries),
		cmocka_unit_test(test_none_swap_marker_protnone),
		cmocka_unit_test(test_swap_entry_zero),
		cmocka_unit_test(test_mk_bad_arguments),
		cmocka_unit_test(test_hw_view),
		cmocka_unit_test(test_bad_entry),
		cmocka_unit_test(test_pte_page_mask),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
