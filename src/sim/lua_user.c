/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 5: user address spaces (include/vmlab/user.h).
 *
 *   local mm = m:user_mm()               -- or cpu:user_mm(); nil, "ENOMEM"
 *   local a = mm:mmap{len = 4 * vmlab.PAGE_SIZE, prot = "rw",
 *                     flags = {"private", "anonymous"}, addr = nil}
 *   mm:madvise(a, vmlab.PAGE_SIZE, "guard_install")
 *   local s, sig, addr = cpu:user_read(mm, a, 8)    -- nil, "SIGSEGV", a
 *   cpu:user_write(mm, a, "bytes")                   -- true | nil, "SIGBUS"
 *   local child = mm:fork()
 *   mm:pagemap(a).guard, mm:vma_count(), mm:maps(), mm:stats()
 *
 * Results are errno-style, as the C API's: a syscall that fails returns
 * nil plus the errno's name ("EINVAL", "ENOMEM", ...) instead of raising,
 * because failing syscalls are what scenarios about mmap/madvise look at
 * (vmalloc's allocators return nil the same way).  Bad Lua arguments
 * (wrong types, unknown flag names) raise at the scenario's file:line.
 * Successful calls return the address (mmap, mremap) or true.
 *
 * Which CPU a syscall runs on: inside m:run the calling program's CPU
 * (the mm is switched there first, as a thread of the mm running there
 * would), outside it the mm's current CPU (mm:switch(cpu), the creating
 * CPU at first).  Every operation starts under the machine's service
 * lock (lop_begin_svc, doc/sim.md) and may drop it: taking mmap_lock
 * does, so syscalls of one mm interleave where Linux lets them.
 *
 * Lifetime (doc/sim.md, "Adding a service binding", 4): the mms live in
 * the struct sim_machine, not in Lua; the userdata only names one by
 * index, so a collected or closed handle never frees an mm a suspended
 * program is inside.  mm:close() (or a <close> variable) destroys one
 * outside m:run; the rest are destroyed in creation order when the
 * machine is (lsim_user_finish()).
 */
#include <stdlib.h>

#include "sim/lsim.h"
#include "vmlab/user.h"

#define MAX_ACCESS (1u << 20) /* bytes per user_read/user_write */

struct sim_user {
	struct vmlab_user_mm **mms; /* creation order; NULL once closed */
	int nr, cap;
};

struct mm_ud {
	struct sim_machine *sm; /* outlives the Lua state (runner.c) */
	int idx;
};

/* ------------------------------------------------------------ helpers */

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, bool v)
{
	lua_pushboolean(L, v);
	lua_setfield(L, -2, k);
}

const char *lsim_user_errname(int err)
{
	switch (err < 0 ? -err : err) {
	case VMLAB_ESRCH: return "ESRCH";
	case VMLAB_EBADF: return "EBADF";
	case VMLAB_EMFILE: return "EMFILE";
	case VMLAB_EACCES: return "EACCES";
	case VMLAB_EFBIG: return "EFBIG";
	case VMLAB_EOVERFLOW: return "EOVERFLOW";
	case VMLAB_EOPNOTSUPP: return "EOPNOTSUPP";
	default: return vmlab_strerror(err);
	}
}

/* nil, "EINVAL": the errno-style failure of a syscall. */
static int push_err(lua_State *L, int err)
{
	assert(err != 0);
	lua_pushnil(L);
	lua_pushstring(L, lsim_user_errname(err));
	return 2;
}

static int push_status(lua_State *L, int err)
{
	if (err)
		return push_err(L, err);
	lua_pushboolean(L, 1);
	return 1;
}

static u64 check_u64(lua_State *L, int idx)
{
	return (u64)luaL_checkinteger(L, idx);
}

/* A protection: "rw", "r-x", "none", or PROT_* bits as an integer. */
static int user_prot(lua_State *L, int idx)
{
	if (lua_isinteger(L, idx))
		return (int)lua_tointeger(L, idx);
	const char *s = luaL_checkstring(L, idx);
	if (!strcmp(s, "none"))
		return VMLAB_PROT_NONE;
	int prot = 0;
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case 'r': prot |= VMLAB_PROT_READ; break;
		case 'w': prot |= VMLAB_PROT_WRITE; break;
		case 'x': prot |= VMLAB_PROT_EXEC; break;
		case '-': break;
		default:
			luaL_argerror(L, idx, lua_pushfstring(
				L, "unknown protection '%s' (\"rw\", \"rx\", "
				   "\"none\", ...)", s));
		}
	}
	return prot;
}

static bool name_value(const char *const *names, const int *values,
		       const char *s, int *out)
{
	for (int i = 0; names[i]; i++)
		if (!strcasecmp(names[i], s)) {
			*out = values[i];
			return true;
		}
	return false;
}

/* Flags as {"private", "anonymous"}, "private|anonymous" or an integer;
 * def when absent. */
static int user_flags(lua_State *L, int idx, const char *const *names,
		      const int *values, const char *what, int def)
{
	if (lua_isnoneornil(L, idx))
		return def;
	if (lua_isinteger(L, idx))
		return (int)lua_tointeger(L, idx);
	if (!lua_istable(L, idx)) {
		u64 v64[32];
		int n = 0;
		for (; names[n]; n++) {
			assert(n < 32);
			v64[n] = (u64)(u32)values[n];
		}
		return (int)lsim_flags(L, idx, names, v64, what);
	}
	int flags = 0;
	lua_Integer n = luaL_len(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, i);
		const char *s = lua_tostring(L, -1);
		int v = 0;
		if (lua_type(L, -1) != LUA_TSTRING || !name_value(names, values, s, &v))
			luaL_argerror(L, idx, lua_pushfstring(
				L, "unknown %s '%s'", what,
				s ? s : luaL_typename(L, -1)));
		flags |= v;
		lua_pop(L, 1);
	}
	return flags;
}

static const char *const map_names[] = {
	"shared", "private", "shared_validate", "fixed", "anonymous", "32bit",
	"growsdown", "denywrite", "executable", "locked", "noreserve",
	"populate", "nonblock", "stack", "hugetlb", "sync", "fixed_noreplace",
	"uninitialized", "droppable", "huge_2mb", "huge_1gb", NULL};
static const int map_values[] = {
	VMLAB_MAP_SHARED, VMLAB_MAP_PRIVATE, VMLAB_MAP_SHARED_VALIDATE,
	VMLAB_MAP_FIXED, VMLAB_MAP_ANONYMOUS, VMLAB_MAP_32BIT,
	VMLAB_MAP_GROWSDOWN, VMLAB_MAP_DENYWRITE, VMLAB_MAP_EXECUTABLE,
	VMLAB_MAP_LOCKED, VMLAB_MAP_NORESERVE, VMLAB_MAP_POPULATE,
	VMLAB_MAP_NONBLOCK, VMLAB_MAP_STACK, VMLAB_MAP_HUGETLB, VMLAB_MAP_SYNC,
	VMLAB_MAP_FIXED_NOREPLACE, VMLAB_MAP_UNINITIALIZED, VMLAB_MAP_DROPPABLE,
	VMLAB_MAP_HUGE_2MB, VMLAB_MAP_HUGE_1GB};

static const char *const mremap_names[] = {"maymove", "fixed", "dontunmap",
					   NULL};
static const int mremap_values[] = {VMLAB_MREMAP_MAYMOVE, VMLAB_MREMAP_FIXED,
				    VMLAB_MREMAP_DONTUNMAP};

static const char *const advice_names[] = {
	"normal", "random", "sequential", "willneed", "dontneed", "free",
	"remove", "dontfork", "dofork", "mergeable", "unmergeable", "hugepage",
	"nohugepage", "dontdump", "dodump", "wipeonfork", "keeponfork", "cold",
	"pageout", "populate_read", "populate_write", "dontneed_locked",
	"collapse", "hwpoison", "soft_offline", "guard_install",
	"guard_remove", NULL};
static const int advice_values[] = {
	VMLAB_MADV_NORMAL, VMLAB_MADV_RANDOM, VMLAB_MADV_SEQUENTIAL,
	VMLAB_MADV_WILLNEED, VMLAB_MADV_DONTNEED, VMLAB_MADV_FREE,
	VMLAB_MADV_REMOVE, VMLAB_MADV_DONTFORK, VMLAB_MADV_DOFORK,
	VMLAB_MADV_MERGEABLE, VMLAB_MADV_UNMERGEABLE, VMLAB_MADV_HUGEPAGE,
	VMLAB_MADV_NOHUGEPAGE, VMLAB_MADV_DONTDUMP, VMLAB_MADV_DODUMP,
	VMLAB_MADV_WIPEONFORK, VMLAB_MADV_KEEPONFORK, VMLAB_MADV_COLD,
	VMLAB_MADV_PAGEOUT, VMLAB_MADV_POPULATE_READ, VMLAB_MADV_POPULATE_WRITE,
	VMLAB_MADV_DONTNEED_LOCKED, VMLAB_MADV_COLLAPSE, VMLAB_MADV_HWPOISON,
	VMLAB_MADV_SOFT_OFFLINE, VMLAB_MADV_GUARD_INSTALL,
	VMLAB_MADV_GUARD_REMOVE};

int lsim_user_advice(lua_State *L, int idx)
{
	if (lua_isinteger(L, idx))
		return (int)lua_tointeger(L, idx);
	const char *s = luaL_checkstring(L, idx);
	int v = 0;
	if (!name_value(advice_names, advice_values, s, &v))
		luaL_argerror(L, idx, lua_pushfstring(
			L, "unknown advice '%s' (\"dontneed\", "
			   "\"guard_install\", ...)", s));
	return v;
}

/* ------------------------------------------------- the mm registry */

/* Room for one more mm in the machine's registry; false when out of
 * memory.  Never raises: called with a new mm in hand. */
static bool user_room(struct sim_machine *sm)
{
	if (!sm->user && !(sm->user = calloc(1, sizeof(*sm->user))))
		return false;
	struct sim_user *u = sm->user;
	if (u->nr == u->cap) {
		int cap = u->cap ? 2 * u->cap : 8;
		void *p = realloc(u->mms, (size_t)cap * sizeof(*u->mms));
		if (!p)
			return false;
		u->mms = p;
		u->cap = cap;
	}
	assert(u->nr < u->cap);
	return true;
}

/* A handle, not yet naming an mm (made before the operation, so that
 * nothing allocates from Lua once the mm exists). */
static struct mm_ud *new_ud(lua_State *L)
{
	struct mm_ud *ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	ud->sm = NULL;
	ud->idx = -1;
	return ud;
}

/* Record mm (after the operation: another program may have recorded
 * some meanwhile) and give the handle ud, on the stack top, its mm. */
static int record_mm(lua_State *L, struct mm_ud *ud, struct sim_machine *sm,
		     struct vmlab_user_mm *mm)
{
	assert(mm && lua_touserdata(L, -1) == ud);
	if (!user_room(sm)) {
		vmlab_user_mm_destroy(mm);
		return luaL_error(L, "user_mm: out of memory");
	}
	ud->sm = sm;
	ud->idx = sm->user->nr;
	sm->user->mms[sm->user->nr++] = mm;
	luaL_setmetatable(L, MT_USER_MM);
	return 1;
}

bool lsim_push_user_mm(lua_State *L, struct sim_machine *sm,
		       struct vmlab_user_mm *mm)
{
	for (int i = 0; sm->user && mm && i < sm->user->nr; i++)
		if (sm->user->mms[i] == mm) {
			struct mm_ud *ud = new_ud(L);
			ud->sm = sm;
			ud->idx = i;
			luaL_setmetatable(L, MT_USER_MM);
			return true;
		}
	return false;
}

static struct mm_ud *check_ud(lua_State *L, int idx)
{
	struct mm_ud *ud = luaL_checkudata(L, idx, MT_USER_MM);
	if (ud->sm->destroyed)
		luaL_error(L, "user mm: machine '%s' was destroyed",
			   ud->sm->label);
	return ud;
}

static struct vmlab_user_mm *check_mm(lua_State *L, int idx)
{
	struct mm_ud *ud = check_ud(L, idx);
	assert(ud->sm->user && ud->idx < ud->sm->user->nr);
	struct vmlab_user_mm *mm = ud->sm->user->mms[ud->idx];
	if (!mm)
		luaL_error(L, "user mm: closed");
	return mm;
}

struct vmlab_user_mm *lsim_check_user_mm(lua_State *L, int idx,
					 struct sim_machine **sm)
{
	struct vmlab_user_mm *mm = check_mm(L, idx);
	*sm = check_ud(L, idx)->sm;
	return mm;
}

void lsim_user_finish(struct sim_machine *sm)
{
	struct sim_user *u = sm->user;
	if (!u)
		return;
	assert(!sm->sched);
	for (int i = 0; i < u->nr; i++)
		vmlab_user_mm_destroy(u->mms[i]);
	free(u->mms);
	free(u);
	sm->user = NULL;
}

/* Begin an operation on the mm at idx: on the running program's CPU
 * inside m:run (the mm switched there), on the mm's CPU outside. */
struct vmlab_user_mm *lsim_user_mm_begin(lua_State *L, struct lop *o,
					 int idx, const char *name)
{
	struct vmlab_user_mm *mm = check_mm(L, idx);
	struct sim_machine *sm = check_ud(L, idx)->sm;
	int cpu = sm->sched ? vmlab_sched_current_cpu(sm->m) : -1;
	if (cpu < 0)
		cpu = vmlab_user_cpu(mm);
	lsim_push_cpu(L, sm, cpu);
	lop_begin_svc(L, o, lua_gettop(L), name);
	/* mmap_lock takes over from the service lock (mmap_lock.c) */
	lop_allow_unlock(o);
	lua_pop(L, 1);
	if (vmlab_user_cpu(mm) != o->cpu)
		vmlab_user_switch(mm, o->cpu);
	return mm;
}

/* ------------------------------------------------------- processes */

/* m:user_mm() / cpu:user_mm() -> mm | nil, "ENOMEM" */
static int l_user_mm(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	struct mm_ud *ud = new_ud(L);
	struct vmlab_user_mm *mm = NULL;
	struct lop o;
	lop_begin_svc(L, &o, 1, "user_mm");
	int err = vmlab_user_mm_create(o.m, &mm);
	if (!err)
		vmlab_user_switch(mm, o.cpu);
	lop_end(&o);
	if (err)
		return push_err(L, err);
	return record_mm(L, ud, sm, mm);
}

/* mm:fork() -> child mm | nil, err */
static int l_fork(lua_State *L)
{
	check_mm(L, 1);
	struct mm_ud *ud = new_ud(L);
	struct vmlab_user_mm *child = NULL;
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "fork");
	int err = vmlab_fork(mm, &child);
	lop_end(&o);
	if (err)
		return push_err(L, err);
	return record_mm(L, ud, o.sm, child);
}

/* mm:switch(cpu): schedule a thread of mm on that CPU. */
static int l_switch(lua_State *L)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 2, &cpu);
	luaL_argcheck(L, sm == check_ud(L, 1)->sm, 2, "a CPU of the mm's machine");
	struct lop o;
	lop_begin_svc(L, &o, 2, "switch_mm");
	lop_allow_unlock(&o); /* switch_mm_irqs_off() takes no mm lock */
	int err = vmlab_user_switch(mm, o.cpu);
	lop_end(&o);
	return push_status(L, err);
}

/* mm:close(): destroy now (exit_mmap); not inside m:run. */
static int l_close(lua_State *L)
{
	struct mm_ud *ud = luaL_checkudata(L, 1, MT_USER_MM);
	if (ud->sm->destroyed || !ud->sm->user->mms[ud->idx])
		return 0;
	if (ud->sm->sim->running)
		return luaL_error(L, "user mm: close not inside a CPU program");
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "exit_mmap");
	ud->sm->user->mms[ud->idx] = NULL;
	vmlab_user_mm_destroy(mm);
	lop_end(&o);
	return 0;
}

/* ------------------------------------------------------ the syscalls */

static const char *const mmap_keys[] = {"addr", "len", "prot", "flags",
					"file", "offset", "pfn", NULL};

/* mm:mmap{addr=, len=, prot=, flags=, file=, offset=} -> addr | nil, err
 * (a file handle of lua_file.c: flags default to {"shared"}); with pfn=
 * a device mapping of len bytes of frames from pfn, the driver's mmap
 * doing remap_pfn_range() (VM_PFNMAP, shared, on file if given). */
static int l_mmap(lua_State *L)
{
	check_mm(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, mmap_keys, "mmap");
	lua_getfield(L, 2, "addr");
	u64 addr = (u64)luaL_optinteger(L, -1, 0);
	lua_getfield(L, 2, "len");
	u64 len = check_u64(L, -1);
	lua_getfield(L, 2, "prot");
	int prot = lua_isnil(L, -1) ? VMLAB_PROT_READ | VMLAB_PROT_WRITE
				    : user_prot(L, -1);
	lua_getfield(L, 2, "file");
	struct vmlab_file *file = NULL;
	if (!lua_isnil(L, -1))
		file = lsim_check_file(L, lua_gettop(L), check_ud(L, 1)->sm);
	lua_getfield(L, 2, "offset");
	u64 off = (u64)luaL_optinteger(L, -1, 0);
	lua_getfield(L, 2, "flags");
	int flags = user_flags(L, -1, map_names, map_values, "map flag",
			       file ? VMLAB_MAP_SHARED :
				      VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS);
	lua_getfield(L, 2, "pfn");
	bool io = !lua_isnil(L, -1);
	u64 pfn = io ? check_u64(L, -1) : 0;
	luaL_argcheck(L, !io || (!addr && !off && !(len & (VMLAB_PAGE_SIZE - 1))),
		      2, "pfn= takes a page-multiple len, no addr or offset");
	lua_pop(L, 7);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "mmap");
	u64 pages = len >> VMLAB_PAGE_SHIFT;
	s64 r = !io ? vmlab_mmap(mm, addr, len, prot, flags, file, off) :
		file ? vmlab_user_map_io_file(mm, file, pfn, pages, prot) :
		       vmlab_user_map_io(mm, pfn, pages, prot);
	lop_end(&o);
	if (r < 0)
		return push_err(L, (int)r);
	lua_pushinteger(L, (lua_Integer)r);
	return 1;
}

typedef int (*range_fn)(struct vmlab_user_mm *mm, u64 addr, u64 len);

static int range_call(lua_State *L, range_fn fn, const char *name)
{
	check_mm(L, 1);
	u64 addr = check_u64(L, 2), len = check_u64(L, 3);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, name);
	int err = fn(mm, addr, len);
	lop_end(&o);
	return push_status(L, err);
}

static int l_munmap(lua_State *L)
{
	return range_call(L, vmlab_munmap, "munmap");
}

static int l_mlock(lua_State *L)
{
	return range_call(L, vmlab_mlock, "mlock");
}

static int l_munlock(lua_State *L)
{
	return range_call(L, vmlab_munlock, "munlock");
}

static const char *const mcl_names[] = {"current", "future", "onfault",
					NULL};
static const int mcl_values[] = {VMLAB_MCL_CURRENT, VMLAB_MCL_FUTURE,
				 VMLAB_MCL_ONFAULT};

/* mm:mlockall{"current", "future", "onfault"} -> true | nil, err */
static int l_mlockall(lua_State *L)
{
	check_mm(L, 1);
	int flags = user_flags(L, 2, mcl_names, mcl_values, "mlockall flag", 0);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "mlockall");
	int err = vmlab_mlockall(mm, flags);
	lop_end(&o);
	return push_status(L, err);
}

/* mm:munlockall() -> true */
static int l_munlockall(lua_State *L)
{
	check_mm(L, 1);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "munlockall");
	int err = vmlab_munlockall(mm);
	lop_end(&o);
	return push_status(L, err);
}

/* mm:mprotect(addr, len, prot) -> true | nil, err */
static int l_mprotect(lua_State *L)
{
	check_mm(L, 1);
	u64 addr = check_u64(L, 2), len = check_u64(L, 3);
	int prot = user_prot(L, 4);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "mprotect");
	int err = vmlab_mprotect(mm, addr, len, prot);
	lop_end(&o);
	return push_status(L, err);
}

/* mm:reclaim(addr, len) -> pages | nil, err: kswapd on the caller's CPU
 * (the mm is not switched there, and no mmap_lock is taken). */
static int l_reclaim(lua_State *L)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	u64 addr = check_u64(L, 2), len = check_u64(L, 3);
	struct sim_machine *sm = check_ud(L, 1)->sm;
	int cpu = sm->sched ? vmlab_sched_current_cpu(sm->m) : -1;
	if (cpu < 0)
		cpu = vmlab_user_cpu(mm);
	lsim_push_cpu(L, sm, cpu);
	struct lop o;
	lop_begin_svc(L, &o, lua_gettop(L), "reclaim");
	lop_allow_unlock(&o);
	lua_pop(L, 1);
	int r = vmlab_user_reclaim(mm, addr, len);
	lop_end(&o);
	if (r < 0)
		return push_err(L, r);
	lua_pushinteger(L, r);
	return 1;
}

/* mm:madvise(addr, len, advice) -> true | nil, err */
static int l_madvise(lua_State *L)
{
	check_mm(L, 1);
	u64 addr = check_u64(L, 2), len = check_u64(L, 3);
	int adv = lsim_user_advice(L, 4);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "madvise");
	int err = vmlab_madvise(mm, addr, len, adv);
	lop_end(&o);
	return push_status(L, err);
}

/* mm:mremap(old, old_len, new_len [, flags [, new_addr]]) -> addr | nil, err */
static int l_mremap(lua_State *L)
{
	check_mm(L, 1);
	u64 old = check_u64(L, 2), old_len = check_u64(L, 3);
	u64 new_len = check_u64(L, 4);
	int flags = user_flags(L, 5, mremap_names, mremap_values,
			       "mremap flag", 0);
	u64 new_addr = (u64)luaL_optinteger(L, 6, 0);
	struct lop o;
	struct vmlab_user_mm *mm = lsim_user_mm_begin(L, &o, 1, "mremap");
	s64 r = vmlab_mremap(mm, old, old_len, new_len, flags, new_addr);
	lop_end(&o);
	if (r < 0)
		return push_err(L, (int)r);
	lua_pushinteger(L, (lua_Integer)r);
	return 1;
}

/* -------------------------------------------------------- accesses */

static const char *signame(int sig)
{
	switch (sig) {
	case VMLAB_SIGSEGV: return "SIGSEGV";
	case VMLAB_SIGBUS: return "SIGBUS";
	case VMLAB_SIGKILL: return "SIGKILL";
	default: return "SIG?";
	}
}

/* The access by the CPU at 1 on the mm at 2; buf holds len bytes. */
static int user_access(lua_State *L, enum vmlab_access kind, void *buf,
		       size_t len, const char *name)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	struct vmlab_user_mm *mm = check_mm(L, 2);
	luaL_argcheck(L, check_ud(L, 2)->sm == sm, 2, "an mm of this machine");
	u64 va = check_u64(L, 3);
	struct vmlab_siginfo si = {0};
	struct lop o;
	/* No service lock: a fault takes the VMA's lock or mmap_lock. */
	lop_begin(L, &o, 1, name);
	int r = vmlab_user_access_si(mm, o.cpu, kind, va, buf, len, &si);
	lop_end(&o);
	if (r < 0)
		return push_err(L, r);
	if (r > 0) {
		lua_pushnil(L);
		lua_pushstring(L, signame(r));
		lua_pushinteger(L, (lua_Integer)si.addr);
		return 3;
	}
	if (kind == VMLAB_READ)
		lua_pushlstring(L, buf, len);
	else
		lua_pushboolean(L, 1);
	return 1;
}

/* cpu:user_read(mm, va, len) -> bytes | nil, "SIGSEGV", fault address */
static int l_user_read(lua_State *L)
{
	lua_Integer len = luaL_checkinteger(L, 4);
	luaL_argcheck(L, len > 0 && len <= MAX_ACCESS, 4, "1..2^20 bytes");
	void *buf = lua_newuserdatauv(L, (size_t)len, 0);
	return user_access(L, VMLAB_READ, buf, (size_t)len, "user_read");
}

/* cpu:user_write(mm, va, data) -> true | nil, "SIGSEGV", fault address */
static int l_user_write(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 4, &len);
	luaL_argcheck(L, len > 0 && len <= MAX_ACCESS, 4, "1..2^20 bytes");
	void *buf = lua_newuserdatauv(L, len, 0);
	memcpy(buf, s, len);
	return user_access(L, VMLAB_WRITE, buf, len, "user_write");
}

/* ---------------------------------------------------- observations */

static int l_vma_count(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)vmlab_user_nr_vmas(check_mm(L, 1)));
	return 1;
}

static int l_cpu(lua_State *L)
{
	lua_pushinteger(L, vmlab_user_cpu(check_mm(L, 1)));
	return 1;
}

static int l_pid(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)vmlab_user_pid(check_mm(L, 1)));
	return 1;
}

typedef void (*print_fn)(struct vmlab_user_mm *mm, void *file);

static int print_to_string(lua_State *L, print_fn fn)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return luaL_error(L, "maps: out of memory");
	fn(mm, f);
	fclose(f);
	lua_pushlstring(L, text, len);
	free(text);
	return 1;
}

static int l_maps(lua_State *L)
{
	return print_to_string(L, vmlab_user_print_maps);
}

static int l_smaps(lua_State *L)
{
	return print_to_string(L, vmlab_user_print_smaps);
}

/* mm:pagemap(va) -> {present=, swap=, guard=, file=, exclusive=,
 * soft_dirty=, pfn=,
 * raw=} | nil, err */
static int l_pagemap(lua_State *L)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	u64 va = check_u64(L, 2) & ~(u64)(VMLAB_PAGE_SIZE - 1);
	u64 e = 0;
	int n = vmlab_pagemap_read(mm, va, &e, 1);
	if (n < 0)
		return push_err(L, n);
	assert(n == 1);
	lua_createtable(L, 0, 7);
	set_bool(L, "present", e & VMLAB_PM_PRESENT);
	set_bool(L, "swap", e & VMLAB_PM_SWAP);
	set_bool(L, "guard", e & VMLAB_PM_GUARD_REGION);
	set_bool(L, "file", e & VMLAB_PM_FILE);
	set_bool(L, "exclusive", e & VMLAB_PM_MMAP_EXCLUSIVE);
	set_bool(L, "soft_dirty", e & VMLAB_PM_SOFT_DIRTY);
	set_int(L, "pfn", e & VMLAB_PM_PFN_MASK);
	set_int(L, "raw", e);
	return 1;
}

/* mm:pagemap_read(va, n) -> {raw, ...}: n entries read at once (one
 * pread() of /proc/PID/pagemap) | nil, err */
static int l_pagemap_read(lua_State *L)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	u64 va = check_u64(L, 2) & ~(u64)(VMLAB_PAGE_SIZE - 1);
	lua_Integer n = luaL_checkinteger(L, 3);
	luaL_argcheck(L, n >= 1 && n <= 512, 3, "1 to 512 entries");
	u64 e[512]; /* a fiber's stack: 4 KiB */
	int r = vmlab_pagemap_read(mm, va, e, (size_t)n);
	if (r < 0)
		return push_err(L, r);
	assert(r == n);
	lua_createtable(L, (int)n, 0);
	for (int i = 0; i < r; i++) {
		lua_pushinteger(L, (lua_Integer)e[i]);
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

/* mm:guard_scan(start, end) -> {{start, end}, ...} (runs of markers) */
static int l_guard_scan(lua_State *L)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	u64 start = check_u64(L, 2), end = check_u64(L, 3);
	struct vmlab_range one[16];
	size_t n = vmlab_guard_scan(mm, start, end, one, 16);
	struct vmlab_range *runs = one;
	if (n > 16) {
		runs = lua_newuserdatauv(L, n * sizeof(*runs), 0);
		size_t again = vmlab_guard_scan(mm, start, end, runs, n);
		assert(again == n);
		(void)again;
	}
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 2, 0);
		lua_pushinteger(L, (lua_Integer)runs[i].start);
		lua_rawseti(L, -2, 1);
		lua_pushinteger(L, (lua_Integer)runs[i].end);
		lua_rawseti(L, -2, 2);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int l_stats(lua_State *L)
{
	struct vmlab_user_mm *mm = check_mm(L, 1);
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	lua_createtable(L, 0, 24);
	set_int(L, "map_count", st.map_count);
	set_int(L, "total_vm", st.total_vm);
	set_int(L, "locked_vm", st.locked_vm);
	set_int(L, "rss_anon", st.rss_anon);
	set_int(L, "rss_file", st.rss_file);
	set_int(L, "rss_shmem", st.rss_shmem);
	set_int(L, "swap_ents", st.swap_ents);
	set_int(L, "pgtable_pages", st.pgtable_pages);
	set_int(L, "syscalls", st.syscalls);
	set_int(L, "faults", st.faults);
	set_int(L, "fault_anon", st.fault_anon);
	set_int(L, "fault_zero", st.fault_zero);
	set_int(L, "fault_cow", st.fault_cow);
	set_int(L, "sigsegv", st.sigsegv);
	set_int(L, "sigbus", st.sigbus);
	set_int(L, "vma_split", st.vma_split);
	set_int(L, "vma_merge", st.vma_merge);
	set_int(L, "guard_installed", st.guard_installed);
	set_int(L, "guard_zaps", st.guard_zaps);
	set_int(L, "vma_lock_success", st.vma_lock_success);
	set_int(L, "vma_lock_abort", st.vma_lock_abort);
	set_int(L, "vma_lock_miss", st.vma_lock_miss);
	set_int(L, "madv_restarts", st.madv_restarts);
	set_int(L, "pmd_share", st.pmd_share);
	set_int(L, "pmd_unshare", st.pmd_unshare);
	set_num(L, "sim_ns", vmlab_user_sim_time_ns(mm));
	return 1;
}

static int l_mm_tostring(lua_State *L)
{
	struct mm_ud *ud = luaL_checkudata(L, 1, MT_USER_MM);
	if (ud->sm->destroyed || !ud->sm->user->mms[ud->idx])
		lua_pushliteral(L, "vmlab user mm (closed)");
	else
		lua_pushfstring(L, "vmlab user mm pid %d",
				(int)vmlab_user_pid(ud->sm->user->mms[ud->idx]));
	return 1;
}

/* --------------------------------------------------- guard stacks */

static const char *const stack_keys[] = {"stacks", "pages", "markers", NULL};

/* cpu:guard_stacks{stacks=, pages=, markers=} -> figures table. */
static int l_guard_stacks(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, stack_keys, "guard_stacks");
	lua_getfield(L, 2, "stacks");
	lua_Integer n = luaL_checkinteger(L, -1);
	lua_getfield(L, 2, "pages");
	lua_Integer pages = luaL_checkinteger(L, -1);
	lua_getfield(L, 2, "markers");
	bool markers = lua_toboolean(L, -1);
	lua_pop(L, 3);
	luaL_argcheck(L, n > 0 && n <= 1000000, 2, "stacks in 1..1000000");
	luaL_argcheck(L, pages > 0 && pages <= 4096, 2, "pages in 1..4096");
	struct vmlab_guard_stacks_result r;
	struct lop o;
	lop_begin_svc(L, &o, 1, "guard_stacks");
	int err = vmlab_scenario_guard_stacks(o.m, (int)n, (int)pages, markers,
					      &r);
	if (err)
		return lop_fail(L, &o, err);
	lop_end(&o);
	assert(r.n == n && r.pages == pages);
	lua_createtable(L, 0, 12);
	set_int(L, "vmas_added", r.vmas_added);
	set_int(L, "pgtable_pages", r.pgtable_pages);
	set_int(L, "syscalls", r.syscalls);
	set_int(L, "flushes", r.flushes);
	set_int(L, "ipis", r.ipis);
	set_int(L, "pte_writes", r.pte_writes);
	set_int(L, "guard_sigsegv", r.guard_sigsegv);
	set_int(L, "stack_ok", r.stack_ok);
	set_num(L, "sim_ns", r.sim_ns);
	set_num(L, "vmas_per_stack", r.vmas_per_stack);
	set_num(L, "sim_ns_per_stack", r.sim_ns_per_stack);
	return 1;
}

/* ---------------------------------------------------- registration */

static const luaL_Reg user_ops[] = {
	{"guard_stacks", l_guard_stacks},
	{"user_mm", l_user_mm},
	{"user_read", l_user_read},
	{"user_write", l_user_write},
	{NULL, NULL},
};

static const luaL_Reg mm_methods[] = {
	{"mmap", l_mmap},
	{"munmap", l_munmap},
	{"mprotect", l_mprotect},
	{"madvise", l_madvise},
	{"reclaim", l_reclaim},
	{"mremap", l_mremap},
	{"mlock", l_mlock},
	{"munlock", l_munlock},
	{"mlockall", l_mlockall},
	{"munlockall", l_munlockall},
	{"fork", l_fork},
	{"switch", l_switch},
	{"close", l_close},
	{"vma_count", l_vma_count},
	{"cpu", l_cpu},
	{"pid", l_pid},
	{"maps", l_maps},
	{"smaps", l_smaps},
	{"pagemap", l_pagemap},
	{"pagemap_read", l_pagemap_read},
	{"guard_scan", l_guard_scan},
	{"stats", l_stats},
	{NULL, NULL},
};

/* Called with the handles' method table on top; leaves the stack as is. */
void lsim_register_user(lua_State *L)
{
	luaL_setfuncs(L, user_ops, 0);
	luaL_newmetatable(L, MT_USER_MM);
	lua_newtable(L);
	luaL_setfuncs(L, mm_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_close);
	lua_setfield(L, -2, "__close");
	lua_pushcfunction(L, l_mm_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "vmlab user mm");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
	lsim_register_thp(L);
}
