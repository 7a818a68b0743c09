/* SPDX-License-Identifier: MIT */
/*
 * Page faults of user mms: anonymous demand paging (the shared zero page
 * on a read, a private page on a write), copy from the zero page, signals
 * with Linux's si_code, PROT_NONE, mprotect write-upgrades, population,
 * and TLB shootdowns on munmap with the checker watching.
 */
#include "user_helpers.h"


static struct vmlab_user_mm *t_mm(struct vmlab_machine *m)
{
	struct vmlab_user_mm *mm = NULL;
	assert_int_equal(vmlab_user_mm_create(m, &mm), 0);
	return mm;
}

static u64 t_mmap(struct vmlab_user_mm *mm, u64 len, int prot, int flags)
{
	s64 a = vmlab_mmap(mm, 0, len, prot, flags, NULL, 0);
	assert_true(a > 0);
	return (u64)a;
}

static u64 rd64(struct vmlab_user_mm *mm, int cpu, u64 va)
{
	u64 v = 0;
	assert_int_equal(vmlab_user_access(mm, cpu, VMLAB_READ, va, &v, 8),
			 VMLAB_OK);
	return v;
}

static void wr64(struct vmlab_user_mm *mm, int cpu, u64 va, u64 v)
{
	assert_int_equal(vmlab_user_access(mm, cpu, VMLAB_WRITE, va, &v, 8),
			 VMLAB_OK);
}

static u64 pm(struct vmlab_user_mm *mm, u64 va)
{
	u64 e = 0;
	assert_int_equal(vmlab_pagemap_read(mm, va, &e, 1), 1);
	return e;
}

static void test_zero_page_then_private(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 4 * P, RW, ANON);
	u64 free0 = vmlab_nr_free_pages(m);
	assert_int_equal(rd64(mm, 0, a), 0);
	assert_int_equal(rd64(mm, 1, a + P), 0);
	/* Both pages map the one zero page, with no page of their own. */
	u64 e0 = pm(mm, a), e1 = pm(mm, a + P);
	assert_true(e0 & VMLAB_PM_PRESENT);
	assert_int_equal(e0, e1);
	assert_int_equal(e0 & (VMLAB_PM_FILE | VMLAB_PM_MMAP_EXCLUSIVE), 0);
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.fault_zero, 2);
	assert_int_equal(st.rss_anon, 0);
	/* A write to a page never read gets a private page at once. */
	wr64(mm, 0, a + 2 * P, 0x1122334455667788ULL);
	assert_int_equal(rd64(mm, 1, a + 2 * P), 0x1122334455667788ULL);
	assert_true(pm(mm, a + 2 * P) & VMLAB_PM_MMAP_EXCLUSIVE);
	/* CPU 1 caches the zero page at a; CPU 0 writes: copy from the zero
	 * page, CPU 1's entry is shot down and it sees the new data. */
	wr64(mm, 0, a, 42);
	assert_int_equal(rd64(mm, 1, a), 42);
	assert_int_equal(rd64(mm, 1, a + P), 0);
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.fault_anon, 1);
	assert_int_equal(st.fault_cow, 1);
	assert_int_equal(st.rss_anon, 2);
	assert_true(vmlab_nr_free_pages(m) < free0);
	assert_int_equal(vmlab_munmap(mm, a, 4 * P), 0);
	/* Every page and page table came back. */
	assert_int_equal(vmlab_nr_free_pages(m), free0);
	assert_int_equal(vmlab_user_access(mm, 1, VMLAB_READ, a, NULL, 1),
			 VMLAB_SIGSEGV);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_signals(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	struct vmlab_siginfo si;
	u64 ro = t_mmap(mm, P, VMLAB_PROT_READ, ANON);
	u64 none = t_mmap(mm, P, VMLAB_PROT_NONE, ANON);
	u8 b = 1;
	/* Nothing mapped. */
	assert_int_equal(vmlab_user_access_si(mm, 0, VMLAB_READ, 0x10000, &b, 1,
					      &si), VMLAB_SIGSEGV);
	assert_int_equal(si.code, VMLAB_SEGV_MAPERR);
	assert_int_equal(si.addr, 0x10000);
	/* Write to a read-only mapping. */
	assert_int_equal(vmlab_user_access_si(mm, 0, VMLAB_WRITE, ro + 8, &b, 1,
					      &si), VMLAB_SIGSEGV);
	assert_int_equal(si.code, VMLAB_SEGV_ACCERR);
	assert_int_equal(si.addr, ro + 8);
	/* PROT_NONE: any access. */
	assert_int_equal(vmlab_user_access_si(mm, 1, VMLAB_READ, none, &b, 1,
					      &si), VMLAB_SIGSEGV);
	assert_int_equal(si.code, VMLAB_SEGV_ACCERR);
	/* Fetch: faulted in (x86 reads may fetch it), then NX stops it. */
	assert_int_equal(vmlab_user_access_si(mm, 0, VMLAB_FETCH, ro, &b, 1,
					      &si), VMLAB_SIGSEGV);
	assert_int_equal(si.code, VMLAB_SEGV_ACCERR);
	/* Kernel and non-canonical addresses. */
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_READ, KVA, &b, 1),
			 VMLAB_SIGSEGV);
	/* x86: 2^47 is non-canonical, a #GP (SI_KERNEL); arm64: above the
	 * user range but canonical, a translation fault (SEGV_MAPERR), and
	 * 2^48 is non-canonical there. */
	assert_int_equal(vmlab_user_access_si(mm, 0, VMLAB_READ,
					      0x800000000000ULL, &b, 1, &si),
			 VMLAB_SIGSEGV);
	assert_int_equal(si.code, t_arm64() ? VMLAB_SEGV_MAPERR : 0x80);
	assert_int_equal(vmlab_user_access_si(mm, 0, VMLAB_READ, 1ULL << 48,
					      &b, 1, &si), VMLAB_SIGSEGV);
	assert_int_equal(si.code, t_arm64() ? VMLAB_SEGV_MAPERR : 0x80);
	/* Bad arguments are not signals. */
	assert_int_equal(vmlab_user_access(mm, 7, VMLAB_READ, ro, &b, 1),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_WRITE, ro, NULL, 1),
			 -VMLAB_EINVAL);
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.sigsegv, 7);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

/* Checker on: a user-executable page the kernel can write through the
 * direct map is normal (SMEP), so no wx-alias may be reported. */
static void test_exec(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 rx = t_mmap(mm, P, VMLAB_PROT_READ | VMLAB_PROT_EXEC, ANON);
	u64 x = t_mmap(mm, P, VMLAB_PROT_EXEC, ANON);
	u8 b = 1;
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_FETCH, rx, &b, 1),
			 VMLAB_OK);
	/* PROT_EXEC alone is readable on x86. */
	assert_int_equal(vmlab_user_access(mm, 1, VMLAB_READ, x, &b, 1),
			 VMLAB_OK);
	assert_int_equal(vmlab_user_access(mm, 1, VMLAB_WRITE, rx, &b, 1),
			 VMLAB_SIGSEGV);
	u64 rwx = t_mmap(mm, P, VMLAB_PROT_READ | VMLAB_PROT_WRITE |
				    VMLAB_PROT_EXEC, ANON);
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_WRITE, rwx, &b, 1),
			 VMLAB_OK);
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_FETCH, rwx, &b, 1),
			 VMLAB_OK);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_prot_none_and_upgrade(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 2 * P, RW, ANON);
	wr64(mm, 0, a, 7);
	assert_int_equal(rd64(mm, 1, a), 7);
	/* PROT_NONE: present entry becomes a PROT_NONE leaf, flushed. */
	u64 fl0 = vmlab_counter(m, -1, VMLAB_C_flush_mm_range);
	assert_int_equal(vmlab_mprotect(mm, a, P, VMLAB_PROT_NONE), 0);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_flush_mm_range), fl0 + 1);
	assert_int_equal(vmlab_user_access(mm, 1, VMLAB_READ, a, NULL, 8),
			 VMLAB_SIGSEGV);
	assert_true(pm(mm, a) & VMLAB_PM_PRESENT); /* data kept */
	/* Back to RW: exclusive page, writable again without a fault. */
	assert_int_equal(vmlab_mprotect(mm, a, P, RW), 0);
	assert_int_equal(vmlab_user_nr_vmas(mm), 1);
	struct vmlab_user_stats s0, s1;
	vmlab_user_stats(mm, &s0);
	wr64(mm, 1, a, 8);
	vmlab_user_stats(mm, &s1);
	assert_int_equal(s1.faults, s0.faults);
	assert_int_equal(rd64(mm, 0, a), 8);
	/* Read-only: writes fault; data still there. */
	assert_int_equal(vmlab_mprotect(mm, a, 2 * P, VMLAB_PROT_READ), 0);
	assert_int_equal(vmlab_user_access(mm, 0, VMLAB_WRITE, a, &s0, 8),
			 VMLAB_SIGSEGV);
	assert_int_equal(rd64(mm, 0, a), 8);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_populate_and_mlock(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	t_mmap(mm, 8 * P, RW, ANON | VMLAB_MAP_POPULATE);
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.rss_anon, 8); /* write-faulted: private pages */
	u64 b = t_mmap(mm, 4 * P, VMLAB_PROT_READ, ANON);
	assert_int_equal(vmlab_mlock(mm, b + 1, 2 * P), 0); /* 3 pages */
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.locked_vm, 3);
	assert_int_equal(st.map_count, 3); /* b split around the lock */
	assert_int_equal(st.fault_zero, 3);
	assert_int_equal(vmlab_munlock(mm, b, 4 * P), 0);
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.locked_vm, 0);
	assert_int_equal(st.map_count, 2); /* merged back */
	assert_int_equal(vmlab_mlock(mm, 0x10000, P), -VMLAB_ENOMEM);
	assert_int_equal(vmlab_mlock2(mm, b, P, 8), -VMLAB_EINVAL);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_munmap_shootdown(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	u64 a = t_mmap(mm, 64 * P, RW, ANON);
	for (int c = 0; c < 4; c++)
		for (u64 i = 0; i < 64; i++)
			wr64(mm, c, a + i * P, i * 4 + (u64)c);
	vmlab_user_switch(mm, 2);
	u64 ipi0 = vmlab_counter(m, -1, VMLAB_C_ipi_sent);
	u64 tlbi0 = vmlab_counter(m, -1, VMLAB_C_tlbi_is);
	assert_int_equal(vmlab_munmap(mm, a + 8 * P, 8 * P), 0);
	/* x86: the three other CPUs running the mm got one IPI each;
	 * arm64: one broadcast TLBI per page reaches them all. */
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_ipi_sent),
			 ipi0 + (t_arm64() ? 0 : 3));
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_tlbi_is),
			 tlbi0 + (t_arm64() ? 8 : 0));
	for (int c = 0; c < 4; c++) {
		assert_int_equal(vmlab_user_access(mm, c, VMLAB_READ, a + 9 * P,
						   NULL, 8), VMLAB_SIGSEGV);
		assert_int_equal(rd64(mm, c, a + 20 * P), 20 * 4 + 3);
	}
	/* A lazy CPU gets no IPI for a flush that frees no tables. */
	vmlab_enter_lazy_tlb(m, 1);
	ipi0 = vmlab_counter(m, -1, VMLAB_C_ipi_sent);
	tlbi0 = vmlab_counter(m, -1, VMLAB_C_tlbi_is);
	assert_int_equal(vmlab_madvise(mm, a, P, VMLAB_MADV_DONTNEED), 0);
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_ipi_sent),
			 ipi0 + (t_arm64() ? 0 : 2));
	/* arm64 has no lazy shortcut: the TLBI reaches every CPU. */
	assert_int_equal(vmlab_counter(m, -1, VMLAB_C_tlbi_is),
			 tlbi0 + (t_arm64() ? 1 : 0));
	assert_int_equal(rd64(mm, 1, a), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}

static void test_many_pages_many_cpus(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(4, 128 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm = t_mm(m);
	const u64 n = 3000;
	u64 a = t_mmap(mm, n * P, RW, ANON);
	for (u64 i = 0; i < n; i++)
		wr64(mm, (int)(i % 4), a + i * P + (i % 500) * 8, i * 2654435761ULL);
	for (u64 i = 0; i < n; i++)
		assert_int_equal(rd64(mm, (int)((i + 1) % 4),
				      a + i * P + (i % 500) * 8),
				 i * 2654435761ULL);
	struct vmlab_user_stats st;
	vmlab_user_stats(mm, &st);
	assert_int_equal(st.rss_anon, n);
	/* 3000 pages: 6 PTE tables (or 7 across a boundary) + PMD + PUD +
	 * PGD. */
	assert_true(st.pgtable_pages >= 9 && st.pgtable_pages <= 10);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
}


/*
 * arm64 without hardware AF/DBM: fork() makes the child's PTEs old, so
 * the child's first read takes an access-flag fault that the handler
 * resolves by setting AF (no SIGSEGV); the first write to a clean shared
 * writable page takes a permission fault that makes it dirty, and the
 * read-only TLB entry it replaces is flushed by broadcast TLBI
 * (ptep_set_access_flags).  With hardware AF/DBM none of that faults.
 */
static void af_dbm_run(bool hw, u64 *af, u64 *young, u64 *tlbi)
{
	struct vmlab_config cfg;
	t_config(&cfg);
	cfg.arch = "arm64";
	cfg.nr_cpus = 2;
	cfg.mem_bytes = 64 * VMLAB_MiB;
	cfg.checker = true;
	cfg.hw_afdbm = hw ? VMLAB_ON : VMLAB_OFF;
	struct vmlab_machine *m = NULL;
	assert_int_equal(vmlab_boot(&cfg, &m), 0);
	vmlab_set_quiet(m, true);
	struct vmlab_user_mm *p = t_mm(m), *c = NULL;
	u64 a = t_mmap(p, 4 * P, RW, ANON);
	wr64(p, 0, a, 42);
	u64 sh = t_mmap(p, P, RW, VMLAB_MAP_SHARED | VMLAB_MAP_ANONYMOUS);
	assert_int_equal(rd64(p, 0, sh), 0); /* mapped clean */
	assert_int_equal(vmlab_fork(p, &c), 0);
	vmlab_user_switch(c, 1);
	assert_int_equal(rd64(c, 1, a), 42);
	u64 t0 = vmlab_counter(m, -1, VMLAB_C_tlbi_is);
	wr64(p, 0, sh, 7);
	*tlbi = vmlab_counter(m, -1, VMLAB_C_tlbi_is) - t0;
	assert_int_equal(rd64(c, 1, sh), 7);
	*af = vmlab_counter(m, -1, VMLAB_C_af_fault);
	struct vmlab_user_stats sp, sc;
	vmlab_user_stats(p, &sp);
	vmlab_user_stats(c, &sc);
	*young = sp.fault_young + sc.fault_young;
	assert_int_equal(sp.sigsegv + sc.sigsegv, 0);
	assert_int_equal(vmlab_nr_warnings(m), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(c);
	vmlab_user_mm_destroy(p);
	vmlab_machine_destroy(m);
}

static void test_arm64_software_af_dirty(void **state)
{
	(void)state;
	u64 af, young, tlbi;
	af_dbm_run(false, &af, &young, &tlbi);
	/* One access-flag fault: the child's read of the page fork made
	 * old (the shared page is not copied, the child faults it in
	 * young); two software updates: that AF, and the dirty state of the
	 * parent's first write to the clean shared page. */
	assert_int_equal(af, 1);
	assert_int_equal(young, 2);
	assert_int_equal(tlbi, 1); /* flush_tlb_page of the RO entry */
	af_dbm_run(true, &af, &young, &tlbi);
	assert_int_equal(af, 0);
	assert_int_equal(young, 0);
	assert_int_equal(tlbi, 0);
}

/* A user address and the kernel address with the same low 48 bits are
 * different pages: on arm64 the TTBR0 page 0x400000 and the linear map's
 * 0xffff000000400000 (PA 0x400000, a global entry) once shared a TLB tag,
 * so the user access used the kernel's translation. */
static void test_user_kernel_tag_alias(void **state)
{
	(void)state;
	struct env e = t_env(1);
	const u64 ua = 0x400000;
	u64 ka = vmlab_page_address(e.m, ua / P);
	assert_int_equal(ka & 0xffffffffffffULL,
			 t_arm64() ? ua : (ka & 0xffffffffffffULL));
	u32 kv = 0, uv = 0;
	struct vmlab_fault f;
	assert_int_equal(vmlab_read(e.m, 0, ka, &kv, sizeof(kv), &f), 0);
	assert_int_equal(vmlab_mmap(e.mm, ua, P, RW, ANON | VMLAB_MAP_FIXED,
				    NULL, 0), (s64)ua);
	assert_int_equal(vmlab_user_write8(e.mm, 0, ua, 0x5a), VMLAB_OK);
	u8 b = 0;
	assert_int_equal(vmlab_user_read8(e.mm, 0, ua, &b), VMLAB_OK);
	assert_int_equal(b, 0x5a);
	/* The kernel page is untouched. */
	assert_int_equal(vmlab_read(e.m, 0, ka, &uv, sizeof(uv), &f), 0);
	assert_int_equal(uv, kv);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_page_then_private),
		cmocka_unit_test(test_user_kernel_tag_alias),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_prot_none_and_upgrade),
		cmocka_unit_test(test_populate_and_mlock),
		cmocka_unit_test(test_munmap_shootdown),
		cmocka_unit_test(test_many_pages_many_cpus),
		cmocka_unit_test(test_arm64_software_af_dirty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
