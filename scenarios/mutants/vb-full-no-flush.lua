-- vb-full-no-flush: vm_unmap_aliases must flush the dirty range of a fully used vmap block too
--
-- Sixteen vm_map_ram mappings of 64 pages fill one per-CPU vmap block
-- (1024 pages), which takes it off the CPU's free list.  The first
-- mapping (page q) is read by CPU 1, then vm_unmap_ram'd: its range is
-- dirty, the block stays in use by the other fifteen.  vm_unmap_aliases()
-- must flush that range (fc1e0d980037 made it walk every block, not only
-- the free lists); q is then freed and handed out again, and CPU 1 must
-- not reach it through the old alias.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local q, p = c0:alloc_pages(), c0:alloc_pages()
local function pages(pfn)
  local t = {}
  for i = 1, 64 do t[i] = pfn end
  return t
end
local first = assert(c0:vm_map_ram(pages(q)))
for _ = 2, 16 do assert(c0:vm_map_ram(pages(p))) end
c0:write(first, "old")
assert(c1:read(first, 3) == "old")
c0:vm_unmap_ram(first, 64)
c0:vm_unmap_aliases()
c0:free_pages(q)
local r = c0:alloc_pages()
c0:write(vmlab.page_address(r), "new owner")
c1:read(first, 3)
