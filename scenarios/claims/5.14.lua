-- 5.14: Alternative: `ptep_set_access_flags_notify()` only where needed
-- seed: mmu-notifier-upgrade
-- arch: x86-64, arm64
-- verdict: reproduced
--
-- With the reviewer's alternative the upgrade notifies secondary MMUs
-- only on the architecture whose TLBs keep the stale entry: arm64 sends
-- one per upgrade and the SMMU without BTM completes; x86 sends none and
-- its IOMMU completes anyway (re-walk).
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local function run(arch)
  local m = vmlab.machine{cpus = 2, memory = "64M", arch = arch, label = arch}
  m:upgrade_notify("access_flags_notify")
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local s = assert(m:smmu{mm = mm, btm = false})
  local child = assert(mm:fork())
  for i = 0, P.pages - 1 do assert(s:dma(a + i * PAGE, "read")) end
  child:close()
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  local done = 0
  for i = 0, P.pages - 1 do if s:dma(a + i * PAGE, "write", {tries = 8}) then done = done + 1 end end
  local n = m:notifier_stats()
  vmlab.result(arch, {{"upgrade notifications", n.upgrade_notifies .. "/" .. n.upgrades},
    {"device writes done", done .. "/" .. P.pages}})
  return n.upgrade_notifies, done
end
local xn, xd = run("x86_64")
local an, ad = run("arm64")
assert(xn == 0 and xd == P.pages and an == P.pages and ad == P.pages)
