-- 5.15: "A bugfix, not a feature"; why hasn't KVM/arm hit it?
-- seed: mmu-notifier-upgrade
-- arch: arm64
-- verdict: reproduced
--
-- The answer the model gives: KVM keeps no translation it did not fault
-- in itself, and a stage-2 write fault reads the CPU PTE afresh (gup), so
-- after an upgrade without a notifier the guest's write faults once and
-- completes.  The SMMU without BTM, which caches the CPU's own table
-- entries, livelocks in the same run: the bug is real, KVM is just not
-- exposed to it.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M", arch = "arm64", expect = "secondary-stale"}
m:upgrade_notify("none")
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
local k = assert(m:kvm{mm = mm, slots = {{gfn = 0x100, pages = P.pages, hva = a}}})
local s = assert(m:smmu{mm = mm, btm = false})
local child = assert(mm:fork())
for i = 0, P.pages - 1 do assert(k:access((0x100 + i) * PAGE, "read")); assert(s:dma(a + i * PAGE, "read")) end
child:close()
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
local kvm_done, smmu_done = 0, 0
for i = 0, P.pages - 1 do
  if k:access((0x100 + i) * PAGE, "write") then kvm_done = kvm_done + 1 end
  if s:dma(a + i * PAGE, "write", {tries = 8}) then smmu_done = smmu_done + 1 end
end
vmlab.result{{"KVM guest writes done", kvm_done .. "/" .. P.pages},
  {"SMMU (no BTM) writes done", smmu_done .. "/" .. P.pages},
  {"KVM stage-2 faults", k:stats().s2_faults}}
assert(kvm_done == P.pages and smmu_done == 0)
