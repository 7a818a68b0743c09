-- 5.3: mmu_notifier assumed upgrades need no notification
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- Before the fix (upgrade_notify = "none"), the write faults that upgrade
-- read-only PTEs to read-write call no notifier: a subscriber sees no
-- event for them, while the fork that made them read-only did notify.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
m:upgrade_notify("none")
local mm = assert(m:user_mm())
local n = mm:notifier{}
local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
local child = assert(mm:fork())
local after_fork = n:counts().start
child:close()
local s0 = n:counts().start
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
local st = m:notifier_stats()
vmlab.result{{"invalidate_range_start calls of fork", after_fork},
  {"upgrades", st.upgrades}, {"notifier calls for the upgrades", n:counts().start - s0},
  {"upgrade notifies", st.upgrade_notifies}}
assert(after_fork >= 1 and st.upgrades == P.pages and n:counts().start == s0 and st.upgrade_notifies == 0)
