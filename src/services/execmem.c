/* SPDX-License-Identifier: MIT */
/*
 * execmem: the types and their x86 ranges (arch/x86/mm/init.c
 * execmem_arch_setup()), the table of live allocations, the dispatch to
 * the chosen allocator, the per-area allocator (module_alloc() with
 * set_memory_ro + set_memory_x), execmem_update_copy() and the figures
 * that need the whole picture (live-text cover, stats).
 */
#include <stdlib.h>

#include "services/execmem_internal.h"

static const char *const alloc_names[] = {"per-area", "pack", "split-range",
					  "rox-cache"};
static const char *const type_names[] = {"module-text", "kprobes", "ftrace",
					 "bpf", "module-data"};

const char *vmlab_execmem_allocator_name(enum vmlab_execmem_allocator a)
{
	return (unsigned)a < VMLAB_NR_EXECMEM_ALLOCATORS ? alloc_names[a] : "?";
}

int vmlab_execmem_allocator_parse(const char *name)
{
	for (int i = 0; name && i < VMLAB_NR_EXECMEM_ALLOCATORS; i++)
		if (!strcmp(name, alloc_names[i]))
			return i;
	return -VMLAB_EINVAL;
}

const char *vmlab_execmem_type_name(enum vmlab_execmem_type t)
{
	return (unsigned)t < VMLAB_EXECMEM_TYPE_MAX ? type_names[t] : "?";
}

int vmlab_execmem_type_parse(const char *name)
{
	for (int i = 0; name && i < VMLAB_EXECMEM_TYPE_MAX; i++)
		if (!strcmp(name, type_names[i]))
			return i;
	return -VMLAB_EINVAL;
}

bool xm_is_text(enum vmlab_execmem_type t)
{
	assert((unsigned)t < VMLAB_EXECMEM_TYPE_MAX);
	return t != VMLAB_EXECMEM_MODULE_DATA;
}

/* Every x86 type lives in [MODULES_VADDR + offset, MODULES_END); without
 * KASLR the offset is 0.  Data has to stay within s32 reach of text.
 * arm64 puts module text and data in its own module region the same way
 * (the model keeps its kprobes and BPF there too). */
void xm_type_range(const struct execmem *xm, enum vmlab_execmem_type t,
		   u64 *start, u64 *end)
{
	(void)t;
	assert((unsigned)t < VMLAB_EXECMEM_TYPE_MAX);
	assert(xm->mod_start < xm->mod_end);
	*start = xm->mod_start;
	*end = xm->mod_end;
}

/* ------------------------------------------------- live allocations */

static u64 slot_of(const struct xm_table *t, u64 addr)
{
	/* Allocations are at least 64-byte aligned apart from ROX-cache
	 * ranges; mix every bit. */
	u64 h = addr * 0x9e3779b97f4a7c15ULL;
	return (h ^ (h >> 29)) & (t->cap - 1);
}

struct xm_alloc *xm_lookup(struct execmem *xm, u64 addr)
{
	struct xm_table *t = &xm->live;
	if (!addr || !t->cap)
		return NULL;
	for (u64 i = slot_of(t, addr);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slot[i].addr)
			return NULL;
		if (t->slot[i].addr == addr)
			return &t->slot[i];
	}
}

static int table_grow(struct vmlab_machine *m, struct xm_table *t)
{
	u64 cap = t->cap ? t->cap * 2 : 1024;
	struct xm_alloc *ns = host_calloc(m, cap, sizeof(*ns));
	if (!ns)
		return -VMLAB_ENOMEM;
	struct xm_table nt = {ns, cap, 0};
	for (u64 i = 0; i < t->cap; i++) {
		if (!t->slot[i].addr)
			continue;
		u64 j = slot_of(&nt, t->slot[i].addr);
		while (ns[j].addr)
			j = (j + 1) & (cap - 1);
		ns[j] = t->slot[i];
		nt.nr++;
	}
	assert(nt.nr == t->nr);
	free(t->slot);
	*t = nt;
	return 0;
}

int xm_insert(struct execmem *xm, const struct xm_alloc *a)
{
	struct xm_table *t = &xm->live;
	assert(a->addr && (!VMLAB_DEBUG_CHECKS || !xm_lookup(xm, a->addr)));
	if ((t->nr + 1) * 2 > t->cap && table_grow(xm->m, t))
		return -VMLAB_ENOMEM;
	u64 i = slot_of(t, a->addr);
	while (t->slot[i].addr)
		i = (i + 1) & (t->cap - 1);
	t->slot[i] = *a;
	t->nr++;
	xm->live_bytes += a->size;
	return 0;
}

void xm_remove(struct execmem *xm, u64 addr)
{
	struct xm_table *t = &xm->live;
	struct xm_alloc *a = xm_lookup(xm, addr);
	assert(a);
	u64 i = (u64)(a - t->slot);
	xm->live_bytes -= a->size;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (u64 j = (i + 1) & (t->cap - 1); t->slot[j].addr;
	     j = (j + 1) & (t->cap - 1)) {
		u64 home = slot_of(t, t->slot[j].addr);
		bool movable = i <= j ? (home <= i || home > j)
				      : (home <= i && home > j);
		if (movable) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i].addr = 0;
	t->nr--;
	assert(!VMLAB_DEBUG_CHECKS || !xm_lookup(xm, addr));
}

/* ------------------------------------------------------- the state */

static void execmem_destroy(struct vmlab_machine *m)
{
	struct execmem *xm = xm_state(m);
	if (!xm)
		return;
	vmlab_cancel_work(m, &xm->clean_work);
	pack_destroy_all(xm);
	ktext_destroy(xm);
	split_destroy(xm);
	rox_destroy(xm);
	poke_destroy(xm);
	free(xm->live.slot);
	free(xm);
	m->svc[VMLAB_SVC_EXECMEM] = NULL;
}

static bool config_ok(const struct vmlab_execmem_config *c)
{
	const u32 known = VMLAB_EXECMEM_X_BEFORE_RO | VMLAB_TEXT_POKE_2M |
			  VMLAB_EXECMEM_ROX_BPF | VMLAB_EXECMEM_PACK_TREE |
			  VMLAB_EXECMEM_PACK_1B | VMLAB_EXECMEM_PACK_NOREF;
	bool noref_ok = !(c && (c->flags & VMLAB_EXECMEM_PACK_NOREF)) ||
			(c->flags & VMLAB_EXECMEM_PACK_TREE);
	return c && (unsigned)c->allocator < VMLAB_NR_EXECMEM_ALLOCATORS &&
	       !(c->flags & ~known) && noref_ok;
}

static struct execmem *xm_create(struct vmlab_machine *m,
				 const struct vmlab_execmem_config *cfg)
{
	assert(!xm_state(m) && config_ok(cfg));
	struct execmem *xm = host_calloc(m, 1, sizeof(*xm));
	if (!xm)
		return NULL;
	xm->m = m;
	xm->cfg = *cfg;
	xm->chunk_shift = (cfg->flags & VMLAB_EXECMEM_PACK_1B) ? 0
							 : PACK_CHUNK_SHIFT;
	xm->mod_start = vmlab_layout(m)->modules_vaddr;
	xm->mod_end = vmlab_layout(m)->modules_end;
	xm->x_base = xm->x_end = xm->mod_start;
	xm->data_low = xm->mod_end;
	if (poke_init(xm)) {
		free(xm);
		return NULL;
	}
	svc_set(m, VMLAB_SVC_EXECMEM, xm, execmem_destroy);
	return xm;
}

struct execmem *xm_get(struct vmlab_machine *m)
{
	struct execmem *xm = xm_state(m);
	if (xm)
		return xm;
	const struct vmlab_execmem_config def = {VMLAB_EXECMEM_PER_AREA, 0};
	return xm_create(m, &def);
}

int vmlab_execmem_setup(struct vmlab_machine *m,
			const struct vmlab_execmem_config *cfg)
{
	if (!m || !config_ok(cfg))
		return -VMLAB_EINVAL;
	/* The 2 MiB poking leaf is the temporary poking mm's (x86); arm64
	 * patches a page at a time through its fixmap slot. */
	if ((cfg->flags & VMLAB_TEXT_POKE_2M) &&
	    vmlab_arch(m)->id == VMLAB_ARCH_ARM64) {
		vmlab_warn(m, "execmem: VMLAB_TEXT_POKE_2M (poke-2m) is an "
			      "x86_64-only option (this machine is arm64)");
		return -VMLAB_EINVAL;
	}
	struct execmem *xm = xm_state(m);
	if (xm && xm->live.nr) {
		vmlab_warn(m, "execmem: allocator change with %llu live "
			      "allocations",
			   (unsigned long long)xm->live.nr);
		return -VMLAB_EBUSY;
	}
	/* The kernel image stays mapped: its text pool moves over. */
	struct xm_ktext *kt = xm ? xm->kt : NULL;
	if (xm) {
		/* Nothing is live: cached memory goes back first. */
		xm->kt = NULL;
		execmem_destroy(m);
	}
	xm = xm_create(m, cfg);
	if (xm)
		xm->kt = kt;
	else if (kt) {
		cm_destroy(&kt->map);
		free(kt);
	}
	return xm ? 0 : -VMLAB_ENOMEM;
}

/* ----------------------------------------------------- vmalloc side */

u64 xm_vmalloc(struct execmem *xm, int cpu, u64 size, u64 align, u64 start,
	       u64 end, u64 vm_flags, const char *caller)
{
	assert(size && start < end);
	u64 addr = vmlab_vmalloc_node_range(xm->m, cpu, size, align, start, end,
					    VMLAB_PAGE_KERNEL, vm_flags, caller);
	if (addr) {
		xm->nr_areas++;
		assert(addr >= start && addr + size <= end);
	}
	return addr;
}

/* Writes through the new area's own (still writable) mapping, as the
 * kernel's memset(ptr, INT3_INSN_OPCODE, size) does. */
void xm_fill_writable(struct execmem *xm, u64 addr, u64 size)
{
	static const u8 fill[4096] = {[0 ... 4095] = INT3};
	for (u64 off = 0; off < size; off += sizeof(fill)) {
		u64 n = size - off < sizeof(fill) ? size - off : sizeof(fill);
		int err = vmlab_write(xm->m, 0, addr + off, fill, n, NULL);
		assert(!err);
		(void)err;
	}
}

u64 xm_rox_area(struct execmem *xm, int cpu, u64 size, u64 start, u64 end,
		u64 vm_flags, const char *caller)
{
	assert(!(size & ~VMLAB_PAGE_MASK));
	u64 align = vm_flags & VMLAB_VM_ALLOW_HUGE_VMAP ? VMLAB_PMD_SIZE
						       : VMLAB_PAGE_SIZE;
	u64 addr = xm_vmalloc(xm, cpu, size, align, start, end,
			      vm_flags | VMLAB_VM_FLUSH_RESET_PERMS, caller);
	if (!addr)
		return 0;
	xm_fill_writable(xm, addr, size);
	/* set_memory_rox(): one CPA call (bpf_prog_pack since 6.4, the
	 * ROX cache), read-only and executable together. */
	int err = vmlab_set_memory_rox(xm->m, cpu, addr,
				       (int)(size >> VMLAB_PAGE_SHIFT));
	if (err) {
		vmlab_vfree(xm->m, cpu, addr);
		xm->nr_areas--;
		return 0;
	}
	return addr;
}

/* ---------------------------------------------------- per area */

static u64 area_alloc(struct execmem *xm, int cpu, enum vmlab_execmem_type t,
		      u64 size, u64 *reserved)
{
	u64 start, end;
	xm_type_range(xm, t, &start, &end);
	u64 bytes = (size + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK;
	*reserved = bytes;
	return xm_vmalloc(xm, cpu, bytes, VMLAB_PAGE_SIZE, start, end,
			  VMLAB_VM_FLUSH_RESET_PERMS, "execmem_alloc");
}

static int area_finalize(struct execmem *xm, int cpu, struct xm_alloc *a)
{
	assert(a->kind == XM_AREA && !a->rox);
	int n = (int)(xm_reserved(a, xm->chunk_shift) >> VMLAB_PAGE_SHIFT);
	int err;
	if ((xm->cfg.flags & VMLAB_EXECMEM_X_BEFORE_RO) ||
	    vmlab_mutant(xm->m, VMLAB_MUT_SET_MEMORY_X_BEFORE_RO)) {
		/* The order of module_enable_x() before 2019: writable and
		 * executable until the set_memory_ro. */
		err = vmlab_set_memory_x(xm->m, cpu, a->addr, n);
		if (!err)
			err = vmlab_set_memory_ro(xm->m, cpu, a->addr, n);
	} else {
		err = vmlab_set_memory_ro(xm->m, cpu, a->addr, n);
		if (!err)
			err = vmlab_set_memory_x(xm->m, cpu, a->addr, n);
	}
	if (!err)
		a->rox = a->finalized = true;
	return err;
}

/* ---------------------------------------------------- the API */

static bool args_ok(struct vmlab_machine *m, int cpu, const char *fn)
{
	if (!m)
		return false;
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "%s: bad cpu %d", fn, cpu);
		return false;
	}
	return true;
}

u64 vmlab_execmem_alloc(struct vmlab_machine *m, int cpu,
			enum vmlab_execmem_type type, u64 size)
{
	if (!args_ok(m, cpu, "execmem_alloc"))
		return 0;
	if ((unsigned)type >= VMLAB_EXECMEM_TYPE_MAX || !size ||
	    size > vmlab_layout(m)->modules_end - vmlab_layout(m)->modules_vaddr) {
		vmlab_warn(m, "execmem_alloc: bad type %d or size %llu",
			   (int)type, (unsigned long long)size);
		return 0;
	}
	struct execmem *xm = xm_get(m);
	if (!xm)
		return 0;
	vmlab_checker_set_op(m, cpu, "execmem_alloc");
	mutex_lock(m, cpu, &xm->lock);
	struct xm_alloc a = {.size = (u32)size, .type = (u8)type, .kind = XM_AREA};
	u64 reserved = 0;
	bool text = xm_is_text(type);
	enum xm_kind kind = XM_AREA;
	/* Song's first pool: the kernel text's last 2 MiB page. */
	if (type == VMLAB_EXECMEM_MODULE_TEXT &&
	    (a.addr = ktext_alloc(xm, size))) {
		kind = XM_TAIL;
		reserved = xm_reserved(&(struct xm_alloc){.size = (u32)size,
							  .kind = XM_TAIL},
				       xm->chunk_shift);
		a.rox = true;
	}
	switch (a.addr ? VMLAB_NR_EXECMEM_ALLOCATORS : xm->cfg.allocator) {
	case VMLAB_EXECMEM_PACK:
		/* bpf_prog_pack_alloc(); data is the module loader's own. */
		if (text) {
			a.addr = pack_alloc(xm, cpu, size, &reserved, &kind);
			a.rox = true;
		}
		break;
	case VMLAB_EXECMEM_SPLIT_RANGE:
		a.addr = split_alloc(xm, cpu, type, size, &reserved, &kind);
		a.rox = text;
		break;
	case VMLAB_EXECMEM_ROX_CACHE:
		if (rox_serves(xm, type)) {
			a.addr = rox_alloc(xm, cpu, type, size);
			reserved = size;
			kind = XM_CACHE;
			a.rox = true;
		}
		break;
	default:
		break;
	}
	a.kind = (u8)kind;
	bool served = kind == XM_TAIL ||
		      xm->cfg.allocator == VMLAB_EXECMEM_SPLIT_RANGE ||
		      (xm->cfg.allocator == VMLAB_EXECMEM_PACK && text) ||
		      (xm->cfg.allocator == VMLAB_EXECMEM_ROX_CACHE &&
		       rox_serves(xm, type));
	if (!served) {
		/* module_alloc(): RW now, finalize() makes text RO+X. */
		a.addr = area_alloc(xm, cpu, type, size, &reserved);
		a.kind = XM_AREA;
		a.rox = false;
	}
	assert(!a.addr || xm_reserved(&a, xm->chunk_shift) == reserved);
	if (a.addr && a.kind == XM_AREA)
		xm->area_bytes += reserved;
	if (a.addr && xm_insert(xm, &a)) {
		vmlab_warn(m, "execmem_alloc: no memory for bookkeeping");
		a.addr = 0;
	}
	mutex_unlock(m, cpu, &xm->lock);
	return a.addr;
}

int vmlab_execmem_free(struct vmlab_machine *m, int cpu, u64 addr)
{
	if (!args_ok(m, cpu, "execmem_free"))
		return -VMLAB_EINVAL;
	struct execmem *xm = xm_state(m);
	struct xm_alloc *p = xm ? xm_lookup(xm, addr) : NULL;
	if (!p) {
		vmlab_warn(m, "execmem_free: %#llx was not allocated by "
			      "execmem (or is already free)",
			   (unsigned long long)addr);
		return -VMLAB_EINVAL;
	}
	vmlab_checker_set_op(m, cpu, "execmem_free");
	mutex_lock(m, cpu, &xm->lock);
	struct xm_alloc a = *p;
	xm_remove(xm, addr);
	int err = 0;
	switch (a.kind) {
	case XM_PACK:
		err = pack_free(xm, cpu, a.addr, a.size);
		break;
	case XM_SPLIT:
		err = split_free(xm, cpu, &a);
		break;
	case XM_CACHE:
		err = rox_free(xm, cpu, &a);
		break;
	case XM_TAIL:
		err = ktext_free(xm, cpu, &a);
		break;
	default:
		if (xm->cfg.allocator == VMLAB_EXECMEM_SPLIT_RANGE &&
		    !xm_is_text(a.type)) {
			err = split_free(xm, cpu, &a);
			break;
		}
		/* VM_FLUSH_RESET_PERMS does the rest. */
		vmlab_vfree(m, cpu, a.addr);
		xm->area_bytes -= xm_reserved(&a, xm->chunk_shift);
		xm->nr_areas--;
		break;
	}
	mutex_unlock(m, cpu, &xm->lock);
	return err;
}

bool vmlab_execmem_is_rox(struct vmlab_machine *m, enum vmlab_execmem_type t)
{
	struct execmem *xm = m ? xm_get(m) : NULL;
	if (!xm || (unsigned)t >= VMLAB_EXECMEM_TYPE_MAX)
		return false;
	switch (xm->cfg.allocator) {
	case VMLAB_EXECMEM_PACK:
	case VMLAB_EXECMEM_SPLIT_RANGE:
		return xm_is_text(t);
	case VMLAB_EXECMEM_ROX_CACHE:
		return rox_serves(xm, t);
	default:
		return false;
	}
}

int vmlab_execmem_update_copy(struct vmlab_machine *m, int cpu, u64 addr,
			      u64 off, const void *src, u64 len)
{
	if (!args_ok(m, cpu, "execmem_update_copy"))
		return -VMLAB_EINVAL;
	struct execmem *xm = xm_state(m);
	struct xm_alloc *a = xm ? xm_lookup(xm, addr) : NULL;
	if (!a || !src || !len || off > a->size || len > a->size - off) {
		vmlab_warn(m, "execmem_update_copy: bad range %#llx+%llu/%llu",
			   (unsigned long long)addr, (unsigned long long)off,
			   (unsigned long long)len);
		return -VMLAB_EINVAL;
	}
	if (a->rox)
		return vmlab_text_poke_copy(m, cpu, addr + off, src, len);
	vmlab_checker_set_op(m, cpu, "execmem write (RW)");
	const u8 *s = src;
	for (u64 done = 0; done < len;) {
		u64 n = len - done < VMLAB_MiB ? len - done : VMLAB_MiB;
		int err = vmlab_write(m, cpu, addr + off + done, s + done, n,
				      NULL);
		if (err)
			return err;
		done += n;
	}
	return 0;
}

int vmlab_execmem_finalize(struct vmlab_machine *m, int cpu, u64 addr)
{
	if (!args_ok(m, cpu, "execmem_finalize"))
		return -VMLAB_EINVAL;
	struct execmem *xm = xm_state(m);
	struct xm_alloc *a = xm ? xm_lookup(xm, addr) : NULL;
	if (!a) {
		vmlab_warn(m, "execmem_finalize: %#llx not from execmem_alloc",
			   (unsigned long long)addr);
		return -VMLAB_EINVAL;
	}
	if (a->rox || !xm_is_text(a->type))
		return 0;
	mutex_lock(m, cpu, &xm->lock);
	int err = area_finalize(xm, cpu, a);
	mutex_unlock(m, cpu, &xm->lock);
	return err;
}

/* ----------------------------------------------------- figures */

void vmlab_execmem_stats(struct vmlab_machine *m,
			 struct vmlab_execmem_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct execmem *xm = m ? xm_get(m) : NULL;
	if (!xm)
		return;
	out->allocator = xm->cfg.allocator;
	out->nr_live = xm->live.nr;
	out->live_bytes = xm->live_bytes;
	out->reserved_bytes = xm->area_bytes + pack_reserved(xm) +
			      (xm->x_end - xm->x_base) + rox_reserved(xm) +
			      (xm->kt ? xm->kt->used : 0);
	out->wasted_bytes = out->reserved_bytes > out->live_bytes
				    ? out->reserved_bytes - out->live_bytes
				    : 0;
	out->nr_packs = xm->cfg.allocator == VMLAB_EXECMEM_ROX_CACHE
				? xm->nr_cache
				: xm->nr_packs;
	out->nr_vmalloc_areas = xm->nr_areas;
	out->text_pokes = xm->poke.text_pokes;
	out->bytes_poked = xm->poke.bytes;
	out->temp_mm_switches = xm->poke.switches;
	out->poke_flushes = xm->poke.flushes;
	out->x_boundary = xm->x_end;
	out->data_low = xm->data_low;
	out->boundary_grows = xm->boundary_grows;
	out->pack_track_bytes = pack_track_bytes(xm, &out->pack_track_nodes,
						 &out->pack_used_bytes);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;
	return x < y ? -1 : x > y;
}

bool xm_cover_range(struct vmlab_machine *m, struct xm_leaves *lv, u64 start,
		    u64 end)
{
	assert(start < end);
	for (u64 va = start & VMLAB_PAGE_MASK; va < end;) {
		u64 pa;
		vmlab_pgprot_t prot;
		int level;
		if (vmlab_translate(m, vmlab_init_mm(m), va, &pa, &prot,
				    &level)) {
			va += VMLAB_PAGE_SIZE;
			continue;
		}
		u64 sz = vmlab_level_size(level);
		if (lv->n == lv->cap) {
			u64 *nv = host_realloc(m, lv->v, 2 * lv->cap * sizeof(*nv));
			if (!nv)
				return false;
			lv->v = nv;
			lv->cap *= 2;
		}
		lv->v[lv->n++] = (va & ~(sz - 1)) | (level > 0);
		va = (va & ~(sz - 1)) + sz;
	}
	return true;
}

/* Leaf bases of every page a live text allocation (and the kernel
 * image's text, when mapped) touches, sorted and counted once each. */
void vmlab_execmem_text_cover(struct vmlab_machine *m, u64 *pages_4k,
			      u64 *pages_2m)
{
	*pages_4k = *pages_2m = 0;
	struct execmem *xm = m ? xm_state(m) : NULL;
	if (!xm || (!xm->live.nr && !xm->kt))
		return;
	struct xm_leaves lv = {host_malloc(m, 1024 * sizeof(u64)), 0, 1024};
	if (!lv.v)
		return;
	bool ok = !xm->kt || xm_cover_range(m, &lv, xm->kt->text, xm->kt->etext);
	for (u64 i = 0; ok && i < xm->live.cap; i++) {
		const struct xm_alloc *a = &xm->live.slot[i];
		if (a->addr && xm_is_text(a->type))
			ok = xm_cover_range(m, &lv, a->addr, a->addr + a->size);
	}
	if (ok) {
		qsort(lv.v, lv.n, sizeof(*lv.v), cmp_u64);
		for (size_t i = 0; i < lv.n; i++) {
			if (i && lv.v[i] == lv.v[i - 1])
				continue;
			if (lv.v[i] & 1)
				++*pages_2m;
			else
				++*pages_4k;
		}
	}
	free(lv.v);
}
