/* SPDX-License-Identifier: MIT */
/* The generic page walker, including the install_pte extension. */
#include "helpers.h"
#include "mm/internal.h"

struct rec {
	int pud, pmd, pte, pte_none, holes[4];
	u64 first_hole, installed;
	int fail_at;
	struct vmlab_machine *m;
};

static int pud_cb(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e, (void)a, (void)n;
	((struct rec *)w->private)->pud++;
	return 0;
}

static int pmd_cb(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e, (void)a, (void)n;
	((struct rec *)w->private)->pmd++;
	return 0;
}

static int pte_cb(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)a, (void)n;
	struct rec *r = w->private;
	r->pte++;
	if (vmlab_get_entry(w->m, e) == 0)
		r->pte_none++;
	return 0;
}

static int hole_cb(u64 a, u64 n, int depth, struct vmlab_walk *w)
{
	(void)n;
	struct rec *r = w->private;
	assert_true(depth == 0 || depth == 2 || depth == 3);
	if (!r->holes[0] && !r->holes[2] && !r->holes[3])
		r->first_hole = a;
	r->holes[depth]++;
	return 0;
}

static int install_cb(u64 a, u64 n, u64 *val, struct vmlab_walk *w)
{
	(void)n;
	struct rec *r = w->private;
	if (r->fail_at && (int)r->installed == r->fail_at)
		return -VMLAB_EIO;
	r->installed++;
	*val = vmlab_mk_marker(w->m, VMLAB_PTE_MARKER_GUARD);
	(void)a;
	return 0;
}

static void test_levels_and_holes(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	t_map(m, KVA + 5 * 4096, VMLAB_PAGE_KERNEL);
	struct vmlab_walk_ops ops = {.pud_entry = pud_cb, .pmd_entry = pmd_cb,
				     .pte_entry = pte_cb, .pte_hole = hole_cb};
	struct rec r = {0};
	/* [KVA, KVA + 4 MiB): one PMD with a table, one empty PMD. */
	assert_int_equal(vmlab_walk_page_range(m, vmlab_init_mm(m), KVA,
					       KVA + 4 * VMLAB_MiB, &ops, &r), 0);
	assert_int_equal(r.pud, 1);
	assert_int_equal(r.pmd, 1);
	assert_int_equal(r.pte, 512);
	assert_int_equal(r.pte_none, 511);
	assert_int_equal(r.holes[3], 1);
	assert_int_equal(r.first_hole, KVA + 2 * VMLAB_MiB);
	vmlab_machine_destroy(m);
}

static void test_large_leaf_split_only_when_needed(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	assert_int_equal(vmlab_map_range(m, k, KVA, 0, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL, VMLAB_MAP_HUGE_PMD),
			 0);
	struct vmlab_walk_ops pmd_only = {.pmd_entry = pmd_cb};
	struct rec r = {0};
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + VMLAB_PMD_SIZE,
					       &pmd_only, &r), 0);
	assert_int_equal(r.pmd, 1);
	int level;
	vmlab_translate(m, k, KVA, NULL, NULL, &level);
	assert_int_equal(level, VMLAB_LVL_PMD); /* not split */
	struct vmlab_walk_ops with_pte = {.pte_entry = pte_cb};
	memset(&r, 0, sizeof(r));
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + VMLAB_PMD_SIZE,
					       &with_pte, &r), 0);
	assert_int_equal(r.pte, 512);
	vmlab_translate(m, k, KVA, NULL, NULL, &level);
	assert_int_equal(level, VMLAB_LVL_PTE); /* split to show the PTEs */
	vmlab_machine_destroy(m);
}

static void test_install_pte(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 pfn = t_map(m, KVA + 4096, VMLAB_PAGE_KERNEL);
	struct vmlab_walk_ops ops = {.pte_entry = pte_cb,
				     .pte_hole = hole_cb,
				     .install_pte = install_cb};
	struct rec r = {0};
	/* The public walker refuses install_pte (check_ops_valid()) and
	 * touches nothing; mm code walks with walk_page_range_mm(). */
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + 8 * 4096, &ops,
					       &r),
			 -VMLAB_EINVAL);
	assert_int_equal(r.installed + r.pte, 0);
	/* 16 pages, one present, one PMD that has no table yet. */
	u64 far = KVA + 10 * VMLAB_PMD_SIZE;
	assert_int_equal(walk_page_range_mm(m, k, KVA, KVA + 8 * 4096, &ops, &r),
			 0);
	assert_int_equal(walk_page_range_mm(m, k, far, far + 8 * 4096, &ops, &r),
			 0);
	assert_int_equal(r.installed, 15);
	assert_int_equal(r.pte, 1); /* only the existing entry */
	assert_int_equal(r.pte_none, 0);
	assert_int_equal(r.holes[0] + r.holes[2] + r.holes[3], 0);
	vmlab_ptep_t p;
	assert_int_equal(vmlab_lookup_entry(m, k, far + 4096, 0, &p), 0);
	struct vmlab_pte_info in;
	vmlab_pte_decode(m, vmlab_get_entry(m, p), 0, &in);
	assert_int_equal(in.kind, VMLAB_PTE_MARKER);
	u64 pa;
	assert_int_equal(vmlab_translate(m, k, KVA + 4096, &pa, NULL, NULL), 0);
	assert_int_equal(pa >> 12, pfn); /* existing page untouched */
	/* An error from install_pte aborts the walk with that error. */
	memset(&r, 0, sizeof(r));
	r.fail_at = 3;
	u64 far2 = KVA + 20 * VMLAB_PMD_SIZE;
	assert_int_equal(walk_page_range_mm(m, k, far2, far2 + 8 * 4096, &ops,
					    &r),
			 -VMLAB_EIO);
	assert_int_equal(r.installed, 3);
	vmlab_machine_destroy(m);
}

static int continue_cb(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e, (void)a, (void)n;
	((struct rec *)w->private)->pmd++;
	w->action = VMLAB_WALK_CONTINUE;
	return 0;
}

static int again_cb(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e, (void)a, (void)n;
	((struct rec *)w->private)->pmd++;
	w->action = VMLAB_WALK_AGAIN;
	return 0;
}

static void test_actions(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_mm *k = vmlab_init_mm(m);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	struct vmlab_walk_ops ops = {.pmd_entry = continue_cb,
				     .pte_entry = pte_cb};
	struct rec r = {0};
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + 4096, &ops, &r),
			 0);
	assert_int_equal(r.pmd, 1);
	assert_int_equal(r.pte, 0); /* subtree skipped */
	/* A callback that always asks again is stopped, not looped on. */
	struct vmlab_walk_ops ops2 = {.pmd_entry = again_cb};
	memset(&r, 0, sizeof(r));
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + 4096, &ops2,
					       &r), -VMLAB_EAGAIN);
	assert_true(r.pmd > 1 && r.pmd <= 16);
	assert_int_equal(vmlab_walk_page_range(m, k, KVA + 1, KVA + 4096, &ops,
					       &r), -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA, &ops, &r),
			 -VMLAB_EINVAL);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_holes),
		cmocka_unit_test(test_large_leaf_split_only_when_needed),
		cmocka_unit_test(test_install_pte),
		cmocka_unit_test(test_actions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
