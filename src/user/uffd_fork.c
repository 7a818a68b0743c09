/* SPDX-License-Identifier: MIT */
/*
 * UFFD_FEATURE_EVENT_FORK (fs/userfaultfd.c dup_userfaultfd(),
 * dup_userfaultfd_complete(), userfaultfd_event_wait_completion() of
 * Linux 6.18): fork gives the child's copies of registered VMAs a context
 * of the child's, one per parent context, and then waits until the
 * parent's monitor has read the UFFD_EVENT_FORK message that hands it
 * over; meanwhile COPY and ZEROPAGE on the parent's context are EAGAIN
 * (mmap_changing).  A new context nobody takes is released.
 */
#include "user/uffd.h"

int dup_userfaultfd(struct vmlab_vma *n, const struct vmlab_vma *v,
		    struct vmlab_uffd **list)
{
	struct vmlab_uffd *o = v->uffd_ctx;
	assert(n && n->mm && list && !n->uffd_ctx);
	if (!o || !(o->features & VMLAB_UFFD_FEATURE_EVENT_FORK)) {
		n->vm_flags &= ~VM_UFFD_FLAGS;
		return 0;
	}
	struct vmlab_uffd *c = *list;
	while (c && c->fork_parent != o)
		c = c->fork_next;
	if (!c) {
		/* One new context per parent context, shared by its VMAs. */
		c = uffd_new(n->mm, o->flags, o->caps);
		if (!c) {
			n->vm_flags &= ~VM_UFFD_FLAGS;
			return -VMLAB_ENOMEM;
		}
		c->features = o->features;
		c->fork_parent = o;
		c->fork_next = *list;
		o->refs++;
		o->mmap_changing++;
		*list = c;
	}
	n->uffd_ctx = c;
	return 0;
}

/* The new context nobody took: the child's VMAs lose it (without a
 * merge, as Linux's release_new_ctx path), and it goes. */
static void release_new_ctx(struct vmlab_uffd *n)
{
	for (struct vmlab_vma *v = n->mm ? n->mm->first : NULL; v; v = v->next)
		if (v->uffd_ctx == n) {
			v->uffd_ctx = NULL;
			v->vm_flags &= ~VM_UFFD_FLAGS;
		}
	n->released = true;
	uffd_put(n);
}

/* userfaultfd_event_wait_completion() of one UFFD_EVENT_FORK: true once
 * it was read. */
static bool fork_event(struct vmlab_user_mm *mm, struct vmlab_uffd *o,
		       struct vmlab_uffd *n)
{
	struct vmlab_machine *m = mm->m;
	if (o->released)
		return false;
	struct uffd_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return false;
	*w = (struct uffd_waiter){
		.ctx = o, .event = true,
		.msg = {.event = VMLAB_UFFD_EVENT_FORK, .ufd = n},
		.wait = {.owner = UFFD_WAIT_OWNER, .name = "userfaultfd fork event"}};
	if (o->ev_tail)
		o->ev_tail->next = w;
	else
		o->ev_head = w;
	o->ev_tail = w;
	all_link(o, w);
	readq_update(o);
	bool run = in_sched_run(m);
	if (o->handler)
		run ? (void)vmlab_queue_work(m, &o->work) : run_handler(o);
	if (!w->woken && run)
		uffd_sleep(m, user_cpu(mm), w, "userfaultfd fork event");
	bool read = w->woken;
	if (!read) {
		if (!o->released)
			vmlab_warn(m, "userfaultfd: nothing read the fork event of "
				      "pid %llu (fork would wait forever): the "
				      "child's registration is dropped",
				   (unsigned long long)mm->pid);
		struct uffd_waiter **pe = &o->ev_head, *prev = NULL;
		while (*pe && *pe != w) {
			prev = *pe;
			pe = &(*pe)->next;
		}
		if (*pe) {
			*pe = w->next;
			if (o->ev_tail == w)
				o->ev_tail = prev;
		}
		readq_update(o);
	}
	all_unlink_free(o, w);
	return read;
}

void dup_userfaultfd_complete(struct vmlab_user_mm *mm,
			      struct vmlab_uffd *list, bool failed)
{
	while (list) {
		struct vmlab_uffd *c = list, *o = c->fork_parent;
		list = c->fork_next;
		c->fork_parent = c->fork_next = NULL;
		c->refs++; /* fork_event() may hand it to a reader */
		if (failed || !fork_event(mm, o, c))
			release_new_ctx(c);
		uffd_put(c);
		o->mmap_changing--;
		assert(o->mmap_changing >= 0);
		uffd_put(o);
	}
}
