-- table-batch-no-invalidate: a full batch of freed page tables must be flushed from the TLBs before it is freed
--
-- A 2 GiB mapping with one page touched per 2 MiB in its first 600 has
-- 600 PTE tables; CPU 1 runs a thread of the mm and has walked the first
-- one.  munmap frees them through the mmu_gather's table batch (512 in
-- the model, MAX_TABLE_BATCH ~509 in Linux), which fills up before
-- tlb_finish_mmu().  Since d86564a2f085 the batch is freed (call_rcu)
-- only after tlb_table_invalidate() flushed the TLBs; before it, the
-- tables could be freed while CPU 1's paging-structure cache still
-- points at one of them.
local PAGE, M = vmlab.PAGE_SIZE, 2 * 1024 * 1024
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local len = 1024 * M
local a = assert(mm:mmap{len = len + M, prot = "rw",
                         flags = {"private", "anonymous"}})
local h = (a + M - 1) & ~(M - 1)
for i = 0, 599 do assert(c0:user_write(mm, h + i * M, "x")) end
assert(c1:user_read(mm, h, 1) == "x") -- CPU 1 walks the first table
assert(mm:munmap(a, len + M))
local _, sig = c1:user_read(mm, h, 1)
assert(sig == "SIGSEGV", "the unmapped page faults on CPU 1")
