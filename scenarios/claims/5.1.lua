-- 5.1: ARM (maybe Sparc, IA64) needs a TLB invalidate on RO→RW upgrade
-- seed: mmu-notifier-upgrade
-- arch: x86-64, arm64
-- verdict: reproduced
--
-- The same upgrade on both architectures: after fork the PTE is
-- read-only and both CPUs cache it, the child exits, CPU 0's write fault
-- makes the PTE writable in place.  arm64's ptep_set_access_flags()
-- invalidates the stale read-only entry (a broadcast TLBI), so CPU 1's
-- next write just works; x86 sends nothing and CPU 1 takes a spurious
-- fault instead.
local PAGE = vmlab.PAGE_SIZE
local function run(arch)
  local m = vmlab.machine{cpus = 2, memory = "64M", arch = arch, label = arch}
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
  assert(m:cpu(0):user_write(mm, a, "v1"))
  local child = assert(mm:fork())
  assert(m:cpu(1):user_read(mm, a, 2) == "v1")
  assert(m:cpu(0):user_read(mm, a, 2) == "v1")
  child:close()
  local t0, i0 = m:counter("tlbi_is") + m:counter("tlbi_local"), m:counter("invlpg") + m:counter("ipi_sent")
  assert(m:cpu(0):user_write(mm, a, "v2"))
  local tlbi = m:counter("tlbi_is") + m:counter("tlbi_local") - t0
  local x86 = m:counter("invlpg") + m:counter("ipi_sent") - i0
  local s0 = m:counter("spurious_fault", 1)
  assert(m:cpu(1):user_write(mm, a, "v3"))
  local spurious = m:counter("spurious_fault", 1) - s0
  vmlab.result(arch, {{"TLB invalidations for the upgrade", tlbi + x86},
    {"CPU 1 spurious faults after it", spurious}})
  return tlbi + x86, spurious
end
local x_inv, x_sp = run("x86_64")
local a_inv, a_sp = run("arm64")
assert(x_inv == 0 and x_sp == 1, "x86: no invalidation, a spurious fault")
assert(a_inv >= 1 and a_sp == 0, "arm64: the upgrade invalidates the read-only entry")
