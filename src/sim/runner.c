/* SPDX-License-Identifier: MIT */
/*
 * The scenario runner: a fresh Lua state per run with only deterministic
 * libraries (no io, no os: no clock, no files), math.random seeded from
 * the run seed, the sandbox (sandbox.c), the vmlab module, a budget of
 * steps (Lua instructions plus kernel work) and memory, and the verdict.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <lualib.h>

#include "sim/lsim.h"

#define HOOK_COUNT 1000 /* Lua instructions between budget checks */

void sim_opts_default(struct sim_opts *o)
{
	assert(o);
	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->policy = VMLAB_SCHED_RANDOM;
	o->depth = 3;
}

void buf_printf(struct sim_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert(n >= 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s)
			abort();
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ------------------------------------------------------------ errors */

/* "file:123:" at the start of a message. */
static bool has_position(const char *msg)
{
	assert(msg);
	const char *p = msg;
	while (*p && *p != ':' && !isspace((unsigned char)*p))
		p++;
	if (*p != ':' || p == msg || !isdigit((unsigned char)p[1]))
		return false;
	p++;
	while (isdigit((unsigned char)*p))
		p++;
	return *p == ':';
}

int lsim_msgh(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)",
					      luaL_typename(L, 1));
	}
	if (has_position(msg))
		return 1;
	/* assert() and error(msg, 0) give none: name the first Lua line. */
	lua_Debug ar;
	for (int level = 1; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline > 0) {
			lua_pushfstring(L, "%s:%d: %s", ar.short_src,
					ar.currentline, msg);
			return 1;
		}
	}
	lua_pushstring(L, msg);
	return 1;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	struct sim *sim = lsim(L);
	(void)ar;
	assert(sim && sim->L);
	sim->lua_steps += HOOK_COUNT;
	const char *why = NULL;
	const struct sim_machine *over = NULL;
	if (sim->budget_hit || sandbox_steps(sim) > sim->max_steps) {
		sim->budget_hit = true;
		why = "step budget exceeded";
	} else if (sim->host_hit || (over = sandbox_host_over(sim))) {
		sim->host_hit = true;
		why = "host-memory budget exceeded";
	} else if (sim->running && vmlab_sched_aborting(sim->running->m)) {
		why = "stopped: the run is being aborted";
	}
	if (!why)
		return;
	lua_Debug here;
	if (lua_getstack(L, 0, &here) && lua_getinfo(L, "Sl", &here) &&
	    here.currentline > 0)
		lua_pushfstring(L, "%s:%d: ", here.short_src, here.currentline);
	else
		lua_pushliteral(L, "");
	if (sim->budget_hit)
		lua_pushfstring(L, "%s (%I steps of Lua instructions and kernel "
				   "work; an endless loop? raise it with "
				   "--max-steps, 0 for no limit)",
				why, (lua_Integer)sim->max_steps);
	else if (over)
		lua_pushfstring(L, "%s: machine '%s' holds %I bytes of host "
				   "memory, its budget is %I (frames written "
				   "by stores; host_memory, --max-host-memory)",
				why, over->label,
				(lua_Integer)vmlab_host_bytes(over->m),
				(lua_Integer)vmlab_host_limit(over->m));
	else
		lua_pushstring(L, why);
	lua_concat(L, 2);
	lua_error(L);
}

/* ---------------------------------------------------- did you mean */

/* Edit distance (insert, delete, substitute, swap of neighbours), capped
 * by the lengths the names here have. */
static int distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	int d[64][64];
	for (int i = 0; i <= la; i++)
		d[i][0] = i;
	for (int j = 0; j <= lb; j++)
		d[0][j] = j;
	for (int i = 1; i <= la; i++)
		for (int j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

const char *sim_did_you_mean(const char *s, const char *const *names, int n)
{
	const char *best = NULL;
	int bd = 99, len = (int)strlen(s);
	assert(s && (names || !n));
	for (int i = 0; i < n; i++) {
		int dd = distance(s, names[i]);
		if (dd < bd) {
			bd = dd;
			best = names[i];
		}
	}
	/* a third of the name wrong is a different name */
	return best && bd <= (len < 6 ? 1 : len / 3) ? best : NULL;
}

/* ---------------------------------------------------------- warnings */

/* A machine's kernel warning: kept with the machine's label, grouped by
 * kind, and printed with the run's output (never raw on stderr before
 * the header, with no machine named). */
void lsim_warn(void *ctx, const char *msg)
{
	struct sim_machine *sm = ctx;
	size_t key = strcspn(msg, ":");
	assert(sm && msg);
	for (int i = 0; i < sm->nr_warn; i++)
		if (sm->warn[i].key_len == key &&
		    !strncmp(sm->warn[i].first, msg, key)) {
			sm->warn[i].count++;
			return;
		}
	struct sim_warning *w = realloc(sm->warn, (size_t)(sm->nr_warn + 1) *
						       sizeof(*w));
	if (!w)
		abort();
	sm->warn = w;
	w[sm->nr_warn++] = (struct sim_warning){
		.first = lsim_strdup(msg), .key_len = key, .count = 1};
}

/* ------------------------------------------------------------ print */

/* tostring() without host addresses: "table", not "table: 0x55d0...". */
static const char *safe_tolstring(lua_State *L, int idx, size_t *len)
{
	int t = lua_type(L, idx);
	bool ref = t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TTHREAD ||
		   t == LUA_TUSERDATA || t == LUA_TLIGHTUSERDATA;
	if (ref && luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL) {
		lua_pushstring(L, lua_typename(L, t));
		return lua_tolstring(L, -1, len);
	}
	if (ref)
		lua_pop(L, 1);
	return luaL_tolstring(L, idx, len);
}

static int l_tostring(lua_State *L)
{
	luaL_checkany(L, 1);
	safe_tolstring(L, 1, NULL);
	return 1;
}

static int l_print(lua_State *L)
{
	struct sim *sim = lsim(L);
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		safe_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_addchar(&b, '\n');
	luaL_pushresult(&b);
	size_t len;
	const char *s = lua_tolstring(L, -1, &len);
	assert(s && len > 0 && s[len - 1] == '\n');
	if (sim->o->out)
		fwrite(s, 1, len, sim->o->out);
	else
		buf_printf(&sim->out, "%s", s);
	return 0;
}

static int l_randomseed(lua_State *L)
{
	/* Without arguments Lua would seed from the clock: use the run seed
	 * instead, so a run stays a function of its inputs. */
	if (lua_gettop(L) == 0)
		lua_pushinteger(L, (lua_Integer)lsim(L)->seed);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, 0);
	return 0;
}

static void open_libs(lua_State *L, struct sim *sim)
{
	static const luaL_Reg libs[] = {
		{LUA_GNAME, luaopen_base},
		{LUA_TABLIBNAME, luaopen_table},
		{LUA_STRLIBNAME, luaopen_string},
		{LUA_MATHLIBNAME, luaopen_math},
		{LUA_UTF8LIBNAME, luaopen_utf8},
		{LUA_COLIBNAME, luaopen_coroutine},
	};
	for (size_t i = 0; i < ARRAY_SIZE(libs); i++) {
		luaL_requiref(L, libs[i].name, libs[i].func, 1);
		lua_pop(L, 1);
	}
	/* No files: a scenario is one text, and a run a function of it. */
	lua_pushnil(L);
	lua_setglobal(L, "dofile");
	lua_pushnil(L);
	lua_setglobal(L, "loadfile");
	lua_pushcfunction(L, l_print);
	lua_setglobal(L, "print");
	lua_pushcfunction(L, l_tostring);
	lua_setglobal(L, "tostring");
	lua_getglobal(L, "math");
	lua_getfield(L, -1, "randomseed");
	lua_pushvalue(L, -1);
	lua_pushinteger(L, (lua_Integer)sim->seed);
	lua_call(L, 1, 0);
	lua_pushcclosure(L, l_randomseed, 1);
	lua_setfield(L, -2, "randomseed");
	lua_pop(L, 1);
}

/* An error outside any protected call: a bug of the runner, not input. */
static int lua_panic(lua_State *L)
{
	fprintf(stderr, "vmlab: unprotected Lua error: %s\n",
		lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
	abort();
}

/* warn() writes nothing: output is print()'s alone. */
static void lua_warn_off(void *ud, const char *msg, int tocont)
{
	(void)ud;
	(void)msg;
	(void)tocont;
}

/* ------------------------------------------------------------ loading */

struct source {
	char *text; /* owned when read from a file */
	const char *data;
	size_t len;
	char chunk[512]; /* "@path" */
	char name[128];
};

static bool load_source(const char *what, struct source *src, char *err,
			size_t n)
{
	assert(what && src && err);
	memset(src, 0, sizeof(*src));
	struct stat st;
	if (stat(what, &st) == 0 && S_ISREG(st.st_mode)) {
		FILE *f = fopen(what, "rb");
		if (!f) {
			snprintf(err, n, "cannot read '%s'", what);
			return false;
		}
		src->text = malloc((size_t)st.st_size + 1);
		if (!src->text) {
			fclose(f);
			snprintf(err, n, "'%s' is too large", what);
			return false;
		}
		src->len = fread(src->text, 1, (size_t)st.st_size, f);
		fclose(f);
		src->text[src->len] = 0;
		src->data = src->text;
		snprintf(src->chunk, sizeof(src->chunk), "@%s", what);
		const char *base = strrchr(what, '/');
		base = base ? base + 1 : what;
		snprintf(src->name, sizeof(src->name), "%.*s",
			 (int)(strlen(base) > 4 &&
					!strcmp(base + strlen(base) - 4, ".lua")
				? strlen(base) - 4
				: strlen(base)),
			 base);
		return true;
	}
	const struct sim_builtin *b = sim_find_builtin(what);
	if (!b) {
		const char *names[64];
		int nn = 0;
		for (int i = 0; i < sim_nr_builtins && nn < 64; i++)
			names[nn++] = sim_builtins[i].name;
		const char *dym = sim_did_you_mean(what, names, nn);
		snprintf(err, n, "no scenario '%s': not a file and not a "
				 "built-in (see 'vmlab list')%s%s%s", what,
			 dym ? "; did you mean '" : "", dym ? dym : "",
			 dym ? "'?" : "");
		return false;
	}
	src->data = b->text;
	src->len = b->len;
	snprintf(src->chunk, sizeof(src->chunk), "@%s", b->path);
	snprintf(src->name, sizeof(src->name), "%s", b->name);
	return true;
}

/* --------------------------------------------------------- the run */

static u64 combine(u64 h, u64 v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Expectations: reports a machine was meant to show, and no others. */
static void judge(struct sim_result *r)
{
	assert(r->status != SIM_OK || !r->error);
	for (int i = 0; i < r->nr_machines && !r->error; i++) {
		const struct sim_machine_info *mi = &r->machines[i];
		u32 bad = mi->found & ~mi->expect, missing = mi->expect & ~mi->found;
		struct sim_buf b = {0};
		for (int c = 0; c < VMLAB_NR_CHECKS; c++) {
			if (bad & (1u << c))
				buf_printf(&b, r->planted ? "%s%s report on '%s'"
							  : "%sunexpected %s report on '%s'",
					   b.len ? "; " : "",
					   vmlab_check_name((enum vmlab_check)c),
					   mi->label);
			if (missing & (1u << c))
				buf_printf(&b, "%s'%s' should show %s, but the "
					       "checker found none",
					   b.len ? "; " : "", mi->label,
					   vmlab_check_name((enum vmlab_check)c));
		}
		if (b.s) {
			r->error = b.s;
			r->status = SIM_FAIL;
		}
	}
}

/* PCT's k: the steps of a calibration run (round-robin, seed 0), a
 * function of the scenario and its parameters only, so that a replay
 * computes the same k without being told. */
u64 sim_calibrate(const struct sim_opts *o)
{
	struct sim_opts c = *o;
	c.policy = VMLAB_SCHED_RR;
	c.seed = 0;
	c.out = NULL;
	c.trace = NULL;
	c.quiet = true;
	c.pct_steps = 1;
	assert(c.policy != VMLAB_SCHED_PCT);
	struct sim_result cr;
	sim_run(&c, &cr);
	u64 k = cr.steps ? cr.steps : 1;
	sim_result_free(&cr);
	return k;
}

static enum sim_status fail(struct sim_result *r, enum sim_status st,
			    const char *msg)
{
	free(r->error);
	r->error = lsim_strdup(msg);
	r->status = st;
	return st;
}

static void execute(struct sim *sim, const struct source *src)
{
	struct sim_result *r = sim->r;
	lua_State *L = sim->L;
	assert(lua_gettop(L) == 0 && src->data);
	int st = luaL_loadbufferx(L, src->data, src->len, src->chunk, "t");
	if (st != LUA_OK) {
		fail(r, st == LUA_ERRSYNTAX ? SIM_USAGE : SIM_FAIL,
		     lua_tostring(L, -1));
		return;
	}
	lua_pushcfunction(L, lsim_msgh);
	lua_insert(L, -2);
	st = lua_pcall(L, 0, 0, -2);
	if (st != LUA_OK && sim->mem_hit) {
		char msg[160];
		snprintf(msg, sizeof(msg), "memory limit exceeded (%zu bytes of "
			 "Lua memory; raise it with --max-memory)",
			 sim->max_memory);
		fail(r, SIM_FAIL, msg);
	} else if (st != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		fail(r, sim->usage ? SIM_USAGE : SIM_FAIL, msg ? msg : "error");
	} else if (sim->o->nr_defs && !sim->params_declared) {
		fail(r, SIM_USAGE, "-D given, but the scenario declares no "
				   "parameters (vmlab.params{...})");
	}
	lua_settop(L, 0);
}

enum sim_status sim_run(const struct sim_opts *o, struct sim_result *r)
{
	assert(o && r);
	memset(r, 0, sizeof(*r));
	char err[640];
	struct source src;
	if (o->text && o->scenario) {
		memset(&src, 0, sizeof(src));
		src.data = o->text;
		src.len = o->text_len;
		snprintf(src.chunk, sizeof(src.chunk), "=%s", o->scenario);
		snprintf(src.name, sizeof(src.name), "%s", o->scenario);
	} else if (!o->scenario ||
		   !load_source(o->scenario, &src, err, sizeof(err))) {
		return fail(r, SIM_USAGE, o->scenario ? err : "no scenario");
	}
	r->name = lsim_strdup(src.name);
	char ex[32];
	r->planted = sim_header(src.data, src.len, "explore", ex, sizeof(ex));
	char desc[256];
	sim_describe(src.data, src.len, desc, sizeof(desc));
	r->description = lsim_strdup(desc);
	if (!vmlab_arch_layout(o->arch)) {
		snprintf(err, sizeof(err), "--arch %s: unknown architecture "
					   "(x86_64 or arm64)", o->arch);
		free(src.text);
		return fail(r, SIM_USAGE, err);
	}
	for (int d = 0; d < o->nr_defs; d++) {
		const char *eq = strchr(o->defs[d], '=');
		if (!eq || eq == o->defs[d]) {
			snprintf(err, sizeof(err), "-D %s: expected name=value",
				 o->defs[d]);
			free(src.text);
			return fail(r, SIM_USAGE, err);
		}
	}
	struct sim sim = {.o = o, .r = r, .seed = o->seed};
	sim.max_steps = o->max_steps ? o->max_steps : SIM_DEFAULT_MAX_STEPS;
	sim.pct_steps = o->pct_steps;
	if (o->policy == VMLAB_SCHED_PCT && !sim.pct_steps)
		sim.pct_steps = sim_calibrate(o);
	r->pct_steps = sim.pct_steps;
	if (o->trace || o->ftrace) {
		sim.trace = trace_open(o->trace, o->ftrace, err, sizeof(err));
		if (!sim.trace) {
			free(src.text);
			return fail(r, SIM_USAGE, err);
		}
	}
	sim.max_memory = o->max_memory ? o->max_memory : SIM_DEFAULT_MAX_MEMORY;
	lua_State *L = lua_newstate(sandbox_alloc, &sim);
	if (!L)
		abort();
	lua_atpanic(L, lua_panic);
	lua_setwarnf(L, lua_warn_off, NULL);
	sim.L = L;
	*(struct sim **)lua_getextraspace(L) = &sim;
	open_libs(L, &sim);
	sandbox_open(L);
	lsim_open_vmlab(L, &sim);
	/* Set before any thread exists: CPU programs inherit it. */
	lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_COUNT);
	execute(&sim, &src);
	lua_close(L);
	for (int i = 0; i < sim.nr_mach; i++) {
		lsim_machine_finish(&sim, sim.mach[i]);
		for (int k = 0; k < sim.mach[i]->nr_warn; k++)
			free(sim.mach[i]->warn[k].first);
		free(sim.mach[i]->warn);
		free(sim.mach[i]->label);
		free(sim.mach[i]);
	}
	free(sim.mach);
	if (sim.trace && trace_close(sim.trace) && !r->error)
		fail(r, SIM_USAGE, "cannot write the trace file");
	r->hash = 0xcbf29ce484222325ULL;
	for (int i = 0; i < r->nr_machines; i++)
		r->hash = combine(combine(r->hash, r->machines[i].hash),
				  r->machines[i].events);
	r->steps = sim.total_steps;
	r->switches = sim.total_switches;
	r->output = sim.out.s;
	r->output_len = sim.out.len;
	judge(r);
	assert(r->status != SIM_OK || !r->error);
	free(sim.task_error);
	for (int i = 0; i < sim.nr_strings; i++)
		free(sim.strings[i]);
	free(sim.strings);
	free(src.text);
	return r->status;
}

void sim_result_free(struct sim_result *r)
{
	if (!r)
		return;
	free(r->error);
	free(r->name);
	free(r->description);
	for (int i = 0; i < r->nr_params; i++)
		free(r->params[i]);
	free(r->params);
	for (int i = 0; i < r->nr_columns; i++)
		free(r->columns[i]);
	free(r->columns);
	for (int i = 0; i < r->nr_rows; i++) {
		for (int c = 0; c < r->nr_columns; c++)
			free(r->rows[i].v[c].s);
		free(r->rows[i].v);
		free(r->rows[i].name);
	}
	free(r->rows);
	for (size_t i = 0; i < r->nr_reports; i++) {
		free(r->reports[i].machine);
		free(r->reports[i].text);
	}
	free(r->reports);
	for (int i = 0; i < r->nr_machines; i++) {
		for (int k = 0; k < r->machines[i].nr_warn; k++)
			free(r->machines[i].warn[k].first);
		free(r->machines[i].warn);
		free(r->machines[i].label);
	}
	free(r->machines);
	free(r->output);
	memset(r, 0, sizeof(*r));
}
