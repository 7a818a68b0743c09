/* SPDX-License-Identifier: MIT */
/*
 * User-mm operations measured against the host: mmap + write + munmap of
 * one page, a guarded thread stack, mprotect of one page, fork of a
 * process with 1,000 touched pages.  Each benchmark times the operation on
 * vmlab's model; with `vmlab bench --compare-host` it also runs the same
 * operation, the same number of times, on the kernel of the machine
 * running vmlab, and prints both times and their ratio.  The host figures
 * are labelled host_*: they describe this machine, not the model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

#define P 4096ULL
#define STACK_PAGES 16
#define FORK_PAGES 1000
#define RW (VMLAB_PROT_READ | VMLAB_PROT_WRITE)
#define ANON (VMLAB_MAP_PRIVATE | VMLAB_MAP_ANONYMOUS)

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

static void die(const char *what, long long err)
{
	fprintf(stderr, "bench: %s failed (%lld)\n", what, err);
	exit(1);
}

/* One benchmark's model side: a machine with one user mm on CPU 0. */
struct model {
	struct vmlab_machine *m;
	struct vmlab_user_mm *mm;
};

static struct model model_new(void)
{
	struct model s = {.m = bench_boot(VMLAB_GiB, 4, false)};
	if (vmlab_user_mm_create(s.m, &s.mm))
		die("mm create", 0);
	vmlab_user_switch(s.mm, 0);
	return s;
}

static void model_free(struct model *s)
{
	vmlab_user_mm_destroy(s->mm);
	vmlab_machine_destroy(s->m);
}

typedef void (*op_fn)(void *ctx, u64 i);

static double time_ops(op_fn fn, void *ctx, u64 n)
{
	double t0 = bench_now();
	for (u64 i = 0; i < n; i++)
		fn(ctx, i);
	return (bench_now() - t0) * 1e9 / (double)n;
}

/* Print the model's ns/op and, comparing, the host's and the ratio. */
static void report(struct bench_out *o, const char *b, double model_ns,
		   op_fn host, void *host_ctx, u64 n)
{
	bench_figure(o, b, "ns_per_op", model_ns, "ns");
	if (!o->compare_host || !host)
		return;
	double host_ns = time_ops(host, host_ctx, n);
	bench_figure(o, b, "host_ns_per_op", host_ns, "ns");
	bench_figure(o, b, "host_over_vmlab", host_ns / model_ns, "x");
}

/* ------------------------------------------- mmap + write + munmap */

static void model_mmap_write(void *ctx, u64 i)
{
	struct model *s = ctx;
	s64 a = vmlab_mmap(s->mm, 0, P, RW, ANON, NULL, 0);
	if (a < 0 || vmlab_user_write8(s->mm, 0, (u64)a, (u8)i) ||
	    vmlab_munmap(s->mm, (u64)a, P))
		die("model mmap+write+munmap", a);
}

static void host_mmap_write(void *ctx, u64 i)
{
	(void)ctx;
	volatile char *p = mmap(NULL, P, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("host mmap", 0);
	p[0] = (char)i;
	munmap((void *)(uintptr_t)p, P);
}

static void bench_mmap_write(struct bench_out *o, u64 n)
{
	struct model s = model_new();
	double ns = time_ops(model_mmap_write, &s, n);
	model_free(&s);
	report(o, "user-mmap-write-4k", ns, host_mmap_write, NULL, n);
}

/* ------------------------------------------ guarded thread stack */

static void model_guard_stack(void *ctx, u64 i)
{
	struct model *s = ctx;
	const u64 len = (STACK_PAGES + 1) * P;
	s64 a = vmlab_mmap(s->mm, 0, len, RW, ANON, NULL, 0);
	(void)i;
	if (a < 0 || vmlab_madvise(s->mm, (u64)a, P, VMLAB_MADV_GUARD_INSTALL) ||
	    vmlab_munmap(s->mm, (u64)a, len))
		die("model guard stack", a);
}

static void host_guard_stack(void *ctx, u64 i)
{
	const size_t len = (STACK_PAGES + 1) * P;
	int *prot_none = ctx;
	(void)i;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("host mmap", 0);
	/* Kernels before 6.13 lack MADV_GUARD_INSTALL: PROT_NONE then. */
	if (*prot_none || madvise(p, P, MADV_GUARD_INSTALL)) {
		*prot_none = 1;
		mprotect(p, P, PROT_NONE);
	}
	munmap(p, len);
}

static void bench_guard_stack(struct bench_out *o, u64 n)
{
	struct model s = model_new();
	double ns = time_ops(model_guard_stack, &s, n);
	model_free(&s);
	int prot_none = 0;
	report(o, "user-guard-stack", ns, host_guard_stack, &prot_none, n);
	if (o->compare_host)
		bench_figure(o, "user-guard-stack", "host_used_prot_none",
			     prot_none, "");
}

/* --------------------------------------------- mprotect one page */

struct mprot {
	struct model s;
	u64 addr;
	char *host;
};

/* One op: the page read-only, then writable again (the state repeats). */
static void model_mprotect(void *ctx, u64 i)
{
	struct mprot *x = ctx;
	u64 va = x->addr + (i & 15) * P;
	if (vmlab_mprotect(x->s.mm, va, P, VMLAB_PROT_READ) ||
	    vmlab_mprotect(x->s.mm, va, P, RW))
		die("model mprotect", 0);
}

static void host_mprotect(void *ctx, u64 i)
{
	struct mprot *x = ctx;
	char *p = x->host + (i & 15) * P;
	if (mprotect(p, P, PROT_READ) || mprotect(p, P, PROT_READ | PROT_WRITE))
		die("host mprotect", 0);
}

static void bench_mprotect(struct bench_out *o, u64 n)
{
	struct mprot x = {.s = model_new()};
	s64 a = vmlab_mmap(x.s.mm, 0, 16 * P, RW, ANON | VMLAB_MAP_POPULATE,
			   NULL, 0);
	if (a < 0)
		die("model mmap", a);
	x.addr = (u64)a;
	double ns = time_ops(model_mprotect, &x, n);
	model_free(&x.s);
	x.host = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x.host == MAP_FAILED)
		die("host mmap", 0);
	report(o, "user-mprotect-1page", ns, host_mprotect, &x, n);
	munmap(x.host, 16 * P);
}

/* ------------------------------------------ fork of 1,000 pages */

struct forker {
	struct model s;
};

/* One op: fork, the child exits at once (its mm torn down). */
static void model_fork(void *ctx, u64 i)
{
	struct forker *f = ctx;
	struct vmlab_user_mm *c;
	(void)i;
	if (vmlab_fork(f->s.mm, &c))
		die("model fork", 0);
	vmlab_user_mm_destroy(c);
}

static void host_fork(void *ctx, u64 i)
{
	(void)ctx;
	(void)i;
	pid_t pid = fork();
	if (pid < 0)
		die("host fork", 0);
	if (pid == 0)
		_exit(0);
	int st;
	waitpid(pid, &st, 0);
}

static void bench_fork(struct bench_out *o, u64 n)
{
	struct forker f = {.s = model_new()};
	s64 a = vmlab_mmap(f.s.mm, 0, FORK_PAGES * P, RW, ANON, NULL, 0);
	if (a < 0)
		die("model mmap", a);
	for (u64 i = 0; i < FORK_PAGES; i++)
		if (vmlab_user_write8(f.s.mm, 0, (u64)a + i * P, 1))
			die("model touch", (long long)i);
	double ns = time_ops(model_fork, &f, n);
	model_free(&f.s);
	char *h = NULL;
	if (o->compare_host) {
		/* The host process gets the same 1,000 touched pages. */
		h = mmap(NULL, FORK_PAGES * P, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (h == MAP_FAILED)
			die("host mmap", 0);
		for (u64 i = 0; i < FORK_PAGES; i++)
			h[i * P] = 1;
	}
	report(o, "user-fork-1k", ns, host_fork, NULL, n);
	if (h)
		munmap(h, FORK_PAGES * P);
}

const struct bench bench_host[] = {
	{"user-mmap-write-4k", "mmap + write + munmap of 4 KiB (--compare-host)",
	 bench_mmap_write, 200000},
	{"user-guard-stack",
	 "mmap 16+1 pages + MADV_GUARD_INSTALL + munmap (--compare-host)",
	 bench_guard_stack, 100000},
	{"user-mprotect-1page", "mprotect 1 page RO then RW (--compare-host)",
	 bench_mprotect, 200000},
	{"user-fork-1k", "fork of 1,000 touched pages, child exits "
			 "(--compare-host)",
	 bench_fork, 2000},
};
const int bench_host_n = (int)(sizeof(bench_host) / sizeof(bench_host[0]));
