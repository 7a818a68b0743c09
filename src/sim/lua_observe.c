/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 3: observations.  Reading counters, reports, TLB
 * contents and statistics changes nothing in the machine, so none of
 * these is a scheduling point.
 */
#include <stdlib.h>

#include "vmlab/checker.h"
#include "sim/lsim.h"

/* The CPU an observation is about: argument idx, else the handle's. */
static int obs_cpu(lua_State *L, struct sim_machine *sm, int idx, int def)
{
	assert(sm && sm->m && def >= -1);
	lua_Integer cpu = luaL_optinteger(L, idx, def);
	if (cpu != -1 && !vmlab_cpu_valid(sm->m, (int)cpu))
		luaL_argerror(L, idx, "no such CPU");
	return (int)cpu;
}

static enum vmlab_counter counter_id(lua_State *L, int idx)
{
	const char *name = luaL_checkstring(L, idx);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++)
		if (!strcmp(vmlab_counter_name((enum vmlab_counter)c), name))
			return (enum vmlab_counter)c;
	luaL_argerror(L, idx, lua_pushfstring(L, "no counter '%s'", name));
	return VMLAB_NR_COUNTERS;
}

/* counter(name [, cpu]): one counter, all CPUs unless cpu given. */
static int l_counter(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	enum vmlab_counter c = counter_id(L, 2);
	int cpu = obs_cpu(L, sm, 3, -1);
	lua_pushinteger(L, (lua_Integer)vmlab_counter(sm->m, cpu, c));
	return 1;
}

/* counters([cpu]): {name = value} of every counter. */
static int l_counters(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	int cpu = obs_cpu(L, sm, 2, -1);
	lua_createtable(L, 0, VMLAB_NR_COUNTERS + 1);
	for (int c = 0; c < VMLAB_NR_COUNTERS; c++) {
		lua_pushinteger(L, (lua_Integer)vmlab_counter(
					   sm->m, cpu, (enum vmlab_counter)c));
		lua_setfield(L, -2, vmlab_counter_name((enum vmlab_counter)c));
	}
	lua_pushnumber(L, vmlab_sim_time_ns(sm->m, cpu));
	lua_setfield(L, -2, "time_ns");
	return 1;
}

static int l_reset_counters(lua_State *L)
{
	int h;
	vmlab_counters_reset(lsim_handle(L, 1, &h)->m);
	return 0;
}

static int l_sim_time_ns(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	lua_pushnumber(L, vmlab_sim_time_ns(sm->m, obs_cpu(L, sm, 2, -1)));
	return 1;
}

static enum vmlab_check check_id(lua_State *L, int idx)
{
	const char *name = luaL_checkstring(L, idx);
	for (int c = 0; c < VMLAB_NR_CHECKS; c++)
		if (!strcmp(vmlab_check_name((enum vmlab_check)c), name))
			return (enum vmlab_check)c;
	luaL_argerror(L, idx, lua_pushfstring(L, "no check '%s'", name));
	return VMLAB_NR_CHECKS;
}

/* nr_reports([check]) */
static int l_nr_reports(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	size_t n = lua_isnoneornil(L, 2)
			   ? vmlab_nr_reports(sm->m)
			   : vmlab_nr_reports_of(sm->m, check_id(L, 2));
	lua_pushinteger(L, (lua_Integer)n);
	return 1;
}

/* page_address(pfn): the frame's linear-map address on this machine's
 * architecture; arch(): "x86_64" or "arm64". */
static int l_page_address(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	lua_pushinteger(L, (lua_Integer)vmlab_page_address(
				   sm->m, (u64)luaL_checkinteger(L, 2)));
	return 1;
}

static int l_arch(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	lua_pushstring(L, vmlab_machine_config(sm->m)->arch);
	return 1;
}

/* reports(): {{check=, cpu=, va=, pfn=, access=, text=}, ...} */
static int l_reports(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	size_t n = vmlab_nr_reports(sm->m);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		const struct vmlab_report *r = vmlab_get_report(sm->m, i);
		assert(r && r->check < VMLAB_NR_CHECKS);
		lua_createtable(L, 0, 6);
		lua_pushstring(L, vmlab_check_name(r->check));
		lua_setfield(L, -2, "check");
		lua_pushinteger(L, r->cpu);
		lua_setfield(L, -2, "cpu");
		lua_pushinteger(L, (lua_Integer)r->va);
		lua_setfield(L, -2, "va");
		lua_pushinteger(L, (lua_Integer)r->pfn);
		lua_setfield(L, -2, "pfn");
		lua_pushstring(L, vmlab_access_name(r->access));
		lua_setfield(L, -2, "access");
		lua_pushstring(L, r->text ? r->text : "");
		lua_setfield(L, -2, "text");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int l_clear_reports(lua_State *L)
{
	int h;
	vmlab_clear_reports(lsim_handle(L, 1, &h)->m);
	return 0;
}

/* tlb_occupancy([cpu]) */
static int l_tlb_occupancy(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	int cpu = obs_cpu(L, sm, 2, h);
	luaL_argcheck(L, cpu >= 0, 2, "a CPU");
	lua_pushinteger(L, vmlab_tlb_occupancy(sm->m, cpu));
	return 1;
}

/* tlb_probe(va [, cpu]) -> level, pfn, prot | nil */
static int l_tlb_probe(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	u64 va = (u64)luaL_checkinteger(L, 2);
	int cpu = obs_cpu(L, sm, 3, h);
	luaL_argcheck(L, cpu >= 0, 3, "a CPU");
	u64 pfn;
	vmlab_pgprot_t prot;
	int level = vmlab_tlb_probe(sm->m, cpu, va, &pfn, &prot);
	if (level < 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushinteger(L, level);
	lua_pushinteger(L, (lua_Integer)pfn);
	lua_pushinteger(L, (lua_Integer)prot);
	return 3;
}

/* translate(va) -> pa, level, prot | nil (software walk of init_mm) */
static int l_translate(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	u64 va = (u64)luaL_checkinteger(L, 2), pa;
	vmlab_pgprot_t prot;
	int level;
	if (vmlab_translate(sm->m, vmlab_init_mm(sm->m), va, &pa, &prot,
			    &level)) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushinteger(L, (lua_Integer)pa);
	lua_pushinteger(L, level);
	lua_pushinteger(L, (lua_Integer)prot);
	return 3;
}

static void setint(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* directmap_stats(): DirectMap4k/2M/1G in bytes and split counts. */
static int l_directmap_stats(lua_State *L)
{
	int h;
	struct vmlab_directmap_stats st;
	vmlab_directmap_stats(lsim_handle(L, 1, &h)->m, &st);
	lua_createtable(L, 0, 6);
	setint(L, "DirectMap4k", st.directmap_4k);
	setint(L, "DirectMap2M", st.directmap_2m);
	setint(L, "DirectMap1G", st.directmap_1g);
	setint(L, "level2_splits", st.level2_splits);
	setint(L, "level3_splits", st.level3_splits);
	setint(L, "collapses", st.collapses);
	return 1;
}

static int l_kernel_page_present(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	lua_pushboolean(L, vmlab_kernel_page_present(
				   sm->m, (u64)luaL_checkinteger(L, 2)));
	return 1;
}

static int l_trace_hash(lua_State *L)
{
	int h;
	lua_pushinteger(L, (lua_Integer)vmlab_trace_hash(lsim_handle(L, 1, &h)->m));
	return 1;
}

static int l_events(lua_State *L)
{
	int h;
	lua_pushinteger(L, (lua_Integer)vmlab_event_count(lsim_handle(L, 1, &h)->m));
	return 1;
}

static int l_warnings(lua_State *L)
{
	int h;
	lua_pushinteger(L, (lua_Integer)vmlab_nr_warnings(lsim_handle(L, 1, &h)->m));
	return 1;
}

static int l_nr_free_pages(lua_State *L)
{
	int h;
	lua_pushinteger(L, (lua_Integer)vmlab_nr_free_pages(lsim_handle(L, 1, &h)->m));
	return 1;
}

/* dump_pagetable([lo [, hi]]) -> the kernel page tables, ptdump's text */
static int l_dump_pagetable(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	u64 lo = (u64)luaL_optinteger(L, 2,
				      (lua_Integer)lsim_kernel_start(sm->m));
	u64 hi = (u64)luaL_optinteger(L, 3, 0);
	luaL_argcheck(L, !hi || hi > lo, 3, "the end must be above the start");
	struct sim_buf b = {0};
	lsim_ptdump(sm->m, lo, hi, &b); /* hi 0: to the top */
	lua_pushlstring(L, b.s ? b.s : "", b.len);
	free(b.s);
	return 1;
}

/* dump_tlb([cpu]) -> the CPU's cached translations, one per line */
static int l_dump_tlb(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	cpu = (int)luaL_optinteger(L, 2, cpu);
	luaL_argcheck(L, vmlab_cpu_valid(sm->m, cpu), 2, "no such CPU");
	struct sim_buf b = {0};
	lsim_dump_tlb(sm->m, cpu, &b);
	lua_pushlstring(L, b.s, b.len);
	free(b.s);
	return 1;
}

static int l_pending_work(lua_State *L)
{
	int h;
	lua_pushinteger(L, vmlab_nr_pending_work(lsim_handle(L, 1, &h)->m));
	return 1;
}

/* work_stats(): {queued, ran, pending} since boot, kworker = on/off. */
static int l_work_stats(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	u64 queued, ran;
	vmlab_work_totals(sm->m, &queued, &ran);
	lua_createtable(L, 0, 4);
	setint(L, "queued", queued);
	setint(L, "ran", ran);
	setint(L, "pending", (u64)vmlab_nr_pending_work(sm->m));
	lua_pushboolean(L, sm->kworker);
	lua_setfield(L, -2, "kworker");
	return 1;
}

/* random(n): 1..n; random(lo, hi): lo..hi; from the machine's generator
 * (seeded by the run seed), for workload generation. */
static int l_random(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	lua_Integer lo = 1, hi;
	if (lua_isnoneornil(L, 3)) {
		hi = luaL_checkinteger(L, 2);
	} else {
		lo = luaL_checkinteger(L, 2);
		hi = luaL_checkinteger(L, 3);
	}
	luaL_argcheck(L, lo <= hi, 2, "empty interval");
	u64 span = (u64)hi - (u64)lo + 1;
	u64 r = span ? vmlab_rand_below(sm->m, span) : vmlab_rand(sm->m);
	assert(!span || r < span);
	lua_pushinteger(L, (lua_Integer)((u64)lo + r));
	return 1;
}

/* stats(): vmlab_stats_dump() text (counters per CPU, memory, hash). */
static int l_stats(lua_State *L)
{
	int h;
	struct sim_machine *sm = lsim_handle(L, 1, &h);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return luaL_error(L, "stats: out of memory");
	vmlab_stats_dump(sm->m, f, lua_toboolean(L, 2));
	fclose(f);
	lua_pushlstring(L, text, len);
	free(text);
	return 1;
}

static const luaL_Reg observe[] = {
	{"counter", l_counter},
	{"counters", l_counters},
	{"reset_counters", l_reset_counters},
	{"sim_time_ns", l_sim_time_ns},
	{"nr_reports", l_nr_reports},
	{"page_address", l_page_address},
	{"arch", l_arch},
	{"reports", l_reports},
	{"clear_reports", l_clear_reports},
	{"tlb_occupancy", l_tlb_occupancy},
	{"tlb_probe", l_tlb_probe},
	{"translate", l_translate},
	{"directmap_stats", l_directmap_stats},
	{"kernel_page_present", l_kernel_page_present},
	{"trace_hash", l_trace_hash},
	{"events", l_events},
	{"warnings", l_warnings},
	{"nr_free_pages", l_nr_free_pages},
	{"pending_work", l_pending_work},
	{"work_stats", l_work_stats},
	{"dump_pagetable", l_dump_pagetable},
	{"dump_tlb", l_dump_tlb},
	{"random", l_random},
	{"stats", l_stats},
	{NULL, NULL},
};

void lsim_register_observe(lua_State *L)
{
	luaL_setfuncs(L, observe, 0);
}
