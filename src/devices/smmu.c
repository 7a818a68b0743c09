/* SPDX-License-Identifier: MIT */
/*
 * The SMMU model (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c, and an
 * x86 IOMMU SVA device with the same shape): a TLB of leaf translations
 * filled by walking the bound mm's CPU page table, a fault queue serviced
 * like the IOPF path, the driver's MMU notifier (arch_invalidate_secondary_
 * tlbs -> CMD_TLBI by range or by ASID, skipped with BTM as the driver
 * does), broadcast invalidations snooped with BTM, and two checker rules
 * over device accesses: stale-access (a hit granting more than the page
 * table) and secondary-stale (the device faulting again and again on a
 * translation the CPU page table already grants: the seed's livelock).
 */
#include <stdlib.h>

#include "machine/internal.h"
#include "vmlab/checker.h"
#include "vmlab/device.h"
#include "vmlab/mutant.h"
#include "vmlab/observer.h"

#define SMMU_MAGIC 0x736d6d7576306d6dULL
#define WAYS 4
#define FQ_SIZE 32
/* CMDQ_MAX_TLBI_OPS: past this many pages the driver invalidates the
 * whole ASID instead of one command per page (e7ad6c2a4b1a). */
#define CMDQ_MAX_TLBI_OPS (1ULL << (VMLAB_PAGE_SHIFT - 3))
/* Commands in one call after which the watchdog would call it a soft
 * lockup (about a second of CMD_TLBI at ~0.5 us each). */
#define SOFT_LOCKUP_CMDS (1ULL << 21)

enum { SE_W = 1u << 0, SE_X = 1u << 1 };

struct smmu_entry {
	u64 tag; /* vpn << 1 | valid */
	u64 pfn;
	u8 perm; /* SE_* */
	u64 fill_seq;
};

struct fault_rec {
	u64 va;
	enum vmlab_access kind;
};

struct vmlab_smmu {
	struct vmlab_smmu_fast fast; /* first: the inline translate reads it */
	u64 magic;
	struct vmlab_machine *m;
	struct vmlab_smmu_config cfg;
	struct smmu_entry *tlb;
	u32 sets;
	u32 *victim;
	/* binding */
	struct vmlab_mm *mm;
	struct vmlab_mmu_notifier mn;
	const struct vmlab_primary_ops *ops;
	void *ops_ctx;
	bool released; /* ->release ran: every access is refused */
	/* fault queue (PRI page requests) */
	struct fault_rec fq[FQ_SIZE];
	unsigned fq_head, fq_len;
	/* secondary-stale tracking */
	u64 stale_va;
	int stale_count;
	u64 reported_va; /* ~0: none */
	struct vmlab_smmu_stats st;
	u64 soft_lockups;
	bool btm;     /* effective: the architecture broadcasts TLBIs */
	bool observing;
};

void vmlab_device_cost_default(struct vmlab_device_cost *c)
{
	*c = (struct vmlab_device_cost){
		.tlb_hit = 2.0, .walk_level = 20.0, .iopf = 4000.0,
		.cmd_tlbi = 500.0, .kvm_exit = 1500.0, .kvm_zap = 15.0,
		.kvm_flush = 1000.0};
}

void vmlab_smmu_config_default(struct vmlab_smmu_config *c)
{
	*c = (struct vmlab_smmu_config){.name = "smmu0", .tlb_entries = 128,
					.btm = false, .range_inv = false,
					.stale_retries = 8};
	vmlab_device_cost_default(&c->cost);
}

static bool smmu_ok(const struct vmlab_smmu *s)
{
	return s && s->magic == SMMU_MAGIC;
}

/* ------------------------------------------------------------- TLB */

static bool perm_allows(u8 perm, enum vmlab_access kind)
{
	return kind == VMLAB_READ || (kind == VMLAB_WRITE && (perm & SE_W)) ||
	       (kind == VMLAB_FETCH && (perm & SE_X));
}


static inline struct smmu_entry *set_of(struct vmlab_smmu *s, u64 vpn)
{
	return &s->tlb[(vpn & (s->sets - 1)) * WAYS];
}

static struct smmu_entry *tlb_lookup(struct vmlab_smmu *s, u64 vpn)
{
	assert(s->sets && !(s->sets & (s->sets - 1)));
	struct smmu_entry *e = set_of(s, vpn);
	u64 tag = vpn << 1 | 1;
	for (int w = 0; w < WAYS; w++)
		if (e[w].tag == tag)
			return &e[w];
	return NULL;
}

static void fast_drop(struct vmlab_smmu *s, u64 vpn)
{
	unsigned i = (unsigned)vpn & (VMLAB_SMMU_FAST - 1);
	for (int k = 0; k < VMLAB_NR_ACCESS; k++)
		if (s->fast.tag[k][i] == vpn)
			s->fast.tag[k][i] = 0;
}

static void tlb_drop(struct vmlab_smmu *s, struct smmu_entry *e)
{
	assert(e->tag & 1);
	fast_drop(s, e->tag >> 1);
	e->tag = 0;
	s->st.entries_dropped++;
}

static void tlb_fill(struct vmlab_smmu *s, u64 vpn, u64 pfn, u8 perm)
{
	assert(pfn < vmlab_nr_frames(s->m));
	assert(s->mm && !s->released);
	struct smmu_entry *set = set_of(s, vpn);
	struct smmu_entry *e = tlb_lookup(s, vpn);
	if (!e) {
		u32 si = (u32)(vpn & (s->sets - 1));
		for (int w = 0; w < WAYS && !e; w++)
			if (!(set[w].tag & 1))
				e = &set[w];
		if (!e) {
			e = &set[s->victim[si]];
			s->victim[si] = (s->victim[si] + 1) % WAYS;
			tlb_drop(s, e);
		}
	}
	*e = (struct smmu_entry){vpn << 1 | 1, pfn, perm, vmlab_event_count(s->m)};
	assert(tlb_lookup(s, vpn) == e);
	if (vmlab_checker_enabled(s->m))
		return; /* checked hits take the slow path */
	unsigned i = (unsigned)vpn & (VMLAB_SMMU_FAST - 1);
	for (int k = 0; vpn && k < VMLAB_NR_ACCESS; k++) {
		if (!perm_allows(perm, (enum vmlab_access)k))
			continue;
		s->fast.tag[k][i] = vpn;
		s->fast.addend[k][i] = (pfn << VMLAB_PAGE_SHIFT) -
				       (vpn << VMLAB_PAGE_SHIFT);
	}
}

/* Drop entries in [start, end); the whole TLB when the range is all. */
static void tlb_inv_range(struct vmlab_smmu *s, u64 start, u64 end)
{
	u64 n = (u64)s->sets * WAYS;
	assert(start <= end);
	u64 lo = start >> VMLAB_PAGE_SHIFT;
	u64 hi = end >= (1ULL << 63) ? ~0ULL : (end + VMLAB_PAGE_SIZE - 1) >>
						      VMLAB_PAGE_SHIFT;
	if (hi - lo < n) {
		for (u64 v = lo; v < hi; v++) {
			struct smmu_entry *e = tlb_lookup(s, v);
			if (e)
				tlb_drop(s, e);
		}
		return;
	}
	for (u64 i = 0; i < n; i++) {
		u64 vpn = s->tlb[i].tag >> 1;
		if ((s->tlb[i].tag & 1) && vpn >= lo && vpn < hi)
			tlb_drop(s, &s->tlb[i]);
	}
}

static void tlb_inv_all(struct vmlab_smmu *s)
{
	memset(s->fast.tag, 0, sizeof(s->fast.tag));
	for (u64 i = 0; i < (u64)s->sets * WAYS; i++)
		if (s->tlb[i].tag & 1)
			tlb_drop(s, &s->tlb[i]);
	assert(!(s->tlb[0].tag & 1) && !s->fast.tag[VMLAB_READ][0]);
}

/* --------------------------------------------------- the driver's MMU
 * notifier (arm_smmu_mmu_notifier_ops: secondary TLBs, release, free) */

static struct vmlab_smmu *mn_smmu(struct vmlab_mmu_notifier *mn)
{
	struct vmlab_smmu *s =
		(struct vmlab_smmu *)((char *)mn -
				      offsetof(struct vmlab_smmu, mn));
	assert(smmu_ok(s));
	return s;
}

static void smmu_inv_secondary(struct vmlab_mmu_notifier *mn,
			       struct vmlab_mm *mm, u64 start, u64 end)
{
	struct vmlab_smmu *s = mn_smmu(mn);
	(void)mm;
	assert(mm == s->mm);
	assert(start <= end);
	s->st.notifier_calls++;
	if (s->btm)
		return; /* the hardware snooped the CPU's TLBI already */
	u64 size = end - start;
	bool clamp = !vmlab_mutant(s->m, VMLAB_MUT_SMMU_INV_OVERFLOW);
	if (clamp && (s->cfg.range_inv ? end == VMLAB_TLB_FLUSH_ALL ||
						 size == ~0ULL :
					 size >= CMDQ_MAX_TLBI_OPS * VMLAB_PAGE_SIZE))
		size = 0;
	if (!size) {
		/* arm_smmu_tlb_inv_asid(): one command. */
		s->st.cmd_tlbi++;
		s->st.asid_invalidations++;
		s->st.sim_ns += s->cfg.cost.cmd_tlbi;
		tlb_inv_all(s);
		return;
	}
	u64 cmds = s->cfg.range_inv ? 1 : (size + VMLAB_PAGE_SIZE - 1) >>
						   VMLAB_PAGE_SHIFT;
	s->st.cmd_tlbi += cmds;
	s->st.sim_ns += s->cfg.cost.cmd_tlbi * (double)cmds;
	if (cmds >= SOFT_LOCKUP_CMDS) {
		s->soft_lockups++;
		vmlab_warn(s->m, "watchdog: BUG: soft lockup - %s issuing %llu "
				 "CMD_TLBI for [%#llx, %#llx)",
			   s->cfg.name, (unsigned long long)cmds,
			   (unsigned long long)start, (unsigned long long)end);
	}
	tlb_inv_range(s, start, end);
}

static void smmu_release(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm)
{
	struct vmlab_smmu *s = mn_smmu(mn);
	(void)mm;
	assert(mm == s->mm);
	/* arm_smmu_mm_release(): the context descriptor stops translating;
	 * faults are no longer answered. */
	s->released = true;
	tlb_inv_all(s);
	s->st.cmd_tlbi++;
	s->st.asid_invalidations++;
}

static const struct vmlab_mmu_notifier_ops smmu_mn_ops = {
	.release = smmu_release,
	.arch_invalidate_secondary_tlbs = smmu_inv_secondary,
};

void vmlab_smmu_broadcast_tlbi(struct vmlab_smmu *s, struct vmlab_mm *mm,
			       u64 start, u64 end)
{
	if (!smmu_ok(s) || !s->btm || mm != s->mm || !mm || start >= end)
		return;
	s->st.btm_invalidations++;
	tlb_inv_range(s, start, end);
}

/* BTM: the machine's inner-shareable TLBIs (observer.h tlb_inval with
 * broadcast set) reach the SMMU like any other PE in the domain. */
static void obs_tlb_inval(void *ctx, struct vmlab_machine *m,
			  const struct vmlab_tlb_inval *inv)
{
	struct vmlab_smmu *s = ctx;
	(void)m;
	assert(smmu_ok(s) && s->m == m);
	if (!inv->broadcast || !s->mm || s->released)
		return;
	if (inv->kind == VMLAB_INV_ALL) {
		s->st.btm_invalidations++;
		tlb_inv_all(s);
	} else if (inv->kind == VMLAB_INV_ASID && inv->mm == s->mm) {
		s->st.btm_invalidations++;
		tlb_inv_all(s);
	} else if (inv->kind == VMLAB_INV_VA &&
		   (inv->mm == s->mm || inv->all_asids)) {
		vmlab_smmu_broadcast_tlbi(s, s->mm, inv->va & VMLAB_PAGE_MASK,
					  (inv->va & VMLAB_PAGE_MASK) +
						  VMLAB_PAGE_SIZE);
	}
}

/* The checker came on: the inline hits of slots filled while it was off
 * would skip check_hit(), so the mirror starts empty (the device TLB
 * itself keeps its entries, stale ones included). */
static void obs_host_flush(void *ctx, struct vmlab_machine *m, const char *why)
{
	struct vmlab_smmu *s = ctx;
	(void)m;
	(void)why;
	assert(smmu_ok(s) && s->m == m);
	memset(s->fast.tag, 0, sizeof(s->fast.tag));
	assert(!s->fast.tag[VMLAB_WRITE][0]);
}

static const struct vmlab_observer smmu_observer = {
	.name = "smmu-btm",
	.tlb_inval = obs_tlb_inval,
	.host_flush = obs_host_flush,
};

static const struct vmlab_observer smmu_observer_nobtm = {
	.name = "smmu",
	.host_flush = obs_host_flush,
};

static const struct vmlab_observer *smmu_obs(const struct vmlab_smmu *s)
{
	return s->btm ? &smmu_observer : &smmu_observer_nobtm;
}

/* ---------------------------------------------------------- lifetime */

int vmlab_smmu_create(struct vmlab_machine *m,
		      const struct vmlab_smmu_config *cfg,
		      struct vmlab_smmu **out)
{
	if (!m || !out)
		return -VMLAB_EINVAL;
	struct vmlab_smmu_config c;
	if (cfg)
		c = *cfg;
	else
		vmlab_smmu_config_default(&c);
	u32 n = c.tlb_entries;
	if (n < WAYS || n > 4096 || (n & (n - 1)) || c.stale_retries < 1 ||
	    !c.name)
		return -VMLAB_EINVAL;
	struct vmlab_smmu *s = host_calloc(m, 1, sizeof(*s));
	if (!s)
		return -VMLAB_ENOMEM;
	s->sets = n / WAYS;
	s->tlb = host_calloc(m, n, sizeof(*s->tlb));
	s->victim = host_calloc(m, s->sets, sizeof(*s->victim));
	if (!s->tlb || !s->victim) {
		free(s->tlb);
		free(s->victim);
		free(s);
		return -VMLAB_ENOMEM;
	}
	s->magic = SMMU_MAGIC;
	s->m = m;
	s->cfg = c;
	s->reported_va = ~0ULL;
	/* BTM needs broadcast TLB maintenance: arm64's TLBI ... IS.  An x86
	 * IOMMU has nothing to snoop and depends on the notifier. */
	s->btm = c.btm && strcmp(m->arch->name, "x86_64") != 0;
	/* Snooping (BTM) and the checker's host_flush: an observer each. */
	int err = vmlab_observer_register(m, smmu_obs(s), s);
	if (err) {
		free(s->tlb);
		free(s->victim);
		free(s);
		return err == -VMLAB_ENOSPC ? -VMLAB_ENOMEM : err;
	}
	s->observing = true;
	*out = s;
	return 0;
}

void vmlab_smmu_destroy(struct vmlab_smmu *s)
{
	if (!smmu_ok(s))
		return;
	if (s->mm)
		vmlab_smmu_unbind(s);
	if (s->observing)
		vmlab_observer_unregister(s->m, smmu_obs(s), s);
	s->magic = 0;
	free(s->tlb);
	free(s->victim);
	free(s);
}

int vmlab_smmu_bind(struct vmlab_smmu *s, struct vmlab_mm *mm,
		    const struct vmlab_primary_ops *ops, void *ctx)
{
	if (!smmu_ok(s) || !mm || !ops || !ops->handle_fault)
		return -VMLAB_EINVAL;
	if (s->mm)
		return -VMLAB_EBUSY;
	s->mn = (struct vmlab_mmu_notifier){.ops = &smmu_mn_ops};
	int err = vmlab_mmu_notifier_register(s->m, &s->mn, mm);
	if (err)
		return err == -VMLAB_EEXIST ? -VMLAB_EBUSY : err;
	s->mm = mm;
	s->ops = ops;
	s->ops_ctx = ctx;
	s->released = false;
	s->fq_len = 0;
	tlb_inv_all(s); /* a new context: nothing cached */
	return 0;
}

int vmlab_smmu_unbind(struct vmlab_smmu *s)
{
	if (!smmu_ok(s))
		return -VMLAB_EINVAL;
	if (!s->mm)
		return -VMLAB_ENOENT;
	/* Unregister fails only if exit already tore the mm's state down. */
	(void)vmlab_mmu_notifier_unregister(s->m, &s->mn, s->mm);
	tlb_inv_all(s);
	s->mm = NULL;
	s->ops = NULL;
	s->fq_len = 0;
	return 0;
}

struct vmlab_mm *vmlab_smmu_mm(const struct vmlab_smmu *s)
{
	return smmu_ok(s) ? s->mm : NULL;
}

const char *vmlab_smmu_name(const struct vmlab_smmu *s)
{
	return smmu_ok(s) ? s->cfg.name : "?";
}

/* ----------------------------------------------------------- access */

static u8 perm_of(vmlab_pgprot_t prot)
{
	return (u8)((prot & VMLAB_PAGE_RW ? SE_W : 0) |
		    (prot & VMLAB_PAGE_NX ? 0 : SE_X));
}

/* The CPU page table's view of va: true and pfn/perm when a present
 * user leaf translates it. */
static bool cpu_view(struct vmlab_smmu *s, u64 va, u64 *pfn, u8 *perm,
		     int *level)
{
	u64 pa;
	vmlab_pgprot_t prot;
	int lvl;
	if (vmlab_translate(s->m, s->mm, va, &pa, &prot, &lvl))
		return false;
	if (!(prot & VMLAB_PAGE_PRESENT) || !(prot & VMLAB_PAGE_USER))
		return false;
	*pfn = pa >> VMLAB_PAGE_SHIFT;
	*perm = perm_of(prot);
	if (level)
		*level = lvl;
	return true;
}

static void check_hit(struct vmlab_smmu *s, int cpu, const struct smmu_entry *e,
		      enum vmlab_access kind, u64 va)
{
	u64 pfn;
	u8 perm;
	bool ok = cpu_view(s, va, &pfn, &perm, NULL);
	if (ok && pfn == e->pfn && !(e->perm & ~perm))
		return;
	s->st.stale_hits++;
	vmlab_checker_report(
		s->m, VMLAB_CHECK_STALE_ACCESS, cpu, va, e->pfn, kind,
		"BUG: stale secondary TLB entry used by %s\n"
		"  %s of %#llx through the device TLB entry -> pfn %#llx %s "
		"(filled at event %llu)\n"
		"  CPU page table now: %s pfn %#llx %s\n"
		"  no invalidation reached the device since the entry changed",
		s->cfg.name, vmlab_access_name(kind), (unsigned long long)va,
		(unsigned long long)e->pfn, e->perm & SE_W ? "RW" : "RO",
		(unsigned long long)e->fill_seq, ok ? "present" : "none",
		ok ? (unsigned long long)pfn : 0ULL,
		ok ? (perm & SE_W ? "RW" : "RO") : "-");
}

static void queue_fault(struct vmlab_smmu *s, int cpu, u64 va,
			enum vmlab_access kind, const struct smmu_entry *stale)
{
	assert(s->mm && (unsigned)kind < VMLAB_NR_ACCESS);
	assert(s->fq_len <= FQ_SIZE);
	s->st.faults++;
	s->st.sim_ns += s->cfg.cost.iopf;
	u64 pfn;
	u8 perm;
	if (cpu_view(s, va, &pfn, &perm, NULL) && perm_allows(perm, kind)) {
		/* The CPU already grants it: the device only faults because
		 * its TLB keeps an older, narrower entry. */
		s->st.stale_faults++;
		if (s->stale_va != (va & VMLAB_PAGE_MASK)) {
			s->stale_va = va & VMLAB_PAGE_MASK;
			s->stale_count = 0;
		}
		if (++s->stale_count >= s->cfg.stale_retries &&
		    s->reported_va != s->stale_va) {
			const char *how = "?";
			bool notified = false;
			u64 seq = 0;
			bool up = vmlab_mmu_notifier_last_upgrade(
				s->m, s->mm, va, &how, &notified, &seq);
			s->reported_va = s->stale_va;
			vmlab_checker_report(
				s->m, VMLAB_CHECK_SECONDARY_STALE, cpu, va,
				stale ? stale->pfn : pfn, kind,
				"BUG: %s keeps faulting on a translation the "
				"CPU grants (livelock)\n"
				"  %s of %#llx faulted %d times; the CPU PTE maps "
				"pfn %#llx %s\n"
				"  stale device TLB entry: pfn %#llx %s, filled "
				"at event %llu\n"
				"  last upgrade of the page: %s at event %llu, "
				"%s (upgrade_notify=%s)",
				s->cfg.name, vmlab_access_name(kind),
				(unsigned long long)va, s->stale_count,
				(unsigned long long)pfn,
				perm & SE_W ? "RW" : "RO",
				stale ? (unsigned long long)stale->pfn : 0ULL,
				stale ? (stale->perm & SE_W ? "RW" : "RO") :
					"none",
				stale ? (unsigned long long)stale->fill_seq :
					0ULL,
				up ? how : "none recorded",
				(unsigned long long)seq,
				up ? (notified ? "secondary MMUs notified" :
						 "no invalidation was sent") :
				     "-",
				vmlab_upgrade_notify_name(
					vmlab_get_upgrade_notify(s->m)));
		}
	} else {
		s->stale_count = 0;
	}
	if (s->fq_len == FQ_SIZE)
		return; /* queue full: the request is lost, the device retries */
	s->fq[(s->fq_head + s->fq_len++) % FQ_SIZE] =
		(struct fault_rec){va & VMLAB_PAGE_MASK, kind};
}

int vmlab_smmu_translate_slow(struct vmlab_smmu *s, int cpu,
			      enum vmlab_access kind, u64 va, u64 *out)
{
	if (!smmu_ok(s) || (unsigned)kind >= VMLAB_NR_ACCESS ||
	    va >= vmlab_user_va_end(s->m) || !out)
		return -VMLAB_EINVAL;
	if (!s->mm || s->released)
		return -VMLAB_EIO; /* unbound, or the mm exited */
	struct vmlab_machine *m = s->m;
	u64 vpn = va >> VMLAB_PAGE_SHIFT;
	s->st.accesses++;
	struct smmu_entry *e = tlb_lookup(s, vpn);
	if (e) {
		if (likely(perm_allows(e->perm, kind))) {
			s->st.tlb_hits++;
			s->st.sim_ns += s->cfg.cost.tlb_hit;
			if (unlikely(vmlab_checker_enabled(m)))
				check_hit(s, cpu, e, kind, va);
			goto hit;
		}
		if (!m->arch->spurious_fault_ok) {
			/* arm64: a permission fault from the cached entry;
			 * nothing drops it but an invalidation. */
			queue_fault(s, cpu, va, kind, e);
			return -VMLAB_EFAULT;
		}
		/* x86 rule: the failed check drops the entry; walk again. */
		s->st.spurious_rewalks++;
		tlb_drop(s, e);
		e = NULL;
	}
	s->st.tlb_misses++;
	s->st.walks++;
	u64 pfn;
	u8 perm;
	int level = 0;
	bool present = cpu_view(s, va, &pfn, &perm, &level);
	u64 levels = (u64)(VMLAB_NR_LEVELS - (present ? level : 0));
	s->st.walk_levels += levels;
	s->st.sim_ns += s->cfg.cost.walk_level * (double)levels;
	if (!present || !perm_allows(perm, kind)) {
		queue_fault(s, cpu, va, kind, NULL);
		return -VMLAB_EFAULT;
	}
	/* Leaf translations only, at 4 KiB granularity. */
	tlb_fill(s, vpn, pfn, perm);
	e = tlb_lookup(s, vpn);
hit:
	s->stale_count = 0;
	*out = (e->pfn << VMLAB_PAGE_SHIFT) | (va & ~VMLAB_PAGE_MASK);
	return 0;
}

int vmlab_smmu_access(struct vmlab_smmu *s, int cpu, enum vmlab_access kind,
		      u64 va, void *buf, size_t len)
{
	if (!smmu_ok(s) || !len || (va & ~VMLAB_PAGE_MASK) + len > VMLAB_PAGE_SIZE)
		return -VMLAB_EINVAL;
	u64 pa;
	int r = vmlab_smmu_translate(s, cpu, kind, va, &pa);
	if (r)
		return r;
	if (kind == VMLAB_WRITE && buf)
		vmlab_phys_write(s->m, pa, buf, len);
	else if (buf)
		vmlab_phys_read(s->m, pa, buf, len);
	return 0;
}

int vmlab_smmu_service_faults(struct vmlab_smmu *s, int cpu)
{
	if (!smmu_ok(s) || !s->mm)
		return 0;
	int ok = 0;
	assert(s->fq_len <= FQ_SIZE && s->ops);
	while (s->fq_len) {
		struct fault_rec f = s->fq[s->fq_head];
		s->fq_head = (s->fq_head + 1) % FQ_SIZE;
		s->fq_len--;
		if (s->released) {
			s->st.iopf_failed++;
			continue;
		}
		/* iommu_sva_handle_iopf(): handle_mm_fault() on the mm. */
		sched_point(s->m, cpu, "iopf handle_mm_fault");
		if (s->ops->handle_fault(s->ops_ctx, cpu, f.va, f.kind)) {
			s->st.iopf_failed++;
			continue;
		}
		s->st.iopf_ok++;
		ok++;
	}
	return ok;
}

int vmlab_smmu_dma(struct vmlab_smmu *s, int cpu, enum vmlab_access kind,
		   u64 va, void *buf, size_t len, int max_tries, int *tries)
{
	int t = 0, r = -VMLAB_EINVAL;
	if (max_tries < 1)
		max_tries = 1;
	while (t < max_tries) {
		if (t)
			s->st.retries++;
		t++;
		r = vmlab_smmu_access(s, cpu, kind, va, buf, len);
		if (!r)
			s->stale_count = 0;
		if (r != -VMLAB_EFAULT)
			break;
		u64 failed = s->st.iopf_failed;
		vmlab_smmu_service_faults(s, cpu);
		if (s->st.iopf_failed != failed)
			break; /* invalid page response: the DMA fails */
		sched_point(s->m, cpu, "smmu retry");
	}
	if (tries)
		*tries = t;
	return r;
}

void vmlab_smmu_stats(const struct vmlab_smmu *s, struct vmlab_smmu_stats *out)
{
	if (!smmu_ok(s) || !out)
		return;
	*out = s->st;
	/* Inline fast-path hits are counted by the fast path alone. */
	out->accesses += s->fast.hits;
	out->tlb_hits += s->fast.hits;
	out->sim_ns += s->cfg.cost.tlb_hit * (double)s->fast.hits;
}

void vmlab_smmu_stats_reset(struct vmlab_smmu *s)
{
	if (smmu_ok(s)) {
		memset(&s->st, 0, sizeof(s->st));
		s->fast.hits = 0;
	}
}
