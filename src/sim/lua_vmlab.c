/* SPDX-License-Identifier: MIT */
/*
 * The `vmlab` module's own functions: parameters (vmlab.params), figures
 * (vmlab.result), constants and helpers.  Machines and their methods are
 * in lua_machine.c and the files it registers.
 *
 * Order never comes from pairs(): Lua seeds its string hash per process,
 * so parameter and figure names are sorted before they reach output.
 */
#include <stdlib.h>

#include "sim/lsim.h"

/* ------------------------------------------------------- parameters */

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = true;
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* -D name=value converted to the type of the declared default. */
static void push_param(lua_State *L, const char *name, const char *v)
{
	char *end;
	assert(name && v);
	switch (lua_type(L, -1)) {
	case LUA_TBOOLEAN: {
		bool b = false;
		if (!parse_bool(v, &b))
			lsim_usage_error(L, "-D %s=%s: not a boolean (true/false)",
					 name, v);
		lua_pushboolean(L, b);
		break;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1)) {
			long long x = strtoll(v, &end, 0);
			if (end == v || *end)
				lsim_usage_error(L, "-D %s=%s: not an integer",
						 name, v);
			lua_pushinteger(L, x);
		} else {
			double x = strtod(v, &end);
			if (end == v || *end)
				lsim_usage_error(L, "-D %s=%s: not a number", name,
						 v);
			lua_pushnumber(L, x);
		}
		break;
	default:
		lua_pushstring(L, v);
		break;
	}
}

static void record_params(struct sim *sim, lua_State *L, int result)
{
	assert(!sim->r->params);
	lsim_sorted_keys(L, result);
	int n = (int)luaL_len(L, -1);
	sim->r->params = calloc((size_t)n + 1, sizeof(char *));
	if (!sim->r->params)
		abort();
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		const char *k = lua_tostring(L, -1);
		lua_getfield(L, result, k);
		const char *v = luaL_tolstring(L, -1, NULL);
		struct sim_buf b = {0};
		buf_printf(&b, "%s=%s", k, v);
		lua_pop(L, 3);
		sim->r->params[sim->r->nr_params++] = b.s;
	}
	lua_pop(L, 1);
}

/* vmlab.params{name = default, ...} -> the values for this run. */
static int l_params(lua_State *L)
{
	struct sim *sim = lsim(L);
	if (sim->params_declared)
		return luaL_error(L, "vmlab.params: declared twice");
	luaL_checktype(L, 1, LUA_TTABLE);
	sim->params_declared = true;
	lua_settop(L, 1);
	lua_newtable(L); /* 2: result */
	lsim_sorted_keys(L, 1); /* 3 */
	int n = (int)luaL_len(L, 3);
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, 3, i);
		int t = lua_gettable(L, 1);
		if (t != LUA_TBOOLEAN && t != LUA_TNUMBER && t != LUA_TSTRING)
			return luaL_error(L, "vmlab.params: the default of a "
					     "parameter must be a boolean, a "
					     "number or a string");
		lua_rawgeti(L, 3, i);
		lua_insert(L, -2);
		lua_settable(L, 2);
	}
	for (int d = 0; d < sim->o->nr_defs; d++) {
		const char *def = sim->o->defs[d], *eq = strchr(def, '=');
		assert(eq);
		lua_pushlstring(L, def, (size_t)(eq - def));
		const char *name = lua_tostring(L, -1);
		if (lua_getfield(L, 1, name) == LUA_TNIL) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (int i = 1; i <= n; i++) {
				lua_rawgeti(L, 3, i);
				luaL_addstring(&b, i > 1 ? ", " : "");
				luaL_addvalue(&b);
			}
			luaL_pushresult(&b);
			return lsim_usage_error(L, "unknown parameter '%s' "
						   "(this scenario has: %s)",
						name, n ? lua_tostring(L, -1)
							: "none");
		}
		push_param(L, name, eq + 1);
		lua_setfield(L, 2, name);
		lua_pop(L, 2);
		sim->def_used[d] = true;
	}
	record_params(sim, L, 2);
	assert(sim->r->nr_params == n);
	lua_settop(L, 2);
	return 1;
}

/* ---------------------------------------------------------- figures */

static int column_of(struct sim_result *r, const char *name)
{
	assert(r && name);
	for (int c = 0; c < r->nr_columns; c++)
		if (!strcmp(r->columns[c], name))
			return c;
	char **cols = realloc(r->columns,
			      (size_t)(r->nr_columns + 1) * sizeof(*cols));
	if (!cols)
		abort();
	r->columns = cols;
	r->columns[r->nr_columns] = lsim_strdup(name);
	for (int i = 0; i < r->nr_rows; i++) {
		struct sim_value *v = realloc(
			r->rows[i].v, (size_t)(r->nr_columns + 1) * sizeof(*v));
		if (!v)
			abort();
		v[r->nr_columns] = (struct sim_value){.type = SV_NONE};
		r->rows[i].v = v;
	}
	return r->nr_columns++;
}

static struct sim_value *cell(struct sim_result *r, int col, const char *row)
{
	int i = 0;
	while (i < r->nr_rows && strcmp(r->rows[i].name, row))
		i++;
	if (i == r->nr_rows) {
		struct sim_row *rows = realloc(
			r->rows, (size_t)(r->nr_rows + 1) * sizeof(*rows));
		if (!rows)
			abort();
		r->rows = rows;
		rows[i].name = lsim_strdup(row);
		rows[i].v = calloc((size_t)r->nr_columns, sizeof(*rows[i].v));
		if (!rows[i].v)
			abort();
		r->nr_rows++;
	}
	assert(col >= 0 && col < r->nr_columns);
	return &r->rows[i].v[col];
}

/* The value on top of the stack becomes figure `name` of column col. */
static void set_figure(lua_State *L, struct sim_result *r, int col,
		       const char *name)
{
	struct sim_value v = {.type = SV_NONE};
	switch (lua_type(L, -1)) {
	case LUA_TNUMBER:
		if (lua_isinteger(L, -1)) {
			v.type = SV_INT;
			v.i = lua_tointeger(L, -1);
		} else {
			v.type = SV_NUM;
			v.d = lua_tonumber(L, -1);
		}
		break;
	case LUA_TBOOLEAN:
		v.type = SV_BOOL;
		v.i = lua_toboolean(L, -1);
		break;
	case LUA_TSTRING:
		v.type = SV_STR;
		break;
	default:
		luaL_error(L, "vmlab.result: figure '%s' is a %s (numbers, "
			      "booleans and strings only)",
			   name, luaL_typename(L, -1));
	}
	struct sim_value *c = cell(r, col, name);
	free(c->s);
	*c = v;
	if (v.type == SV_STR)
		c->s = lsim_strdup(lua_tostring(L, -1));
}

/*
 * vmlab.result{name = value, ...}            figures, names sorted
 * vmlab.result("column", {name = value, ...}) side by side with others
 * Pairs in the array part ({"name", value}) keep their order and come
 * first: vmlab.result("old", {{"flushes", 3}, {"ipis", 9}}).
 */
static int l_result(lua_State *L)
{
	struct sim *sim = lsim(L);
	const char *colname = "value";
	int t = 1;
	if (lua_type(L, 1) == LUA_TSTRING) {
		colname = lua_tostring(L, 1);
		t = 2;
	}
	luaL_checktype(L, t, LUA_TTABLE);
	int col = column_of(sim->r, colname);
	assert(col < sim->r->nr_columns);
	lua_Integer n = luaL_len(L, t);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		if (!lua_istable(L, -1) || lua_rawgeti(L, -1, 1) != LUA_TSTRING)
			return luaL_error(L, "vmlab.result: entry %I must be "
					     "{\"name\", value}", i);
		lua_rawgeti(L, -2, 2);
		set_figure(L, sim->r, col, lua_tostring(L, -2));
		lua_pop(L, 3);
	}
	/* The named entries, in sorted order (never pairs() order). */
	lua_newtable(L);
	int keys = lua_gettop(L), nk = 0;
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
		    lua_tointeger(L, -1) <= n)
			continue;
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "vmlab.result: figure names must be "
					     "strings");
		lua_pushvalue(L, -1);
		lua_rawseti(L, keys, ++nk);
	}
	lua_newtable(L);
	for (int i = 1; i <= nk; i++) {
		lua_rawgeti(L, keys, i);
		lua_pushboolean(L, 1);
		lua_settable(L, -3);
	}
	lsim_sorted_keys(L, -1);
	for (int i = 1; i <= nk; i++) {
		lua_rawgeti(L, -1, i);
		const char *name = lua_tostring(L, -1);
		lua_getfield(L, t, name);
		set_figure(L, sim->r, col, name);
		lua_pop(L, 2);
	}
	return 0;
}

/* ----------------------------------------------------------- module */

static int l_page_address(lua_State *L)
{
	const struct vmlab_va_layout *lay = vmlab_arch_layout(lsim(L)->o->arch);
	lua_pushinteger(L, (lua_Integer)(lay->page_offset +
					 ((u64)luaL_checkinteger(L, 1)
					  << VMLAB_PAGE_SHIFT)));
	return 1;
}

static int l_virt_to_pfn(lua_State *L)
{
	const struct vmlab_va_layout *lay = vmlab_arch_layout(lsim(L)->o->arch);
	lua_pushinteger(L, (lua_Integer)(((u64)luaL_checkinteger(L, 1) -
					  lay->page_offset) >>
					 VMLAB_PAGE_SHIFT));
	return 1;
}

static int l_hex(lua_State *L)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%#llx",
		 (unsigned long long)luaL_checkinteger(L, 1));
	lua_pushstring(L, buf);
	return 1;
}

static void set_int(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* vmlab.maps_estimate(text [, max_guard]) -> {vmas, guards, merges,
 * file_gaps, segment_gaps, bad_lines}: include/vmlab/maps.h over one
 * maps text. */
static int l_maps_estimate(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	lua_Integer mg = luaL_optinteger(L, 2, 0);
	luaL_argcheck(L, mg >= 0, 2, "max_guard >= 0");
	struct vmlab_maps_estimate e = {0};
	int err = vmlab_maps_estimate_add(&e, text, len, (u64)mg);
	assert(!err && e.processes == 1);
	(void)err;
	lua_createtable(L, 0, 6);
	set_int(L, "vmas", e.vmas);
	set_int(L, "guards", e.guards);
	set_int(L, "merges", e.merges);
	set_int(L, "file_gaps", e.file_gaps);
	set_int(L, "segment_gaps", e.segment_gaps);
	set_int(L, "bad_lines", e.bad_lines);
	return 1;
}

/* vmlab.claim_data() -> the names of the recorded data files, in build
 * order; vmlab.claim_data(name) -> one file's text (scenarios/claims/data,
 * embedded: a scenario reads no file of the host). */
static int l_claim_data(lua_State *L)
{
	if (lua_isnoneornil(L, 1)) {
		lua_createtable(L, sim_nr_claim_data, 0);
		for (int i = 0; i < sim_nr_claim_data; i++) {
			lua_pushstring(L, sim_claim_data[i].name);
			lua_rawseti(L, -2, i + 1);
		}
		assert(lua_rawlen(L, -1) == (size_t)sim_nr_claim_data);
		return 1;
	}
	const char *name = luaL_checkstring(L, 1);
	const struct sim_builtin *b =
	    sim_find_scenario(sim_claim_data, sim_nr_claim_data, name);
	if (!b)
		return luaL_error(L, "no claim data called %s", name);
	assert(b->text && b->len == strlen(b->text));
	lua_pushlstring(L, b->text, b->len);
	return 1;
}

void lsim_open_vmlab(lua_State *L, struct sim *sim)
{
	static const luaL_Reg fns[] = {
		{"params", l_params},
		{"result", l_result},
		{"page_address", l_page_address},
		{"virt_to_pfn", l_virt_to_pfn},
		{"hex", l_hex},
		{"maps_estimate", l_maps_estimate},
		{"claim_data", l_claim_data},
		{NULL, NULL},
	};
	luaL_newlib(L, fns);
	lsim_register_machine(L);
	lsim_register_replay(L);
	lua_pushliteral(L, VMLAB_VERSION);
	lua_setfield(L, -2, "version");
	set_int(L, "seed", sim->seed);
	lua_pushstring(L, vmlab_sched_policy_name(sim->o->policy));
	lua_setfield(L, -2, "policy");
	set_int(L, "depth", (u64)sim->o->depth);
	set_int(L, "PAGE_SIZE", VMLAB_PAGE_SIZE);
	set_int(L, "PMD_SIZE", VMLAB_PMD_SIZE);
	set_int(L, "PUD_SIZE", VMLAB_PUD_SIZE);
	/* The default architecture's kernel layout (--arch). */
	const struct vmlab_va_layout *lay = vmlab_arch_layout(sim->o->arch);
	set_int(L, "PAGE_OFFSET", lay->page_offset);
	lua_pushstring(L, sim->o->arch ? sim->o->arch : "x86_64");
	lua_setfield(L, -2, "arch");
	set_int(L, "VMALLOC_START", lay->vmalloc_start);
	set_int(L, "VMALLOC_END", lay->vmalloc_end);
	set_int(L, "MODULES_VADDR", lay->modules_vaddr);
	set_int(L, "MODULES_END", lay->modules_end);
	set_int(L, "TASK_SIZE", lay->task_size);
	set_int(L, "KiB", VMLAB_KiB);
	set_int(L, "MiB", VMLAB_MiB);
	set_int(L, "GiB", VMLAB_GiB);
	set_int(L, "TiB", VMLAB_TiB);
	lua_setglobal(L, "vmlab");
}

