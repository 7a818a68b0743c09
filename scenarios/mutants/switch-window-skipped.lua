-- switch-window-skipped: a CPU switching to the mm must get the flushes from the moment its mm_cpumask bit is set
--
-- CPU 1 ran a thread of mm (its PCID holds the RW entry of page a), then
-- another process.  It switches back (switch_mm_irqs_off: mm_cpumask bit,
-- tlb_gen read, CR3) while CPU 0 runs mprotect(PROT_READ) on a.  A flush
-- that lands after the tlb_gen read must still reach CPU 1: before
-- fea4e317f9e7, should_flush_tlb() saw LOADED_MM_SWITCHING instead of mm
-- and sent no IPI, and the switch loaded the PCID without a flush.  The
-- thread's write after mprotect returned must fault.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 2 * PAGE, prot = "rw",
                         flags = {"private", "anonymous"}})
assert(c0:user_write(mm, a, "A"))
assert(c1:user_write(mm, a, "A")) -- CPU 1 caches the RW entry
assert(c0:user_write(mm, a + PAGE, "B"))
assert(mm:mprotect(a + PAGE, PAGE, "r")) -- this second's mask trim is spent
local other = assert(c1:user_mm()) -- CPU 1 runs another process
local protected, wrote = false, nil
m:run{
  [0] = function(cpu)
    assert(mm:mprotect(a, PAGE, "r"))
    protected = true
  end,
  [1] = function(cpu)
    mm:switch(cpu)
    while not protected do cpu:yield() end
    wrote = cpu:user_write(mm, a, "C")
  end,
}
assert(not wrote, "a write after mprotect(PROT_READ) returned must fault")
