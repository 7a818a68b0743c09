-- 4.2: Markers in page tables: no extra VMA, and neighbours can still merge
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Two adjacent anonymous mappings with guard markers at their ends merge
-- into one VMA, and the markers add none; with PROT_NONE guard pages the
-- same layout is five VMAs.
local PAGE = vmlab.PAGE_SIZE
local function layout(way)
  local m = vmlab.machine{cpus = 1, memory = "64M", label = way}
  local mm = assert(m:user_mm())
  local base = mm:vma_count()
  local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  local b = assert(mm:mmap{addr = a + 8 * PAGE, len = 8 * PAGE, prot = "rw",
    flags = {"private", "anonymous", "fixed"}})
  for _, g in ipairs{a, a + 7 * PAGE, b + 7 * PAGE} do
    if way == "markers" then assert(mm:madvise(g, PAGE, "guard_install"))
    else assert(mm:mprotect(g, PAGE, "none")) end
  end
  local n = mm:vma_count() - base
  vmlab.result(way, {{"VMAs for two adjacent mappings with 3 guard pages", n}})
  return n
end
local markers, prot = layout("markers"), layout("PROT_NONE")
assert(markers == 1, "the two mappings merged and the markers cost nothing")
assert(prot == 5)
