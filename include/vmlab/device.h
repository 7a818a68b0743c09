/* SPDX-License-Identifier: MIT */
/*
 * Secondary MMUs: devices with a TLB of their own (DESIGN §1, §2.6).
 *
 * SMMU (shared virtual addressing, drivers/iommu/arm/arm-smmu-v3 SVA, or
 * an x86 IOMMU SVA device): walks the CPU page table of the bound mm in the
 * CPU's format, caches leaf translations in its own TLB, and reports
 * translation and permission faults to a fault queue that is serviced like
 * the kernel's IOPF path (the primary MMU's fault handler on the mm, then a
 * page response and the device retries).  With broadcast TLB maintenance
 * (BTM) the CPU's broadcast invalidations of the mm's ASID also reach the
 * SMMU TLB; without it only the driver's notifier (CMD_TLBI) does.
 * The architecture's fault rule applies to the device as to the CPU: where
 * a stale, more restrictive entry only costs a spurious fault (x86), a
 * permission miss drops the entry and re-walks; on arm64 the device keeps
 * using it until it is invalidated.
 *
 * KVM-like stage 2: memslots map guest frames to a host user VA range; the
 * stage-2 table is filled on guest faults from the CPU PTE (writable only
 * if the CPU PTE is), zapped on invalidate_range_start, with KVM's
 * mmu_invalidate_seq / mmu_invalidate_in_progress retry protocol; aging
 * through clear_young / clear_flush_young / test_young.
 *
 * Both live in the notifiers layer: they see the mm only through its page
 * table and the notifier callbacks; faulting pages in (IOPF, gup) goes
 * through the primary_ops the upper layer that owns the mm supplies.
 */
#ifndef VMLAB_DEVICE_H
#define VMLAB_DEVICE_H

#include "mmu_notifier.h"

/* How a secondary MMU gets a page of the primary mm faulted in:
 * handle_mm_fault() for IOPF, get_user_pages() for KVM.  Returns 0 when
 * the fault was handled, non-zero (a signal or -errno) when it failed. */
struct vmlab_primary_ops {
	int (*handle_fault)(void *ctx, int cpu, u64 va, enum vmlab_access kind);
};

/* Simulated device costs in ns (model parameters, not measurements). */
struct vmlab_device_cost {
	double tlb_hit;    /* SMMU TLB / stage-2 hit */
	double walk_level; /* one table entry read by the device walker */
	double iopf;       /* PRI request -> handler -> page response */
	double cmd_tlbi;   /* one CMD_TLBI + CMD_SYNC */
	double kvm_exit;   /* stage-2 fault: exit, handle, re-enter */
	double kvm_zap;    /* one stage-2 PTE zapped */
	double kvm_flush;  /* remote TLB flush after a zap */
};
void vmlab_device_cost_default(struct vmlab_device_cost *c);

/* ------------------------------------------------------------- SMMU */

struct vmlab_smmu;

/*
 * The host fast path of the SMMU TLB, QEMU softmmu style: a direct-mapped
 * mirror of the entries' 4 KiB translations per access kind, the first
 * member of struct vmlab_smmu, so that a hit is a tag compare and one add
 * inline (addend = frame address - page address, as CPUTLBEntry.addend).
 * Filled only while the checker is off (with it on, every hit goes
 * through the checked path); every invalidation clears its slots, and so
 * does turning the checker on (observer.h host_flush).
 */
#define VMLAB_SMMU_FAST 64
struct vmlab_smmu_fast {
	/* vpn; 0 empty (page 0 is below mmap_min_addr: never mirrored) */
	u64 tag[VMLAB_NR_ACCESS][VMLAB_SMMU_FAST];
	/* frame's address - page's address (mod 2^64): pa = va + addend */
	u64 addend[VMLAB_NR_ACCESS][VMLAB_SMMU_FAST];
	u64 hits;                                  /* counted into stats */
};

struct vmlab_smmu_config {
	const char *name;  /* kept (a literal or long-lived string) */
	u32 tlb_entries;   /* 1..4096, default 128 */
	bool btm;          /* broadcast TLB maintenance */
	bool range_inv;    /* ARM_SMMU_FEAT_RANGE_INV */
	int stale_retries; /* faults on a granted VA before secondary-stale */
	struct vmlab_device_cost cost;
};
void vmlab_smmu_config_default(struct vmlab_smmu_config *c);

/* 0, -VMLAB_EINVAL (bad config), -VMLAB_ENOMEM. */
int vmlab_smmu_create(struct vmlab_machine *m,
		      const struct vmlab_smmu_config *cfg,
		      struct vmlab_smmu **out);
/* Unbinds first.  NULL is ignored. */
void vmlab_smmu_destroy(struct vmlab_smmu *s);
/* iommu_sva_bind_device(): share mm's page table (registers the SMMU's
 * MMU notifier).  -VMLAB_EINVAL (NULL, no fault handler, dead or kernel
 * mm), -VMLAB_EBUSY (already bound), -VMLAB_ENOMEM. */
int vmlab_smmu_bind(struct vmlab_smmu *s, struct vmlab_mm *mm,
		    const struct vmlab_primary_ops *ops, void *ctx);
/* -VMLAB_ENOENT when not bound. */
int vmlab_smmu_unbind(struct vmlab_smmu *s);
struct vmlab_mm *vmlab_smmu_mm(const struct vmlab_smmu *s);
const char *vmlab_smmu_name(const struct vmlab_smmu *s);

/* One DMA access of [va, va+len) within one page.  0; -VMLAB_EFAULT: a
 * fault was queued (serviced by vmlab_smmu_service_faults()); -VMLAB_EIO:
 * the bound mm is gone or the device is not bound; -VMLAB_EINVAL: bad
 * arguments (crossing a page, len 0, kernel address). */
int vmlab_smmu_access(struct vmlab_smmu *s, int cpu, enum vmlab_access kind,
		      u64 va, void *buf, size_t len);
/* Translate va for a DMA of kind: 0 and *pa, -VMLAB_EFAULT (a fault was
 * queued), -VMLAB_EIO, -VMLAB_EINVAL; no data moves. */
int vmlab_smmu_translate_slow(struct vmlab_smmu *s, int cpu,
			      enum vmlab_access kind, u64 va, u64 *pa);
static inline int vmlab_smmu_translate(struct vmlab_smmu *s, int cpu,
				       enum vmlab_access kind, u64 va, u64 *pa)
{
	struct vmlab_smmu_fast *f = (struct vmlab_smmu_fast *)(void *)s;
	u64 vpn = va >> VMLAB_PAGE_SHIFT;
	unsigned i = (unsigned)vpn & (VMLAB_SMMU_FAST - 1);
	if (__builtin_expect((unsigned)kind < VMLAB_NR_ACCESS &&
				     f->tag[kind][i] == vpn, 1)) {
		f->hits++;
		*pa = va + f->addend[kind][i];
		return 0;
	}
	return vmlab_smmu_translate_slow(s, cpu, kind, va, pa);
}
/* IOPF: service the queued faults on cpu; returns how many succeeded (a
 * failed one is answered with an invalid response: the DMA fails). */
int vmlab_smmu_service_faults(struct vmlab_smmu *s, int cpu);
/* A device that retries: access; on a fault, service it (a scheduling
 * point) and retry, up to max_tries accesses.  0, -VMLAB_EFAULT (the
 * fault handler refused, or max_tries ran out: *tries says which),
 * -VMLAB_EIO, -VMLAB_EINVAL. */
int vmlab_smmu_dma(struct vmlab_smmu *s, int cpu, enum vmlab_access kind,
		   u64 va, void *buf, size_t len, int max_tries, int *tries);

struct vmlab_smmu_stats {
	u64 accesses, tlb_hits, tlb_misses, walks, walk_levels;
	u64 faults;           /* fault records queued */
	u64 stale_faults;     /* ... on a VA the CPU page table grants */
	u64 iopf_ok, iopf_failed;
	u64 retries;          /* accesses re-issued after a fault */
	u64 spurious_rewalks; /* x86 rule: entry dropped, walked again */
	u64 notifier_calls;   /* arch_invalidate_secondary_tlbs calls */
	u64 cmd_tlbi;         /* invalidation commands issued */
	u64 asid_invalidations; /* whole-ASID commands */
	u64 btm_invalidations;  /* broadcast TLBIs snooped */
	u64 entries_dropped;
	u64 stale_hits;       /* checker: hits granting more than the PTE */
	double sim_ns;
};
void vmlab_smmu_stats(const struct vmlab_smmu *s, struct vmlab_smmu_stats *out);
void vmlab_smmu_stats_reset(struct vmlab_smmu *s);

/* BTM: a broadcast invalidation of [start, end) of mm's ASID reached the
 * interconnect (the machine layer's arm64 TLBI ... IS).  Wired to the
 * machine's observer where it exists; callable directly. */
void vmlab_smmu_broadcast_tlbi(struct vmlab_smmu *s, struct vmlab_mm *mm,
			       u64 start, u64 end);

/* -------------------------------------------------------------- KVM */

struct vmlab_kvm;

struct vmlab_kvm_config {
	const char *name;
	/* Skip the stage-2 zap for MMU_NOTIFY_PROTECTION_UPGRADE (a KVM
	 * that filters the seed's new event). */
	bool filter_upgrade;
	struct vmlab_device_cost cost;
};
void vmlab_kvm_config_default(struct vmlab_kvm_config *c);

/* The VM's memory is mm's (the VMM process).  -VMLAB_EINVAL (NULL, dead
 * or kernel mm, no fault handler), -VMLAB_ENOMEM. */
int vmlab_kvm_create(struct vmlab_machine *m,
		     const struct vmlab_kvm_config *cfg, struct vmlab_mm *mm,
		     const struct vmlab_primary_ops *ops, void *ctx,
		     struct vmlab_kvm **out);
void vmlab_kvm_destroy(struct vmlab_kvm *k);

#define VMLAB_KVM_MAX_MEMSLOTS 8
/* KVM_SET_USER_MEMORY_REGION: slot 0..7, guest frames [gfn, gfn+npages)
 * at host VA hva (page aligned, user half).  npages 0 deletes the slot.
 * -VMLAB_EINVAL, -VMLAB_EEXIST (overlaps another slot), -VMLAB_ENOMEM. */
int vmlab_kvm_set_memslot(struct vmlab_kvm *k, int slot, u64 gfn, u64 npages,
			  u64 hva);
/* A guest access of [gpa, gpa+len) within one page, on vCPU cpu: stage-2
 * hit, or a stage-2 fault handled like kvm_mmu_page_fault() (retrying
 * while an invalidation races).  0; -VMLAB_EFAULT (no memslot: MMIO,
 * or the host fault failed); -VMLAB_EIO (the mm is gone). */
int vmlab_kvm_guest_access(struct vmlab_kvm *k, int cpu,
			   enum vmlab_access kind, u64 gpa, void *buf,
			   size_t len);
/* Present stage-2 entries. */
u64 vmlab_kvm_nr_sptes(const struct vmlab_kvm *k);

struct vmlab_kvm_stats {
	u64 accesses, s2_hits;
	u64 s2_faults;       /* stage-2 faults (exits) */
	u64 fault_retries;   /* mmu_invalidate_retry said retry */
	u64 sptes_installed, sptes_zapped, zap_calls, remote_flushes;
	u64 upgrade_events, upgrade_filtered;
	u64 young_cleared;
	u64 invalidations;   /* invalidate_range_start calls seen */
	double sim_ns;
};
void vmlab_kvm_stats(const struct vmlab_kvm *k, struct vmlab_kvm_stats *out);
void vmlab_kvm_stats_reset(struct vmlab_kvm *k);

#endif
