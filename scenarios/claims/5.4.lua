-- 5.4: Secondary MMUs mirror the CPU architecture, so they need the notification too
-- seed: mmu-notifier-upgrade
-- arch: x86-64, arm64
-- verdict: reproduced
--
-- An SMMU/IOMMU without broadcast maintenance caches a read-only entry,
-- then the CPU upgrades the PTE with no notifier.  On x86 the IOMMU, like
-- the CPU, re-walks on the permission fault and the write completes; on
-- arm64 it keeps its stale read-only entry, as an arm64 TLB would without
-- the invalidation, and the device never completes its write.
local PAGE = vmlab.PAGE_SIZE
local function run(arch)
  local m = vmlab.machine{cpus = 2, memory = "64M", arch = arch, label = arch,
    expect = arch == "arm64" and "secondary-stale" or nil}
  m:upgrade_notify("none")
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
  assert(m:user_write(mm, a, "v1"))
  local s = assert(m:smmu{mm = mm, btm = false})
  local child = assert(mm:fork())
  assert(s:dma(a, "read"))
  child:close()
  assert(m:user_write(mm, a, "v2"))
  local ok = s:dma(a, "write", {tries = 8})
  vmlab.result(arch, {{"device write after the upgrade", ok and "done" or "stuck"},
    {"secondary-stale reports", m:nr_reports("secondary-stale")}})
  return ok
end
assert(run("x86_64"), "x86: the IOMMU re-walks")
assert(not run("arm64"), "arm64: the SMMU needs to be told")
