-- 4.18: Error or allocation failure aborts the walk; the caller deals with the partly populated range
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- install_pte fails after three entries: the walk stops with that error
-- and the first three markers stay.  A walk that needs a page table when
-- memory is exhausted stops with -ENOMEM before installing anything.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
local r = m:walk_page_range_mm{start = a, ["end"] = a + 8 * PAGE, mm = mm, install = true, fail_after = 3}
local marked = 0
for va = a, a + 7 * PAGE, PAGE do if mm:pagemap(va).guard then marked = marked + 1 end end
-- exhaust memory, then walk a range with no page tables
local b = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"},
  addr = a + 64 * vmlab.PMD_SIZE})
local held = {}
while true do
  local ok, pfn = pcall(m.alloc_pages, m)
  if not ok or not pfn then break end
  held[#held + 1] = pfn
end
local r2 = m:walk_page_range_mm{start = b, ["end"] = b + 8 * PAGE, mm = mm, install = true}
for _, pfn in ipairs(held) do m:free_pages(pfn) end
vmlab.result{{"install_pte failing: result", r.result}, {"entries installed before it", r.installed},
  {"markers left in the range", marked}, {"out of memory: result", r2.result},
  {"entries installed", r2.installed}}
assert(r.result == "ENOMEM" and r.installed == 3 and marked == 3)
assert(r2.result == "ENOMEM" and r2.installed == 0)
