/* SPDX-License-Identifier: MIT */
/* Shared helpers for the cmocka tests. */
#ifndef VMLAB_TEST_HELPERS_H
#define VMLAB_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmlab/vmlab.h"

#define KVA 0xffffc90000000000ULL /* vmalloc range start */

/*
 * The architecture a suite runs on: tests/meson.build runs each
 * parameterised suite once per architecture with VMLAB_TEST_ARCH set;
 * x86_64 when it is not.
 */
static inline const char *t_arch(void)
{
	const char *a = getenv("VMLAB_TEST_ARCH");
	return a && *a ? a : "x86_64";
}

static inline bool t_arm64(void)
{
	return strcmp(t_arch(), "arm64") == 0;
}

/* The suite's architecture's kernel layout (vmalloc, modules, user
 * TASK_SIZE): what its machines place areas in. */
static inline const struct vmlab_va_layout *t_layout(void)
{
	return vmlab_arch_layout(t_arch());
}

#define T_VMALLOC_START (t_layout()->vmalloc_start)
#define T_VMALLOC_END (t_layout()->vmalloc_end) /* inclusive */
#define T_MODULES_VADDR (t_layout()->modules_vaddr)
#define T_MODULES_END (t_layout()->modules_end)
#define T_TASK_SIZE (t_layout()->task_size)
/* mmap_base without randomization: TASK_SIZE - 128 MiB */
#define T_MMAP_BASE (T_TASK_SIZE - 128 * VMLAB_MiB)

/* vmlab_config_default() for the suite's architecture. */
static inline void t_config(struct vmlab_config *cfg)
{
	vmlab_config_default(cfg);
	cfg->arch = t_arch();
}

static inline struct vmlab_machine *t_machine(int cpus, u64 mem, bool checker)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = cpus;
	cfg.mem_bytes = mem;
	cfg.checker = checker;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	assert_non_null(m);
	vmlab_set_quiet(m, true);
	return m;
}

static inline u64 t_page(struct vmlab_machine *m)
{
	u64 pfn;
	assert_int_equal(vmlab_alloc_pages(m, 0, 0, &pfn), 0);
	return pfn;
}

/* Map a fresh page at va with prot and return its pfn. */
static inline u64 t_map(struct vmlab_machine *m, u64 va, vmlab_pgprot_t prot)
{
	u64 pfn = t_page(m);
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), va,
					 pfn << VMLAB_PAGE_SHIFT,
					 VMLAB_PAGE_SIZE, prot, 0),
			 0);
	return pfn;
}

static inline u64 t_read64(struct vmlab_machine *m, int cpu, u64 va)
{
	u64 v = 0;
	assert_int_equal(vmlab_read(m, cpu, va, &v, 8, NULL), 0);
	return v;
}

static inline void t_write64(struct vmlab_machine *m, int cpu, u64 va, u64 v)
{
	assert_int_equal(vmlab_write(m, cpu, va, &v, 8, NULL), 0);
}

/* Unmap [va, va+size) of init_mm; flush when asked; returns leaves cleared. */
static inline s64 t_unmap(struct vmlab_machine *m, int cpu, u64 va, u64 size,
			  bool flush)
{
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), cpu);
	s64 n = vmlab_unmap_range(m, &tlb, va, size, false);
	if (flush)
		vmlab_tlb_finish_mmu(m, &tlb);
	return n;
}

#endif
