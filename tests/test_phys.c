/* SPDX-License-Identifier: MIT */
/* Physical memory: buddy allocator, per-CPU lists, sparse contents. */
#include "helpers.h"

static void test_alloc_alignment_and_merge(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	u64 free0 = vmlab_nr_free_pages(m);
	for (int order = 0; order <= VMLAB_MAX_ORDER; order++) {
		u64 pfn;
		assert_int_equal(vmlab_alloc_pages(m, 0, order, &pfn), 0);
		assert_int_equal(pfn & ((1ULL << order) - 1), 0);
		struct vmlab_page *pg = vmlab_pfn_to_page(m, pfn);
		assert_int_equal(pg->order, order);
		assert_int_equal(pg->refcount, 1);
		assert_int_equal(vmlab_nr_free_pages(m), free0 - (1ULL << order));
		vmlab_free_pages(m, 0, pfn, order);
		assert_int_equal(vmlab_nr_free_pages(m), free0);
	}
	/* Buddies merge: free two halves, get the whole block back. */
	u64 a, b;
	assert_int_equal(vmlab_alloc_pages(m, 1, 3, &a), 0);
	assert_int_equal(vmlab_alloc_pages(m, 1, 3, &b), 0);
	vmlab_free_pages(m, 1, a, 3);
	vmlab_free_pages(m, 1, b, 3);
	u64 c;
	assert_int_equal(vmlab_alloc_pages(m, 1, 4, &c), 0);
	assert_int_equal(c, a < b ? a : b);
	vmlab_free_pages(m, 1, c, 4);
	vmlab_machine_destroy(m);
}

static void test_exhaustion_returns_enomem(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	u64 n = 0, pfn;
	while (vmlab_alloc_pages(m, n & 1, 0, &pfn) == 0)
		n++;
	assert_int_equal(vmlab_nr_free_pages(m), 0);
	assert_int_equal(vmlab_alloc_pages(m, 0, 0, &pfn), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_alloc_pages(m, 0, 5, &pfn), -VMLAB_ENOMEM);
	assert_true(n > 15000); /* 64 MiB minus tables and the first MiB */
	vmlab_machine_destroy(m);
}

static void test_per_cpu_lists_reuse_lifo(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	u64 a = t_page(m);
	vmlab_free_pages(m, 0, a, 0);
	/* The freeing CPU gets its hot page back first. */
	assert_int_equal(t_page(m), a);
	vmlab_free_pages(m, 0, a, 0);
	struct vmlab_page *pg = vmlab_pfn_to_page(m, a);
	assert_true(pg->flags & VMLAB_PG_PCP);
	vmlab_machine_destroy(m);
}

static void test_bad_free_warns_without_damage(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	u64 pfn = t_page(m);
	u64 w = vmlab_nr_warnings(m), free0 = vmlab_nr_free_pages(m);
	vmlab_free_pages(m, 0, pfn, 0);
	vmlab_free_pages(m, 0, pfn, 0);         /* double free */
	vmlab_free_pages(m, 0, 1ULL << 40, 0);  /* beyond RAM */
	vmlab_free_pages(m, 0, pfn | 1, 1);     /* misaligned */
	vmlab_free_pages(m, 0, pfn, 11);        /* bad order */
	assert_int_equal(vmlab_nr_warnings(m), w + 4);
	assert_int_equal(vmlab_nr_free_pages(m), free0 + 1);
	assert_int_equal(vmlab_alloc_pages(m, 0, 11, &pfn), -VMLAB_EINVAL);
	assert_int_equal(vmlab_alloc_pages(m, 0, -1, &pfn), -VMLAB_EINVAL);
	vmlab_machine_destroy(m);
}

static void test_sparse_contents(void **state)
{
	(void)state;
	/* arm64: block mappings for the linear map, or its PTE tables alone
	 * (2 GiB for 1 TiB) pass the default host budget. */
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 1;
	cfg.mem_bytes = VMLAB_TiB;
	if (t_arm64())
		cfg.rodata_full = VMLAB_OFF;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	u64 before = vmlab_host_content_bytes(m);
	u8 buf[16];
	vmlab_phys_read(m, 700 * VMLAB_GiB, buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(vmlab_host_content_bytes(m), before);
	vmlab_phys_write(m, 700 * VMLAB_GiB + 4090, "0123456789", 10);
	assert_int_equal(vmlab_host_content_bytes(m), before + 2 * 4096);
	vmlab_phys_read(m, 700 * VMLAB_GiB + 4090, buf, 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(vmlab_nr_frames(m), VMLAB_TiB >> 12);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_alignment_and_merge),
		cmocka_unit_test(test_exhaustion_returns_enomem),
		cmocka_unit_test(test_per_cpu_lists_reuse_lifo),
		cmocka_unit_test(test_bad_free_warns_without_damage),
		cmocka_unit_test(test_sparse_contents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
