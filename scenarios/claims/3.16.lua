-- 3.16: Hellwig/PeterZ: first write via `text_poke_memcpy()`; add a 2 MiB option if 4 KiB copies are a bottleneck
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- A 2 MiB image written into RO+X memory on a 2 MiB leaf with text_poke_copy, a page
-- at a time and with the 2 MiB option: temporary-mm switches, poking
-- flushes and simulated time.
local SIZE = 2 << 20
local function run(variants)
  local label = variants and "2 MiB copies" or "4 KiB copies"
  local m = vmlab.machine{cpus = 2, memory = "1G", direct_map_1g = false, label = label}
  assert(m:execmem_setup{allocator = "pack", variants = variants})
  local a = assert(m:execmem_alloc("bpf", SIZE))
  local s0, t0 = m:execmem_stats(), m:sim_time_ns()
  assert(m:text_poke_copy(a, string.rep("\x90", SIZE)))
  local s1 = m:execmem_stats()
  local r = {switches = s1.temp_mm_switches - s0.temp_mm_switches,
    flushes = s1.poke_flushes - s0.poke_flushes, us = (m:sim_time_ns() - t0) / 1000}
  vmlab.result(label, {{"temporary-mm switches", r.switches}, {"poking flushes", r.flushes},
    {"simulated us", string.format("%.1f", r.us)}})
  return r
end
local small, big = run(nil), run("poke-2m")
assert(small.switches > big.switches and small.us > big.us)
