-- 1.12: Design alternative: two flags ("immediate flush" and "reset direct map"), merged into one because they are used together
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- The earlier design had one flag to flush the vmalloc alias at vfree and
-- another to reset the direct map; memory with special permissions needs
-- both.  With two flags each does its own flush (the vmalloc alias, then
-- invalid -> flush -> default for the direct map); the merged
-- VM_FLUSH_RESET_PERMS does both with one.  The two-flag way is composed
-- here from the same primitives vfree uses.
local P = vmlab.params{programs = 8}
local function flushes(m)
  return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full")
    + m:counter("flush_all")
end
local function run(way)
  local m = vmlab.machine{cpus = 4, label = way}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local progs = {}
  for i = 1, P.programs do
    local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR,
      ["end"] = vmlab.MODULES_END}
    c0:set_memory_ro(a, 1); c0:set_memory_x(a, 1)
    assert(c1:fetch(a, 1))
    progs[i] = {a = a, pfn = m:translate(a) // vmlab.PAGE_SIZE}
  end
  local f0, t0 = flushes(m), m:sim_time_ns()
  for _, p in ipairs(progs) do
    if way == "one flag" then
      c0:set_vm_flush_reset_perms(p.a)
      c0:vfree(p.a)
    else
      local dm = vmlab.page_address(p.pfn)
      c0:set_direct_map_invalid_noflush(p.pfn)
      c0:vfree(p.a)
      c0:vm_unmap_aliases()                -- "immediate flush"
      c0:flush_range(dm, dm + vmlab.PAGE_SIZE) -- "reset direct map"
      c0:set_direct_map_default_noflush(p.pfn)
    end
  end
  local f = (flushes(m) - f0) / P.programs
  vmlab.result(way, {{"flushes per program", f},
    {"simulated us per program", (m:sim_time_ns() - t0) / 1000 / P.programs},
    {"wx-alias reports", m:nr_reports("wx-alias")}})
  return f
end
local two, one = run("two flags"), run("one flag")
assert(two == 2 and one == 1, "the merged flag saves one flush per free")
