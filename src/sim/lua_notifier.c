/* SPDX-License-Identifier: MIT */
/*
 * Lua binding, part 6: MMU notifiers and secondary MMUs
 * (include/vmlab/mmu_notifier.h, include/vmlab/device.h).
 *
 *   m:upgrade_notify("none" | "range_end" | "access_flags_notify")
 *   local s = m:smmu{mm = mm, btm = false, tlb = 128, range_inv = false,
 *                    name = "smmu0", stale_retries = 8}
 *   s:dma(va, "write", {tries = 16})  -- true, tries | nil, "EFAULT", tries
 *   local k = m:kvm{mm = mm, filter_upgrade = false,
 *                   slots = {{gfn = 0x100, pages = 64, hva = a}}}
 *   k:access(gpa, "read")             -- true | nil, "EFAULT"
 *   local n = mm:notifier{sleep = true}  -- a counting subscriber
 *   s:stats(), k:stats(), n:counts(), m:notifier_stats()
 *
 * A counting subscriber also checks that start/end bookend the primary
 * update (seed 5, Christopherson): at start it fingerprints the primary
 * entries of the range (its first BRACKET_PAGES pages), at end it looks
 * again; counts() reports the pairs whose entries changed in between
 * ("bracketed") and those that saw none ("unbracketed": the update, if
 * any, happened outside the pair).
 *
 * Device operations run on the calling program's CPU (inside m:run) or
 * CPU 0.  They do not hold the machine's service lock: the device walks
 * the CPU page table as hardware does, and takes the lock only when its
 * fault is serviced through the user mm (IOPF, gup), so device faults
 * interleave with the CPUs' syscalls at every scheduling point.
 *
 * Lifetime: devices live in the struct sim_machine (as the mms do) and
 * are destroyed before the mms when the machine is finished.
 */
#include <stdlib.h>

#include "sim/lsim.h"
#include "vmlab/device.h"
#include "vmlab/user.h"

#define MT_SMMU "vmlab.smmu"
#define MT_KVM "vmlab.kvm"
#define MT_NOTIFIER "vmlab.notifier"

/* The primary-MMU fault of a device: under the machine's service lock,
 * as every user-mm operation of the binding is. */
struct dev_ctx {
	struct sim_machine *sm;
	struct vmlab_user_mm *mm;
};

#define BRACKET_PAGES 512

struct counting {
	struct vmlab_mmu_notifier mn;
	bool sleep;
	bool open;     /* a start is waiting for its end */
	u64 open_snap; /* fingerprint of the range at that start */
	u64 start, end, secondary, release, young;
	u64 bracketed, unbracketed;
	u64 own; /* MIGRATE/EXCLUSIVE ranges it owns: skipped, as drivers do */
	u64 events[VMLAB_MMU_NR_EVENTS];
	struct vmlab_machine *m;
};

enum dev_kind { DEV_SMMU, DEV_KVM, DEV_NOTIFIER };

struct dev {
	enum dev_kind kind;
	struct dev_ctx *ctx;
	void *obj; /* vmlab_smmu, vmlab_kvm, counting */
};

struct sim_devices {
	struct dev *d;
	int nr, cap;
};

struct dev_ud {
	struct sim_machine *sm;
	int idx;
};

static int user_fault_locked(void *ctx, int cpu, u64 va, enum vmlab_access k)
{
	struct dev_ctx *c = ctx;
	struct vmlab_machine *m = c->sm->m;
	mutex_lock(m, cpu, &c->sm->svc_lock);
	int r = vmlab_user_handle_device_fault(c->mm, cpu, va, k);
	mutex_unlock(m, cpu, &c->sm->svc_lock);
	return r;
}

static const struct vmlab_primary_ops locked_ops = {
	.handle_fault = user_fault_locked,
};

/* ------------------------------------------------------- registry */

static struct dev *dev_new(lua_State *L, struct sim_machine *sm,
			   enum dev_kind kind)
{
	if (!sm->dev && !(sm->dev = calloc(1, sizeof(*sm->dev))))
		luaL_error(L, "out of memory");
	struct sim_devices *v = sm->dev;
	if (v->nr == v->cap) {
		int cap = v->cap ? 2 * v->cap : 8;
		void *p = realloc(v->d, (size_t)cap * sizeof(*v->d));
		if (!p)
			luaL_error(L, "out of memory");
		v->d = p;
		v->cap = cap;
	}
	struct dev *d = &v->d[v->nr];
	*d = (struct dev){.kind = kind};
	return d;
}

static void dev_free(struct dev *d)
{
	switch (d->kind) {
	case DEV_SMMU:
		vmlab_smmu_destroy(d->obj);
		break;
	case DEV_KVM:
		vmlab_kvm_destroy(d->obj);
		break;
	case DEV_NOTIFIER: {
		struct counting *c = d->obj;
		if (c && c->mn.registered)
			vmlab_mmu_notifier_unregister(c->m, &c->mn, c->mn.mm);
		free(c);
		break;
	}
	}
	free(d->ctx);
	d->obj = NULL;
	d->ctx = NULL;
}

void lsim_notifier_finish(struct sim_machine *sm)
{
	struct sim_devices *v = sm->dev;
	if (!v)
		return;
	for (int i = 0; i < v->nr; i++)
		dev_free(&v->d[i]);
	free(v->d);
	free(v);
	sm->dev = NULL;
}

static int push_handle(lua_State *L, struct sim_machine *sm, const char *mt)
{
	struct dev_ud *ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	ud->sm = sm;
	ud->idx = sm->dev->nr++;
	luaL_setmetatable(L, mt);
	return 1;
}

static struct dev *check_dev(lua_State *L, int idx, const char *mt,
			     struct sim_machine **sm)
{
	struct dev_ud *ud = luaL_checkudata(L, idx, mt);
	if (ud->sm->destroyed || !ud->sm->dev)
		luaL_error(L, "%s: machine '%s' was destroyed", mt, ud->sm->label);
	*sm = ud->sm;
	return &ud->sm->dev->d[ud->idx];
}

/* ------------------------------------------------------- helpers */

static bool opt_bool(lua_State *L, int t, const char *k, bool def)
{
	lua_getfield(L, t, k);
	bool v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k,
			   lua_Integer def)
{
	lua_getfield(L, t, k);
	lua_Integer v = lua_isnil(L, -1) ? def : luaL_checkinteger(L, -1);
	lua_pop(L, 1);
	return v;
}

static struct dev_ctx *ctx_from_opts(lua_State *L, int t,
				     struct sim_machine *sm)
{
	lua_getfield(L, t, "mm");
	struct sim_machine *msm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, -1, &msm);
	lua_pop(L, 1);
	if (msm != sm)
		luaL_error(L, "mm belongs to another machine");
	struct dev_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		luaL_error(L, "out of memory");
	c->sm = sm;
	c->mm = mm;
	return c;
}

static void set_int(lua_State *L, const char *k, u64 v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static enum vmlab_access access_kind(lua_State *L, int idx)
{
	static const char *const names[] = {"read", "write", "fetch", NULL};
	return (enum vmlab_access)luaL_checkoption(L, idx, "read", names);
}

/* A device operation: a scheduling point and a trace span on the CPU. */
static void dev_begin(lua_State *L, struct lop *o, struct sim_machine *sm,
		      const char *name)
{
	int cur = sm->sched ? vmlab_sched_current_cpu(sm->m) : -1;
	lsim_push_cpu(L, sm, cur >= 0 ? cur : 0);
	lop_begin(L, o, lua_gettop(L), name);
	lua_pop(L, 1);
}

/* ---------------------------------------------------------- SMMU */

static const char *const smmu_keys[] = {"mm", "btm", "tlb", "range_inv",
					"name", "stale_retries", NULL};

/* m:smmu{mm = mm, ...} -> smmu | nil, err */
static int l_smmu(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, smmu_keys, "smmu");
	struct vmlab_smmu_config c;
	vmlab_smmu_config_default(&c);
	c.btm = opt_bool(L, 2, "btm", false);
	c.range_inv = opt_bool(L, 2, "range_inv", false);
	c.tlb_entries = (u32)opt_int(L, 2, "tlb", 128);
	c.stale_retries = (int)opt_int(L, 2, "stale_retries", 8);
	lua_getfield(L, 2, "name");
	if (!lua_isnil(L, -1))
		c.name = lsim_intern(sm->sim, luaL_checkstring(L, -1));
	lua_pop(L, 1);
	struct dev *d = dev_new(L, sm, DEV_SMMU);
	struct dev_ctx *ctx = ctx_from_opts(L, 2, sm);
	struct vmlab_smmu *s;
	int err = vmlab_smmu_create(sm->m, &c, &s);
	if (!err) {
		err = vmlab_smmu_bind(s, vmlab_user_hw_mm(ctx->mm), &locked_ops,
				      ctx);
		if (err)
			vmlab_smmu_destroy(s);
	}
	if (err) {
		free(ctx);
		lua_pushnil(L);
		lua_pushstring(L, vmlab_strerror(err));
		return 2;
	}
	d->ctx = ctx;
	d->obj = s;
	return push_handle(L, sm, MT_SMMU);
}

/* s:dma(va, kind, {tries = 16}) -> true, tries | nil, errname, tries */
static int l_smmu_dma(lua_State *L)
{
	struct sim_machine *sm;
	struct dev *d = check_dev(L, 1, MT_SMMU, &sm);
	u64 va = (u64)luaL_checkinteger(L, 2);
	enum vmlab_access kind = access_kind(L, 3);
	int max = 16;
	if (lua_istable(L, 4))
		max = (int)opt_int(L, 4, "tries", 16);
	struct lop o;
	dev_begin(L, &o, sm, "smmu_dma");
	u8 buf[8] = {0};
	int tries = 0;
	int err = vmlab_smmu_dma(d->obj, o.cpu, kind, va, buf, sizeof(buf),
				 max, &tries);
	lop_end(&o);
	if (err) {
		lua_pushnil(L);
		lua_pushstring(L, vmlab_strerror(err));
		lua_pushinteger(L, tries);
		return 3;
	}
	lua_pushboolean(L, 1);
	lua_pushinteger(L, tries);
	return 2;
}

static int l_smmu_stats(lua_State *L)
{
	struct sim_machine *sm;
	struct dev *d = check_dev(L, 1, MT_SMMU, &sm);
	struct vmlab_smmu_stats s;
	vmlab_smmu_stats(d->obj, &s);
	lua_newtable(L);
#define F(x) set_int(L, #x, s.x);
	F(accesses) F(tlb_hits) F(tlb_misses) F(walks) F(walk_levels)
	F(faults) F(stale_faults) F(iopf_ok) F(iopf_failed) F(retries)
	F(spurious_rewalks) F(notifier_calls) F(cmd_tlbi)
	F(asid_invalidations) F(btm_invalidations) F(entries_dropped)
	F(stale_hits)
#undef F
	set_num(L, "sim_ns", s.sim_ns);
	return 1;
}

/* ----------------------------------------------------------- KVM */

static const char *const kvm_keys[] = {"mm", "filter_upgrade", "name",
				       "slots", NULL};

static int l_kvm(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	luaL_checktype(L, 2, LUA_TTABLE);
	lsim_check_keys(L, 2, kvm_keys, "kvm");
	struct vmlab_kvm_config c;
	vmlab_kvm_config_default(&c);
	c.filter_upgrade = opt_bool(L, 2, "filter_upgrade", false);
	lua_getfield(L, 2, "name");
	if (!lua_isnil(L, -1))
		c.name = lsim_intern(sm->sim, luaL_checkstring(L, -1));
	lua_pop(L, 1);
	struct dev *d = dev_new(L, sm, DEV_KVM);
	struct dev_ctx *ctx = ctx_from_opts(L, 2, sm);
	struct vmlab_kvm *k;
	int err = vmlab_kvm_create(sm->m, &c, vmlab_user_hw_mm(ctx->mm),
				   &locked_ops, ctx, &k);
	if (err) {
		free(ctx);
		lua_pushnil(L);
		lua_pushstring(L, vmlab_strerror(err));
		return 2;
	}
	d->ctx = ctx;
	d->obj = k;
	lua_getfield(L, 2, "slots");
	int n = lua_istable(L, -1) ? (int)luaL_len(L, -1) : 0;
	for (int i = 1; i <= n && !err; i++) {
		lua_geti(L, -1, i);
		luaL_checktype(L, -1, LUA_TTABLE);
		err = vmlab_kvm_set_memslot(k, i - 1, (u64)opt_int(L, -1, "gfn", 0),
					    (u64)opt_int(L, -1, "pages", 0),
					    (u64)opt_int(L, -1, "hva", 0));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	push_handle(L, sm, MT_KVM);
	if (err)
		return luaL_error(L, "kvm: memslot: %s", vmlab_strerror(err));
	return 1;
}

static int l_kvm_access(lua_State *L)
{
	struct sim_machine *sm;
	struct dev *d = check_dev(L, 1, MT_KVM, &sm);
	u64 gpa = (u64)luaL_checkinteger(L, 2);
	enum vmlab_access kind = access_kind(L, 3);
	struct lop o;
	dev_begin(L, &o, sm, "kvm_guest_access");
	u8 buf[8] = {0};
	int err = vmlab_kvm_guest_access(d->obj, o.cpu, kind, gpa, buf,
					 sizeof(buf));
	lop_end(&o);
	if (err) {
		lua_pushnil(L);
		lua_pushstring(L, vmlab_strerror(err));
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_kvm_stats(lua_State *L)
{
	struct sim_machine *sm;
	struct dev *d = check_dev(L, 1, MT_KVM, &sm);
	struct vmlab_kvm_stats s;
	vmlab_kvm_stats(d->obj, &s);
	lua_newtable(L);
#define F(x) set_int(L, #x, s.x);
	F(accesses) F(s2_hits) F(s2_faults) F(fault_retries)
	F(sptes_installed) F(sptes_zapped) F(zap_calls) F(remote_flushes)
	F(upgrade_events) F(upgrade_filtered) F(young_cleared) F(invalidations)
#undef F
	set_num(L, "sim_ns", s.sim_ns);
	set_int(L, "sptes", vmlab_kvm_nr_sptes(d->obj));
	return 1;
}

/* ------------------------------------------- counting subscribers */

static struct counting *cnt_of(struct vmlab_mmu_notifier *mn)
{
	return (struct counting *)((char *)mn - offsetof(struct counting, mn));
}

static void cnt_nap(struct counting *c, int cpu)
{
	if (c->sleep)
		sched_point(c->m, cpu, "notifier callback sleeps");
}

/* FNV-1a over what the primary page table maps in the range's first
 * BRACKET_PAGES pages (frame and rights, or nothing). */
static u64 range_snapshot(const struct vmlab_mmu_notifier_range *r)
{
	u64 h = 0xcbf29ce484222325ULL;
	u64 n = (r->end - r->start) >> VMLAB_PAGE_SHIFT;
	assert(r->end > r->start && r->mm);
	n = n < BRACKET_PAGES ? n : BRACKET_PAGES;
	for (u64 i = 0; i < n; i++) {
		u64 pa = ~0ULL;
		vmlab_pgprot_t prot = 0;
		if (vmlab_translate(r->m, r->mm, r->start + i * VMLAB_PAGE_SIZE,
				    &pa, &prot, NULL))
			pa = ~0ULL, prot = 0;
		h = (h ^ pa) * 0x100000001b3ULL;
		/* The accessed bit is set by hardware at any time. */
		prot &= ~(vmlab_pgprot_t)VMLAB_PAGE_ACCESSED;
		h = (h ^ (u64)prot) * 0x100000001b3ULL;
	}
	return h;
}

static int cnt_start(struct vmlab_mmu_notifier *mn,
		     const struct vmlab_mmu_notifier_range *r)
{
	struct counting *c = cnt_of(mn);
	c->start++;
	if (r->owner == c &&
	    (r->event == VMLAB_MMU_NOTIFY_MIGRATE ||
	     r->event == VMLAB_MMU_NOTIFY_EXCLUSIVE)) {
		c->own++; /* its own migration: nothing to invalidate */
		return 0;
	}
	c->events[r->event]++;
	/* Nested pairs are not measured: only the outermost one. */
	if (!c->open && r->end > r->start) {
		c->open = true;
		c->open_snap = range_snapshot(r);
	}
	cnt_nap(c, r->cpu);
	return 0;
}

static void cnt_end(struct vmlab_mmu_notifier *mn,
		    const struct vmlab_mmu_notifier_range *r)
{
	struct counting *c = cnt_of(mn);
	c->end++;
	if (c->open && r->end > r->start) {
		c->open = false;
		if (range_snapshot(r) != c->open_snap)
			c->bracketed++;
		else
			c->unbracketed++;
	}
	assert(c->bracketed + c->unbracketed <= c->end);
	cnt_nap(c, r->cpu);
}

static void cnt_secondary(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm,
			  u64 start, u64 end)
{
	(void)mm;
	(void)start;
	(void)end;
	cnt_of(mn)->secondary++; /* may run under the PTL: never sleeps */
}

static void cnt_release(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm)
{
	(void)mm;
	cnt_of(mn)->release++;
}

static int cnt_young(struct vmlab_mmu_notifier *mn, struct vmlab_mm *mm,
		     u64 start, u64 end)
{
	(void)mm;
	(void)start;
	(void)end;
	cnt_of(mn)->young++;
	return 0;
}

static const struct vmlab_mmu_notifier_ops counting_ops = {
	.release = cnt_release,
	.clear_young = cnt_young,
	.clear_flush_young = cnt_young,
	.invalidate_range_start = cnt_start,
	.invalidate_range_end = cnt_end,
	.arch_invalidate_secondary_tlbs = cnt_secondary,
};

static const char *const notifier_keys[] = {"sleep", NULL};

/* mm:notifier{sleep = false} -> n | nil, err */
static int l_mm_notifier(lua_State *L)
{
	struct sim_machine *sm;
	struct vmlab_user_mm *mm = lsim_check_user_mm(L, 1, &sm);
	bool sleep = false;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		lsim_check_keys(L, 2, notifier_keys, "notifier");
		sleep = opt_bool(L, 2, "sleep", false);
	}
	struct dev *d = dev_new(L, sm, DEV_NOTIFIER);
	struct counting *c = calloc(1, sizeof(*c));
	if (!c)
		return luaL_error(L, "out of memory");
	c->mn.ops = &counting_ops;
	c->sleep = sleep;
	c->m = sm->m;
	int err = vmlab_mmu_notifier_register(sm->m, &c->mn,
					      vmlab_user_hw_mm(mm));
	if (err) {
		free(c);
		lua_pushnil(L);
		lua_pushstring(L, vmlab_strerror(err));
		return 2;
	}
	d->obj = c;
	return push_handle(L, sm, MT_NOTIFIER);
}

static int l_notifier_counts(lua_State *L)
{
	struct sim_machine *sm;
	struct dev *d = check_dev(L, 1, MT_NOTIFIER, &sm);
	const struct counting *c = d->obj;
	lua_newtable(L);
	set_int(L, "start", c->start);
	set_int(L, "end_", c->end);
	set_int(L, "secondary", c->secondary);
	set_int(L, "release", c->release);
	set_int(L, "young", c->young);
	set_int(L, "bracketed", c->bracketed);
	set_int(L, "unbracketed", c->unbracketed);
	set_int(L, "own", c->own);
	lua_newtable(L);
	for (int e = 0; e < VMLAB_MMU_NR_EVENTS; e++)
		set_int(L, vmlab_mmu_notifier_event_name(
				   (enum vmlab_mmu_notifier_event)e),
			c->events[e]);
	lua_setfield(L, -2, "events");
	return 1;
}

void *lsim_notifier_owner(lua_State *L, int idx)
{
	struct sim_machine *sm;
	struct dev_ud *ud = luaL_testudata(L, idx, MT_NOTIFIER);
	if (!ud)
		ud = luaL_testudata(L, idx, MT_SMMU);
	if (!ud)
		ud = luaL_testudata(L, idx, MT_KVM);
	if (!ud)
		luaL_argerror(L, idx, "owner: a notifier, smmu or kvm handle");
	const char *mt = luaL_testudata(L, idx, MT_NOTIFIER) ? MT_NOTIFIER :
			 luaL_testudata(L, idx, MT_SMMU)     ? MT_SMMU :
							       MT_KVM;
	struct dev *d = check_dev(L, idx, mt, &sm);
	if (!d->obj)
		luaL_argerror(L, idx, "owner: closed");
	return d->obj;
}

/* ------------------------------------------------ machine methods */

/* m:upgrade_notify([mode]) -> the mode in force (after setting it). */
static int l_upgrade_notify(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	if (!lua_isnoneornil(L, 2)) {
		enum vmlab_upgrade_notify u;
		if (vmlab_upgrade_notify_parse(luaL_checkstring(L, 2), &u))
			return lsim_usage_error(
				L, "upgrade_notify: '%s' is not none, range_end "
				   "or access_flags_notify",
				lua_tostring(L, 2));
		vmlab_set_upgrade_notify(sm->m, u);
	}
	lua_pushstring(L, vmlab_upgrade_notify_name(
				  vmlab_get_upgrade_notify(sm->m)));
	return 1;
}

static int l_notifier_stats(lua_State *L)
{
	int cpu;
	struct sim_machine *sm = lsim_handle(L, 1, &cpu);
	lua_newtable(L);
	for (int i = 0; i < VMLAB_NR_MN_STATS; i++)
		set_int(L, vmlab_mn_stat_name((enum vmlab_mn_stat)i),
			vmlab_mn_stat(sm->m, (enum vmlab_mn_stat)i));
	lua_newtable(L);
	for (int e = 0; e < VMLAB_MMU_NR_EVENTS; e++)
		set_int(L, vmlab_mmu_notifier_event_name(
				   (enum vmlab_mmu_notifier_event)e),
			vmlab_mn_event_count(sm->m,
					     (enum vmlab_mmu_notifier_event)e));
	lua_setfield(L, -2, "events");
	return 1;
}

static const luaL_Reg machine_ops[] = {
	{"smmu", l_smmu},
	{"kvm", l_kvm},
	{"upgrade_notify", l_upgrade_notify},
	{"notifier_stats", l_notifier_stats},
	{NULL, NULL},
};

static void new_mt(lua_State *L, const char *mt, const luaL_Reg *methods)
{
	luaL_newmetatable(L, mt);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushstring(L, mt);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 1);
}

/* Called with the handles' method table on top, after
 * lsim_register_user(); leaves the stack as is. */
void lsim_register_notifier(lua_State *L)
{
	static const luaL_Reg smmu_m[] = {{"dma", l_smmu_dma},
					  {"stats", l_smmu_stats},
					  {NULL, NULL}};
	static const luaL_Reg kvm_m[] = {{"access", l_kvm_access},
					 {"stats", l_kvm_stats},
					 {NULL, NULL}};
	static const luaL_Reg n_m[] = {{"counts", l_notifier_counts},
				       {NULL, NULL}};
	luaL_setfuncs(L, machine_ops, 0);
	new_mt(L, MT_SMMU, smmu_m);
	new_mt(L, MT_KVM, kvm_m);
	new_mt(L, MT_NOTIFIER, n_m);
	luaL_getmetatable(L, "vmlab.user_mm");
	lua_getfield(L, -1, "__index");
	lua_pushcfunction(L, l_mm_notifier);
	lua_setfield(L, -2, "notifier");
	lsim_register_mm_events(L); /* clear_refs, migrate, exclusive */
	lua_pop(L, 2);
}
