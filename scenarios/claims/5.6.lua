-- 5.6: Notifier callbacks may sleep, so they can't run under the PTL: call them after dropping it, and only if the PTE changed
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- The posted patch (upgrade_notify = "range_end"): a subscriber whose
-- callbacks sleep gets invalidate_range_start/end for every upgrade, never
-- with the page-table lock held; a write to a page already upgraded
-- changes no PTE and sends nothing.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
m:upgrade_notify("range_end")
local mm = assert(m:user_mm())
local n = mm:notifier{sleep = true}
local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
local child = assert(mm:fork())
child:close()
local s0 = n:counts().start
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
local upgraded = n:counts().start - s0
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v3")) end
local again = n:counts().start - s0 - upgraded
local st = m:notifier_stats()
vmlab.result{{"notifications for the upgrades", upgraded}, {"for writes that changed nothing", again},
  {"sleeping callbacks under the PTL", st.ptl_violations}}
assert(upgraded == P.pages and again == 0 and st.ptl_violations == 0)
