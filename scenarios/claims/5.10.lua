-- 5.10: Christopherson: bad fit for `invalidate_range_start/end` (they bookend the primary update)
-- seed: mmu-notifier-upgrade
-- arch: arm64, x86-64
-- verdict: reproduced
--
-- A subscriber that fingerprints the range's primary entries at
-- invalidate_range_start and again at invalidate_range_end sees every
-- zap (munmap) and every downgrade (mprotect to read-only) change the
-- entries between the two: start/end bookend the primary update.  The
-- posted patch (upgrade_notify = "range_end") sends the pair for an
-- RO -> RW upgrade after the PTL is dropped, when the upgrade is already
-- done: the pair brackets nothing, which is why the reviewer called the
-- pair a bad fit and the merged fix went into the TLB flush instead.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local function run(arch)
  local m = vmlab.machine{arch = arch, cpus = 2, memory = "64M", label = arch}
  m:upgrade_notify("range_end")
  local mm = assert(m:user_mm())
  local n = assert(mm:notifier())
  local len = P.pages * PAGE
  local a = assert(mm:mmap{len = len, prot = "rw", flags = {"private", "anonymous"}})
  local function pair(f)
    local c0 = n:counts()
    f()
    local c1 = n:counts()
    return c1.bracketed - c0.bracketed, c1.unbracketed - c0.unbracketed
  end
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  -- Fork write-protects the parent's PTEs; the child goes, leaving the
  -- pages to the parent, so each write fault is an upgrade in place.
  local child = assert(mm:fork())
  child:close()
  local ub, uu = pair(function()
    for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  end)
  local db, du = pair(function() assert(mm:mprotect(a, len, "r")) end)
  local zb, zu = pair(function() assert(mm:munmap(a, len)) end)
  vmlab.result(arch, {{"upgrades: pairs bracketing the change", ub .. "/" .. (ub + uu)},
    {"mprotect(RO): pairs bracketing the change", db .. "/" .. (db + du)},
    {"munmap: pairs bracketing the change", zb .. "/" .. (zb + zu)}})
  return {ub = ub, uu = uu, db = db, du = du, zb = zb, zu = zu}
end
for _, arch in ipairs{"arm64", "x86_64"} do
  local r = run(arch)
  assert(r.uu == P.pages and r.ub == 0, "the upgrade's pair comes after the update")
  assert(r.db >= 1 and r.du == 0 and r.zb >= 1 and r.zu == 0, "zap and downgrade are bookended")
end
