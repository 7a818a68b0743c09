/* SPDX-License-Identifier: MIT */
/*
 * execmem and text_poke: the four allocators, the chunk bitmap against a
 * reference, INT3 refills, pack release, the split-range boundary, the
 * poking alias (accepted, and its two leaks caught), bad input.
 */
#include <stdlib.h>

#include "helpers.h"
#include "services/execmem_internal.h"

/* The suite's module range (x86 1520 MiB, arm64 2 GiB). */
#define T_MODULES_LEN (T_MODULES_END - T_MODULES_VADDR)

static struct vmlab_machine *xm_machine(enum vmlab_execmem_allocator a,
					u32 flags, bool checker)
{
	struct vmlab_machine *m = t_machine(2, 1ULL << 30, checker);
	struct vmlab_execmem_config cfg = {a, flags};
	assert_int_equal(vmlab_execmem_setup(m, &cfg), 0);
	return m;
}

static void read_bytes(struct vmlab_machine *m, u64 va, u8 *buf, size_t n)
{
	assert_int_equal(vmlab_read(m, 0, va, buf, n, NULL), 0);
}

static bool all_byte(const u8 *b, size_t n, u8 v)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

/* ------------------------------------------------- chunk bitmap */

/* Random set/clear sequences against a byte-per-bit reference: the
 * search answers first fit, never an overlapping run. */
static void test_chunk_map_reference(void **state)
{
	(void)state;
	struct chunk_map cm;
	enum { N = 2048 };
	assert_int_equal(cm_init(&cm, NULL, N), 0);
	u8 ref[N] = {0};
	u32 live_pos[512], live_n[512];
	int nlive = 0;
	u64 x = 88172645463325252ULL;
	for (int step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (nlive < 512 && (x % 3 || !nlive)) {
			u32 n = 1 + (u32)((x >> 8) % 40);
			s64 pos = cm_find(&cm, n);
			/* Reference first fit. */
			s64 want = -1;
			for (u32 s = 0, run = 0; s < N; s++) {
				run = ref[s] ? 0 : run + 1;
				if (run == n) {
					want = s - n + 1;
					break;
				}
			}
			assert_int_equal(pos, want);
			if (pos < 0)
				continue;
			for (u32 i = 0; i < n; i++) {
				assert_int_equal(ref[pos + i], 0);
				ref[pos + i] = 1;
			}
			cm_set(&cm, (u32)pos, n);
			live_pos[nlive] = (u32)pos;
			live_n[nlive++] = n;
		} else {
			int k = (int)((x >> 16) % (u64)nlive);
			cm_clear(&cm, live_pos[k], live_n[k]);
			for (u32 i = 0; i < live_n[k]; i++)
				ref[live_pos[k] + i] = 0;
			live_pos[k] = live_pos[--nlive];
			live_n[k] = live_n[nlive];
		}
		u32 nfree = 0;
		for (u32 i = 0; i < N; i++)
			nfree += !ref[i];
		assert_int_equal(cm.nfree, nfree);
	}
	for (u32 i = 0; i < N; i++)
		assert_int_equal(cm_test(&cm, i), ref[i]);
	cm_destroy(&cm);
}

/* ------------------------------------------------- allocators */

static const struct vmlab_execmem_workload bpf3000 = {
	.programs = 3000, .size = 64, .rounds = 1, .fetch_bytes = 64,
	.unload = false, .type = VMLAB_EXECMEM_BPF};

/* The real-kernel reference (Linux 6.18, x86-64): 3000 4-instruction
 * classic-BPF socket filters in one prog pack, one 2 MiB + guard area,
 * no direct-map splits. */
static void test_pack_reference(void **state)
{
	(void)state;
	/* The reference machine is a 2-CPU VM whose direct map has no 1 GiB
	 * pages (QEMU's default CPU models lack pdpe1gb). */
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 2;
	cfg.checker = true;
	cfg.direct_map_1g = false;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	struct vmlab_execmem_config xc = {VMLAB_EXECMEM_PACK, 0};
	assert_int_equal(vmlab_execmem_setup(m, &xc), 0);
	struct vmlab_execmem_figures f;
	assert_int_equal(vmlab_execmem_run_workload(m, &bpf3000, &f), 0);
	assert_int_equal(f.nr_packs, 1);
	assert_int_equal(f.nr_areas, 1);
	assert_int_equal(f.split_l2, 0);
	assert_int_equal(f.split_l3, 0);
	assert_int_equal(f.itlb_2m, 1);
	assert_int_equal(f.itlb_4k, 0);
	assert_int_equal(f.wx_reports + f.stale_reports + f.freed_reports, 0);
	struct vmlab_vmalloc_stats vs;
	vmlab_vmalloc_stats(m, &vs);
	u64 addr = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, addr);
	assert_non_null(vm);
	assert_int_equal(vm->size, VMLAB_PMD_SIZE + VMLAB_PAGE_SIZE);
	assert_int_equal(vm->page_order, 9);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
	/* With 1 GiB direct-map pages the pack's read-only alias costs one
	 * 1G -> 2M split on x86, and still no 2M -> 4K split; arm64's linear
	 * map is page-mapped (rodata_full): nothing to split. */
	m = xm_machine(VMLAB_EXECMEM_PACK, 0, true);
	assert_int_equal(vmlab_execmem_run_workload(m, &bpf3000, &f), 0);
	assert_int_equal(f.nr_packs, 1);
	assert_int_equal(f.split_l2, 0);
	assert_int_equal(f.split_l3, t_arm64() ? 0 : 1);
	vmlab_machine_destroy(m);
}

static void all_allocators_clean(const char *arch)
{
	for (int a = 0; a < VMLAB_NR_EXECMEM_ALLOCATORS; a++) {
		struct vmlab_config cfg;
		t_config(&cfg);
		cfg.nr_cpus = 2;
		cfg.checker = true;
		cfg.arch = arch;
		struct vmlab_machine *m = NULL;
		assert_int_equal(vmlab_boot(&cfg, &m), 0);
		vmlab_set_quiet(m, true);
		struct vmlab_execmem_config xc = {
		    (enum vmlab_execmem_allocator)a, VMLAB_EXECMEM_ROX_BPF};
		assert_int_equal(vmlab_execmem_setup(m, &xc), 0);
		struct vmlab_execmem_workload w = bpf3000;
		w.programs = 300;
		w.unload = true;
		struct vmlab_execmem_figures f;
		assert_int_equal(vmlab_execmem_run_workload(m, &w, &f), 0);
		if (vmlab_nr_reports(m))
			vmlab_print_reports(m, stderr);
		assert_int_equal(vmlab_nr_reports(m), 0);
		struct vmlab_execmem_stats st;
		vmlab_execmem_stats(m, &st);
		assert_int_equal(st.nr_live, 0);
		assert_true(st.text_pokes > 0 || a == VMLAB_EXECMEM_PER_AREA);
		vmlab_machine_destroy(m);
	}
}

static void test_all_allocators_clean(void **state)
{
	(void)state;
	all_allocators_clean(t_arch());
}


/* Freed chunks read back as INT3; a pack goes only when empty. */
static void test_pack_free_refill_release(void **state)
{
	(void)state;
	struct vmlab_machine *m = xm_machine(VMLAB_EXECMEM_PACK, 0, true);
	u64 a = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 100);
	u64 b = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
	assert_true(a && b);
	assert_int_equal(b, a + 128); /* 100 bytes take two chunks */
	u8 img[128];
	memset(img, 0x90, sizeof(img));
	assert_int_equal(vmlab_execmem_update_copy(m, 0, a, 0, img, 100), 0);
	assert_int_equal(vmlab_execmem_update_copy(m, 0, b, 0, img, 64), 0);
	u8 buf[128];
	read_bytes(m, a, buf, 100);
	assert_true(all_byte(buf, 100, 0x90));
	/* Fresh chunks are INT3 before anyone writes them. */
	read_bytes(m, a + 100, buf, 28);
	assert_true(all_byte(buf, 28, 0xcc));
	struct vmlab_execmem_stats st;
	vmlab_execmem_stats(m, &st);
	assert_int_equal(st.nr_packs, 1);
	assert_int_equal(vmlab_execmem_free(m, 0, a), 0);
	read_bytes(m, a, buf, 100);
	assert_true(all_byte(buf, 100, 0xcc));
	read_bytes(m, b, buf, 64);
	assert_true(all_byte(buf, 64, 0x90)); /* the neighbour is untouched */
	vmlab_execmem_stats(m, &st);
	assert_int_equal(st.nr_packs, 1); /* b still lives in it */
	assert_non_null(vmlab_find_vm_area(m, b));
	assert_int_equal(vmlab_execmem_free(m, 0, b), 0);
	vmlab_execmem_stats(m, &st);
	assert_int_equal(st.nr_packs, 0);
	assert_null(vmlab_find_vm_area(m, b));
	/* A request bigger than a pack gets its own ROX area. */
	u64 big = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF,
				      VMLAB_PMD_SIZE + 1);
	assert_true(big);
	vmlab_execmem_stats(m, &st);
	assert_int_equal(st.nr_packs, 0);
	assert_true(vmlab_execmem_is_rox(m, VMLAB_EXECMEM_BPF));
	assert_int_equal(vmlab_execmem_free(m, 0, big), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* Many packs: chunks never overlap across a random alloc/free churn, and
 * the pack count returns to zero. */
static void test_pack_churn(void **state)
{
	(void)state;
	struct vmlab_machine *m = xm_machine(VMLAB_EXECMEM_PACK, 0, false);
	enum { N = 3000 };
	u64 *addr = calloc(N, sizeof(u64)), *size = calloc(N, sizeof(u64));
	assert_true(addr && size);
	for (int step = 0; step < 3 * N; step++) {
		int i = (int)vmlab_rand_below(m, N);
		if (addr[i]) {
			assert_int_equal(vmlab_execmem_free(m, 0, addr[i]), 0);
			addr[i] = 0;
			continue;
		}
		size[i] = 1 + vmlab_rand_below(m, 4096);
		addr[i] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, size[i]);
		assert_true(addr[i]);
		for (int j = 0; j < N; j++)
			if (j != i && addr[j])
				assert_true(addr[i] + size[i] <= addr[j] ||
					    addr[j] + size[j] <= addr[i]);
	}
	for (int i = 0; i < N; i++)
		if (addr[i])
			assert_int_equal(vmlab_execmem_free(m, 0, addr[i]), 0);
	struct vmlab_execmem_stats st;
	vmlab_execmem_stats(m, &st);
	assert_int_equal(st.nr_packs, 0);
	assert_int_equal(st.nr_live, 0);
	free(addr);
	free(size);
	vmlab_machine_destroy(m);
}

/* One seeded churn of n steps; the addresses handed out, in order. */
static u64 *pack_churn_addrs(u32 flags, int n, struct vmlab_execmem_stats *st)
{
	struct vmlab_machine *m = xm_machine(VMLAB_EXECMEM_PACK, flags, false);
	enum { LIVE = 500 };
	u64 live[LIVE] = {0}, *out = calloc((size_t)n, sizeof(u64));
	assert_non_null(out);
	for (int k = 0; k < n; k++) {
		int i = (int)vmlab_rand_below(m, LIVE);
		if (live[i])
			assert_int_equal(vmlab_execmem_free(m, 0, live[i]), 0);
		u64 size = 1 + vmlab_rand_below(m, 3000);
		live[i] = out[k] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF,
						       size);
		assert_true(out[k]);
	}
	/* A free must name an allocation: inside one is refused. */
	assert_int_equal(vmlab_execmem_free(m, 0, live[0] + 1),
			 -VMLAB_EINVAL);
	vmlab_execmem_stats(m, st);
	for (int i = 0; i < LIVE; i++)
		if (live[i])
			assert_int_equal(vmlab_execmem_free(m, 0, live[i]), 0);
	struct vmlab_execmem_stats end;
	vmlab_execmem_stats(m, &end);
	assert_int_equal(end.nr_packs, 0);
	assert_int_equal(end.pack_track_bytes, 0);
	vmlab_machine_destroy(m);
	return out;
}

/* The vmap_area-tree tracker (PeterZ) picks the bitmap's chunks, at 64
 * and at 1 byte; its memory follows the allocations, the bitmap's the
 * granularity. */
static void test_pack_trackers_agree(void **state)
{
	(void)state;
	enum { N = 3000 };
	static const u32 grain[2] = {0, VMLAB_EXECMEM_PACK_1B};
	for (int g = 0; g < 2; g++) {
		struct vmlab_execmem_stats sb, st;
		u64 *b = pack_churn_addrs(grain[g], N, &sb);
		u64 *t = pack_churn_addrs(grain[g] | VMLAB_EXECMEM_PACK_TREE, N,
					  &st);
		assert_memory_equal(b, t, N * sizeof(u64));
		assert_int_equal(sb.nr_packs, st.nr_packs);
		assert_int_equal(sb.pack_used_bytes, st.pack_used_bytes);
		assert_int_equal(sb.pack_track_bytes,
				 sb.nr_packs * (g ? 262144 : 4096));
		assert_int_equal(sb.pack_track_nodes, 0);
		assert_true(st.pack_track_nodes >= st.nr_live);
		assert_int_equal(st.pack_track_bytes, st.pack_track_nodes * 72);
		if (g)
			assert_int_equal(sb.pack_used_bytes, sb.live_bytes);
		else
			assert_true(sb.pack_used_bytes > sb.live_bytes);
		free(b);
		free(t);
	}
}

/* Song's Q2: the pack's vmap_areas share one vm_struct.  Counted, it
 * outlives every program but the last; uncounted (pack-noref, only with
 * the tree) it goes with the first, under the others. */
static void test_pack_tree_refcount(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 1ULL << 30, true);
	struct vmlab_execmem_config bad = {VMLAB_EXECMEM_PACK,
					   VMLAB_EXECMEM_PACK_NOREF};
	assert_int_equal(vmlab_execmem_setup(m, &bad), -VMLAB_EINVAL);
	for (int noref = 0; noref < 2; noref++) {
		struct vmlab_execmem_config cfg = {
		    VMLAB_EXECMEM_PACK,
		    VMLAB_EXECMEM_PACK_TREE |
			(noref ? VMLAB_EXECMEM_PACK_NOREF : 0)};
		assert_int_equal(vmlab_execmem_setup(m, &cfg), 0);
		u64 a = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 100);
		u64 b = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 100);
		assert_int_equal(b, a + 128);
		assert_int_equal(vmlab_execmem_free(m, 0, a), 0);
		u8 byte;
		int r = vmlab_read(m, 1, b, &byte, 1, NULL);
		assert_int_equal(r, noref ? -VMLAB_EFAULT : 0);
		assert_int_equal(vmlab_execmem_free(m, 0, b),
				 noref ? -VMLAB_EINVAL : 0);
		struct vmlab_execmem_stats st;
		vmlab_execmem_stats(m, &st);
		assert_int_equal(st.nr_packs, 0);
	}
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* Split range: text below the boundary, data above, never crossing, the
 * X part grown in 2 MiB steps. */
static void test_split_boundary(void **state)
{
	(void)state;
	struct vmlab_machine *m = xm_machine(VMLAB_EXECMEM_SPLIT_RANGE, 0, true);
	u64 text[64], data[64];
	for (int i = 0; i < 64; i++) {
		text[i] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_TEXT,
					      3 * 4096 + 1);
		data[i] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_DATA,
					      8192);
		assert_true(text[i] && data[i]);
		struct vmlab_execmem_stats st;
		vmlab_execmem_stats(m, &st);
		assert_int_equal(st.x_boundary & (VMLAB_PMD_SIZE - 1), 0);
		for (int j = 0; j <= i; j++) {
			assert_true(text[j] + 4 * 4096 <= st.x_boundary);
			assert_true(data[j] >= st.x_boundary);
		}
		assert_true(st.data_low >= st.x_boundary);
	}
	struct vmlab_execmem_stats st;
	vmlab_execmem_stats(m, &st);
	/* 64 x 4 pages = 1 MiB of text: one 2 MiB step. */
	assert_int_equal(st.boundary_grows, 1);
	assert_int_equal(st.x_boundary, T_MODULES_VADDR + VMLAB_PMD_SIZE);
	assert_true(vmlab_execmem_is_rox(m, VMLAB_EXECMEM_MODULE_TEXT));
	assert_false(vmlab_execmem_is_rox(m, VMLAB_EXECMEM_MODULE_DATA));
	/* Data is written plainly, text only through text_poke. */
	u8 v[16];
	memset(v, 0x11, sizeof(v));
	assert_int_equal(vmlab_execmem_update_copy(m, 0, data[0], 0, v, 16), 0);
	assert_int_equal(vmlab_write(m, 0, text[0], v, 16, NULL), -VMLAB_EFAULT);
	assert_int_equal(vmlab_execmem_update_copy(m, 0, text[0], 0, v, 16), 0);
	u8 b[16];
	read_bytes(m, text[0], b, 16);
	assert_true(all_byte(b, 16, 0x11));
	for (int i = 0; i < 64; i++) {
		assert_int_equal(vmlab_execmem_free(m, 0, text[i]), 0);
		assert_int_equal(vmlab_execmem_free(m, 0, data[i]), 0);
	}
	read_bytes(m, text[0], b, 16);
	assert_true(all_byte(b, 16, 0xcc));
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* A data area sitting just above the X part stops its growth: the
 * boundary is never crossed, the allocation fails. */
static void test_split_boundary_full(void **state)
{
	(void)state;
	/* Memory for data filling the range (arm64's is 2 GiB). */
	struct vmlab_machine *m =
		t_machine(2, (t_arm64() ? 3ULL : 2ULL) << 30, false);
	struct vmlab_execmem_config xc = {VMLAB_EXECMEM_SPLIT_RANGE, 0};
	assert_int_equal(vmlab_execmem_setup(m, &xc), 0);
	/* Data nearly fills the range top-down. */
	u64 d = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_DATA,
				    T_MODULES_LEN - 5 * VMLAB_PMD_SIZE);
	assert_true(d);
	int ok = 0;
	for (int i = 0; i < 8; i++)
		ok += vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_TEXT,
					  VMLAB_PMD_SIZE) != 0;
	struct vmlab_execmem_stats st;
	vmlab_execmem_stats(m, &st);
	assert_true(ok >= 1 && ok < 8);
	assert_true(st.x_boundary <= d);
	vmlab_machine_destroy(m);
}

/* text_poke on a page holding two programs changes only its bytes. */
static void test_text_poke_shared_page(void **state)
{
	(void)state;
	for (int a = VMLAB_EXECMEM_PACK; a < VMLAB_NR_EXECMEM_ALLOCATORS; a++) {
		struct vmlab_machine *m = xm_machine(
		    (enum vmlab_execmem_allocator)a, VMLAB_EXECMEM_ROX_BPF, true);
		u64 p = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
		u64 q = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
		assert_true(p && q);
		u8 img[64];
		memset(img, 0x55, sizeof(img));
		assert_int_equal(vmlab_execmem_update_copy(m, 0, q, 0, img, 64), 0);
		memset(img, 0x66, sizeof(img));
		assert_int_equal(vmlab_text_poke(m, 1, p + 8, img, 8), 0);
		u8 b[64];
		read_bytes(m, p, b, 64);
		assert_true(all_byte(b, 8, 0xcc));
		assert_true(all_byte(b + 8, 8, 0x66));
		assert_true(all_byte(b + 16, 48, 0xcc));
		if ((p & VMLAB_PAGE_MASK) == (q & VMLAB_PAGE_MASK) || a != VMLAB_EXECMEM_SPLIT_RANGE) {
			read_bytes(m, q, b, 64);
			assert_true(all_byte(b, 64, 0x55));
		}
		/* Fetching still works from every CPU. */
		assert_int_equal(vmlab_fetch(m, 1, p, b, 16, NULL), 0);
		assert_int_equal(vmlab_nr_reports(m), 0);
		vmlab_machine_destroy(m);
	}
}

/* x86: the two leaks of the temporary poking mm's alias are caught. */
static void poke_mutants_x86(void)
{
	const int mutants[] = {VMLAB_MUT_TEXT_POKE_NO_FLUSH,
			       VMLAB_MUT_TEXT_POKE_LEAVE_MM};
	for (int k = 0; k < 2; k++) {
		struct vmlab_config cfg;
		t_config(&cfg);
		cfg.nr_cpus = 2;
		cfg.checker = true;
		vmlab_config_mutant(&cfg, mutants[k], true);
		struct vmlab_machine *m = NULL;
		assert_int_equal(vmlab_boot(&cfg, &m), 0);
		vmlab_set_quiet(m, true);
		struct vmlab_execmem_config xc = {VMLAB_EXECMEM_PACK, 0};
		assert_int_equal(vmlab_execmem_setup(m, &xc), 0);
		u64 p = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
		u64 q = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 4096);
		assert_true(p && q);
		u8 img[64];
		memset(img, 0x77, sizeof(img));
		(void)vmlab_execmem_update_copy(m, 0, p, 0, img, 64);
		(void)vmlab_execmem_update_copy(m, 1, q, 0, img, 64);
		assert_true(vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS) +
				vmlab_nr_reports_of(m, VMLAB_CHECK_STALE_ACCESS) >
			    0);
		vmlab_machine_destroy(m);
	}
}

/* set_memory_x before set_memory_ro opens a W+X window; the right order
 * does not. */
static void test_per_area_order(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		struct vmlab_machine *m = xm_machine(
		    VMLAB_EXECMEM_PER_AREA, k ? VMLAB_EXECMEM_X_BEFORE_RO : 0,
		    true);
		u64 p = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 200);
		assert_true(p);
		assert_false(vmlab_execmem_is_rox(m, VMLAB_EXECMEM_BPF));
		u8 img[200];
		memset(img, 0x90, sizeof(img));
		assert_int_equal(vmlab_execmem_update_copy(m, 0, p, 0, img, 200), 0);
		assert_int_equal(vmlab_execmem_finalize(m, 0, p), 0);
		u8 b[16];
		assert_int_equal(vmlab_fetch(m, 1, p, b, 16, NULL), 0);
		assert_int_equal(vmlab_execmem_free(m, 0, p), 0);
		assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS) > 0,
				 k);
		vmlab_machine_destroy(m);
	}
}

/*
 * The kernel image's text (claim 3.15): mainline frees the padding after
 * _etext and so splits the last 2 MiB page; Song's tail pool keeps it
 * and serves module text from it, RO+X, written by text_poke, refilled
 * with INT3 on free, the pool exhausted before execmem's own allocator
 * takes over.  Checker silent throughout.
 */
static void test_kernel_text_tail_pool(void **state)
{
	(void)state;
	const u64 text = 5 * VMLAB_PMD_SIZE + 300 * VMLAB_KiB + 123;
	const u64 etext = 0xffffffff81000000ULL + text;
	const u64 end = (etext + VMLAB_PMD_SIZE - 1) & ~(VMLAB_PMD_SIZE - 1);
	const u64 pool = (etext + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK;
	if (t_arm64()) {
		/* The x86-64 image layout only. */
		struct vmlab_machine *m = t_machine(1, 256 * VMLAB_MiB, false);
		assert_int_equal(vmlab_kernel_text_map(m, 0, text, true),
				 -VMLAB_EINVAL);
		vmlab_machine_destroy(m);
		return;
	}
	for (int tail = 0; tail < 2; tail++) {
		struct vmlab_machine *m = xm_machine(VMLAB_EXECMEM_PER_AREA, 0,
						     true);
		u64 free0 = vmlab_nr_free_pages(m);
		assert_int_equal(vmlab_kernel_text_map(m, 0, text, tail), 0);
		assert_int_equal(vmlab_kernel_text_map(m, 0, text, tail),
				 -VMLAB_EBUSY);
		struct vmlab_kernel_text_stats st;
		vmlab_kernel_text_stats(m, &st);
		assert_int_equal(st.etext, etext);
		assert_int_equal(st.map_end, end);
		u64 gap = (end - pool) >> VMLAB_PAGE_SHIFT;
		/* The pages before the padding: ceil(300 KiB + 123 B, 4K). */
		u64 tail_4k = (pool - (end - VMLAB_PMD_SIZE)) >> VMLAB_PAGE_SHIFT;
		if (!tail) {
			assert_int_equal(st.leaves_2m, 5);
			assert_int_equal(st.leaves_4k, tail_4k);
			assert_int_equal(st.gap_freed_pages, gap);
			/* Freed: only the padding and no more is given back
			 * (6 blocks taken, tables aside). */
			assert_true(free0 - vmlab_nr_free_pages(m) >=
				    6 * 512 - gap);
			u64 pa;
			vmlab_pgprot_t prot;
			int level;
			assert_int_not_equal(vmlab_translate(m, vmlab_init_mm(m),
							     pool, &pa, &prot,
							     &level),
					     0);
		} else {
			assert_int_equal(st.leaves_2m, 6);
			assert_int_equal(st.leaves_4k, 0);
			assert_int_equal(st.pool_bytes, gap << VMLAB_PAGE_SHIFT);
		}
		/* Module text: from the tail first (Song), else vmalloc. */
		u64 a = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_TEXT,
					    5000);
		assert_true(a);
		assert_true(tail ? a == pool : a >= T_MODULES_VADDR);
		u8 v[16] = "0123456789abcde";
		assert_int_equal(vmlab_execmem_update_copy(m, 0, a, 4000, v, 16),
				 0);
		assert_int_equal(vmlab_execmem_finalize(m, 0, a), 0);
		u8 back[16];
		assert_int_equal(vmlab_fetch(m, 1, a + 4000, back, 16, NULL), 0);
		assert_memory_equal(back, v, 16);
		/* Data never comes from the tail. */
		u64 d = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_DATA, 64);
		assert_true(d >= T_MODULES_VADDR);
		vmlab_kernel_text_stats(m, &st);
		assert_int_equal(st.pool_allocs, tail ? 1 : 0);
		assert_int_equal(st.pool_used, tail ? 2 * VMLAB_PAGE_SIZE : 0);
		assert_int_equal(vmlab_execmem_free(m, 0, a), 0);
		if (tail) {
			u8 b[16];
			read_bytes(m, a + 4000, b, 16);
			assert_true(all_byte(b, 16, 0xcc));
			/* Exhaust the pool: the next one is vmalloc's. */
			u64 big = vmlab_execmem_alloc(
			    m, 0, VMLAB_EXECMEM_MODULE_TEXT,
			    gap << VMLAB_PAGE_SHIFT);
			assert_int_equal(big, pool);
			u64 next = vmlab_execmem_alloc(
			    m, 0, VMLAB_EXECMEM_MODULE_TEXT, 64);
			assert_true(next >= T_MODULES_VADDR);
			assert_int_equal(vmlab_execmem_free(m, 0, big), 0);
			assert_int_equal(vmlab_execmem_free(m, 0, next), 0);
			/* The pool moves with an allocator change. */
			struct vmlab_execmem_config cfg = {VMLAB_EXECMEM_PACK, 0};
			assert_int_equal(vmlab_execmem_free(m, 0, d), 0);
			assert_int_equal(vmlab_execmem_setup(m, &cfg), 0);
			assert_int_equal(vmlab_execmem_alloc(
					     m, 0, VMLAB_EXECMEM_MODULE_TEXT, 64),
					 pool);
		} else {
			assert_int_equal(vmlab_execmem_free(m, 0, d), 0);
		}
		assert_int_equal(vmlab_nr_reports(m), 0);
		vmlab_machine_destroy(m);
	}
	/* Bad input: a size past the image, no size, arm64. */
	struct vmlab_machine *m = t_machine(1, 256 * VMLAB_MiB, false);
	assert_int_equal(vmlab_kernel_text_map(m, 0, 0, false), -VMLAB_EINVAL);
	assert_int_equal(vmlab_kernel_text_map(m, 0, VMLAB_GiB, false),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_kernel_text_map(m, 3, VMLAB_MiB, false),
			 -VMLAB_EINVAL);
	vmlab_machine_destroy(m);
}

static void test_bad_input(void **state)
{
	(void)state;
	for (int a = 0; a < VMLAB_NR_EXECMEM_ALLOCATORS; a++) {
		struct vmlab_machine *m =
		    xm_machine((enum vmlab_execmem_allocator)a, 0, true);
		assert_int_equal(vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 0), 0);
		assert_int_equal(vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF,
						     T_MODULES_LEN + 1),
				 0);
		assert_int_equal(vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_TYPE_MAX, 64), 0);
		assert_int_equal(vmlab_execmem_alloc(m, 9, VMLAB_EXECMEM_BPF, 64), 0);
		u64 p = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
		assert_true(p);
		assert_int_equal(vmlab_execmem_free(m, 0, p + 64), -VMLAB_EINVAL);
		assert_int_equal(vmlab_execmem_free(m, 0, 0x1234), -VMLAB_EINVAL);
		u8 v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
		assert_int_equal(vmlab_execmem_update_copy(m, 0, p, 60, v, 8),
				 -VMLAB_EINVAL);
		struct vmlab_execmem_config cfg = {VMLAB_EXECMEM_PACK, 0};
		assert_int_equal(vmlab_execmem_setup(m, &cfg), -VMLAB_EBUSY);
		cfg.allocator = VMLAB_NR_EXECMEM_ALLOCATORS;
		assert_int_equal(vmlab_execmem_setup(m, &cfg), -VMLAB_EINVAL);
		assert_int_equal(vmlab_execmem_free(m, 0, p), 0);
		assert_int_equal(vmlab_execmem_free(m, 0, p), -VMLAB_EINVAL);
		/* text_poke on something that is not text. */
		u64 d = vmlab_vmalloc(m, 0, 4096);
		assert_int_equal(vmlab_text_poke(m, 0, d, v, 8), -VMLAB_EINVAL);
		assert_int_equal(vmlab_text_poke(m, 0, vmlab_page_address(m, 5), v, 8),
				 -VMLAB_EINVAL);
		assert_int_equal(vmlab_text_poke(m, 0, T_MODULES_VADDR +
							   (1ULL << 30),
						 v, 8),
				 -VMLAB_EFAULT);
		assert_int_equal(vmlab_text_poke(m, 0, d, v, 0), -VMLAB_EINVAL);
		assert_int_equal(vmlab_text_poke(m, 0, d, NULL, 8), -VMLAB_EINVAL);
		vmlab_vfree(m, 0, d);
		assert_int_equal(vmlab_nr_reports(m), 0);
		assert_true(vmlab_nr_warnings(m) > 0);
		vmlab_machine_destroy(m);
	}
}

/* arm64 patches through the fixmap: no temporary mm, a broadcast flush
 * per page; skipping that flush is caught there too. */
static void poke_mutants_arm64(void)
{
	for (int mut = 0; mut < 2; mut++) {
		struct vmlab_config cfg;
		t_config(&cfg);
		cfg.nr_cpus = 2;
		cfg.checker = true;
		vmlab_config_mutant(&cfg, VMLAB_MUT_TEXT_POKE_NO_FLUSH, mut);
		struct vmlab_machine *m = NULL;
		assert_int_equal(vmlab_boot(&cfg, &m), 0);
		vmlab_set_quiet(m, true);
		struct vmlab_execmem_config xc = {VMLAB_EXECMEM_PACK, 0};
		assert_int_equal(vmlab_execmem_setup(m, &xc), 0);
		u64 p = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 6000);
		assert_true(p);
		u8 img[6000];
		memset(img, 0x1f, sizeof(img));
		assert_int_equal(vmlab_execmem_update_copy(m, 1, p, 0, img, 6000),
				 0);
		struct vmlab_execmem_stats st;
		vmlab_execmem_stats(m, &st);
		assert_int_equal(st.temp_mm_switches, 0);
		assert_int_equal(st.text_pokes, 2); /* one page at a time */
		assert_int_equal(st.poke_flushes, mut ? 0 : 2);
		/* Without the flush the second page's bytes went through the
		 * stale fixmap entry into the first page. */
		u8 b[64];
		assert_int_equal(vmlab_read(m, 0, p + 5000, b, 64, NULL), 0);
		assert_int_equal(all_byte(b, 64, 0x1f), !mut);
		assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS) > 0,
				 mut);
		vmlab_machine_destroy(m);
	}
}

/* The poking alias's leaks, on the architecture's poking scheme. */
static void test_poke_mutants(void **state)
{
	(void)state;
	if (t_arm64())
		poke_mutants_arm64();
	else
		poke_mutants_x86();
}

/* The 2 MiB option of text_poke_copy: one poke per 2 MiB text leaf;
 * without it x86 pokes two pages at a time (text_poke_copy()), arm64 one
 * (aarch64_insn_copy() through the fixmap). */
static void last_warning(void *ctx, const char *msg)
{
	snprintf(ctx, 256, "%s", msg);
}

static void test_poke_2m(void **state)
{
	(void)state;
	if (t_arm64()) {
		/* An x86-only option: refused, the warning names it. */
		struct vmlab_machine *m = t_machine(2, 1ULL << 30, true);
		char msg[256] = "";
		vmlab_set_warn_handler(m, last_warning, msg);
		struct vmlab_execmem_config xc = {VMLAB_EXECMEM_SPLIT_RANGE,
						  VMLAB_TEXT_POKE_2M};
		assert_int_equal(vmlab_execmem_setup(m, &xc), -VMLAB_EINVAL);
		assert_non_null(strstr(msg, "VMLAB_TEXT_POKE_2M"));
		assert_non_null(strstr(msg, "x86_64-only"));
		vmlab_machine_destroy(m);
	}
	for (int big = 0; big < (t_arm64() ? 1 : 2); big++) {
		struct vmlab_machine *m = xm_machine(
		    VMLAB_EXECMEM_SPLIT_RANGE, big ? VMLAB_TEXT_POKE_2M : 0, true);
		u64 p = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_TEXT,
					    VMLAB_PMD_SIZE);
		assert_true(p && !(p & (VMLAB_PMD_SIZE - 1)));
		u8 *img = malloc(VMLAB_PMD_SIZE);
		assert_non_null(img);
		memset(img, 0x2e, VMLAB_PMD_SIZE);
		struct vmlab_execmem_stats st0, st1;
		vmlab_execmem_stats(m, &st0);
		assert_int_equal(vmlab_execmem_update_copy(m, 0, p, 0, img,
							   VMLAB_PMD_SIZE),
				 0);
		vmlab_execmem_stats(m, &st1);
		assert_int_equal(st1.text_pokes - st0.text_pokes,
				 big ? 1 : t_arm64() ? 512 : 256);
		u8 b[64];
		read_bytes(m, p + VMLAB_PMD_SIZE - 64, b, 64);
		assert_true(all_byte(b, 64, 0x2e));
		assert_int_equal(vmlab_nr_reports(m), 0);
		free(img);
		vmlab_machine_destroy(m);
	}
}

/* Module loads (text + rodata + data) with a mixed churn on the split
 * range: every text byte below the boundary, every data byte above it,
 * with no finding. */
static void test_split_modules_churn(void **state)
{
	(void)state;
	{
		struct vmlab_config cfg;
		t_config(&cfg);
		cfg.nr_cpus = 2;
		cfg.checker = true;
		struct vmlab_machine *m = NULL;
		assert_int_equal(vmlab_boot(&cfg, &m), 0);
		vmlab_set_quiet(m, true);
		struct vmlab_execmem_config xc = {VMLAB_EXECMEM_SPLIT_RANGE, 0};
		assert_int_equal(vmlab_execmem_setup(m, &xc), 0);
		struct vmlab_execmem_workload w = {
		    .programs = 100, .size = 16384, .rounds = 1,
		    .fetch_bytes = 64, .unload = false,
		    .type = VMLAB_EXECMEM_MODULE_TEXT, .modules = true,
		    .churn = 200};
		struct vmlab_execmem_figures f;
		assert_int_equal(vmlab_execmem_run_workload(m, &w, &f), 0);
		struct execmem *xm = xm_state(m);
		u64 text = 0, data = 0;
		for (u64 i = 0; i < xm->live.cap; i++) {
			const struct xm_alloc *a = &xm->live.slot[i];
			if (!a->addr)
				continue;
			if (a->type == VMLAB_EXECMEM_MODULE_DATA) {
				assert_true(a->addr >= xm->x_end);
				data++;
			} else {
				assert_true(a->addr + a->size <= xm->x_end);
				text++;
			}
		}
		assert_int_equal(text, 100);
		assert_int_equal(data, 200);
		assert_int_equal(vmlab_nr_reports(m), 0);
		vmlab_machine_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunk_map_reference),
	    cmocka_unit_test(test_pack_reference),
	    cmocka_unit_test(test_all_allocators_clean),
	    cmocka_unit_test(test_pack_free_refill_release),
	    cmocka_unit_test(test_pack_churn),
	    cmocka_unit_test(test_pack_trackers_agree),
	    cmocka_unit_test(test_pack_tree_refcount),
	    cmocka_unit_test(test_split_boundary),
	    cmocka_unit_test(test_split_boundary_full),
	    cmocka_unit_test(test_text_poke_shared_page),
	    cmocka_unit_test(test_poke_mutants),
	    cmocka_unit_test(test_per_area_order),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_kernel_text_tail_pool),
	    cmocka_unit_test(test_poke_2m),
	    cmocka_unit_test(test_split_modules_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
