-- 4.17: hugetlb not supported
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- The install_pte walk has no hugetlb path (__walk_page_range() walks a
-- hugetlb VMA only through a hugetlb_entry callback), so guard regions
-- refuse hugetlb VMAs: MADV_GUARD_INSTALL and MADV_GUARD_REMOVE on a
-- VM_HUGETLB mapping are EINVAL (is_valid_guard_vma(): VM_HUGETLB, and
-- the VM_DONTEXPAND hugetlbfs sets is in VM_SPECIAL), whether it is
-- faulted in or not, and leave it as it was; the same calls work on an
-- ordinary anonymous mapping.  An install_pte walk over the hugetlb VMA
-- installs nothing.
local PAGE, PMD = vmlab.PAGE_SIZE, vmlab.PMD_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
local mm = assert(m:user_mm())
assert(m:nr_hugepages(2) == 2)
local h = assert(mm:mmap{len = 2 * PMD, prot = "rw",
  flags = {"private", "anonymous", "hugetlb", "huge_2mb"}})
local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:user_write(mm, h, "x"))
local flags = mm:smaps():match(string.format("%x%%-%x[^\n]*\n.-VmFlags:([^\n]*)", h, h + 2 * PMD))
local ht = flags and flags:find(" ht") ~= nil
local function guards(s, e)
  local n = 0
  for va = s, e - 1, PAGE do if mm:pagemap(va).guard then n = n + 1 end end
  return n
end
local vmas0 = mm:vma_count()
-- faulted (the first 2 MiB) and not (the second)
local _, e_inst = mm:madvise(h, PAGE, "guard_install")
local _, e_inst2 = mm:madvise(h + PMD, PMD, "guard_install")
local _, e_rm = mm:madvise(h, 2 * PMD, "guard_remove")
local hg = guards(h, h + 2 * PMD)
local still = m:user_read(mm, h, 1)
local w = m:walk_page_range_mm{mm = mm, start = h + PMD, ["end"] = h + 2 * PMD, install = true}
local hg_walk = guards(h, h + 2 * PMD)
local ok_inst = mm:madvise(a, 2 * PAGE, "guard_install")
local ag = guards(a, a + 8 * PAGE)
local ok_rm = mm:madvise(a, 8 * PAGE, "guard_remove")
local wa = m:walk_page_range_mm{mm = mm, start = a, ["end"] = a + 8 * PAGE, install = true}
vmlab.result("hugetlb VMA (VmFlags ht)", {{"VM_HUGETLB", ht and 1 or 0},
  {"guard_install (faulted)", e_inst or "ok"}, {"guard_install (not faulted)", e_inst2 or "ok"},
  {"guard_remove", e_rm or "ok"}, {"guard pages", hg}, {"VMAs added", mm:vma_count() - vmas0},
  {"install_pte walk: installed", w.installed}})
vmlab.result("anonymous VMA", {{"guard_install", ok_inst and "ok" or "error"},
  {"guard pages", ag}, {"guard_remove", ok_rm and "ok" or "error"},
  {"install_pte walk: installed", wa.installed}})
assert(ht, "a VM_HUGETLB VMA")
assert(e_inst == "EINVAL" and e_inst2 == "EINVAL" and e_rm == "EINVAL", "guard advice refused")
assert(hg == 0 and hg_walk == 0 and w.result == 0 and w.installed == 0, "no marker in hugetlb memory")
assert(still == "x" and mm:vma_count() == vmas0, "the mapping is left as it was")
assert(ok_inst and ag == 2 and ok_rm and wa.installed == 8, "ordinary memory takes markers")
