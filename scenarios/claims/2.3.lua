-- 2.3: Rejected alternative: one shadow page per mapping (wasteful), or aligning mappings to `KASAN_SHADOW_SCALE_SIZE * PAGE_SIZE` (32 KiB)
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- The same areas three ways: shared shadow pages (the merged design), one
-- shadow page per area (what the model counts alongside), and every area
-- aligned to 32 KiB so that none shares (vmalloc space used).
local P = vmlab.params{areas = 64}
local function run(align)
  local m = vmlab.machine{cpus = 1, memory = "64M", kasan = true,
    label = align and "aligned to 32 KiB" or "shared"}
  local lo, hi
  for i = 1, P.areas do
    local size = 4096 * (1 + i % 3)
    local a = align and m:vmalloc_node_range{size = size, align = 32768} or m:vmalloc(size)
    assert(a)
    lo = (not lo or math.ult(a, lo)) and a or lo
    hi = (not hi or math.ult(hi, a + size)) and a + size or hi
  end
  local st = m:kasan_stats()
  vmlab.result(m:label(), {{"shadow pages mapped", st.shadow_pages_mapped},
    {"one shadow page per area would take", st.shadow_pages_one_per_area},
    {"vmalloc space spanned (KiB)", (hi - lo) // 1024}})
  return st, hi - lo
end
local shared, span_s = run(false)
local aligned, span_a = run(true)
assert(shared.shadow_pages_one_per_area > 2 * shared.shadow_pages_mapped, "one page per area is wasteful")
assert(span_a > span_s, "32 KiB alignment wastes vmalloc space")
