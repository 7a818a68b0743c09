/* SPDX-License-Identifier: MIT */
/*
 * vmalloc: the cases of the kernel's lib/test_vmalloc.c with the same
 * shapes (loop counts cut from the module's default 1,000,000 so the
 * sanitizer build stays fast: the debug build checks whole trees after
 * every operation).  full_fit_alloc_test is in test_vmalloc_fullfit.c,
 * being the costliest under those checks.
 */
#include "test_vmalloc.h"

/* ---- lib/test_vmalloc.c ------------------------------------------------ */

static void test_fix_size_alloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < LOOPS; i++) {
		u64 p = vmlab_vmalloc(m, 0, P);
		assert_true(p >= T_VMALLOC_START && p < T_VMALLOC_END);
		write_byte(m, p, 0);
		vmlab_vfree(m, 0, p);
		run_work(m);
	}
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

/* use_huge=1 nr_pages=512: vmalloc_huge maps 2 MiB leaves. */
static void test_fix_size_alloc_huge(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 128 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < 40; i++) {
		u64 p = vmlab_vmalloc_huge(m, 0, 512 * P);
		assert_int_equal(p & (VMLAB_PMD_SIZE - 1), 0);
		const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, p);
		assert_non_null(vm);
		assert_int_equal(vm->page_order, 9);
		assert_int_equal(vm->nr_pages, 512);
		u64 pa;
		int level;
		assert_int_equal(vmlab_translate(m, vmlab_init_mm(m), p + 5 * P,
						 &pa, NULL, &level),
				 0);
		assert_int_equal(level, VMLAB_LVL_PMD);
		assert_int_equal(pa, (vm->pages[5]) << VMLAB_PAGE_SHIFT);
		write_byte(m, p, 0);
		vmlab_vfree(m, 0, p);
		run_work(m);
	}
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

/* long_busy_list_alloc_test: 15,000 live one-page areas. */
static void test_long_busy_list_alloc(void **state)
{
	(void)state;
	enum { N = 15000 };
	struct vmlab_machine *m = vm_machine(1, 256 * VMLAB_MiB);
	u64 *ptr = calloc(N, sizeof(u64));
	assert_non_null(ptr);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < N; i++) {
		ptr[i] = vmlab_vmalloc(m, 0, P);
		assert_int_equal(ptr[i], T_VMALLOC_START + (u64)i * 2 * P);
	}
	for (int i = 0; i < 200; i++) {
		u64 p1 = vmlab_vmalloc(m, 0, 100 * P);
		u64 p2 = vmlab_vmalloc(m, 0, P);
		assert_true(p1 >= T_VMALLOC_START + (u64)N * 2 * P);
		assert_true(p2 > p1);
		write_byte(m, p1, 0);
		write_byte(m, p2, 1);
		vmlab_vfree(m, 0, p1);
		vmlab_vfree(m, 0, p2);
		run_work(m);
	}
	assert_int_equal(nr_busy(m), busy0 + N);
	for (int i = 0; i < N; i++) {
		vmlab_vfree(m, 0, ptr[i]);
		run_work(m);
	}
	assert_all_free(m, busy0, free0);
	free(ptr);
	vmlab_machine_destroy(m);
}

static void test_random_size_alloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 256 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < LOOPS; i++) {
		u32 n = 1 + (u32)vmlab_rand_below(m, 100);
		u64 p = vmlab_vmalloc(m, 0, n * P);
		assert_true(p != 0);
		const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, p);
		assert_int_equal(vm->nr_pages, n);
		assert_int_equal(vm->size, (u64)(n + 1) * P); /* + guard */
		write_byte(m, p, 1);
		vmlab_vfree(m, 0, p);
		run_work(m);
	}
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

static void test_fix_align_alloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < LOOPS; i++) {
		u64 p = vmlab_vmalloc_align(m, 0, 5 * P, THREAD_ALIGN << 1,
					    "fix_align_alloc_test");
		assert_true(p != 0);
		assert_int_equal(p & ((THREAD_ALIGN << 1) - 1), 0);
		vmlab_vfree(m, 0, p);
		run_work(m);
	}
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

static void test_random_size_align_alloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < LOOPS; i++) {
		u8 rnd = (u8)vmlab_rand(m);
		u64 align = 1ULL << (rnd % 23); /* up to 1024 pages */
		u64 size = ((rnd % 10) + 1) * P;
		u64 p = vmlab_vmalloc_align(m, 0, size, align, "rsa");
		assert_true(p != 0);
		assert_int_equal(p & (align - 1), 0);
		vmlab_vfree(m, 0, p);
		run_work(m);
	}
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

/*
 * align_shift_alloc_test "is supposed to be failed": with the kernel's
 * search-length adjustment (size + align - 1), one page plus its guard
 * aligned to 2^45 or more cannot fit in x86's 32 TiB window; up to 2^44 it
 * can (arm64's window of almost 126 TiB: up to 2^46).  A failure changes
 * no area.
 */
static void test_align_shift_alloc(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 busy0 = nr_busy(m);
	for (int i = 0; i < 64; i++) {
		u64 align = 1ULL << i;
		u64 w = vmlab_nr_warnings(m);
		u64 p = vmlab_vmalloc_align(m, 0, P, align, "align_shift");
		if (i <= (t_arm64() ? 46 : 44)) {
			assert_true(p != 0);
			assert_int_equal(p & (align - 1), 0);
			vmlab_vfree(m, 0, p);
		} else {
			assert_int_equal(p, 0);
			assert_true(vmlab_nr_warnings(m) > w);
			assert_int_equal(nr_busy(m), busy0);
		}
	}
	vmlab_machine_destroy(m);
}

/*
 * pcpu_alloc_test: the percpu allocator takes its chunks top-down with
 * pcpu_get_vm_areas(), away from ordinary vmallocs.  Here the same shape
 * goes through VMLAB_VM_TOPDOWN_VMAP: each area must be the highest fit,
 * which a reference scan of the gaps from the top recomputes.
 */
struct ref_iv {
	u64 start, end;
};

/* Highest aligned start of a size-byte block in a gap below vend. */
static u64 ref_highest_fit(const struct ref_iv *iv, int n, u64 floor, u64 size,
			   u64 align)
{
	u64 gap_hi = T_VMALLOC_END + 1;
	for (int i = 0; i <= n; i++) { /* iv[] sorted by start, descending */
		u64 gap_lo = i < n ? iv[i].end : floor;
		u64 hi =
		    gap_hi < T_VMALLOC_END ? gap_hi : T_VMALLOC_END;
		if (hi >= gap_lo + size) {
			u64 a = (hi - size) & ~(align - 1);
			if (a >= gap_lo)
				return a;
		}
		if (i < n)
			gap_hi = iv[i].start;
	}
	return 0;
}

static void ref_insert(struct ref_iv *iv, int *n, u64 start, u64 end)
{
	int i = *n;
	while (i > 0 && iv[i - 1].start < start) {
		iv[i] = iv[i - 1];
		i--;
	}
	iv[i] = (struct ref_iv){start, end};
	(*n)++;
}

static void test_pcpu_topdown_alloc(void **state)
{
	(void)state;
	enum { N = 3000 };
	struct vmlab_machine *m = vm_machine(2, 256 * VMLAB_MiB);
	u64 *pcpu = calloc(N, sizeof(u64));
	struct ref_iv *iv = calloc(N + 1, sizeof(*iv));
	int niv = 0;
	assert_non_null(pcpu);
	assert_non_null(iv);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	u64 low = vmlab_vmalloc(m, 0, P); /* an ordinary one, bottom-up */
	assert_int_equal(low, T_VMALLOC_START);
	for (int i = 0; i < N; i++) {
		u64 size = (1 + vmlab_rand_below(m, 4)) * P;
		u64 align = 1ULL << (12 + vmlab_rand_below(m, 5));
		u64 want = ref_highest_fit(iv, niv, low + 2 * P, size, align);
		pcpu[i] = vmlab_vmalloc_node_range(
		    m, 0, size, align, T_VMALLOC_START, T_VMALLOC_END,
		    VMLAB_PAGE_KERNEL,
		    VMLAB_VM_TOPDOWN_VMAP | VMLAB_VM_NO_GUARD,
		    "pcpu_get_vm_areas");
		assert_int_equal(pcpu[i], want);
		ref_insert(iv, &niv, pcpu[i], pcpu[i] + size);
	}
	/* The very top of the window (VMALLOC_END is inclusive). */
	assert_true(pcpu[0] > T_VMALLOC_END - 64 * VMLAB_KiB);
	for (int i = 0; i < N; i++) {
		vmlab_vfree(m, 0, pcpu[i]);
		run_work(m);
	}
	vmlab_vfree(m, 0, low);
	assert_all_free(m, busy0, free0);
	free(pcpu);
	free(iv);
	vmlab_machine_destroy(m);
}

/* kvfree_rcu_mightsleep(p): the pointer waits outside the object. */
struct rcu_batch {
	struct vmlab_work w;
	u64 addr[64];
	int n;
};

static void rcu_batch_fn(struct vmlab_machine *m, int cpu, void *arg)
{
	struct rcu_batch *b = arg;
	for (int i = 0; i < b->n; i++)
		vmlab_vfree(m, cpu, b->addr[i]);
	b->n = 0;
}

static void test_kvfree_rcu_1_arg(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	struct rcu_batch b = {.w = {.fn = rcu_batch_fn, .name = "kfree_rcu"}};
	b.w.arg = &b;
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	for (int i = 0; i < LOOPS; i++) {
		u64 p = vmlab_vmalloc(m, 0, P);
		write_byte(m, p + 16, 'a'); /* p->array[0] */
		b.addr[b.n++] = p;
		vmlab_queue_work(m, &b.w);
		if (b.n == 64 || vmlab_rand_below(m, 8) == 0)
			run_work(m); /* a grace period ends */
	}
	assert_int_equal(nr_busy(m), busy0 + (u64)b.n);
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

/*
 * kvfree_rcu(p, rcu): the rcu_head lives in the object, as vfree_atomic()
 * links its node through the area's first word; a worker frees later.
 */
static void test_kvfree_rcu_2_arg(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m), prev = 0;
	for (int i = 0; i < LOOPS; i++) {
		u64 p = vmlab_vmalloc(m, 0, P);
		write_byte(m, p + 16, 'a');
		vmlab_vfree_atomic(m, 0, p);
		/* llist_add(): the node's next is the previous head. */
		assert_int_equal(t_read64(m, 0, p), prev);
		prev = p;
		if (vmlab_rand_below(m, 16) == 0) {
			run_work(m);
			prev = 0;
		}
	}
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

static void map_ram_loop(struct vmlab_machine *m, u32 nr)
{
	u64 *pages = calloc(nr, sizeof(u64));
	assert_non_null(pages);
	for (u32 i = 0; i < nr; i++)
		pages[i] = t_page(m);
	for (int i = 0; i < LOOPS / 2; i++) {
		u64 v = vmlab_vm_map_ram(m, 0, pages, nr);
		assert_true(v != 0);
		write_byte(m, v + (nr - 1) * P, 'a');
		u8 c = 0;
		vmlab_phys_read(m, (pages[nr - 1] << VMLAB_PAGE_SHIFT), &c, 1);
		assert_int_equal(c, 'a');
		vmlab_vm_unmap_ram(m, 0, v, nr);
		run_work(m);
	}
	for (u32 i = 0; i < nr; i++)
		vmlab_free_pages(m, 0, pages[i], 0);
	free(pages);
}

static void test_vm_map_ram(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 busy0 = nr_busy(m), free0 = free_bytes(m);
	map_ram_loop(m, 1);  /* the module's default */
	map_ram_loop(m, 64); /* VMAP_MAX_ALLOC, still a block */
	map_ram_loop(m, 65); /* beyond: its own area from the tree */
	assert_all_free(m, busy0, free0);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fix_size_alloc),
	    cmocka_unit_test(test_fix_size_alloc_huge),
	    cmocka_unit_test(test_long_busy_list_alloc),
	    cmocka_unit_test(test_random_size_alloc),
	    cmocka_unit_test(test_fix_align_alloc),
	    cmocka_unit_test(test_random_size_align_alloc),
	    cmocka_unit_test(test_align_shift_alloc),
	    cmocka_unit_test(test_pcpu_topdown_alloc),
	    cmocka_unit_test(test_kvfree_rcu_1_arg),
	    cmocka_unit_test(test_kvfree_rcu_2_arg),
	    cmocka_unit_test(test_vm_map_ram),
	};
	return vm_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
