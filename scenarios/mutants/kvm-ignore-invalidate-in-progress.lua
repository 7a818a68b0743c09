-- kvm-ignore-invalidate-in-progress: a stage-2 fault racing mprotect must retry, not install what it read before the invalidation
--
-- KVM reads mmu_invalidate_seq, looks the host PTE up (gup) without the
-- mmu_lock, then takes the lock and installs the stage-2 PTE only if no
-- invalidation is in progress over the address and none ended since
-- (mmu_invalidate_retry_gfn).  CPU 0 flips the VMM's page read-only and
-- back while the guest (vCPU on CPU 1) writes it; without the check a
-- fault that saw the writable PTE installs a writable stage-2 entry after
-- mprotect made the CPU PTE read-only, and the checker reports it.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "256M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw",
                         flags = {"private", "anonymous"}})
assert(m:user_write(mm, a, "x"))
local k = assert(m:kvm{mm = mm, slots = {{gfn = 0x10, pages = 1, hva = a}}})
m:run{
  [0] = function(cpu)
    for _ = 1, 4 do
      assert(mm:mprotect(a, PAGE, "r"))
      assert(mm:mprotect(a, PAGE, "rw"))
    end
  end,
  [1] = function(cpu)
    for _ = 1, 8 do k:access(0x10 * PAGE, "write") end
  end,
}
