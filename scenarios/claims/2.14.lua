-- 2.14: v6 drops `WARN_ON_ONCE(pte_none(*ptep))` (too many false positives)
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- A purge releases the shadow of a whole free region, of which only some
-- pages were ever populated: the depopulate meets none PTEs and must not
-- warn about them.
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true}
local a = assert(m:vmalloc(4096))
local b = assert(m:vmalloc_node_range{size = 4096, start = vmlab.VMALLOC_START + (1 << 30),
  ["end"] = vmlab.VMALLOC_END})
m:vfree(a); m:vfree(b)
local w0 = m:warnings()
m:purge_vmap_area_lazy()
local st = m:kasan_stats()
vmlab.result{{"shadow pages freed", st.shadow_pages_freed}, {"warnings", m:warnings() - w0}}
assert(st.shadow_pages_freed >= 2 and m:warnings() == w0)
