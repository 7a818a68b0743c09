-- 4.7: Install works across several VMAs
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Three VMAs with different protections next to each other; one
-- GUARD_INSTALL over all of them marks every page and splits none.
local PAGE = vmlab.PAGE_SIZE
-- guard-marked pages of [s, e), from pagemap (bit 58)
local function guards(p, s, e)
  local n = 0
  for va = s, e - 1, PAGE do if p:pagemap(va).guard then n = n + 1 end end
  return n
end
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 12 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:mprotect(a + 4 * PAGE, 4 * PAGE, "r"))
local vmas = mm:vma_count()
assert(mm:madvise(a, 12 * PAGE, "guard_install"))
local g = guards(mm, a, a + 12 * PAGE)
vmlab.result{{"VMAs spanned", 3}, {"guard pages installed", g},
  {"VMAs before / after", vmas .. " / " .. mm:vma_count()}}
assert(g == 12 and mm:vma_count() == vmas)
