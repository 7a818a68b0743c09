-- batched-pending-ignored: mprotect must flush a PTE kswapd unmapped with its flush still batched
--
-- kswapd (CPU 0) reclaims a page: it clears the PTE (a swap entry now),
-- batches the flush (TTU_BATCH_FLUSH) and may be preempted before
-- try_to_unmap_flush().  mprotect(PROT_READ) on CPU 2 then finds no
-- present PTE to change and nothing of its own to flush; only
-- flush_tlb_batched_pending() (3ea277194daa) flushes the mm.  Without it
-- the thread on CPU 1, whose TLB still holds the RW entry, writes the page
-- after mprotect returned: the write must fault (SIGSEGV) instead.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 3}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw",
                         flags = {"private", "anonymous"}})
local c1 = m:cpu(1)
assert(c1:user_write(mm, a, "A")) -- CPU 1 caches the RW entry
local protected, wrote = false, nil
m:run{
  [0] = function(cpu) mm:reclaim(a, PAGE) end,
  [1] = function(cpu)
    while not protected do cpu:yield() end
    wrote = cpu:user_write(mm, a, "B")
  end,
  [2] = function(cpu)
    assert(mm:mprotect(a, PAGE, "r"))
    protected = true
  end,
}
assert(not wrote, "a write after mprotect(PROT_READ) returned must fault")
