/* SPDX-License-Identifier: MIT */
/*
 * Lua binding of files (include/vmlab/user.h "files and swap"): regular
 * files and memfds as handles that mm:mmap{file = f, offset = n} maps.
 *
 *   local f = m:open("/data", "rdwr|creat")    -- nil, "ENOENT"
 *   f:pwrite(string.rep("x", 4096), 0); f:truncate(8192)
 *   local a = mm:mmap{len = 8192, prot = "r", flags = {"shared"}, file = f}
 *   f:punch_hole(0, 4096); f:pread(16, 0); f:size(); f:close()
 *   local mf = m:memfd("buf", "allow_sealing"); mf:add_seals("write")
 *
 * Lifetime: a handle holds one reference of the C file (a mapping holds
 * its own); f:close(), a <close> variable or the collector drops it.
 * Files the machine still has when it is destroyed go with it (the user
 * service frees them), so a handle of a destroyed machine drops nothing
 * and raises on use.  Failures of the file calls are errno-style (nil,
 * "EBADF"), as the syscalls'.
 */
#include "sim/lsim.h"
#include "vmlab/user.h"

#define MT_FILE "vmlab.file"
#define MAX_IO (1u << 20) /* bytes per pread/pwrite */

struct file_ud {
	struct sim_machine *sm; /* outlives the Lua state (runner.c) */
	struct vmlab_file *f;   /* NULL once closed */
};

static int push_err(lua_State *L, s64 err)
{
	assert(err < 0);
	lua_pushnil(L);
	lua_pushstring(L, lsim_user_errname((int)err));
	return 2;
}

static int push_int(lua_State *L, s64 v)
{
	if (v < 0)
		return push_err(L, v);
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

static int push_status(lua_State *L, int err)
{
	if (err)
		return push_err(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

static struct file_ud *check_fud(lua_State *L, int idx)
{
	struct file_ud *ud = luaL_checkudata(L, idx, MT_FILE);
	if (!ud->f)
		luaL_error(L, "file: closed");
	if (ud->sm->destroyed)
		luaL_error(L, "file: its machine is destroyed");
	assert(ud->sm->m);
	return ud;
}

struct vmlab_file *lsim_check_file(lua_State *L, int idx,
				   struct sim_machine *sm)
{
	struct file_ud *ud = check_fud(L, idx);
	if (ud->sm != sm)
		luaL_argerror(L, idx, "a file of another machine");
	return ud->f;
}

/* Begin a file call as an operation of the running program's CPU (CPU 0
 * outside m:run): truncation and hole punching unmap pages and flush. */
static struct vmlab_file *file_begin(lua_State *L, struct lop *o,
				     const char *name)
{
	struct file_ud *ud = check_fud(L, 1);
	int cpu = ud->sm->sched ? vmlab_sched_current_cpu(ud->sm->m) : 0;
	lsim_push_cpu(L, ud->sm, cpu < 0 ? 0 : cpu);
	lop_begin_svc(L, o, lua_gettop(L), name);
	lua_pop(L, 1);
	return ud->f;
}

static void push_file(lua_State *L, struct sim_machine *sm,
		      struct vmlab_file *f)
{
	struct file_ud *ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	*ud = (struct file_ud){.sm = sm, .f = f};
	luaL_setmetatable(L, MT_FILE);
}

static const char *const open_names[] = {"rdonly", "wronly", "rdwr",
					 "creat", "excl", "trunc", NULL};
static const u64 open_values[] = {VMLAB_O_RDONLY, VMLAB_O_WRONLY,
				  VMLAB_O_RDWR, VMLAB_O_CREAT, VMLAB_O_EXCL,
				  VMLAB_O_TRUNC};

/* m:open(path [, "rdwr|creat|excl|trunc"]) -> file | nil, err */
static int l_open(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	const char *path = luaL_checkstring(L, 2);
	int flags = (int)lsim_flags(L, 3, open_names, open_values, "open flag");
	struct vmlab_file *f;
	int err = vmlab_file_open(sm->m, path, flags, &f);
	if (err)
		return push_err(L, err);
	push_file(L, sm, f);
	return 1;
}

static const char *const mfd_names[] = {"cloexec", "allow_sealing",
					"hugetlb", "noexec_seal", "exec", NULL};
static const u64 mfd_values[] = {VMLAB_MFD_CLOEXEC, VMLAB_MFD_ALLOW_SEALING,
				 VMLAB_MFD_HUGETLB, VMLAB_MFD_NOEXEC_SEAL,
				 VMLAB_MFD_EXEC};

/* m:memfd(name [, "allow_sealing|noexec_seal|..."]) -> file | nil, err */
static int l_memfd(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	const char *name = luaL_optstring(L, 2, "");
	unsigned int flags = (unsigned int)lsim_flags(L, 3, mfd_names,
						      mfd_values, "memfd flag");
	struct vmlab_file *f;
	int err = vmlab_memfd_create_flags(sm->m, name, flags, &f);
	if (err)
		return push_err(L, err);
	push_file(L, sm, f);
	return 1;
}

/* m:unlink(path) -> true | nil, err */
static int l_unlink(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	return push_status(L, vmlab_file_unlink(sm->m, luaL_checkstring(L, 2)));
}

static u64 check_off(lua_State *L, int idx)
{
	lua_Integer v = luaL_checkinteger(L, idx);
	luaL_argcheck(L, v >= 0, idx, "a non-negative offset");
	return (u64)v;
}

/* f:pwrite(data, off) -> bytes | nil, err */
static int l_pwrite(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);
	u64 off = check_off(L, 3);
	luaL_argcheck(L, len <= MAX_IO, 2, "at most 2^20 bytes");
	struct lop o;
	struct vmlab_file *f = file_begin(L, &o, "pwrite");
	s64 r = vmlab_file_pwrite(f, s, len, off);
	lop_end(&o);
	return push_int(L, r);
}

/* f:pread(len, off) -> bytes (shorter at EOF) | nil, err */
static int l_pread(lua_State *L)
{
	lua_Integer len = luaL_checkinteger(L, 2);
	u64 off = check_off(L, 3);
	luaL_argcheck(L, len >= 0 && len <= MAX_IO, 2, "0..2^20 bytes");
	void *buf = lua_newuserdatauv(L, (size_t)len + 1, 0);
	struct lop o;
	struct vmlab_file *f = file_begin(L, &o, "pread");
	s64 r = vmlab_file_pread(f, buf, (u64)len, off);
	lop_end(&o);
	if (r < 0)
		return push_err(L, r);
	assert(r <= len);
	lua_pushlstring(L, buf, (size_t)r);
	return 1;
}

/* f:truncate(size) -> true | nil, err */
static int l_truncate(lua_State *L)
{
	u64 size = check_off(L, 2);
	struct lop o;
	struct vmlab_file *f = file_begin(L, &o, "ftruncate");
	int err = vmlab_ftruncate(f, size);
	lop_end(&o);
	return push_status(L, err);
}

/* f:punch_hole(off, len) -> true | nil, err */
static int l_punch_hole(lua_State *L)
{
	u64 off = check_off(L, 2), len = check_off(L, 3);
	struct lop o;
	struct vmlab_file *f = file_begin(L, &o, "fallocate");
	int err = vmlab_file_punch_hole(f, off, len);
	lop_end(&o);
	return push_status(L, err);
}

static const char *const seal_names[] = {"seal", "shrink", "grow", "write",
					 "future_write", "exec", NULL};
static const u64 seal_values[] = {VMLAB_F_SEAL_SEAL, VMLAB_F_SEAL_SHRINK,
				  VMLAB_F_SEAL_GROW, VMLAB_F_SEAL_WRITE,
				  VMLAB_F_SEAL_FUTURE_WRITE, VMLAB_F_SEAL_EXEC};

/* f:add_seals("write|grow|...") -> true | nil, err */
static int l_add_seals(lua_State *L)
{
	struct file_ud *ud = check_fud(L, 1);
	unsigned int seals = (unsigned int)lsim_flags(L, 2, seal_names,
						      seal_values, "seal");
	return push_status(L, vmlab_file_add_seals(ud->f, seals));
}

/* f:seals() -> F_SEAL_* bits | nil, "EINVAL" (a regular file) */
static int l_seals(lua_State *L)
{
	return push_int(L, vmlab_file_get_seals(check_fud(L, 1)->f));
}

static int l_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)vmlab_file_size(check_fud(L, 1)->f));
	return 1;
}

/* f:cached() -> pages in the page cache, pages in swap */
static int l_cached(lua_State *L)
{
	struct vmlab_file *f = check_fud(L, 1)->f;
	lua_pushinteger(L, (lua_Integer)vmlab_file_cached_pages(f));
	lua_pushinteger(L, (lua_Integer)vmlab_file_swapped_pages(f));
	return 2;
}

static int l_id(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)vmlab_file_id(check_fud(L, 1)->f));
	return 1;
}

/* f:mode() -> "r", "w", "rw" or "" (the open file's FMODE_*) */
static int l_mode(lua_State *L)
{
	int m = vmlab_file_mode(check_fud(L, 1)->f);
	assert(m >= 0 && m <= 3);
	static const char *const s[] = {"", "r", "w", "rw"};
	lua_pushstring(L, s[m]);
	return 1;
}

/* f:close() and __close / __gc: drop the handle's reference. */
static int l_close(lua_State *L)
{
	struct file_ud *ud = luaL_checkudata(L, 1, MT_FILE);
	if (ud->f && !ud->sm->destroyed)
		vmlab_file_put(ud->f);
	ud->f = NULL;
	return 0;
}

static int l_tostring(lua_State *L)
{
	struct file_ud *ud = luaL_checkudata(L, 1, MT_FILE);
	if (!ud->f || ud->sm->destroyed)
		lua_pushliteral(L, "vmlab file (closed)");
	else
		lua_pushfstring(L, "vmlab file %d", (int)vmlab_file_id(ud->f));
	return 1;
}

void lsim_register_file(lua_State *L)
{
	static const luaL_Reg machine_methods[] = {
		{"open", l_open},
		{"memfd", l_memfd},
		{"unlink", l_unlink},
		{NULL, NULL},
	};
	luaL_setfuncs(L, machine_methods, 0);
	static const luaL_Reg methods[] = {
		{"pwrite", l_pwrite},	  {"pread", l_pread},
		{"truncate", l_truncate}, {"punch_hole", l_punch_hole},
		{"add_seals", l_add_seals}, {"seals", l_seals},
		{"size", l_size},	  {"cached", l_cached},
		{"id", l_id},		  {"mode", l_mode},
		{"close", l_close},	  {NULL, NULL},
	};
	luaL_newmetatable(L, MT_FILE);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_close);
	lua_setfield(L, -2, "__close");
	lua_pushcfunction(L, l_close);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, l_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "vmlab file");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
}
