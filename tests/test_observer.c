/* SPDX-License-Identifier: MIT */
/* The machine's observer interface: every event reaches a registered
 * observer, accesses are seen on the inline hit path too, and an
 * unregistered observer sees nothing. */
#include "helpers.h"

struct tally {
	int stores, fills, drops, invals, inval_va, inval_all, inval_bcast,
	    allocs, frees, ptfrees, accesses, user_accesses;
	u64 last_va;
	size_t last_len;
	enum vmlab_access last_kind;
	int last_cpu;
};

static void t_store(void *ctx, struct vmlab_machine *m, struct vmlab_mm *mm,
		    u64 va, int level, vmlab_ptep_t ptep, u64 old, u64 val)
{
	(void)m, (void)mm, (void)va, (void)level, (void)ptep;
	assert_true(old != val);
	((struct tally *)ctx)->stores++;
}

static void t_fill(void *ctx, struct vmlab_machine *m, int cpu,
		   struct vmlab_tlbe *e)
{
	(void)m, (void)cpu;
	struct vmlab_tlb_info in;
	vmlab_tlbe_info(e, &in);
	assert_true(in.level >= 0 && in.level <= 2);
	((struct tally *)ctx)->fills++;
}

static void t_drop(void *ctx, struct vmlab_machine *m, int cpu,
		   const struct vmlab_tlbe *e)
{
	(void)m, (void)cpu, (void)e;
	((struct tally *)ctx)->drops++;
}

static void t_inval(void *ctx, struct vmlab_machine *m,
		    const struct vmlab_tlb_inval *inv)
{
	(void)m;
	struct tally *t = ctx;
	t->invals++;
	t->inval_va += inv->kind == VMLAB_INV_VA;
	t->inval_all += inv->kind == VMLAB_INV_ALL;
	t->inval_bcast += inv->broadcast;
}

static void t_alloc(void *ctx, struct vmlab_machine *m, u64 pfn, int order)
{
	(void)m, (void)pfn, (void)order;
	((struct tally *)ctx)->allocs++;
}

static void t_free(void *ctx, struct vmlab_machine *m, int cpu, u64 pfn,
		   int order)
{
	(void)m, (void)cpu, (void)order;
	/* Called before the free: the block is still allocated. */
	assert_true(vmlab_pfn_to_page(m, pfn)->refcount > 0);
	((struct tally *)ctx)->frees++;
}

static void t_ptfree(void *ctx, struct vmlab_machine *m, u64 pfn, int level)
{
	(void)level;
	assert_true(vmlab_pfn_to_page(m, pfn)->flags & VMLAB_PG_TABLE);
	((struct tally *)ctx)->ptfrees++;
}

static void t_access(void *ctx, struct vmlab_machine *m, int cpu,
		     enum vmlab_access kind, u64 va, size_t len, u32 flags)
{
	(void)m;
	struct tally *t = ctx;
	t->accesses++;
	t->user_accesses += (flags & VMLAB_ACC_USER) != 0;
	t->last_va = va;
	t->last_len = len;
	t->last_kind = kind;
	t->last_cpu = cpu;
}

static const struct vmlab_observer all_ops = {
	.name = "test",
	.entry_store = t_store,
	.tlb_fill = t_fill,
	.tlb_drop = t_drop,
	.tlb_inval = t_inval,
	.frame_alloc = t_alloc,
	.frame_free = t_free,
	.pgtable_free = t_ptfree,
	.access = t_access,
};

static void test_events(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 256 * VMLAB_MiB, true);
	struct tally t = {0};
	assert_int_equal(vmlab_observer_register(m, &all_ops, &t), 0);
	assert_int_equal(vmlab_observer_register(m, &all_ops, &t),
			 -VMLAB_EBUSY);
	u64 pfn = t_map(m, KVA, VMLAB_PAGE_KERNEL);
	assert_true(t.allocs >= 1 && t.stores >= 1);
	t_write64(m, 1, KVA + 8, 42);
	assert_true(t.fills >= 1);
	/* The inline accessor: every hit still reaches the observer. */
	u64 v = 0;
	int before = t.accesses;
	for (int i = 0; i < 10; i++)
		assert_int_equal(vmlab_read_u64(m, 1, KVA + 8, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(t.accesses - before, 10);
	assert_int_equal(t.last_va, KVA + 8);
	assert_int_equal(t.last_len, 8);
	assert_int_equal(t.last_kind, VMLAB_READ);
	assert_int_equal(t.last_cpu, 1);
	/* Hits are still hits (counted as L1 hits, no extra walks). */
	u64 walks = vmlab_counter(m, -1, VMLAB_C_walk);
	assert_int_equal(vmlab_read_u64(m, 1, KVA + 8, &v), 0);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_walk), walks);
	/* A user-mode access is reported as one. */
	struct vmlab_fault f;
	vmlab_access(m, 0, VMLAB_READ, KVA, &v, 8, VMLAB_ACC_USER, &f);
	assert_int_equal(t.user_accesses, 1);
	/* Unmap + flush: entry store, invalidations, drops, frees. */
	struct vmlab_mmu_gather g;
	vmlab_tlb_gather_mmu(&g, vmlab_init_mm(m), 0);
	assert_int_equal(vmlab_unmap_range(m, &g, KVA, VMLAB_PAGE_SIZE, true), 1);
	vmlab_tlb_remove_page(m, &g, pfn, 0);
	int drops = t.drops, frees = t.frees;
	vmlab_tlb_finish_mmu(m, &g);
	if (t_arm64()) {
		/* one broadcast TLBI (VAALE1IS) from CPU 0 reaches both */
		assert_int_equal(t.inval_va, 1);
		assert_int_equal(t.inval_bcast, 1);
	} else {
		assert_int_equal(t.inval_va, 2); /* one invlpg per CPU */
		assert_int_equal(t.inval_bcast, 0);
	}
	assert_true(t.drops > drops);
	assert_true(t.frees > frees);
	u64 pt;
	assert_int_equal(vmlab_pgtable_alloc(m, VMLAB_LVL_PTE, &pt), 0);
	vmlab_pgtable_free(m, pt);
	assert_int_equal(t.ptfrees, 1);
	int bcast = t.inval_bcast;
	vmlab_flush_tlb_all(m, 0);
	/* x86: a full flush on each CPU (IPI); arm64: one TLBI VMALLE1IS */
	assert_int_equal(t.inval_all, t_arm64() ? 1 : 2);
	assert_int_equal(t.inval_bcast - bcast, t_arm64() ? 1 : 0);
	/* Gone: nothing more is seen, and the checker kept working. */
	assert_int_equal(vmlab_observer_unregister(m, &all_ops, &t), 0);
	assert_int_equal(vmlab_observer_unregister(m, &all_ops, &t),
			 -VMLAB_ENOENT);
	struct tally old = t;
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_read64(m, 0, KVA);
	assert_memory_equal(&old, &t, sizeof(t));
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

/* Without access observers the inline accessor hits without a call; with
 * one, the fast path stays a fast path (no walk per access). */
static void test_access_fast(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 128 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_write64(m, 0, KVA, 7);
	static const struct vmlab_observer acc = {.access = t_access};
	struct tally t = {0};
	assert_int_equal(vmlab_observer_register(m, &acc, &t), 0);
	u64 v;
	for (int i = 0; i < 100; i++)
		assert_int_equal(vmlab_read_u64(m, 0, KVA, &v), 0);
	assert_int_equal(t.accesses, 100);
	/* One refill after the fast path was emptied, then hits only. */
	assert_true(vmlab_counter(m, -1, VMLAB_C_walk) <= 2);
	assert_int_equal(vmlab_observer_unregister(m, &acc, &t), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(vmlab_read_u64(m, 0, KVA, &v), 0);
	assert_int_equal(t.accesses, 100);
	vmlab_machine_destroy(m);
}

static void test_bad(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(1, 128 * VMLAB_MiB, false);
	assert_int_equal(vmlab_observer_register(m, NULL, NULL), -VMLAB_EINVAL);
	static struct vmlab_observer ops[VMLAB_MAX_OBSERVERS + 1];
	for (int i = 0; i < VMLAB_MAX_OBSERVERS; i++)
		assert_int_equal(vmlab_observer_register(m, &ops[i], NULL), 0);
	assert_int_equal(vmlab_observer_register(m, &ops[VMLAB_MAX_OBSERVERS],
						 NULL),
			 -VMLAB_ENOSPC);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_access_fast),
		cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
