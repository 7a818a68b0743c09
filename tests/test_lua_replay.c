/* SPDX-License-Identifier: MIT */
/*
 * vmlab.replay_trace from Lua: every option of `vmlab replay-trace` is
 * settable and takes effect (CPUs, lazy_max_pages, the flush ceiling, the
 * execmem CPA, the divergences shown, the trace's vmalloc range, the
 * kind), and bad options raise at the scenario's line.
 */
#include <stdlib.h>

#include "helpers.h"

#include "sim/sim.h"

#ifndef FIXTURES
#define FIXTURES "tests/data/replay"
#endif

/* Runs a scenario text with the fixtures' directory as -D dir=; its
 * status, and the error message (owned) in *err. */
static enum sim_status run(const char *text, char **err)
{
	struct sim_opts o;
	sim_opts_default(&o);
	o.scenario = "lua-replay";
	o.text = text;
	o.text_len = strlen(text);
	o.quiet = true;
	o.defs[o.nr_defs++] = "dir=" FIXTURES;
	struct sim_result r;
	enum sim_status st = sim_run(&o, &r);
	*err = r.error ? strdup(r.error) : NULL;
	sim_result_free(&r);
	return st;
}

static void expect_ok(const char *text)
{
	char *err;
	enum sim_status st = run(text, &err);
	if (st != SIM_OK)
		fail_msg("status %d: %s", st, err ? err : "");
	free(err);
}

static void expect_raise(const char *text, const char *needle)
{
	char *err;
	enum sim_status st = run(text, &err);
	if (st == SIM_OK || !err || !strstr(err, needle))
		fail_msg("expected an error with '%s', got %d '%s'", needle, st,
			 err ? err : "");
	free(err);
}

static const char prelude[] =
	"local P = vmlab.params{dir = '.'}\n"
	"local function rp(name, o) return assert(vmlab.replay_trace(P.dir .. '/' .. name, o)) end\n"
	"local function note(r, s)\n"
	"  for _, n in ipairs(r.notes) do if n:find(s, 1, true) then return true end end\n"
	"  return false\n"
	"end\n";

static void test_options_take_effect(void **state)
{
	(void)state;
	static const char body[] =
		"local base = rp('vmalloc-drain.txt')\n"
		"assert(base.agreement == 1.0 and base.kind == 'vmalloc')\n"
		"assert(note(base, 'machine: 2 CPUs (#P: of the header), lazy_max_pages 16384'))\n"
		/* cpus: fls(8) * 32 MiB / 4 KiB = 32768 */
		"local c = rp('vmalloc-drain.txt', {cpus = 8})\n"
		"assert(note(c, 'machine: 8 CPUs (option), lazy_max_pages 32768'))\n"
		"assert(c.row['nr_lazy_max'].vmlab == '32768' and c.row['nr_lazy_max'].agreed == 0)\n"
		/* lazy_max_pages */
		"local l = rp('vmalloc-drain.txt', {lazy_max_pages = 4096})\n"
		"assert(l.row['nr_lazy_max'].vmlab == '4096')\n"
		/* the 16388-page purge: a full flush at 33, a range flush at
		 * 2^20 (what the kernel did is inferred with the same ceiling) */
		"local f = rp('vmalloc-drain.txt', {flush_ceiling = 1 << 20})\n"
		"local q = 'purge flush range/full (33-page ceiling)'\n"
		"assert(base.row[q].vmlab == '0/1' and f.row[q].vmlab == '1/0', f.row[q].vmlab)\n"
		"assert(f.row[q].kernel == '1/0' and f.row[q].agreed == 1)\n"
		/* execmem_cpa = false: no vm_unmap_aliases() from set_memory_rox() */
		"local e1 = rp('vmalloc-execmem.txt')\n"
		"local e0 = rp('vmalloc-execmem.txt', {execmem_cpa = false})\n"
		"assert(e1.model_purges == 2 and e0.model_purges == 1)\n"
		"assert(note(e0, '(CPA off by option)') and not note(e1, 'CPA off'))\n"
		/* divergences: how many are shown, not how many there are */
		"local d5 = rp('vmalloc-drain-kaslr.txt', {vmalloc_start = vmlab.VMALLOC_START})\n"
		"local d1 = rp('vmalloc-drain-kaslr.txt', {vmalloc_start = vmlab.VMALLOC_START, divergences = 1})\n"
		"local function shown(r) local _, n = r.table:gsub('\\n>> ', '') return n end\n"
		"assert(d5.divergences == d1.divergences and d1.divergences > 1)\n"
		"assert(shown(d1) == 1 and shown(d5) > 1, shown(d5))\n"
		/* vmalloc_start: the KASLR trace's range, found or given */
		"local k = rp('vmalloc-drain-kaslr.txt')\n"
		"local kg = rp('vmalloc-drain-kaslr.txt', {vmalloc_start = 0xffffb3a5c0000000})\n"
		"assert(k.agreement == 1.0 and kg.agreement == 1.0 and d5.agreement < 1.0)\n"
		"assert(note(kg, '0xffffb3a5c0000000 (option, KASLR)'))\n"
		/* arch: x86_64, the traces' own, is the default and the only */
		"local xa = rp('vmalloc-drain.txt', {arch = 'x86_64'})\n"
		"assert(xa.records == rp('vmalloc-drain.txt').records and xa.records > 0)\n"
		/* kind and text */
		"local t = assert(vmlab.replay_trace(nil, {text = '# mmtrace 1\\n', kind = 'mm'}) == nil)\n"
		"local r, msg = vmlab.replay_trace(nil, {text = 'x\\n', kind = 'vmalloc'})\n"
		"assert(r == nil and msg:find('text:1: not a trace record', 1, true), msg)\n";
	char *s = malloc(sizeof(prelude) + sizeof(body));
	assert_non_null(s);
	strcpy(s, prelude);
	strcat(s, body);
	expect_ok(s);
	free(s);
}

static void test_bad_options(void **state)
{
	(void)state;
	static const struct {
		const char *opts, *needle;
	} bad[] = {
		{"{cpuz = 2}", "cpuz"},
		{"{cpus = 0}", "cpus out of range"},
		{"{lazy_max_pages = -1}", "lazy_max_pages out of range"},
		{"{flush_ceiling = 0}", "flush_ceiling out of range"},
		{"{divergences = 0}", "divergences out of range"},
		{"{vmalloc_start = 0x1000}", "vmalloc_start 0x1000 is not"},
		{"{vmalloc_start = 'x'}", "number expected, got string"},
		{"{kind = 'tracefs'}", "kind 'vmalloc' or 'mm'"},
		/* The traces are x86-64 kernels': no arm64 replay. */
		{"{arch = 'arm64'}", "arch arm64: the traces replayed are x86-64"},
		{"{arch = 'sparc'}", "unknown arch"},
		{"{arch = 64}", "unknown arch"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char s[1024];
		snprintf(s, sizeof(s), "%slocal r = rp('vmalloc-drain.txt', %s)\n",
			 prelude, bad[i].opts);
		expect_raise(s, bad[i].needle);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_take_effect),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
