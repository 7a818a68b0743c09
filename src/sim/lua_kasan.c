/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 6: KASAN (include/vmlab/kasan.h).
 *
 *   local m = vmlab.machine{kasan = "seed-v6"}   -- or true ("fixed")
 *   m:kasan_stats()            -- {shadow_pages_mapped = ..., ...}
 *   m:kasan_shadow(va)         -- shadow byte of va, nil if unmapped
 *   m:mem_to_shadow(va)        -- kasan_mem_to_shadow()
 *   c:kasan_poison(va, size, value) / c:kasan_unpoison(va, size)
 *
 * The access check itself needs no binding: every read/write a CPU makes
 * is checked while KASAN is on.
 */
#include "sim/lsim.h"

static void setint(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static struct vmlab_machine *kasan_machine(lua_State *L, int *cpu)
{
	struct sim_machine *sm = lsim_handle(L, 1, cpu);
	if (!vmlab_kasan_enabled(sm->m))
		luaL_error(L, "machine '%s' runs without KASAN "
			      "(vmlab.machine{kasan = true})",
			   sm->label);
	return sm->m;
}

static int l_kasan_stats(lua_State *L)
{
	int cpu;
	struct vmlab_kasan_stats st;
	vmlab_kasan_stats(kasan_machine(L, &cpu), &st);
	lua_createtable(L, 0, 20);
	setint(L, "dm_shadow_pages", st.dm_shadow_pages);
	setint(L, "early_shadow_entries", st.early_shadow_entries);
	setint(L, "boot_flushes", st.boot_flushes);
	setint(L, "shadow_pages_mapped", st.shadow_pages_mapped);
	setint(L, "shadow_pages_populated", st.shadow_pages_populated);
	setint(L, "shadow_pages_freed", st.shadow_pages_freed);
	setint(L, "freed_without_flush", st.freed_without_flush);
	setint(L, "shadow_pages_shared", st.shadow_pages_shared);
	setint(L, "shadow_pages_one_per_area", st.shadow_pages_one_per_area);
	setint(L, "populate_skipped", st.populate_skipped);
	setint(L, "populate_raced", st.populate_raced);
	setint(L, "populate_failures", st.populate_failures);
	setint(L, "releases", st.releases);
	setint(L, "releases_during_populate", st.releases_during_populate);
	setint(L, "release_flushes", st.release_flushes);
	setint(L, "checks", st.checks);
	setint(L, "reports", st.reports);
	setint(L, "vmalloc_bytes_live", st.vmalloc_bytes_live);
	return 1;
}

static int l_kasan_shadow(lua_State *L)
{
	int cpu;
	struct vmlab_machine *m = kasan_machine(L, &cpu);
	u8 b;
	if (vmlab_kasan_shadow_byte(m, (u64)luaL_checkinteger(L, 2), &b))
		lua_pushnil(L);
	else
		lua_pushinteger(L, b);
	return 1;
}

static int l_mem_to_shadow(lua_State *L)
{
	int cpu;
	struct vmlab_machine *m = kasan_machine(L, &cpu);
	lua_pushinteger(L, (lua_Integer)vmlab_kasan_mem_to_shadow(
				   m, (u64)luaL_checkinteger(L, 2)));
	return 1;
}

/* c:kasan_poison(va, size[, value]) and c:kasan_unpoison(va, size). */
static int poison_op(lua_State *L, bool unpoison)
{
	int cpu;
	kasan_machine(L, &cpu);
	u64 va = (u64)luaL_checkinteger(L, 2);
	u64 size = (u64)luaL_checkinteger(L, 3);
	lua_Integer v = unpoison ? 0 : luaL_optinteger(L, 4,
						       VMLAB_KASAN_VMALLOC_INVALID);
	luaL_argcheck(L, v >= 0 && v <= 255, 4, "a shadow byte (0..255)");
	struct lop o;
	lop_begin_svc(L, &o, 1, unpoison ? "kasan_unpoison" : "kasan_poison");
	if (unpoison)
		vmlab_kasan_unpoison(o.m, o.cpu, va, size);
	else
		vmlab_kasan_poison(o.m, o.cpu, va, size, (u8)v);
	lop_end(&o);
	return 0;
}

static int l_kasan_poison(lua_State *L)
{
	return poison_op(L, false);
}

static int l_kasan_unpoison(lua_State *L)
{
	return poison_op(L, true);
}

static const luaL_Reg kasan_methods[] = {
	{"kasan_stats", l_kasan_stats},
	{"kasan_shadow", l_kasan_shadow},
	{"mem_to_shadow", l_mem_to_shadow},
	{"kasan_poison", l_kasan_poison},
	{"kasan_unpoison", l_kasan_unpoison},
	{NULL, NULL},
};

void lsim_register_kasan(lua_State *L)
{
	luaL_setfuncs(L, kasan_methods, 0);
}
