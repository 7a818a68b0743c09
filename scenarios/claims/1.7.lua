-- 1.7: Plain `vm_unmap_aliases()` may flush a range that leaves out the direct map, hence `_vm_unmap_aliases(start, end, must_flush)`
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- CPU 1 has cached the direct-map alias of a page.  The page's alias is
-- made invalid without a flush (set_direct_map_invalid_noflush), and one
-- small area is lazily freed.  Plain vm_unmap_aliases() flushes only the
-- lazy vmalloc range: CPU 1 keeps the direct-map entry.  The flagged
-- vfree, which passes the direct-map range to _vm_unmap_aliases(), does
-- not leave it.
local function run(way)
  local m = vmlab.machine{cpus = 2, label = way}
  local c0, c1 = m:cpu(0), m:cpu(1)
  c0:vfree(c0:vmalloc(4096)) -- something for vm_unmap_aliases to purge
  local pfn, a
  if way == "vm_unmap_aliases()" then
    pfn = c0:alloc_pages()
  else
    a = c0:vmalloc(4096)
    pfn = m:translate(a) // vmlab.PAGE_SIZE
  end
  local dm = vmlab.page_address(pfn)
  -- split the direct map's large page first (CPA flushes everything when
  -- it splits), so that what follows is about the flush range alone
  c0:set_direct_map_invalid_noflush(pfn)
  c0:set_direct_map_default_noflush(pfn)
  c0:flush_all()
  assert(c1:read(dm, 1))
  local r0, f0 = m:counter("flush_kernel_range"), m:counter("flush_kernel_range_full") + m:counter("flush_all")
  assert(m:tlb_probe(dm, 1), "CPU 1 caches the direct-map alias")
  if a then
    c0:set_vm_flush_reset_perms(a)
    c0:vfree(a)
  else
    c0:set_direct_map_invalid_noflush(pfn)
    c0:vm_unmap_aliases()
  end
  local cached = m:tlb_probe(dm, 1) and 1 or 0
  vmlab.result(way, {{"CPU 1 still caches the direct-map alias", cached},
    {"range flushes", m:counter("flush_kernel_range") - r0},
    {"full flushes", m:counter("flush_kernel_range_full") + m:counter("flush_all") - f0}})
  return cached
end
assert(run("vm_unmap_aliases()") == 1, "the narrow range misses the direct map")
assert(run("flagged vfree") == 0, "the direct-map range is flushed too")
