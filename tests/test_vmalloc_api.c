/* SPDX-License-Identifier: MIT */
/*
 * vmalloc: the API one call at a time: sizes and guard pages, vzalloc,
 * huge mappings and their fallback, vmap, vm_map_ram blocks, bad input,
 * /proc/vmallocinfo and the tracepoints.
 */
#include "test_vmalloc.h"

/* ---- the API, one call at a time ---------------------------------------- */

static void test_guard_page_and_sizes(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 a = vmlab_vmalloc(m, 0, 3 * P - 100); /* rounded up to 3 pages */
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, a + P + 7);
	assert_non_null(vm);
	assert_int_equal(vm->addr, a);
	assert_int_equal(vm->nr_pages, 3);
	assert_int_equal(vm->size, 4 * P);
	assert_int_equal(vm->flags, VMLAB_VM_ALLOC);
	assert_int_equal(vmlab_vmalloc_used_pages(m), 3);
	/* The guard page is reserved, never mapped. */
	struct vmlab_fault f;
	u64 v;
	assert_int_equal(vmlab_read(m, 1, a + 3 * P, &v, 8, &f), -VMLAB_EFAULT);
	assert_int_equal(vmlab_vmalloc(m, 0, P), a + 4 * P);
	/* VM_NO_GUARD: no guard page, the next area follows directly. */
	u64 b = vmlab_vmalloc_node_range(m, 0, P, 1, T_VMALLOC_START,
					 T_VMALLOC_END, VMLAB_PAGE_KERNEL,
					 VMLAB_VM_NO_GUARD, "noguard");
	assert_int_equal(vmlab_find_vm_area(m, b)->size, P);
	assert_int_equal(vmlab_vmalloc(m, 0, P), b + P);
	/* The module window. */
	u64 mod = vmlab_vmalloc_node_range(m, 0, P, P, T_MODULES_VADDR,
					   T_MODULES_END, VMLAB_PAGE_KERNEL,
					   0, "module_alloc");
	assert_int_equal(mod, T_MODULES_VADDR);
	vmlab_machine_destroy(m);
}

static void test_vzalloc_zeroes(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(1, 64 * VMLAB_MiB);
	u8 junk[64];
	memset(junk, 0x5a, sizeof(junk));
	u64 a = vmlab_vmalloc(m, 0, 2 * P);
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, a);
	u64 pfn0 = vm->pages[0];
	assert_int_equal(vmlab_write(m, 0, a, junk, sizeof(junk), NULL), 0);
	vmlab_vfree(m, 0, a);
	vmlab_purge_vmap_area_lazy(m, 0);
	u64 z = vmlab_vzalloc(m, 0, 2 * P);
	vm = vmlab_find_vm_area(m, z);
	/* The freed frames come back (per-CPU lists are LIFO)... */
	assert_true(vm->pages[0] == pfn0 || vm->pages[1] == pfn0);
	/* ...zeroed, where vmalloc() would show the old bytes. */
	for (u64 off = 0; off < 2 * P; off += 8)
		assert_int_equal(t_read64(m, 0, z + off), 0);
	vmlab_vfree(m, 0, z);
	vmlab_purge_vmap_area_lazy(m, 0);
	u64 d = vmlab_vmalloc(m, 0, 2 * P);
	vm = vmlab_find_vm_area(m, d);
	u8 back[64];
	vmlab_phys_write(m, vm->pages[0] << VMLAB_PAGE_SHIFT, junk, 64);
	assert_int_equal(vmlab_read(m, 0, d, back, 64, NULL), 0);
	assert_memory_equal(back, junk, 64);
	vmlab_machine_destroy(m);
}

/* vmalloc_huge() below 2 MiB, and when no order-9 block is left. */
static void test_huge_fallback(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(1, 64 * VMLAB_MiB);
	u64 small = vmlab_vmalloc_huge(m, 0, VMLAB_MiB);
	assert_int_equal(vmlab_find_vm_area(m, small)->page_order, 0);
	/* Take every frame, give back every other one: nothing coalesces. */
	u64 n = vmlab_nr_free_pages(m), pfn;
	u64 *all = calloc(n, sizeof(u64));
	u64 got = 0;
	while (got < n && !vmlab_alloc_pages(m, 0, 0, &pfn))
		all[got++] = pfn;
	for (u64 i = 0; i < got; i += 2)
		vmlab_free_pages(m, 0, all[i], 0);
	assert_true(vmlab_alloc_pages(m, 0, 9, &pfn) != 0);
	u64 h = vmlab_vmalloc_huge(m, 0, VMLAB_PMD_SIZE);
	assert_true(h != 0);
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, h);
	assert_int_equal(vm->page_order, 0);
	assert_int_equal(vm->nr_pages, 512);
	int level;
	u64 pa;
	assert_int_equal(
	    vmlab_translate(m, vmlab_init_mm(m), h, &pa, NULL, &level), 0);
	assert_int_equal(level, VMLAB_LVL_PTE);
	vmlab_vfree(m, 0, h);
	vmlab_vfree(m, 0, small);
	for (u64 i = 1; i < got; i += 2)
		vmlab_free_pages(m, 0, all[i], 0);
	free(all);
	/* Now a 2 MiB leaf can replace the empty PTE tables left behind. */
	vmlab_purge_vmap_area_lazy(m, 0);
	h = vmlab_vmalloc_huge(m, 0, 2 * VMLAB_PMD_SIZE);
	assert_int_equal(vmlab_find_vm_area(m, h)->page_order, 9);
	assert_int_equal(
	    vmlab_translate(m, vmlab_init_mm(m), h, &pa, NULL, &level), 0);
	assert_int_equal(level, VMLAB_LVL_PMD);
	vmlab_machine_destroy(m);
}

static void test_vmap(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 pfns[3] = {t_page(m), t_page(m), t_page(m)};
	u64 w = vmlab_nr_warnings(m);
	/* Refused: the flag needs frames vmalloc owns. */
	assert_int_equal(vmlab_vmap(m, 0, pfns, 3,
				    VMLAB_VM_MAP | VMLAB_VM_FLUSH_RESET_PERMS,
				    VMLAB_PAGE_KERNEL_EXEC),
			 0);
	assert_int_equal(vmlab_nr_warnings(m), w + 1);
	/* Always NX, whatever prot says; VM_NO_GUARD is dropped. */
	u64 a = vmlab_vmap(m, 0, pfns, 3, VMLAB_VM_MAP | VMLAB_VM_NO_GUARD,
			   VMLAB_PAGE_KERNEL_EXEC);
	assert_true(a != 0);
	assert_int_equal(vmlab_nr_warnings(m), w + 2);
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, a);
	assert_int_equal(vm->size, 4 * P);
	assert_int_equal(vm->nr_pages, 0); /* the frames stay the caller's */
	vmlab_pgprot_t prot;
	u64 pa;
	assert_int_equal(
	    vmlab_translate(m, vmlab_init_mm(m), a + 2 * P, &pa, &prot, NULL),
	    0);
	assert_int_equal(pa, pfns[2] << VMLAB_PAGE_SHIFT);
	assert_true(prot & VMLAB_PAGE_NX);
	struct vmlab_fault f;
	u8 insn;
	assert_int_equal(vmlab_fetch(m, 1, a, &insn, 1, &f), -VMLAB_EFAULT);
	u64 before = vmlab_nr_free_pages(m);
	vmlab_vunmap(m, 0, a);
	assert_int_equal(vmlab_nr_free_pages(m), before);
	assert_null(vmlab_find_vm_area(m, a));
	/* VM_MAP_PUT_PAGES: vfree() frees the frames. */
	a = vmlab_vmap(m, 0, pfns, 3, VMLAB_VM_MAP | VMLAB_VM_MAP_PUT_PAGES,
		       VMLAB_PAGE_KERNEL);
	assert_int_equal(vmlab_find_vm_area(m, a)->nr_pages, 3);
	vmlab_vfree(m, 0, a);
	assert_int_equal(vmlab_nr_free_pages(m), before + 3);
	assert_int_equal(vmlab_vmalloc_used_pages(m), 0);
	vmlab_machine_destroy(m);
}

static void test_vm_map_ram_blocks(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 pf[8];
	for (int i = 0; i < 8; i++)
		pf[i] = t_page(m);
	/* 3 pages take an order-2 slot: 4 pages of the block. */
	u64 a = vmlab_vm_map_ram(m, 0, pf, 3);
	u64 b = vmlab_vm_map_ram(m, 0, pf, 1);
	assert_int_equal(a & (VMLAB_VMAP_BLOCK_SIZE - 1), 0);
	assert_int_equal(b, a + 4 * P);
	/* Another CPU has its own block. */
	u64 c = vmlab_vm_map_ram(m, 1, pf, 1);
	assert_int_equal(c, a + VMLAB_VMAP_BLOCK_SIZE);
	struct vmlab_vmalloc_stats s;
	vmlab_vmalloc_stats(m, &s);
	assert_int_equal(s.nr_vmap_blocks, 2);
	assert_null(vmlab_find_vm_area(m, a)); /* no vm_struct */
	/* Freed space is dirty, never handed out again from the block. */
	vmlab_vm_unmap_ram(m, 0, a, 3);
	u64 d = vmlab_vm_map_ram(m, 0, pf, 1);
	assert_int_equal(d, b + P);
	/* vm_unmap_aliases() flushes the dirty range once. */
	vmlab_counters_reset(m);
	vmlab_vm_unmap_aliases(m, 0);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_kernel_range), 1);
	vmlab_vm_unmap_aliases(m, 0);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_kernel_range), 1);
	vmlab_vm_unmap_ram(m, 0, b, 1);
	vmlab_vm_unmap_ram(m, 0, d, 1);
	vmlab_vm_unmap_ram(m, 1, c, 1);
	/* Both blocks are now unused with plenty free: kept... */
	vmlab_vm_unmap_aliases(m, 0);
	vmlab_vmalloc_stats(m, &s);
	assert_int_equal(s.nr_vmap_blocks, 2);
	/* ...until a forced purge (the overflow path's) frees them, and
	 * flushes them in the same go. */
	assert_true(vmlab_purge_vmap_area_lazy(m, 0));
	vmlab_vmalloc_stats(m, &s);
	assert_int_equal(s.nr_vmap_blocks, 0);
	assert_int_equal(s.nr_lazy, 0);
	assert_int_equal(s.nr_purged_areas, 2);
	vmlab_machine_destroy(m);
}

/* A block with < VMAP_PURGE_THRESHOLD free and nothing used goes early. */
static void test_vmap_block_purge_threshold(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(1, 64 * VMLAB_MiB);
	u64 pf[64];
	for (int i = 0; i < 64; i++)
		pf[i] = t_page(m);
	u64 v[16];
	int n = 0;
	/* 13 x 64 pages = 832 used: 192 < 256 left free. */
	for (; n < 13; n++)
		v[n] = vmlab_vm_map_ram(m, 0, pf, 64);
	for (int i = 0; i < n; i++)
		vmlab_vm_unmap_ram(m, 0, v[i], 64);
	struct vmlab_vmalloc_stats s;
	vmlab_vmalloc_stats(m, &s);
	assert_int_equal(s.nr_vmap_blocks, 1);
	vmlab_counters_reset(m);
	vmlab_vm_unmap_aliases(m, 0);
	vmlab_vmalloc_stats(m, &s);
	assert_int_equal(s.nr_vmap_blocks, 0); /* purged as fragmented */
	assert_int_equal(s.nr_lazy, 0);	       /* and flushed at once */
	assert_int_equal(
	    vmlab_counter(m, -1, VMLAB_C_flush_kernel_range) +
		vmlab_counter(m, -1, VMLAB_C_flush_kernel_range_full),
	    1);
	vmlab_machine_destroy(m);
}

/* ---- bad input ----------------------------------------------------------- */

static void test_bad_input(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 a = vmlab_vmalloc(m, 0, 2 * P);
	u64 busy = nr_busy(m), w = vmlab_nr_warnings(m);
	/* size 0, non-power-of-two alignment, too big, bad CPU */
	assert_int_equal(vmlab_vmalloc(m, 0, 0), 0);
	assert_int_equal(vmlab_vmalloc_align(m, 0, P, 3 * P, "x"), 0);
	assert_int_equal(vmlab_vmalloc(m, 0, 1ULL << 40), 0);
	assert_int_equal(vmlab_vmalloc(m, 7, P), 0);
	assert_int_equal(vmlab_vmalloc(m, -1, P), 0);
	vmlab_vfree(m, 9, a);
	assert_int_equal(nr_busy(m), busy);
	assert_true(vmlab_nr_warnings(m) >= w + 5);
	/* Not page-aligned: warned, nothing freed. */
	w = vmlab_nr_warnings(m);
	vmlab_vfree(m, 0, a + 8);
	assert_int_equal(nr_busy(m), busy);
	assert_true(vmlab_nr_warnings(m) > w);
	/* Not an area at all. */
	w = vmlab_nr_warnings(m);
	vmlab_vfree(m, 0, T_VMALLOC_START + 100 * VMLAB_GiB);
	vmlab_vfree(m, 0, 0x1000);
	assert_int_equal(vmlab_nr_warnings(m), w + 2);
	vmlab_vfree(m, 0, 0); /* vfree(NULL): nothing, no warning */
	assert_int_equal(vmlab_nr_warnings(m), w + 2);
	/* vunmap() of a vmalloc() area: refused (the kernel leaks). */
	vmlab_vunmap(m, 0, a);
	assert_int_equal(nr_busy(m), busy);
	assert_int_equal(vmlab_nr_warnings(m), w + 3);
	/* A page-aligned address inside the area frees it, as the kernel's
	 * find_unlink_vmap_area() does; the second time it is gone. */
	vmlab_vfree(m, 0, a + P);
	assert_int_equal(nr_busy(m), busy - 1);
	vmlab_vfree(m, 0, a);
	assert_int_equal(nr_busy(m), busy - 1);
	assert_int_equal(vmlab_nr_warnings(m), w + 4);
	/* vfree() of a vm_map_ram() range: warned, untouched. */
	u64 pf = t_page(m);
	u64 r = vmlab_vm_map_ram(m, 0, &pf, 1);
	busy = nr_busy(m);
	vmlab_vfree(m, 0, r);
	vmlab_vunmap(m, 0, r);
	assert_int_equal(nr_busy(m), busy);
	/* vm_unmap_ram() mistakes. */
	w = vmlab_nr_warnings(m);
	vmlab_vm_unmap_ram(m, 0, r + P, 1); /* never mapped */
	vmlab_vm_unmap_ram(m, 0, r, 0);
	vmlab_vm_unmap_ram(m, 0, r + 1, 1);
	vmlab_vm_unmap_ram(m, 0, 0x1000, 1);
	vmlab_vm_unmap_ram(m, 0, r, 100); /* no such tree area */
	assert_int_equal(vmlab_nr_warnings(m), w + 5);
	vmlab_vm_unmap_ram(m, 0, r, 1);
	vmlab_vm_unmap_ram(m, 0, r, 1); /* twice */
	assert_int_equal(vmlab_nr_warnings(m), w + 6);
	assert_int_equal(vmlab_vm_map_ram(m, 0, NULL, 1), 0);
	assert_int_equal(vmlab_vm_map_ram(m, 0, &pf, 0), 0);
	u64 bad = vmlab_nr_frames(m) + 5;
	assert_int_equal(vmlab_vm_map_ram(m, 0, &bad, 1), 0);
	assert_int_equal(
	    vmlab_vmap(m, 0, &bad, 1, VMLAB_VM_MAP, VMLAB_PAGE_KERNEL), 0);
	assert_int_equal(
	    vmlab_vmap(m, 0, NULL, 2, VMLAB_VM_MAP, VMLAB_PAGE_KERNEL), 0);
	/* NULL machine: nothing to do, nothing crashes. */
	assert_int_equal(vmlab_vmalloc(NULL, 0, P), 0);
	vmlab_vfree(NULL, 0, a);
	assert_null(vmlab_find_vm_area(NULL, a));
	vmlab_machine_destroy(m);
}

/* Range exhaustion: a purge is tried first, then -EBUSY and NULL. */
static void test_range_exhaustion(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	const u64 lo = T_MODULES_VADDR, hi = lo + 8 * P;
	u64 a[4];
	for (int i = 0; i < 4; i++) {
		a[i] = vmlab_vmalloc_node_range(m, 0, P, 1, lo, hi,
						VMLAB_PAGE_KERNEL, 0, "tiny");
		assert_int_equal(a[i], lo + (u64)i * 2 * P);
	}
	u64 busy = nr_busy(m), w = vmlab_nr_warnings(m);
	assert_int_equal(vmlab_vmalloc_node_range(m, 0, P, 1, lo, hi,
						  VMLAB_PAGE_KERNEL, 0, "tiny"),
			 0);
	assert_int_equal(nr_busy(m), busy);
	assert_true(vmlab_nr_warnings(m) > w);
	/* A lazily freed area is not free: the overflow path purges it. */
	vmlab_vfree(m, 0, a[1]);
	vmlab_counters_reset(m);
	u64 again = vmlab_vmalloc_node_range(m, 0, P, 1, lo, hi,
					     VMLAB_PAGE_KERNEL, 0, "tiny");
	assert_int_equal(again, a[1]);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_kernel_range), 1);
	vmlab_machine_destroy(m);
}

/* ---- observability ------------------------------------------------------- */

static void test_vmallocinfo(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(2, 64 * VMLAB_MiB);
	u64 a = vmlab_vmalloc(m, 0, 2 * P);
	u64 pf[2] = {t_page(m), t_page(m)};
	u64 v = vmlab_vmap(m, 0, pf, 2, VMLAB_VM_MAP, VMLAB_PAGE_KERNEL);
	u64 r = vmlab_vm_map_ram(m, 0, pf, 1);
	u64 b = vmlab_vmalloc(m, 0, P);
	vmlab_vfree(m, 0, b);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	vmlab_vmallocinfo(m, f);
	fclose(f);
	char want[1024];
	snprintf(want, sizeof(want),
		 "0x%016llx-0x%016llx   12288 vmalloc pages=2 vmalloc N0=2\n"
		 "0x%016llx-0x%016llx   12288 vmap vmap\n"
		 "0x%016llx-0x%016llx 4194304 vm_map_ram\n"
		 "0x%016llx-0x%016llx    8192 unpurged vm_area\n",
		 (unsigned long long)a, (unsigned long long)(a + 3 * P),
		 (unsigned long long)v, (unsigned long long)(v + 3 * P),
		 (unsigned long long)r,
		 (unsigned long long)(r + VMLAB_VMAP_BLOCK_SIZE),
		 (unsigned long long)b, (unsigned long long)(b + 2 * P));
	assert_string_equal(buf, want);
	free(buf);
	vmlab_machine_destroy(m);
}

struct tp_log {
	char name[8][32];
	u64 f[8][6];
	int n;
};

static void tp_listener(void *ctx, const struct vmlab_event *e)
{
	struct tp_log *l = ctx;
	if (e->type != VMLAB_EV_USER || l->n == 8 ||
	    (strcmp(e->name, "alloc_vmap_area") &&
	     strcmp(e->name, "free_vmap_area_noflush") &&
	     strcmp(e->name, "purge_vmap_area_lazy")))
		return;
	snprintf(l->name[l->n], 32, "%s", e->name);
	u64 v[6] = {e->a, e->b, e->c, e->d, e->e, e->f};
	memcpy(l->f[l->n], v, sizeof(v));
	l->n++;
}

static void test_tracepoints(void **state)
{
	(void)state;
	struct vmlab_machine *m = vm_machine(4, 64 * VMLAB_MiB);
	struct tp_log l = {0};
	vmlab_set_event_listener(m, tp_listener, &l);
	u64 a = vmlab_vmalloc(m, 0, 3 * P);
	vmlab_vfree(m, 0, a);
	vmlab_purge_vmap_area_lazy(m, 0);
	vmlab_set_event_listener(m, NULL, NULL);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "alloc_vmap_area");
	u64 want0[6] = {a, 4 * P, 1, T_VMALLOC_START, T_VMALLOC_END, 0};
	assert_memory_equal(l.f[0], want0, sizeof(want0));
	assert_string_equal(l.name[1], "free_vmap_area_noflush");
	u64 want1[3] = {a, 4, 24576}; /* va_start, nr_lazy, nr_lazy_max */
	assert_memory_equal(l.f[1], want1, sizeof(want1));
	assert_string_equal(l.name[2], "purge_vmap_area_lazy");
	u64 want2[3] = {a, a + 4 * P, 1}; /* start, end, npurged */
	assert_memory_equal(l.f[2], want2, sizeof(want2));
	vmlab_machine_destroy(m);
}

/* ---- the kernel layout of the machine's architecture -------------------- */

/*
 * Each architecture's layout (x86: Documentation/arch/x86/x86_64/mm.rst;
 * arm64 4K/48-bit with generic KASAN: asm/memory.h, asm/pgtable.h), and
 * every service placing its memory in the machine's own ranges: vmalloc,
 * vmap, vm_map_ram, the module range (execmem), the KASAN shadow, the
 * direct map and a user mm's mmap_base.
 */
static void test_arch_layout(void **state)
{
	(void)state;
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.nr_cpus = 2;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	cfg.kasan = true;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	const struct vmlab_va_layout *l = vmlab_layout(m);
	assert_ptr_equal(l, t_layout());
	const struct { u64 got, x86, arm64; } want[] = {
		{l->vmalloc_start, 0xffffc90000000000ULL, 0xffff800080000000ULL},
		{l->vmalloc_end, 0xffffe8ffffffffffULL, 0xfffffdffafffffffULL},
		{l->modules_vaddr, 0xffffffffa0000000ULL, 0xffff800000000000ULL},
		{l->modules_end, 0xffffffffff000000ULL, 0xffff800080000000ULL},
		{l->page_offset, 0xffff888000000000ULL, 0xffff000000000000ULL},
		{l->kasan_shadow_offset, 0xdffffc0000000000ULL,
		 0xdfff800000000000ULL},
		{l->task_size, (1ULL << 47) - P, 1ULL << 48},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(want[i].got,
				 t_arm64() ? want[i].arm64 : want[i].x86);

	/* vmalloc and vmap: lowest fit from the window's start */
	u64 v = vmlab_vmalloc(m, 0, P);
	assert_int_equal(v, l->vmalloc_start);
	u64 pfn = t_page(m);
	u64 vm = vmlab_vmap(m, 0, &pfn, 1, 0, VMLAB_PAGE_KERNEL);
	assert_true(vm > v && vm <= l->vmalloc_end);
	u64 r = vmlab_vm_map_ram(m, 0, &pfn, 1);
	assert_true(r >= l->vmalloc_start && r <= l->vmalloc_end);
	/* the module range: execmem's text */
	u64 x = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_MODULE_TEXT, 100);
	assert_true(x >= l->modules_vaddr && x < l->modules_end);
	/* KASAN: the shadow of each lies in the architecture's region */
	u64 s0, s1;
	vmlab_kasan_shadow_region(m, &s0, &s1);
	assert_int_equal(s0, l->kasan_shadow_start);
	assert_int_equal(s1, l->kasan_shadow_end);
	const u64 addrs[] = {v, x, vmlab_page_address(m, pfn)};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		u64 sh = vmlab_kasan_mem_to_shadow(m, addrs[i]);
		assert_true(sh >= s0 && sh < s1);
		assert_int_equal(sh, (addrs[i] >> 3) + l->kasan_shadow_offset);
	}
	/* the direct map: a frame's linear address translates to it */
	u64 pa;
	vmlab_pgprot_t prot;
	int lvl;
	u64 lm = vmlab_page_address(m, pfn);
	assert_true(lm >= l->page_offset && lm < l->linear_end);
	assert_int_equal(vmlab_translate(m, vmlab_init_mm(m), lm, &pa, &prot,
					 &lvl),
			 0);
	assert_int_equal(pa, pfn << VMLAB_PAGE_SHIFT);
	/* a user mm: mmap_base is TASK_SIZE - 128 MiB */
	struct vmlab_user_mm *mm = NULL;
	assert_int_equal(vmlab_user_mm_create(m, &mm), 0);
	s64 u = vmlab_mmap(mm, 0, P, VMLAB_PROT_READ,
			   VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS, NULL, 0);
	assert_int_equal(u, (s64)(l->task_size - 128 * VMLAB_MiB - P));
	vmlab_user_mm_destroy(mm);
	vmlab_vm_unmap_ram(m, 0, r, 1);
	vmlab_vunmap(m, 0, vm);
	vmlab_vfree(m, 0, v);
	assert_int_equal(vmlab_execmem_free(m, 0, x), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard_page_and_sizes),
	    cmocka_unit_test(test_vzalloc_zeroes),
	    cmocka_unit_test(test_huge_fallback),
	    cmocka_unit_test(test_vmap),
	    cmocka_unit_test(test_vm_map_ram_blocks),
	    cmocka_unit_test(test_vmap_block_purge_threshold),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_range_exhaustion),
	    cmocka_unit_test(test_vmallocinfo),
	    cmocka_unit_test(test_tracepoints),
	    cmocka_unit_test(test_arch_layout),
	};
	return vm_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
