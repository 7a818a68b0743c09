-- 1.5: nx-before-rw order leaves no RW+X window; other orders do
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- A RO+X program (CPU 1 ran it) is made freeable with set_memory_nx then
-- set_memory_rw, and with the other order.  The checker watches every
-- translation, cached ones included: rw first leaves the frame writable
-- while CPU 1's iTLB (and the table) still execute it.
local function run(order, expect)
  local m = vmlab.machine{cpus = 2, label = order, expect = expect}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR,
    ["end"] = vmlab.MODULES_END}
  c0:write(a, "\xcc")
  c0:set_memory_ro(a, 1)
  c0:set_memory_x(a, 1)
  assert(c1:fetch(a, 1))
  if order == "nx, rw" then c0:set_memory_nx(a, 1); c0:set_memory_rw(a, 1)
  else c0:set_memory_rw(a, 1); c0:set_memory_nx(a, 1) end
  c0:vfree(a)
  c0:purge_vmap_area_lazy()
  local n = m:nr_reports("wx-alias")
  vmlab.result(order, {{"wx-alias reports", n}})
  return n
end
assert(run("nx, rw", nil) == 0, "nx first: never writable and executable")
assert(run("rw, nx", {"wx-alias"}) > 0, "rw first: a W+X window the checker sees")
