-- collapse-drops-guard: MADV_COLLAPSE over a PMD range holding a guard
-- marker must refuse (EINVAL, as mm/khugepaged.c since 2025) and the guard
-- page must still fault; khugepaged must not collapse it either.
local m = vmlab.machine{cpus = 2}
local mm = assert(m:user_mm())
local M = 2 * 1024 * 1024
local a = assert(mm:mmap{len = 4 * M, prot = "rw", flags = {"private", "anonymous"}})
local h = (a + M - 1) & ~(M - 1)
local c = m:cpu(0)
assert(c:user_write(mm, h, string.rep("x", M // 2)))
assert(c:user_write(mm, h + M // 2, string.rep("y", M // 2)))
local g = h + 37 * 4096
assert(mm:madvise(g, 4096, "guard_install"))
local ok, err = mm:madvise(h, M, "collapse")
assert(not ok and err == "EINVAL", "collapse over a guard marker: " .. tostring(err))
local _, sig = c:user_read(mm, g, 1)
assert(sig == "SIGSEGV", "the guard page still faults")
m:thp_enabled("always")
m:khugepaged_scan()
_, sig = c:user_read(mm, g, 1)
assert(sig == "SIGSEGV", "khugepaged kept the guard page")
assert(not mm:thp_mapped(h), "no huge page over the guard")
assert(m:vmstat().thp_collapse_alloc == 0, "nothing collapsed")
