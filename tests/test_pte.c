/* SPDX-License-Identifier: MIT */
/* Page-table entry encoding and decoding, every bit and level (x86-64). */
#include "helpers.h"

static struct vmlab_machine *M;

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

static void test_leaf_bits_every_level(void **state)
{
	(void)state;
	const vmlab_pgprot_t bits[] = {
		VMLAB_PAGE_RW, VMLAB_PAGE_USER, VMLAB_PAGE_PWT, VMLAB_PAGE_PCD,
		VMLAB_PAGE_ACCESSED, VMLAB_PAGE_DIRTY, VMLAB_PAGE_GLOBAL,
		VMLAB_PAGE_NX,
	};
	for (int level = 0; level <= VMLAB_LVL_PUD; level++) {
		u64 pfn = 0x12345ULL << (9 * level);
		for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
			vmlab_pgprot_t prot = VMLAB_PAGE_PRESENT | bits[b];
			u64 e = vmlab_mk_leaf(M, pfn, prot, level);
			/* The architectural bit is where x86 puts it. */
			assert_true(e & bits[b]);
			assert_true(e & 1);
			assert_int_equal(!!(e & (1ULL << 7)), level > 0);
			assert_int_equal((e >> 12) & ((1ULL << 40) - 1), pfn);
			struct vmlab_pte_info in;
			vmlab_pte_decode(M, e, level, &in);
			assert_int_equal(in.kind, VMLAB_PTE_LEAF);
			assert_int_equal(in.pfn, pfn);
			assert_int_equal(in.prot, prot);
		}
	}
}

static void test_table_entries(void **state)
{
	(void)state;
	const struct vmlab_arch_ops *a = vmlab_arch(M);
	u64 k = a->mk_table(0x777, false), u = a->mk_table(0x777, true);
	assert_int_equal(k & 0xfff, 0x63); /* _KERNPG_TABLE: P RW A D */
	assert_int_equal(u & 0xfff, 0x67); /* _PAGE_TABLE: + US */
	for (int level = 1; level <= VMLAB_LVL_PGD; level++) {
		struct vmlab_pte_info in;
		vmlab_pte_decode(M, k, level, &in);
		assert_int_equal(in.kind, VMLAB_PTE_TABLE);
		assert_int_equal(in.pfn, 0x777);
	}
	/* At the PTE level the same bits are a 4K leaf. */
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, k, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_LEAF);
}

static void test_none_swap_marker_protnone(void **state)
{
	(void)state;
	struct vmlab_pte_info in;
	vmlab_pte_decode(M, 0, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_NONE);
	for (u32 type = 0; type < 31; type += 5) {
		u64 offs[] = {0, 1, 0x12345, (1ULL << 49) + 3};
		for (size_t i = 0; i < 4; i++) {
			u64 e = vmlab_mk_swap(M, type, offs[i]);
			assert_false(e & 1);         /* not present */
			assert_false(e & (1ULL << 8)); /* not PROT_NONE */
			assert_true(e != 0);
			vmlab_pte_decode(M, e, 0, &in);
			assert_int_equal(in.kind, VMLAB_PTE_SWAP);
			assert_int_equal(in.swp_type, type);
			assert_int_equal(in.swp_offset, offs[i]);
		}
	}
	/* The offset is stored inverted (L1TF): a small offset sets the
	 * high frame bits. */
	assert_true(vmlab_mk_swap(M, 1, 1) & (1ULL << 40));
	u64 g = vmlab_mk_marker(M, VMLAB_PTE_MARKER_GUARD);
	vmlab_pte_decode(M, g, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_MARKER);
	assert_int_equal(in.marker, VMLAB_PTE_MARKER_GUARD);
	u64 pn = vmlab_mk_leaf(M, 0x4242, VMLAB_PAGE_NONE, 0);
	assert_false(pn & 1);
	vmlab_pte_decode(M, pn, 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_PROTNONE);
	assert_int_equal(in.pfn, 0x4242);
	/* PROT_NONE inverts the frame number too. */
	assert_int_not_equal((pn >> 12) & 0xffff, 0x4242);
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
	assert_int_equal(a->set_ad(clean, false), clean | 0x20);
	assert_int_equal(a->set_ad(clean, true), clean | 0x60);
	assert_true(a->hw_present(clean));
	assert_false(a->hw_present(vmlab_mk_marker(M, 4)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_bits_every_level),
		cmocka_unit_test(test_table_entries),
		cmocka_unit_test(test_none_swap_marker_protnone),
		cmocka_unit_test(test_hw_view),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
