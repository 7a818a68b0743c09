/* SPDX-License-Identifier: MIT */
/*
 * m:run{[0] = f, [1] = g, ...}: one Lua function per CPU, interleaved by
 * the scheduler.  Each function runs on its own Lua thread (a coroutine
 * object) and its own fiber, so a scheduling point inside a kernel call it
 * made can suspend it with its C frames.  Only one Lua thread runs at a
 * time and each is only ever resumed on its own fiber, which is all the
 * Lua VM needs: every switch happens inside a C call, where the VM's state
 * is consistent.
 */
#include <stdlib.h>

#include "sim/lsim.h"

struct lua_task {
	struct sim *sim;
	lua_State *T;
	int cpu;
};

static void lua_prog(struct vmlab_machine *m, int cpu, void *arg)
{
	struct lua_task *t = arg;
	assert(t->cpu == cpu && lua_gettop(t->T) == 3);
	assert(vmlab_sched_current_cpu(m) == cpu);
	/* T's stack: message handler, the function, its CPU handle. */
	if (lua_pcall(t->T, 1, 0, 1) != LUA_OK) {
		struct sim *sim = t->sim;
		if (!sim->task_error) {
			const char *msg = lua_tostring(t->T, -1);
			struct sim_buf b = {0};
			buf_printf(&b, "%s (in CPU %d's program)",
				   msg ? msg : "error", cpu);
			sim->task_error = b.s;
		}
		vmlab_sched_abort(m);
	}
	lua_settop(t->T, 0);
}

/* A different scheduler stream for every m:run of a scenario. */
static u64 run_seed(u64 seed, u64 run)
{
	u64 z = seed + 0x9e3779b97f4a7c15ULL * (run + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Every key of the table must be a CPU with a function. */
static int check_programs(lua_State *L, int n)
{
	int valid = 0, total = 0;
	for (int cpu = 0; cpu < n; cpu++) {
		int t = lua_geti(L, 2, cpu);
		if (t != LUA_TNIL && t != LUA_TFUNCTION)
			luaL_error(L, "run: the program for CPU %d is a %s, not a "
				      "function", cpu, lua_typename(L, t));
		valid += t == LUA_TFUNCTION;
		lua_pop(L, 1);
	}
	assert(valid <= n);
	lua_pushnil(L);
	while (lua_next(L, 2)) {
		total++;
		lua_pop(L, 1);
	}
	if (total != valid || !valid)
		luaL_error(L, "run: expected {[cpu] = function, ...} with CPU "
			      "numbers 0..%d (got %d entries, %d programs)",
			   n - 1, total, valid);
	return valid;
}

int lsim_run_programs(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	struct sim *sim = sm->sim;
	if (!luaL_testudata(L, 1, MT_MACHINE))
		return luaL_error(L, "run: call it on the machine (m:run{...})");
	if (sim->running)
		return luaL_error(L, "run: not inside a CPU program");
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	int n = vmlab_nr_cpus(sm->m);
	check_programs(L, n);
	/* Every Lua allocation first: nothing below may raise until the
	 * scheduler is gone. */
	struct lua_task *tasks = lua_newuserdatauv(L, (size_t)n * sizeof(*tasks), 0);
	lua_createtable(L, n, 0); /* anchors the threads: index 4 */
	for (int cpu = 0; cpu < n; cpu++) {
		tasks[cpu].T = NULL;
		if (lua_geti(L, 2, cpu) != LUA_TFUNCTION) {
			lua_pop(L, 1);
			continue;
		}
		lua_State *T = lua_newthread(L);
		lua_rawseti(L, 4, cpu + 1);
		lua_pushcfunction(T, lsim_msgh);
		lua_xmove(L, T, 1); /* the function */
		lsim_push_cpu(L, sm, cpu);
		lua_xmove(L, T, 1);
		tasks[cpu] = (struct lua_task){sim, T, cpu};
	}
	struct vmlab_sched_config cfg;
	vmlab_sched_config_default(&cfg);
	cfg.policy = sim->o->policy;
	cfg.pct_depth = sim->o->depth;
	cfg.pct_steps = sim->pct_steps;
	cfg.pct_step_base = sim->total_steps;
	cfg.seed = run_seed(sim->seed, sim->nr_runs++);
	cfg.work_lock = &sm->svc_lock; /* work is the services' */
	struct vmlab_sched *s;
	int err = vmlab_sched_create(sm->m, &cfg, &s);
	if (err)
		return luaL_error(L, "run: %s", vmlab_strerror(err));
	for (int cpu = 0; cpu < n; cpu++)
		if (tasks[cpu].T)
			vmlab_sched_spawn(s, cpu, lua_prog, &tasks[cpu],
					  "program");
	sim->running = sm;
	sm->sched = s;
	int st = vmlab_sched_run(s);
	sim->running = NULL;
	sm->sched = NULL;
	assert(!sm->svc_lock.owner); /* every program left its operation */
	sim->total_steps += vmlab_sched_steps(s);
	sim->total_switches += vmlab_sched_switches(s);
	lua_pushstring(L, vmlab_sched_error(s) ? vmlab_sched_error(s) : "");
	vmlab_sched_destroy(s);
	if (sm->tm)
		trace_sample(sm);
	if (sim->task_error) {
		/* Raised here, the error is the script's to catch (pcall):
		 * caught, it no longer fails the run. */
		lua_pushstring(L, sim->task_error);
		free(sim->task_error);
		sim->task_error = NULL;
		return lua_error(L);
	}
	if (st == -VMLAB_EDEADLK)
		return luaL_error(L, "run: %s", lua_tostring(L, -1));
	if (st)
		return luaL_error(L, "run: %s", vmlab_strerror(st));
	return 0;
}
