-- 4.16: A THP at PMD/PUD is split only if `pte_entry` (or `pmd_entry` at PUD) exists; with only `install_pte` there's no split
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
-- why: shown on a 2 MiB kernel leaf (vmalloc_huge): the generic walker splits a leaf itself, and on a user THP that bypasses split_huge_pmd and the user layer's THP accounting (user THPs split through the mm code: scenario thp)
--
-- A 2 MiB leaf walked with install_pte alone stays a 2 MiB leaf (there
-- is nothing missing to install); walked with pte_entry it is split so
-- that pte_entry can see its 512 PTEs.
local PMD = vmlab.PMD_SIZE
local m = vmlab.machine{cpus = 1, memory = "256M"}
local a = assert(m:vmalloc_huge(PMD))
local _, lvl0 = m:translate(a)
local r1 = m:walk_page_range_mm{start = a, ["end"] = a + PMD, install = true}
local _, lvl1 = m:translate(a)
local r2 = m:walk_page_range_mm{start = a, ["end"] = a + PMD, install = true, pte_entry = true}
local _, lvl2 = m:translate(a)
vmlab.result("install_pte only", {{"leaf level after the walk (1 = 2 MiB)", lvl1},
  {"PTEs installed", r1.installed}, {"pte_entry calls", r1.pte_entry}})
vmlab.result("install_pte + pte_entry", {{"leaf level after the walk (1 = 2 MiB)", lvl2},
  {"PTEs installed", r2.installed}, {"pte_entry calls", r2.pte_entry}})
assert(lvl0 == 1 and lvl1 == 1 and r1.installed == 0, "no split without pte_entry")
assert(lvl2 == 0 and r2.pte_entry == 512, "split so pte_entry sees the PTEs")
