/* SPDX-License-Identifier: MIT */
/*
 * Lua binding of userfaultfd (include/vmlab/userfaultfd.h):
 *
 *   local u = mm:userfaultfd("user_mode_only|nonblock")   -- nil, "EPERM"
 *   u:api("thread_id")                        -- features, ioctls
 *   u:register(a, len)                        -- ioctls mask
 *   u:handler(function(msg) u:copy(msg.page, data) end)
 *   u:read(), u:copy(dst, s [, "dontwake"]), u:zeropage(a, len [, mode]),
 *   u:wake(a, len), u:unregister(a, len), u:stats(), u:close()
 *   m:unprivileged_userfaultfd(true)
 *
 * The handler runs on a Lua thread of its own: from the fault outside
 * m:run, on the kworker inside it (interleaved with the sleeping task).
 * It may call the u: methods only (the operation it interrupts, or the
 * kworker, holds the service lock: they skip it).  An error in it fails
 * the run, as an error in a CPU program does.  Handles name a context
 * the machine owns; a closed one raises, and the machine frees the rest.
 */
#include <stdlib.h>

#include "sim/lsim.h"
#include "vmlab/userfaultfd.h"

#define MT_UFFD "vmlab.uffd"

struct uffd_ud {
	struct sim_machine *sm;
	struct vmlab_uffd *u; /* NULL once closed */
	int mm_ref;           /* the mm handle (operations begin on it) */
	int fn_ref, thread_ref, self_ref; /* the handler, its thread, us */
	lua_State *T;
	int in_handler;
};

static struct uffd_ud *check_uffd(lua_State *L, int idx)
{
	struct uffd_ud *ud = luaL_checkudata(L, idx, MT_UFFD);
	if (!ud->u || ud->sm->destroyed)
		luaL_error(L, "userfaultfd: the descriptor is closed");
	return ud;
}

static int push_errno(lua_State *L, int err)
{
	assert(err < 0);
	lua_pushnil(L);
	lua_pushstring(L, lsim_user_errname(err));
	return 2;
}

/* An operation on the context: on the mm's CPU (or the running
 * program's), under the service lock, unless it runs from the handler,
 * whose caller holds that lock already. */
struct uop {
	struct lop o;
	bool locked;
};

static void uop_begin(lua_State *L, struct uffd_ud *ud, struct uop *op,
		      const char *name)
{
	op->locked = !ud->in_handler;
	if (!op->locked)
		return;
	if (ud->mm_ref == LUA_NOREF) {
		/* A fork event's context: its mm got a handle since. */
		if (!lsim_push_user_mm(L, ud->sm, vmlab_uffd_mm(ud->u)))
			luaL_error(L, "userfaultfd: the context's mm has no "
				      "handle (before its fork returned)");
		ud->mm_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, ud->mm_ref);
	lsim_user_mm_begin(L, &op->o, lua_gettop(L), name);
	lua_pop(L, 1);
}

static void uop_end(struct uop *op)
{
	if (op->locked)
		lop_end(&op->o);
}

static struct uffd_ud *new_uffd_ud(lua_State *L, struct sim_machine *sm)
{
	struct uffd_ud *ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	*ud = (struct uffd_ud){.sm = sm, .mm_ref = LUA_NOREF,
			       .fn_ref = LUA_NOREF, .thread_ref = LUA_NOREF,
			       .self_ref = LUA_NOREF};
	luaL_setmetatable(L, MT_UFFD);
	return ud;
}

/* mm:userfaultfd([flags]) -> u | nil, errno */
static int l_userfaultfd(lua_State *L)
{
	struct sim_machine *sm;
	lsim_check_user_mm(L, 1, &sm);
	static const char *const names[] = {"user_mode_only", "nonblock",
					    "cloexec", NULL};
	static const u64 values[] = {VMLAB_UFFD_USER_MODE_ONLY,
				     VMLAB_O_NONBLOCK, VMLAB_O_CLOEXEC};
	int flags = lua_isnoneornil(L, 2) ? 0 :
		(int)lsim_flags(L, 2, names, values, "userfaultfd flag");
	struct uffd_ud *ud = new_uffd_ud(L, sm);
	lua_pushvalue(L, 1);
	ud->mm_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "userfaultfd");
	int err = vmlab_userfaultfd(mm, flags, &ud->u);
	lop_end(&o);
	if (err)
		return push_errno(L, err);
	return 1;
}

/* u:api([features]) -> features, ioctls | nil, errno */
static int l_api(lua_State *L)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	static const char *const names[] = {"sigbus", "thread_id",
					    "exact_address", "missing_shmem",
					    "event_fork", "move", NULL};
	/* (move: Linux has it, the model does not: EINVAL) */
	static const u64 values[] = {VMLAB_UFFD_FEATURE_SIGBUS,
				     VMLAB_UFFD_FEATURE_THREAD_ID,
				     VMLAB_UFFD_FEATURE_EXACT_ADDRESS,
				     VMLAB_UFFD_FEATURE_MISSING_SHMEM,
				     VMLAB_UFFD_FEATURE_EVENT_FORK,
				     VMLAB_UFFD_FEATURE_MOVE};
	u64 f = lua_isnoneornil(L, 2) ? 0 :
		lsim_flags(L, 2, names, values, "userfaultfd feature");
	u64 api = (u64)luaL_optinteger(L, 3, (lua_Integer)VMLAB_UFFD_API), io = 0;
	int err = vmlab_uffdio_api(ud->u, api, &f, &io);
	if (err)
		return push_errno(L, err);
	lua_pushinteger(L, (lua_Integer)f);
	lua_pushinteger(L, (lua_Integer)io);
	return 2;
}

/* u:register(a, len [, mode]) -> ioctls | nil, errno */
static int l_register(lua_State *L)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	u64 a = (u64)luaL_checkinteger(L, 2), len = (u64)luaL_checkinteger(L, 3);
	static const char *const names[] = {"missing", "wp", "minor", NULL};
	static const u64 values[] = {VMLAB_UFFDIO_REGISTER_MODE_MISSING,
				     VMLAB_UFFDIO_REGISTER_MODE_WP,
				     VMLAB_UFFDIO_REGISTER_MODE_MINOR};
	u64 mode = lua_isnoneornil(L, 4) ? VMLAB_UFFDIO_REGISTER_MODE_MISSING :
		lsim_flags(L, 4, names, values, "register mode");
	struct uop op;
	uop_begin(L, ud, &op, "uffdio_register");
	u64 io = 0;
	int err = vmlab_uffdio_register(ud->u, a, len, mode, &io);
	uop_end(&op);
	if (err)
		return push_errno(L, err);
	lua_pushinteger(L, (lua_Integer)io);
	return 1;
}

/* u:unregister(a, len) / u:wake(a, len) -> true | nil, errno */
static int range_op(lua_State *L, bool wake)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	u64 a = (u64)luaL_checkinteger(L, 2), len = (u64)luaL_checkinteger(L, 3);
	struct uop op;
	uop_begin(L, ud, &op, wake ? "uffdio_wake" : "uffdio_unregister");
	int err = wake ? vmlab_uffdio_wake(ud->u, a, len)
		       : vmlab_uffdio_unregister(ud->u, a, len);
	uop_end(&op);
	if (err)
		return push_errno(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

static int l_unregister(lua_State *L)
{
	return range_op(L, false);
}

static int l_wake(lua_State *L)
{
	return range_op(L, true);
}

static u64 fill_mode(lua_State *L, int idx)
{
	static const char *const names[] = {"dontwake", "wp", NULL};
	static const u64 values[] = {VMLAB_UFFDIO_COPY_MODE_DONTWAKE,
				     VMLAB_UFFDIO_COPY_MODE_WP};
	return lua_isnoneornil(L, idx) ? 0 :
		lsim_flags(L, idx, names, values, "uffdio mode");
}

/* u:copy(dst, bytes [, mode]) / u:zeropage(a, len [, mode]) -> true |
 * nil, errno, the ioctl's count field */
static int fill_op(lua_State *L, bool copy)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	u64 a = (u64)luaL_checkinteger(L, 2), len;
	const char *src = NULL;
	if (copy) {
		size_t n;
		src = luaL_checklstring(L, 3, &n);
		len = n;
	} else {
		len = (u64)luaL_checkinteger(L, 3);
	}
	u64 mode = fill_mode(L, 4);
	struct uop op;
	uop_begin(L, ud, &op, copy ? "uffdio_copy" : "uffdio_zeropage");
	s64 done = 0;
	int err = copy ? vmlab_uffdio_copy(ud->u, a, src, len, mode, &done)
		       : vmlab_uffdio_zeropage(ud->u, a, len, mode, &done);
	uop_end(&op);
	if (err) {
		push_errno(L, err);
		lua_pushinteger(L, (lua_Integer)done);
		return 3;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_copy(lua_State *L)
{
	return fill_op(L, true);
}

static int l_zeropage(lua_State *L)
{
	return fill_op(L, false);
}

/* A message: {event = "pagefault", address, page, write, flags, ptid}
 * or {event = "fork", uffd = the child's context}. */
static void push_msg(lua_State *L, struct sim_machine *sm,
		     const struct vmlab_uffd_msg *msg)
{
	if (msg->event == VMLAB_UFFD_EVENT_FORK) {
		lua_createtable(L, 0, 2);
		lua_pushliteral(L, "fork");
		lua_setfield(L, -2, "event");
		new_uffd_ud(L, sm)->u = msg->ufd;
		lua_setfield(L, -2, "uffd");
		return;
	}
	lua_createtable(L, 0, 6);
	lua_pushliteral(L, "pagefault");
	lua_setfield(L, -2, "event");
	lua_pushinteger(L, (lua_Integer)msg->address);
	lua_setfield(L, -2, "address");
	lua_pushinteger(L, (lua_Integer)(msg->address & VMLAB_PAGE_MASK));
	lua_setfield(L, -2, "page");
	lua_pushboolean(L, msg->flags & VMLAB_UFFD_PAGEFAULT_FLAG_WRITE);
	lua_setfield(L, -2, "write");
	lua_pushinteger(L, (lua_Integer)msg->flags);
	lua_setfield(L, -2, "flags");
	lua_pushinteger(L, (lua_Integer)msg->ptid);
	lua_setfield(L, -2, "ptid");
}

/* u:read() -> message | nil, errno */
static int l_read(lua_State *L)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	struct uop op;
	uop_begin(L, ud, &op, "userfaultfd_read");
	struct vmlab_uffd_msg msg;
	int err = vmlab_uffd_read(ud->u, &msg);
	uop_end(&op);
	if (err)
		return push_errno(L, err);
	push_msg(L, ud->sm, &msg);
	return 1;
}

/* The handler's protected body: the message table, then the function. */
static int handler_body(lua_State *T)
{
	const struct vmlab_uffd_msg *msg = lua_touserdata(T, 1);
	struct uffd_ud *ud = lua_touserdata(T, 2);
	lua_rawgeti(T, LUA_REGISTRYINDEX, ud->fn_ref);
	push_msg(T, ud->sm, msg);
	lua_call(T, 1, 0);
	return 0;
}

static void lua_handler(struct vmlab_uffd *u, const struct vmlab_uffd_msg *msg,
			void *arg)
{
	struct uffd_ud *ud = arg;
	lua_State *T = ud->T;
	(void)u; /* read by the assertion only */
	assert(ud->u == u && T);
	lua_settop(T, 0);
	lua_pushcfunction(T, lsim_msgh);
	lua_pushcfunction(T, handler_body);
	lua_pushlightuserdata(T, (void *)msg);
	lua_pushlightuserdata(T, ud);
	ud->in_handler++;
	int st = lua_pcall(T, 2, 0, 1);
	ud->in_handler--;
	if (st != LUA_OK) {
		struct sim *sim = ud->sm->sim;
		const char *m = lua_tostring(T, -1);
		if (!sim->task_error) {
			struct sim_buf b = {0};
			buf_printf(&b, "%s (in a userfaultfd handler)",
				   m ? m : "error");
			sim->task_error = b.s;
		}
		if (ud->sm->sched)
			vmlab_sched_abort(ud->sm->m);
	}
	lua_settop(T, 0);
}

static void drop_handler(lua_State *L, struct uffd_ud *ud)
{
	luaL_unref(L, LUA_REGISTRYINDEX, ud->fn_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, ud->thread_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, ud->self_ref);
	ud->fn_ref = ud->thread_ref = ud->self_ref = LUA_NOREF;
	ud->T = NULL;
}

/* u:handler(fn | nil) -> true */
static int l_handler(lua_State *L)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	if (ud->in_handler)
		return luaL_error(L, "u:handler: not from inside the handler");
	if (!lua_isnil(L, 2))
		luaL_checktype(L, 2, LUA_TFUNCTION);
	vmlab_uffd_set_handler(ud->u, NULL, NULL);
	drop_handler(L, ud);
	if (lua_isnil(L, 2)) {
		lua_pushboolean(L, 1);
		return 1;
	}
	lua_pushvalue(L, 2);
	ud->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	ud->T = lua_newthread(L);
	ud->thread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, 1); /* kept while a handler may run */
	ud->self_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	int err = vmlab_uffd_set_handler(ud->u, lua_handler, ud);
	assert(err == 0);
	(void)err;
	lua_pushboolean(L, 1);
	return 1;
}

/* u:stats() -> {faults, pending, waiting, copies, zeropages, wakes} */
static int l_stats(lua_State *L)
{
	struct uffd_ud *ud = check_uffd(L, 1);
	struct vmlab_uffd_stats st;
	vmlab_uffd_stats(ud->u, &st);
	lua_createtable(L, 0, 6);
	const struct {
		const char *k;
		u64 v;
	} f[] = {{"faults", st.faults}, {"pending", st.pending},
		 {"waiting", st.waiting}, {"copies", st.copies},
		 {"zeropages", st.zeropages}, {"wakes", st.wakes}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		lua_pushinteger(L, (lua_Integer)f[i].v);
		lua_setfield(L, -2, f[i].k);
	}
	return 1;
}

/* u:close(): release (unregister everything, wake every sleeper) */
static int l_uclose(lua_State *L)
{
	struct uffd_ud *ud = luaL_checkudata(L, 1, MT_UFFD);
	if (!ud->u || ud->sm->destroyed)
		return 0;
	if (ud->in_handler)
		return luaL_error(L, "u:close: not from inside the handler");
	struct uop op;
	uop_begin(L, ud, &op, "userfaultfd_release");
	vmlab_uffd_close(ud->u);
	uop_end(&op);
	ud->u = NULL;
	drop_handler(L, ud);
	luaL_unref(L, LUA_REGISTRYINDEX, ud->mm_ref);
	ud->mm_ref = LUA_NOREF;
	return 0;
}

/* m:unprivileged_userfaultfd(bool) -> true */
static int l_unpriv(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	int err = vmlab_user_set_unprivileged_userfaultfd(sm->m,
							  lua_toboolean(L, 2));
	if (err)
		return push_errno(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

void lsim_register_uffd(lua_State *L)
{
	static const luaL_Reg uffd_machine[] = {
		{"unprivileged_userfaultfd", l_unpriv},
		{NULL, NULL},
	};
	luaL_setfuncs(L, uffd_machine, 0);
	static const luaL_Reg uffd_mm_methods[] = {
		{"userfaultfd", l_userfaultfd},
		{NULL, NULL},
	};
	luaL_getmetatable(L, MT_USER_MM);
	lua_getfield(L, -1, "__index");
	luaL_setfuncs(L, uffd_mm_methods, 0);
	lua_pop(L, 2);
	static const luaL_Reg uffd_methods[] = {
		{"api", l_api},
		{"register", l_register},
		{"unregister", l_unregister},
		{"wake", l_wake},
		{"copy", l_copy},
		{"zeropage", l_zeropage},
		{"read", l_read},
		{"handler", l_handler},
		{"stats", l_stats},
		{"close", l_uclose},
		{NULL, NULL},
	};
	luaL_newmetatable(L, MT_UFFD);
	lua_newtable(L);
	luaL_setfuncs(L, uffd_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
