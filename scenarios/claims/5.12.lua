-- 5.12: `invalidate_range()` already runs under the PTL (`ptep_clear_flush_notify`), so it mustn't sleep
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- A COW break replaces a PTE with ptep_clear_flush_notify under the
-- page-table lock: the secondary-TLB hook of every subscriber runs there.
-- A subscriber whose start/end callbacks sleep is called outside the
-- lock, and its secondary hook never sleeps: no sleeping call under the
-- PTL is recorded.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
local mm = assert(m:user_mm())
local n = mm:notifier{sleep = true}
local a = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, 3 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
local child = assert(mm:fork())
local c0 = n:counts().secondary
for i = 0, 3 do assert(m:user_write(mm, a + i * PAGE, "v2")) end -- COW breaks (child alive)
local sec = n:counts().secondary - c0
child:close()
local st = m:notifier_stats()
vmlab.result{{"secondary-TLB hook calls from COW breaks", sec},
  {"sleeping callbacks under the PTL", st.ptl_violations}}
assert(sec >= 4 and st.ptl_violations == 0)
