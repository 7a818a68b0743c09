-- 1.6: The flush can double as the lazy purge ("save a TLB flush later")
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- Lazily freed areas are waiting for a purge when a VM_FLUSH_RESET_PERMS
-- area is freed.  Its flush purges them too (_vm_unmap_aliases with the
-- direct-map range), so the purge that would have flushed later has
-- nothing left to do.
local P = vmlab.params{lazy = 8}
local function flushes(m)
  return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full")
    + m:counter("flush_all")
end
local m = vmlab.machine{cpus = 4}
local c0 = m:cpu(0)
for i = 1, P.lazy do c0:vfree(c0:vmalloc(4096)) end
local lazy_before = m:vmalloc_stats().nr_lazy
local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR, ["end"] = vmlab.MODULES_END}
c0:set_memory_ro(a, 1); c0:set_memory_x(a, 1)
c0:set_vm_flush_reset_perms(a)
local f0 = flushes(m)
c0:vfree(a)
local f_vfree = flushes(m) - f0
local st = m:vmalloc_stats()
local f1 = flushes(m)
c0:purge_vmap_area_lazy()
local f_purge = flushes(m) - f1
vmlab.result{{"lazy areas before the flagged vfree", lazy_before},
  {"flushes of the flagged vfree", f_vfree},
  {"lazy areas after it", st.nr_lazy},
  {"areas purged", st.nr_purged_areas},
  {"flushes of a later purge", f_purge}}
assert(lazy_before == P.lazy and st.nr_lazy == 0 and st.nr_purged_areas == P.lazy + 1)
assert(f_vfree == 1 and f_purge == 0, "one flush served both")
