-- 5.16: (Outcome, research notes) merged as `arch_invalidate_secondary_tlbs()` in 6.6
-- seed: mmu-notifier-upgrade
-- arch: x86-64, arm64
-- verdict: reproduced
--
-- Since 6.6 the secondary-TLB hook sits in the architectures' TLB-flush
-- code (x86 flush_tlb_mm_range(), arm64 flush_tlb_mm(), flush_tlb_page(),
-- __flush_tlb_range()), so every CPU flush of a user mm reaches the
-- secondary TLBs: over a mix of munmap, mprotect, mremap, DONTNEED, COLD,
-- aging, fork and an upgrade, the hook runs once per architecture flush on
-- both architectures, and the SMMU without BTM never uses a stale entry.
-- Before 6.6 (upgrade_notify "none") arm64's upgrade flush_tlb_page()
-- told nobody: one flush fewer reaches the SMMU, and its write livelocks.
local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local function flushes(m)
  return m:counter("flush_mm_range") + m:counter("flush_mm_range_full")
end
local function run(arch, mode)
  local m = vmlab.machine{cpus = 2, memory = "64M", arch = arch,
                          label = arch .. " " .. mode}
  m:upgrade_notify(mode)
  local mm = assert(m:user_mm())
  local len = P.pages * PAGE
  local a = assert(mm:mmap{len = 4 * len, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, 4 * P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local s = assert(m:smmu{mm = mm, btm = false})
  for i = 0, 4 * P.pages - 1 do assert(s:dma(a + i * PAGE, "read")) end
  local f0, n0 = flushes(m), m:notifier_stats().secondary_tlbs
  assert(mm:munmap(a, PAGE))
  assert(mm:mprotect(a + PAGE, PAGE, "r"))
  assert(mm:madvise(a + 2 * PAGE, PAGE, "dontneed"))
  assert(mm:madvise(a + 3 * PAGE, PAGE, "cold"))
  assert(mm:page_referenced(a + len, a + 2 * len))
  assert(mm:mremap(a + 2 * len, len, len, {"maymove", "fixed"}, a + 8 * len))
  local child = assert(mm:fork())
  assert(m:user_write(mm, a + 3 * len + PAGE, "v2")) -- COW break
  assert(s:dma(a + 3 * len, "read")) -- the SMMU caches the RO entry
  local f, n = flushes(m) - f0, m:notifier_stats().secondary_tlbs - n0
  child:close() -- the child's own flushes are not the bound mm's
  f0, n0 = flushes(m), m:notifier_stats().secondary_tlbs
  assert(m:user_write(mm, a + 3 * len, "v2")) -- wp_page_reuse: RO -> RW
  f, n = f + flushes(m) - f0, n + m:notifier_stats().secondary_tlbs - n0
  local ok = s:dma(a + 3 * len, "write", {tries = 8}) and true or false
  local stale = m:nr_reports("secondary-stale")
  vmlab.result(arch .. " " .. mode, {{"CPU flushes of the mm", f},
    {"secondary-TLB hook calls", n}, {"device write after the upgrade", ok},
    {"secondary-stale reports", stale}})
  assert(m:nr_reports() == stale)
  m:clear_reports() -- the contrast's livelock is expected
  return f, n, ok, stale
end
for _, arch in ipairs{"x86_64", "arm64"} do
  local f, n, ok, stale = run(arch, "access_flags_notify")
  assert(f > 0 and n == f and ok and stale == 0,
         arch .. ": every flush must reach the SMMU")
end
-- Contrast: before 6.6, arm64's upgrade flush sent no hook.
local f, n, ok, stale = run("arm64", "none")
assert(n == f - 1 and not ok and stale > 0)
