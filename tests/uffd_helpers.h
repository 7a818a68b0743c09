/* SPDX-License-Identifier: MIT */
/* Shared helpers of the userfaultfd tests. */
#ifndef VMLAB_TEST_UFFD_HELPERS_H
#define VMLAB_TEST_UFFD_HELPERS_H

#include "user_helpers.h"
#include "vmlab/userfaultfd.h"

#define UMO VMLAB_UFFD_USER_MODE_ONLY

/* A non-blocking user-mode-only context, negotiated with features. */
static inline struct vmlab_uffd *t_uffd(struct env *e, u64 features)
{
	struct vmlab_uffd *u;
	assert_int_equal(vmlab_userfaultfd(e->mm, UMO | VMLAB_O_NONBLOCK, &u), 0);
	u64 f = features, io;
	assert_int_equal(vmlab_uffdio_api(u, VMLAB_UFFD_API, &f, &io), 0);
	return u;
}

#endif
