/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 7: execmem and text_poke (include/vmlab/execmem.h).
 *
 *   m:execmem_setup{allocator = "pack", variants = "poke-2m,rox-bpf"}
 *   local a = c:execmem_alloc("bpf", 64)     -- nil on failure
 *   c:execmem_update_copy(a, 0, bytes); c:execmem_finalize(a)
 *   c:text_poke(a + 8, bytes); c:text_poke_copy(a, bytes)
 *   c:text_poke_set(a, 0xcc, 64); c:execmem_free(a)
 *   m:execmem_stats(), m:execmem_text_cover(), m:kernel_text_map{},
 *   m:kernel_text_stats()
 *   c:execmem_workload{programs =, size =, rounds =, fetch_bytes =,
 *                      unload =, type =}  -> figures
 *
 * Errors of the kernel API come back as nil, "EINVAL" (scenarios decide);
 * a bad argument (unknown allocator or type) is a usage error.
 */
#include "sim/lsim.h"

static void setint(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static int push_err(lua_State *L, int err)
{
	if (!err) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, vmlab_strerror(err));
	return 2;
}

static const char *const variant_names[] = {"x-before-ro", "poke-2m",
					    "rox-bpf", "pack-tree", "pack-1b",
					    "pack-noref", NULL};
static const u64 variant_values[] = {VMLAB_EXECMEM_X_BEFORE_RO,
				     VMLAB_TEXT_POKE_2M,
				     VMLAB_EXECMEM_ROX_BPF,
				     VMLAB_EXECMEM_PACK_TREE,
				     VMLAB_EXECMEM_PACK_1B,
				     VMLAB_EXECMEM_PACK_NOREF};

static const char *const setup_keys[] = {"allocator", "variants", NULL};

static int l_execmem_setup(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, setup_keys, "execmem_setup");
	lua_getfield(L, 2, "allocator");
	const char *name = luaL_optstring(L, -1, "per-area");
	int a = vmlab_execmem_allocator_parse(name);
	if (a < 0)
		return lsim_usage_error(L, "execmem_setup: unknown allocator "
					   "'%s' (per-area, pack, split-range, "
					   "rox-cache)",
					name);
	lua_pop(L, 1);
	lua_getfield(L, 2, "variants");
	u64 flags = lua_isnil(L, -1) ? 0
				     : lsim_flags(L, lua_gettop(L),
						  variant_names, variant_values,
						  "execmem variant");
	lua_pop(L, 1);
	struct vmlab_execmem_config cfg = {(enum vmlab_execmem_allocator)a,
					   (u32)flags};
	struct lop o;
	lop_begin_svc(L, &o, 1, "execmem_setup");
	int err = vmlab_execmem_setup(o.m, &cfg);
	lop_end(&o);
	return push_err(L, err);
}

static enum vmlab_execmem_type check_type(lua_State *L, int idx)
{
	const char *name = luaL_checkstring(L, idx);
	int t = vmlab_execmem_type_parse(name);
	if (t < 0)
		lsim_usage_error(L, "execmem: unknown type '%s' (module-text, "
				    "kprobes, ftrace, bpf, module-data)",
				 name);
	return (enum vmlab_execmem_type)t;
}

static int l_execmem_alloc(lua_State *L)
{
	enum vmlab_execmem_type t = check_type(L, 2);
	lua_Integer size = luaL_checkinteger(L, 3);
	luaL_argcheck(L, size >= 0, 3, "a size in bytes");
	struct lop o;
	lop_begin_svc(L, &o, 1, "execmem_alloc");
	u64 a = vmlab_execmem_alloc(o.m, o.cpu, t, (u64)size);
	lop_end(&o);
	if (!a)
		return push_err(L, -VMLAB_ENOMEM);
	lua_pushinteger(L, (lua_Integer)a);
	return 1;
}

typedef int (*addr_fn)(struct vmlab_machine *m, int cpu, u64 addr);

/* c:execmem_free(addr), c:execmem_finalize(addr) */
static int addr_op(lua_State *L, addr_fn fn, const char *name)
{
	u64 a = (u64)luaL_checkinteger(L, 2);
	struct lop o;
	lop_begin_svc(L, &o, 1, name);
	int err = fn(o.m, o.cpu, a);
	lop_end(&o);
	return push_err(L, err);
}

static int l_execmem_free(lua_State *L)
{
	return addr_op(L, vmlab_execmem_free, "execmem_free");
}

static int l_execmem_finalize(lua_State *L)
{
	return addr_op(L, vmlab_execmem_finalize, "execmem_finalize");
}

static int l_execmem_update_copy(lua_State *L)
{
	u64 a = (u64)luaL_checkinteger(L, 2);
	u64 off = (u64)luaL_checkinteger(L, 3);
	size_t len;
	const char *s = luaL_checklstring(L, 4, &len);
	struct lop o;
	lop_begin_svc(L, &o, 1, "execmem_update_copy");
	int err = vmlab_execmem_update_copy(o.m, o.cpu, a, off, s, len);
	lop_end(&o);
	return push_err(L, err);
}

static int poke_common(lua_State *L, bool copy)
{
	u64 a = (u64)luaL_checkinteger(L, 2);
	size_t len;
	const char *s = luaL_checklstring(L, 3, &len);
	struct lop o;
	lop_begin_svc(L, &o, 1, copy ? "text_poke_copy" : "text_poke");
	int err = copy ? vmlab_text_poke_copy(o.m, o.cpu, a, s, len)
		       : vmlab_text_poke(o.m, o.cpu, a, s, len);
	lop_end(&o);
	return push_err(L, err);
}

static int l_text_poke(lua_State *L)
{
	return poke_common(L, false);
}

static int l_text_poke_copy(lua_State *L)
{
	return poke_common(L, true);
}

static int l_text_poke_set(lua_State *L)
{
	u64 a = (u64)luaL_checkinteger(L, 2);
	lua_Integer byte = luaL_checkinteger(L, 3);
	lua_Integer len = luaL_checkinteger(L, 4);
	luaL_argcheck(L, byte >= 0 && byte <= 255, 3, "a byte (0..255)");
	luaL_argcheck(L, len >= 0, 4, "a length");
	struct lop o;
	lop_begin_svc(L, &o, 1, "text_poke_set");
	int err = vmlab_text_poke_set(o.m, o.cpu, a, (int)byte, (u64)len);
	lop_end(&o);
	return push_err(L, err);
}

static int l_execmem_stats(lua_State *L)
{
	int cpu;
	struct vmlab_execmem_stats st;
	vmlab_execmem_stats(lsim_handle(L, 1, &cpu)->m, &st);
	lua_createtable(L, 0, 16);
	lua_pushstring(L, vmlab_execmem_allocator_name(st.allocator));
	lua_setfield(L, -2, "allocator");
	setint(L, "nr_live", st.nr_live);
	setint(L, "live_bytes", st.live_bytes);
	setint(L, "reserved_bytes", st.reserved_bytes);
	setint(L, "wasted_bytes", st.wasted_bytes);
	setint(L, "nr_packs", st.nr_packs);
	setint(L, "nr_vmalloc_areas", st.nr_vmalloc_areas);
	setint(L, "text_pokes", st.text_pokes);
	setint(L, "bytes_poked", st.bytes_poked);
	setint(L, "temp_mm_switches", st.temp_mm_switches);
	setint(L, "poke_flushes", st.poke_flushes);
	setint(L, "x_boundary", st.x_boundary);
	setint(L, "data_low", st.data_low);
	setint(L, "boundary_grows", st.boundary_grows);
	setint(L, "pack_track_bytes", st.pack_track_bytes);
	setint(L, "pack_track_nodes", st.pack_track_nodes);
	setint(L, "pack_used_bytes", st.pack_used_bytes);
	return 1;
}

static int l_execmem_text_cover(lua_State *L)
{
	int cpu;
	u64 k4, m2;
	vmlab_execmem_text_cover(lsim_handle(L, 1, &cpu)->m, &k4, &m2);
	lua_pushinteger(L, (lua_Integer)k4);
	lua_pushinteger(L, (lua_Integer)m2);
	return 2;
}

static const char *const ktext_keys[] = {"text", "tail_pool", NULL};

/* m:kernel_text_map{text = bytes, tail_pool = bool} */
static int l_kernel_text_map(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, ktext_keys, "kernel_text_map");
	lua_getfield(L, 2, "text");
	lua_Integer text = luaL_checkinteger(L, -1);
	lua_getfield(L, 2, "tail_pool");
	bool tail = lua_toboolean(L, -1);
	lua_pop(L, 2);
	luaL_argcheck(L, text > 0, 2, "text: a size in bytes");
	struct lop o;
	lop_begin_svc(L, &o, 1, "kernel_text_map");
	int err = vmlab_kernel_text_map(o.m, o.cpu, (u64)text, tail);
	lop_end(&o);
	return push_err(L, err);
}

static int l_kernel_text_stats(lua_State *L)
{
	int cpu;
	struct vmlab_kernel_text_stats st;
	vmlab_kernel_text_stats(lsim_handle(L, 1, &cpu)->m, &st);
	lua_createtable(L, 0, 10);
	setint(L, "text", st.text);
	setint(L, "etext", st.etext);
	setint(L, "map_end", st.map_end);
	lua_pushboolean(L, st.tail_pool);
	lua_setfield(L, -2, "tail_pool");
	setint(L, "leaves_2m", st.leaves_2m);
	setint(L, "leaves_4k", st.leaves_4k);
	setint(L, "gap_freed_pages", st.gap_freed_pages);
	setint(L, "pool_bytes", st.pool_bytes);
	setint(L, "pool_used", st.pool_used);
	setint(L, "pool_allocs", st.pool_allocs);
	return 1;
}

static const char *const workload_keys[] = {
	"programs", "size", "rounds", "fetch_bytes", "unload", "type",
	"modules", "churn", NULL};

static u32 opt_u32(lua_State *L, const char *k, u32 def)
{
	lua_getfield(L, 2, k);
	lua_Integer v = luaL_optinteger(L, -1, def);
	lua_pop(L, 1);
	if (v < 0 || v > UINT32_MAX)
		lsim_usage_error(L, "execmem_workload: %s out of range", k);
	return (u32)v;
}

static int l_execmem_workload(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, workload_keys, "execmem_workload");
	struct vmlab_execmem_workload w = {
	    .programs = opt_u32(L, "programs", 1000),
	    .size = opt_u32(L, "size", 64),
	    .rounds = opt_u32(L, "rounds", 1),
	    .fetch_bytes = opt_u32(L, "fetch_bytes", 64),
	    .type = VMLAB_EXECMEM_BPF,
	    .churn = opt_u32(L, "churn", 0),
	};
	lua_getfield(L, 2, "modules");
	w.modules = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, 2, "unload");
	w.unload = lua_isnil(L, -1) || lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (lua_getfield(L, 2, "type") != LUA_TNIL)
		w.type = check_type(L, lua_gettop(L));
	lua_pop(L, 1);
	struct vmlab_execmem_figures f;
	struct lop o;
	lop_begin_svc(L, &o, 1, "execmem_workload");
	int err = vmlab_execmem_run_workload(o.m, &w, &f);
	lop_end(&o);
	if (err)
		return push_err(L, err);
	lua_createtable(L, 0, 24);
	setint(L, "itlb_4k", f.itlb_4k);
	setint(L, "itlb_2m", f.itlb_2m);
	setint(L, "itlb_miss", f.itlb_miss);
	setint(L, "walks", f.walks);
	setint(L, "split_l2", f.split_l2);
	setint(L, "split_l3", f.split_l3);
	setint(L, "split_l2_all", f.split_l2_all);
	setint(L, "split_l3_all", f.split_l3_all);
	setint(L, "directmap_4k", f.dm_4k);
	setint(L, "directmap_2m", f.dm_2m);
	setint(L, "directmap_1g", f.dm_1g);
	setint(L, "wasted_bytes", f.wasted_bytes);
	setint(L, "reserved_bytes", f.reserved_bytes);
	setint(L, "nr_packs", f.nr_packs);
	setint(L, "nr_areas", f.nr_areas);
	setint(L, "text_pokes", f.text_pokes);
	setint(L, "bytes_poked", f.bytes_poked);
	setint(L, "temp_mm_switches", f.temp_mm_switches);
	setint(L, "poke_flushes", f.poke_flushes);
	setint(L, "flushes", f.flushes);
	setint(L, "ipis", f.ipis);
	lua_pushnumber(L, f.time_ns);
	lua_setfield(L, -2, "time_ns");
	setint(L, "wx_reports", f.wx_reports);
	setint(L, "stale_reports", f.stale_reports);
	setint(L, "freed_reports", f.freed_reports);
	return 1;
}

static const luaL_Reg execmem_methods[] = {
	{"execmem_setup", l_execmem_setup},
	{"execmem_alloc", l_execmem_alloc},
	{"execmem_free", l_execmem_free},
	{"execmem_update_copy", l_execmem_update_copy},
	{"execmem_finalize", l_execmem_finalize},
	{"text_poke", l_text_poke},
	{"text_poke_copy", l_text_poke_copy},
	{"text_poke_set", l_text_poke_set},
	{"execmem_stats", l_execmem_stats},
	{"execmem_text_cover", l_execmem_text_cover},
	{"kernel_text_map", l_kernel_text_map},
	{"kernel_text_stats", l_kernel_text_stats},
	{"execmem_workload", l_execmem_workload},
	{NULL, NULL},
};

void lsim_register_execmem(lua_State *L)
{
	luaL_setfuncs(L, execmem_methods, 0);
}
