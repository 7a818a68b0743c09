/* SPDX-License-Identifier: MIT */
/*
 * The deterministic scheduler: each simulated CPU runs its own program and
 * a seeded scheduler interleaves them at scheduling points.
 *
 * A program is a C function run on its own stack (a fiber), so it can be
 * suspended anywhere a scheduling point is: between the operations it
 * performs (it calls vmlab_sched_point() itself; the Lua binding does so
 * before every operation) and inside kernel paths, where the kernel code
 * takes locks (spin_lock(), mutex_lock()) and shoots down TLBs.
 *
 * Policies:
 *  - VMLAB_SCHED_RR: at each point, the next runnable program in CPU order.
 *  - VMLAB_SCHED_RANDOM: at each point, a runnable program chosen uniformly.
 *  - VMLAB_SCHED_PCT: probabilistic concurrency testing (Burckhardt et al.,
 *    ASPLOS 2010): random distinct priorities, the highest runnable program
 *    runs; at depth-1 change points drawn from [1, pct_steps] the running
 *    program drops below every other.  A bug of depth d is found with
 *    probability >= 1/(n k^(d-1)) per run.
 *
 * A run is a pure function of the configuration, the programs and the
 * seed.  Deferred work (vmlab_queue_work()) runs on a "kworker" pseudo
 * program when the scheduler picks it, on a CPU the scheduler chooses.
 */
#ifndef VMLAB_SCHED_H
#define VMLAB_SCHED_H

#include "machine.h"

struct vmlab_sched;
struct vmlab_lock;

enum vmlab_sched_policy {
	VMLAB_SCHED_RANDOM = 0,
	VMLAB_SCHED_RR = 1,
	VMLAB_SCHED_PCT = 2,
	VMLAB_NR_SCHED_POLICIES
};

const char *vmlab_sched_policy_name(enum vmlab_sched_policy p);
/* "random", "rr" or "pct"; -VMLAB_EINVAL for anything else. */
int vmlab_sched_policy_parse(const char *name, enum vmlab_sched_policy *out);

#define VMLAB_SCHED_MAX_DEPTH 64

struct vmlab_sched_config {
	enum vmlab_sched_policy policy;
	u64 seed;
	int pct_depth;     /* d >= 1: d-1 priority change points */
	u64 pct_steps;     /* k: change points drawn from [1, k] */
	u64 pct_step_base; /* steps already taken by earlier runs (a scenario
			    * that runs programs several times shares one k) */
	size_t stack_size; /* per program; 0: 1 MiB (committed on use) */
	bool kworker;      /* run deferred work as a pseudo program */
	bool switch_events; /* emit a "sched_switch" event at each switch */
	/* Taken around each work item the kworker runs (NULL: none), so that
	 * work cannot interleave with callers that hold it. */
	struct vmlab_lock *work_lock;
};

/* RANDOM, seed 1, depth 3, 10000 steps, kworker and switch events on. */
void vmlab_sched_config_default(struct vmlab_sched_config *cfg);

/* A program for one CPU.  It runs until it returns. */
typedef void (*vmlab_prog_fn)(struct vmlab_machine *m, int cpu, void *arg);

/* 0, -VMLAB_EINVAL (bad config, or m already has a scheduler running),
 * -VMLAB_ENOMEM. */
int vmlab_sched_create(struct vmlab_machine *m,
		       const struct vmlab_sched_config *cfg,
		       struct vmlab_sched **out);
void vmlab_sched_destroy(struct vmlab_sched *s);

/* One program per CPU; name is kept (a literal).  0, -VMLAB_EINVAL (bad
 * cpu, already has one, the run started), -VMLAB_ENOMEM. */
int vmlab_sched_spawn(struct vmlab_sched *s, int cpu, vmlab_prog_fn fn,
		      void *arg, const char *name);

/*
 * Run every program to completion.  0; -VMLAB_EDEADLK when every
 * remaining program waits for a lock (a lock-order bug, or a lock never
 * released); -VMLAB_ECANCELED when a program called vmlab_sched_abort().
 * A scheduler runs once.
 */
#define VMLAB_EDEADLK 35
#define VMLAB_ECANCELED 125
int vmlab_sched_run(struct vmlab_sched *s);

/*
 * From a program: a scheduling point (the scheduler may run another
 * program before this returns).  Outside a run, a no-op.  why names the
 * point for traces and must be a literal.
 */
void vmlab_sched_point(struct vmlab_machine *m, const char *why);
/* From a program: let the others run (a spin-wait loop calls this; under
 * PCT the caller drops to the lowest priority so it cannot livelock). */
void vmlab_sched_yield(struct vmlab_machine *m);
/* From a program: stop the run.  The other programs finish the kernel
 * operation they are in (their next scheduling point outside the kernel
 * is where they should stop: see vmlab_sched_aborting()). */
void vmlab_sched_abort(struct vmlab_machine *m);
bool vmlab_sched_aborting(const struct vmlab_machine *m);

/* CPU of the running program, -1 outside a run or in the scheduler. */
int vmlab_sched_current_cpu(const struct vmlab_machine *m);
/* True when the running program is the kworker pseudo program. */
bool vmlab_sched_in_kworker(const struct vmlab_machine *m);

/* Scheduling points passed and context switches made so far. */
u64 vmlab_sched_steps(const struct vmlab_sched *s);
u64 vmlab_sched_switches(const struct vmlab_sched *s);
/* After a deadlock: a description of who waits for what. */
const char *vmlab_sched_error(const struct vmlab_sched *s);

#endif
