-- lazy-no-catchup: a CPU leaving lazy TLB mode catches up on the flushes it skipped (tlb_gen)
--
-- CPU 1 goes lazy with the mm loaded; mprotect(PROT_READ) on CPU 0 skips
-- it (no IPI to lazy CPUs when no tables are freed) and bumps the mm's
-- tlb_gen.  When CPU 1 runs the mm again it must flush; else it keeps
-- writing through its old RW entry.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4096, prot = "rw", flags = {"private", "anonymous"}})
assert(c1:user_write(mm, a, "rw"))
c1:enter_lazy_tlb()
assert(mm:mprotect(a, 4096, "r"))
mm:switch(c1)
local ok, sig = c1:user_write(mm, a, "after mprotect")
assert(sig == "SIGSEGV", "the read-only page faults on CPU 1")
