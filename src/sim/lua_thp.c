/* SPDX-License-Identifier: MIT */
/*
 * Lua bindings of transparent huge pages (include/vmlab/user.h):
 *   m:thp_enabled([mode])        -> "always" | "madvise" | "never"
 *   m:thp_use_zero_page(bool)    -> true
 *   m:khugepaged([{knobs}])      -> {max_ptes_none, max_ptes_swap,
 *                                    max_ptes_shared, pages_to_scan}
 *   m:khugepaged_scan()          -> huge pages collapsed
 *   m:vmstat()                   -> {thp_fault_alloc = n, ...}
 *   m:mthp_enabled(size, [mode]) -> "always" | "madvise" | "never" |
 *                                   "inherit" (hugepages-<size>kB/enabled)
 *   m:mthp_stats(size)           -> {anon_fault_alloc = n, ...}
 *   m:deferred_split_scan()      -> folios split (the THP shrinker)
 *   m:shmem_enabled([mode])      -> "always" | "within_size" | "advise" |
 *                                   "never" | "deny" | "force"
 *   mm:thp_disable([bool])       -> bool (prctl PR_SET/GET_THP_DISABLE)
 *   mm:thp_mapped(addr)          -> bool (a huge PMD maps addr)
 * and of the hugetlb pool:
 *   m:nr_hugepages([n])          -> HugePages_Total
 *   m:nr_overcommit_hugepages([n]) -> nr_overcommit_hugepages
 *   m:hugetlb_meminfo()          -> {total, free, rsvd, surp, overcommit,
 *                                    page_size}
 */
#include "sim/lsim.h"

static const char *const thp_modes[] = {"always", "madvise", "never", NULL};

static const char *const mthp_modes[] = {"always", "madvise", "never",
					 "inherit", NULL};

static struct vmlab_machine *check_m(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	return sm->m;
}

static int l_thp_enabled(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	if (!lua_isnoneornil(L, 2)) {
		int mode = luaL_checkoption(L, 2, NULL, thp_modes);
		int err = vmlab_user_set_thp(m, mode);
		if (err)
			return luaL_error(L, "thp_enabled: %s",
					  vmlab_strerror(err));
	}
	int mode = vmlab_user_get_thp(m);
	luaL_argcheck(L, mode >= 0 && mode <= VMLAB_THP_NEVER, 1, "no user layer");
	lua_pushstring(L, thp_modes[mode]);
	return 1;
}

static int l_thp_use_zero_page(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	luaL_checktype(L, 2, LUA_TBOOLEAN);
	if (vmlab_user_set_thp_zero_page(m, lua_toboolean(L, 2)))
		return luaL_error(L, "thp_use_zero_page: no user layer");
	lua_pushboolean(L, 1);
	return 1;
}

static const char *const khp_keys[] = {"max_ptes_none", "max_ptes_swap",
				       "max_ptes_shared", "pages_to_scan",
				       NULL};

static u64 *khp_field(struct vmlab_khugepaged_params *p, int i)
{
	u64 *f[] = {&p->max_ptes_none, &p->max_ptes_swap, &p->max_ptes_shared,
		    &p->pages_to_scan};
	assert(i >= 0 && i < 4);
	return f[i];
}

static int l_khugepaged(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	struct vmlab_khugepaged_params p;
	vmlab_user_get_khugepaged(m, &p);
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		lsim_check_keys(L, 2, khp_keys, "khugepaged");
		for (int i = 0; khp_keys[i]; i++) {
			lua_getfield(L, 2, khp_keys[i]);
			if (!lua_isnil(L, -1)) {
				lua_Integer v = luaL_checkinteger(L, -1);
				luaL_argcheck(L, v >= 0, 2, "negative knob");
				*khp_field(&p, i) = (u64)v;
			}
			lua_pop(L, 1);
		}
		int err = vmlab_user_set_khugepaged(m, &p);
		if (err) {
			lua_pushnil(L);
			lua_pushstring(L, lsim_user_errname(err));
			return 2;
		}
	}
	lua_createtable(L, 0, 4);
	for (int i = 0; khp_keys[i]; i++) {
		lua_pushinteger(L, (lua_Integer)*khp_field(&p, i));
		lua_setfield(L, -2, khp_keys[i]);
	}
	return 1;
}

static int l_khugepaged_scan(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	int n = vmlab_khugepaged_scan(m);
	if (n < 0)
		return luaL_error(L, "khugepaged_scan: %s", vmlab_strerror(n));
	lua_pushinteger(L, n);
	return 1;
}

static int l_vmstat(lua_State *L)
{
	struct vmlab_thp_vmstat st;
	vmlab_user_thp_vmstat(check_m(L), &st);
	lua_newtable(L);
#define VMLAB_X_PUSH(name)                                                   \
	lua_pushinteger(L, (lua_Integer)st.name);                            \
	lua_setfield(L, -2, #name);
	VMLAB_THP_VMSTAT(VMLAB_X_PUSH)
#undef VMLAB_X_PUSH
	return 1;
}

static int l_thp_disable(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TBOOLEAN);
		int err = vmlab_prctl_set_thp_disable(mm, lua_toboolean(L, 2));
		if (err)
			return luaL_error(L, "thp_disable: %s",
					  vmlab_strerror(err));
	}
	lua_pushboolean(L, vmlab_prctl_get_thp_disable(mm) > 0);
	return 1;
}

static int l_thp_mapped(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	lua_Integer a = luaL_checkinteger(L, 2);
	luaL_argcheck(L, a >= 0, 2, "negative address");
	int r = vmlab_user_thp_mapped(mm, (u64)a);
	if (r < 0) {
		lua_pushnil(L);
		lua_pushstring(L, lsim_user_errname(r));
		return 2;
	}
	lua_pushboolean(L, r);
	return 1;
}

/* The order of an mTHP size in bytes (argument i), as the sysfs
 * directory hugepages-<size>kB names it. */
static int check_mthp_order(lua_State *L, int i)
{
	lua_Integer size = luaL_checkinteger(L, i);
	for (int o = 2; o <= 9; o++)
		if (size == (lua_Integer)(VMLAB_PAGE_SIZE << o))
			return o;
	return luaL_argerror(L, i, "no anonymous mTHP size (16 KiB .. 2 MiB, "
				   "a power of two)");
}

static int l_mthp_enabled(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	int order = check_mthp_order(L, 2);
	if (!lua_isnoneornil(L, 3)) {
		int mode = luaL_checkoption(L, 3, NULL, mthp_modes);
		int err = vmlab_user_set_mthp(m, order, mode);
		if (err)
			return luaL_error(L, "mthp_enabled: %s",
					  vmlab_strerror(err));
	}
	int mode = vmlab_user_get_mthp(m, order);
	luaL_argcheck(L, mode >= 0 && mode <= VMLAB_THP_INHERIT, 1,
		      "no user layer");
	lua_pushstring(L, mthp_modes[mode]);
	return 1;
}

/* Indexed by mode - VMLAB_SHMEM_HUGE_FORCE. */
static const char *const shmem_modes[] = {"force", "deny", "never", "always",
					  "within_size", "advise", NULL};

static int l_shmem_enabled(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	if (!lua_isnoneornil(L, 2)) {
		int mode = luaL_checkoption(L, 2, NULL, shmem_modes) +
			   VMLAB_SHMEM_HUGE_FORCE;
		int err = vmlab_user_set_shmem_thp(m, mode);
		if (err)
			return luaL_error(L, "shmem_enabled: %s",
					  vmlab_strerror(err));
	}
	int mode = vmlab_user_get_shmem_thp(m) - VMLAB_SHMEM_HUGE_FORCE;
	luaL_argcheck(L, mode >= 0 && mode < 6, 1, "no user layer");
	lua_pushstring(L, shmem_modes[mode]);
	return 1;
}

static int l_deferred_split_scan(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	int n = vmlab_user_deferred_split_scan(m);
	luaL_argcheck(L, n >= 0, 1, "no machine");
	lua_pushinteger(L, n);
	return 1;
}

static int l_mthp_stats(lua_State *L)
{
	struct vmlab_machine *m = check_m(L);
	int order = check_mthp_order(L, 2);
	struct vmlab_mthp_stats st;
	if (vmlab_user_mthp_stats(m, order, &st))
		return luaL_error(L, "mthp_stats: no user layer");
	lua_newtable(L);
#define PUSH(name)                                                             \
	lua_pushinteger(L, (lua_Integer)st.name);                              \
	lua_setfield(L, -2, #name);
	VMLAB_MTHP_STATS(PUSH)
#undef PUSH
	return 1;
}

/* m:nr_hugepages([n]) / m:nr_overcommit_hugepages([n]): write the knob
 * when n is given, then read it back (the pool may hold fewer pages than
 * asked, as the sysctl does). */
static int hugetlb_knob(lua_State *L, bool overcommit)
{
	struct vmlab_machine *m = check_m(L);
	if (!lua_isnoneornil(L, 2)) {
		lua_Integer n = luaL_checkinteger(L, 2);
		luaL_argcheck(L, n >= 0, 2, "a page count");
		int err = overcommit ?
				  vmlab_user_set_nr_overcommit_hugepages(m, (u64)n) :
				  vmlab_user_set_nr_hugepages(m, (u64)n);
		if (err)
			return luaL_error(L, "nr_hugepages: %s",
					  vmlab_strerror(err));
	}
	struct vmlab_hugetlb_meminfo h;
	int err = vmlab_user_hugetlb_meminfo(m, &h);
	luaL_argcheck(L, !err, 1, "no user layer");
	/* nr_hugepages reads back the persistent pages */
	lua_pushinteger(L, (lua_Integer)(overcommit ? h.overcommit :
						       h.total - h.surp));
	return 1;
}

static int l_nr_hugepages(lua_State *L)
{
	return hugetlb_knob(L, false);
}

static int l_nr_overcommit_hugepages(lua_State *L)
{
	return hugetlb_knob(L, true);
}

static int l_hugetlb_meminfo(lua_State *L)
{
	struct vmlab_hugetlb_meminfo h;
	int err = vmlab_user_hugetlb_meminfo(check_m(L), &h);
	luaL_argcheck(L, !err, 1, "no user layer");
	lua_createtable(L, 0, 6);
	const struct {
		const char *k;
		u64 v;
	} f[] = {{"total", h.total}, {"free", h.free}, {"rsvd", h.rsvd},
		 {"surp", h.surp},   {"overcommit", h.overcommit},
		 {"page_size", h.page_size}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		lua_pushinteger(L, (lua_Integer)f[i].v);
		lua_setfield(L, -2, f[i].k);
	}
	return 1;
}

/* With the handles' method table on top (lsim_register_user()). */
void lsim_register_thp(lua_State *L)
{
	static const luaL_Reg thp_ops[] = {
		{"thp_enabled", l_thp_enabled},
		{"thp_use_zero_page", l_thp_use_zero_page},
		{"khugepaged", l_khugepaged},
		{"khugepaged_scan", l_khugepaged_scan},
		{"vmstat", l_vmstat},
		{"mthp_enabled", l_mthp_enabled},
		{"mthp_stats", l_mthp_stats},
		{"deferred_split_scan", l_deferred_split_scan},
		{"nr_hugepages", l_nr_hugepages},
		{"nr_overcommit_hugepages", l_nr_overcommit_hugepages},
		{"hugetlb_meminfo", l_hugetlb_meminfo},
		{"shmem_enabled", l_shmem_enabled},
		{NULL, NULL},
	};
	static const luaL_Reg thp_mm_methods[] = {
		{"thp_disable", l_thp_disable},
		{"thp_mapped", l_thp_mapped},
		{NULL, NULL},
	};
	luaL_checktype(L, -1, LUA_TTABLE);
	luaL_setfuncs(L, thp_ops, 0);
	luaL_getmetatable(L, MT_USER_MM);
	lua_getfield(L, -1, "__index");
	luaL_setfuncs(L, thp_mm_methods, 0);
	lua_pop(L, 2);
}
