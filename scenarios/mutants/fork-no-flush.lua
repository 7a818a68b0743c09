-- fork-no-flush: fork write-protects the parent's private pages and must flush, or the parent writes the page the child shares
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c1:user_write(mm, a, "before fork"))
local child = assert(mm:fork())
assert(c1:user_write(mm, a, "parent after"))
assert(c0:user_read(child, a, 11) == "before fork", "the child keeps its copy")
