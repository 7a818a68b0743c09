-- 4.21: The install capability is mm-internal only (`walk_page_range_mm()` in mm/internal.h, not exported)
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- The public walker (vmlab_walk_page_range, the kernel's exported
-- walk_page_range()) refuses ops with install_pte: -EINVAL, nothing
-- walked, no table allocated, no marker.  The same walk through the
-- mm-internal walk_page_range_mm() (src/mm/internal.h) installs, and so
-- does MADV_GUARD_INSTALL, which is mm code and uses it.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 24 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
local function markers(s)
  local n = 0
  for va = s, s + 7 * PAGE, PAGE do if mm:pagemap(va).guard then n = n + 1 end end
  return n
end
local t0 = m:counter("pgtable_alloc")
local pub = m:walk_page_range{start = a, ["end"] = a + 8 * PAGE, mm = mm, install = true, pte_entry = true}
local pub_tables, pub_marked = m:counter("pgtable_alloc") - t0, markers(a)
local int = m:walk_page_range_mm{start = a, ["end"] = a + 8 * PAGE, mm = mm, install = true}
assert(mm:madvise(a + 8 * PAGE, 8 * PAGE, "guard_install"))
vmlab.result{{"walk_page_range with install_pte", pub.result},
  {"entries visited / tables allocated / markers by it", pub.pte_entry .. " / " .. pub_tables .. " / " .. pub_marked},
  {"walk_page_range_mm with install_pte: installed", int.installed},
  {"MADV_GUARD_INSTALL (mm code): markers", markers(a + 8 * PAGE)}}
assert(pub.result == "EINVAL" and pub.pte_entry == 0 and pub_tables == 0 and pub_marked == 0)
assert(int.result == 0 and int.installed == 8 and markers(a) == 8)
assert(markers(a + 8 * PAGE) == 8)
