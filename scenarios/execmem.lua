-- execmem: N BPF-like programs on four executable-memory allocators: iTLB entries, iTLB misses, direct-map splits, waste, text_pokes, W+X verdict
--
-- seeds/vmalloc-exec-rox.txt (2022): one RO+X vmalloc area per program
-- costs a page-table entry and an iTLB entry each and fragments the
-- direct map; Song Liu's shared 2 MiB ROX packs (bpf_prog_pack, merged in
-- 5.18) and Peter Zijlstra's split module range (text bottom-up in 2 MiB
-- ROX steps, data top-down) answer that, and Linux later merged the
-- execmem ROX cache.  The same workload on each:
--   per-area     module_alloc(): RW area, write, set_memory_ro + _x
--   pack         2 MiB packs of 64-byte chunks, written via text_poke
--   split-range  page-granular text in a 2 MiB-stepped X part
--   rox-cache    the execmem ROX cache (here serving BPF too)
-- and the old order, set_memory_x before set_memory_ro, which the checker
-- must catch as a W+X window.  The real kernel (Linux 6.18, x86-64, a
-- 2-CPU VM) puts 3000 4-instruction socket filters in one prog pack and
-- splits nothing in the direct map: the pack column must say the same.
--
-- Sweep: vmlab run execmem -D programs=100,1000,10000 -D size=64,512,4096
-- Module loads (text + rodata + data): -D workload=module -D size=16384;
-- a mixed churn of unloads and loads before the fetches: -D churn=5000.

local P = vmlab.params{programs = 3000, size = 64, rounds = 2, cpus = 2,
                       workload = "bpf", churn = 0}
assert(P.workload == "bpf" or P.workload == "module",
       "workload is bpf or module")
local modules = P.workload == "module"

local columns = {
  {label = "per-area", allocator = "per-area"},
  {label = "pack", allocator = "pack"},
  {label = "split-range", allocator = "split-range"},
  {label = "rox-cache", allocator = "rox-cache", variants = "rox-bpf"},
  {label = "per-area, x before ro", allocator = "per-area",
   variants = "x-before-ro", expect = {"wx-alias"}},
}

for _, col in ipairs(columns) do
  -- No 1 GiB direct-map pages, as on the reference VM.
  local m = vmlab.machine{cpus = P.cpus, memory = "2G", direct_map_1g = false,
                          label = col.label, expect = col.expect,
                          quiet = col.expect ~= nil}
  assert(m:execmem_setup{allocator = col.allocator, variants = col.variants})
  local f = assert(m:cpu(0):execmem_workload{
    programs = P.programs, size = P.size, rounds = P.rounds,
    fetch_bytes = P.size, unload = true, churn = P.churn, modules = modules,
    type = modules and "module-text" or "bpf"})
  local wx = f.wx_reports
  if col.expect then
    assert(wx > 0, "the old order opens a W+X window")
  else
    assert(wx + f.stale_reports + f.freed_reports == 0, col.label .. " is clean")
  end
  if col.allocator == "pack" and not modules and P.churn == 0
     and P.programs <= 30000 and P.size <= 64 then
    assert(f.nr_packs == 1 and f.split_l2 + f.split_l3 == 0,
           "one prog pack, no direct-map split while loading (the 6.18 reference)")
  end
  vmlab.result(m:label(), {
    {"iTLB entries for the text (4K)", f.itlb_4k},
    {"iTLB entries for the text (2M)", f.itlb_2m},
    {"iTLB misses (fetch phase)", f.itlb_miss},
    {"page walks (fetch phase)", f.walks},
    {"direct-map splits 2M->4K (load)", f.split_l2},
    {"direct-map splits 1G->2M (load)", f.split_l3},
    {"direct-map splits 2M->4K (run)", f.split_l2_all},
    {"DirectMap4k KiB", f.directmap_4k // 1024},
    {"DirectMap2M KiB", f.directmap_2m // 1024},
    {"DirectMap1G KiB", f.directmap_1g // 1024},
    {"bytes wasted", f.wasted_bytes},
    {"packs / cached 2M pages", f.nr_packs},
    {"vmalloc areas", f.nr_areas},
    {"text_pokes", f.text_pokes},
    {"bytes poked", f.bytes_poked},
    {"temp-mm switches", f.temp_mm_switches},
    {"poking-address flushes", f.poke_flushes},
    {"TLB flushes", f.flushes},
    {"IPIs", f.ipis},
    {"simulated us", math.floor(f.time_ns / 1000)},
    {"W+X verdict", wx > 0 and string.format("%d wx-alias", wx) or "clean"},
  })
end
