-- guard-stacks: N thread stacks with a guard page, PROT_NONE VMAs vs MADV_GUARD_INSTALL markers: VMAs, page tables, time
--
-- The guard-region seed (Linux 6.13): a guard page made the old way is a
-- PROT_NONE mapping, one more VMA per stack (and the mprotect splits the
-- stack's VMA, so two); made with MADV_GUARD_INSTALL it is a PTE marker
-- installed by a page walk, and the stacks' VMAs all merge.  For 20,000
-- 16-page stacks the real 6.18 kernel adds 2 VMAs per stack the old way
-- and none with markers; vmlab must give the same counts.
--
-- Each stack: mmap(S+1 pages, RW, private anonymous), then either
-- mprotect(lowest page, PROT_NONE) or madvise(lowest page, GUARD_INSTALL).
-- Afterwards every guard page must give SIGSEGV and every stack be usable.

local P = vmlab.params{stacks = 20000, pages = 16}

for _, markers in ipairs({false, true}) do
  local m = vmlab.machine{cpus = 4, memory = "1G",
                          label = markers and "guard markers" or "PROT_NONE"}
  local r = m:cpu(0):guard_stacks{stacks = P.stacks, pages = P.pages,
                                  markers = markers}
  assert(r.guard_sigsegv == P.stacks, "every guard page faults")
  assert(r.stack_ok == P.stacks, "every stack is usable")
  vmlab.result(m:label(), {
    {"VMAs added", r.vmas_added},
    {"VMAs per stack", string.format("%.2f", r.vmas_per_stack)},
    {"page-table pages", r.pgtable_pages},
    {"syscalls", r.syscalls},
    {"TLB flushes", r.flushes},
    {"PTE writes", r.pte_writes},
    {"simulated ns per stack", string.format("%.1f", r.sim_ns_per_stack)},
  })
end
