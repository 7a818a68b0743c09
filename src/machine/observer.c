/* SPDX-License-Identifier: MIT */
/*
 * Observer registry (include/vmlab/observer.h): upper layers register
 * callback tables here; the event sites in the machine test one mask bit
 * and dispatch through OBS_CALL (internal.h).
 */
#include "internal.h"

static u32 ops_mask(const struct vmlab_observer *o)
{
	u32 mk = 0;
	mk |= o->entry_store ? 1u << OBS_ENTRY_STORE : 0;
	mk |= o->tlb_fill ? 1u << OBS_TLB_FILL : 0;
	mk |= o->tlb_drop ? 1u << OBS_TLB_DROP : 0;
	mk |= o->tlb_inval ? 1u << OBS_TLB_INVAL : 0;
	mk |= o->watched_hit ? 1u << OBS_WATCHED_HIT : 0;
	mk |= o->pwc_use ? 1u << OBS_PWC_USE : 0;
	mk |= o->frame_alloc ? 1u << OBS_FRAME_ALLOC : 0;
	mk |= o->frame_free ? 1u << OBS_FRAME_FREE : 0;
	mk |= o->pgtable_free ? 1u << OBS_PGTABLE_FREE : 0;
	mk |= o->pgtable_wild ? 1u << OBS_PGTABLE_WILD : 0;
	mk |= o->access ? 1u << OBS_ACCESS : 0;
	mk |= o->mm_flush ? 1u << OBS_MM_FLUSH : 0;
	mk |= o->host_flush ? 1u << OBS_HOST_FLUSH : 0;
	assert(mk < (1u << OBS_NR_EVENTS));
	return mk;
}

/* Which TLB fills and drops reach observers (tlb_marked_only). */
static void obs_tlb_filters(struct vmlab_machine *m)
{
	u8 fill = 0, drop_all = 0;
	for (int i = 0; i < m->nr_obs; i++) {
		const struct vmlab_observer *o = m->obs[i].ops;
		if (o->tlb_fill)
			fill |= o->tlb_marked_only ? m->obs[i].fill_mask : 0xff;
		drop_all |= o->tlb_drop && !o->tlb_marked_only;
	}
	m->obs_fill_mask = fill;
	m->obs_drop_all = drop_all;
	assert(m->nr_obs > 0 || (!fill && !drop_all));
}

/* Recompute the event mask; switching access watching on or off changes
 * the fast-path tag form, so every CPU's fast path starts empty. */
static void obs_update(struct vmlab_machine *m)
{
	u32 mk = 0;
	for (int i = 0; i < m->nr_obs; i++)
		mk |= ops_mask(m->obs[i].ops);
	m->obs_mask = mk;
	obs_tlb_filters(m);
	/* Inline shadow checks: only if every access observer promises one,
	 * with one offset. */
	u64 off = 0;
	bool inline_ok = true;
	for (int i = 0; i < m->nr_obs; i++) {
		const struct vmlab_observer *o = m->obs[i].ops;
		if (!o->access)
			continue;
		inline_ok &= o->inline_shadow_offset &&
			     (!off || off == o->inline_shadow_offset);
		off = o->inline_shadow_offset;
	}
	off = inline_ok ? off : 0;
	u64 watch = (mk & (1u << OBS_ACCESS)) ? FAST_TAG_WATCH : 0;
	if (watch != m->fast_watch || off != m->fast.shadow_offset) {
		m->fast_watch = watch;
		m->fast.shadow_offset = off;
		for (int i = 0; i < m->nr_cpus; i++) {
			m->cpu[i].shadow_off = off;
			fast_flush(&m->cpu[i]);
		}
	}
	assert(m->nr_obs >= 0 && m->nr_obs <= VMLAB_MAX_OBSERVERS);
}

int vmlab_observer_register(struct vmlab_machine *m,
			    const struct vmlab_observer *ops, void *ctx)
{
	if (!m || !ops)
		return -VMLAB_EINVAL;
	for (int i = 0; i < m->nr_obs; i++)
		if (m->obs[i].ops == ops && m->obs[i].ctx == ctx)
			return -VMLAB_EBUSY;
	if (m->nr_obs == VMLAB_MAX_OBSERVERS) {
		vmlab_warn(m, "observer_register: %s: no free slot",
			   ops->name ? ops->name : "?");
		return -VMLAB_ENOSPC;
	}
	m->obs[m->nr_obs++] = (struct obs_slot){ops, ctx, 0};
	obs_update(m);
	assert((m->obs_mask & ops_mask(ops)) == ops_mask(ops));
	return 0;
}

int vmlab_observer_unregister(struct vmlab_machine *m,
			      const struct vmlab_observer *ops, void *ctx)
{
	if (!m || !ops)
		return -VMLAB_EINVAL;
	for (int i = 0; i < m->nr_obs; i++) {
		if (m->obs[i].ops != ops || m->obs[i].ctx != ctx)
			continue;
		/* Keep registration order for the rest (determinism). */
		for (int j = i + 1; j < m->nr_obs; j++)
			m->obs[j - 1] = m->obs[j];
		m->nr_obs--;
		m->obs[m->nr_obs] = (struct obs_slot){0};
		obs_update(m);
		return 0;
	}
	return -VMLAB_ENOENT;
}

void obs_set_fill_mask(struct vmlab_machine *m,
		       const struct vmlab_observer *ops, void *ctx, u8 mask)
{
	assert(ops && ops->tlb_marked_only);
	for (int i = 0; i < m->nr_obs; i++) {
		if (m->obs[i].ops != ops || m->obs[i].ctx != ctx)
			continue;
		m->obs[i].fill_mask = mask;
		obs_tlb_filters(m);
		assert(!ops->tlb_fill || (m->obs_fill_mask & mask) == mask);
		return;
	}
	assert(!"obs_set_fill_mask: observer not registered");
}

void vmlab_host_fast_flush(struct vmlab_machine *m, const char *why)
{
	assert(m && why);
	for (int i = 0; i < m->nr_cpus; i++)
		fast_flush(&m->cpu[i]);
	if (obs_on(m, OBS_HOST_FLUSH))
		OBS_CALL(m, host_flush, why);
	assert(!m->nr_cpus || m->cpu[0].fast[VMLAB_READ][0].tag == 0);
}

void obs_inval(struct vmlab_machine *m, int cpu, enum vmlab_inval_kind kind,
	       bool broadcast, u64 va, u16 asid)
{
	assert(vmlab_cpu_valid(m, cpu));
	struct vmlab_tlb_inval inv = {
		.kind = kind,
		.cpu = cpu,
		.broadcast = broadcast,
		.va = va,
		.asid = asid,
		.mm = kind == VMLAB_INV_ALL ?
			      NULL :
			      cpu_mm_of_pcid(m, &m->cpu[cpu], asid),
	};
	OBS_CALL(m, tlb_inval, &inv);
}

void vmlab_tlbe_info(const struct vmlab_tlbe *te, struct vmlab_tlb_info *out)
{
	const struct tlb_entry *e = tlbe(te);
	assert(e->flags & TLBF_VALID);
	*out = (struct vmlab_tlb_info){
		.va = tlb_entry_va(e),
		.pfn = e->pfn,
		.level = e->level,
		.asid = e->pcid,
		.global = e->flags & TLBF_G,
		.write = e->flags & TLBF_W,
		.exec = e->flags & TLBF_X,
		.user = e->flags & TLBF_U,
		.dirty = e->flags & TLBF_D,
	};
}

void vmlab_tlbe_watch(struct vmlab_machine *m, int cpu, struct vmlab_tlbe *te)
{
	struct tlb_entry *e = tlbe(te);
	assert(vmlab_cpu_valid(m, cpu) && (e->flags & TLBF_VALID));
	if (e->flags & TLBF_STALE)
		return;
	e->flags |= TLBF_STALE;
	/* The host fast path may mirror it: a watched entry must be seen. */
	u64 start = tlb_entry_va(e);
	fast_drop_range(&m->cpu[cpu], start,
			start + vmlab_level_size(e->level));
}
