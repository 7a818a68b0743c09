/* SPDX-License-Identifier: MIT */
/* Deferred work: a FIFO of work items run when the caller decides. */
#include "internal.h"

bool vmlab_queue_work(struct vmlab_machine *m, struct vmlab_work *w)
{
	assert(w && w->fn);
	if (w->pending)
		return false;
	w->pending = true;
	w->next = NULL;
	if (m->work_tail)
		m->work_tail->next = w;
	else
		m->work_head = w;
	m->work_tail = w;
	m->nr_work++;
	struct vmlab_event e = {.type = VMLAB_EV_USER, .cpu = -1,
				.a = (u64)m->nr_work,
				.name = w->name ? w->name : "queue_work"};
	vmlab_emit(m, &e);
	return true;
}

static struct vmlab_work *dequeue(struct vmlab_machine *m)
{
	struct vmlab_work *w = m->work_head;
	if (!w)
		return NULL;
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
	if (!vmlab_cpu_valid(m, cpu) || max <= 0)
		return 0;
	int ran = 0;
	while (ran < max) {
		struct vmlab_work *w = dequeue(m);
		if (!w)
			break;
		w->fn(m, cpu, w->arg);
		ran++;
	}
	return ran;
}

int vmlab_nr_pending_work(const struct vmlab_machine *m)
{
	return m->nr_work;
}

bool vmlab_cancel_work(struct vmlab_machine *m, struct vmlab_work *w)
{
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
		return true;
	}
	assert(!"pending work not on the queue");
	return false;
}
