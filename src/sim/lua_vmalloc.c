/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 4: vmalloc (include/vmlab/vmalloc.h).
 *
 * This file is the pattern for every service binding: one file per
 * service, a luaL_Reg table of methods registered from lsim_register_*()
 * (called by lsim_register_machine()), each operation framed by
 * lop_begin[_svc]() / lop_end().  See doc/sim.md, "Adding a service".
 *
 * The allocating operations (vmalloc*, vmap) let the service lock go
 * where Linux populates the KASAN shadow with no vmalloc lock held
 * (lop_allow_unlock), the purging ones where the kasan-release-unlocked
 * mutant releases shadow after free_vmap_area_lock; vm_map_ram keeps it (its new block is not linked
 * yet while the shadow is populated).
 *
 * Addresses are Lua integers (kernel addresses are negative as signed
 * 64-bit numbers; string.format("%x") prints them right).  Allocation
 * failure returns nil, as the kernel returns NULL: scenarios decide.
 */
#include <stdlib.h>

#include "sim/lsim.h"

static const char *const vm_flag_names[] = {
	"VM_IOREMAP", "VM_ALLOC", "VM_MAP", "VM_USERMAP", "VM_DMA_COHERENT",
	"VM_UNINITIALIZED", "VM_NO_GUARD", "VM_KASAN", "VM_FLUSH_RESET_PERMS",
	"VM_MAP_PUT_PAGES", "VM_ALLOW_HUGE_VMAP", "VM_DEFER_KMEMLEAK",
	"VM_SPARSE", "VM_TOPDOWN_VMAP", NULL};
static const u64 vm_flag_values[] = {
	VMLAB_VM_IOREMAP, VMLAB_VM_ALLOC, VMLAB_VM_MAP, VMLAB_VM_USERMAP,
	VMLAB_VM_DMA_COHERENT, VMLAB_VM_UNINITIALIZED, VMLAB_VM_NO_GUARD,
	VMLAB_VM_KASAN, VMLAB_VM_FLUSH_RESET_PERMS, VMLAB_VM_MAP_PUT_PAGES,
	VMLAB_VM_ALLOW_HUGE_VMAP, VMLAB_VM_DEFER_KMEMLEAK, VMLAB_VM_SPARSE,
	VMLAB_VM_TOPDOWN_VMAP};

static u64 vm_flags(lua_State *L, int idx)
{
	return lsim_flags(L, idx, vm_flag_names, vm_flag_values, "vm flag");
}

static int push_addr(lua_State *L, u64 addr)
{
	if (addr)
		lua_pushinteger(L, (lua_Integer)addr);
	else
		lua_pushnil(L);
	return 1;
}

typedef u64 (*alloc_fn)(struct vmlab_machine *m, int cpu, u64 size);

static int vm_alloc_like(lua_State *L, alloc_fn fn, const char *name)
{
	u64 size = (u64)luaL_checkinteger(L, 2);
	struct lop o;
	lop_begin_svc(L, &o, 1, name);
	lop_allow_unlock(&o);
	u64 addr = fn(o.m, o.cpu, size);
	lop_end(&o);
	return push_addr(L, addr);
}

static int l_vmalloc(lua_State *L)
{
	return vm_alloc_like(L, vmlab_vmalloc, "vmalloc");
}

static int l_vzalloc(lua_State *L)
{
	return vm_alloc_like(L, vmlab_vzalloc, "vzalloc");
}

static int l_vmalloc_huge(lua_State *L)
{
	return vm_alloc_like(L, vmlab_vmalloc_huge, "vmalloc_huge");
}

static const char *const range_keys[] = {"size", "align", "start", "end",
					 "prot", "flags", "caller", NULL};

/* vmalloc_node_range{size=, align=, start=, end=, prot=, flags=, caller=} */
static int l_vmalloc_node_range(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, range_keys, "vmalloc_node_range");
	lua_getfield(L, 2, "size");
	u64 size = (u64)luaL_checkinteger(L, -1);
	lua_getfield(L, 2, "align");
	u64 align = (u64)luaL_optinteger(L, -1, (lua_Integer)VMLAB_PAGE_SIZE);
	/* Default: the machine's vmalloc window (its architecture's). */
	int hcpu;
	const struct vmlab_va_layout *lay =
		vmlab_layout(lsim_handle(L, 1, &hcpu)->m);
	lua_getfield(L, 2, "start");
	u64 start = (u64)luaL_optinteger(L, -1, (lua_Integer)lay->vmalloc_start);
	lua_getfield(L, 2, "end");
	u64 end = (u64)luaL_optinteger(L, -1, (lua_Integer)lay->vmalloc_end);
	lua_getfield(L, 2, "prot");
	vmlab_pgprot_t prot = lsim_prot(L, -1, VMLAB_PAGE_KERNEL);
	lua_getfield(L, 2, "flags");
	u64 flags = vm_flags(L, -1);
	lua_getfield(L, 2, "caller");
	/* The area keeps the pointer: interned for the run's lifetime. */
	const char *caller = lsim_intern(lsim(L), luaL_optstring(L, -1, "lua"));
	assert(caller && lua_gettop(L) == 9);
	struct lop o;
	lop_begin_svc(L, &o, 1, "vmalloc_node_range");
	lop_allow_unlock(&o);
	u64 addr = vmlab_vmalloc_node_range(o.m, o.cpu, size, align, start, end,
					    prot, flags, caller);
	lop_end(&o);
	return push_addr(L, addr);
}

typedef void (*free_fn)(struct vmlab_machine *m, int cpu, u64 addr);

static int vfree_like(lua_State *L, free_fn fn, const char *name)
{
	u64 addr = (u64)luaL_checkinteger(L, 2);
	struct lop o;
	lop_begin_svc(L, &o, 1, name);
	fn(o.m, o.cpu, addr);
	lop_end(&o);
	return 0;
}

static int l_vfree(lua_State *L)
{
	return vfree_like(L, vmlab_vfree, "vfree");
}

static int l_vfree_atomic(lua_State *L)
{
	return vfree_like(L, vmlab_vfree_atomic, "vfree_atomic");
}

static int l_vunmap(lua_State *L)
{
	return vfree_like(L, vmlab_vunmap, "vunmap");
}

/* An array of pfns at idx, copied into a userdata pushed on the stack. */
static u64 *pfn_array(lua_State *L, int idx, u32 *count)
{
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_Integer n = luaL_len(L, idx);
	luaL_argcheck(L, n > 0 && n <= (1 << 24), idx, "1..2^24 pfns");
	u64 *pfns = lua_newuserdatauv(L, (size_t)n * sizeof(*pfns), 0);
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, idx, i) != LUA_TNUMBER || !lua_isinteger(L, -1))
			luaL_argerror(L, idx, "pfns must be integers");
		pfns[i - 1] = (u64)lua_tointeger(L, -1);
		lua_pop(L, 1);
	}
	*count = (u32)n;
	assert(*count > 0);
	return pfns;
}

/* vmap({pfn, ...} [, flags [, prot]]) -> addr | nil */
static int l_vmap(lua_State *L)
{
	u32 count;
	u64 flags = vm_flags(L, 3);
	vmlab_pgprot_t prot = lsim_prot(L, 4, VMLAB_PAGE_KERNEL);
	u64 *pfns = pfn_array(L, 2, &count);
	struct lop o;
	lop_begin_svc(L, &o, 1, "vmap");
	lop_allow_unlock(&o);
	u64 addr = vmlab_vmap(o.m, o.cpu, pfns, count, flags, prot);
	lop_end(&o);
	return push_addr(L, addr);
}

static int l_vm_map_ram(lua_State *L)
{
	u32 count;
	u64 *pfns = pfn_array(L, 2, &count);
	struct lop o;
	lop_begin_svc(L, &o, 1, "vm_map_ram");
	u64 addr = vmlab_vm_map_ram(o.m, o.cpu, pfns, count);
	lop_end(&o);
	return push_addr(L, addr);
}

static int l_vm_unmap_ram(lua_State *L)
{
	u64 addr = (u64)luaL_checkinteger(L, 2);
	lua_Integer count = luaL_checkinteger(L, 3);
	luaL_argcheck(L, count > 0 && count <= UINT32_MAX, 3, "page count");
	struct lop o;
	lop_begin_svc(L, &o, 1, "vm_unmap_ram");
	vmlab_vm_unmap_ram(o.m, o.cpu, addr, (u32)count);
	lop_end(&o);
	return 0;
}

static int l_vm_unmap_aliases(lua_State *L)
{
	struct lop o;
	lop_begin_svc(L, &o, 1, "vm_unmap_aliases");
	lop_allow_unlock(&o);
	vmlab_vm_unmap_aliases(o.m, o.cpu);
	lop_end(&o);
	return 0;
}

static int l_purge_vmap_area_lazy(lua_State *L)
{
	struct lop o;
	lop_begin_svc(L, &o, 1, "purge_vmap_area_lazy");
	lop_allow_unlock(&o);
	bool purged = vmlab_purge_vmap_area_lazy(o.m, o.cpu);
	lop_end(&o);
	lua_pushboolean(L, purged);
	return 1;
}

static int l_set_vm_flush_reset_perms(lua_State *L)
{
	u64 addr = (u64)luaL_checkinteger(L, 2);
	struct lop o;
	lop_begin_svc(L, &o, 1, "set_vm_flush_reset_perms");
	vmlab_set_vm_flush_reset_perms(o.m, addr);
	lop_end(&o);
	return 0;
}

/* set_in_interrupt(bool): this CPU's in_interrupt(). */
static int l_set_in_interrupt(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	luaL_checktype(L, 2, LUA_TBOOLEAN);
	vmlab_set_in_interrupt(sm->m, cpu, lua_toboolean(L, 2));
	return 0;
}

static void setint(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

/* find_vm_area(addr) -> {addr=, size=, nr_pages=, flags=, caller=} | nil */
static int l_find_vm_area(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	const struct vmlab_vm_struct *vm =
		vmlab_find_vm_area(sm->m, (u64)luaL_checkinteger(L, 2));
	if (!vm) {
		lua_pushnil(L);
		return 1;
	}
	assert(vm->nr_pages == 0 || vm->pages);
	lua_createtable(L, 0, 8);
	setint(L, "addr", vm->addr);
	setint(L, "size", vm->size);
	setint(L, "requested_size", vm->requested_size);
	setint(L, "flags", vm->flags);
	setint(L, "nr_pages", vm->nr_pages);
	setint(L, "page_order", vm->page_order);
	lua_pushstring(L, vm->caller ? vm->caller : "");
	lua_setfield(L, -2, "caller");
	lua_createtable(L, (int)vm->nr_pages, 0);
	for (u32 i = 0; i < vm->nr_pages; i++) {
		lua_pushinteger(L, (lua_Integer)vm->pages[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "pages");
	return 1;
}

static int l_vmalloc_stats(lua_State *L)
{
	int cpu;
	struct vmlab_vmalloc_stats st;
	vmlab_vmalloc_stats(lsim_handle(L, 1, &cpu)->m, &st);
	lua_createtable(L, 0, 11);
	setint(L, "nr_busy", st.nr_busy);
	setint(L, "nr_lazy", st.nr_lazy);
	setint(L, "lazy_pages", st.lazy_pages);
	setint(L, "lazy_max_pages", st.lazy_max_pages);
	setint(L, "nr_purges", st.nr_purges);
	setint(L, "nr_purged_areas", st.nr_purged_areas);
	setint(L, "nr_drain_runs", st.nr_drain_runs);
	setint(L, "nr_vmap_blocks", st.nr_vmap_blocks);
	setint(L, "vmalloc_pages", st.vmalloc_pages);
	setint(L, "free_bytes", st.free_bytes);
	setint(L, "nr_deferred", st.nr_deferred);
	return 1;
}

static int l_vmallocinfo(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return luaL_error(L, "vmallocinfo: out of memory");
	vmlab_vmallocinfo(sm->m, f);
	fclose(f);
	lua_pushlstring(L, text, len);
	free(text);
	return 1;
}

static const luaL_Reg vmalloc_methods[] = {
	{"vmalloc", l_vmalloc},
	{"vzalloc", l_vzalloc},
	{"vmalloc_huge", l_vmalloc_huge},
	{"vmalloc_node_range", l_vmalloc_node_range},
	{"vfree", l_vfree},
	{"vfree_atomic", l_vfree_atomic},
	{"vmap", l_vmap},
	{"vunmap", l_vunmap},
	{"vm_map_ram", l_vm_map_ram},
	{"vm_unmap_ram", l_vm_unmap_ram},
	{"vm_unmap_aliases", l_vm_unmap_aliases},
	{"purge_vmap_area_lazy", l_purge_vmap_area_lazy},
	{"set_vm_flush_reset_perms", l_set_vm_flush_reset_perms},
	{"set_in_interrupt", l_set_in_interrupt},
	{"find_vm_area", l_find_vm_area},
	{"vmalloc_stats", l_vmalloc_stats},
	{"vmallocinfo", l_vmallocinfo},
	{NULL, NULL},
};

void lsim_register_vmalloc(lua_State *L)
{
	luaL_setfuncs(L, vmalloc_methods, 0);
}
