/* SPDX-License-Identifier: MIT */
/*
 * The guard-marker VMA estimate over /proc/PID/maps (include/vmlab/maps.h):
 * a synthetic layout with every case, Android's runs of two guards, bad
 * input, and the host kernel's own maps of this process before and after
 * a thread (glibc's stack guard).
 */
#include <pthread.h>
#include <stdlib.h>

#include "helpers.h"

static const char layout[] =
    /* a file mapped with an ELF alignment gap */
    "555555554000-555555556000 r--p 00000000 08:01 1234 /usr/bin/prog\n"
    "555555556000-555555558000 ---p 00002000 08:01 1234 /usr/bin/prog\n"
    "555555558000-55555555a000 rw-p 00004000 08:01 1234 /usr/bin/prog\n"
    /* a heap arena: a big PROT_NONE reservation, not a guard */
    "7f0000000000-7f0000021000 rw-p 00000000 00:00 0\n"
    "7f0000021000-7f0004000000 ---p 00000000 00:00 0\n"
    /* two thread stacks, each with a one-page guard below */
    "7f1000000000-7f1000001000 ---p 00000000 00:00 0\n"
    "7f1000001000-7f1000801000 rw-p 00000000 00:00 0\n"
    "7f1000801000-7f1000802000 ---p 00000000 00:00 0\n"
    "7f1000802000-7f1001002000 rw-p 00000000 00:00 0 [stack:42]\n"
    "not a maps line\n"
    /* an isolated PROT_NONE page: no neighbour, no guard */
    "7f2000000000-7f2000001000 ---p 00000000 00:00 0\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]";

static void test_layout(void **state)
{
	(void)state;
	struct vmlab_maps_estimate e = {0};
	assert_int_equal(
	    vmlab_maps_estimate_add(&e, layout, sizeof(layout) - 1, 0), 0);
	assert_int_equal(e.processes, 1);
	assert_int_equal(e.vmas, 11);
	assert_int_equal(e.bad_lines, 1);
	assert_int_equal(e.guards, 2);
	/* The second guard sits between two rw-p stacks. */
	assert_int_equal(e.merges, 1);
	assert_int_equal(e.file_gaps, 1);
	assert_int_equal(e.segment_gaps, 0);
	/* A larger max_guard takes the arena reservation too. */
	struct vmlab_maps_estimate big = {0};
	vmlab_maps_estimate_add(&big, layout, sizeof(layout) - 1, 1ULL << 30);
	assert_int_equal(big.guards, 3);
}

/* Android 9 (from the AOSP libprocinfo fixture, app process): bionic's
 * named stack guard, ART's protected page, the Java thread's stack; a TLS
 * block whose upper guard touches the next signal stack's guard; and the
 * linker's PROT_NONE gap between two segments of a library. */
static const char android[] =
    "704e400000-704e455000 r--s 00000000 fc:00 1 /system/fonts/x.ttf\n"
    "704e455000-704e456000 ---p 00000000 00:00 0 [anon:thread stack guard]\n"
    "704e456000-704e457000 ---p 00000000 00:00 0\n"
    "704e457000-704e553000 rw-p 00000000 00:00 0\n"
    "70629bf000-70629c0000 ---p 00000000 00:00 0 [anon:bionic TLS guard]\n"
    "70629c0000-70629c3000 rw-p 00000000 00:00 0 [anon:bionic TLS]\n"
    "70629c3000-70629c4000 ---p 00000000 00:00 0 [anon:bionic TLS guard]\n"
    "70629c4000-70629c5000 ---p 00000000 00:00 0 [anon:thread signal stack guard]\n"
    "70629c5000-70629c9000 rw-p 00000000 00:00 0 [anon:thread signal stack]\n"
    "70629c9000-70629e3000 r-xp 00000000 fc:00 2940 /system/lib64/libandroid.so\n"
    "70629e3000-70629f3000 ---p 00000000 00:00 0\n"
    "70629f3000-70629f6000 r--p 0001d000 fc:00 2940 /system/lib64/libandroid.so\n";

/* Every VMA of a run of guards is folded, not only the one that touches
 * the stack: bionic's guard below ART's page was missed before (4 of the
 * 5 guards here). */
static void test_android_runs(void **state)
{
	(void)state;
	struct vmlab_maps_estimate e = {0};
	assert_int_equal(
	    vmlab_maps_estimate_add(&e, android, sizeof(android) - 1, 0), 0);
	assert_int_equal(e.vmas, 12);
	assert_int_equal(e.guards, 5);
	/* Only the run between TLS and signal stack has RW at both ends,
	 * and their rights are the same. */
	assert_int_equal(e.merges, 1);
	assert_int_equal(e.file_gaps, 0);
	/* The linker's anonymous gap between two segments of a library. */
	assert_int_equal(e.segment_gaps, 1);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct vmlab_maps_estimate e = {0};
	assert_int_equal(vmlab_maps_estimate_add(NULL, "", 0, 0),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_maps_estimate_add(&e, NULL, 3, 0),
			 -VMLAB_EINVAL);
	static const char junk[] =
	    "ffffffffffffffffff-0 rw-p 0 0 0\n" /* 18 hex digits */
	    "2000-1000 rw-p 00000000 00:00 0\n" /* end below start */
	    "1000-2000 rwzp 00000000 00:00 0\n" /* bad perms */
	    "1000-2000 rw-p 00000000 00:00\n"   /* no inode */
	    "1000-2000 ---p\n"
	    "\n\n-";
	assert_int_equal(vmlab_maps_estimate_add(&e, junk, sizeof(junk) - 1, 0),
			 0);
	assert_int_equal(e.vmas, 0);
	assert_int_equal(e.bad_lines, 6);
	assert_int_equal(e.guards, 0);
}

static u64 self_guards(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct vmlab_maps_estimate e = {0};
	assert_int_equal(vmlab_maps_estimate_add(&e, buf, n, 0), 0);
	assert_true(e.vmas > 0);
	return e.guards;
}

static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

static void *park(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hold);
	pthread_mutex_unlock(&hold);
	return NULL;
}

/* The host kernel: a glibc thread's stack comes with a PROT_NONE guard
 * page right below it, which the estimate must find. */
static void test_host_thread_guard(void **state)
{
	(void)state;
	u64 before = self_guards();
	pthread_t t;
	pthread_mutex_lock(&hold);
	assert_int_equal(pthread_create(&t, NULL, park, NULL), 0);
	u64 during = self_guards();
	pthread_mutex_unlock(&hold);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(during, before + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_android_runs),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_host_thread_guard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
