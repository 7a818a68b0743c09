/* SPDX-License-Identifier: MIT */
/*
 * The checker on the user layer: silent on the correct sequences, and it
 * catches the planted bug (pages dropped before the remote TLB flush) in
 * MADV_DONTNEED, in guard installation over populated pages and in
 * munmap.
 */
#include "user_helpers.h"

#define N(m, c) vmlab_nr_reports_of(m, VMLAB_CHECK_##c)

/* Two threads of one mm: the one on CPU 1 touches 4 pages, the one on
 * CPU 0 makes the syscalls (so only a remote flush can reach CPU 1). */
static struct vmlab_user_mm *setup(struct vmlab_machine *m, u64 *a)
{
	struct vmlab_user_mm *mm;
	assert_int_equal(vmlab_user_mm_create(m, &mm), 0);
	s64 r = vmlab_mmap(mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_true(r > 0);
	*a = (u64)r;
	for (u64 i = 0; i < 4; i++) {
		u64 v = i + 1;
		assert_int_equal(vmlab_user_access(mm, 1, VMLAB_WRITE, *a + i * P,
						   &v, 8), VMLAB_OK);
	}
	vmlab_user_switch(mm, 0);
	return mm;
}

static void run(bool bug, int advice, size_t *reports, const char **text)
{
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 a;
	struct vmlab_user_mm *mm = setup(m, &a);
	vmlab_user_set_bugs(m, bug ? VMLAB_USER_BUG_EARLY_FREE : 0);
	if (advice >= 0)
		assert_int_equal(vmlab_madvise(mm, a + P, 2 * P, advice), 0);
	else
		assert_int_equal(vmlab_munmap(mm, a + P, 2 * P), 0);
	*reports = N(m, FREED_FRAME_REACHABLE);
	static char buf[256];
	buf[0] = 0;
	if (*reports) {
		const char *t = vmlab_get_report(m, 0)->text;
		snprintf(buf, sizeof(buf), "%s", t);
	}
	*text = buf;
	vmlab_user_set_bugs(m, 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_correct_is_silent(void **state)
{
	(void)state;
	size_t n;
	const char *t;
	run(false, VMLAB_MADV_DONTNEED, &n, &t);
	assert_int_equal(n, 0);
	run(false, VMLAB_MADV_GUARD_INSTALL, &n, &t);
	assert_int_equal(n, 0);
	run(false, -1, &n, &t);
	assert_int_equal(n, 0);
}

static void test_dontneed_early_free_reported(void **state)
{
	(void)state;
	size_t n;
	const char *t;
	run(true, VMLAB_MADV_DONTNEED, &n, &t);
	assert_int_equal(n, 2); /* both pages CPU 1 still translates */
	assert_non_null(strstr(t, "freed-frame-reachable"));
	assert_non_null(strstr(t, "a TLB still translates to it"));
	assert_non_null(strstr(t, "Still cached on CPU 1"));
	assert_non_null(strstr(t, "madvise"));
}

static void test_guard_install_early_free_reported(void **state)
{
	(void)state;
	size_t n;
	const char *t;
	run(true, VMLAB_MADV_GUARD_INSTALL, &n, &t);
	assert_int_equal(n, 2);
	assert_non_null(strstr(t, "Still cached on CPU 1"));
}

static void test_munmap_early_free_reported(void **state)
{
	(void)state;
	size_t n;
	const char *t;
	run(true, -1, &n, &t);
	assert_int_equal(n, 2);
	assert_non_null(strstr(t, "munmap"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_correct_is_silent),
		cmocka_unit_test(test_dontneed_early_free_reported),
		cmocka_unit_test(test_guard_install_early_free_reported),
		cmocka_unit_test(test_munmap_early_free_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
