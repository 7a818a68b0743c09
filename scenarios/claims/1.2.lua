-- 1.2: It also resets the direct-map permissions of the freed pages
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- set_memory_ro on a vmalloc area changes its direct-map alias too
-- (CPA's alias processing), so the frame is read-only through the direct
-- map while the program lives.  After vfree with VM_FLUSH_RESET_PERMS the
-- alias is back to the default: writable, not executable.  Measured by
-- accesses through the direct-map address.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR,
  ["end"] = vmlab.MODULES_END, caller = "bpf_jit_binary_alloc"}
c0:write(a, "\xcc")
c0:set_memory_ro(a, 1)
c0:set_memory_x(a, 1)
local pa = m:translate(a)
local dm = vmlab.page_address(pa // vmlab.PAGE_SIZE)
local w_live = c1:write(dm, "x") and 1 or 0
c0:set_vm_flush_reset_perms(a)
c0:vfree(a)
local w_after = c1:write(dm, "x") and 1 or 0
local x_after = c1:fetch(dm, 1) and 1 or 0
vmlab.result{
  {"direct-map alias writable while the program lives", w_live},
  {"direct-map alias writable after vfree", w_after},
  {"direct-map alias executable after vfree", x_after},
  {"page present in the direct map", m:kernel_page_present(pa // vmlab.PAGE_SIZE) and 1 or 0},
}
assert(w_live == 0 and w_after == 1 and x_after == 0,
  "RO while live, default RW+NX after vfree")
