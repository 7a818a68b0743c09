/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of trace replay: a generated tracefs vmalloc/tlb trace and a
 * generated mmtrace of `iterations` records each (100,000 by default),
 * parsed and replayed as `vmlab replay-trace` does.  The generators
 * follow the kernel's rules (lazy frees counted in pages, the drain past
 * lazy_max_pages, top-down placement below mmap_base), so the replay
 * agrees and the time measured is the whole comparison's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

struct text {
	char *s;
	size_t n, cap;
};

static void put(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int k = vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < t->cap - t->n) {
			t->n += (size_t)k;
			return;
		}
		t->cap = t->cap ? 2 * t->cap : 1 << 20;
		t->s = realloc(t->s, t->cap);
		if (!t->s) {
			fprintf(stderr, "bench: out of memory\n");
			exit(1);
		}
	}
}

/* alloc/free pairs through the lazy list with drains, tlb_flush noise. */
static struct text gen_vmalloc(u64 records)
{
	struct text t = {0};
	const u64 base = 0xffffc90000000000ULL, max = 16384;
	u64 next = base, lazy = 0, nlazy = 0, lo = ~0ULL, hi = 0, rec = 0,
	    us = 0, seed = 1;
	u64 live[64], live_size[64];
	int nlive = 0, head = 0;
	put(&t, "# tracer: nop\n#\n#  TASK-PID  CPU#  TIMESTAMP  FUNCTION\n");
	while (rec < records) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		u64 pages = 2 + (seed >> 60) % 8;
		us++;
		if (rec % 4 == 3) {
			put(&t, "  bench-1 [001] d..2. %llu.%06llu: tlb_flush: pages:1 reason:local MM shootdown (3)\n",
			    (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
		} else if (nlive < 64 && (nlive < 32 || (seed >> 33) & 1)) {
			u64 a = next;
			next += pages << 12;
			live[(head + nlive) % 64] = a;
			live_size[(head + nlive) % 64] = pages;
			nlive++;
			put(&t, "  bench-1 [000] ..... %llu.%06llu: alloc_vmap_area: va_start: %llu size=%llu align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0\n",
			    (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
			    (unsigned long long)a, (unsigned long long)(pages << 12));
		} else {
			u64 a = live[head], p = live_size[head];
			head = (head + 1) % 64;
			nlive--;
			lazy += p;
			nlazy++;
			lo = a < lo ? a : lo;
			hi = a + (p << 12) > hi ? a + (p << 12) : hi;
			put(&t, "  bench-1 [000] ..... %llu.%06llu: free_vmap_area_noflush: va_start=%#llx nr_lazy=%llu nr_lazy_max=%llu\n",
			    (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
			    (unsigned long long)a, (unsigned long long)lazy,
			    (unsigned long long)max);
			if (lazy > max && rec + 1 < records) {
				rec++;
				put(&t, "  kworker/0:1-9 [000] ..... %llu.%06llu: purge_vmap_area_lazy: start=%#llx end=%#llx num_purged=%llu\n",
				    (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
				    (unsigned long long)lo, (unsigned long long)hi,
				    (unsigned long long)nlazy);
				lazy = nlazy = hi = 0;
				lo = ~0ULL;
			}
		}
		rec++;
	}
	return t;
}

/* mmap / mprotect / munmap / brk of a program with only its stack. */
static struct text gen_mm(u64 records)
{
	struct text t = {0};
	put(&t, "# mmtrace 1\n# exec pid=1 tid=1 path=/bin/bench\n"
		"# maps-begin pid=1 tid=1 when=exec vmas=2\n"
		"555555554000-555555556000 r-xp 00000000 fe:00 7 /bin/bench\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n"
		"# maps-end\n");
	u64 brk = 0x555555556000ULL, seq = 0;
	while (seq < records) {
		switch (seq % 5) {
		case 0:
			put(&t, "mmap pid=1 tid=1 seq=%llu addr=0x0 len=0x3000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7ffc000\n",
			    (unsigned long long)++seq);
			break;
		case 1:
			put(&t, "mprotect pid=1 tid=1 seq=%llu addr=0x7ffff7ffd000 len=0x1000 prot=READ -> 0\n",
			    (unsigned long long)++seq);
			break;
		case 2:
			put(&t, "munmap pid=1 tid=1 seq=%llu addr=0x7ffff7ffc000 len=0x3000 -> 0\n",
			    (unsigned long long)++seq);
			break;
		case 3:
			brk += 0x21000;
			put(&t, "brk pid=1 tid=1 seq=%llu addr=%#llx -> %#llx\n",
			    (unsigned long long)++seq, (unsigned long long)brk,
			    (unsigned long long)brk);
			break;
		default:
			brk -= 0x20000;
			put(&t, "brk pid=1 tid=1 seq=%llu addr=%#llx -> %#llx\n",
			    (unsigned long long)++seq, (unsigned long long)brk,
			    (unsigned long long)brk);
		}
	}
	put(&t, "# end pid=1 exit=0\n");
	return t;
}

static void run_one(struct bench_out *o, const char *b, struct text t)
{
	struct vmlab_replay_result *r = NULL;
	char err[256];
	double t0 = bench_now();
	int e = vmlab_replay_text(t.s, t.n, VMLAB_TRACE_UNKNOWN, b, NULL, &r,
				  err, sizeof(err));
	double dt = bench_now() - t0;
	if (e) {
		fprintf(stderr, "bench %s: %s\n", b, err);
		exit(1);
	}
	bench_figure(o, b, "records", (double)r->records, "");
	bench_figure(o, b, "replay_s", dt, "s");
	bench_figure(o, b, "records_per_s", (double)r->records / dt, "1/s");
	bench_figure(o, b, "agreement", vmlab_replay_rate(r), "");
	bench_figure(o, b, "divergences", (double)r->total_divs, "");
	vmlab_replay_free(r);
	free(t.s);
}

static void replay_vmalloc(struct bench_out *o, u64 n)
{
	run_one(o, "replay-vmalloc", gen_vmalloc(n));
}

static void replay_mm(struct bench_out *o, u64 n)
{
	run_one(o, "replay-mm", gen_mm(n));
}

const struct bench bench_replay[] = {
	{"replay-vmalloc",
	 "a generated tracefs vmalloc/tlb trace of N records, parsed and replayed",
	 replay_vmalloc, 100000},
	{"replay-mm", "a generated mmtrace of N calls, parsed and replayed",
	 replay_mm, 100000},
};
const int bench_replay_n = (int)(sizeof(bench_replay) / sizeof(bench_replay[0]));
