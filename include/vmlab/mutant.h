/* SPDX-License-Identifier: MIT */
/*
 * Mutants: historical kernel bugs re-created in the model, each switched
 * on per machine (vmlab_config.mutants, Lua vmlab.machine{mutants = {...}},
 * CLI --mutant NAME).  Kernel code tests one with vmlab_mutant(m, ID) at
 * the place the bug was (a cheap bit test, from any layer) and does what
 * the buggy kernel did.  `vmlab mutants` runs every mutant's scenario and
 * shows it caught when on and silent when off.
 *
 * How to add one (commit message starting "mutants:"):
 *   1. add an X(...) line to VMLAB_MUTANTS below: ID, name, the fix commit
 *      or CVE, the mechanism, the check that catches it (a checker name:
 *      stale-access, freed-frame-reachable, wx-alias, secondary-stale,
 *      kasan; or "outcome" when a scenario assertion catches it), the
 *      scenario (scenarios/mutants/NAME.lua) and the number of explored
 *      seeds within which it must be caught;
 *   2. at the bug's site: if (vmlab_mutant(m, VMLAB_MUT_ID)) <the bug>;
 *   3. write scenarios/mutants/NAME.lua: it must pass (exit 0, no
 *      unexpected report) with the mutant off, and fail with it on;
 *   4. list the scenario in mutant_files in meson.build.
 * test_mutants (tests/) then requires both verdicts for every entry.
 */
#ifndef VMLAB_MUTANT_H
#define VMLAB_MUTANT_H

#include "machine.h"

/* X(ID, name, fix, mechanism, check, scenario, seeds) */
#define VMLAB_MUTANTS(X)                                                     \
	X(PURGE_NO_FLUSH, "purge-no-flush", "db64fe02258f (lazy vunmap)",      \
	  "__purge_vmap_area_lazy gives the lazy areas back without "           \
	  "flush_tlb_kernel_range", "stale-access", "purge-no-flush", 1)   \
	X(TEXT_POKE_NO_FLUSH, "text-poke-no-flush",                            \
	  "what-if on 'x86/alternatives: Use temporary mm for text poking'",  \
	  "__text_poke switches back from poking_mm without "                 \
	  "flush_tlb_mm_range of the poking address", "wx-alias",             \
	  "text-poke-no-flush", 1)                                            \
	X(TEXT_POKE_LEAVE_MM, "text-poke-leave-mm",                            \
	  "what-if on 'x86/alternatives: Use temporary mm for text poking'",  \
	  "__text_poke never calls unuse_temporary_mm: poking_mm stays "      \
	  "loaded", "wx-alias", "text-poke-leave-mm", 1)                      \
	X(SET_MEMORY_X_BEFORE_RO, "set-memory-x-before-ro",                    \
	  "'x86/modules: Avoid breaking W^X while loading modules' (5.2)",   \
	  "module text made executable with set_memory_x while still "        \
	  "writable, set_memory_ro after", "wx-alias",                        \
	  "set-memory-x-before-ro", 1)                                        \
	X(KASAN_RELEASE_NO_FLUSH, "kasan-release-no-flush",                  \
	  "3c5c3cfb9ef4 (Rutland's review of v6)",                            \
	  "kasan_release_vmalloc clears the shadow PTEs and frees the pages " \
	  "with no TLB flush", "freed-frame-reachable",                       \
	  "kasan-release-no-flush", 1)                                         \
	X(KASAN_RELEASE_NO_ALIGN, "kasan-release-no-align",                  \
	  "3c5c3cfb9ef4 (region alignment)",                                   \
	  "kasan_release_vmalloc frees every shadow page the freed area "     \
	  "touched, also pages shared with live neighbours", "kasan",         \
	  "kasan-release-no-align", 1)                                         \
	X(SMMU_INV_OVERFLOW, "smmu-inv-overflow",                            \
	  "e7ad6c2a4b1a (iommu/arm-smmu-v3: fix soft lockup in "               \
	  "arm_smmu_mm_invalidate_range)",                                     \
	  "a full-range secondary invalidation is not clamped to one "         \
	  "by-ASID command: one CMD_TLBI per page (soft lockup)",               \
	  "outcome", "smmu-inv-overflow", 1)                                  \
	X(KVM_IGNORE_IN_PROGRESS, "kvm-ignore-invalidate-in-progress",       \
	  "kvm: mmu_invalidate_retry_gfn() (mmu_notifier_retry) check",        \
	  "the stage-2 fault installs the PTE it read without checking "       \
	  "mmu_invalidate_in_progress/seq: a racing mprotect leaves a "        \
	  "writable stage-2 entry over a read-only CPU PTE",                   \
	  "stale-access", "kvm-ignore-invalidate-in-progress", 200)

enum vmlab_mutant_id {
#define VMLAB_X_MUT_ENUM(id, ...) VMLAB_MUT_##id,
	VMLAB_MUTANTS(VMLAB_X_MUT_ENUM)
#undef VMLAB_X_MUT_ENUM
	VMLAB_NR_MUTANTS
};

_Static_assert(VMLAB_NR_MUTANTS <= 64 * VMLAB_MUTANT_WORDS,
	       "raise VMLAB_MUTANT_WORDS in machine.h");

struct vmlab_mutant_info {
	const char *name;      /* "mremap-flush-after-ptl" */
	const char *fix;       /* "eb66ae030829 (CVE-2018-18281)" */
	const char *mechanism; /* what the buggy kernel did */
	const char *check;     /* what catches it */
	const char *scenario;  /* scenarios/mutants/<scenario>.lua */
	int seeds;             /* caught within this many explored seeds */
};

/* NULL for an id out of range. */
const struct vmlab_mutant_info *vmlab_mutant_info(int id);
/* The id named name, or -VMLAB_EINVAL. */
int vmlab_mutant_lookup(const char *name);
/* Enable (on) or disable one mutant in a configuration. */
void vmlab_config_mutant(struct vmlab_config *cfg, int id, bool on);
/* Whether the machine runs with mutant id (public form; the kernel code
 * of the model uses the inline vmlab_mutant() of machine/internal.h). */
bool vmlab_mutant_enabled(const struct vmlab_machine *m, int id);

#endif
