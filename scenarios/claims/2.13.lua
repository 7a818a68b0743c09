-- 2.13: Poison on vfree (v4); handle allocation failures
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- After vfree the area's shadow is poisoned: a use after free is a KASAN
-- report.  With no memory left for a shadow page, vmalloc fails cleanly
-- and no page leaks.
local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true, expect = {"kasan"}}
local a = assert(m:vmalloc(4096))
m:write(a, "x")
m:vfree(a)
local poison = m:kasan_shadow(a)
m:read(a, 1)
local reports = m:nr_reports("kasan")
-- exhaust memory, then ask for an area in fresh vmalloc space
local held = {}
while true do
  local ok, pfn = pcall(m.alloc_pages, m)
  if not ok or not pfn then break end
  held[#held + 1] = pfn
end
local free0 = m:nr_free_pages()
local ok, b = pcall(m.vmalloc_node_range, m, {size = 4096, start = vmlab.VMALLOC_START + (1 << 40),
  ["end"] = vmlab.VMALLOC_END})
local failures = m:kasan_stats().populate_failures
local leaked = free0 - m:nr_free_pages()
for _, pfn in ipairs(held) do m:free_pages(pfn) end
vmlab.result{{"shadow byte after vfree", string.format("0x%02x", poison)},
  {"use after free: kasan reports", reports},
  {"vmalloc with no memory for shadow", (ok and b) and "succeeded" or "failed"},
  {"pages leaked by the failure", leaked}}
assert(poison ~= 0 and reports == 1)
assert(not (ok and b) and leaked == 0)
