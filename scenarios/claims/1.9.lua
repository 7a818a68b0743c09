-- 1.9: RO/special-perm memory can't be freed from interrupt / `vfree_atomic` (the llist node lives in the allocation)
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- vfree_atomic() defers the free to a worker through a list node stored
-- in the freed memory itself, which a RO area cannot hold.  A plain area
-- is deferred; a VM_FLUSH_RESET_PERMS area is refused with a warning and
-- stays allocated.
local m = vmlab.machine{cpus = 2}
local c0 = m:cpu(0)
local plain = c0:vmalloc(4096)
local queued = m:work_stats().queued
c0:vfree_atomic(plain)
-- work queued by the call (the kworker runs it as the call returns)
local deferred = m:work_stats().queued - queued
local ro = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR, ["end"] = vmlab.MODULES_END}
c0:set_memory_ro(ro, 1)
c0:set_vm_flush_reset_perms(ro)
local w0 = m:warnings()
c0:vfree_atomic(ro)
local warned = m:warnings() - w0
local still = m:find_vm_area(ro) and 1 or 0
vmlab.result{{"plain area deferred to the worker", deferred > 0 and 1 or 0},
  {"warnings for the flagged area", warned}, {"flagged area still allocated", still}}
assert(deferred > 0 and warned == 1 and still == 1)
c0:set_memory_rw(ro, 1)
c0:vfree(ro)
