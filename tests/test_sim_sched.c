/* SPDX-License-Identifier: MIT */
/* The deterministic scheduler from C: policies, determinism, locks,
 * deadlock, abort, deferred work, and points inside kernel paths. */
#include "helpers.h"

#include "machine/internal.h"
#include "vmlab/sched.h"
#include "sim/fiber.h"
#if SIM_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define MAX_LOG 4096

/* What the programs did, in order. */
struct log {
	int n;
	int cpu[MAX_LOG];
	int steps; /* per program */
	struct vmlab_lock lock;
	int in_cs, max_in_cs;
	bool flag;
};

static void log_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	struct log *l = arg;
	for (int i = 0; i < l->steps; i++) {
		assert_true(l->n < MAX_LOG);
		l->cpu[l->n++] = cpu;
		vmlab_sched_point(m, "step");
	}
}

static struct vmlab_sched *sched(struct vmlab_machine *m,
				 enum vmlab_sched_policy p, u64 seed)
{
	struct vmlab_sched_config cfg;
	vmlab_sched_config_default(&cfg);
	cfg.policy = p;
	cfg.seed = seed;
	cfg.pct_steps = 40;
	struct vmlab_sched *s = NULL;
	assert_int_equal(vmlab_sched_create(m, &cfg, &s), 0);
	return s;
}

static void run_log(enum vmlab_sched_policy p, u64 seed, int cpus,
		    struct log *l)
{
	struct vmlab_machine *m = t_machine(cpus, 64 * VMLAB_MiB, false);
	struct vmlab_sched *s = sched(m, p, seed);
	memset(l, 0, sizeof(*l));
	l->steps = 10;
	for (int c = 0; c < cpus; c++)
		assert_int_equal(vmlab_sched_spawn(s, c, log_prog, l, "log"), 0);
	assert_int_equal(vmlab_sched_run(s), 0);
	assert_int_equal(l->n, 10 * cpus);
	assert_true(vmlab_sched_steps(s) >= (u64)(10 * cpus));
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

static void test_rr_alternates(void **state)
{
	(void)state;
	struct log l;
	run_log(VMLAB_SCHED_RR, 1, 3, &l);
	for (int i = 0; i < l.n; i++)
		assert_int_equal(l.cpu[i], i % 3);
}

static void test_random_deterministic(void **state)
{
	(void)state;
	struct log a, b, c;
	run_log(VMLAB_SCHED_RANDOM, 7, 4, &a);
	run_log(VMLAB_SCHED_RANDOM, 7, 4, &b);
	run_log(VMLAB_SCHED_RANDOM, 8, 4, &c);
	assert_memory_equal(a.cpu, b.cpu, sizeof(a.cpu));
	assert_memory_not_equal(a.cpu, c.cpu, sizeof(a.cpu));
}

/* PCT with depth 1: no change point, one program runs to its end before
 * the next starts (the highest priority first). */
static void test_pct_depth1_runs_to_completion(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(3, 64 * VMLAB_MiB, false);
	struct vmlab_sched_config cfg;
	vmlab_sched_config_default(&cfg);
	cfg.policy = VMLAB_SCHED_PCT;
	cfg.pct_depth = 1;
	struct vmlab_sched *s;
	assert_int_equal(vmlab_sched_create(m, &cfg, &s), 0);
	struct log l = {.steps = 10};
	for (int c = 0; c < 3; c++)
		vmlab_sched_spawn(s, c, log_prog, &l, "log");
	assert_int_equal(vmlab_sched_run(s), 0);
	int changes = 0;
	for (int i = 1; i < l.n; i++)
		changes += l.cpu[i] != l.cpu[i - 1];
	assert_int_equal(changes, 2);
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

/* A critical section with points inside: never two programs in it. */
static void cs_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	struct log *l = arg;
	for (int i = 0; i < 20; i++) {
		spin_lock(m, cpu, &l->lock);
		l->in_cs++;
		if (l->in_cs > l->max_in_cs)
			l->max_in_cs = l->in_cs;
		vmlab_sched_point(m, "inside");
		vmlab_sched_point(m, "inside");
		l->in_cs--;
		spin_unlock(m, cpu, &l->lock);
	}
}

static void test_lock_mutual_exclusion(void **state)
{
	(void)state;
	for (u64 seed = 1; seed <= 5; seed++) {
		struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, false);
		struct vmlab_sched *s = sched(m, VMLAB_SCHED_RANDOM, seed);
		struct log l = {0};
		for (int c = 0; c < 4; c++)
			vmlab_sched_spawn(s, c, cs_prog, &l, "cs");
		assert_int_equal(vmlab_sched_run(s), 0);
		assert_int_equal(l.max_in_cs, 1);
		assert_int_equal(l.lock.owner, 0);
		assert_int_equal(vmlab_nr_warnings(m), 0);
		vmlab_sched_destroy(s);
		vmlab_machine_destroy(m);
	}
}

/* Two locks taken in opposite orders: a lock-order deadlock. */
struct ab {
	struct vmlab_lock a, b;
};

static void ab_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	struct ab *x = arg;
	struct vmlab_lock *first = cpu ? &x->b : &x->a;
	struct vmlab_lock *second = cpu ? &x->a : &x->b;
	mutex_lock(m, cpu, first);
	vmlab_sched_point(m, "between");
	mutex_lock(m, cpu, second);
	mutex_unlock(m, cpu, second);
	mutex_unlock(m, cpu, first);
}

static void test_deadlock_detected(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	struct vmlab_sched *s = sched(m, VMLAB_SCHED_RR, 1);
	struct ab x = {0};
	vmlab_sched_spawn(s, 0, ab_prog, &x, "ab");
	vmlab_sched_spawn(s, 1, ab_prog, &x, "ba");
	assert_int_equal(vmlab_sched_run(s), -VMLAB_EDEADLK);
	assert_non_null(vmlab_sched_error(s));
	assert_non_null(strstr(vmlab_sched_error(s), "deadlock"));
	assert_null(m->sched_hook); /* uninstalled even so */
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

static void abort_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	struct log *l = arg;
	for (int i = 0; i < 1000 && !vmlab_sched_aborting(m); i++) {
		l->cpu[l->n++ % MAX_LOG] = cpu;
		if (cpu == 1 && i == 5)
			vmlab_sched_abort(m);
		vmlab_sched_point(m, "step");
	}
}

static void test_abort_stops_everyone(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(3, 64 * VMLAB_MiB, false);
	struct vmlab_sched *s = sched(m, VMLAB_SCHED_RR, 1);
	struct log l = {0};
	for (int c = 0; c < 3; c++)
		vmlab_sched_spawn(s, c, abort_prog, &l, "abort");
	assert_int_equal(vmlab_sched_run(s), -VMLAB_ECANCELED);
	assert_true(l.n < 30);
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

/* Deferred work runs on the kworker while the programs run. */
static void work_fn(struct vmlab_machine *m, int cpu, void *arg)
{
	int *ran = arg;
	assert_true(vmlab_cpu_valid(m, cpu));
	assert_true(vmlab_sched_in_kworker(m));
	(*ran)++;
}

struct wq {
	struct vmlab_work w;
	int ran;
};

static void queue_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	struct wq *q = arg;
	(void)cpu;
	for (int i = 0; i < 5; i++) {
		vmlab_queue_work(m, &q->w);
		for (int k = 0; k < 4; k++)
			vmlab_sched_point(m, "after queue");
	}
}

static void test_kworker_runs_work(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	struct vmlab_sched *s = sched(m, VMLAB_SCHED_RR, 1);
	struct wq q = {.w = {.fn = work_fn, .name = "test_work"}};
	q.w.arg = &q.ran;
	vmlab_sched_spawn(s, 0, queue_prog, &q, "queue");
	assert_int_equal(vmlab_sched_run(s), 0);
	assert_int_equal(q.ran, 5);
	assert_int_equal(vmlab_nr_pending_work(m), 0);
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

/* Points inside a shootdown: under round-robin, CPU 1 runs between the
 * IPIs CPU 0 sends, so it may still use its stale entry. */
struct window {
	u64 va;
	int reads_ok;
};

static void flusher(struct vmlab_machine *m, int cpu, void *arg)
{
	struct window *w = arg;
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), cpu);
	assert_int_equal(vmlab_unmap_range(m, &tlb, w->va, VMLAB_PAGE_SIZE, false),
			 1);
	vmlab_tlb_finish_mmu(m, &tlb);
}

static void reader(struct vmlab_machine *m, int cpu, void *arg)
{
	struct window *w = arg;
	u64 v;
	vmlab_sched_point(m, "before");
	w->reads_ok += vmlab_read(m, cpu, w->va, &v, 8, NULL) == 0;
}

static void test_points_inside_shootdown(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	struct window w = {.va = T_VMALLOC_START};
	t_map(m, w.va, VMLAB_PAGE_KERNEL);
	t_read64(m, 3, w.va); /* CPU 3 caches it */
	struct vmlab_sched *s = sched(m, VMLAB_SCHED_RR, 1);
	vmlab_sched_spawn(s, 0, flusher, &w, "flush");
	vmlab_sched_spawn(s, 3, reader, &w, "read");
	assert_int_equal(vmlab_sched_run(s), 0);
	if (t_arm64()) {
		/* arm64 has no IPI to yield at: the one broadcast TLBI
		 * reaches CPU 3 before the flusher's next point (the DSB), so
		 * the reader's read faults and nothing stale is used. */
		assert_int_equal(w.reads_ok, 0);
		assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS),
				 0);
		assert_true(vmlab_counter(m, 0, VMLAB_C_tlbi_is) >= 1);
		assert_int_equal(vmlab_counter(m, -1, VMLAB_C_ipi_sent), 0);
	} else {
		/* rr: flusher clears the entry, yields at tlb_flush_mmu; the
		 * reader yields once more; the flusher's IPIs to CPUs 1 and 2
		 * each yield; the reader's read lands before the IPI to CPU
		 * 3. */
		assert_int_equal(w.reads_ok, 1);
		assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS),
				 1);
	}
	vmlab_sched_destroy(s);
	vmlab_machine_destroy(m);
}

/* Spin-waiting with yield terminates under every policy. */
static void waiter(struct vmlab_machine *m, int cpu, void *arg)
{
	struct log *l = arg;
	(void)cpu;
	while (!l->flag)
		vmlab_sched_yield(m);
}

static void setter(struct vmlab_machine *m, int cpu, void *arg)
{
	struct log *l = arg;
	(void)cpu;
	for (int i = 0; i < 5; i++)
		vmlab_sched_point(m, "work");
	l->flag = true;
}

static void test_yield_no_livelock(void **state)
{
	(void)state;
	for (int p = 0; p < VMLAB_NR_SCHED_POLICIES; p++) {
		struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
		struct vmlab_sched *s = sched(m, (enum vmlab_sched_policy)p, 3);
		struct log l = {0};
		vmlab_sched_spawn(s, 0, waiter, &l, "wait");
		vmlab_sched_spawn(s, 1, setter, &l, "set");
		assert_int_equal(vmlab_sched_run(s), 0);
		assert_true(l.flag);
		vmlab_sched_destroy(s);
		vmlab_machine_destroy(m);
	}
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, false);
	struct vmlab_sched_config cfg;
	vmlab_sched_config_default(&cfg);
	struct vmlab_sched *s;
	cfg.pct_depth = 0;
	assert_int_equal(vmlab_sched_create(m, &cfg, &s), -VMLAB_EINVAL);
	cfg.pct_depth = 3;
	cfg.policy = VMLAB_NR_SCHED_POLICIES;
	assert_int_equal(vmlab_sched_create(m, &cfg, &s), -VMLAB_EINVAL);
	cfg.policy = VMLAB_SCHED_RR;
	assert_int_equal(vmlab_sched_create(m, &cfg, &s), 0);
	assert_int_equal(vmlab_sched_spawn(s, 2, log_prog, NULL, "x"),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_sched_spawn(s, 0, NULL, NULL, "x"), -VMLAB_EINVAL);
	struct log l = {.steps = 1};
	assert_int_equal(vmlab_sched_spawn(s, 0, log_prog, &l, "x"), 0);
	assert_int_equal(vmlab_sched_spawn(s, 0, log_prog, &l, "x"),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_sched_run(s), 0);
	assert_int_equal(vmlab_sched_run(s), -VMLAB_EINVAL); /* runs once */
	/* Outside a run, points and yields are no-ops. */
	vmlab_sched_point(m, "outside");
	vmlab_sched_yield(m);
	assert_int_equal(vmlab_sched_current_cpu(m), -1);
	enum vmlab_sched_policy p;
	assert_int_equal(vmlab_sched_policy_parse("pct", &p), 0);
	assert_int_equal(p, VMLAB_SCHED_PCT);
	assert_int_equal(vmlab_sched_policy_parse("fifo", &p), -VMLAB_EINVAL);
	vmlab_sched_destroy(s);
	/* A lock taken twice without a scheduler warns, never hangs. */
	struct vmlab_lock lk = {0};
	spin_lock(m, 0, &lk);
	spin_lock(m, 0, &lk);
	assert_int_equal(vmlab_nr_warnings(m), 1);
	spin_unlock(m, 0, &lk);
	vmlab_machine_destroy(m);
}

static void never_runs(void *arg)
{
	(void)arg;
}

/* Regression: a fiber stack mapped where an old one was starts with a
 * clean ASan shadow (munmap does not clear it; stale redzones made rare
 * false reports in the sanitizer suite).  Meaningful under ASan only,
 * and only when mmap hands the same address back, as it usually does. */
static void test_fiber_stack_shadow_clean(void **state)
{
	(void)state;
	struct fiber a, b;
	assert_int_equal(fiber_create(&a, 1 << 16, never_runs, NULL), 0);
	void *old = a.map;
#if SIM_FIBER_ASAN
	__asan_poison_memory_region((char *)a.stack_lo + 4096, 256);
#endif
	fiber_destroy(&a);
	assert_null(a.map);
	assert_int_equal(fiber_create(&b, 1 << 16, never_runs, NULL), 0);
#if SIM_FIBER_ASAN
	if (b.map == old)
		assert_null(__asan_region_is_poisoned((void *)b.stack_lo,
						      b.stack_size));
#endif
	(void)old;
	fiber_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rr_alternates),
		cmocka_unit_test(test_random_deterministic),
		cmocka_unit_test(test_pct_depth1_runs_to_completion),
		cmocka_unit_test(test_lock_mutual_exclusion),
		cmocka_unit_test(test_deadlock_detected),
		cmocka_unit_test(test_abort_stops_everyone),
		cmocka_unit_test(test_kworker_runs_work),
		cmocka_unit_test(test_points_inside_shootdown),
		cmocka_unit_test(test_yield_no_livelock),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_fiber_stack_shadow_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
