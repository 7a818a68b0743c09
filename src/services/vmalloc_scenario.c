/* SPDX-License-Identifier: MIT */
/*
 * The claim of seeds/vm-flush-reset-perms.txt as a measurement: freeing
 * memory that was RO+X (a BPF JIT image, a module's text) with
 * VM_FLUSH_RESET_PERMS costs one TLB flush and opens no window in which
 * a frame is writable through one alias while executable through another;
 * the ways it was done before cost more flushes, and some open the window.
 *
 * Where the window is.  In the order the issue names (set_memory_nx, then
 * set_memory_rw, then vfree) there is none: set_memory_nx flushes before
 * set_memory_rw makes anything writable.  That order is the fallback the
 * seed keeps for architectures without set_alias_*() precisely because it
 * has no RW+X window; its price is a flush per call.  The window is in
 * what callers did before the flag existed: BPF freed its images with
 * bpf_jit_binary_unlock_ro() = set_memory_rw() alone, making the vmalloc
 * alias RW+X (and the direct-map alias RW while another CPU may still
 * hold the executable one in its iTLB, until CPA's flush); set_memory_rw
 * before set_memory_nx opens the same window until the second call.
 * Both are offered, beside the literal order and the flag.
 */
#include <stdlib.h>

#include "vmlab/checker.h"
#include "services/vmalloc_internal.h"
#include "vmlab/directmap.h"

#define FRP_CODE_BYTE 0xcc /* int3: what a JIT pads with */

static const char *const frp_names[VMLAB_NR_FRP_WAYS] = {
    [VMLAB_FRP_FLUSH_RESET_PERMS] = "VM_FLUSH_RESET_PERMS",
    [VMLAB_FRP_OLD_NX_RW] = "set_memory_nx+rw, vfree",
    [VMLAB_FRP_OLD_RW_NX] = "set_memory_rw+nx, vfree",
    [VMLAB_FRP_OLD_RW] = "set_memory_rw, vfree (pre-2019 BPF)",
};

const char *vmlab_frp_way_name(enum vmlab_frp_way way)
{
	return (unsigned)way < VMLAB_NR_FRP_WAYS ? frp_names[way] : "?";
}

static int frp_pages(int i)
{
	return 1 + (i & 1);
}

/* bpf_jit_binary_alloc() + JIT + bpf_jit_binary_lock_ro(), then a run. */
static int frp_load_one(struct vmlab_machine *m, int i, int runner, u64 *addr)
{
	u8 code[256]; /* the JIT emits the image a chunk at a time */
	int pages = frp_pages(i);
	u8 insn[16];

	assert(addr && runner > 0);
	assert(pages >= 1 && pages <= 2);
	memset(code, FRP_CODE_BYTE, sizeof(code));
	const struct vmlab_va_layout *l = vmlab_layout(m);
	*addr = vmlab_vmalloc_node_range(m, 0, (u64)pages * VMLAB_PAGE_SIZE,
					 VMLAB_PAGE_SIZE, l->modules_vaddr,
					 l->modules_end, VMLAB_PAGE_KERNEL,
					 0, "bpf_jit_binary_alloc");
	if (!*addr)
		return -VMLAB_ENOMEM;
	for (u64 off = 0; off < (u64)pages * VMLAB_PAGE_SIZE; off += sizeof(code))
		if (vmlab_write(m, 0, *addr + off, code, sizeof(code), NULL))
			return -VMLAB_EINVAL;
	if (vmlab_set_memory_ro(m, 0, *addr, pages) ||
	    vmlab_set_memory_x(m, 0, *addr, pages))
		return -VMLAB_EINVAL;
	for (int p = 0; p < pages; p++)
		if (vmlab_fetch(m, runner, *addr + (u64)p * VMLAB_PAGE_SIZE,
				insn, sizeof(insn), NULL))
			return -VMLAB_EINVAL;
	return 0;
}

static void frp_free_one(struct vmlab_machine *m, int i, u64 addr,
			 enum vmlab_frp_way way)
{
	int pages = frp_pages(i);

	assert(addr && vmlab_find_vm_area(m, addr));
	switch (way) {
	case VMLAB_FRP_FLUSH_RESET_PERMS:
		vmlab_set_vm_flush_reset_perms(m, addr);
		break;
	case VMLAB_FRP_OLD_NX_RW:
		vmlab_set_memory_nx(m, 0, addr, pages);
		vmlab_set_memory_rw(m, 0, addr, pages);
		break;
	case VMLAB_FRP_OLD_RW_NX:
		vmlab_set_memory_rw(m, 0, addr, pages);
		vmlab_set_memory_nx(m, 0, addr, pages);
		break;
	default:
		vmlab_set_memory_rw(m, 0, addr, pages);
		break;
	}
	vmlab_vfree(m, 0, addr);
}

static void frp_fill(const struct vmlab_machine *m,
		     const struct vmlab_counters *before, const size_t *rep0,
		     struct vmlab_frp_result *out)
{
	struct vmlab_counters after;

	assert(m && before && rep0 && out);
	vmlab_counters_snapshot(m, &after);
	vmlab_counters_diff(&after, before, &out->delta);
	out->flushes = out->delta.v[VMLAB_C_flush_kernel_range] +
		       out->delta.v[VMLAB_C_flush_kernel_range_full] +
		       out->delta.v[VMLAB_C_flush_all];
	out->ipis = out->delta.v[VMLAB_C_ipi_sent];
	out->pages_invalidated = out->delta.v[VMLAB_C_pages_invalidated];
	out->entries_dropped = out->delta.v[VMLAB_C_tlb_entries_dropped];
	out->time_ns = out->delta.time_ns;
	out->wx_reports =
	    vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS) - rep0[0];
	out->stale_reports =
	    vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS) - rep0[1];
	out->freed_reports =
	    vmlab_nr_reports_of(m, VMLAB_CHECK_FREED_FRAME_REACHABLE) - rep0[2];
	assert(out->wx_reports + out->stale_reports + out->freed_reports <=
	       vmlab_nr_reports(m));
	assert(out->time_ns >= 0);
}

int vmlab_scenario_flush_reset_perms(struct vmlab_machine *m, int n,
				     enum vmlab_frp_way way,
				     struct vmlab_frp_result *out)
{
	struct vmlab_counters before;
	size_t rep0[3];
	u64 *addrs;
	int err = 0, loaded = 0;

	if (!m || !vm_state(m) || n <= 0 ||
	    (unsigned)way >= VMLAB_NR_FRP_WAYS || !out || vmlab_nr_cpus(m) < 2)
		return -VMLAB_EINVAL;
	memset(out, 0, sizeof(*out));
	addrs = calloc((size_t)n, sizeof(*addrs));
	if (!addrs)
		return -VMLAB_ENOMEM;
	for (; loaded < n && !err; loaded++)
		err = frp_load_one(m, loaded, vmlab_nr_cpus(m) - 1,
				   &addrs[loaded]);
	assert(err || loaded == n);
	/* The free phase alone is measured: nothing left over from setup. */
	vmlab_purge_vmap_area_lazy(m, 0);
	rep0[0] = vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS);
	rep0[1] = vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS);
	rep0[2] = vmlab_nr_reports_of(m, VMLAB_CHECK_FREED_FRAME_REACHABLE);
	vmlab_counters_snapshot(m, &before);
	for (int i = 0; i < loaded; i++)
		if (addrs[i])
			frp_free_one(m, i, addrs[i],
				     err ? VMLAB_FRP_OLD_NX_RW : way);
	/* "Later": the purge worker, or the next purge, flushes the rest. */
	vmlab_run_work(m, 0, 1 << 20);
	vmlab_purge_vmap_area_lazy(m, 0);
	assert(vmlab_vmap_lazy_nr(m) == 0);
	frp_fill(m, &before, rep0, out);
	free(addrs);
	return err;
}
