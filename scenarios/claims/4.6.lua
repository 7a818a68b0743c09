-- 4.6: Touching a guard page → fatal signal
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Reads, writes and instruction fetches of a guard-marked page give
-- SIGSEGV; the neighbouring pages work.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 3 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:madvise(a + PAGE, PAGE, "guard_install"))
local _, rs = m:user_read(mm, a + PAGE, 1)
local _, ws = m:user_write(mm, a + PAGE + 100, "x")
assert(m:user_write(mm, a, "ok") and m:user_write(mm, a + 2 * PAGE, "ok"))
vmlab.result{{"read of the guard page", rs or "ok"}, {"write", ws or "ok"},
  {"neighbours", "ok"}}
assert(rs == "SIGSEGV" and ws == "SIGSEGV")
