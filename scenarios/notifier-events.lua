-- notifier-events: soft-dirty (clear_refs 4), page migration and device-exclusive entries seen by an SMMU without BTM, KVM and a counting subscriber
--
-- The MMU-notifier events SOFT_DIRTY, MIGRATE and EXCLUSIVE come from
-- their real mechanisms: clear_refs_write() write-protects every PTE
-- inside a SOFT_DIRTY range and flushes (fs/proc/task_mmu.c); move_pages()
-- unmaps each page with a CLEAR range and a migration entry, copies and
-- remaps (try_to_migrate_one(), remove_migration_ptes()); migrate_vma
-- sends one MIGRATE range owned by the driver (mm/migrate_device.c);
-- make_device_exclusive() sends EXCLUSIVE owned by the device and the
-- CPU's next access restores the PTE with an EXCLUSIVE range of no owner
-- (mm/rmap.c, mm/memory.c).  In every cell the secondary MMUs must fault
-- again where the CPU PTE changed and the checker must stay silent: no
-- device keeps a stale translation.  On arm64 the PTE has no soft-dirty
-- bit (no CONFIG_HAVE_ARCH_SOFT_DIRTY), so pagemap bit 55 stays 0 while
-- the SOFT_DIRTY range is still sent.

local PAGE = vmlab.PAGE_SIZE
local P = vmlab.params{pages = 4}

local function cell(arch)
  local m = vmlab.machine{cpus = 2, memory = "256M", arch = arch,
                          label = arch .. " notifier events"}
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw",
                           flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local n = assert(mm:notifier{})
  local s = assert(m:smmu{mm = mm, btm = false})
  local k = assert(m:kvm{mm = mm, slots = {{gfn = 0, pages = P.pages, hva = a}}})
  for i = 0, P.pages - 1 do
    assert(s:dma(a + i * PAGE, "write"))
    assert(k:access(i * PAGE, "write"))
  end
  local sd_ok = mm:soft_dirty(a) -- new VMAs are soft-dirty where supported
  local row = {arch = arch}

  -- soft-dirty: clear, then one write per device
  local f0, s0 = s:stats().faults, k:stats().s2_faults
  assert(mm:clear_refs(4))
  local ev = n:counts().events
  assert(ev.SOFT_DIRTY == 1, "one SOFT_DIRTY range")
  assert(not mm:soft_dirty(a), "clear_refs cleared bit 55")
  assert(s:dma(a, "write", {tries = 4}))
  assert(k:access(PAGE, "write"))
  row.sd_smmu_faults = s:stats().faults - f0
  row.sd_kvm_faults = k:stats().s2_faults - s0
  assert(row.sd_smmu_faults >= 1 and row.sd_kvm_faults >= 1,
         "both secondary MMUs fault on the write-protected pages")
  row.sd_tracked = (mm:soft_dirty(a) and 1 or 0) + (mm:soft_dirty(a + PAGE) and 1 or 0)
  assert(row.sd_tracked == (sd_ok and 2 or 0), "writes tracked where the arch has the bit")

  -- move_pages: a CLEAR range per page, new frames
  local pfn0 = mm:pagemap(a).pfn
  assert(m:user_write(mm, a + PAGE, "v3"))
  local c0 = n:counts().events.CLEAR
  row.migrated = assert(mm:migrate(a, P.pages * PAGE))
  assert(row.migrated == P.pages)
  row.migrate_clear = n:counts().events.CLEAR - c0
  assert(row.migrate_clear == P.pages)
  assert(mm:pagemap(a).pfn ~= pfn0, "the page moved")
  assert(s:dma(a, "read", {tries = 4}) and k:access(0, "read"))
  local got = m:user_read(mm, a + PAGE, 2)
  assert(got == "v3", "content copied: " .. tostring(got))

  -- migrate_vma owned by the counting subscriber: it skips its own range
  local own0, m0 = n:counts().own, n:counts().events.MIGRATE
  local inv0 = k:stats().invalidations
  assert(mm:migrate_vma(a, a + P.pages * PAGE, n) == P.pages)
  assert(n:counts().own == own0 + 1 and n:counts().events.MIGRATE == m0)
  row.kvm_migrate_inv = k:stats().invalidations - inv0
  assert(row.kvm_migrate_inv == 1, "KVM hears MIGRATE")

  -- make_device_exclusive owned by the subscriber, then a CPU write
  local x0 = n:counts().events.EXCLUSIVE
  assert(mm:make_device_exclusive(a, n))
  assert(mm:device_exclusive(a) and n:counts().own == own0 + 2)
  assert(m:user_write(mm, a, "v2"))
  assert(not mm:device_exclusive(a), "the CPU access restored the PTE")
  row.exclusive_restore = n:counts().events.EXCLUSIVE - x0
  assert(row.exclusive_restore == 1, "the restore is an EXCLUSIVE range of no owner")
  assert(s:dma(a, "read", {tries = 4}) and k:access(0, "read"))
  -- aging: reclaim's folio_referenced reaches KVM (clear_flush_young)
  local y0 = k:stats().young_cleared
  assert(mm:page_referenced(a, a + P.pages * PAGE) >= 1)
  assert(k:stats().young_cleared > y0, "KVM aged its stage 2")
  assert(not mm:test_young(a + PAGE))
  assert(k:access(PAGE, "read"))
  assert(mm:test_young(a + PAGE), "young through KVM alone")
  row.reports = m:nr_reports()
  assert(row.reports == 0, "no stale secondary translation")
  return row
end

local rows = {}
for _, arch in ipairs{"x86_64", "arm64"} do rows[#rows + 1] = cell(arch) end
print(string.format("%-8s %9s %9s %8s %8s %9s %9s %9s %7s", "arch",
      "sd smmu", "sd kvm", "tracked", "moved", "CLEARs", "kvm MIGR",
      "EXCL rst", "reports"))
for _, r in ipairs(rows) do
  print(string.format("%-8s %9d %9d %8d %8d %9d %9d %9d %7d", r.arch,
        r.sd_smmu_faults, r.sd_kvm_faults, r.sd_tracked, r.migrated,
        r.migrate_clear, r.kvm_migrate_inv, r.exclusive_restore, r.reports))
end
return rows
