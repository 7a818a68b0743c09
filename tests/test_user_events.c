/* SPDX-License-Identifier: MIT */
/*
 * The mechanisms behind MMU_NOTIFY_SOFT_DIRTY, MIGRATE and EXCLUSIVE
 * (include/vmlab/migrate.h): clear_refs and pagemap bit 55, move_pages
 * and migrate_vma, make_device_exclusive and the CPU's restore; each
 * event fired by its path, start/end paired outside the PTL, no leak.
 */
#include "user_helpers.h"
#include "vmlab/migrate.h"
#include "vmlab/mmu_notifier.h"
#include "vmlab/device.h"

struct watch {
	int start[VMLAB_MMU_NR_EVENTS], end[VMLAB_MMU_NR_EVENTS];
	void *owner[VMLAB_MMU_NR_EVENTS]; /* last start's owner */
	int under_ptl;
};

static void watch_fn(void *ctx, int kind,
		     const struct vmlab_mmu_notifier_range *r, bool ptl)
{
	struct watch *w = ctx;
	if (kind == 0) {
		w->start[r->event]++;
		w->owner[r->event] = r->owner;
		w->under_ptl += ptl;
	} else if (kind == 1) {
		w->end[r->event]++;
		w->under_ptl += ptl;
	}
}

static const struct vmlab_mmu_notifier_ops nop_ops = {0};

struct tenv {
	struct env e;
	struct vmlab_mmu_notifier sub;
	struct watch w;
};

/* The suite's architecture (tests/helpers.h t_arch()). */
static void tenv_init(struct tenv *t)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 2;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	cfg.checker = true;
	memset(t, 0, sizeof(*t));
	assert_int_equal(vmlab_boot(&cfg, &t->e.m), 0);
	vmlab_set_quiet(t->e.m, true);
	assert_int_equal(vmlab_user_mm_create(t->e.m, &t->e.mm), 0);
	t->sub.ops = &nop_ops;
	assert_int_equal(vmlab_mmu_notifier_register(
				 t->e.m, &t->sub, vmlab_user_hw_mm(t->e.mm)),
			 0);
	vmlab_mn_set_trace(t->e.m, watch_fn, &t->w);
}

static void tenv_done(struct tenv *t)
{
	vmlab_mn_set_trace(t->e.m, NULL, NULL);
	assert_int_equal(t->w.under_ptl, 0);
	for (int ev = 0; ev < VMLAB_MMU_NR_EVENTS; ev++)
		assert_int_equal(t->w.start[ev], t->w.end[ev]);
	assert_int_equal(vmlab_mn_stat(t->e.m, VMLAB_MN_nesting_violations), 0);
	assert_int_equal(vmlab_mmu_notifier_unregister(
				 t->e.m, &t->sub, vmlab_user_hw_mm(t->e.mm)),
			 0);
	t_done(&t->e);
}

/* pagemap's soft-dirty bit where the architecture has one (x86
 * CONFIG_HAVE_ARCH_SOFT_DIRTY), 0 on arm64. */
static u64 soft_dirty_bit(void)
{
	return t_arm64() ? 0 : VMLAB_PM_SOFT_DIRTY;
}

static u64 pm(struct vmlab_user_mm *mm, u64 va)
{
	u64 e = 0;
	assert_int_equal(vmlab_pagemap_read(mm, va, &e, 1), 1);
	return e;
}

static void soft_dirty_x86(void)
{
	struct tenv t;
	tenv_init(&t);
	struct vmlab_user_mm *mm = t.e.mm;
	assert_true(vmlab_soft_dirty_supported(t.e.m));
	s64 a = t_map_rw(&t.e, 3);
	/* New VMA: every page soft-dirty, even the one never touched. */
	assert_int_equal(vmlab_munmap(mm, (u64)a + 2 * P, P), 0);
	s64 b = vmlab_mmap(mm, (u64)a + 2 * P, P, RW,
			   ANON | VMLAB_MAP_FIXED, NULL, 0);
	assert_int_equal(b, a + 2 * (s64)P);
	assert_true(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY);
	assert_true(pm(mm, (u64)b) & VMLAB_PM_SOFT_DIRTY);
	assert_int_equal(vmlab_clear_refs(mm, VMLAB_CLEAR_REFS_SOFT_DIRTY), 0);
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_SOFT_DIRTY], 1);
	for (int i = 0; i < 3; i++)
		assert_false(pm(mm, (u64)a + i * P) & VMLAB_PM_SOFT_DIRTY);
	/* The write faults (write-protected) and marks the page again. */
	struct vmlab_user_stats st0, st1;
	vmlab_user_stats(mm, &st0);
	assert_int_equal(vmlab_user_write8(mm, 1, (u64)a + P, 7), VMLAB_OK);
	u8 v;
	assert_int_equal(vmlab_user_read8(mm, 1, (u64)a, &v), VMLAB_OK);
	vmlab_user_stats(mm, &st1);
	assert_int_equal(st1.fault_reuse, st0.fault_reuse + 1);
	assert_true(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY);
	assert_false(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY); /* only read */
	/* mprotect keeps soft-dirty and does not make a clean page
	 * writable behind the tracker's back. */
	assert_int_equal(vmlab_mprotect(mm, (u64)a, 3 * P, VMLAB_PROT_READ), 0);
	assert_int_equal(vmlab_mprotect(mm, (u64)a, 3 * P, RW), 0);
	assert_true(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY);
	assert_int_equal(vmlab_user_write8(mm, 1, (u64)a, 9), VMLAB_OK);
	assert_true(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY);
	/* mremap moves a clean page: move_soft_dirty_pte() marks it. */
	assert_int_equal(vmlab_clear_refs(mm, VMLAB_CLEAR_REFS_SOFT_DIRTY), 0);
	assert_false(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY);
	s64 to = vmlab_mremap(mm, (u64)a, P, P,
			      VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED,
			      (u64)a + 1027 * P);
	assert_int_equal(to, a + 1027 * (s64)P);
	assert_true(pm(mm, (u64)to) & VMLAB_PM_PRESENT);
	assert_true(pm(mm, (u64)to) & VMLAB_PM_SOFT_DIRTY);
	assert_false(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY);
	/* Bad types. */
	assert_int_equal(vmlab_clear_refs(mm, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_clear_refs(mm, 6), -VMLAB_EINVAL);
	assert_int_equal(vmlab_clear_refs(NULL, 4), -VMLAB_EINVAL);
	assert_int_equal(vmlab_clear_refs(mm, VMLAB_CLEAR_REFS_ALL), 0);
	tenv_done(&t);
}

/* Shared writable memory: after clear_refs a read fault maps the page
 * read-only, so the later write is seen (vma_wants_writenotify()). */
static void test_soft_dirty_shared(void **state)
{
	(void)state;
	struct tenv t;
	tenv_init(&t);
	struct vmlab_user_mm *mm = t.e.mm;
	const u64 SD = soft_dirty_bit();
	s64 a = vmlab_mmap(mm, 0, 2 * P, RW,
			   VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS, NULL, 0);
	assert_true(a > 0);
	assert_int_equal(vmlab_user_write8(mm, 0, (u64)a, 1), VMLAB_OK);
	assert_int_equal(vmlab_clear_refs(mm, VMLAB_CLEAR_REFS_SOFT_DIRTY), 0);
	u8 v;
	assert_int_equal(vmlab_user_read8(mm, 0, (u64)a + P, &v), VMLAB_OK);
	assert_false(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY);
	assert_int_equal(vmlab_user_write8(mm, 0, (u64)a + P, 2), VMLAB_OK);
	assert_int_equal(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY, SD);
	assert_int_equal(vmlab_user_write8(mm, 0, (u64)a, 2), VMLAB_OK);
	assert_int_equal(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY, SD);
	/* Both writes reached memory. */
	assert_int_equal(vmlab_user_read8(mm, 1, (u64)a + P, &v), VMLAB_OK);
	assert_int_equal(v, 2);
	tenv_done(&t);
}

/* arm64 has no soft-dirty bit: pagemap 55 stays 0, the range still goes. */
static void soft_dirty_arm64(void)
{
	struct tenv t;
	tenv_init(&t);
	assert_false(vmlab_soft_dirty_supported(t.e.m));
	s64 a = t_map_rw(&t.e, 1);
	assert_false(pm(t.e.mm, (u64)a) & VMLAB_PM_SOFT_DIRTY);
	assert_int_equal(vmlab_clear_refs(t.e.mm, VMLAB_CLEAR_REFS_SOFT_DIRTY),
			 0);
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_SOFT_DIRTY], 1);
	assert_int_equal(vmlab_user_write8(t.e.mm, 0, (u64)a, 2), VMLAB_OK);
	assert_false(pm(t.e.mm, (u64)a) & VMLAB_PM_SOFT_DIRTY);
	tenv_done(&t);
}

/* Regression: swap entries carry the soft-dirty bit (x86
 * _PAGE_SWP_SOFT_DIRTY): swap-out keeps a page's mark in the entry
 * (try_to_unmap_one), pagemap shows it (pte_swp_soft_dirty), swap-in puts
 * it back on the PTE (do_swap_page), clear_refs clears it in the entry
 * (pte_swp_clear_soft_dirty) and mremap sets it there.  Before, a written
 * page read back from swap was clean.  arm64: never soft-dirty. */
static void test_soft_dirty_swap(void **state)
{
	(void)state;
	{
		struct tenv t;
		tenv_init(&t);
		struct vmlab_user_mm *mm = t.e.mm;
		const u64 SD = soft_dirty_bit();
		assert_int_equal(vmlab_swap_setup(t.e.m, 64), 0);
		s64 a = t_map_rw(&t.e, 4);
		assert_int_equal(vmlab_clear_refs(mm, VMLAB_CLEAR_REFS_SOFT_DIRTY),
				 0);
		assert_int_equal(vmlab_user_write8(mm, 0, (u64)a, 5), VMLAB_OK);
		assert_int_equal(vmlab_user_write8(mm, 0, (u64)a + 2 * P, 6),
				 VMLAB_OK);
		assert_int_equal(vmlab_madvise(mm, (u64)a, 4 * P,
					       VMLAB_MADV_PAGEOUT), 0);
		for (int i = 0; i < 4; i++)
			assert_true(pm(mm, (u64)a + i * P) & VMLAB_PM_SWAP);
		assert_int_equal(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY, SD);
		assert_int_equal(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY, 0);
		assert_int_equal(pm(mm, (u64)a + 2 * P) & VMLAB_PM_SOFT_DIRTY, SD);
		/* A read swaps page 0 in: still soft-dirty, content kept. */
		u8 v;
		assert_int_equal(vmlab_user_read8(mm, 0, (u64)a, &v), VMLAB_OK);
		assert_int_equal(v, 5);
		assert_true(pm(mm, (u64)a) & VMLAB_PM_PRESENT);
		assert_int_equal(pm(mm, (u64)a) & VMLAB_PM_SOFT_DIRTY, SD);
		assert_int_equal(vmlab_user_read8(mm, 0, (u64)a + P, &v), VMLAB_OK);
		assert_int_equal(pm(mm, (u64)a + P) & VMLAB_PM_SOFT_DIRTY, 0);
		/* clear_refs while page 2 is out cleans its entry. */
		assert_int_equal(vmlab_clear_refs(mm, VMLAB_CLEAR_REFS_SOFT_DIRTY),
				 0);
		assert_true(pm(mm, (u64)a + 2 * P) & VMLAB_PM_SWAP);
		assert_int_equal(pm(mm, (u64)a + 2 * P) & VMLAB_PM_SOFT_DIRTY, 0);
		assert_int_equal(vmlab_user_read8(mm, 0, (u64)a + 2 * P, &v),
				 VMLAB_OK);
		assert_int_equal(v, 6);
		assert_int_equal(pm(mm, (u64)a + 2 * P) & VMLAB_PM_SOFT_DIRTY, 0);
		/* mremap of clean swapped page 3 marks its entry. */
		assert_int_equal(pm(mm, (u64)a + 3 * P) & VMLAB_PM_SOFT_DIRTY, 0);
		s64 to = vmlab_mremap(mm, (u64)a + 3 * P, P, P,
				      VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED,
				      (u64)a + 1030 * P);
		assert_int_equal(to, a + 1030 * (s64)P);
		assert_true(pm(mm, (u64)to) & VMLAB_PM_SWAP);
		assert_int_equal(pm(mm, (u64)to) & VMLAB_PM_SOFT_DIRTY, SD);
		assert_int_equal(vmlab_user_read8(mm, 0, (u64)to, &v), VMLAB_OK);
		assert_int_equal(pm(mm, (u64)to) & VMLAB_PM_SOFT_DIRTY, SD);
		tenv_done(&t);
	}
}

static void test_migrate_pages(void **state)
{
	(void)state;
	struct tenv t;
	tenv_init(&t);
	struct vmlab_user_mm *mm = t.e.mm;
	s64 a = t_map_rw(&t.e, 4);
	assert_int_equal(vmlab_user_write8(mm, 0, (u64)a + 5, 0x5a), VMLAB_OK);
	u64 pfn0 = pm(mm, (u64)a) & VMLAB_PM_PFN_MASK;
	u64 free0 = vmlab_nr_free_pages(t.e.m);
	assert_int_equal(vmlab_migrate_pages(mm, (u64)a, 4 * P), 4);
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_CLEAR], 4);
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_MIGRATE], 0);
	u64 e = pm(mm, (u64)a);
	assert_true(e & VMLAB_PM_PRESENT);
	assert_true(e & VMLAB_PM_MMAP_EXCLUSIVE);
	assert_int_equal(e & VMLAB_PM_SOFT_DIRTY, soft_dirty_bit()); /* kept */
	assert_int_not_equal(e & VMLAB_PM_PFN_MASK, pfn0);
	assert_int_equal(vmlab_nr_free_pages(t.e.m), free0); /* old ones freed */
	u8 v;
	assert_int_equal(vmlab_user_read8(mm, 1, (u64)a + 5, &v), VMLAB_OK);
	assert_int_equal(v, 0x5a);
	/* Still writable without a fault (writability restored). */
	struct vmlab_user_stats st0, st1;
	vmlab_user_stats(mm, &st0);
	assert_int_equal(vmlab_user_write8(mm, 1, (u64)a, 3), VMLAB_OK);
	vmlab_user_stats(mm, &st1);
	assert_int_equal(st1.faults, st0.faults);
	/* A page shared with a child does not move. */
	struct vmlab_user_mm *child;
	assert_int_equal(vmlab_fork(mm, &child), 0);
	assert_int_equal(vmlab_migrate_pages(mm, (u64)a, 4 * P), 0);
	vmlab_user_mm_destroy(child);
	/* Bad input. */
	assert_int_equal(vmlab_migrate_pages(mm, (u64)a + 1, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_migrate_pages(mm, 1ULL << 40, P), -VMLAB_EFAULT);
	assert_int_equal(vmlab_migrate_pages(NULL, (u64)a, P), -VMLAB_EINVAL);
	tenv_done(&t);
}

static void test_migrate_vma_owner(void **state)
{
	(void)state;
	struct tenv t;
	tenv_init(&t);
	s64 a = t_map_rw(&t.e, 3);
	int me;
	assert_int_equal(vmlab_migrate_vma(t.e.mm, (u64)a, (u64)a + 3 * P, &me),
			 3);
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_MIGRATE], 1);
	assert_ptr_equal(t.w.owner[VMLAB_MMU_NOTIFY_MIGRATE], &me);
	u8 v;
	assert_int_equal(vmlab_user_read8(t.e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vmlab_migrate_vma(t.e.mm, (u64)a, (u64)a + 4 * P, &me),
			 -VMLAB_EINVAL); /* past the VMA */
	tenv_done(&t);
}

static void test_device_exclusive(void **state)
{
	(void)state;
	struct tenv t;
	tenv_init(&t);
	struct vmlab_user_mm *mm = t.e.mm;
	s64 a = vmlab_mmap(mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	int dev;
	u64 pfn = 0;
	/* Faulted in writable first (the page was never touched). */
	assert_int_equal(vmlab_make_device_exclusive(mm, (u64)a, &dev, &pfn), 0);
	assert_true(pfn != 0);
	assert_true(vmlab_is_device_exclusive(mm, (u64)a));
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_EXCLUSIVE], 1);
	assert_ptr_equal(t.w.owner[VMLAB_MMU_NOTIFY_EXCLUSIVE], &dev);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(mm, (u64)a, &vi), 0);
	assert_int_equal(vi.rss_pages, 1);
	assert_int_equal(vi.swap_pages, 0);
	/* The CPU's access restores it: EXCLUSIVE again, no owner. */
	assert_int_equal(vmlab_user_write8(mm, 1, (u64)a, 4), VMLAB_OK);
	assert_false(vmlab_is_device_exclusive(mm, (u64)a));
	assert_int_equal(t.w.start[VMLAB_MMU_NOTIFY_EXCLUSIVE], 2);
	assert_null(t.w.owner[VMLAB_MMU_NOTIFY_EXCLUSIVE]);
	assert_int_equal(pm(mm, (u64)a) & VMLAB_PM_PFN_MASK, pfn);
	/* fork restores first; munmap drops the page (no leak). */
	assert_int_equal(vmlab_make_device_exclusive(mm, (u64)a + P, &dev, NULL),
			 0);
	struct vmlab_user_mm *child;
	assert_int_equal(vmlab_fork(mm, &child), 0);
	assert_false(vmlab_is_device_exclusive(mm, (u64)a + P));
	vmlab_user_mm_destroy(child);
	assert_int_equal(vmlab_make_device_exclusive(mm, (u64)a + 2 * P, &dev,
						     NULL),
			 0);
	u64 free0 = vmlab_nr_free_pages(t.e.m);
	assert_int_equal(vmlab_munmap(mm, (u64)a + 2 * P, P), 0);
	assert_true(vmlab_nr_free_pages(t.e.m) >= free0 + 1);
	/* Refusals. */
	assert_int_equal(vmlab_make_device_exclusive(mm, 1ULL << 40, &dev, NULL),
			 -VMLAB_EFAULT);
	assert_int_equal(vmlab_make_device_exclusive(NULL, (u64)a, &dev, NULL),
			 -VMLAB_EINVAL);
	/* An exclusive entry left at exit is dropped with the mm. */
	assert_int_equal(vmlab_make_device_exclusive(mm, (u64)a + 3 * P, &dev,
						     NULL),
			 0);
	tenv_done(&t);
}

/* Reclaim's aging reaches KVM: folio_referenced_one() clears the CPU's
 * accessed bit and calls clear_flush_young; test_young asks without
 * clearing. */
/* The architecture's soft-dirty tracking (x86) or its absence (arm64). */
static void test_soft_dirty(void **state)
{
	(void)state;
	if (t_arm64())
		soft_dirty_arm64();
	else
		soft_dirty_x86();
}

static void test_aging_secondary(void **state)
{
	(void)state;
	struct env e = t_env(2);
	s64 a = t_map_rw(&e, 2);
	struct vmlab_kvm_config c;
	vmlab_kvm_config_default(&c);
	struct vmlab_kvm *k;
	assert_int_equal(vmlab_user_kvm_create(e.mm, &c, &k), 0);
	assert_int_equal(vmlab_kvm_set_memslot(k, 0, 0x100, 2, (u64)a), 0);
	u8 buf[8];
	assert_int_equal(vmlab_kvm_guest_access(k, 1, VMLAB_READ, 0x100 * P, buf,
						8), 0);
	/* Both pages young to the CPU (written); page 0 also to KVM. */
	assert_int_equal(vmlab_user_page_referenced(e.mm, (u64)a, (u64)a + 2 * P),
			 2);
	struct vmlab_kvm_stats st;
	vmlab_kvm_stats(k, &st);
	assert_int_equal(st.young_cleared, 1);
	assert_int_equal(vmlab_user_test_young(e.mm, (u64)a), 0);
	assert_int_equal(vmlab_user_page_referenced(e.mm, (u64)a, (u64)a + 2 * P),
			 0);
	/* Only the guest touches page 0 again: young through KVM alone. */
	assert_int_equal(vmlab_kvm_guest_access(k, 1, VMLAB_READ, 0x100 * P, buf,
						8), 0);
	assert_int_equal(vmlab_user_test_young(e.mm, (u64)a), 1);
	assert_int_equal(vmlab_user_test_young(e.mm, (u64)a + P), 0);
	assert_int_equal(vmlab_user_page_referenced(e.mm, (u64)a, (u64)a + 2 * P),
			 1);
	assert_int_equal(vmlab_user_page_referenced(e.mm, (u64)a + 1, (u64)a + P),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_test_young(NULL, (u64)a), -VMLAB_EINVAL);
	vmlab_kvm_destroy(k);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_soft_dirty),
		cmocka_unit_test(test_soft_dirty_shared),
		cmocka_unit_test(test_soft_dirty_swap),
		cmocka_unit_test(test_migrate_pages),
		cmocka_unit_test(test_migrate_vma_owner),
		cmocka_unit_test(test_device_exclusive),
		cmocka_unit_test(test_aging_secondary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
