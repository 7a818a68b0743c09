-- 1.1: The flag makes vfree clear executable TLB entries to freed pages at once (no stale iTLB entry to a freed frame)
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- A RO+X program in the module range runs on CPU 1 (its iTLB caches the
-- executable translation).  CPU 0 frees it with a plain lazy vfree and
-- with VM_FLUSH_RESET_PERMS.  Measured: whether CPU 1 still holds a
-- translation of the freed page right after vfree returns.
local function run(flag)
  local m = vmlab.machine{cpus = 2, label = flag and "flag" or "plain vfree"}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = c0:vmalloc_node_range{size = 4096, start = vmlab.MODULES_VADDR,
    ["end"] = vmlab.MODULES_END, caller = "bpf_jit_binary_alloc"}
  c0:write(a, "\xcc")
  c0:set_memory_ro(a, 1)
  c0:set_memory_x(a, 1)
  assert(c1:fetch(a, 1), "the program runs on CPU 1")
  assert(m:tlb_probe(a, 1), "CPU 1 caches the executable translation")
  if flag then c0:set_vm_flush_reset_perms(a) end
  c0:vfree(a)
  local stale = m:tlb_probe(a, 1) and 1 or 0
  vmlab.result(m:label(), {{"CPU 1 TLB entries to the freed page after vfree", stale},
    {"lazy areas left", m:vmalloc_stats().nr_lazy}})
  return stale
end
local plain, flag = run(false), run(true)
assert(flag == 0, "with the flag no TLB entry survives vfree")
assert(plain == 1, "without it the entry survives until a lazy purge")
