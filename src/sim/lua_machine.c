/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 1: building machines, machine and CPU handles, and
 * the frame every kernel operation goes through (lop_begin / lop_end).
 *
 *   local m = vmlab.machine{cpus = 4, memory = "1G", checker = true,
 *                           label = "no flush", expect = "stale-access"}
 *   local c = m:cpu(1)      -- a CPU handle: c:read64(va) runs on CPU 1
 *   m:read64(va)            -- the running program's CPU, or CPU 0
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include "vmlab/checker.h"
#include "sim/lsim.h"

struct cpu_ud {
	struct sim_machine *sm;
	int cpu;
};

/* ----------------------------------------------------------- helpers */

char *lsim_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (!p) {
		fprintf(stderr, "vmlab: out of memory\n");
		abort();
	}
	return memcpy(p, s, n);
}

const char *lsim_intern(struct sim *sim, const char *s)
{
	assert(s);
	for (int i = 0; i < sim->nr_strings; i++)
		if (!strcmp(sim->strings[i], s))
			return sim->strings[i];
	char **p = realloc(sim->strings,
			   (size_t)(sim->nr_strings + 1) * sizeof(*p));
	if (!p)
		abort();
	sim->strings = p;
	return sim->strings[sim->nr_strings++] = lsim_strdup(s);
}

int lsim_usage_error(lua_State *L, const char *fmt, ...)
{
	lsim(L)->usage = true;
	va_list ap;
	va_start(ap, fmt);
	luaL_where(L, 1);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	return lua_error(L);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void lsim_sorted_keys(lua_State *L, int idx)
{
	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);
	int top = lua_gettop(L);
	(void)top; /* read by the stack-balance assertion only */
	lua_newtable(L);
	int n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "table keys must be names (got a %s)",
				   luaL_typename(L, -1));
		lua_pushvalue(L, -1);
		lua_rawseti(L, -3, ++n);
	}
	/* Sort through C: table.sort may not be loaded. */
	const char **keys = lua_newuserdatauv(L, (size_t)n * sizeof(*keys) + 1, 0);
	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, -2, i + 1);
		keys[i] = lua_tostring(L, -1); /* anchored in the array */
		lua_pop(L, 1);
	}
	qsort(keys, (size_t)n, sizeof(*keys), cmp_keys);
	lua_newtable(L);
	for (int i = 0; i < n; i++) {
		lua_pushstring(L, keys[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_replace(L, -3); /* sorted array replaces the unsorted one */
	lua_pop(L, 1);      /* the key buffer */
	assert(lua_gettop(L) == top + 1);
}

void lsim_check_keys(lua_State *L, int idx, const char *const *known,
		     const char *what)
{
	idx = lua_absindex(L, idx);
	assert(known && what);
	lsim_sorted_keys(L, idx);
	int n = (int)luaL_len(L, -1);
	for (int i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		const char *k = lua_tostring(L, -1);
		bool ok = false;
		for (int j = 0; known[j]; j++)
			ok |= !strcmp(known[j], k);
		if (!ok) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (int j = 0; known[j]; j++) {
				luaL_addstring(&b, j ? ", " : "");
				luaL_addstring(&b, known[j]);
			}
			luaL_pushresult(&b);
			int nk = 0;
			while (known[nk])
				nk++;
			const char *dym = sim_did_you_mean(k, known, nk);
			/* A misspelt option is a usage error, as a -D with an
			 * unknown parameter is (exit 2). */
			lsim_usage_error(L, "%s: unknown option '%s'%s%s%s "
					    "(known: %s)", what, k,
					 dym ? ", did you mean '" : "",
					 dym ? dym : "", dym ? "'?" : "",
					 lua_tostring(L, -1));
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

/* ------------------------------------------------------------ handles */

static struct sim_machine *check_machine(lua_State *L, int idx)
{
	struct sim_machine **pp = luaL_checkudata(L, idx, MT_MACHINE);
	if ((*pp)->destroyed)
		luaL_error(L, "machine '%s' was destroyed", (*pp)->label);
	return *pp;
}

struct sim_machine *lsim_handle(lua_State *L, int idx, int *cpu)
{
	struct cpu_ud *c = luaL_testudata(L, idx, MT_CPU);
	struct sim_machine *sm;
	if (c) {
		sm = c->sm;
		if (sm->destroyed)
			luaL_error(L, "machine '%s' was destroyed", sm->label);
		*cpu = c->cpu;
		return sm;
	}
	if (!luaL_testudata(L, idx, MT_MACHINE))
		luaL_error(L, "bad self: a machine or CPU handle expected "
			      "(call methods with ':', got %s)",
			   luaL_typename(L, idx));
	sm = check_machine(L, idx);
	int cur = sm->sched ? vmlab_sched_current_cpu(sm->m) : -1;
	*cpu = cur >= 0 ? cur : 0;
	return sm;
}

static void abort_check(lua_State *L, struct sim_machine *sm)
{
	if (sm->sched && vmlab_sched_aborting(sm->m))
		luaL_error(L, "stopped: the run is being aborted");
}

void lop_begin(lua_State *L, struct lop *o, int idx, const char *name)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, idx, &cpu);
	assert(sm && vmlab_cpu_valid(sm->m, cpu));
	if (sm->sched) {
		int cur = vmlab_sched_current_cpu(sm->m);
		if (cur >= 0 && cur != cpu)
			luaL_error(L, "%s: CPU %d's handle used in CPU %d's "
				      "program (a CPU acts only on itself)",
				   name, cpu, cur);
		abort_check(L, sm);
		vmlab_sched_point(sm->m, name);
		abort_check(L, sm);
	}
	o->sm = sm;
	o->m = sm->m;
	o->cpu = cpu;
	o->name = name;
	o->svc_locked = false;
	o->unlockable = false;
	o->prev_op_lock = NULL;
	vmlab_checker_set_op(sm->m, cpu, name);
	o->t0 = sm->tm ? trace_now(sm) : 0;
	/* Integer arguments (or a table's addr/len/size) label the trace's
	 * span of the operation. */
	o->nargs = 0;
	int top = lua_gettop(L);
	if (idx + 1 <= top && lua_istable(L, idx + 1)) {
		static const char *const keys[] = {"addr", "len", "size"};
		for (int k = 0; k < 3; k++) {
			lua_getfield(L, idx + 1, keys[k]);
			if (lua_isinteger(L, -1))
				o->arg[o->nargs++] = lua_tointeger(L, -1);
			lua_pop(L, 1);
		}
	}
	for (int i = idx + 1; i <= top && o->nargs < 3; i++)
		if (lua_isinteger(L, i))
			o->arg[o->nargs++] = lua_tointeger(L, i);
}

void lop_begin_svc(lua_State *L, struct lop *o, int idx, const char *name)
{
	lop_begin(L, o, idx, name);
	vmlab_lock_acquire(o->m, o->cpu, &o->sm->svc_lock, "service lock");
	o->svc_locked = true;
	vmlab_checker_set_op(o->m, o->cpu, name);
}

void lop_allow_unlock(struct lop *o)
{
	assert(o->svc_locked && !o->unlockable);
	o->unlockable = true;
	o->prev_op_lock = o->m->cpu[o->cpu].op_lock;
	vmlab_set_op_lock(o->m, o->cpu, &o->sm->svc_lock);
}

void lop_end(struct lop *o)
{
	assert(o->sm && o->m);
	if (o->unlockable) {
		o->unlockable = false;
		vmlab_set_op_lock(o->m, o->cpu, o->prev_op_lock);
	}
	if (o->svc_locked) {
		o->svc_locked = false;
		vmlab_lock_release(o->m, o->cpu, &o->sm->svc_lock,
				   "service unlock");
	}
	if (o->sm->tm) {
		trace_span(o->sm, o->cpu, o->name, o->t0, o->arg, o->nargs);
		trace_sample(o->sm);
	}
	/* Outside m:run the operation's return is this CPU's next
	 * scheduling point: a woken kworker runs the work there, as Linux's
	 * would (schedule_work() queues on the local CPU).  With the kworker
	 * off, remember where the work was left, for the warning at the end
	 * (lsim_machine_finish). */
	if (!o->sm->sched && vmlab_nr_pending_work(o->m) > 0) {
		if (o->sm->kworker)
			lsim_kworker_run(o->sm, o->cpu);
		else if (!o->sm->work_left_by)
			o->sm->work_left_by = o->name;
	}
}

int lsim_kworker_run(struct sim_machine *sm, int cpu)
{
	struct vmlab_machine *m = sm->m;
	assert(!sm->sched && vmlab_cpu_valid(m, cpu));
	int ran = 0;
	/* One item per begin/end pair, as the scheduler's kworker does (the
	 * trace writers name each item from the queue head).  Work that
	 * requeues itself forever is cut off, with a warning. */
	while (vmlab_nr_pending_work(m) > 0) {
		if (ran == 1 << 20) {
			vmlab_warn(m, "kworker: %d items and the queue is not "
				      "empty (work requeueing itself?)", ran);
			break;
		}
		struct vmlab_event e = {.type = VMLAB_EV_USER, .cpu = cpu,
					.name = "kworker_begin"};
		vmlab_lock_acquire(m, cpu, &sm->svc_lock, "kworker lock");
		vmlab_checker_set_op(m, cpu, "kworker");
		vmlab_emit(m, &e);
		ran += vmlab_run_work(m, cpu, 1);
		e.name = "kworker_end";
		vmlab_emit(m, &e);
		vmlab_lock_release(m, cpu, &sm->svc_lock, "kworker unlock");
	}
	assert(ran >= 0 && (ran > 0 || !vmlab_nr_pending_work(m)));
	return ran;
}

int lop_fail(lua_State *L, struct lop *o, int err)
{
	lop_end(o);
	/* Name the call with its arguments: "map(0xffffc90000000000, 526,
	 * 1): EINVAL" says which of a scenario's maps failed. */
	char args[96] = "";
	size_t len = 0;
	for (int i = 0; i < o->nargs && len < sizeof(args); i++) {
		u64 v = (u64)o->arg[i];
		len += (size_t)snprintf(args + len, sizeof(args) - len,
					v >= (1ULL << 32) ? "%s%#llx" : "%s%llu",
					i ? ", " : "", (unsigned long long)v);
	}
	return luaL_error(L, "%s(%s): %s", o->name, args, vmlab_strerror(err));
}

/* ----------------------------------------------------- configuration */

static u64 parse_size(lua_State *L, int idx, const char *what)
{
	if (lua_isinteger(L, idx))
		return (u64)lua_tointeger(L, idx);
	const char *s = lua_tostring(L, idx);
	if (!s || lua_type(L, idx) != LUA_TSTRING)
		luaL_error(L, "%s: a size expected (bytes, or \"256M\")", what);
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	u64 mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = VMLAB_KiB; end++; break;
	case 'm': case 'M': mul = VMLAB_MiB; end++; break;
	case 'g': case 'G': mul = VMLAB_GiB; end++; break;
	case 't': case 'T': mul = VMLAB_TiB; end++; break;
	default: break;
	}
	if (mul > 1 && *end == 'i')
		end++;
	if (mul > 1 && (*end == 'B' || *end == 'b'))
		end++;
	if (end == s || *end)
		luaL_error(L, "%s: bad size '%s'", what, s);
	return (u64)v * mul;
}

static bool opt_bool(lua_State *L, int t, const char *k, bool def)
{
	bool v = def;
	if (lua_getfield(L, t, k) != LUA_TNIL) {
		if (!lua_isboolean(L, -1))
			luaL_error(L, "vmlab.machine: '%s' must be a boolean", k);
		v = lua_toboolean(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

static s64 opt_int(lua_State *L, int t, const char *k, s64 def)
{
	s64 v = def;
	if (lua_getfield(L, t, k) != LUA_TNIL) {
		if (!lua_isinteger(L, -1))
			luaL_error(L, "vmlab.machine: '%s' must be an integer", k);
		v = lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

static const char *const tlb_keys[] = {
	"itlb_4k", "itlb_2m", "itlb_1g", "dtlb_4k", "dtlb_2m",
	"dtlb_1g", "stlb_4k", "stlb_2m", "stlb_1g", NULL};

static void parse_tlb(lua_State *L, int t, struct vmlab_config *cfg)
{
	assert(t > 0 && cfg);
	lsim_check_keys(L, t, tlb_keys, "vmlab.machine tlb");
	struct vmlab_tlb_geom *arrays[3] = {cfg->itlb, cfg->dtlb, cfg->stlb};
	for (int i = 0; tlb_keys[i]; i++) {
		if (lua_getfield(L, t, tlb_keys[i]) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (!lua_istable(L, -1))
			luaL_error(L, "vmlab.machine: tlb.%s must be {entries, "
				      "ways}", tlb_keys[i]);
		lua_rawgeti(L, -1, 1);
		lua_rawgeti(L, -2, 2);
		if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1) ||
		    lua_tointeger(L, -2) < 0 || lua_tointeger(L, -2) > 65535 ||
		    lua_tointeger(L, -1) < 0 || lua_tointeger(L, -1) > 65535)
			luaL_error(L, "vmlab.machine: tlb.%s must be {entries, "
				      "ways} (integers < 65536)", tlb_keys[i]);
		arrays[i / 3][i % 3] = (struct vmlab_tlb_geom){
			(u16)lua_tointeger(L, -2), (u16)lua_tointeger(L, -1)};
		lua_pop(L, 3);
	}
}

#define COST(f) {#f, offsetof(struct vmlab_cost, f)}
static const struct {
	const char *name;
	size_t off;
} cost_fields[] = {
	COST(tlb_l1_hit), COST(tlb_l2_hit), COST(walk_level), COST(invlpg),
	COST(flush_full), COST(flush_global), COST(ipi), COST(ipi_handle),
	COST(page_fault), COST(pte_write), COST(page_alloc), COST(cpa_call),
};

static void parse_cost(lua_State *L, int t, struct vmlab_cost *cost)
{
	const char *known[ARRAY_SIZE(cost_fields) + 1];
	for (size_t i = 0; i < ARRAY_SIZE(cost_fields); i++)
		known[i] = cost_fields[i].name;
	known[ARRAY_SIZE(cost_fields)] = NULL;
	lsim_check_keys(L, t, known, "vmlab.machine cost");
	for (size_t i = 0; i < ARRAY_SIZE(cost_fields); i++) {
		if (lua_getfield(L, t, cost_fields[i].name) != LUA_TNIL) {
			if (!lua_isnumber(L, -1))
				luaL_error(L, "vmlab.machine: cost.%s must be a "
					      "number (ns)", cost_fields[i].name);
			*(double *)((char *)cost + cost_fields[i].off) =
				lua_tonumber(L, -1);
		}
		lua_pop(L, 1);
	}
}

static u32 parse_expect(lua_State *L, int idx)
{
	u32 mask = 0;
	assert(idx > 0);
	if (lua_isnil(L, idx))
		return 0;
	if (lua_isstring(L, idx) && !lua_isnumber(L, idx)) {
		lua_newtable(L);
		lua_pushvalue(L, idx);
		lua_rawseti(L, -2, 1);
	} else {
		luaL_argexpected(L, lua_istable(L, idx), 1,
				 "check name or list of check names");
		lua_pushvalue(L, idx);
	}
	lua_Integer n = luaL_len(L, -1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		const char *name = lua_tostring(L, -1);
		int c = 0;
		while (c < VMLAB_NR_CHECKS &&
		       (!name || strcmp(name, vmlab_check_name(c))))
			c++;
		if (c == VMLAB_NR_CHECKS)
			luaL_error(L, "expect: unknown check '%s' (stale-access, "
				      "freed-frame-reachable, wx-alias, "
				      "secondary-stale, kasan, bbm-violation)",
				   name ? name : luaL_typename(L, -1));
		mask |= 1u << c;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return mask;
}

static const char *const machine_keys[] = {
	"cpus", "memory", "checker", "pcid", "direct_map_1g", "flush_ceiling",
	"arch", "seed", "label", "expect", "quiet", "pwc", "tlb", "cost",
	"mutants", "kasan", "asid_bits", "hw_afdbm", "rodata_full",
	"set_alias", "reset_perms", "kworker", "host_memory", NULL};

/* Options one architecture has and the other does not. */
static const char *const x86_only[] = {"pcid", "flush_ceiling", NULL};
static const char *const arm64_only[] = {"asid_bits", "hw_afdbm",
					 "rodata_full", NULL};

static void arch_options(lua_State *L, struct vmlab_config *cfg)
{
	bool arm = !strcmp(cfg->arch, "arm64");
	const char *const *other = arm ? x86_only : arm64_only;
	for (int i = 0; other[i]; i++) {
		if (lua_getfield(L, 1, other[i]) != LUA_TNIL)
			lsim_usage_error(L, "vmlab.machine: '%s' is an %s-only "
					    "option (this machine is %s)",
					 other[i], arm ? "x86_64" : "arm64",
					 cfg->arch);
		lua_pop(L, 1);
	}
	if (!arm)
		return;
	s64 bits = opt_int(L, 1, "asid_bits", 16);
	if (bits != 8 && bits != 16)
		lsim_usage_error(L, "vmlab.machine: asid_bits is 8 or 16");
	cfg->asid_bits = (u8)bits;
	cfg->hw_afdbm = opt_bool(L, 1, "hw_afdbm", true) ? VMLAB_ON : VMLAB_OFF;
	cfg->rodata_full =
		opt_bool(L, 1, "rodata_full", true) ? VMLAB_ON : VMLAB_OFF;
}

/* The seed's VM_FLUSH_RESET_PERMS designs (include/vmlab/machine.h). */
static void parse_reset_perms(lua_State *L, struct vmlab_config *cfg)
{
	static const char *const names[] = {"mainline", "seed-v2",
					    "seed-v2-one-call", NULL};
	assert(lua_istable(L, 1));
	cfg->set_alias = opt_bool(L, 1, "set_alias", true) ? VMLAB_ON
							    : VMLAB_OFF;
	lua_getfield(L, 1, "reset_perms");
	if (!lua_isnil(L, -1)) {
		const char *s = lua_tostring(L, -1);
		int i = 0;
		while (names[i] && (!s || strcmp(s, names[i])))
			i++;
		if (!names[i])
			lsim_usage_error(L, "vmlab.machine: reset_perms is "
					    "\"mainline\", \"seed-v2\" or "
					    "\"seed-v2-one-call\"");
		cfg->reset_perms = (enum vmlab_reset_perms)i;
	}
	lua_pop(L, 1);
	assert(cfg->reset_perms < VMLAB_NR_RESET_PERMS);
}

/* mutants = {"name", ...}: historical bugs on for this machine. */
static void parse_mutants(lua_State *L, int t, struct vmlab_config *cfg)
{
	assert(t > 0 && cfg);
	if (lua_type(L, t) == LUA_TSTRING) { /* one name */
		lua_newtable(L);
		lua_pushvalue(L, t);
		lua_rawseti(L, -2, 1);
		lua_replace(L, t);
	}
	luaL_argexpected(L, lua_istable(L, t), 1, "list of mutant names");
	lua_Integer n = luaL_len(L, t);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, t, i);
		const char *name = lua_tostring(L, -1);
		int id = vmlab_mutant_lookup(name);
		if (id < 0)
			lsim_usage_error(L, "vmlab.machine: unknown mutant '%s' "
					    "(see 'vmlab mutants --list')",
					 name ? name : luaL_typename(L, -1));
		vmlab_config_mutant(cfg, id, true);
		lua_pop(L, 1);
	}
}

/* host_memory: the machine's host budget, at most the run's (a script
 * may not raise what the command line allowed). */
static void parse_host_memory(lua_State *L, struct vmlab_config *cfg)
{
	u64 run = cfg->max_host_bytes; /* the run's, set by parse_config */
	assert(run >= VMLAB_MiB);
	if (lua_getfield(L, 1, "host_memory") != LUA_TNIL) {
		u64 v = parse_size(L, -1, "vmlab.machine host_memory");
		char most[24];
		snprintf(most, sizeof(most), "%llu", (unsigned long long)run);
		if (v < VMLAB_MiB || v > run)
			lsim_usage_error(L, "vmlab.machine: host_memory is 1M.."
					    "%s bytes (--max-host-memory)", most);
		cfg->max_host_bytes = v;
	}
	lua_pop(L, 1);
	assert(cfg->max_host_bytes >= VMLAB_MiB && cfg->max_host_bytes <= run);
}

static void parse_config(lua_State *L, struct sim *sim,
			 struct vmlab_config *cfg)
{
	assert(sim && cfg);
	vmlab_config_default(cfg);
	cfg->seed = sim->seed;
	cfg->checker = true;
	cfg->max_host_bytes = sim->o->max_host_memory ? sim->o->max_host_memory
						      : VMLAB_DEFAULT_HOST_BYTES;
	if (sim->o->arch)
		cfg->arch = sim->o->arch;
	for (int w = 0; w < VMLAB_MUTANT_WORDS; w++)
		cfg->mutants[w] = sim->o->mutants[w];
	if (lua_isnoneornil(L, 1))
		return;
	luaL_checktype(L, 1, LUA_TTABLE);
	lsim_check_keys(L, 1, machine_keys, "vmlab.machine");
	s64 cpus = opt_int(L, 1, "cpus", cfg->nr_cpus);
	if (cpus < 1 || cpus > VMLAB_MAX_CPUS)
		luaL_error(L, "vmlab.machine: cpus must be 1..%d", VMLAB_MAX_CPUS);
	cfg->nr_cpus = (int)cpus;
	if (lua_getfield(L, 1, "memory") != LUA_TNIL)
		cfg->mem_bytes = parse_size(L, -1, "vmlab.machine memory");
	lua_pop(L, 1);
	parse_host_memory(L, cfg);
	cfg->checker = opt_bool(L, 1, "checker", true);
	cfg->pcid = opt_bool(L, 1, "pcid", cfg->pcid);
	cfg->direct_map_1g = opt_bool(L, 1, "direct_map_1g", cfg->direct_map_1g);
	s64 ceil = opt_int(L, 1, "flush_ceiling", cfg->flush_ceiling);
	s64 pwc = opt_int(L, 1, "pwc", cfg->pwc_entries);
	if (ceil < 1 || ceil > 1 << 30 || pwc < 0 || pwc > 65535)
		luaL_error(L, "vmlab.machine: bad flush_ceiling or pwc");
	cfg->flush_ceiling = (u32)ceil;
	cfg->pwc_entries = (u16)pwc;
	cfg->seed = (u64)opt_int(L, 1, "seed", (s64)cfg->seed);
	if (lua_getfield(L, 1, "arch") != LUA_TNIL) {
		const char *a = luaL_checkstring(L, -1);
		if (strcmp(a, "x86_64") && strcmp(a, "arm64"))
			lsim_usage_error(L, "vmlab.machine: unknown arch '%s' "
					    "(x86_64 or arm64)", a);
		cfg->arch = !strcmp(a, "arm64") ? "arm64" : "x86_64";
	}
	lua_pop(L, 1);
	arch_options(L, cfg);
	if (lua_getfield(L, 1, "tlb") != LUA_TNIL) {
		luaL_checktype(L, -1, LUA_TTABLE);
		parse_tlb(L, lua_gettop(L), cfg);
	}
	lua_pop(L, 1);
	if (lua_getfield(L, 1, "cost") != LUA_TNIL) {
		luaL_checktype(L, -1, LUA_TTABLE);
		parse_cost(L, lua_gettop(L), &cfg->cost);
	}
	lua_pop(L, 1);
	if (lua_getfield(L, 1, "mutants") != LUA_TNIL)
		parse_mutants(L, lua_gettop(L), cfg);
	lua_pop(L, 1);
	/* kasan = true ("fixed") or a kasan_release variant's name. */
	if (lua_getfield(L, 1, "kasan") == LUA_TBOOLEAN) {
		cfg->kasan = lua_toboolean(L, -1);
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		enum vmlab_kasan_release r;
		if (vmlab_kasan_release_parse(lua_tostring(L, -1), &r))
			luaL_error(L, "vmlab.machine: kasan must be true or "
				      "\"seed-v6\", \"fixed\", \"no-extend\" "
				      "(got '%s')", lua_tostring(L, -1));
		cfg->kasan = true;
		cfg->kasan_release = (int)r;
	} else if (!lua_isnil(L, -1)) {
		luaL_error(L, "vmlab.machine: kasan must be a boolean or a "
			      "kasan_release name");
	}
	lua_pop(L, 1);
	parse_reset_perms(L, cfg);
}

static int l_machine(lua_State *L)
{
	struct sim *sim = lsim(L);
	if (sim->running)
		return luaL_error(L, "vmlab.machine: not inside a CPU program");
	if (sim->o->nr_defs && !sim->params_declared)
		return lsim_usage_error(L, "-D given, but the scenario declares "
					   "no parameters (vmlab.params{...} "
					   "comes before vmlab.machine)");
	struct vmlab_config cfg;
	int max = sim->o->max_machines ? sim->o->max_machines
				       : SIM_DEFAULT_MAX_MACHINES;
	if (sim->nr_mach >= max)
		return luaL_error(L, "vmlab.machine: a run may create at most "
				     "%d machines (--max-machines)", max);
	parse_config(L, sim, &cfg);
	if (sim->o->cpus > 0)
		cfg.nr_cpus = sim->o->cpus;
	u32 expect = 0;
	const char *label = NULL;
	bool quiet = sim->o->quiet, kworker = true;
	if (lua_istable(L, 1)) {
		kworker = opt_bool(L, 1, "kworker", true);
		lua_getfield(L, 1, "expect");
		expect = parse_expect(L, lua_gettop(L));
		lua_pop(L, 1);
		if (lua_getfield(L, 1, "label") != LUA_TNIL)
			label = luaL_checkstring(L, -1);
		quiet |= opt_bool(L, 1, "quiet", false);
	}
	struct sim_machine **ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	*ud = NULL;
	if (sim->nr_mach == sim->cap_mach) {
		int cap = sim->cap_mach ? 2 * sim->cap_mach : 8;
		void *p = realloc(sim->mach, (size_t)cap * sizeof(*sim->mach));
		if (!p)
			return luaL_error(L, "vmlab.machine: out of memory");
		sim->mach = p;
		sim->cap_mach = cap;
	}
	struct vmlab_machine *m;
	const char *kerr = vmlab_kasan_config_error(&cfg);
	if (kerr)
		return luaL_error(L, "vmlab.machine: %s", kerr);
	int err = vmlab_boot(&cfg, &m);
	if (err == -VMLAB_ENOMEM)
		return luaL_error(L, "vmlab.machine: boot failed (ENOMEM): the "
				     "model's state needs more host memory than "
				     "the machine's budget (%I bytes: "
				     "host_memory, --max-host-memory)",
				  (lua_Integer)cfg.max_host_bytes);
	if (err)
		return luaL_error(L, "vmlab.machine: boot failed (%s): check "
				     "memory (64M..4T, a multiple of 2M) and "
				     "TLB geometry", vmlab_strerror(err));
	struct sim_machine *sm = calloc(1, sizeof(*sm));
	if (!sm) {
		vmlab_machine_destroy(m);
		return luaL_error(L, "vmlab.machine: out of memory");
	}
	sm->sim = sim;
	sm->m = m;
	sm->index = sim->nr_mach;
	sm->expect = expect;
	sm->kworker = kworker;
	char def[32];
	snprintf(def, sizeof(def), "machine %d", sm->index + 1);
	sm->label = lsim_strdup(label ? label : def);
	sim->mach[sim->nr_mach++] = sm;
	assert(sim->nr_mach <= sim->cap_mach);
	*ud = sm;
	vmlab_set_quiet(m, quiet);
	vmlab_set_warn_handler(m, lsim_warn, sm);
	if (sim->trace)
		trace_attach(sim->trace, sm);
	luaL_setmetatable(L, MT_MACHINE);
	return 1;
}

/* ------------------------------------------------- machine methods */

static int l_cpu(lua_State *L)
{
	struct sim_machine *sm = check_machine(L, 1);
	lua_Integer cpu = luaL_checkinteger(L, 2);
	if (!vmlab_cpu_valid(sm->m, (int)cpu) || cpu != (int)cpu)
		return luaL_error(L, "no CPU %I (machine '%s' has %d)", cpu,
				  sm->label, vmlab_nr_cpus(sm->m));
	lsim_push_cpu(L, sm, (int)cpu);
	return 1;
}

void lsim_push_cpu(lua_State *L, struct sim_machine *sm, int cpu)
{
	assert(vmlab_cpu_valid(sm->m, cpu));
	struct cpu_ud *c = lua_newuserdatauv(L, sizeof(*c), 0);
	c->sm = sm;
	c->cpu = cpu;
	luaL_setmetatable(L, MT_CPU);
}

static int l_id(lua_State *L)
{
	int cpu;
	lsim_handle(L, 1, &cpu);
	lua_pushinteger(L, cpu);
	return 1;
}

static int l_nr_cpus(lua_State *L)
{
	int cpu;
	lua_pushinteger(L, vmlab_nr_cpus(lsim_handle(L, 1, &cpu)->m));
	return 1;
}

static int l_label(lua_State *L)
{
	int cpu;
	lua_pushstring(L, lsim_handle(L, 1, &cpu)->label);
	return 1;
}

static int l_expect(lua_State *L)
{
	struct sim_machine *sm = check_machine(L, 1);
	int top = lua_gettop(L);
	if (top > 2) { /* m:expect("a", "b") */
		lua_createtable(L, top - 1, 0);
		for (int i = 2; i <= top; i++) {
			lua_pushvalue(L, i);
			lua_rawseti(L, -2, i - 1);
		}
		lua_replace(L, 2);
		lua_settop(L, 2);
	}
	sm->expect |= parse_expect(L, 2);
	return 0;
}

static int l_destroy(lua_State *L)
{
	struct sim_machine *sm = check_machine(L, 1);
	if (sm->sim->running)
		return luaL_error(L, "destroy: not inside a CPU program");
	lsim_machine_finish(sm->sim, sm);
	return 0;
}

static int l_tostring(lua_State *L)
{
	struct cpu_ud *c = luaL_testudata(L, 1, MT_CPU);
	if (c)
		lua_pushfstring(L, "vmlab cpu %d of '%s'", c->cpu, c->sm->label);
	else
		lua_pushfstring(L, "vmlab machine '%s'",
				(*(struct sim_machine **)luaL_checkudata(
					 L, 1, MT_MACHINE))->label);
	return 1;
}

void lsim_machine_finish(struct sim *sim, struct sim_machine *sm)
{
	if (sm->destroyed)
		return;
	assert(!sm->sched);
	lsim_notifier_finish(sm); /* devices let go of their mms first */
	lsim_user_finish(sm); /* before the reports: exit_mmap is checked */
	struct sim_result *r = sim->r;
	struct vmlab_machine *m = sm->m;
	if (sim->o->dump_pagetable || sim->o->dump_tlb) {
		/* --dump-pagetable / --dump-tlb: the machine as it ends */
		struct sim_buf b = {0};
		if (sim->o->dump_pagetable) {
			buf_printf(&b, "[%s] kernel page tables "
				       "(/sys/kernel/debug/page_tables/kernel):\n",
				   sm->label);
			lsim_ptdump(m, lsim_kernel_start(m), 0, &b);
		}
		for (int c = 0; c < vmlab_nr_cpus(m); c++)
			if (sim->o->dump_tlb < 0 || sim->o->dump_tlb == c + 1) {
				buf_printf(&b, "[%s] ", sm->label);
				lsim_dump_tlb(m, c, &b);
			}
		if (sim->o->out)
			fwrite(b.s, 1, b.len, sim->o->out);
		else
			buf_printf(&sim->out, "%s", b.s);
		free(b.s);
	}
	/* Work queued outside any operation (the scenario's end) runs as
	 * the machine goes, on CPU 0's kworker. */
	if (sm->kworker && !sm->sched && vmlab_nr_pending_work(m) > 0)
		lsim_kworker_run(sm, 0);
	if (sm->work_left_by && vmlab_nr_pending_work(m) > 0)
		vmlab_warn(m, "deferred work never ran: %d item%s queued "
			      "(first '%s'), left since '%s' outside m:run with "
			      "vmlab.machine{kworker = false}; Linux would have "
			      "run it (the purge worker...): call "
			      "cpu:run_work() or issue the calls from m:run "
			      "programs",
			   vmlab_nr_pending_work(m),
			   vmlab_nr_pending_work(m) == 1 ? "" : "s",
			   m->work_head && m->work_head->name ? m->work_head->name
							      : "work",
			   sm->work_left_by);
	struct sim_machine_info *mi = realloc(
		r->machines, (size_t)(r->nr_machines + 1) * sizeof(*mi));
	size_t n = vmlab_nr_reports(m);
	struct sim_report *rep = realloc(r->reports,
					 (r->nr_reports + n + 1) * sizeof(*rep));
	if (!mi || !rep)
		abort();
	r->machines = mi;
	r->reports = rep;
	mi = &r->machines[r->nr_machines++];
	memset(mi, 0, sizeof(*mi));
	mi->label = lsim_strdup(sm->label);
	mi->cpus = vmlab_nr_cpus(m);
	mi->hash = vmlab_trace_hash(m);
	mi->events = vmlab_event_count(m);
	mi->warnings = vmlab_nr_warnings(m);
	mi->warn = sm->warn; /* the result owns them now */
	mi->nr_warn = sm->nr_warn;
	sm->warn = NULL;
	sm->nr_warn = 0;
	mi->nr_reports = n;
	mi->expect = sm->expect;
	for (size_t i = 0; i < n; i++) {
		const struct vmlab_report *vr = vmlab_get_report(m, i);
		assert(vr && vr->check < VMLAB_NR_CHECKS);
		struct sim_report *o = &r->reports[r->nr_reports++];
		o->machine = lsim_strdup(sm->label);
		o->check = vmlab_check_name(vr->check);
		o->cpu = vr->cpu;
		o->va = vr->va;
		o->pfn = vr->pfn;
		o->access = vmlab_access_name(vr->access);
		o->text = lsim_strdup(vr->text ? vr->text : "");
		o->expected = sm->expect & (1u << vr->check);
		mi->found |= 1u << vr->check;
	}
	trace_detach(sm);
	sim->dead_work += sandbox_machine_work(m);
	vmlab_machine_destroy(m);
	sm->m = NULL;
	sm->destroyed = true;
}

static const luaL_Reg machine_methods[] = {
	{"cpu", l_cpu},
	{"id", l_id},
	{"nr_cpus", l_nr_cpus},
	{"label", l_label},
	{"expect", l_expect},
	{"destroy", l_destroy},
	{"run", lsim_run_programs},
	{NULL, NULL},
};

/* Both handle types share one method table: a machine method called on
 * a CPU handle acts as that CPU. */
void lsim_register_machine(lua_State *L)
{
	lua_newtable(L); /* methods */
	luaL_setfuncs(L, machine_methods, 0);
	lsim_register_ops(L);
	lsim_register_observe(L);
	lsim_register_vmalloc(L);
	lsim_register_user(L);
	lsim_register_pidfd(L);
	lsim_register_uffd(L);
	lsim_register_file(L);
	lsim_register_kasan(L);
	lsim_register_walk(L);
	lsim_register_notifier(L);
	lsim_register_execmem(L);
	const char *const mts[] = {MT_MACHINE, MT_CPU};
	for (int i = 0; i < 2; i++) {
		luaL_newmetatable(L, mts[i]);
		lua_pushvalue(L, -2);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_tostring);
		lua_setfield(L, -2, "__tostring");
		lua_pushliteral(L, "vmlab handle");
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_pushcfunction(L, l_machine);
	lua_setfield(L, -2, "machine"); /* into the vmlab table below */
}
