-- munmap-no-flush: munmap must flush other CPUs of the mm before the pages are freed
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c0:user_write(mm, a, "old"))
assert(c1:user_read(mm, a, 3) == "old") -- CPU 1 runs a thread of mm
assert(mm:munmap(a, 4096))
local hog = {}
for i = 1, 64 do hog[i] = c0:alloc_pages() end -- the frame is reused
local s, sig = c1:user_read(mm, a, 3)
assert(sig == "SIGSEGV", "the unmapped page faults on CPU 1")
