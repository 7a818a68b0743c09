-- 2.4: Unused shadow is cleaned up lazily through the vmap purge
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
local P = vmlab.params{areas = 32}
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true}
local as = {}
for i = 1, P.areas do as[i] = assert(m:vmalloc(4096)) end
local live = m:kasan_stats().shadow_pages_mapped
for i = 1, P.areas do m:vfree(as[i]) end
local after_vfree = m:kasan_stats()
m:purge_vmap_area_lazy()
local after_purge = m:kasan_stats()
vmlab.result{{"shadow pages mapped (live)", live},
  {"after vfree", after_vfree.shadow_pages_mapped}, {"after the purge", after_purge.shadow_pages_mapped},
  {"releases (purges that released shadow)", after_purge.releases}}
assert(after_vfree.shadow_pages_mapped == live and after_vfree.shadow_pages_freed == 0)
assert(after_purge.shadow_pages_mapped < live and after_purge.releases >= 1)
