/* SPDX-License-Identifier: MIT */
/*
 * The deterministic scheduler (include/vmlab/sched.h).
 *
 * Every program runs on its own fiber; the scheduler has no thread of its
 * own.  At a scheduling point the running program's fiber calls the hook,
 * the policy picks the next program and the fiber switches to it directly
 * (one switch, not two through a scheduler loop).  The caller of
 * vmlab_sched_run() waits on the "main" fiber until the last program
 * ends, or until nothing can run.
 *
 * Nothing here reads a clock or a host address: the decisions depend only
 * on the seed and on the sequence of points, so a run replays exactly.
 */
#include <stdlib.h>

#include "machine/internal.h"
#include "sim/fiber.h"
#include "vmlab/sched.h"

#define DEFAULT_STACK (1u << 20)

enum task_state { T_READY, T_DONE };

struct task {
	u32 id;   /* lock owner id, >= 1 */
	int cpu;  /* the program's CPU; kworker: CPU of the current item */
	bool kworker;
	bool idle; /* kworker waiting for work */
	enum task_state state;
	const struct vmlab_lock *wait;
	vmlab_prog_fn fn;
	void *arg;
	const char *name;
	s64 prio;
	struct fiber fib;
	struct vmlab_sched *s;
};

struct pct_change {
	u64 step;
	s64 prio;
};

struct vmlab_sched {
	struct vmlab_machine *m;
	struct vmlab_sched_config cfg;
	struct task *slot; /* [nr_cpus] programs by CPU, [nr_cpus] kworker */
	struct task **act; /* tasks taking part, in CPU order */
	int nr_act;
	int nr_programs_left;
	struct task *cur; /* NULL: the main fiber */
	struct fiber main;
	struct fiber *from; /* fiber that switched last (fiber_started) */
	u64 rng[4];
	u64 steps, switches;
	struct pct_change change[VMLAB_SCHED_MAX_DEPTH];
	int nr_change, next_change;
	s64 yield_prio; /* next priority below everything (PCT yields) */
	u32 kw_next_cpu;
	bool running, ran, aborting;
	int status;
	char err[512];
};

static const char *const policy_names[VMLAB_NR_SCHED_POLICIES] = {
	[VMLAB_SCHED_RANDOM] = "random",
	[VMLAB_SCHED_RR] = "rr",
	[VMLAB_SCHED_PCT] = "pct",
};

const char *vmlab_sched_policy_name(enum vmlab_sched_policy p)
{
	return (unsigned)p < VMLAB_NR_SCHED_POLICIES ? policy_names[p] : "?";
}

int vmlab_sched_policy_parse(const char *name, enum vmlab_sched_policy *out)
{
	assert(out);
	for (int p = 0; name && p < VMLAB_NR_SCHED_POLICIES; p++)
		if (!strcmp(name, policy_names[p])) {
			*out = (enum vmlab_sched_policy)p;
			return 0;
		}
	return -VMLAB_EINVAL;
}

void vmlab_sched_config_default(struct vmlab_sched_config *cfg)
{
	assert(cfg);
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = VMLAB_SCHED_RANDOM;
	cfg->seed = 1;
	cfg->pct_depth = 3;
	cfg->pct_steps = 10000;
	cfg->kworker = true;
	cfg->switch_events = true;
}

/* ------------------------------------------------------------- PRNG */

/* The scheduler's own xoshiro256** stream: scheduling must not perturb
 * the machine's generator, which workloads use. */
static u64 rotl(u64 x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static u64 rng_next(u64 *s)
{
	u64 r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

static u64 rng_below(u64 *s, u64 bound)
{
	assert(bound > 0);
	u64 limit = UINT64_MAX - UINT64_MAX % bound, r;
	do
		r = rng_next(s);
	while (r >= limit);
	return r % bound;
}

static void rng_seed(u64 *s, u64 seed)
{
	/* splitmix64, with a constant that keeps this stream apart from the
	 * machine's (seeded from the same number). */
	seed ^= 0x5c4ed5c4ed5c4ed5ULL;
	for (int i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		u64 z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		s[i] = z ^ (z >> 31);
	}
}

/* -------------------------------------------------------- lifecycle */

int vmlab_sched_create(struct vmlab_machine *m,
		       const struct vmlab_sched_config *cfg,
		       struct vmlab_sched **out)
{
	if (!m || !cfg || !out || (unsigned)cfg->policy >= VMLAB_NR_SCHED_POLICIES ||
	    cfg->pct_depth < 1 || cfg->pct_depth > VMLAB_SCHED_MAX_DEPTH)
		return -VMLAB_EINVAL;
	struct vmlab_sched *s = calloc(1, sizeof(*s));
	if (!s)
		return -VMLAB_ENOMEM;
	s->slot = calloc((size_t)m->nr_cpus + 1, sizeof(*s->slot));
	s->act = calloc((size_t)m->nr_cpus + 1, sizeof(*s->act));
	if (!s->slot || !s->act) {
		vmlab_sched_destroy(s);
		return -VMLAB_ENOMEM;
	}
	s->m = m;
	s->cfg = *cfg;
	if (!s->cfg.stack_size)
		s->cfg.stack_size = DEFAULT_STACK;
	rng_seed(s->rng, cfg->seed);
	*out = s;
	return 0;
}

void vmlab_sched_destroy(struct vmlab_sched *s)
{
	if (!s)
		return;
	assert(!s->running);
	for (int i = 0; s->slot && i <= s->m->nr_cpus; i++)
		fiber_destroy(&s->slot[i].fib);
	free(s->slot);
	free(s->act);
	free(s);
}

int vmlab_sched_spawn(struct vmlab_sched *s, int cpu, vmlab_prog_fn fn,
		      void *arg, const char *name)
{
	if (!s || !fn || !vmlab_cpu_valid(s->m, cpu) || s->running || s->ran ||
	    s->slot[cpu].fn)
		return -VMLAB_EINVAL;
	struct task *t = &s->slot[cpu];
	t->fn = fn;
	t->arg = arg;
	t->cpu = cpu;
	t->name = name ? name : "program";
	assert(t->state == T_READY);
	return 0;
}

/* ------------------------------------------------------------ policy */

static bool runnable(const struct vmlab_sched *s, const struct task *t)
{
	assert(t && t->s == s);
	if (t->state == T_DONE)
		return false;
	if (t->wait && t->wait->owner)
		return false;
	if (t->idle)
		return vmlab_nr_pending_work(s->m) > 0 ||
		       s->nr_programs_left == 0 || s->aborting;
	return true;
}

static struct task *pick_rr(struct vmlab_sched *s)
{
	assert(s->nr_act > 0 && s->nr_act <= s->m->nr_cpus + 1);
	int start = 0;
	for (int i = 0; s->cur && i < s->nr_act; i++)
		if (s->act[i] == s->cur)
			start = i + 1;
	for (int k = 0; k < s->nr_act; k++) {
		struct task *t = s->act[(start + k) % s->nr_act];
		if (runnable(s, t))
			return t;
	}
	return NULL;
}

static struct task *pick(struct vmlab_sched *s)
{
	if (s->cfg.policy == VMLAB_SCHED_RR)
		return pick_rr(s);
	struct task *cand[VMLAB_MAX_CPUS + 1];
	int n = 0;
	for (int i = 0; i < s->nr_act; i++)
		if (runnable(s, s->act[i]))
			cand[n++] = s->act[i];
	assert(n <= s->nr_act);
	if (n == 0)
		return NULL;
	if (s->cfg.policy == VMLAB_SCHED_RANDOM)
		return cand[rng_below(s->rng, (u64)n)];
	struct task *best = cand[0];
	for (int i = 1; i < n; i++) {
		assert(cand[i]->prio != best->prio); /* PCT: distinct */
		if (cand[i]->prio > best->prio)
			best = cand[i];
	}
	return best;
}

/* PCT: initial priorities d .. d+n-1 in random order, change points
 * k_1..k_{d-1} uniform in [1, k] lowering the running task to i. */
static void pct_init(struct vmlab_sched *s)
{
	int d = s->cfg.pct_depth, n = s->nr_act;
	assert(d >= 1 && d <= VMLAB_SCHED_MAX_DEPTH && n >= 1);
	for (int i = 0; i < n; i++)
		s->act[i]->prio = d + i;
	for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
		int j = (int)rng_below(s->rng, (u64)i + 1);
		s64 p = s->act[i]->prio;
		s->act[i]->prio = s->act[j]->prio;
		s->act[j]->prio = p;
	}
	u64 k = s->cfg.pct_steps ? s->cfg.pct_steps : 1;
	s->nr_change = d - 1;
	for (int i = 0; i < s->nr_change; i++) {
		s->change[i].step = 1 + rng_below(s->rng, k);
		s->change[i].prio = i + 1;
	}
	for (int i = 1; i < s->nr_change; i++) /* insertion sort by step */
		for (int j = i; j > 0 && s->change[j].step < s->change[j - 1].step;
		     j--) {
			struct pct_change c = s->change[j];
			s->change[j] = s->change[j - 1];
			s->change[j - 1] = c;
		}
	/* Points before this run's first belong to earlier runs. */
	while (s->next_change < s->nr_change &&
	       s->change[s->next_change].step <= s->cfg.pct_step_base)
		s->next_change++;
	s->yield_prio = 0;
	/* Change priorities lie below every initial one. */
	assert(s->nr_change == 0 || s->change[s->nr_change - 1].step >= 1);
}

static void pct_step(struct vmlab_sched *s, struct task *t)
{
	u64 global = s->cfg.pct_step_base + s->steps;
	assert(t == s->cur && s->next_change <= s->nr_change);
	while (s->next_change < s->nr_change &&
	       s->change[s->next_change].step <= global) {
		t->prio = s->change[s->next_change].prio;
		s->next_change++;
	}
}

/* ---------------------------------------------------------- switching */

static void switch_to(struct vmlab_sched *s, struct task *next, bool exiting)
{
	struct task *prev = s->cur;
	assert(prev != next);
	struct fiber *from = prev ? &prev->fib : &s->main;
	struct fiber *to = next ? &next->fib : &s->main;
	s->cur = next;
	s->m->sched_task = next ? next->id : 0;
	s->m->sched_cpu = next ? next->cpu : -1;
	s->switches++;
	if (s->cfg.switch_events && next) {
		struct vmlab_event e = {.type = VMLAB_EV_USER,
					.cpu = next->kworker ? -1 : next->cpu,
					.a = prev ? (u64)(s64)prev->cpu : ~0ULL,
					.b = s->steps,
					.c = next->kworker,
					.name = "sched_switch"};
		vmlab_emit(s->m, &e);
	}
	s->from = from;
	fiber_switch(from, to, exiting);
	/* Someone switched back to us. */
}

static void deadlock(struct vmlab_sched *s)
{
	assert(s->running);
	if (!s->status)
		s->status = -VMLAB_EDEADLK;
	size_t n = 0;
	n += (size_t)snprintf(s->err, sizeof(s->err), "deadlock:");
	for (int i = 0; i < s->nr_act && n < sizeof(s->err); i++) {
		struct task *t = s->act[i];
		if (t->state == T_DONE)
			continue;
		n += (size_t)snprintf(s->err + n, sizeof(s->err) - n,
				      " [%s on CPU %d waits at %s, held as %s]",
				      t->name, t->cpu,
				      t->wait ? "a lock" : "a point",
				      t->wait && t->wait->name ? t->wait->name
							       : "?");
	}
}

/* The running task can go no further here: run someone else. */
static void reschedule(struct vmlab_sched *s, struct task *t, bool exiting)
{
	assert(t == s->cur && (!exiting || t->state == T_DONE));
	struct task *next = pick(s);
	if (next == t)
		return;
	if (!next) {
		bool all_done = true;
		for (int i = 0; i < s->nr_act; i++)
			all_done &= s->act[i]->state == T_DONE;
		if (!all_done)
			deadlock(s);
	}
	switch_to(s, next, exiting);
}

static void hook(void *ctx, int cpu, const char *why,
		 const struct vmlab_lock *wait)
{
	struct vmlab_sched *s = ctx;
	struct task *t = s->cur;
	(void)cpu;
	(void)why;
	assert(t && s->running);
	s->steps++;
	/* Aborting: finish the kernel operation in progress without
	 * interleaving; only a task that cannot go on gives way. */
	if (s->aborting && !wait && !t->idle)
		return;
	if (s->cfg.policy == VMLAB_SCHED_PCT)
		pct_step(s, t);
	t->wait = wait;
	reschedule(s, t, false);
	t->wait = NULL;
}

static void kworker(struct vmlab_machine *m, int cpu, void *arg)
{
	struct task *t = arg;
	struct vmlab_sched *s = t->s;
	(void)cpu;
	assert(t->kworker && s->cur == t);
	for (;;) {
		if (s->aborting)
			return;
		if (vmlab_nr_pending_work(m) == 0) {
			if (s->nr_programs_left == 0)
				return;
			t->idle = true;
			hook(s, -1, "kworker idle", NULL);
			t->idle = false;
			continue;
		}
		u32 n = (u32)m->nr_cpus;
		t->cpu = s->cfg.policy == VMLAB_SCHED_RR
				 ? (int)(s->kw_next_cpu++ % n)
				 : (int)rng_below(s->rng, n);
		m->sched_cpu = t->cpu;
		/* Begin/end events frame the item in traces (its name is
		 * read from the queue head by the trace writer). */
		struct vmlab_event e = {.type = VMLAB_EV_USER, .cpu = t->cpu,
					.name = "kworker_begin"};
		if (s->cfg.work_lock)
			vmlab_lock_acquire(m, t->cpu, s->cfg.work_lock,
					   "kworker lock");
		vmlab_emit(m, &e);
		vmlab_run_work(m, t->cpu, 1);
		e.name = "kworker_end";
		vmlab_emit(m, &e);
		if (s->cfg.work_lock)
			vmlab_lock_release(m, t->cpu, s->cfg.work_lock,
					   "kworker unlock");
		t->cpu = -1;
		m->sched_cpu = -1;
		hook(s, -1, "kworker", NULL);
	}
}

static void task_entry(void *arg)
{
	struct task *t = arg;
	struct vmlab_sched *s = t->s;
	assert(s->cur == t && t->state == T_READY);
	fiber_started(s->from);
	t->fn(s->m, t->cpu, t->arg);
	t->state = T_DONE;
	if (!t->kworker)
		s->nr_programs_left--;
	assert(s->nr_programs_left >= 0);
	reschedule(s, t, true);
	assert(!"a finished task was resumed");
	abort();
}

int vmlab_sched_run(struct vmlab_sched *s)
{
	if (!s || s->ran || s->m->sched_hook)
		return -VMLAB_EINVAL;
	struct vmlab_machine *m = s->m;
	s->ran = true;
	for (int c = 0; c <= m->nr_cpus; c++) {
		struct task *t = &s->slot[c];
		if (c == m->nr_cpus && s->cfg.kworker) {
			t->fn = kworker;
			t->arg = t;
			t->kworker = true;
			t->cpu = -1;
			t->name = "kworker";
		}
		if (!t->fn)
			continue;
		t->s = s;
		t->id = (u32)s->nr_act + 1;
		s->act[s->nr_act++] = t;
		s->nr_programs_left += !t->kworker;
		if (fiber_create(&t->fib, s->cfg.stack_size, task_entry, t))
			return -VMLAB_ENOMEM;
	}
	assert(s->nr_act <= m->nr_cpus + 1);
	if (s->cfg.policy == VMLAB_SCHED_PCT)
		pct_init(s);
	fiber_init_main(&s->main);
	m->sched_hook = hook;
	m->sched_ctx = s;
	s->running = true;
	struct task *first = pick(s);
	if (first)
		switch_to(s, first, false);
	/* Back on the main fiber: all done, or nothing could run. */
	assert(!s->cur && (s->status || !s->nr_programs_left));
	s->running = false;
	m->sched_hook = NULL;
	m->sched_ctx = NULL;
	m->sched_task = 0;
	m->sched_cpu = -1;
	return s->status;
}

/* ------------------------------------------------- program interface */

static struct vmlab_sched *running_sched(const struct vmlab_machine *m)
{
	if (!m || m->sched_hook != hook)
		return NULL;
	struct vmlab_sched *s = m->sched_ctx;
	return s->cur ? s : NULL;
}

void vmlab_sched_point(struct vmlab_machine *m, const char *why)
{
	struct vmlab_sched *s = running_sched(m);
	if (s)
		hook(s, s->cur->cpu, why, NULL);
}

void vmlab_sched_yield(struct vmlab_machine *m)
{
	struct vmlab_sched *s = running_sched(m);
	if (!s)
		return;
	if (s->cfg.policy == VMLAB_SCHED_PCT)
		s->cur->prio = s->yield_prio--;
	hook(s, s->cur->cpu, "yield", NULL);
}

void vmlab_sched_abort(struct vmlab_machine *m)
{
	struct vmlab_sched *s = running_sched(m);
	if (!s)
		return;
	if (!s->status)
		s->status = -VMLAB_ECANCELED;
	s->aborting = true;
}

bool vmlab_sched_aborting(const struct vmlab_machine *m)
{
	struct vmlab_sched *s = running_sched(m);
	return s && s->aborting;
}

int vmlab_sched_current_cpu(const struct vmlab_machine *m)
{
	struct vmlab_sched *s = running_sched(m);
	return s ? s->cur->cpu : -1;
}

bool vmlab_sched_in_kworker(const struct vmlab_machine *m)
{
	struct vmlab_sched *s = running_sched(m);
	return s && s->cur->kworker;
}

u64 vmlab_sched_steps(const struct vmlab_sched *s)
{
	return s ? s->steps : 0;
}

u64 vmlab_sched_switches(const struct vmlab_sched *s)
{
	return s ? s->switches : 0;
}

const char *vmlab_sched_error(const struct vmlab_sched *s)
{
	return s && s->err[0] ? s->err : NULL;
}
