-- 2.8: ...and new mappings at the same VA can cause a TLB conflict / amalgamation (arm64)
-- seed: kasan-vmalloc-shadow
-- arch: arm64, x86-64
-- verdict: reproduced
--
-- CPU 0 populated (wrote) and CPU 1 read an area's shadow page, so both
-- TLBs hold its translation.  The area is freed and purged: as posted
-- (seed-v6) the shadow PTE is cleared and the page freed with no TLBI.
-- The freed frame goes to another user, and a new area at the same VA
-- re-populates its shadow with a new page: on arm64 the new valid entry
-- lands over translations still cached for that VA - the TLB conflict the
-- thread warns of (bbm-violation), on x86, which has no break-before-make
-- rule, only the stale accesses remain.  With the flush (as merged) both
-- are silent.
local function run(arch, release, expect)
  local label = arch .. " " .. release
  local m = vmlab.machine{arch = arch, cpus = 2, memory = "64M", kasan = release,
                          label = label, expect = expect}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = assert(c0:vmalloc(4096))
  assert(c1:read(a, 8))
  c0:vfree(a)
  c0:purge_vmap_area_lazy()
  -- The freed shadow frame is reused before the next populate.
  local other = assert(c0:alloc_pages(0))
  local b = assert(c0:vmalloc(4096))
  assert(b == a, "the new area must reuse the freed VA")
  assert(c1:read(b, 8))
  local bbm = m:nr_reports("bbm-violation")
  local stale = m:nr_reports("stale-access")
  vmlab.result(label, {{"new area at the same VA", b == a and "yes" or "no"},
    {"bbm-violation reports", bbm}, {"stale-access reports", stale}})
  c0:free_pages(other, 0)
  return bbm, stale
end
local ab, as = run("arm64", "seed-v6", {"freed-frame-reachable", "bbm-violation", "stale-access"})
assert(ab > 0 and as > 0)
local xb, xs = run("x86_64", "seed-v6", {"freed-frame-reachable", "stale-access"})
assert(xb == 0 and xs > 0)
assert(select(1, run("arm64", "fixed", nil)) == 0)
assert(select(1, run("x86_64", "fixed", nil)) == 0)
