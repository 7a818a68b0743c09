/* SPDX-License-Identifier: MIT */
/*
 * The scenario sandbox: what a script from someone else may do to the
 * host.  Text chunks only (binary chunks are host memory corruption on
 * demand: Lua does not verify bytecode), no string.dump, no "%p" (a host
 * address), a cap on Lua memory (a lua_Alloc with a limit), and the
 * budget of a run: Lua instructions plus the kernel work the calls cost
 * (entries written, TLB entries scanned by flushes, CPUs interrupted), so
 * a cheap Lua loop of expensive calls runs out as a loop of instructions
 * does.  Budget and memory errors cannot be caught by pcall, xpcall or
 * coroutine.resume: once hit, every catch re-raises.
 */
#include <stdlib.h>

#include "sim/lsim.h"

/* ------------------------------------------------------------ memory */

void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sim *sim = ud;
	size_t old = ptr ? osize : 0;
	assert(sim && sim->lua_mem >= old);
	if (nsize == 0) {
		free(ptr);
		sim->lua_mem -= old;
		return NULL;
	}
	if (nsize > old && nsize - old > sim->max_memory - sim->lua_mem) {
		sim->mem_hit = true;
		return NULL; /* Lua raises "not enough memory" */
	}
	void *p = realloc(ptr, nsize);
	if (!p)
		return NULL;
	sim->lua_mem = sim->lua_mem - old + nsize;
	assert(sim->lua_mem <= sim->max_memory);
	return p;
}

/* ------------------------------------------------------------ budget */

/* TLB slots a full flush of one CPU looks at (host cost of the flush). */
static u64 tlb_slots(const struct vmlab_config *c)
{
	u64 n = c->pwc_entries;
	for (int l = 0; l < 3; l++)
		n += (u64)c->itlb[l].entries + c->dtlb[l].entries +
		     c->stlb[l].entries;
	return n;
}

u64 sandbox_machine_work(struct vmlab_machine *m)
{
	/* Events are entry writes, fills, invalidations, IPIs, page
	 * allocations: one unit each.  A full flush scans the CPU's arrays,
	 * counted per 16 slots; an interrupted CPU costs 16 more. */
	u64 flushes = vmlab_counter(m, -1, VMLAB_C_flush_local) +
		      vmlab_counter(m, -1, VMLAB_C_flush_global);
	u64 w = vmlab_event_count(m) + flushes * (tlb_slots(&m->cfg) / 16 + 1) +
		16 * vmlab_counter(m, -1, VMLAB_C_ipi_received);
	return w;
}

u64 sandbox_steps(struct sim *sim)
{
	u64 w = sim->lua_steps + sim->dead_work;
	for (int i = 0; i < sim->nr_mach; i++)
		if (!sim->mach[i]->destroyed)
			w += sandbox_machine_work(sim->mach[i]->m);
	return w;
}

/* A live machine past its host budget (CPU stores are charged even
 * there: they cannot fail in the model), NULL if none. */
const struct sim_machine *sandbox_host_over(const struct sim *sim)
{
	for (int i = 0; i < sim->nr_mach; i++) {
		const struct sim_machine *sm = sim->mach[i];
		if (!sm->destroyed &&
		    vmlab_host_bytes(sm->m) > vmlab_host_limit(sm->m))
			return sm;
	}
	return NULL;
}

/* ---------------------------------------------------------- library */

/* load(chunk, name, mode, env) with the mode forced to text. */
static int l_load(lua_State *L)
{
	const char *mode = luaL_optstring(L, 3, "t");
	if (strchr(mode, 'b'))
		return luaL_error(L, "load: binary chunks are refused in "
				     "scenarios (mode \"t\" only)");
	/* An absent env differs from a nil one: keep the count. */
	int nargs = lua_gettop(L) >= 4 ? 4 : 3;
	lua_settop(L, 4);
	lua_pushliteral(L, "t");
	lua_replace(L, 3);
	lua_settop(L, nargs);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, nargs, LUA_MULTRET);
	return lua_gettop(L);
}

/* string.format without %p: the address of a host object. */
static int l_format(lua_State *L)
{
	const char *f = luaL_checkstring(L, 1);
	for (const char *p = f; (p = strchr(p, '%')); p++) {
		p++;
		if (*p == '%')
			continue;
		p += strspn(p, "-+ #0123456789.");
		if (*p == 'p')
			return luaL_error(L, "string.format: '%%p' (a host "
					     "address) is refused in scenarios");
		if (!*p)
			break;
	}
	int n = lua_gettop(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, 1);
	return 1;
}

/* Once the budget or the memory cap is hit, no catch may swallow it. */
static int rethrow_if_fatal(lua_State *L, int nres)
{
	struct sim *sim = lsim(L);
	if ((sim->budget_hit || sim->mem_hit || sim->host_hit) &&
	    lua_type(L, -nres) == LUA_TBOOLEAN && !lua_toboolean(L, -nres)) {
		lua_pushvalue(L, -nres + 1);
		return lua_error(L);
	}
	return nres;
}

static int wrapped_catch(lua_State *L)
{
	int n = lua_gettop(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, n, LUA_MULTRET);
	return rethrow_if_fatal(L, lua_gettop(L));
}

static void wrap(lua_State *L, int table, const char *name,
		 lua_CFunction fn)
{
	lua_getfield(L, table, name);
	assert(lua_isfunction(L, -1));
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, table, name);
}

void sandbox_open(lua_State *L)
{
	lua_pushglobaltable(L);
	int g = lua_gettop(L);
	wrap(L, g, "load", l_load);
	wrap(L, g, "pcall", wrapped_catch);
	wrap(L, g, "xpcall", wrapped_catch);
	lua_getfield(L, g, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	wrap(L, lua_gettop(L), "format", l_format);
	lua_pop(L, 1);
	lua_getfield(L, g, "coroutine");
	wrap(L, lua_gettop(L), "resume", wrapped_catch);
	wrap(L, lua_gettop(L), "close", wrapped_catch);
	lua_pop(L, 2);
	assert(lua_gettop(L) == g - 1);
}
