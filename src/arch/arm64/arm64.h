/* SPDX-License-Identifier: MIT */
/*
 * arm64 descriptor bits and the arm64 machine hooks (ASIDs, broadcast TLB
 * maintenance).  Only src/arch/arm64 and the walker's dispatch in
 * src/machine/access.c include this; everything above sees generic
 * protections, the machine sees arm64_tlb_ops through vmlab_arch_arm64.
 */
#ifndef VMLAB_ARCH_ARM64_H
#define VMLAB_ARCH_ARM64_H

#include "arch/arch.h"

#define A64_VALID (1ULL << 0)
#define A64_TABLE_PAGE (1ULL << 1) /* table (levels 0-2) / page (level 3) */
#define A64_ATTRINDX(t) ((u64)(t) << 2)
#define A64_USER (1ULL << 6)   /* AP[1]: EL0 access */
#define A64_RDONLY (1ULL << 7) /* AP[2] */
#define A64_SH_INNER (3ULL << 8)
#define A64_AF (1ULL << 10)
#define A64_NG (1ULL << 11)
#define A64_OA_MASK 0x0000fffffffff000ULL
#define A64_DBM (1ULL << 51) /* Linux: PTE_WRITE */
#define A64_CONT (1ULL << 52)
#define A64_PXN (1ULL << 53)
#define A64_UXN (1ULL << 54)
#define A64_SW_DIRTY (1ULL << 55)
#define A64_PROT_NONE (1ULL << 58) /* only when not valid */
#define A64_PXN_TABLE (1ULL << 59)
#define A64_UXN_TABLE (1ULL << 60)
#define A64_ATTR_MASK (7ULL << 2)
#define A64_SH_MASK (3ULL << 8)

/* MAIR indices (arch/arm64/include/asm/memory.h). */
#define A64_MT_NORMAL 0
#define A64_MT_NORMAL_NC 2

/* tlbflush.c: the machine hooks (switch, TLBI + DSB, tags). */
extern const struct vmlab_arch_tlb_ops arm64_tlb_ops;

/* context.c: ASID allocation as arch/arm64/mm/context.c. */
int arm64_asid_init(struct vmlab_machine *m);
void arm64_asid_destroy(struct vmlab_machine *m);
/* check_and_switch_context(): give mm a current ASID on cpu. */
void arm64_switch_context(struct vmlab_machine *m, struct cpu *c,
			  struct vmlab_mm *mm);
struct vmlab_mm *arm64_mm_of_asid(struct vmlab_machine *m, struct cpu *c,
				  u16 asid);
bool arm64_asid_live(struct vmlab_machine *m, struct cpu *c, u16 asid);
void arm64_mm_release(struct vmlab_machine *m, struct vmlab_mm *mm);

/* tlbflush.c: local_flush_tlb_all() (a rollover's deferred flush). */
void arm64_local_flush_tlb_all(struct vmlab_machine *m, struct cpu *c);

#endif
