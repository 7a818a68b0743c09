-- clear-refs-no-flush: clear_refs 4 must flush the TLBs, or a cached writable entry writes past soft-dirty
--
-- Writing 4 to /proc/PID/clear_refs write-protects every PTE and clears
-- its soft-dirty bit, so that the next write faults and marks the page
-- again (fs/proc/task_mmu.c clear_refs_write()).  Since 0758cd830494 an
-- mmu_gather that batched no page flushed nothing in tlb_finish_mmu(),
-- and clear_refs relied on it; 912efa17e512 flushes explicitly
-- (flush_tlb_mm with inc/dec_tlb_flush_pending, as mprotect).  Without
-- it CPU 1 keeps its writable entry: its write goes through an entry
-- granting more than the PTE (stale-access) and never sets soft-dirty.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(c1:user_write(mm, a, "v1"))        -- CPU 1 caches it writable
assert(mm:soft_dirty(a))
assert(c0:user_read(mm, a, 2) == "v1")
assert(mm:clear_refs(4))
assert(not mm:soft_dirty(a), "clear_refs cleaned the page")
assert(c1:user_write(mm, a, "v2"))        -- must fault and mark it
assert(mm:soft_dirty(a), "the write after clear_refs is tracked")
