/* SPDX-License-Identifier: MIT */
/*
 * userfaultfd, missing mode (src/user/userfaultfd.c): the cases of
 * tools/testing/selftests/mm/uffd-unit-tests.c and of ioctl_userfaultfd(2)
 * that the model covers, in our own words: the API handshake, register and
 * unregister errors and the VMA splits and merges, a missing fault served
 * by COPY or ZEROPAGE from a handler, EEXIST/ENOENT, guard markers never
 * reaching the handler, DONTNEED making the next access fault again, fork
 * dropping the registration, kernel (populate) faults, and the sleeping
 * fault under the scheduler.  test_user_uffd_host.c runs the same calls
 * on the host kernel.
 */
#include "uffd_helpers.h"
#include "vmlab/sched.h"

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
	/* A closed descriptor: EBADF, not freed memory. */
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), -VMLAB_EBADF);
	assert_int_equal(vmlab_uffd_read(u, &msg), -VMLAB_EBADF);
	assert_int_equal(vmlab_uffdio_zeropage(u, (u64)a, P, 0, NULL), -VMLAB_EBADF);
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), -VMLAB_EBADF);
	assert_int_equal(vmlab_uffd_set_handler(u, NULL, NULL), -VMLAB_EBADF);
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

/* UFFD_FEATURE_EVENT_FORK: the child gets a context of its own, announced
 * to the parent's monitor before fork returns; COPY on the parent's is
 * EAGAIN until then; unread (no monitor, outside a run) the child's
 * registration is dropped. */
struct forkmon {
	struct vmlab_uffd *child;
	int forks, faults, copy_during_fork;
	struct served serve_child;
};

static void fork_monitor(struct vmlab_uffd *u, const struct vmlab_uffd_msg *msg,
			 void *arg)
{
	struct forkmon *f = arg;
	u8 buf[P];
	memset(buf, 0x61, P);
	if (msg->event == VMLAB_UFFD_EVENT_FORK) {
		f->forks++;
		f->child = msg->ufd;
		assert_non_null(f->child);
		assert_int_equal(vmlab_uffd_set_handler(f->child, serve,
							&f->serve_child), 0);
		/* mmap_changing: the fork is not over yet */
		f->copy_during_fork = vmlab_uffdio_copy(u, (u64)0x10000000, buf,
							P, 0, NULL);
		return;
	}
	f->faults++;
	assert_int_equal(vmlab_uffdio_copy(u, msg->address & ~(P - 1), buf, P,
					   0, NULL), 0);
}

static void test_event_fork(void **state)
{
	(void)state;
	struct env e = t_env(2);
	vmlab_set_quiet(e.m, true);
	struct vmlab_uffd *u = NULL;
	assert_int_equal(vmlab_userfaultfd(e.mm, UMO | VMLAB_O_NONBLOCK, &u), 0);
	u64 f = VMLAB_UFFD_FEATURE_EVENT_FORK;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, NULL), -VMLAB_EPERM);
	vmlab_uffd_close(u);
	assert_int_equal(vmlab_user_set_caps(e.mm, 1ULL << VMLAB_CAP_SYS_PTRACE), 0);
	u = t_uffd(&e, VMLAB_UFFD_FEATURE_EVENT_FORK);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 4 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	struct forkmon fm = {.serve_child = {.fill = 0x63}};
	assert_int_equal(vmlab_uffd_set_handler(u, fork_monitor, &fm), 0);
	assert_int_equal(vmlab_user_write8(e.mm, 0, (u64)a, 1), VMLAB_OK);
	struct vmlab_user_mm *c;
	assert_int_equal(vmlab_fork(e.mm, &c), 0);
	assert_int_equal(fm.forks, 1);
	assert_int_equal(fm.copy_during_fork, -VMLAB_EAGAIN);
	assert_int_equal(vmlab_uffd_mm(fm.child), c);
	/* The child's copy is registered on the child's context. */
	assert_true(vma_flags(&(struct env){.m = e.m, .mm = c}, (u64)a + P) &
		    VMLAB_VM_UFFD_MISSING);
	u8 v;
	assert_int_equal(vmlab_user_read8(c, 0, (u64)a + P, &v), VMLAB_OK);
	assert_int_equal(v, 0x63);
	assert_int_equal(fm.serve_child.calls, 1);
	assert_int_equal(vmlab_user_read8(c, 0, (u64)a, &v), VMLAB_OK);
	assert_int_equal(v, 1); /* copied by fork, no fault */
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + 2 * P, &v), VMLAB_OK);
	assert_int_equal(v, 0x61);
	assert_int_equal(fm.faults, 2); /* a before the fork, a + 2P */
	/* Nobody to read the event: the grandchild is left unregistered. */
	assert_int_equal(vmlab_uffd_set_handler(fm.child, NULL, NULL), 0);
	struct vmlab_user_mm *g;
	u64 w0 = vmlab_nr_warnings(e.m);
	assert_int_equal(vmlab_fork(c, &g), 0);
	assert_int_equal(vmlab_nr_warnings(e.m), w0 + 1);
	assert_false(vma_flags(&(struct env){.m = e.m, .mm = g}, (u64)a + P) &
		     VMLAB_VM_UFFD_MISSING);
	assert_int_equal(vmlab_user_read8(g, 0, (u64)a + 3 * P, &v), VMLAB_OK);
	assert_int_equal(v, 0);
	vmlab_user_mm_destroy(g);
	vmlab_uffd_close(fm.child);
	vmlab_user_mm_destroy(c);
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

/* fork under the scheduler sleeps until the monitor read()s its event. */
struct forkprog {
	struct env *e;
	struct vmlab_uffd *u, *child_ctx;
	struct vmlab_user_mm *child;
	int forked;
};

static void forker(struct vmlab_machine *m, int cpu, void *arg)
{
	struct forkprog *p = arg;
	(void)m;
	assert_int_equal(vmlab_user_switch(p->e->mm, cpu), 0);
	assert_int_equal(vmlab_fork(p->e->mm, &p->child), 0);
	p->forked = 1;
}

static void fork_reader(struct vmlab_machine *m, int cpu, void *arg)
{
	struct forkprog *p = arg;
	(void)m;
	(void)cpu;
	struct vmlab_uffd_msg msg;
	assert_int_equal(vmlab_uffd_read(p->u, &msg), 0);
	assert_int_equal(msg.event, VMLAB_UFFD_EVENT_FORK);
	assert_false(p->forked); /* fork waits for us */
	p->child_ctx = msg.ufd;
}

static void test_sched_fork_event(void **state)
{
	(void)state;
	for (int reader = 1; reader >= 0; reader--) {
		struct env e = t_env(2);
		vmlab_set_quiet(e.m, true);
		assert_int_equal(vmlab_user_set_caps(e.mm,
				 1ULL << VMLAB_CAP_SYS_PTRACE), 0);
		struct vmlab_uffd *u;
		assert_int_equal(vmlab_userfaultfd(e.mm, UMO, &u), 0);
		u64 f = VMLAB_UFFD_FEATURE_EVENT_FORK;
		assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, NULL), 0);
		s64 a = vmlab_mmap(e.mm, 0, 2 * P, RW, ANON, NULL, 0);
		assert_int_equal(vmlab_uffdio_register(u, (u64)a, 2 * P,
				 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
		struct forkprog p = {.e = &e, .u = u};
		struct vmlab_sched_config cfg;
		vmlab_sched_config_default(&cfg);
		struct vmlab_sched *s;
		assert_int_equal(vmlab_sched_create(e.m, &cfg, &s), 0);
		assert_int_equal(vmlab_sched_spawn(s, 0, forker, &p, "forker"), 0);
		if (reader)
			assert_int_equal(vmlab_sched_spawn(s, 1, fork_reader, &p,
							   "monitor"), 0);
		int err = vmlab_sched_run(s);
		vmlab_sched_destroy(s);
		if (reader) {
			assert_int_equal(err, 0);
			assert_true(p.forked && p.child && p.child_ctx);
			assert_ptr_equal(vmlab_uffd_mm(p.child_ctx), p.child);
			vmlab_uffd_close(p.child_ctx);
			vmlab_user_mm_destroy(p.child);
		} else {
			assert_int_equal(err, -VMLAB_EDEADLK); /* fork hangs */
		}
		vmlab_uffd_close(u);
		t_done(&e);
	}
}

/* A context that may take kernel faults (CAP_SYS_PTRACE): populate's
 * fault (GUP) goes to the handler too, and sleeps until served. */
static void test_kernel_fault_populate(void **state)
{
	(void)state;
	struct env e = t_env(2);
	assert_int_equal(vmlab_user_set_caps(e.mm, 1ULL << VMLAB_CAP_SYS_PTRACE), 0);
	struct vmlab_uffd *u;
	assert_int_equal(vmlab_userfaultfd(e.mm, VMLAB_O_NONBLOCK, &u), 0);
	u64 f = 0;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, NULL), 0);
	struct served s = {.fill = 0x42};
	assert_int_equal(vmlab_uffd_set_handler(u, serve, &s), 0);
	s64 a = vmlab_mmap(e.mm, 0, 4 * P, RW, ANON, NULL, 0);
	assert_int_equal(vmlab_uffdio_register(u, (u64)a, 4 * P,
			 VMLAB_UFFDIO_REGISTER_MODE_MISSING, NULL), 0);
	assert_int_equal(vmlab_madvise(e.mm, (u64)a, 4 * P,
				       VMLAB_MADV_POPULATE_WRITE), 0);
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.last.flags, VMLAB_UFFD_PAGEFAULT_FLAG_WRITE);
	u8 v;
	assert_int_equal(vmlab_user_read8(e.mm, 0, (u64)a + 3 * P, &v), VMLAB_OK);
	assert_int_equal(v, 0x42);
	assert_int_equal(s.calls, 4);
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
		cmocka_unit_test(test_event_fork),
		cmocka_unit_test(test_sched_monitor_and_handler),
		cmocka_unit_test(test_sched_fork_event),
		cmocka_unit_test(test_kernel_fault_populate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
