-- 1.15: The flush range is min..max of the direct-map addresses plus the vmalloc range, so in practice one huge (full) flush
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- The one flush of a flagged vfree covers the direct-map addresses of the
-- pages (near PAGE_OFFSET) and the module-range alias (near the top of
-- the address space): far past the 33-page ceiling, so x86 flushes
-- everything instead of invlpg per page.
local m = vmlab.machine{cpus = 4}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc_node_range{size = 2 * 4096, start = vmlab.MODULES_VADDR, ["end"] = vmlab.MODULES_END}
c0:set_memory_ro(a, 2); c0:set_memory_x(a, 2)
assert(c1:fetch(a, 1))
c0:set_vm_flush_reset_perms(a)
local r0, f0, p0 = m:counter("flush_kernel_range"), m:counter("flush_kernel_range_full"), m:counter("pages_invalidated")
c0:vfree(a)
local ranged, full = m:counter("flush_kernel_range") - r0, m:counter("flush_kernel_range_full") - f0
vmlab.result{{"pages freed", 2}, {"ranged flushes", ranged}, {"full flushes", full},
  {"pages invalidated one by one", m:counter("pages_invalidated") - p0}}
assert(full == 1 and ranged == 0, "one full flush")
