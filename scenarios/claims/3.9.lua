-- 3.9: Track the X/!X boundary; the two never cross
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- Random text and data allocations and frees: every text allocation ends
-- below the X boundary and every data allocation starts at or above it.
local P = vmlab.params{ops = 400}
local m = vmlab.machine{cpus = 1, memory = "2G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "split-range"})
local live, crossed, checked = {}, 0, 0
for i = 1, P.ops do
  if #live > 0 and m:random(3) == 1 then
    local k = m:random(#live)
    assert(m:execmem_free(live[k].a))
    table.remove(live, k)
  else
    local kind = m:random(2) == 1 and "module-text" or "module-data"
    local size = 64 * m:random(1, 512)
    local a = assert(m:execmem_alloc(kind, size))
    live[#live + 1] = {a = a, size = size, kind = kind}
  end
  local st = m:execmem_stats()
  for _, l in ipairs(live) do
    checked = checked + 1
    if l.kind == "module-text" and math.ult(st.x_boundary, l.a + l.size) then crossed = crossed + 1 end
    if l.kind == "module-data" and math.ult(l.a, st.x_boundary) then crossed = crossed + 1 end
  end
end
local st = m:execmem_stats()
vmlab.result{{"operations", P.ops}, {"allocations checked", checked}, {"on the wrong side", crossed},
  {"X part grown in 2 MiB steps", st.boundary_grows}}
assert(crossed == 0 and checked > 0)
