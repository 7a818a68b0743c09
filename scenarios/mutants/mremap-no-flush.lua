-- mremap-no-flush: mremap moves the PTEs and must flush the old range before the page can go
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c0:user_write(mm, a, "old"))
assert(c1:user_read(mm, a, 3) == "old")
-- MREMAP_DONTUNMAP keeps the old VMA (empty): no munmap flushes it.
local b = assert(mm:mremap(a, 4096, 4096, "maymove|dontunmap"))
assert(mm:munmap(b, 4096))
local hog = {}
for i = 1, 64 do hog[i] = c0:alloc_pages() end
assert(c1:user_read(mm, a, 3) == "\0\0\0", "the old range faults in a zero page")
