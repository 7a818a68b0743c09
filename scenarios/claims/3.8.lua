-- 3.8: `module_alloc_data()` top-down, text bottom-up: bottom of module range RO+X only, top `!X`
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- The split-range allocator: module text from the bottom of the module
-- range, module data from the top.
local m = vmlab.machine{cpus = 1, memory = "1G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "split-range"})
local text, data = {}, {}
for i = 1, 8 do
  text[i] = assert(m:execmem_alloc("module-text", 4096 * i))
  data[i] = assert(m:execmem_alloc("module-data", 4096 * i))
end
local mid = vmlab.MODULES_VADDR + (vmlab.MODULES_END - vmlab.MODULES_VADDR) // 2
local tlow, dhigh = 0, 0
for i = 1, 8 do
  if math.ult(text[i], mid) then tlow = tlow + 1 end
  if math.ult(mid, data[i]) then dhigh = dhigh + 1 end
end
local tx = m:fetch(text[1], 1) and "exec" or "no exec"
local dx = m:fetch(data[1], 1) and "exec" or "no exec"
vmlab.result{{"text allocations in the lower half", tlow}, {"data allocations in the upper half", dhigh},
  {"text", tx}, {"data", dx}}
assert(tlow == 8 and dhigh == 8 and tx == "exec" and dx == "no exec")
