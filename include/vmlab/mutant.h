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
 *   1. add an X(...) line to VMLAB_MUTANTS below: ID, name, the fix (a
 *      real kernel bug: its fix commit id, 12 hex digits, or its CVE
 *      first; a variant the model made up: "what-if: ..." or, for a
 *      check of the model's own boundaries, "self-test: ..."), the mechanism, the check that catches it (a checker name:
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
	X(PURGE_NO_FLUSH, "purge-no-flush", "what-if: on db64fe02258f (mm: rewrite vmap layer, lazy vunmap)",      \
	  "__purge_vmap_area_lazy gives the lazy areas back without "           \
	  "flush_tlb_kernel_range", "stale-access", "purge-no-flush", 1)   \
	X(CEILING_TRUNCATED, "ceiling-truncated",\
	  "self-test: x86 flush_tlb_mm_range tlb_single_page_flush_ceiling",\
	  "a user flush over the ceiling (34 pages) invalidates only the first 33 instead of flushing the whole PCID",\
	  "stale-access", "ceiling-truncated", 1)\
	X(CEILING_OFF_BY_ONE, "ceiling-off-by-one",\
	  "self-test: x86 flush_tlb_mm_range, '>' tlb_single_page_flush_ceiling",\
	  "the single-page/full decision tests pages >= ceiling: exactly 33 pages flush the whole PCID (safe, but the 33-page side of the boundary is lost)",\
	  "outcome", "ceiling-truncated", 1)\
	X(PMD_FREE_PTE_NO_FLUSH, "pmd-free-pte-no-flush",\
	  "5e0fb5df2ee8 (x86/mm: Add TLB purge to free pmd/pte page interfaces)",\
	  "vmalloc_huge takes a PMD slot: pmd_free_pte_page frees the old PTE table without flushing the paging-structure caches",\
	  "freed-frame-reachable", "pmd-free-pte-no-flush", 1)\
	X(RESET_PERMS_DEFAULT_EARLY, "reset-perms-default-early",\
	  "what-if: the order 868b104d7379 (VM_FLUSH_RESET_PERMS) chose in review (seeds/vm-flush-reset-perms.txt)",\
	  "vm_reset_perms makes the direct map default (RW) before the flush, while another CPU still caches the executable vmalloc alias",\
	  "wx-alias", "reset-perms-default-early", 1)\
	X(CPA_NO_FLUSH, "cpa-no-flush",\
	  "what-if: x86 CPA cpa_flush after __change_page_attr_set_clr",\
	  "set_memory_ro changes the PTEs and returns without flushing: a CPU keeps writing through its cached RW entry",\
	  "stale-access", "cpa-no-flush", 1)\
	X(CPA_ALIAS_PRIMARY_FLUSH, "cpa-alias-primary-flush",\
	  "what-if: x86 CPA force_flush_all when cpa_process_alias changed an alias",\
	  "set_memory_ro on a vmalloc address flushes only the vmalloc range: the direct-map alias stays writable in the TLB",\
	  "stale-access", "cpa-alias-primary-flush", 1)\
	X(CPA_ERROR_NO_FLUSH, "cpa-error-no-flush",\
	  "what-if: x86 CPA flushes everything on error",\
	  "set_memory_ro fails half-way (a page not mapped) and skips the flush: the pages it changed stay writable in TLBs",\
	  "stale-access", "cpa-error-no-flush", 1)\
	X(UNMAP_ALIASES_NO_BLOCKS, "unmap-aliases-no-blocks",\
	  "what-if: _vm_unmap_aliases flushes the dirty vmap blocks",\
	  "vm_unmap_aliases ignores the dirty ranges of vmap blocks: a vm_unmap_ram'd alias survives the call",\
	  "stale-access", "unmap-aliases-no-blocks", 1)\
	X(MUNMAP_NO_FLUSH, "munmap-no-flush",\
	  "what-if: the missed-flush class of b67fbebd4cf9 (CVE-2022-39188), as a munmap gather that never flushes",\
	  "munmap frees the pages after a gather that never flushed: another CPU reads the freed frame",\
	  "freed-frame-reachable", "munmap-no-flush", 1)\
	X(FREE_PGTABLES_NO_FLUSH, "free-pgtables-no-flush",\
	  "what-if: on 016c4d92cd16 (freed_tables argument of flush_tlb_mm_range)",\
	  "munmap frees page tables without telling the flush (freed_tables): the paging-structure caches keep the freed table",\
	  "freed-frame-reachable", "free-pgtables-no-flush", 1)\
	X(MPROTECT_NO_FLUSH, "mprotect-no-flush",\
	  "what-if: mm/mprotect change_protection flush_tlb_range",\
	  "mprotect(PROT_READ) without a flush: another CPU writes through its cached RW entry",\
	  "stale-access", "mprotect-no-flush", 1)\
	X(ZAP_NO_FLUSH, "zap-no-flush",\
	  "what-if: MADV_DONTNEED zap_page_range_single tlb_finish_mmu",\
	  "MADV_DONTNEED zaps and frees the pages without a flush: another CPU reads the freed frames",\
	  "freed-frame-reachable", "zap-no-flush", 1)\
	X(FORK_NO_FLUSH, "fork-no-flush",\
	  "what-if: kernel/fork.c dup_mmap flush_tlb_mm after copy_page_range",\
	  "fork write-protects the parent's private pages but skips flush_tlb_mm: the parent writes the page the child shares",\
	  "stale-access", "fork-no-flush", 1)\
	X(COW_NO_FLUSH, "cow-no-flush",\
	  "what-if: mm/memory.c wp_page_copy ptep_clear_flush",\
	  "the COW fault replaces the PTE without flushing: another CPU of the mm keeps reading the old, shared page",\
	  "stale-access", "cow-no-flush", 1)\
	X(MREMAP_NO_FLUSH, "mremap-no-flush",\
	  "eb66ae030829 CVE-2018-18281 (mremap: properly flush TLB before releasing the page)",\
	  "mremap moves the PTEs and the old range is not flushed before the page can be freed (modelled as never flushed)",\
	  "stale-access", "mremap-no-flush", 1)\
	X(GUARD_FORK_FILE, "guard-fork-file",\
	  "ab04b530e7e8 (guard regions lost on fork for file-backed VMAs)",\
	  "MADV_GUARD_INSTALL on a shared or file mapping sets no VM_MAYBE_GUARD (and, as since 6.18.37, no anon_vma), so fork's vma_needs_copy skips the tables and the child loses the markers",\
	  "outcome", "guard-fork-file", 1)\
	X(COLLAPSE_DROPS_GUARD, "collapse-drops-guard",\
	  "what-if: khugepaged must not collapse over guard markers (hpage_collapse_scan_pmd stops at a non-swap entry)",\
	  "MADV_COLLAPSE / khugepaged count a guard marker PTE as pte_none and collapse over it: the huge page maps the guard page and an access there succeeds instead of SIGSEGV",\
	  "outcome", "collapse-drops-guard", 1)\
	X(LAZY_SKIP_FREED_TABLES, "lazy-skip-freed-tables",\
	  "what-if: x86/mm/tlb lazy CPUs get the flush when page tables are freed (2018 lazy-TLB series)",\
	  "flush_tlb_mm_range skips lazy CPUs even when page tables were freed: a lazy CPU's paging-structure cache keeps the freed table",\
	  "freed-frame-reachable", "lazy-skip-freed-tables", 1)\
	X(LAZY_NO_CATCHUP, "lazy-no-catchup",\
	  "what-if: on b0579ade7cd8 (x86/mm: track the TLB's tlb_gen)",\
	  "a CPU leaving lazy TLB mode does not catch up on the flushes it skipped (tlb_gen)",\
	  "stale-access", "lazy-no-catchup", 1)\
	X(TEXT_POKE_NO_FLUSH, "text-poke-no-flush",                            \
	  "what-if: on 'x86/alternatives: Use temporary mm for text poking'",  \
	  "__text_poke switches back from poking_mm without "                 \
	  "flush_tlb_mm_range of the poking address", "wx-alias",             \
	  "text-poke-no-flush", 1)                                            \
	X(TEXT_POKE_LEAVE_MM, "text-poke-leave-mm",                            \
	  "what-if: on 'x86/alternatives: Use temporary mm for text poking'",  \
	  "__text_poke never calls unuse_temporary_mm: poking_mm stays "      \
	  "loaded", "wx-alias", "text-poke-leave-mm", 1)                      \
	X(SET_MEMORY_X_BEFORE_RO, "set-memory-x-before-ro",                    \
	  "f2c65fb3221a (x86/modules: Avoid breaking W^X while loading modules)",   \
	  "module text made executable with set_memory_x while still "        \
	  "writable, set_memory_ro after", "wx-alias",                        \
	  "set-memory-x-before-ro", 1)                                        \
	X(KASAN_RELEASE_NO_FLUSH, "kasan-release-no-flush",                  \
	  "what-if: review finding on 3c5c3cfb9ef4 (KASAN_VMALLOC, Rutland on v6)",                            \
	  "kasan_release_vmalloc clears the shadow PTEs and frees the pages " \
	  "with no TLB flush", "freed-frame-reachable",                       \
	  "kasan-release-no-flush", 1)                                         \
	X(KASAN_RELEASE_NO_ALIGN, "kasan-release-no-align",                  \
	  "what-if: review finding on 3c5c3cfb9ef4 (KASAN_VMALLOC region alignment)",                                   \
	  "kasan_release_vmalloc frees every shadow page the freed area "     \
	  "touched, also pages shared with live neighbours", "kasan",         \
	  "kasan-release-no-align", 1)                                         \
	X(KASAN_RELEASE_UNLOCKED, "kasan-release-unlocked",                  \
	  "what-if: review finding on 3c5c3cfb9ef4 (release under free_vmap_area_lock)",                  \
	  "kasan_release_vmalloc runs after the purge dropped "                \
	  "free_vmap_area_lock, with the free region it found under the "      \
	  "lock: a vmalloc in between reuses the space and keeps the shadow "  \
	  "page it finds mapped, the release then frees it", "kasan",          \
	  "kasan-release-unlocked", 200)                                       \
	X(KASAN_VMALLOC_EARLY_SHADOW, "kasan-vmalloc-early-shadow",          \
	  "what-if: the seed's requirement (x86/kasan, arm64/kasan: "           \
	  "support KASAN_VMALLOC)",                                                    \
	  "kasan_init maps the vmalloc and module shadow onto the early "      \
	  "shadow page as without KASAN_VMALLOC: kasan_populate_vmalloc "      \
	  "finds a PTE there and allocates nothing, the unpoison then writes " \
	  "the shared read-only page", "kasan",                                \
	  "kasan-vmalloc-early-shadow", 1)                                     \
	X(KASAN_POPULATE_UNLOCKED, "kasan-populate-unlocked",                \
	  "what-if: review finding on 3c5c3cfb9ef4 (init_mm.page_table_lock in populate)",                \
	  "kasan_populate_vmalloc_pte sets the shadow PTE without "            \
	  "init_mm.page_table_lock and without re-checking pte_none: two "     \
	  "CPUs populating areas that share a shadow page both install one, "  \
	  "the second over the first", "stale-access",                         \
	  "kasan-populate-unlocked", 200)                                      \
	X(SMMU_INV_OVERFLOW, "smmu-inv-overflow",                            \
	  "e7ad6c2a4b1a (iommu/arm-smmu-v3: fix soft lockup in "               \
	  "arm_smmu_mm_invalidate_range)",                                     \
	  "a full-range secondary invalidation is not clamped to one "         \
	  "by-ASID command: one CMD_TLBI per page (soft lockup)",               \
	  "outcome", "smmu-inv-overflow", 1)                                  \
	X(UPGRADE_NO_SECONDARY, "upgrade-no-secondary-inv",                  \
	  "6bbd42e2df8f (mmu_notifiers: call invalidate_range() when "         \
	  "invalidating TLBs)",                                                \
	  "arm64: the TLB flush of a RO->RW upgrade (ptep_set_access_flags) "  \
	  "does not reach secondary TLBs, an SMMU without BTM keeps its "       \
	  "read-only entry and the device livelocks",                          \
	  "secondary-stale", "upgrade-no-secondary-inv", 1)                   \
	X(ARM64_EMPTY_RANGE, "arm64-notifier-empty-range",                   \
	  "f7edb07ad7c6 (Fix mmu notifiers for range-based invalidates)",      \
	  "arm64 __flush_tlb_range hands the secondary-TLB notifier [end, "    \
	  "end): the SMMU invalidates its whole ASID for every range flush",   \
	  "outcome", "arm64-notifier-empty-range", 1)                         \
	X(KVM_IGNORE_IN_PROGRESS, "kvm-ignore-invalidate-in-progress",       \
	  "what-if: KVM mmu_invalidate_retry_gfn() (mmu_notifier_retry) check",        \
	  "the stage-2 fault installs the PTE it read without checking "       \
	  "mmu_invalidate_in_progress/seq: a racing mprotect leaves a "        \
	  "writable stage-2 entry over a read-only CPU PTE",                   \
	  "stale-access", "kvm-ignore-invalidate-in-progress", 200)       \
	X(SOFT_DIRTY_NO_NOTIFY, "soft-dirty-no-notify",                      \
	  "what-if: fs/proc/task_mmu.c clear_refs_write MMU_NOTIFY_SOFT_DIRTY " \
	  "range and flush_tlb_mm's secondary-TLB hook",                            \
	  "clear_refs 4 write-protects the PTEs without the SOFT_DIRTY range " \
	  "and flushes only CPU TLBs: KVM's stage 2 and an SMMU without BTM "   \
	  "keep writing through writable entries, the writes never fault "     \
	  "and soft-dirty misses them",                                         \
	  "stale-access", "soft-dirty-no-notify", 1)                          \
	X(MADVISE_RELOCK_UNCHECKED, "madvise-relock-unchecked",              \
	  "9c49e5d09f07 (mm/madvise: handle madvise_lock() failure during "    \
	  "race unwinding)",                                                   \
	  "process_madvise's -ERESTARTNOINTR unwind drops mmap_lock and "      \
	  "ignores madvise_lock()'s failure when SIGKILL arrives in between: " \
	  "the advice goes on without the lock and the final unlock "          \
	  "releases a lock it does not hold (reachable with guard install "    \
	  "under the write lock, vmlab_user_set_guard_lock)",                  \
	  "outcome", "madvise-relock-unchecked", 100)                         \
	X(ASID_REPLACE_ZERO, "asid-replace-zero",                            \
	  "a8ffaaa060b8 (arm64: asid: Do not replace active_asids if "         \
	  "already 0; found with Catalin Marinas's kernel-tla model)",         \
	  "check_and_switch_context's fast path takes a CPU whose "            \
	  "active_asids a rollover on another CPU set to 0: the mm already "   \
	  "has a new-generation ASID, so the CPU switches without the "        \
	  "pending local TLB flush and uses the previous owner's entries of "  \
	  "that ASID", "outcome", "asid-replace-zero", 1)                      \
	X(VB_FULL_NO_FLUSH, "vb-full-no-flush",                              \
	  "fc1e0d980037 (mm/vmalloc: prevent stale TLBs in fully utilized "    \
	  "blocks)",                                                           \
	  "_vm_unmap_aliases walks only the blocks on the per-CPU free "       \
	  "lists: a fully used vmap block (off the list) keeps its dirty "     \
	  "range, so a vm_unmap_ram'd alias survives vm_unmap_aliases",       \
	  "stale-access", "vb-full-no-flush", 1)                              \
	X(BATCHED_PENDING_IGNORED, "batched-pending-ignored",                \
	  "3ea277194daa (mm, mprotect: flush TLB if potentially racing with "  \
	  "a parallel reclaim leaving stale TLB entries)",                     \
	  "kswapd unmaps a page with its flush batched (TTU_BATCH_FLUSH); "   \
	  "mprotect(PROT_READ) meanwhile finds a swap entry, changes nothing " \
	  "and flushes nothing (no flush_tlb_batched_pending): a thread keeps " \
	  "writing through its cached RW entry after mprotect returned",      \
	  "outcome", "batched-pending-ignored", 200)                          \
	X(MREMAP_PMD_NO_RMAP_LOCK, "mremap-pmd-no-rmap-lock",                \
	  "97113eb39fa7 (mm/mremap: hold the rmap lock in write mode when "    \
	  "moving page table entries)",                                        \
	  "mremap moves a whole PTE table (move_normal_pmd) without the rmap " \
	  "lock: kswapd's rmap walk finds the page at the new address, "      \
	  "unmaps it, flushes only there and frees it while a CPU still "      \
	  "caches the old address (arm64: no batched flush to hide it)",       \
	  "freed-frame-reachable", "mremap-pmd-no-rmap-lock", 50)          \
	X(RESET_PERMS_DMAP_RANGE, "reset-perms-dmap-range",                  \
	  "8e41f8726dcf (mm/vmalloc: Fix calculation of direct map addr "      \
	  "range)",                                                            \
	  "vm_remove_mappings (868b104d7379) takes start = min(addr), end = "  \
	  "max(addr) with addr the area's vmalloc address: _vm_unmap_aliases " \
	  "flushes the lazy vmalloc range only, the direct-map aliases made "  \
	  "invalid stay cached, and a CPU keeps using its read-only "          \
	  "direct-map entry of the freed page",                                \
	  "outcome", "reset-perms-dmap-range", 1)                             \
	X(COLLAPSE_FLUSH_LAST_LEVEL, "collapse-flush-last-level",            \
	  "3ef938c35035 CVE-2025-22045 (x86/mm: Fix flush_tlb_range() when "   \
	  "used for zapping normal PMDs)",                                     \
	  "pmdp_collapse_flush's flush_tlb_range() passes freed_tables = "     \
	  "false (a last-level flush, since 016c4d92cd16): the shootdown of "  \
	  "the collapse skips lazy CPUs, whose paging-structure caches keep "  \
	  "the PTE table the collapse unhooks (and the model frees)",          \
	  "freed-frame-reachable", "collapse-flush-last-level", 1)           \
	X(SWITCH_WINDOW_SKIPPED, "switch-window-skipped",                    \
	  "fea4e317f9e7 CVE-2025-37964 (x86/mm: Eliminate window where TLB "   \
	  "flushes may be inadvertently skipped)",                             \
	  "switch_mm_irqs_off sets the mm_cpumask bit and reads tlb_gen, "     \
	  "then others run before CR3 and loaded_mm are written: "             \
	  "should_flush_tlb() sees LOADED_MM_SWITCHING, not the mm, and "      \
	  "sends no IPI (6db2526c1d69), the switch loads the PCID without a "  \
	  "flush and the thread writes through its RW entry after "            \
	  "mprotect(PROT_READ) returned",                                      \
	  "stale-access", "switch-window-skipped", 200)                      \
	X(TABLE_BATCH_NO_INVALIDATE, "table-batch-no-invalidate",            \
	  "d86564a2f085 (mm/tlb, x86/mm: Support invalidating TLB caches for " \
	  "RCU_TABLE_FREE)",                                                   \
	  "x86 RCU_TABLE_FREE: tlb_remove_table() hands a full batch of page " \
	  "tables to call_rcu() without invalidating the TLBs first; the "     \
	  "grace period does not wait for tlb_finish_mmu()'s flush, so the "   \
	  "tables are freed while another CPU's paging-structure cache "       \
	  "still points into them", "freed-frame-reachable",                   \
	  "table-batch-no-invalidate", 1)                                    \
	X(VB_DIRTY_FLUSHED_AGAIN, "vb-dirty-flushed-again",                  \
	  "a09fad96ffb1 (mm/vmalloc: prevent flushing dirty space over and "   \
	  "over)",                                                             \
	  "_vm_unmap_aliases takes a vmap block's dirty range into its flush " \
	  "but leaves dirty_min/dirty_max set: every later vm_unmap_aliases "  \
	  "(CPA calls one before each change) flushes the same range again",   \
	  "outcome", "vb-dirty-flushed-again", 1)                             \
	X(VB_PURGE_USABLE, "vb-purge-usable",                                \
	  "77e50af07f14 (mm/vmalloc: dont purge usable blocks unnecessarily)", \
	  "purge_fragmented_block has no VMAP_PURGE_THRESHOLD test: "          \
	  "vm_unmap_aliases purges a vmap block with nothing in use although " \
	  "most of it is still free, and the next vm_map_ram sets up a new "   \
	  "block",                                                             \
	  "outcome", "vb-purge-usable", 1)                                    \
	X(MAP_RAM_NO_SHADOW, "map-ram-no-shadow",                            \
	  "d98c9e83b5e7 (kasan: fix crashes on access to memory mapped by "    \
	  "vm_map_ram())",                                                     \
	  "KASAN_VMALLOC populates the shadow only for vm_struct areas "       \
	  "(__get_vm_area_node, __vmalloc_node_range), not in "                \
	  "alloc_vmap_area, and vm_map_ram neither unpoisons nor "             \
	  "vm_unmap_ram poisons: the first instrumented access to vm_map_ram " \
	  "memory reads shadow that is not mapped",                            \
	  "kasan", "map-ram-no-shadow", 1)                                    \
	X(PFNMAP_UNLINK_NO_FLUSH, "pfnmap-unlink-no-flush",                  \
	  "b67fbebd4cf9 CVE-2022-39188 (mmu_gather: Force tlb-flush "          \
	  "VM_PFNMAP vmas)",                                                   \
	  "munmap zaps a VM_PFNMAP mapping of a device file and unlinks the "  \
	  "VMA from the file (free_pgtables) with the flush still deferred to " \
	  "tlb_finish_mmu: the driver's unmap_mapping_range finds nothing, "   \
	  "returns, and the driver frees the frames while another CPU still "  \
	  "caches the mapping",                                                \
	  "freed-frame-reachable", "pfnmap-unlink-no-flush", 200)             \
	/* mutants-b */                                                        \
	X(CLEAR_REFS_NO_FLUSH, "clear-refs-no-flush",                        \
	  "912efa17e512 (mm: proc: Invalidate TLB after clearing soft-dirty "  \
	  "page state; the bug came with 0758cd830494)",                       \
	  "clear_refs 4 write-protects the PTEs inside an mmu_gather that "    \
	  "batched no page, so tlb_finish_mmu() elides the flush: another "    \
	  "CPU keeps writing through its cached writable entry, the write "    \
	  "never faults and soft-dirty misses it",                             \
	  "stale-access", "clear-refs-no-flush", 1)                          \
	X(MPROTECT_SOFTDIRTY_INVERTED, "mprotect-softdirty-inverted",        \
	  "76aefad628aa (mm/mprotect: fix soft-dirty check in "                \
	  "can_change_pte_writable())",                                        \
	  "can_change_pte_writable() tests VM_SOFTDIRTY set (tracking off) "   \
	  "for 'tracking on': mprotect(RW) after clear_refs 4 maps an "        \
	  "exclusive anonymous page writable with soft-dirty clear, the next " \
	  "write does not fault and soft-dirty misses it",                     \
	  "outcome", "mprotect-softdirty-inverted", 1)                       \
	X(SWAP_DROPS_SOFT_DIRTY, "swap-drops-soft-dirty",                    \
	  "179ef71cbc08 (mm: save soft-dirty bits on swapped pages)",          \
	  "try_to_unmap_one() replaces a soft-dirty PTE by a plain swap "      \
	  "entry (no pte_swp_mksoft_dirty()): a page written since "           \
	  "clear_refs 4 and swapped out reads back clean in pagemap, before "  \
	  "and after the swap-in",                                             \
	  "outcome", "swap-drops-soft-dirty", 1)                             \
	X(MIGRATE_VMA_FLUSH_UNLOCKED, "migrate-vma-flush-unlocked",          \
	  "60bae7370896 (mm/migrate_device.c: flush TLB while holding PTL)",   \
	  "migrate_vma_collect_pmd() replaces the PTEs by migration entries "  \
	  "and flushes after pte_unmap_unlock(): a MADV_DONTNEED in between "  \
	  "zaps the non-present entries without a flush and returns while "    \
	  "another CPU still reads and writes the old page through its TLB",  \
	  "stale-access", "migrate-vma-flush-unlocked", 50)                  \
	X(PAGEMAP_HOLE_NOT_SOFT_DIRTY, "pagemap-hole-not-soft-dirty",        \
	  "68b5a6524856 (mm: softdirty: respect VM_SOFTDIRTY in PTE holes)",   \
	  "pagemap_pte_hole() reports PM_NOT_PRESENT without looking at the "  \
	  "VMA: the untouched pages of a new VM_SOFTDIRTY VMA whose page "      \
	  "table does not exist yet read clean, a tracker that cleared the "    \
	  "bits misses the new mapping",                                       \
	  "outcome", "pagemap-hole-not-soft-dirty", 1)                       \
	X(UFFD_COPY_DURING_FORK, "uffd-copy-during-fork",                    \
	  "df2cc96e7701 (userfaultfd: prevent non-cooperative events vs "      \
	  "mcopy_atomic races)",                                               \
	  "no mmap_changing: UFFDIO_COPY on the parent's context succeeds "    \
	  "while fork waits for its UFFD_EVENT_FORK to be read, after "        \
	  "copy_page_range(): the page is in the parent only and the monitor " \
	  "cannot know (CRIU's fork test during post-copy migration)",         \
	  "outcome", "uffd-copy-during-fork", 1)                             \
	X(PAGEMAP_GAP_SOFT_DIRTY, "pagemap-gap-soft-dirty",                  \
	  "62c98294410d (mm: softdirty: unmapped addresses between VMAs are "  \
	  "clean)",                                                            \
	  "pagemap_pte_range(), past the end of a VMA, takes the next VMA's "  \
	  "VM_SOFTDIRTY for the entries up to it: a pagemap read over [VMA, " \
	  "unmapped page, VM_SOFTDIRTY VMA] reports the unmapped page "         \
	  "soft-dirty",                                                        \
	  "outcome", "pagemap-gap-soft-dirty", 1)                            \
	X(HUGETLB_UNSHARE_NO_FLUSH, "hugetlb-unshare-no-flush",              \
	  "CVE-2021-4002 a4a118f2eead (hugetlbfs: flush TLBs correctly after " \
	  "huge_pmd_unshare)",                                                 \
	  "__unmap_hugepage_range unshares a shared PMD table (clears this "   \
	  "mm's PUD entry) and adds nothing to the gather: munmap flushes "    \
	  "nothing, this mm's CPU keeps its TLB entry and reads the huge "     \
	  "page after the other mm's hole punch freed it",                     \
	  "freed-frame-reachable", "hugetlb-unshare-no-flush", 1)

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

/* What a mutant is, from its fix field: a real kernel bug (the fix
 * commit id or the CVE first), a variant the model made up ("what-if: "),
 * or a check of the model's own boundaries ("self-test: "). */
enum vmlab_mutant_kind {
	VMLAB_MUTANT_UNLABELLED = 0, /* none of these: test_mutants fails */
	VMLAB_MUTANT_KERNEL,
	VMLAB_MUTANT_WHAT_IF,
	VMLAB_MUTANT_SELF_TEST,
};
enum vmlab_mutant_kind vmlab_mutant_kind(const struct vmlab_mutant_info *mi);
/* "kernel", "what-if", "self-test", "unlabelled". */
const char *vmlab_mutant_kind_name(enum vmlab_mutant_kind k);

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
