/* SPDX-License-Identifier: MIT */
/*
 * The per-machine host-memory budget (src/machine/hostmem.c): each place
 * that charges it turns an allocation past the limit into -VMLAB_ENOMEM
 * for the operation (frame descriptor sections, page-table pages, TLB
 * arrays and the paging-structure cache, vmalloc page arrays), and a
 * machine never holds more than its limit outside CPU stores.
 *
 * Most cases measure what an operation charges on one machine, then run
 * it on an identical machine whose budget leaves exactly one byte less
 * (it must fail, cleanly) and exactly that much (it must succeed): drop
 * any one charge and the one-byte-short run succeeds.
 */
#include "helpers.h"

#define MiB VMLAB_MiB

/* Charge the budget so exactly room bytes are left. */
static void leave_room(struct vmlab_machine *m, u64 room)
{
	u64 used = vmlab_host_bytes(m), limit = vmlab_host_limit(m);
	assert_true(used + room <= limit);
	assert_int_equal(vmlab_host_charge(m, limit - used - room), 0);
	assert_int_equal(vmlab_host_limit(m) - vmlab_host_bytes(m), room);
}

static void test_default_and_charge_api(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * MiB, false);
	assert_int_equal(vmlab_host_limit(m), VMLAB_DEFAULT_HOST_BYTES);
	u64 used = vmlab_host_bytes(m);
	assert_true(used > 0 && used < vmlab_host_limit(m));
	u64 room = vmlab_host_limit(m) - used;
	assert_int_equal(vmlab_host_charge(m, room + 1), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_host_bytes(m), used); /* nothing charged */
	assert_int_equal(vmlab_host_charge(m, room), 0);
	assert_int_equal(vmlab_host_charge(m, 1), -VMLAB_ENOMEM);
	vmlab_host_uncharge(m, room);
	assert_int_equal(vmlab_host_bytes(m), used);
	/* Uncharging more than is charged warns and clamps. */
	u64 w0 = vmlab_nr_warnings(m);
	vmlab_host_uncharge(m, used + 1);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	assert_int_equal(vmlab_host_bytes(m), 0);
	assert_int_equal(vmlab_host_charge(NULL, 1), -VMLAB_EINVAL);
	assert_int_equal(vmlab_host_bytes(NULL), 0);
	vmlab_host_uncharge(m, 0);
	vmlab_host_charge(m, used); /* back, for destroy's bookkeeping */
	vmlab_machine_destroy(m);
}

/*
 * Frame descriptor sections: the allocator enters a new 128 MiB section
 * only if the budget holds its descriptors, so a machine whose budget is
 * nearly spent runs out of memory long before its RAM does (without the
 * charge, every frame of the 4 GiB would be handed out).
 */
static void test_frame_sections(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 4096 * MiB, false);
	u64 free0 = vmlab_nr_free_pages(m);
	assert_true(free0 > (3072 * MiB) >> VMLAB_PAGE_SHIFT);
	leave_room(m, 8 * MiB);
	u64 got = 0, pfn;
	int err;
	while (!(err = vmlab_alloc_pages(m, 0, VMLAB_MAX_ORDER, &pfn)))
		got++;
	assert_int_equal(err, -VMLAB_ENOMEM);
	u64 block = 1ULL << VMLAB_MAX_ORDER;
	assert_true(got * block < free0 / 2);
	assert_true(vmlab_nr_free_pages(m) > free0 / 2); /* RAM is left */
	assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
	/* Order 0 stops too, with pages in RAM but none the budget holds. */
	u64 small = 0;
	while (!vmlab_alloc_pages(m, 0, 0, &pfn))
		small++;
	assert_true(small < free0 / 2);
	assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
	vmlab_machine_destroy(m);
}

/*
 * alloc_pages keeps room for the block's contents: CPU stores into it
 * cannot fail, so the block is refused when the budget could not hold
 * them, and a block it hands out can be written whole within the limit.
 */
static void test_alloc_headroom(void **state)
{
	(void)state;
	for (int order = 0; order <= 2; order++) {
		u64 block = VMLAB_PAGE_SIZE << order;
		struct vmlab_machine *m = t_machine(2, 64 * MiB, false);
		u64 pfn, spare = t_page(m); /* carve before the budget is set */
		vmlab_free_pages(m, 0, spare, 0);
		leave_room(m, block - 1);
		assert_int_equal(vmlab_alloc_pages(m, 0, order, &pfn),
				 -VMLAB_ENOMEM);
		vmlab_host_uncharge(m, 1);
		assert_int_equal(vmlab_alloc_pages(m, 0, order, &pfn), 0);
		u8 ones[VMLAB_PAGE_SIZE];
		memset(ones, 1, sizeof(ones));
		for (u64 i = 0; i < (1ULL << order); i++)
			vmlab_phys_write(m, (pfn + i) << VMLAB_PAGE_SHIFT, ones,
					 sizeof(ones));
		assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
		vmlab_machine_destroy(m);
	}
}

/* What map_range of one page at va charges on a fresh machine. */
static u64 map_cost(u64 va)
{
	struct vmlab_machine *m = t_machine(2, 64 * MiB, false);
	u64 pfn = t_page(m), before = vmlab_host_bytes(m);
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), va,
					 pfn << VMLAB_PAGE_SHIFT,
					 VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0),
			 0);
	u64 cost = vmlab_host_bytes(m) - before;
	vmlab_machine_destroy(m);
	return cost;
}

/*
 * Page-table pages: pgtable_alloc charges a table's host page when it
 * allocates it (a table store is a CPU store and cannot fail later).
 * Without that, the one-byte-short map succeeds and the stores push the
 * machine past its limit.
 */
static void test_pgtable_pages(void **state)
{
	(void)state;
	/* Far from anything boot maps: new tables below the PGD entry. */
	const u64 va = KVA + (3ULL << 30) + (5ULL << 21);
	u64 cost = map_cost(va);
	assert_true(cost >= VMLAB_PAGE_SIZE); /* at least the PTE table */
	for (int enough = 0; enough <= 1; enough++) {
		struct vmlab_machine *m = t_machine(2, 64 * MiB, false);
		u64 pfn = t_page(m);
		leave_room(m, cost - 1 + (u64)enough);
		int err = vmlab_map_range(m, vmlab_init_mm(m), va,
					  pfn << VMLAB_PAGE_SHIFT,
					  VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0);
		assert_int_equal(err, enough ? 0 : -VMLAB_ENOMEM);
		assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
		u64 pa;
		vmlab_pgprot_t prot;
		int level;
		int tr = vmlab_translate(m, vmlab_init_mm(m), va, &pa, &prot,
					 &level);
		if (enough) {
			assert_int_equal(tr, 0);
			assert_int_equal(pa, pfn << VMLAB_PAGE_SHIFT);
			t_write64(m, 0, va, 42); /* the page, not a table */
		} else {
			assert_int_not_equal(tr, 0); /* nothing mapped */
		}
		vmlab_machine_destroy(m);
	}
}

/*
 * The allocation of a table frame may itself enter a new section (its
 * descriptors charged): the table's host page must then still fit, or
 * the table is refused.  Machine A finds the allocation that carves a
 * new section and what it costs; machine B stops one allocation before
 * it and leaves room for the section and one byte short of the page.
 */
static void test_pgtable_page_after_section(void **state)
{
	(void)state;
	const u64 va = KVA + (3ULL << 30) + (5ULL << 21);
	struct vmlab_machine *m = t_machine(2, 1024 * MiB, false);
	u64 pfn = t_page(m), k = 0, jump = 0;
	while (!jump) {
		u64 before = vmlab_host_bytes(m), p;
		assert_int_equal(vmlab_alloc_pages(m, 0, 0, &p), 0);
		jump = vmlab_host_bytes(m) - before;
		k++;
	}
	vmlab_machine_destroy(m);
	assert_true(jump > VMLAB_PAGE_SIZE); /* a section's descriptors */
	for (int enough = 0; enough <= 1; enough++) {
		m = t_machine(2, 1024 * MiB, false);
		assert_int_equal(t_page(m), pfn);
		for (u64 i = 0; i + 1 < k; i++)
			t_page(m);
		leave_room(m, jump + VMLAB_PAGE_SIZE - 1 + (u64)enough);
		int err = vmlab_map_range(m, vmlab_init_mm(m), va,
					  pfn << VMLAB_PAGE_SHIFT,
					  VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0);
		assert_int_equal(err, -VMLAB_ENOMEM); /* two tables needed */
		assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
		vmlab_machine_destroy(m);
	}
}

/* Host bytes a freshly booted machine with cfg holds (budget: plenty). */
static u64 boot_cost(struct vmlab_config *cfg)
{
	cfg->max_host_bytes = 0;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(cfg, &m), 0);
	u64 bytes = vmlab_host_bytes(m);
	vmlab_machine_destroy(m);
	return bytes;
}

/*
 * TLB arrays and the paging-structure cache are charged per CPU when the
 * machine is created: a budget between what small and large TLBs cost
 * boots the one and refuses the other with -VMLAB_ENOMEM.
 */
static void test_tlb_arrays(void **state)
{
	(void)state;
	struct vmlab_config small, big;
	t_config(&small);
	small.nr_cpus = 8;
	small.mem_bytes = 64 * MiB;
	small.checker = false;
	big = small;
	big.stlb[0] = (struct vmlab_tlb_geom){32768, 16};
	big.dtlb[0] = (struct vmlab_tlb_geom){16384, 16};
	struct vmlab_config pwc = small;
	pwc.pwc_entries = 60000;
	u64 cs = boot_cost(&small), cb = boot_cost(&big), cp = boot_cost(&pwc);
	/* Per CPU, 48K more entries of at least 16 bytes each. */
	assert_true(cb > cs + 8ULL * 49152 * 16);
	assert_true(cp > cs + 8ULL * 59000 * 8);
	struct vmlab_config *tight[] = {&big, &pwc};
	u64 costs[] = {cb, cp};
	for (int i = 0; i < 2; i++) {
		u64 limit = cs + (costs[i] - cs) / 2;
		struct vmlab_machine *m = NULL;
		tight[i]->max_host_bytes = limit;
		assert_int_equal(vmlab_boot(tight[i], &m), -VMLAB_ENOMEM);
		assert_null(m);
		small.max_host_bytes = limit;
		assert_int_equal(vmlab_boot(&small, &m), 0);
		assert_true(vmlab_host_bytes(m) <= limit);
		vmlab_machine_destroy(m);
		/* Exactly its cost boots it. */
		tight[i]->max_host_bytes = costs[i];
		assert_int_equal(vmlab_boot(tight[i], &m), 0);
		vmlab_machine_destroy(m);
	}
}

/* What vmalloc(size) charges on a fresh machine. */
static u64 vmalloc_cost(u64 size)
{
	struct vmlab_machine *m = t_machine(2, 256 * MiB, false);
	u64 before = vmlab_host_bytes(m);
	assert_int_not_equal(vmlab_vmalloc(m, 0, size), 0);
	u64 cost = vmlab_host_bytes(m) - before;
	vmlab_machine_destroy(m);
	return cost;
}

struct warn_log {
	int n;
	bool page_array;
};

static void log_warn(void *ctx, const char *msg)
{
	struct warn_log *w = ctx;
	w->n++;
	w->page_array |= strstr(msg, "page array") != NULL;
}

/*
 * vmalloc page arrays (vm->pages): charged before the frames are taken.
 * One byte short fails the vmalloc with the kernel's warning and leaves
 * nothing behind; the array's own size short fails at the array.
 */
static void test_vmalloc_page_array(void **state)
{
	(void)state;
	const u64 nr = 4096, size = nr * VMLAB_PAGE_SIZE;
	const u64 array = (nr + 1) * sizeof(u64); /* length + pfns */
	u64 cost = vmalloc_cost(size);
	assert_true(cost >= array);
	u64 rooms[] = {cost - 1, array - 1, cost};
	for (int i = 0; i < 3; i++) {
		struct vmlab_machine *m = t_machine(2, 256 * MiB, false);
		struct warn_log w = {0};
		vmlab_set_warn_handler(m, log_warn, &w);
		u64 free0 = vmlab_nr_free_pages(m);
		leave_room(m, rooms[i]);
		u64 before = vmlab_host_bytes(m);
		u64 va = vmlab_vmalloc(m, 0, size);
		assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
		if (rooms[i] == cost) {
			assert_int_not_equal(va, 0);
			assert_int_equal(w.n, 0);
			t_write64(m, 1, va + size - 8, 7);
			assert_int_equal(t_read64(m, 0, va + size - 8), 7);
		} else {
			assert_int_equal(va, 0);
			assert_true(w.n >= 1);
			if (rooms[i] < array)
				assert_true(w.page_array);
			/* The frames went back and the array was uncharged;
			 * the page tables built so far stay, as the
			 * kernel's vmalloc tables do. */
			u64 tables = cost - array;
			assert_true(vmlab_nr_free_pages(m) +
					    tables / VMLAB_PAGE_SIZE >= free0);
			assert_true(vmlab_host_bytes(m) <= before + tables);
			assert_int_equal(vmlab_vmalloc_used_pages(m), 0);
		}
		vmlab_machine_destroy(m);
	}
}

/*
 * Zeroing a frame never written stores nothing (its contents are zeros
 * already): vzalloc of 64 MiB costs its page array and tables, not 64 MiB
 * of host pages forced past the budget.  A frame with contents is zeroed.
 */
static void test_vzalloc_zeroes_cost_nothing(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 256 * MiB, false);
	u64 before = vmlab_host_bytes(m);
	u64 va = vmlab_vzalloc(m, 0, 64 * MiB);
	assert_int_not_equal(va, 0);
	assert_true(vmlab_host_bytes(m) - before < MiB);
	assert_int_equal(t_read64(m, 1, va + 32 * MiB), 0);
	t_write64(m, 0, va, ~0ULL);
	u64 pa;
	vmlab_pgprot_t prot;
	int level;
	assert_int_equal(vmlab_translate(m, vmlab_init_mm(m), va, &pa, &prot,
					 &level), 0);
	vmlab_phys_fill(m, pa, 0, 8);
	assert_int_equal(t_read64(m, 1, va), 0);
	vmlab_machine_destroy(m);
}

/*
 * The reported case: vmalloc of 1 TiB on a 4 TiB machine aborted the
 * process ("host out of memory"); under the default budget it fails, and
 * the machine goes on.
 */
static void test_vmalloc_1t_on_4t(void **state)
{
	(void)state;
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 4;
	cfg.mem_bytes = 4ULL << 40;
	cfg.checker = false;
	/* arm64's rodata_full maps the linear map with pages: 8 GiB of
	 * tables for 4 TiB, past the budget (the boot says ENOMEM). */
	struct vmlab_machine *m = NULL;
	if (t_arm64()) {
		cfg.max_host_bytes = 64 * MiB; /* fails sooner, as surely */
		assert_int_equal(vmlab_boot(&cfg, &m), -VMLAB_ENOMEM);
		assert_null(m);
		cfg.max_host_bytes = 0;
		cfg.rodata_full = VMLAB_OFF;
	}
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	u64 w0 = vmlab_nr_warnings(m);
	assert_int_equal(vmlab_vmalloc(m, 0, 1ULL << 40), 0);
	assert_true(vmlab_nr_warnings(m) > w0);
	assert_true(vmlab_host_bytes(m) <= vmlab_host_limit(m));
	u64 va = vmlab_vmalloc(m, 0, 64 * VMLAB_PAGE_SIZE);
	assert_int_not_equal(va, 0);
	t_write64(m, 1, va, 1);
	vmlab_vfree(m, 0, va);
	vmlab_machine_destroy(m);
}

/*
 * Host allocation failure, injected (vmlab_host_fail_nth, as fail-nth):
 * for every n, the nth host allocation of a user-mm and vmalloc sequence
 * fails.  Each operation returns success or -ENOMEM (reclaim keeps the
 * pages it cannot write out, a gather that cannot grow flushes early), the
 * process never aborts, and teardown frees everything (the ASan build
 * checks the leaks).  A run past the last allocation fails nothing.
 */
static int oom_sequence(struct vmlab_machine *m)
{
	const u64 P = VMLAB_PAGE_SIZE, n = 64;
	struct vmlab_user_mm *mm;
	int err = vmlab_user_mm_create(m, &mm);
	if (err) {
		assert_int_equal(err, -VMLAB_ENOMEM);
		return 1;
	}
	int enomem = 0;
	s64 a = vmlab_mmap(mm, 0, n * P, VMLAB_PROT_READ | VMLAB_PROT_WRITE,
			   VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS, NULL, 0);
	if (a < 0) {
		assert_int_equal(a, -VMLAB_ENOMEM);
		enomem++;
	} else {
		for (u64 i = 0; i < n; i++) {
			u8 b = (u8)(i + 1);
			int r = vmlab_user_access(mm, 1, VMLAB_WRITE,
						  (u64)a + i * P, &b, 1);
			assert_true(r == 0 || r == -VMLAB_ENOMEM ||
				    r == VMLAB_SIGBUS || r == VMLAB_SIGSEGV ||
				    r == VMLAB_SIGKILL); /* VM_FAULT_OOM */
		}
		/* Pageout writes to swap (host pages) and gathers more than
		 * the gather's inline array; mprotect and munmap split. */
		err = vmlab_madvise(mm, (u64)a, n * P, VMLAB_MADV_PAGEOUT);
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		err = vmlab_mprotect(mm, (u64)a + P, P, VMLAB_PROT_READ);
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		enomem += err != 0;
		err = vmlab_munmap(mm, (u64)a, n * P);
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		enomem += err != 0;
	}
	vmlab_user_mm_destroy(mm);
	u64 va = vmlab_vmalloc(m, 0, 8 * P);
	if (va)
		vmlab_vfree(m, 0, va);
	enomem += !va;
	return enomem;
}

static void test_host_alloc_failure(void **state)
{
	(void)state;
	/* What a clean run keeps: the user layer's zero page, the vmalloc
	 * page tables (they stay, as the kernel's do). */
	struct vmlab_machine *m = t_machine(2, 256 * MiB, false);
	u64 free0 = vmlab_nr_free_pages(m);
	assert_int_equal(oom_sequence(m), 0);
	u64 kept = free0 - vmlab_nr_free_pages(m);
	vmlab_machine_destroy(m);
	u64 nth = 1, failures = 0;
	for (;; nth++) {
		m = t_machine(2, 256 * MiB, false);
		vmlab_set_quiet(m, true);
		free0 = vmlab_nr_free_pages(m);
		vmlab_host_fail_nth(m, nth);
		int enomem = oom_sequence(m);
		u64 failed = vmlab_host_failed(m);
		assert_true(failed <= 1);
		failures += enomem > 0;
		/* Everything the sequence took came back but what a clean
		 * run keeps. */
		if (vmlab_nr_free_pages(m) + kept < free0)
			fprintf(stderr, "nth %llu: %llu frames not freed\n",
				(unsigned long long)nth,
				(unsigned long long)(free0 - kept -
						     vmlab_nr_free_pages(m)));
		assert_true(vmlab_nr_free_pages(m) + kept >= free0);
		vmlab_machine_destroy(m);
		if (!failed) {
			assert_int_equal(enomem, 0);
			break;
		}
		assert_true(nth < 100000);
	}
	/* Some injected failure surfaced as -ENOMEM, and the sequence
	 * made a fair number of host allocations. */
	assert_true(failures >= 1);
	assert_true(nth > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_and_charge_api),
		cmocka_unit_test(test_frame_sections),
		cmocka_unit_test(test_alloc_headroom),
		cmocka_unit_test(test_pgtable_pages),
		cmocka_unit_test(test_pgtable_page_after_section),
		cmocka_unit_test(test_tlb_arrays),
		cmocka_unit_test(test_vmalloc_page_array),
		cmocka_unit_test(test_vzalloc_zeroes_cost_nothing),
		cmocka_unit_test(test_vmalloc_1t_on_4t),
		cmocka_unit_test(test_host_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
