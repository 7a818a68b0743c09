-- 2.7: Rutland: depopulate does `pte_clear` + `free_page` with no TLB maintenance, so errant accesses hit the freed page
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- CPU 1 has used an area, so its TLB holds the translation of the area's
-- shadow page.  The area is freed and purged: as posted (seed-v6), the
-- shadow page goes back to the allocator while CPU 1 still reaches it
-- (freed-frame-reachable); with the flush (as merged) it does not.
local function run(release, expect)
  local m = vmlab.machine{cpus = 2, memory = "64M", kasan = release, label = release, expect = expect}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = assert(c0:vmalloc(4096))
  assert(c1:read(a, 8))
  c0:vfree(a)
  c0:purge_vmap_area_lazy()
  local st = m:kasan_stats()
  vmlab.result(release, {{"shadow pages freed", st.shadow_pages_freed},
    {"freed without a TLB flush", st.freed_without_flush},
    {"freed-frame-reachable reports", m:nr_reports("freed-frame-reachable")}})
  return m:nr_reports("freed-frame-reachable")
end
assert(run("seed-v6", {"freed-frame-reachable"}) > 0)
assert(run("fixed", nil) == 0)
