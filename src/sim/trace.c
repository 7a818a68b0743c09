/* SPDX-License-Identifier: MIT */
/*
 * Chrome trace-event JSON (the format the Perfetto UI and about://tracing
 * open): one process per machine, one track per CPU plus one for the
 * kworker; a span per kernel operation; instants for flushes, IPIs,
 * faults, checker reports and context switches; counters for TLB
 * occupancy, lazily freed vmalloc pages and direct-map splits; flow
 * arrows from an IPI's sender to its receiver.  Spans carry the call's
 * integer arguments (addresses as hex strings, counts as numbers).
 *
 * Size bound: past SAMPLE_AFTER records of one kind on a machine (page
 * faults of 20,000 thread stacks, say), one in SAMPLE_EVERY is written,
 * marked "sampled", and a counter keeps the exact total, so a trace stays
 * near 10 MB by default while nothing disappears without a trace.
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
#define SAMPLE_AFTER 4096
#define SAMPLE_EVERY 64
#define MAX_KINDS 64

struct sim_trace {
	FILE *f;  /* Chrome trace, or NULL */
	bool any; /* a record was written (comma before the next) */
	FILE *ft; /* ftrace text, or NULL; its lines first go to ft_buf */
	char *ft_path;
	char *ft_buf;
	size_t ft_len;
	u64 ft_lines;
	int ft_cpus;
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
	u64 flow_id;
	bool in_kworker; /* events now come from the purge worker */
	/* records per kind (a span name or an event type), for sampling */
	struct { const char *kind; u64 n; } kinds[MAX_KINDS];
	int nr_kinds;
};

/* Whether the next record of `kind` is written (see the size bound);
 * *n gets how many of that kind there have been. */
static bool keep(struct trace_machine *tm, const char *kind, u64 *n)
{
	int k = 0;
	while (k < tm->nr_kinds && tm->kinds[k].kind != kind)
		k++;
	if (k == tm->nr_kinds) {
		if (k == MAX_KINDS) {
			*n = 0; /* too many kinds to count: keep all */
			return true;
		}
		tm->kinds[tm->nr_kinds].kind = kind;
		tm->kinds[tm->nr_kinds++].n = 0;
	}
	*n = ++tm->kinds[k].n;
	return *n <= SAMPLE_AFTER || *n % SAMPLE_EVERY == 0;
}

struct sim_trace *trace_open(const char *path, const char *ftrace, char *err,
			     size_t n)
{
	struct sim_trace *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	assert(path || ftrace);
	if (path && !(t->f = fopen(path, "w"))) {
		snprintf(err, n, "cannot write the trace file '%s'", path);
		free(t);
		return NULL;
	}
	if (ftrace) {
		/* The header counts the lines: they are kept until the end. */
		FILE *probe = fopen(ftrace, "w");
		if (!probe) {
			snprintf(err, n, "cannot write the ftrace file '%s'",
				 ftrace);
			if (t->f)
				fclose(t->f);
			free(t);
			return NULL;
		}
		fclose(probe);
		t->ft_path = strdup(ftrace);
		t->ft = open_memstream(&t->ft_buf, &t->ft_len);
		if (!t->ft || !t->ft_path)
			abort();
	}
	if (t->f)
		fputs("{\"displayTimeUnit\": \"ns\",\n\"otherData\": {\"generator\": "
		      "\"vmlab " VMLAB_VERSION "\", \"clock\": \"simulated ns\"},\n"
		      "\"traceEvents\": [\n", t->f);
	return t;
}

/* The tracefs `trace` file's header, as the kernel prints it with the
 * default options (nop tracer, irq-info on). */
static int ftrace_close(struct sim_trace *t)
{
	fclose(t->ft);
	FILE *f = fopen(t->ft_path, "w");
	int err = !f;
	if (f) {
		fprintf(f, "# tracer: nop\n#\n# entries-in-buffer/entries-written: "
			   "%llu/%llu   #P:%d\n#\n",
			(unsigned long long)t->ft_lines,
			(unsigned long long)t->ft_lines, t->ft_cpus);
		fputs("#                                _-----=> irqs-off/BH-disabled\n"
		      "#                               / _----=> need-resched\n"
		      "#                              | / _---=> hardirq/softirq\n"
		      "#                              || / _--=> preempt-depth\n"
		      "#                              ||| / _-=> migrate-disable\n"
		      "#                              |||| /     delay\n"
		      "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
		      "#              | |         |   |||||     |         |\n", f);
		if (t->ft_len)
			fwrite(t->ft_buf, 1, t->ft_len, f);
		err = ferror(f);
		err |= fclose(f);
	}
	free(t->ft_buf);
	free(t->ft_path);
	return err;
}

int trace_close(struct sim_trace *t)
{
	assert(t && (t->f || t->ft));
	int err = 0;
	if (t->f) {
		fputs("\n]}\n", t->f);
		err = ferror(t->f);
		err |= fclose(t->f);
	}
	if (t->ft)
		err |= ftrace_close(t);
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

/* An integer argument: addresses (kernel halves, or above 4 GiB) as hex
 * strings, which JSON numbers cannot hold exactly; the rest as numbers. */
static void int_arg(FILE *f, const char *key, lua_Integer v)
{
	u64 u = (u64)v;
	if (v < 0 || u >= (1ULL << 32))
		fprintf(f, "\"%s\": \"0x%llx\"", key, (unsigned long long)u);
	else
		fprintf(f, "\"%s\": %llu", key, (unsigned long long)u);
}

void trace_span(struct sim_machine *sm, int cpu, const char *name, u64 t0,
		const lua_Integer *args, int nargs)
{
	struct trace_machine *tm = sm->tm;
	u64 t1 = trace_now(sm), n = 0;
	assert(t1 > t0 && cpu >= 0 && cpu < tm->kw_tid);
	assert(nargs >= 0 && nargs <= 3);
	if (!tm->t->f || !keep(tm, name, &n))
		return;
	FILE *f = rec(tm, "X", name, cpu, t0);
	u64 d = t1 - t0;
	fprintf(f, ", \"dur\": %llu.%03llu, \"args\": {",
		(unsigned long long)(d / 1000), (unsigned long long)(d % 1000));
	static const char *const keys[] = {"arg1", "arg2", "arg3"};
	for (int i = 0; i < nargs; i++) {
		fputs(i ? ", " : "", f);
		int_arg(f, keys[i], args[i]);
	}
	if (n > SAMPLE_AFTER)
		fprintf(f, "%s\"sampled\": \"1 in %d\", \"count\": %llu",
			nargs ? ", " : "", SAMPLE_EVERY, (unsigned long long)n);
	fputs("}}", f);
}

void trace_sample(struct sim_machine *sm)
{
	struct trace_machine *tm = sm->tm;
	struct vmlab_machine *m = sm->m;
	assert(tm && m && tm->sm == sm);
	if (!tm->t->f)
		return;
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

/* The fields of the tracepoints the model emits, in the kernel's names
 * (include/trace/events/vmalloc.h); "x" marks an address. */
static const struct tp_fields {
	const char *name;
	const char *field[6];
	const char *hex; /* per field: 'x' address, '.' number */
} tp_fields[] = {
	{"alloc_vmap_area", {"va_start", "size", "align", "vstart", "vend",
			     "failed"}, "x.xxx."},
	{"free_vmap_area_noflush", {"va_start", "nr_lazy", "nr_lazy_max"},
	 "x.."},
	{"purge_vmap_area_lazy", {"start", "end", "num_purged"}, "xx."},
};

static void tracepoint(struct trace_machine *tm, const struct vmlab_event *e)
{
	const u64 v[6] = {e->a, e->b, e->c, e->d, e->e, e->f};
	const struct tp_fields *tp = NULL;
	for (size_t i = 0; i < sizeof(tp_fields) / sizeof(tp_fields[0]); i++)
		if (!strcmp(tp_fields[i].name, e->name))
			tp = &tp_fields[i];
	u64 n;
	if (!keep(tm, e->name, &n))
		return;
	int tid = e->cpu >= 0 && e->cpu < tm->kw_tid ? e->cpu : tm->kw_tid;
	FILE *f = rec(tm, "i", e->name, tid, trace_now(tm->sm));
	fputs(", \"s\": \"t\", \"args\": {", f);
	for (int i = 0; i < 6; i++) {
		if (tp && !tp->field[i])
			break;
		if (!tp && i == 2)
			break; /* unknown tracepoint: a and b */
		const char *key = tp ? tp->field[i] : i ? "b" : "a";
		bool hex = tp ? tp->hex[i] == 'x' : i == 0;
		fprintf(f, hex ? "%s\"%s\": \"0x%llx\"" : "%s\"%s\": %llu",
			i ? ", " : "", key, (unsigned long long)v[i]);
	}
	fputs("}}", f);
}

static void counter(struct trace_machine *tm, const char *name,
		    const char *key, u64 v)
{
	FILE *f = rec(tm, "C", name, 0, trace_now(tm->sm));
	fprintf(f, ", \"args\": {\"%s\": %llu}}", key, (unsigned long long)v);
}

/* The IPI: a flow arrow from the sender's track (binding to the span of
 * the operation that sent it) to a short slice on the receiver's. */
static void ipi(struct trace_machine *tm, int from, int to)
{
	char name[64];
	int tid_from = from >= 0 && from < tm->kw_tid ? from : tm->kw_tid;
	int tid_to = to >= 0 && to < tm->kw_tid ? to : tm->kw_tid;
	u64 id = ++tm->flow_id, ts = trace_now(tm->sm);
	FILE *f = rec(tm, "s", "IPI", tid_from, ts);
	fprintf(f, ", \"cat\": \"ipi\", \"id\": %llu}", (unsigned long long)id);
	snprintf(name, sizeof(name), "IPI from CPU %d", from);
	u64 t1 = trace_now(tm->sm);
	f = rec(tm, "X", name, tid_to, t1);
	fprintf(f, ", \"dur\": 0.001, \"args\": {\"from\": %d, \"to\": %d}}",
		from, to);
	f = rec(tm, "f", "IPI", tid_to, t1);
	fprintf(f, ", \"cat\": \"ipi\", \"id\": %llu, \"bp\": \"e\"}",
		(unsigned long long)id);
	trace_now(tm->sm); /* the slice's 1 ns */
}

static void on_user(struct trace_machine *tm, const struct vmlab_event *e)
{
	struct vmlab_machine *m = tm->sm->m;
	assert(e->name && m);
	if (!strcmp(e->name, "sched_switch")) {
		instant(tm, e->c ? -1 : e->cpu, "scheduled", "t",
			"\"step\": %llu%.0llu", e->b, 0);
	} else if (!strcmp(e->name, "kworker_begin")) {
		tm->in_kworker = true;
		tm->kw_t0 = trace_now(tm->sm);
		tm->kw_cpu = e->cpu;
		tm->kw_name = m->work_head && m->work_head->name
				      ? m->work_head->name
				      : "work";
	} else if (!strcmp(e->name, "kworker_end")) {
		tm->in_kworker = false;
		u64 t1 = trace_now(tm->sm);
		FILE *f = rec(tm, "X", tm->kw_name, tm->kw_tid, tm->kw_t0);
		u64 d = t1 - tm->kw_t0;
		fprintf(f, ", \"dur\": %llu.%03llu, \"args\": {\"cpu\": %d}}",
			(unsigned long long)(d / 1000),
			(unsigned long long)(d % 1000), tm->kw_cpu);
		trace_sample(tm->sm);
	} else {
		tracepoint(tm, e);
	}
}

/* ------------------------------------------------------- ftrace text */

static const char *const tlb_reasons[] = {
	"flush on task switch", "remote shootdown", "local shootdown",
	"local MM shootdown", "remote IPI send", "remote wrong CPU"};

/* One line of the tracefs `trace` file: TASK-PID [CPU] flags TIME: */
static FILE *ft_line(struct trace_machine *tm, int cpu, const char *event)
{
	FILE *f = tm->t->ft;
	char comm[16];
	int pid;
	if (tm->in_kworker || cpu < 0) {
		int kc = cpu >= 0 ? cpu : tm->kw_cpu;
		snprintf(comm, sizeof(comm), "kworker/%d:1", kc & 0xfff);
		pid = 1000 * (tm->sm->index + 1) + 100 + kc;
	} else {
		/* the task of the CPU's program: the machine's label */
		size_t i = 0;
		for (; tm->sm->label[i] && i < sizeof(comm) - 1; i++)
			comm[i] = tm->sm->label[i] == ' ' ? '_' : tm->sm->label[i];
		comm[i] = 0;
		pid = 1000 * (tm->sm->index + 1) + cpu;
	}
	u64 ns = trace_now(tm->sm);
	fprintf(f, "%16s-%-7d [%03d] ..... %5llu.%06llu: %s: ", comm, pid,
		cpu >= 0 ? cpu : tm->kw_cpu, (unsigned long long)(ns / 1000000000),
		(unsigned long long)(ns / 1000 % 1000000), event);
	tm->t->ft_lines++;
	return f;
}

/* The model's events as the real tracepoints print them (the formats of
 * the kernel's events/.../format files). */
static void ftrace_event(struct trace_machine *tm, const struct vmlab_event *e)
{
	if (e->type == VMLAB_EV_SWITCH_MM) {
		fprintf(ft_line(tm, e->cpu, "tlb_flush"), "pages:%d reason:%s (0)\n",
			e->c ? -1 : 0, tlb_reasons[0]);
		return;
	}
	if (e->type != VMLAB_EV_USER || !e->name)
		return;
	const char *n = e->name;
	if (!strcmp(n, "alloc_vmap_area"))
		fprintf(ft_line(tm, e->cpu, n), "va_start: %llu size=%llu "
			"align=%llu vstart=0x%llx vend=0x%llx failed=%d\n",
			(unsigned long long)e->a, (unsigned long long)e->b,
			(unsigned long long)e->c, (unsigned long long)e->d,
			(unsigned long long)e->e, (int)e->f);
	else if (!strcmp(n, "free_vmap_area_noflush"))
		fprintf(ft_line(tm, e->cpu, n), "va_start=0x%llx nr_lazy=%llu "
			"nr_lazy_max=%llu\n", (unsigned long long)e->a,
			(unsigned long long)e->b, (unsigned long long)e->c);
	else if (!strcmp(n, "purge_vmap_area_lazy"))
		fprintf(ft_line(tm, e->cpu, n), "start=0x%llx end=0x%llx "
			"num_purged=%u\n", (unsigned long long)e->a,
			(unsigned long long)e->b, (unsigned)e->c);
	else if (!strcmp(n, "tlb_flush") && e->b < 6)
		fprintf(ft_line(tm, e->cpu, n), "pages:%lld reason:%s (%d)\n",
			(long long)e->a, tlb_reasons[e->b], (int)e->b);
	else if (!strcmp(n, "kworker_begin"))
		tm->kw_cpu = e->cpu;
}

static void on_event(void *ctx, const struct vmlab_event *e)
{
	struct trace_machine *tm = ctx;
	char name[64];
	u64 n = 0;
	assert(tm && e && e->type < VMLAB_NR_EVENTS);
	if (tm->t->ft)
		ftrace_event(tm, e);
	if (!tm->t->f) {
		if (e->type == VMLAB_EV_USER && e->name &&
		    !strncmp(e->name, "kworker_", 8))
			tm->in_kworker = !strcmp(e->name, "kworker_begin");
		return;
	}
	switch (e->type) {
	case VMLAB_EV_FAULT:
		if (!keep(tm, "page fault", &n))
			break;
		instant(tm, e->cpu, "page fault", "t",
			"\"va\": \"0x%llx\", \"error_code\": %llu", e->a, e->b);
		if (n > SAMPLE_AFTER)
			counter(tm, "page faults (sampled)", "page faults", n);
		break;
	case VMLAB_EV_INVLPG:
		if (!keep(tm, "invlpg", &n))
			break;
		instant(tm, e->cpu, "invlpg", "t", "\"va\": \"0x%llx\", \"pcid\": %llu",
			e->a, e->b);
		if (n > SAMPLE_AFTER)
			counter(tm, "invlpg (sampled)", "invlpg", n);
		break;
	case VMLAB_EV_FLUSH_LOCAL:
		instant(tm, e->cpu, "flush (PCID)", "t",
			"\"pcid\": %llu%.0llu", e->a, 0);
		break;
	case VMLAB_EV_FLUSH_GLOBAL:
		instant(tm, e->cpu, "flush (global)", "t", NULL, 0, 0);
		break;
	case VMLAB_EV_IPI:
		if (keep(tm, "IPI", &n))
			ipi(tm, e->cpu, (int)e->a);
		break;
	case VMLAB_EV_SWITCH_MM:
		instant(tm, e->cpu, "switch_mm", "t", "\"ctx_id\": %llu, "
			"\"asid\": %llu", e->a, e->b);
		break;
	case VMLAB_EV_REPORT:
		snprintf(name, sizeof(name), "checker: %s",
			 vmlab_check_name((enum vmlab_check)e->a));
		instant(tm, e->cpu, name, "p", "\"va\": \"0x%llx\", \"pfn\": %llu",
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
	if (tm->kw_tid > t->ft_cpus)
		t->ft_cpus = tm->kw_tid;
	double ns0 = vmlab_sim_time_ns(sm->m, -1);
	tm->last_sim = ns0 > 0 ? (u64)llround(ns0) : 0;
	vmlab_set_event_listener(sm->m, on_event, tm);
	if (!t->f)
		return;
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
