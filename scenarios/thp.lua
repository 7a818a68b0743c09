-- thp: transparent huge pages in a user mapping: faults, splits, guards, collapse
--
-- Asserted outcomes: the fault per transparent_hugepage mode, the huge zero page, split on a
-- partial munmap / mprotect / DONTNEED, guard install splitting the PMD
-- first and guard remove leaving a THP unsplit (the seed's claim), fork
-- sharing a THP until a write, MADV_COLLAPSE and a khugepaged pass.
local m = vmlab.machine{cpus = 2}
local mm = assert(m:user_mm())
local c = m:cpu(0)
local M = 2 * 1024 * 1024
local P = 4096
local sig, _
local function vs(k) return m:vmstat()[k] end
local function region(n)
  local a = assert(mm:mmap{len = (n + 1) * M, prot = "rw", flags = {"private", "anonymous"}})
  return (a + M - 1) & ~(M - 1)
end

-- never (the machine's default): no THP
assert(m:thp_enabled() == "never")
local a = region(2)
assert(c:user_write(mm, a, "n"))
assert(not mm:thp_mapped(a), "never: 4 KiB pages")

-- madvise: only VM_HUGEPAGE ranges
m:thp_enabled("madvise")
local b = region(2)
assert(c:user_write(mm, b, "x"))
assert(not mm:thp_mapped(b), "madvise without MADV_HUGEPAGE")
local b2 = b + M
assert(mm:madvise(b2, M, "hugepage"))
assert(c:user_write(mm, b2 + 5 * P, "h"))
assert(mm:thp_mapped(b2), "MADV_HUGEPAGE: a PMD-mapped THP")
assert(vs("thp_fault_alloc") == 1)
assert(c:user_read(mm, b2 + 5 * P, 1) == "h")

-- always; NOHUGEPAGE and prctl opt out
m:thp_enabled("always")
local d = region(3)
assert(mm:madvise(d, M, "nohugepage"))
assert(c:user_write(mm, d, "z"))
assert(not mm:thp_mapped(d), "VM_NOHUGEPAGE")
mm:thp_disable(true)
assert(c:user_write(mm, d + M, "z"))
assert(not mm:thp_mapped(d + M), "PR_SET_THP_DISABLE")
mm:thp_disable(false)

-- a read fault maps the huge zero page; a write replaces it with a THP
local z = d + 2 * M
assert(c:user_read(mm, z, 1) == "\0")
assert(mm:thp_mapped(z), "huge zero page")
assert(vs("thp_zero_page_alloc") == 1)
local before = vs("thp_fault_alloc")
assert(c:user_write(mm, z + P, "w"))
assert(mm:thp_mapped(z) and vs("thp_fault_alloc") == before + 1)

-- another CPU caches the THP as one 2 MiB TLB entry; the split's
-- pmdp_invalidate flush reaches it, so it faults on the hole
local t = region(1)
assert(c:user_write(mm, t, "t"))
local c1 = m:cpu(1)
assert(c1:user_read(mm, t + 9 * P, 1) == "\0")
assert(mm:munmap(t + 9 * P, P))
_, sig = c1:user_read(mm, t + 9 * P, 1)
assert(sig == "SIGSEGV", "no stale 2 MiB entry on CPU 1")

-- partial munmap splits; whole munmap does not
local e = region(3)
for i = 0, 2 do assert(c:user_write(mm, e + i * M, "e")) end
local splits = vs("thp_split_pmd")
assert(mm:munmap(e + M + 8 * P, 4 * P))
assert(vs("thp_split_pmd") == splits + 1, "partial munmap: split_huge_pmd")
assert(c:user_read(mm, e + M, 1) == "e")
assert(mm:munmap(e, M))
assert(vs("thp_split_pmd") == splits + 1, "whole munmap: no split")
-- partial mprotect splits
assert(mm:mprotect(e + 2 * M, P, "r"))
assert(vs("thp_split_pmd") == splits + 2 and not mm:thp_mapped(e + 2 * M))

-- guard install over a THP splits it first; remove leaves THPs unsplit
local g = region(2)
assert(c:user_write(mm, g, "g"))
assert(c:user_write(mm, g + M, "G"))
splits = vs("thp_split_pmd")
assert(mm:madvise(g + 3 * P, P, "guard_install"))
assert(vs("thp_split_pmd") == splits + 1)
_, sig = c:user_read(mm, g + 3 * P, 1)
assert(sig == "SIGSEGV")
assert(mm:madvise(g, 2 * M, "guard_remove"))
assert(mm:thp_mapped(g + M), "guard remove leaves the THP unsplit")
assert(vs("thp_split_pmd") == splits + 1)
assert(c:user_read(mm, g + M, 1) == "G")

-- MADV_COLLAPSE puts the split range back into one THP, contents kept
assert(mm:madvise(g, M, "collapse"))
assert(mm:thp_mapped(g) and vs("thp_collapse_alloc") == 1)
assert(c:user_read(mm, g, 1) == "g")

-- fork shares the THP read-only; the child's write splits and copies
local child = assert(mm:fork())
assert(mm:thp_mapped(g) and child:thp_mapped(g))
splits = vs("thp_split_pmd")
assert(c:user_write(child, g, "C"))
assert(vs("thp_split_pmd") == splits + 1 and not child:thp_mapped(g))
assert(c:user_read(mm, g, 1) == "g" and c:user_read(child, g, 1) == "C")
child:close()

-- DONTNEED of part of a THP splits it; khugepaged collapses it again
local k = region(1)
assert(c:user_write(mm, k, string.rep("k", 64 * P)))
assert(mm:madvise(k + 16 * P, 16 * P, "dontneed"))
assert(not mm:thp_mapped(k))
local collapsed = vs("thp_collapse_alloc")
assert(m:khugepaged_scan() >= 1)
assert(mm:thp_mapped(k) and vs("thp_collapse_alloc") > collapsed)
assert(c:user_read(mm, k, 1) == "k" and c:user_read(mm, k + 16 * P, 1) == "\0")
print(string.format("thp: fault_alloc %d split_pmd %d collapse_alloc %d",
  vs("thp_fault_alloc"), vs("thp_split_pmd"), vs("thp_collapse_alloc")))
