-- 2.9: Release only shadow not shared with neighbours: align start up and end down, extend by one shadow page if the free region covers it
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- Four one-page areas share a shadow page.  Freeing one while its
-- neighbours live releases nothing; once all four are free the free
-- region covers the page and it is released.  The "no-extend" variant
-- never releases a partly covered page, so that page leaks.
local function run(release)
  local m = vmlab.machine{cpus = 1, memory = "64M", kasan = release, label = release}
  local as = {}
  for i = 1, 4 do as[i] = assert(m:vmalloc(4096)) end
  local live = m:kasan_stats().shadow_pages_mapped
  m:vfree(as[2]); m:purge_vmap_area_lazy()
  local one = m:kasan_stats().shadow_pages_freed
  for _, i in ipairs{1, 3, 4} do m:vfree(as[i]) end
  m:purge_vmap_area_lazy()
  local st = m:kasan_stats()
  vmlab.result(release, {{"shadow pages (4 live areas)", live},
    {"freed after 1 of 4 is freed", one}, {"freed after all 4", st.shadow_pages_freed},
    {"left mapped", st.shadow_pages_mapped}})
  return one, st
end
local one, fixed = run("fixed")
local one_ne, noext = run("no-extend")
assert(one == 0 and one_ne == 0, "a shared page stays while a neighbour lives")
assert(fixed.shadow_pages_freed >= 1 and noext.shadow_pages_mapped > fixed.shadow_pages_mapped,
  "the extension releases what no-extend leaks")
