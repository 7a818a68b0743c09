/* SPDX-License-Identifier: MIT */
/*
 * PAGEMAP_SCAN (src/user/pagemap_scan.c): the same layout -- written
 * pages, a zero-page read, guard markers, untouched pages, a hole -- and
 * the same queries (filters, inversion, max_pages, a short vector, no
 * vector, the userfaultfd flags, bad arguments) on the model and, when
 * the host runs 6.18, on the host kernel's /proc/self/pagemap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "user_helpers.h"
#include "vmlab/migrate.h"
#include "sim/sim.h"

#define NPAGES 10
#define NREG 16
#define ALL_BUT_SD (((VMLAB_PAGE_IS_GUARD << 1) - 1) & ~VMLAB_PAGE_IS_SOFT_DIRTY)

/* Linux's struct pm_scan_arg (include/uapi/linux/fs.h, 6.18). */
struct host_scan_arg {
	u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define HOST_PAGEMAP_SCAN _IOWR('f', 16, struct host_scan_arg)

struct query {
	u64 flags, vec_len, max_pages, inverted, mask, anyof, ret;
	u64 size_delta;  /* added to the size field */
	s64 start_delta; /* bytes added to start */
	s64 end_pages;   /* end = start + end_pages pages */
	bool no_vec;
};

/* What a query gave: result, walk_end and the runs, relative to the
 * mapping's start in pages. */
struct answer {
	s64 r;
	s64 walk_end;
	u64 reg[NREG][3];
};

static const struct query queries[] = {
	{.vec_len = NREG, .ret = ALL_BUT_SD, .end_pages = NPAGES},
	{.vec_len = NREG, .ret = ALL_BUT_SD, .mask = VMLAB_PAGE_IS_GUARD,
	 .end_pages = NPAGES},
	{.vec_len = NREG, .ret = ALL_BUT_SD, .end_pages = NPAGES,
	 .anyof = VMLAB_PAGE_IS_GUARD | VMLAB_PAGE_IS_PFNZERO},
	{.vec_len = 2, .ret = ALL_BUT_SD, .end_pages = NPAGES},
	{.vec_len = NREG, .max_pages = 3, .ret = ALL_BUT_SD, .end_pages = NPAGES},
	{.vec_len = NREG, .max_pages = 5, .ret = VMLAB_PAGE_IS_PRESENT,
	 .end_pages = NPAGES},
	{.vec_len = NREG, .ret = ALL_BUT_SD, .inverted = VMLAB_PAGE_IS_PRESENT,
	 .mask = VMLAB_PAGE_IS_PRESENT, .end_pages = NPAGES},
	{.vec_len = NREG, .ret = 0, .end_pages = NPAGES},
	{.no_vec = true, .ret = ALL_BUT_SD, .end_pages = NPAGES},
	{.vec_len = NREG, .flags = VMLAB_PM_SCAN_WP_MATCHING, .ret = ALL_BUT_SD,
	 .end_pages = NPAGES},
	{.vec_len = NREG, .flags = VMLAB_PM_SCAN_CHECK_WPASYNC,
	 .ret = ALL_BUT_SD, .end_pages = NPAGES},
	/* bad arguments */
	{.vec_len = NREG, .ret = ALL_BUT_SD, .start_delta = 1, .end_pages = 2},
	{.vec_len = NREG, .ret = ALL_BUT_SD, .size_delta = 8, .end_pages = 2},
	{.vec_len = NREG, .ret = ALL_BUT_SD, .end_pages = -1},
	{.vec_len = 1, .no_vec = true, .ret = ALL_BUT_SD, .end_pages = 2},
	{.vec_len = NREG, .ret = 1ULL << 9, .end_pages = 2},
	{.vec_len = NREG, .flags = 4, .ret = ALL_BUT_SD, .end_pages = 2},
};
#define NQ (sizeof(queries) / sizeof(queries[0]))

static void fill(struct answer *out, s64 r, u64 walk_end, u64 base,
		 const u64 (*reg)[3])
{
	memset(out, 0, sizeof(*out));
	out->r = r;
	out->walk_end = r < 0 ? 0 : (s64)(walk_end - base) / (s64)P;
	for (s64 i = 0; i < r && i < NREG; i++) {
		out->reg[i][0] = (reg[i][0] - base) / P;
		out->reg[i][1] = (reg[i][1] - base) / P;
		out->reg[i][2] = reg[i][2];
	}
}

static void model_answers(struct answer *ans)
{
	struct env e = t_env(1);
	s64 a = vmlab_mmap(e.mm, 0, NPAGES * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	u64 base = (u64)a;
	u8 b;
	assert_int_equal(vmlab_user_write8(e.mm, 0, base, 1), VMLAB_OK);
	assert_int_equal(vmlab_user_write8(e.mm, 0, base + P, 1), VMLAB_OK);
	assert_int_equal(vmlab_user_read8(e.mm, 0, base + 6 * P, &b), VMLAB_OK);
	assert_int_equal(vmlab_madvise(e.mm, base + 3 * P, 2 * P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(vmlab_munmap(e.mm, base + 8 * P, P), 0);
	for (size_t q = 0; q < NQ; q++) {
		const struct query *k = &queries[q];
		struct vmlab_page_region reg[NREG];
		struct vmlab_pm_scan_arg s = {
			.size = sizeof(s) + k->size_delta, .flags = k->flags,
			.start = (u64)((s64)base + k->start_delta),
			.end = (u64)((s64)base + k->end_pages * (s64)P),
			.vec = k->no_vec ? NULL : reg, .vec_len = k->vec_len,
			.max_pages = k->max_pages, .category_inverted = k->inverted,
			.category_mask = k->mask, .category_anyof_mask = k->anyof,
			.return_mask = k->ret};
		s64 r = vmlab_pagemap_scan(e.mm, &s);
		u64 raw[NREG][3];
		for (s64 i = 0; i < r && i < NREG; i++) {
			raw[i][0] = reg[i].start;
			raw[i][1] = reg[i].end;
			raw[i][2] = reg[i].categories;
		}
		fill(&ans[q], r, s.walk_end, base, (const u64 (*)[3])raw);
	}
	/* the model's own figures, independent of the host */
	struct vmlab_page_region reg[NREG];
	struct vmlab_pm_scan_arg s = {.size = sizeof(s), .start = base,
				      .end = base + NPAGES * P, .vec = reg,
				      .vec_len = NREG,
				      .return_mask = VMLAB_PAGE_IS_SOFT_DIRTY |
						     VMLAB_PAGE_IS_PRESENT};
	assert_true(vmlab_pagemap_scan(e.mm, &s) > 0);
	if (vmlab_soft_dirty_supported(e.m))
		assert_int_equal(reg[0].categories, VMLAB_PAGE_IS_SOFT_DIRTY |
							    VMLAB_PAGE_IS_PRESENT);
	assert_int_equal(vmlab_pagemap_scan(NULL, &s), -VMLAB_EINVAL);
	assert_int_equal(vmlab_nr_warnings(e.m), 0);
	vmlab_machine_destroy(e.m);
}

static void host_answers(struct answer *ans)
{
	char *a = mmap(NULL, NPAGES * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(a != MAP_FAILED);
	u64 base = (u64)(uintptr_t)a;
	a[0] = 1;
	a[P] = 1;
	volatile char x = a[6 * P];
	(void)x;
	assert_int_equal(madvise(a + 3 * P, 2 * P, VMLAB_MADV_GUARD_INSTALL), 0);
	assert_int_equal(munmap(a + 8 * P, P), 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	assert_true(fd >= 0);
	for (size_t q = 0; q < NQ; q++) {
		const struct query *k = &queries[q];
		u64 reg[NREG][3];
		struct host_scan_arg s = {
			.size = sizeof(s) + k->size_delta, .flags = k->flags,
			.start = (u64)((s64)base + k->start_delta),
			.end = (u64)((s64)base + k->end_pages * (s64)P),
			.vec = k->no_vec ? 0 : (u64)(uintptr_t)reg,
			.vec_len = k->vec_len, .max_pages = k->max_pages,
			.category_inverted = k->inverted, .category_mask = k->mask,
			.category_anyof_mask = k->anyof, .return_mask = k->ret};
		long r = ioctl(fd, HOST_PAGEMAP_SCAN, &s);
		fill(&ans[q], r < 0 ? -errno : r, s.walk_end, base,
		     (const u64 (*)[3])reg);
	}
	close(fd);
	munmap(a, NPAGES * P);
}

static void test_scan_against_host(void **state)
{
	(void)state;
	struct answer model[NQ], host[NQ];
	model_answers(model);
	/* known without a host: the first query */
	assert_int_equal(model[0].r, 7);
	assert_int_equal(model[0].reg[2][2], VMLAB_PAGE_IS_GUARD |
						   VMLAB_PAGE_IS_SWAPPED |
						   VMLAB_PAGE_IS_WRITTEN);
	if (!t_host_is_6_18())
		return;
	host_answers(host);
	for (size_t q = 0; q < NQ; q++) {
		if (memcmp(&model[q], &host[q], sizeof(model[q]))) {
			fprintf(stderr, "query %zu: model r=%lld walk_end=%lld, "
					"host r=%lld walk_end=%lld\n",
				q, (long long)model[q].r,
				(long long)model[q].walk_end,
				(long long)host[q].r,
				(long long)host[q].walk_end);
			for (int i = 0; i < NREG && i < model[q].r; i++)
				fprintf(stderr, " m [%llu,%llu) %#llx\n",
					(unsigned long long)model[q].reg[i][0],
					(unsigned long long)model[q].reg[i][1],
					(unsigned long long)model[q].reg[i][2]);
			for (int i = 0; i < NREG && i < host[q].r; i++)
				fprintf(stderr, " h [%llu,%llu) %#llx\n",
					(unsigned long long)host[q].reg[i][0],
					(unsigned long long)host[q].reg[i][1],
					(unsigned long long)host[q].reg[i][2]);
		}
		assert_memory_equal(&model[q], &host[q], sizeof(model[q]));
	}
}

/* The Lua bindings: mm:pagemap_scan (category names, errors as nil,
 * errno), mm:kill and m:set_guard_lock. */
static const char lua_text[] =
	"local m = vmlab.machine{cpus = 1}\n"
	"local mm = assert(m:user_mm())\n"
	"local P = vmlab.PAGE_SIZE\n"
	"local a = assert(mm:mmap{len = 4 * P, prot = 'rw', flags = {'private', 'anonymous'}})\n"
	"assert(m:user_write(mm, a, 'x'))\n"
	"assert(mm:madvise(a + 2 * P, P, 'guard_install'))\n"
	"local r, we = mm:pagemap_scan{start = a, ['end'] = a + 4 * P, mask = 'guard'}\n"
	"assert(#r == 1 and r[1].start == a + 2 * P and r[1]['end'] == a + 3 * P)\n"
	"assert(r[1].categories == 0x112 and we == a + 4 * P)\n"
	"r = mm:pagemap_scan{start = a, ['end'] = a + 4 * P, ret = 'present|guard'}\n"
	"assert(#r == 4 and r[1].categories == 8 and r[2].categories == 0 and r[3].categories == 0x100)\n"
	"r, we = mm:pagemap_scan{start = a, ['end'] = a + 4 * P, vec_len = 1}\n"
	"assert(#r == 1 and we == a + P)\n"
	"local n, err = mm:pagemap_scan{start = a + 1, ['end'] = a + P}\n"
	"assert(n == nil and err == 'EINVAL')\n"
	"assert(m:set_guard_lock('write') and m:set_guard_lock('read'))\n"
	"assert(mm:kill())\n"
	"n, err = mm:munmap(a, P)\n"
	"assert(n == nil and err == 'EINTR', tostring(err))\n";

static void test_lua(void **state)
{
	(void)state;
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "pagemap-scan-lua";
	o.text = lua_text;
	o.text_len = strlen(lua_text);
	o.quiet = true;
	struct sim_result r;
	enum sim_status st = sim_run(&o, &r);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "failed");
	sim_result_free(&r);
}

/* A PMD-mapped THP: PRESENT|WRITTEN|HUGE over its 512 pages, the rest of
 * the mapping (not faulted) WRITTEN alone. */
static void test_thp(void **state)
{
	(void)state;
	struct env e = t_env(1);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_ALWAYS), 0);
	u64 len = 8ULL << 20;
	s64 a = vmlab_mmap(e.mm, 0, len, RW, ANON, NULL, 0);
	assert_true(a > 0);
	u64 h = ((u64)a + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	assert_int_equal(vmlab_user_write8(e.mm, 0, h, 1), VMLAB_OK);
	assert_int_equal(vmlab_user_thp_mapped(e.mm, h), 1);
	struct vmlab_page_region reg[NREG];
	struct vmlab_pm_scan_arg s = {.size = sizeof(s), .start = h,
				      .end = h + (4ULL << 20), .vec = reg,
				      .vec_len = NREG, .return_mask = ALL_BUT_SD};
	assert_int_equal(vmlab_pagemap_scan(e.mm, &s), 2);
	assert_int_equal(reg[0].start, h);
	assert_int_equal(reg[0].end, h + (2ULL << 20));
	assert_int_equal(reg[0].categories, VMLAB_PAGE_IS_PRESENT |
						    VMLAB_PAGE_IS_WRITTEN |
						    VMLAB_PAGE_IS_HUGE);
	assert_int_equal(reg[1].categories, VMLAB_PAGE_IS_WRITTEN);
	/* max_pages cuts inside the huge page */
	s.max_pages = 3;
	assert_int_equal(vmlab_pagemap_scan(e.mm, &s), 1);
	assert_int_equal(reg[0].end, h + 3 * P);
	assert_int_equal(s.walk_end, h + 3 * P);
	vmlab_machine_destroy(e.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thp),
		cmocka_unit_test(test_scan_against_host),
		cmocka_unit_test(test_lua),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
