/* SPDX-License-Identifier: MIT */
/* Counters, the cost model, and the stats dump. */
#include "internal.h"

static const char *const counter_names[] = {
#define VMLAB_X_NAME(name) #name,
	VMLAB_COUNTERS(VMLAB_X_NAME)
#undef VMLAB_X_NAME
};

static_assert(ARRAY_SIZE(counter_names) == VMLAB_NR_COUNTERS,
	      "one name per counter");

const char *vmlab_counter_name(enum vmlab_counter c)
{
	return c < VMLAB_NR_COUNTERS ? counter_names[c] : "?";
}

u64 vmlab_counter(const struct vmlab_machine *m, int cpu, enum vmlab_counter c)
{
	if (c >= VMLAB_NR_COUNTERS)
		return 0;
	if (cpu >= 0)
		return cpu < m->nr_cpus ? m->cpu[cpu].cnt[c] : 0;
	u64 sum = 0;
	for (int i = 0; i < m->nr_cpus; i++) {
		sum += m->cpu[i].cnt[c];
		assert(sum >= m->cpu[i].cnt[c]); /* a total never wraps */
	}
	return sum;
}

void vmlab_counters_reset(struct vmlab_machine *m)
{
	for (int i = 0; i < m->nr_cpus; i++)
		memset(m->cpu[i].cnt, 0, sizeof(m->cpu[i].cnt));
	assert(vmlab_counter(m, -1, VMLAB_C_tlb_l1_hit) == 0);
}

void vmlab_set_cost(struct vmlab_machine *m, const struct vmlab_cost *cost)
{
	if (!cost)
		return;
	m->cfg.cost = *cost;
}

static double weigh(const struct vmlab_cost *k, const u64 *v)
{
	return (double)v[VMLAB_C_tlb_l1_hit] * k->tlb_l1_hit +
	       (double)v[VMLAB_C_tlb_l2_hit] * k->tlb_l2_hit +
	       (double)v[VMLAB_C_walk_level] * k->walk_level +
	       (double)v[VMLAB_C_invlpg] * k->invlpg +
	       (double)v[VMLAB_C_flush_local] * k->flush_full +
	       (double)v[VMLAB_C_flush_global] * k->flush_global +
	       (double)v[VMLAB_C_ipi_sent] * k->ipi +
	       (double)v[VMLAB_C_ipi_received] * k->ipi_handle +
	       (double)v[VMLAB_C_page_fault] * k->page_fault +
	       (double)v[VMLAB_C_pte_write] * k->pte_write +
	       (double)(v[VMLAB_C_page_alloc] + v[VMLAB_C_page_free]) *
		       k->page_alloc +
	       (double)v[VMLAB_C_cpa_call] * k->cpa_call +
	       (double)v[VMLAB_C_tlbi_is] * k->tlbi_is +
	       (double)v[VMLAB_C_tlbi_local] * k->tlbi_local +
	       (double)v[VMLAB_C_dsb] * k->dsb;
}

/* The counters weigh() reads: the clock sums only these over the CPUs
 * (a flush reads it for the cpumask trim, every mm creation for its
 * deadline), not all VMLAB_NR_COUNTERS. */
static const enum vmlab_counter weighed[] = {
	VMLAB_C_tlb_l1_hit, VMLAB_C_tlb_l2_hit, VMLAB_C_walk_level,
	VMLAB_C_invlpg, VMLAB_C_flush_local, VMLAB_C_flush_global,
	VMLAB_C_ipi_sent, VMLAB_C_ipi_received, VMLAB_C_page_fault,
	VMLAB_C_pte_write, VMLAB_C_page_alloc, VMLAB_C_page_free,
	VMLAB_C_cpa_call, VMLAB_C_tlbi_is, VMLAB_C_tlbi_local, VMLAB_C_dsb,
};

double vmlab_sim_time_ns(const struct vmlab_machine *m, int cpu)
{
	u64 v[VMLAB_NR_COUNTERS] = {0};
	for (size_t i = 0; i < ARRAY_SIZE(weighed); i++)
		v[weighed[i]] = vmlab_counter(m, cpu, weighed[i]);
	double t = weigh(&m->cfg.cost, v);
#if VMLAB_EXPENSIVE_CHECKS
	/* weighed[] names every counter weigh() reads. */
	u64 all[VMLAB_NR_COUNTERS];
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		all[c] = vmlab_counter(m, cpu, (enum vmlab_counter)c);
	assert(weigh(&m->cfg.cost, all) == t);
#endif
	return t;
}

void vmlab_counters_snapshot(const struct vmlab_machine *m,
			     struct vmlab_counters *out)
{
	if (!out)
		return;
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		out->v[c] = vmlab_counter(m, -1, (enum vmlab_counter)c);
	out->time_ns = weigh(&m->cfg.cost, out->v);
}

void vmlab_counters_diff(const struct vmlab_counters *after,
			 const struct vmlab_counters *before,
			 struct vmlab_counters *out)
{
	if (!after || !before || !out)
		return;
	/* A reset between the snapshots leaves after < before: the
	 * difference is then what was counted since the reset. */
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		out->v[c] = after->v[c] >= before->v[c] ?
				    after->v[c] - before->v[c] :
				    after->v[c];
	out->time_ns = after->time_ns - before->time_ns;
}

static void dump_text(const struct vmlab_machine *m, FILE *f)
{
	assert(f);
	fprintf(f, "%-26s %14s", "counter", "total");
	for (int i = 0; i < m->nr_cpus && i < 8; i++)
		fprintf(f, " %10s%d", "cpu", i);
	fputc('\n', f);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++) {
		u64 t = vmlab_counter(m, -1, (enum vmlab_counter)c);
		if (!t)
			continue;
		fprintf(f, "%-26s %14llu", counter_names[c],
			(unsigned long long)t);
		for (int i = 0; i < m->nr_cpus && i < 8; i++)
			fprintf(f, " %11llu", (unsigned long long)m->cpu[i].cnt[c]);
		fputc('\n', f);
	}
	fprintf(f, "%-26s %14.0f ns\n", "simulated_time",
		vmlab_sim_time_ns(m, -1));
	fprintf(f, "%-26s %14llu\n", "MemFree_pages",
		(unsigned long long)m->phys.nr_free);
	fprintf(f, "%-26s %14llu\n", "events", (unsigned long long)m->nr_events);
	fprintf(f, "%-26s %#14llx\n", "trace_hash", (unsigned long long)m->hash);
}

static void dump_json(const struct vmlab_machine *m, FILE *f)
{
	assert(f);
	fprintf(f, "{\"cpus\": %d, \"counters\": {", m->nr_cpus);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		fprintf(f, "%s\"%s\": %llu", c ? ", " : "", counter_names[c],
			(unsigned long long)vmlab_counter(m, -1,
							  (enum vmlab_counter)c));
	fprintf(f, "}, \"per_cpu\": [");
	for (int i = 0; i < m->nr_cpus; i++) {
		fprintf(f, "%s{", i ? ", " : "");
		for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
			fprintf(f, "%s\"%s\": %llu", c ? ", " : "",
				counter_names[c],
				(unsigned long long)m->cpu[i].cnt[c]);
		fputc('}', f);
	}
	fprintf(f, "], \"simulated_time_ns\": %.1f, \"free_pages\": %llu, "
		   "\"events\": %llu, \"trace_hash\": \"%#llx\"}\n",
		vmlab_sim_time_ns(m, -1), (unsigned long long)m->phys.nr_free,
		(unsigned long long)m->nr_events, (unsigned long long)m->hash);
}

void vmlab_stats_dump(const struct vmlab_machine *m, void *file, bool json)
{
	FILE *f = file ? file : stdout;
	if (json)
		dump_json(m, f);
	else
		dump_text(m, f);
}
