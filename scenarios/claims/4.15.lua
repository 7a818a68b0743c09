-- 4.15: pagewalk `install_pte()`: allocate missing tables, install, continue
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- A walk with install_pte over a fresh mapping that has no page tables
-- yet (and crosses a 2 MiB boundary, so two PTE tables): the walker
-- allocates the missing tables, asks install_pte for every PTE and walks
-- on to the end.
local PAGE, PMD = vmlab.PAGE_SIZE, vmlab.PMD_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 2 * PMD, prot = "rw", flags = {"private", "anonymous"}})
local s = (a // PMD + 1) * PMD - 4 * PAGE -- 4 pages before a 2 MiB boundary inside the mapping
local t0 = m:counter("pgtable_alloc")
local r = m:walk_page_range_mm{start = s, ["end"] = s + 8 * PAGE, mm = mm, install = true}
local tables = m:counter("pgtable_alloc") - t0
local marked = 0
for va = s, s + 7 * PAGE, PAGE do if mm:pagemap(va).guard then marked = marked + 1 end end
vmlab.result{{"walk result", r.result}, {"PTEs installed", r.installed},
  {"page-table pages allocated", tables}, {"guard markers in pagemap", marked}}
assert(r.result == 0 and r.installed == 8 and marked == 8)
assert(tables >= 2, "one PTE table each side of the boundary (and the levels above)")
