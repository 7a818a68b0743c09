-- 1.8: Order: set direct map invalid → one flush → reset to default, so nothing can be cached between
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- A RO+X program that CPU 1 ran is freed.  Resetting the direct map to
-- default (writable) before the flush that removes the executable vmalloc
-- alias gives a frame that is writable through the direct map while CPU
-- 1's iTLB still executes it: the checker reports wx-alias.  The flag's
-- order (invalid, one flush, default) is silent.
local function run(way, expect)
  local m = vmlab.machine{cpus = 2, label = way, expect = expect}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR,
    ["end"] = vmlab.MODULES_END}
  c0:write(a, "\xcc")
  c0:set_memory_ro(a, 1)
  c0:set_memory_x(a, 1)
  assert(c1:fetch(a, 1))
  if way == "reset, then vfree" then
    c0:set_direct_map_default_noflush(m:translate(a) // vmlab.PAGE_SIZE)
  else
    c0:set_vm_flush_reset_perms(a)
  end
  c0:vfree(a)
  c0:purge_vmap_area_lazy()
  local n = m:nr_reports("wx-alias")
  vmlab.result(way, {{"wx-alias reports", n}, {"flushes", m:counter("flush_kernel_range")
    + m:counter("flush_kernel_range_full") + m:counter("flush_all")}})
  return n
end
assert(run("reset, then vfree", {"wx-alias"}) > 0, "default before the flush: W+X")
assert(run("invalid, flush, default (flag)", nil) == 0, "the flag's order is clean")
