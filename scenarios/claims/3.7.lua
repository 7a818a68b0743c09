-- 3.7: PeterZ: `VM_TOPDOWN_VMAP` — highest-fit instead of lowest-fit vmap_area
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
local m = vmlab.machine{cpus = 1, memory = "256M"}
local low = assert(m:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR, ["end"] = vmlab.MODULES_END})
local high = assert(m:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR, ["end"] = vmlab.MODULES_END,
  flags = "VM_TOPDOWN_VMAP"})
vmlab.result{{"lowest fit: offset in the module range (KiB)", (low - vmlab.MODULES_VADDR) // 1024},
  {"VM_TOPDOWN_VMAP: distance from the range's end (KiB)", (vmlab.MODULES_END - high) // 1024}}
assert(low == vmlab.MODULES_VADDR and vmlab.MODULES_END - high <= 2 * 4096)
