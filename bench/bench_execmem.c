/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of execmem: the prog-pack allocator's bookkeeping (chunk
 * bitmap, pack index, live-allocation table) at 10k live programs, with
 * random frees so the bitmap search meets real holes; and the whole
 * execmem_alloc + execmem_free pair, whose free refills the chunk with
 * INT3 through text_poke (poking-mm switch, PTE store, flush).  Figures
 * only mean something from a build without -Ddebug_checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench.h"
#include "services/execmem_internal.h"

#define LIVE 10000

/* CPU time of this process: on a machine shared by many jobs the wall
 * clock mostly measures the others; both are reported. */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct slot {
	struct xm_pack *p;
	u32 pos;
};

static struct vmlab_machine *pack_machine(void)
{
	struct vmlab_machine *m = bench_boot(4 * VMLAB_GiB, 2, false);
	struct vmlab_execmem_config cfg = {VMLAB_EXECMEM_PACK, 0};
	if (vmlab_execmem_setup(m, &cfg)) {
		fprintf(stderr, "bench: execmem_setup failed\n");
		exit(1);
	}
	return m;
}

static u64 chunk_addr(const struct slot *s)
{
	return s->p->addr + ((u64)s->pos << PACK_CHUNK_SHIFT);
}

static void take(struct execmem *xm, struct slot *s, u32 nbits)
{
	s64 pos = pack_take(xm, 0, nbits, &s->p);
	if (pos < 0) {
		fprintf(stderr, "bench: pack_take failed\n");
		exit(1);
	}
	s->pos = (u32)pos;
	struct xm_alloc a = {.addr = chunk_addr(s),
			     .size = nbits << PACK_CHUNK_SHIFT,
			     .type = VMLAB_EXECMEM_BPF,
			     .kind = XM_PACK,
			     .rox = true};
	if (xm_insert(xm, &a)) {
		fprintf(stderr, "bench: xm_insert failed\n");
		exit(1);
	}
}

static void give(struct execmem *xm, struct slot *s, u32 nbits)
{
	xm_remove(xm, chunk_addr(s));
	pack_give(xm, s->p, s->pos, nbits);
}

/* n pairs of (free a random live program, allocate one) of `bytes`. */
static void pack_pairs(struct bench_out *o, u64 n, u32 bytes,
		       const char *name)
{
	struct vmlab_machine *m = pack_machine();
	struct execmem *xm = xm_get(m);
	u32 chunk = 1u << xm->chunk_shift;
	u32 nbits = (bytes + chunk - 1) >> xm->chunk_shift;
	struct slot *s = malloc(LIVE * sizeof(*s));
	if (!s)
		exit(1);
	for (u32 i = 0; i < LIVE; i++)
		take(xm, &s[i], nbits);
	double t0 = bench_now(), c0 = cpu_now();
	for (u64 k = 0; k < n; k++) {
		u32 i = (u32)vmlab_rand_below(m, LIVE);
		give(xm, &s[i], nbits);
		take(xm, &s[i], nbits);
	}
	double dt = bench_now() - t0, dc = cpu_now() - c0;
	bench_figure(o, name, "ns_per_pair", dt * 1e9 / (double)n, "ns");
	bench_figure(o, name, "cpu_ns_per_pair", dc * 1e9 / (double)n, "ns");
	bench_figure(o, name, "packs", (double)xm->nr_packs, "");
	for (u32 i = 0; i < LIVE; i++)
		give(xm, &s[i], nbits);
	free(s);
	vmlab_machine_destroy(m);
}

static void bench_pack_64(struct bench_out *o, u64 n)
{
	pack_pairs(o, n, 64, "execmem-pack-64B-10k");
}

static void bench_pack_4k(struct bench_out *o, u64 n)
{
	pack_pairs(o, n, 4096, "execmem-pack-4K-10k");
}

/* execmem_alloc + execmem_free with 10k live programs: the free's
 * text_poke_set() is inside the figure, as it is in the kernel. */
static void bench_alloc_free(struct bench_out *o, u64 n)
{
	struct vmlab_machine *m = pack_machine();
	u64 *live = malloc(LIVE * sizeof(u64));
	if (!live)
		exit(1);
	for (u32 i = 0; i < LIVE; i++)
		live[i] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
	struct vmlab_execmem_stats st0, st1;
	vmlab_execmem_stats(m, &st0);
	double t0 = bench_now(), c0 = cpu_now();
	for (u64 k = 0; k < n; k++) {
		u32 i = (u32)vmlab_rand_below(m, LIVE);
		vmlab_execmem_free(m, 0, live[i]);
		live[i] = vmlab_execmem_alloc(m, 0, VMLAB_EXECMEM_BPF, 64);
		if (!live[i]) {
			fprintf(stderr, "bench: execmem_alloc failed\n");
			exit(1);
		}
	}
	double dt = bench_now() - t0, dc = cpu_now() - c0;
	vmlab_execmem_stats(m, &st1);
	bench_figure(o, "execmem-alloc-free-10k", "ns_per_pair",
		     dt * 1e9 / (double)n, "ns");
	bench_figure(o, "execmem-alloc-free-10k", "cpu_ns_per_pair",
		     dc * 1e9 / (double)n, "ns");
	bench_figure(o, "execmem-alloc-free-10k", "text_pokes_per_pair",
		     (double)(st1.text_pokes - st0.text_pokes) / (double)n, "");
	for (u32 i = 0; i < LIVE; i++)
		vmlab_execmem_free(m, 0, live[i]);
	free(live);
	vmlab_machine_destroy(m);
}

const struct bench bench_execmem[] = {
	{"execmem-pack-64B-10k",
	 "prog-pack bookkeeping (bitmap, packs, table): free+alloc of a 64 B "
	 "program at 10k live, random frees",
	 bench_pack_64, 1000000},
	{"execmem-pack-4K-10k",
	 "the same with 4 KiB programs (20 packs)", bench_pack_4k, 1000000},
	{"execmem-alloc-free-10k",
	 "execmem_free + execmem_alloc of a 64 B program at 10k live, the "
	 "INT3 refill through text_poke included",
	 bench_alloc_free, 100000},
};
const int bench_execmem_n =
	(int)(sizeof(bench_execmem) / sizeof(bench_execmem[0]));
