-- guard-fork-file: guard markers in a shared (file-like) mapping survive fork
local m = vmlab.machine{cpus = 2}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4 * 4096, prot = "rw", flags = {"shared", "anonymous"}})
assert(mm:madvise(a, 4096, "guard_install"))
local child = assert(mm:fork())
local s, sig = m:cpu(0):user_read(child, a, 1)
assert(sig == "SIGSEGV", "the child's guard page faults")
