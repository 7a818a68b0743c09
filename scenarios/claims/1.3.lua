-- 1.3: Centralised in vfree, the whole operation costs one TLB flush (set_alias archs)
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- N RO+X programs (CPU 1 ran each) freed the fallback way (set_memory_nx,
-- set_memory_rw, vfree, and the lazy purge that flushes the vmalloc alias)
-- and with VM_FLUSH_RESET_PERMS.  Measured: TLB flush operations (range,
-- full and global flushes, each a shootdown) per program.
local P = vmlab.params{programs = 8}
local function flushes(m)
  return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full")
    + m:counter("flush_all")
end
local function run(flag)
  local m = vmlab.machine{cpus = 4, label = flag and "VM_FLUSH_RESET_PERMS" or "nx + rw + vfree"}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local progs = {}
  for i = 1, P.programs do
    local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR,
      ["end"] = vmlab.MODULES_END, caller = "bpf_jit_binary_alloc"}
    c0:write(a, "\xcc")
    c0:set_memory_ro(a, 1)
    c0:set_memory_x(a, 1)
    assert(c1:fetch(a, 1))
    progs[i] = a
  end
  local f0, ipi0 = flushes(m), m:counter("ipi_sent")
  for _, a in ipairs(progs) do
    if flag then c0:set_vm_flush_reset_perms(a)
    else c0:set_memory_nx(a, 1); c0:set_memory_rw(a, 1) end
    c0:vfree(a)
    c0:purge_vmap_area_lazy()
  end
  local f = flushes(m) - f0
  vmlab.result(m:label(), {{"flushes per program", f / P.programs},
    {"IPIs per program", (m:counter("ipi_sent") - ipi0) / P.programs}})
  return f / P.programs
end
local old, flag = run(false), run(true)
assert(flag == 1, "one flush per vfree with the flag")
assert(old >= 3, "the fallback way needs a flush per set_memory call and one for the purge")
