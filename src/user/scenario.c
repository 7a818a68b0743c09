/* SPDX-License-Identifier: MIT */
/*
 * The guard-pages seed's claim as a scenario: n thread stacks of `pages`
 * pages, each with one guard page below it, made either the old way
 * (mmap + mprotect(PROT_NONE) of the guard page: a VMA per guard, and the
 * split keeps neighbouring stacks from merging) or with guard markers
 * (mmap + MADV_GUARD_INSTALL: the stacks merge into one VMA).  Reports the
 * VMAs and page-table pages added and what creating them cost.
 */
#include "user/uinternal.h"

static void verify(struct vmlab_user_mm *mm, const u64 *base, int n,
		   u64 len, struct vmlab_guard_stacks_result *out)
{
	assert(mm && base && n > 0 && len >= 2 * VMLAB_PAGE_SIZE);
	for (int i = 0; i < n; i++) {
		u8 b = 0;
		assert(base[i] && !(base[i] & (VMLAB_PAGE_SIZE - 1)));
		if (vmlab_user_read8(mm, 0, base[i], &b) == VMLAB_SIGSEGV)
			out->guard_sigsegv++;
		if (vmlab_user_write8(mm, 0, base[i] + len - 8, 0x5a) == VMLAB_OK)
			out->stack_ok++;
	}
}

int vmlab_scenario_guard_stacks(struct vmlab_machine *m, int n, int pages,
				bool markers,
				struct vmlab_guard_stacks_result *out)
{
	if (!m || !out || n <= 0 || pages <= 0 || n > (1 << 20) ||
	    pages > (1 << 20))
		return -VMLAB_EINVAL;
	memset(out, 0, sizeof(*out));
	out->n = n;
	out->pages = pages;
	out->markers = markers;
	struct vmlab_user_mm *mm;
	int err = vmlab_user_mm_create(m, &mm);
	if (err)
		return err;
	u64 *base = calloc((size_t)n, sizeof(*base));
	if (!base) {
		vmlab_user_mm_destroy(mm);
		return -VMLAB_ENOMEM;
	}
	vmlab_user_switch(mm, 0);
	u64 len = ((u64)pages + 1) << VMLAB_PAGE_SHIFT;
	u64 vmas0 = mm->map_count, sys0 = mm->ev.syscalls;
	struct vmlab_counters c0, c1, d;
	vmlab_counters_snapshot(m, &c0);
	double t0 = vmlab_user_sim_time_ns(mm);
	for (int i = 0; i < n && !err; i++) {
		s64 a = vmlab_mmap(mm, 0, len, VMLAB_PROT_READ | VMLAB_PROT_WRITE,
				   VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS, NULL,
				   0);
		if (a < 0) {
			err = (int)a;
			break;
		}
		base[i] = (u64)a;
		err = markers ? vmlab_madvise(mm, base[i], VMLAB_PAGE_SIZE,
					      VMLAB_MADV_GUARD_INSTALL) :
				vmlab_mprotect(mm, base[i], VMLAB_PAGE_SIZE,
					       VMLAB_PROT_NONE);
	}
	if (!err) {
		double t1 = vmlab_user_sim_time_ns(mm);
		assert(t1 >= t0 && mm->map_count >= vmas0);
		vmlab_counters_snapshot(m, &c1);
		vmlab_counters_diff(&c1, &c0, &d);
		out->vmas_added = mm->map_count - vmas0;
		out->pgtable_pages = count_pgtables(mm);
		out->syscalls = mm->ev.syscalls - sys0;
		out->flushes = d.v[VMLAB_C_flush_mm_range] +
			       d.v[VMLAB_C_flush_mm_range_full];
		out->ipis = d.v[VMLAB_C_ipi_sent];
		out->pte_writes = d.v[VMLAB_C_pte_write];
		out->sim_ns = t1 - t0;
		out->vmas_per_stack = (double)out->vmas_added / n;
		out->pgtable_pages_per_stack = (double)out->pgtable_pages / n;
		out->syscalls_per_stack = (double)out->syscalls / n;
		out->sim_ns_per_stack = out->sim_ns / n;
		assert(out->syscalls == 2 * (u64)n);
		verify(mm, base, n, len, out);
	}
	free(base);
	vmlab_user_mm_destroy(mm);
	return err;
}
