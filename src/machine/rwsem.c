/* SPDX-License-Identifier: MIT */
/*
 * Reader-writer semaphores for the model's kernel code (struct
 * vmlab_rwsem, machine/internal.h): mmap_lock is one.  Built on the
 * scheduler's lock waits: a task that cannot go on waits until a lock's
 * owner field is 0 (machine.c's vmlab_lock_acquire() loop).  Outside a
 * scheduler run nothing can wait, so a lock that would block is a bug of
 * the caller (a missing unlock) and gives a warning, as lockdep would.
 * Only a wait is a scheduling point: taking or releasing a lock nobody
 * contends changes nothing another CPU could see before the holder's
 * next point.
 */
#include "machine/internal.h"

/* The owner a lock gets outside a scheduler run (machine.c). */
#define NO_SCHED_OWNER 0xffffffffu

static u32 me(const struct vmlab_machine *m)
{
	return m->sched_task ? m->sched_task : NO_SCHED_OWNER;
}

bool vmlab_rwsem_write_owned(const struct vmlab_machine *m,
			     const struct vmlab_rwsem *s)
{
	assert(s);
	return s->wr.owner && s->wr.owner == me(m);
}

void vmlab_wait_free(struct vmlab_machine *m, int cpu,
		     const struct vmlab_lock *l, const char *why)
{
	assert(m && l && why);
	while (l->owner) {
		if (!m->sched_hook) {
			vmlab_warn(m, "%s: would wait forever (held as %s)",
				   why, l->name ? l->name : "?");
			return;
		}
		m->sched_hook(m->sched_ctx, cpu, why, l);
	}
}

void vmlab_down_read(struct vmlab_machine *m, int cpu, struct vmlab_rwsem *s,
		     const char *why)
{
	assert(m && s && why);
	if (s->wr.owner == me(m))
		vmlab_warn(m, "%s: read lock taken by its writer (deadlock)",
			   why);
	else
		vmlab_wait_free(m, cpu, &s->wr, why);
	s->rd.owner++;
	s->rd.name = why;
	assert(s->rd.owner > 0);
}

bool vmlab_down_read_trylock(struct vmlab_machine *m, struct vmlab_rwsem *s)
{
	assert(m && s);
	(void)m;
	if (s->wr.owner)
		return false;
	s->rd.owner++;
	s->rd.name = "down_read_trylock";
	return true;
}

void vmlab_up_read(struct vmlab_machine *m, int cpu, struct vmlab_rwsem *s,
		   const char *why)
{
	assert(m && s && why);
	if (!s->rd.owner) {
		vmlab_warn(m, "%s: up_read of an rwsem with no readers", why);
		return;
	}
	s->rd.owner--;
	(void)cpu;
}

int vmlab_down_write_killable(struct vmlab_machine *m, int cpu,
			      struct vmlab_rwsem *s, const bool *fatal,
			      const char *why)
{
	assert(m && s && why);
	(void)cpu;
	/* Other writers first (a writer in wr keeps new readers out). */
	while (s->wr.owner) {
		if (fatal && *fatal)
			return -VMLAB_EINTR;
		if (s->wr.owner == me(m) || !m->sched_hook) {
			vmlab_warn(m, "%s: already held by %s (recursive "
				      "locking or a missing unlock)",
				   why, s->wr.name ? s->wr.name : "?");
			break;
		}
		m->sched_hook(m->sched_ctx, cpu, why, &s->wr);
	}
	if (fatal && *fatal)
		return -VMLAB_EINTR;
	s->wr.owner = me(m);
	s->wr.name = why;
	/* Then the readers inside drain. */
	while (s->rd.owner) {
		if (fatal && *fatal) {
			s->wr.owner = 0;
			return -VMLAB_EINTR;
		}
		if (!m->sched_hook) {
			vmlab_warn(m, "%s: %u readers never leave", why,
				   (unsigned)s->rd.owner);
			break;
		}
		m->sched_hook(m->sched_ctx, cpu, why, &s->rd);
	}
	assert(s->wr.owner == me(m));
	return 0;
}

void vmlab_up_write(struct vmlab_machine *m, int cpu, struct vmlab_rwsem *s,
		    const char *why)
{
	assert(m && s && why);
	if (s->wr.owner != me(m)) {
		vmlab_warn(m, "%s: up_write of an rwsem this context does not "
			      "hold for writing", why);
		return;
	}
	s->wr.owner = 0;
	(void)cpu;
}
