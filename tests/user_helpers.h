/* SPDX-License-Identifier: MIT */
/* Shared helpers for the user address-space tests. */
#ifndef VMLAB_TEST_USER_HELPERS_H
#define VMLAB_TEST_USER_HELPERS_H

#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "helpers.h"
#include "vmlab/user.h"

#define P 4096ULL
#define RW (VMLAB_PROT_READ | VMLAB_PROT_WRITE)
#define ANON (VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS)

/* A machine with the checker on and one user mm. */
struct env {
	struct vmlab_machine *m;
	struct vmlab_user_mm *mm;
};

static inline struct env t_env(int cpus)
{
	struct env e;
	e.m = t_machine(cpus, 64 * VMLAB_MiB, true);
	assert_int_equal(vmlab_user_mm_create(e.m, &e.mm), 0);
	return e;
}

/* pages of fresh private anonymous memory, each page written once. */
static inline s64 t_map_rw(struct env *e, u64 pages)
{
	s64 a = vmlab_mmap(e->mm, 0, pages * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	for (u64 i = 0; i < pages; i++)
		assert_int_equal(vmlab_user_write8(e->mm, 0, (u64)a + i * P, 1),
				 VMLAB_OK);
	return a;
}

/* Differential tests against the host need its kernel to be 6.18 or
 * later: the model follows 6.18 (pagemap's guard bit from 6.14, multi-VMA
 * mremap moves from 6.17, VM_MAYBE_GUARD from 6.18.37, ...). */
static inline bool t_host_is_6_18(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 18);
}

/* Results a forked host run writes for the parent: a shared mapping. */
static inline void *t_host_results(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

/* Wait for a forked host run that must exit 0. */
static inline void t_host_wait(pid_t pid)
{
	int st;
	assert_true(pid >= 0);
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && !WEXITSTATUS(st));
}

/* Step i of script k: the model's result r must be the expected one and
 * the host's (when host is not NULL) the same. */
static inline void t_step_agrees(int k, int i, int op, long want, long r,
				 const long *host)
{
	if (r != want || (host && *host != r))
		fprintf(stderr, "script %d step %d (op %d): want %ld, vmlab %ld, "
				"host %ld\n", k, i, op, want, r, host ? *host : 0L);
	assert_int_equal(r, want);
	if (host)
		assert_int_equal(*host, r);
}

/* The smaps line starting with key of the host VMA holding va, into
 * line; false when there is none. */
static inline bool t_host_smaps_line(u64 va, const char *key, char *line,
				     size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false, found = false;
	while (f && fgets(line, (int)n, f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx ", &s, &e) == 2 &&
		    strchr(line, ' ') - line < 40 && strncmp(line, "VmFlags", 7))
			in = s <= va && va < e;
		else if (in && !strncmp(line, key, strlen(key))) {
			found = true;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* Correct code leaves the checker silent. */
static inline void t_done(struct env *e)
{
	assert_int_equal(vmlab_nr_reports(e->m), 0);
	vmlab_user_mm_destroy(e->mm);
	vmlab_machine_destroy(e->m);
}

#endif
