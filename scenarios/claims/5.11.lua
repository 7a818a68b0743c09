-- 5.11: The SMMU only implements `invalidate_range()`; `mmu_invalidate_range_end()` calls it when start/end are missing
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- The SMMU driver without BTM subscribes with the secondary-TLB hook only
-- (invalidate_range, arch_invalidate_secondary_tlbs since 6.6).  With the
-- posted patch an upgrade's invalidate_range_end reaches it through that
-- hook and it sends CMD_TLBI; before the patch it gets nothing.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local function run(mode)
  local m = vmlab.machine{cpus = 2, memory = "64M", label = mode}
  m:upgrade_notify(mode)
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local s = assert(m:smmu{mm = mm, btm = false})
  local child = assert(mm:fork())
  for i = 0, P.pages - 1 do assert(s:dma(a + i * PAGE, "read")) end
  child:close()
  local d0, n0 = s:stats(), m:notifier_stats()
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  local d1, n1 = s:stats(), m:notifier_stats()
  vmlab.result(mode, {{"SMMU notifier callbacks", d1.notifier_calls - d0.notifier_calls},
    {"SMMU CMD_TLBI sent", d1.cmd_tlbi - d0.cmd_tlbi}})
  return d1.cmd_tlbi - d0.cmd_tlbi
end
assert(run("none") == 0)
assert(run("range_end") >= P.pages)
