-- 3.1: Every dynamic-text user takes ≥1 RO+X page, so one page-table entry and one iTLB entry each
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- N small BPF-like programs, one vmalloc area each (module_alloc style):
-- covering their text takes one 4 KiB translation per program; sharing
-- 2 MiB ROX packs takes one 2 MiB translation for all of them.
local P = vmlab.params{programs = 256, size = 64}
local function run(alloc)
  local m = vmlab.machine{cpus = 2, memory = "1G", direct_map_1g = false, label = alloc}
  assert(m:execmem_setup{allocator = alloc})
  local f = assert(m:cpu(0):execmem_workload{programs = P.programs, size = P.size,
    rounds = 1, fetch_bytes = P.size, unload = false, type = "bpf"})
  vmlab.result(alloc, {{"programs", P.programs}, {"4 KiB translations for the text", f.itlb_4k},
    {"2 MiB translations for the text", f.itlb_2m}, {"iTLB misses (fetch phase)", f.itlb_miss}})
  return f
end
local per, pack = run("per-area"), run("pack")
assert(per.itlb_4k == P.programs and per.itlb_2m == 0, "one page, one entry per program")
assert(pack.itlb_4k == 0 and pack.itlb_2m == 1)
