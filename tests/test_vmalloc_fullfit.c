/* SPDX-License-Identifier: MIT */
/*
 * lib/test_vmalloc.c's full_fit_alloc_test, alone in its binary: its shape
 * (lazy_max_pages() live pairs) makes it the costliest vmalloc test under
 * the debug build's whole-tree checks.
 */
#include "test_vmalloc.h"

/*
 * full_fit_alloc_test: lazy_max_pages() pairs, every second area freed,
 * then one-page allocations must fill the two-page holes exactly (the
 * FL_FIT case), lowest first.  One CPU keeps the shape smallest.
 */
static void test_full_fit_alloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(1, 256 * VMLAB_MiB);
	u64 junk_length = vmlab_lazy_max_pages(m);
	assert_int_equal(junk_length, 8192);
	u64 *ptr = calloc(junk_length, sizeof(u64));
	u64 *junk = calloc(junk_length, sizeof(u64));
	assert_non_null(ptr);
	assert_non_null(junk);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (u64 i = 0; i < junk_length; i++) {
		ptr[i] = vmlab_vmalloc(m, 0, P);
		junk[i] = vmlab_vmalloc(m, 0, P);
		assert_int_equal(junk[i], ptr[i] + 2 * P);
	}
	for (u64 i = 0; i < junk_length; i++) {
		vmlab_vfree(m, 0, junk[i]);
		run_work(m);
	}
	vmlab_purge_vmap_area_lazy(m, 0);
	for (int i = 0; i < 500; i++) {
		u64 tmp = vmlab_vmalloc(m, 0, P);
		assert_int_equal(tmp, junk[i]); /* the lowest hole, exactly */
		write_byte(m, tmp, 1);
		vmlab_vfree(m, 0, tmp);
	}
	for (u64 i = 0; i < junk_length; i++)
		vmlab_vfree(m, 0, ptr[i]);
	assert_all_free(m, busy0, free0);
	free(ptr);
	free(junk);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_fit_alloc),
	};
	return vm_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
