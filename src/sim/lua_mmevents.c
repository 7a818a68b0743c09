/* SPDX-License-Identifier: MIT */
/*
 * Lua bindings of the user-mm operations that fire SOFT_DIRTY, MIGRATE and
 * EXCLUSIVE notifier events (include/vmlab/migrate.h), as user-mm methods:
 *   mm:clear_refs(4)                       -> true | nil, err
 *   mm:soft_dirty(addr)                    -> bool (pagemap bit 55)
 *   mm:migrate(addr, len)                  -> pages moved | nil, err
 *   mm:migrate_vma(start, end [, owner])   -> pages moved | nil, err
 *   mm:make_device_exclusive(addr [, owner]) -> pfn | nil, err
 *   mm:device_exclusive(addr)              -> bool
 *   mm:page_referenced(start, end)         -> pages young | nil, err
 *   mm:test_young(addr)                    -> bool | nil, err
 * owner: a handle from mm:notifier{}, m:smmu{} or m:kvm{}.
 */
#include "sim/lsim.h"
#include "vmlab/migrate.h"

static u64 arg_u64(lua_State *L, int idx)
{
	lua_Integer v = luaL_checkinteger(L, idx);
	luaL_argcheck(L, v >= 0, idx, "negative address or length");
	return (u64)v;
}

static int push_result(lua_State *L, s64 r)
{
	if (r >= 0) {
		lua_pushinteger(L, (lua_Integer)r);
		return 1;
	}
	lua_pushnil(L);
	lua_pushstring(L, vmlab_strerror((int)r));
	return 2;
}

/* An operation of the mm at 1 on the running program's CPU (the mm's
 * own CPU outside m:run). */
/* lsim_user_mm_begin(): as every mm operation, mmap_lock may take over
 * from the service lock, so a syscall of another CPU on the same mm runs
 * where Linux lets it (migrate_vma holds mmap_read_lock only). */
static struct vmlab_user_mm *op_begin(lua_State *L, struct lop *o,
				      const char *name)
{
	return lsim_user_mm_begin(L, o, 1, name);
}

static int l_clear_refs(lua_State *L)
{
	lua_Integer type = luaL_checkinteger(L, 2);
	luaL_argcheck(L, type >= VMLAB_CLEAR_REFS_ALL &&
			      type <= VMLAB_CLEAR_REFS_MM_HIWATER_RSS,
		      2, "clear_refs type 1..5");
	struct lop o;
	struct vmlab_user_mm *mm = op_begin(L, &o, "clear_refs");
	int err = vmlab_clear_refs(mm, (int)type);
	lop_end(&o);
	if (err)
		return push_result(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_soft_dirty(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	u64 va = arg_u64(L, 2) & VMLAB_PAGE_MASK;
	u64 e = 0;
	int n = vmlab_pagemap_read(mm, va, &e, 1);
	if (n < 0)
		return push_result(L, n);
	lua_pushboolean(L, (e & VMLAB_PM_SOFT_DIRTY) != 0);
	return 1;
}

/* mm:NAME(a, b) -> fn's count | nil, err: an operation on a range. */
typedef s64 (*range_fn)(struct vmlab_user_mm *mm, u64 a, u64 b);

static int range_op(lua_State *L, const char *name, range_fn fn)
{
	u64 a = arg_u64(L, 2), b = arg_u64(L, 3);
	struct lop o;
	struct vmlab_user_mm *mm = op_begin(L, &o, name);
	s64 r = fn(mm, a, b);
	lop_end(&o);
	return push_result(L, r);
}

static int l_migrate(lua_State *L)
{
	return range_op(L, "move_pages", vmlab_migrate_pages);
}

static int l_migrate_vma(lua_State *L)
{
	u64 start = arg_u64(L, 2), end = arg_u64(L, 3);
	void *owner = lua_isnoneornil(L, 4) ? NULL : lsim_notifier_owner(L, 4);
	struct lop o;
	struct vmlab_user_mm *mm = op_begin(L, &o, "migrate_vma");
	s64 r = vmlab_migrate_vma(mm, start, end, owner);
	lop_end(&o);
	return push_result(L, r);
}

static int l_make_device_exclusive(lua_State *L)
{
	u64 addr = arg_u64(L, 2);
	void *owner = lua_isnoneornil(L, 3) ? NULL : lsim_notifier_owner(L, 3);
	struct lop o;
	struct vmlab_user_mm *mm = op_begin(L, &o, "make_device_exclusive");
	u64 pfn = 0;
	int err = vmlab_make_device_exclusive(mm, addr, owner, &pfn);
	lop_end(&o);
	return push_result(L, err ? err : (s64)pfn);
}

static int l_device_exclusive(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	lua_pushboolean(L, vmlab_is_device_exclusive(mm, arg_u64(L, 2)));
	return 1;
}

static s64 page_referenced(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	return vmlab_user_page_referenced(mm, start, end);
}

static int l_page_referenced(lua_State *L)
{
	return range_op(L, "folio_referenced", page_referenced);
}

static int l_test_young(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	int r = vmlab_user_test_young(mm, arg_u64(L, 2));
	if (r < 0)
		return push_result(L, r);
	lua_pushboolean(L, r);
	return 1;
}

static const char *const cat_names[] = {
	"wpallowed", "written", "file", "present", "swapped",
	"pfnzero", "huge", "soft_dirty", "guard", "all", NULL};
static const u64 cat_values[] = {
	VMLAB_PAGE_IS_WPALLOWED, VMLAB_PAGE_IS_WRITTEN, VMLAB_PAGE_IS_FILE,
	VMLAB_PAGE_IS_PRESENT, VMLAB_PAGE_IS_SWAPPED, VMLAB_PAGE_IS_PFNZERO,
	VMLAB_PAGE_IS_HUGE, VMLAB_PAGE_IS_SOFT_DIRTY, VMLAB_PAGE_IS_GUARD,
	(VMLAB_PAGE_IS_GUARD << 1) - 1};
static const char *const scan_flag_names[] = {"wp_matching",
					      "check_wpasync", NULL};
static const u64 scan_flag_values[] = {VMLAB_PM_SCAN_WP_MATCHING,
				       VMLAB_PM_SCAN_CHECK_WPASYNC};
static const char *const scan_keys[] = {"start", "end", "vec_len",
					"max_pages", "inverted", "mask",
					"anyof", "ret", "flags", NULL};
#define SCAN_MAX_VEC 4096

static u64 scan_field(lua_State *L, const char *k, const char *const *names,
		      const u64 *values, u64 def)
{
	lua_getfield(L, 2, k);
	u64 v = def;
	if (!lua_isnil(L, -1))
		v = names ? lsim_flags(L, -1, names, values, k)
			  : (u64)luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	return v;
}

/* mm:pagemap_scan{start, end, vec_len, max_pages, inverted, mask, anyof,
 * ret, flags} -> {{start, end, categories}, ...}, walk_end | nil, err */
static int l_pagemap_scan(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, scan_keys, "pagemap_scan option");
	struct vmlab_pm_scan_arg a = {.size = sizeof(a)};
	a.start = scan_field(L, "start", NULL, NULL, 0);
	a.end = scan_field(L, "end", NULL, NULL, 0);
	a.vec_len = scan_field(L, "vec_len", NULL, NULL, 64);
	luaL_argcheck(L, a.vec_len <= SCAN_MAX_VEC, 2, "vec_len: 0..4096");
	a.max_pages = scan_field(L, "max_pages", NULL, NULL, 0);
	a.category_inverted = scan_field(L, "inverted", cat_names, cat_values, 0);
	a.category_mask = scan_field(L, "mask", cat_names, cat_values, 0);
	a.category_anyof_mask = scan_field(L, "anyof", cat_names, cat_values, 0);
	a.return_mask = scan_field(L, "ret", cat_names, cat_values,
				   cat_values[9]);
	a.flags = scan_field(L, "flags", scan_flag_names, scan_flag_values, 0);
	struct vmlab_page_region *vec =
		a.vec_len ? lua_newuserdatauv(L, a.vec_len * sizeof(*vec), 0)
			  : NULL;
	a.vec = vec;
	struct lop o;
	struct vmlab_user_mm *m2 = lsim_user_mm_begin(L, &o, 1, "pagemap_scan");
	s64 n = vmlab_pagemap_scan(m2, &a);
	lop_end(&o);
	(void)mm;
	if (n < 0)
		return push_result(L, (int)n);
	lua_createtable(L, (int)n, 0);
	for (s64 i = 0; i < n; i++) {
		lua_createtable(L, 0, 3);
		lua_pushinteger(L, (lua_Integer)vec[i].start);
		lua_setfield(L, -2, "start");
		lua_pushinteger(L, (lua_Integer)vec[i].end);
		lua_setfield(L, -2, "end");
		lua_pushinteger(L, (lua_Integer)vec[i].categories);
		lua_setfield(L, -2, "categories");
		lua_seti(L, -2, i + 1);
	}
	lua_pushinteger(L, (lua_Integer)a.walk_end);
	return 2;
}

void lsim_register_mm_events(lua_State *L)
{
	static const luaL_Reg mm_methods[] = {
		{"clear_refs", l_clear_refs},
		{"soft_dirty", l_soft_dirty},
		{"migrate", l_migrate},
		{"migrate_vma", l_migrate_vma},
		{"make_device_exclusive", l_make_device_exclusive},
		{"device_exclusive", l_device_exclusive},
		{"page_referenced", l_page_referenced},
		{"test_young", l_test_young},
		{"pagemap_scan", l_pagemap_scan},
		{NULL, NULL},
	};
	luaL_checktype(L, -1, LUA_TTABLE);
	luaL_setfuncs(L, mm_methods, 0);
}
