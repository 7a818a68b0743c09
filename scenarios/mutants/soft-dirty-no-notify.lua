-- soft-dirty-no-notify: clear_refs must reach secondary MMUs before writes are tracked
--
-- Writing 4 to /proc/PID/clear_refs write-protects every PTE so the next
-- write faults and sets soft-dirty again (fs/proc/task_mmu.c).  The walk
-- runs inside an MMU_NOTIFY_SOFT_DIRTY range and ends with flush_tlb_mm(),
-- whose secondary-TLB hook reaches an SMMU without BTM.  Without them
-- KVM's stage 2 and the SMMU keep their writable entries: a device write
-- goes through an entry granting more than the PTE (stale-access).
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "256M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 2 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:user_write(mm, a, "v1"))
assert(m:user_write(mm, a + PAGE, "v1"))
local s = assert(m:smmu{mm = mm, btm = false})
local k = assert(m:kvm{mm = mm, slots = {{gfn = 0, pages = 2, hva = a}}})
assert(s:dma(a, "write"))                  -- the SMMU caches it writable
assert(k:access(PAGE, "write"))            -- stage 2 maps gfn 1 writable
assert(mm:clear_refs(4))
assert(not mm:soft_dirty(a) and not mm:soft_dirty(a + PAGE))
-- Both devices must fault now and the fault must mark the pages again.
assert(s:dma(a, "write", {tries = 4}))
assert(k:access(PAGE, "write"))
assert(mm:soft_dirty(a), "the SMMU write is tracked")
assert(mm:soft_dirty(a + PAGE), "the guest write is tracked")
