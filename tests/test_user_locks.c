/* SPDX-License-Identifier: MIT */
/*
 * mmap_lock and the per-VMA locks (src/user/mmap_lock.c, madvise.c's lock
 * modes, guard.c's restart): faults under the VMA lock and their fallback,
 * SIGKILL against the killable write lock, and MADV_GUARD_INSTALL racing a
 * faulting thread under the scheduler (the -ERESTARTNOINTR restart).
 */
#include <stdlib.h>

#include "user_helpers.h"
#include "vmlab/checker.h"
#include "vmlab/sched.h"

#define GI VMLAB_MADV_GUARD_INSTALL

static struct vmlab_user_stats st(struct vmlab_user_mm *mm)
{
	struct vmlab_user_stats s;
	vmlab_user_stats(mm, &s);
	return s;
}

/* A fault on a VMA takes its read lock; one on a hole has no VMA to lock
 * and goes to mmap_lock (VMA_LOCK_ABORT), which finds nothing: SIGSEGV. */
static void test_vma_lock_fault(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	struct vmlab_user_stats s0 = st(e.mm);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 1), VMLAB_OK);
	struct vmlab_user_stats s1 = st(e.mm);
	assert_int_equal(s1.vma_lock_success, s0.vma_lock_success + 1);
	assert_int_equal(s1.vma_lock_abort, s0.vma_lock_abort);
	assert_int_equal(vmlab_munmap(e.mm, (u64)a + P, P), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a + P, 1),
			 VMLAB_SIGSEGV);
	struct vmlab_user_stats s2 = st(e.mm);
	assert_int_equal(s2.vma_lock_abort, s1.vma_lock_abort + 1);
	assert_int_equal(s2.vma_lock_success, s1.vma_lock_success);
	assert_int_equal(vmlab_nr_warnings(e.m), 0);
	vmlab_machine_destroy(e.m);
}

/* CONFIG_PER_VMA_LOCK off (vmlab_user_set_per_vma_lock(m, false)): the
 * same faults and DONTNEED succeed under mmap_lock and no vma_lock_*
 * statistic moves; on again, the VMA lock is back. */
static void test_per_vma_lock_off(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_per_vma_lock(NULL, false), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_per_vma_lock(e.m, false), 0);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	struct vmlab_user_stats s0 = st(e.mm);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 1), VMLAB_OK);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a + P, 1), VMLAB_OK);
	struct vmlab_user_stats s1 = st(e.mm);
	assert_int_equal(s1.fault_anon, s0.fault_anon + 2);
	assert_int_equal(s1.vma_lock_success, s0.vma_lock_success);
	assert_int_equal(s1.vma_lock_abort, s0.vma_lock_abort);
	assert_int_equal(s1.vma_lock_miss, s0.vma_lock_miss);
	assert_int_equal(vmlab_user_set_per_vma_lock(e.m, true), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 1), VMLAB_OK);
	assert_int_equal(st(e.mm).vma_lock_success, s1.vma_lock_success + 1);
	assert_int_equal(vmlab_nr_warnings(e.m), 0);
	vmlab_machine_destroy(e.m);
}

/* SIGKILL: every mmap_write_lock_killable() caller gives up with EINTR;
 * what needs only a read lock (faults, DONTNEED's VMA lock) goes on. */
static void test_kill(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = t_map_rw(&e, 4);
	assert_false(vmlab_user_fatal_signal_pending(e.mm));
	assert_int_equal(vmlab_user_kill(e.mm), 0);
	assert_true(vmlab_user_fatal_signal_pending(e.mm));
	assert_int_equal(vmlab_user_kill(NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_munmap(e.mm, (u64)a, P), -VMLAB_EINTR);
	assert_int_equal(vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0),
			 -VMLAB_EINTR);
	assert_int_equal(vmlab_mprotect(e.mm, (u64)a, P, VMLAB_PROT_READ),
			 -VMLAB_EINTR);
	assert_int_equal(vmlab_mremap(e.mm, (u64)a, P, 2 * P,
				      VMLAB_MREMAP_MAYMOVE, 0),
			 -VMLAB_EINTR);
	assert_int_equal(vmlab_mlock(e.mm, (u64)a, P), -VMLAB_EINTR);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_RANDOM),
			 -VMLAB_EINTR);
	struct vmlab_user_mm *child = NULL;
	assert_int_equal(vmlab_fork(e.mm, &child), -VMLAB_EINTR);
	assert_null(child);
	/* bad input still wins over the lock */
	assert_int_equal(vmlab_madvise(e.mm, (u64)a + 1, P, VMLAB_MADV_RANDOM),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, P, GI), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a + P, 2), VMLAB_OK);
	assert_int_equal(st(e.mm).map_count, 1);
	assert_int_equal(vmlab_nr_warnings(e.m), 0);
	vmlab_machine_destroy(e.m);
}

struct race {
	struct vmlab_user_mm *mm;
	u64 a, pages;
	int ret;
	bool done;
};

static void installer(struct vmlab_machine *m, int cpu, void *arg)
{
	struct race *r = arg;
	(void)m;
	vmlab_user_switch(r->mm, cpu);
	r->ret = vmlab_madvise(r->mm, r->a, r->pages * P, GI);
	r->done = true;
}

/* Faults the last page back in until the install is over. */
static void faulter(struct vmlab_machine *m, int cpu, void *arg)
{
	struct race *r = arg;
	u64 last = r->a + (r->pages - 1) * P;
	while (!r->done) {
		(void)vmlab_user_write8(r->mm, cpu, last, 7);
		vmlab_sched_point(m, "faulter");
	}
}

/* The install always ends with every page guarded; where the faulting
 * thread won three times in a row it restarted (madvise never shows the
 * -ERESTARTNOINTR), and the restart is seen in some seed. */
static int count_pte(vmlab_ptep_t e, u64 addr, u64 next,
		     struct vmlab_walk *w)
{
	(void)e;
	(void)addr;
	(void)next;
	++*(int *)w->private;
	return 0;
}

/* One walk of the first 4 pages in mode under what the caller holds
 * (0 none, 1 read, 2 write); returns the warnings it caused. */
static u64 walk_in(struct env *e, s64 a, enum vmlab_pgwalk_lock mode,
		   int held)
{
	struct vmlab_walk_ops ops = {.pte_entry = count_pte, .walk_lock = mode};
	int n = 0;
	u64 w0 = vmlab_nr_warnings(e->m);
	if (held)
		vmlab_user_mmap_lock(e->mm, held == 2);
	assert_int_equal(vmlab_walk_page_range(e->m, vmlab_user_hw_mm(e->mm),
					       (u64)a, (u64)a + 4 * P, &ops, &n),
			 0);
	if (mode == VMLAB_PGWALK_WRLOCK && held == 2) {
		/* The walk write-locked the VMA: the verify mode is happy
		 * within the same write hold. */
		ops.walk_lock = VMLAB_PGWALK_WRLOCK_VERIFY;
		assert_int_equal(vmlab_walk_page_range(
				     e->m, vmlab_user_hw_mm(e->mm), (u64)a,
				     (u64)a + 4 * P, &ops, &n),
				 0);
	}
	if (held)
		vmlab_user_mmap_unlock(e->mm, held == 2);
	assert_true(n >= 4);
	return vmlab_nr_warnings(e->m) - w0;
}

/* enum page_walk_lock: each mode's requirement, met and not met. */
static void test_walk_lock_modes(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = t_map_rw(&e, 4);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_RDLOCK, 1), 0);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_RDLOCK, 2), 0);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_RDLOCK, 0), 1);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_WRLOCK, 1), 1);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_WRLOCK, 2), 0);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_WRLOCK_VERIFY, 2), 1);
	assert_int_equal(walk_in(&e, a, VMLAB_PGWALK_VMA_RDLOCK_VERIFY, 0), 1);
	/* A bad mode is the caller's error. */
	struct vmlab_walk_ops ops = {.walk_lock = (enum vmlab_pgwalk_lock)9};
	assert_int_equal(vmlab_walk_page_range(e.m, vmlab_user_hw_mm(e.mm),
					       (u64)a, (u64)a + P, &ops, NULL),
			 -VMLAB_EINVAL);
	/* Kernel walks have no mmap_lock to check. */
	u64 w0 = vmlab_nr_warnings(e.m);
	ops.walk_lock = VMLAB_PGWALK_WRLOCK_VERIFY;
	assert_int_equal(vmlab_walk_page_range(e.m, vmlab_init_mm(e.m),
					       T_VMALLOC_START,
					       T_VMALLOC_START + P, &ops, NULL),
			 0);
	assert_int_equal(vmlab_nr_warnings(e.m), w0);
	t_done(&e);
}

static void test_guard_install_race(void **state)
{
	(void)state;
	u64 restarted = 0;
	for (u64 seed = 1; seed <= 40; seed++) {
		struct env e = t_env(2);
		struct race r = {.mm = e.mm, .pages = 4};
		s64 a = vmlab_mmap(e.mm, 0, r.pages * P, RW, ANON, NULL, 0);
		assert_true(a > 0);
		r.a = (u64)a;
		assert_int_equal(vmlab_user_write8(e.mm, 1, r.a + 3 * P, 1),
				 VMLAB_OK);
		struct vmlab_sched_config cfg;
		vmlab_sched_config_default(&cfg);
		cfg.seed = seed;
		struct vmlab_sched *s;
		assert_int_equal(vmlab_sched_create(e.m, &cfg, &s), 0);
		assert_int_equal(vmlab_sched_spawn(s, 0, installer, &r, "gi"), 0);
		assert_int_equal(vmlab_sched_spawn(s, 1, faulter, &r, "f"), 0);
		assert_int_equal(vmlab_sched_run(s), 0);
		vmlab_sched_destroy(s);
		assert_int_equal(r.ret, 0);
		for (u64 i = 0; i < r.pages; i++) {
			u64 pm = 0;
			assert_int_equal(vmlab_pagemap_read(e.mm, r.a + i * P,
							    &pm, 1), 1);
			assert_true(pm & VMLAB_PM_GUARD_REGION);
		}
		restarted += st(e.mm).madv_restarts > 0;
		assert_int_equal(vmlab_nr_warnings(e.m), 0);
		assert_int_equal(vmlab_nr_reports(e.m), 0);
		vmlab_machine_destroy(e.m);
	}
	assert_true(restarted > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vma_lock_fault),
		cmocka_unit_test(test_per_vma_lock_off),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_guard_install_race),
		cmocka_unit_test(test_walk_lock_modes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
