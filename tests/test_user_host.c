/* SPDX-License-Identifier: MIT */
/*
 * Differential test against the host kernel: a seeded random sequence of
 * mmap / munmap / mprotect / madvise (guard install/remove, DONTNEED) /
 * mremap / mlock calls and reads and writes runs for real, in a child
 * process at a fixed address range, and in vmlab.  After every step the
 * return values, the signal an access got, the VMAs in the range
 * (/proc/self/maps) and the pagemap present/swap/guard bits must agree.
 * A second run maps a regular file too (on the host a file on a disk
 * filesystem: shared read-write, private, shared through a read-only
 * open; 40 pages, so mappings reach past EOF) and compares the file and
 * exclusive bits as well.  Skipped unless the host runs Linux 6.18 or
 * later with guard regions.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/statfs.h>

#include "user_helpers.h"

#define NP 48      /* pages in the arena */
#define NOPS 400   /* steps per seed */
#define MAXV 32    /* VMAs per snapshot */
#define HBASE 0x5a0000000000ULL
#define PM_BITS ((1ULL << 63) | (1ULL << 62) | (1ULL << 58))
/* with files: also PM_FILE and PM_MMAP_EXCLUSIVE */
#define PM_FILE_BITS (PM_BITS | (1ULL << 61) | (1ULL << 56))
#define FILE_PAGES 40

enum op_kind { O_MMAP, O_MUNMAP, O_MPROTECT, O_MADVISE, O_MREMAP, O_MLOCK,
	       O_MUNLOCK, O_READ, O_WRITE, O_NR };

struct op {
	int kind;
	u64 a, len, len2, target;
	int prot, adv, flags;
};

struct snap {
	long ret; /* syscall result (negative errno) or signal number */
	int nv;
	u64 vs[MAXV], ve[MAXV];
	int vp[MAXV];
	u64 pm[NP];
};

static const int prots[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
			    PROT_READ | PROT_EXEC};
static const int advs[] = {102 /* GUARD_INSTALL */, 103 /* GUARD_REMOVE */,
			   MADV_DONTNEED, 23 /* POPULATE_WRITE */,
			   22 /* POPULATE_READ */, MADV_FREE, 18 /* WIPEONFORK */,
			   19 /* KEEPONFORK */, MADV_DONTFORK, MADV_DOFORK,
			   102, 102};

static u64 rnd(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void gen(struct op *ops, u64 seed)
{
	u64 s = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (int i = 0; i < NOPS; i++) {
		struct op *o = &ops[i];
		u64 r = rnd(&s);
		o->kind = (int)(r % 100 < 18 ? O_MMAP : r % 100 < 26 ? O_MUNMAP :
				r % 100 < 40 ? O_MPROTECT : r % 100 < 56 ? O_MADVISE :
				r % 100 < 64 ? O_MREMAP : r % 100 < 67 ? O_MLOCK :
				r % 100 < 70 ? O_MUNLOCK : r % 100 < 85 ? O_READ :
				O_WRITE);
		u64 pg = rnd(&s) % NP, n = 1 + rnd(&s) % 8;
		if (pg + n > NP)
			n = NP - pg;
		o->a = pg * P;
		o->len = n * P;
		o->len2 = (1 + rnd(&s) % 8) * P;
		o->target = (rnd(&s) % NP) * P;
		o->prot = prots[rnd(&s) % 4];
		o->adv = advs[rnd(&s) % (sizeof(advs) / sizeof(advs[0]))];
		o->flags = (int)(rnd(&s) % 5);
	}
}

/* ---------------------------------------------------------------- host */

static sigjmp_buf jb;
static volatile sig_atomic_t got;

static void on_sig(int s)
{
	got = s;
	siglongjmp(jb, 1);
}

/* VMAs of the arena from /proc/self/smaps: protections, and bit 3 for
 * VM_MAYBE_GUARD ("gu" in VmFlags). */
static void host_snap(struct snap *sn, int pmfd, u64 bits)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	sn->nv = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perm[8];
		if (in && !strncmp(line, "VmFlags:", 8)) {
			if (strstr(line, " gu"))
				sn->vp[sn->nv - 1] |= 8;
			in = false;
			continue;
		}
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perm) != 3)
			continue;
		in = false;
		if (e <= HBASE || s >= HBASE + NP * P || sn->nv == MAXV)
			continue;
		sn->vs[sn->nv] = s - HBASE;
		sn->ve[sn->nv] = e - HBASE;
		sn->vp[sn->nv] = (perm[0] == 'r') | (perm[1] == 'w') << 1 |
				 (perm[2] == 'x') << 2;
		sn->nv++;
		in = true;
	}
	if (f)
		fclose(f);
	if (pread(pmfd, sn->pm, sizeof(sn->pm), (off_t)(HBASE / P * 8)) !=
	    (ssize_t)sizeof(sn->pm))
		memset(sn->pm, 0xff, sizeof(sn->pm));
	for (int i = 0; i < NP; i++)
		sn->pm[i] &= bits;
}

/* With files, O_MMAP flags 2: shared through the read-only open, 3:
 * private, 4: shared read-write; the file offset is the address's. */
static int file_map(const struct op *o, bool files, bool *shared, int *fd)
{
	*shared = o->flags == 4 || (files && o->flags == 2);
	*fd = files && o->flags >= 2 ? (o->flags == 2 ? 1 : 0) : -1;
	return *fd;
}

static long host_op(const struct op *o, const int *fds)
{
	char *b = (char *)HBASE;
	long r = 0;
	switch (o->kind) {
	case O_MMAP: {
		bool sh;
		int k;
		if (file_map(o, fds, &sh, &k) >= 0)
			r = (long)mmap(b + o->a, o->len, o->prot,
				       (sh ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
				       fds[k], (off_t)o->a);
		else
			r = (long)mmap(b + o->a, o->len, o->prot,
				       (sh ? MAP_SHARED : MAP_PRIVATE) |
					       MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		return r == -1 ? -errno : (long)((u64)r - HBASE);
	}
	case O_MUNMAP:
		r = munmap(b + o->a, o->len);
		break;
	case O_MPROTECT:
		r = mprotect(b + o->a, o->len, o->prot);
		break;
	case O_MADVISE:
		r = madvise(b + o->a, o->len, o->adv);
		break;
	/* Raw syscalls: sanitizer runtimes turn mlock() into a no-op. */
	case O_MLOCK:
		r = syscall(SYS_mlock, b + o->a, o->len);
		break;
	case O_MUNLOCK:
		r = syscall(SYS_munlock, b + o->a, o->len);
		break;
	case O_MREMAP: {
		void *p;
		if (o->flags == 0) /* resize in place or fail */
			p = mremap(b + o->a, o->len, o->len2, 0);
		else if (o->flags == 1 && o->target + o->len2 <= NP * P)
			p = mremap(b + o->a, o->len, o->len2,
				   MREMAP_MAYMOVE | MREMAP_FIXED, b + o->target);
		else if (o->flags == 2 && o->target + o->len <= NP * P)
			p = mremap(b + o->a, o->len, o->len,
				   MREMAP_MAYMOVE | MREMAP_FIXED, b + o->target);
		else if (o->flags == 3 && o->target + o->len <= NP * P)
			p = mremap(b + o->a, o->len, o->len,
				   MREMAP_MAYMOVE | MREMAP_FIXED |
					   MREMAP_DONTUNMAP, b + o->target);
		else
			p = mremap(b + o->a, o->len, o->len2 < o->len ? o->len2 :
				   o->len, 0);
		return p == MAP_FAILED ? -errno : (long)((u64)p - HBASE);
	}
	case O_READ:
	case O_WRITE:
		got = 0;
		if (!sigsetjmp(jb, 1)) {
			volatile char *p = b + o->a + 8;
			if (o->kind == O_READ)
				(void)*p;
			else
				*p = 1;
		}
		return got;
	}
	return r == -1 ? -errno : r;
}

/* A regular file of FILE_PAGES written pages under dir, open read-write
 * (fds[0]) and read-only (fds[1]); false if that cannot be had. */
static bool host_file(const char *dir, int *fds)
{
	char path[300];
	static char page[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/vmlab-host-XXXXXX", dir) >=
	    sizeof(path))
		return false;
	fds[0] = mkstemp(path);
	fds[1] = fds[0] >= 0 ? open(path, O_RDONLY) : -1;
	if (fds[0] >= 0)
		unlink(path);
	memset(page, 7, sizeof(page));
	for (u64 i = 0; fds[1] >= 0 && i < FILE_PAGES; i++)
		if (pwrite(fds[0], page, P, (off_t)(i * P)) != (ssize_t)P)
			return false;
	return fds[1] >= 0;
}

static bool host_run(const struct op *ops, struct snap *out, const char *dir)
{
	int fds[2] = {-1, -1};
	if (dir && !host_file(dir, fds))
		return false;
	struct sigaction sa = {.sa_handler = on_sig};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	void *p = mmap((void *)HBASE, NP * P, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)HBASE)
		return false;
	munmap(p, NP * P);
	int pmfd = open("/proc/self/pagemap", O_RDONLY);
	if (pmfd < 0)
		return false;
	for (int i = 0; i < NOPS; i++) {
		out[i].ret = host_op(&ops[i], dir ? fds : NULL);
		host_snap(&out[i], pmfd, dir ? PM_FILE_BITS : PM_BITS);
	}
	close(pmfd);
	return true;
}

/* --------------------------------------------------------------- model */

static long model_op(struct vmlab_user_mm *mm, const struct op *o,
		     struct vmlab_file *const *files)
{
	u64 b = HBASE;
	switch (o->kind) {
	case O_MMAP: {
		bool sh;
		int k;
		bool file = file_map(o, files, &sh, &k) >= 0;
		s64 r = vmlab_mmap(mm, b + o->a, o->len, o->prot,
				   (sh ? VMLAB_MAP_SHARED : VMLAB_MAP_PRIVATE) |
					   (file ? 0 : VMLAB_MAP_ANONYMOUS) |
					   VMLAB_MAP_FIXED,
				   file ? files[k] : NULL, file ? o->a : 0);
		return r < 0 ? r : (long)((u64)r - b);
	}
	case O_MUNMAP:
		return vmlab_munmap(mm, b + o->a, o->len);
	case O_MPROTECT:
		return vmlab_mprotect(mm, b + o->a, o->len, o->prot);
	case O_MADVISE:
		return vmlab_madvise(mm, b + o->a, o->len, o->adv);
	case O_MLOCK:
		return vmlab_mlock(mm, b + o->a, o->len);
	case O_MUNLOCK:
		return vmlab_munlock(mm, b + o->a, o->len);
	case O_MREMAP: {
		s64 r;
		if (o->flags == 0)
			r = vmlab_mremap(mm, b + o->a, o->len, o->len2, 0, 0);
		else if (o->flags == 1 && o->target + o->len2 <= NP * P)
			r = vmlab_mremap(mm, b + o->a, o->len, o->len2,
					 VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED,
					 b + o->target);
		else if (o->flags == 2 && o->target + o->len <= NP * P)
			r = vmlab_mremap(mm, b + o->a, o->len, o->len,
					 VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED,
					 b + o->target);
		else if (o->flags == 3 && o->target + o->len <= NP * P)
			r = vmlab_mremap(mm, b + o->a, o->len, o->len,
					 VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED |
						 VMLAB_MREMAP_DONTUNMAP,
					 b + o->target);
		else
			r = vmlab_mremap(mm, b + o->a, o->len,
					 o->len2 < o->len ? o->len2 : o->len, 0, 0);
		return r < 0 ? r : (long)((u64)r - b);
	}
	case O_READ:
	case O_WRITE: {
		u8 v = 1;
		return vmlab_user_access(mm, 0, o->kind == O_READ ? VMLAB_READ :
								    VMLAB_WRITE,
					 b + o->a + 8, &v, 1);
	}
	}
	return -1;
}

static void model_snap(struct vmlab_user_mm *mm, struct snap *sn, u64 bits)
{
	struct vmlab_vma_info vi[256];
	size_t n = vmlab_user_vmas(mm, vi, 256);
	sn->nv = 0;
	for (size_t k = 0; k < n && k < 256; k++) {
		if (vi[k].end <= HBASE || vi[k].start >= HBASE + NP * P ||
		    sn->nv == MAXV)
			continue;
		sn->vs[sn->nv] = vi[k].start - HBASE;
		sn->ve[sn->nv] = vi[k].end - HBASE;
		sn->vp[sn->nv] = (int)(vi[k].flags & 7) |
				 (vi[k].flags & VMLAB_VM_MAYBE_GUARD ? 8 : 0);
		sn->nv++;
	}
	assert_int_equal(vmlab_pagemap_read(mm, HBASE, sn->pm, NP), NP);
	for (int i = 0; i < NP; i++)
		sn->pm[i] &= bits;
}

static const char *kind_name(int k)
{
	static const char *const n[] = {"mmap", "munmap", "mprotect", "madvise",
					"mremap", "mlock", "munlock", "read",
					"write"};
	return k < O_NR ? n[k] : "?";
}

static void dump(const char *who, const struct snap *s)
{
	fprintf(stderr, "  %s: ret %ld, %d VMAs:", who, s->ret, s->nv);
	for (int v = 0; v < s->nv; v++)
		fprintf(stderr, " [%llx-%llx %d]", (unsigned long long)s->vs[v],
			(unsigned long long)s->ve[v], s->vp[v]);
	fprintf(stderr, "\n");
}

static int compare(const struct op *ops, const struct snap *h,
		   const struct snap *m)
{
	for (int i = 0; i < NOPS; i++) {
		bool same = h[i].ret == m[i].ret && h[i].nv == m[i].nv &&
			    !memcmp(h[i].pm, m[i].pm, sizeof(h[i].pm));
		for (int v = 0; same && v < h[i].nv; v++)
			same = h[i].vs[v] == m[i].vs[v] &&
			       h[i].ve[v] == m[i].ve[v] && h[i].vp[v] == m[i].vp[v];
		if (same)
			continue;
		const struct op *o = &ops[i];
		fprintf(stderr, "step %d: %s a=%llx len=%llx len2=%llx "
				"target=%llx prot=%d adv=%d flags=%d\n", i,
			kind_name(o->kind), (unsigned long long)o->a,
			(unsigned long long)o->len, (unsigned long long)o->len2,
			(unsigned long long)o->target, o->prot, o->adv, o->flags);
		dump("host ", &h[i]);
		dump("vmlab", &m[i]);
		for (int p = 0; p < NP; p++)
			if (h[i].pm[p] != m[i].pm[p])
				fprintf(stderr, "  page %d: pagemap host %llx vmlab %llx\n",
					p, (unsigned long long)h[i].pm[p],
					(unsigned long long)m[i].pm[p]);
		return i;
	}
	return -1;
}


static bool host_has_guards(void)
{
	void *p = mmap(NULL, P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	bool ok = madvise(p, P, 102) == 0;
	munmap(p, P);
	return ok;
}

/* A directory on a disk filesystem (not tmpfs) for the host's file. */
static const char *host_disk_dir(void)
{
	static const char *const cands[] = {"/tmp", "/var/tmp", "."};
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct statfs sf;
		if (!statfs(cands[i], &sf) && sf.f_type != 0x01021994 &&
		    !access(cands[i], W_OK))
			return cands[i];
	}
	return NULL;
}

/* The model's file: FILE_PAGES written pages, open read-write (files[0])
 * and read-only (files[1]). */
static void model_file(struct vmlab_machine *m, struct vmlab_file **files)
{
	static u8 page[4096];
	memset(page, 7, sizeof(page));
	assert_int_equal(vmlab_file_open(m, "/host", VMLAB_O_RDWR | VMLAB_O_CREAT,
					 &files[0]), 0);
	assert_int_equal(vmlab_file_open(m, "/host", VMLAB_O_RDONLY, &files[1]),
			 0);
	assert_int_equal(vmlab_file_unlink(m, "/host"), 0);
	for (u64 i = 0; i < FILE_PAGES; i++)
		assert_int_equal(vmlab_file_pwrite(files[0], page, P, i * P),
				 (s64)P);
}

static void differential(const char *dir)
{
	if (!t_host_is_6_18() || !host_has_guards()) {
		fprintf(stderr, "host kernel older than 6.18 or without "
				"MADV_GUARD_INSTALL: skipped\n");
		skip();
	}
	struct op *ops = calloc(NOPS, sizeof(*ops));
	struct snap *ms = calloc(NOPS, sizeof(*ms));
	struct snap *hs = mmap(NULL, NOPS * sizeof(*hs), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(ops && ms && hs != MAP_FAILED);
	/* VMLAB_HOST_SEEDS=N explores more sequences, from seed
	 * VMLAB_HOST_SEED_FIRST (1). */
	const char *env = getenv("VMLAB_HOST_SEEDS");
	u64 seeds = env ? strtoull(env, NULL, 0) : 6;
	const char *first = getenv("VMLAB_HOST_SEED_FIRST");
	for (u64 seed = first ? strtoull(first, NULL, 0) : 1; seed <= seeds;
	     seed++) {
		gen(ops, seed);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (!pid)
			_exit(host_run(ops, hs, dir) ? 0 : 3);
		int st;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) == 3) {
			fprintf(stderr, "host range busy or no pagemap: skipped\n");
			break;
		}
		struct vmlab_machine *m = t_machine(1, 64 * VMLAB_MiB, true);
		struct vmlab_user_mm *mm;
		struct vmlab_file *files[2] = {NULL, NULL};
		assert_int_equal(vmlab_user_mm_create(m, &mm), 0);
		if (dir)
			model_file(m, files);
		for (int i = 0; i < NOPS; i++) {
			ms[i].ret = model_op(mm, &ops[i], dir ? files : NULL);
			model_snap(mm, &ms[i], dir ? PM_FILE_BITS : PM_BITS);
		}
		int bad = compare(ops, hs, ms);
		if (bad >= 0)
			fprintf(stderr, "seed %llu%s diverges at step %d\n",
				(unsigned long long)seed, dir ? " (files)" : "",
				bad);
		assert_int_equal(bad, -1);
		/* Correct code: the checker stays silent (user-executable
		 * pages do not count against the direct map). */
		assert_int_equal(vmlab_nr_reports(m), 0);
		vmlab_file_put(files[0]);
		vmlab_file_put(files[1]);
		vmlab_user_mm_destroy(mm);
		vmlab_machine_destroy(m);
	}
	munmap(hs, NOPS * sizeof(*hs));
	free(ms);
	free(ops);
}

static void test_differential(void **state)
{
	(void)state;
	differential(NULL);
}

/* The same sequences with a regular file mapped in three ways. */
static void test_differential_files(void **state)
{
	(void)state;
	const char *dir = host_disk_dir();
	if (!dir) {
		fprintf(stderr, "no disk filesystem for a host file: skipped\n");
		skip();
	}
	differential(dir);
}

/* ------------------------------------------------- process_madvise */

/* Who a case's process_madvise names. */
enum who { W_SELF, W_SELF_TG, W_SELF_FD, W_CHILD, W_DEAD, W_BADFD, W_STDIN,
	   W_OPEN_SELF, W_OPEN_ZERO, W_OPEN_NONE, W_NR_FDS = W_BADFD };

#define ABS (1ULL << 62) /* a segment base given absolute, not in the arena */
/* A base relative to the TASK_SIZE_MAX of whoever runs it: the host's
 * (x86-64: (1 << 47) - PAGE_SIZE) or the model's (arm64: 1 << 48), so
 * the boundary cases compare the same rule on both architectures. */
#define TOP (1ULL << 61)
#define TOPD(d) (TOP | ((u64)(d) & (TOP - 1)))
#define HOST_TSM ((1ULL << 47) - P)

struct pcase {
	int who, adv;
	unsigned int flags;
	int nseg;
	u64 vlen; /* 0: nseg */
	bool null_iov;
	struct { u64 off, len; } seg[3];
};

static const struct pcase pcases[] = {
	{W_SELF, 102, 0, 2, 0, false, {{0, P}, {2 * P, P}}},
	{W_SELF, 102, 0, 2, 0, false, {{5 * P + 1, 0}, {4 * P, P}}},
	{W_SELF, 102, 0, 3, 0, false, {{4 * P, P}, {5 * P + 1, 0}, {6 * P, 100}}},
	{W_SELF, 102, 0, 1, 0, false, {{7 * P + 1, 0}}},
	{W_SELF, 102, 0, 2, 0, false, {{8 * P, P}, {15 * P, 2 * P}}},
	{W_SELF, 103, 0, 2, 0, false, {{8 * P, P}, {9 * P + 1, P}}},
	{W_SELF, 102, 1, 1, 0, false, {{0, P}}},
	{W_SELF, 102, 0, 1, 1025, false, {{0, P}}},
	{W_SELF, 102, 0, 1, 1, true, {{0, P}}},
	{W_SELF, MADV_COLD, 0, 0, 1ULL << 32, true, {{0, 0}}},
	{W_SELF, MADV_DONTNEED, 0, 1, 0, false, {{20 * P, 1ULL << 62}}},
	{W_SELF, MADV_COLD, 0, 1, 0, false, {{0, 1ULL << 63}}},
	{W_SELF, 103, 0, 2, 0, false, {{0, P}, {20 * P, 1ULL << 40}}},
	{W_SELF, MADV_COLD, 0, 1, 0, false, {{TOPD(0 - P), P}}},
	{W_SELF, MADV_COLD, 0, 1, 0, false, {{TOPD(0), P}}},
	{W_SELF, MADV_COLD, 0, 1, 0, false, {{TOPD(1), 0}}},
	{W_SELF, MADV_COLD, 0, 1, 0, false, {{TOPD(P - (1ULL << 46)), (1ULL << 46) + P}}},
	{W_SELF, MADV_COLD, 0, 2, 0, false,
	 {{ABS | 0x10000, 0}, {TOPD(P - (1ULL << 46)), (1ULL << 46) + P}}},
	{W_BADFD, 102, 0, 1, 0, false, {{0, P}}},
	{W_STDIN, MADV_COLD, 0, 1, 0, false, {{0, P}}},
	{W_SELF_FD, 102, 0, 1, 0, false, {{10 * P, P}}},
	{W_SELF_TG, 102, 0, 1, 0, false, {{11 * P, P}}},
	{W_CHILD, 102, 0, 1, 0, false, {{0, P}}},
	{W_CHILD, MADV_DONTNEED, 0, 1, 0, false, {{0, P}}},
	{W_CHILD, MADV_COLD, 0, 2, 0, false, {{0, P}, {16 * P, P}}},
	{W_CHILD, MADV_WILLNEED, 0, 1, 0, false, {{20 * P, 4 * P}}},
	{W_CHILD, 102, 1, 1, 0, false, {{0, P}}},
	{W_DEAD, MADV_COLD, 0, 1, 0, false, {{0, P}}},
	{W_DEAD, MADV_COLD, 0, 1, 1025, false, {{0, P}}},
	{W_SELF, 77, 0, 0, 0, false, {{0, 0}}},
	{W_SELF, 77, 0, 1, 0, false, {{0, P}}},
	{W_OPEN_SELF, 0, 0, 0, 0, false, {{0, 0}}},
	{W_OPEN_SELF, 0, 1, 0, 0, false, {{0, 0}}},
	{W_OPEN_ZERO, 0, 0, 0, 0, false, {{0, 0}}},
	{W_OPEN_NONE, 0, 0, 0, 0, false, {{0, 0}}},
	{W_SELF, MADV_DONTNEED, 0, 2, 0, false, {{0, 4 * P}, {36 * P, 4 * P}}},
};
#define NPC (int)(sizeof(pcases) / sizeof(pcases[0]))

static void seg_iov(const struct pcase *c, u64 base, u64 tsm,
		    struct vmlab_iovec *v)
{
	for (int i = 0; i < c->nseg; i++) {
		u64 off = c->seg[i].off;
		/* TOP | d: tsm + d, d a signed offset in the low bits */
		u64 top = tsm + (u64)((s64)(off << 3) >> 3);
		v[i] = (struct vmlab_iovec){
			(off & ABS)   ? off & ~ABS :
			(off & TOP)   ? top :
					base + off,
			c->seg[i].len};
	}
}

/* The arena: private [0, 16), a hole, private [20, 36), shared [36, 48),
 * every page written. */
static bool host_arena(void)
{
	char *b = (char *)HBASE;
	int fl = MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	if (mmap(b, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | fl, -1, 0) != b ||
	    mmap(b + 20 * P, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | fl,
		 -1, 0) != b + 20 * P ||
	    mmap(b + 36 * P, 12 * P, PROT_READ | PROT_WRITE, MAP_SHARED | fl,
		 -1, 0) != b + 36 * P)
		return false;
	for (u64 i = 0; i < NP; i++)
		if (i < 16 || i >= 20)
			b[i * P] = 1;
	return true;
}

static long host_pcase(const struct pcase *c, const int *fds)
{
	if (c->who >= W_OPEN_SELF) {
		pid_t pid = c->who == W_OPEN_SELF ? getpid() :
			    c->who == W_OPEN_ZERO ? 0 : 0x7ffffff0;
		long fd = syscall(SYS_pidfd_open, pid, c->flags);
		return fd < 0 ? -errno : 1;
	}
	static const int fixed[] = {[W_SELF] = -10000, [W_SELF_TG] = -10001,
				    [W_BADFD] = 1000, [W_STDIN] = 0};
	int fd = c->who < W_NR_FDS && c->who >= W_SELF_FD ? fds[c->who] :
							   fixed[c->who];
	struct iovec v[3];
	struct vmlab_iovec mv[3];
	seg_iov(c, HBASE, HOST_TSM, mv);
	for (int i = 0; i < c->nseg; i++)
		v[i] = (struct iovec){(void *)mv[i].iov_base, mv[i].iov_len};
	long r = syscall(SYS_process_madvise, fd, c->null_iov ? NULL : v,
			 c->vlen ? c->vlen : (u64)c->nseg, c->adv, c->flags);
	return r < 0 ? -errno : r;
}

static bool host_pmadv_run(struct snap *out)
{
	if (!host_arena())
		return false;
	int fds[W_NR_FDS];
	fds[W_SELF_FD] = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pid_t child = fork();
	if (!child) {
		for (;;)
			pause();
	}
	pid_t dead = fork();
	if (!dead)
		_exit(0);
	fds[W_CHILD] = (int)syscall(SYS_pidfd_open, child, 0);
	fds[W_DEAD] = (int)syscall(SYS_pidfd_open, dead, 0);
	waitpid(dead, NULL, 0);
	int pmfd = open("/proc/self/pagemap", O_RDONLY);
	bool ok = pmfd >= 0 && fds[W_SELF_FD] >= 0 && fds[W_CHILD] >= 0 &&
		  fds[W_DEAD] >= 0;
	for (int i = 0; ok && i < NPC; i++) {
		out[i].ret = host_pcase(&pcases[i], fds);
		host_snap(&out[i], pmfd, PM_BITS);
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (pmfd >= 0)
		close(pmfd);
	return ok;
}

static bool host_has_cap_sys_nice(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return eff & (1ULL << 23);
}

static long model_pcase(struct vmlab_user_mm *mm, const struct pcase *c,
			const int *fds)
{
	if (c->who >= W_OPEN_SELF) {
		s64 pid = c->who == W_OPEN_SELF ? (s64)vmlab_user_pid(mm) :
			  c->who == W_OPEN_ZERO ? 0 : 0x7ffffff0;
		int fd = vmlab_pidfd_open(mm, pid, c->flags);
		return fd < 0 ? fd : 1;
	}
	static const int fixed[] = {[W_SELF] = VMLAB_PIDFD_SELF_THREAD,
				    [W_SELF_TG] = VMLAB_PIDFD_SELF_THREAD_GROUP,
				    [W_BADFD] = 1000, [W_STDIN] = 0};
	int fd = c->who < W_NR_FDS && c->who >= W_SELF_FD ? fds[c->who] :
							   fixed[c->who];
	struct vmlab_iovec v[3];
	seg_iov(c, HBASE, T_TASK_SIZE, v);
	return (long)vmlab_process_madvise_pidfd(
		mm, fd, c->null_iov ? NULL : v, c->vlen ? c->vlen : (u64)c->nseg,
		c->adv, c->flags);
}

static void test_process_madvise_host(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || !host_has_guards())
		skip();
	struct snap *hs = mmap(NULL, NPC * sizeof(*hs), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct snap *ms = calloc(NPC, sizeof(*ms));
	assert_true(hs != MAP_FAILED && ms);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (!pid)
		_exit(host_pmadv_run(hs) ? 0 : 3);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "host range busy or no pidfds: skipped\n");
		skip();
	}
	struct vmlab_machine *m = t_machine(2, 64 * VMLAB_MiB, true);
	struct vmlab_user_mm *mm, *child, *dead;
	assert_int_equal(vmlab_user_mm_create(m, &mm), 0);
	u64 b = HBASE;
	int fl = VMLAB_MAP_ANONYMOUS | VMLAB_MAP_FIXED_NOREPLACE;
	assert_int_equal(vmlab_mmap(mm, b, 16 * P, 3, VMLAB_MAP_PRIVATE | fl,
				    NULL, 0), (s64)b);
	assert_int_equal(vmlab_mmap(mm, b + 20 * P, 16 * P, 3,
				    VMLAB_MAP_PRIVATE | fl, NULL, 0),
			 (s64)(b + 20 * P));
	assert_int_equal(vmlab_mmap(mm, b + 36 * P, 12 * P, 3,
				    VMLAB_MAP_SHARED | fl, NULL, 0),
			 (s64)(b + 36 * P));
	for (u64 i = 0; i < NP; i++)
		if (i < 16 || i >= 20)
			assert_int_equal(vmlab_user_write8(mm, 0, b + i * P, 1),
					 VMLAB_OK);
	if (host_has_cap_sys_nice())
		assert_int_equal(vmlab_user_set_caps(mm, 1ULL << VMLAB_CAP_SYS_NICE),
				 0);
	int fds[W_NR_FDS];
	fds[W_SELF_FD] = vmlab_pidfd_open(mm, (s64)vmlab_user_pid(mm), 0);
	assert_int_equal(vmlab_fork(mm, &child), 0);
	assert_int_equal(vmlab_fork(mm, &dead), 0);
	fds[W_CHILD] = vmlab_pidfd_open(mm, (s64)vmlab_user_pid(child), 0);
	fds[W_DEAD] = vmlab_pidfd_open(mm, (s64)vmlab_user_pid(dead), 0);
	vmlab_user_mm_destroy(dead);
	assert_true(fds[W_SELF_FD] >= 0 && fds[W_CHILD] >= 0 && fds[W_DEAD] >= 0);
	for (int i = 0; i < NPC; i++) {
		ms[i].ret = model_pcase(mm, &pcases[i], fds);
		model_snap(mm, &ms[i], PM_BITS);
	}
	for (int i = 0; i < NPC; i++) {
		bool same = hs[i].ret == ms[i].ret && hs[i].nv == ms[i].nv &&
			    !memcmp(hs[i].pm, ms[i].pm, sizeof(hs[i].pm));
		for (int v = 0; same && v < hs[i].nv; v++)
			same = hs[i].vs[v] == ms[i].vs[v] &&
			       hs[i].ve[v] == ms[i].ve[v] && hs[i].vp[v] == ms[i].vp[v];
		if (!same) {
			fprintf(stderr, "process_madvise case %d diverges\n", i);
			dump("host ", &hs[i]);
			dump("vmlab", &ms[i]);
		}
		assert_true(same);
	}
	assert_int_equal(vmlab_nr_reports(m), 0);
	vmlab_user_mm_destroy(child);
	vmlab_user_mm_destroy(mm);
	vmlab_machine_destroy(m);
	munmap(hs, NPC * sizeof(*hs));
	free(ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_differential_files),
		cmocka_unit_test(test_process_madvise_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
