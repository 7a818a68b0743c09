-- swap-drops-soft-dirty: a swapped-out page keeps its soft-dirty bit in the swap entry
--
-- Andy Lutomirski's report behind 179ef71cbc08: a page with
-- _PAGE_SOFT_DIRTY set that is swapped out loses the bit, so a tracker
-- (CRIU's incremental dump) that cleared the bits, saw the page written
-- and then swapped out finds it clean.  The fix keeps the bit in the swap
-- entry (pte_swp_mksoft_dirty() in try_to_unmap_one()) and gives it back
-- on swap-in (do_swap_page()).  A clean page swapped out stays clean.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "256M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 2 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:user_write(mm, a, "one"))
assert(m:user_write(mm, a + PAGE, "two"))
assert(mm:clear_refs(4))
assert(not mm:soft_dirty(a) and not mm:soft_dirty(a + PAGE))
assert(m:user_write(mm, a, "ONE"))          -- written after the clear
assert(mm:madvise(a, 2 * PAGE, "pageout"))
assert(mm:pagemap(a).swap and mm:pagemap(a + PAGE).swap, "both swapped out")
assert(mm:soft_dirty(a), "the written page is soft-dirty in its swap entry")
assert(not mm:soft_dirty(a + PAGE), "the clean one is not")
assert(m:user_read(mm, a, 3) == "ONE" and m:user_read(mm, a + PAGE, 3) == "two")
assert(mm:soft_dirty(a), "and after the swap-in")
assert(not mm:soft_dirty(a + PAGE))
