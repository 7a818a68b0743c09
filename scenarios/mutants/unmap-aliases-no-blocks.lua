-- unmap-aliases-no-blocks: vm_unmap_aliases must flush the dirty parts of vmap blocks (vm_unmap_ram'd aliases)
--
-- vm_unmap_ram() of a small mapping leaves its alias in TLBs and marks
-- the block range dirty; vm_unmap_aliases() flushes the dirty ranges.
-- The page is then freed and reused: CPU 1 must not reach it through the
-- old alias.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local p = c0:alloc_pages()
local a = assert(c0:vm_map_ram({p}))
c0:write(a, "old")
assert(c1:read(a, 3) == "old")
c0:vm_unmap_ram(a, 1)
c0:vm_unmap_aliases()
c0:free_pages(p)
local q = c0:alloc_pages()
c0:write(vmlab.page_address(q), "new owner")
c1:read(a, 3)
