/* SPDX-License-Identifier: MIT */
/* Lua scenarios through the runner: determinism of every built-in, the
 * planted race found and replayed, bad scenarios, figures, traces. */
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

#include "sim/sim.h"

static enum sim_status run_text(const char *name, const char *text,
				struct sim_result *r, const char *const *defs,
				int nr_defs)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = name;
	o.text = text;
	o.text_len = strlen(text);
	o.quiet = true;
	o.max_steps = 2000000;
	for (int i = 0; i < nr_defs; i++)
		o.defs[o.nr_defs++] = defs[i];
	return sim_run(&o, r);
}

/* The whole result as JSON text, for comparisons. */
static char *json_of(const struct sim_result *r, const struct sim_opts *o)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	assert_non_null(f);
	sim_print_json(r, o, f);
	fclose(f);
	return s;
}

static char *run_builtin(const char *name, u64 seed,
			 enum vmlab_sched_policy p, u64 *hash)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = name;
	o.seed = seed;
	o.policy = p;
	o.quiet = true;
	struct sim_result r;
	sim_run(&o, &r);
	assert_int_not_equal(r.status, SIM_USAGE);
	*hash = r.hash;
	char *s = json_of(&r, &o);
	sim_result_free(&r);
	return s;
}

static void test_builtins_deterministic(void **state)
{
	(void)state;
	assert_true(sim_nr_builtins >= 3);
	for (int i = 0; i < sim_nr_builtins; i++) {
		u64 h1, h2;
		char *a = run_builtin(sim_builtins[i].name, 1, VMLAB_SCHED_RANDOM,
				      &h1);
		char *b = run_builtin(sim_builtins[i].name, 1, VMLAB_SCHED_RANDOM,
				      &h2);
		assert_int_equal(h1, h2);
		assert_string_equal(a, b);
		free(a);
		free(b);
		a = run_builtin(sim_builtins[i].name, 3, VMLAB_SCHED_PCT, &h1);
		b = run_builtin(sim_builtins[i].name, 3, VMLAB_SCHED_PCT, &h2);
		assert_int_equal(h1, h2);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

/* Scenarios with programs on several CPUs interleave differently. */
static void test_seeds_interleave_differently(void **state)
{
	(void)state;
	const char *concurrent[] = {"race", "direct-map-splits"};
	for (size_t i = 0; i < 2; i++) {
		u64 h[4];
		for (u64 s = 0; s < 4; s++)
			free(run_builtin(concurrent[i], s + 1, VMLAB_SCHED_RANDOM,
					 &h[s]));
		int distinct = 0;
		for (int a = 0; a < 4; a++) {
			bool seen = false;
			for (int b = 0; b < a; b++)
				seen |= h[a] == h[b];
			distinct += !seen;
		}
		assert_true(distinct >= 2);
	}
}

/* explore's budget for the planted race: PCT finds it within 50 seeds;
 * the failing seed replays to the same reports, byte for byte. */
static void test_explore_and_replay_race(void **state)
{
	(void)state;
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "race";
	o.policy = VMLAB_SCHED_PCT;
	o.quiet = true;
	o.pct_steps = sim_calibrate(&o);
	assert_true(o.pct_steps > 10);
	struct sim_result r;
	u64 found = 0;
	for (u64 s = 1; s <= 50 && !found; s++) {
		o.seed = s;
		if (sim_run(&o, &r) == SIM_FAIL)
			found = s;
		else
			sim_result_free(&r);
	}
	assert_true(found > 0);
	assert_true(r.nr_reports > 0);
	/* replay: a fresh run of that seed, k recalibrated as replay does */
	struct sim_opts p = o;
	p.pct_steps = 0;
	struct sim_result again;
	assert_int_equal(sim_run(&p, &again), SIM_FAIL);
	assert_int_equal(again.pct_steps, o.pct_steps);
	assert_int_equal(again.nr_reports, r.nr_reports);
	for (size_t i = 0; i < r.nr_reports; i++)
		assert_string_equal(again.reports[i].text, r.reports[i].text);
	assert_int_equal(again.hash, r.hash);
	sim_result_free(&again);
	sim_result_free(&r);
	/* With the flush, PCT finds no use-after-free in the same budget. */
	const char *flush = "flush=true";
	o.defs[0] = flush;
	o.nr_defs = 1;
	o.pct_steps = sim_calibrate(&o);
	for (u64 s = 1; s <= 50; s++) {
		o.seed = s;
		sim_run(&o, &r);
		for (size_t i = 0; i < r.nr_reports; i++)
			assert_string_not_equal(r.reports[i].check,
						"freed-frame-reachable");
		sim_result_free(&r);
	}
}

struct bad {
	const char *text;
	const char *defs[2];
	enum sim_status status;
	const char *message;
};

static const struct bad bad_inputs[] = {
	{"local x = = 1\n", {NULL}, SIM_USAGE, "bad.lua:1:"},
	{"local m = vmlab.machine{}\nm:map('x', 1, 1)\n", {NULL}, SIM_FAIL,
	 "bad.lua:2: bad argument #1 to 'map'"},
	{"local m = vmlab.machine{cpus = 'four'}\n", {NULL}, SIM_FAIL,
	 "bad.lua:1: vmlab.machine: 'cpus' must be an integer"},
	/* a misspelt option is a usage error, as an unknown -D is */
	{"local m = vmlab.machine{bogus = 1}\n", {NULL}, SIM_USAGE,
	 "unknown option 'bogus'"},
	{"local m = vmlab.machine{cpu = 2}\n", {NULL}, SIM_USAGE,
	 "unknown option 'cpu', did you mean 'cpus'?"},
	{"while true do end\n", {NULL}, SIM_FAIL, "bad.lua:1: step budget"},
	{"local m = vmlab.machine{cpus = 2}\n"
	 "m:run{[0] = function(c) while true do end end,\n"
	 "      [1] = function(c) c:read64(vmlab.PAGE_OFFSET) end}\n",
	 {NULL}, SIM_FAIL, "step budget exceeded"},
	{"local m = vmlab.machine{cpus = 2}\n"
	 "m:run{[1] = function(c) assert(false, 'boom') end}\n",
	 {NULL}, SIM_FAIL, "bad.lua:2: boom (in CPU 1's program)"},
	{"local m = vmlab.machine{cpus = 2}\nm:run{[5] = print}\n", {NULL},
	 SIM_FAIL, "run: expected {[cpu] = function"},
	{"local m = vmlab.machine{cpus = 2}\n"
	 "m:run{[0] = function() m:cpu(1):read64(0) end}\n",
	 {NULL}, SIM_FAIL, "a CPU acts only on itself"},
	{"local P = vmlab.params{n = 1}\n", {"m=2"}, SIM_USAGE,
	 "unknown parameter 'm' (this scenario has: n)"},
	{"local P = vmlab.params{n = 1}\n", {"n=two"}, SIM_USAGE,
	 "-D n=two: not an integer"},
	{"local m = vmlab.machine{}\n", {"n=2"}, SIM_USAGE,
	 "declares no parameters"},
	{"vmlab.result{x = {}}\n", {NULL}, SIM_FAIL, "numbers, booleans"},
	{"local m = vmlab.machine{expect = 'stale-access'}\n", {NULL}, SIM_FAIL,
	 "should show stale-access"},
	{"local m = vmlab.machine{expect = 'no-such-check'}\n", {NULL},
	 SIM_FAIL, "unknown check"},
	{"local m = vmlab.machine{memory = '1K'}\n", {NULL}, SIM_FAIL,
	 "boot failed"},
	{"local m = vmlab.machine{}\nm:map(1, 1, 1)\n", {NULL}, SIM_FAIL,
	 "map(1, 1, 1): EINVAL"},
	{"error({})\n", {NULL}, SIM_FAIL, "bad.lua:1: (error object is a table"},
	/* An option of the other architecture is refused by name. */
	{"local m = vmlab.machine{arch = 'arm64', pcid = false}\n", {NULL},
	 SIM_USAGE, "'pcid' is an x86_64-only option (this machine is arm64)"},
	{"local m = vmlab.machine{arch = 'arm64', flush_ceiling = 64}\n",
	 {NULL}, SIM_USAGE, "'flush_ceiling' is an x86_64-only option"},
	{"local m = vmlab.machine{asid_bits = 8}\n", {NULL}, SIM_USAGE,
	 "'asid_bits' is an arm64-only option (this machine is x86_64)"},
	{"local m = vmlab.machine{arch = 'x86_64', hw_afdbm = false}\n",
	 {NULL}, SIM_USAGE, "'hw_afdbm' is an arm64-only option"},
	{"local m = vmlab.machine{rodata_full = false}\n", {NULL}, SIM_USAGE,
	 "'rodata_full' is an arm64-only option"},
	{"local m = vmlab.machine{arch = 'sparc'}\n", {NULL}, SIM_USAGE,
	 "sparc"},
};

static void test_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		const struct bad *b = &bad_inputs[i];
		struct sim_result r;
		int nd = b->defs[0] ? 1 : 0;
		enum sim_status st = run_text("bad.lua", b->text, &r, b->defs, nd);
		if (st != b->status || !r.error || !strstr(r.error, b->message))
			fail_msg("case %zu: status %d, error '%s', expected %d '%s'",
				 i, st, r.error ? r.error : "(none)", b->status,
				 b->message);
		sim_result_free(&r);
	}
	/* A missing file and a missing built-in. */
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "/nonexistent/file.lua";
	struct sim_result r;
	assert_int_equal(sim_run(&o, &r), SIM_USAGE);
	assert_non_null(strstr(r.error, "no scenario"));
	sim_result_free(&r);
}

static void test_figures_order_and_types(void **state)
{
	(void)state;
	const char *text =
		"vmlab.result{b = 1, a = 2.5, c = true}\n"
		"vmlab.result('two', {{'z', 'zz'}, {'y', 3}, x = false})\n"
		"print('hello', {}, nil)\n";
	struct sim_result r;
	assert_int_equal(run_text("fig", text, &r, NULL, 0), SIM_OK);
	assert_int_equal(r.nr_columns, 2);
	assert_string_equal(r.columns[0], "value");
	assert_string_equal(r.columns[1], "two");
	const char *rows[] = {"a", "b", "c", "z", "y", "x"};
	assert_int_equal(r.nr_rows, 6);
	for (int i = 0; i < 6; i++)
		assert_string_equal(r.rows[i].name, rows[i]);
	assert_int_equal(r.rows[0].v[0].type, SV_NUM);
	assert_int_equal(r.rows[1].v[0].type, SV_INT);
	assert_int_equal(r.rows[2].v[0].type, SV_BOOL);
	assert_int_equal(r.rows[3].v[1].type, SV_STR);
	assert_int_equal(r.rows[3].v[0].type, SV_NONE);
	/* print() is collected; a table prints without its host address */
	assert_non_null(r.output);
	assert_string_equal(r.output, "hello\ttable\tnil\n");
	sim_result_free(&r);
}

/* math.random is seeded by the run seed; randomseed() stays seeded. */
static void test_math_random_seeded(void **state)
{
	(void)state;
	const char *text = "math.randomseed()\n"
			   "vmlab.result{r = math.random(1 << 40)}\n";
	struct sim_result a, b;
	run_text("rnd", text, &a, NULL, 0);
	run_text("rnd", text, &b, NULL, 0);
	assert_int_equal(a.rows[0].v[0].i, b.rows[0].v[0].i);
	sim_result_free(&a);
	sim_result_free(&b);
}

static void test_vmalloc_binding(void **state)
{
	(void)state;
	const char *text =
		"local m = vmlab.machine{cpus = 2, memory = '256M'}\n"
		"local a = m:vmalloc(3 * vmlab.PAGE_SIZE)\n"
		"assert(a and m:find_vm_area(a).nr_pages == 3)\n"
		"assert(m:write64(a, 42) and m:read64(a) == 42)\n"
		"m:run{[0] = function(c) c:vfree(a) end,\n"
		"      [1] = function(c) c:vm_unmap_aliases() end}\n"
		"vmlab.result{lazy = m:vmalloc_stats().lazy_pages}\n";
	struct sim_result r;
	enum sim_status st = run_text("vm", text, &r, NULL, 0);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "reports");
	sim_result_free(&r);
}

/* Deferred work outside m:run: the kworker runs it as the queuing
 * operation returns (vfree_atomic, the ROX cache clean-up), the same way
 * every run; kworker = false leaves it to run_work(). */
static void test_kworker_outside_run(void **state)
{
	(void)state;
	const char *text =
		"local P = vmlab.params{kworker = true}\n"
		"local m = vmlab.machine{cpus = 2, memory = '256M',\n"
		"                        kworker = P.kworker}\n"
		"local c = m:cpu(1)\n"
		"local a = c:vmalloc(4096)\n"
		"c:vfree_atomic(a)\n"
		"local w = m:work_stats()\n"
		"assert(w.kworker == P.kworker and w.queued == 1)\n"
		"if P.kworker then\n"
		"  assert(w.ran == 1 and w.pending == 0 and not m:find_vm_area(a))\n"
		"else\n"
		"  assert(w.ran == 0 and m:pending_work() == 1 and m:find_vm_area(a))\n"
		"  assert(c:run_work() == 1 and not m:find_vm_area(a))\n"
		"end\n"
		"m:execmem_setup{allocator = 'rox-cache'}\n"
		"local t = assert(c:execmem_alloc('module-text', 4096))\n"
		"assert(c:execmem_free(t))\n"
		"if not P.kworker then assert(c:run_work() == 1) end\n"
		"w = m:work_stats()\n"
		"assert(w.pending == 0 and w.ran == w.queued and w.queued == 2, w.queued)\n"
		"vmlab.result{ran = w.ran}\n";
	static const char *const off[] = {"kworker=false"};
	u64 hash[2];
	for (int i = 0; i < 3; i++) {
		struct sim_result r;
		enum sim_status st = run_text("kw", text, &r, off, i == 2);
		if (st != SIM_OK)
			fail_msg("%s", r.error ? r.error : "reports");
		if (i < 2)
			hash[i] = r.hash;
		sim_result_free(&r);
	}
	assert_true(hash[0] == hash[1]); /* the same work at the same points */
}

/* The user-mm binding: syscalls, errno-style failures, signals, fork. */
static void test_user_binding(void **state)
{
	(void)state;
	const char *text =
		"local m = vmlab.machine{cpus = 2, memory = '256M'}\n"
		"local P = vmlab.PAGE_SIZE\n"
		"local mm = m:user_mm()\n"
		"local a = assert(mm:mmap{len = 4 * P, prot = 'rw',\n"
		"                         flags = {'private', 'anonymous'}})\n"
		"assert(m:user_write(mm, a, 'hi') == true)\n"
		"assert(m:user_read(mm, a, 2) == 'hi')\n"
		"local v, e = mm:munmap(a + 1, P)\n"
		"assert(v == nil and e == 'EINVAL', e)\n"
		"v, e = mm:madvise(a, P, 'guard_install')\n"
		"assert(v == true and mm:pagemap(a).guard)\n"
		"local s, sig, va = m:cpu(1):user_read(mm, a, 1)\n"
		"assert(s == nil and sig == 'SIGSEGV' and va == a)\n"
		"assert(mm:vma_count() == 1 and mm:maps():find('rw%-p'))\n"
		"assert(mm:mprotect(a + P, P, 'r'))\n"
		"assert(mm:vma_count() == 3)\n"
		"local _, s2 = m:user_write(mm, a + P, 'x')\n"
		"assert(s2 == 'SIGSEGV')\n"
		"local c = assert(mm:fork())\n"
		"assert(c:pagemap(a).guard and c:vma_count() == 3)\n"
		"m:run{[0] = function(k) assert(k:user_read(mm, a + 2 * P, 1))\n"
		"                        assert(mm:fork()) end,\n"
		"      [1] = function(k) assert(c:fork())\n"
		"                        assert(c:madvise(a, P, 'guard_remove'))\n"
		"                        assert(c:cpu() == 1) end}\n"
		"assert(not c:pagemap(a).guard and mm:pagemap(a).guard)\n"
		"local r = assert(mm:mremap(a + 3 * P, P, 2 * P, {'maymove'}))\n"
		"assert(#mm:guard_scan(0, 1 << 47) == 1)\n"
		"c:close()\n"
		"assert(not pcall(c.vma_count, c))\n"
		"m:user_mm()  -- never closed: freed with the machine\n"
		"collectgarbage()\n"
		"vmlab.result{vmas = mm:vma_count(), segv = mm:stats().sigsegv,\n"
		"             r = r ~= nil}\n";
	struct sim_result r;
	enum sim_status st = run_text("user", text, &r, NULL, 0);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "reports");
	assert_int_equal(r.nr_rows, 3);
	assert_string_equal(r.rows[1].name, "segv");
	assert_int_equal(r.rows[1].v[0].i, 2);
	sim_result_free(&r);
}

/* mm:mlockall / mm:munlockall, and smaps Rss without the zero page */
static void test_user_mlockall_binding(void **state)
{
	(void)state;
	const char *text =
		"local m = vmlab.machine{cpus = 1, memory = '64M'}\n"
		"local P = vmlab.PAGE_SIZE\n"
		"local mm = m:user_mm()\n"
		"local a = assert(mm:mmap{len = 2 * P, prot = 'rw',\n"
		"                         flags = {'private', 'anonymous'}})\n"
		"assert(m:user_read(mm, a, 1) == '\\0')\n"
		"assert(mm:smaps():find('Rss: +0 kB'))\n"
		"local v, e = mm:mlockall{'onfault'}\n"
		"assert(v == nil and e == 'EINVAL', e)\n"
		"assert(not pcall(mm.mlockall, mm, {'bogus'}))\n"
		"assert(mm:mlockall{'current', 'future'})\n"
		"assert(mm:smaps():find('Rss: +8 kB'))\n"
		"assert(mm:smaps():find('VmFlags:[^\\n]* lo'))\n"
		"assert(mm:munlockall())\n"
		"assert(not mm:smaps():find('VmFlags:[^\\n]* lo'))\n"
		"vmlab.result{ok = 1}\n";
	struct sim_result r;
	enum sim_status st = run_text("mlockall", text, &r, NULL, 0);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "reports");
	assert_int_equal(r.nr_rows, 1);
	sim_result_free(&r);
}

static void test_mthp_binding(void **state)
{
	(void)state;
	const char *text =
		"local m = vmlab.machine{cpus = 1, memory = '64M'}\n"
		"assert(m:mthp_enabled(65536) == 'never')\n"
		"assert(m:mthp_enabled(2 * 1024 * 1024) == 'inherit')\n"
		"assert(m:mthp_enabled(65536, 'always') == 'always')\n"
		"assert(not pcall(m.mthp_enabled, m, 8192))\n"
		"assert(not pcall(m.mthp_enabled, m, 65536, 'bogus'))\n"
		"local mm = m:user_mm()\n"
		"local a = assert(mm:mmap{len = 1 << 20, prot = 'rw',\n"
		"                         flags = {'private', 'anonymous'}})\n"
		"local b = (a + 0xffff) & ~0xffff\n"
		"assert(m:user_write(mm, b + 0x3000, 'x'))\n"
		"assert(mm:pagemap(b).present and mm:pagemap(b + 0xf000).present)\n"
		"assert(not mm:pagemap(b + 0x10000).present)\n"
		"assert(m:mthp_stats(65536).anon_fault_alloc == 1)\n"
		"assert(mm:smaps():find('Rss: +64 kB'))\n"
		"assert(m:deferred_split_scan() == 0)\n"
		"vmlab.result{ok = 1}\n";
	struct sim_result r;
	enum sim_status st = run_text("mthp", text, &r, NULL, 0);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "reports");
	assert_int_equal(r.nr_rows, 1);
	sim_result_free(&r);
}

static void test_user_pmadvise_binding(void **state)
{
	(void)state;
	const char *text =
		"local m = vmlab.machine{cpus = 1, memory = '64M'}\n"
		"local P = vmlab.PAGE_SIZE\n"
		"local mm = m:user_mm()\n"
		"local a = assert(mm:mmap{len = 8 * P, prot = 'rw',\n"
		"                         flags = {'private', 'anonymous'}})\n"
		"assert(mm:process_madvise({{a, P}, {a + 2 * P, P}},\n"
		"                          'guard_install') == 2 * P)\n"
		"assert(mm:pagemap(a + 2 * P).guard)\n"
		"assert(mm:smaps():find('VmFlags:[^\\n]* gu'))\n"
		"local n, e = mm:process_madvise({{a, P}, {a + 1, P}}, 'guard_remove')\n"
		"assert(n == P, e)\n"
		"local child = assert(mm:fork())\n"
		"local fd = assert(mm:pidfd_open(child:pid(), 'nonblock'))\n"
		"assert(fd == 3)\n"
		"local v, err = mm:process_madvise({{a, P}}, 'guard_install', fd)\n"
		"assert(v == nil and err == 'EINVAL', err)\n"
		"v, err = mm:process_madvise({{a, P}}, 'pageout', fd)\n"
		"assert(v == nil and err == 'EPERM', err)\n"
		"assert(mm:set_caps('sys_nice'))\n"
		"assert(mm:process_madvise({{a, P}}, 'cold', fd) == P)\n"
		"child:close()\n"
		"v, err = mm:process_madvise({{a, P}}, 'cold', fd)\n"
		"assert(v == nil and err == 'ESRCH', err)\n"
		"assert(mm:close_fd(fd))\n"
		"v, err = mm:close_fd(fd)\n"
		"assert(v == nil and err == 'EBADF', err)\n"
		"v, err = mm:pidfd_open(999999)\n"
		"assert(v == nil and err == 'ESRCH', err)\n"
		"local d = assert(mm:mmap{len = 2 * P, prot = 'rw',\n"
		"                         flags = {'droppable', 'anonymous'}})\n"
		"assert(mm:smaps():find('VmFlags: rd wr mr mw me nr wf dd dp'))\n"
		"assert(mm:madvise(d, P, 'keeponfork') == nil)\n"
		"vmlab.result{ok = 1}\n";
	struct sim_result r;
	enum sim_status st = run_text("pmadvise", text, &r, NULL, 0);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "reports");
	assert_int_equal(r.nr_rows, 1);
	sim_result_free(&r);
}

/* m:open / m:memfd / m:unlink and the file handles, through
 * mm:mmap{file =}: errno-style results as the C API's. */
static void test_file_binding(void **state)
{
	(void)state;
	const char *text =
		"local m = vmlab.machine{cpus = 2, memory = '64M', checker = true}\n"
		"local P = vmlab.PAGE_SIZE\n"
		"local mm = assert(m:user_mm())\n"
		"local v, err = m:open('/d')\n"
		"assert(v == nil and err == 'ENOENT', err)\n"
		"local w = assert(m:open('/d', 'rdwr|creat'))\n"
		"assert(w:mode() == 'rw')\n"
		"v, err = m:open('/d', 'creat|excl')\n"
		"assert(v == nil and err == 'EEXIST', err)\n"
		"assert(w:pwrite(string.rep('z', 3 * P), 0) == 3 * P)\n"
		"local r <close> = assert(m:open('/d'))\n"
		"assert(r:mode() == 'r' and r:size() == 3 * P)\n"
		"v, err = r:pwrite('x', 0)\n"
		"assert(v == nil and err == 'EBADF', err)\n"
		"v, err = r:truncate(0)\n"
		"assert(v == nil and err == 'EINVAL', err)\n"
		"v, err = mm:mmap{len = 4 * P, prot = 'rw', file = r}\n"
		"assert(v == nil and err == 'EACCES', err)\n"
		"local a = assert(mm:mmap{len = 4 * P, prot = 'r', file = r})\n"
		"v, err = mm:mprotect(a, 4 * P, 'rw')\n"
		"assert(v == nil and err == 'EACCES', err)\n"
		"assert(m:user_read(mm, a + P, 1) == 'z')\n"
		"assert(mm:stats().rss_file == 3, 'fault-around up to EOF')\n"
		"local _, sig = m:user_read(mm, a + 3 * P, 1)\n"
		"assert(sig == 'SIGBUS', sig)\n"
		"local pa = assert(mm:mmap{len = P, prot = 'rw', flags = {'private'},\n"
		"                          file = r, offset = P})\n"
		"assert(m:user_write(mm, pa, 'q'))\n"
		"assert(r:pread(2, P) == 'zz')\n"
		"assert(w:punch_hole(0, P))\n"
		"assert(m:user_read(mm, a, 1) == '\\0')\n"
		"v, err = w:seals()\n"
		"assert(v == nil and err == 'EINVAL', err)\n"
		"assert(m:unlink('/d'))\n"
		"assert(mm:maps():find('/d %(deleted%)'))\n"
		"local mf = assert(m:memfd('buf', 'allow_sealing'))\n"
		"assert(mf:truncate(P))\n"
		"assert(mf:add_seals('write|grow'))\n"
		"assert(mf:seals() == 12)\n"
		"v, err = mm:mmap{len = P, prot = 'rw', file = mf}\n"
		"assert(v == nil and err == 'EPERM', err)\n"
		"mf:close()\n"
		"assert(not pcall(mf.size, mf), 'closed')\n"
		"local m2 = vmlab.machine{}\n"
		"local mm2 = assert(m2:user_mm())\n"
		"assert(not pcall(mm2.mmap, mm2, {len = P, file = w}))\n"
		"local kept = assert(m2:open('/k', 'rdwr|creat'))\n"
		"m2:destroy()\n"
		"assert(not pcall(kept.size, kept), 'machine gone')\n"
		"kept = nil; collectgarbage()\n"
		"vmlab.result{ok = 1}\n";
	struct sim_result r;
	enum sim_status st = run_text("file", text, &r, NULL, 0);
	if (st != SIM_OK)
		fail_msg("%s", r.error ? r.error : "reports");
	assert_int_equal(r.nr_rows, 1);
	sim_result_free(&r);
}

static const struct bad user_bad[] = {
	{"local m = vmlab.machine{}\nlocal mm = m:user_mm()\n"
	 "mm:munmap('x', 1)\n",
	 {NULL}, SIM_FAIL, "user.lua:3: bad argument #1 to 'munmap'"},
	{"local m = vmlab.machine{}\nlocal mm = m:user_mm()\n"
	 "mm:mmap{len = 4096, flags = {'private', 'bogus'}}\n",
	 {NULL}, SIM_FAIL, "user.lua:3: bad argument"},
	{"local m = vmlab.machine{}\nm:user_read({}, 0, 1)\n",
	 {NULL}, SIM_FAIL, "user.lua:2: bad argument #1 to 'user_read'"},
	{"local m = vmlab.machine{}\nlocal mm = m:user_mm()\n"
	 "m:run{[0] = function() mm:close() end}\n",
	 {NULL}, SIM_FAIL, "close not inside a CPU program"},
	{"local m = vmlab.machine{}\nlocal mm = m:user_mm()\nm:destroy()\n"
	 "mm:vma_count()\n",
	 {NULL}, SIM_FAIL, "user.lua:4: user mm: machine 'machine 1' was "
			   "destroyed"},
};

static void test_user_bad_inputs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(user_bad) / sizeof(user_bad[0]); i++) {
		const struct bad *b = &user_bad[i];
		struct sim_result r;
		enum sim_status st = run_text("user.lua", b->text, &r, NULL, 0);
		if (st != b->status || !r.error || !strstr(r.error, b->message))
			fail_msg("case %zu: status %d, error '%s', expected %d '%s'",
				 i, st, r.error ? r.error : "(none)", b->status,
				 b->message);
		sim_result_free(&r);
	}
}

static void test_trace_deterministic(void **state)
{
	(void)state;
	char p1[] = "/tmp/vmlab-trace-XXXXXX", p2[] = "/tmp/vmlab-trace-XXXXXX";
	int f1 = mkstemp(p1), f2 = mkstemp(p2);
	assert_true(f1 >= 0 && f2 >= 0);
	close(f1);
	close(f2);
	const char *paths[] = {p1, p2};
	for (int i = 0; i < 2; i++) {
		struct sim_opts o;
		sim_opts_default(&o);
		o.scenario = "stale-tlb";
		o.trace = paths[i];
		o.quiet = true;
		struct sim_result r;
		assert_int_equal(sim_run(&o, &r), SIM_OK);
		sim_result_free(&r);
	}
	char *text[2];
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(paths[i], "r");
		assert_non_null(f);
		text[i] = calloc(1, 1 << 20);
		assert_true(fread(text[i], 1, (1 << 20) - 1, f) > 0);
		fclose(f);
		unlink(paths[i]);
	}
	assert_string_equal(text[0], text[1]);
	assert_non_null(strstr(text[0], "\"traceEvents\""));
	assert_non_null(strstr(text[0], "IPI from CPU 0"));
	assert_non_null(strstr(text[0], "checker: stale-access"));
	free(text[0]);
	free(text[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins_deterministic),
		cmocka_unit_test(test_seeds_interleave_differently),
		cmocka_unit_test(test_explore_and_replay_race),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_figures_order_and_types),
		cmocka_unit_test(test_math_random_seeded),
		cmocka_unit_test(test_vmalloc_binding),
		cmocka_unit_test(test_kworker_outside_run),
		cmocka_unit_test(test_user_binding),
		cmocka_unit_test(test_user_mlockall_binding),
		cmocka_unit_test(test_mthp_binding),
		cmocka_unit_test(test_user_pmadvise_binding),
		cmocka_unit_test(test_file_binding),
		cmocka_unit_test(test_user_bad_inputs),
		cmocka_unit_test(test_trace_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
