-- cow-no-flush: the COW fault must flush the old PTE before the new page is used, or another CPU keeps the shared one
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c0:user_write(mm, a, "shared"))
local child = assert(mm:fork())
assert(c1:user_read(mm, a, 6) == "shared") -- CPU 1 caches the RO shared page
assert(c0:user_write(mm, a, "copied")) -- COW on CPU 0: a new page
assert(c0:user_write(child, a, "childs")) -- the child writes the old page
assert(c1:user_read(mm, a, 6) == "copied", "CPU 1 sees the parent's copy")
