-- 1.4: The fallback is "two not very cheap calls" (set_memory_nx + set_memory_rw)
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- The fallback for the direct map: set_memory_nx then set_memory_rw, two
-- CPA calls, each ending in its own TLB flush, where the flag needs none
-- of its own.  Measured: CPA calls and CPA flushes of each way, and the
-- simulated time of the two calls.
local function run(flag)
  local m = vmlab.machine{cpus = 4, label = flag and "flag" or "set_memory_nx + set_memory_rw"}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = c0:vmalloc_node_range{size = 4 * 4096, start = vmlab.MODULES_VADDR,
    ["end"] = vmlab.MODULES_END}
  c0:write(a, "\xcc")
  c0:set_memory_ro(a, 4)
  c0:set_memory_x(a, 4)
  assert(c1:fetch(a, 1))
  local calls, fl, t0 = m:counter("cpa_call"), m:counter("cpa_flush"), m:sim_time_ns()
  if flag then c0:set_vm_flush_reset_perms(a)
  else c0:set_memory_nx(a, 4); c0:set_memory_rw(a, 4) end
  c0:vfree(a)
  local r = {calls = m:counter("cpa_call") - calls, flushes = m:counter("cpa_flush") - fl,
    us = (m:sim_time_ns() - t0) / 1000}
  vmlab.result(m:label(), {{"CPA calls", r.calls}, {"CPA flushes", r.flushes},
    {"simulated us (free path)", r.us}})
  return r
end
local fb, flag = run(false), run(true)
assert(fb.calls == 2 and fb.flushes == 2, "the fallback is two CPA calls, each flushing")
assert(flag.flushes == 0, "the flag path does no CPA flush of its own")
