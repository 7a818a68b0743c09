-- 4.9: No nesting: installing again does nothing
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- A second GUARD_INSTALL over the same (and an overlapping) range leaves
-- the same markers and writes no page-table entry; one GUARD_REMOVE
-- clears them all.
local PAGE = vmlab.PAGE_SIZE
-- guard-marked pages of [s, e), from pagemap (bit 58)
local function guards(p, s, e)
  local n = 0
  for va = s, e - 1, PAGE do if p:pagemap(va).guard then n = n + 1 end end
  return n
end
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:madvise(a, 4 * PAGE, "guard_install"))
local w0 = m:counter("pte_write")
assert(mm:madvise(a, 4 * PAGE, "guard_install"))
local again = m:counter("pte_write") - w0
assert(mm:madvise(a + 2 * PAGE, 4 * PAGE, "guard_install"))
local g = guards(mm, a, a + 8 * PAGE)
assert(mm:madvise(a, 8 * PAGE, "guard_remove"))
local left = guards(mm, a, a + 8 * PAGE)
vmlab.result{{"entries written by the second install", again}, {"guard pages after overlap", g},
  {"left after one remove", left}}
assert(again == 0 and g == 6 and left == 0)
