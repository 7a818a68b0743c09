/* SPDX-License-Identifier: MIT */
/*
 * mmap placement and the layout exec leaves, as Linux (mm/mmap.c,
 * mm/vma.c, arch/x86/mm/mmap.c): the stack guard gap in the gap search
 * and for hints, thp_get_unmapped_area() for regular files, the legacy
 * bottom-up layout, mmap_min_addr, brk(), exec-time VMAs that are never
 * merged, and the layout parameters' checks.
 */
#include "user_helpers.h"

#define GAP (256 * P) /* stack_guard_gap */
#define STACK_END T_TASK_SIZE
#define STACK_START (STACK_END - 0x21000)

static struct env with_stack(void)
{
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_map_exec(e.mm, STACK_START, STACK_END, RW,
					     VMLAB_MAP_PRIVATE, NULL, 0,
					     VMLAB_EXEC_STACK),
			 0);
	return e;
}

static void set_base(struct env *e, u64 base)
{
	struct vmlab_user_layout l;
	vmlab_user_get_layout(e->mm, &l);
	assert_int_equal(l.mmap_base, T_MMAP_BASE); /* TASK_SIZE - 128M */
	assert_int_equal(l.stack_guard_gap, GAP);
	l.mmap_base = base;
	assert_int_equal(vmlab_user_set_layout(e->mm, &l), 0);
}

static void test_stack_guard_gap(void **state)
{
	(void)state;
	struct env e = with_stack();
	/* mmap_base above the stack's guard: the search must stop below it */
	set_base(&e, STACK_END);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(a, (s64)(STACK_START - GAP - 4 * P));
	/* a hint that runs into the guard gap is not taken */
	s64 h = vmlab_mmap(e.mm, STACK_START - GAP / 2, P, RW, ANON, NULL, 0);
	assert_true(h > 0 && (u64)h + P <= STACK_START - GAP);
	/* one that ends right at the gap is */
	vmlab_munmap(e.mm, (u64)a, 4 * P);
	s64 k = vmlab_mmap(e.mm, STACK_START - GAP - P, P, RW, ANON, NULL, 0);
	assert_int_equal(k, (s64)(STACK_START - GAP - P));
	t_done(&e);
}

static void test_thp_file_alignment(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_file *reg, *shm;
	assert_int_equal(vmlab_memfd_create(e.m, "reg", &reg), 0);
	assert_int_equal(vmlab_memfd_create(e.m, "shm", &shm), 0);
	assert_int_equal(vmlab_ftruncate(reg, 8 * VMLAB_MiB), 0);
	assert_int_equal(vmlab_ftruncate(shm, 8 * VMLAB_MiB), 0);
	vmlab_file_set_thp_area(reg, true);
	s64 small = vmlab_mmap(e.mm, 0, 3 * P, VMLAB_PROT_READ, VMLAB_MAP_PRIVATE, reg, 0);
	assert_int_equal(small, (s64)(T_MMAP_BASE - 3 * P));
	/* 4 MiB at offset 0: 2 MiB aligned, the highest such fit */
	s64 a = vmlab_mmap(e.mm, 0, 4 * VMLAB_MiB, VMLAB_PROT_READ,
			   VMLAB_MAP_PRIVATE, reg, 0);
	assert_true(a > 0);
	assert_int_equal((u64)a & (VMLAB_PMD_SIZE - 1), 0);
	assert_true((u64)a + 4 * VMLAB_MiB <= (u64)small);
	/* offset 4 KiB: address and offset agree modulo 2 MiB */
	s64 b = vmlab_mmap(e.mm, 0, 4 * VMLAB_MiB, VMLAB_PROT_READ,
			   VMLAB_MAP_PRIVATE, reg, P);
	assert_int_equal(((u64)b - P) & (VMLAB_PMD_SIZE - 1), 0);
	/* less than 2 MiB past the first aligned offset: no alignment */
	s64 c = vmlab_mmap(e.mm, 0, 2 * VMLAB_MiB, VMLAB_PROT_READ,
			   VMLAB_MAP_PRIVATE, reg, P);
	assert_int_equal(c, b - (s64)(2 * VMLAB_MiB));
	/* shmem (huge=never): no alignment either */
	s64 d = vmlab_mmap(e.mm, 0, 4 * VMLAB_MiB, VMLAB_PROT_READ,
			   VMLAB_MAP_PRIVATE, shm, 0);
	assert_int_equal(d, c - (s64)(4 * VMLAB_MiB));
	vmlab_file_put(reg);
	vmlab_file_put(shm);
	t_done(&e);
}

static void test_legacy_and_min_addr(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_user_layout l;
	vmlab_user_get_layout(e.mm, &l);
	l.topdown = false;
	assert_int_equal(vmlab_user_set_layout(e.mm, &l), 0);
	s64 a = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_int_equal(a, (s64)l.mmap_legacy_base);
	s64 b = vmlab_mmap(e.mm, 0, P, RW, ANON, NULL, 0);
	assert_int_equal(b, a + (s64)P);
	/* a hint below mmap_min_addr is rounded up to it */
	s64 h = vmlab_mmap(e.mm, P, P, RW, ANON, NULL, 0);
	assert_int_equal(h, (s64)l.mmap_min_addr);
	/* MAP_FIXED below it is refused */
	assert_int_equal(vmlab_mmap(e.mm, P, P, RW, ANON | VMLAB_MAP_FIXED, NULL, 0),
			 -VMLAB_EPERM);
	t_done(&e);
}

static void test_brk(void **state)
{
	(void)state;
	struct env e = t_env(2);
	const u64 bss = 0x600000, sb = 0x602000;
	/* bss right below start_brk: the heap stays a VMA of its own */
	assert_int_equal(vmlab_user_map_exec(e.mm, bss, sb, RW, VMLAB_MAP_PRIVATE,
					     NULL, 0, VMLAB_EXEC_VMA), 0);
	struct vmlab_user_layout l;
	vmlab_user_get_layout(e.mm, &l);
	l.start_brk = l.brk = sb;
	assert_int_equal(vmlab_user_set_layout(e.mm, &l), 0);
	assert_int_equal(vmlab_brk(e.mm, 0), (s64)sb); /* query */
	assert_int_equal(vmlab_brk(e.mm, sb + 0x21000), (s64)(sb + 0x21000));
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	/* growth extends the heap VMA, an unaligned break is kept as asked */
	assert_int_equal(vmlab_brk(e.mm, sb + 0x30010), (s64)(sb + 0x30010));
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 2);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e.mm, sb, &vi), 0);
	assert_int_equal(vi.end, sb + 0x31000);
	/* below start_brk: refused, the old break comes back */
	assert_int_equal(vmlab_brk(e.mm, bss), (s64)(sb + 0x30010));
	/* a mapping in the way: refused */
	assert_true(vmlab_mmap(e.mm, sb + 0x40000, P, RW, ANON | VMLAB_MAP_FIXED,
			       NULL, 0) > 0);
	assert_int_equal(vmlab_brk(e.mm, sb + 0x40000), (s64)(sb + 0x30010));
	/* shrink unmaps */
	assert_int_equal(vmlab_brk(e.mm, sb + 0x1000), (s64)(sb + 0x1000));
	assert_int_equal(vmlab_user_vma_at(e.mm, sb, &vi), 0);
	assert_int_equal(vi.end, sb + 0x1000);
	assert_int_equal(vmlab_user_vma_at(e.mm, sb + 0x2000, &vi), -VMLAB_ENOENT);
	/* back to start_brk: the heap VMA is gone */
	assert_int_equal(vmlab_brk(e.mm, sb), (s64)sb);
	assert_int_equal(vmlab_user_vma_at(e.mm, sb, &vi), -VMLAB_ENOENT);
	t_done(&e);
}

static void test_exec_vmas(void **state)
{
	(void)state;
	struct env e = t_env(2);
	const u64 v = T_MMAP_BASE - 0x3d000;
	/* [vvar] and [vdso]-like special mappings: never merged */
	assert_int_equal(vmlab_user_map_exec(e.mm, v, v + 4 * P, VMLAB_PROT_READ,
					     VMLAB_MAP_PRIVATE, NULL, 0,
					     VMLAB_EXEC_SPECIAL), 0);
	assert_int_equal(vmlab_user_map_exec(e.mm, v + 4 * P, v + 6 * P,
					     VMLAB_PROT_READ, VMLAB_MAP_PRIVATE,
					     NULL, 0, VMLAB_EXEC_SPECIAL), 0);
	/* an anonymous mapping next to them does not merge either */
	assert_int_equal(vmlab_mmap(e.mm, v - 2 * P, 2 * P, VMLAB_PROT_READ,
				    ANON | VMLAB_MAP_FIXED, NULL, 0),
			 (s64)(v - 2 * P));
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	/* vvar cannot be made writable (no VM_MAYWRITE) */
	assert_int_equal(vmlab_mprotect(e.mm, v, P, RW), -VMLAB_EACCES);
	/* exec VMAs go in as listed: two identical neighbours stay two */
	assert_int_equal(vmlab_user_map_exec(e.mm, 0x400000, 0x401000, RW,
					     VMLAB_MAP_PRIVATE, NULL, 0,
					     VMLAB_EXEC_VMA), 0);
	assert_int_equal(vmlab_user_map_exec(e.mm, 0x401000, 0x402000, RW,
					     VMLAB_MAP_PRIVATE, NULL, 0,
					     VMLAB_EXEC_VMA), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 5);
	/* refusals */
	assert_int_equal(vmlab_user_map_exec(e.mm, 0x400000, 0x401000, RW,
					     VMLAB_MAP_PRIVATE, NULL, 0,
					     VMLAB_EXEC_VMA), -VMLAB_EEXIST);
	assert_int_equal(vmlab_user_map_exec(e.mm, 0x400010, 0x401000, RW,
					     VMLAB_MAP_PRIVATE, NULL, 0,
					     VMLAB_EXEC_VMA), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_map_exec(e.mm, 0x500000, 0x501000, RW,
					     VMLAB_MAP_PRIVATE, NULL, 0, 7),
			 -VMLAB_EINVAL);
	t_done(&e);
}

static void test_layout_checks(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_user_layout l, bad;
	vmlab_user_get_layout(e.mm, &l);
	bad = l;
	bad.mmap_base += 1;
	assert_int_equal(vmlab_user_set_layout(e.mm, &bad), -VMLAB_EINVAL);
	bad = l;
	bad.brk = bad.start_brk + P;
	bad.start_brk = bad.brk + P;
	assert_int_equal(vmlab_user_set_layout(e.mm, &bad), -VMLAB_EINVAL);
	bad = l;
	bad.mmap_base = T_TASK_SIZE + P;
	assert_int_equal(vmlab_user_set_layout(e.mm, &bad), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_layout(NULL, &l), -VMLAB_EINVAL);
	/* a fork child inherits the layout */
	l.stack_guard_gap = 16 * P;
	assert_int_equal(vmlab_user_set_layout(e.mm, &l), 0);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	struct vmlab_user_layout cl;
	vmlab_user_get_layout(c, &cl);
	assert_int_equal(cl.stack_guard_gap, 16 * P);
	assert_int_equal(cl.mmap_base, l.mmap_base);
	vmlab_user_mm_destroy(c);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_guard_gap),
		cmocka_unit_test(test_thp_file_alignment),
		cmocka_unit_test(test_legacy_and_min_addr),
		cmocka_unit_test(test_brk),
		cmocka_unit_test(test_exec_vmas),
		cmocka_unit_test(test_layout_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
