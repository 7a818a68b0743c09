-- guard-regions: MADV_GUARD_INSTALL markers through the user-mm binding: SIGSEGV, DONTNEED, fork, munmap, a THP, a file mapping
--
-- Guard regions (Linux 6.13): madvise(MADV_GUARD_INSTALL) writes PTE
-- markers over a range of a mapping without splitting its VMA.  An access
-- to a marked page gives SIGSEGV; MADV_DONTNEED zaps the pages around
-- them but leaves the markers; fork() copies them into the child; only
-- MADV_GUARD_REMOVE or unmapping the range drops them.  Compare the VMA
-- count with the old way, mprotect(PROT_NONE), which splits the mapping.

local P = vmlab.params{pages = 8}
assert(P.pages >= 3, "pages >= 3")
local PAGE = vmlab.PAGE_SIZE
local len = P.pages * PAGE

local m = vmlab.machine{cpus = 2, memory = "256M", checker = true}
local mm = assert(m:user_mm())

-- Pages of [a, a + len) that pagemap shows as guard markers.
local function guards(p, a)
  local n = 0
  for i = 0, P.pages - 1 do
    if p:pagemap(a + i * PAGE).guard then n = n + 1 end
  end
  return n
end

local a = assert(mm:mmap{len = len, prot = "rw",
                         flags = {"private", "anonymous"}})
for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "data")) end
-- Markers at both ends, as a thread stack with guard pages.
assert(mm:madvise(a, PAGE, "guard_install"))
assert(mm:madvise(a + len - PAGE, PAGE, "guard_install"))
local vmas_markers = mm:vma_count()
local guards_installed = guards(mm, a)

local signals = 0
local _, sig = m:user_read(mm, a, 1)
assert(sig == "SIGSEGV", "guard page faults")
signals = signals + 1
assert(m:user_read(mm, a + PAGE, 4) == "data", "the next page is intact")

-- DONTNEED zaps the data but keeps the markers.
assert(mm:madvise(a, len, "dontneed"))
local guards_dontneed = guards(mm, a)
assert(m:user_read(mm, a + PAGE, 4) == "\0\0\0\0", "zapped to zero")

-- fork copies the markers: parent and child both fault, on two CPUs.
local child = assert(mm:fork())
local guards_child = guards(child, a)
local sigs = {}
m:run{
  [0] = function(c) local _, s = c:user_read(mm, a + len - PAGE, 1); sigs[1] = s end,
  [1] = function(c) local _, s = c:user_write(child, a, "x"); sigs[2] = s end,
}
for i = 1, 2 do
  assert(sigs[i] == "SIGSEGV", "guard markers fault after fork")
  signals = signals + 1
end
-- GUARD_REMOVE in the child makes the page usable again (zero-filled).
assert(child:madvise(a, PAGE, "guard_remove"))
assert(m:user_read(child, a, 1) == "\0")

-- munmap drops the markers; a new mapping there has none.
assert(mm:munmap(a, len))
local b = assert(mm:mmap{addr = a, len = len, prot = "rw",
                         flags = {"private", "anonymous", "fixed"}})
assert(b == a)
local guards_remapped = guards(mm, a)

-- The old way: a PROT_NONE page splits the mapping.
assert(mm:mprotect(a, PAGE, "none"))
local vmas_prot_none = mm:vma_count()
local _, sig2 = m:user_read(mm, a, 1)
assert(sig2 == "SIGSEGV")
signals = signals + 1

-- The file variant (6.15+: guard regions on file mappings): a regular
-- file opened read-only and mapped shared.  Its VMA may never write
-- (mprotect rw: EACCES); markers at both ends fault with SIGSEGV, a read
-- in between maps the cached neighbours by fault-around but not over the
-- markers, and truncation leaves the markers: past the new EOF a marked
-- page is still SIGSEGV, an unmarked one SIGBUS.
local w = assert(m:open("/guarded.dat", "rdwr|creat|trunc"))
assert(w:pwrite(string.rep("f", len), 0) == len)
local r = assert(m:open("/guarded.dat", "rdonly"))
local fa = assert(mm:mmap{len = len, prot = "r", flags = {"shared"}, file = r})
r:close() -- the mapping keeps the file
local _, ferr = mm:mprotect(fa, len, "rw")
assert(ferr == "EACCES", "a read-only open cannot gain PROT_WRITE")
assert(mm:madvise(fa, PAGE, "guard_install"))
assert(mm:madvise(fa + len - PAGE, PAGE, "guard_install"))
local fguards = guards(mm, fa)
local _, fsig = m:user_read(mm, fa, 1)
assert(fsig == "SIGSEGV", "file guard page faults")
assert(m:user_read(mm, fa + PAGE, 1) == "f")
local file_rss = mm:stats().rss_file
-- fault_around_bytes (64 KiB): the aligned 16-page window of the fault,
-- within the VMA, less the marked end pages
local first, last = fa // PAGE + 1, fa // PAGE + P.pages - 2
local win = (fa + PAGE) // PAGE // 16 * 16
local want = math.min(last, win + 15) - math.max(first, win) + 1
assert(file_rss == want, "fault-around maps the window, not the markers")
assert(w:truncate(PAGE * (P.pages - 2)))
local fguards_trunc = guards(mm, fa)
local _, past_guard = m:user_read(mm, fa + len - PAGE, 1)
local _, past_eof = m:user_read(mm, fa + len - 2 * PAGE, 1)
assert(past_guard == "SIGSEGV" and past_eof == "SIGBUS")
w:close()
assert(m:unlink("/guarded.dat"))

-- The THP variant (seeds/guard-pages-pagewalk.txt): installing a marker
-- inside a PMD-mapped THP splits the PMD first (split_huge_pmd: the
-- install_pte walk needs a PTE table), while MADV_GUARD_REMOVE walks
-- without a pte_entry callback and leaves a huge PMD as it is.
local HP = 2 * 1024 * 1024
m:thp_enabled("madvise")
local t = assert(mm:mmap{len = 3 * HP, prot = "rw",
                         flags = {"private", "anonymous"}})
local h = (t + HP - 1) // HP * HP
assert(mm:madvise(h, 2 * HP, "hugepage"))
assert(m:user_write(mm, h, "t"))
assert(m:user_write(mm, h + HP, "u"))
assert(mm:thp_mapped(h) and mm:thp_mapped(h + HP), "two THPs")
local splits0 = m:vmstat().thp_split_pmd
assert(mm:madvise(h + 5 * PAGE, PAGE, "guard_install"))
local thp_after_install = mm:thp_mapped(h)
assert(not thp_after_install, "install splits the PMD")
local _, tsig = m:user_read(mm, h + 5 * PAGE, 1)
assert(tsig == "SIGSEGV")
assert(m:user_read(mm, h, 1) == "t", "the rest of the THP stays")
assert(mm:madvise(h + HP, HP, "guard_remove"))
local thp_after_remove = mm:thp_mapped(h + HP)
assert(thp_after_remove, "remove leaves the huge PMD")
local thp_splits = m:vmstat().thp_split_pmd - splits0
assert(thp_splits == 1)
assert(mm:munmap(t, 3 * HP))

vmlab.result{
  {"VMAs with 2 guard markers", vmas_markers},
  {"VMAs with 1 PROT_NONE page", vmas_prot_none},
  {"guard pages (pagemap)", guards_installed},
  {"... after MADV_DONTNEED", guards_dontneed},
  {"... in the forked child", guards_child},
  {"... after munmap + mmap", guards_remapped},
  {"SIGSEGVs", signals},
  {"THP: huge after guard install / remove", tostring(thp_after_install) .. " / " .. tostring(thp_after_remove)},
  {"THP: PMD splits", thp_splits},
  {"file: guard pages (pagemap)", fguards},
  {"file: Rss after one read (fault-around)", file_rss},
  {"file: guard pages after truncate", fguards_trunc},
  {"file: past EOF (guard, plain)", past_guard .. ", " .. past_eof},
  {"parent's SIGSEGVs (stats)", mm:stats().sigsegv},
  {"reports", m:nr_reports()},
}
