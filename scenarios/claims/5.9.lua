-- 5.9: A driver must never upgrade or install a PTE in response
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- KVM answers the upgrade event by zapping, never by installing: its
-- stage-2 table shrinks and a writable stage-2 PTE appears only when the
-- guest's own write faults it in from the (now writable) CPU PTE.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
m:upgrade_notify("range_end")
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
local child = assert(mm:fork())
local k = assert(m:kvm{mm = mm, slots = {{gfn = 0x100, pages = P.pages, hva = a}}})
for i = 0, P.pages - 1 do assert(k:access((0x100 + i) * PAGE, "read")) end
child:close()
local before = k:stats()
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
local after = k:stats()
assert(k:access(0x100 * PAGE, "write"))
local faulted = k:stats()
vmlab.result{{"stage-2 PTEs before the upgrades", before.sptes},
  {"after (installed in response)", after.sptes_installed - before.sptes_installed},
  {"stage-2 PTEs after", after.sptes}, {"installed by the guest's write fault", faulted.sptes_installed - after.sptes_installed},
  {"checker reports", m:nr_reports()}}
assert(after.sptes_installed == before.sptes_installed and after.sptes < before.sptes)
assert(faulted.sptes_installed == after.sptes_installed + 1 and m:nr_reports() == 0)
