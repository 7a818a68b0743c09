/* SPDX-License-Identifier: MIT */
/*
 * Lua binding: the generic page walker (vmlab_walk_page_range, the
 * kernel's walk_page_range with the install_pte extension), so that a
 * scenario can show what a walk does with a given set of callbacks.
 * m:walk_page_range is the public walker, which refuses install_pte
 * (result "EINVAL"); m:walk_page_range_mm, same options, is the
 * mm-internal walk_page_range_mm() that mm code installs PTEs with.
 *
 *   m:walk_page_range{start = a, ["end"] = b, mm = usermm,  -- default init_mm
 *                     install = true,     -- install_pte: a guard marker
 *                     pte_entry = true, pmd_entry = true, pud_entry = true,
 *                     pte_hole = true,
 *                     fail_after = n}     -- install_pte fails (-ENOMEM) after n
 *   -> {result = 0 | "ENOMEM" | ..., installed = n, pte_entry = n,
 *       pmd_entry = n, pud_entry = n, pte_hole = n}
 *
 * Callbacks only count what they see; they never change an entry (the
 * installer supplies a guard PTE marker).  A walk is one operation: the
 * scheduler does not interleave inside it.
 *
 *   m:user_poison(mm, addr, len)  -- UFFDIO_POISON-style poison markers
 */
#include "mm/internal.h"
#include "sim/lsim.h"
#include "vmlab/user.h"

struct walk_count {
	u64 installed, pte, pmd, pud, hole;
	u64 fail_after; /* 0: never */
	u32 marker;
};

static struct walk_count *wc(struct vmlab_walk *w)
{
	assert(w && w->private);
	return w->private;
}

static int count_pte(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e;
	(void)a;
	(void)n;
	assert(a < n);
	wc(w)->pte++;
	return 0;
}

static int count_pmd(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e;
	(void)a;
	(void)n;
	assert(a < n);
	wc(w)->pmd++;
	return 0;
}

static int count_pud(vmlab_ptep_t e, u64 a, u64 n, struct vmlab_walk *w)
{
	(void)e;
	(void)a;
	(void)n;
	assert(a < n);
	wc(w)->pud++;
	return 0;
}

static int count_hole(u64 a, u64 n, int depth, struct vmlab_walk *w)
{
	(void)a;
	(void)n;
	(void)depth;
	assert(a < n && depth >= -1 && depth <= 3);
	wc(w)->hole++;
	return 0;
}

static int install_marker(u64 a, u64 n, u64 *val, struct vmlab_walk *w)
{
	struct walk_count *c = wc(w);
	(void)a;
	(void)n;
	assert(a < n && val);
	if (c->fail_after && c->installed == c->fail_after)
		return -VMLAB_ENOMEM;
	*val = vmlab_mk_marker(w->m, c->marker);
	c->installed++;
	return 0;
}

static bool opt_bool(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	bool v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

static u64 opt_u64(lua_State *L, int t, const char *k, bool required)
{
	lua_getfield(L, t, k);
	if (lua_isnil(L, -1) && !required) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_isinteger(L, -1))
		luaL_error(L, "walk_page_range: '%s' must be an integer", k);
	u64 v = (u64)lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

static void setint(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static struct vmlab_mm *walk_mm(lua_State *L, struct sim_machine *sm,
				 struct vmlab_user_mm **um)
{
	lua_getfield(L, 2, "mm");
	struct vmlab_mm *mm = vmlab_init_mm(sm->m);
	*um = NULL;
	if (!lua_isnil(L, -1)) {
		struct sim_machine *owner;
		*um = lsim_check_user_mm(L, -1, &owner);
		if (owner != sm)
			luaL_error(L, "walk_page_range: the mm belongs to "
				      "another machine");
		mm = vmlab_user_hw_mm(*um);
	}
	lua_pop(L, 1);
	assert(mm);
	return mm;
}

#define MAX_WALK_MODES 4

static const char *const walk_modes[] = {"rdlock", "wrlock", "wrlock_verify",
					 "vma_rdlock_verify", NULL};

/* walk_lock = "rdlock" | {"wrlock", "wrlock_verify", ...}: the walks to
 * run, in order, under one hold of the lock.  Returns their number. */
static int walk_lock_modes(lua_State *L, enum vmlab_pgwalk_lock *out)
{
	lua_getfield(L, 2, "walk_lock");
	int n = 0;
	if (lua_isnil(L, -1)) {
		out[n++] = VMLAB_PGWALK_RDLOCK;
	} else if (lua_istable(L, -1)) {
		int len = (int)lua_rawlen(L, -1);
		if (len < 1 || len > MAX_WALK_MODES)
			luaL_error(L, "walk_page_range: walk_lock: 1 to %d "
				      "modes", MAX_WALK_MODES);
		for (int i = 1; i <= len; i++) {
			lua_rawgeti(L, -1, i);
			out[n++] = (enum vmlab_pgwalk_lock)luaL_checkoption(
			    L, -1, NULL, walk_modes);
			lua_pop(L, 1);
		}
	} else {
		out[n++] = (enum vmlab_pgwalk_lock)luaL_checkoption(
		    L, -1, NULL, walk_modes);
	}
	lua_pop(L, 1);
	assert(n >= 1 && n <= MAX_WALK_MODES);
	return n;
}

/* lock = "read" | "write" | "none": what the caller holds on a user mm
 * around the walks; by default what the first mode needs. */
static int walk_lock_held(lua_State *L, enum vmlab_pgwalk_lock first)
{
	static const char *const held[] = {"none", "read", "write", NULL};
	lua_getfield(L, 2, "lock");
	int def = first == VMLAB_PGWALK_RDLOCK		 ? 1
		  : first == VMLAB_PGWALK_VMA_RDLOCK_VERIFY ? 0
							   : 2;
	int h = lua_isnil(L, -1) ? def : luaL_checkoption(L, -1, NULL, held);
	lua_pop(L, 1);
	return h;
}

static int walk(lua_State *L, bool mm_internal)
{
	static const char *const known[] = {
		"start", "end", "mm", "install", "pte_entry", "pmd_entry",
		"pud_entry", "pte_hole", "fail_after", "walk_lock", "lock", NULL};
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, known, "walk_page_range");
	u64 start = opt_u64(L, 2, "start", true);
	u64 end = opt_u64(L, 2, "end", true);
	struct vmlab_walk_ops ops = {0};
	if (opt_bool(L, 2, "install"))
		ops.install_pte = install_marker;
	if (opt_bool(L, 2, "pte_entry"))
		ops.pte_entry = count_pte;
	if (opt_bool(L, 2, "pmd_entry"))
		ops.pmd_entry = count_pmd;
	if (opt_bool(L, 2, "pud_entry"))
		ops.pud_entry = count_pud;
	if (opt_bool(L, 2, "pte_hole"))
		ops.pte_hole = count_hole;
	struct walk_count c = {.fail_after = opt_u64(L, 2, "fail_after", false),
			       .marker = VMLAB_PTE_MARKER_GUARD};
	struct vmlab_user_mm *um;
	struct vmlab_mm *mm = walk_mm(L, sm, &um);
	enum vmlab_pgwalk_lock modes[MAX_WALK_MODES];
	int n = walk_lock_modes(L, modes);
	int held = um ? walk_lock_held(L, modes[0]) : 0;
	if (held)
		vmlab_user_mmap_lock(um, held == 2);
	int err = 0;
	for (int i = 0; i < n && !err; i++) {
		ops.walk_lock = modes[i];
		err = mm_internal
			      ? walk_page_range_mm(sm->m, mm, start, end, &ops, &c)
			      : vmlab_walk_page_range(sm->m, mm, start, end,
						      &ops, &c);
	}
	if (held)
		vmlab_user_mmap_unlock(um, held == 2);
	lua_createtable(L, 0, 6);
	if (err) {
		lua_pushstring(L, vmlab_strerror(err));
		lua_setfield(L, -2, "result");
	} else {
		setint(L, "result", 0);
	}
	setint(L, "installed", c.installed);
	setint(L, "pte_entry", c.pte);
	setint(L, "pmd_entry", c.pmd);
	setint(L, "pud_entry", c.pud);
	setint(L, "pte_hole", c.hole);
	assert(!c.fail_after || c.installed <= c.fail_after);
	return 1;
}

static int l_walk_page_range(lua_State *L)
{
	return walk(L, false);
}

static int l_walk_page_range_mm(lua_State *L)
{
	return walk(L, true);
}

/* m:user_poison(mm, addr, len) -> true | nil, "EEXIST" */
static int l_user_poison(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu), *owner;
	struct vmlab_user_mm *um = lsim_check_user_mm(L, 2, &owner);
	if (owner != sm)
		return luaL_error(L, "user_poison: the mm belongs to another "
				     "machine");
	int err = vmlab_user_poison(um, (u64)luaL_checkinteger(L, 3),
				    (u64)luaL_checkinteger(L, 4));
	if (err) {
		lua_pushnil(L);
		lua_pushstring(L, vmlab_strerror(err));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static const luaL_Reg walk_methods[] = {
	{"walk_page_range", l_walk_page_range},
	{"walk_page_range_mm", l_walk_page_range_mm},
	{"user_poison", l_user_poison},
	{NULL, NULL},
};

void lsim_register_walk(lua_State *L)
{
	luaL_setfuncs(L, walk_methods, 0);
}
