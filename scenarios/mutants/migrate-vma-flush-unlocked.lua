-- migrate-vma-flush-unlocked: migrate_vma must flush the TLB before it drops the PTL
--
-- The race in 60bae7370896's message: migrate_vma_collect_pmd() turns
-- the PTEs into migration entries, drops the PTL and only then calls
-- flush_tlb_range().  A MADV_DONTNEED on another CPU (mmap_read_lock, as
-- the driver's migrate_vma_setup) can run in between: it finds
-- non-present entries, has nothing to flush and returns, while the page
-- is still accessible through the stale TLB entry.  Here CPU 1 cached
-- the page, advises DONTNEED and reads: it must see a fresh zero page,
-- not the old contents through an entry its PTE no longer grants
-- (stale-access).  The fix flushes with the PTL held.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2}
local c1 = m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(c1:user_write(mm, a, "data"))      -- CPU 1 caches it
m:run{
  [0] = function(cpu)
    assert(mm:migrate_vma(a, a + PAGE))
  end,
  [1] = function(cpu)
    assert(mm:madvise(a, PAGE, "dontneed"))
    assert(cpu:user_read(mm, a, 4) == "\0\0\0\0",
           "MADV_DONTNEED returned: the page reads as zeroes")
  end,
}
