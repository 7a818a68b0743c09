/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 2: kernel operations a CPU performs.  Each one is a
 * scheduling point, a span in the trace and the checker's label (see
 * lop_begin()).  Arguments are checked before the operation starts, so
 * an error never leaves a kernel call half done.  A failed call the
 * scenario did not ask about raises "op: EINVAL" at the scenario's line;
 * a fault is an outcome, not an error: accesses return nil and a fault.
 */
#include <stdlib.h>

#include "sim/lsim.h"

static u64 check_u64(lua_State *L, int idx)
{
	return (u64)luaL_checkinteger(L, idx);
}

static u64 check_pages(lua_State *L, int idx)
{
	lua_Integer n = luaL_checkinteger(L, idx);
	luaL_argcheck(L, n > 0 && n < (1LL << 36), idx, "page count 1..2^36");
	return (u64)n;
}

/* --------------------------------------------------------- parsing */

static const struct {
	const char *name;
	vmlab_pgprot_t v;
} prot_names[] = {
	{"PAGE_KERNEL", VMLAB_PAGE_KERNEL},
	{"PAGE_KERNEL_RO", VMLAB_PAGE_KERNEL_RO},
	{"PAGE_KERNEL_EXEC", VMLAB_PAGE_KERNEL_EXEC},
	{"PAGE_KERNEL_ROX", VMLAB_PAGE_KERNEL_ROX},
	{"PAGE_NONE", VMLAB_PAGE_NONE},
	{"PAGE_USER_RW", VMLAB_PAGE_USER_RW},
	{"PAGE_USER_RO", VMLAB_PAGE_USER_RO},
	{"P", VMLAB_PAGE_PRESENT},
	{"PRESENT", VMLAB_PAGE_PRESENT},
	{"RW", VMLAB_PAGE_RW},
	{"USER", VMLAB_PAGE_USER},
	{"US", VMLAB_PAGE_USER},
	{"PWT", VMLAB_PAGE_PWT},
	{"PCD", VMLAB_PAGE_PCD},
	{"A", VMLAB_PAGE_ACCESSED},
	{"ACCESSED", VMLAB_PAGE_ACCESSED},
	{"D", VMLAB_PAGE_DIRTY},
	{"DIRTY", VMLAB_PAGE_DIRTY},
	{"PSE", VMLAB_PAGE_PSE},
	{"G", VMLAB_PAGE_GLOBAL},
	{"GLOBAL", VMLAB_PAGE_GLOBAL},
	{"NX", VMLAB_PAGE_NX},
};

static bool prot_lookup(const char *k, vmlab_pgprot_t *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(prot_names); i++)
		if (!strcmp(prot_names[i].name, k)) {
			*out |= prot_names[i].v;
			return true;
		}
	return false;
}

/* A name or bit, any case; "kernel_ro" is PAGE_KERNEL_RO. */
static bool prot_token(const char *t, size_t n, vmlab_pgprot_t *out)
{
	char up[40] = "PAGE_";
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		up[5 + i] = (char)(t[i] >= 'a' && t[i] <= 'z' ? t[i] - 32 : t[i]);
	up[5 + n] = 0;
	return prot_lookup(up + 5, out) || prot_lookup(up, out);
}

vmlab_pgprot_t lsim_prot(lua_State *L, int idx, vmlab_pgprot_t def)
{
	assert(idx != 0);
	if (lua_isnoneornil(L, idx))
		return def;
	if (lua_isinteger(L, idx))
		return (vmlab_pgprot_t)lua_tointeger(L, idx);
	const char *s = luaL_checkstring(L, idx);
	vmlab_pgprot_t v = 0;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, "|+, ");
		if (n && !prot_token(p, n, &v))
			luaL_argerror(L, idx,
				      lua_pushfstring(L, "unknown protection '%s' "
							 "(PAGE_KERNEL, RW|NX, ...)", s));
		p += n;
		p += strspn(p, "|+, ");
	}
	return v;
}

u64 lsim_flags(lua_State *L, int idx, const char *const *names,
	       const u64 *values, const char *what)
{
	if (lua_isnoneornil(L, idx))
		return 0;
	if (lua_isinteger(L, idx))
		return (u64)lua_tointeger(L, idx);
	assert(names && values && what);
	const char *s = luaL_checkstring(L, idx);
	u64 v = 0;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, "|+, ");
		bool ok = n == 0;
		for (int i = 0; !ok && names[i]; i++)
			if (strlen(names[i]) == n && !strncasecmp(names[i], p, n)) {
				v |= values[i];
				ok = true;
			}
		if (!ok)
			luaL_argerror(L, idx, lua_pushfstring(L, "unknown %s in '%s'",
							      what, s));
		p += n;
		p += strspn(p, "|+, ");
	}
	return v;
}

static bool opt_field(lua_State *L, int idx, const char *k, bool def)
{
	if (lua_isnoneornil(L, idx))
		return def;
	luaL_checktype(L, idx, LUA_TTABLE);
	bool v = def;
	if (lua_getfield(L, idx, k) != LUA_TNIL)
		v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* ------------------------------------------------------ allocation */

static int l_alloc_pages(lua_State *L)
{
	lua_Integer order = luaL_optinteger(L, 2, 0);
	luaL_argcheck(L, order >= 0 && order <= VMLAB_MAX_ORDER, 2,
		      "order 0..10");
	struct lop o;
	lop_begin(L, &o, 1, "alloc_pages");
	u64 pfn;
	int err = vmlab_alloc_pages(o.m, o.cpu, (int)order, &pfn);
	if (err)
		return lop_fail(L, &o, err);
	assert(pfn + (1ULL << order) <= vmlab_nr_frames(o.m));
	lop_end(&o);
	lua_pushinteger(L, (lua_Integer)pfn);
	return 1;
}

static int l_free_pages(lua_State *L)
{
	u64 pfn = check_u64(L, 2);
	lua_Integer order = luaL_optinteger(L, 3, 0);
	luaL_argcheck(L, order >= 0 && order <= VMLAB_MAX_ORDER, 3,
		      "order 0..10");
	struct lop o;
	lop_begin(L, &o, 1, "free_pages");
	vmlab_free_pages(o.m, o.cpu, pfn, (int)order);
	lop_end(&o);
	return 0;
}

/* ---------------------------------------------------- page tables */

static const char *const map_flag_names[] = {"huge_pmd", "huge_pud",
					     "replace", NULL};
static const u64 map_flag_values[] = {VMLAB_MAP_HUGE_PMD, VMLAB_MAP_HUGE_PUD,
				      VMLAB_MAP_REPLACE};

/* map(va, pfn, npages [, prot [, flags]]) in init_mm. */
static int l_map(lua_State *L)
{
	u64 va = check_u64(L, 2), pfn = check_u64(L, 3);
	u64 n = check_pages(L, 4);
	vmlab_pgprot_t prot = lsim_prot(L, 5, VMLAB_PAGE_KERNEL);
	u64 flags = lsim_flags(L, 6, map_flag_names, map_flag_values,
			       "map flag");
	struct lop o;
	lop_begin(L, &o, 1, "map");
	int err = vmlab_map_range(o.m, vmlab_init_mm(o.m), va,
				  pfn << VMLAB_PAGE_SHIFT, n << VMLAB_PAGE_SHIFT,
				  prot, (u32)flags);
	if (err)
		return lop_fail(L, &o, err);
	assert(n > 0 && !(va & ~VMLAB_PAGE_MASK));
	lop_end(&o);
	return 0;
}

static const char *const unmap_keys[] = {"flush", "free_tables", NULL};

/* A gather that is dropped without its flush (the bug being shown):
 * queued page-table pages are freed at once. */
static void finish(struct vmlab_machine *m, struct vmlab_mmu_gather *tlb,
		   bool flush)
{
	assert(tlb->mm == vmlab_init_mm(m));
	if (!flush) {
		tlb->start = ~0ULL;
		tlb->end = 0;
		tlb->freed_tables = false;
	}
	vmlab_tlb_finish_mmu(m, tlb);
}

/* unmap(va, npages [, {flush = true, free_tables = false}]) -> entries */
static int l_unmap(lua_State *L)
{
	u64 va = check_u64(L, 2), n = check_pages(L, 3);
	if (!lua_isnoneornil(L, 4))
		lsim_check_keys(L, 4, unmap_keys, "unmap");
	bool flush = opt_field(L, 4, "flush", true);
	bool free_tables = opt_field(L, 4, "free_tables", false);
	struct lop o;
	lop_begin(L, &o, 1, "unmap");
	/* On the program's stack: nothing to leak if it never resumes. */
	struct vmlab_mmu_gather tlb_s, *tlb = &tlb_s;
	vmlab_tlb_gather_mmu(tlb, vmlab_init_mm(o.m), o.cpu);
	s64 cleared = vmlab_unmap_range(o.m, tlb, va, n << VMLAB_PAGE_SHIFT,
					free_tables);
	finish(o.m, tlb, flush);
	if (cleared < 0)
		return lop_fail(L, &o, (int)cleared);
	assert((u64)cleared <= n);
	lop_end(&o);
	lua_pushinteger(L, cleared);
	return 1;
}

static const char *const protect_keys[] = {"flush", NULL};

/* protect(va, npages, set, clear [, {flush = true}]) -> leaves changed */
static int l_protect(lua_State *L)
{
	u64 va = check_u64(L, 2), n = check_pages(L, 3);
	vmlab_pgprot_t set = lsim_prot(L, 4, 0), clear = lsim_prot(L, 5, 0);
	if (!lua_isnoneornil(L, 6))
		lsim_check_keys(L, 6, protect_keys, "protect");
	bool flush = opt_field(L, 6, "flush", true);
	struct lop o;
	lop_begin(L, &o, 1, "protect");
	/* On the program's stack: nothing to leak if it never resumes. */
	struct vmlab_mmu_gather tlb_s, *tlb = &tlb_s;
	vmlab_tlb_gather_mmu(tlb, vmlab_init_mm(o.m), o.cpu);
	s64 changed = vmlab_protect_range(o.m, tlb, va, n << VMLAB_PAGE_SHIFT,
					  set, clear);
	finish(o.m, tlb, flush);
	if (changed < 0)
		return lop_fail(L, &o, (int)changed);
	assert((u64)changed <= n);
	lop_end(&o);
	lua_pushinteger(L, changed);
	return 1;
}

/* -------------------------------------------------------- flushing */

static int l_flush_range(lua_State *L)
{
	u64 start = check_u64(L, 2), end = check_u64(L, 3);
	struct lop o;
	lop_begin(L, &o, 1, "flush_tlb_kernel_range");
	vmlab_flush_tlb_kernel_range(o.m, o.cpu, start, end);
	lop_end(&o);
	return 0;
}

static int l_flush_one(lua_State *L)
{
	u64 va = check_u64(L, 2);
	struct lop o;
	lop_begin(L, &o, 1, "flush_tlb_one");
	vmlab_flush_tlb_one(o.m, o.cpu, va);
	lop_end(&o);
	return 0;
}

static int l_flush_local(lua_State *L)
{
	struct lop o;
	lop_begin(L, &o, 1, "flush_tlb_local");
	vmlab_flush_tlb_local(o.m, o.cpu);
	lop_end(&o);
	return 0;
}

static int l_flush_global(lua_State *L)
{
	struct lop o;
	lop_begin(L, &o, 1, "flush_tlb_global");
	vmlab_flush_tlb_global(o.m, o.cpu);
	lop_end(&o);
	return 0;
}

static int l_flush_all(lua_State *L)
{
	struct lop o;
	lop_begin(L, &o, 1, "flush_tlb_all");
	vmlab_flush_tlb_all(o.m, o.cpu);
	lop_end(&o);
	return 0;
}

/* --------------------------------------------------------- accesses */

static int push_fault(lua_State *L, const struct vmlab_fault *f)
{
	assert(f && f->access < VMLAB_NR_ACCESS);
	lua_pushnil(L);
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, f->cpu);
	lua_setfield(L, -2, "cpu");
	lua_pushinteger(L, (lua_Integer)f->va);
	lua_setfield(L, -2, "va");
	lua_pushstring(L, vmlab_access_name(f->access));
	lua_setfield(L, -2, "access");
	lua_pushinteger(L, f->error_code);
	lua_setfield(L, -2, "code");
	lua_pushstring(L, f->error_code & VMLAB_PF_PROT ? "protection"
							 : "not-present");
	lua_setfield(L, -2, "kind");
	lua_pushinteger(L, f->level);
	lua_setfield(L, -2, "level");
	return 2;
}

/* 0: done; EFAULT: fault pushed (returns 2); else raises. */
static int access_end(lua_State *L, struct lop *o, int err,
		      const struct vmlab_fault *f)
{
	assert(o->m && err <= 0);
	if (err == -VMLAB_EFAULT) {
		lop_end(o);
		return push_fault(L, f);
	}
	if (err)
		return lop_fail(L, o, err);
	lop_end(o);
	return 0;
}

static size_t check_len(lua_State *L, int idx, lua_Integer def)
{
	lua_Integer n = luaL_optinteger(L, idx, def);
	luaL_argcheck(L, n > 0 && n <= (1 << 20), idx, "length 1..1 MiB");
	return (size_t)n;
}

static int l_read(lua_State *L)
{
	u64 va = check_u64(L, 2);
	size_t len = check_len(L, 3, 8);
	char *buf = lua_newuserdatauv(L, len, 0);
	struct lop o;
	struct vmlab_fault f;
	lop_begin(L, &o, 1, "read");
	int n = access_end(L, &o, vmlab_read(o.m, o.cpu, va, buf, len, &f), &f);
	if (n)
		return n;
	lua_pushlstring(L, buf, len);
	return 1;
}

static int l_read64(lua_State *L)
{
	u64 va = check_u64(L, 2), v = 0;
	struct lop o;
	struct vmlab_fault f;
	lop_begin(L, &o, 1, "read");
	int n = access_end(L, &o, vmlab_read(o.m, o.cpu, va, &v, 8, &f), &f);
	if (n)
		return n;
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

static int l_write(lua_State *L)
{
	u64 va = check_u64(L, 2);
	size_t len;
	const char *data = luaL_checklstring(L, 3, &len);
	luaL_argcheck(L, len > 0 && len <= (1 << 20), 3, "length 1..1 MiB");
	struct lop o;
	struct vmlab_fault f;
	lop_begin(L, &o, 1, "write");
	int n = access_end(L, &o, vmlab_write(o.m, o.cpu, va, data, len, &f),
			   &f);
	if (n)
		return n;
	lua_pushboolean(L, 1);
	return 1;
}

static int l_write64(lua_State *L)
{
	u64 va = check_u64(L, 2), v = (u64)luaL_checkinteger(L, 3);
	struct lop o;
	struct vmlab_fault f;
	lop_begin(L, &o, 1, "write");
	int n = access_end(L, &o, vmlab_write(o.m, o.cpu, va, &v, 8, &f), &f);
	if (n)
		return n;
	lua_pushboolean(L, 1);
	return 1;
}

/* fetch(va [, len]): instruction fetch; the bytes are discarded. */
static int l_fetch(lua_State *L)
{
	u64 va = check_u64(L, 2);
	size_t len = check_len(L, 3, 1);
	char *buf = len > 1 ? lua_newuserdatauv(L, len, 0) : NULL;
	struct lop o;
	struct vmlab_fault f;
	lop_begin(L, &o, 1, "fetch");
	int err = len > 1 ? vmlab_fetch(o.m, o.cpu, va, buf, len, &f)
			  : vmlab_touch(o.m, o.cpu, VMLAB_FETCH, va, 0, &f);
	int n = access_end(L, &o, err, &f);
	if (n)
		return n;
	lua_pushboolean(L, 1);
	return 1;
}

/* ------------------------------------------------------- direct map */

typedef int (*setmem_fn)(struct vmlab_machine *m, int cpu, u64 addr, int n);

static int setmem(lua_State *L, setmem_fn fn, const char *name)
{
	u64 addr = check_u64(L, 2);
	lua_Integer n = luaL_optinteger(L, 3, 1);
	luaL_argcheck(L, n >= 0 && n <= INT32_MAX, 3, "page count");
	assert(fn && name);
	struct lop o;
	lop_begin_svc(L, &o, 1, name);
	int err = fn(o.m, o.cpu, addr, (int)n);
	if (err)
		return lop_fail(L, &o, err);
	lop_end(&o);
	return 0;
}

#define SETMEM(x)                                                            \
	static int l_set_memory_##x(lua_State *L)                            \
	{                                                                    \
		return setmem(L, vmlab_set_memory_##x, "set_memory_" #x);   \
	}
SETMEM(ro)
SETMEM(rw)
SETMEM(x)
SETMEM(nx)
SETMEM(np)
SETMEM(p)
SETMEM(rox)

static int dm_alias(lua_State *L, bool invalid)
{
	u64 pfn = check_u64(L, 2);
	struct lop o;
	lop_begin_svc(L, &o, 1, invalid ? "set_direct_map_invalid_noflush"
				      : "set_direct_map_default_noflush");
	int err = invalid ? vmlab_set_direct_map_invalid_noflush(o.m, pfn)
			  : vmlab_set_direct_map_default_noflush(o.m, pfn);
	if (err)
		return lop_fail(L, &o, err);
	lop_end(&o);
	return 0;
}

static int l_dm_invalid(lua_State *L)
{
	return dm_alias(L, true);
}

static int l_dm_default(lua_State *L)
{
	return dm_alias(L, false);
}

/* ----------------------------------------------------- scheduling */

/* run_work([max]): this CPU runs deferred work now -> items run. */
static int l_run_work(lua_State *L)
{
	lua_Integer max = luaL_optinteger(L, 2, INT32_MAX);
	luaL_argcheck(L, max > 0 && max <= INT32_MAX, 2, "count");
	struct lop o;
	lop_begin_svc(L, &o, 1, "run_work");
	int n = vmlab_run_work(o.m, o.cpu, (int)max);
	assert(n >= 0 && n <= max);
	lop_end(&o);
	lua_pushinteger(L, n);
	return 1;
}

/* enter_lazy_tlb(): this CPU runs a kernel thread and keeps its user mm
 * loaded lazily (its TLB may still hold the mm's entries). */
static int l_enter_lazy_tlb(lua_State *L)
{
	struct lop o;
	lop_begin_svc(L, &o, 1, "enter_lazy_tlb");
	vmlab_enter_lazy_tlb(o.m, o.cpu);
	lop_end(&o);
	return 0;
}

/* yield(): in a program, let the others run (spin-wait loops call it). */
static int l_yield(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	if (sm->sched) {
		if (vmlab_sched_aborting(sm->m))
			return luaL_error(L, "stopped: the run is being aborted");
		vmlab_sched_yield(sm->m);
	}
	return 0;
}

static const luaL_Reg ops[] = {
	{"alloc_pages", l_alloc_pages},
	{"free_pages", l_free_pages},
	{"map", l_map},
	{"unmap", l_unmap},
	{"protect", l_protect},
	{"flush_range", l_flush_range},
	{"flush_one", l_flush_one},
	{"flush_local", l_flush_local},
	{"flush_global", l_flush_global},
	{"flush_all", l_flush_all},
	{"read", l_read},
	{"read64", l_read64},
	{"write", l_write},
	{"write64", l_write64},
	{"fetch", l_fetch},
	{"set_memory_ro", l_set_memory_ro},
	{"set_memory_rw", l_set_memory_rw},
	{"set_memory_x", l_set_memory_x},
	{"set_memory_nx", l_set_memory_nx},
	{"set_memory_np", l_set_memory_np},
	{"set_memory_p", l_set_memory_p},
	{"set_memory_rox", l_set_memory_rox},
	{"set_direct_map_invalid_noflush", l_dm_invalid},
	{"set_direct_map_default_noflush", l_dm_default},
	{"run_work", l_run_work},
	{"yield", l_yield},
	{"enter_lazy_tlb", l_enter_lazy_tlb},
	{NULL, NULL},
};

void lsim_register_ops(lua_State *L)
{
	luaL_setfuncs(L, ops, 0);
}
