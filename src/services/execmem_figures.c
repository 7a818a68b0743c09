/* SPDX-License-Identifier: MIT */
/*
 * The BPF-like workload of issue 13 and its figures: load N programs of
 * S JIT bytes (execmem_alloc, write the image, finalize), run them (one
 * instruction fetch per cache line, up to fetch_bytes, per program per
 * round, round-robin on every CPU), unload them in a seeded random
 * order; count iTLB entries covering the text, iTLB misses and walks,
 * direct-map splits, bytes wasted, pokes, flushes, IPIs and time.
 */
#include <stdlib.h>

#include "services/execmem_internal.h"

static u64 flushes_of(const struct vmlab_counters *c)
{
	return c->v[VMLAB_C_flush_kernel_range] +
	       c->v[VMLAB_C_flush_kernel_range_full] + c->v[VMLAB_C_flush_all] +
	       c->v[VMLAB_C_flush_mm_range] + c->v[VMLAB_C_flush_mm_range_full];
}

/* A JIT image: a prologue-like byte pattern ending in ret, program i's. */
static void jit_image(u8 *buf, u32 size, u32 i)
{
	for (u32 k = 0; k < size; k++)
		buf[k] = (u8)(0x48 + ((k * 7 + i) % 23));
	buf[size - 1] = 0xc3;
}

/* One program (and its module sections) in slot i of addrs (3 per
 * program: text, rodata, data; 0 when absent). */
static int load_one(struct vmlab_machine *m,
		    const struct vmlab_execmem_workload *w, u64 *addrs, u32 i,
		    u8 *img, u32 seq)
{
	u64 *a = &addrs[3 * (u64)i];
	a[0] = vmlab_execmem_alloc(m, 0, w->type, w->size);
	if (!a[0])
		return -VMLAB_ENOMEM;
	jit_image(img, w->size, seq);
	int err = vmlab_execmem_update_copy(m, 0, a[0], 0, img, w->size);
	if (!err)
		err = vmlab_execmem_finalize(m, 0, a[0]);
	if (err || !w->modules)
		return err;
	u32 ro = w->size / 2 > 64 ? w->size / 2 : 64;
	u32 rw = w->size / 4 > 64 ? w->size / 4 : 64;
	a[1] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_DATA, ro);
	a[2] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_DATA, rw);
	if (!a[1] || !a[2])
		return -VMLAB_ENOMEM;
	/* The loader writes the sections, then module_enable_rodata_ro(). */
	err = vmlab_execmem_update_copy(m, 0, a[1], 0, img, ro);
	if (!err)
		err = vmlab_execmem_update_copy(m, 0, a[2], 0, img, rw);
	if (!err)
		err = vmlab_set_memory_ro(m, 0, a[1],
					  (int)((ro + VMLAB_PAGE_SIZE - 1) >>
						VMLAB_PAGE_SHIFT));
	return err;
}

static void unload_one(struct vmlab_machine *m, u64 *addrs, u32 i)
{
	for (int k = 0; k < 3; k++) {
		u64 *a = &addrs[3 * (u64)i + (u64)k];
		if (*a)
			(void)vmlab_execmem_free(m, 0, *a);
		*a = 0;
	}
}

static int load(struct vmlab_machine *m, const struct vmlab_execmem_workload *w,
		u64 *addrs)
{
	u8 *img = malloc(w->size > 64 ? w->size : 64);
	if (!img)
		return -VMLAB_ENOMEM;
	int err = 0;
	for (u32 i = 0; i < w->programs && !err; i++)
		err = load_one(m, w, addrs, i, img, i);
	/* The mixed churn: a random program goes, a new one comes. */
	for (u32 k = 0; k < w->churn && !err; k++) {
		u32 i = (u32)vmlab_rand_below(m, w->programs);
		unload_one(m, addrs, i);
		err = load_one(m, w, addrs, i, img, w->programs + k);
	}
	free(img);
	return err;
}

static void run_programs(struct vmlab_machine *m,
			 const struct vmlab_execmem_workload *w,
			 const u64 *addrs)
{
	u32 bytes = w->fetch_bytes < w->size ? w->fetch_bytes : w->size;
	for (u32 r = 0; r < w->rounds; r++)
		for (int c = 0; c < vmlab_nr_cpus(m); c++)
			for (u32 i = 0; i < w->programs; i++)
				for (u32 off = 0; off < bytes; off += 64)
					(void)vmlab_touch(m, c, VMLAB_FETCH,
							  addrs[3 * (u64)i] +
							      off,
							  0, NULL);
}

static void unload(struct vmlab_machine *m,
		   const struct vmlab_execmem_workload *w, u64 *addrs)
{
	/* A seeded random order (Fisher-Yates over program numbers). */
	u32 *order = malloc(w->programs * sizeof(*order));
	for (u32 i = 0; order && i < w->programs; i++)
		order[i] = i;
	for (u32 i = w->programs; order && i > 1; i--) {
		u32 j = (u32)vmlab_rand_below(m, i);
		u32 t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	for (u32 i = 0; i < w->programs; i++)
		unload_one(m, addrs, order ? order[i] : i);
	free(order);
	vmlab_run_work(m, 0, 1 << 20);
	vmlab_purge_vmap_area_lazy(m, 0);
}

int vmlab_execmem_run_workload(struct vmlab_machine *m,
			       const struct vmlab_execmem_workload *w,
			       struct vmlab_execmem_figures *out)
{
	if (!m || !w || !out || !w->programs || !w->size ||
	    w->size > (vmlab_layout(m)->modules_end -
		       vmlab_layout(m)->modules_vaddr) / 4 || w->programs > (1u << 22) ||
	    (unsigned)w->type >= VMLAB_EXECMEM_TYPE_MAX ||
	    !xm_is_text(w->type))
		return -VMLAB_EINVAL;
	memset(out, 0, sizeof(*out));
	u64 *addrs = calloc(3 * (size_t)w->programs, sizeof(*addrs));
	if (!addrs)
		return -VMLAB_ENOMEM;
	struct vmlab_counters c0, c1, c2, d;
	struct vmlab_directmap_stats dm0, dm1;
	vmlab_directmap_stats(m, &dm0);
	vmlab_counters_snapshot(m, &c0);
	size_t rep0[VMLAB_NR_CHECKS];
	for (int k = 0; k < VMLAB_NR_CHECKS; k++)
		rep0[k] = vmlab_nr_reports_of(m, (enum vmlab_check)k);
	int err = load(m, w, addrs);
	if (!err) {
		struct vmlab_directmap_stats now;
		vmlab_directmap_stats(m, &now);
		out->dm_4k = now.directmap_4k;
		out->dm_2m = now.directmap_2m;
		out->dm_1g = now.directmap_1g;
		out->split_l2 = now.level2_splits - dm0.level2_splits;
		out->split_l3 = now.level3_splits - dm0.level3_splits;
		vmlab_execmem_text_cover(m, &out->itlb_4k, &out->itlb_2m);
		struct vmlab_execmem_stats st;
		vmlab_execmem_stats(m, &st);
		out->wasted_bytes = st.wasted_bytes;
		out->reserved_bytes = st.reserved_bytes;
		out->nr_packs = st.nr_packs;
		out->nr_areas = st.nr_vmalloc_areas;
		vmlab_counters_snapshot(m, &c1);
		run_programs(m, w, addrs);
		vmlab_counters_snapshot(m, &c2);
		vmlab_counters_diff(&c2, &c1, &d);
		out->itlb_miss = d.v[VMLAB_C_itlb_miss];
		out->walks = d.v[VMLAB_C_walk];
		if (w->unload)
			unload(m, w, addrs);
	} else {
		/* Give back what loaded. */
		for (u32 i = 0; i < w->programs; i++)
			unload_one(m, addrs, i);
	}
	struct vmlab_counters c3;
	vmlab_counters_snapshot(m, &c3);
	vmlab_counters_diff(&c3, &c0, &d);
	vmlab_directmap_stats(m, &dm1);
	out->split_l2_all = dm1.level2_splits - dm0.level2_splits;
	out->split_l3_all = dm1.level3_splits - dm0.level3_splits;
	struct vmlab_execmem_stats st;
	vmlab_execmem_stats(m, &st);
	out->text_pokes = st.text_pokes;
	out->bytes_poked = st.bytes_poked;
	out->temp_mm_switches = st.temp_mm_switches;
	out->poke_flushes = st.poke_flushes;
	out->flushes = flushes_of(&d);
	out->ipis = d.v[VMLAB_C_ipi_sent];
	out->time_ns = d.time_ns;
	out->wx_reports = vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS) -
			  rep0[VMLAB_CHECK_WX_ALIAS];
	out->stale_reports = vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS) -
			     rep0[VMLAB_CHECK_STALE_ACCESS];
	out->freed_reports =
	    vmlab_nr_reports_of(m, VMLAB_CHECK_FREED_FRAME_REACHABLE) -
	    rep0[VMLAB_CHECK_FREED_FRAME_REACHABLE];
	free(addrs);
	return err;
}
