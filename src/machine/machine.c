/* SPDX-License-Identifier: MIT */
/* Machine lifecycle, configuration, PRNG, warnings and events. */
#include <stdarg.h>
#include <stdlib.h>

#include "arch/arch.h"

static int config_check(const struct vmlab_config *c);

void vmlab_config_default(struct vmlab_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = VMLAB_GiB;
	cfg->nr_cpus = 4;
	cfg->seed = 1;
	cfg->arch = "x86_64";
	cfg->pcid = true;
	cfg->checker = false;
	cfg->direct_map_1g = true;
	cfg->flush_ceiling = 33; /* tlb_single_page_flush_ceiling */
	/* Golden Cove-class core: L1 iTLB 256x4K (8-way) + 32x2M, L1 dTLB
	 * 96x4K (6-way) + 32x2M (4-way) + 8x1G, STLB 2048x4K/2M (16-way)
	 * + 1024x1G (8-way). 1G pages are fractured in the iTLB. */
	cfg->itlb[0] = (struct vmlab_tlb_geom){256, 8};
	cfg->itlb[1] = (struct vmlab_tlb_geom){32, 32};
	cfg->itlb[2] = (struct vmlab_tlb_geom){0, 0};
	cfg->dtlb[0] = (struct vmlab_tlb_geom){96, 6};
	cfg->dtlb[1] = (struct vmlab_tlb_geom){32, 4};
	cfg->dtlb[2] = (struct vmlab_tlb_geom){8, 8};
	cfg->stlb[0] = (struct vmlab_tlb_geom){2048, 16};
	cfg->stlb[1] = (struct vmlab_tlb_geom){1024, 8};
	cfg->stlb[2] = (struct vmlab_tlb_geom){1024, 8};
	cfg->pwc_entries = 32;
	cfg->cost = (struct vmlab_cost){
		.tlb_l1_hit = 0.25,
		.tlb_l2_hit = 2.0,
		.walk_level = 5.0,
		.invlpg = 100.0,
		.flush_full = 150.0,
		.flush_global = 400.0,
		.ipi = 2000.0,
		.ipi_handle = 500.0,
		.page_fault = 1000.0,
		.pte_write = 2.0,
		.page_alloc = 80.0,
		.cpa_call = 300.0,
		/* Assumed: a broadcast TLBI is cheap to issue, the DSB that
		 * waits for every CPU's completion is what costs. */
		.tlbi_is = 50.0,
		.tlbi_local = 20.0,
		.dsb = 300.0,
	};
	assert(config_check(cfg) == 0); /* the defaults boot */
}

static bool geom_ok(const struct vmlab_tlb_geom *g)
{
	if (g->entries == 0)
		return true;
	if (g->ways == 0 || g->ways > g->entries || g->entries % g->ways)
		return false;
	u32 sets = g->entries / g->ways;
	return (sets & (sets - 1)) == 0; /* set index is a mask */
}

static bool is_arm64(const struct vmlab_config *c)
{
	return c->arch && strcmp(c->arch, "arm64") == 0;
}

/* Options both architectures have. */
static const char *common_error(const struct vmlab_config *c)
{
	if ((unsigned)c->set_alias > VMLAB_OFF)
		return "set_alias: bad value";
	if ((unsigned)c->reset_perms >= VMLAB_NR_RESET_PERMS)
		return "reset_perms: mainline, seed-v2 or seed-v2-one-call";
	return NULL;
}

const char *vmlab_config_error(const struct vmlab_config *c)
{
	if (!c)
		return "no configuration";
	if (c->arch && strcmp(c->arch, "x86_64") != 0 && !is_arm64(c))
		return "arch: unknown architecture (x86_64 or arm64)";
	if (is_arm64(c)) {
		if (!c->pcid)
			return "pcid: an x86-only option (arm64 tags TLB "
			       "entries with ASIDs)";
		if (c->flush_ceiling != 33)
			return "flush_ceiling: an x86-only option (arm64 "
			       "uses MAX_DVM_OPS)";
		if (c->asid_bits && c->asid_bits != 8 && c->asid_bits != 16)
			return "asid_bits: 8 or 16";
		if ((unsigned)c->hw_afdbm > VMLAB_OFF ||
		    (unsigned)c->rodata_full > VMLAB_OFF)
			return "hw_afdbm/rodata_full: bad value";
		return common_error(c);
	}
	if (c->asid_bits)
		return "asid_bits: an arm64-only option";
	if (c->hw_afdbm != VMLAB_DEFAULT)
		return "hw_afdbm: an arm64-only option";
	if (c->rodata_full != VMLAB_DEFAULT)
		return "rodata_full: an arm64-only option";
	return common_error(c);
}

static int config_check(const struct vmlab_config *c)
{
	if (vmlab_config_error(c))
		return -VMLAB_EINVAL;
	if (c->nr_cpus < 1 || c->nr_cpus > VMLAB_MAX_CPUS)
		return -VMLAB_EINVAL;
	if (c->mem_bytes < 64 * VMLAB_MiB || c->mem_bytes > 4 * VMLAB_TiB ||
	    c->mem_bytes % VMLAB_PMD_SIZE)
		return -VMLAB_EINVAL;
	if (c->flush_ceiling == 0)
		return -VMLAB_EINVAL;
	for (int l = 0; l < 3; l++)
		if (!geom_ok(&c->itlb[l]) || !geom_ok(&c->dtlb[l]) ||
		    !geom_ok(&c->stlb[l]))
			return -VMLAB_EINVAL;
	if (c->dtlb[0].entries == 0 || c->itlb[0].entries == 0)
		return -VMLAB_EINVAL;
	/* The paging-structure cache is split in two halves (PDE, PDPTE). */
	if (c->pwc_entries == 1)
		return -VMLAB_EINVAL;
	if (!mutant_config_valid(c))
		return -VMLAB_EINVAL;
	return 0;
}

static void rng_seed(u64 s[4], u64 seed)
{
	/* splitmix64 expands the seed so that nearby seeds diverge. */
	for (int i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		u64 z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		s[i] = z ^ (z >> 31);
	}
	/* xoshiro256** must not start from the all-zero state. */
	assert(s[0] | s[1] | s[2] | s[3]);
}

static inline u64 rotl(u64 x, int k)
{
	assert(k > 0 && k < 64);
	return (x << k) | (x >> (64 - k));
}

u64 vmlab_rand(struct vmlab_machine *m)
{
	u64 *s = m->rng;
	/* The all-zero state is a fixed point the generator never reaches. */
	assert(s[0] | s[1] | s[2] | s[3]);
	u64 r = rotl(s[1] * 5, 7) * 9;
	u64 t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

u64 vmlab_rand_below(struct vmlab_machine *m, u64 bound)
{
	if (bound == 0) {
		vmlab_warn(m, "rand_below: bound 0");
		return 0;
	}
	/* Rejection sampling keeps the distribution exact. */
	u64 limit = UINT64_MAX - UINT64_MAX % bound;
	for (int i = 0; i < 64; i++) {
		u64 r = vmlab_rand(m);
		if (r < limit)
			return r % bound;
	}
	return vmlab_rand(m) % bound; /* astronomically unlikely */
}

static void cpus_destroy(struct vmlab_machine *m)
{
	if (!m->cpu)
		return;
	assert(m->nr_cpus >= 1 && m->nr_cpus <= VMLAB_MAX_CPUS);
	for (int i = 0; i < m->nr_cpus; i++)
		tlb_destroy(&m->cpu[i]);
	free(m->cpu);
	m->cpu = NULL;
}

/* The fast path of every CPU id the machine lacks: no tag ever matches
 * (a valid tag has bit 0 set), so it is only read. */
static const struct vmlab_fast_cpu fast_none;

static int cpus_create(struct vmlab_machine *m)
{
	assert(m->nr_cpus >= 1 && m->nr_cpus <= VMLAB_MAX_CPUS && !m->cpu);
	if (!host_charge(m, (u64)m->nr_cpus * sizeof(*m->cpu)))
		return -VMLAB_ENOMEM;
	m->cpu = host_calloc(m, (size_t)m->nr_cpus, sizeof(*m->cpu));
	if (!m->cpu)
		return -VMLAB_ENOMEM;
	for (int i = 0; i < m->nr_cpus; i++) {
		m->cpu[i].id = i;
		int err = tlb_init(m, &m->cpu[i]);
		if (err)
			return err;
	}
	_Static_assert(offsetof(struct cpu, cnt) - offsetof(struct cpu, fast) ==
			       offsetof(struct vmlab_fast_cpu, cnt),
		       "struct cpu's fast path is laid out as vmlab_fast_cpu");
	_Static_assert(offsetof(struct cpu, fast_shadow) -
				       offsetof(struct cpu, fast) ==
			       VMLAB__FAST_SHADOW_OFF &&
			       sizeof(struct fast_entry) == 16 &&
			       sizeof(struct vmlab_fast_shadow) ==
				       sizeof(struct fast_entry),
		       "16-byte fast entries, each one's shadow link at a "
		       "constant offset (tlb.h)");
	for (int i = 0; i < VMLAB_MAX_CPUS; i++)
		m->fast.cpu[i] =
			i < m->nr_cpus ?
				(struct vmlab_fast_cpu *)(void *)m->cpu[i].fast :
				(struct vmlab_fast_cpu *)(uintptr_t)&fast_none;
	assert(&m->fast.cpu[0]->cnt[VMLAB_C_tlb_l1_hit] ==
	       &m->cpu[0].cnt[VMLAB_C_tlb_l1_hit]);
	/* The inline accessors of tlb.h read the machine as its fast view. */
	assert((const void *)vmlab__fast_view(m) == (const void *)&m->fast);
	return 0;
}

static int init_mm_create(struct vmlab_machine *m)
{
	struct vmlab_mm *mm = &m->init_mm;
	assert(m->next_ctx_id == 1 && !m->mm_list);
	int err = vmlab_pgtable_alloc(m, VMLAB_LVL_PGD, &mm->pgd_pfn);
	if (err)
		return err;
	mm->is_init = true;
	mm->ctx_id = m->next_ctx_id++;
	for (int c = 0; c < m->nr_cpus; c++) {
		m->cpu[c].loaded_mm = mm;
		mm->cpumask[c / 64] |= 1ULL << (c % 64);
		m->arch->tlb->boot_cpu(m, &m->cpu[c]);
	}
	if (m->arch->split_root)
		return 0; /* arm64: init_mm is TTBR1's, user mms share nothing */
	/* Preallocate every kernel-half PUD table, as x86-64's
	 * preallocate_vmalloc_pages() does for the ranges it needs, so the
	 * kernel PGD entries never change and user mms can copy them. */
	for (u64 i = VMLAB_PTRS_PER_TABLE / 2; i < VMLAB_PTRS_PER_TABLE; i++) {
		u64 pud;
		err = vmlab_pgtable_alloc(m, VMLAB_LVL_PUD, &pud);
		if (err)
			return err;
		u64 va = 0xffff000000000000ULL | (i << VMLAB_PGDIR_SHIFT);
		vmlab_set_entry(m, mm, va, VMLAB_LVL_PGD,
				(mm->pgd_pfn << VMLAB_PAGE_SHIFT) + i * 8,
				m->arch->mk_table(pud, false));
	}
	assert(mm->ctx_id == 1 && vmlab_mm_cpumask_test(mm, m->nr_cpus - 1));
	return 0;
}

int machine_create(const struct vmlab_config *cfg,
		   int (*attach)(struct vmlab_machine *m),
		   struct vmlab_machine **out)
{
	if (!cfg || !out)
		return -VMLAB_EINVAL;
	int err = config_check(cfg);
	if (err)
		return err;
	struct vmlab_machine *m = calloc(1, sizeof(*m));
	if (!m)
		return -VMLAB_ENOMEM;
	m->cfg = *cfg;
	m->host_limit = cfg->max_host_bytes ? cfg->max_host_bytes :
					      VMLAB_DEFAULT_HOST_BYTES;
	m->host_bytes = sizeof(*m);
	m->host_fail_at = cfg->host_fail_nth; /* vmlab_host_fail_nth from 0 */
	if (is_arm64(cfg)) {
		m->cfg.arch = "arm64";
		m->arch = &vmlab_arch_arm64;
		m->asid_bits = cfg->asid_bits ? cfg->asid_bits : 16;
		m->cfg.asid_bits = (u8)m->asid_bits;
		m->hw_afdbm = cfg->hw_afdbm != VMLAB_OFF;
		m->rodata_full = cfg->rodata_full != VMLAB_OFF;
	} else {
		m->cfg.arch = "x86_64";
		m->arch = &vmlab_arch_x86_64;
	}
	m->has_set_alias = cfg->set_alias != VMLAB_OFF;
	/* x86: bits 63..47 equal; arm64 (TTBR0/TTBR1 by bit 55, 48-bit
	 * regions): bits 63..48 equal. */
	m->fast.head.va_top_shift =
		(unsigned)(m->arch->split_root ? m->arch->layout.va_bits :
						 m->arch->layout.va_bits - 1);
	m->nr_cpus = cfg->nr_cpus;
	m->fast.head.nr_cpus = cfg->nr_cpus;
	m->hash = 0xcbf29ce484222325ULL;
	m->next_ctx_id = 1;
	rng_seed(m->rng, cfg->seed);
	err = cpus_create(m);
	if (!err)
		err = m->arch->tlb->init(m);
	if (!err)
		err = phys_init(m);
	/* Observers attached here see the boot page-table stores. */
	if (!err && attach)
		err = attach(m);
	if (!err)
		err = init_mm_create(m);
	if (err) {
		vmlab_machine_destroy(m);
		return err;
	}
	assert(m->phys.nr_free < m->phys.nr_frames && m->init_mm.pgd_pfn);
	*out = m;
	return 0;
}

void svc_set(struct vmlab_machine *m, enum vmlab_svc s, void *state,
	     void (*destroy)(struct vmlab_machine *m))
{
	assert(s < VMLAB_NR_SVC);
	assert(!m->svc[s] || !state);
	m->svc[s] = state;
	m->svc_destroy[s] = destroy;
}

/* Debug builds check every CPU's TLB and the allocator once more as a
 * fully created machine is torn down (a failed create has no init_mm). */
static void machine_check(struct vmlab_machine *m)
{
	if (!VMLAB_EXPENSIVE_CHECKS || !m->cpu || !m->cpu[0].loaded_mm)
		return;
	for (int i = 0; i < m->nr_cpus; i++)
		tlb_check(m, &m->cpu[i]);
	phys_check(m);
}

void vmlab_machine_destroy(struct vmlab_machine *m)
{
	if (!m)
		return;
	machine_check(m);
	/* Upper layers first, in reverse order of their stacking. */
	for (int s = VMLAB_NR_SVC - 1; s >= 0; s--)
		if (m->svc[s] && m->svc_destroy[s])
			m->svc_destroy[s](m);
	/* Observers outside service slots are simply forgotten. */
	m->nr_obs = 0;
	m->obs_mask = 0;
	phys_destroy(m);
	cpus_destroy(m);
	m->arch->tlb->destroy(m);
	assert(!m->phys.sections && !m->cpu);
	free(m);
}

const struct vmlab_config *vmlab_machine_config(const struct vmlab_machine *m)
{
	return &m->cfg;
}

int vmlab_nr_cpus(const struct vmlab_machine *m)
{
	assert(m->nr_cpus >= 1 && m->nr_cpus <= VMLAB_MAX_CPUS);
	return m->nr_cpus;
}

void vmlab_warn(struct vmlab_machine *m, const char *fmt, ...)
{
	m->nr_warnings++;
	if (m->warn_fn) {
		char msg[512];
		va_list aq;
		va_start(aq, fmt);
		vsnprintf(msg, sizeof(msg), fmt, aq);
		va_end(aq);
		m->warn_fn(m->warn_ctx, msg);
		return;
	}
	if (m->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "WARNING: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

u64 vmlab_nr_warnings(const struct vmlab_machine *m)
{
	return m->nr_warnings;
}

void vmlab_set_warn_handler(struct vmlab_machine *m, vmlab_warn_fn fn,
			    void *ctx)
{
	m->warn_fn = fn;
	m->warn_ctx = ctx;
}

void vmlab_set_quiet(struct vmlab_machine *m, bool quiet)
{
	m->quiet = quiet;
}

unsigned long long vmlab_name_hash(const char *name)
{
	/* The run-time twin of VMLAB_TRACEPOINT()'s folded hash. */
	u64 h = VMLAB__FNV_BASIS;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * VMLAB__FNV_PRIME;
	return h;
}

void ev_listen(struct vmlab_machine *m, enum vmlab_event_type t, int cpu,
	       u64 a, u64 b, u64 c)
{
	assert(m->ev_fn && (unsigned)t < VMLAB_NR_EVENTS);
	struct vmlab_event e = {.type = t, .cpu = cpu, .a = a, .b = b, .c = c};
	m->ev_fn(m->ev_ctx, &e);
}

void vmlab_emit(struct vmlab_machine *m, const struct vmlab_event *e)
{
	emit_event(m, e);
}

u64 vmlab_trace_hash(const struct vmlab_machine *m)
{
	return m->hash;
}

u64 vmlab_event_count(const struct vmlab_machine *m)
{
	return m->nr_events;
}

void vmlab_set_event_listener(struct vmlab_machine *m, vmlab_event_fn fn,
			      void *ctx)
{
	m->ev_fn = fn;
	m->ev_ctx = ctx;
}

/* The owner of a lock taken outside a scheduler run. */
#define LOCK_OWNER_NO_SCHED 0xffffffffu

static void lock_take(struct vmlab_machine *m, int cpu, struct vmlab_lock *l,
		      const char *why)
{
	u32 me = m->sched_task ? m->sched_task : LOCK_OWNER_NO_SCHED;
	while (l->owner) {
		if (l->owner == me || !m->sched_hook) {
			/* Nothing else can hold it: taken twice (a deadlock
			 * in the kernel) or never released. */
			vmlab_warn(m, "%s: already held by %s (recursive "
				      "locking or a missing unlock)",
				   why, l->name ? l->name : "?");
			break;
		}
		m->sched_hook(m->sched_ctx, cpu, why, l);
	}
	l->owner = me;
	l->name = why;
}

void vmlab_lock_acquire(struct vmlab_machine *m, int cpu,
			struct vmlab_lock *l, const char *why)
{
	assert(l && why);
	sched_point(m, cpu, why);
	lock_take(m, cpu, l, why);
}

void vmlab_lock_take_quiet(struct vmlab_machine *m, int cpu,
			   struct vmlab_lock *l, const char *why)
{
	assert(l && why);
	lock_take(m, cpu, l, why);
	assert(l->owner);
}

void vmlab_lock_drop_quiet(struct vmlab_machine *m, struct vmlab_lock *l,
			   const char *why)
{
	assert(l && why);
	u32 me = m->sched_task ? m->sched_task : LOCK_OWNER_NO_SCHED;
	if (l->owner != me)
		vmlab_warn(m, "%s: lock not held by this context", why);
	l->owner = 0;
}

void vmlab_lock_release(struct vmlab_machine *m, int cpu,
			struct vmlab_lock *l, const char *why)
{
	assert(l && why);
	u32 me = m->sched_task ? m->sched_task : LOCK_OWNER_NO_SCHED;
	if (l->owner != me)
		vmlab_warn(m, "%s: lock not held by this context", why);
	l->owner = 0;
	sched_point(m, cpu, why);
}

void vmlab_set_op_lock(struct vmlab_machine *m, int cpu,
		       struct vmlab_lock *l)
{
	assert(vmlab_cpu_valid(m, cpu));
	assert(!l || l != m->cpu[cpu].op_lock || !l->owner ||
	       l->owner == m->sched_task);
	m->cpu[cpu].op_lock = l;
}

bool vmlab_op_unlock(struct vmlab_machine *m, int cpu, const char *why)
{
	assert(why);
	struct vmlab_lock *l = vmlab_cpu_valid(m, cpu) ? m->cpu[cpu].op_lock
						       : NULL;
	if (!l || !m->sched_hook || !m->sched_task ||
	    l->owner != m->sched_task)
		return false;
	vmlab_lock_release(m, cpu, l, why);
	return true;
}

void vmlab_op_relock(struct vmlab_machine *m, int cpu, const char *why)
{
	assert(vmlab_cpu_valid(m, cpu) && m->cpu[cpu].op_lock);
	vmlab_lock_acquire(m, cpu, m->cpu[cpu].op_lock, why);
}

void vmlab_set_fault_handler(struct vmlab_machine *m, vmlab_fault_fn fn,
			     void *ctx)
{
	m->fault_fn = fn;
	m->fault_ctx = ctx;
}

const struct vmlab_arch_ops *vmlab_arch(const struct vmlab_machine *m)
{
	assert(m->arch == &vmlab_arch_x86_64 || m->arch == &vmlab_arch_arm64);
	return m->arch;
}

const char *vmlab_access_name(enum vmlab_access a)
{
	static const char *const names[] = {"read", "write", "fetch"};
	return a < VMLAB_NR_ACCESS ? names[a] : "?";
}

const char *vmlab_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "OK";
	case VMLAB_EPERM: return "EPERM";
	case VMLAB_ENOENT: return "ENOENT";
	case VMLAB_EINTR: return "EINTR";
	case VMLAB_EIO: return "EIO";
	case VMLAB_E2BIG: return "E2BIG";
	case VMLAB_EAGAIN: return "EAGAIN";
	case VMLAB_ENOMEM: return "ENOMEM";
	case VMLAB_EFAULT: return "EFAULT";
	case VMLAB_EBUSY: return "EBUSY";
	case VMLAB_EEXIST: return "EEXIST";
	case VMLAB_EINVAL: return "EINVAL";
	case VMLAB_ENOSPC: return "ENOSPC";
	case VMLAB_ERANGE: return "ERANGE";
	case VMLAB_ENOSYS: return "ENOSYS";
	default: return "E?";
	}
}
