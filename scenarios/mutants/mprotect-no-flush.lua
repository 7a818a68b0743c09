-- mprotect-no-flush: mprotect(PROT_READ) must flush the other CPUs of the mm
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c1:user_write(mm, a, "rw"))
assert(mm:mprotect(a, 4096, "r"))
local ok, sig = c1:user_write(mm, a, "after mprotect")
assert(sig == "SIGSEGV", "the read-only page faults on CPU 1")
