/* SPDX-License-Identifier: MIT */
/*
 * Determinism: a run is a pure function of its configuration and seed.
 *
 * A mixed workload (kernel and user mappings, 2 MiB leaves and splits,
 * flushed and unflushed unmaps and protection changes, accesses from every
 * CPU, address-space switches and lazy TLB, range / single / global
 * flushes, deferred work, page allocation, vmalloc and vfree) is driven by
 * the machine's own PRNG, vmlab_rand().  Run twice, on two machines, with
 * the host heap laid out differently, it gives the same trace hash, event
 * count, reports, free-page count, data, stats dump and every counter of
 * every CPU.  Another seed gives another trace.  Two machines alive at
 * once, their operations interleaved, each give exactly what they give
 * alone.
 */
#include <stdlib.h>

#include "helpers.h"

#define KSLOTS 16
#define USLOTS 16
/* Hand-made mappings far above where vmalloc's lowest fit allocates. */
#define HAND_VA (KVA + 16 * VMLAB_TiB)
#define HUGE_VA (HAND_VA + 64 * VMLAB_MiB) /* one 2 MiB region */
#define SLOT_VA (HAND_VA + 4 * VMLAB_MiB)  /* 4 KiB slots */
#define NR_VAREAS 8
#define USER_VA 0x400000ULL
#define MAXZ 256
#define MAXCPU 8

struct wl {
	struct vmlab_machine *m;
	int ncpu;
	u64 kpfn[KSLOTS]; /* 0: slot free */
	struct vmlab_mm *mm[2];
	u64 upfn[2][USLOTS];
	u64 huge_pfn; /* 0: region unmapped */
	u64 zombie[MAXZ]; /* unmapped without a flush, freed after one */
	int zorder[MAXZ];
	int nz;
	u64 pool[16]; /* plain allocations */
	int npool;
	u64 varea[NR_VAREAS]; /* vmalloc areas */
	int nvarea;
	int vmallocs; /* successful ones */
	struct vmlab_work work;
	int work_ran;
	u64 sum; /* checksum of everything read */
};

struct result {
	u64 hash, events, free_pages, warnings, sum, dump;
	size_t reports;
	u64 percpu[MAXCPU][VMLAB_NR_COUNTERS];
	struct vmlab_counters tot;
	double time_ns;
	int work_ran, vmallocs;
};

static void flush_work(struct vmlab_machine *m, int cpu, void *arg)
{
	struct wl *w = arg;
	w->work_ran++;
	vmlab_flush_tlb_all(m, cpu);
}

static int rcpu(struct wl *w)
{
	return (int)vmlab_rand_below(w->m, (u64)w->ncpu);
}

static u64 alloc_frame(struct wl *w, int cpu, int order)
{
	u64 pfn;
	if (vmlab_alloc_pages(w->m, cpu, order, &pfn))
		return 0;
	return pfn;
}

static void zombies_free(struct wl *w)
{
	for (int i = 0; i < w->nz; i++)
		vmlab_free_pages(w->m, 0, w->zombie[i], w->zorder[i]);
	w->nz = 0;
}

static void flush_all(struct wl *w, int cpu)
{
	vmlab_flush_tlb_all(w->m, cpu);
	zombies_free(w);
}

static void wl_boot(struct wl *w, u64 seed, int ncpu, u64 mem, bool checker)
{
	memset(w, 0, sizeof(*w));
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.seed = seed;
	cfg.nr_cpus = ncpu;
	cfg.mem_bytes = mem;
	cfg.checker = checker;
	assert_int_equal(vmlab_boot(&cfg, &w->m), 0);
	vmlab_set_quiet(w->m, true);
	w->ncpu = ncpu;
	assert_int_equal(vmlab_mm_create(w->m, &w->mm[0]), 0);
	assert_int_equal(vmlab_mm_create(w->m, &w->mm[1]), 0);
	w->work = (struct vmlab_work){.fn = flush_work, .arg = w,
				      .name = "test_flush"};
}

/* Unmap [va, va+size) of mm; with a flush the frame is freed after it,
 * without one it waits for the next global flush. */
static void unmap_one(struct wl *w, struct vmlab_mm *mm, int cpu, u64 va,
		      u64 size, u64 pfn, int order, bool flush)
{
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, mm, cpu);
	assert_true(vmlab_unmap_range(w->m, &tlb, va, size, flush) >= 0);
	if (flush || w->nz == MAXZ) {
		vmlab_tlb_remove_page(w->m, &tlb, pfn, order);
		vmlab_tlb_finish_mmu(w->m, &tlb);
		return;
	}
	w->zombie[w->nz] = pfn;
	w->zorder[w->nz++] = order;
}

static void step_kernel(struct wl *w, int cpu, u64 r)
{
	struct vmlab_machine *m = w->m;
	int s = (int)vmlab_rand_below(m, KSLOTS);
	u64 va = SLOT_VA + (u64)s * VMLAB_PAGE_SIZE;
	static const vmlab_pgprot_t prots[] = {
		VMLAB_PAGE_KERNEL, VMLAB_PAGE_KERNEL_RO, VMLAB_PAGE_KERNEL_ROX};
	switch (r % 8) {
	case 0: /* map */
		if (!w->kpfn[s]) {
			u64 pfn = alloc_frame(w, cpu, 0);
			vmlab_pgprot_t prot = prots[vmlab_rand_below(m, 3)];
			if (pfn && vmlab_map_range(m, vmlab_init_mm(m), va,
						   pfn << VMLAB_PAGE_SHIFT,
						   VMLAB_PAGE_SIZE, prot,
						   0) == 0)
				w->kpfn[s] = pfn;
			else if (pfn)
				vmlab_free_pages(m, cpu, pfn, 0);
		}
		break;
	case 1: /* unmap */
		if (w->kpfn[s]) {
			unmap_one(w, vmlab_init_mm(m), cpu, va, VMLAB_PAGE_SIZE,
				  w->kpfn[s], 0, vmlab_rand(m) & 1);
			w->kpfn[s] = 0;
		}
		break;
	case 2: { /* protect a few slots */
		struct vmlab_mmu_gather tlb;
		vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), cpu);
		u64 n = 1 + vmlab_rand_below(m, 4);
		if ((u64)s + n > KSLOTS)
			n = KSLOTS - (u64)s;
		bool rw = vmlab_rand(m) & 1;
		vmlab_protect_range(m, &tlb, va, n * VMLAB_PAGE_SIZE,
				    rw ? VMLAB_PAGE_RW | VMLAB_PAGE_NX : 0,
				    rw ? 0 : VMLAB_PAGE_RW);
		if (vmlab_rand(m) & 1)
			vmlab_tlb_finish_mmu(m, &tlb);
		break;
	}
	default: { /* access */
		u64 v = vmlab_rand(m);
		int kind = (int)vmlab_rand_below(m, 5);
		kind = kind > 2 ? VMLAB_READ : kind;
		struct vmlab_fault f;
		u64 off = 8 * (r % 500);
		int rc = vmlab_access(m, cpu, (enum vmlab_access)kind, va + off,
				      &v, 8, 0, &f);
		w->sum = w->sum * 31 + v + (u64)rc * 7 +
			 (rc ? f.error_code : 0);
		break;
	}
	}
}

static void step_huge(struct wl *w, int cpu, u64 r)
{
	struct vmlab_machine *m = w->m;
	switch (r % 6) {
	case 0:
	case 1:
		if (!w->huge_pfn) {
			u64 pfn = alloc_frame(w, cpu, 9);
			if (!pfn)
				break;
			/* A 2 MiB leaf, or 4 KiB pages where an emptied PTE
			 * table still sits in the PMD. */
			struct vmlab_mm *k = vmlab_init_mm(m);
			u64 pa = pfn << VMLAB_PAGE_SHIFT;
			int err = vmlab_map_range(m, k, HUGE_VA, pa,
						  VMLAB_PMD_SIZE,
						  VMLAB_PAGE_KERNEL,
						  VMLAB_MAP_HUGE_PMD);
			if (err == -VMLAB_EEXIST)
				err = vmlab_map_range(m, k, HUGE_VA, pa,
						      VMLAB_PMD_SIZE,
						      VMLAB_PAGE_KERNEL, 0);
			if (err == 0)
				w->huge_pfn = pfn;
			else
				vmlab_free_pages(m, cpu, pfn, 9);
		}
		break;
	case 2:
		vmlab_split_leaf(m, 0, vmlab_init_mm(m),
				 HUGE_VA + vmlab_rand_below(m, 512) * 4096,
				 VMLAB_LVL_PMD);
		break;
	case 3:
		if (w->huge_pfn) {
			unmap_one(w, vmlab_init_mm(m), cpu, HUGE_VA,
				  VMLAB_PMD_SIZE, w->huge_pfn, 9,
				  vmlab_rand(m) & 1);
			w->huge_pfn = 0;
		}
		break;
	default:
		break;
	}
	/* A sweep over many pages: TLB sets fill and entries get evicted. */
	int c = rcpu(w);
	u64 first = vmlab_rand_below(m, 512), n = 1 + vmlab_rand_below(m, 160);
	for (u64 i = 0; i < n; i++) {
		u64 v;
		u64 va = HUGE_VA + ((first + 7 * i) % 512) * VMLAB_PAGE_SIZE;
		if (vmlab_read(m, c, va, &v, 8, NULL) == 0)
			w->sum = w->sum * 31 + v;
	}
}

static void step_user(struct wl *w, int cpu, u64 r)
{
	struct vmlab_machine *m = w->m;
	int k = (int)(r & 1);
	struct vmlab_mm *mm = w->mm[k];
	int s = (int)vmlab_rand_below(m, USLOTS);
	u64 va = USER_VA + (u64)s * VMLAB_PAGE_SIZE;
	switch ((r >> 1) % 5) {
	case 0:
		vmlab_switch_mm(m, cpu, mm);
		break;
	case 1:
		vmlab_enter_lazy_tlb(m, cpu);
		break;
	case 2:
		if (!w->upfn[k][s]) {
			u64 pfn = alloc_frame(w, cpu, 0);
			if (pfn && vmlab_map_range(m, mm, va,
						   pfn << VMLAB_PAGE_SHIFT,
						   VMLAB_PAGE_SIZE,
						   VMLAB_PAGE_USER_RW, 0) == 0)
				w->upfn[k][s] = pfn;
			else if (pfn)
				vmlab_free_pages(m, cpu, pfn, 0);
		}
		break;
	case 3:
		if (w->upfn[k][s]) {
			unmap_one(w, mm, cpu, va, VMLAB_PAGE_SIZE,
				  w->upfn[k][s], 0, true);
			w->upfn[k][s] = 0;
		}
		break;
	default: {
		u64 v = vmlab_rand(m);
		bool wr = v & 1;
		int rc = vmlab_access(m, cpu, wr ? VMLAB_WRITE : VMLAB_READ,
				      va, &v, 8, VMLAB_ACC_USER, NULL);
		w->sum = w->sum * 31 + v + (u64)rc;
		break;
	}
	}
}

static void step_flush(struct wl *w, int cpu, u64 r)
{
	struct vmlab_machine *m = w->m;
	u64 a = SLOT_VA + vmlab_rand_below(m, KSLOTS) * VMLAB_PAGE_SIZE;
	switch (r % 7) {
	case 0:
		flush_all(w, cpu);
		break;
	case 1:
		vmlab_flush_tlb_one(m, cpu, a);
		break;
	case 2:
		vmlab_flush_tlb_kernel_range(m, cpu, a,
					     a + vmlab_rand_below(m, 40) *
							 VMLAB_PAGE_SIZE);
		break;
	case 3:
		vmlab_flush_tlb_local(m, cpu);
		break;
	case 4:
		vmlab_flush_tlb_global(m, cpu);
		break;
	case 5:
		vmlab_flush_tlb_mm_range(m, cpu, w->mm[r & 1], USER_VA,
					 USER_VA + USLOTS * VMLAB_PAGE_SIZE,
					 VMLAB_PAGE_SHIFT, (r >> 3) & 1);
		break;
	default:
		if (vmlab_rand(m) & 1)
			vmlab_queue_work(m, &w->work);
		else
			vmlab_run_work(m, cpu, 1);
		break;
	}
}

static void step_alloc(struct wl *w, int cpu, u64 r)
{
	struct vmlab_machine *m = w->m;
	if (w->npool < 16 && (r & 1)) {
		u64 pfn = alloc_frame(w, cpu, 0);
		if (pfn)
			w->pool[w->npool++] = pfn;
	} else if (w->npool) {
		int i = (int)vmlab_rand_below(m, (u64)w->npool);
		vmlab_free_pages(m, cpu, w->pool[i], 0);
		w->pool[i] = w->pool[--w->npool];
	}
}

static void step_vmalloc(struct wl *w, int cpu, u64 r)
{
	struct vmlab_machine *m = w->m;
	if (w->nvarea < NR_VAREAS && (r & 1)) {
		u64 size = (1 + vmlab_rand_below(m, 24)) * VMLAB_PAGE_SIZE -
			   vmlab_rand_below(m, 100);
		u64 a = vmlab_vmalloc(m, cpu, size);
		if (!a)
			return;
		u64 v = vmlab_rand(m);
		if (vmlab_write(m, cpu, a + size - 8, &v, 8, NULL) == 0)
			w->sum = w->sum * 31 + v;
		w->varea[w->nvarea++] = a;
		w->vmallocs++;
	} else if (w->nvarea) {
		int i = (int)vmlab_rand_below(m, (u64)w->nvarea);
		u64 v = 0;
		int rc = vmlab_read(m, rcpu(w), w->varea[i], &v, 8, NULL);
		w->sum = w->sum * 31 + v + (u64)rc;
		if (r & 2)
			vmlab_vfree_atomic(m, cpu, w->varea[i]);
		else
			vmlab_vfree(m, cpu, w->varea[i]);
		w->varea[i] = w->varea[--w->nvarea];
	}
}

static void wl_step(struct wl *w)
{
	int cpu = rcpu(w);
	u64 r = vmlab_rand(w->m);
	switch ((r >> 32) % 16) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 8:
	case 14:
		step_kernel(w, cpu, r);
		break;
	case 7:
		step_huge(w, cpu, r);
		break;
	case 9: case 10: case 11:
		step_user(w, cpu, r);
		break;
	case 13:
		step_flush(w, cpu, r);
		break;
	case 12:
		step_vmalloc(w, cpu, r);
		break;
	default:
		step_alloc(w, cpu, r);
		break;
	}
}

/* Tear everything down (deterministically too) and take the result. */
static void wl_finish(struct wl *w, struct result *res)
{
	struct vmlab_machine *m = w->m;
	vmlab_run_work(m, 0, 1000);
	flush_all(w, 0);
	for (int s = 0; s < KSLOTS; s++)
		if (w->kpfn[s])
			unmap_one(w, vmlab_init_mm(m), 0,
				  SLOT_VA + (u64)s * VMLAB_PAGE_SIZE,
				  VMLAB_PAGE_SIZE, w->kpfn[s], 0, true);
	if (w->huge_pfn)
		unmap_one(w, vmlab_init_mm(m), 0, HUGE_VA, VMLAB_PMD_SIZE,
			  w->huge_pfn, 9, true);
	for (int k = 0; k < 2; k++) {
		struct vmlab_mmu_gather tlb;
		vmlab_tlb_gather_mmu(&tlb, w->mm[k], 0);
		for (int s = 0; s < USLOTS; s++)
			if (w->upfn[k][s])
				vmlab_tlb_remove_page(m, &tlb, w->upfn[k][s],
						      0);
		assert_true(vmlab_unmap_range(m, &tlb, 0, 1ULL << 47, true) >=
			    0);
		vmlab_tlb_finish_mmu(m, &tlb);
		vmlab_mm_destroy(m, w->mm[k]);
	}
	for (int i = 0; i < w->npool; i++)
		vmlab_free_pages(m, 0, w->pool[i], 0);
	for (int i = 0; i < w->nvarea; i++)
		vmlab_vfree(m, 0, w->varea[i]);
	vmlab_run_work(m, 0, 1000);

	memset(res, 0, sizeof(*res));
	res->hash = vmlab_trace_hash(m);
	res->events = vmlab_event_count(m);
	res->free_pages = vmlab_nr_free_pages(m);
	res->warnings = vmlab_nr_warnings(m);
	res->reports = vmlab_nr_reports(m);
	res->sum = w->sum;
	res->work_ran = w->work_ran;
	res->vmallocs = w->vmallocs;
	assert_true(w->ncpu <= MAXCPU);
	for (int c = 0; c < w->ncpu; c++)
		for (int i = 0; i < VMLAB_NR_COUNTERS; i++)
			res->percpu[c][i] =
				vmlab_counter(m, c, (enum vmlab_counter)i);
	vmlab_counters_snapshot(m, &res->tot);
	res->time_ns = vmlab_sim_time_ns(m, -1);
	/* The JSON stats dump and every report's text, hashed: nothing
	 * host-dependent in them. */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	vmlab_stats_dump(m, f, true);
	vmlab_print_reports(m, f);
	fclose(f);
	assert_true(len > 100);
	res->dump = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		res->dump = (res->dump ^ (u8)text[i]) * 0x100000001b3ULL;
	free(text);
	vmlab_machine_destroy(m);
	w->m = NULL;
}

static void assert_same(const struct result *a, const struct result *b)
{
	assert_int_equal(a->hash, b->hash);
	assert_int_equal(a->events, b->events);
	assert_int_equal(a->free_pages, b->free_pages);
	assert_int_equal(a->warnings, b->warnings);
	assert_int_equal(a->reports, b->reports);
	assert_int_equal(a->sum, b->sum);
	assert_int_equal(a->dump, b->dump);
	assert_int_equal(a->work_ran, b->work_ran);
	assert_int_equal(a->vmallocs, b->vmallocs);
	for (int c = 0; c < MAXCPU; c++)
		for (int i = 0; i < VMLAB_NR_COUNTERS; i++)
			assert_int_equal(a->percpu[c][i], b->percpu[c][i]);
	for (int i = 0; i < VMLAB_NR_COUNTERS; i++)
		assert_int_equal(a->tot.v[i], b->tot.v[i]);
	assert_true(a->time_ns == b->time_ns);
	assert_true(a->tot.time_ns == b->tot.time_ns);
}

struct params {
	u64 seed;
	int ncpu;
	u64 mem;
	bool checker;
	int steps;
};

static void run_alone(const struct params *p, struct result *res)
{
	struct wl *w = calloc(1, sizeof(*w));
	assert_non_null(w);
	wl_boot(w, p->seed, p->ncpu, p->mem, p->checker);
	for (int i = 0; i < p->steps; i++)
		wl_step(w);
	wl_finish(w, res);
	free(w);
}

/* ---------------------------------------------------------------- tests */

static void test_same_seed_same_run(void **state)
{
	(void)state;
	const struct params p = {42, 4, 256 * VMLAB_MiB, true, 20000};
	struct result *a = calloc(2, sizeof(*a));
	assert_non_null(a);
	run_alone(&p, &a[0]);
	/* Lay the host heap out differently: nothing may depend on it. */
	void *junk[64];
	for (int i = 0; i < 64; i++) {
		junk[i] = malloc((size_t)(i * 4099 + 17));
		assert_non_null(junk[i]);
	}
	run_alone(&p, &a[1]);
	for (int i = 0; i < 64; i++)
		free(junk[i]);
	assert_same(&a[0], &a[1]);
	/* And the workload did something worth comparing. */
	const u64 *v = a[0].tot.v;
	assert_true(a[0].events > 10000);
	assert_true(v[VMLAB_C_walk] > 100 && v[VMLAB_C_tlb_l1_hit] > 20);
	assert_true(v[VMLAB_C_page_fault] > 10 && v[VMLAB_C_pte_write] > 100);
	if (t_arm64()) {
		/* Broadcast TLBIs completed by DSBs, TTBR0 switches, no IPIs. */
		assert_true(v[VMLAB_C_tlbi_is] > 10 && v[VMLAB_C_dsb] > 10);
		assert_true(v[VMLAB_C_tlbi_local] > 10);
		assert_true(v[VMLAB_C_ttbr_write] > 10 && v[VMLAB_C_ipi_sent] == 0);
	} else {
		assert_true(v[VMLAB_C_invlpg] > 10 && v[VMLAB_C_ipi_sent] > 10);
		assert_true(v[VMLAB_C_flush_global] > 10);
		assert_true(v[VMLAB_C_cr3_write] > 10);
	}
	assert_true(v[VMLAB_C_tlb_entries_dropped] > 1000);
	assert_true(a[0].reports > 0 && a[0].work_ran > 0);
	assert_true(a[0].vmallocs > 100);
	free(a);
}

static void test_checker_off_same_run(void **state)
{
	(void)state;
	const struct params p = {7, 3, 128 * VMLAB_MiB, false, 10000};
	struct result *a = calloc(2, sizeof(*a));
	assert_non_null(a);
	run_alone(&p, &a[0]);
	run_alone(&p, &a[1]);
	assert_same(&a[0], &a[1]);
	assert_int_equal(a[0].reports, 0);
	free(a);
}

static void test_other_seed_other_trace(void **state)
{
	(void)state;
	enum { N = 8 };
	struct result *r = calloc(N, sizeof(*r));
	assert_non_null(r);
	for (int i = 0; i < N; i++) {
		const struct params p = {1000 + (u64)i, 2, 64 * VMLAB_MiB,
					 true, 2000};
		run_alone(&p, &r[i]);
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++) {
			assert_int_not_equal(r[i].hash, r[j].hash);
			assert_int_not_equal(r[i].sum, r[j].sum);
		}
	/* Same machine, same seed, the PRNG alone: same stream; another
	 * seed: another stream. */
	struct vmlab_machine *m1 = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_machine *m2 = t_machine(1, 64 * VMLAB_MiB, false);
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 1;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	cfg.seed = 2;
	struct vmlab_machine *m3 = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m3), 0);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		u64 x = vmlab_rand(m1);
		assert_int_equal(x, vmlab_rand(m2));
		differ += x != vmlab_rand(m3);
	}
	assert_true(differ > 95);
	vmlab_machine_destroy(m1);
	vmlab_machine_destroy(m2);
	vmlab_machine_destroy(m3);
	free(r);
}

static void interleave(const struct params *pa, const struct params *pb,
		       u64 pattern_seed, struct result *ra, struct result *rb)
{
	struct wl *w = calloc(2, sizeof(*w));
	assert_non_null(w);
	wl_boot(&w[0], pa->seed, pa->ncpu, pa->mem, pa->checker);
	wl_boot(&w[1], pb->seed, pb->ncpu, pb->mem, pb->checker);
	int done[2] = {0, 0};
	const int steps[2] = {pa->steps, pb->steps};
	u64 x = pattern_seed | 1; /* xorshift: bursts of 1..8 steps */
	while (done[0] < steps[0] || done[1] < steps[1]) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int k = (int)(x & 1);
		if (done[k] == steps[k])
			k ^= 1;
		for (int n = 1 + (int)((x >> 1) & 7); n && done[k] < steps[k];
		     n--, done[k]++)
			wl_step(&w[k]);
	}
	wl_finish(&w[0], ra);
	wl_finish(&w[1], rb);
	free(w);
}

static void test_two_machines_do_not_interfere(void **state)
{
	(void)state;
	const struct params pa = {11, 4, 128 * VMLAB_MiB, true, 8000};
	const struct params pb = {12, 2, 64 * VMLAB_MiB, true, 6000};
	struct result *r = calloc(4, sizeof(*r));
	assert_non_null(r);
	run_alone(&pa, &r[0]);
	run_alone(&pb, &r[1]);
	assert_int_not_equal(r[0].hash, r[1].hash);
	interleave(&pa, &pb, 0x9e3779b97f4a7c15ULL, &r[2], &r[3]);
	assert_same(&r[0], &r[2]);
	assert_same(&r[1], &r[3]);
	/* Twins: the same configuration and seed, interleaved. */
	interleave(&pa, &pa, 0x1234567ULL, &r[2], &r[3]);
	assert_same(&r[0], &r[2]);
	assert_same(&r[0], &r[3]);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_run),
		cmocka_unit_test(test_checker_off_same_run),
		cmocka_unit_test(test_other_seed_other_trace),
		cmocka_unit_test(test_two_machines_do_not_interfere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
