-- 2.5: The vmalloc part of the shadow must be left unmapped, not mapped to the early (zero) shadow page
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- At boot the direct map's shadow is mapped and the vmalloc range's is
-- not (a populate would otherwise find a PTE already there and never
-- allocate a real page; mutant kasan-vmalloc-early-shadow shows it).
-- Probed at the start, the middle and the end of the vmalloc range; the
-- ranges that are neither RAM nor vmalloc/modules read the early page.
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true}
local mapped = 0
for _, va in ipairs{vmlab.VMALLOC_START, vmlab.VMALLOC_START + (1 << 40), vmlab.VMALLOC_END - 4096} do
  if m:kasan_shadow(va) ~= nil then mapped = mapped + 1 end
end
local dm = m:kasan_shadow(vmlab.PAGE_OFFSET)
-- The rest of the region is on the early (zero) shadow, read-only:
-- vmemmap and the fixmap at the top read 0.
local early = 0
for _, va in ipairs{0xffffea0000000000, 0xffffffffff600000} do
  if m:kasan_shadow(va) == 0 then early = early + 1 end
end
local st = m:kasan_stats()
vmlab.result{{"vmalloc shadow probes mapped at boot (of 3)", mapped},
  {"direct-map shadow at boot", dm == nil and "unmapped" or "mapped"},
  {"direct-map shadow pages", st.dm_shadow_pages},
  {"early-shadow probes reading 0 (of 2)", early},
  {"entries kasan_init pointed at the early shadow", st.early_shadow_entries}}
assert(mapped == 0 and dm ~= nil and early == 2 and st.early_shadow_entries > 0)
