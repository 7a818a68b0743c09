/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the Lua binding (lua_*.c), the runner and the trace
 * writer.  One struct sim per run; everything hangs off it (the Lua state
 * finds it through its extra space), nothing is global.
 */
#ifndef VMLAB_SIM_LSIM_H
#define VMLAB_SIM_LSIM_H

#include <lauxlib.h>
#include <lua.h>

#include "machine/internal.h"
#include "sim/sim.h"

#define MT_MACHINE "vmlab.machine"
#define MT_CPU "vmlab.cpu"

struct trace_machine;
struct sim_trace;

struct sim_machine {
	struct sim *sim;
	struct vmlab_machine *m;
	int index;
	char *label;
	u32 expect;               /* checks this machine is meant to show */
	bool destroyed;
	struct vmlab_sched *sched; /* while its programs run */
	/*
	 * Calls into services that keep shared state across a flush (vmalloc,
	 * CPA's vm_unmap_aliases hook) are serialised with this lock until the
	 * service takes the kernel's own locks; see doc/sim.md.
	 */
	struct vmlab_lock svc_lock;
	struct trace_machine *tm;
	struct sim_user *user;    /* user mms made by the scenario */
	struct sim_warning *warn; /* kernel warnings, by kind */
	int nr_warn;
	/* Outside m:run, deferred work runs on a kworker of the operation's
	 * CPU as the operation that queued it returns (the next scheduling
	 * point there), unless vmlab.machine{kworker = false}. */
	bool kworker;
	/* kworker off: the operation after which deferred work was first
	 * left queued outside m:run (nothing runs it there), or NULL. */
	const char *work_left_by;
	struct sim_devices *dev;  /* SMMUs, KVMs, notifiers (lua_notifier.c) */
};

struct sim_buf {
	char *s;
	size_t len, cap;
};

struct sim {
	lua_State *L;
	const struct sim_opts *o;
	struct sim_result *r;
	u64 seed;
	u64 max_steps, lua_steps;
	bool budget_hit;
	u64 dead_work;   /* kernel work of the machines already destroyed */
	size_t lua_mem, max_memory; /* Lua heap bytes and their cap */
	bool mem_hit;
	bool host_hit;    /* a machine's stores went past its host budget */
	bool usage;       /* the failure is a usage error (exit 2) */
	char *task_error; /* first error raised in a CPU program */
	struct sim_machine **mach;
	int nr_mach, cap_mach;
	struct sim_machine *running; /* its programs run now */
	bool params_declared;
	bool def_used[SIM_MAX_DEFS];
	u64 nr_runs;
	u64 total_steps, total_switches;
	u64 pct_steps;
	struct sim_trace *trace;
	struct sim_buf out;
	char **strings; /* interned, live as long as the machines */
	int nr_strings;
};

/* The run a Lua state belongs to. */
static inline struct sim *lsim(lua_State *L)
{
	return *(struct sim **)lua_getextraspace(L);
}

/* Raise a usage error (exit status 2) with the scenario's position. */
int lsim_usage_error(lua_State *L, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *lsim_strdup(const char *s);
/* The machines' warning handler (vmlab_set_warn_handler); ctx: the
 * struct sim_machine. */
void lsim_warn(void *ctx, const char *msg);
/* ptdump.c: the kernel page tables of [lo, hi) (hi 0: to the top) as
 * /sys/kernel/debug/page_tables/kernel prints them; a CPU's TLB. */
void lsim_ptdump(struct vmlab_machine *m, u64 lo, u64 hi, struct sim_buf *out);
/* The lowest kernel virtual address of the machine's architecture. */
u64 lsim_kernel_start(struct vmlab_machine *m);
void lsim_dump_tlb(struct vmlab_machine *m, int cpu, struct sim_buf *out);
const char *lsim_intern(struct sim *sim, const char *s);
void buf_printf(struct sim_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------- operations */

/* One kernel operation issued by a CPU: a scheduling point, a trace span
 * and the checker's label. */
struct lop {
	struct sim_machine *sm;
	struct vmlab_machine *m;
	int cpu;
	const char *name;
	u64 t0;
	bool svc_locked;
	bool unlockable; /* lop_allow_unlock() */
	struct vmlab_lock *prev_op_lock;
	/* The call's integer arguments (addresses, sizes), for the trace. */
	lua_Integer arg[3];
	int nargs;
};

/* Resolve the machine or CPU handle at idx to (machine, CPU) without a
 * scheduling point (observations). */
struct sim_machine *lsim_handle(lua_State *L, int idx, int *cpu);
void lop_begin(lua_State *L, struct lop *o, int idx, const char *name);
/* The same, holding the machine's service lock for the call. */
void lop_begin_svc(lua_State *L, struct lop *o, int idx, const char *name);
/* After lop_begin_svc(): the kernel code may drop the service lock where
 * Linux holds none of its locks (vmlab_op_unlock), so other CPUs'
 * operations interleave there (the vmalloc operations with KASAN). */
void lop_allow_unlock(struct lop *o);
void lop_end(struct lop *o);
/* Outside m:run: run every pending work item on CPU cpu's kworker (trace
 * events kworker_begin/end per item, the service lock held); items run. */
int lsim_kworker_run(struct sim_machine *sm, int cpu);
/* End o and raise "name: EINVAL" (never returns). */
int lop_fail(lua_State *L, struct lop *o, int err);

/* Parsing of protection bits, map flags, vm flags. */
vmlab_pgprot_t lsim_prot(lua_State *L, int idx, vmlab_pgprot_t def);
u64 lsim_flags(lua_State *L, int idx, const char *const *names,
	       const u64 *values, const char *what);
/* Sorted keys of the table at idx, pushed as a new array table. */
void lsim_sorted_keys(lua_State *L, int idx);
/* Unknown key in an options table: error naming it (first in order). */
void lsim_check_keys(lua_State *L, int idx, const char *const *known,
		     const char *what);

/* Registration of the method tables (shared by machine and CPU handles). */
void lsim_register_machine(lua_State *L); /* vmlab.machine, metatables */
void lsim_register_ops(lua_State *L);     /* kernel operations */
void lsim_register_observe(lua_State *L); /* counters, reports, ... */
void lsim_register_vmalloc(lua_State *L); /* vmalloc service */
void lsim_register_user(lua_State *L);    /* user mms, guard regions */
void lsim_register_kasan(lua_State *L);   /* KASAN shadow and figures */
void lsim_register_walk(lua_State *L);    /* m:walk_page_range{...} */
void lsim_register_execmem(lua_State *L); /* execmem and text_poke */
/* Destroy the machine's user mms, in creation order (lua_user.c). */
void lsim_user_finish(struct sim_machine *sm);
/* The metatable of user mm handles (lua_user.c). */
#define MT_USER_MM "vmlab.user_mm"
/* The user mm handle at idx (raises on anything else) and its machine. */
struct vmlab_user_mm *lsim_check_user_mm(lua_State *L, int idx,
					 struct sim_machine **sm);
/* For the mm methods of other files (lua_user.c): begin an operation on
 * the mm at idx (on the running program's CPU inside m:run), parse an
 * advice name or number, name an errno. */
struct vmlab_user_mm *lsim_user_mm_begin(lua_State *L, struct lop *o,
					 int idx, const char *name);
int lsim_user_advice(lua_State *L, int idx);
/* Push a (new) handle of the machine's user mm mm: false if the Lua side
 * has none (yet: a fork still in progress). */
bool lsim_push_user_mm(lua_State *L, struct sim_machine *sm,
		       struct vmlab_user_mm *mm);
const char *lsim_user_errname(int err);
/* mm:pidfd_open, mm:process_madvise, ... (lua_pidfd.c), after
 * lsim_register_user(). */
void lsim_register_pidfd(lua_State *L);
/* mm:userfaultfd, u:register, u:copy, ... (lua_uffd.c), after
 * lsim_register_user(), with the machine's method table on top. */
void lsim_register_uffd(lua_State *L);
/* m:open, m:memfd, m:unlink and the file handles (lua_file.c), added to
 * the machine method table on top; the file handle at idx, of machine sm
 * (raises on anything else), for mm:mmap{file =}. */
void lsim_register_file(lua_State *L);
struct vmlab_file *lsim_check_file(lua_State *L, int idx,
				   struct sim_machine *sm);
/* m:thp_enabled, m:vmstat, mm:thp_disable, ... (lua_thp.c), from
 * lsim_register_user() with the handles' method table on top. */
void lsim_register_thp(lua_State *L);
/* Secondary MMUs and scenario notifiers (lua_notifier.c): m:smmu{...},
 * m:kvm{...}, mm:notifier{...}; finish destroys them before the mms. */
void lsim_register_notifier(lua_State *L);
void lsim_notifier_finish(struct sim_machine *sm);
/* The C object behind a notifier / smmu / kvm handle at idx (an event's
 * owner); raises on anything else. */
void *lsim_notifier_owner(lua_State *L, int idx);
/* mm:clear_refs, mm:migrate, mm:migrate_vma, mm:make_device_exclusive,
 * mm:soft_dirty (lua_mmevents.c), set on the user-mm method table on top. */
void lsim_register_mm_events(lua_State *L);
int lsim_run_programs(lua_State *L);      /* m:run{...} */
void lsim_push_cpu(lua_State *L, struct sim_machine *sm, int cpu);
/* vmlab.replay_trace (lua_replay.c), added to the table on top. */
void lsim_register_replay(lua_State *L);
/* The global `vmlab` table (lua_vmlab.c). */
void lsim_open_vmlab(lua_State *L, struct sim *sim);
/* Message handler: gives every error message a file:line. */
int lsim_msgh(lua_State *L);

/* Finish a machine: copy its reports and figures into the result and
 * destroy it. */
void lsim_machine_finish(struct sim *sim, struct sim_machine *sm);

/* ---------------------------------------------------------- sandbox */

/* The run's lua_Alloc (ud: the struct sim), capped at sim->max_memory. */
void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* load() text-only, no string.dump, no %p, uncatchable budget errors. */
void sandbox_open(lua_State *L);
/* Kernel work a machine's calls cost so far (budget units). */
u64 sandbox_machine_work(struct vmlab_machine *m);
/* Lua instructions plus every machine's kernel work: the budget's use. */
u64 sandbox_steps(struct sim *sim);
const struct sim_machine *sandbox_host_over(const struct sim *sim);

/* ------------------------------------------------------------ trace */

/* Either path may be NULL: a Chrome trace, an ftrace-text trace or both. */
struct sim_trace *trace_open(const char *path, const char *ftrace, char *err,
			     size_t n);
/* Close the document; 0 or -1 on a write error. */
int trace_close(struct sim_trace *t);
void trace_attach(struct sim_trace *t, struct sim_machine *sm);
void trace_detach(struct sim_machine *sm);
u64 trace_now(struct sim_machine *sm);
void trace_span(struct sim_machine *sm, int cpu, const char *name, u64 t0,
		const lua_Integer *args, int nargs);
void trace_sample(struct sim_machine *sm);

#endif
