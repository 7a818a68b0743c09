-- 4.14: Not a security feature: `MADV_GUARD_REMOVE` clears them
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- The process itself removes its guard pages with MADV_GUARD_REMOVE, no
-- privilege needed, and the page is usable again.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 2 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:madvise(a, PAGE, "guard_install"))
local _, before = m:user_write(mm, a, "x")
assert(mm:madvise(a, PAGE, "guard_remove"))
local after = m:user_write(mm, a, "x")
vmlab.result{{"write before remove", before or "ok"}, {"write after remove", after and "ok" or "SIGSEGV"}}
assert(before == "SIGSEGV" and after)
