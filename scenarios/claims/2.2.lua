-- 2.2: Most vmalloc mappings need < 1 shadow page, so share shadow pages between mappings
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- One shadow page describes 32 KiB of vmalloc space: one-page areas (two
-- pages with the guard) share it four at a time.
local P = vmlab.params{areas = 64}
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true}
for i = 1, P.areas do assert(m:vmalloc(4096)) end
local st = m:kasan_stats()
vmlab.result{{"one-page areas", P.areas}, {"shadow pages mapped", st.shadow_pages_mapped},
  {"shadow pages shared by > 1 area", st.shadow_pages_shared},
  {"areas per shadow page", P.areas / st.shadow_pages_mapped}}
assert(st.shadow_pages_mapped * 4 <= P.areas + 4 and st.shadow_pages_shared >= st.shadow_pages_mapped - 1)
