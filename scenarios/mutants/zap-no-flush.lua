-- zap-no-flush: MADV_DONTNEED must flush before the zapped pages are freed
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c0:user_write(mm, a, "old"))
assert(c1:user_read(mm, a, 3) == "old")
assert(mm:madvise(a, 4096, "dontneed"))
local hog = {}
for i = 1, 64 do hog[i] = c0:alloc_pages() end
assert(c1:user_read(mm, a, 3) == "\0\0\0", "a fresh zero page after DONTNEED")
