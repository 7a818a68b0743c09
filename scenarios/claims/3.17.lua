-- 3.17: On x86 data must be within s32 reach of text, so it stays in the module range and uses the other end
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
local m = vmlab.machine{cpus = 1, memory = "1G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "split-range"})
local t = assert(m:execmem_alloc("module-text", 4096))
local d = assert(m:execmem_alloc("module-data", 4096))
local far = math.max(d + 4096 - t, t + 4096 - d)
vmlab.result{{"text to data distance (MiB)", far >> 20}, {"s32 reach (MiB)", (1 << 31) >> 20},
  {"data inside the module range", (not math.ult(d, vmlab.MODULES_VADDR) and math.ult(d, vmlab.MODULES_END)) and "yes" or "no"}}
assert(far < (1 << 31))
