-- 4.5: Only inside existing VMAs; markers go away with the mapping
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- GUARD_INSTALL on a range with no VMA fails with ENOMEM (as madvise does
-- on unmapped memory); markers installed in a mapping are gone after
-- munmap, and a new mapping at the same place has none.
local PAGE = vmlab.PAGE_SIZE
-- guard-marked pages of [s, e), from pagemap (bit 58)
local function guards(p, s, e)
  local n = 0
  for va = s, e - 1, PAGE do if p:pagemap(va).guard then n = n + 1 end end
  return n
end
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:munmap(a, 4 * PAGE))
local ok, err = mm:madvise(a, PAGE, "guard_install")
assert(not ok and err == "ENOMEM", "no VMA, no markers")
a = assert(mm:mmap{addr = a, len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous", "fixed"}})
assert(mm:madvise(a, 4 * PAGE, "guard_install"))
local before = guards(mm, a, a + 4 * PAGE)
assert(mm:munmap(a, 4 * PAGE))
assert(mm:mmap{addr = a, len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous", "fixed"}})
local after = guards(mm, a, a + 4 * PAGE)
vmlab.result{{"install on unmapped memory", err}, {"guard pages before munmap", before},
  {"guard pages in the new mapping", after}}
assert(before == 4 and after == 0)
