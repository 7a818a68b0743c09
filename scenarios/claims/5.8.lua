-- 5.8: New event `MMU_NOTIFY_PROTECTION_UPGRADE` so drivers can filter
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- With the posted patch, a KVM that looks at the event type skips the
-- upgrade events; one that does not zaps its stage-2 PTEs for each.
local P = vmlab.params{pages = 16}
local PAGE = vmlab.PAGE_SIZE
local function run(filter)
  local m = vmlab.machine{cpus = 2, memory = "64M", label = filter and "KVM filters the event" or "KVM ignores the event type"}
  m:upgrade_notify("range_end")
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local child = assert(mm:fork())
  local k = assert(m:kvm{mm = mm, filter_upgrade = filter, slots = {{gfn = 0x100, pages = P.pages, hva = a}}})
  for i = 0, P.pages - 1 do assert(k:access((0x100 + i) * PAGE, "read")) end
  child:close()
  local z0 = k:stats().sptes_zapped
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  local st = k:stats()
  vmlab.result(m:label(), {{"upgrade events seen", st.upgrade_events}, {"filtered", st.upgrade_filtered},
    {"stage-2 PTEs zapped", st.sptes_zapped - z0}})
  return st.sptes_zapped - z0, st.upgrade_filtered
end
local zapped, _ = run(false)
local zapped_f, filtered = run(true)
assert(zapped == P.pages and zapped_f == 0 and filtered == P.pages)
