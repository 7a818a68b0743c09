/* SPDX-License-Identifier: MIT */
/*
 * Host out of memory inside the model, injected (vmlab_host_fail_nth and
 * vmlab_config.host_fail_nth, as the kernel's fail-nth): every host
 * allocation the model makes, at boot and in each service, fails in turn.
 * The operation that needed it returns -ENOMEM, or where the kernel cannot
 * fail (a CPU store, a lookup) degrades with a warning; the process never
 * aborts, and teardown frees everything (the ASan build checks leaks).
 */
#include "helpers.h"

#include <vmlab/device.h>
#include <vmlab/execmem.h>
#include <vmlab/mmu_notifier.h>

#define MiB VMLAB_MiB

/* A frame no allocation reached (its descriptor section never created):
 * its lookup, a raw read and a CPU store through a kernel mapping of it,
 * with the host failing the section's allocation.  Regression: phys.c's
 * section_first_use() printed "host out of memory" and aborted. */
static void test_lookup_and_store_without_section(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 512 * MiB, false);
	u64 far = vmlab_nr_frames(m) - 1; /* the last section's */
	u64 w0 = vmlab_nr_warnings(m);
	vmlab_host_fail_nth(m, 1);
	assert_null(vmlab_pfn_to_page(m, far));
	assert_int_equal(vmlab_host_failed(m), 1);
	assert_true(vmlab_nr_warnings(m) > w0);
	/* The host has memory again: the lookup creates the section. */
	assert_non_null(vmlab_pfn_to_page(m, far));
	vmlab_machine_destroy(m);

	/* A CPU store into such a frame, through a kernel mapping (as a
	 * hostile alias makes one): the store is lost, with a warning. */
	m = t_machine(2, 512 * MiB, false);
	assert_int_equal(vmlab_map_range(m, vmlab_init_mm(m), KVA,
					 far << VMLAB_PAGE_SHIFT,
					 VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0),
			 0);
	w0 = vmlab_nr_warnings(m);
	vmlab_host_fail_nth(m, 1);
	u64 v = 0x1234;
	assert_int_equal(vmlab_write(m, 0, KVA, &v, 8, NULL), 0);
	assert_int_equal(vmlab_host_failed(m), 1);
	assert_true(vmlab_nr_warnings(m) > w0);
	assert_int_equal(t_read64(m, 1, KVA), 0); /* lost */
	/* Now with descriptors but no host page for the contents. */
	vmlab_host_fail_nth(m, 1);
	assert_int_equal(vmlab_write(m, 0, KVA, &v, 8, NULL), 0);
	assert_int_equal(vmlab_host_failed(m), 2);
	t_write64(m, 0, KVA, v); /* and with one */
	assert_int_equal(t_read64(m, 1, KVA), v);
	/* A raw physical write to another unreached frame, host failing. */
	vmlab_host_fail_nth(m, 1);
	vmlab_phys_write(m, (far - 32768) << VMLAB_PAGE_SHIFT, &v, 8);
	vmlab_machine_destroy(m);
}

/* Boot with the nth host allocation failing: the CPU and TLB arrays, the
 * frame descriptor sections, the checker, the direct map, KASAN's shadow,
 * vmalloc's state and tree.  -ENOMEM or a working machine, never an
 * abort; a boot past the last allocation fails nothing. */
static void test_boot_alloc_failure(void **state)
{
	(void)state;
	u64 nth = 1;
	int failed_boots = 0;
	for (;; nth++) {
		struct vmlab_config cfg;
		t_config(&cfg);
		cfg.nr_cpus = 2;
		cfg.mem_bytes = 256 * MiB;
		cfg.checker = true;
		cfg.kasan = true;
		cfg.host_fail_nth = nth;
		struct vmlab_machine *m = NULL;
		int err = vmlab_boot(&cfg, &m);
		if (err) {
			assert_int_equal(err, -VMLAB_ENOMEM);
			assert_null(m);
			failed_boots++;
			assert_true(nth < 10000);
			continue;
		}
		vmlab_set_quiet(m, true);
		u64 failed = vmlab_host_failed(m);
		/* A machine that booted despite a failure works. */
		u64 va = vmlab_vmalloc(m, 0, 4 * VMLAB_PAGE_SIZE);
		if (va) {
			t_write64(m, 1, va, 7);
			vmlab_vfree(m, 0, va);
		}
		vmlab_machine_destroy(m);
		if (!failed)
			break;
		assert_true(nth < 10000);
	}
	fprintf(stderr, "boot: %llu allocations\n", (unsigned long long)nth);
	assert_true(failed_boots > 10 && nth > 20);
}

static void nop_release(struct vmlab_mmu_notifier *sub, struct vmlab_mm *mm)
{
	(void)sub;
	(void)mm;
}

static const struct vmlab_mmu_notifier_ops nop_ops = {.release = nop_release};

/* The services' operations with the nth host allocation failing. */
static int services_sequence(struct vmlab_machine *m)
{
	const u64 P = VMLAB_PAGE_SIZE;
	int enomem = 0;
	/* vmalloc: enough areas for the busy hash to grow, vmap blocks,
	 * deferred frees, the alias flush. */
	enum { N = 80 };
	u64 va[N];
	for (int i = 0; i < N; i++) {
		va[i] = vmlab_vmalloc(m, i & 1, P);
		enomem += !va[i];
	}
	u64 pfns[4];
	for (int i = 0; i < 4; i++)
		pfns[i] = t_page(m);
	u64 ram = vmlab_vm_map_ram(m, 0, pfns, 4);
	enomem += !ram;
	u64 ram2 = vmlab_vm_map_ram(m, 1, pfns, 2);
	for (int i = 0; i < N; i += 2)
		if (va[i])
			vmlab_vfree_atomic(m, 0, va[i]);
	if (ram)
		vmlab_vm_unmap_ram(m, 0, ram, 4);
	vmlab_vm_unmap_aliases(m, 0);
	if (ram2)
		vmlab_vm_unmap_ram(m, 1, ram2, 2);
	for (int i = 1; i < N; i += 2)
		if (va[i])
			vmlab_vfree(m, 1, va[i]);
	vmlab_vm_unmap_aliases(m, 1);
	/* CPA on a vmalloc area and its direct-map alias: the alias's
	 * split, then ROX with the collapse back (VM_FLUSH_RESET_PERMS
	 * gives the alias back on vfree). */
	u64 v = vmlab_vmalloc(m, 0, 2 * P);
	if (v) {
		int err = vmlab_set_memory_ro(m, 0, v, 2);
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		enomem += err != 0;
		err = vmlab_set_memory_rw(m, 0, v, 2);
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		vmlab_set_vm_flush_reset_perms(m, v);
		err = vmlab_set_memory_rox(m, 0, v, 2);
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		vmlab_vfree(m, 0, v);
	} else {
		enomem++;
	}
	for (int i = 0; i < 4; i++)
		vmlab_free_pages(m, 0, pfns[i], 0);
	/* execmem: the pack allocator (packs, their index), then text
	 * from the ROX cache on a fresh machine is the other test's. */
	struct vmlab_execmem_config xc = {.allocator = VMLAB_EXECMEM_PACK};
	/* x86 only: on arm64 a pack's VM_FLUSH_RESET_PERMS resets the linear
	 * map page by page, and debug builds check the whole linear map
	 * after each (minutes over every n). */
	int err = t_arm64() ? -VMLAB_EBUSY : vmlab_execmem_setup(m, &xc);
	assert_true(err == 0 || err == -VMLAB_ENOMEM || err == -VMLAB_EBUSY);
	if (!err) {
		u64 x[6];
		for (int i = 0; i < 6; i++) {
			x[i] = vmlab_execmem_alloc(m, 0, i < 3 ?
						   VMLAB_EXECMEM_BPF :
						   VMLAB_EXECMEM_MODULE_TEXT,
						   (u64)(i + 1) * 512);
			enomem += !x[i];
		}
		u64 p4k, p2m;
		vmlab_execmem_text_cover(m, &p4k, &p2m);
		for (int i = 0; i < 6; i++)
			if (x[i]) {
				/* Freed even when the INT3 fill's text_poke
				 * had no memory (bpf_prog_pack_free WARNs on
				 * and frees). */
				err = vmlab_execmem_free(m, 0, x[i]);
				assert_true(err == 0 || err == -VMLAB_ENOMEM);
			}
	} else if (err != -VMLAB_EBUSY) {
		enomem++;
	}
	/* An SMMU, a user mm and a notifier on it. */
	struct vmlab_smmu *s = NULL;
	err = vmlab_smmu_create(m, NULL, &s);
	assert_true(err == 0 || err == -VMLAB_ENOMEM);
	enomem += err != 0;
	vmlab_smmu_destroy(s);
	struct vmlab_user_mm *mm;
	err = vmlab_user_mm_create(m, &mm);
	if (!err) {
		struct vmlab_mmu_notifier mn = {.ops = &nop_ops};
		err = vmlab_mmu_notifier_register(m, &mn,
						  vmlab_user_hw_mm(mm));
		assert_true(err == 0 || err == -VMLAB_ENOMEM);
		enomem += err != 0;
		if (!err)
			vmlab_mmu_notifier_unregister(m, &mn,
						      vmlab_user_hw_mm(mm));
		vmlab_user_mm_destroy(mm);
	} else {
		enomem++;
	}
	return enomem;
}

static void test_services_alloc_failure(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * MiB, true);
	assert_int_equal(services_sequence(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_machine_destroy(m);
	u64 nth = 1, failures = 0;
	for (;; nth++) {
		m = t_machine(2, 64 * MiB, true);
		vmlab_host_fail_nth(m, nth);
		int enomem = services_sequence(m);
		u64 failed = vmlab_host_failed(m);
		assert_true(failed <= 1);
		failures += enomem > 0;
		/* A failed allocation is never a false positive. */
		if (vmlab_nr_reports(m))
			fprintf(stderr, "nth %llu: %zu checker reports\n",
				(unsigned long long)nth,
				vmlab_nr_reports(m));
		assert_int_equal(vmlab_nr_reports(m), 0);
		vmlab_machine_destroy(m);
		if (!failed) {
			assert_int_equal(enomem, 0);
			break;
		}
		assert_true(nth < 100000);
	}
	fprintf(stderr, "services: %llu allocations\n", (unsigned long long)nth);
	assert_true(failures >= 5 && nth > 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_and_store_without_section),
		cmocka_unit_test(test_boot_alloc_failure),
		cmocka_unit_test(test_services_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
