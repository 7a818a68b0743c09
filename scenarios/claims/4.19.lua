-- 4.19: With `install_pte`, `pte_entry` only sees existing entries and `pte_hole` doesn't fire for populated ranges
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Eight pages of which three were touched.  Without install_pte, pte_entry
-- sees all eight PTEs of the existing table and a range with no tables is
-- a hole; with install_pte, pte_entry sees the three present entries, the
-- other five are installed, and no hole is reported.
local PAGE, PMD = vmlab.PAGE_SIZE, vmlab.PMD_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local function mapping()
  local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for _, i in ipairs{0, 3, 6} do assert(m:user_write(mm, a + i * PAGE, "x")) end
  return a
end
local a, b = mapping(), mapping()
local c = assert(mm:mmap{len = 2 * PMD, prot = "rw", flags = {"private", "anonymous"}})
local cs = (c + PMD - 1) // PMD * PMD -- a whole 2 MiB with no PTE table
local plain = m:walk_page_range{start = a, ["end"] = a + 8 * PAGE, mm = mm, pte_entry = true, pte_hole = true}
local inst = m:walk_page_range_mm{start = b, ["end"] = b + 8 * PAGE, mm = mm, install = true,
  pte_entry = true, pte_hole = true}
local hole_plain = m:walk_page_range{start = cs, ["end"] = cs + PMD, mm = mm, pte_entry = true, pte_hole = true}
local hole_inst = m:walk_page_range_mm{start = cs, ["end"] = cs + PMD, mm = mm, install = true,
  pte_entry = true, pte_hole = true}
vmlab.result("without install_pte", {{"pte_entry calls (8 PTEs, 3 present)", plain.pte_entry},
  {"installed", plain.installed}, {"pte_hole calls over an unpopulated 2 MiB", hole_plain.pte_hole}})
vmlab.result("with install_pte", {{"pte_entry calls (8 PTEs, 3 present)", inst.pte_entry},
  {"installed", inst.installed}, {"pte_hole calls over an unpopulated 2 MiB", hole_inst.pte_hole}})
assert(plain.pte_entry == 8 and inst.pte_entry == 3 and inst.installed == 5)
assert(hole_plain.pte_hole >= 1 and hole_inst.pte_hole == 0 and hole_inst.installed == 512)
