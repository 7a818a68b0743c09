/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 5: user address spaces (include/vmlab/user.h).
 *
 * For now one whole-scenario operation: the guard-region seed's claim,
 * N thread stacks made the PROT_NONE way or the guard-marker way in a
 * fresh mm.  The per-call mmap/madvise binding (which must keep mms alive
 * across a program suspended inside an operation, see doc/sim.md) is not
 * here yet.
 */
#include "sim/lsim.h"
#include "vmlab/user.h"

static const char *const stack_keys[] = {"stacks", "pages", "markers", NULL};

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* cpu:guard_stacks{stacks=, pages=, markers=} -> figures table. */
static int l_guard_stacks(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, stack_keys, "guard_stacks");
	lua_getfield(L, 2, "stacks");
	lua_Integer n = luaL_checkinteger(L, -1);
	lua_getfield(L, 2, "pages");
	lua_Integer pages = luaL_checkinteger(L, -1);
	lua_getfield(L, 2, "markers");
	bool markers = lua_toboolean(L, -1);
	lua_pop(L, 3);
	luaL_argcheck(L, n > 0 && n <= 1000000, 2, "stacks in 1..1000000");
	luaL_argcheck(L, pages > 0 && pages <= 4096, 2, "pages in 1..4096");
	struct vmlab_guard_stacks_result r;
	struct lop o;
	lop_begin_svc(L, &o, 1, "guard_stacks");
	int err = vmlab_scenario_guard_stacks(o.m, (int)n, (int)pages, markers,
					      &r);
	if (err)
		return lop_fail(L, &o, err);
	lop_end(&o);
	assert(r.n == n && r.pages == pages);
	lua_createtable(L, 0, 12);
	set_int(L, "vmas_added", r.vmas_added);
	set_int(L, "pgtable_pages", r.pgtable_pages);
	set_int(L, "syscalls", r.syscalls);
	set_int(L, "flushes", r.flushes);
	set_int(L, "ipis", r.ipis);
	set_int(L, "pte_writes", r.pte_writes);
	set_int(L, "guard_sigsegv", r.guard_sigsegv);
	set_int(L, "stack_ok", r.stack_ok);
	set_num(L, "sim_ns", r.sim_ns);
	set_num(L, "vmas_per_stack", r.vmas_per_stack);
	set_num(L, "sim_ns_per_stack", r.sim_ns_per_stack);
	return 1;
}

static const luaL_Reg user_ops[] = {
	{"guard_stacks", l_guard_stacks},
	{NULL, NULL},
};

void lsim_register_user(lua_State *L)
{
	luaL_setfuncs(L, user_ops, 0);
}
