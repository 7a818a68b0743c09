-- 3.11: Grow the X range in 2 MiB-aligned steps, so everybody gets 2 MiB iTLB entries
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
local P = vmlab.params{programs = 600, size = 4096}
local m = vmlab.machine{cpus = 2, memory = "2G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "split-range"})
local f = assert(m:cpu(0):execmem_workload{programs = P.programs, size = P.size, rounds = 1,
  fetch_bytes = 64, unload = false, type = "module-text"})
local st = m:execmem_stats()
local aligned = (st.x_boundary - vmlab.MODULES_VADDR) % vmlab.PMD_SIZE == 0
vmlab.result{{"text (KiB)", P.programs * P.size // 1024}, {"X part grows (2 MiB steps)", st.boundary_grows},
  {"boundary 2 MiB aligned", aligned and "yes" or "no"},
  {"2 MiB translations for the text", f.itlb_2m}, {"4 KiB translations", f.itlb_4k}}
assert(aligned and st.boundary_grows >= 2 and f.itlb_4k == 0 and f.itlb_2m == st.boundary_grows)
