-- 3.3: BPF prog pack: small programs share a 2 MiB RO+X pack (chunk bitmap)
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- The Linux 6.18 reference: 3000 classic-BPF socket filters of four
-- instructions all land in one prog pack (one 2 MiB vmalloc area) and
-- split nothing in the direct map.
local P = vmlab.params{programs = 3000, size = 64}
local m = vmlab.machine{cpus = 2, memory = "2G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "pack"})
local f = assert(m:cpu(0):execmem_workload{programs = P.programs, size = P.size,
  rounds = 1, fetch_bytes = P.size, unload = false, type = "bpf"})
vmlab.result{{"programs", P.programs}, {"packs", f.nr_packs}, {"vmalloc areas", f.nr_areas},
  {"direct-map splits", f.split_l2 + f.split_l3}, {"bytes wasted", f.wasted_bytes}}
assert(f.nr_packs == 1 and f.nr_areas == 1 and f.split_l2 + f.split_l3 == 0)
