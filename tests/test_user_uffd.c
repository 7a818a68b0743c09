/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd, missing mode (src/user/userfaultfd.c): the cases of
 * tools/testing/selftests/mm/uffd-unit-tests.c and of ioctl_userfaultfd(2)
 * that the model covers, in our own words: the API handshake, register and
 * unregister errors and the VMA splits and merges, a missing fault served
 * by COPY or ZEROPAGE from a handler, EEXIST/ENOENT, guard markers never
 * reaching the handler, DONTNEED making the next access fault again, fork
 * dropping the registration, the sleeping fault under the scheduler, and a
 * differential run of the same calls on the host kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user_helpers.h"
#include "vmlab/sched.h"
#include "vmlab/userfaultfd.h"

#define UMO VMLAB_UFFD_USER_MODE_ONLY

static struct vmlab_uffd *t_uffd(struct env *e, u64 features)
{
	struct vmlab_uffd *u;
	assert_int_equal(vmlab_userfaultfd(e->mm, UMO | VMLAB_O_NONBLOCK, &u), 0);
	u64 f = features, io;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), 0);
	return u;
}

static u64 vma_flags(struct env *e, u64 a)
{
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e->mm, a, &vi), 0);
	return vi.flags;
}

/* A handler serving each fault with one page of its byte (or the zero
 * page when fill is 0), recording what it saw. */
struct served {
	int calls;
	u8 fill;
	bool dontwake;
	struct vmlab_uffd_msg last;
	int last_err;
};

static void serve(struct vmlab_uffd *u, const struct vmlab_uffd_msg *msg,
		  void *arg)
{
	struct served *s = arg;
	s->calls++;
	s->last = *msg;
	u64 page = msg->address & ~(P - 1);
	u64 mode = s->dontwake ? VMLAB_UFFDIO_COPY_MODE_DONTWAKE : 0;
	if (s->fill) {
		u8 buf[P];
		memset(buf, s->fill, sizeof(buf));
		s->last_err = vmlab_uffdio_copy(u, page, buf, P, mode, NULL);
	} else {
		s->last_err = vmlab_uffdio_zeropage(u, page, P, mode, NULL);
	}
}

static void test_create_flags(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = NULL;
	/* Kernel faults need CAP_SYS_PTRACE or the sysctl. */
	assert_int_equal(vmlab_userfaultfd(e.mm, 0, &u), -VMLAB_EPERM);
	assert_null(u);
	assert_int_equal(vmlab_userfaultfd(e.mm, VMLAB_O_CLOEXEC, &u),
			 -VMLAB_EPERM);
	/* EPERM comes before the flags' EINVAL. */
	assert_int_equal(vmlab_userfaultfd(e.mm, 0x10, &u), -VMLAB_EPERM);
	assert_int_equal(vmlab_userfaultfd(e.mm, UMO | 0x10, &u), -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_set_caps(e.mm, 1ULL << VMLAB_CAP_SYS_PTRACE), 0);
	assert_int_equal(vmlab_userfaultfd(e.mm, 0x10, &u), -VMLAB_EINVAL);
	assert_int_equal(vmlab_userfaultfd(e.mm, VMLAB_O_CLOEXEC |
					   VMLAB_O_NONBLOCK, &u), 0);
	vmlab_uffd_close(u);
	assert_int_equal(vmlab_user_set_caps(e.mm, 0), 0);
	assert_int_equal(vmlab_user_set_unprivileged_userfaultfd(e.m, true), 0);
	assert_int_equal(vmlab_userfaultfd(e.mm, 0, &u), 0);
	vmlab_uffd_close(u);
	vmlab_uffd_close(NULL);
	t_done(&e);
}

static void test_api_handshake(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u;
	assert_int_equal(vmlab_userfaultfd(e.mm, UMO, &u), 0);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	/* Every ioctl but UFFDIO_API wants the handshake first. */
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), -VMLAB_EINVAL);
	struct vmlab_uffd_msg msg;
	assert_int_equal(vmlab_uffd_read(u, &msg), -VMLAB_EINVAL);
	u64 f = 0, io = 7;
	assert_int_equal(vmlab_uffdio_api(u, 0xab, &f, &io), -VMLAB_EINVAL);
	assert_true(f == 0 && io == 0); /* cleared on failure */
	f = 1ULL << 40;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), -VMLAB_EINVAL);
	f = VMLAB_UFFD_FEATURE_EVENT_FORK; /* needs CAP_SYS_PTRACE */
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), -VMLAB_EPERM);
	f = VMLAB_UFFD_FEATURE_MOVE; /* Linux has it, the model does not */
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), -VMLAB_EINVAL);
	f = VMLAB_UFFD_FEATURE_THREAD_ID;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), 0);
	assert_int_equal(f, VMLAB_UFFD_API_FEATURES);
	assert_int_equal(io, 0x8000000000000003ULL);
	/* A second handshake fails: the features are set once. */
	f = 0;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), -VMLAB_EINVAL);
	assert_true(f == 0 && io == 0);
	assert_int_equal(vmlab_uffd_read(u, &msg), -VMLAB_EAGAIN);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_register_errors(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, 0), *u2 = t_uffd(&e, 0);
	const u64 M = VMLAB_UFFDIO_REGISTER_MODE_MISSING;
	s64 a = vmlab_mmap(e.mm, 0, 10 * P, RW, ANON, NULL, 0);
	assert_true(a > 0);
	u64 io = 0;
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, P, 0, &io), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, P, 1 << 5, &io), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, P,
			 VMLAB_UFFDIO_REGISTER_MODE_WP, &io), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a + 1, P, M, &io), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, P + 1, M, &io), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 0, M, &io), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_register(u, 4096, P, M, &io), -VMLAB_EINVAL);
	/* No VMA in the range. */
	assert_int_equal(vmlab_uffdio_register(u, (u64)a + 20 * P, P, M, &io),
			 -VMLAB_EINVAL);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	/* The middle three pages: the VMA splits in three. */
	assert_int_equal(vmlab_uffdio_register(u, (u64)a + P, 3 * P, M, &io), 0);
	assert_int_equal(io, VMLAB_UFFD_API_RANGE_IOCTLS);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	assert_true(vma_flags(&e, (u64)a + P) & VMLAB_VM_UFFD_MISSING);
	assert_false(vma_flags(&e, (u64)a) & VMLAB_VM_UFFD_MISSING);
	/* Registering again is a no-op; the next page merges in. */
	assert_int_equal(vmlab_uffdio_register(u, (u64)a + P, 4 * P, M, NULL), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	/* Another context's VMA is busy. */
	assert_int_equal(vmlab_uffdio_register(u2, (u64)a, 2 * P, M, NULL),
			 -VMLAB_EBUSY);
	/* u2 next to u: the same flags, but no merge across contexts. */
	assert_int_equal(vmlab_uffdio_register(u2, (u64)a + 5 * P, P, M, NULL), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 4);
	/* Unregister of the lot merges everything back. */
	assert_int_equal(vmlab_uffdio_unregister(u, (u64)a + 20 * P, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_unregister(u, (u64)a + 1, P), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_unregister(u, (u64)a, 5 * P), 0);
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 3);
	vmlab_uffd_close(u2); /* release unregisters its VMA too */
	assert_int_equal(vmlab_user_nr_vmas(e.mm), 1);
	assert_false(vma_flags(&e, (u64)a + 5 * P) & VMLAB_VM_UFFD_MISSING);
	/* Incompatible VMAs: droppable, a regular file, a PFN map. */
	s64 d = vmlab_mmap(e.mm, 0, P, RW, VMLAB_MAP_DROPPABLE | VMLAB_MAP_ANONYMOUS,
			   NULL, 0);
	assert_true(d > 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)d, P, M, NULL), -VMLAB_EINVAL);
	struct vmlab_file *reg;
	assert_int_equal(vmlab_memfd_create(e.m, "regular", &reg), 0);
	vmlab_file_set_thp_area(reg, true);
	assert_int_equal(vmlab_ftruncate(reg, P), 0);
	s64 r = vmlab_mmap(e.mm, 0, P, RW, VMLAB_MAP_PRIVATE, reg, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)r, P, M, NULL), -VMLAB_EINVAL);
	/* A shared mapping that may never be written (write-sealed). */
	struct vmlab_file *sealed;
	assert_int_equal(vmlab_memfd_create_flags(e.m, "sealed",
			 VMLAB_MFD_ALLOW_SEALING, &sealed), 0);
	assert_int_equal(vmlab_ftruncate(sealed, P), 0);
	assert_int_equal(vmlab_file_add_seals(sealed, VMLAB_F_SEAL_WRITE), 0);
	s64 ro = vmlab_mmap(e.mm, 0, P, VMLAB_PROT_READ, VMLAB_MAP_SHARED, sealed, 0);
	assert_true(ro > 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)ro, P, M, NULL), -VMLAB_EPERM);
	vmlab_file_put(reg);
	vmlab_file_put(sealed);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_missing_copy(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, VMLAB_UFFD_FEATURE_THREAD_ID |
					      VMLAB_UFFD_FEATURE_EXACT_ADDRESS);
	struct served s = {.fill = 0x5a};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 4 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	u8 v = 0;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + 2 * P + 17, &v), VMLAB_OK);
	assert_int_equal(v, 0x5a);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.last_err, 0);
	assert_int_equal(s.last.event, VMLAB_UFFD_EVENT_PAGEFAULT);
	assert_int_equal(s.last.address, (u64)a + 2 * P + 17); /* exact */
	assert_int_equal(s.last.flags, 0);
	assert_int_equal(s.last.ptid, vmlab_user_pid(e.mm));
	/* A write fault says so; the copied page is writable at once. */
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 7), VMLAB_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.last.flags, VMLAB_UFFD_PAGEFAULT_FLAG_WRITE);
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + 1, &v), VMLAB_OK);
	assert_int_equal(v, 0x5a);
	struct vmlab_uffd_stats st;
	vmlab_uffd_stats(u, &st);
	assert_true(st.faults == 2 && st.copies == 2 && st.wakes == 2 &&
		    st.waiting == 0 && st.pending == 0);
	/* Present pages fault no more. */
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + 2 * P, &v), VMLAB_OK);
	assert_int_equal(s.calls, 2);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_zeropage_eexist_enoent(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, 0);
	struct served s = {.fill = 0};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 3 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	u8 v = 1;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.last_err, 0);
	struct vmlab_vma_info vi;
	assert_int_equal(vmlab_user_vma_at(e.mm, (u64)a, &vi), 0);
	assert_int_equal(vi.rss_pages, 0); /* the shared zero page */
	u8 buf[2 * P];
	memset(buf, 3, sizeof(buf));
	s64 n = 0;
	/* Something is mapped: EEXIST, and the field says so. */
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a, buf, P, 0, &n), -VMLAB_EEXIST);
	assert_int_equal(n, -VMLAB_EEXIST);
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a, P, 0, &n), -VMLAB_EEXIST);
	/* Part done: EAGAIN with the bytes filled. */
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a + 2 * P, buf, P, 0, &n), 0);
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a + P, buf, 2 * P, 0, &n),
			 -VMLAB_EAGAIN);
	assert_int_equal(n, (s64)P);
	/* Past the registered VMA, or outside any: ENOENT. */
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a + 2 * P, 2 * P, 0, &n),
			 -VMLAB_ENOENT);
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a + 3 * P, P, 0, &n),
			 -VMLAB_ENOENT);
	/* Modes: unknown bits EINVAL before anything is looked at (the
	 * field is left alone); WP without a WP registration EINVAL. */
	n = 99;
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a, P, 2, &n), -VMLAB_EINVAL);
	assert_int_equal(n, 99);
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a, buf, P, 4, &n), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a, buf, P,
			 VMLAB_UFFDIO_COPY_MODE_WP, &n), -VMLAB_EINVAL);
	assert_int_equal(n, -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a + 1, buf, P, 0, &n), -VMLAB_EINVAL);
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a, NULL, P, 0, &n), -VMLAB_EFAULT);
	/* WAKE only validates its range. */
	assert_int_equal(vmlab_uffdio_wake(u, (u64)a + 100 * P, P), 0);
	assert_int_equal(vmlab_uffdio_wake(u, (u64)a, 0), -VMLAB_EINVAL);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_guard_never_reaches_handler(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, 0);
	struct served s = {.fill = 0x11};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	s64 a = vmlab_mmap(e.mm, 0, 10 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 10 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, 10 * P,
				       VMLAB_MADV_GUARD_INSTALL), 0);
	for (int i = 0; i < 10; i++) {
		u8 v;
		assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + i * P, &v),
				 VMLAB_SIGSEGV);
		assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a + i * P, 1),
				 VMLAB_SIGSEGV);
	}
	assert_int_equal(s.calls, 0);
	/* 6.18 lets UFFDIO_COPY overwrite a marker, guard ones too
	 * (pte_none_mostly()); UFFDIO_ZEROPAGE wants a none PTE. */
	s64 n;
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a, P, 0, &n), -VMLAB_EEXIST);
	u8 buf[P];
	memset(buf, 'x', P);
	assert_int_equal(vmlab_uffdio_copy(u, (u64)a, buf, P, 0, &n), 0);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 'x');
	assert_int_equal(vmlab_guard_scan(e.mm, (u64)a, (u64)a + 10 * P, NULL, 0), 1);
	/* Guard remove: the pages are missing again, the handler sees them. */
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, 10 * P,
				       VMLAB_MADV_GUARD_REMOVE), 0);
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + P, &v), VMLAB_OK);
	assert_int_equal(v, 0x11);
	assert_int_equal(s.calls, 1);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_dontneed_refaults(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, 0);
	struct served s = {.fill = 0x22};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 2 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 9), VMLAB_OK);
	assert_int_equal(s.calls, 1);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 9);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, 2 * P, VMLAB_MADV_DONTNEED), 0);
	s.fill = 0x33;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 0x33);
	assert_int_equal(s.calls, 2);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_fork_drops_registration(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, 0);
	struct served s = {.fill = 0x44};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a + P, 2 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a + P, 1), VMLAB_OK);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	/* The child's VMAs have no uffd flags (they do not merge: the
	 * split copies keep their own anon_vma chains). */
	struct vmlab_vma_info vi[4];
	size_t n = vmlab_user_vmas(c, vi, 4);
	for (size_t i = 0; i < n; i++)
		assert_false(vi[i].flags & VMLAB_VM_UFFD_MISSING);
	/* The copied page is there; a missing one faults normally. */
	u8 v;
	assert_int_equal(vmlab_user_read8(c, 0, (u64)a + P, &v), VMLAB_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vmlab_user_read8(c, 0, (u64)a + 2 * P, &v), VMLAB_OK);
	assert_int_equal(v, 0);
	assert_int_equal(s.calls, 1);
	/* The parent's registration is intact. */
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + 2 * P, &v), VMLAB_OK);
	assert_int_equal(v, 0x44);
	assert_int_equal(s.calls, 2);
	vmlab_user_mm_destroy(c);
	vmlab_uffd_close(u);
	t_done(&e);
}

static void test_unresolved_and_sigbus(void **state)
{
	(void)state;
	struct env e = t_env(2);
	vmlab_set_quiet(e.m, true);
	struct vmlab_uffd *u = t_uffd(&e, 0);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 2 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	/* No handler and no scheduler run: nothing can wake the task. */
	u64 w0 = vmlab_nr_warnings(e.m);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_SIGBUS);
	assert_int_equal(vmlab_nr_warnings(e.m), w0 + 1);
	/* A handler that fills with DONTWAKE and never wakes: the same. */
	struct served s = {.fill = 0x55, .dontwake = true};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_SIGBUS);
	assert_int_equal(s.last_err, 0);
	/* The page was filled: the retried access finds it. */
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 0x55);
	/* A user-mode-only context refuses kernel faults (populate). */
	assert_int_equal(vmlab_madvise(e.mm, (u64)a + P, P,
				       VMLAB_MADV_POPULATE_READ), -VMLAB_EFAULT);
	vmlab_uffd_close(u);
	/* UFFD_FEATURE_SIGBUS: no message, a signal. */
	u = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 2 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + P, &v), VMLAB_SIGBUS);
	struct vmlab_uffd_stats st;
	vmlab_uffd_stats(u, &st);
	assert_int_equal(st.faults, 0);
	vmlab_uffd_close(u);
	/* Released: the range faults as plain anonymous memory. */
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + P, &v), VMLAB_OK);
	t_done(&e);
}

static void test_shmem_copy(void **state)
{
	(void)state;
	struct env e = t_env(2);
	struct vmlab_uffd *u = t_uffd(&e, 0);
	struct served s = {.fill = 0x66};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	struct vmlab_file *f;
	assert_int_equal(vmlab_memfd_create(e.m, "uffd-shm", &f), 0);
	assert_int_equal(vmlab_ftruncate(f, 2 * P), 0);
	s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, VMLAB_MAP_SHARED, f, 0);
	s64 b = vmlab_mmap(e.mm, 0, 2 * P, RW, VMLAB_MAP_SHARED, f, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 2 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 0x66);
	assert_int_equal(vmlab_file_cached_pages(f), 1);
	/* The other mapping sees the page-cache page, no fault to us. */
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)b, &v), VMLAB_OK);
	assert_int_equal(v, 0x66);
	assert_int_equal(s.calls, 1);
	/* A page already in the cache is not missing. */
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)b + P, 2), VMLAB_OK);
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + P, &v), VMLAB_OK);
	assert_int_equal(v, 2);
	assert_int_equal(s.calls, 1);
	s64 n;
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a + P, P, 0, &n), -VMLAB_EEXIST);
	vmlab_file_put(f);
	vmlab_uffd_close(u);
	t_done(&e);
}

/* ------------------------------------------------ under the scheduler */

struct prog {
	struct env *e;
	struct vmlab_uffd *u;
	u64 a;
	int pages, ok, served;
};

static void faulter(struct vmlab_machine *m, int cpu, void *arg)
{
	struct prog *p = arg;
	(void)m;
	assert_int_equal(vmlab_user_switch(p->e->mm, cpu), 0);
	for (int i = 0; i < p->pages; i++) {
		u8 v = 0;
		int r = vmlab_user_read8(p->e->mm, cpu, p->a + (u64)i * P, &v);
		p->ok += r == VMLAB_OK && v == 0x77;
	}
}

/* The monitor thread of uffd-unit-tests: read, COPY, until done. */
static void monitor(struct vmlab_machine *m, int cpu, void *arg)
{
	struct prog *p = arg;
	(void)m;
	(void)cpu;
	u8 buf[P];
	memset(buf, 0x77, P);
	while (p->served < p->pages) {
		struct vmlab_uffd_msg msg;
		assert_int_equal(vmlab_uffd_read(p->u, &msg), 0);
		assert_int_equal(vmlab_uffdio_copy(p->u, msg.address, buf, P, 0,
						   NULL), 0);
		p->served++;
	}
}

static void copy77(struct vmlab_uffd *u, const struct vmlab_uffd_msg *msg,
		   void *arg)
{
	struct prog *p = arg;
	u8 buf[P];
	memset(buf, 0x77, P);
	assert_int_equal(vmlab_uffdio_copy(u, msg->address, buf, P, 0, NULL), 0);
	p->served++;
}

static int run(struct env *e, struct prog *p, bool with_monitor, u64 seed)
{
	struct vmlab_sched_config cfg;
	vmlab_sched_config_default(&cfg);
	cfg.seed = seed;
	struct vmlab_sched *s;
	assert_int_equal(vmlab_sched_create(e->m, &cfg, &s), 0);
	assert_int_equal(vmlab_sched_spawn(s, 0, faulter, p, "faulter"), 0);
	if (with_monitor)
		assert_int_equal(vmlab_sched_spawn(s, 1, monitor, p, "monitor"), 0);
	int err = vmlab_sched_run(s);
	vmlab_sched_destroy(s);
	return err;
}

static void test_sched_monitor_and_handler(void **state)
{
	(void)state;
	for (u64 seed = 1; seed <= 8; seed++) {
		struct env e = t_env(2);
		vmlab_set_quiet(e.m, true);
		struct vmlab_uffd *u;
		/* A blocking descriptor: read() sleeps for the next fault. */
		assert_int_equal(vmlab_userfaultfd(e.mm, UMO, &u), 0);
		u64 f = 0;
		assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, NULL), 0);
		s64 a = vmlab_mmap(e.mm, 0, 8 * P, RW, ANON, NULL, 0);
		assert_int_equal(vmlab_uffdio_register(u, (u64)a, 8 * P,
				 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
		struct prog p = {.e = &e, .u = u, .a = (u64)a, .pages = 4};
		assert_int_equal(run(&e, &p, true, seed), 0);
		assert_int_equal(p.ok, 4);
		assert_int_equal(p.served, 4);
		/* The handler on the kworker serves the other four. */
		struct prog q = {.e = &e, .u = u, .a = (u64)a + 4 * P, .pages = 4};
		assert_int_equal(vmlab_uffd_set_handler(u, copy77, &q), 0);
		assert_int_equal(run(&e, &q, false, seed), 0);
		assert_int_equal(q.ok, 4);
		assert_int_equal(q.served, 4);
		/* Nobody to serve a fault: the task would hang, a deadlock. */
		assert_int_equal(vmlab_uffd_set_handler(u, NULL, NULL), 0);
		assert_int_equal(vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_DONTNEED), 0);
		struct prog r = {.e = &e, .u = u, .a = (u64)a, .pages = 1};
		assert_int_equal(run(&e, &r, false, seed), -VMLAB_EDEADLK);
		struct vmlab_uffd_stats st;
		vmlab_uffd_stats(u, &st);
		assert_int_equal(st.waiting, 1);
		vmlab_uffd_close(u);
		t_done(&e);
	}
}

/* ------------------------------------------------------ against the host */


/* Run fn(results) in a forked child: false when the host cannot (no
 * userfaultfd, exit 2), else its exit status must be 0. */
static bool host_fork_run(void (*fn)(long *), long *results)
{
	pid_t pid = fork();
	if (pid == 0)
		fn(results);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 2)
		return false;
	assert_int_equal(WEXITSTATUS(st), 0);
	return true;
}

#define NR_HOST 12

/* The same calls on the model (r) and the host (h): errno-style codes. */
static void host_run(long *h)
{
	u64 *hio = (u64 *)(void *)(h + NR_HOST);
	long ps = sysconf(_SC_PAGESIZE);
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
						      UFFD_USER_MODE_ONLY);
	if (fd < 0)
		_exit(2);
#define E(x) ((x) ? -errno : 0)
	struct uffdio_api api = {.api = 0xab};
	h[0] = E(ioctl(fd, UFFDIO_API, &api));
	api = (struct uffdio_api){.api = UFFD_API};
	h[1] = E(ioctl(fd, UFFDIO_API, &api));
	hio[0] = api.ioctls;
	char *p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {.range = {(unsigned long)p + 1, (unsigned long)ps},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	h[2] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	reg.range.start = (unsigned long)p;
	reg.range.len = 3 * ps;
	h[3] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	hio[1] = reg.ioctls;
	h[4] = E(madvise(p, ps, 102 /* MADV_GUARD_INSTALL */));
	struct uffdio_zeropage z = {.range = {(unsigned long)p, (unsigned long)ps}};
	h[5] = E(ioctl(fd, UFFDIO_ZEROPAGE, &z));
	char src[65536];
	memset(src, 'x', sizeof(src));
	struct uffdio_copy c = {.dst = (unsigned long)p, .src = (unsigned long)src,
				.len = (unsigned long)ps};
	h[6] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[7] = E(ioctl(fd, UFFDIO_COPY, &c));
	z.range.start = (unsigned long)p + ps;
	h[8] = E(ioctl(fd, UFFDIO_ZEROPAGE, &z));
	z.range.start = (unsigned long)p + 2 * ps;
	z.range.len = 2 * ps;
	h[9] = E(ioctl(fd, UFFDIO_ZEROPAGE, &z));
	c.dst = (unsigned long)p + ps;
	c.len = 2 * ps;
	h[10] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[11] = c.copy;
#undef E
	_exit(0);
}

static void test_host_differential(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P)
		skip();
	long *h = t_host_results(NR_HOST * sizeof(long) + 2 * sizeof(u64));
	u64 *hio = (u64 *)(void *)(h + NR_HOST);
	if (!host_fork_run(host_run, h))
		skip(); /* no userfaultfd on this host */
	struct env e = t_env(2);
	long r[NR_HOST];
	u64 rio[2];
	struct vmlab_uffd *u;
	assert_int_equal(vmlab_userfaultfd(e.mm, UMO | VMLAB_O_NONBLOCK, &u), 0);
	u64 f = 0;
	r[0] = vmlab_uffdio_api(u, 0xab, &f, &rio[0]);
	r[1] = vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &rio[0]);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	const u64 M = VMLAB_UFFDIO_REGISTER_MODE_MISSING;
	r[2] = vmlab_uffdio_register(u, (u64)a + 1, P, M, NULL);
	r[3] = vmlab_uffdio_register(u, (u64)a, 3 * P, M, &rio[1]);
	r[4] = vmlab_madvise(e.mm, (u64)a, P, VMLAB_MADV_GUARD_INSTALL);
	r[5] = vmlab_uffdio_zeropage(u, (u64)a, P, 0, NULL);
	u8 src[2 * P];
	memset(src, 'x', sizeof(src));
	r[6] = vmlab_uffdio_copy(u, (u64)a, src, P, 0, NULL);
	r[7] = vmlab_uffdio_copy(u, (u64)a, src, P, 0, NULL);
	r[8] = vmlab_uffdio_zeropage(u, (u64)a + P, P, 0, NULL);
	r[9] = vmlab_uffdio_zeropage(u, (u64)a + 2 * P, 2 * P, 0, NULL);
	s64 n;
	r[10] = vmlab_uffdio_copy(u, (u64)a + P, src, 2 * P, 0, &n);
	r[11] = n;
	for (int i = 0; i < NR_HOST; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "call %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	/* The ioctls agree but for those the model lacks (MOVE, POISON). */
	assert_int_equal(rio[0], hio[0]);
	u64 lacks = 1ULL << VMLAB_UFFDIO_MOVE_BIT | 1ULL << VMLAB_UFFDIO_POISON_BIT;
	assert_int_equal(rio[1], hio[1] & ~lacks);
	vmlab_uffd_close(u);
	t_done(&e);
}

/* Registration's life on the host and on the model, seen through
 * UFFD_FEATURE_SIGBUS (a registered missing page is SIGBUS at once):
 * unregister through another context, unregister over unregistered VMAs,
 * mremap (the moved part loses it, the rest keeps it), fork, close, a
 * range with a hole, and populate on a user-mode-only context. */
#define NR_LIFE 19

static sigjmp_buf life_jb;

static void life_sig(int sig)
{
	siglongjmp(life_jb, sig);
}

static long host_touch(char *p)
{
	if (sigsetjmp(life_jb, 1))
		return 1;
	volatile char c = *p;
	(void)c;
	return 0;
}

static long host_vmas(char *lo, char *hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	long n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a = strtoul(line, NULL, 16);
		n += a >= (unsigned long)lo && a < (unsigned long)hi;
	}
	if (f)
		fclose(f);
	return n;
}

static int host_uffd(__u64 features)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
						     UFFD_USER_MODE_ONLY);
	struct uffdio_api api = {.api = UFFD_API, .features = features};
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api))
		_exit(2);
	return fd;
}

static void host_life(long *h)
{
	const long ps = 4096;
#define E(x) ((x) ? -errno : 0)
	signal(SIGBUS, life_sig);
	int fd = host_uffd(UFFD_FEATURE_SIGBUS), fd2 = host_uffd(UFFD_FEATURE_SIGBUS);
	char *p = mmap(NULL, 48 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p + 16 * ps, 32 * ps); /* keeps mremap's target free */
	struct uffdio_register reg = {.range = {(unsigned long)p + 2 * ps, 4 * ps},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	h[0] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	h[1] = host_vmas(p, p + 16 * ps);
	h[2] = host_touch(p + 2 * ps);
	struct uffdio_range ur = {(unsigned long)p + 3 * ps, ps};
	h[3] = E(ioctl(fd2, UFFDIO_UNREGISTER, &ur));
	h[4] = host_touch(p + 3 * ps);
	ur = (struct uffdio_range){(unsigned long)p, 16 * ps};
	h[5] = E(ioctl(fd, UFFDIO_UNREGISTER, &ur));
	h[6] = host_vmas(p, p + 16 * ps);
	h[7] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	char *q = mremap(p + 2 * ps, 2 * ps, 2 * ps, MREMAP_MAYMOVE | MREMAP_FIXED,
			 p + 32 * ps);
	h[8] = q == MAP_FAILED ? -errno : 0;
	h[9] = host_touch(p + 32 * ps);
	h[10] = host_touch(p + 4 * ps);
	char *s = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range = (struct uffdio_range){(unsigned long)s, 4 * ps};
	h[11] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	pid_t pid = fork();
	if (pid == 0) {
		h[12] = host_touch(s);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	h[13] = host_touch(s + ps);
	close(fd);
	h[14] = host_touch(s + 2 * ps);
	h[15] = host_vmas(s, s + 4 * ps);
	int fd3 = host_uffd(UFFD_FEATURE_SIGBUS);
	char *t = mmap(NULL, 6 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(t + 2 * ps, 2 * ps);
	reg.range = (struct uffdio_range){(unsigned long)t, 6 * ps};
	h[16] = E(ioctl(fd3, UFFDIO_REGISTER, &reg));
	h[17] = host_touch(t + 4 * ps);
	int fd4 = host_uffd(0);
	char *w = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range = (struct uffdio_range){(unsigned long)w, 2 * ps};
	if (ioctl(fd4, UFFDIO_REGISTER, &reg))
		_exit(3);
	h[18] = E(madvise(w, ps, MADV_POPULATE_READ));
#undef E
	_exit(0);
}

static long model_touch(struct vmlab_user_mm *mm, u64 a)
{
	u8 v;
	int r = vmlab_user_read8(mm, 0, a, &v);
	assert_true(r == VMLAB_OK || r == VMLAB_SIGBUS);
	return r == VMLAB_SIGBUS;
}

static long model_vmas(struct vmlab_user_mm *mm, u64 lo, u64 hi)
{
	struct vmlab_vma_info vi[64];
	size_t n = vmlab_user_vmas(mm, vi, 64);
	long c = 0;
	for (size_t i = 0; i < n && i < 64; i++)
		c += vi[i].start >= lo && vi[i].start < hi;
	return c;
}

static void test_host_registration_life(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P)
		skip();
	long *h = t_host_results(NR_LIFE * sizeof(long));
	if (!host_fork_run(host_life, h))
		skip(); /* no userfaultfd on this host */
	struct env e = t_env(2);
	long r[NR_LIFE];
	const u64 M = VMLAB_UFFDIO_REGISTER_MODE_MISSING;
	struct vmlab_uffd *u = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS),
			  *u2 = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	u64 p = (u64)vmlab_mmap(e.mm, 0, 48 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_munmap(e.mm, p + 16 * P, 32 * P), 0);
	r[0] = vmlab_uffdio_register(u, p + 2 * P, 4 * P, M, NULL);
	r[1] = model_vmas(e.mm, p, p + 16 * P);
	r[2] = model_touch(e.mm, p + 2 * P);
	r[3] = vmlab_uffdio_unregister(u2, p + 3 * P, P);
	r[4] = model_touch(e.mm, p + 3 * P);
	r[5] = vmlab_uffdio_unregister(u, p, 16 * P);
	r[6] = model_vmas(e.mm, p, p + 16 * P);
	r[7] = vmlab_uffdio_register(u, p + 2 * P, 4 * P, M, NULL);
	s64 q = vmlab_mremap(e.mm, p + 2 * P, 2 * P, 2 * P,
			     VMLAB_MREMAP_MAYMOVE | VMLAB_MREMAP_FIXED, p + 32 * P);
	r[8] = q < 0 ? q : 0;
	r[9] = model_touch(e.mm, p + 32 * P);
	r[10] = model_touch(e.mm, p + 4 * P);
	u64 s = (u64)vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	r[11] = vmlab_uffdio_register(u, s, 4 * P, M, NULL);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	r[12] = model_touch(c, s);
	vmlab_user_mm_destroy(c);
	r[13] = model_touch(e.mm, s + P);
	vmlab_uffd_close(u);
	r[14] = model_touch(e.mm, s + 2 * P);
	r[15] = model_vmas(e.mm, s, s + 4 * P);
	struct vmlab_uffd *u3 = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	u64 t = (u64)vmlab_mmap(e.mm, 0, 6 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_munmap(e.mm, t + 2 * P, 2 * P), 0);
	r[16] = vmlab_uffdio_register(u3, t, 6 * P, M, NULL);
	r[17] = model_touch(e.mm, t + 4 * P);
	struct vmlab_uffd *u4 = t_uffd(&e, 0);
	u64 w = (u64)vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u4, w, 2 * P, M, NULL), 0);
	r[18] = vmlab_madvise(e.mm, w, P, VMLAB_MADV_POPULATE_READ);
	for (int i = 0; i < NR_LIFE; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "step %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	vmlab_uffd_close(u2);
	vmlab_uffd_close(u3);
	vmlab_uffd_close(u4);
	t_done(&e);
}

/* THP and a registered range, on the host (enabled = madvise or always)
 * and the model: the fault goes to userfaultfd, not to a huge page, and
 * MADV_COLLAPSE refuses a uffd-armed range with none PTEs (EBUSY, the
 * thp_scan_exceed_none_pte path) instead of zero-filling missing pages. */
#define NR_THP 5

static void host_thp(long *h)
{
	const long M = 2L << 20, ps = 4096;
#define E(x) ((x) ? -errno : 0)
	signal(SIGBUS, life_sig);
	char *r = mmap(NULL, 2 * M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = (char *)(((unsigned long)r + M - 1) & ~(M - 1));
	if (madvise(p, M, MADV_HUGEPAGE))
		_exit(2);
	int fd = host_uffd(UFFD_FEATURE_SIGBUS);
	struct uffdio_register reg = {.range = {(unsigned long)p, (unsigned long)M},
				      .mode = UFFDIO_REGISTER_MODE_MISSING};
	h[0] = E(ioctl(fd, UFFDIO_REGISTER, &reg));
	h[1] = host_touch(p);
	char src[4096];
	memset(src, 1, sizeof(src));
	struct uffdio_copy c = {.dst = (unsigned long)p, .src = (unsigned long)src,
				.len = (unsigned long)ps};
	h[2] = E(ioctl(fd, UFFDIO_COPY, &c));
	h[3] = E(madvise(p, M, VMLAB_MADV_COLLAPSE));
	h[4] = host_touch(p + ps);
#undef E
	_exit(0);
}

static bool host_thp_mode(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && !strstr(buf, "[never]");
	fclose(f);
	return ok;
}

static void test_host_thp_armed(void **state)
{
	(void)state;
	if (!t_host_is_6_18() || sysconf(_SC_PAGESIZE) != (long)P ||
	    !host_thp_mode())
		skip();
	long *h = t_host_results(NR_THP * sizeof(long));
	if (!host_fork_run(host_thp, h))
		skip();
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_thp(e.m, VMLAB_THP_MADVISE), 0);
	const u64 M = VMLAB_PMD_SIZE;
	u64 r0 = (u64)vmlab_mmap(e.mm, 0, 2 * M, RW, ANON, NULL, 0);
	u64 p = (r0 + M - 1) & ~(M - 1);
	assert_int_equal(vmlab_madvise(e.mm, p, M, VMLAB_MADV_HUGEPAGE), 0);
	struct vmlab_uffd *u = t_uffd(&e, VMLAB_UFFD_FEATURE_SIGBUS);
	long r[NR_THP];
	r[0] = vmlab_uffdio_register(u, p, M, VMLAB_UFFDIO_REGISTER_MODE_MISSING,
				     NULL);
	r[1] = model_touch(e.mm, p);
	u8 src[P];
	memset(src, 1, sizeof(src));
	r[2] = vmlab_uffdio_copy(u, p, src, P, 0, NULL);
	struct vmlab_thp_vmstat st0, st1;
	vmlab_user_thp_vmstat(e.m, &st0);
	r[3] = vmlab_madvise(e.mm, p, M, VMLAB_MADV_COLLAPSE);
	vmlab_user_thp_vmstat(e.m, &st1);
	r[4] = model_touch(e.mm, p + P);
	for (int i = 0; i < NR_THP; i++) {
		if (r[i] != h[i])
			fprintf(stderr, "step %d: model %ld, host %ld\n", i, r[i], h[i]);
		assert_int_equal(r[i], h[i]);
	}
	assert_int_equal(vmlab_user_thp_mapped(e.mm, p), 0);
	assert_int_equal(st1.thp_fault_alloc, 0);
	assert_int_equal(st1.thp_scan_exceed_none_pte,
			 st0.thp_scan_exceed_none_pte + 1);
	vmlab_uffd_close(u);
	t_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_flags),
		cmocka_unit_test(test_api_handshake),
		cmocka_unit_test(test_register_errors),
		cmocka_unit_test(test_missing_copy),
		cmocka_unit_test(test_zeropage_eexist_enoent),
		cmocka_unit_test(test_guard_never_reaches_handler),
		cmocka_unit_test(test_dontneed_refaults),
		cmocka_unit_test(test_fork_drops_registration),
		cmocka_unit_test(test_unresolved_and_sigbus),
		cmocka_unit_test(test_shmem_copy),
		cmocka_unit_test(test_sched_monitor_and_handler),
		cmocka_unit_test(test_host_differential),
		cmocka_unit_test(test_host_registration_life),
		cmocka_unit_test(test_host_thp_armed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
