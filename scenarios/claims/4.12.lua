-- 4.12: MADV_DONTNEED and MADV_FREE keep markers
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
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, 7 do assert(m:user_write(mm, a + i * PAGE, "d")) end
assert(mm:madvise(a + 2 * PAGE, 2 * PAGE, "guard_install"))
assert(mm:madvise(a, 8 * PAGE, "dontneed"))
local after_dontneed = guards(mm, a, a + 8 * PAGE)
assert(mm:madvise(a, 8 * PAGE, "free"))
local after_free = guards(mm, a, a + 8 * PAGE)
local _, sig = m:user_read(mm, a + 2 * PAGE, 1)
vmlab.result{{"guard pages after DONTNEED", after_dontneed}, {"after FREE", after_free},
  {"access", sig or "ok"}}
assert(after_dontneed == 2 and after_free == 2 and sig == "SIGSEGV")
