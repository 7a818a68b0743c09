/* SPDX-License-Identifier: MIT */
/*
 * Regular files (src/user/regfile.c): scripts of open / close / unlink,
 * ftruncate, pwrite / pread, hole punching, F_ADD_SEALS / F_GET_SEALS,
 * mmap with each access mode, mprotect, madvise (REMOVE, DONTNEED, guard
 * install and remove) and accesses through the mappings, with the
 * pagemap bits and Rss of the mapping, each step's result asserted.  When
 * the host runs Linux 6.18 or later and has a disk filesystem (not
 * tmpfs) under $TMPDIR, /tmp or the working directory, the same scripts
 * run on the host on real files and every result must agree: errno
 * precedence, SIGBUS past EOF, what truncation and hole punching leave,
 * and what fault-around maps around guard markers and present PTEs.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "user_helpers.h"

enum { R_END, R_OPEN, R_CLOSE, R_UNLINK, R_TRUNC, R_PWRITE, R_PREAD,
       R_PUNCH, R_ADD, R_GET, R_MMAP, R_MUNMAP, R_MPROTECT, R_MADV, R_READ,
       R_WRITE, R_PM, R_RSS };

struct rstep {
	int op;
	int fd;   /* descriptor slot */
	int slot; /* mapping slot */
	u64 a, b; /* path / offset / size / page, length / pages */
	int c;    /* flags, prot, advice, byte */
	long want;
};

#define NFD 4
#define NSLOT 3
#define MAXSTEP 64
#define RF_BASE 0x5c0000000000ULL /* 2 MiB aligned, free on the host */
#define SLOT_VA(s) (RF_BASE + (u64)(s) * VMLAB_PMD_SIZE)
#define OK 1 /* R_MMAP success */
#define VAL(ch) (256 + (ch)) /* R_READ: the byte read */
/* R_MMAP c: prot | these */
#define SH 0x100
#define VALIDATE 0x200
#define SYNC 0x400
#define NOREPL 0x800 /* with VALIDATE: MAP_FIXED_NOREPLACE, else MAP_FIXED */
/* R_PM: pagemap bits 56.. as a byte */
#define PM_EXCL 1
#define PM_GUARD 4
#define PM_FILE 32
#define PM_SWAP 64
#define PM_PRES 128
#define FILEPG (PM_PRES | PM_FILE | PM_EXCL)
#define ANONPG (PM_PRES | PM_EXCL)
#define GUARDPG (PM_GUARD | PM_SWAP) /* a marker is a swap-type entry */
#define RD VMLAB_PROT_READ
#define O_ACC3 3 /* neither read nor write */
#define SEGV VMLAB_SIGSEGV
#define BUS VMLAB_SIGBUS

static const char *const paths[] = {"a", "b"};

/* Access modes; the mmap checks come after MAP_FIXED_NOREPLACE's. */
static const struct rstep script_modes[] = {
	{R_OPEN, 0, 0, 0, 0, O_RDONLY, -ENOENT},
	{R_OPEN, 0, 0, 0, 0, O_RDWR | O_CREAT, 0},
	{R_OPEN, 1, 0, 0, 0, O_RDWR | O_CREAT | O_EXCL, -EEXIST},
	{R_TRUNC, 0, 0, 8 * P, 0, 0, 0},
	{R_PWRITE, 0, 0, 0, 8 * P, 'a', 8 * P},
	{R_OPEN, 1, 0, 0, 0, O_RDONLY, 0},
	{R_OPEN, 2, 0, 0, 0, O_WRONLY, 0},
	{R_OPEN, 3, 0, 0, 0, O_ACC3, 0},
	{R_MMAP, 1, 0, 0, 4, RW | SH, -EACCES},
	{R_MMAP, 2, 0, 0, 4, RD | SH, -EACCES},
	{R_MMAP, 2, 0, 0, 4, RW | SH, -EACCES},
	{R_MMAP, 2, 0, 0, 4, RD, -EACCES},
	{R_MMAP, 3, 0, 0, 4, RD | SH, -EACCES},
	{R_MMAP, 1, 0, 0, 4, RW | VALIDATE | SYNC, -EACCES},
	{R_MMAP, 0, 0, 0, 4, RW | VALIDATE | SYNC, -EOPNOTSUPP},
	/* MAP_FIXED_NOREPLACE is no legacy flag for MAP_SHARED_VALIDATE */
	{R_MMAP, 0, 0, 0, 4, RD | VALIDATE | NOREPL, -EOPNOTSUPP},
	{R_MMAP, 1, 0, 0, 4, RD | SH, OK},
	{R_MMAP, 2, 0, 0, 4, RD | SH, -EEXIST},
	{R_MPROTECT, 0, 0, 0, 4, RW, -EACCES},
	{R_MPROTECT, 0, 0, 0, 4, RD | VMLAB_PROT_EXEC, 0},
	{R_MADV, 0, 0, 0, 1, VMLAB_MADV_REMOVE, -EACCES},
	{R_READ, 0, 0, 0, 0, 0, VAL('a')},
	{R_PM, 0, 0, 0, 0, 0, FILEPG},
	{R_PM, 0, 0, 3, 0, 0, FILEPG}, /* fault-around, within the VMA */
	{R_RSS, 0, 0, 0, 0, 0, 4},
	{R_WRITE, 0, 0, 0, 0, 'x', SEGV},
	{R_MMAP, 1, 1, 0, 4, RW, OK}, /* private: copy-on-write */
	{R_WRITE, 0, 1, 8, 0, 'z', 0},
	{R_PM, 0, 1, 0, 0, 0, ANONPG},
	{R_READ, 0, 0, 8, 0, 0, VAL('a')},
	{R_PREAD, 1, 0, 0, 1, 0, 1},
	{R_PREAD, 2, 0, 0, 1, 0, -EBADF},
	{R_PREAD, 3, 0, 0, 1, 0, -EBADF},
	{R_PWRITE, 1, 0, 0, 1, 'b', -EBADF},
	{R_PWRITE, 3, 0, 0, 1, 'b', -EBADF},
	{R_PWRITE, 2, 0, 0, 1, 'b', 1},
	{R_READ, 0, 0, 0, 0, 0, VAL('b')}, /* one page cache */
	{R_READ, 0, 1, 0, 0, 0, VAL('a')}, /* the private copy */
	{R_TRUNC, 1, 0, P, 0, 0, -EINVAL},
	{R_TRUNC, 2, 0, 6 * P, 0, 0, 0},
	{R_PUNCH, 1, 0, 0, P, 0, -EBADF},
	{R_PUNCH, 1, 0, 0, 0, 0, -EINVAL},
	{R_ADD, 1, 0, 0, 0, VMLAB_F_SEAL_WRITE, -EPERM},
	{R_ADD, 1, 0, 0, 0, 0x4000, -EPERM},
	{R_ADD, 0, 0, 0, 0, 0x4000, -EINVAL},
	{R_ADD, 0, 0, 0, 0, VMLAB_F_SEAL_WRITE, -EINVAL},
	{R_GET, 0, 0, 0, 0, 0, -EINVAL},
	{R_GET, 1, 0, 0, 0, 0, -EINVAL},
	/* file-backed guard regions on a read-only shared mapping */
	{R_MADV, 0, 0, 0, 4, VMLAB_MADV_GUARD_INSTALL, 0},
	{R_READ, 0, 0, 0, 0, 0, SEGV},
	{R_PM, 0, 0, 2, 0, 0, GUARDPG},
	{R_RSS, 0, 0, 0, 0, 0, 0},
	{R_MADV, 0, 0, 0, 4, VMLAB_MADV_GUARD_REMOVE, 0},
	{R_READ, 0, 0, P, 0, 0, VAL('a')},
	{R_RSS, 0, 0, 0, 0, 0, 4},
	{R_CLOSE, 1, 0, 0, 0, 0, 0},
	{R_READ, 0, 0, 2 * P, 0, 0, VAL('a')}, /* the mapping keeps it */
	{R_END, 0, 0, 0, 0, 0, 0},
};

/* EOF, truncation, hole punching and unlink. */
static const struct rstep script_eof[] = {
	{R_OPEN, 0, 0, 1, 0, O_RDWR | O_CREAT | O_TRUNC, 0},
	{R_PWRITE, 0, 0, 0, 2 * P + 100, 'c', 2 * P + 100},
	{R_MMAP, 0, 0, 0, 6, RW | SH, OK},
	{R_READ, 0, 0, 3 * P, 0, 0, BUS},
	{R_PM, 0, 0, 0, 0, 0, FILEPG}, /* mapped around the SIGBUS */
	{R_RSS, 0, 0, 0, 0, 0, 3},
	{R_READ, 0, 0, 2 * P + 200, 0, 0, VAL(0)},
	{R_WRITE, 0, 0, 5 * P, 0, 'x', BUS},
	{R_TRUNC, 0, 0, P, 0, 0, 0},
	{R_RSS, 0, 0, 0, 0, 0, 1},
	{R_READ, 0, 0, P, 0, 0, BUS},
	{R_TRUNC, 0, 0, 4 * P, 0, 0, 0},
	{R_READ, 0, 0, P + 5, 0, 0, VAL(0)},
	{R_READ, 0, 0, 5, 0, 0, VAL('c')},
	{R_PUNCH, 0, 0, 0, P, 0, 0},
	{R_PM, 0, 0, 0, 0, 0, 0},
	{R_READ, 0, 0, 5, 0, 0, VAL(0)},
	{R_MMAP, 0, 1, 0, 4, RW, OK},
	{R_PWRITE, 0, 0, P, P, 'd', P},
	{R_WRITE, 0, 1, P, 0, 'p', 0},
	{R_PUNCH, 0, 0, P, P, 0, 0},
	{R_READ, 0, 1, P, 0, 0, VAL('p')}, /* a punch leaves COW copies */
	{R_READ, 0, 1, P + 1, 0, 0, VAL('d')},
	{R_READ, 0, 0, P + 1, 0, 0, VAL(0)},
	{R_TRUNC, 0, 0, 0, 0, 0, 0},
	{R_READ, 0, 1, P, 0, 0, BUS}, /* truncation takes them */
	{R_UNLINK, 0, 0, 1, 0, 0, 0},
	{R_OPEN, 1, 0, 1, 0, O_RDONLY, -ENOENT},
	{R_PWRITE, 0, 0, 0, 1, 'e', 1}, /* still open and mapped */
	{R_READ, 0, 0, 0, 0, 0, VAL('e')},
	{R_UNLINK, 0, 0, 1, 0, 0, -ENOENT},
	{R_OPEN, 1, 0, 1, 0, O_RDWR | O_CREAT | O_EXCL, 0}, /* a new file */
	{R_PREAD, 1, 0, 0, 1, 0, 0},
	{R_END, 0, 0, 0, 0, 0, 0},
};

/* Fault-around on a private read-only-opened mapping: it skips present
 * PTEs (a COW copy) and guard markers, and stops at the VMA. */
static const struct rstep script_around[] = {
	{R_OPEN, 0, 0, 0, 0, O_RDWR | O_CREAT | O_TRUNC, 0},
	{R_PWRITE, 0, 0, 0, 40 * P, 'f', 40 * P},
	{R_OPEN, 1, 0, 0, 0, O_RDONLY, 0},
	{R_MMAP, 1, 0, 0, 32, RD, OK},
	{R_MPROTECT, 0, 0, 0, 32, RW, 0},
	{R_WRITE, 0, 0, 0, 0, 'w', 0}, /* a write fault: no fault-around */
	{R_PM, 0, 0, 0, 0, 0, ANONPG},
	{R_PM, 0, 0, 1, 0, 0, 0},
	{R_READ, 0, 0, P, 0, 0, VAL('f')},
	{R_PM, 0, 0, 15, 0, 0, FILEPG},
	{R_PM, 0, 0, 16, 0, 0, 0},
	{R_RSS, 0, 0, 0, 0, 0, 16},
	{R_MADV, 0, 0, 0, 32, VMLAB_MADV_DONTNEED, 0},
	{R_RSS, 0, 0, 0, 0, 0, 0},
	{R_MADV, 0, 0, 4, 2, VMLAB_MADV_GUARD_INSTALL, 0},
	{R_WRITE, 0, 0, 8 * P, 0, 'q', 0},
	{R_READ, 0, 0, 0, 0, 0, VAL('f')}, /* the COW copy went */
	{R_RSS, 0, 0, 0, 0, 0, 14},
	{R_PM, 0, 0, 4, 0, 0, GUARDPG},
	{R_PM, 0, 0, 6, 0, 0, FILEPG},
	{R_PM, 0, 0, 8, 0, 0, ANONPG},
	{R_READ, 0, 0, 8 * P, 0, 0, VAL('q')},
	{R_READ, 0, 0, 31 * P, 0, 0, VAL('f')},
	{R_RSS, 0, 0, 0, 0, 0, 30},
	{R_MMAP, 0, 1, 30 * P, 8, RD | SH, OK}, /* 30..37: EOF at 40 */
	{R_READ, 0, 1, 5 * P, 0, 0, VAL('f')},
	{R_RSS, 0, 1, 0, 0, 0, 8},
	{R_PM, 0, 0, 31, 0, 0, PM_PRES | PM_FILE}, /* mapped twice */
	{R_END, 0, 0, 0, 0, 0, 0},
};

/* A fault past EOF whose window starts at the file's last page: without
 * a PTE table there yet nothing is mapped (6.18 skips filemap_map_pmd()
 * there for all but shmem), with one the last page is. */
static const struct rstep script_last[] = {
	{R_OPEN, 0, 0, 0, 0, O_RDWR | O_CREAT | O_TRUNC, 0},
	{R_PWRITE, 0, 0, 0, 4 * P, 'g', 4 * P},
	{R_MMAP, 0, 0, 3 * P, 3, RD | SH, OK},
	{R_READ, 0, 0, 2 * P, 0, 0, BUS},
	{R_PM, 0, 0, 0, 0, 0, 0},
	{R_READ, 0, 0, 1 * P, 0, 0, BUS},
	{R_PM, 0, 0, 0, 0, 0, 0},
	{R_READ, 0, 0, 0, 0, 0, VAL('g')},
	{R_MUNMAP, 0, 0, 0, 3, 0, 0},
	{R_MMAP, 0, 0, 3 * P, 3, RD | SH, OK},
	{R_MMAP, 0, 1, 2 * P, 2, RD | SH, OK}, /* the window: 2..3 */
	{R_READ, 0, 1, P, 0, 0, VAL('g')},
	{R_READ, 0, 1, 0, 0, 0, VAL('g')},
	{R_END, 0, 0, 0, 0, 0, 0},
};

static const struct rstep *const scripts[] = {script_modes, script_eof,
					     script_around, script_last};
#define NSCRIPT (int)(sizeof(scripts) / sizeof(scripts[0]))

static int pm_byte(u64 pm)
{
	return (int)((pm >> 56) & (PM_PRES | PM_FILE | PM_GUARD | PM_EXCL |
				   PM_SWAP));
}

static u64 map_len(const struct rstep *s)
{
	return s->b * P;
}

/* ---------------------------------------------------------------- host */

static sigjmp_buf jb;
static volatile sig_atomic_t got;

static void on_sig(int s)
{
	got = s;
	siglongjmp(jb, 1);
}

static char hbuf[64 * 4096];

/* Rss of the host VMA holding va, in pages. */
static long host_rss(u64 va)
{
	char line[512];
	long kb;
	if (!t_host_smaps_line(va, "Rss:", line, sizeof(line)) ||
	    sscanf(line, "Rss: %ld kB", &kb) != 1)
		return -1;
	return kb / 4;
}

static volatile long hval;

/* The byte at p read (VAL) or c written (0), or the signal it got. */
static long host_access(char *p, bool write, int c)
{
	got = 0;
	hval = 0;
	if (!sigsetjmp(jb, 1)) {
		volatile unsigned char *q = (volatile unsigned char *)p;
		if (write)
			*q = (unsigned char)c;
		else
			hval = VAL(*q);
	}
	return got ? got : hval;
}

static long host_step(const struct rstep *s, const char *dir, int *fds)
{
	char path[320];
	char *va = (char *)SLOT_VA(s->slot);
	long r = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
			     paths[s->a & 1]) >= sizeof(path))
		_exit(7);
	switch (s->op) {
	case R_OPEN:
		fds[s->fd] = open(path, s->c, 0600);
		return fds[s->fd] < 0 ? -errno : 0;
	case R_CLOSE:
		r = close(fds[s->fd]);
		break;
	case R_UNLINK:
		r = unlink(path);
		break;
	case R_TRUNC:
		r = ftruncate(fds[s->fd], (off_t)s->a);
		break;
	case R_PWRITE: {
		/* page by page: small folios, as the model's cache has */
		memset(hbuf, s->c, s->b);
		long done = 0;
		for (u64 o = 0; o < s->b; o += P) {
			u64 n = s->b - o < P ? s->b - o : P;
			r = pwrite(fds[s->fd], hbuf + o, n, (off_t)(s->a + o));
			if (r < 0)
				return done ? done : -errno;
			done += r;
		}
		return done;
	}
	case R_PREAD:
		r = pread(fds[s->fd], hbuf, s->b, (off_t)s->a);
		break;
	case R_PUNCH:
		r = fallocate(fds[s->fd], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)s->a, (off_t)s->b);
		break;
	case R_ADD:
		r = fcntl(fds[s->fd], F_ADD_SEALS, s->c);
		break;
	case R_GET:
		r = fcntl(fds[s->fd], F_GET_SEALS);
		break;
	case R_MMAP: {
		int type = s->c & VALIDATE ? MAP_SHARED_VALIDATE :
			   s->c & SH	   ? MAP_SHARED : MAP_PRIVATE;
		int fixed = (s->c & (VALIDATE | NOREPL)) == VALIDATE ?
				    MAP_FIXED : MAP_FIXED_NOREPLACE;
		void *p = mmap(va, map_len(s), s->c & 7, type | fixed |
				       (s->c & SYNC ? MAP_SYNC : 0),
			       fds[s->fd], (off_t)s->a);
		return p == MAP_FAILED ? -errno : OK;
	}
	case R_MUNMAP:
		r = munmap(va, map_len(s));
		break;
	case R_MPROTECT:
		r = mprotect(va, map_len(s), s->c);
		break;
	case R_MADV:
		r = madvise(va + s->a * P, map_len(s), s->c);
		break;
	case R_READ:
	case R_WRITE:
		return host_access(va + s->a, s->op == R_WRITE, s->c);
	case R_PM: {
		int pmfd = open("/proc/self/pagemap", O_RDONLY);
		u64 pm = 0;
		if (pmfd < 0 || pread(pmfd, &pm, 8, (off_t)(((u64)va / P + s->a) * 8)) != 8)
			_exit(6);
		close(pmfd);
		return pm_byte(pm);
	}
	case R_RSS:
		return host_rss((u64)va);
	}
	return r < 0 ? -errno : r;
}

static void host_run(long *out, const char *root)
{
	struct sigaction sa = {.sa_handler = on_sig};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	for (int k = 0; k < NSCRIPT; k++) {
		char dir[256];
		snprintf(dir, sizeof(dir), "%s/vmlab-regfile-XXXXXX", root);
		if (!mkdtemp(dir))
			_exit(4);
		int fds[NFD] = {-1, -1, -1, -1};
		for (int i = 0; scripts[k][i].op != R_END; i++)
			out[k * MAXSTEP + i] = host_step(&scripts[k][i], dir, fds);
		for (int i = 0; i < NFD; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		for (int s = 0; s < NSLOT; s++)
			munmap((void *)SLOT_VA(s), VMLAB_PMD_SIZE);
		for (int p = 0; p < 2; p++) {
			char path[320];
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
					     paths[p]) < sizeof(path))
				unlink(path);
		}
		rmdir(dir);
	}
}

/* A directory on a disk filesystem for the host's files, or NULL. */
static const char *host_dir(void)
{
	static const char *const cands[] = {NULL, "/tmp", "/var/tmp", "."};
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		const char *d = i ? cands[i] : getenv("TMPDIR");
		struct statfs sf;
		if (d && !statfs(d, &sf) && sf.f_type != 0x01021994 /* tmpfs */ &&
		    !access(d, W_OK))
			return d;
	}
	return NULL;
}

/* --------------------------------------------------------------- model */

static long model_step(struct env *e, const struct rstep *s,
		       struct vmlab_file **fds)
{
	char path[8];
	u64 va = SLOT_VA(s->slot);
	snprintf(path, sizeof(path), "/%s", paths[s->a & 1]);
	switch (s->op) {
	case R_OPEN: {
		struct vmlab_file *f;
		int err = vmlab_file_open(e->m, path, s->c, &f);
		if (err)
			return err;
		vmlab_file_put(fds[s->fd]);
		fds[s->fd] = f;
		return 0;
	}
	case R_CLOSE:
		vmlab_file_put(fds[s->fd]);
		fds[s->fd] = NULL;
		return 0;
	case R_UNLINK:
		return vmlab_file_unlink(e->m, path);
	case R_TRUNC:
		return vmlab_ftruncate(fds[s->fd], s->a);
	case R_PWRITE:
		memset(hbuf, s->c, s->b);
		return (long)vmlab_file_pwrite(fds[s->fd], hbuf, s->b, s->a);
	case R_PREAD:
		return (long)vmlab_file_pread(fds[s->fd], hbuf, s->b, s->a);
	case R_PUNCH:
		return vmlab_file_punch_hole(fds[s->fd], s->a, s->b);
	case R_ADD:
		return vmlab_file_add_seals(fds[s->fd], (unsigned)s->c);
	case R_GET:
		return vmlab_file_get_seals(fds[s->fd]);
	case R_MMAP: {
		int type = s->c & VALIDATE ? VMLAB_MAP_SHARED_VALIDATE :
			   s->c & SH	   ? VMLAB_MAP_SHARED : VMLAB_MAP_PRIVATE;
		int fixed = (s->c & (VALIDATE | NOREPL)) == VALIDATE ?
				    VMLAB_MAP_FIXED : VMLAB_MAP_FIXED_NOREPLACE;
		s64 a = vmlab_mmap(e->mm, va, map_len(s), s->c & 7, type | fixed |
					   (s->c & SYNC ? VMLAB_MAP_SYNC : 0),
				   fds[s->fd], s->a);
		if (a >= 0)
			assert_int_equal(a, (s64)va);
		return a < 0 ? (long)a : OK;
	}
	case R_MUNMAP:
		return vmlab_munmap(e->mm, va, map_len(s));
	case R_MPROTECT:
		return vmlab_mprotect(e->mm, va, map_len(s), s->c);
	case R_MADV:
		return vmlab_madvise(e->mm, va + s->a * P, map_len(s), s->c);
	case R_READ:
	case R_WRITE: {
		u8 v = (u8)s->c;
		int sig = vmlab_user_access(e->mm, 0, s->op == R_READ ? VMLAB_READ :
								       VMLAB_WRITE,
					    va + s->a, &v, 1);
		return sig ? sig : s->op == R_READ ? VAL(v) : 0;
	}
	case R_PM: {
		u64 pm;
		assert_int_equal(vmlab_pagemap_read(e->mm, va + s->a * P, &pm, 1), 1);
		return pm_byte(pm);
	}
	case R_RSS: {
		struct vmlab_vma_info vi[16];
		size_t n = vmlab_user_vmas(e->mm, vi, 16);
		for (size_t i = 0; i < n && i < 16; i++)
			if (vi[i].start == va)
				return (long)vi[i].rss_pages;
		return -1;
	}
	}
	return -1000;
}

static void test_regfile_scripts(void **state)
{
	(void)state;
	long *host = NULL;
	const char *dir = host_dir();
	if (t_host_is_6_18() && dir) {
		host = t_host_results(NSCRIPT * MAXSTEP * sizeof(long));
		pid_t pid = fork();
		if (!pid) {
			host_run(host, dir);
			_exit(0);
		}
		t_host_wait(pid);
	} else {
		fprintf(stderr, "host older than 6.18 or no disk filesystem: "
				"model only\n");
	}
	for (int k = 0; k < NSCRIPT; k++) {
		struct env e = t_env(1);
		struct vmlab_file *fds[NFD] = {0};
		for (int i = 0; scripts[k][i].op != R_END; i++) {
			assert_true(i < MAXSTEP);
			const struct rstep *s = &scripts[k][i];
			long r = model_step(&e, s, fds);
			t_step_agrees(k, i, s->op, s->want, r,
				      host ? &host[k * MAXSTEP + i] : NULL);
		}
		for (int i = 0; i < NFD; i++)
			vmlab_file_put(fds[i]);
		t_done(&e);
	}
	if (host)
		munmap(host, NSCRIPT * MAXSTEP * sizeof(long));
}

/* Bad input returns the kernel's errno, never an abort; a file lives
 * while it has a name, a handle or a mapping. */
static void test_regfile_bad_input(void **state)
{
	(void)state;
	struct env e = t_env(1);
	struct vmlab_file *f = NULL, *g;
	char longp[80];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(vmlab_file_open(NULL, "/a", O_CREAT, &f), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_open(e.m, "/a", O_CREAT, NULL), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_open(e.m, NULL, O_CREAT, &f), -VMLAB_ENOENT);
	assert_int_equal(vmlab_file_open(e.m, "", O_CREAT, &f), -VMLAB_ENOENT);
	assert_int_equal(vmlab_file_open(e.m, longp, O_CREAT, &f),
			 -VMLAB_ENAMETOOLONG);
	assert_int_equal(vmlab_file_unlink(e.m, longp), -VMLAB_ENAMETOOLONG);
	assert_int_equal(vmlab_file_unlink(e.m, ""), -VMLAB_ENOENT);
	assert_int_equal(vmlab_file_unlink(NULL, "/a"), -VMLAB_EINVAL);
	assert_int_equal(vmlab_file_mode(NULL), -VMLAB_EBADF);
	assert_null(f);
	assert_int_equal(vmlab_file_open(e.m, "/a", O_WRONLY | O_CREAT, &f), 0);
	assert_int_equal(vmlab_file_mode(f), 2);
	assert_int_equal(vmlab_file_pwrite(f, "hello", 5, P), 5);
	assert_int_equal(vmlab_file_size(f), P + 5);
	assert_int_equal(vmlab_file_cached_pages(f), 1);
	/* memfds stay O_RDWR, and a regular file never turns back into one */
	assert_int_equal(vmlab_memfd_create(e.m, "m", &g), 0);
	assert_int_equal(vmlab_file_mode(g), 3);
	vmlab_file_put(g);
	vmlab_file_set_thp_area(f, false);
	assert_int_equal(vmlab_file_get_seals(f), -VMLAB_EINVAL);
	/* O_TRUNC empties it even for a read-only open */
	assert_int_equal(vmlab_file_open(e.m, "/a", O_RDONLY | O_TRUNC, &g), 0);
	assert_int_equal(vmlab_file_size(f), 0);
	assert_int_equal(vmlab_file_id(g), vmlab_file_id(f));
	assert_int_equal(vmlab_ftruncate(f, 2 * P), 0);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, VMLAB_PROT_READ, VMLAB_MAP_SHARED, g, 0);
	assert_true(a > 0);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vmas(e.mm, &vi, 1), 1);
	assert_string_equal(vi.name, "/a");
	assert_int_equal(vi.file_id, vmlab_file_id(f));
	/* no VM_MAYWRITE nor VM_SHARED, VM_MAYSHARE kept */
	assert_int_equal(vi.flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYSHARE |
				     VMLAB_VM_MAYWRITE), VMLAB_VM_MAYSHARE);
	/* unlinked and closed, the mapping keeps the inode */
	assert_int_equal(vmlab_file_unlink(e.m, "/a"), 0);
	vmlab_file_put(f);
	vmlab_file_put(g);
	assert_int_equal(vmlab_file_open(e.m, "/a", O_RDONLY, &g), -VMLAB_ENOENT);
	u8 v = 1;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 0);
	/* MM_FILEPAGES, not MM_SHMEMPAGES; the name shows "(deleted)" now */
	struct vmlab_user_stats st;
	vmlab_user_stats(e.mm, &st);
	assert_int_equal(st.rss_file, 1);
	assert_int_equal(st.rss_shmem, 0);
	assert_int_equal(vmlab_munmap(e.mm, (u64)a, 2 * P), 0);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regfile_scripts),
		cmocka_unit_test(test_regfile_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
