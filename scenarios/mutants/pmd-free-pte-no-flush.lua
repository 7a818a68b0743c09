-- pmd-free-pte-no-flush: vmalloc_huge takes a 2 MiB slot whose empty PTE table CPU 1's paging-structure cache still holds
--
-- A 4 KiB area is vmalloc'ed, used by CPU 1 and freed; its PTE table
-- stays.  CPU 1 walks the region again (its paging-structure cache now
-- names the table).  vmalloc_huge of 2 MiB takes the slot:
-- pmd_free_pte_page() detaches the table, flushes, frees it.  Without
-- the flush CPU 1's cache still reaches the freed table.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(4096)
c0:write(a, "x")
assert(c1:read(a, 1) == "x")
c0:vfree(a)
c0:purge_vmap_area_lazy()
c1:read(a, 1) -- faults; the walk caches the PTE table
local h = c0:vmalloc_huge(2 * 1024 * 1024)
assert(h == a, "the huge area takes the same 2 MiB slot")
local hog = {}
for i = 1, 64 do hog[i] = c0:alloc_pages() end -- the table frame is reused
c0:write(h, "huge")
assert(c1:read(h, 4) == "huge")
