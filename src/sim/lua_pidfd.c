/* SPDX-License-Identifier: MIT */
/*
 * Lua methods of user mms for pidfds and process_madvise(2)
 * (include/vmlab/user.h): mm:pidfd_open(pid [, "nonblock|thread"]),
 * mm:close_fd(fd), mm:set_caps("sys_nice"), mm:process_madvise({{a, len},
 * ...}, advice [, pidfd]); signals and locking: mm:kill(),
 * m:set_guard_lock("read" | "write").
 */
#include <stdlib.h>

#include "sim/lsim.h"
#include "vmlab/user.h"


static int push_result(lua_State *L, s64 v)
{
	if (v < 0) {
		lua_pushnil(L);
		lua_pushstring(L, lsim_user_errname((int)v));
		return 2;
	}
	lua_pushinteger(L, (lua_Integer)v);
	return 1;
}

/* mm:pidfd_open(pid [, "nonblock|thread"]) -> fd | nil, err */
static int l_pidfd_open(lua_State *L)
{
	struct sim_machine *sm;
	lsim_check_user_mm(L, 1, &sm);
	lua_Integer pid = luaL_checkinteger(L, 2);
	static const char *const names[] = {"nonblock", "thread", NULL};
	static const u64 values[] = {VMLAB_PIDFD_NONBLOCK, VMLAB_PIDFD_THREAD};
	unsigned int flags = lua_isnoneornil(L, 3) ? 0 :
		(unsigned int)lsim_flags(L, 3, names, values, "pidfd flag");
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "pidfd_open");
	int fd = vmlab_pidfd_open(mm, (s64)pid, flags);
	lop_end(&o);
	return push_result(L, fd);
}

/* mm:close_fd(fd) -> true | nil, err */
static int l_close_fd(lua_State *L)
{
	struct sim_machine *sm;
	lsim_check_user_mm(L, 1, &sm);
	int fd = (int)luaL_checkinteger(L, 2);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "close");
	int err = vmlab_close(mm, fd);
	lop_end(&o);
	if (err)
		return push_result(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

/* mm:set_caps("sys_nice|sys_ptrace") (nil: none) -> true | nil, err */
static int l_set_caps(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	static const char *const names[] = {"sys_nice", "sys_ptrace", NULL};
	static const u64 values[] = {1ULL << VMLAB_CAP_SYS_NICE,
				     1ULL << VMLAB_CAP_SYS_PTRACE};
	u64 caps = lsim_flags(L, 2, names, values, "capability");
	int err = vmlab_user_set_caps(mm, caps);
	if (err)
		return push_result(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

/* mm:process_madvise({{addr, len}, ...}, advice [, pidfd]) -> bytes |
 * nil, err; without a pidfd the mm advises itself (PIDFD_SELF). */
static int l_process_madvise(lua_State *L)
{
	struct sim_machine *sm;
	lsim_check_user_mm(L, 1, &sm);
	luaL_checktype(L, 2, LUA_TTABLE);
	int adv = lsim_user_advice(L, 3);
	int pidfd = (int)luaL_optinteger(L, 4, VMLAB_PIDFD_SELF);
	lua_Integer n = luaL_len(L, 2);
	luaL_argcheck(L, n >= 0 && n <= 4096, 2, "at most 4096 iovecs");
	struct vmlab_iovec *iov = lua_newuserdatauv(
		L, (size_t)(n ? n : 1) * sizeof(*iov), 0);
	for (lua_Integer i = 0; i < n; i++) {
		lua_geti(L, 2, i + 1);
		luaL_argcheck(L, lua_istable(L, -1), 2, "{addr, len} pairs");
		lua_geti(L, -1, 1);
		lua_geti(L, -2, 2);
		iov[i].iov_base = (u64)luaL_checkinteger(L, -2);
		iov[i].iov_len = (u64)luaL_checkinteger(L, -1);
		lua_pop(L, 3);
	}
	struct lop o;
	struct vmlab_user_mm *mm =
		lsim_user_mm_begin(L, &o, 1, "process_madvise");
	s64 r = vmlab_process_madvise_pidfd(mm, pidfd, iov, (u64)n, adv, 0);
	lop_end(&o);
	return push_result(L, r);
}

/* mm:kill() -> true: SIGKILL for the mm's task (fatal_signal_pending) */
static int l_kill(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	int err = vmlab_user_kill(mm);
	assert(err == 0);
	(void)err;
	lua_pushboolean(L, 1);
	return 1;
}

/* m:set_guard_lock("read" | "write") -> true: the mmap_lock mode of
 * MADV_GUARD_INSTALL (6.18: read) */
static int l_set_guard_lock(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	static const char *const modes[] = {"read", "write", NULL};
	int mode = luaL_checkoption(L, 2, NULL, modes);
	int err = vmlab_user_set_guard_lock(sm->m, mode == 1);
	if (err)
		return push_result(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

void lsim_register_pidfd(lua_State *L)
{
	static const luaL_Reg machine_methods[] = {
		{"set_guard_lock", l_set_guard_lock},
		{NULL, NULL},
	};
	luaL_setfuncs(L, machine_methods, 0);
	static const luaL_Reg methods[] = {
		{"kill", l_kill},
		{"pidfd_open", l_pidfd_open},
		{"close_fd", l_close_fd},
		{"set_caps", l_set_caps},
		{"process_madvise", l_process_madvise},
		{NULL, NULL},
	};
	luaL_getmetatable(L, MT_USER_MM);
	lua_getfield(L, -1, "__index");
	luaL_setfuncs(L, methods, 0);
	lua_pop(L, 2);
}
