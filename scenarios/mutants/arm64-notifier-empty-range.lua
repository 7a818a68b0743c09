-- arm64-notifier-empty-range: an arm64 range flush must hand secondary TLBs its range, not [end, end)
--
-- f7edb07ad7c6: arm64's __flush_tlb_range_op advanced its start argument
-- while issuing TLBIs, so the mmu_notifier_arch_invalidate_secondary_tlbs
-- call after it saw an empty range, which the SMMU driver treats as "the
-- whole address space": correct, but every munmap or DONTNEED of one page
-- throws away the SMMU's whole TLB for the process.  The device's other
-- cached pages must survive a one-page DONTNEED.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "256M", arch = "arm64"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
local s = assert(m:smmu{mm = mm, btm = false})
for i = 0, 7 do
  assert(m:user_write(mm, a + i * PAGE, "x"))
  assert(s:dma(a + i * PAGE, "read"))
end
local before = s:stats()
assert(mm:madvise(a, PAGE, "dontneed"))
for i = 1, 7 do assert(s:dma(a + i * PAGE, "read")) end
local after = s:stats()
assert(after.asid_invalidations == before.asid_invalidations,
       "a one-page DONTNEED invalidated the whole ASID")
assert(after.walks == before.walks, "the other pages still hit the SMMU TLB")
