/* SPDX-License-Identifier: MIT */
/*
 * Chrome trace-event JSON (the format the Perfetto UI and about://tracing
 * open): one process per machine, one track per CPU plus one for the
 * kworker; a span per kernel operation; instants for flushes, IPIs,
 * faults, checker reports and context switches; counters for TLB
 * occupancy, lazily freed vmalloc pages and direct-map splits.
 *
 * Time is simulated time: the machine's cost-weighted counters (all CPUs
 * together, so it only grows), advanced by at least 1 ns per record so
 * that records keep their order.  Never the host clock: a trace file is a
 * function of the run's inputs, byte for byte.
 */
#include <math.h>
#include <stdlib.h>

#include "sim/lsim.h"

#define MAX_COUNTER_CPUS 64

struct sim_trace {
	FILE *f;
	bool any; /* a record was written (comma before the next) */
};

struct trace_machine {
	struct sim_trace *t;
	struct sim_machine *sm;
	int pid;
	int kw_tid;
	u64 clock, last_sim, last_ts;
	u32 occ[MAX_COUNTER_CPUS];
	u64 lazy, split2, split3;
	bool sampled;
	u64 kw_t0;
	int kw_cpu;
	const char *kw_name;
};

struct sim_trace *trace_open(const char *path, char *err, size_t n)
{
	struct sim_trace *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->f = fopen(path, "w");
	if (!t->f) {
		snprintf(err, n, "cannot write the trace file '%s'", path);
		free(t);
		return NULL;
	}
	fputs("{\"displayTimeUnit\": \"ns\",\n\"otherData\": {\"generator\": "
	      "\"vmlab " VMLAB_VERSION "\", \"clock\": \"simulated ns\"},\n"
	      "\"traceEvents\": [\n", t->f);
	return t;
}

int trace_close(struct sim_trace *t)
{
	assert(t && t->f);
	fputs("\n]}\n", t->f);
	int err = ferror(t->f);
	err |= fclose(t->f);
	free(t);
	return err ? -1 : 0;
}

u64 trace_now(struct sim_machine *sm)
{
	struct trace_machine *tm = sm->tm;
	assert(tm && sm->m);
	double ns = vmlab_sim_time_ns(sm->m, -1);
	u64 sim = ns > 0 ? (u64)llround(ns) : 0;
	if (sim > tm->last_sim)
		tm->clock += sim - tm->last_sim;
	tm->last_sim = sim; /* a counter reset starts from here */
	if (tm->clock <= tm->last_ts)
		tm->clock = tm->last_ts + 1;
	tm->last_ts = tm->clock;
	return tm->clock;
}

/* Opens a record; the caller may add ,"args":{...} and must close it. */
static FILE *rec(struct trace_machine *tm, const char *ph, const char *name,
		 int tid, u64 ts)
{
	struct sim_trace *t = tm->t;
	assert(t->f && ph && name && tid >= 0);
	fprintf(t->f, "%s{\"ph\": \"%s\", \"pid\": %d, \"tid\": %d, \"ts\": "
		      "%llu.%03llu, \"name\": ",
		t->any ? ",\n" : "", ph, tm->pid, tid,
		(unsigned long long)(ts / 1000), (unsigned long long)(ts % 1000));
	t->any = true;
	json_string(t->f, name);
	return t->f;
}

static void meta(struct trace_machine *tm, const char *what, int tid,
		 const char *name)
{
	struct sim_trace *t = tm->t;
	fprintf(t->f, "%s{\"ph\": \"M\", \"pid\": %d, \"tid\": %d, \"name\": "
		      "\"%s\", \"args\": {\"name\": ",
		t->any ? ",\n" : "", tm->pid, tid, what);
	t->any = true;
	json_string(t->f, name);
	fputs("}}", t->f);
}

static void instant(struct trace_machine *tm, int cpu, const char *name,
		    const char *scope, const char *args_fmt, u64 a, u64 b)
{
	int tid = cpu >= 0 && cpu < tm->kw_tid ? cpu : tm->kw_tid;
	FILE *f = rec(tm, "i", name, tid, trace_now(tm->sm));
	fprintf(f, ", \"s\": \"%s\"", scope);
	if (args_fmt) {
		fputs(", \"args\": {", f);
		fprintf(f, args_fmt, (unsigned long long)a, (unsigned long long)b);
		fputc('}', f);
	}
	fputc('}', f);
}

void trace_span(struct sim_machine *sm, int cpu, const char *name, u64 t0)
{
	struct trace_machine *tm = sm->tm;
	u64 t1 = trace_now(sm);
	assert(t1 > t0 && cpu >= 0 && cpu < tm->kw_tid);
	FILE *f = rec(tm, "X", name, cpu, t0);
	u64 d = t1 - t0;
	fprintf(f, ", \"dur\": %llu.%03llu}", (unsigned long long)(d / 1000),
		(unsigned long long)(d % 1000));
}

void trace_sample(struct sim_machine *sm)
{
	struct trace_machine *tm = sm->tm;
	struct vmlab_machine *m = sm->m;
	assert(tm && m && tm->sm == sm);
	int n = vmlab_nr_cpus(m) < MAX_COUNTER_CPUS ? vmlab_nr_cpus(m)
						    : MAX_COUNTER_CPUS;
	bool changed = !tm->sampled;
	u32 occ[MAX_COUNTER_CPUS];
	for (int c = 0; c < n; c++) {
		occ[c] = vmlab_tlb_occupancy(m, c);
		changed |= occ[c] != tm->occ[c];
	}
	u64 ts = 0;
	if (changed) {
		ts = trace_now(sm);
		FILE *f = rec(tm, "C", "TLB occupancy", 0, ts);
		fputs(", \"args\": {", f);
		for (int c = 0; c < n; c++)
			fprintf(f, "%s\"CPU %d\": %u", c ? ", " : "", c, occ[c]);
		fputs("}}", f);
		memcpy(tm->occ, occ, sizeof(occ));
	}
	u64 lazy = vmlab_vmap_lazy_nr(m);
	if (lazy != tm->lazy || !tm->sampled) {
		FILE *f = rec(tm, "C", "vmalloc lazy pages", 0,
			      ts ? ts : (ts = trace_now(sm)));
		fprintf(f, ", \"args\": {\"vmap_lazy_nr\": %llu}}",
			(unsigned long long)lazy);
		tm->lazy = lazy;
	}
	struct vmlab_directmap_stats st;
	vmlab_directmap_stats(m, &st);
	if (st.level2_splits != tm->split2 || st.level3_splits != tm->split3 ||
	    !tm->sampled) {
		FILE *f = rec(tm, "C", "direct-map splits", 0,
			      ts ? ts : trace_now(sm));
		fprintf(f, ", \"args\": {\"level2 (2M->4K)\": %llu, "
			   "\"level3 (1G->2M)\": %llu}}",
			(unsigned long long)st.level2_splits,
			(unsigned long long)st.level3_splits);
		tm->split2 = st.level2_splits;
		tm->split3 = st.level3_splits;
	}
	tm->sampled = true;
}

static void on_user(struct trace_machine *tm, const struct vmlab_event *e)
{
	struct vmlab_machine *m = tm->sm->m;
	assert(e->name && m);
	if (!strcmp(e->name, "sched_switch")) {
		instant(tm, e->c ? -1 : e->cpu, "scheduled", "t",
			"\"step\": %llu%.0llu", e->b, 0);
	} else if (!strcmp(e->name, "kworker_begin")) {
		tm->kw_t0 = trace_now(tm->sm);
		tm->kw_cpu = e->cpu;
		tm->kw_name = m->work_head && m->work_head->name
				      ? m->work_head->name
				      : "work";
	} else if (!strcmp(e->name, "kworker_end")) {
		u64 t1 = trace_now(tm->sm);
		FILE *f = rec(tm, "X", tm->kw_name, tm->kw_tid, tm->kw_t0);
		u64 d = t1 - tm->kw_t0;
		fprintf(f, ", \"dur\": %llu.%03llu, \"args\": {\"cpu\": %d}}",
			(unsigned long long)(d / 1000),
			(unsigned long long)(d % 1000), tm->kw_cpu);
		trace_sample(tm->sm);
	} else {
		instant(tm, e->cpu, e->name, "t", "\"a\": \"%#llx\", \"b\": %llu",
			e->a, e->b);
	}
}

static void on_event(void *ctx, const struct vmlab_event *e)
{
	struct trace_machine *tm = ctx;
	char name[64];
	assert(tm && e && e->type < VMLAB_NR_EVENTS);
	switch (e->type) {
	case VMLAB_EV_FAULT:
		instant(tm, e->cpu, "page fault", "t",
			"\"va\": \"%#llx\", \"error_code\": %llu", e->a, e->b);
		break;
	case VMLAB_EV_INVLPG:
		instant(tm, e->cpu, "invlpg", "t", "\"va\": \"%#llx\", \"pcid\": %llu",
			e->a, e->b);
		break;
	case VMLAB_EV_FLUSH_LOCAL:
		instant(tm, e->cpu, "flush (PCID)", "t",
			"\"pcid\": %llu%.0llu", e->a, 0);
		break;
	case VMLAB_EV_FLUSH_GLOBAL:
		instant(tm, e->cpu, "flush (global)", "t", NULL, 0, 0);
		break;
	case VMLAB_EV_IPI:
		snprintf(name, sizeof(name), "IPI from CPU %d", e->cpu);
		instant(tm, (int)e->a, name, "t", NULL, 0, 0);
		break;
	case VMLAB_EV_SWITCH_MM:
		instant(tm, e->cpu, "switch_mm", "t", "\"ctx_id\": %llu, "
			"\"asid\": %llu", e->a, e->b);
		break;
	case VMLAB_EV_REPORT:
		snprintf(name, sizeof(name), "checker: %s",
			 vmlab_check_name((enum vmlab_check)e->a));
		instant(tm, e->cpu, name, "p", "\"va\": \"%#llx\", \"pfn\": %llu",
			e->b, e->c);
		break;
	case VMLAB_EV_USER:
		if (e->name)
			on_user(tm, e);
		break;
	default: /* entry stores, fills, page alloc/free: too many to draw */
		break;
	}
}

void trace_attach(struct sim_trace *t, struct sim_machine *sm)
{
	struct trace_machine *tm = calloc(1, sizeof(*tm));
	if (!tm)
		abort();
	assert(t && sm->m && !sm->tm);
	tm->t = t;
	tm->sm = sm;
	tm->pid = sm->index + 1;
	tm->kw_tid = vmlab_nr_cpus(sm->m);
	sm->tm = tm;
	char name[300];
	snprintf(name, sizeof(name), "machine %d", tm->pid);
	if (strcmp(name, sm->label)) /* not the default label */
		snprintf(name, sizeof(name), "machine %d: %s", tm->pid,
			 sm->label);
	meta(tm, "process_name", 0, name);
	for (int c = 0; c < vmlab_nr_cpus(sm->m); c++) {
		snprintf(name, sizeof(name), "CPU %d", c);
		meta(tm, "thread_name", c, name);
	}
	meta(tm, "thread_name", tm->kw_tid, "kworker");
	double ns = vmlab_sim_time_ns(sm->m, -1);
	tm->last_sim = ns > 0 ? (u64)llround(ns) : 0;
	vmlab_set_event_listener(sm->m, on_event, tm);
	trace_sample(sm);
}

void trace_detach(struct sim_machine *sm)
{
	if (!sm->tm)
		return;
	trace_sample(sm);
	vmlab_set_event_listener(sm->m, NULL, NULL);
	free(sm->tm);
	sm->tm = NULL;
}
