/* SPDX-License-Identifier: MIT */
/*
 * vmlab basic types, error codes and size constants.
 *
 * Error codes are the kernel's, negated, so that a function returning int
 * reads like kernel code: 0 on success, -VMLAB_EINVAL and so on on failure.
 */
#ifndef VMLAB_TYPES_H
#define VMLAB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

/* errno values as Linux defines them (asm-generic/errno-base.h). */
#define VMLAB_EPERM 1
#define VMLAB_ENOENT 2
#define VMLAB_EINTR 4
#define VMLAB_EIO 5
#define VMLAB_E2BIG 7
#define VMLAB_EAGAIN 11
#define VMLAB_ENOMEM 12
#define VMLAB_EFAULT 14
#define VMLAB_EBUSY 16
#define VMLAB_EEXIST 17
#define VMLAB_EINVAL 22
#define VMLAB_ENOSPC 28
#define VMLAB_ERANGE 34
#define VMLAB_ENOSYS 38

#define VMLAB_PAGE_SHIFT 12
#define VMLAB_PAGE_SIZE (1ULL << VMLAB_PAGE_SHIFT)
#define VMLAB_PAGE_MASK (~(VMLAB_PAGE_SIZE - 1))
#define VMLAB_PMD_SHIFT 21
#define VMLAB_PMD_SIZE (1ULL << VMLAB_PMD_SHIFT)
#define VMLAB_PUD_SHIFT 30
#define VMLAB_PUD_SIZE (1ULL << VMLAB_PUD_SHIFT)
#define VMLAB_PGDIR_SHIFT 39
#define VMLAB_PTRS_PER_TABLE 512

#define VMLAB_KiB (1ULL << 10)
#define VMLAB_MiB (1ULL << 20)
#define VMLAB_GiB (1ULL << 30)
#define VMLAB_TiB (1ULL << 40)

#define VMLAB_MAX_CPUS 256
#define VMLAB_MAX_ORDER 10 /* buddy orders 0..10, as Linux's MAX_PAGE_ORDER */

/* Page-table levels, counted like the kernel's page walker depth. */
enum vmlab_level {
	VMLAB_LVL_PTE = 0, /* 4 KiB leaves */
	VMLAB_LVL_PMD = 1, /* 2 MiB leaves or a PTE table */
	VMLAB_LVL_PUD = 2, /* 1 GiB leaves or a PMD table */
	VMLAB_LVL_PGD = 3, /* top level (P4D folded on 4-level x86-64) */
	VMLAB_NR_LEVELS = 4,
};

static inline u64 vmlab_level_shift(int level)
{
	return VMLAB_PAGE_SHIFT + 9ULL * (u64)level;
}

static inline u64 vmlab_level_size(int level)
{
	return 1ULL << vmlab_level_shift(level);
}

/* Accesses a CPU (or device) can make. */
enum vmlab_access {
	VMLAB_READ = 0,
	VMLAB_WRITE = 1,
	VMLAB_FETCH = 2,
	VMLAB_NR_ACCESS = 3,
};

/* A value returned where an address or a negative errno is expected is
 * an error only in the last page of the address space, as the kernel's
 * IS_ERR_VALUE(): a kernel address is negative as s64 but not an errno. */
#define VMLAB_MAX_ERRNO 4095
static inline bool vmlab_is_err_value(s64 x)
{
	return (u64)x >= (u64)-VMLAB_MAX_ERRNO;
}

const char *vmlab_access_name(enum vmlab_access a);
const char *vmlab_strerror(int err); /* "EINVAL" for -22 or 22 */

#endif
