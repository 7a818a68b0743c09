/* SPDX-License-Identifier: MIT */
/*
 * vmalloc's TLB side: the lazy purge threshold and its single flush, no
 * reuse of an address before the flush that covers its previous life,
 * the checker's view of the lazy window, vm_unmap_aliases(),
 * VM_FLUSH_RESET_PERMS, atomic context, and the seed's claim.
 */
#include "test_vmalloc.h"

/* Kernel TLB flush operations: range flushes (above the ceiling one full
 * flush, on arm64 one TLBI VMALLE1IS) and flush_tlb_all()s. */
static u64 nr_flushes(struct vmlab_machine *m)
{
	return vmlab_counter(m, -1, VMLAB_C_flush_kernel_range) +
	       vmlab_counter(m, -1, VMLAB_C_flush_kernel_range_full) +
	       vmlab_counter(m, -1, VMLAB_C_flush_all);
}

static struct vmlab_vmalloc_stats stats(struct vmlab_machine *m)
{
	struct vmlab_vmalloc_stats s;
	vmlab_vmalloc_stats(m, &s);
	return s;
}

/* ---- the purge threshold ------------------------------------------------- */

/*
 * Areas of 63 pages + guard: the lazy count moves in steps of 64 and
 * lands exactly on lazy_max_pages() one free before it passes it; the
 * worker must be queued by the free that passes it (">", not ">="), and
 * its purge is one flush.
 */
static void lazy_threshold(int cpus, u64 expect_max)
{
	struct vmlab_machine *m = vm_machine(cpus, 512 * VMLAB_MiB);
	assert_int_equal(vmlab_lazy_max_pages(m), expect_max);
	u64 k = expect_max / 64 + 1;
	u64 *a = calloc(k, sizeof(u64));
	assert_non_null(a);
	for (u64 i = 0; i < k; i++) {
		a[i] = vmlab_vmalloc(m, 0, 63 * P);
		assert_true(a[i] != 0);
	}
	for (u64 i = 0; i < k; i++) {
		vmlab_vfree(m, 0, a[i]);
		u64 lazy = 64 * (i + 1);
		assert_int_equal(vmlab_vmap_lazy_nr(m), lazy);
		assert_int_equal(vmlab_nr_pending_work(m), lazy > expect_max);
	}
	vmlab_counters_reset(m);
	assert_int_equal(vmlab_run_work(m, cpus - 1, 100), 1);
	assert_int_equal(nr_flushes(m), 1);
	struct vmlab_vmalloc_stats s = stats(m);
	assert_int_equal(s.lazy_pages, 0);
	assert_int_equal(s.nr_purges, 1);
	assert_int_equal(s.nr_purged_areas, k);
	assert_int_equal(s.nr_drain_runs, 1);
	free(a);
	vmlab_machine_destroy(m);
}

static void test_lazy_threshold_1cpu(void **state)
{
	(void)state;
	lazy_threshold(1, 8192);
}

static void test_lazy_threshold_2cpus(void **state)
{
	(void)state;
	lazy_threshold(2, 16384);
}

static void test_lazy_threshold_4cpus(void **state)
{
	(void)state;
	lazy_threshold(4, 24576);
}

static void test_lazy_threshold_64cpus(void **state)
{
	(void)state;
	lazy_threshold(64, 57344); /* fls(64) = 7 */
}

static void test_lazy_threshold_256cpus(void **state)
{
	(void)state;
	lazy_threshold(256, 73728); /* fls(256) = 9 */
}

/* Scattered areas, freed in random order: still one flush per purge. */
static void test_one_flush_per_purge(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct vmlab_machine *m = vm_machine(4, 256 * VMLAB_MiB);
	u64 *a = calloc(N, sizeof(u64));
	for (int i = 0; i < N; i++)
		a[i] = vmlab_vmalloc(m, 0, (1 + vmlab_rand_below(m, 16)) * P);
	for (int i = N - 1; i > 0; i--) {
		int j = (int)vmlab_rand_below(m, (u64)i + 1);
		u64 t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	u64 purges = 0;
	for (int i = 0; i < N; i++) {
		vmlab_vfree(m, 0, a[i]);
		if (vmlab_nr_pending_work(m)) {
			u64 f0 = nr_flushes(m);
			vmlab_run_work(m, 1, 10);
			assert_int_equal(nr_flushes(m), f0 + 1);
			purges++;
		}
	}
	assert_true(purges >= 1);
	assert_int_equal(stats(m).nr_purges, purges);
	free(a);
	vmlab_machine_destroy(m);
}

/* ---- no reuse before the flush ------------------------------------------- */

#define WIN_PAGES 64
#define WIN_CPUS 4

/* Per page of the window: the CPUs that have not flushed it since it was
 * freed (a stale translation could still live there). */
struct reuse_watch {
	u64 base;
	u8 pending[WIN_PAGES];
};

/* Invalidations as the machine's observers see them: x86 one per CPU,
 * arm64 one broadcast TLBI for every CPU. */
static void reuse_inval(void *ctx, struct vmlab_machine *m,
			const struct vmlab_tlb_inval *inv)
{
	(void)m;
	struct reuse_watch *w = ctx;
	u8 cpus = inv->broadcast ? (u8)((1u << WIN_CPUS) - 1)
				 : (u8)(1u << inv->cpu);
	if (inv->kind == VMLAB_INV_ALL) {
		for (int p = 0; p < WIN_PAGES; p++)
			w->pending[p] &= (u8)~cpus;
	} else if (inv->kind == VMLAB_INV_VA && inv->va >= w->base &&
		   inv->va < w->base + WIN_PAGES * P) {
		w->pending[(inv->va - w->base) / P] &= (u8)~cpus;
	}
}

static void test_no_reuse_before_flush(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(WIN_CPUS, 64 * VMLAB_MiB);
	struct reuse_watch w = {.base = T_MODULES_VADDR};
	u64 live[WIN_PAGES], size[WIN_PAGES];
	int n = 0, reused = 0;
	static const struct vmlab_observer obs = {.name = "reuse",
						  .tlb_inval = reuse_inval};
	assert_int_equal(vmlab_observer_register(m, &obs, &w), 0);
	for (int step = 0; step < 4000; step++) {
		if (n && (n == WIN_PAGES || vmlab_rand_below(m, 2))) {
			int i = (int)vmlab_rand_below(m, (u64)n);
			vmlab_vfree(m, 0, live[i]);
			for (u64 p = 0; p < size[i] / P + 1; p++) /* + guard */
				w.pending[(live[i] - w.base) / P + p] =
				    (1u << WIN_CPUS) - 1;
			live[i] = live[--n];
			size[i] = size[n];
			continue;
		}
		u64 sz = (1 + vmlab_rand_below(m, 3)) * P;
		u64 a = vmlab_vmalloc_node_range(
		    m, (int)vmlab_rand_below(m, WIN_CPUS), sz, 1, w.base,
		    w.base + WIN_PAGES * P, VMLAB_PAGE_KERNEL, 0, "window");
		if (!a)
			continue; /* full even after a purge */
		for (u64 p = 0; p < sz / P + 1; p++) {
			u8 *pend = &w.pending[(a - w.base) / P + p];
			assert_int_equal(*pend, 0);
			reused += *pend == 0;
		}
		/* Use it, so stale entries exist when it is freed. */
		write_byte(m, a, 1);
		live[n] = a;
		size[n++] = sz;
	}
	vmlab_observer_unregister(m, &obs, &w);
	assert_true(reused > 1000);
	assert_true(stats(m).nr_purges > 10);
	vmlab_machine_destroy(m);
}

/* ---- the checker and the lazy window ------------------------------------- */

static void test_lazy_window_checker(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 a = vmlab_vmalloc(m, 0, P);
	u64 pfn = vmlab_find_vm_area(m, a)->pages[0];
	t_write64(m, 0, a, 0x1111);
	assert_int_equal(t_read64(m, 1, a), 0x1111);
	vmlab_vfree(m, 0, a);
	/* The frame is free, CPU 1 still translates to it: real kernel
	 * behaviour until the purge, and harmless while nobody has it. */
	assert_int_equal(t_read64(m, 1, a), 0x1111);
	assert_int_equal(vmlab_nr_reports(m), 0);
	/* Someone gets the frame: now the stale entry reads their data. */
	u64 again = t_page(m);
	assert_int_equal(again, pfn);
	t_write64(m, 0, vmlab_page_address(m, again), 0x2222);
	assert_int_equal(t_read64(m, 1, a), 0x2222);
	assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS), 1);
	/* The purge's flush closes the window: the access faults. */
	vmlab_purge_vmap_area_lazy(m, 0);
	u64 v;
	assert_int_equal(vmlab_read(m, 1, a, &v, 8, NULL), -VMLAB_EFAULT);
	assert_int_equal(vmlab_nr_reports(m), 1);
	vmlab_machine_destroy(m);
}

/* vm_map_ram() users free their pages right after vm_unmap_ram(). */
static void test_vm_unmap_ram_window_checker(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 pf = t_page(m);
	u64 v = vmlab_vm_map_ram(m, 0, &pf, 1);
	t_write64(m, 0, v, 7);
	assert_int_equal(t_read64(m, 1, v), 7);
	vmlab_vm_unmap_ram(m, 0, v, 1);
	vmlab_free_pages(m, 0, pf, 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_vm_unmap_aliases(m, 0);
	u64 x;
	assert_int_equal(vmlab_read(m, 1, v, &x, 8, NULL), -VMLAB_EFAULT);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* ---- vm_unmap_aliases ---------------------------------------------------- */

static void test_vm_unmap_aliases_one_flush(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(4, 64 * VMLAB_MiB);
	u64 pf[2] = {t_page(m), t_page(m)};
	u64 r0 = vmlab_vm_map_ram(m, 0, pf, 2);
	u64 r1 = vmlab_vm_map_ram(m, 1, pf, 1);
	vmlab_vm_unmap_ram(m, 0, r0, 2);
	vmlab_vm_unmap_ram(m, 1, r1, 1);
	for (int i = 0; i < 5; i++)
		vmlab_vfree(m, 0, vmlab_vmalloc(m, 0, P));
	assert_int_equal(stats(m).nr_lazy, 5);
	vmlab_counters_reset(m);
	vmlab_vm_unmap_aliases(m, 2);
	assert_int_equal(nr_flushes(m), 1);
	assert_int_equal(stats(m).nr_lazy, 0);
	/* Nothing left: no flush at all. */
	vmlab_vm_unmap_aliases(m, 2);
	assert_int_equal(nr_flushes(m), 1);
	vmlab_machine_destroy(m);
}

/* Every set_memory_*() starts with vm_unmap_aliases() (the CPA hook). */
static void test_cpa_calls_vm_unmap_aliases(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	vmlab_vfree(m, 0, vmlab_vmalloc(m, 0, 4 * P));
	assert_int_equal(vmlab_vmap_lazy_nr(m), 5);
	/* x86: a direct-map page; arm64 refuses the linear map, so a live
	 * vmalloc page. */
	u64 target = t_arm64() ? vmlab_vmalloc(m, 0, P)
			       : vmlab_page_address(m, t_page(m));
	vmlab_counters_reset(m);
	assert_int_equal(vmlab_set_memory_ro(m, 1, target, 1), 0);
	assert_int_equal(vmlab_vmap_lazy_nr(m), 0);
	assert_int_equal(stats(m).nr_purges, 1);
	/* the purge's flush, a split flush, CPA's own flush */
	assert_true(nr_flushes(m) >= 2);
	vmlab_machine_destroy(m);
}

/* ---- VM_FLUSH_RESET_PERMS ------------------------------------------------ */

struct frp_watch {
	struct vmlab_machine *m;
	u64 pfn[2];
	int flush_events;
	int present_during;
};

static void frp_listener(void *ctx, const struct vmlab_event *e)
{
	struct frp_watch *w = ctx;
	if (e->type != VMLAB_EV_INVLPG && e->type != VMLAB_EV_FLUSH_GLOBAL &&
	    e->type != VMLAB_EV_FLUSH_LOCAL)
		return;
	w->flush_events++;
	for (int i = 0; i < 2; i++)
		w->present_during += vmlab_kernel_page_present(w->m, w->pfn[i]);
}

/* A BPF image: written, made RO+X, run by the other CPUs. */
static u64 load_rox(struct vmlab_machine *m, int pages)
{
	u8 code[2 * 4096];
	memset(code, 0xcc, sizeof(code));
	u64 a = vmlab_vmalloc(m, 0, (u64)pages * P);
	assert_int_equal(vmlab_write(m, 0, a, code, (size_t)pages * P, NULL),
			 0);
	assert_int_equal(vmlab_set_memory_ro(m, 0, a, pages), 0);
	assert_int_equal(vmlab_set_memory_x(m, 0, a, pages), 0);
	for (int c = 1; c < vmlab_nr_cpus(m); c++) {
		u8 insn[4];
		assert_int_equal(vmlab_fetch(m, c, a, insn, 4, NULL), 0);
	}
	return a;
}

static void test_flush_reset_perms(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	u64 a = load_rox(m, 2);
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, a);
	struct frp_watch w = {.m = m, .pfn = {vm->pages[0], vm->pages[1]}};
	/* CPU 2 also caches a direct-map alias of the first frame. */
	assert_int_equal(
	    vmlab_read(m, 2, vmlab_page_address(m, w.pfn[0]), (u8[8]){0}, 8, NULL),
	    0);
	/* Some lazy area waits too: the same flush must take it. */
	vmlab_vfree(m, 0, vmlab_vmalloc(m, 0, P));
	vmlab_set_vm_flush_reset_perms(m, a + P); /* any address inside */
	assert_true(vmlab_find_vm_area(m, a)->flags &
		    VMLAB_VM_FLUSH_RESET_PERMS);
	u64 free0 = vmlab_nr_free_pages(m);
	vmlab_counters_reset(m);
	vmlab_set_event_listener(m, frp_listener, &w);
	vmlab_vfree(m, 0, a);
	vmlab_set_event_listener(m, NULL, NULL);
	assert_int_equal(nr_flushes(m), 1);
	/* every CPU flushed (x86 one event per CPU, arm64 a broadcast)... */
	assert_true(w.flush_events >= (t_arm64() ? 1 : 4));
	assert_int_equal(w.present_during, 0); /* ...with no alias present */
	for (int i = 0; i < 2; i++) {
		assert_true(vmlab_kernel_page_present(m, w.pfn[i]));
		for (int c = 0; c < 4; c++) {
			assert_true(vmlab_tlb_probe(m, c, a, NULL, NULL) < 0);
			assert_true(
			    vmlab_tlb_probe(m, c, vmlab_page_address(m, w.pfn[i]),
					    NULL, NULL) < 0);
		}
	}
	/* The direct map is writable again, the frames are free. */
	t_write64(m, 0, vmlab_page_address(m, w.pfn[1]), 5);
	assert_int_equal(vmlab_nr_free_pages(m), free0 + 2);
	assert_int_equal(vmlab_vmap_lazy_nr(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* The same free without the flag: no flush now, the window stays open. */
static void test_without_flag_stays_lazy(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	u64 a = load_rox(m, 1);
	vmlab_counters_reset(m);
	vmlab_vfree(m, 0, a);
	assert_int_equal(nr_flushes(m), 0);
	assert_int_equal(vmlab_vmap_lazy_nr(m), 2);
	assert_true(vmlab_tlb_probe(m, 1, a, NULL, NULL) >= 0);
	vmlab_machine_destroy(m);
}

/* 2 MiB leaves: the direct-map range of the flush covers 512 frames. */
static void test_flush_reset_perms_huge(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 128 * VMLAB_MiB, true);
	u64 a = vmlab_vmalloc_node_range(
	    m, 0, VMLAB_PMD_SIZE, 1, T_VMALLOC_START, T_VMALLOC_END,
	    VMLAB_PAGE_KERNEL,
	    VMLAB_VM_ALLOW_HUGE_VMAP | VMLAB_VM_FLUSH_RESET_PERMS, "huge_frp");
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, a);
	assert_int_equal(vm->page_order, 9);
	u64 first = vm->pages[0];
	assert_int_equal(vmlab_set_memory_ro(m, 0, a, 512), 0);
	vmlab_counters_reset(m);
	vmlab_vfree(m, 0, a);
	/* One flush for the aliases.  x86: invalidating the first 4 KiB of
	 * the direct map's 2 MiB leaf also split it, with CPA's
	 * flush_tlb_all() (the kernel's __split_large_page() does the same);
	 * arm64's linear map is page-mapped (rodata_full): nothing splits. */
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_kernel_range_full) +
			     vmlab_counter(m, -1, VMLAB_C_flush_kernel_range),
			 1);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_all),
			 t_arm64() ? 0 : 1);
	for (u64 i = 0; i < 512; i++)
		assert_true(vmlab_kernel_page_present(m, first + i));
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* ---- atomic context ------------------------------------------------------ */

static void test_vfree_in_interrupt(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 a = vmlab_vmalloc(m, 0, P), b = vmlab_vmalloc(m, 0, P);
	t_write64(m, 0, a, 0xaaaa);
	t_write64(m, 0, b, 0xbbbb);
	u64 busy = nr_busy(m);
	vmlab_set_in_interrupt(m, 1, true);
	vmlab_vfree(m, 1, a); /* in_interrupt(): vfree_atomic() */
	vmlab_vfree(m, 1, b);
	assert_int_equal(nr_busy(m), busy);
	assert_int_equal(stats(m).nr_deferred, 2);
	assert_int_equal(vmlab_nr_pending_work(m), 1); /* queued once */
	/* llist_add() wrote the nodes into the areas themselves. */
	assert_int_equal(t_read64(m, 0, a), 0);
	assert_int_equal(t_read64(m, 0, b), a);
	/* What the kernel BUGs on in interrupt context fails here. */
	u64 w = vmlab_nr_warnings(m);
	assert_int_equal(vmlab_vmalloc(m, 1, P), 0);
	vmlab_vunmap(m, 1, a);
	assert_int_equal(vmlab_nr_warnings(m), w + 2);
	/* A VM_FLUSH_RESET_PERMS area can't be freed there. */
	u64 c = vmlab_vmalloc(m, 0, P);
	vmlab_set_vm_flush_reset_perms(m, c);
	vmlab_vfree(m, 1, c);
	/* Nor can a read-only one: the list store would fault. */
	u64 d = vmlab_vmalloc(m, 0, P);
	assert_int_equal(vmlab_set_memory_ro(m, 0, d, 1), 0);
	vmlab_vfree(m, 1, d);
	assert_int_equal(vmlab_nr_warnings(m), w + 4);
	assert_int_equal(stats(m).nr_deferred, 2);
	assert_int_equal(nr_busy(m), busy + 2);
	/* The worker frees them, newest first, in process context. */
	vmlab_set_in_interrupt(m, 1, false);
	assert_int_equal(vmlab_run_work(m, 0, 10), 1);
	assert_int_equal(stats(m).nr_deferred, 0);
	assert_int_equal(nr_busy(m), busy);
	assert_null(vmlab_find_vm_area(m, a));
	vmlab_vfree(m, 0, c);
	assert_int_equal(vmlab_set_memory_rw(m, 0, d, 1), 0);
	vmlab_vfree(m, 0, d);
	assert_int_equal(nr_busy(m), busy - 2);
	vmlab_machine_destroy(m);
}

/* ---- the seed's claim ---------------------------------------------------- */

static void test_seed_flush_reset_perms(void **state)
{
	(void)state;
	enum { N = 16 };
	struct vmlab_frp_result r[VMLAB_NR_FRP_WAYS];
	for (int way = 0; way < VMLAB_NR_FRP_WAYS; way++) {
		struct vmlab_machine *m = t_machine(4, 128 * VMLAB_MiB, true);
		assert_int_equal(vmlab_scenario_flush_reset_perms(
				     m, N, (enum vmlab_frp_way)way, &r[way]),
				 0);
		print_message("  %-36s flushes %3llu IPIs %3llu invlpg %4llu "
			      "dropped %5llu %8.0f ns wx-alias %zu\n",
			      vmlab_frp_way_name((enum vmlab_frp_way)way),
			      (unsigned long long)r[way].flushes,
			      (unsigned long long)r[way].ipis,
			      (unsigned long long)r[way].pages_invalidated,
			      (unsigned long long)r[way].entries_dropped,
			      r[way].time_ns, r[way].wx_reports);
		assert_int_equal(r[way].stale_reports, 0);
		assert_int_equal(r[way].freed_reports, 0);
		vmlab_machine_destroy(m);
	}
	const struct vmlab_frp_result *flag = &r[VMLAB_FRP_FLUSH_RESET_PERMS];
	/* One flush per program, and no window. */
	assert_int_equal(flag->flushes, N);
	assert_int_equal(flag->wx_reports, 0);
	/* The seed's fallback order: no window either, but it pays. */
	assert_int_equal(r[VMLAB_FRP_OLD_NX_RW].wx_reports, 0);
	/* Writable before non-executable: the window the flag closes. */
	assert_true(r[VMLAB_FRP_OLD_RW_NX].wx_reports > 0);
	assert_true(r[VMLAB_FRP_OLD_RW].wx_reports > 0);
	for (int way = 1; way < VMLAB_NR_FRP_WAYS; way++) {
		assert_true(r[way].flushes > flag->flushes);
		/* x86 pays in IPIs, arm64 (none) in broadcast TLBIs. */
		if (t_arm64()) {
			assert_int_equal(r[way].ipis, 0);
			assert_true(r[way].delta.v[VMLAB_C_tlbi_is] >
				    flag->delta.v[VMLAB_C_tlbi_is]);
		} else {
			assert_true(r[way].ipis > flag->ipis);
		}
		assert_true(r[way].time_ns > flag->time_ns);
	}
	/* Bad arguments. */
	struct vmlab_machine *one = vm_machine(1, 64 * VMLAB_MiB);
	assert_int_equal(vmlab_scenario_flush_reset_perms(one, 4, 0, &r[0]),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_scenario_flush_reset_perms(one, 0, 0, &r[0]),
			 -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_scenario_flush_reset_perms(one, 4, VMLAB_NR_FRP_WAYS, &r[0]),
	    -VMLAB_EINVAL);
	vmlab_machine_destroy(one);
}

/* ---- determinism --------------------------------------------------------- */

static u64 workload_hash(void)
{
	struct vmlab_machine *m = vm_machine(4, 128 * VMLAB_MiB);
	u64 live[64] = {0};
	for (int i = 0; i < 3000; i++) {
		int k = (int)vmlab_rand_below(m, 64);
		int cpu = (int)vmlab_rand_below(m, 4);
		if (live[k]) {
			vmlab_vfree(m, cpu, live[k]);
			live[k] = 0;
		} else {
			live[k] = vmlab_vmalloc(
			    m, cpu, (1 + vmlab_rand_below(m, 40)) * P);
			write_byte(m, live[k], 1);
		}
		if (i % 500 == 0)
			vmlab_vm_unmap_aliases(m, cpu);
	}
	vmlab_purge_vmap_area_lazy(m, 0);
	u64 h = vmlab_trace_hash(m);
	vmlab_machine_destroy(m);
	return h;
}

static void test_deterministic(void **state)
{
	(void)state;
	assert_int_equal(workload_hash(), workload_hash());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lazy_threshold_1cpu),
	    cmocka_unit_test(test_lazy_threshold_2cpus),
	    cmocka_unit_test(test_lazy_threshold_4cpus),
	    cmocka_unit_test(test_lazy_threshold_64cpus),
	    cmocka_unit_test(test_lazy_threshold_256cpus),
	    cmocka_unit_test(test_one_flush_per_purge),
	    cmocka_unit_test(test_no_reuse_before_flush),
	    cmocka_unit_test(test_lazy_window_checker),
	    cmocka_unit_test(test_vm_unmap_ram_window_checker),
	    cmocka_unit_test(test_vm_unmap_aliases_one_flush),
	    cmocka_unit_test(test_cpa_calls_vm_unmap_aliases),
	    cmocka_unit_test(test_flush_reset_perms),
	    cmocka_unit_test(test_without_flag_stays_lazy),
	    cmocka_unit_test(test_flush_reset_perms_huge),
	    cmocka_unit_test(test_vfree_in_interrupt),
	    cmocka_unit_test(test_seed_flush_reset_perms),
	    cmocka_unit_test(test_deterministic),
	};
	return vm_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
