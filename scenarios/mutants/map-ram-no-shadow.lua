-- map-ram-no-shadow: with KASAN_VMALLOC, vm_map_ram memory needs real shadow too
--
-- A small vm_map_ram() is carved from a per-CPU vmap block, whose area
-- comes from alloc_vmap_area(), which populates the shadow since
-- d98c9e83b5e7; vm_map_ram() then unpoisons the mapping and
-- vm_unmap_ram() poisons it again.  Before the fix only vm_struct areas
-- got shadow (__get_vm_area_node, __vmalloc_node_range), and the first
-- instrumented access to vm_map_ram() memory read shadow that was not
-- mapped: an oops.  Both pages map the same frame here.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, kasan = true}
local c0, c1 = m:cpu(0), m:cpu(1)
local p = c0:alloc_pages()
local a = assert(c0:vm_map_ram({p, p}))
c0:write(a + PAGE, "xfs")
assert(c1:read(a, 3) == "xfs")
c0:vm_unmap_ram(a, 2)
