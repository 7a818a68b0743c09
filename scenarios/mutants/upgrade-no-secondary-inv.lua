-- upgrade-no-secondary-inv: on arm64 the TLB flush of a RO->RW upgrade must reach an SMMU without BTM
--
-- arm64 flushes the stale read-only entry when a fault upgrades a PTE
-- (__ptep_set_access_flags -> flush_tlb_page); since 6bbd42e2df8f that
-- flush also calls mmu_notifier_arch_invalidate_secondary_tlbs, which is
-- how an SMMU without broadcast TLB maintenance hears of the upgrade.
-- Without it the device keeps faulting on its read-only entry while the
-- CPU PTE is writable: the checker's secondary-stale livelock.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "256M", arch = "arm64"}
assert(m:upgrade_notify() == "access_flags_notify")
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:user_write(mm, a, "v1"))
local child = assert(mm:fork())           -- the parent's PTE goes read-only
local s = assert(m:smmu{mm = mm, btm = false})
assert(s:dma(a, "read"))                  -- the SMMU caches it read-only
child:close()                             -- the page is exclusive again
assert(m:user_write(mm, a, "v2"))         -- wp_page_reuse: the upgrade
local ok = s:dma(a, "write", {tries = 16})
-- A livelock is the checker's to report (secondary-stale); anything else
-- that stops the write is a failure of its own.
assert(ok or m:nr_reports("secondary-stale") > 0, "the device write completes")
