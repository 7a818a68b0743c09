-- 1.11: arm64 fallback: no `set_alias_*` → `set_memory_nx` + `set_memory_rw` inside vfree
-- seed: vm-flush-reset-perms
-- arch: arm64
-- verdict: reproduced
--
-- arm64 as it was when the seed was posted: no set_alias_* (set_alias =
-- false: set_direct_map_*_noflush() are no-op stubs).  With the seed's v2
-- (reset_perms = "seed-v2") vfree() of a flagged RO+X area first runs
-- set_memory_nx() then set_memory_rw() on it, each a change_memory_common()
-- with its own TLBI range, and the read-only linear alias (rodata_full)
-- follows the set_memory_rw(); then the one flush of vm_remove_mappings().
-- Against it, arm64 with set_alias (mainline's set_direct_map_*): only that
-- one flush.  Mainline without set_alias leaves the linear alias read-only
-- after the free: the pages go back to the allocator read-only, which is
-- what the fallback was for.
local P = vmlab.params{pages = 4}
local PAGE = vmlab.PAGE_SIZE
local function run(label, opts)
  opts.arch, opts.cpus, opts.memory, opts.label = "arm64", 2, "64M", label
  local m = vmlab.machine(opts)
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = assert(c0:vmalloc(P.pages * PAGE))
  c0:write(a, "\xd6\x5f\x03\xc0")
  c0:set_memory_ro(a, P.pages)
  c0:set_memory_x(a, P.pages)
  assert(c1:fetch(a, 4))
  c0:set_vm_flush_reset_perms(a)
  local pa = assert(m:translate(a))
  local function flushes() return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full") end
  local calls, f0, t0 = m:counter("cpa_call"), flushes(), m:sim_time_ns()
  c0:vfree(a)
  local r = {calls = m:counter("cpa_call") - calls, flushes = flushes() - f0,
    us = (m:sim_time_ns() - t0) / 1000}
  -- Is the freed page writable through the linear map again?
  r.dm_rw = c0:write(m:page_address(pa // PAGE), "x") and "yes" or "no"
  vmlab.result(label, {{"change_memory_common calls in vfree", r.calls}, {"TLB flushes of vfree", r.flushes},
    {"simulated us (vfree)", r.us}, {"freed page writable in the linear map", r.dm_rw}})
  return r
end
local fb = run("no set_alias, seed-v2 fallback", {set_alias = false, reset_perms = "seed-v2"})
local sa = run("set_alias (mainline)", {})
local ml = run("no set_alias, mainline", {set_alias = false})
assert(fb.calls == 2 and fb.flushes >= sa.flushes + 2, "the fallback adds two calls, each with its flushes")
assert(sa.calls == 0 and sa.flushes == 1)
assert(fb.us > sa.us)
assert(fb.dm_rw == "yes" and sa.dm_rw == "yes" and ml.dm_rw == "no")
