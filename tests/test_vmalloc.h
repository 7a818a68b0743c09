/* SPDX-License-Identifier: MIT */
/* Helpers shared by the vmalloc tests (test_vmalloc*.c). */
#ifndef VMLAB_TEST_VMALLOC_H
#define VMLAB_TEST_VMALLOC_H

#include <stdlib.h>

#include "helpers.h"

#define P VMLAB_PAGE_SIZE
#define LOOPS 2000
#define THREAD_ALIGN (16 * VMLAB_KiB) /* x86-64 THREAD_SIZE */

static inline struct vmlab_machine *vm_machine(int cpus, u64 mem)
{
	return t_machine(cpus, mem, false);
}

static inline u64 nr_busy(struct vmlab_machine *m)
{
	struct vmlab_vmalloc_stats s;
	vmlab_vmalloc_stats(m, &s);
	return s.nr_busy;
}

static inline u64 free_bytes(struct vmlab_machine *m)
{
	struct vmlab_vmalloc_stats s;
	vmlab_vmalloc_stats(m, &s);
	return s.free_bytes;
}

static inline void write_byte(struct vmlab_machine *m, u64 va, u8 v)
{
	assert_int_equal(vmlab_write(m, 0, va, &v, 1, NULL), 0);
}

/* The purge worker runs "soon" in the kernel: here, whenever asked. */
static inline void run_work(struct vmlab_machine *m)
{
	vmlab_run_work(m, 0, 1 << 20);
}

/* Everything freed and purged: the address space is whole again. */
static inline void assert_all_free(struct vmlab_machine *m, u64 busy0,
				   u64 free0)
{
	run_work(m);
	vmlab_purge_vmap_area_lazy(m, 0);
	assert_int_equal(nr_busy(m), busy0);
	assert_int_equal(free_bytes(m), free0);
	assert_int_equal(vmlab_vmap_lazy_nr(m), 0);
	assert_int_equal(vmlab_vmalloc_used_pages(m), 0);
}

/* VMLAB_TEST_FILTER=name runs one test (timing, debugging). */
static inline int vm_run_tests(const struct CMUnitTest *t, size_t n)
{
	if (getenv("VMLAB_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VMLAB_TEST_FILTER"));
	return _cmocka_run_group_tests("vmalloc", t, n, NULL, NULL);
}

#endif
