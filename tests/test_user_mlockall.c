/* SPDX-License-Identifier: MIT */
/*
 * mlockall(2)/munlockall(2) as mm/mlock.c implements them, and smaps Rss
 * as fs/proc/task_mmu.c computes it (the shared zero page never counted).
 */
#include "user_helpers.h"

static struct vmlab_vma_info t_vma(struct env *e, u64 a)
{
	struct vmlab_vma_info in;
	assert_int_equal(vmlab_user_vma_at(e->mm, a, &in), 0);
	return in;
}

/* Regression: a read fault maps the zero page; Linux shows Rss 0. */
static void test_smaps_zero_page_not_rss(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	u8 b = 0xff;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &b), VMLAB_OK);
	assert_int_equal(b, 0);
	struct vmlab_vma_info in = t_vma(&e, (u64)a);
	assert_int_equal(in.rss_pages, 0);
	assert_int_equal(in.anon_pages, 0);
	/* MADV_POPULATE_READ maps the zero page everywhere: still 0 */
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, 4 * P,
				       VMLAB_MADV_POPULATE_READ), 0);
	in = t_vma(&e, (u64)a);
	assert_int_equal(in.rss_pages, 0);
	/* a write replaces one zero-page PTE by an anonymous page */
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a + P, 7), VMLAB_OK);
	in = t_vma(&e, (u64)a);
	assert_int_equal(in.rss_pages, 1);
	assert_int_equal(in.anon_pages, 1);
	/* the smaps text says so too */
	FILE *f = tmpfile();
	assert_non_null(f);
	vmlab_user_print_smaps(e.mm, f);
	char buf[4096];
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	assert_non_null(strstr(buf, "Rss:                   4 kB"));
	t_done(&e);
}

static void test_mlockall_bad_flags(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_mlockall(e.mm, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_ONFAULT), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mlockall(e.mm, 8), -VMLAB_EINVAL);
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_CURRENT | 8),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mlockall(NULL, VMLAB_MCL_CURRENT), -VMLAB_EINVAL);
	/* nothing changed: a new mapping is not locked */
	s64 a = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	assert_int_equal(t_vma(&e, (u64)a).flags & VMLAB_VM_LOCKED, 0);
	t_done(&e);
}

static void test_mlockall_current_populates(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = vmlab_mmap(e.mm, 0, 3 * P, RW, ANON, NULL, 0);
	s64 n = vmlab_mmap(e.mm, 0, 2 * P, VMLAB_PROT_NONE, ANON, NULL, 0);
	assert_true(a > 0 && n > 0);
	/* the PROT_NONE VMA cannot be populated; mlockall still succeeds */
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_CURRENT), 0);
	struct vmlab_vma_info in = t_vma(&e, (u64)a);
	assert_true(in.flags & VMLAB_VM_LOCKED);
	assert_false(in.flags & VMLAB_VM_LOCKONFAULT);
	assert_int_equal(in.rss_pages, 3); /* written in: private + writable */
	in = t_vma(&e, (u64)n);
	assert_true(in.flags & VMLAB_VM_LOCKED);
	assert_int_equal(in.rss_pages, 0);
	/* MCL_CURRENT alone leaves future mappings unlocked */
	s64 b = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_true(b > 0);
	assert_false(t_vma(&e, (u64)b).flags & VMLAB_VM_LOCKED);
	assert_int_equal(vmlab_munlockall(e.mm), 0);
	assert_false(t_vma(&e, (u64)a).flags & VMLAB_VM_LOCKED);
	assert_false(t_vma(&e, (u64)n).flags & VMLAB_VM_LOCKED);
	assert_int_equal(t_vma(&e, (u64)a).rss_pages, 3); /* munlock keeps pages */
	t_done(&e);
}

static void test_mlockall_onfault(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = vmlab_mmap(e.mm, 0, 3 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_CURRENT |
						      VMLAB_MCL_ONFAULT), 0);
	struct vmlab_vma_info in = t_vma(&e, (u64)a);
	assert_true(in.flags & VMLAB_VM_LOCKED);
	assert_true(in.flags & VMLAB_VM_LOCKONFAULT);
	assert_int_equal(in.rss_pages, 0); /* nothing populated */
	/* a second call without ONFAULT replaces the lock mode, populating */
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_CURRENT), 0);
	in = t_vma(&e, (u64)a);
	assert_false(in.flags & VMLAB_VM_LOCKONFAULT);
	assert_int_equal(in.rss_pages, 3);
	t_done(&e);
}

static void test_mlockall_future(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 old = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_true(old > 0);
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_FUTURE), 0);
	/* existing VMAs untouched */
	assert_false(t_vma(&e, (u64)old).flags & VMLAB_VM_LOCKED);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	struct vmlab_vma_info in = t_vma(&e, (u64)a);
	assert_true(in.flags & VMLAB_VM_LOCKED);
	assert_int_equal(in.rss_pages, 2); /* locked mmap populates */
	/* the child of a fork does not inherit def_flags nor VM_LOCKED */
	struct vmlab_user_mm *child = NULL;
	assert_int_equal(vmlab_fork(e.mm, &child), 0);
	s64 c = vmlab_mmap(child, 0, P, RW, ANON, NULL, 0);
	assert_true(c > 0);
	struct vmlab_vma_info ci;
	assert_int_equal(vmlab_user_vma_at(child, (u64)c, &ci), 0);
	assert_false(ci.flags & VMLAB_VM_LOCKED);
	assert_int_equal(vmlab_user_vma_at(child, (u64)a, &ci), 0);
	assert_false(ci.flags & VMLAB_VM_LOCKED);
	vmlab_user_mm_destroy(child);
	/* MCL_FUTURE|MCL_ONFAULT: new VMAs lock on fault, nothing populated */
	assert_int_equal(vmlab_mlockall(e.mm, VMLAB_MCL_FUTURE |
						      VMLAB_MCL_ONFAULT), 0);
	s64 f = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_true(f > 0);
	in = t_vma(&e, (u64)f);
	assert_true(in.flags & VMLAB_VM_LOCKONFAULT);
	assert_int_equal(in.rss_pages, 0);
	/* munlockall clears def_flags: the next mapping is not locked */
	assert_int_equal(vmlab_munlockall(e.mm), 0);
	assert_false(t_vma(&e, (u64)a).flags & VMLAB_VM_LOCKED);
	s64 g = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_true(g > 0);
	assert_false(t_vma(&e, (u64)g).flags & VMLAB_VM_LOCKED);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smaps_zero_page_not_rss),
		cmocka_unit_test(test_mlockall_bad_flags),
		cmocka_unit_test(test_mlockall_current_populates),
		cmocka_unit_test(test_mlockall_onfault),
		cmocka_unit_test(test_mlockall_future),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
