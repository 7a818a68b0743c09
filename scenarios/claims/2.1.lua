-- 2.1: Real shadow memory allocated on demand for vmalloc/vmap (`kasan_populate_vmalloc`)
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- The shadow of an address in the vmalloc range is unmapped until an
-- area (vmalloc or vmap) covering it is allocated; then its shadow is a
-- real page, unpoisoned for the area's bytes.
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true}
local probe = vmlab.VMALLOC_START + (1 << 30)
local before = m:kasan_shadow(vmlab.VMALLOC_START)
local s0 = m:kasan_stats().shadow_pages_populated
local a = m:vmalloc(3 * 4096)
local pfns = {m:alloc_pages(), m:alloc_pages()}
local v = m:vmap(pfns)
local st = m:kasan_stats()
vmlab.result{{"shadow of the vmalloc range at boot", before == nil and "unmapped" or before},
  {"shadow byte of a new vmalloc area", m:kasan_shadow(a)},
  {"shadow byte of a new vmap area", m:kasan_shadow(v)},
  {"shadow pages populated", st.shadow_pages_populated - s0},
  {"shadow of an address no area covers", m:kasan_shadow(probe) == nil and "unmapped" or "mapped"}}
assert(before == nil and m:kasan_shadow(a) == 0 and m:kasan_shadow(v) == 0)
assert(st.shadow_pages_populated - s0 >= 1 and m:kasan_shadow(probe) == nil)
