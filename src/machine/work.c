/* SPDX-License-Identifier: MIT */
/* Deferred work: a FIFO of work items run when the caller decides. */
#include "internal.h"

#if VMLAB_EXPENSIVE_CHECKS
/* The queue is a NULL-terminated FIFO of nr_work pending items whose
 * last item is work_tail. */
static void work_check(const struct vmlab_machine *m)
{
	const struct vmlab_work *last = NULL;
	int n = 0;
	for (const struct vmlab_work *w = m->work_head; w; w = w->next) {
		assert(++n <= m->nr_work && w->pending);
		last = w;
	}
	assert(n == m->nr_work && last == m->work_tail);
}
#else
static inline void work_check(const struct vmlab_machine *m)
{
	(void)m;
}
#endif

bool vmlab_queue_work(struct vmlab_machine *m, struct vmlab_work *w)
{
	if (!w || !w->fn) {
		vmlab_warn(m, "queue_work: no work function");
		return false;
	}
	if (w->pending)
		return false;
	w->pending = true;
	w->next = NULL;
	/* An empty queue has neither head nor tail. */
	assert(!m->work_tail == !m->work_head && !m->work_head == !m->nr_work);
	if (m->work_tail)
		m->work_tail->next = w;
	else
		m->work_head = w;
	m->work_tail = w;
	m->nr_work++;
	m->work_queued++;
	assert(m->nr_work > 0 && m->work_head);
	if (debug_every(&m->work_dbg_tick, 16))
		work_check(m);
	const char *name = w->name ? w->name : "queue_work";
	if (!w->name_hash)
		w->name_hash = vmlab_name_hash(name);
	struct vmlab_event e = {.type = VMLAB_EV_USER, .cpu = -1,
				.a = (u64)m->nr_work,
				.name = name, .name_hash = w->name_hash};
	vmlab_emit(m, &e);
	return true;
}

static struct vmlab_work *dequeue(struct vmlab_machine *m)
{
	struct vmlab_work *w = m->work_head;
	if (!w) {
		assert(!m->work_tail && m->nr_work == 0);
		return NULL;
	}
	assert(w->pending && m->nr_work > 0);
	m->work_head = w->next;
	if (!m->work_head)
		m->work_tail = NULL;
	m->nr_work--;
	assert(m->nr_work >= 0);
	w->next = NULL;
	w->pending = false;
	return w;
}

int vmlab_run_work(struct vmlab_machine *m, int cpu, int max)
{
	if (!vmlab_cpu_valid(m, cpu)) {
		/* Nothing runs (there is no such CPU to run it), but the
		 * caller hears of it. */
		vmlab_warn(m, "run_work: no CPU %d (machine has %d); nothing ran",
			   cpu, m->nr_cpus);
		return 0;
	}
	if (max <= 0)
		return 0;
	int ran = 0;
	while (ran < max) {
		struct vmlab_work *w = dequeue(m);
		if (!w)
			break;
		assert(w->fn && !w->pending);
		m->work_ran++;
		w->fn(m, cpu, w->arg);
		ran++;
	}
	assert(ran <= max && m->work_ran <= m->work_queued);
	return ran;
}

void vmlab_work_totals(const struct vmlab_machine *m, u64 *queued, u64 *ran)
{
	/* Every item ran was queued; the rest are pending or cancelled. */
	assert(m->work_ran + (u64)m->nr_work <= m->work_queued);
	*queued = m->work_queued;
	*ran = m->work_ran;
}

int vmlab_nr_pending_work(const struct vmlab_machine *m)
{
	assert(m->nr_work >= 0);
	return m->nr_work;
}

bool vmlab_cancel_work(struct vmlab_machine *m, struct vmlab_work *w)
{
	if (!w)
		return false;
	if (!w->pending)
		return false;
	struct vmlab_work **pp = &m->work_head, *prev = NULL;
	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != w)
			continue;
		*pp = w->next;
		if (m->work_tail == w)
			m->work_tail = prev;
		m->nr_work--;
		w->pending = false;
		w->next = NULL;
		if (debug_every(&m->work_dbg_tick, 16))
			work_check(m);
		return true;
	}
	assert(!"pending work not on the queue");
	return false;
}
