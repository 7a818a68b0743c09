-- 5.2: (Contrast) x86 needs none: a stale, more restrictive entry only gives a spurious fault
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- After fork the parent's PTE is read-only and CPU 1 caches it.  The
-- child exits and CPU 0's write fault upgrades the PTE in place
-- (wp_page_reuse): no flush, no IPI.  CPU 1's next write meets its stale
-- read-only entry, takes a spurious fault, re-walks and succeeds; an
-- IOMMU without broadcast maintenance does the same.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:cpu(0):user_write(mm, a, "v1"))
local s = assert(m:smmu{mm = mm, btm = false})
local child = assert(mm:fork())
assert(m:cpu(1):user_read(mm, a, 2) == "v1")
assert(s:dma(a, "read"))
child:close()
local fl0 = m:counter("invlpg") + m:counter("ipi_sent") + m:counter("flush_mm_range")
assert(m:cpu(0):user_write(mm, a, "v2")) -- the upgrade
local flushes = m:counter("invlpg") + m:counter("ipi_sent") + m:counter("flush_mm_range") - fl0
local sp0 = m:counter("spurious_fault", 1)
assert(m:cpu(1):user_write(mm, a, "v3"))
local spurious = m:counter("spurious_fault", 1) - sp0
local ok = s:dma(a, "write", {tries = 4})
local st = s:stats()
vmlab.result{{"flushes + IPIs for the upgrade", flushes}, {"CPU 1 spurious faults", spurious},
  {"IOMMU write after the upgrade", ok and "done" or "stuck"}, {"IOMMU re-walks", st.spurious_rewalks},
  {"checker reports", m:nr_reports()}}
assert(flushes == 0 and spurious == 1 and ok and st.spurious_rewalks >= 1 and m:nr_reports() == 0)
