/* SPDX-License-Identifier: MIT */
/*
 * MMU notifier core (mm/mmu_notifier.c): per-mm subscriptions, dispatch of
 * invalidate_range_start/end, the secondary-TLB hook, release and aging;
 * interval notifiers with the invalidate_seq protocol (odd while an
 * invalidation is in progress); the machine-wide upgrade_notify selector
 * and the counters the notifier-upgrade scenario reads.
 *
 * State: the VMLAB_SVC_NOTIFIER slot (selector, counters, every
 * subscriptions object so machine teardown frees leftovers) and
 * mm->notifier_subscriptions (NULL until the first registration, so an mm
 * without subscribers pays one NULL test per call site).
 */
#include <stdlib.h>

#include "machine/internal.h"
#include "vmlab/mmu_notifier.h"
#include "vmlab/observer.h"

/* Last upgrade per page, direct-mapped by page number (reports only). */
#define NR_UPGRADE_LOG 256

struct upgrade_rec {
	u64 va;
	u64 seq;
	const char *how;
	bool notified;
};

struct mn_subs {
	struct vmlab_mm *mm;
	struct vmlab_mmu_notifier *list;          /* registration order */
	struct vmlab_mmu_interval_notifier *itree; /* sorted by start */
	u64 invalidate_seq;        /* odd: an interval invalidation runs */
	int active_invalidate_ranges;
	struct vmlab_lock inv_wait; /* owner != 0 while invalidating */
	int ptl_depth;
	int open_ranges;           /* starts not yet ended */
	int nonotify;              /* flushes that tell no secondary TLB */
	struct upgrade_rec log[NR_UPGRADE_LOG];
	struct mn_subs *next;
};

struct mn_svc {
	enum vmlab_upgrade_notify upgrade;
	u64 stat[VMLAB_NR_MN_STATS];
	u64 events[VMLAB_MMU_NR_EVENTS];
	vmlab_mn_trace_fn trace;
	void *trace_ctx;
	struct mn_subs *all;
	bool observing;
};

static const struct vmlab_observer mn_observer;

static void mn_svc_destroy(struct vmlab_machine *m)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	assert(s);
	if (s->observing)
		vmlab_observer_unregister(m, &mn_observer, s);
	for (struct mn_subs *x = s->all, *n; x; x = n) {
		n = x->next;
		free(x);
	}
	free(s);
}

static struct mn_svc *mn_svc(struct vmlab_machine *m)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	if (s)
		return s;
	s = host_calloc(m, 1, sizeof(*s));
	if (!s)
		return NULL;
	s->upgrade = VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS; /* Linux 6.6+ */
	/* The architectures' TLB-flush code reaches secondary TLBs through
	 * this observer (mm_flush), as 6.6 placed the hook there. */
	s->observing = vmlab_observer_register(m, &mn_observer, s) == 0;
	if (!s->observing)
		vmlab_warn(m, "mmu_notifier: no observer slot: CPU flushes will "
			      "not reach secondary TLBs");
	svc_set(m, VMLAB_SVC_NOTIFIER, s, mn_svc_destroy);
	return s;
}

static void stat_inc(struct vmlab_machine *m, enum vmlab_mn_stat st)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	if (s)
		s->stat[st]++;
}

static bool mm_alive(struct vmlab_machine *m, const struct vmlab_mm *mm)
{
	if (mm == &m->init_mm)
		return true;
	for (const struct vmlab_mm *x = m->mm_list; x; x = x->next_mm)
		if (x == mm)
			return true;
	return false;
}

static struct mn_subs *subs_get(struct vmlab_machine *m, struct vmlab_mm *mm,
				bool create)
{
	struct mn_subs *x = mm->notifier_subscriptions;
	if (x || !create)
		return x;
	struct mn_svc *s = mn_svc(m);
	if (!s)
		return NULL;
	x = host_calloc(m, 1, sizeof(*x));
	if (!x)
		return NULL;
	x->mm = mm;
	x->invalidate_seq = 2; /* even: idle */
	x->next = s->all;
	s->all = x;
	mm->notifier_subscriptions = x;
	return x;
}

static void trace_call(struct vmlab_machine *m, int kind,
		       const struct vmlab_mmu_notifier_range *r, bool ptl)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	if (s && s->trace)
		s->trace(s->trace_ctx, kind, r, ptl);
}

/* A sleeping callback is about to run: a scheduling point, and never
 * under the PTL (the warning names the call). */
static void may_sleep(struct vmlab_machine *m, struct mn_subs *x, int cpu,
		      const char *what)
{
	assert(x && what);
	if (x->ptl_depth > 0) {
		stat_inc(m, VMLAB_MN_ptl_violations);
		vmlab_warn(m, "%s: sleeping notifier called with the page-table "
			      "lock held", what);
	}
	sched_point(m, cpu, what);
}

/* ------------------------------------------------------ registration */

int vmlab_mmu_notifier_register(struct vmlab_machine *m,
				struct vmlab_mmu_notifier *sub,
				struct vmlab_mm *mm)
{
	if (!m || !sub || !mm || !sub->ops)
		return -VMLAB_EINVAL;
	if (sub->registered)
		return -VMLAB_EEXIST;
	if (!mm_alive(m, mm) || mm->is_init)
		return -VMLAB_EINVAL;
	struct mn_subs *x = subs_get(m, mm, true);
	if (!x)
		return -VMLAB_ENOMEM;
	/* Appended: callbacks run in registration order (deterministic). */
	struct vmlab_mmu_notifier **pp = &x->list;
	while (*pp)
		pp = &(*pp)->next;
	sub->next = NULL;
	sub->mm = mm;
	sub->users = 1;
	sub->registered = true;
	*pp = sub;
	return 0;
}

static bool unlink_sub(struct mn_subs *x, struct vmlab_mmu_notifier *sub)
{
	for (struct vmlab_mmu_notifier **pp = &x->list; *pp; pp = &(*pp)->next)
		if (*pp == sub) {
			*pp = sub->next;
			sub->next = NULL;
			return true;
		}
	return false;
}

int vmlab_mmu_notifier_unregister(struct vmlab_machine *m,
				  struct vmlab_mmu_notifier *sub,
				  struct vmlab_mm *mm)
{
	if (!m || !sub || !mm)
		return -VMLAB_EINVAL;
	if (!sub->registered || sub->mm != mm)
		return -VMLAB_ENOENT;
	struct mn_subs *x = mm->notifier_subscriptions;
	if (!x || !unlink_sub(x, sub))
		return -VMLAB_ENOENT;
	sub->registered = false;
	/* mmu_notifier_unregister(): ->release unless exit_mmap ran it. */
	if (sub->ops->release && mm_alive(m, mm))
		sub->ops->release(sub, mm);
	sub->users = 0;
	if (sub->ops->free_notifier)
		sub->ops->free_notifier(sub);
	return 0;
}

struct vmlab_mmu_notifier *
vmlab_mmu_notifier_get(struct vmlab_machine *m,
		       const struct vmlab_mmu_notifier_ops *ops,
		       struct vmlab_mm *mm, void *ctx)
{
	if (!m || !ops || !mm || !ops->alloc_notifier)
		return NULL;
	struct mn_subs *x = mm->notifier_subscriptions;
	for (struct vmlab_mmu_notifier *s = x ? x->list : NULL; s; s = s->next)
		if (s->ops == ops) {
			assert(s->users > 0);
			s->users++;
			return s;
		}
	struct vmlab_mmu_notifier *sub = ops->alloc_notifier(mm, ctx);
	if (!sub)
		return NULL;
	sub->ops = ops;
	sub->registered = false;
	if (vmlab_mmu_notifier_register(m, sub, mm)) {
		if (ops->free_notifier)
			ops->free_notifier(sub);
		return NULL;
	}
	return sub;
}

void vmlab_mmu_notifier_put(struct vmlab_machine *m,
			    struct vmlab_mmu_notifier *sub)
{
	if (!m || !sub || !sub->registered || sub->users <= 0) {
		if (m)
			vmlab_warn(m, "mmu_notifier_put: not a live subscription");
		return;
	}
	if (--sub->users > 0)
		return;
	struct vmlab_mm *mm = sub->mm;
	sub->users = 1; /* unregister drops the last one */
	int err = vmlab_mmu_notifier_unregister(m, sub, mm);
	assert(err == 0);
	(void)err;
}

void vmlab_mmu_notifier_subscriptions_destroy(struct vmlab_machine *m,
					      struct vmlab_mm *mm)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	(void)m;
	/* Subscribers still registered (a device not yet unbound) keep their
	 * object; as with mmgrab() they may still name the dead mm. */
	for (struct vmlab_mmu_notifier *s = x->list, *n; s; s = n) {
		n = s->next;
		s->registered = false;
		s->next = NULL;
	}
	for (struct vmlab_mmu_interval_notifier *i = x->itree, *n; i; i = n) {
		n = i->next;
		i->inserted = false;
		i->next = NULL;
	}
	x->list = NULL;
	x->itree = NULL;
	x->mm = NULL;
	mm->notifier_subscriptions = NULL;
	/* The object stays on the service list until machine teardown: a
	 * device may still hold the (dead) mm pointer for its reports. */
}

/* ------------------------------------------------ interval notifiers */

int vmlab_mmu_interval_notifier_insert(struct vmlab_machine *m,
				       struct vmlab_mmu_interval_notifier *ni,
				       struct vmlab_mm *mm, u64 start,
				       u64 length,
				       const struct vmlab_mmu_interval_notifier_ops *ops)
{
	if (!m || !ni || !mm || !ops || !ops->invalidate || !length ||
	    start + length < start || mm->is_init || !mm_alive(m, mm))
		return -VMLAB_EINVAL;
	if (ni->inserted)
		return -VMLAB_EEXIST;
	struct mn_subs *x = subs_get(m, mm, true);
	if (!x)
		return -VMLAB_ENOMEM;
	ni->ops = ops;
	ni->mm = mm;
	ni->start = start;
	ni->last = start + length - 1;
	/* Inserted during an invalidation: readers wait for its end, as
	 * mmu_interval_notifier_insert() defers the insertion. */
	ni->invalidate_seq = x->active_invalidate_ranges ?
				     x->invalidate_seq : x->invalidate_seq - 1;
	struct vmlab_mmu_interval_notifier **pp = &x->itree;
	while (*pp && (*pp)->start <= start)
		pp = &(*pp)->next;
	ni->next = *pp;
	*pp = ni;
	ni->inserted = true;
	return 0;
}

static bool itree_invalidating(const struct mn_subs *x,
			       const struct vmlab_mmu_interval_notifier *ni)
{
	return (x->invalidate_seq & 1) && ni->invalidate_seq == x->invalidate_seq;
}

/* Sleep until the invalidation ni is part of has ended. */
static void itree_wait(struct vmlab_machine *m, struct mn_subs *x,
		       struct vmlab_mmu_interval_notifier *ni, const char *why)
{
	u64 seq = x->invalidate_seq;
	while (itree_invalidating(x, ni) && x->invalidate_seq == seq) {
		if (!m->sched_hook) {
			/* Single-threaded: nobody can end it while we wait. */
			vmlab_warn(m, "%s: waits for an invalidation that "
				      "cannot end (called from its callback?)",
				   why);
			return;
		}
		m->sched_hook(m->sched_ctx, -1, why, &x->inv_wait);
	}
}

int vmlab_mmu_interval_notifier_remove(struct vmlab_machine *m,
				       struct vmlab_mmu_interval_notifier *ni)
{
	if (!m || !ni)
		return -VMLAB_EINVAL;
	struct mn_subs *x = ni->mm ? ni->mm->notifier_subscriptions : NULL;
	if (!ni->inserted || !x)
		return -VMLAB_ENOENT;
	struct vmlab_mmu_interval_notifier **pp = &x->itree;
	while (*pp && *pp != ni)
		pp = &(*pp)->next;
	if (!*pp)
		return -VMLAB_ENOENT;
	/* mmu_interval_notifier_remove() waits out a running invalidate. */
	itree_wait(m, x, ni, "mmu_interval_notifier_remove");
	*pp = ni->next;
	ni->next = NULL;
	ni->inserted = false;
	return 0;
}

u64 vmlab_mmu_interval_read_begin(struct vmlab_machine *m,
				  struct vmlab_mmu_interval_notifier *ni)
{
	assert(m && ni);
	struct mn_subs *x = ni->mm ? ni->mm->notifier_subscriptions : NULL;
	if (!ni->inserted || !x) {
		vmlab_warn(m, "mmu_interval_read_begin: notifier not inserted");
		return 0;
	}
	u64 seq = ni->invalidate_seq;
	if (itree_invalidating(x, ni))
		itree_wait(m, x, ni, "mmu_interval_read_begin");
	assert(!itree_invalidating(x, ni) || !m->sched_hook);
	return seq;
}

bool vmlab_mmu_interval_read_retry(const struct vmlab_mmu_interval_notifier *ni,
				   u64 seq)
{
	assert(ni);
	return ni->invalidate_seq != seq;
}

bool vmlab_mmu_interval_check_retry(const struct vmlab_mmu_interval_notifier *ni,
				    u64 seq)
{
	return vmlab_mmu_interval_read_retry(ni, seq);
}

void vmlab_mmu_interval_set_seq(struct vmlab_mmu_interval_notifier *ni,
				u64 cur_seq)
{
	assert(ni && (cur_seq & 1)); /* only inside an invalidation */
	ni->invalidate_seq = cur_seq;
}

static int itree_inv_start(struct vmlab_machine *m, struct mn_subs *x,
			   const struct vmlab_mmu_notifier_range *r)
{
	bool any = false;
	for (struct vmlab_mmu_interval_notifier *ni = x->itree; ni; ni = ni->next)
		if (ni->start < r->end && ni->last >= r->start)
			any = true;
	x->active_invalidate_ranges++;
	if (!any)
		return 0;
	if (!(x->invalidate_seq & 1)) {
		x->invalidate_seq |= 1;
		x->inv_wait.owner = m->sched_task ? m->sched_task : 1;
		x->inv_wait.name = "mmu interval invalidation";
	}
	u64 cur = x->invalidate_seq;
	for (struct vmlab_mmu_interval_notifier *ni = x->itree, *n; ni; ni = n) {
		n = ni->next;
		if (!(ni->start < r->end && ni->last >= r->start))
			continue;
		if (r->flags & VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE)
			may_sleep(m, x, r->cpu, "mmu_interval invalidate");
		stat_inc(m, VMLAB_MN_interval_invalidate);
		if (!ni->ops->invalidate(ni, r, cur)) {
			assert(!(r->flags & VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE));
			return -VMLAB_EAGAIN;
		}
	}
	return 0;
}

static void itree_inv_end(struct mn_subs *x)
{
	assert(x->active_invalidate_ranges > 0);
	if (--x->active_invalidate_ranges)
		return;
	if (x->invalidate_seq & 1) {
		x->invalidate_seq++; /* even again: readers may proceed */
		x->inv_wait.owner = 0;
	}
}

/* ---------------------------------------------------------- dispatch */

void vmlab_mmu_notifier_range_init(struct vmlab_mmu_notifier_range *r,
				   struct vmlab_machine *m,
				   enum vmlab_mmu_notifier_event event,
				   unsigned int flags, struct vmlab_mm *mm,
				   int cpu, u64 start, u64 end)
{
	assert(r && (unsigned)event < VMLAB_MMU_NR_EVENTS);
	assert(start <= end);
	*r = (struct vmlab_mmu_notifier_range){
		.m = m, .mm = mm, .start = start, .end = end, .event = event,
		.flags = flags, .cpu = cpu};
}

int vmlab_mmu_notifier_invalidate_range_start(
	struct vmlab_mmu_notifier_range *r)
{
	assert(r && r->m);
	r->flags |= VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE;
	return vmlab_mmu_notifier_invalidate_range_start_nonblock(r);
}

int vmlab_mmu_notifier_invalidate_range_start_nonblock(
	const struct vmlab_mmu_notifier_range *r)
{
	assert(r && r->m);
	struct mn_subs *x = r->mm ? r->mm->notifier_subscriptions : NULL;
	if (!x)
		return 0;
	struct vmlab_machine *m = r->m;
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	assert(s);
	s->stat[VMLAB_MN_range_start]++;
	s->events[r->event]++;
	trace_call(m, 0, r, x->ptl_depth > 0);
	x->open_ranges++;
	int ret = 0;
	if (x->itree)
		ret = itree_inv_start(m, x, r);
	else
		x->active_invalidate_ranges++;
	for (struct vmlab_mmu_notifier *sub = x->list; sub && !ret;
	     sub = sub->next) {
		if (!sub->ops->invalidate_range_start)
			continue;
		if (r->flags & VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE)
			may_sleep(m, x, r->cpu, "mmu_notifier invalidate_range_start");
		s->stat[VMLAB_MN_callbacks]++;
		int e = sub->ops->invalidate_range_start(sub, r);
		if (e) {
			/* Only non-blockable ranges may be refused. */
			if (r->flags & VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE)
				vmlab_warn(m, "invalidate_range_start refused a "
					      "blockable range");
			/* Those that accepted get their end now. */
			for (struct vmlab_mmu_notifier *p = x->list; p != sub;
			     p = p->next)
				if (p->ops->invalidate_range_end)
					p->ops->invalidate_range_end(p, r);
			ret = e;
		}
	}
	if (ret) {
		itree_inv_end(x);
		x->open_ranges--;
	}
	return ret;
}

void vmlab_mmu_notifier_invalidate_range_end(
	const struct vmlab_mmu_notifier_range *r)
{
	assert(r && r->m);
	struct mn_subs *x = r->mm ? r->mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	struct vmlab_machine *m = r->m;
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	s->stat[VMLAB_MN_range_end]++;
	trace_call(m, 1, r, x->ptl_depth > 0);
	if (x->open_ranges <= 0) {
		s->stat[VMLAB_MN_nesting_violations]++;
		vmlab_warn(m, "invalidate_range_end without a start");
		return;
	}
	x->open_ranges--;
	/* The interval tree first: readers see the new sequence before the
	 * subscribers' end callbacks can let their faults proceed. */
	itree_inv_end(x);
	for (struct vmlab_mmu_notifier *sub = x->list; sub; sub = sub->next) {
		if (!sub->ops->invalidate_range_end)
			continue;
		if (r->flags & VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE)
			may_sleep(m, x, r->cpu, "mmu_notifier invalidate_range_end");
		s->stat[VMLAB_MN_callbacks]++;
		sub->ops->invalidate_range_end(sub, r);
	}
	/* The posted patch ran on a kernel whose range_end still called
	 * ->invalidate_range() of subscribers (the SMMU's) that have no
	 * start/end: that is how its upgrade event reached the SMMU TLB. */
	if (r->event != VMLAB_MMU_NOTIFY_PROTECTION_UPGRADE)
		return;
	for (struct vmlab_mmu_notifier *sub = x->list; sub; sub = sub->next)
		if (sub->ops->arch_invalidate_secondary_tlbs &&
		    !sub->ops->invalidate_range_end) {
			s->stat[VMLAB_MN_callbacks]++;
			sub->ops->arch_invalidate_secondary_tlbs(sub, r->mm,
								 r->start, r->end);
		}
}

void vmlab_mmu_notifier_arch_invalidate_secondary_tlbs(struct vmlab_machine *m,
							struct vmlab_mm *mm,
							u64 start, u64 end)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	s->stat[VMLAB_MN_secondary_tlbs]++;
	struct vmlab_mmu_notifier_range r;
	vmlab_mmu_notifier_range_init(&r, m, VMLAB_MMU_NOTIFY_CLEAR, 0, mm, -1,
				      start, end < start ? start : end);
	trace_call(m, 2, &r, x->ptl_depth > 0);
	/* No scheduling point: this may run under the PTL. */
	for (struct vmlab_mmu_notifier *sub = x->list; sub; sub = sub->next)
		if (sub->ops->arch_invalidate_secondary_tlbs) {
			s->stat[VMLAB_MN_callbacks]++;
			sub->ops->arch_invalidate_secondary_tlbs(sub, mm, start,
								 end);
		}
}

/* The arch layer flushed [start, end) of mm (x86 flush_tlb_mm_range(),
 * arch_tlbbatch_add_pending(); arm64 flush_tlb_mm(), flush_tlb_page(),
 * __flush_tlb_range()): mmu_notifier_arch_invalidate_secondary_tlbs()
 * there, possibly under the PTL, unless the caller's flush is one Linux
 * makes without it (vmlab_mmu_notifier_flush_nonotify). */
static void mn_obs_mm_flush(void *ctx, struct vmlab_machine *m, int cpu,
			    struct vmlab_mm *mm, u64 start, u64 end)
{
	struct mn_subs *x = mm->notifier_subscriptions;
	(void)ctx;
	(void)cpu;
	assert(ctx == svc_get(m, VMLAB_SVC_NOTIFIER));
	if (!x || x->nonotify > 0)
		return;
	vmlab_mmu_notifier_arch_invalidate_secondary_tlbs(m, mm, start, end);
}

static const struct vmlab_observer mn_observer = {
	.name = "mmu-notifier",
	.mm_flush = mn_obs_mm_flush,
};

void vmlab_mmu_notifier_flush_nonotify(struct vmlab_mm *mm, bool on)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	x->nonotify += on ? 1 : -1;
	assert(x->nonotify >= 0);
}

void vmlab_mmu_notifier_release(struct vmlab_machine *m, struct vmlab_mm *mm)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	s->stat[VMLAB_MN_release]++;
	struct vmlab_mmu_notifier_range r;
	vmlab_mmu_notifier_range_init(&r, m, VMLAB_MMU_NOTIFY_RELEASE, 0, mm, -1,
				      0, ~0ULL);
	trace_call(m, 3, &r, x->ptl_depth > 0);
	/* __mmu_notifier_release(): each subscriber once; they stay on the
	 * list until they unregister (mmu_notifier_put from ->release). */
	for (struct vmlab_mmu_notifier *sub = x->list, *n; sub; sub = n) {
		n = sub->next;
		if (!sub->ops->release)
			continue;
		may_sleep(m, x, -1, "mmu_notifier release");
		s->stat[VMLAB_MN_callbacks]++;
		sub->ops->release(sub, mm);
	}
}

typedef int (*young_fn)(struct vmlab_mmu_notifier *, struct vmlab_mm *, u64,
			u64);

static int young_call(struct vmlab_machine *m, struct vmlab_mm *mm, u64 start,
		      u64 end, size_t off)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return 0;
	stat_inc(m, VMLAB_MN_young);
	int young = 0;
	for (struct vmlab_mmu_notifier *sub = x->list; sub; sub = sub->next) {
		young_fn fn;
		memcpy(&fn, (const char *)sub->ops + off, sizeof(fn));
		if (fn)
			young |= fn(sub, mm, start, end);
	}
	return young;
}

int vmlab_mmu_notifier_clear_flush_young(struct vmlab_machine *m,
					 struct vmlab_mm *mm, u64 start,
					 u64 end)
{
	return young_call(m, mm, start, end,
			  offsetof(struct vmlab_mmu_notifier_ops,
				   clear_flush_young));
}

int vmlab_mmu_notifier_clear_young(struct vmlab_machine *m,
				   struct vmlab_mm *mm, u64 start, u64 end)
{
	return young_call(m, mm, start, end,
			  offsetof(struct vmlab_mmu_notifier_ops, clear_young));
}

int vmlab_mmu_notifier_test_young(struct vmlab_machine *m,
				  struct vmlab_mm *mm, u64 address)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return 0;
	stat_inc(m, VMLAB_MN_young);
	for (struct vmlab_mmu_notifier *sub = x->list; sub; sub = sub->next)
		if (sub->ops->test_young && sub->ops->test_young(sub, mm, address))
			return 1;
	return 0;
}

void vmlab_mmu_notifier_ptl(struct vmlab_mm *mm, bool lock)
{
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	x->ptl_depth += lock ? 1 : -1;
	assert(x->ptl_depth >= 0);
}

/* ------------------------------------------------ upgrade selector */

static const char *const upgrade_names[VMLAB_NR_UPGRADE_NOTIFY] = {
	"none", "range_end", "access_flags_notify"};

const char *vmlab_upgrade_notify_name(enum vmlab_upgrade_notify u)
{
	return (unsigned)u < VMLAB_NR_UPGRADE_NOTIFY ? upgrade_names[u] : "?";
}

int vmlab_upgrade_notify_parse(const char *str, enum vmlab_upgrade_notify *out)
{
	for (int i = 0; str && i < VMLAB_NR_UPGRADE_NOTIFY; i++)
		if (!strcmp(str, upgrade_names[i])) {
			*out = (enum vmlab_upgrade_notify)i;
			return 0;
		}
	return -VMLAB_EINVAL;
}

void vmlab_set_upgrade_notify(struct vmlab_machine *m,
			      enum vmlab_upgrade_notify u)
{
	struct mn_svc *s = mn_svc(m);
	if ((unsigned)u >= VMLAB_NR_UPGRADE_NOTIFY) {
		vmlab_warn(m, "upgrade_notify: unknown mode %d", (int)u);
		return;
	}
	if (s)
		s->upgrade = u;
}

enum vmlab_upgrade_notify vmlab_get_upgrade_notify(struct vmlab_machine *m)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	return s ? s->upgrade : VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS;
}

void vmlab_mmu_notifier_note_upgrade(struct vmlab_machine *m,
				     struct vmlab_mm *mm, u64 va,
				     const char *how, bool notified)
{
	stat_inc(m, VMLAB_MN_upgrades);
	if (notified)
		stat_inc(m, VMLAB_MN_upgrade_notifies);
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return;
	va &= VMLAB_PAGE_MASK;
	x->log[(va >> VMLAB_PAGE_SHIFT) % NR_UPGRADE_LOG] =
		(struct upgrade_rec){va, vmlab_event_count(m), how, notified};
}

bool vmlab_mmu_notifier_last_upgrade(struct vmlab_machine *m,
				     struct vmlab_mm *mm, u64 va,
				     const char **how, bool *notified,
				     u64 *seq)
{
	(void)m;
	struct mn_subs *x = mm ? mm->notifier_subscriptions : NULL;
	if (!x)
		return false;
	va &= VMLAB_PAGE_MASK;
	const struct upgrade_rec *u =
		&x->log[(va >> VMLAB_PAGE_SHIFT) % NR_UPGRADE_LOG];
	if (!u->how || u->va != va)
		return false; /* none, or pushed out by another page's */
	*how = u->how;
	*notified = u->notified;
	*seq = u->seq;
	return true;
}

/* ------------------------------------------------------- statistics */

static const char *const stat_names[] = {
#define VMLAB_X_MN_NAME(n) #n,
	VMLAB_MN_STATS(VMLAB_X_MN_NAME)
#undef VMLAB_X_MN_NAME
};

static const char *const event_names[VMLAB_MMU_NR_EVENTS] = {
	"UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE", "SOFT_DIRTY",
	"RELEASE", "MIGRATE", "EXCLUSIVE", "PROTECTION_UPGRADE"};

const char *vmlab_mmu_notifier_event_name(enum vmlab_mmu_notifier_event e)
{
	return (unsigned)e < VMLAB_MMU_NR_EVENTS ? event_names[e] : "?";
}

const char *vmlab_mn_stat_name(enum vmlab_mn_stat st)
{
	return (unsigned)st < VMLAB_NR_MN_STATS ? stat_names[st] : "?";
}

u64 vmlab_mn_stat(struct vmlab_machine *m, enum vmlab_mn_stat st)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	return s && (unsigned)st < VMLAB_NR_MN_STATS ? s->stat[st] : 0;
}

u64 vmlab_mn_event_count(struct vmlab_machine *m,
			 enum vmlab_mmu_notifier_event e)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	return s && (unsigned)e < VMLAB_MMU_NR_EVENTS ? s->events[e] : 0;
}

void vmlab_mn_stats_reset(struct vmlab_machine *m)
{
	struct mn_svc *s = svc_get(m, VMLAB_SVC_NOTIFIER);
	if (!s)
		return;
	memset(s->stat, 0, sizeof(s->stat));
	memset(s->events, 0, sizeof(s->events));
}

void vmlab_mn_set_trace(struct vmlab_machine *m, vmlab_mn_trace_fn fn,
			void *ctx)
{
	struct mn_svc *s = mn_svc(m);
	if (!s)
		return;
	s->trace = fn;
	s->trace_ctx = ctx;
}
