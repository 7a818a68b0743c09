/* SPDX-License-Identifier: MIT */
/* Benchmarks of the notifiers layer: MMU-notifier dispatch per
 * invalidation with 0, 1 and 8 subscribers, the SMMU translation hit path
 * (instructions per hit come from bench/callgrind.py, 'smmu-hit'), and the
 * notifier-upgrade mechanism's cost per upgrade under each upgrade_notify
 * mode with a KVM subscriber. */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "vmlab/device.h"
#include "vmlab/user.h"

#define P VMLAB_PAGE_SIZE
#define MAX_SUBS 8

static void die(const char *what, long long err)
{
	fprintf(stderr, "bench: %s failed (%lld)\n", what, err);
	exit(1);
}

struct sub {
	struct vmlab_mmu_notifier mn;
	u64 calls;
};

static int s_start(struct vmlab_mmu_notifier *mn,
		   const struct vmlab_mmu_notifier_range *r)
{
	(void)r;
	((struct sub *)mn)->calls++;
	return 0;
}

static void s_end(struct vmlab_mmu_notifier *mn,
		  const struct vmlab_mmu_notifier_range *r)
{
	(void)r;
	((struct sub *)mn)->calls++;
}

static const struct vmlab_mmu_notifier_ops sub_ops = {
	.invalidate_range_start = s_start, .invalidate_range_end = s_end};

static struct vmlab_user_mm *user_mm(struct vmlab_machine *m)
{
	struct vmlab_user_mm *mm;
	int err = vmlab_user_mm_create(m, &mm);
	if (err)
		die("user_mm_create", err);
	return mm;
}

/* One invalidate_range_start + end pair per iteration. */
static void dispatch(struct bench_out *o, u64 n, int nsubs, const char *name)
{
	struct vmlab_machine *m = bench_boot(256 * VMLAB_MiB, 2, false);
	struct vmlab_user_mm *mm = user_mm(m);
	struct vmlab_mm *hw = vmlab_user_hw_mm(mm);
	struct sub subs[MAX_SUBS] = {0};
	for (int i = 0; i < nsubs; i++) {
		subs[i].mn.ops = &sub_ops;
		int err = vmlab_mmu_notifier_register(m, &subs[i].mn, hw);
		if (err)
			die("register", err);
	}
	struct vmlab_mmu_notifier_range r;
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++) {
		vmlab_mmu_notifier_range_init(&r, m, VMLAB_MMU_NOTIFY_CLEAR, 0, hw,
					      0, (i & 255) * P,
					      (i & 255) * P + P);
		if (vmlab_mm_has_notifiers(hw))
			vmlab_mmu_notifier_invalidate_range_start(&r);
		if (vmlab_mm_has_notifiers(hw))
			vmlab_mmu_notifier_invalidate_range_end(&r);
	}
	double dt = bench_now() - t0;
	u64 calls = 0;
	for (int i = 0; i < nsubs; i++) {
		calls += subs[i].calls;
		vmlab_mmu_notifier_unregister(m, &subs[i].mn, hw);
	}
	bench_figure(o, name, "ns_per_invalidation", dt * 1e9 / (double)n, "ns");
	bench_figure(o, name, "callbacks_per_invalidation",
		     (double)calls / (double)n, "");
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void bench_dispatch0(struct bench_out *o, u64 n)
{
	dispatch(o, n, 0, "notifier-dispatch-0");
}

static void bench_dispatch1(struct bench_out *o, u64 n)
{
	dispatch(o, n, 1, "notifier-dispatch-1");
}

static void bench_dispatch8(struct bench_out *o, u64 n)
{
	dispatch(o, n, 8, "notifier-dispatch-8");
}

/* SMMU TLB hits (inline fast path, checker off), 64 pages warm. */
static void bench_smmu_hit(struct bench_out *o, u64 n)
{
	const char *name = "smmu-hit";
	struct vmlab_machine *m = bench_boot(256 * VMLAB_MiB, 2, false);
	struct vmlab_user_mm *mm = user_mm(m);
	s64 a = vmlab_mmap(mm, 0, 64 * P, VMLAB_PROT_READ | VMLAB_PROT_WRITE,
			   VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS, NULL, 0);
	if (a < 0)
		die("mmap", a);
	for (u64 i = 0; i < 64; i++)
		vmlab_user_write8(mm, 0, (u64)a + i * P, 1);
	struct vmlab_smmu *s;
	int err = vmlab_smmu_create(m, NULL, &s);
	if (!err)
		err = vmlab_user_sva_bind(s, mm);
	if (err)
		die("smmu", err);
	struct vmlab_smmu *const sp = s; /* s's address escaped: keep a copy */
	u64 sum = 0;
	for (u64 i = 0; i < 64; i++) {
		u64 pa;
		if (vmlab_smmu_translate(s, 1, VMLAB_READ, (u64)a + i * P, &pa))
			die("smmu warm-up", 0);
	}
	double t0 = bench_now();
	/* The loop of access-hit: 64 offsets in one page. */
	for (u64 i = 0; i < n; i++) {
		u64 pa;
		if (!vmlab_smmu_translate(sp, 1, VMLAB_READ,
					  (u64)a + ((i & 63) << 3), &pa))
			sum += pa;
	}
	double dt = bench_now() - t0;
	if (sum == 1)
		printf("\n");
	struct vmlab_smmu_stats st;
	vmlab_smmu_stats(s, &st);
	bench_figure(o, name, "translations_per_s", (double)n / dt, "1/s");
	bench_figure(o, name, "ns_per_translation", dt * 1e9 / (double)n, "ns");
	bench_figure(o, name, "hit_ratio",
		     (double)st.tlb_hits / (double)st.accesses, "");
	vmlab_smmu_destroy(s);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

/* Cost of one RO->RW upgrade (fork, child exit, CPU write) as each mode
 * sends it to a KVM subscriber that then reads the page again. */
static void upgrade(struct bench_out *o, u64 n, enum vmlab_upgrade_notify u,
		    const char *name)
{
	const u64 pages = 64;
	struct vmlab_machine *m = bench_boot(256 * VMLAB_MiB, 2, false);
	vmlab_set_upgrade_notify(m, u);
	struct vmlab_user_mm *mm = user_mm(m);
	s64 a = vmlab_mmap(mm, 0, pages * P, VMLAB_PROT_READ | VMLAB_PROT_WRITE,
			   VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS, NULL, 0);
	if (a < 0)
		die("mmap", a);
	struct vmlab_kvm *k;
	int err = vmlab_user_kvm_create(mm, NULL, &k);
	if (!err)
		err = vmlab_kvm_set_memslot(k, 0, 0x100, pages, (u64)a);
	if (err)
		die("kvm", err);
	double busy = 0, sim = 0;
	u64 zaps = 0, faults = 0, done = 0;
	u8 b[8];
	for (u64 round = 0; done < n; round++) {
		for (u64 i = 0; i < pages; i++)
			vmlab_user_write8(mm, 0, (u64)a + i * P, 1);
		struct vmlab_user_mm *child;
		if ((err = vmlab_fork(mm, &child)))
			die("fork", err);
		for (u64 i = 0; i < pages; i++)
			vmlab_kvm_guest_access(k, 1, VMLAB_READ, (0x100 + i) * P, b,
					       8);
		vmlab_user_mm_destroy(child);
		struct vmlab_kvm_stats k0, k1;
		vmlab_kvm_stats(k, &k0);
		double s0 = vmlab_sim_time_ns(m, -1);
		double t0 = bench_now();
		for (u64 i = 0; i < pages; i++) {
			vmlab_user_write8(mm, 0, (u64)a + i * P, 2);
			vmlab_kvm_guest_access(k, 1, VMLAB_READ, (0x100 + i) * P, b,
					       8);
		}
		busy += bench_now() - t0;
		vmlab_kvm_stats(k, &k1);
		sim += vmlab_sim_time_ns(m, -1) - s0 + (k1.sim_ns - k0.sim_ns);
		zaps += k1.sptes_zapped - k0.sptes_zapped;
		faults += k1.s2_faults - k0.s2_faults;
		done += pages;
	}
	bench_figure(o, name, "ns_per_upgrade", busy * 1e9 / (double)done, "ns");
	bench_figure(o, name, "sim_ns_per_upgrade", sim / (double)done, "ns");
	bench_figure(o, name, "kvm_zaps_per_upgrade", (double)zaps / (double)done,
		     "");
	bench_figure(o, name, "kvm_refaults_per_upgrade",
		     (double)faults / (double)done, "");
	vmlab_kvm_destroy(k);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void bench_upgrade_none(struct bench_out *o, u64 n)
{
	upgrade(o, n, VMLAB_UPGRADE_NOTIFY_NONE, "upgrade-none");
}

static void bench_upgrade_range_end(struct bench_out *o, u64 n)
{
	upgrade(o, n, VMLAB_UPGRADE_NOTIFY_RANGE_END, "upgrade-range-end");
}

static void bench_upgrade_afn(struct bench_out *o, u64 n)
{
	upgrade(o, n, VMLAB_UPGRADE_NOTIFY_ACCESS_FLAGS,
		"upgrade-access-flags-notify");
}

const struct bench bench_notifier[] = {
	{"notifier-dispatch-0", "invalidate_range_start+end, no subscriber",
	 bench_dispatch0, 50000000},
	{"notifier-dispatch-1", "invalidate_range_start+end, 1 subscriber",
	 bench_dispatch1, 20000000},
	{"notifier-dispatch-8", "invalidate_range_start+end, 8 subscribers",
	 bench_dispatch8, 5000000},
	{"smmu-hit", "SMMU TLB-hit translations (inline fast path)",
	 bench_smmu_hit, 200000000},
	{"upgrade-none", "RO->RW upgrade + guest read, upgrade_notify=none",
	 bench_upgrade_none, 200000},
	{"upgrade-range-end", "the same, upgrade_notify=range_end",
	 bench_upgrade_range_end, 200000},
	{"upgrade-access-flags-notify",
	 "the same, upgrade_notify=access_flags_notify", bench_upgrade_afn,
	 200000},
};
const int bench_notifier_n =
	(int)(sizeof(bench_notifier) / sizeof(bench_notifier[0]));
