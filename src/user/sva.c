/* SPDX-License-Identifier: MIT */
/*
 * Secondary MMUs bound to user address spaces: the primary-MMU side of
 * iommu_sva_bind_device() / iommu_sva_handle_iopf() (a device fault is
 * handle_mm_fault() on the mm) and of KVM's hva_to_pfn() slow path
 * (get_user_pages() faulting the page in).  The devices themselves live
 * in the notifiers layer and reach the mm only through these ops.
 */
#include "user/uinternal.h"
#include "vmlab/checker.h"
#include "vmlab/device.h"

int vmlab_user_handle_device_fault(struct vmlab_user_mm *mm, int cpu, u64 va,
				   enum vmlab_access kind)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	if (va >= TASK_SIZE_OF(mm) || !vmlab_cpu_valid(mm->m, cpu))
		return VMLAB_SIGSEGV;
	int code;
	vmlab_checker_set_op(mm->m, cpu, "iopf handle_mm_fault");
	/* A read never faults on a present PTE: PF_PROT is a write's. */
	return handle_mm_fault(mm, cpu, va, kind == VMLAB_WRITE,
			       kind == VMLAB_FETCH, false, &code);
}

static int user_device_fault(void *ctx, int cpu, u64 va,
			     enum vmlab_access kind)
{
	return vmlab_user_handle_device_fault(ctx, cpu, va, kind);
}

static const struct vmlab_primary_ops user_primary_ops = {
	.handle_fault = user_device_fault,
};

int vmlab_user_sva_bind(struct vmlab_smmu *s, struct vmlab_user_mm *mm)
{
	if (!s || !mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	return vmlab_smmu_bind(s, mm->hw, &user_primary_ops, mm);
}

int vmlab_user_kvm_create(struct vmlab_user_mm *mm,
			  const struct vmlab_kvm_config *cfg,
			  struct vmlab_kvm **out)
{
	if (!mm || mm->magic != USER_MM_MAGIC || !out)
		return -VMLAB_EINVAL;
	return vmlab_kvm_create(mm->m, cfg, mm->hw, &user_primary_ops, mm, out);
}

int vmlab_user_clear_young(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	if (!mm || mm->magic != USER_MM_MAGIC || start >= end)
		return -VMLAB_EINVAL;
	return vmlab_mmu_notifier_clear_young(mm->m, mm->hw, start, end);
}
