/* SPDX-License-Identifier: MIT */
/*
 * x86-64 entry bits (arch/x86/include/asm/pgtable_types.h) and the x86
 * machine hooks.  Only src/arch/x86 and the walker's dispatch in
 * src/machine/access.c include this; everything above sees generic
 * protections, the machine sees x86_tlb_ops through vmlab_arch_x86_64.
 */
#ifndef VMLAB_ARCH_X86_H
#define VMLAB_ARCH_X86_H

#include "arch/arch.h"

#define X86_P (1ULL << 0)
#define X86_RW (1ULL << 1)
#define X86_US (1ULL << 2)
#define X86_PS (1ULL << 7)
#define X86_G (1ULL << 8)
#define X86_PROTNONE X86_G
#define X86_NX (1ULL << 63)
#define X86_A (1ULL << 5)
#define X86_D (1ULL << 6)
#define X86_PFN_MASK 0x000ffffffffff000ULL
#define X86_FLAGS_MASK (~X86_PFN_MASK)
#define X86_PWT (1ULL << 3)
#define X86_PCD (1ULL << 4)

/* tlbflush.c: PCIDs, invlpg / CR3, IPI shootdowns (arch/x86/mm/tlb.c). */
extern const struct vmlab_arch_tlb_ops x86_tlb_ops;

#endif
