/* SPDX-License-Identifier: MIT */
/* MMU notifiers: which user-mm operation fires which event (table-driven),
 * start/end pairing and the PTL rule, the upgrade_notify selector, the
 * interval notifier's sequence protocol under explored interleavings, and
 * misuse (double registration, unknown removal, dead mm). */
#include <stdlib.h>

#include "user_helpers.h"

#include "machine/internal.h"
#include "vmlab/mmu_notifier.h"
#include "vmlab/sched.h"

/* ------------------------------------------------ a counting subscriber */

struct cnt {
	struct vmlab_mmu_notifier mn;
	u64 start, end, secondary, release, young;
	u64 secondary_all; /* ... of them for the whole mm (0, -1) */
	u64 ev[VMLAB_MMU_NR_EVENTS];
	int depth, max_depth;
	u64 bad; /* end without start */
};

static struct cnt *C(struct vmlab_mmu_notifier *mn)
{
	return (struct cnt *)mn;
}

static int c_start(struct vmlab_mmu_notifier *mn,
		   const struct vmlab_mmu_notifier_range *r)
{
	struct cnt *c = C(mn);
	assert_true(r->start < r->end);
	c->start++;
	c->ev[r->event]++;
	if (++c->depth > c->max_depth)
		c->max_depth = c->depth;
	return 0;
}

static void c_end(struct vmlab_mmu_notifier *mn,
		  const struct vmlab_mmu_notifier_range *r)
{
	(void)r;
	struct cnt *c = C(mn);
	c->end++;
	if (c->depth-- <= 0)
		c->bad++;
}

static void c_secondary(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm,
			u64 start, u64 end)
{
	(void)mm;
	assert_true(start < end);
	C(mn)->secondary++;
	C(mn)->secondary_all += start == 0 && end == VMLAB_TLB_FLUSH_ALL;
}

static void c_release(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm)
{
	(void)mm;
	C(mn)->release++;
}

static int c_young(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm,
		   u64 s, u64 e)
{
	(void)mm;
	(void)s;
	(void)e;
	C(mn)->young++;
	return 1;
}

static const struct vmlab_mmu_notifier_ops cnt_ops = {
	.invalidate_range_start = c_start,
	.invalidate_range_end = c_end,
	.arch_invalidate_secondary_tlbs = c_secondary,
	.release = c_release,
	.clear_young = c_young,
};

/* Observes every call: starts and ends must never run under the PTL. */
struct watch {
	u64 sleeping_under_ptl;
	u64 secondary_under_ptl;
};

static void watch_fn(void *ctx, int kind,
		     const struct vmlab_mmu_notifier_range *r, bool ptl)
{
	struct watch *w = ctx;
	(void)r;
	if (ptl && kind != 2)
		w->sleeping_under_ptl++;
	if (ptl && kind == 2)
		w->secondary_under_ptl++;
}

/* ------------------------------------------------ the event table */

enum op {
	OP_MUNMAP, OP_MPROTECT, OP_MREMAP, OP_DONTNEED, OP_FREE,
	OP_GUARD_INSTALL, OP_GUARD_REMOVE, OP_FORK, OP_COW, OP_PAGEOUT,
	OP_UPGRADE_NONE, OP_UPGRADE_RANGE_END, OP_UPGRADE_AFN, OP_COLD,
	OP_REFERENCED, OP_EXIT, NR_OPS
};

struct row {
	const char *name;
	int event;       /* expected event of the starts, -1: no start */
	bool secondary;  /* a secondary-TLB call is expected (x86_64) */
	bool arm64_secondary; /* ... on arm64, where it differs */
	bool differs;    /* arm64_secondary applies */
};

#define ROW(n, ev, sec) {.name = (n), .event = (ev), .secondary = (sec)}
#define ROW_ARM64(n, ev, sec, a64)                                             \
	{.name = (n), .event = (ev), .secondary = (sec),                     \
	 .arm64_secondary = (a64), .differs = true}

/* Where Linux calls them (mm/memory.c, mm/mprotect.c, mm/mremap.c,
 * mm/madvise.c, kernel/fork.c, mm/rmap.c, mm/mmap.c). */
static const struct row table[NR_OPS] = {
	[OP_MUNMAP] = ROW("munmap: unmap_vmas", VMLAB_MMU_NOTIFY_UNMAP, true),
	[OP_MPROTECT] = ROW("mprotect: change_pmd_range", VMLAB_MMU_NOTIFY_PROTECTION_VMA, true),
	[OP_MREMAP] = ROW("mremap: move_page_tables", VMLAB_MMU_NOTIFY_UNMAP, true),
	[OP_DONTNEED] = ROW("DONTNEED: zap_page_range_single", VMLAB_MMU_NOTIFY_CLEAR, true),
	[OP_FREE] = ROW("FREE: madvise_free_single_vma", VMLAB_MMU_NOTIFY_CLEAR, true),
	[OP_GUARD_INSTALL] = ROW("GUARD_INSTALL: zap before the markers", VMLAB_MMU_NOTIFY_CLEAR, true),
	[OP_GUARD_REMOVE] = ROW("GUARD_REMOVE: markers only, no translation", -1, false),
	[OP_FORK] = ROW("fork: copy_page_range of a COW mapping", VMLAB_MMU_NOTIFY_PROTECTION_PAGE, true),
	[OP_COW] = ROW("COW break: wp_page_copy", VMLAB_MMU_NOTIFY_CLEAR, true),
	[OP_PAGEOUT] = ROW("PAGEOUT: try_to_unmap_one", VMLAB_MMU_NOTIFY_CLEAR, true),
	[OP_UPGRADE_NONE] = ROW("upgrade, none: wp_page_reuse", -1, false),
	[OP_UPGRADE_RANGE_END] = ROW("upgrade, range_end (posted patch)", VMLAB_MMU_NOTIFY_PROTECTION_UPGRADE, false),
	/* x86: the CPU needs no invalidation, so neither do secondaries;
	 * arm64's flush_tlb_page() tells them (6.6+). */
	[OP_UPGRADE_AFN] = ROW_ARM64("upgrade, access_flags_notify", -1, false, true),
	/* COLD: no range, but its TLB flush (flush_tlb_mm_range) tells
	 * secondary TLBs, as every x86 flush does since 6.6. */
	[OP_COLD] = ROW("COLD: ages CPU PTEs only", -1, true),
	/* ptep_clear_flush_young(): x86 does not flush, arm64 does
	 * (flush_tlb_page_nosync, whose hook reaches secondary TLBs). */
	[OP_REFERENCED] = ROW_ARM64("page_referenced: folio_referenced_one", -1, false, true),
	[OP_EXIT] = ROW("exit: exit_mmap", VMLAB_MMU_NOTIFY_UNMAP, true),
};

/* The architecture's flushes of user mms so far (flush_tlb_mm_range and
 * arm64's flush_tlb_mm/page/range, batched adds excluded). */
static u64 mm_flushes(struct vmlab_machine *m)
{
	return vmlab_counter(m, -1, VMLAB_C_flush_mm_range) +
	       vmlab_counter(m, -1, VMLAB_C_flush_mm_range_full);
}

/* Set up the state op needs, register the counter, run op; *flushes:
 * the architecture's user-mm flushes op made. */
static void run_op(enum op op, struct cnt *c, u64 *flushes)
{
	struct env e = t_env(2);
	struct vmlab_machine *m = e.m;
	struct vmlab_user_mm *child = NULL;
	s64 a = t_map_rw(&e, 4);
	if (op == OP_GUARD_REMOVE)
		assert_int_equal(vmlab_madvise(e.mm, (u64)a, P,
					       VMLAB_MADV_GUARD_INSTALL), 0);
	if (op == OP_COW || op >= OP_UPGRADE_NONE) {
		assert_int_equal(vmlab_fork(e.mm, &child), 0);
		if (op != OP_COW) { /* the child exits: pages exclusive again */
			vmlab_user_mm_destroy(child);
			child = NULL;
		}
	}
	if (op == OP_UPGRADE_NONE)
		vmlab_set_upgrade_notify(m, VMLAB_UPGRADE_NOTIFY_NONE);
	if (op == OP_UPGRADE_RANGE_END)
		vmlab_set_upgrade_notify(m, VMLAB_UPGRADE_NOTIFY_RANGE_END);
	memset(c, 0, sizeof(*c));
	c->mn.ops = &cnt_ops;
	assert_int_equal(vmlab_mmu_notifier_register(m, &c->mn,
						     vmlab_user_hw_mm(e.mm)), 0);
	struct watch w = {0};
	vmlab_mn_set_trace(m, watch_fn, &w);
	u64 f0 = mm_flushes(m);
	switch (op) {
	case OP_MUNMAP:
		assert_int_equal(vmlab_munmap(e.mm, (u64)a, 2 * P), 0);
		break;
	case OP_MPROTECT:
		assert_int_equal(vmlab_mprotect(e.mm, (u64)a, 4 * P,
						VMLAB_PROT_READ), 0);
		break;
	case OP_MREMAP:
		/* Moved (MREMAP_FIXED): growing in place moves nothing. */
		assert_true(vmlab_mremap(e.mm, (u64)a, 4 * P, 4 * P,
					 VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED,
					 (u64)a + 1024 * P) > 0);
		break;
	case OP_DONTNEED:
	case OP_FREE:
	case OP_GUARD_INSTALL:
	case OP_GUARD_REMOVE:
	case OP_PAGEOUT:
	case OP_COLD: {
		static const int adv[] = {
			[OP_DONTNEED] = VMLAB_MADV_DONTNEED,
			[OP_FREE] = VMLAB_MADV_FREE,
			[OP_GUARD_INSTALL] = VMLAB_MADV_GUARD_INSTALL,
			[OP_GUARD_REMOVE] = VMLAB_MADV_GUARD_REMOVE,
			[OP_PAGEOUT] = VMLAB_MADV_PAGEOUT,
			[OP_COLD] = VMLAB_MADV_COLD};
		assert_int_equal(vmlab_madvise(e.mm, (u64)a, 4 * P, adv[op]), 0);
		break;
	}
	case OP_FORK:
		assert_int_equal(vmlab_fork(e.mm, &child), 0);
		break;
	case OP_COW:
	case OP_UPGRADE_NONE:
	case OP_UPGRADE_RANGE_END:
	case OP_UPGRADE_AFN:
		assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 2), VMLAB_OK);
		break;
	case OP_REFERENCED:
		assert_true(vmlab_user_page_referenced(e.mm, (u64)a, (u64)a + 4 * P) >
			    0);
		break;
	case OP_EXIT:
		vmlab_user_mm_destroy(e.mm);
		e.mm = NULL;
		break;
	default:
		fail();
	}
	*flushes = mm_flushes(m) - f0;
	assert_int_equal(w.sleeping_under_ptl, 0);
	assert_int_equal(vmlab_mn_stat(m, VMLAB_MN_ptl_violations), 0);
	assert_int_equal(vmlab_mn_stat(m, VMLAB_MN_nesting_violations), 0);
	if (op == OP_COW)
		assert_true(w.secondary_under_ptl > 0); /* ptep_clear_flush_notify */
	vmlab_mn_set_trace(m, NULL, NULL);
	if (op == OP_EXIT)
		assert_int_equal(c->release, 1);
	else
		assert_int_equal(vmlab_mmu_notifier_unregister(
					 m, &c->mn, vmlab_user_hw_mm(e.mm)),
				 0);
	if (child)
		vmlab_user_mm_destroy(child);
	assert_int_equal(vmlab_nr_reports(m), 0);
	if (e.mm)
		vmlab_user_mm_destroy(e.mm);
	vmlab_machine_destroy(m);
}

static void test_event_table(void **state)
{
	(void)state;
	for (int op = 0; op < NR_OPS; op++) {
		struct cnt c;
		u64 flushes;
		run_op((enum op)op, &c, &flushes);
		const struct row *r = &table[op];
		bool want = t_arm64() && r->differs ? r->arm64_secondary :
						      r->secondary;
		if (c.start == 0 && r->event >= 0)
			fail_msg("%s: no invalidate_range_start", r->name);
		if (r->event < 0 && c.start)
			fail_msg("%s: unexpected start (%llu)", r->name,
				 (unsigned long long)c.start);
		if (r->event >= 0 && c.ev[r->event] != c.start)
			fail_msg("%s: %llu of %llu starts carry %s", r->name,
				 (unsigned long long)c.ev[r->event],
				 (unsigned long long)c.start,
				 vmlab_mmu_notifier_event_name(r->event));
		if (c.start != c.end || c.bad || c.depth)
			fail_msg("%s: start/end unpaired (%llu/%llu)", r->name,
				 (unsigned long long)c.start,
				 (unsigned long long)c.end);
		if (want != (c.secondary > 0))
			fail_msg("%s: secondary-TLB calls %llu", r->name,
				 (unsigned long long)c.secondary);
		/* 6.6+: every flush of the architecture tells the secondary
		 * TLBs, once, and nothing else does; before 6.6 (none,
		 * range_end) the upgrade's arm64 flush_tlb_page() did not. */
		u64 muted = t_arm64() && (op == OP_UPGRADE_NONE ||
					  op == OP_UPGRADE_RANGE_END);
		if (c.secondary != flushes - muted)
			fail_msg("%s: %llu secondary-TLB calls for %llu CPU flushes "
				 "(%llu without the hook)", r->name,
				 (unsigned long long)c.secondary,
				 (unsigned long long)flushes,
				 (unsigned long long)muted);
		assert_true(c.max_depth <= 1); /* never nested */
	}
}

/* Reclaim's batched unmap on x86 (another CPU has the mm: the flush is
 * deferred): arch_tlbbatch_add_pending() tells the secondary TLBs of the
 * whole mm at each page it adds, before the batch flush; the CPU flush of
 * the batch itself (arch_tlbbatch_flush) has no mm and sends nothing. */
static void test_batched_unmap_secondary(void **state)
{
	(void)state;
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.nr_cpus = 2;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	cfg.checker = true;
	struct env e;
	assert_int_equal(vmlab_boot(&cfg, &e.m), 0);
	vmlab_set_quiet(e.m, true);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	assert_int_equal(vmlab_swap_setup(e.m, 64), 0);
	s64 a = t_map_rw(&e, 4);
	assert_int_equal(vmlab_user_switch(e.mm, 1), 0);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 1, (u64)a, &v), VMLAB_OK);
	assert_int_equal(vmlab_user_switch(e.mm, 0), 0);
	assert_true(vmlab_tlbbatch_should_defer(e.m, 0, vmlab_user_hw_mm(e.mm)));
	struct cnt c = {.mn.ops = &cnt_ops};
	assert_int_equal(vmlab_mmu_notifier_register(e.m, &c.mn,
						     vmlab_user_hw_mm(e.mm)), 0);
	u64 f0 = mm_flushes(e.m);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, 4 * P, VMLAB_MADV_PAGEOUT),
			 0);
	assert_int_equal(vmlab_swap_used(e.m), 4);
	assert_int_equal(c.secondary_all, 4); /* one per page added */
	assert_int_equal(c.secondary, 4 + (mm_flushes(e.m) - f0));
	assert_int_equal(vmlab_mmu_notifier_unregister(e.m, &c.mn,
						       vmlab_user_hw_mm(e.mm)),
			 0);
	t_done(&e);
}

/* --------------------------------------------- registration misuse */

static void test_registration_misuse(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_mm *hw = vmlab_user_hw_mm(e.mm);
	struct cnt c = {.mn.ops = &cnt_ops};
	assert_int_equal(vmlab_mmu_notifier_register(e.m, &c.mn, hw), 0);
	assert_int_equal(vmlab_mmu_notifier_register(e.m, &c.mn, hw),
			 -VMLAB_EEXIST);
	struct cnt other = {.mn.ops = &cnt_ops};
	assert_int_equal(vmlab_mmu_notifier_unregister(e.m, &other.mn, hw),
			 -VMLAB_ENOENT);
	assert_int_equal(vmlab_mmu_notifier_register(e.m, &other.mn,
						     vmlab_init_mm(e.m)),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmu_notifier_register(e.m, NULL, hw),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_mmu_notifier_unregister(e.m, &c.mn, hw), 0);
	assert_int_equal(c.release, 1);
	assert_int_equal(vmlab_mmu_notifier_unregister(e.m, &c.mn, hw),
			 -VMLAB_ENOENT);
	/* Aging reaches subscribers; none left: 0. */
	assert_int_equal(vmlab_mmu_notifier_register(e.m, &c.mn, hw), 0);
	assert_int_equal(vmlab_user_clear_young(e.mm, 0, P), 1);
	assert_int_equal(c.young, 1);
	assert_int_equal(vmlab_mmu_notifier_unregister(e.m, &c.mn, hw), 0);
	assert_int_equal(vmlab_user_clear_young(e.mm, 0, P), 0);
	/* A dead mm: registration refuses it. */
	struct vmlab_user_mm *dead;
	assert_int_equal(vmlab_user_mm_create(e.m, &dead), 0);
	struct vmlab_mm *dhw = vmlab_user_hw_mm(dead);
	vmlab_user_mm_destroy(dead);
	assert_int_equal(vmlab_mmu_notifier_register(e.m, &c.mn, dhw),
			 -VMLAB_EINVAL);
	struct vmlab_mmu_interval_notifier ni = {0};
	assert_int_equal(vmlab_mmu_interval_notifier_remove(e.m, &ni),
			 -VMLAB_ENOENT);
	t_done(&e);
}

/* get/put share one subscription per ops and free it with the last put. */
struct gsub {
	struct vmlab_mmu_notifier mn;
	int *freed;
};

static int *g_freed_slot(struct vmlab_mm *mm, void *ctx)
{
	(void)mm;
	return ctx;
}

static struct vmlab_mmu_notifier *g_alloc(struct vmlab_mm *mm, void *ctx)
{
	struct gsub *g = calloc(1, sizeof(*g));
	g->freed = g_freed_slot(mm, ctx);
	return &g->mn;
}

static void g_free(struct vmlab_mmu_notifier *mn)
{
	struct gsub *g = (struct gsub *)mn;
	(*g->freed)++;
	free(g);
}

static const struct vmlab_mmu_notifier_ops get_ops = {
	.alloc_notifier = g_alloc, .free_notifier = g_free};

static void test_get_put(void **state)
{
	(void)state;
	struct env e = t_env(1);
	int freed = 0;
	struct vmlab_mm *hw = vmlab_user_hw_mm(e.mm);
	struct vmlab_mmu_notifier *a = vmlab_mmu_notifier_get(e.m, &get_ops, hw,
							      &freed);
	struct vmlab_mmu_notifier *b = vmlab_mmu_notifier_get(e.m, &get_ops, hw,
							      &freed);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	vmlab_mmu_notifier_put(e.m, a);
	assert_int_equal(freed, 0);
	vmlab_mmu_notifier_put(e.m, b);
	assert_int_equal(freed, 1);
	t_done(&e);
}

/* -------------------------------- interval notifiers under explore */

struct mirror {
	struct vmlab_mmu_interval_notifier ni;
	struct vmlab_user_mm *mm;
	struct vmlab_lock mmap_lock; /* the test's mmap_lock */
	u64 va;
	bool valid;
	u64 pfn;
	bool w;
	bool ignore_retry; /* the negative control */
	u64 violations, retries, invalidations;
};

static bool mirror_invalidate(struct vmlab_mmu_interval_notifier *ni,
			      const struct vmlab_mmu_notifier_range *r,
			      u64 cur_seq)
{
	struct mirror *x = (struct mirror *)ni;
	(void)r;
	vmlab_mmu_interval_set_seq(ni, cur_seq);
	x->valid = false;
	x->invalidations++;
	return true;
}

static const struct vmlab_mmu_interval_notifier_ops mirror_ops = {
	.invalidate = mirror_invalidate};

static bool cpu_pte(struct mirror *x, u64 *pfn, bool *w)
{
	u64 pa;
	vmlab_pgprot_t prot;
	int lvl;
	struct vmlab_machine *m = vmlab_user_machine(x->mm);
	if (vmlab_translate(m, vmlab_user_hw_mm(x->mm), x->va, &pa, &prot, &lvl))
		return false;
	if (!(prot & VMLAB_PAGE_PRESENT))
		return false;
	*pfn = pa >> 12;
	*w = prot & VMLAB_PAGE_RW;
	return true;
}

/* The mirror, when valid, must equal the CPU PTE (else it would keep a
 * translation the CPU no longer has). */
static void mirror_check(struct mirror *x)
{
	u64 pfn;
	bool w;
	if (!x->valid)
		return;
	if (!cpu_pte(x, &pfn, &w) || pfn != x->pfn || (x->w && !w))
		x->violations++;
}

static void reader(struct vmlab_machine *m, int cpu, void *arg)
{
	struct mirror *x = arg;
	for (int i = 0; i < 12; i++) {
		u64 seq = vmlab_mmu_interval_read_begin(m, &x->ni);
		u64 pfn;
		bool w;
		if (!cpu_pte(x, &pfn, &w)) {
			mutex_lock(m, cpu, &x->mmap_lock);
			vmlab_user_handle_device_fault(x->mm, cpu, x->va,
						       VMLAB_READ);
			mutex_unlock(m, cpu, &x->mmap_lock);
			continue;
		}
		vmlab_sched_point(m, "mirror: before the driver lock");
		if (!x->ignore_retry && vmlab_mmu_interval_read_retry(&x->ni, seq)) {
			x->retries++;
			continue;
		}
		x->valid = true;
		x->pfn = pfn;
		x->w = w;
		mirror_check(x);
		vmlab_sched_point(m, "mirror: installed");
		mirror_check(x);
	}
}

static void writer(struct vmlab_machine *m, int cpu, void *arg)
{
	struct mirror *x = arg;
	for (int i = 0; i < 4; i++) {
		mutex_lock(m, cpu, &x->mmap_lock);
		vmlab_madvise(x->mm, x->va, P, VMLAB_MADV_DONTNEED);
		mutex_unlock(m, cpu, &x->mmap_lock);
		mutex_lock(m, cpu, &x->mmap_lock);
		vmlab_user_write8(x->mm, cpu, x->va, 3);
		mutex_unlock(m, cpu, &x->mmap_lock);
		mirror_check(x);
	}
}

static u64 explore_mirror(bool ignore_retry, u64 seeds, u64 *retries)
{
	u64 bad = 0;
	*retries = 0;
	for (u64 seed = 1; seed <= seeds; seed++) {
		struct env e = t_env(2);
		s64 a = t_map_rw(&e, 1);
		struct mirror x = {.mm = e.mm, .va = (u64)a,
				   .ignore_retry = ignore_retry};
		assert_int_equal(vmlab_mmu_interval_notifier_insert(
					 e.m, &x.ni, vmlab_user_hw_mm(e.mm),
					 (u64)a, P, &mirror_ops),
				 0);
		assert_int_equal(vmlab_mmu_interval_notifier_insert(
					 e.m, &x.ni, vmlab_user_hw_mm(e.mm),
					 (u64)a, P, &mirror_ops),
				 -VMLAB_EEXIST);
		struct vmlab_sched_config sc;
		vmlab_sched_config_default(&sc);
		sc.seed = seed;
		sc.policy = seed & 1 ? VMLAB_SCHED_PCT : VMLAB_SCHED_RANDOM;
		struct vmlab_sched *s;
		assert_int_equal(vmlab_sched_create(e.m, &sc, &s), 0);
		assert_int_equal(vmlab_sched_spawn(s, 0, writer, &x, "writer"), 0);
		assert_int_equal(vmlab_sched_spawn(s, 1, reader, &x, "reader"), 0);
		assert_int_equal(vmlab_sched_run(s), 0);
		vmlab_sched_destroy(s);
		bad += x.violations != 0;
		*retries += x.retries;
		assert_true(x.invalidations > 0);
		assert_int_equal(vmlab_mmu_interval_notifier_remove(e.m, &x.ni), 0);
		t_done(&e);
	}
	return bad;
}

static void test_interval_protocol_explored(void **state)
{
	(void)state;
	u64 retries;
	/* The protocol holds on every explored interleaving ... */
	assert_int_equal(explore_mirror(false, 60, &retries), 0);
	assert_true(retries > 0); /* ... and the races were really there: */
	/* a reader that skips read_retry keeps a dead translation. */
	assert_true(explore_mirror(true, 60, &retries) > 0);
}

/* Non-blockable ranges (the OOM reaper's): an interval notifier that
 * cannot take its lock without sleeping refuses, start gives -EAGAIN and
 * the sequence is back to idle; blockable ranges are never refused. */
static bool refuse_nonblock(struct vmlab_mmu_interval_notifier *ni,
			    const struct vmlab_mmu_notifier_range *r, u64 cur)
{
	if (!(r->flags & VMLAB_MMU_NOTIFIER_RANGE_BLOCKABLE))
		return false;
	vmlab_mmu_interval_set_seq(ni, cur);
	return true;
}

static const struct vmlab_mmu_interval_notifier_ops refuse_ops = {
	.invalidate = refuse_nonblock};

static void test_nonblockable(void **state)
{
	(void)state;
	struct env e = t_env(1);
	s64 a = t_map_rw(&e, 1);
	struct vmlab_mm *hw = vmlab_user_hw_mm(e.mm);
	struct vmlab_mmu_interval_notifier ni = {0};
	assert_int_equal(vmlab_mmu_interval_notifier_insert(e.m, &ni, hw, (u64)a,
							    P, &refuse_ops), 0);
	u64 seq = vmlab_mmu_interval_read_begin(e.m, &ni);
	struct vmlab_mmu_notifier_range r;
	vmlab_mmu_notifier_range_init(&r, e.m, VMLAB_MMU_NOTIFY_UNMAP, 0, hw, 0,
				      (u64)a, (u64)a + P);
	assert_int_equal(vmlab_mmu_notifier_invalidate_range_start_nonblock(&r),
			 -VMLAB_EAGAIN);
	assert_false(vmlab_mmu_interval_read_retry(&ni, seq));
	/* The blockable one goes through and moves the sequence. */
	assert_int_equal(vmlab_mmu_notifier_invalidate_range_start(&r), 0);
	vmlab_mmu_notifier_invalidate_range_end(&r);
	assert_true(vmlab_mmu_interval_read_retry(&ni, seq));
	/* A range outside the interval leaves it alone. */
	seq = vmlab_mmu_interval_read_begin(e.m, &ni);
	vmlab_mmu_notifier_range_init(&r, e.m, VMLAB_MMU_NOTIFY_UNMAP, 0, hw, 0,
				      (u64)a + P, (u64)a + 2 * P);
	assert_int_equal(vmlab_mmu_notifier_invalidate_range_start(&r), 0);
	vmlab_mmu_notifier_invalidate_range_end(&r);
	assert_false(vmlab_mmu_interval_read_retry(&ni, seq));
	/* An end without a start warns and is counted. */
	vmlab_mmu_notifier_invalidate_range_end(&r);
	assert_int_equal(vmlab_mn_stat(e.m, VMLAB_MN_nesting_violations), 1);
	assert_int_equal(vmlab_mmu_interval_notifier_remove(e.m, &ni), 0);
	assert_int_equal(vmlab_mmu_interval_notifier_remove(e.m, &ni),
			 -VMLAB_ENOENT);
	t_done(&e);
}

/* --------------------------------------------- the selector itself */

static void test_upgrade_selector(void **state)
{
	(void)state;
	enum vmlab_upgrade_notify u;
	assert_int_equal(vmlab_upgrade_notify_parse("range_end", &u), 0);
	assert_int_equal(u, VMLAB_UPGRADE_NOTIFY_RANGE_END);
	assert_int_equal(vmlab_upgrade_notify_parse("access_flags_notify", &u),
			 0);
	assert_int_equal(u, VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS);
	assert_int_equal(vmlab_upgrade_notify_parse("bogus", &u), -VMLAB_EINVAL);
	assert_int_equal(vmlab_upgrade_notify_parse(NULL, &u), -VMLAB_EINVAL);
	struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, false);
	assert_int_equal(vmlab_get_upgrade_notify(m),
			 VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS); /* Linux 6.6+ */
	vmlab_set_upgrade_notify(m, VMLAB_NR_UPGRADE_NOTIFY); /* warns */
	assert_int_equal(vmlab_nr_warnings(m), 1);
	assert_int_equal(vmlab_get_upgrade_notify(m),
			 VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_table),
		cmocka_unit_test(test_batched_unmap_secondary),
		cmocka_unit_test(test_registration_misuse),
		cmocka_unit_test(test_get_put),
		cmocka_unit_test(test_interval_protocol_explored),
		cmocka_unit_test(test_nonblockable),
		cmocka_unit_test(test_upgrade_selector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
