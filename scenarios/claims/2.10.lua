-- 2.10: Don't extend to the whole free region (it may cover huge never-used ranges)
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- The first area of the vmalloc range is freed: the free region around it
-- is almost the whole 32 TiB range, whose shadow (4 TiB) was never
-- populated.  The release looks only at the area's shadow and one shadow
-- page either side: a handful of events, not a walk over the region.
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true}
local a = assert(m:vmalloc(4096))
m:vfree(a)
local e0 = m:events()
m:purge_vmap_area_lazy()
local events = m:events() - e0
local st = m:kasan_stats()
vmlab.result{{"free region around the area (TiB)", (vmlab.VMALLOC_END - vmlab.VMALLOC_START) >> 40},
  {"shadow pages freed", st.shadow_pages_freed}, {"events of the purge", events}}
assert(st.shadow_pages_freed == 1 and events < 200)
