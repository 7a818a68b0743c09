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

/* Run Lua text; returns the status, r must be freed by the caller. */
static enum sim_status lua(const char *text, struct sim_result *r)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "hostile";
	o.text = text;
	o.text_len = strlen(text);
	o.quiet = true;
	o.max_steps = 5000000;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmap_fixed_kernel_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
