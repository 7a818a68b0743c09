/* SPDX-License-Identifier: MIT */
/*
 * Bad input: every misuse of the public API gets the kernel's error code or
 * a counted kernel-style warning, changes nothing, crashes nothing and
 * leaks nothing (the suite also runs under ASan and UBSan).  Running out of
 * simulated memory is an error code too, and the machine recovers.
 */
#include <limits.h>
#include <stdlib.h>

#include "helpers.h"
#include "mm/internal.h"

/* The non-canonical hole between the halves, [hole_lo, hole_hi): x86
 * from 2^47 to 0xffff800000000000, arm64 (TTBR0/TTBR1 regions of 48 bits)
 * from 2^48 to 0xffff000000000000. */
static u64 hole_lo(void)
{
	return 1ULL << (t_arm64() ? 48 : 47);
}

static u64 hole_hi(void)
{
	return ~0ULL << (t_arm64() ? 48 : 47);
}
#define TOP_PAGE 0xfffffffffffff000ULL

/* What a call that is refused must leave alone. */
struct snap {
	u64 events, hash, free_pages, faults;
};

static void snap(struct vmlab_machine *m, struct snap *s)
{
	s->events = vmlab_event_count(m);
	s->hash = vmlab_trace_hash(m);
	s->free_pages = vmlab_nr_free_pages(m);
	s->faults = vmlab_counter(m, -1, VMLAB_C_page_fault);
}

static void assert_unchanged(struct vmlab_machine *m, const struct snap *s)
{
	struct snap now;
	snap(m, &now);
	assert_int_equal(now.events, s->events);
	assert_int_equal(now.hash, s->hash);
	assert_int_equal(now.free_pages, s->free_pages);
	assert_int_equal(now.faults, s->faults);
}

static struct vmlab_config cfg_small(void)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 2;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	return cfg;
}

static void expect_boot(const struct vmlab_config *cfg, int want)
{
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(cfg, &m), want);
	if (want) {
		assert_null(m);
		assert_int_equal(vmlab_machine_create(cfg, &m), want);
		assert_null(m);
	} else {
		assert_non_null(m);
		vmlab_machine_destroy(m);
	}
}

/* ---------------------------------------------------------------- boot */

static void test_boot_bad_config(void **state)
{
	(void)state;
	struct vmlab_config cfg = cfg_small();
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_boot(NULL, &m), -VMLAB_EINVAL);
	assert_null(m);
	assert_int_equal(vmlab_machine_create(NULL, &m), -VMLAB_EINVAL);
	assert_int_equal(vmlab_machine_create(&cfg, NULL), -VMLAB_EINVAL);
	assert_null(m);
	vmlab_machine_destroy(NULL);

	static const int bad_cpus[] = {0, -1, VMLAB_MAX_CPUS + 1, 1000,
				       INT_MIN};
	for (size_t i = 0; i < sizeof(bad_cpus) / sizeof(bad_cpus[0]); i++) {
		cfg = cfg_small();
		cfg.nr_cpus = bad_cpus[i];
		expect_boot(&cfg, -VMLAB_EINVAL);
	}
	static const u64 bad_mem[] = {
		0,
		VMLAB_PAGE_SIZE,
		32 * VMLAB_MiB,
		62 * VMLAB_MiB,           /* below 64 MiB, 2 MiB multiple */
		64 * VMLAB_MiB + 4096,    /* not a multiple of 2 MiB */
		65 * VMLAB_MiB,
		127 * VMLAB_MiB,
		4 * VMLAB_TiB + 2 * VMLAB_MiB,
		~0ULL,
	};
	for (size_t i = 0; i < sizeof(bad_mem) / sizeof(bad_mem[0]); i++) {
		cfg = cfg_small();
		cfg.mem_bytes = bad_mem[i];
		expect_boot(&cfg, -VMLAB_EINVAL);
	}
	cfg = cfg_small();
	cfg.arch = "arm64";
	expect_boot(&cfg, 0);
	cfg.arch = "sparc";
	expect_boot(&cfg, -VMLAB_EINVAL);
	assert_non_null(strstr(vmlab_config_error(&cfg), "arch"));
	/* An option of the other architecture is refused by name. */
	cfg = cfg_small();
	cfg.arch = "arm64";
	cfg.pcid = false;
	expect_boot(&cfg, -VMLAB_EINVAL);
	assert_non_null(strstr(vmlab_config_error(&cfg), "pcid"));
	cfg.pcid = true;
	cfg.flush_ceiling = 64;
	expect_boot(&cfg, -VMLAB_EINVAL);
	assert_non_null(strstr(vmlab_config_error(&cfg), "flush_ceiling"));
	cfg.flush_ceiling = 33;
	cfg.asid_bits = 12;
	expect_boot(&cfg, -VMLAB_EINVAL);
	assert_non_null(strstr(vmlab_config_error(&cfg), "asid_bits"));
	/* ... and the other way round. */
	cfg = cfg_small();
	cfg.arch = "x86_64";
	cfg.asid_bits = 16;
	expect_boot(&cfg, -VMLAB_EINVAL);
	assert_non_null(strstr(vmlab_config_error(&cfg), "asid_bits"));
	cfg = cfg_small();
	cfg.arch = "x86_64";
	cfg.hw_afdbm = VMLAB_OFF;
	expect_boot(&cfg, -VMLAB_EINVAL);
	assert_non_null(strstr(vmlab_config_error(&cfg), "hw_afdbm"));
	cfg = cfg_small();
	cfg.arch = "x86_64";
	cfg.rodata_full = VMLAB_ON;
	assert_non_null(strstr(vmlab_config_error(&cfg), "rodata_full"));
	cfg = cfg_small();
	assert_null(vmlab_config_error(&cfg));
	cfg = cfg_small();
	cfg.flush_ceiling = 0;
	expect_boot(&cfg, -VMLAB_EINVAL);
	/* TLB geometry: no L1 4K array, ways 0, entries not a multiple of
	 * ways, a set count that is no power of two, more ways than
	 * entries. */
	static const struct vmlab_tlb_geom bad_geom[] = {
		{0, 0}, {96, 0}, {96, 7}, {96, 32}, {32, 64},
	};
	for (size_t i = 0; i < sizeof(bad_geom) / sizeof(bad_geom[0]); i++) {
		cfg = cfg_small();
		cfg.dtlb[0] = bad_geom[i];
		expect_boot(&cfg, -VMLAB_EINVAL);
		cfg = cfg_small();
		cfg.itlb[0] = bad_geom[i];
		expect_boot(&cfg, -VMLAB_EINVAL);
		if (i == 0)
			continue; /* an absent L2 array is allowed */
		cfg = cfg_small();
		cfg.stlb[1] = bad_geom[i];
		expect_boot(&cfg, -VMLAB_EINVAL);
	}
}

/*
 * A machine too small to boot cannot be configured: the 64 MiB minimum
 * leaves room for the kernel's tables many times over.  The extremes of
 * the configuration space boot and work.
 */
static void test_extreme_machines_boot(void **state)
{
	(void)state;
	struct vmlab_config cfg = cfg_small();
	cfg.nr_cpus = 1;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	assert_int_equal(vmlab_nr_frames(m), 16384);
	assert_true(vmlab_nr_free_pages(m) > 15000);
	vmlab_machine_destroy(m);

	cfg.nr_cpus = VMLAB_MAX_CPUS;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	assert_int_equal(vmlab_nr_cpus(m), VMLAB_MAX_CPUS);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_write64(m, VMLAB_MAX_CPUS - 1, KVA, 0x1234);
	assert_int_equal(t_read64(m, 0, KVA), 0x1234);
	vmlab_flush_tlb_all(m, VMLAB_MAX_CPUS - 1);
	/* x86: an IPI to every other CPU; arm64: one broadcast TLBI. */
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_ipi_sent),
			 t_arm64() ? 0 : VMLAB_MAX_CPUS - 1);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_tlbi_is),
			 t_arm64() ? 1 : 0);
	vmlab_machine_destroy(m);

	cfg = cfg_small();
	cfg.mem_bytes = 4 * VMLAB_TiB;
	if (t_arm64()) {
		/* rodata_full maps the linear map with pages: 8 GiB of PTE
		 * tables, past the default 1 GiB host budget - a clean
		 * -ENOMEM.  Block mappings (rodata_full off) fit. */
		m = NULL;
		assert_int_equal(vmlab_boot(&cfg, &m), -VMLAB_ENOMEM);
		assert_null(m);
		cfg.rodata_full = VMLAB_OFF;
	}
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	assert_int_equal(vmlab_nr_frames(m), (4 * VMLAB_TiB) >> 12);
	vmlab_machine_destroy(m);
}

/* ------------------------------------------------------ range calls */

struct bad_range {
	u64 va, size;
};

/* Ranges every range primitive must refuse with -EINVAL. */
#define NR_BAD_RANGES 14
static void bad_ranges_fill(struct bad_range r[NR_BAD_RANGES])
{
	const struct bad_range b[NR_BAD_RANGES] = {
		{KVA + 1, VMLAB_PAGE_SIZE},               /* misaligned va */
		{KVA + 0x800, VMLAB_PAGE_SIZE},
		{KVA, 0},                                 /* empty */
		{KVA, VMLAB_PAGE_SIZE - 1},               /* misaligned size */
		{KVA, VMLAB_PAGE_SIZE + 1},
		{hole_lo(), VMLAB_PAGE_SIZE},             /* in the hole */
		{hole_hi() - VMLAB_PAGE_SIZE, VMLAB_PAGE_SIZE},
		{0x8000000000000000ULL, VMLAB_PAGE_SIZE},
		{hole_lo() - VMLAB_PAGE_SIZE, 2 * VMLAB_PAGE_SIZE}, /* into it */
		{hole_lo() - VMLAB_PAGE_SIZE, hole_hi() + VMLAB_PAGE_SIZE},
		{TOP_PAGE, 2 * VMLAB_PAGE_SIZE},          /* wraps past 2^64 */
		{TOP_PAGE, VMLAB_PAGE_SIZE},              /* ends at 2^64 */
		{KVA, 0xfffffffffffff000ULL},             /* overflows */
		{KVA, ~0ULL & VMLAB_PAGE_MASK},
	};
	memcpy(r, b, sizeof(b));
}

static void test_map_bad_arguments(void **state)
{
	(void)state;
	struct bad_range bad_ranges[NR_BAD_RANGES];
	bad_ranges_fill(bad_ranges);
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 pa = t_page(m) << VMLAB_PAGE_SHIFT;
	u64 ram = vmlab_nr_frames(m) << VMLAB_PAGE_SHIFT;
	struct snap s;
	snap(m, &s);
	for (size_t i = 0; i < NR_BAD_RANGES; i++)
		assert_int_equal(vmlab_map_range(m, k, bad_ranges[i].va, pa,
						 bad_ranges[i].size,
						 VMLAB_PAGE_KERNEL, 0),
				 -VMLAB_EINVAL);
	/* Physical side: misaligned, beyond RAM, overflowing. */
	assert_int_equal(vmlab_map_range(m, k, KVA, pa + 0x10, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_map_range(m, k, KVA, ram, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_map_range(m, k, KVA, ram - 4096, 8192,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_map_range(m, k, KVA, TOP_PAGE, 8192,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_map_range(m, k, KVA, 1ULL << 52, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EINVAL);
	/* Neither present nor PROT_NONE; no mm. */
	assert_int_equal(vmlab_map_range(m, k, KVA, pa, 4096, 0, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_map_range(m, k, KVA, pa, 4096, VMLAB_PAGE_RW,
					 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_map_range(m, NULL, KVA, pa, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EINVAL);
	assert_unchanged(m, &s);
	assert_int_equal(vmlab_translate(m, k, KVA, NULL, NULL, NULL),
			 -VMLAB_ENOENT);
	/* The last page of RAM is fine. */
	assert_int_equal(vmlab_map_range(m, k, KVA, ram - 4096, 4096,
					 VMLAB_PAGE_KERNEL_RO, 0), 0);
	assert_int_equal(vmlab_nr_warnings(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

static void test_map_over_existing(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 a = t_map(m, KVA + VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL);
	u64 pa = t_page(m) << VMLAB_PAGE_SHIFT;
	/* Exactly over it, and a range running into it. */
	assert_int_equal(vmlab_map_range(m, k, KVA + VMLAB_PAGE_SIZE, pa,
					 4096, VMLAB_PAGE_KERNEL, 0),
			 -VMLAB_EEXIST);
	assert_int_equal(vmlab_map_range(m, k, KVA, pa, 3 * 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EEXIST);
	/* Nothing past the conflict was mapped, the old page is intact. */
	assert_int_equal(vmlab_translate(m, k, KVA + 2 * 4096, NULL, NULL,
					 NULL), -VMLAB_ENOENT);
	u64 got;
	assert_int_equal(vmlab_translate(m, k, KVA + 4096, &got, NULL, NULL),
			 0);
	assert_int_equal(got, a << VMLAB_PAGE_SHIFT);
	/* A 2 MiB leaf over a PTE table, and a page under a 2 MiB leaf. */
	u64 big;
	assert_int_equal(vmlab_alloc_pages(m, 0, 9, &big), 0);
	assert_int_equal(vmlab_map_range(m, k, KVA, big << 12, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL,
					 VMLAB_MAP_HUGE_PMD), -VMLAB_EEXIST);
	u64 va2 = KVA + 16 * VMLAB_MiB;
	assert_int_equal(vmlab_map_range(m, k, va2, big << 12, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL,
					 VMLAB_MAP_HUGE_PMD), 0);
	assert_int_equal(vmlab_map_range(m, k, va2 + 4096, pa, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_EEXIST);
	assert_int_equal(vmlab_map_range(m, k, va2, big << 12, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL,
					 VMLAB_MAP_HUGE_PMD), -VMLAB_EEXIST);
	/* REPLACE may overwrite a leaf, never a table. */
	assert_int_equal(vmlab_map_range(m, k, KVA + 4096, pa, 4096,
					 VMLAB_PAGE_KERNEL, VMLAB_MAP_REPLACE),
			 0);
	assert_int_equal(vmlab_map_range(m, k, KVA, big << 12, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL,
					 VMLAB_MAP_HUGE_PMD |
						 VMLAB_MAP_REPLACE),
			 -VMLAB_EEXIST);
	assert_int_equal(vmlab_nr_warnings(m), 0);
	vmlab_machine_destroy(m);
}

static void test_unmap_protect_walk_bad_arguments(void **state)
{
	(void)state;
	struct bad_range bad_ranges[NR_BAD_RANGES];
	bad_ranges_fill(bad_ranges);
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_mm *k = vmlab_init_mm(m);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 1, KVA);
	struct snap s;
	snap(m, &s);
	const struct vmlab_walk_ops ops = {0};
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	for (size_t i = 0; i < NR_BAD_RANGES; i++) {
		u64 va = bad_ranges[i].va, size = bad_ranges[i].size;
		assert_int_equal(vmlab_unmap_range(m, &tlb, va, size, true),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_protect_range(m, &tlb, va, size, 0,
						     VMLAB_PAGE_RW),
				 -VMLAB_EINVAL);
		/* The walker takes [start, end). */
		if (va + size > va)
			assert_int_equal(vmlab_walk_page_range(m, k, va,
							       va + size, &ops,
							       NULL),
					 -VMLAB_EINVAL);
	}
	assert_true(tlb.start >= tlb.end && tlb.nr_pages == 0);
	/* No gather, or a gather without an mm. */
	struct vmlab_mmu_gather none;
	memset(&none, 0, sizeof(none));
	assert_int_equal(vmlab_unmap_range(m, NULL, KVA, 4096, false),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_unmap_range(m, &none, KVA, 4096, false),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_protect_range(m, NULL, KVA, 4096, 0,
					     VMLAB_PAGE_RW), -VMLAB_EINVAL);
	assert_int_equal(vmlab_protect_range(m, &none, KVA, 4096, 0,
					     VMLAB_PAGE_RW), -VMLAB_EINVAL);
	/* Walker: empty or reversed range, misaligned ends, no ops, no mm,
	 * across the hole. */
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA, &ops, NULL),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, k, KVA + 8192, KVA, &ops,
					       NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, k, KVA + 8, KVA + 4096,
					       &ops, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + 4095, &ops,
					       NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, k, KVA, KVA + 4096, NULL,
					       NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, NULL, KVA, KVA + 4096, &ops,
					       NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_walk_page_range(m, k, 0x00007ffffffff000ULL,
					       0xffff800000001000ULL, &ops,
					       NULL), -VMLAB_EINVAL);
	/* Split: bad level, bad address, no mm, nothing to split. */
	static const int bad_levels[] = {-1, VMLAB_LVL_PTE, VMLAB_LVL_PGD, 4,
					 INT_MAX};
	for (size_t i = 0; i < sizeof(bad_levels) / sizeof(bad_levels[0]);
	     i++)
		assert_int_equal(vmlab_split_leaf(m, 0, k, KVA, bad_levels[i]),
				 -VMLAB_EINVAL);
	assert_int_equal(vmlab_split_leaf(m, 0, k, hole_lo(), VMLAB_LVL_PMD),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_split_leaf(m, 0, NULL, KVA, VMLAB_LVL_PMD),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_split_leaf(m, 0, k, KVA, VMLAB_LVL_PMD),
			 -VMLAB_ENOENT);
	assert_int_equal(vmlab_split_leaf(m, 0, k, KVA + VMLAB_GiB,
					  VMLAB_LVL_PMD), -VMLAB_ENOENT);
	/* Entry lookups. */
	vmlab_ptep_t p;
	assert_int_equal(vmlab_lookup_entry(m, k, KVA, -1, &p), -VMLAB_EINVAL);
	assert_int_equal(vmlab_lookup_entry(m, k, KVA, 4, &p), -VMLAB_EINVAL);
	assert_int_equal(vmlab_lookup_entry(m, k, KVA, 0, NULL),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_lookup_entry(m, NULL, KVA, 0, &p),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_translate(m, NULL, KVA, NULL, NULL, NULL),
			 -VMLAB_EINVAL);
	assert_unchanged(m, &s);
	/* The mapping survived all of it, and the cached entry too. */
	assert_int_equal(vmlab_translate(m, k, KVA, NULL, NULL, NULL), 0);
	assert_true(vmlab_tlb_probe(m, 1, KVA, NULL, NULL) >= 0);
	assert_int_equal(vmlab_nr_warnings(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* ---------------------------------------------------------- accesses */

static void test_access_bad_arguments(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_mm *k = vmlab_init_mm(m);
	/* 1 MiB + 1 page mapped, so only the arguments can be wrong. */
	u64 big;
	assert_int_equal(vmlab_alloc_pages(m, 0, 9, &big), 0);
	assert_int_equal(vmlab_map_range(m, k, KVA, big << 12, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL, 0), 0);
	u8 *buf = calloc(1, VMLAB_MiB + 16);
	assert_non_null(buf);
	struct snap s;
	snap(m, &s);
	struct vmlab_fault f;
	static const int bad_cpus[] = {-1, 2, 3, 1000, INT_MIN, INT_MAX};
	for (size_t i = 0; i < sizeof(bad_cpus) / sizeof(bad_cpus[0]); i++) {
		int c = bad_cpus[i];
		assert_int_equal(vmlab_read(m, c, KVA, buf, 8, &f),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_write(m, c, KVA, buf, 8, &f),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_fetch(m, c, KVA, buf, 8, &f),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_touch(m, c, VMLAB_READ, KVA, 0, &f),
				 -VMLAB_EINVAL);
	}
	/* Lengths: 0 and more than 1 MiB. */
	assert_int_equal(vmlab_read(m, 0, KVA, buf, 0, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_write(m, 0, KVA, buf, 0, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_read(m, 0, KVA, buf, VMLAB_MiB + 1, &f),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_write(m, 0, KVA, buf, VMLAB_MiB + 1, &f),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_access(m, 0, VMLAB_READ, KVA, buf, SIZE_MAX, 0,
				      &f), -VMLAB_EINVAL);
	/* Addresses: in the hole, running into it, wrapping around. */
	const u64 bad_va[] = {hole_lo(), hole_hi() - 8,
				     0x7fffffffffffffffULL,
				     0x8000000000000000ULL};
	for (size_t i = 0; i < sizeof(bad_va) / sizeof(bad_va[0]); i++) {
		assert_int_equal(vmlab_read(m, 0, bad_va[i], buf, 8, &f),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_write(m, 0, bad_va[i], buf, 8, &f),
				 -VMLAB_EINVAL);
	}
	assert_int_equal(vmlab_read(m, 0, hole_lo() - 4, buf, 8, &f),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_read(m, 0, 0xfffffffffffffffcULL, buf, 8, &f),
			 -VMLAB_EINVAL);
	/* No buffer; an access kind that does not exist; touch-write. */
	assert_int_equal(vmlab_read(m, 0, KVA, NULL, 8, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_write(m, 0, KVA, NULL, 8, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_fetch(m, 0, KVA, NULL, 8, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_access(m, 0, VMLAB_NR_ACCESS, KVA, buf, 8, 0,
				      &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_access(m, 0, (enum vmlab_access)7, KVA, buf, 8,
				      0, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_touch(m, 0, VMLAB_WRITE, KVA, 0, &f),
			 -VMLAB_EINVAL);
	assert_unchanged(m, &s);
	assert_int_equal(vmlab_tlb_occupancy(m, 0), 0);
	/* The limits themselves are fine: exactly 1 MiB, 1 byte. */
	memset(buf, 0x5a, VMLAB_MiB);
	assert_int_equal(vmlab_write(m, 0, KVA + 4096, buf, VMLAB_MiB, &f), 0);
	memset(buf, 0, VMLAB_MiB);
	assert_int_equal(vmlab_read(m, 1, KVA + 4096, buf, VMLAB_MiB, &f), 0);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(buf[VMLAB_MiB - 1], 0x5a);
	assert_int_equal(vmlab_read(m, 1, KVA + VMLAB_PMD_SIZE - 1, buf, 1,
				    &f), 0);
	/* One byte further faults, it does not fail the arguments. */
	assert_int_equal(vmlab_read(m, 1, KVA + VMLAB_PMD_SIZE - 1, buf, 2,
				    &f), -VMLAB_EFAULT);
	assert_int_equal(f.va, KVA + VMLAB_PMD_SIZE);
	free(buf);
	assert_int_equal(vmlab_nr_warnings(m), 0);
	vmlab_machine_destroy(m);
}

/* ----------------------------------------------- flushes and switches */

/* The calls that take a CPU, each with a bad id: none may crash or touch
 * a TLB. */
static void flush_calls(struct vmlab_machine *m, int c, struct vmlab_mm *mm,
			u64 *warned)
{
	u64 w0 = vmlab_nr_warnings(m);
	vmlab_flush_tlb_one(m, c, KVA);
	warned[0] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_flush_tlb_local(m, c);
	warned[1] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_flush_tlb_global(m, c);
	warned[2] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_flush_tlb_kernel_range(m, c, KVA, KVA + 4096);
	warned[3] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_flush_tlb_all(m, c);
	warned[4] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_flush_tlb_mm_range(m, c, mm, 0x400000, 0x401000, 12, false);
	warned[5] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_switch_mm(m, c, mm);
	warned[6] += vmlab_nr_warnings(m) != w0;
	w0 = vmlab_nr_warnings(m);
	vmlab_enter_lazy_tlb(m, c);
	warned[7] += vmlab_nr_warnings(m) != w0;
}

static const char *const flush_names[] = {
	"flush_tlb_one", "flush_tlb_local", "flush_tlb_global",
	"flush_tlb_kernel_range", "flush_tlb_all", "flush_tlb_mm_range",
	"switch_mm", "enter_lazy_tlb",
};

static void never_run(struct vmlab_machine *m, int cpu, void *arg)
{
	(void)m;
	(void)cpu;
	(void)arg;
	fail_msg("work ran on a CPU that does not exist");
}

static const int bad_flush_cpus[] = {-1, 3, 4, 1000, INT_MIN};
#define NR_BAD_FLUSH_CPUS (sizeof(bad_flush_cpus) / sizeof(bad_flush_cpus[0]))

static void test_flush_bad_cpu_changes_nothing(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(3, 64 * VMLAB_MiB, true);
	struct vmlab_mm *mm;
	assert_int_equal(vmlab_mm_create(m, &mm), 0);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	for (int c = 0; c < 3; c++)
		t_read64(m, c, KVA);
	struct snap s;
	snap(m, &s);
	u64 warned[8] = {0};
	for (size_t i = 0; i < NR_BAD_FLUSH_CPUS; i++)
		flush_calls(m, bad_flush_cpus[i], mm, warned);
	/* Bad arguments other than the CPU. */
	u64 w0 = vmlab_nr_warnings(m);
	vmlab_switch_mm(m, 0, NULL);
	vmlab_flush_tlb_mm_range(m, 0, NULL, 0, 4096, 12, false);
	vmlab_flush_tlb_mm_range(m, 0, mm, 0, 4096, 5, false);
	vmlab_flush_tlb_mm_range(m, 0, mm, 0, 4096, 40, false);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 4);
	assert_unchanged(m, &s);
	for (int c = 0; c < 3; c++) {
		assert_true(vmlab_tlb_probe(m, c, KVA, NULL, NULL) >= 0);
		assert_ptr_equal(vmlab_cpu_mm(m, c), vmlab_init_mm(m));
		assert_false(vmlab_cpu_is_lazy(m, c));
	}
	/* Queries with bad CPU ids answer "nothing". */
	for (size_t i = 0; i < NR_BAD_FLUSH_CPUS; i++) {
		int c = bad_flush_cpus[i];
		assert_null(vmlab_cpu_mm(m, c));
		assert_false(vmlab_cpu_is_lazy(m, c));
		assert_int_equal(vmlab_tlb_occupancy(m, c), 0);
		assert_int_equal(vmlab_tlb_probe(m, c, KVA, NULL, NULL), -1);
		assert_false(vmlab_mm_cpumask_test(mm, c));
		if (c >= 0)
			assert_int_equal(vmlab_counter(m, c, VMLAB_C_tlb_fill),
					 0);
		vmlab_checker_set_op(m, c, "bogus");
	}
	assert_int_equal(vmlab_counter(m, 0, VMLAB_NR_COUNTERS), 0);
	assert_string_equal(vmlab_counter_name(VMLAB_NR_COUNTERS), "?");
	/* Work queued stays queued when run on a CPU that does not exist. */
	struct vmlab_work w = {.fn = never_run, .name = "never"};
	assert_true(vmlab_queue_work(m, &w));
	assert_false(vmlab_queue_work(m, &w));
	assert_int_equal(vmlab_run_work(m, -1, 1), 0);
	assert_int_equal(vmlab_run_work(m, 3, 1), 0);
	assert_int_equal(vmlab_run_work(m, 0, 0), 0);
	assert_int_equal(vmlab_nr_pending_work(m), 1);
	assert_true(vmlab_cancel_work(m, &w));
	assert_false(vmlab_cancel_work(m, &w));
	vmlab_mm_destroy(m, mm);
	vmlab_mm_destroy(m, NULL);
	vmlab_mm_destroy(m, vmlab_init_mm(m)); /* refused */
	t_read64(m, 2, KVA); /* the machine still works */
	vmlab_machine_destroy(m);
}

/*
 * DESIGN.md section 5: API misuse gets an error code or a kernel-style
 * warning.  The flush calls return nothing, so a bad CPU id must at least
 * warn: a caller whose flush silently went nowhere keeps stale entries.
 */
static void test_flush_bad_cpu_warns(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(3, 64 * VMLAB_MiB, false);
	struct vmlab_mm *mm;
	assert_int_equal(vmlab_mm_create(m, &mm), 0);
	u64 warned[8] = {0};
	for (size_t i = 0; i < NR_BAD_FLUSH_CPUS; i++)
		flush_calls(m, bad_flush_cpus[i], mm, warned);
	int silent = 0;
	for (int i = 0; i < 8; i++)
		if (warned[i] != NR_BAD_FLUSH_CPUS) {
			fprintf(stderr, "vmlab_%s() with a bad CPU id: no "
					"warning (%llu of %zu calls warned)\n",
				flush_names[i], (unsigned long long)warned[i],
				NR_BAD_FLUSH_CPUS);
			silent++;
		}
	vmlab_mm_destroy(m, mm);
	vmlab_machine_destroy(m);
	assert_int_equal(silent, 0);
}

/* -------------------------------------------------- the page allocator */

static void test_free_pages_garbage(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 one, four, freed;
	assert_int_equal(vmlab_alloc_pages(m, 0, 0, &one), 0);
	assert_int_equal(vmlab_alloc_pages(m, 1, 2, &four), 0);
	assert_int_equal(vmlab_alloc_pages(m, 0, 0, &freed), 0);
	vmlab_free_pages(m, 0, freed, 0);
	u64 nframes = vmlab_nr_frames(m);
	struct snap s;
	snap(m, &s);
	const struct {
		u64 pfn;
		int order;
	} garbage[] = {
		{nframes, 0},        /* beyond RAM */
		{nframes - 1, 0},    /* never handed out */
		{~0ULL, 0},
		{~0ULL - 3, 2},
		{0, 0},              /* reserved (first MiB) */
		{255, 0},
		{one, -1},           /* no such order */
		{one, 11},
		{one, INT_MAX},
		{one, 1},            /* wrong order */
		{four, 1},
		{four, 3},
		{four + 1, 0},       /* tail page of a block */
		{four + 2, 1},
		{freed, 0},          /* double free (on a per-CPU list) */
		{one + 1, 1},        /* misaligned for its order */
	};
	const size_t n = sizeof(garbage) / sizeof(garbage[0]);
	for (size_t i = 0; i < n; i++) {
		u64 w0 = vmlab_nr_warnings(m);
		vmlab_free_pages(m, i & 1, garbage[i].pfn, garbage[i].order);
		assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	}
	assert_unchanged(m, &s);
	assert_int_equal(vmlab_nr_reports(m), 0);
	/* A buddy-list head is no allocated block either. */
	u64 blk;
	assert_int_equal(vmlab_alloc_pages(m, 0, 10, &blk), 0);
	vmlab_free_pages(m, 0, blk, 10);
	u64 w0 = vmlab_nr_warnings(m);
	vmlab_free_pages(m, 0, blk, 10);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	/* Page-table free of a data page. */
	w0 = vmlab_nr_warnings(m);
	vmlab_pgtable_free(m, one);
	vmlab_pgtable_free(m, nframes + 5);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 2);
	/* Allocation arguments. */
	u64 pfn = 12345;
	assert_int_equal(vmlab_alloc_pages(m, 0, -1, &pfn), -VMLAB_EINVAL);
	assert_int_equal(vmlab_alloc_pages(m, 0, VMLAB_MAX_ORDER + 1, &pfn),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_alloc_pages(m, 0, 0, NULL), -VMLAB_EINVAL);
	assert_int_equal(pfn, 12345);
	/* The real blocks still free cleanly, once. */
	vmlab_free_pages(m, 0, one, 0);
	vmlab_free_pages(m, 1, four, 2);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 2);
	assert_int_equal(vmlab_nr_reports(m), 0);
	/* Raw physical access beyond RAM warns and touches nothing. */
	u64 v = 77;
	w0 = vmlab_nr_warnings(m);
	vmlab_phys_read(m, nframes << 12, &v, 8);
	vmlab_phys_write(m, (nframes << 12) - 4, &v, 8);
	vmlab_phys_fill(m, nframes << 12, 0, 4096);
	vmlab_phys_read(m, ~0ULL - 3, &v, 8); /* pa + len wraps (asserted) */
	vmlab_phys_write(m, ~0ULL, &v, 1);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 5);
	assert_int_equal(v, 77);
	vmlab_machine_destroy(m);
}

/* ------------------------------------------------------ out of memory */

static u64 *fill_memory(struct vmlab_machine *m, size_t *n)
{
	size_t cap = (size_t)vmlab_nr_frames(m);
	u64 *pfns = malloc(cap * sizeof(*pfns));
	assert_non_null(pfns);
	*n = 0;
	while (*n < cap && vmlab_alloc_pages(m, (int)(*n % 2), 0,
					     &pfns[*n]) == 0)
		(*n)++;
	assert_int_equal(vmlab_nr_free_pages(m), 0);
	u64 pfn;
	assert_int_equal(vmlab_alloc_pages(m, 0, 0, &pfn), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_alloc_pages(m, 1, 3, &pfn), -VMLAB_ENOMEM);
	return pfns;
}

static enum vmlab_fault_ret no_handler(struct vmlab_machine *m,
				       const struct vmlab_fault *f, void *ctx)
{
	(void)m;
	(void)f;
	(void)ctx;
	return VMLAB_FAULT_FAIL;
}

static int install_marker(u64 addr, u64 next, u64 *val, struct vmlab_walk *w)
{
	(void)addr;
	(void)next;
	*val = vmlab_mk_marker(w->m, VMLAB_PTE_MARKER_GUARD);
	return 0;
}

static void test_out_of_memory(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	vmlab_set_fault_handler(m, no_handler, NULL);
	struct vmlab_mm *k = vmlab_init_mm(m);
	/* The kernel's upper tables over KVA stay once made (x86 makes
	 * them at boot, arm64 on first use): make them before counting. */
	u64 pf = t_page(m);
	assert_int_equal(vmlab_map_range(m, k, KVA, pf << 12, 4096,
					 VMLAB_PAGE_KERNEL, 0), 0);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	assert_int_equal(vmlab_unmap_range(m, &tlb, KVA, VMLAB_GiB, true), 1);
	vmlab_tlb_finish_mmu(m, &tlb);
	vmlab_free_pages(m, 0, pf, 0);
	u64 free0 = vmlab_nr_free_pages(m);
	/* A 2 MiB leaf to split later, before memory runs out. */
	u64 big;
	assert_int_equal(vmlab_alloc_pages(m, 0, 9, &big), 0);
	assert_int_equal(vmlab_map_range(m, k, KVA, big << 12, VMLAB_PMD_SIZE,
					 VMLAB_PAGE_KERNEL,
					 VMLAB_MAP_HUGE_PMD), 0);
	t_write64(m, 1, KVA + 5 * 4096, 0xabcd);
	size_t n;
	u64 *pfns = fill_memory(m, &n);
	/* A fresh 1 GiB region needs a PMD and a PTE table. */
	u64 va = KVA + 8 * VMLAB_GiB;
	assert_int_equal(vmlab_map_range(m, k, va, pfns[0] << 12, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_translate(m, k, va, NULL, NULL, NULL),
			 -VMLAB_ENOENT);
	/* Splitting the 2 MiB leaf needs a table too: the split, a partial
	 * unmap and a partial protect fail and leave the leaf alone. */
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	assert_int_equal(vmlab_split_leaf(m, 0, k, KVA, VMLAB_LVL_PMD),
			 -VMLAB_ENOMEM);
	assert_int_equal(vmlab_unmap_range(m, &tlb, KVA + 4096, 4096, true),
			 -VMLAB_ENOMEM);
	assert_int_equal(vmlab_protect_range(m, &tlb, KVA + 4096, 4096, 0,
					     VMLAB_PAGE_RW), -VMLAB_ENOMEM);
	vmlab_tlb_finish_mmu(m, &tlb);
	int level;
	assert_int_equal(vmlab_translate(m, k, KVA + 4096, NULL, NULL, &level),
			 0);
	assert_int_equal(level, VMLAB_LVL_PMD);
	assert_int_equal(t_read64(m, 0, KVA + 5 * 4096), 0xabcd);
	/* No PGD for a new address space; no table for the walker. */
	struct vmlab_mm *mm = NULL;
	assert_int_equal(vmlab_mm_create(m, &mm), -VMLAB_ENOMEM);
	assert_null(mm);
	const struct vmlab_walk_ops ops = {.install_pte = install_marker};
	assert_int_equal(walk_page_range_mm(m, k, va, va + 4096, &ops, NULL),
			 -VMLAB_ENOMEM);
	/* One frame back: the PMD table fits, the PTE table does not. */
	vmlab_free_pages(m, 0, pfns[--n], 0);
	assert_int_equal(vmlab_map_range(m, k, va, pfns[0] << 12, 4096,
					 VMLAB_PAGE_KERNEL, 0), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_nr_free_pages(m), 0);
	/* Another: now it maps, and works. */
	vmlab_free_pages(m, 1, pfns[--n], 0);
	assert_int_equal(vmlab_map_range(m, k, va, pfns[0] << 12, 4096,
					 VMLAB_PAGE_KERNEL, 0), 0);
	t_write64(m, 0, va, 42);
	assert_int_equal(t_read64(m, 1, va), 42);
	/* Give it all back, tables included (whole 1 GiB regions): the
	 * machine ends where it started. */
	vmlab_tlb_gather_mmu(&tlb, k, 0);
	assert_int_equal(vmlab_unmap_range(m, &tlb, va, VMLAB_GiB, true), 1);
	assert_int_equal(vmlab_unmap_range(m, &tlb, KVA, VMLAB_GiB, true), 1);
	vmlab_tlb_remove_page(m, &tlb, big, 9);
	vmlab_tlb_finish_mmu(m, &tlb);
	for (size_t i = 0; i < n; i++)
		vmlab_free_pages(m, (int)(i % 2), pfns[i], 0);
	free(pfns);
	assert_int_equal(vmlab_nr_free_pages(m), free0);
	assert_int_equal(vmlab_mm_create(m, &mm), 0);
	vmlab_mm_destroy(m, mm);
	assert_int_equal(vmlab_nr_warnings(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* ------------------------------------------------- CPU ids elsewhere */

/*
 * The allocator takes the CPU whose per-CPU lists to use; an id that does
 * not exist means "no CPU context" (it used to index past the CPU array:
 * INT_MAX crashes a plain build, nr_cpus trips ASan).
 */
static void test_alloc_free_bad_cpu(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 free0 = vmlab_nr_free_pages(m);
	static const int cpus[] = {2, INT_MAX, -1, INT_MIN};
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		u64 pfn = ~0ULL;
		assert_int_equal(vmlab_alloc_pages(m, cpus[i], (int)i, &pfn),
				 0);
		assert_true(pfn < vmlab_nr_frames(m));
		vmlab_free_pages(m, cpus[(i + 1) % 4], pfn, (int)i);
	}
	assert_int_equal(vmlab_nr_free_pages(m), free0);
	/* Each id that is neither a CPU nor -1 (no CPU context) warns:
	 * three allocations and three frees (issue 18: not silent). */
	assert_int_equal(vmlab_nr_warnings(m), 6);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* Misuse of the small utility API warns or returns, never asserts. */
static void test_utility_api_misuse(void **state)
{
	(void)state;
	struct vmlab_config cfg = cfg_small();
	struct vmlab_machine *m;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	u64 w0 = vmlab_nr_warnings(m);
	/* snapshot, reset, snapshot: a legal sequence. */
	struct vmlab_counters a, b, d;
	vmlab_flush_tlb_all(m, 0);
	vmlab_flush_tlb_all(m, 0);
	vmlab_counters_snapshot(m, &a);
	vmlab_counters_reset(m);
	vmlab_flush_tlb_all(m, 0);
	vmlab_counters_snapshot(m, &b);
	vmlab_counters_diff(&b, &a, &d);
	assert_int_equal(d.v[VMLAB_C_flush_all], 1);
	vmlab_counters_snapshot(m, NULL);
	vmlab_set_cost(m, NULL);
	vmlab_phys_read(m, 0, NULL, 8);
	vmlab_phys_write(m, 0, NULL, 8);
	assert_int_equal(vmlab_rand_below(m, 0), 0);
	struct vmlab_work w = {0};
	assert_false(vmlab_queue_work(m, &w));
	assert_false(vmlab_queue_work(m, NULL));
	assert_false(vmlab_cancel_work(m, NULL));
	assert_int_equal(vmlab_nr_pending_work(m), 0);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 5);
	vmlab_config_default(NULL);
	vmlab_machine_destroy(m);
}

/*
 * A malformed descriptor stored through the public API (a reserved
 * encoding of the machine's architecture: arm64 a block at level 3 or 0,
 * x86 PS in a PML4 entry) warns, and the access through it faults; the
 * mm code then meets a bad entry (pgtable_bad, print_bad_pte, the rss
 * counters of check_mm) and warns instead of crashing.  So does a store
 * at a level that does not exist.
 */
static int bad_flip(const struct vmlab_arch_ops *a, u64 e, int level)
{
	for (int b = 0; b < 64; b++)
		if (a->bad_entry(e ^ (1ULL << b), level))
			return b;
	return -1;
}

/* The lowest level whose live entry for va in mm one bit flip makes
 * reserved: its level, entry address and the bit. */
static int bad_level(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va,
		     vmlab_ptep_t *p, int *bit)
{
	for (int l = VMLAB_LVL_PTE; l <= VMLAB_LVL_PGD; l++) {
		assert_int_equal(vmlab_lookup_entry(m, mm, va, l, p), 0);
		*bit = bad_flip(vmlab_arch(m), vmlab_get_entry(m, *p), l);
		if (*bit >= 0)
			return l;
	}
	fail_msg("no reserved encoding one bit away");
	return -1;
}

static void test_malformed_entry(void **state)
{
	(void)state;
	struct vmlab_config cfg = cfg_small();
	cfg.checker = true;
	struct vmlab_machine *m;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	const struct vmlab_arch_ops *a = vmlab_arch(m);
	assert_string_equal(a->name, t_arch());
	struct vmlab_user_mm *um;
	assert_int_equal(vmlab_user_mm_create(m, &um), 0);
	s64 va = vmlab_mmap(um, 0, 4 * VMLAB_PAGE_SIZE,
			    VMLAB_PROT_READ | VMLAB_PROT_WRITE,
			    VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS, NULL, 0);
	assert_true(va > 0);
	assert_int_equal(vmlab_user_write8(um, 0, (u64)va, 1), VMLAB_OK);
	struct vmlab_mm *hw = vmlab_user_hw_mm(um);
	int bit;
	vmlab_ptep_t p;
	int level = bad_level(m, hw, (u64)va, &p, &bit);
	u64 w0 = vmlab_nr_warnings(m);
	u64 e = vmlab_get_entry(m, p);
	u64 at = (u64)va & ~(vmlab_level_size(level) - 1);
	vmlab_set_entry(m, hw, at, level, p, e ^ (1ULL << bit));
	assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	assert_int_equal(vmlab_get_entry(m, p), e ^ (1ULL << bit));
	/* Stored; once the TLBs forget the old entry the access faults and
	 * the task is killed (a "Bad pagetable" warning), no retry loop. */
	vmlab_flush_tlb_all(m, 0);
	u64 f0 = vmlab_counter(m, -1, VMLAB_C_page_fault);
	u8 v;
	assert_int_equal(vmlab_user_read8(um, 0, (u64)va, &v), VMLAB_SIGKILL);
	assert_int_equal(vmlab_user_read8(um, 1, (u64)va, &v), VMLAB_SIGKILL);
	assert_true(vmlab_counter(m, -1, VMLAB_C_page_fault) > f0);
	assert_true(vmlab_nr_warnings(m) >= w0 + 3);
	/* A level that does not exist: a warning, nothing stored. */
	u64 w1 = vmlab_nr_warnings(m), h = vmlab_trace_hash(m);
	vmlab_set_entry(m, hw, at, VMLAB_NR_LEVELS, p, 0);
	vmlab_set_entry(m, hw, at, -1, p, 0);
	assert_int_equal(vmlab_nr_warnings(m), w1 + 2);
	assert_int_equal(vmlab_trace_hash(m), h);
	/* Teardown over the bad entry recovers: where the mm code cannot
	 * follow it, it warns and leaks what lies behind, as Linux does. */
	assert_int_equal(vmlab_munmap(um, (u64)va, 4 * VMLAB_PAGE_SIZE), 0);
	vmlab_user_mm_destroy(um);
	vmlab_machine_destroy(m);
}

/*
 * The same in a kernel mapping (init_mm, the suite's vmalloc range): the
 * store warns, a kernel access through it faults (-EFAULT, no retry
 * loop), on every CPU; restoring the entry makes the page usable again.
 */
static void test_malformed_kernel_entry(void **state)
{
	(void)state;
	struct vmlab_config cfg = cfg_small();
	cfg.checker = true;
	struct vmlab_machine *m;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	struct vmlab_mm *k = vmlab_init_mm(m);
	u64 va = T_VMALLOC_START + 64 * VMLAB_PAGE_SIZE;
	t_map(m, va, VMLAB_PAGE_KERNEL);
	t_write64(m, 1, va, 0x5a);
	int bit;
	vmlab_ptep_t p;
	int level = bad_level(m, k, va, &p, &bit);
	u64 e = vmlab_get_entry(m, p), w0 = vmlab_nr_warnings(m);
	u64 at = va & ~(vmlab_level_size(level) - 1);
	vmlab_set_entry(m, k, at, level, p, e ^ (1ULL << bit));
	assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	vmlab_flush_tlb_all(m, 0);
	u64 f0 = vmlab_counter(m, -1, VMLAB_C_page_fault), v;
	for (int c = 0; c < cfg.nr_cpus; c++)
		assert_int_equal(vmlab_read(m, c, va, &v, 8, NULL),
				 -VMLAB_EFAULT);
	assert_true(vmlab_counter(m, -1, VMLAB_C_page_fault) >= f0 + 2);
	/* Put back: the page reads its data again. */
	vmlab_set_entry(m, k, at, level, p, e);
	assert_int_equal(t_read64(m, 0, va), 0x5a);
	assert_true(t_unmap(m, 0, va, VMLAB_PAGE_SIZE, true) == 1);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utility_api_misuse),
		cmocka_unit_test(test_boot_bad_config),
		cmocka_unit_test(test_extreme_machines_boot),
		cmocka_unit_test(test_map_bad_arguments),
		cmocka_unit_test(test_map_over_existing),
		cmocka_unit_test(test_unmap_protect_walk_bad_arguments),
		cmocka_unit_test(test_access_bad_arguments),
		cmocka_unit_test(test_flush_bad_cpu_changes_nothing),
		cmocka_unit_test(test_free_pages_garbage),
		cmocka_unit_test(test_flush_bad_cpu_warns),
		cmocka_unit_test(test_alloc_free_bad_cpu),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_malformed_entry),
		cmocka_unit_test(test_malformed_kernel_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
