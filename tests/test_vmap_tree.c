/* SPDX-License-Identifier: MIT */
/*
 * Tests for the vmalloc address allocator model (src/services/vmap_*.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "services/vmap_tree.h"

#define P VMLAB_PAGE_SIZE
#define B 0x40000000ULL /* 1 GiB: aligned to everything used below */

static struct vmlab_vmap_tree *mk(u64 start, u64 end)
{
	struct vmlab_vmap_tree *t = NULL;

	assert_int_equal(vmlab_vmap_tree_init(&t, start, end), 0);
	assert_non_null(t);
	assert_true(vmlab_vmap_tree_check(t));
	return t;
}

static u64 must_alloc(struct vmlab_vmap_tree *t, u64 size, u64 align,
		      u64 vstart, u64 vend, bool topdown)
{
	u64 addr = 0;

	assert_int_equal(vmlab_vmap_alloc_range(t, size, align, vstart, vend,
						topdown, &addr),
			 0);
	assert_true(vmlab_vmap_tree_check(t));
	return addr;
}

static u64 alloc_all(struct vmlab_vmap_tree *t, u64 size)
{
	return must_alloc(t, size, P, 0, UINT64_MAX, false);
}

static void must_free(struct vmlab_vmap_tree *t, u64 addr, u64 size)
{
	assert_int_equal(vmlab_vmap_free_range(t, addr, size), 0);
	assert_true(vmlab_vmap_tree_check(t));
}

/* The free list must be exactly these [start, end) pairs. */
static void expect_blocks(const struct vmlab_vmap_tree *t, const u64 *pairs,
			  size_t n)
{
	const struct vmlab_vmap_area *va = vmlab_vmap_free_first(t);
	size_t i;

	assert_int_equal(vmlab_vmap_nr_free_blocks(t), n);
	for (i = 0; i < n; i++, va = vmlab_vmap_free_next(t, va)) {
		assert_non_null(va);
		assert_int_equal(va->va_start, pairs[2 * i]);
		assert_int_equal(va->va_end, pairs[2 * i + 1]);
	}
	assert_null(va);
}

/* ---- init and the four ways to cut a block ----------------------------- */

static void test_init(void **state)
{
	struct vmlab_vmap_tree *t = NULL;
	const u64 whole[] = {B, B + 16 * P};

	(void)state;
	assert_int_equal(vmlab_vmap_tree_init(&t, B, B), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_tree_init(&t, B + P, B), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_tree_init(&t, B + 1, B + P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_tree_init(NULL, B, B + P), -VMLAB_EINVAL);
	assert_null(t);
	t = mk(B, B + 16 * P);
	expect_blocks(t, whole, 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 16 * P);
	assert_int_equal(vmlab_vmap_nr_busy(t), 0);
	vmlab_vmap_tree_destroy(t);
}

static void test_fit_fl(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 4 * P);

	(void)state;
	assert_int_equal(alloc_all(t, 4 * P), B);
	expect_blocks(t, NULL, 0);
	assert_int_equal(vmlab_vmap_fit_count(t, VMLAB_FL_FIT_TYPE), 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 0);
	vmlab_vmap_tree_destroy(t);
}

static void test_fit_le(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 16 * P);
	const u64 want[] = {B + 3 * P, B + 16 * P};

	(void)state;
	assert_int_equal(alloc_all(t, 3 * P), B);
	expect_blocks(t, want, 1);
	assert_int_equal(vmlab_vmap_fit_count(t, VMLAB_LE_FIT_TYPE), 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 13 * P);
	vmlab_vmap_tree_destroy(t);
}

static void test_fit_re(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 16 * P);
	const u64 want[] = {B, B + 14 * P};

	(void)state;
	assert_int_equal(must_alloc(t, 2 * P, P, B + 14 * P, UINT64_MAX, false),
			 B + 14 * P);
	expect_blocks(t, want, 1);
	assert_int_equal(vmlab_vmap_fit_count(t, VMLAB_RE_FIT_TYPE), 1);
	vmlab_vmap_tree_destroy(t);
}

static void test_fit_ne(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 16 * P);
	const u64 want[] = {B, B + 4 * P, B + 6 * P, B + 16 * P};

	(void)state;
	assert_int_equal(must_alloc(t, 2 * P, P, B + 4 * P, UINT64_MAX, false),
			 B + 4 * P);
	expect_blocks(t, want, 2);
	assert_int_equal(vmlab_vmap_fit_count(t, VMLAB_NE_FIT_TYPE), 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 14 * P);
	vmlab_vmap_tree_destroy(t);
}

/* ---- coalescing on free ------------------------------------------------ */

/* Four 4-page pieces, all allocated: nothing free. */
static struct vmlab_vmap_tree *mk_four_pieces(void)
{
	struct vmlab_vmap_tree *t = mk(B, B + 16 * P);
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(alloc_all(t, 4 * P), B + (u64)i * 4 * P);
	expect_blocks(t, NULL, 0);
	return t;
}

static void test_coalesce_none(void **state)
{
	struct vmlab_vmap_tree *t = mk_four_pieces();
	const u64 want[] = {B, B + 4 * P, B + 8 * P, B + 12 * P};

	(void)state;
	must_free(t, B, 4 * P);
	must_free(t, B + 8 * P, 4 * P);
	expect_blocks(t, want, 2);
	vmlab_vmap_tree_destroy(t);
}

static void test_coalesce_left(void **state)
{
	struct vmlab_vmap_tree *t = mk_four_pieces();
	const u64 want[] = {B + 4 * P, B + 12 * P};

	(void)state;
	must_free(t, B + 4 * P, 4 * P);
	must_free(t, B + 8 * P, 4 * P); /* touches the block on its left */
	expect_blocks(t, want, 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 8 * P);
	vmlab_vmap_tree_destroy(t);
}

static void test_coalesce_right(void **state)
{
	struct vmlab_vmap_tree *t = mk_four_pieces();
	const u64 want[] = {B + 4 * P, B + 12 * P};

	(void)state;
	must_free(t, B + 8 * P, 4 * P);
	must_free(t, B + 4 * P, 4 * P); /* touches the block on its right */
	expect_blocks(t, want, 1);
	vmlab_vmap_tree_destroy(t);
}

static void test_coalesce_both(void **state)
{
	struct vmlab_vmap_tree *t = mk_four_pieces();
	const u64 two[] = {B, B + 4 * P, B + 8 * P, B + 16 * P};
	const u64 one[] = {B, B + 16 * P};

	(void)state;
	must_free(t, B, 4 * P);
	must_free(t, B + 8 * P, 4 * P);
	must_free(t, B + 12 * P, 4 * P);
	expect_blocks(t, two, 2);
	must_free(t, B + 4 * P, 4 * P);
	expect_blocks(t, one, 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 16 * P);
	vmlab_vmap_tree_destroy(t);
}

/* ---- alignment, windows, exhaustion, top-down -------------------------- */

static void test_alignment(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 1024 * P);
	u64 a;

	(void)state;
	assert_int_equal(alloc_all(t, P), B);
	a = must_alloc(t, P, 16 * P, 0, UINT64_MAX, false);
	assert_int_equal(a, B + 16 * P);
	a = must_alloc(t, 4 * P, VMLAB_PMD_SIZE, 0, UINT64_MAX, false);
	assert_int_equal(a, B + VMLAB_PMD_SIZE);
	/* Sub-page alignment means page alignment, as vmalloc's align 1. */
	assert_int_equal(must_alloc(t, P, 1, 0, UINT64_MAX, false), B + P);
	assert_int_equal(must_alloc(t, P, 2048, 0, UINT64_MAX, false),
			 B + 2 * P);
	vmlab_vmap_tree_destroy(t);
}

static void test_alignment_forces_later_block(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 64 * P);
	u64 addr = 0;

	(void)state;
	assert_int_equal(alloc_all(t, 64 * P), B);
	must_free(t, B + P, 2 * P);	 /* [1, 3): big enough, misaligned */
	must_free(t, B + 32 * P, 8 * P); /* [32, 40) */
	assert_int_equal(must_alloc(t, 2 * P, 4 * P, 0, UINT64_MAX, false),
			 B + 32 * P);
	/* Without the alignment the low block is the lowest fit. */
	assert_int_equal(alloc_all(t, 2 * P), B + P);
	/* An alignment larger than any block: nothing fits. */
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, 128 * P, 0, UINT64_MAX, false, &addr),
	    -VMLAB_ENOMEM);
	vmlab_vmap_tree_destroy(t);
}

static void test_vstart_vend(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 64 * P);
	u64 addr = 0;

	(void)state;
	assert_int_equal(must_alloc(t, P, P, B + 10 * P, B + 20 * P, false),
			 B + 10 * P);
	/* [11, 15) would end past vend = 14. */
	assert_int_equal(vmlab_vmap_alloc_range(t, 4 * P, P, B + 10 * P,
						B + 14 * P, false, &addr),
			 -VMLAB_ENOMEM);
	assert_int_equal(must_alloc(t, 4 * P, P, B + 11 * P, B + 15 * P, false),
			 B + 11 * P);
	/* An unaligned vstart is rounded up, never down. */
	assert_int_equal(must_alloc(t, P, P, B + 20 * P + 1, B + 64 * P, false),
			 B + 21 * P);
	/* Top-down respects vend from above and vstart from below. */
	assert_int_equal(must_alloc(t, P, P, B, B + 40 * P, true), B + 39 * P);
	assert_int_equal(vmlab_vmap_alloc_range(t, 4 * P, P, B + 12 * P,
						B + 17 * P, true, &addr),
			 -VMLAB_ENOMEM);
	assert_int_equal(must_alloc(t, P, P, 0, B + 9 * P + 5, true),
			 B + 8 * P);
	vmlab_vmap_tree_destroy(t);
}

static size_t snapshot(const struct vmlab_vmap_tree *t, u64 *out, size_t max)
{
	const struct vmlab_vmap_area *va;
	size_t n = 0;

	for (va = vmlab_vmap_free_first(t); va && n + 2 <= max;
	     va = vmlab_vmap_free_next(t, va)) {
		out[n++] = va->va_start;
		out[n++] = va->va_end;
	}
	return n;
}

static void test_exhaustion(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 8 * P);
	u64 before[16], after[16], addr = 0;
	size_t nb, na;

	(void)state;
	assert_int_equal(alloc_all(t, 3 * P), B);
	assert_int_equal(alloc_all(t, 3 * P), B + 3 * P);
	nb = snapshot(t, before, 16);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, 3 * P, P, 0, UINT64_MAX, false, &addr),
	    -VMLAB_ENOMEM);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, 3 * P, P, 0, UINT64_MAX, true, &addr),
	    -VMLAB_ENOMEM);
	assert_int_equal(addr, 0);
	na = snapshot(t, after, 16);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb * sizeof(u64));
	assert_int_equal(vmlab_vmap_free_bytes(t), 2 * P);
	assert_true(vmlab_vmap_tree_check(t));
	assert_int_equal(alloc_all(t, 2 * P), B + 6 * P);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, P, 0, UINT64_MAX, false, &addr),
	    -VMLAB_ENOMEM);
	assert_int_equal(vmlab_vmap_free_bytes(t), 0);
	vmlab_vmap_tree_destroy(t);
}

static void test_topdown(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 64 * P);

	(void)state;
	assert_int_equal(must_alloc(t, P, P, 0, UINT64_MAX, true), B + 63 * P);
	assert_int_equal(vmlab_vmap_fit_count(t, VMLAB_RE_FIT_TYPE), 1);
	assert_int_equal(must_alloc(t, P, 16 * P, 0, UINT64_MAX, true),
			 B + 48 * P);
	assert_int_equal(vmlab_vmap_fit_count(t, VMLAB_NE_FIT_TYPE), 1);
	/* Highest block [49, 63) holds 14 pages: 16 must go lower. */
	assert_int_equal(must_alloc(t, 16 * P, P, 0, UINT64_MAX, true),
			 B + 32 * P);
	assert_int_equal(must_alloc(t, 3 * P, 8 * P, 0, UINT64_MAX, true),
			 B + 56 * P);
	vmlab_vmap_tree_destroy(t);
}

/* ---- bad input --------------------------------------------------------- */

static void test_bad_input(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 64 * P);
	u64 before[16], after[16], addr = 0;
	size_t nb;

	(void)state;
	assert_int_equal(alloc_all(t, 8 * P), B);
	nb = snapshot(t, before, 16);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, 0, P, 0, UINT64_MAX, false, &addr),
	    -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P + 1, P, 0, UINT64_MAX, false, &addr),
	    -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, 3 * P, 0, UINT64_MAX, false, &addr),
	    -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, 0, 0, UINT64_MAX, false, &addr),
	    -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, P, B + P, B + P, false, &addr),
	    -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, P, B + 2 * P, B, true, &addr),
	    -VMLAB_EINVAL);
	assert_int_equal(
	    vmlab_vmap_alloc_range(t, P, P, 0, UINT64_MAX, false, NULL),
	    -VMLAB_EINVAL);
	/* Freeing free space, wholly or partly: a double free. */
	assert_int_equal(vmlab_vmap_free_range(t, B + 8 * P, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_free_range(t, B + 7 * P, 2 * P),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_free_range(t, B + 60 * P, 8 * P),
			 -VMLAB_EINVAL);
	/* Malformed or outside the tree. */
	assert_int_equal(vmlab_vmap_free_range(t, B + 1, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_free_range(t, B, 0), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_free_range(t, B - P, P), -VMLAB_EINVAL);
	assert_int_equal(snapshot(t, after, 16), nb);
	assert_memory_equal(before, after, nb * sizeof(u64));
	assert_int_equal(vmlab_vmap_free_bytes(t), 56 * P);
	assert_true(vmlab_vmap_tree_check(t));
	vmlab_vmap_tree_destroy(t);
}

/* ---- busy tree --------------------------------------------------------- */

static void test_busy_tree(void **state)
{
	struct vmlab_vmap_tree *t = mk(B, B + 64 * P);
	struct vmlab_vmap_area *va[4], over = {0}, *it;
	u64 prev = 0;
	int i, n = 0;

	(void)state;
	for (i = 0; i < 4; i++) {
		va[i] = vmlab_vmap_area_alloc();
		assert_non_null(va[i]);
	}
	/* Top-down so that insertion order is not address order. */
	for (i = 0; i < 4; i++)
		assert_int_equal(vmlab_vmap_alloc_area(t, va[i],
						       (u64)(i + 1) * P, P, 0,
						       UINT64_MAX, true),
				 0);
	assert_int_equal(vmlab_vmap_nr_busy(t), 4);
	assert_ptr_equal(vmlab_vmap_busy_find(t, va[2]->va_start + P), va[2]);
	assert_ptr_equal(vmlab_vmap_busy_find(t, va[0]->va_end - 1), va[0]);
	assert_null(vmlab_vmap_busy_find(t, B));
	assert_ptr_equal(vmlab_vmap_busy_find_start(t, va[3]->va_start), va[3]);
	assert_null(vmlab_vmap_busy_find_start(t, va[3]->va_start + P));
	assert_ptr_equal(vmlab_vmap_busy_find_exceed(t, B), va[3]);
	for (it = vmlab_vmap_busy_first(t); it;
	     it = vmlab_vmap_busy_next(t, it), n++) {
		assert_true(it->va_start >= prev);
		prev = it->va_end;
	}
	assert_int_equal(n, 4);
	/* Overlapping a busy area; then space that was never allocated;
	 * then freeing space that a busy area still covers. */
	over.va_start = va[1]->va_start - P;
	over.va_end = va[1]->va_start + P;
	assert_int_equal(vmlab_vmap_busy_insert(t, &over), -VMLAB_EEXIST);
	over.va_start = B;
	over.va_end = B + P;
	assert_int_equal(vmlab_vmap_busy_insert(t, &over), -VMLAB_EINVAL);
	assert_int_equal(vmlab_vmap_free_range(t, va[1]->va_start, P),
			 -VMLAB_EBUSY);
	vmlab_vmap_busy_remove(t, va[1]);
	assert_null(vmlab_vmap_busy_find(t, va[1]->va_start));
	assert_int_equal(vmlab_vmap_nr_busy(t), 3);
	must_free(t, va[1]->va_start, va[1]->va_end - va[1]->va_start);
	for (i = 0; i < 4; i++) {
		if (i != 1)
			assert_int_equal(vmlab_vmap_free_area(t, va[i]), 0);
		free(va[i]);
	}
	assert_int_equal(vmlab_vmap_nr_free_blocks(t), 1);
	assert_int_equal(vmlab_vmap_free_bytes(t), 64 * P);
	assert_true(vmlab_vmap_tree_check(t));
	vmlab_vmap_tree_destroy(t);
}

/* ---- the kernel's widened search -------------------------------------- */

/*
 * Free blocks: [32, 34) fits 2 pages aligned to 32; ten 1-page blocks;
 * [128, 256). Widened to 2 + 32 - 1 pages, the search never looks at the
 * leaf [32, 34) and takes [128, ...) instead, as __alloc_vmap_area() does.
 */
static struct vmlab_vmap_tree *mk_widen_case(void)
{
	struct vmlab_vmap_tree *t = mk(B, B + 256 * P);
	int i;

	assert_int_equal(alloc_all(t, 256 * P), B);
	must_free(t, B + 32 * P, 2 * P);
	for (i = 0; i < 10; i++)
		must_free(t, B + (40 + 2 * (u64)i) * P, P);
	must_free(t, B + 128 * P, 128 * P);
	return t;
}

static void test_adjust_search_size(void **state)
{
	struct vmlab_vmap_tree *t = mk_widen_case();
	u64 addr = 0;

	(void)state;
	assert_int_equal(must_alloc(t, 2 * P, 32 * P, 0, UINT64_MAX, false),
			 B + 32 * P);
	vmlab_vmap_tree_destroy(t);

	t = mk_widen_case();
	vmlab_vmap_set_adjust_search_size(t, true);
	assert_int_equal(must_alloc(t, 2 * P, 32 * P, 0, UINT64_MAX, false),
			 B + 128 * P);
	/* ...and so it fails although [32, 34) would fit below vend. */
	assert_int_equal(vmlab_vmap_alloc_range(t, 2 * P, 32 * P, 0,
						B + 128 * P, false, &addr),
			 -VMLAB_ENOMEM);
	/* A window exactly the size is searched unwidened. */
	assert_int_equal(
	    must_alloc(t, 2 * P, 32 * P, B + 32 * P, B + 34 * P, false),
	    B + 32 * P);
	/* Page alignment is never widened. */
	assert_int_equal(must_alloc(t, P, P, 0, UINT64_MAX, false), B + 40 * P);
	vmlab_vmap_tree_destroy(t);
}

/* ---- randomised comparison with a naive model -------------------------- */

static u64 xorshift64(u64 *s)
{
	u64 x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

#define REF_MAX 8192

/* Free space as a sorted array of disjoint, coalesced intervals. */
struct ref {
	u64 start[REF_MAX], end[REF_MAX];
	size_t n;
};

static void ref_remove_at(struct ref *r, size_t i)
{
	memmove(&r->start[i], &r->start[i + 1], (r->n - i - 1) * sizeof(u64));
	memmove(&r->end[i], &r->end[i + 1], (r->n - i - 1) * sizeof(u64));
	r->n--;
}

static void ref_insert_at(struct ref *r, size_t i, u64 s, u64 e)
{
	assert_true(r->n < REF_MAX);
	memmove(&r->start[i + 1], &r->start[i], (r->n - i) * sizeof(u64));
	memmove(&r->end[i + 1], &r->end[i], (r->n - i) * sizeof(u64));
	r->start[i] = s;
	r->end[i] = e;
	r->n++;
}

/* Index of the interval holding [a, a + size), or -1. */
static long ref_find(const struct ref *r, u64 a, u64 size)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->start[i] <= a && a + size <= r->end[i])
			return (long)i;
	return -1;
}

static void ref_take(struct ref *r, u64 a, u64 size)
{
	long i = ref_find(r, a, size);
	u64 s, e;

	assert_true(i >= 0);
	s = r->start[i];
	e = r->end[i];
	ref_remove_at(r, (size_t)i);
	if (a + size < e)
		ref_insert_at(r, (size_t)i, a + size, e);
	if (s < a)
		ref_insert_at(r, (size_t)i, s, a);
}

static void ref_free(struct ref *r, u64 a, u64 size)
{
	size_t i = 0;

	while (i < r->n && r->start[i] < a)
		i++;
	ref_insert_at(r, i, a, a + size);
	if (i + 1 < r->n && r->end[i] == r->start[i + 1]) {
		r->end[i] = r->end[i + 1];
		ref_remove_at(r, i + 1);
	}
	if (i > 0 && r->end[i - 1] == r->start[i]) {
		r->end[i - 1] = r->end[i];
		ref_remove_at(r, i);
	}
}

/* Lowest (or highest) aligned fit inside [vstart, vend), by brute force. */
static bool ref_fit(const struct ref *r, u64 size, u64 align, u64 vstart,
		    u64 vend, bool topdown, u64 *addr)
{
	size_t k;

	if (align < P)
		align = P;
	for (k = 0; k < r->n; k++) {
		size_t i = topdown ? r->n - 1 - k : k;
		u64 lo = r->start[i] > vstart ? r->start[i] : vstart;
		u64 hi = r->end[i] < vend ? r->end[i] : vend;
		u64 a;

		if (lo >= hi || hi - lo < size)
			continue;
		a = topdown ? (hi - size) & ~(align - 1)
			    : (lo + align - 1) & ~(align - 1);
		if (a >= lo && a + size <= hi) {
			*addr = a;
			return true;
		}
	}
	return false;
}

static u64 ref_bytes(const struct ref *r)
{
	u64 sum = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		sum += r->end[i] - r->start[i];
	return sum;
}

static void ref_compare(const struct vmlab_vmap_tree *t, const struct ref *r)
{
	const struct vmlab_vmap_area *va = vmlab_vmap_free_first(t);
	size_t i;

	assert_int_equal(vmlab_vmap_nr_free_blocks(t), r->n);
	for (i = 0; i < r->n; i++, va = vmlab_vmap_free_next(t, va)) {
		assert_int_equal(va->va_start, r->start[i]);
		assert_int_equal(va->va_end, r->end[i]);
	}
}

struct live {
	u64 addr, size;
	struct vmlab_vmap_area *va; /* busy node, or NULL: a bare range */
};

struct stress {
	struct vmlab_vmap_tree *t;
	struct ref ref;
	struct live live[REF_MAX];
	size_t nlive;
	u64 seed, start, end;
	bool kernel_mode;
	unsigned long hits, misses;
};

static void stress_pick(struct stress *s, u64 *size, u64 *align, u64 *vstart,
			u64 *vend, bool *topdown)
{
	u64 r = xorshift64(&s->seed);
	u64 span = (s->end - s->start) / P;

	*size = (r % 8 == 0 ? 1 + (r >> 8) % 64 : 1 + (r >> 8) % 8) * P;
	*align = (r >> 16) % 4 ? P << ((r >> 20) % 7) : 1;
	*topdown = s->kernel_mode ? false : (r >> 24) % 4 == 0;
	*vstart = 0;
	*vend = UINT64_MAX;
	if ((r >> 28) % 3 == 0) {
		*vstart = s->start + ((r >> 32) % span) * P + (r % 5) * 1000;
		*vend = *vstart + *size + ((r >> 40) % 256) * P + (r % 3) * 100;
	}
}

static void stress_alloc(struct stress *s)
{
	u64 size, align, vstart, vend, addr = 0, want = 0, lowest = 0;
	struct vmlab_vmap_area *va = NULL;
	bool topdown, fit;
	int ret;

	stress_pick(s, &size, &align, &vstart, &vend, &topdown);
	fit = ref_fit(&s->ref, size, align, vstart, vend, topdown, &want);
	if (xorshift64(&s->seed) % 2) {
		va = vmlab_vmap_area_alloc();
		assert_non_null(va);
		ret = vmlab_vmap_alloc_area(s->t, va, size, align, vstart, vend,
					    topdown);
		addr = va->va_start;
	} else {
		ret = vmlab_vmap_alloc_range(s->t, size, align, vstart, vend,
					     topdown, &addr);
	}
	if (!s->kernel_mode) {
		assert_int_equal(ret, fit ? 0 : -VMLAB_ENOMEM);
		if (fit)
			assert_int_equal(addr, want);
	} else if (ret == 0) {
		/* Widened: any aligned fit in the window, never below the
		 * lowest one. */
		lowest = want;
		assert_true(fit && addr >= lowest);
		assert_true(addr % (align < P ? P : align) == 0);
		assert_true(addr >= vstart && addr + size <= vend);
		assert_true(ref_find(&s->ref, addr, size) >= 0);
		s->misses += addr != lowest;
	} else {
		assert_int_equal(ret, -VMLAB_ENOMEM);
		s->misses += fit;
	}
	if (ret) {
		free(va);
		return;
	}
	s->hits++;
	ref_take(&s->ref, addr, size);
	s->live[s->nlive++] = (struct live){addr, size, va};
}

static void stress_free(struct stress *s)
{
	u64 r = xorshift64(&s->seed);
	size_t i = (size_t)(r % s->nlive);
	struct live *l = &s->live[i];

	if (l->va) {
		assert_ptr_equal(
		    vmlab_vmap_busy_find(s->t, l->addr + l->size - 1), l->va);
		assert_int_equal(vmlab_vmap_free_area(s->t, l->va), 0);
		free(l->va);
	} else if (l->size >= 2 * P && (r >> 32) % 3 == 0) {
		/* Give back the first half of a bare range only. */
		u64 half = (l->size / P / 2) * P;

		assert_int_equal(vmlab_vmap_free_range(s->t, l->addr, half), 0);
		ref_free(&s->ref, l->addr, half);
		l->addr += half;
		l->size -= half;
		return;
	} else {
		assert_int_equal(vmlab_vmap_free_range(s->t, l->addr, l->size),
				 0);
	}
	ref_free(&s->ref, l->addr, l->size);
	*l = s->live[--s->nlive];
}

static void stress_run(struct stress *s, int ops)
{
	int op;

	s->t = mk(s->start, s->end);
	vmlab_vmap_set_adjust_search_size(s->t, s->kernel_mode);
	s->ref.n = 1;
	s->ref.start[0] = s->start;
	s->ref.end[0] = s->end;
	for (op = 0; op < ops; op++) {
		if (s->nlive == 0 || xorshift64(&s->seed) % 100 < 55)
			stress_alloc(s);
		else
			stress_free(s);
		assert_true(vmlab_vmap_tree_check(s->t));
		assert_int_equal(vmlab_vmap_nr_free_blocks(s->t), s->ref.n);
		assert_int_equal(vmlab_vmap_free_bytes(s->t),
				 ref_bytes(&s->ref));
		if (op % 512 == 0)
			ref_compare(s->t, &s->ref);
	}
	while (s->nlive)
		stress_free(s);
	ref_compare(s->t, &s->ref);
	assert_int_equal(vmlab_vmap_nr_free_blocks(s->t), 1);
	assert_int_equal(vmlab_vmap_nr_busy(s->t), 0);
	vmlab_vmap_tree_destroy(s->t);
}

static void test_random_stress(void **state)
{
	struct stress *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	s->seed = 0x9e3779b97f4a7c15ULL;
	s->start = B;
	s->end = B + 2048 * P;
	stress_run(s, 20000);
	/* The mix must have exercised both outcomes. */
	assert_true(s->hits > 5000);
	assert_true(s->ref.n == 1);
	free(s);
}

static void test_random_stress_kernel_mode(void **state)
{
	struct stress *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	s->seed = 0x2545f4914f6cdd1dULL;
	s->start = B;
	s->end = B + 2048 * P;
	s->kernel_mode = true;
	stress_run(s, 5000);
	assert_true(s->hits > 1000);
	assert_true(s->misses > 0); /* the widening really changed answers */
	free(s);
}

/* ---- test_vmalloc.c's long_busy_list shape ------------------------------ */

#define LONG_BUSY 15000

static void test_long_busy_list(void **state)
{
	const u64 start = B, end = B + 4 * VMLAB_GiB;
	struct vmlab_vmap_tree *t = mk(start, end);
	struct vmlab_vmap_area **va = calloc(LONG_BUSY, sizeof(*va));
	struct vmlab_vmap_area one = {0};
	u64 seed = 42;
	size_t i;

	(void)state;
	assert_non_null(va);
	/* One page plus the guard page __get_vm_area_node() adds. */
	for (i = 0; i < LONG_BUSY; i++) {
		va[i] = vmlab_vmap_area_alloc();
		assert_non_null(va[i]);
		assert_int_equal(vmlab_vmap_alloc_area(t, va[i], 2 * P, P,
						       start, end, false),
				 0);
		assert_int_equal(va[i]->va_start, start + i * 2 * P);
	}
	assert_int_equal(vmlab_vmap_nr_busy(t), LONG_BUSY);
	assert_true(vmlab_vmap_tree_check(t));
	for (i = 0; i < 1000; i++) {
		assert_int_equal(
		    vmlab_vmap_alloc_area(t, &one, P, P, start, end, false), 0);
		assert_int_equal(one.va_start, start + LONG_BUSY * 2 * P);
		assert_int_equal(vmlab_vmap_free_area(t, &one), 0);
	}
	/* Free in a scrambled order so the free tree fragments first. */
	for (i = LONG_BUSY - 1; i > 0; i--) {
		size_t j = (size_t)(xorshift64(&seed) % (i + 1));
		struct vmlab_vmap_area *tmp = va[i];

		va[i] = va[j];
		va[j] = tmp;
	}
	for (i = 0; i < LONG_BUSY; i++) {
		assert_int_equal(vmlab_vmap_free_area(t, va[i]), 0);
		free(va[i]);
		if (i % 1000 == 0)
			assert_true(vmlab_vmap_tree_check(t));
	}
	assert_int_equal(vmlab_vmap_nr_busy(t), 0);
	assert_int_equal(vmlab_vmap_nr_free_blocks(t), 1);
	assert_int_equal(vmlab_vmap_free_first(t)->va_start, start);
	assert_int_equal(vmlab_vmap_free_first(t)->va_end, end);
	assert_true(vmlab_vmap_tree_check(t));
	free(va);
	vmlab_vmap_tree_destroy(t);
}

/* The by-start hash beside the busy tree: through growth (more areas than
 * its first size), lookups by start and by inner address, removals. */
static void test_busy_hash(void **state)
{
	enum { N = 5000 };
	struct vmlab_vmap_tree *t = mk(B, B + 4 * N * P);
	struct vmlab_vmap_area *va = calloc(N, sizeof(*va));

	(void)state;
	assert_non_null(va);
	for (int i = 0; i < N; i++)
		assert_int_equal(vmlab_vmap_alloc_area(t, &va[i], 2 * P, 1, B,
						       B + 4 * N * P, false),
				 0);
	assert_int_equal(vmlab_vmap_nr_busy(t), N);
	for (int i = 0; i < N; i++) {
		assert_ptr_equal(vmlab_vmap_busy_find_start(t, va[i].va_start),
				 &va[i]);
		assert_ptr_equal(vmlab_vmap_busy_find(t, va[i].va_start + P),
				 &va[i]);
		assert_null(vmlab_vmap_busy_find_start(t, va[i].va_start + P));
	}
	for (int i = 0; i < N; i += 2)
		assert_int_equal(vmlab_vmap_free_area(t, &va[i]), 0);
	assert_true(vmlab_vmap_tree_check(t));
	for (int i = 0; i < N; i++) {
		struct vmlab_vmap_area *want = i % 2 ? &va[i] : NULL;
		assert_ptr_equal(vmlab_vmap_busy_find_start(t, va[i].va_start),
				 want);
		assert_ptr_equal(vmlab_vmap_busy_find(t, va[i].va_start + P),
				 want);
	}
	/* A start that was never an area's: not found by the hash. */
	assert_null(vmlab_vmap_busy_find_start(t, B + 4 * N * P - P));
	for (int i = 1; i < N; i += 2)
		assert_int_equal(vmlab_vmap_free_area(t, &va[i]), 0);
	assert_int_equal(vmlab_vmap_nr_busy(t), 0);
	assert_true(vmlab_vmap_tree_check(t));
	vmlab_vmap_tree_destroy(t);
	free(va);
}

/* Busy areas in address order, by the list, and each found by address. */
static void expect_busy_order(const struct vmlab_vmap_tree *t, u64 n)
{
	const struct vmlab_vmap_area *va = vmlab_vmap_busy_first(t), *prev = NULL;
	u64 seen = 0;

	for (; va; prev = va, va = vmlab_vmap_busy_next(t, va), seen++) {
		assert_true(!prev || prev->va_end <= va->va_start);
		assert_ptr_equal(vmlab_vmap_busy_find(t, va->va_start), va);
	}
	assert_int_equal(seen, n);
	assert_int_equal(vmlab_vmap_nr_busy(t), n);
	assert_true(vmlab_vmap_tree_check(t));
}

/*
 * Busy inserts beside the last one skip the descent: after it and before
 * it, where the neighbour has a child on that side or not, overlapping it
 * (still -EEXIST) and far from it (the descent), interleaved with removals
 * that move the hint to a neighbour.
 */
static void test_busy_hint(void **state)
{
	enum { N = 64 };
	struct vmlab_vmap_tree *t = mk(B, B + N * P);
	struct vmlab_vmap_area *va = calloc(N, sizeof(*va)), extra = {0};
	/* Page indices: ascending runs, descending runs, jumps both ways. */
	static const int order[] = {20, 21, 22, 23, 19, 18, 17, 40, 39, 38,
				    41, 42, 5, 6, 4, 30, 29, 31, 60, 0,
				    63, 1, 62, 24, 16, 25, 15, 26, 14};
	const size_t n = sizeof(order) / sizeof(order[0]);
	u64 nr = 0;

	(void)state;
	assert_non_null(va);
	assert_int_equal(must_alloc(t, N * P, P, B, B + N * P, false), B);
	for (size_t i = 0; i < n; i++) {
		struct vmlab_vmap_area *a = &va[order[i]];

		a->va_start = B + (u64)order[i] * P;
		a->va_end = a->va_start + P;
		assert_int_equal(vmlab_vmap_busy_insert(t, a), 0);
		expect_busy_order(t, ++nr);
		/* The same page again, beside itself: refused. */
		extra.va_start = a->va_start;
		extra.va_end = a->va_end + (i % 2 ? P : 0);
		assert_int_equal(vmlab_vmap_busy_insert(t, &extra),
				 -VMLAB_EEXIST);
		if (i % 5 == 4) { /* drop the hint itself, then re-add it */
			vmlab_vmap_busy_remove(t, a);
			expect_busy_order(t, --nr);
			assert_int_equal(vmlab_vmap_busy_insert(t, a), 0);
			expect_busy_order(t, ++nr);
		}
	}
	/* Empty the tree from the middle out, then fill it back in order. */
	for (size_t i = 0; i < n; i++) {
		vmlab_vmap_busy_remove(t, &va[order[(i * 7) % n]]);
		expect_busy_order(t, --nr);
	}
	for (int i = 0; i < N; i++) {
		va[i] = (struct vmlab_vmap_area){.va_start = B + (u64)i * P,
						 .va_end = B + (u64)(i + 1) * P};
		assert_int_equal(vmlab_vmap_busy_insert(t, &va[i]), 0);
		expect_busy_order(t, ++nr);
	}
	vmlab_vmap_tree_destroy(t);
	free(va);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_fit_fl),
	    cmocka_unit_test(test_fit_le),
	    cmocka_unit_test(test_fit_re),
	    cmocka_unit_test(test_fit_ne),
	    cmocka_unit_test(test_coalesce_none),
	    cmocka_unit_test(test_coalesce_left),
	    cmocka_unit_test(test_coalesce_right),
	    cmocka_unit_test(test_coalesce_both),
	    cmocka_unit_test(test_alignment),
	    cmocka_unit_test(test_alignment_forces_later_block),
	    cmocka_unit_test(test_vstart_vend),
	    cmocka_unit_test(test_exhaustion),
	    cmocka_unit_test(test_topdown),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_busy_tree),
	    cmocka_unit_test(test_adjust_search_size),
	    cmocka_unit_test(test_random_stress),
	    cmocka_unit_test(test_random_stress_kernel_mode),
	    cmocka_unit_test(test_long_busy_list),
	    cmocka_unit_test(test_busy_hash),
	    cmocka_unit_test(test_busy_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
