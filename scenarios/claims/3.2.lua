-- 3.2: Frequent alloc/free of RO+X pages fragments the direct map
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- Programs loaded and unloaded in rounds: each per-area program's
-- set_memory_ro/x also changes its frames' direct-map alias, splitting
-- the direct map's 2 MiB pages; packs are set RO+X once.
local P = vmlab.params{programs = 512, size = 64, rounds = 3}
local function run(alloc)
  local m = vmlab.machine{cpus = 2, memory = "1G", direct_map_1g = false, label = alloc}
  assert(m:execmem_setup{allocator = alloc})
  local f = assert(m:cpu(0):execmem_workload{programs = P.programs, size = P.size,
    rounds = P.rounds, fetch_bytes = P.size, unload = true, type = "bpf"})
  vmlab.result(alloc, {{"direct-map 2M->4K splits", f.split_l2_all},
    {"DirectMap4k KiB", f.directmap_4k // 1024}, {"DirectMap2M KiB", f.directmap_2m // 1024}})
  return f
end
local per, pack = run("per-area"), run("pack")
assert(per.split_l2_all > 0 and pack.split_l2_all < per.split_l2_all)
