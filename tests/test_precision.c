/* SPDX-License-Identifier: MIT */
/*
 * Checker precision: correct code is silent.  The clean-run corpus (every
 * built-in scenario with its expectations, every mutant scenario with its
 * mutant off) has no unexpected finding, and each false positive found
 * is a regression case here, beside a control that keeps the rule alive.
 */
#include <stdlib.h>

#include "helpers.h"

#include "sim/sim.h"

static enum sim_status run_text(const char *text, struct sim_result *r)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "precision";
	o.text = text;
	o.text_len = strlen(text);
	o.quiet = true;
	return sim_run(&o, r);
}

/* vmalloc + set_memory_rox, the recommended path: the vmalloc alias is
 * RO+X a moment before the direct-map alias loses RW, inside one CPA
 * call (Linux's order too); nothing can use it and the call ends clean. */
static void test_set_memory_rox_silent(void **state)
{
	(void)state;
	for (int pages = 1; pages <= 8; pages *= 2) {
		struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
		u64 a = vmlab_vmalloc(m, 0, (u64)pages * VMLAB_PAGE_SIZE);
		assert_true(a != 0);
		for (int p = 0; p < pages; p++) {
			t_write64(m, 0, a + (u64)p * VMLAB_PAGE_SIZE, 0xcc);
			t_read64(m, 1, a + (u64)p * VMLAB_PAGE_SIZE);
		}
		assert_int_equal(vmlab_set_memory_rox(m, 0, a, pages), 0);
		u64 v;
		assert_int_equal(vmlab_fetch(m, 1, a, &v, 8, NULL), 0);
		assert_int_equal(vmlab_nr_reports(m), 0);
		vmlab_vfree(m, 0, a);
		vmlab_machine_destroy(m);
	}
}

/* Controls: W+X that outlives a call is still a finding. */
static void test_wx_surviving_a_call_reported(void **state)
{
	(void)state;
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	u64 a = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE);
	assert_int_equal(vmlab_set_memory_x(m, 0, a, 1), 0); /* RW + X */
	assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS), 1);
	vmlab_machine_destroy(m);
	m = t_machine(2, 64 * VMLAB_MiB, true);
	a = vmlab_vmalloc(m, 0, VMLAB_PAGE_SIZE);
	assert_int_equal(vmlab_set_memory_ro(m, 0, a, 1), 0);
	assert_int_equal(vmlab_set_memory_x(m, 0, a, 1), 0);
	assert_int_equal(vmlab_nr_reports(m), 0);
	assert_int_equal(vmlab_set_memory_rw(m, 0, a, 1), 0); /* RW + X */
	/* One finding per W+X store: the vmalloc alias and the direct map. */
	assert_int_equal(vmlab_nr_reports_of(m, VMLAB_CHECK_WX_ALIAS), 2);
	vmlab_machine_destroy(m);
	struct sim_result r;
	assert_int_equal(run_text("local m = vmlab.machine{cpus = 2}\n"
				  "local a = m:vmalloc(4 * 4096)\n"
				  "m:write(a, 'code')\n"
				  "m:cpu(1):read(a, 4)\n"
				  "m:set_memory_rox(a, 4)\n"
				  "assert(m:cpu(1):fetch(a, 4))\n", &r),
			 SIM_OK);
	sim_result_free(&r);
}

/* The clean-run corpus: every built-in scenario, with its expectations,
 * passes (no unexpected finding); planted races (an "explore:" header)
 * fail on some seeds by design and are the tour's.  The mutant scenarios
 * with their mutants off are test_mutants' (silent when off). */
static void test_clean_corpus(void **state)
{
	(void)state;
	for (int i = 0; i < sim_nr_builtins; i++) {
		char ex[32];
		if (sim_header(sim_builtins[i].text, sim_builtins[i].len,
			       "explore", ex, sizeof(ex)))
			continue;
		for (u64 seed = 1; seed <= 1; seed++) {
			struct sim_opts o;
			sim_opts_default(&o);
			o.scenario = sim_builtins[i].name;
			o.seed = seed;
			o.quiet = true;
			struct sim_result r;
			enum sim_status st = sim_run(&o, &r);
			if (st != SIM_OK)
				fprintf(stderr, "%s seed %llu: %s\n",
					sim_builtins[i].name,
					(unsigned long long)seed,
					r.error ? r.error : "?");
			assert_int_equal(st, SIM_OK);
			for (size_t k = 0; k < r.nr_reports; k++)
				assert_true(r.reports[k].expected);
			sim_result_free(&r);
		}
	}
}

/* A figure of vmlab.result{name = value} (it must be there). */
static s64 figure(const struct sim_result *r, const char *name)
{
	for (int i = 0; i < r->nr_rows; i++)
		if (!strcmp(r->rows[i].name, name) &&
		    r->rows[i].v[0].type == SV_INT)
			return r->rows[i].v[0].i;
	fail_msg("no figure '%s'", name);
	return 0;
}

/*
 * kasan_populate_vmalloc() runs with the vmalloc lock dropped (as Linux
 * drops vmap_area_lock), so explore reaches a purge releasing shadow on
 * one CPU while the other populates: some seeds of kasan-race (release =
 * "fixed") do, and none of them gets a report.  The same seeds with the
 * release moved after free_vmap_area_lock (the kasan-release-unlocked
 * mutant) free a shadow page under a new area and are caught.
 */
static void test_kasan_populate_release_race(void **state)
{
	(void)state;
	int interleaved = 0, caught = 0;
	for (u64 seed = 1; seed <= 100; seed++) {
		for (int mutant = 0; mutant <= 1; mutant++) {
			struct sim_opts o;
			sim_opts_default(&o);
			o.scenario = "kasan-race";
			o.defs[o.nr_defs++] = "release=fixed";
			o.policy = VMLAB_SCHED_PCT;
			o.seed = seed;
			o.quiet = true;
			if (mutant)
				o.mutants[VMLAB_MUT_KASAN_RELEASE_UNLOCKED / 64] |=
				    1ULL << (VMLAB_MUT_KASAN_RELEASE_UNLOCKED % 64);
			struct sim_result r;
			enum sim_status st = sim_run(&o, &r);
			bool kasan = false;
			for (size_t k = 0; k < r.nr_reports; k++)
				kasan |= !strcmp(r.reports[k].check, "kasan");
			if (!mutant) {
				assert_int_equal(st, SIM_OK);
				assert_int_equal(r.nr_reports, 0);
				interleaved += figure(&r, "releases during a "
							  "populate") > 0;
			} else if (st != SIM_OK) {
				assert_true(kasan);
				caught++;
			}
			sim_result_free(&r);
		}
	}
	assert_true(interleaved > 0);
	assert_true(caught > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_corpus),
		cmocka_unit_test(test_kasan_populate_release_race),
		cmocka_unit_test(test_set_memory_rox_silent),
		cmocka_unit_test(test_wx_surviving_a_call_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
