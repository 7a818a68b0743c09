-- 4.13: fork keeps markers, except `VM_WIPEONFORK`
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
local PAGE = vmlab.PAGE_SIZE
-- guard-marked pages of [s, e), from pagemap (bit 58)
local function guards(p, s, e)
  local n = 0
  for va = s, e - 1, PAGE do if p:pagemap(va).guard then n = n + 1 end end
  return n
end
local m = vmlab.machine{cpus = 2, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
local b = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:madvise(a, PAGE, "guard_install"))
assert(mm:madvise(b, 4 * PAGE, "wipeonfork"))
assert(mm:madvise(b, PAGE, "guard_install"))
local child = assert(mm:fork())
local kept, wiped = guards(child, a, a + 4 * PAGE), guards(child, b, b + 4 * PAGE)
local _, sig = m:user_read(child, a, 1)
vmlab.result{{"child's guard pages (plain VMA)", kept}, {"child's guard pages (WIPEONFORK)", wiped},
  {"child touching the kept guard", sig or "ok"}}
assert(kept == 1 and wiped == 0 and sig == "SIGSEGV")
