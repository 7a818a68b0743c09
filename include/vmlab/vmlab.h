/* SPDX-License-Identifier: MIT */
/* vmlab: an executable model of the Linux memory-mapping subsystem. */
#ifndef VMLAB_VMLAB_H
#define VMLAB_VMLAB_H

#include "types.h"
#include "machine.h"
#include "pgtable.h"
#include "tlb.h"
#include "checker.h"
#include "observer.h"
#include "directmap.h"
#include "vmalloc.h"
#include "kasan.h"
#include "execmem.h"
#include "user.h"
#include "maps.h"
#include "replay.h"
#include "mutant.h"

#define VMLAB_VERSION "0.1.0"

/*
 * Create a machine and boot its kernel services: init_mm, the direct map
 * (and each service as it lands).  0, -VMLAB_EINVAL or -VMLAB_ENOMEM
 * (e.g. a machine too small to hold its own page tables).
 */
int vmlab_boot(const struct vmlab_config *cfg, struct vmlab_machine **out);

#endif
