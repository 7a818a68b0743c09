-- reset-perms-dmap-range: vfree of a VM_FLUSH_RESET_PERMS area must flush the direct-map aliases
--
-- A vmalloc page made read-only (set_memory_ro changes its direct-map
-- alias too); CPU 1 reads the page through the direct map, so its TLB
-- holds the read-only linear-map entry.  vfree with VM_FLUSH_RESET_PERMS
-- makes the aliases invalid, flushes once over the lazy areas and the
-- direct-map range of the pages (8e41f8726dcf: that range was
-- [area, area) of the vmalloc address before), and resets them to RW.
-- After the vfree no CPU may still hold the read-only alias of a page
-- that is back in the page allocator.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(2 * 4096)
c0:write(a, "text")
local vm = assert(c0:find_vm_area(a))
-- Both pages' aliases.  (A range that only misses the last page's size is
-- not a bug here: joined with the lazy vmalloc range it is over the
-- ceiling and flush_tlb_kernel_range() flushes everything.)
local dms = {vmlab.page_address(vm.pages[1]), vmlab.page_address(vm.pages[2])}
c0:set_memory_ro(a, 2)
for _, dm in ipairs(dms) do
  assert(c1:read(dm, 4))
  assert(m:tlb_probe(dm, 1), "CPU 1 caches the read-only direct-map entry before the vfree")
end
c0:set_vm_flush_reset_perms(a)
c0:vfree(a)
for _, dm in ipairs(dms) do
  local level, pfn, prot = m:tlb_probe(dm, 1)
  assert(level == nil, string.format(
    "CPU 1 still caches the read-only direct-map alias of freed pfn %#x (prot %#x)",
    pfn or 0, prot or 0))
end
