/* SPDX-License-Identifier: MIT */
/*
 * The selectable VM_FLUSH_RESET_PERMS designs (cfg.reset_perms,
 * cfg.set_alias): mainline, the seed's v2 vm_remove_mappings() with its
 * vunmap() branch and its set_memory_nx + set_memory_rw fallback for an
 * architecture without set_alias, and the review's one-call variant.
 */
#include "helpers.h"

#define P VMLAB_PAGE_SIZE

static struct vmlab_machine *rp_machine(const char *arch, int set_alias,
					enum vmlab_reset_perms rp)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.arch = arch;
	cfg.nr_cpus = 2;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	cfg.set_alias = set_alias;
	cfg.reset_perms = rp;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	return m;
}

static void test_bad_values_refused(void **state)
{
	(void)state;
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.reset_perms = VMLAB_NR_RESET_PERMS;
	assert_non_null(strstr(vmlab_config_error(&cfg), "reset_perms"));
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), -VMLAB_EINVAL);
	assert_null(m);
	t_config(&cfg);
	cfg.set_alias = (enum vmlab_tristate)7;
	assert_non_null(strstr(vmlab_config_error(&cfg), "set_alias"));
	t_config(&cfg);
	assert_null(vmlab_config_error(&cfg));
}

/* Without ARCH_HAS_SET_DIRECT_MAP the noflush calls change nothing. */
static void test_no_set_alias_is_a_stub(void **state)
{
	(void)state;
	for (int on = 0; on < 2; on++) {
		struct vmlab_machine *m = rp_machine(
		    "x86_64", on ? VMLAB_ON : VMLAB_OFF, 0);
		u64 pfn = t_page(m);
		u64 va = vmlab_page_address(m, pfn), pa;
		assert_int_equal(vmlab_set_direct_map_invalid_noflush(m, pfn),
				 0);
		int r = vmlab_translate(m, vmlab_init_mm(m), va, &pa, NULL,
					NULL);
		assert_int_equal(r, on ? -VMLAB_ENOENT : 0);
		assert_int_equal(vmlab_set_direct_map_default_noflush(m, pfn),
				 0);
		vmlab_machine_destroy(m);
	}
}

/* vfree() of a flagged RO+X area: set_memory calls made inside it. */
static u64 vfree_cpa_calls(const char *arch, int set_alias,
			   enum vmlab_reset_perms rp, u64 *flushes)
{
	struct vmlab_machine *m = rp_machine(arch, set_alias, rp);
	u64 a = vmlab_vmalloc(m, 0, 4 * P);
	assert_int_equal(vmlab_set_memory_ro(m, 0, a, 4), 0);
	assert_int_equal(vmlab_set_memory_x(m, 0, a, 4), 0);
	vmlab_set_vm_flush_reset_perms(m, a);
	u64 c0 = vmlab_counter(m, -1, VMLAB_C_cpa_call);
	u64 f0 = vmlab_counter(m, -1, VMLAB_C_flush_kernel_range) +
		 vmlab_counter(m, -1, VMLAB_C_flush_kernel_range_full);
	vmlab_vfree(m, 0, a);
	u64 calls = vmlab_counter(m, -1, VMLAB_C_cpa_call) - c0;
	*flushes = vmlab_counter(m, -1, VMLAB_C_flush_kernel_range) +
		   vmlab_counter(m, -1, VMLAB_C_flush_kernel_range_full) - f0;
	assert_null(vmlab_find_vm_area(m, a));
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
	return calls;
}

static void test_seed_v2_fallback(void **state)
{
	(void)state;
	static const char *const archs[] = {"x86_64", "arm64"};
	for (int i = 0; i < 2; i++) {
		u64 f_alias, f_two, f_one, f_ml;
		assert_int_equal(vfree_cpa_calls(archs[i], VMLAB_ON,
						 VMLAB_RESET_PERMS_SEED_V2,
						 &f_alias), 0);
		assert_int_equal(vfree_cpa_calls(archs[i], VMLAB_OFF,
						 VMLAB_RESET_PERMS_SEED_V2,
						 &f_two), 2);
		assert_int_equal(
		    vfree_cpa_calls(archs[i], VMLAB_OFF,
				    VMLAB_RESET_PERMS_SEED_V2_ONE_CALL, &f_one),
		    1);
		assert_int_equal(vfree_cpa_calls(archs[i], VMLAB_OFF,
						 VMLAB_RESET_PERMS_MAINLINE,
						 &f_ml), 0);
		assert_true(f_two > f_one && f_one > f_alias);
		assert_int_equal(f_ml, f_alias);
	}
}

/* The seed's v2 vunmap() branch: vm_unmap_aliases() purges the area. */
static void test_seed_v2_vunmap(void **state)
{
	(void)state;
	for (int rp = 0; rp < 2; rp++) {
		struct vmlab_machine *m = rp_machine("x86_64", VMLAB_ON,
						     (enum vmlab_reset_perms)rp);
		u64 pfns[2] = {t_page(m), t_page(m)};
		u64 w = vmlab_nr_warnings(m);
		u64 v = vmlab_vmap(m, 0, pfns, 2, VMLAB_VM_FLUSH_RESET_PERMS,
				   VMLAB_PAGE_KERNEL);
		assert_true(rp ? v != 0 : v == 0);
		assert_int_equal(vmlab_nr_warnings(m) - w, rp ? 0 : 1);
		if (!v)
			v = vmlab_vmap(m, 0, pfns, 2, 0, VMLAB_PAGE_KERNEL);
		vmlab_set_vm_flush_reset_perms(m, v);
		vmlab_vunmap(m, 0, v);
		struct vmlab_vmalloc_stats s;
		vmlab_vmalloc_stats(m, &s);
		assert_int_equal(s.nr_lazy, rp ? 0 : 1);
		assert_null(vmlab_find_vm_area(m, v));
		vmlab_machine_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_values_refused),
	    cmocka_unit_test(test_no_set_alias_is_a_stub),
	    cmocka_unit_test(test_seed_v2_fallback),
	    cmocka_unit_test(test_seed_v2_vunmap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
