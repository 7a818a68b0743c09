/* SPDX-License-Identifier: MIT */
/*
 * The KVM-like stage 2 (virt/kvm/kvm_main.c's MMU notifier, the x86 TDP
 * MMU / arm64 user_mem_abort() fault path): memslots from guest frames to
 * the VMM's user VA range, a stage-2 table per memslot filled on guest
 * faults from the CPU PTE (writable only if that PTE is), zapped on
 * invalidate_range_start (unless the event is the seed's upgrade event and
 * this KVM filters it), mmu_invalidate_seq / mmu_invalidate_in_progress so
 * that a fault racing an invalidation retries, and aging through the young
 * callbacks.  With the checker on, every stage-2 install and hit is
 * compared with the CPU page table (stale-access when it grants more).
 */
#include <stdlib.h>

#include "machine/internal.h"
#include "vmlab/checker.h"
#include "vmlab/device.h"
#include "vmlab/mutant.h"

#define KVM_MAGIC 0x6b766d5f73326d6dULL
#define SPTE_P (1ULL << 0)
#define SPTE_W (1ULL << 1)
#define SPTE_A (1ULL << 2)
#define MAX_FAULT_LOOPS 64

struct memslot {
	u64 gfn, npages, hva; /* npages 0: unused */
	u64 *spte;
};

struct vmlab_kvm {
	u64 magic;
	struct vmlab_machine *m;
	struct vmlab_kvm_config cfg;
	struct vmlab_mm *mm;
	const struct vmlab_primary_ops *ops;
	void *ops_ctx;
	struct vmlab_mmu_notifier mn;
	bool released;
	struct memslot slot[VMLAB_KVM_MAX_MEMSLOTS];
	struct vmlab_lock mmu_lock;
	u64 mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	u64 range_start, range_end; /* hva, while in progress */
	u64 nr_sptes;
	struct vmlab_kvm_stats st;
};

void vmlab_kvm_config_default(struct vmlab_kvm_config *c)
{
	*c = (struct vmlab_kvm_config){.name = "kvm0", .filter_upgrade = false};
	vmlab_device_cost_default(&c->cost);
}

static bool kvm_ok(const struct vmlab_kvm *k)
{
	return k && k->magic == KVM_MAGIC;
}

static struct vmlab_kvm *mn_kvm(struct vmlab_mmu_notifier *mn)
{
	struct vmlab_kvm *k =
		(struct vmlab_kvm *)((char *)mn - offsetof(struct vmlab_kvm, mn));
	assert(kvm_ok(k));
	return k;
}

/* Call fn on every stage-2 entry whose host VA is in [start, end). */
typedef bool (*spte_fn)(struct vmlab_kvm *k, u64 *spte, void *arg);

static bool for_each_spte(struct vmlab_kvm *k, u64 start, u64 end, spte_fn fn,
			  void *arg)
{
	bool any = false;
	assert(start <= end && fn);
	for (int i = 0; i < VMLAB_KVM_MAX_MEMSLOTS; i++) {
		struct memslot *s = &k->slot[i];
		if (!s->npages)
			continue;
		assert(s->spte);
		u64 lo = s->hva, hi = s->hva + (s->npages << VMLAB_PAGE_SHIFT);
		if (end <= lo || start >= hi)
			continue;
		u64 a = start > lo ? start : lo, b = end < hi ? end : hi;
		for (u64 v = a & VMLAB_PAGE_MASK; v < b; v += VMLAB_PAGE_SIZE) {
			u64 *e = &s->spte[(v - lo) >> VMLAB_PAGE_SHIFT];
			if (*e & SPTE_P)
				any |= fn(k, e, arg);
		}
	}
	return any;
}

static bool zap_one(struct vmlab_kvm *k, u64 *spte, void *arg)
{
	(void)arg;
	assert(k->nr_sptes > 0);
	*spte = 0;
	k->nr_sptes--;
	k->st.sptes_zapped++;
	k->st.sim_ns += k->cfg.cost.kvm_zap;
	return true;
}

/* kvm_unmap_gfn_range() + the remote TLB flush when anything went. */
static void zap_range(struct vmlab_kvm *k, u64 start, u64 end)
{
	k->st.zap_calls++;
	if (for_each_spte(k, start, end, zap_one, NULL)) {
		k->st.remote_flushes++;
		k->st.sim_ns += k->cfg.cost.kvm_flush;
	}
}

/* ------------------------------------------------- the MMU notifier */

static int kvm_range_start(struct vmlab_mmu_notifier *mn,
			   const struct vmlab_mmu_notifier_range *r)
{
	struct vmlab_kvm *k = mn_kvm(mn);
	int cpu = r->cpu;
	assert(r->mm == k->mm && r->start <= r->end);
	assert(k->mmu_invalidate_in_progress >= 0);
	k->st.invalidations++;
	spin_lock(k->m, cpu, &k->mmu_lock);
	/* kvm_mmu_invalidate_begin() + range_add(). */
	if (!k->mmu_invalidate_in_progress++) {
		k->range_start = r->start;
		k->range_end = r->end;
	} else {
		if (r->start < k->range_start)
			k->range_start = r->start;
		if (r->end > k->range_end)
			k->range_end = r->end;
	}
	bool upgrade = r->event == VMLAB_MMU_NOTIFY_PROTECTION_UPGRADE;
	if (upgrade)
		k->st.upgrade_events++;
	if (upgrade && k->cfg.filter_upgrade)
		k->st.upgrade_filtered++;
	else
		zap_range(k, r->start, r->end);
	spin_unlock(k->m, cpu, &k->mmu_lock);
	return 0;
}

static void kvm_range_end(struct vmlab_mmu_notifier *mn,
			  const struct vmlab_mmu_notifier_range *r)
{
	struct vmlab_kvm *k = mn_kvm(mn);
	assert(r->mm == k->mm);
	spin_lock(k->m, r->cpu, &k->mmu_lock);
	/* kvm_mmu_invalidate_end(): the sequence moves first, so a fault
	 * that read the old PTE before the start must retry. */
	k->mmu_invalidate_seq++;
	assert(k->mmu_invalidate_in_progress > 0);
	k->mmu_invalidate_in_progress--;
	spin_unlock(k->m, r->cpu, &k->mmu_lock);
}

struct young_arg {
	bool clear;
};

static bool young_one(struct vmlab_kvm *k, u64 *spte, void *arg)
{
	const struct young_arg *a = arg;
	if (!(*spte & SPTE_A))
		return false;
	if (a->clear) {
		*spte &= ~SPTE_A;
		k->st.young_cleared++;
	}
	return true;
}

static int kvm_clear_young(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm,
			   u64 start, u64 end)
{
	struct vmlab_kvm *k = mn_kvm(mn);
	(void)mm;
	assert(mm == k->mm);
	struct young_arg a = {true};
	return for_each_spte(k, start, end, young_one, &a);
}

static int kvm_clear_flush_young(struct vmlab_mmu_notifier *mn,
				 struct vmlab_mm *mm, u64 start, u64 end)
{
	struct vmlab_kvm *k = mn_kvm(mn);
	int young = kvm_clear_young(mn, mm, start, end);
	if (young) {
		k->st.remote_flushes++;
		k->st.sim_ns += k->cfg.cost.kvm_flush;
	}
	return young;
}

static int kvm_test_young(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm,
			  u64 address)
{
	struct vmlab_kvm *k = mn_kvm(mn);
	(void)mm;
	assert(mm == k->mm);
	struct young_arg a = {false};
	return for_each_spte(k, address & VMLAB_PAGE_MASK,
			     (address & VMLAB_PAGE_MASK) + VMLAB_PAGE_SIZE,
			     young_one, &a);
}

static void kvm_release(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm)
{
	struct vmlab_kvm *k = mn_kvm(mn);
	(void)mm;
	assert(mm == k->mm);
	/* kvm_arch_flush_shadow_all(). */
	zap_range(k, 0, ~0ULL);
	k->released = true;
	assert(k->nr_sptes == 0);
}

static const struct vmlab_mmu_notifier_ops kvm_mn_ops = {
	.release = kvm_release,
	.clear_flush_young = kvm_clear_flush_young,
	.clear_young = kvm_clear_young,
	.test_young = kvm_test_young,
	.invalidate_range_start = kvm_range_start,
	.invalidate_range_end = kvm_range_end,
};

/* ---------------------------------------------------------- lifetime */

int vmlab_kvm_create(struct vmlab_machine *m,
		     const struct vmlab_kvm_config *cfg, struct vmlab_mm *mm,
		     const struct vmlab_primary_ops *ops, void *ctx,
		     struct vmlab_kvm **out)
{
	if (!m || !mm || !ops || !ops->handle_fault || !out)
		return -VMLAB_EINVAL;
	struct vmlab_kvm *k = host_calloc(m, 1, sizeof(*k));
	if (!k)
		return -VMLAB_ENOMEM;
	if (cfg)
		k->cfg = *cfg;
	else
		vmlab_kvm_config_default(&k->cfg);
	if (!k->cfg.name)
		k->cfg.name = "kvm";
	k->magic = KVM_MAGIC;
	k->m = m;
	k->ops = ops;
	k->ops_ctx = ctx;
	k->mn.ops = &kvm_mn_ops;
	int err = vmlab_mmu_notifier_register(m, &k->mn, mm);
	if (err) {
		free(k);
		return err;
	}
	k->mm = mm;
	*out = k;
	return 0;
}

void vmlab_kvm_destroy(struct vmlab_kvm *k)
{
	if (!kvm_ok(k))
		return;
	if (!k->released)
		(void)vmlab_mmu_notifier_unregister(k->m, &k->mn, k->mm);
	for (int i = 0; i < VMLAB_KVM_MAX_MEMSLOTS; i++)
		free(k->slot[i].spte);
	k->magic = 0;
	free(k);
}

int vmlab_kvm_set_memslot(struct vmlab_kvm *k, int slot, u64 gfn, u64 npages,
			  u64 hva)
{
	if (!kvm_ok(k) || slot < 0 || slot >= VMLAB_KVM_MAX_MEMSLOTS ||
	    (hva & ~VMLAB_PAGE_MASK) || npages > (1ULL << 24) ||
	    hva + (npages << VMLAB_PAGE_SHIFT) > vmlab_user_va_end(k->m) ||
	    gfn + npages < gfn)
		return -VMLAB_EINVAL;
	struct memslot *s = &k->slot[slot];
	for (int i = 0; npages && i < VMLAB_KVM_MAX_MEMSLOTS; i++) {
		const struct memslot *o = &k->slot[i];
		if (i != slot && o->npages && gfn < o->gfn + o->npages &&
		    o->gfn < gfn + npages)
			return -VMLAB_EEXIST;
	}
	u64 *spte = npages ? host_calloc(k->m, npages, sizeof(*spte)) : NULL;
	if (npages && !spte)
		return -VMLAB_ENOMEM;
	/* Deleting or moving a slot zaps what it mapped. */
	if (s->npages)
		zap_range(k, s->hva, s->hva + (s->npages << VMLAB_PAGE_SHIFT));
	free(s->spte);
	*s = (struct memslot){gfn, npages, hva, spte};
	return 0;
}

u64 vmlab_kvm_nr_sptes(const struct vmlab_kvm *k)
{
	return kvm_ok(k) ? k->nr_sptes : 0;
}

/* ------------------------------------------------------- the faults */

static struct memslot *gfn_to_memslot(struct vmlab_kvm *k, u64 gfn)
{
	for (int i = 0; i < VMLAB_KVM_MAX_MEMSLOTS; i++) {
		struct memslot *s = &k->slot[i];
		if (s->npages && gfn >= s->gfn && gfn < s->gfn + s->npages)
			return s;
	}
	return NULL;
}

/* mmu_invalidate_retry_gfn(). */
static bool invalidate_retry(const struct vmlab_kvm *k, u64 mmu_seq, u64 hva)
{
	if (k->mmu_invalidate_in_progress && hva >= k->range_start &&
	    hva < k->range_end)
		return true;
	return k->mmu_invalidate_seq != mmu_seq;
}

static bool host_pte(struct vmlab_kvm *k, u64 hva, u64 *pfn, bool *writable)
{
	u64 pa;
	vmlab_pgprot_t prot;
	int level;
	if (vmlab_translate(k->m, k->mm, hva, &pa, &prot, &level) ||
	    !(prot & VMLAB_PAGE_PRESENT) || !(prot & VMLAB_PAGE_USER))
		return false;
	*pfn = pa >> VMLAB_PAGE_SHIFT;
	*writable = prot & VMLAB_PAGE_RW;
	return true;
}

/* The checker's view: a stage-2 entry must never grant more than the
 * CPU PTE (another frame, or write over a read-only PTE). */
static void check_spte(struct vmlab_kvm *k, int cpu, u64 hva, u64 spte,
		       enum vmlab_access kind, const char *when)
{
	u64 pfn = 0;
	bool w = false;
	bool ok = host_pte(k, hva, &pfn, &w);
	u64 spfn = spte >> VMLAB_PAGE_SHIFT;
	if (ok && pfn == spfn && (w || !(spte & SPTE_W)))
		return;
	vmlab_checker_report(
		k->m, VMLAB_CHECK_STALE_ACCESS, cpu, hva, spfn, kind,
		"BUG: %s stage-2 entry grants more than the CPU page table (%s)\n"
		"  hva %#llx: stage 2 maps pfn %#llx %s\n"
		"  CPU PTE: %s pfn %#llx %s\n"
		"  mmu_invalidate_seq %llu, in progress %ld",
		k->cfg.name, when, (unsigned long long)hva,
		(unsigned long long)spfn, spte & SPTE_W ? "RW" : "RO",
		ok ? "present" : "none", (unsigned long long)pfn,
		ok ? (w ? "RW" : "RO") : "-",
		(unsigned long long)k->mmu_invalidate_seq,
		k->mmu_invalidate_in_progress);
}

/* kvm_mmu_page_fault(): 1 installed, 0 retry, -errno. */
static int page_fault(struct vmlab_kvm *k, int cpu, struct memslot *s,
		      u64 idx, bool write)
{
	assert(idx < s->npages && s->spte);
	assert(!k->released);
	k->st.s2_faults++;
	k->st.sim_ns += k->cfg.cost.kvm_exit;
	u64 mmu_seq = k->mmu_invalidate_seq; /* before the host PTE is read */
	u64 hva = s->hva + (idx << VMLAB_PAGE_SHIFT);
	sched_point(k->m, cpu, "kvm_faultin_pfn");
	u64 pfn;
	bool writable;
	/* __gfn_to_pfn(): the fast gup path, else fault it in. */
	if (!host_pte(k, hva, &pfn, &writable) || (write && !writable)) {
		if (k->ops->handle_fault(k->ops_ctx, cpu, hva,
					 write ? VMLAB_WRITE : VMLAB_READ))
			return -VMLAB_EFAULT;
		if (!host_pte(k, hva, &pfn, &writable) || (write && !writable))
			return 0; /* changed under us: fault again */
	}
	spin_lock(k->m, cpu, &k->mmu_lock);
	if (!vmlab_mutant(k->m, VMLAB_MUT_KVM_IGNORE_IN_PROGRESS) &&
	    invalidate_retry(k, mmu_seq, hva)) {
		spin_unlock(k->m, cpu, &k->mmu_lock);
		k->st.fault_retries++;
		return 0;
	}
	u64 *e = &s->spte[idx];
	if (!(*e & SPTE_P))
		k->nr_sptes++;
	*e = pfn << VMLAB_PAGE_SHIFT | SPTE_P | SPTE_A | (writable ? SPTE_W : 0);
	k->st.sptes_installed++;
	assert(k->nr_sptes > 0 && (*e & SPTE_P));
	if (vmlab_checker_enabled(k->m))
		check_spte(k, cpu, hva, *e, write ? VMLAB_WRITE : VMLAB_READ,
			   "at install");
	spin_unlock(k->m, cpu, &k->mmu_lock);
	return 1;
}

int vmlab_kvm_guest_access(struct vmlab_kvm *k, int cpu,
			   enum vmlab_access kind, u64 gpa, void *buf,
			   size_t len)
{
	if (!kvm_ok(k) || (unsigned)kind >= VMLAB_NR_ACCESS || !len ||
	    (gpa & ~VMLAB_PAGE_MASK) + len > VMLAB_PAGE_SIZE)
		return -VMLAB_EINVAL;
	if (k->released)
		return -VMLAB_EIO;
	struct memslot *s = gfn_to_memslot(k, gpa >> VMLAB_PAGE_SHIFT);
	if (!s)
		return -VMLAB_EFAULT; /* MMIO: no memslot */
	u64 idx = (gpa >> VMLAB_PAGE_SHIFT) - s->gfn;
	bool write = kind == VMLAB_WRITE;
	k->st.accesses++;
	for (int loop = 0; loop < MAX_FAULT_LOOPS; loop++) {
		u64 e = s->spte[idx];
		if ((e & SPTE_P) && (!write || (e & SPTE_W))) {
			k->st.s2_hits++;
			k->st.sim_ns += k->cfg.cost.tlb_hit;
			s->spte[idx] |= SPTE_A;
			if (vmlab_checker_enabled(k->m))
				check_spte(k, cpu,
					   s->hva + (idx << VMLAB_PAGE_SHIFT), e,
					   kind, "guest access");
			u64 pa = (e & VMLAB_PAGE_MASK & ((1ULL << 52) - 1)) |
				 (gpa & ~VMLAB_PAGE_MASK);
			if (write && buf)
				vmlab_phys_write(k->m, pa, buf, len);
			else if (buf)
				vmlab_phys_read(k->m, pa, buf, len);
			return 0;
		}
		int r = page_fault(k, cpu, s, idx, write);
		if (r < 0)
			return r;
		if (k->released)
			return -VMLAB_EIO;
	}
	vmlab_warn(k->m, "%s: guest access at %#llx still faulting after %d "
			 "tries", k->cfg.name, (unsigned long long)gpa,
		   MAX_FAULT_LOOPS);
	return -VMLAB_EFAULT;
}

void vmlab_kvm_stats(const struct vmlab_kvm *k, struct vmlab_kvm_stats *out)
{
	if (kvm_ok(k) && out)
		*out = k->st;
}

void vmlab_kvm_stats_reset(struct vmlab_kvm *k)
{
	if (kvm_ok(k))
		memset(&k->st, 0, sizeof(k->st));
}
