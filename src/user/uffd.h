/* SPDX-License-Identifier: MIT */
/*
 * The userfaultfd context and its waiters, shared by userfaultfd.c (the
 * context, registration, faults, ioctls) and uffd_fork.c (the fork
 * event); private to those two files.
 */
#ifndef VMLAB_USER_UFFD_H
#define VMLAB_USER_UFFD_H

#include "user/swapops.h"

#define UFFD_MAGIC 0x7566666463747800ULL
#define UFFD_SHARED_FCNTL_FLAGS (VMLAB_O_CLOEXEC | VMLAB_O_NONBLOCK)
#define UFFD_FEATURE_INITIALIZED (1ULL << 31)
/* The owner of a wait nobody holds: a sleeping fault, an empty queue. */
#define UFFD_WAIT_OWNER 0xfffffffeu

struct uffd_waiter {
	struct vmlab_uffd *ctx;
	struct vmlab_uffd_msg msg;
	u64 addr; /* page aligned */
	bool read, woken;
	bool event; /* UFFD_EVENT_FORK: on the event list, not the faults' */
	struct vmlab_lock wait;
	struct uffd_waiter *next, *prev;
	/* queued, not yet asleep: the fault of task on cpu */
	int cpu;
	u32 task;
	struct uffd_waiter *unslept_next;
	/* every waiter of the context until its task frees it */
	struct uffd_waiter *anext, *aprev;
};

struct vmlab_uffd {
	u64 magic;
	struct user_svc *svc;
	struct vmlab_user_mm *mm; /* NULL once it exited */
	u64 task_size, mmap_min_addr, caps, pid;
	int flags;
	u64 features; /* ctx->features: UFFD_FEATURE_INITIALIZED once set */
	bool released;
	bool in_handler;
	int refs; /* the descriptor, sleeping faults, a running handler */
	struct uffd_waiter *head, *tail; /* queued: not woken yet */
	struct uffd_waiter *ev_head, *ev_tail; /* event_wqh: events unread */
	struct uffd_waiter *all;
	int mmap_changing; /* fork events in flight: COPY/ZEROPAGE EAGAIN */
	/* a context fork made: its parent's, and the next one of that fork */
	struct vmlab_uffd *fork_parent, *fork_next;
	struct vmlab_lock readq; /* held by UFFD_WAIT_OWNER: nothing to read */
	vmlab_uffd_handler_fn handler;
	void *handler_arg;
	struct vmlab_work work;
	struct vmlab_uffd_stats st;
	struct vmlab_uffd *next, *prev;
};

static inline bool uffd_ok(const struct vmlab_uffd *u)
{
	return u && u->magic == UFFD_MAGIC;
}

static inline bool initialized(const struct vmlab_uffd *u)
{
	return u->features & UFFD_FEATURE_INITIALIZED;
}

static inline bool in_sched_run(const struct vmlab_machine *m)
{
	return m->sched_hook && m->sched_task;
}

/* userfaultfd.c's helpers for uffd_fork.c. */
struct vmlab_uffd *uffd_new(struct vmlab_user_mm *mm, int flags, u64 caps);
void uffd_put(struct vmlab_uffd *u);
/* Whether anything is there to read (the read wait's owner). */
void readq_update(struct vmlab_uffd *u);
/* A waiter joins its context (holding a reference) until freed. */
void all_link(struct vmlab_uffd *u, struct uffd_waiter *w);
void all_unlink_free(struct vmlab_uffd *u, struct uffd_waiter *w);
/* schedule() (inside a scheduler run) until w is woken or the context
 * released. */
void uffd_sleep(struct vmlab_machine *m, int cpu, struct uffd_waiter *w,
		const char *why);
/* The monitor reads and serves every message there is. */
void run_handler(struct vmlab_uffd *u);

#endif
