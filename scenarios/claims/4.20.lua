-- 4.20: Installing where nothing existed needs no TLB maintenance (only `update_mmu_cache`)
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Two CPUs run the process.  Guard markers installed where no PTE existed
-- send no flush and no IPI (nothing can be cached for an empty entry),
-- and the checker sees no stale translation; installing over present
-- pages first zaps them, which does flush.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 16 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:cpu(1):user_write(mm, a, "x")) -- CPU 1 runs the mm and caches page 0
local function flushes()
  return m:counter("flush_mm_range") + m:counter("flush_mm_range_full") + m:counter("ipi_sent")
end
local f0 = flushes()
assert(mm:madvise(a + 8 * PAGE, 8 * PAGE, "guard_install"))
local empty = flushes() - f0
f0 = flushes()
assert(mm:madvise(a, PAGE, "guard_install"))
local present = flushes() - f0
vmlab.result{{"flushes + IPIs: install over empty PTEs", empty},
  {"flushes + IPIs: install over a present page", present},
  {"checker reports", m:nr_reports()}}
assert(empty == 0 and present > 0 and m:nr_reports() == 0)
