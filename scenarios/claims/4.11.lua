-- 4.11: Uses PTE markers; `PTE_MARKER_POISONED` gives HWPOISON semantics, so there is a separate GUARD marker
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Both are non-present PTE markers in the same mapping.  Touching a
-- poison marker (UFFDIO_POISON) is a memory error, SIGBUS as for
-- hardware poison; touching a guard marker is SIGSEGV, as a PROT_NONE
-- guard page would be.  Neither costs a VMA.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
local vmas = mm:vma_count()
assert(m:user_poison(mm, a, PAGE))
assert(mm:madvise(a + 2 * PAGE, PAGE, "guard_install"))
local _, poisoned = m:user_read(mm, a, 1)
local _, guarded = m:user_read(mm, a + 2 * PAGE, 1)
local pm_p, pm_g = mm:pagemap(a), mm:pagemap(a + 2 * PAGE)
vmlab.result{{"access to a poison marker", poisoned or "ok"},
  {"access to a guard marker", guarded or "ok"},
  {"pagemap guard bit: poison / guard", (pm_p.guard and 1 or 0) .. " / " .. (pm_g.guard and 1 or 0)},
  {"VMAs added", mm:vma_count() - vmas}}
assert(poisoned == "SIGBUS" and guarded == "SIGSEGV")
assert(not pm_p.guard and pm_g.guard and mm:vma_count() == vmas)
