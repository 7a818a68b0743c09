-- notifier-upgrade: RO->RW PTE upgrades vs secondary MMUs (SMMU with/without BTM, KVM) under upgrade_notify none / range_end / access_flags_notify
--
-- The MMU-notifier seed (2023): an ARM SMMU without broadcast TLB
-- maintenance depends on MMU notifiers to invalidate its TLB, and Linux
-- sent none when a fault upgraded a PTE from read-only to read-write
-- (wp_page_reuse -> ptep_set_access_flags), so "the SMMU continually
-- returned a read-only PTE to the device": the device faults, the IOPF
-- handler finds the PTE already writable, the device retries, forever.
-- The posted patch (range_end) sends invalidate_range_start/end with a new
-- event after the PTL is dropped; the reviewer objects that KVM then zaps
-- its stage-2 PTEs on every upgrade, and proposes
-- ptep_set_access_flags_notify (access_flags_notify), which only the
-- architectures whose TLBs keep the stale entry pay for.
--
-- Each cell: P.pages anonymous pages written by the CPU, fork (the
-- parent's PTEs go read-only), the device reads every page (caching
-- read-only translations), the child exits, the CPU writes every page
-- again (each write is a wp_page_reuse upgrade, no copy), then the device
-- writes every page (SMMU) or the guest reads every page and writes the
-- first (KVM).  On x86 a stale read-only entry only costs a spurious fault
-- and a re-walk, for the CPU and for the IOMMU alike.

local P = vmlab.params{pages = 32, tries = 16}
local PAGE = vmlab.PAGE_SIZE
local GFN = 0x100

local archs = {"x86_64", "arm64"}

-- kvm+filter: a KVM that skips the zap for the new event type.
local devices = {"smmu+btm", "smmu", "kvm", "kvm+filter"}
local modes = {"none", "range_end", "access_flags_notify"}

local function cell(arch, dev, mode)
  local livelock = arch ~= "x86_64" and dev == "smmu" and mode == "none"
  local m = vmlab.machine{cpus = 4, memory = "256M", arch = arch,
                          label = (arch == "x86_64" and "x86" or arch) .. " " ..
                                  dev .. " " .. mode,
                          expect = livelock and "secondary-stale" or nil}
  m:upgrade_notify(mode)
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw",
                           flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local child = assert(mm:fork())
  local s, k
  if dev:sub(1, 3) == "kvm" then
    k = assert(m:kvm{mm = mm, filter_upgrade = dev == "kvm+filter",
                     slots = {{gfn = GFN, pages = P.pages, hva = a}}})
    for i = 0, P.pages - 1 do assert(k:access((GFN + i) * PAGE, "read")) end
  else
    s = assert(m:smmu{mm = mm, btm = dev == "smmu+btm"})
    for i = 0, P.pages - 1 do assert(s:dma(a + i * PAGE, "read")) end
  end
  child:close()
  local d0 = s and s:stats() or k:stats()
  local t0 = m:sim_time_ns()
  -- The upgrades: every write reuses the now-exclusive page.
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  local ok, stuck = 0, 0
  if s then
    for i = 0, P.pages - 1 do
      if s:dma(a + i * PAGE, "write", {tries = P.tries}) then
        ok = ok + 1
      else
        stuck = stuck + 1
      end
    end
  else
    for i = 0, P.pages - 1 do
      if k:access((GFN + i) * PAGE, "read") then ok = ok + 1 end
    end
    assert(k:access(GFN * PAGE, "write"))
  end
  local d1 = s and s:stats() or k:stats()
  local ns = (m:sim_time_ns() - t0) + (d1.sim_ns - d0.sim_ns)
  local n = m:notifier_stats()
  local reports = m:nr_reports()
  local row = {
    {"device faults", s and d1.faults - d0.faults or
                      d1.s2_faults - d0.s2_faults},
    {"device retries", s and d1.retries - d0.retries or
                       d1.fault_retries - d0.fault_retries},
    {"secondary invalidations", s and (d1.cmd_tlbi - d0.cmd_tlbi) +
                                      (d1.btm_invalidations - d0.btm_invalidations)
                                  or d1.zap_calls - d0.zap_calls},
    {"KVM PTEs zapped", k and d1.sptes_zapped - d0.sptes_zapped or 0},
    {"upgrades notified", string.format("%d/%d", n.upgrade_notifies,
                                        n.upgrades)},
    {"simulated us", string.format("%.1f", ns / 1000)},
    {"accesses done", string.format("%d/%d", ok, P.pages)},
    {"checker", reports == 0 and "clean" or
                (livelock and "secondary-stale (livelock caught)" or
                 "REPORTS")},
  }
  if livelock then
    assert(stuck > 0, "the no-BTM SMMU livelocks without a notifier")
  elseif s then
    assert(stuck == 0, "every device write completes")
  end
  vmlab.result(m:label(), row)
  return row
end

for _, arch in ipairs(archs) do
  for _, dev in ipairs(devices) do
    for _, mode in ipairs(modes) do cell(arch, dev, mode) end
  end
end
