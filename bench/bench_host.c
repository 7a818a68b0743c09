/* SPDX-License-Identifier: MIT */
/*
 * User-mm operations measured against the host: mmap + write + munmap of
 * one page, mmap + munmap, a first-write anonymous fault (and the same
 * fault under mmap_lock, model only), a guarded thread stack, mprotect of
 * one page, fork of a process with 1,000 touched pages.  Each benchmark times the operation on
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

/* ------------------------------------------------- mmap + munmap */

static void model_mmap_munmap(void *ctx, u64 i)
{
	struct model *s = ctx;
	(void)i;
	s64 a = vmlab_mmap(s->mm, 0, P, RW, ANON, NULL, 0);
	if (a < 0 || vmlab_munmap(s->mm, (u64)a, P))
		die("model mmap+munmap", a);
}

static void host_mmap_munmap(void *ctx, u64 i)
{
	(void)ctx;
	(void)i;
	void *p = mmap(NULL, P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("host mmap", 0);
	munmap(p, P);
}

static void bench_mmap_munmap(struct bench_out *o, u64 n)
{
	struct model s = model_new();
	double ns = time_ops(model_mmap_munmap, &s, n);
	model_free(&s);
	report(o, "user-mmap-munmap", ns, host_mmap_munmap, NULL, n);
}

/* ------------------------------------------ anonymous write fault */

#define FAULT_CHUNK 16384ULL /* pages: 64 MiB mapped at a time */

/* The timed part alone, out of line: bench/callgrind.py counts only
 * inside it (--toggle-collect), so mmap and munmap stay out of the
 * per-fault figure.  One write fault per page of [a, a + pages * P). */
__attribute__((noinline)) static void
bench_fault_touch(struct vmlab_user_mm *mm, u64 a, u64 pages)
{
	for (u64 i = 0; i < pages; i++)
		if (vmlab_user_write8(mm, 0, a + i * P, 1))
			die("model write fault", (long long)i);
}

/* n first-write faults on private anonymous pages (no THP: the model's
 * default and MADV_NOHUGEPAGE on the host); per_vma_lock false is
 * CONFIG_PER_VMA_LOCK=n, every fault under mmap_lock. */
static double model_faults(u64 n, bool per_vma_lock)
{
	struct model s = model_new();
	if (vmlab_user_set_per_vma_lock(s.m, per_vma_lock))
		die("set_per_vma_lock", 0);
	/* Steady state: the frames the faults get were used and freed
	 * before, as a running system's are (the model's first store to a
	 * frame never written also allocates its host page). */
	u64 warm = n < FAULT_CHUNK ? n : FAULT_CHUNK;
	s64 w = vmlab_mmap(s.mm, 0, warm * P, RW, ANON, NULL, 0);
	for (u64 i = 0; w >= 0 && i < warm; i++)
		if (vmlab_user_write8(s.mm, 0, (u64)w + i * P, 1))
			die("model warm-up write", (long long)i);
	if (w < 0 || vmlab_munmap(s.mm, (u64)w, warm * P))
		die("model warm-up", w);
	struct vmlab_user_stats st0;
	vmlab_user_stats(s.mm, &st0);
	double busy = 0;
	for (u64 done = 0; done < n;) {
		u64 pages = n - done < FAULT_CHUNK ? n - done : FAULT_CHUNK;
		s64 a = vmlab_mmap(s.mm, 0, pages * P, RW, ANON, NULL, 0);
		if (a < 0)
			die("model mmap", a);
		double t0 = bench_now();
		bench_fault_touch(s.mm, (u64)a, pages);
		busy += bench_now() - t0;
		if (vmlab_munmap(s.mm, (u64)a, pages * P))
			die("model munmap", 0);
		done += pages;
	}
	struct vmlab_user_stats st;
	vmlab_user_stats(s.mm, &st);
	/* The path asked for, every time. */
	if (st.fault_anon - st0.fault_anon != n ||
	    st.vma_lock_success - st0.vma_lock_success !=
		    (per_vma_lock ? n : 0))
		die("fault path", (long long)st.vma_lock_success);
	model_free(&s);
	return busy * 1e9 / (double)n;
}

static double host_faults(u64 n)
{
	double busy = 0;
	for (u64 done = 0; done < n;) {
		u64 pages = n - done < FAULT_CHUNK ? n - done : FAULT_CHUNK;
		volatile char *p = mmap(NULL, pages * P, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			die("host mmap", 0);
		madvise((void *)(uintptr_t)p, pages * P, MADV_NOHUGEPAGE);
		double t0 = bench_now();
		for (u64 i = 0; i < pages; i++)
			p[i * P] = 1;
		busy += bench_now() - t0;
		munmap((void *)(uintptr_t)p, pages * P);
		done += pages;
	}
	return busy * 1e9 / (double)n;
}

static void bench_fault(struct bench_out *o, u64 n)
{
	const char *b = "user-fault-anon";
	double ns = model_faults(n, true);
	bench_figure(o, b, "ns_per_op", ns, "ns");
	if (!o->compare_host)
		return;
	double host_ns = host_faults(n);
	bench_figure(o, b, "host_ns_per_op", host_ns, "ns");
	bench_figure(o, b, "host_over_vmlab", host_ns / ns, "x");
}

/* The same faults with CONFIG_PER_VMA_LOCK off: lock_mm_and_find_vma(). */
static void bench_fault_mmap_lock(struct bench_out *o, u64 n)
{
	bench_figure(o, "user-fault-mmap-lock", "ns_per_op",
		     model_faults(n, false), "ns");
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
	{"user-mmap-munmap", "mmap + munmap of 4 KiB, never touched "
			     "(--compare-host)",
	 bench_mmap_munmap, 200000},
	{"user-fault-anon", "first-write fault of an anonymous page, per-VMA "
			    "lock path (--compare-host)",
	 bench_fault, 1u << 18},
	{"user-fault-mmap-lock", "the same faults under mmap_lock "
				 "(CONFIG_PER_VMA_LOCK off)",
	 bench_fault_mmap_lock, 1u << 18},
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
