/* SPDX-License-Identifier: MIT */
/*
 * mm-internal interfaces (the kernel's mm/internal.h): what mm code may
 * call and other layers' users may not.  Not installed with the headers.
 */
#ifndef VMLAB_MM_INTERNAL_H
#define VMLAB_MM_INTERNAL_H

#include "vmlab/pgtable.h"

/*
 * walk_page_range_mm(): vmlab_walk_page_range() without the check that
 * refuses install_pte.  Installing PTEs is mm's own business (locking,
 * security, cache maintenance), so only mm code - the guard-region
 * madvise - walks with install_pte; the public walker returns -EINVAL.
 */
int walk_page_range_mm(struct vmlab_machine *m, struct vmlab_mm *mm, u64 start,
		       u64 end, const struct vmlab_walk_ops *ops,
		       void *private);

#endif
