/* SPDX-License-Identifier: MIT */
/*
 * Generic KASAN's shadow memory, after mm/kasan/shadow.c and
 * arch/x86/mm/kasan_init_64.c with CONFIG_KASAN_VMALLOC: the shadow
 * layout, boot-time shadow of the direct map, kasan_populate_vmalloc(),
 * poisoning, and kasan_release_vmalloc() in its three variants (see
 * enum vmlab_kasan_release).  The access check and the reports are in
 * kasan_report.c.
 *
 * The boot-time layout (early shadow, the direct map's real shadow) is
 * kasan_init.c's.
 */
#include <stdlib.h>

#include "services/kasan_internal.h"
#include "services/vmalloc_internal.h"
#include "vmlab/directmap.h"
#include "vmlab/observer.h"

#define SPAN VMLAB_KASAN_SHADOW_PAGE_SPAN
/* The model keeps a real direct-map shadow for at most this much RAM. */
#define KASAN_MAX_MEM (64 * VMLAB_GiB)

static inline u64 align_up(u64 x, u64 a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline u64 align_down(u64 x, u64 a)
{
	return x & ~(a - 1);
}

static const char *const release_names[VMLAB_NR_KASAN_RELEASE] = {
	[VMLAB_KASAN_RELEASE_FIXED] = "fixed",
	[VMLAB_KASAN_RELEASE_SEED_V6] = "seed-v6",
	[VMLAB_KASAN_RELEASE_NO_EXTEND] = "no-extend",
};

const char *vmlab_kasan_release_name(enum vmlab_kasan_release r)
{
	return (unsigned)r < VMLAB_NR_KASAN_RELEASE ? release_names[r] : "?";
}

int vmlab_kasan_release_parse(const char *name, enum vmlab_kasan_release *out)
{
	if (!name || !out)
		return -VMLAB_EINVAL;
	for (int i = 0; i < VMLAB_NR_KASAN_RELEASE; i++) {
		if (!strcmp(name, release_names[i])) {
			*out = (enum vmlab_kasan_release)i;
			return 0;
		}
	}
	return -VMLAB_EINVAL;
}

/* CONFIG_KASAN_SHADOW_OFFSET: the architecture's (its va layout). */
static u64 arch_shadow_offset(const char *arch)
{
	const struct vmlab_va_layout *l = vmlab_arch_layout(arch);

	return l ? l->kasan_shadow_offset : 0;
}

const char *vmlab_kasan_config_error(const struct vmlab_config *cfg)
{
	if (!cfg)
		return "no configuration";
	if (!cfg->kasan)
		return NULL;
	if ((unsigned)cfg->kasan_release >= VMLAB_NR_KASAN_RELEASE)
		return "kasan_release must be \"seed-v6\", \"fixed\" or "
		       "\"no-extend\"";
	if (!arch_shadow_offset(cfg->arch))
		return "KASAN has no shadow offset for this architecture";
	if (cfg->mem_bytes > KASAN_MAX_MEM)
		return "KASAN maps real shadow (1/8 of RAM) for the direct map "
		       "at boot: the model holds it for at most 64 GiB of RAM";
	return NULL;
}

bool kasan_is_vmalloc_or_module(const struct kasan_state *ks, u64 addr)
{
	const struct vmlab_va_layout *l = ks->layout;

	return (addr >= l->vmalloc_start && addr <= l->vmalloc_end) ||
	       (addr >= l->modules_vaddr && addr < l->modules_end);
}

bool vmlab_kasan_enabled(const struct vmlab_machine *m)
{
	return m && m->svc[VMLAB_SVC_KASAN];
}

u64 vmlab_kasan_mem_to_shadow(const struct vmlab_machine *m, u64 addr)
{
	const struct kasan_state *ks = m ? m->svc[VMLAB_SVC_KASAN] : NULL;

	return ks ? kasan_shadow(ks, addr) : 0;
}

void vmlab_kasan_shadow_region(const struct vmlab_machine *m, u64 *start,
			       u64 *end)
{
	const struct kasan_state *ks = m ? m->svc[VMLAB_SVC_KASAN] : NULL;

	if (start)
		*start = ks ? ks->shadow_start : 0;
	if (end)
		*end = ks ? ks->shadow_end : 0;
}

int kasan_peek(struct kasan_state *ks, u64 shadow_addr, u8 *out)
{
	u64 pa;

	assert(ks && out);
	if (vmlab_translate(ks->m, vmlab_init_mm(ks->m), shadow_addr, &pa, NULL,
			    NULL))
		return -VMLAB_ENOENT;
	vmlab_phys_read(ks->m, pa, out, 1);
	return 0;
}

int vmlab_kasan_shadow_byte(struct vmlab_machine *m, u64 addr, u8 *out)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !out)
		return -VMLAB_EINVAL;
	return kasan_peek(ks, kasan_shadow(ks, addr), out);
}

bool vmlab_kasan_shadow_mapped(struct vmlab_machine *m, u64 addr)
{
	u8 b;

	return vmlab_kasan_shadow_byte(m, addr, &b) == 0;
}

/* ------------------------------------------------------------- poison */

/*
 * kasan_poison(): a memset of the shadow through the shadow's virtual
 * address, as the kernel does it: the CPU's TLB caches the shadow
 * translation, which is what makes a missing flush at release matter.
 */
static void shadow_set(struct kasan_state *ks, int cpu, u64 sh, u64 len,
		       u8 value)
{
	static const size_t chunk = 4096;
	u8 buf[4096];
	struct vmlab_fault f;

	assert(ks && sh >= ks->shadow_start && sh + len <= ks->shadow_end);
	memset(buf, value, sizeof(buf));
	while (len) {
		size_t n = len < chunk ? (size_t)len : chunk;

		n = n < VMLAB_PAGE_SIZE - (sh & (VMLAB_PAGE_SIZE - 1))
			    ? n
			    : (size_t)(VMLAB_PAGE_SIZE - (sh & (VMLAB_PAGE_SIZE - 1)));
		if (vmlab_write(ks->m, cpu, sh, buf, n, &f)) {
			kasan_report_fault(ks, cpu, kasan_shadow_to_mem(ks, sh),
					   sh, "kasan_poison");
			return;
		}
		sh += n;
		len -= n;
	}
}

static bool poison_args_ok(struct kasan_state *ks, u64 addr, u64 size)
{
	if ((addr | size) & (VMLAB_KASAN_GRANULE_SIZE - 1)) {
		vmlab_warn(ks->m, "WARNING: kasan_poison(): %#llx + %llu is "
				  "not granule-aligned",
			   (unsigned long long)addr, (unsigned long long)size);
		return false;
	}
	if (addr + size < addr ||
	    kasan_shadow(ks, addr) < ks->shadow_start ||
	    kasan_shadow(ks, addr + size) > ks->shadow_end) {
		vmlab_warn(ks->m, "WARNING: kasan_poison(): %#llx has no "
				  "shadow",
			   (unsigned long long)addr);
		return false;
	}
	return true;
}

static void poison(struct kasan_state *ks, int cpu, u64 addr, u64 size,
		   u8 value)
{
	assert(!((addr | size) & (VMLAB_KASAN_GRANULE_SIZE - 1)));
	if (size)
		shadow_set(ks, cpu, kasan_shadow(ks, addr),
			   size >> VMLAB_KASAN_SHADOW_SCALE_SHIFT, value);
}

/* kasan_unpoison(): whole granules, then the partial one's length. */
static void unpoison(struct kasan_state *ks, int cpu, u64 addr, u64 size)
{
	u64 whole = size & ~(VMLAB_KASAN_GRANULE_SIZE - 1);

	assert(!(addr & (VMLAB_KASAN_GRANULE_SIZE - 1)));
	poison(ks, cpu, addr, whole, 0);
	if (size & (VMLAB_KASAN_GRANULE_SIZE - 1))
		shadow_set(ks, cpu, kasan_shadow(ks, addr + whole), 1,
			   (u8)(size & (VMLAB_KASAN_GRANULE_SIZE - 1)));
}

void vmlab_kasan_poison(struct vmlab_machine *m, int cpu, u64 addr, u64 size,
			u8 value)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !cpu_ok(m, cpu, "kasan_poison") ||
	    !poison_args_ok(ks, addr, size))
		return;
	poison(ks, cpu, addr, size, value);
}

void vmlab_kasan_unpoison(struct vmlab_machine *m, int cpu, u64 addr,
			  u64 size)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !cpu_ok(m, cpu, "kasan_unpoison") ||
	    !poison_args_ok(ks, addr, align_up(size, VMLAB_KASAN_GRANULE_SIZE)))
		return;
	unpoison(ks, cpu, addr, size);
}

/* ----------------------------------------------- vmalloc: populate */

static bool shadow_present(struct kasan_state *ks, u64 sva)
{
	u64 pa;

	return vmlab_translate(ks->m, vmlab_init_mm(ks->m), sva, &pa, NULL,
			       NULL) == 0;
}

/*
 * kasan_populate_vmalloc_pte(): a page filled with "vmalloc unmapped"
 * poison, installed only if nobody did it meanwhile (the check is
 * repeated under init_mm.page_table_lock, where another CPU populating a
 * neighbour sharing this shadow page may have won).
 */
static int populate_pte(struct kasan_state *ks, int cpu, u64 sva)
{
	struct vmlab_machine *m = ks->m;
	u64 pfn;
	int err = 0;

	if (shadow_present(ks, sva)) {
		ks->st.populate_skipped++;
		return 0;
	}
	if (vmlab_alloc_pages(m, cpu, 0, &pfn))
		return -VMLAB_ENOMEM;
	vmlab_phys_fill(m, pfn << VMLAB_PAGE_SHIFT, VMLAB_KASAN_VMALLOC_INVALID,
			VMLAB_PAGE_SIZE);
	bool unlocked = vmlab_mutant(m, VMLAB_MUT_KASAN_POPULATE_UNLOCKED);
	bool mine;
	if (unlocked) {
		/* The bug: no lock, no second look; the first look above
		 * decides, and set_pte_at() overwrites what another CPU
		 * installed meanwhile. */
		sched_point(m, cpu, "kasan_populate_vmalloc_pte (no lock)");
		mine = true;
		err = vmlab_map_range(m, vmlab_init_mm(m), sva,
				      pfn << VMLAB_PAGE_SHIFT, VMLAB_PAGE_SIZE,
				      VMLAB_PAGE_KERNEL, VMLAB_MAP_REPLACE);
	} else {
		vmlab_lock_acquire(m, cpu, &ks->page_table_lock,
				   "spin_lock init_mm.page_table_lock");
		mine = !shadow_present(ks, sva);
		if (mine)
			err = vmlab_map_range(m, vmlab_init_mm(m), sva,
					      pfn << VMLAB_PAGE_SHIFT,
					      VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL,
					      0);
		vmlab_lock_release(m, cpu, &ks->page_table_lock,
				   "spin_unlock init_mm.page_table_lock");
	}
	if (!mine || err) {
		ks->st.populate_raced += !mine;
		vmlab_free_pages(m, cpu, pfn, 0);
		return err;
	}
	ks->st.shadow_pages_mapped++;
	ks->st.shadow_pages_populated++;
	assert(shadow_present(ks, sva));
	return 0;
}

int kasan_populate_vmalloc(struct vmlab_machine *m, int cpu, u64 addr,
			   u64 size)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !kasan_is_vmalloc_or_module(ks, addr))
		return 0;
	assert(size && !(addr & ~VMLAB_PAGE_MASK));
	u64 s = align_down(kasan_shadow(ks, addr), VMLAB_PAGE_SIZE);
	u64 e = align_up(kasan_shadow(ks, addr + size), VMLAB_PAGE_SIZE);
	int err = 0;

	ks->populating++;
	for (u64 sva = s; sva < e && !err; sva += VMLAB_PAGE_SIZE) {
		err = populate_pte(ks, cpu, sva);
		if (err) {
			/* What was mapped stays: a later release frees it. */
			ks->st.populate_failures++;
			vmlab_warn(m, "kasan_populate_vmalloc: no memory for the "
				      "shadow of %#llx",
				   (unsigned long long)addr);
		}
	}
	assert(ks->populating > 0);
	ks->populating--;
	return err;
}

void kasan_unpoison_vmalloc(struct vmlab_machine *m, int cpu, u64 addr,
			    u64 size, const char *caller)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !kasan_is_vmalloc_or_module(ks, addr) || !size)
		return;
	assert(!(addr & ~VMLAB_PAGE_MASK));
	unpoison(ks, cpu, addr, size);
	kasan_hist_alloc(ks, cpu, addr, addr + align_up(size, VMLAB_PAGE_SIZE),
			 size, caller);
}

void kasan_poison_vmalloc(struct vmlab_machine *m, int cpu, u64 addr,
			  u64 size)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !kasan_is_vmalloc_or_module(ks, addr) || !size)
		return;
	poison(ks, cpu, addr, align_up(size, VMLAB_KASAN_GRANULE_SIZE),
	       VMLAB_KASAN_VMALLOC_INVALID);
	kasan_hist_free(ks, cpu, addr);
}

/* ------------------------------------------------ vmalloc: release */

/*
 * Is any live vmap area inside the memory a shadow page describes?  The
 * release must never free such a page (checked when the checker is on:
 * the no-align mutant breaks it).
 */
static bool shadow_page_in_use(struct kasan_state *ks, u64 sva)
{
	struct vmalloc_state *vs = vm_state(ks->m);
	u64 lo = kasan_shadow_to_mem(ks, sva);
	struct vmlab_vmap_area *va =
	    vs ? vmlab_vmap_busy_find_exceed(vs->tree, lo) : NULL;

	return va && va->va_start < lo + SPAN;
}

/* The seed's region arithmetic, per variant (and the no-align mutant). */
static void release_region(const struct kasan_state *ks, u64 start, u64 end,
			   u64 free_start, u64 free_end, u64 *rs, u64 *re)
{
	if (vmlab_mutant(ks->m, VMLAB_MUT_KASAN_RELEASE_NO_ALIGN)) {
		/* Every shadow page the area touched, shared or not. */
		*rs = align_down(start, SPAN);
		*re = align_up(end, SPAN);
		return;
	}
	/* Only shadow entirely covered by the freed range... */
	*rs = align_up(start, SPAN);
	*re = align_down(end, SPAN);
	if (ks->release == VMLAB_KASAN_RELEASE_NO_EXTEND)
		return;
	/* ...plus the partly covered page at either end when the whole free
	 * block around the range covers it (not the whole block: it may
	 * span terabytes never used). */
	if (start != *rs && align_up(free_start, SPAN) < *rs)
		*rs -= SPAN;
	if (end != *re && align_down(free_end, SPAN) > *re)
		*re += SPAN;
}

struct release_batch {
	u64 *pfns;
	size_t n, cap;
};

static void batch_add(struct vmlab_machine *m, struct release_batch *b,
		      u64 pfn)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		u64 *p = host_realloc(m, b->pfns, cap * sizeof(*p));

		if (!p) {
			/* Keeping the page mapped-out but allocated is safe. */
			vmlab_warn(m, "kasan_release_vmalloc: out of memory");
			return;
		}
		b->pfns = p;
		b->cap = cap;
	}
	b->pfns[b->n++] = pfn;
}

/*
 * kasan_depopulate_vmalloc_pte(): clear one shadow PTE under
 * init_mm.page_table_lock.  seed-v6 frees the page right there; the
 * fixed variants keep it until the shadow range is flushed.
 */
static void depopulate_pte(struct kasan_state *ks, int cpu, u64 sva,
			   bool flush, struct release_batch *b)
{
	struct vmlab_machine *m = ks->m;
	struct vmlab_mm *mm = vmlab_init_mm(m);
	struct vmlab_pte_info in;
	vmlab_ptep_t ptep;

	if (vmlab_lookup_entry(m, mm, sva, VMLAB_LVL_PTE, &ptep))
		return; /* no PTE table: apply_to_existing skips the hole */
	vmlab_lock_acquire(m, cpu, &ks->page_table_lock,
			   "spin_lock init_mm.page_table_lock");
	vmlab_pte_decode(m, vmlab_get_entry(m, ptep), VMLAB_LVL_PTE, &in);
	if (in.kind == VMLAB_PTE_LEAF && in.pfn == ks->early_page) {
		/* Only with the vmalloc shadow on the early shadow (a mutant):
		 * the shared page is never the release's to free. */
		vmlab_warn(m, "kasan_release_vmalloc: the shadow at %#llx is "
			      "the early shadow page",
			   (unsigned long long)sva);
	} else if (in.kind == VMLAB_PTE_LEAF) {
		if (vmlab_checker_enabled(m) && shadow_page_in_use(ks, sva))
			kasan_report_fault(ks, cpu, kasan_shadow_to_mem(ks, sva),
					   sva, "kasan_release_vmalloc");
		vmlab_set_entry(m, mm, sva, VMLAB_LVL_PTE, ptep, 0);
		assert(ks->st.shadow_pages_mapped > 0);
		ks->st.shadow_pages_mapped--;
		ks->st.shadow_pages_freed++;
		if (flush) {
			batch_add(m, b, in.pfn);
		} else {
			ks->st.freed_without_flush++;
			vmlab_free_pages(m, cpu, in.pfn, 0);
		}
	}
	vmlab_lock_release(m, cpu, &ks->page_table_lock,
			   "spin_unlock init_mm.page_table_lock");
}

static void late_add(struct kasan_state *ks, u64 start, u64 end,
		     u64 free_start, u64 free_end)
{
	struct kasan_late *l = &ks->late;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct kasan_late_rel *p =
			host_realloc(ks->m, l->rel, cap * sizeof(*p));

		if (!p) {
			vmlab_warn(ks->m, "kasan_release_vmalloc: out of memory");
			return; /* the shadow stays mapped: a leak, not a bug */
		}
		l->rel = p;
		l->cap = cap;
	}
	l->rel[l->n++] = (struct kasan_late_rel){start, end, free_start,
						  free_end};
	assert(l->n <= l->cap);
}

static void release_now(struct kasan_state *ks, int cpu, u64 start, u64 end,
			u64 free_start, u64 free_end);

void kasan_release_vmalloc(struct vmlab_machine *m, int cpu, u64 start,
			   u64 end, u64 free_start, u64 free_end)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || !kasan_is_vmalloc_or_module(ks, start))
		return;
	assert(start < end && free_start <= start && end <= free_end);
	if (vmlab_mutant(m, VMLAB_MUT_KASAN_RELEASE_UNLOCKED))
		late_add(ks, start, end, free_start, free_end);
	else
		release_now(ks, cpu, start, end, free_start, free_end);
}

bool kasan_release_take(struct vmlab_machine *m, struct kasan_late *out)
{
	struct kasan_state *ks = kasan_state(m);

	assert(out);
	*out = (struct kasan_late){0};
	if (!ks || !ks->late.n)
		return false;
	*out = ks->late;
	ks->late = (struct kasan_late){0};
	return true;
}

void kasan_release_run(struct vmlab_machine *m, int cpu,
		       struct kasan_late *batch)
{
	struct kasan_state *ks = kasan_state(m);

	assert(ks && batch);
	for (size_t i = 0; i < batch->n; i++) {
		const struct kasan_late_rel *r = &batch->rel[i];

		release_now(ks, cpu, r->start, r->end, r->free_start,
			    r->free_end);
	}
	free(batch->rel);
	*batch = (struct kasan_late){0};
}

static void release_now(struct kasan_state *ks, int cpu, u64 start, u64 end,
			u64 free_start, u64 free_end)
{
	struct vmlab_machine *m = ks->m;
	u64 rs, re;

	assert(start < end && free_start <= start && end <= free_end);
	ks->st.releases++;
	ks->st.releases_during_populate += ks->populating > 0;
	release_region(ks, start, end, free_start, free_end, &rs, &re);
	if (re <= rs)
		return;
	u64 ss = kasan_shadow(ks, rs), se = kasan_shadow(ks, re);
	bool flush = ks->release != VMLAB_KASAN_RELEASE_SEED_V6 &&
		     !vmlab_mutant(m, VMLAB_MUT_KASAN_RELEASE_NO_FLUSH);
	struct release_batch b = {0};

	assert(!(ss & ~VMLAB_PAGE_MASK) && !(se & ~VMLAB_PAGE_MASK));
	for (u64 sva = ss; sva < se; sva += VMLAB_PAGE_SIZE)
		depopulate_pte(ks, cpu, sva, flush, &b);
	if (flush && b.n) {
		/* The review's TLB maintenance: no CPU may reach the pages
		 * (or cache them beside a new mapping of the same VA) once
		 * they are free. */
		vmlab_flush_tlb_kernel_range(m, cpu, ss, se);
		ks->st.release_flushes++;
	}
	for (size_t i = 0; i < b.n; i++)
		vmlab_free_pages(m, cpu, b.pfns[i], 0);
	free(b.pfns);
}

/* --------------------------------------------------------- figures */

void vmlab_kasan_stats(struct vmlab_machine *m, struct vmlab_kasan_stats *out)
{
	struct kasan_state *ks = kasan_state(m);
	struct vmalloc_state *vs = vm_state(m);

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!ks)
		return;
	*out = ks->st;
	out->shadow_pages_shared = 0;
	out->shadow_pages_one_per_area = 0;
	out->vmalloc_bytes_live = 0;
	if (!vs)
		return;
	/* Busy areas in address order: their shadow pages never go down. */
	u64 last = 0, users = 0;
	for (struct vmlab_vmap_area *va = vmlab_vmap_busy_first(vs->tree); va;
	     va = vmlab_vmap_busy_next(vs->tree, va)) {
		if (!kasan_is_vmalloc_or_module(ks, va->va_start))
			continue;
		u64 s = align_down(kasan_shadow(ks, va->va_start),
				   VMLAB_PAGE_SIZE);
		u64 e = align_up(kasan_shadow(ks, va->va_end), VMLAB_PAGE_SIZE);
		out->vmalloc_bytes_live += va->va_end - va->va_start;
		out->shadow_pages_one_per_area += (e - s) >> VMLAB_PAGE_SHIFT;
		for (u64 p = s; p < e; p += VMLAB_PAGE_SIZE) {
			if (p == last) {
				if (++users == 2)
					out->shadow_pages_shared++;
				continue;
			}
			assert(!last || p > last);
			last = p;
			users = 1;
		}
	}
}

/* ------------------------------------------------------ observers */

/* The instrumentation: every kernel-mode load and store (instruction
 * fetches and user-mode code are not instrumented). */
static void obs_access(void *ctx, struct vmlab_machine *m, int cpu,
		       enum vmlab_access kind, u64 va, size_t len, u32 flags)
{
	(void)ctx;
	if (kind == VMLAB_FETCH || (flags & VMLAB_ACC_USER))
		return;
	vmlab_kasan_check(m, cpu, va, len, kind == VMLAB_WRITE);
}

/*
 * kasan_poison_pages()/kasan_unpoison_pages() of the page allocator: the
 * direct-map shadow of a freed block says KASAN_PAGE_FREE, of an
 * allocated one "accessible".  Written through the direct map's shadow
 * pages physically (the allocator has no CPU context here).
 */
static void dm_shadow_fill(struct kasan_state *ks, u64 pfn, int order, u8 v)
{
	struct vmlab_machine *m = ks->m;
	u64 s = kasan_shadow(ks, vmlab_page_address(m, pfn));
	u64 e = s + ((VMLAB_PAGE_SIZE << order) >> VMLAB_KASAN_SHADOW_SCALE_SHIFT);

	assert(s >= ks->dm_shadow_start && e <= ks->dm_shadow_end);
	while (s < e) {
		u64 pa, n = VMLAB_PAGE_SIZE - (s & (VMLAB_PAGE_SIZE - 1));

		n = n < e - s ? n : e - s;
		if (vmlab_translate(m, vmlab_init_mm(m), s, &pa, NULL, NULL) == 0)
			vmlab_phys_fill(m, pa, v, (size_t)n);
		s += n;
	}
}

static void obs_frame_alloc(void *ctx, struct vmlab_machine *m, u64 pfn,
			    int order)
{
	(void)m;
	dm_shadow_fill(ctx, pfn, order, 0);
}

static void obs_frame_free(void *ctx, struct vmlab_machine *m, int cpu,
			   u64 pfn, int order)
{
	(void)m;
	(void)cpu;
	dm_shadow_fill(ctx, pfn, order, VMLAB_KASAN_PAGE_FREE);
}

/* The observer, per machine: its inline shadow offset is the arch's. */
static void observer_init(struct kasan_state *ks)
{
	ks->obs = (struct vmlab_observer){
		.name = "kasan",
		.access = obs_access,
		.frame_alloc = obs_frame_alloc,
		.frame_free = obs_frame_free,
		/* obs_access allows an aligned 8-byte kernel access whose
		 * shadow byte is 0 and does nothing else then. */
		.inline_shadow_offset = ks->offset,
	};
}

/* ------------------------------------------------------------- boot */

static void kasan_destroy(struct vmlab_machine *m)
{
	struct kasan_state *ks = kasan_state(m);

	assert(ks);
	vmlab_observer_unregister(m, &ks->obs, ks);
	free(ks->late.rel);
	free(ks->dm_blocks);
	free(ks);
	svc_set(m, VMLAB_SVC_KASAN, NULL, NULL);
}

int vmlab_kasan_init(struct vmlab_machine *m)
{
	const struct vmlab_config *cfg = vmlab_machine_config(m);
	const char *why = vmlab_kasan_config_error(cfg);
	struct kasan_state *ks;

	if (why) {
		vmlab_warn(m, "kasan: %s", why);
		return -VMLAB_EINVAL;
	}
	if (kasan_state(m))
		return -VMLAB_EEXIST;
	assert(m->dm_end > m->dm_start);
	ks = host_calloc(m, 1, sizeof(*ks));
	if (!ks)
		return -VMLAB_ENOMEM;
	ks->m = m;
	ks->layout = vmlab_layout(m);
	ks->offset = ks->layout->kasan_shadow_offset;
	ks->release = (enum vmlab_kasan_release)cfg->kasan_release;
	/* KASAN_SHADOW_START .. _END of the architecture. */
	ks->shadow_start = ks->layout->kasan_shadow_start;
	ks->shadow_end = ks->layout->kasan_shadow_end;
	ks->dm_shadow_start = kasan_shadow(ks, m->dm_start);
	ks->dm_shadow_end = align_up(kasan_shadow(ks, m->dm_end),
				     VMLAB_PAGE_SIZE);
	svc_set(m, VMLAB_SVC_KASAN, ks, kasan_destroy);
	int err = kasan_init_shadow(ks);
	if (err) {
		vmlab_warn(m, "kasan: no memory for the boot-time shadow");
		return err; /* the machine goes, and the state with it */
	}
	observer_init(ks);
	err = vmlab_observer_register(m, &ks->obs, ks);
	if (err)
		return err;
	/* The vmalloc and module shadow is left unmapped. */
	assert(vmlab_mutant(m, VMLAB_MUT_KASAN_VMALLOC_EARLY_SHADOW) ||
	       !shadow_present(ks, kasan_shadow(ks, ks->layout->vmalloc_start)));
	assert(ks->shadow_start <= ks->dm_shadow_start &&
	       ks->dm_shadow_end <= ks->shadow_end);
	return 0;
}
