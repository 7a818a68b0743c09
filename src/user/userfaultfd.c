/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd, missing mode (include/vmlab/userfaultfd.h; fs/userfaultfd.c
 * and mm/userfaultfd.c of Linux 6.18): the contexts, UFFDIO_API, the
 * registration of VMA ranges (VM_UFFD_MISSING and vm_userfaultfd_ctx,
 * split and merged through vma_modify_flags_uffd()), handle_userfault()
 * and the sleep of the faulting task, the message queue read by a handler
 * or read(), wake-ups, the UFFDIO_COPY / UFFDIO_ZEROPAGE ioctls (their
 * page filling is uffd_fill.c's mfill_atomic()) and the release of a
 * context.
 *
 * A sleeping fault is a struct uffd_waiter (the uwq of handle_userfault()
 * on the task's stack).  Its `wait` lock has an owner no task has while
 * it sleeps, so the scheduler does not run the task until a wake-up
 * clears it, and reports a deadlock when nothing ever does.  Waiters stay
 * on the context's list, read or not, until woken: that list is both
 * fault_pending_wqh and fault_wqh of the kernel.
 */
#include "user/uffd.h"

/* ------------------------------------------------------------- lifetime */

static void uffd_free(struct vmlab_uffd *u)
{
	struct user_svc *s = u->svc;
	assert(u->magic == UFFD_MAGIC);
	while (u->all) { /* sleepers of a run that ended in a deadlock */
		struct uffd_waiter *w = u->all;
		u->all = w->anext;
		free(w);
	}
	vmlab_cancel_work(s->m, &u->work);
	if (u->prev)
		u->prev->next = u->next;
	else
		s->uffds = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->magic = 0;
	free(u);
}

/* The last reference gone, the context stays (released) until the
 * machine goes: a caller that uses it after close() gets EBADF, as with
 * a closed descriptor, instead of freed memory. */
void uffd_put(struct vmlab_uffd *u)
{
	assert(u->refs > 0);
	u->refs--;
	assert(u->refs > 0 || u->released);
}

void uffd_svc_destroy(struct user_svc *s)
{
	assert(s);
	while (s->uffds)
		uffd_free(s->uffds);
	free(s->uffd_real);
	s->uffd_unslept = NULL; /* freed with their contexts */
	s->uffd_real = NULL;
}

void uffd_mm_exit(struct vmlab_user_mm *mm)
{
	assert(mm && mm->svc);
	for (struct vmlab_uffd *u = mm->svc->uffds; u; u = u->next)
		if (u->mm == mm)
			u->mm = NULL; /* mmget_not_zero() fails from now on */
}

int vmlab_user_set_unprivileged_userfaultfd(struct vmlab_machine *m, bool on)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s)
		return -VMLAB_EINVAL;
	s->unpriv_uffd = on;
	return 0;
}

static void uffd_work_fn(struct vmlab_machine *m, int cpu, void *arg);

/* A context of mm's (one reference: its descriptor), or NULL. */
struct vmlab_uffd *uffd_new(struct vmlab_user_mm *mm, int flags,
				   u64 caps)
{
	struct user_svc *s = mm->svc;
	struct vmlab_uffd *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	*u = (struct vmlab_uffd){
		.magic = UFFD_MAGIC, .svc = s, .mm = mm,
		.task_size = TASK_SIZE_OF(mm), .mmap_min_addr = mm->mmap_min_addr,
		.caps = caps, .pid = mm->pid, .flags = flags, .refs = 1,
		.readq = {.owner = UFFD_WAIT_OWNER, .name = "userfaultfd read"},
		.work = {.fn = uffd_work_fn, .name = "userfaultfd handler"},
		.next = s->uffds};
	u->work.arg = u;
	if (s->uffds)
		s->uffds->prev = u;
	s->uffds = u;
	assert(uffd_ok(u) && u->refs == 1);
	return u;
}

int vmlab_userfaultfd(struct vmlab_user_mm *mm, int flags,
		      struct vmlab_uffd **out)
{
	if (!mm || mm->magic != USER_MM_MAGIC || !out)
		return -VMLAB_EINVAL;
	struct user_svc *s = mm->svc;
	*out = NULL;
	/* userfaultfd_syscall_allowed() comes before the flags. */
	if (!(flags & VMLAB_UFFD_USER_MODE_ONLY) &&
	    !(mm->caps & (1ULL << VMLAB_CAP_SYS_PTRACE)) && !s->unpriv_uffd)
		return -VMLAB_EPERM;
	if (flags & ~(UFFD_SHARED_FCNTL_FLAGS | VMLAB_UFFD_USER_MODE_ONLY))
		return -VMLAB_EINVAL;
	if (!s->uffd_real) {
		s->uffd_real = calloc((size_t)s->m->nr_cpus, sizeof(*s->uffd_real));
		if (!s->uffd_real)
			return -VMLAB_ENOMEM;
	}
	user_enter(mm, "userfaultfd");
	*out = uffd_new(mm, flags, mm->caps);
	return *out ? 0 : -VMLAB_ENOMEM;
}

struct vmlab_user_mm *vmlab_uffd_mm(const struct vmlab_uffd *u)
{
	return uffd_ok(u) ? u->mm : NULL;
}

void vmlab_uffd_stats(const struct vmlab_uffd *u, struct vmlab_uffd_stats *out)
{
	if (!out)
		return;
	*out = (struct vmlab_uffd_stats){0};
	if (!uffd_ok(u))
		return;
	*out = u->st;
	for (const struct uffd_waiter *w = u->head; w; w = w->next) {
		out->waiting++;
		out->pending += !w->read;
	}
}

/* ---------------------------------------------------------- the queue */

void readq_update(struct vmlab_uffd *u)
{
	bool any = u->ev_head;
	for (const struct uffd_waiter *w = u->head; w && !any; w = w->next)
		any = !w->read;
	u->readq.owner = any ? 0 : UFFD_WAIT_OWNER;
}

static void waiter_unlink(struct vmlab_uffd *u, struct uffd_waiter *w)
{
	assert(w->ctx == u);
	if (w->prev)
		w->prev->next = w->next;
	else if (u->head == w)
		u->head = w->next;
	else
		return; /* not queued */
	if (w->next)
		w->next->prev = w->prev;
	else
		u->tail = w->prev;
	w->next = w->prev = NULL;
	readq_update(u);
}

/* A waiter joins its context (and holds a reference) until its task
 * frees it. */
void all_link(struct vmlab_uffd *u, struct uffd_waiter *w)
{
	assert(w->ctx == u && !w->anext && !w->aprev);
	w->anext = u->all;
	if (u->all)
		u->all->aprev = w;
	u->all = w;
	u->refs++;
}

void all_unlink_free(struct vmlab_uffd *u, struct uffd_waiter *w)
{
	assert(w->ctx == u);
	if (w->aprev)
		w->aprev->anext = w->anext;
	else
		u->all = w->anext;
	if (w->anext)
		w->anext->aprev = w->aprev;
	free(w);
	uffd_put(u);
}

/* schedule() until a wake-up (or the release of the context). */
void uffd_sleep(struct vmlab_machine *m, int cpu, struct uffd_waiter *w,
		       const char *why)
{
	assert(in_sched_run(m));
	bool dropped = vmlab_op_unlock(m, cpu, "userfaultfd: sleep");
	while (!w->woken && !w->ctx->released)
		m->sched_hook(m->sched_ctx, cpu, why, &w->wait);
	if (dropped)
		vmlab_op_relock(m, cpu, "userfaultfd: woken");
}

/* __wake_userfault(): every fault whose address lies in [start,
 * start + len) (len 0: all) wakes and leaves the queue. */
static void wake_userfault(struct vmlab_uffd *u, u64 start, u64 len)
{
	struct uffd_waiter *w = u->head;
	while (w) {
		struct uffd_waiter *next = w->next;
		u64 a = w->msg.address;
		if (!len || (a >= start && a - start < len)) {
			w->woken = true;
			w->wait.owner = 0;
			waiter_unlink(u, w);
			u->st.wakes++;
		}
		w = next;
	}
}

/* userfaultfd_ctx_read(): the oldest unread fault, refiled as read. */
static bool dequeue_msg(struct vmlab_uffd *u, struct vmlab_uffd_msg *msg)
{
	for (struct uffd_waiter *w = u->head; w; w = w->next)
		if (!w->read) {
			w->read = true;
			*msg = w->msg;
			readq_update(u);
			return true;
		}
	/* then the events: reading one completes it (the forker wakes),
	 * and a fork event's new context is the reader's from now on */
	struct uffd_waiter *e = u->ev_head;
	if (!e)
		return false;
	u->ev_head = e->next;
	if (!u->ev_head)
		u->ev_tail = NULL;
	e->next = NULL;
	*msg = e->msg;
	e->read = e->woken = true;
	e->wait.owner = 0;
	readq_update(u);
	return true;
}

/* The monitor reads and serves every queued message. */
void run_handler(struct vmlab_uffd *u)
{
	if (u->in_handler || !u->handler)
		return; /* a fault of the handler itself: it is already here */
	u->in_handler = true;
	u->refs++;
	struct vmlab_uffd_msg msg;
	while (!u->released && u->handler && dequeue_msg(u, &msg))
		u->handler(u, &msg, u->handler_arg);
	u->in_handler = false;
	uffd_put(u);
}

static void uffd_work_fn(struct vmlab_machine *m, int cpu, void *arg)
{
	struct vmlab_uffd *u = arg;
	(void)m;
	(void)cpu;
	assert(uffd_ok(u));
	run_handler(u);
}

int vmlab_uffd_set_handler(struct vmlab_uffd *u, vmlab_uffd_handler_fn fn,
			   void *arg)
{
	if (!uffd_ok(u))
		return -VMLAB_EINVAL;
	if (u->released)
		return -VMLAB_EBADF;
	u->handler = fn;
	u->handler_arg = arg;
	return 0;
}

int vmlab_uffd_read(struct vmlab_uffd *u, struct vmlab_uffd_msg *msg)
{
	if (!uffd_ok(u) || !msg)
		return -VMLAB_EINVAL;
	if (u->released)
		return -VMLAB_EBADF;
	if (!initialized(u))
		return -VMLAB_EINVAL;
	struct vmlab_machine *m = u->svc->m;
	for (;;) {
		if (dequeue_msg(u, msg))
			return 0;
		if ((u->flags & VMLAB_O_NONBLOCK) || !in_sched_run(m) ||
		    u->released)
			return -VMLAB_EAGAIN;
		/* schedule() until a fault is queued. */
		int cpu = m->sched_cpu >= 0 ? m->sched_cpu : 0;
		bool dropped = vmlab_op_unlock(m, cpu, "userfaultfd_read: sleep");
		m->sched_hook(m->sched_ctx, cpu, "userfaultfd_read", &u->readq);
		if (dropped)
			vmlab_op_relock(m, cpu, "userfaultfd_read: woken");
	}
}

/* ------------------------------------------------------------ faults */

bool uffd_skip_huge_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			  u64 addr)
{
	if (!userfaultfd_missing(v))
		return false;
	vmlab_ptep_t pmdp;
	return vmlab_lookup_entry(mm->m, mm->hw, addr, VMLAB_LVL_PMD, &pmdp) ||
	       !vmlab_get_entry(mm->m, pmdp);
}

int handle_userfault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		     u64 addr, bool write)
{
	struct vmlab_uffd *u = v->uffd_ctx;
	struct user_svc *s = mm->svc;
	assert(uffd_ok(u) && u->mm == mm && userfaultfd_missing(v));
	assert(!(addr & ~VMLAB_PAGE_MASK) && vmlab_cpu_valid(mm->m, cpu));
	u64 real = s->uffd_real[cpu];
	if (u->features & VMLAB_UFFD_FEATURE_SIGBUS)
		return VMLAB_SIGBUS;
	if (!real && (u->flags & VMLAB_UFFD_USER_MODE_ONLY))
		return VMLAB_SIGBUS; /* a kernel fault (GUP, a device) */
	if (u->released)
		return 0; /* VM_FAULT_NOPAGE: retried, unregistered by then */
	struct uffd_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return VMLAB_SIGKILL;
	bool exact = u->features & VMLAB_UFFD_FEATURE_EXACT_ADDRESS;
	*w = (struct uffd_waiter){
		.ctx = u, .addr = addr,
		.msg = {.event = VMLAB_UFFD_EVENT_PAGEFAULT,
			.flags = write ? VMLAB_UFFD_PAGEFAULT_FLAG_WRITE : 0,
			.address = exact && real ? real : addr,
			.ptid = (u->features & VMLAB_UFFD_FEATURE_THREAD_ID)
					? (u32)mm->pid : 0},
		.wait = {.owner = UFFD_WAIT_OWNER, .name = "handle_userfault"},
		.prev = u->tail};
	if (u->tail)
		u->tail->next = w;
	else
		u->head = w;
	u->tail = w;
	all_link(u, w);
	u->st.faults++;
	readq_update(u);
	w->cpu = cpu;
	w->task = mm->m->sched_task;
	w->unslept_next = s->uffd_unslept;
	s->uffd_unslept = w;
	return UFFD_FAULT_WAIT;
}

/* userfaultfd_must_wait(): the page is still missing (a none PTE or a
 * marker; the guard ones never got here). */
static bool must_wait(struct vmlab_user_mm *mm, u64 addr)
{
	vmlab_ptep_t p;
	if (vmlab_lookup_entry(mm->m, mm->hw, addr, VMLAB_LVL_PMD, &p) ||
	    !vmlab_get_entry(mm->m, p))
		return true;
	struct vmlab_pte_info in;
	if (pmd_trans_huge(mm->m, vmlab_get_entry(mm->m, p), &in) ||
	    upte_lookup(mm, addr, &p))
		return false;
	mm->m->arch->decode(upte_get(mm, p), VMLAB_LVL_PTE, &in);
	return in.kind == VMLAB_PTE_NONE || in.kind == VMLAB_PTE_MARKER;
}

int uffd_wait_fault(struct vmlab_user_mm *mm, int cpu, int *code)
{
	struct user_svc *s = mm->svc;
	struct vmlab_machine *m = mm->m;
	struct uffd_waiter **pw = &s->uffd_unslept;
	while (*pw && ((*pw)->cpu != cpu || (*pw)->task != m->sched_task))
		pw = &(*pw)->unslept_next;
	struct uffd_waiter *w = *pw;
	assert(w && uffd_ok(w->ctx) && code);
	*pw = w->unslept_next;
	struct vmlab_uffd *u = w->ctx;
	bool must = must_wait(mm, w->addr), run = in_sched_run(m);
	/* wake_up_poll(fd_wqh): the monitor learns of it. */
	if (must && u->handler) {
		if (run)
			vmlab_queue_work(m, &u->work);
		else
			run_handler(u);
	}
	int ret = 0;
	if (must && run) {
		uffd_sleep(m, cpu, w, "handle_userfault");
	} else if (must && !w->woken && !u->released) {
		vmlab_warn(m, "userfaultfd: nothing woke the fault at %#llx "
			      "(pid %llu would sleep forever): SIGBUS",
			   (unsigned long long)w->msg.address,
			   (unsigned long long)mm->pid);
		*code = VMLAB_BUS_ADRERR;
		ret = VMLAB_SIGBUS;
	}
	waiter_unlink(u, w);
	all_unlink_free(u, w);
	return ret;
}

/* ------------------------------------------------------- registration */

/* validate_range() */
static int validate_range(const struct vmlab_uffd *u, u64 start, u64 len)
{
	if ((start | len) & ~VMLAB_PAGE_MASK || !len)
		return -VMLAB_EINVAL;
	if (start < u->mmap_min_addr || start >= u->task_size ||
	    len > u->task_size - start)
		return -VMLAB_EINVAL;
	return 0;
}

/* vma_can_userfault() for the missing mode. */
static bool vma_can_userfault(const struct vmlab_vma *v)
{
	if (v->vm_flags & (VMLAB_VM_DROPPABLE | VMLAB_VM_SPECIAL))
		return false;
	return vma_is_anonymous(v) || vma_is_shmem(v);
}

int vmlab_uffdio_api(struct vmlab_uffd *u, u64 api, u64 *features,
		     u64 *ioctls)
{
	if (!uffd_ok(u) || !features)
		return -VMLAB_EINVAL;
	if (u->released)
		return -VMLAB_EBADF;
	u64 req = *features, out_f = 0, out_i = 0;
	int err;
	if (api != VMLAB_UFFD_API) {
		err = -VMLAB_EINVAL;
	} else if ((req & VMLAB_UFFD_FEATURE_EVENT_FORK) &&
		   !(u->caps & (1ULL << VMLAB_CAP_SYS_PTRACE))) {
		err = -VMLAB_EPERM;
	} else {
		/* WP_ASYNC relies on WP_UNPOPULATED (both masked here). */
		if (req & VMLAB_UFFD_FEATURE_WP_ASYNC)
			req |= VMLAB_UFFD_FEATURE_WP_UNPOPULATED;
		if (req & ~VMLAB_UFFD_API_FEATURES || initialized(u)) {
			err = -VMLAB_EINVAL; /* the cmpxchg of a second call */
		} else {
			u->features = req | UFFD_FEATURE_INITIALIZED;
			out_f = VMLAB_UFFD_API_FEATURES;
			out_i = VMLAB_UFFD_API_IOCTLS;
			err = 0;
		}
	}
	/* err_out: the structure is cleared on a failure. */
	*features = out_f;
	if (ioctls)
		*ioctls = out_i;
	return err;
}

/* The VMAs of [start, end) get newflags' uffd bits and ctx (NULL:
 * unregister), merging and splitting as vma_modify_flags_uffd() does. */
static int set_range(struct vmlab_user_mm *mm, struct vmlab_vma *v,
		     u64 start, u64 end, u64 uflags, struct vmlab_uffd *ctx)
{
	while (v && v->vm_start < end) {
		u64 s0 = v->vm_start > start ? v->vm_start : start;
		u64 e0 = v->vm_end < end ? v->vm_end : end;
		if (v->uffd_ctx == ctx && (v->vm_flags & VM_UFFD_FLAGS) == uflags) {
			v = v->next;
			continue;
		}
		/* Unregistering wakes what sleeps there (no UFFDIO_WAKE). */
		if (!ctx && userfaultfd_missing(v))
			wake_userfault(v->uffd_ctx, s0, e0 - s0);
		int err;
		u64 nf = (v->vm_flags & ~VM_UFFD_FLAGS) | uflags;
		struct vmlab_vma *r = vma_modify_flags_uffd(mm, v, s0, e0, nf,
							    ctx, &err);
		if (!r)
			return err;
		assert(r->uffd_ctx == ctx && r->vm_end >= e0);
		v = r->next;
	}
	return 0;
}

/* userfaultfd_register() / _unregister(): the checks, then set_range(). */
static int uffd_change(struct vmlab_uffd *u, u64 start, u64 len, u64 mode,
		       bool reg)
{
	if (!uffd_ok(u))
		return -VMLAB_EINVAL;
	if (u->released)
		return -VMLAB_EBADF; /* closed */
	if (!initialized(u))
		return -VMLAB_EINVAL;
	if (reg) {
		if (!mode || (mode & ~(VMLAB_UFFDIO_REGISTER_MODE_MISSING |
				       VMLAB_UFFDIO_REGISTER_MODE_WP |
				       VMLAB_UFFDIO_REGISTER_MODE_MINOR)))
			return -VMLAB_EINVAL;
		/* No write-protect or minor faults in the model, as without
		 * CONFIG_HAVE_ARCH_USERFAULTFD_WP / _MINOR. */
		if (mode & ~VMLAB_UFFDIO_REGISTER_MODE_MISSING)
			return -VMLAB_EINVAL;
	}
	int err = validate_range(u, start, len);
	if (err)
		return err;
	struct vmlab_user_mm *mm = u->mm;
	if (!mm)
		return -VMLAB_ENOMEM; /* mmget_not_zero() */
	u64 end = start + len;
	user_enter(mm, reg ? "uffdio_register" : "uffdio_unregister");
	mmap_write_lock(mm);
	vma_start_write_range(mm, start, end);
	struct vmlab_vma *first = find_vma_intersection(mm, start, end);
	err = first ? 0 : -VMLAB_EINVAL;
	for (struct vmlab_vma *c = first; !err && c && c->vm_start < end;
	     c = c->next) {
		assert(!c->uffd_ctx == !(c->vm_flags & VM_UFFD_FLAGS));
		if (!vma_can_userfault(c))
			err = -VMLAB_EINVAL;
		else if (reg && !(c->vm_flags & VMLAB_VM_MAYWRITE))
			err = -VMLAB_EPERM;
		else if (c->uffd_ctx && c->uffd_ctx != u)
			/* one context per VMA; only its own may unregister */
			err = reg ? -VMLAB_EBUSY : -VMLAB_EINVAL;
	}
	if (!err)
		err = set_range(mm, first, start, end,
				reg ? VMLAB_VM_UFFD_MISSING : 0, reg ? u : NULL);
	mmap_write_unlock(mm);
	return err;
}

int vmlab_uffdio_register(struct vmlab_uffd *u, u64 start, u64 len,
			  u64 mode, u64 *ioctls)
{
	int err = uffd_change(u, start, len, mode, true);
	if (!err && ioctls)
		*ioctls = VMLAB_UFFD_API_RANGE_IOCTLS;
	return err;
}

int vmlab_uffdio_unregister(struct vmlab_uffd *u, u64 start, u64 len)
{
	return uffd_change(u, start, len, 0, false);
}

int vmlab_uffdio_wake(struct vmlab_uffd *u, u64 start, u64 len)
{
	if (!uffd_ok(u))
		return -VMLAB_EINVAL;
	if (u->released)
		return -VMLAB_EBADF; /* closed */
	if (!initialized(u))
		return -VMLAB_EINVAL;
	int err = validate_range(u, start, len);
	if (!err)
		wake_userfault(u, start, len);
	return err;
}

/* 6.18 calls it on the new VMA once it is in place: the part left at
 * the old address stays registered. */
void uffd_mremap_prep(struct vmlab_vma *v)
{
	assert(v);
	v->uffd_ctx = NULL;
	v->vm_flags &= ~VM_UFFD_FLAGS;
}

void vmlab_uffd_close(struct vmlab_uffd *u)
{
	if (!uffd_ok(u) || u->released)
		return;
	u->released = true;
	struct vmlab_user_mm *mm = u->mm;
	if (mm) {
		/* userfaultfd_release_all(): every VMA of ours unregistered. */
		user_enter(mm, "userfaultfd_release");
		mmap_write_lock(mm);
		vma_start_write_all(mm);
		for (struct vmlab_vma *v = mm->first; v; v = v->next) {
			if (v->uffd_ctx != u)
				continue;
			int err;
			struct vmlab_vma *r = vma_modify_flags_uffd(
				mm, v, v->vm_start, v->vm_end,
				v->vm_flags & ~VM_UFFD_FLAGS, NULL, &err);
			assert(r); /* the whole VMA: a merge never fails */
			v = r;
		}
		mmap_write_unlock(mm);
	}
	wake_userfault(u, 0, 0);
	for (struct uffd_waiter *e = u->ev_head; e; e = e->next)
		e->wait.owner = 0; /* the forker gives up (released) */
	vmlab_cancel_work(u->svc->m, &u->work);
	u->handler = NULL;
	uffd_put(u);
}

/* userfaultfd_copy() / _zeropage(): checks in Linux's order, the fill,
 * the wake-up unless DONTWAKE. */
static int uffd_fill(struct vmlab_uffd *u, u64 dst, const void *src,
		     u64 len, u64 mode, s64 *out)
{
	s64 dummy;
	if (!out)
		out = &dummy;
	if (!uffd_ok(u))
		return -VMLAB_EINVAL;
	if (u->released)
		return -VMLAB_EBADF; /* closed */
	if (!initialized(u))
		return -VMLAB_EINVAL;
	/* A fork event not read yet; the mutant is the kernel before
	 * df2cc96e7701, whose COPY went on and filled the parent after
	 * copy_page_range() had run: the monitor cannot tell whether the
	 * child has the page. */
	if (u->mmap_changing &&
	    !(u->mm && vmlab_mutant(u->mm->m, VMLAB_MUT_UFFD_COPY_DURING_FORK)))
		return -VMLAB_EAGAIN;
	int err = validate_range(u, dst, len);
	if (err)
		return err;
	u64 modes = src ? VMLAB_UFFDIO_COPY_MODE_DONTWAKE |
				  VMLAB_UFFDIO_COPY_MODE_WP
			: VMLAB_UFFDIO_ZEROPAGE_MODE_DONTWAKE;
	if (mode & ~modes)
		return -VMLAB_EINVAL;
	if (!u->mm)
		return -VMLAB_ESRCH;
	s64 r = mfill_atomic(u->mm, dst, src, len,
			     src && (mode & VMLAB_UFFDIO_COPY_MODE_WP));
	*out = r;
	if (r < 0)
		return (int)r;
	if (src)
		u->st.copies += PAGES((u64)r);
	else
		u->st.zeropages += PAGES((u64)r);
	/* The DONTWAKE bit is the same for both ioctls. */
	if (!(mode & VMLAB_UFFDIO_COPY_MODE_DONTWAKE))
		wake_userfault(u, dst, (u64)r);
	return (u64)r == len ? 0 : -VMLAB_EAGAIN;
}

int vmlab_uffdio_copy(struct vmlab_uffd *u, u64 dst, const void *src,
		      u64 len, u64 mode, s64 *copied)
{
	if (!src)
		return -VMLAB_EFAULT; /* copy_from_user() of the source */
	return uffd_fill(u, dst, src, len, mode, copied);
}

int vmlab_uffdio_zeropage(struct vmlab_uffd *u, u64 start, u64 len,
			  u64 mode, s64 *zeroed)
{
	return uffd_fill(u, start, NULL, len, mode, zeroed);
}

