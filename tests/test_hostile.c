/* SPDX-License-Identifier: MIT */
/*
 * Hostile input: every way a scenario, a C caller or the CLI once crashed
 * the process (an assertion reached from input, host memory corruption,
 * silent misuse) is a case here, and each must now end in the kernel's
 * error code, a warning, or a scenario error — never an abort.
 */
#include <stdlib.h>

#include "user_helpers.h"

#include "sim/sim.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct sim_opts opts(const char *text)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "hostile";
	o.text = text;
	o.text_len = strlen(text);
	o.quiet = true;
	o.max_steps = 5000000;
	return o;
}

/* Run Lua text; returns the status, r must be freed by the caller. */
static enum sim_status lua(const char *text, struct sim_result *r)
{
	struct sim_opts o = opts(text);
	return sim_run(&o, r);
}

static void expect_lua(const char *text, enum sim_status want,
		       const char *msg)
{
	struct sim_result r;
	enum sim_status st = lua(text, &r);
	if (st != want || (msg && (!r.error || !strstr(r.error, msg))))
		fprintf(stderr, "scenario:\n%s\nstatus %d, error: %s\n", text,
			(int)st, r.error ? r.error : "(none)");
	assert_int_equal(st, want);
	if (msg)
		assert_non_null(strstr(r.error, msg));
	sim_result_free(&r);
}

/* mmap(MAP_FIXED) at a kernel address: -ENOMEM, no mapping (the test of
 * get_unmapped_area was r < 0, and the kernel address passed as one). */
static void test_mmap_fixed_kernel_address(void **state)
{
	(void)state;
	struct env e = t_env(2);
	u64 vmas = vmlab_user_nr_vmas(e.mm);
	s64 r = vmlab_mmap(e.mm, 0xffff888000000000ULL, P, RW,
			   ANON | VMLAB_MAP_FIXED, NULL, 0);
	assert_int_equal(r, -VMLAB_ENOMEM);
	r = vmlab_mmap(e.mm, 0xfffffffffffff000ULL, P, RW,
		       ANON | VMLAB_MAP_FIXED, NULL, 0);
	assert_int_equal(r, -VMLAB_ENOMEM);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), vmas);
	t_done(&e);
	expect_lua("local m = vmlab.machine{cpus = 2}\n"
		   "local mm = m:user_mm()\n"
		   "local a, err = mm:mmap{addr = -0x777800000000, len = 4096,\n"
		   "  flags = {'private', 'anonymous', 'fixed'}}\n"
		   "assert(a == nil and err == 'ENOMEM', tostring(err))\n",
		   SIM_OK, NULL);
}

/* Bytecode is host memory corruption on demand: refused everywhere. */
static void test_no_binary_chunks(void **state)
{
	(void)state;
	expect_lua("local f = function() return 1 end\n"
		   "return load(string.dump(f), nil, 'b')\n",
		   SIM_FAIL, "attempt to call a nil value");
	expect_lua("assert(string.dump == nil)\n"
		   "local ok, err = load('return 1', 'x', 'b')\n",
		   SIM_FAIL, "binary chunks are refused");
	expect_lua("assert(load('return 1', 'x', 'bt'))\n", SIM_FAIL,
		   "binary chunks are refused");
	/* A binary chunk passed as text is refused by Lua's own check. */
	expect_lua("local f, err = load('\\27Lua\\x54\\0garbage')\n"
		   "assert(f == nil and err:find('binary chunk'), err)\n"
		   "local pieces = {'\\27Lua', '\\x54'}\n"
		   "local i = 0\n"
		   "f, err = load(function() i = i + 1 return pieces[i] end)\n"
		   "assert(f == nil and err:find('binary chunk'), err)\n"
		   "assert(load('return 6 * 7')() == 42)\n"
		   "assert(load('return x', 'env', 't', {x = 5})() == 5)\n",
		   SIM_OK, NULL);
}

/* %p is a host address: refused, in every spelling; %% stays. */
static void test_no_host_addresses(void **state)
{
	(void)state;
	expect_lua("return string.format('%p', {})\n", SIM_FAIL,
		   "'%p' (a host address) is refused");
	expect_lua("return ('%-20p'):format(print)\n", SIM_FAIL,
		   "is refused");
	expect_lua("assert(string.format('%%p %d', 3) == '%p 3')\n"
		   "assert(tostring({}) == 'table')\n",
		   SIM_OK, NULL);
}

/* A table-filling loop stops at the memory cap, catch or no catch. */
static void test_memory_cap(void **state)
{
	(void)state;
	struct sim_result r;
	struct sim_opts o = opts(
		"local t = {}\n"
		"local ok = pcall(function()\n"
		"  for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end end)\n"
		"t = nil\n"
		"for i = 1, 1e9 do t = {t} end\n");
	o.max_steps = 0;
	o.max_memory = 32 << 20;
	assert_int_equal(sim_run(&o, &r), SIM_FAIL);
	assert_non_null(strstr(r.error, "memory limit exceeded"));
	sim_result_free(&r);
}

/*
 * Host memory per machine: vmalloc of 1 TiB on a 4 TiB machine aborted
 * the process ("host out of memory"); it returns nil with the kernel's
 * warning now, the machine goes on.  A scenario may lower the budget
 * (host_memory), never raise it past the run's (--max-host-memory).
 */
static void test_host_memory_budget(void **state)
{
	(void)state;
	expect_lua("local m = vmlab.machine{cpus = 4, memory = '4T'}\n"
		   "assert(m:vmalloc(1 << 40) == nil)\n"
		   "local a = assert(m:vmalloc(1 << 20))\n"
		   "m:write64(a, 5) assert(m:read64(a) == 5)\n"
		   "m:vfree(a)\n",
		   SIM_OK, NULL);
	/* A lowered budget takes effect: 2 GiB of frames need 16 sections
	 * of descriptors, more than 16 MiB hold; zeroing costs nothing. */
	expect_lua("local m = vmlab.machine{memory = '4G', host_memory = '16M'}\n"
		   "assert(m:vmalloc(2 << 30) == nil)\n"
		   "assert(m:vzalloc(64 << 20))\n",
		   SIM_OK, NULL);
	/* Stores cannot fail: writing more pages than the budget holds
	 * ends the run, and no pcall catches it. */
	expect_lua("local m = vmlab.machine{memory = '256M', host_memory = '8M'}\n"
		   "local a = assert(m:vmalloc(16 << 20))\n"
		   "pcall(function() for i = 0, 4095 do\n"
		   "  m:write64(a + i * 4096, i) end end)\n"
		   "error('not reached')\n",
		   SIM_FAIL, "host-memory budget exceeded: machine 'machine 1' "
			     "holds");
	expect_lua("vmlab.machine{host_memory = '2G'}\n", SIM_USAGE,
		   "host_memory is 1M..1073741824 bytes");
	expect_lua("vmlab.machine{host_memory = 4096}\n", SIM_USAGE,
		   "host_memory is 1M..");
	/* The run's budget from the options (--max-host-memory). */
	struct sim_result r;
	struct sim_opts o = opts("vmlab.machine{cpus = 2, memory = '4T'}\n");
	o.max_host_memory = 2 << 20;
	assert_int_equal(sim_run(&o, &r), SIM_FAIL);
	assert_non_null(strstr(r.error, "boot failed (ENOMEM)"));
	assert_non_null(strstr(r.error, "2097152 bytes"));
	sim_result_free(&r);
	o = opts("vmlab.machine{host_memory = '8M'}\n");
	o.max_host_memory = 4 << 20;
	assert_int_equal(sim_run(&o, &r), SIM_USAGE);
	sim_result_free(&r);
}

/* Machines per run are capped (destroyed ones count), pcall or not. */
static void test_machine_cap(void **state)
{
	(void)state;
	char text[256];
	snprintf(text, sizeof(text),
		 "for i = 1, %d do vmlab.machine{cpus = 1, memory = '64M'}"
		 ":destroy() end\n"
		 "local ok, err = pcall(vmlab.machine, {memory = '64M'})\n"
		 "assert(not ok and err:find('at most %d machines'), err)\n"
		 "vmlab.machine{memory = '64M'}\n",
		 SIM_DEFAULT_MAX_MACHINES, SIM_DEFAULT_MAX_MACHINES);
	expect_lua(text, SIM_FAIL, "a run may create at most 64 machines "
				   "(--max-machines)");
	struct sim_result r;
	struct sim_opts o = opts("local a = vmlab.machine{memory = '64M'}\n"
				 "local b = vmlab.machine{memory = '64M'}\n"
				 "local c = vmlab.machine{memory = '64M'}\n");
	o.max_machines = 3;
	assert_int_equal(sim_run(&o, &r), SIM_OK);
	sim_result_free(&r);
	o.max_machines = 2;
	assert_int_equal(sim_run(&o, &r), SIM_FAIL);
	assert_non_null(strstr(r.error, "hostile:3:"));
	assert_non_null(strstr(r.error, "at most 2 machines"));
	sim_result_free(&r);
}

/* The budget counts kernel work: cheap Lua, expensive calls, stops. */
static void test_work_budget(void **state)
{
	(void)state;
	struct sim_result r;
	/* 32 CPUs keep the test quick; a flush_all costs ~2300 units
	 * here and ~5 Lua instructions, so 2*10^6 steps are ~860 calls,
	 * where a Lua-instruction budget would allow ~400,000. */
	struct sim_opts o = opts(
		"local m = vmlab.machine{cpus = 32, memory = '256M'}\n"
		"local n = 0\n"
		"local ok, e = pcall(function()\n"
		"  while true do m:flush_all() n = n + 1 end end)\n"
		"while true do local ok2 = coroutine.resume(coroutine.create(\n"
		"  function() while true do m:flush_all() end end)) end\n");
	o.max_steps = 2000000;
	assert_int_equal(sim_run(&o, &r), SIM_FAIL);
	assert_non_null(strstr(r.error, "step budget exceeded"));
	assert_non_null(strstr(r.error, "kernel work"));
	sim_result_free(&r);
}

/* An error in a CPU program, caught by the script's pcall around m:run,
 * is the script's business: the run goes on and passes. */
static void test_pcall_program_error(void **state)
{
	(void)state;
	expect_lua("local m = vmlab.machine{cpus = 2}\n"
		   "local ok, err = pcall(m.run, m, {[1] = function(c)\n"
		   "  error('boom') end})\n"
		   "assert(not ok and err:find('boom') and\n"
		   "       err:find(\"CPU 1's program\"), err)\n"
		   "m:run{[0] = function(c) c:flush_all() end}\n",
		   SIM_OK, NULL);
	expect_lua("local m = vmlab.machine{cpus = 2}\n"
		   "m:run{[1] = function(c) error('boom') end}\n",
		   SIM_FAIL, "boom");
}

/* The PTE-table frame that maps va in init_mm. */
static u64 pte_table_of(struct vmlab_machine *m, u64 va)
{
	vmlab_ptep_t pmdp;
	assert_int_equal(vmlab_lookup_entry(m, vmlab_init_mm(m), va,
					    VMLAB_LVL_PMD, &pmdp), 0);
	struct vmlab_pte_info info;
	vmlab_pte_decode(m, vmlab_get_entry(m, pmdp), VMLAB_LVL_PMD, &info);
	assert_int_equal(info.kind, VMLAB_PTE_TABLE);
	return info.pfn;
}

/* A page-table frame holding arbitrary data written through its
 * direct-map alias: the walker decodes it and faults, never aborts. */
static void test_garbage_page_tables(void **state)
{
	(void)state;
	static const u64 garbage[] = {
		~0ULL,                          /* every bit */
		0x000ffffffffff000ULL | 0x63,   /* present, pfn far past RAM */
		(0x10001ULL << 12) | 0xe3,      /* PS (ignored at PTE level) */
		0x8000000000000067ULL | (5ULL << 40), /* NX, high pfn */
	};
	for (size_t g = 0; g < ARRAY_SIZE(garbage); g++) {
		struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
		t_map(m, KVA, VMLAB_PAGE_KERNEL);
		u64 table = pte_table_of(m, KVA);
		/* The PTE of KVA and its neighbour through the alias. */
		u64 dm = vmlab_page_address(m, table);
		assert_int_equal(vmlab_write(m, 0, dm, &garbage[g], 8, NULL), 0);
		assert_int_equal(vmlab_write(m, 0, dm + 8, &garbage[g], 8, NULL),
				 0);
		vmlab_flush_tlb_all(m, 0);
		u64 v;
		struct vmlab_fault f;
		int r = vmlab_read(m, 1, KVA, &v, 8, &f);
		(void)r; /* a fault or a read of some frame: both hardware */
		vmlab_read(m, 1, KVA + VMLAB_PAGE_SIZE, &v, 8, &f);
		vmlab_fetch(m, 1, KVA, &v, 8, &f);
		/* Software walkers over the same garbage. */
		u64 pa;
		vmlab_pgprot_t prot;
		int level;
		vmlab_translate(m, vmlab_init_mm(m), KVA, &pa, &prot, &level);
		vmlab_machine_destroy(m);
	}
	/* A PMD entry naming a table past RAM faults with RSVD. */
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	vmlab_ptep_t pmdp;
	assert_int_equal(vmlab_lookup_entry(m, vmlab_init_mm(m), KVA,
					    VMLAB_LVL_PMD, &pmdp), 0);
	u64 bad = (0xfffffULL << 12) | 0x63;
	vmlab_phys_write(m, pmdp, &bad, 8);
	vmlab_flush_tlb_all(m, 0);
	u64 v;
	struct vmlab_fault f;
	assert_int_not_equal(vmlab_read(m, 1, KVA, &v, 8, &f), 0);
	assert_true(f.error_code & VMLAB_PF_RSVD);
	assert_true(vmlab_nr_warnings(m) > 0);
	assert_int_equal(vmlab_get_entry(m, 1ULL << 52), 0); /* past RAM */
	vmlab_machine_destroy(m);
}

/*
 * A wild write into a live page table (through the direct map, as a
 * kernel bug would make it) is seen by the checker: it warns once and
 * stops trusting its page-table counts.  Regression: fuzz_ops reached
 * the recount's `table < nr_frames` assertion (a link past RAM) and the
 * count assertions (an entry removed that set_pte never installed).
 */
static void test_wild_write_into_page_table(void **state)
{
	(void)state;
	static const u64 past_ram = (0xfffffULL << 12) | 0x63;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	t_map(m, KVA + VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL);
	u64 table = pte_table_of(m, KVA);
	u64 dm = vmlab_page_address(m, table);
	u64 w0 = vmlab_nr_warnings(m);
	/* Twice: the second goes through the same path (no fast entry). */
	u64 leaf = (5ULL << 12) | 0x63;
	assert_int_equal(vmlab_write(m, 0, dm, &leaf, 8, NULL), 0);
	assert_int_equal(vmlab_write(m, 0, dm + 16, &past_ram, 8, NULL), 0);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	/* Unmapping the rewritten PTE takes back what was never counted. */
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	assert_true(vmlab_unmap_range(m, &tlb, KVA, 3 * VMLAB_PAGE_SIZE,
				      false) >= 0);
	vmlab_tlb_finish_mmu(m, &tlb);
	/* A PMD link past RAM, then the checker rebuilt from the tables. */
	vmlab_ptep_t pmdp;
	assert_int_equal(vmlab_lookup_entry(m, vmlab_init_mm(m), KVA,
					    VMLAB_LVL_PMD, &pmdp), 0);
	vmlab_phys_write(m, pmdp, &past_ram, 8);
	vmlab_checker_enable(m, false);
	vmlab_checker_enable(m, true);
	assert_true(vmlab_checker_enabled(m));
	vmlab_machine_destroy(m);
	/* Without the checker nothing is said (it is the checker's view). */
	m = t_machine(2, 64 * VMLAB_MiB, false);
	t_map(m, KVA, VMLAB_PAGE_KERNEL);
	dm = vmlab_page_address(m, pte_table_of(m, KVA));
	w0 = vmlab_nr_warnings(m);
	assert_int_equal(vmlab_write(m, 0, dm, &leaf, 8, NULL), 0);
	assert_int_equal(vmlab_nr_warnings(m), w0);
	vmlab_machine_destroy(m);
}

/* Raw page-table calls on the direct map bypass CPA's accounting: the
 * next CPA call warns and resynchronises instead of asserting. */
static void test_raw_direct_map_changes(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 256 * VMLAB_MiB, true);
	u64 pfn = t_page(m), other = t_page(m);
	u64 dm = vmlab_page_address(m, pfn);
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	assert_true(vmlab_protect_range(m, &tlb, dm, VMLAB_PAGE_SIZE, 0,
					VMLAB_PAGE_RW) >= 0);
	vmlab_tlb_finish_mmu(m, &tlb);
	assert_int_equal(vmlab_set_memory_ro(m, 0, vmlab_page_address(m, other),
					     1), 0);
	vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), 0);
	assert_true(vmlab_unmap_range(m, &tlb, dm, VMLAB_PAGE_SIZE, false) >= 0);
	vmlab_tlb_finish_mmu(m, &tlb);
	assert_int_equal(vmlab_set_memory_rw(m, 0, vmlab_page_address(m, other),
					     1), 0);
	assert_int_equal(vmlab_set_direct_map_default_noflush(m, other), 0);
	vmlab_set_memory_rw(m, 0, dm, 1); /* the unmapped page: an error */
	vmlab_machine_destroy(m);
	expect_lua("local m = vmlab.machine{cpus = 2}\n"
		   "local p, q = m:alloc_pages(), m:alloc_pages()\n"
		   "m:protect(vmlab.page_address(p), 1, 'PAGE_KERNEL_RO')\n"
		   "m:set_memory_ro(vmlab.page_address(q), 1)\n"
		   "m:unmap(vmlab.page_address(p), 1)\n"
		   "m:set_direct_map_default_noflush(q)\n"
		   "m:set_memory_rw(vmlab.page_address(q), 1)\n",
		   SIM_OK, NULL);
}

/* Invalid CPU ids are not silent: the call warns (and still works as a
 * call without CPU context where the kernel has one). */
static void test_invalid_cpu_ids_warn(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, false);
	u64 w0 = vmlab_nr_warnings(m), pfn;
	assert_int_equal(vmlab_alloc_pages(m, -1, 0, &pfn), 0); /* no CPU */
	assert_int_equal(vmlab_nr_warnings(m), w0);
	assert_int_equal(vmlab_alloc_pages(m, 4, 0, &pfn), 0);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 1);
	vmlab_free_pages(m, -5, pfn, 0);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 2);
	assert_int_equal(vmlab_run_work(m, 9, 1), 0);
	assert_int_equal(vmlab_nr_warnings(m), w0 + 3);
	vmlab_machine_destroy(m);
}

/* User ranges past the address space (found by probing every Lua call
 * with hostile integers): mremap of an old range running past 2^64
 * asserted in vma_start_write_range (start <= end), guard_scan from past
 * the user address space in for_each_pmd.  EFAULT / no runs now, as the
 * kernel (no VMA there). */
static void test_user_ranges_past_the_end(void **state)
{
	(void)state;
	expect_lua("local m = vmlab.machine{cpus = 2}\n"
		   "local mm = m:user_mm()\n"
		   "for _, a in ipairs{math.mininteger, vmlab.VMALLOC_START} do\n"
		   "  for _, l in ipairs{math.maxinteger, math.mininteger,\n"
		   "                     vmlab.VMALLOC_START} do\n"
		   "    local r, err = mm:mremap(a, l, 8192)\n"
		   "    assert(r == nil and err == 'EFAULT', tostring(err))\n"
		   "  end\n"
		   "end\n"
		   "for _, e in ipairs{-1, math.mininteger, vmlab.VMALLOC_START} do\n"
		   "  assert(#mm:guard_scan(math.maxinteger, e) == 0)\n"
		   "  assert(#mm:guard_scan(vmlab.VMALLOC_START, e) == 0)\n"
		   "end\n",
		   SIM_OK, NULL);
}

/* Garbage in a user PTE table, written through its direct-map alias:
 * a frame past RAM, every bit, a free frame.  The hardware faults or
 * reads some frame; the teardown's zap takes no page reference for what
 * is not a mapped user page (vm_normal_page's print_bad_pte: a warning,
 * the entry cleared).  Regression: zap_one dereferenced the NULL page of
 * a pfn past RAM (SIGSEGV) and dropped references it never had. */
static void test_garbage_user_pte(void **state)
{
	(void)state;
	static const u64 garbage[] = {
		~0ULL, 0x000ffffffffff000ULL | 0x67, (0x3000ULL << 12) | 0x67,
		(300ULL << 12) | 0x67,
		0x2, 0x4, 0x80, /* not present: swap entries naming no slot */
	};
	for (size_t g = 0; g < ARRAY_SIZE(garbage); g++) {
		struct env e = t_env(2);
		vmlab_set_quiet(e.m, true);
		s64 a = t_map_rw(&e, 16);
		for (u64 i = 0; i < 16; i++) {
			u8 b = 1;
			assert_int_equal(vmlab_user_access(e.mm, 0, VMLAB_WRITE,
							   (u64)a + i * P, &b, 1),
					 0);
		}
		vmlab_ptep_t ptep;
		assert_int_equal(vmlab_lookup_entry(e.m, vmlab_user_hw_mm(e.mm),
						    (u64)a + 5 * P, VMLAB_LVL_PTE,
						    &ptep), 0);
		u64 dm = vmlab_page_address(e.m, ptep >> VMLAB_PAGE_SHIFT) +
			 (ptep & (P - 1));
		assert_int_equal(vmlab_write(e.m, 0, dm, &garbage[g], 8, NULL),
				 0);
		vmlab_flush_tlb_all(e.m, 0);
		u8 b = 2;
		(void)vmlab_user_access(e.mm, 1, VMLAB_WRITE, (u64)a + 5 * P,
					&b, 1);
		/* The software walkers over it: pagemap, MADV_FREE, cold and
		 * pageout, collapse, fork (print_bad_pte for the child). */
		u64 pm[16];
		(void)vmlab_pagemap_read(e.mm, (u64)a, pm, 16);
		(void)vmlab_madvise(e.mm, (u64)a, 8 * P, VMLAB_MADV_FREE);
		(void)vmlab_madvise(e.mm, (u64)a, 16 * P, VMLAB_MADV_COLD);
		(void)vmlab_madvise(e.mm, (u64)a, 16 * P, VMLAB_MADV_PAGEOUT);
		(void)vmlab_madvise(e.mm, (u64)a, 16 * P, VMLAB_MADV_COLLAPSE);
		struct vmlab_user_mm *child;
		if (!vmlab_fork(e.mm, &child))
			vmlab_user_mm_destroy(child);
		u64 w0 = vmlab_nr_warnings(e.m);
		assert_int_equal(vmlab_munmap(e.mm, (u64)a, 16 * P), 0);
		assert_true(vmlab_nr_warnings(e.m) > w0);
		t_done(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_cpu_ids_warn),
		cmocka_unit_test(test_garbage_page_tables),
		cmocka_unit_test(test_wild_write_into_page_table),
		cmocka_unit_test(test_raw_direct_map_changes),
		cmocka_unit_test(test_no_binary_chunks),
		cmocka_unit_test(test_no_host_addresses),
		cmocka_unit_test(test_memory_cap),
		cmocka_unit_test(test_host_memory_budget),
		cmocka_unit_test(test_machine_cap),
		cmocka_unit_test(test_work_budget),
		cmocka_unit_test(test_pcall_program_error),
		cmocka_unit_test(test_mmap_fixed_kernel_address),
		cmocka_unit_test(test_user_ranges_past_the_end),
		cmocka_unit_test(test_garbage_user_pte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
