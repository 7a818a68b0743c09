/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, trace replay (include/vmlab/replay.h): a scenario replays a
 * real kernel trace with a mechanism changed and compares with the kernel.
 *
 *   local r, err = vmlab.replay_trace("vmalloc-bpf-fork.txt",
 *                                     {lazy_max_pages = 8192})
 *   options: the command's (cpus, lazy_max_pages, flush_ceiling,
 *   execmem_cpa = false, divergences, vmalloc_start, kind), and text
 *   local r = vmlab.replay_trace(nil, {text = "...", kind = "mm"})
 *   r.agreement, r.records, r.divergences, r.model_purges
 *   r.rows[i] = {quantity =, kernel =, vmlab =, compared =, agreed =, apart =}
 *   r.row["num_purged"].agreed, r.notes[i], r.maps_diff, r.table (as printed)
 *
 * An unreadable or malformed trace returns nil and the message (naming
 * the line); bad option names or types raise at the scenario's line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim/lsim.h"
#include "vmlab/replay.h"

static void set_u(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void set_s(lua_State *L, const char *k, const char *v)
{
	lua_pushstring(L, v ? v : "");
	lua_setfield(L, -2, k);
}

static void push_row(lua_State *L, const struct vmlab_replay_row *w)
{
	lua_createtable(L, 0, 7);
	set_s(L, "quantity", w->quantity);
	set_s(L, "kernel", w->kernel);
	set_s(L, "vmlab", w->model);
	set_u(L, "compared", w->compared);
	set_u(L, "agreed", w->agreed);
	lua_pushboolean(L, w->apart);
	lua_setfield(L, -2, "apart");
	set_s(L, "note", w->note);
}

static u64 opt_u(lua_State *L, int t, const char *k, u64 lo, u64 hi)
{
	lua_getfield(L, t, k);
	u64 v = 0;
	if (!lua_isnil(L, -1)) {
		lua_Integer x = luaL_checkinteger(L, -1);
		if (x < (lua_Integer)lo || (u64)x > hi)
			luaL_error(L, "replay_trace: %s out of range", k);
		v = (u64)x;
	}
	lua_pop(L, 1);
	return v;
}

static int l_replay_trace(lua_State *L)
{
	static const char *const known[] = {"text", "kind", "lazy_max_pages",
					    "cpus", "flush_ceiling",
					    "execmem_cpa", "divergences",
					    "vmalloc_start", "arch", NULL};
	const char *path = luaL_optstring(L, 1, NULL);
	struct vmlab_replay_opts o = {0};
	enum vmlab_trace_kind kind = VMLAB_TRACE_UNKNOWN;
	const char *text = NULL;
	size_t len = 0;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		lsim_check_keys(L, 2, known, "replay_trace option");
		lua_getfield(L, 2, "text");
		if (!lua_isnil(L, -1))
			text = luaL_checklstring(L, -1, &len);
		lua_pop(L, 1); /* the string stays alive in the table */
		lua_getfield(L, 2, "kind");
		if (!lua_isnil(L, -1)) {
			const char *k = luaL_checkstring(L, -1);
			if (!strcmp(k, "vmalloc"))
				kind = VMLAB_TRACE_VMALLOC;
			else if (!strcmp(k, "mm"))
				kind = VMLAB_TRACE_MM;
			else
				luaL_error(L, "replay_trace: kind 'vmalloc' or 'mm', not '%s'", k);
		}
		lua_pop(L, 1);
		o.lazy_max_pages = opt_u(L, 2, "lazy_max_pages", 1, 1ULL << 40);
		o.nr_cpus = (int)opt_u(L, 2, "cpus", 1, VMLAB_MAX_CPUS);
		o.flush_ceiling = (u32)opt_u(L, 2, "flush_ceiling", 1, 1u << 30);
		o.max_divergences = (int)opt_u(L, 2, "divergences", 1, 10000);
		lua_getfield(L, 2, "vmalloc_start"); /* an address: all 64 bits */
		if (!lua_isnil(L, -1)) {
			o.vmalloc_start = (u64)luaL_checkinteger(L, -1);
			if (!vmlab_replay_vmalloc_start_ok(o.vmalloc_start)) {
				char a[24];
				snprintf(a, sizeof(a), "%#llx",
					 (unsigned long long)o.vmalloc_start);
				luaL_error(L, "replay_trace: vmalloc_start %s is not a "
					   "page-aligned kernel address below the image map", a);
			}
		}
		lua_pop(L, 1);
		lua_getfield(L, 2, "arch");
		if (!lua_isnil(L, -1)) {
			o.arch = luaL_checkstring(L, -1);
			const char *why = vmlab_replay_arch_error(o.arch);
			if (why)
				luaL_error(L, "replay_trace: %s", why);
		}
		lua_pop(L, 1);
		lua_getfield(L, 2, "execmem_cpa");
		if (!lua_isnil(L, -1))
			o.no_execmem_cpa = !lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	if (!path && !text)
		luaL_error(L, "replay_trace: a file name or {text = ...}");
	struct vmlab_replay_result *r = NULL;
	char err[512];
	int e = text ? vmlab_replay_text(text, len, kind, path ? path : "text", &o,
					 &r, err, sizeof(err))
		     : vmlab_replay_file(path, kind, &o, &r, err, sizeof(err));
	if (e) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	lua_createtable(L, 0, 12);
	lua_pushnumber(L, vmlab_replay_rate(r));
	lua_setfield(L, -2, "agreement");
	set_u(L, "records", r->records);
	set_u(L, "divergences", r->total_divs);
	set_u(L, "model_purges", r->model_purges);
	set_s(L, "kind", r->kind == VMLAB_TRACE_MM ? "mm" : "vmalloc");
	set_s(L, "maps_diff", r->maps_diff);
	lua_createtable(L, (int)r->nrows, 0);
	lua_createtable(L, 0, (int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		push_row(L, &r->rows[i]);
		lua_pushvalue(L, -1);
		lua_rawseti(L, -4, (lua_Integer)i + 1);
		lua_setfield(L, -2, r->rows[i].quantity);
	}
	lua_setfield(L, -3, "row");
	lua_setfield(L, -2, "rows");
	lua_createtable(L, (int)r->nnotes, 0);
	for (size_t i = 0; i < r->nnotes; i++) {
		lua_pushstring(L, r->notes[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "notes");
	char *buf = NULL;
	size_t bl = 0;
	FILE *mf = open_memstream(&buf, &bl);
	if (mf) {
		vmlab_replay_print(r, mf, false);
		fclose(mf);
		lua_pushlstring(L, buf ? buf : "", bl);
		lua_setfield(L, -2, "table");
		free(buf);
	}
	vmlab_replay_free(r);
	return 1;
}

void lsim_register_replay(lua_State *L)
{
	lua_pushcfunction(L, l_replay_trace);
	lua_setfield(L, -2, "replay_trace");
}
