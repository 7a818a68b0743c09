-- 5.7: The bug: an SMMU without BTM kept returning the RO PTE to the device after the CPU upgraded
-- seed: mmu-notifier-upgrade
-- arch: arm64
-- verdict: reproduced
--
-- arm64, before the fix: the device faults, the IOPF handler finds the
-- CPU PTE already writable, the device retries against its stale
-- read-only TLB entry, and so on (the checker's secondary-stale).  With
-- BTM the CPU's broadcast TLBI of the upgrade reaches the SMMU's TLB too
-- and the write completes.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local function run(btm)
  local label = btm and "SMMU with BTM" or "SMMU without BTM"
  local m = vmlab.machine{cpus = 2, memory = "64M", arch = "arm64", label = label,
    expect = (not btm) and "secondary-stale" or nil}
  m:upgrade_notify("none")
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local s = assert(m:smmu{mm = mm, btm = btm})
  local child = assert(mm:fork())
  for i = 0, P.pages - 1 do assert(s:dma(a + i * PAGE, "read")) end
  child:close()
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  local d0, done = s:stats(), 0
  for i = 0, P.pages - 1 do if s:dma(a + i * PAGE, "write", {tries = 16}) then done = done + 1 end end
  local d1 = s:stats()
  vmlab.result(label, {{"device writes done", done .. "/" .. P.pages},
    {"device faults", d1.faults - d0.faults}, {"retries", d1.retries - d0.retries},
    {"secondary-stale reports", m:nr_reports("secondary-stale")}})
  return done
end
assert(run(false) == 0, "the livelock")
assert(run(true) == P.pages)
