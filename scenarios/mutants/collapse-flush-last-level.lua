-- collapse-flush-last-level: the flush of a collapse frees a page table, so it must reach lazy CPUs
--
-- CPU 1 runs a thread of the mm (its paging-structure cache holds the PMD
-- entry that points at the PTE table of the range), then a kernel thread
-- (lazy TLB mode, the mm stays loaded).  MADV_COLLAPSE on CPU 0 unhooks
-- the PTE table (pmdp_collapse_flush) and frees it after the flush.  That
-- flush removes a table, not only leaves: with freed_tables false
-- (flush_tlb_range() before 3ef938c35035) the shootdown skips the lazy
-- CPU and the freed table stays reachable from its walk cache.
--
-- Where Linux differs: the fix's path (its message) is
-- collapse_pte_mapped_thp() (file/shmem THP, the table freed with
-- pte_free_defer() after pmdp_collapse_flush()); an anonymous
-- collapse_huge_page() deposits the old table
-- (pgtable_trans_huge_deposit) and frees it only when the huge PMD is
-- zapped.  The model has no deposit and frees the table here, so this
-- scenario catches the same skipped lazy CPU one step earlier.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
local M = 2 * 1024 * 1024
local a = assert(mm:mmap{len = 2 * M, prot = "rw", flags = {"private", "anonymous"}})
local h = (a + M - 1) & ~(M - 1)
for i = 0, 511, 64 do assert(c0:user_write(mm, h + i * 4096, "x")) end
assert(c1:user_read(mm, h, 1) == "x") -- CPU 1 walks the PTE table
c1:enter_lazy_tlb()
assert(mm:madvise(h, M, "collapse"))
assert(mm:thp_mapped(h))
local hog = {}
for i = 1, 64 do hog[i] = c0:alloc_pages() end -- the table's frame is reused
mm:switch(c1)
assert(c1:user_read(mm, h, 1) == "x")
