-- 4.1: PROT_NONE guard regions cost a VMA each (2 with the split)
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- A mapping with one PROT_NONE guard page inside it: mprotect splits the
-- VMA into three, so the guard costs 2 VMAs; at the end of a mapping it
-- costs 1.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local function added(where)
  local base = mm:vma_count()
  local a = assert(mm:mmap{len = 16 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  local one = mm:vma_count()
  assert(mm:mprotect(a + where * PAGE, PAGE, "none"))
  local after = mm:vma_count()
  assert(mm:munmap(a, 16 * PAGE))
  assert(one - base == 1)
  return after - one
end
local middle, edge = added(8), added(0)
vmlab.result{{"VMAs added by a PROT_NONE guard inside a mapping", middle},
  {"... at its start", edge}}
assert(middle == 2 and edge == 1)
