-- ceiling-truncated: mprotect of 33 and of 34 pages (the flush ceiling's two sides) leaves no stale entry on another CPU, 33 by invlpg and 34 by one full flush
--
-- tlb_single_page_flush_ceiling is 33: up to 33 pages are invalidated
-- one by one, more flush the whole PCID.  CPU 1 caches every page, CPU 0
-- makes them read-only; each write on CPU 1 must then fault.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local mm = assert(m:user_mm())
for _, n in ipairs{33, 34} do
  local a = assert(mm:mmap{len = n * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, n - 1 do
    assert(c0:user_write(mm, a + i * PAGE, "p"))
    assert(c1:user_write(mm, a + i * PAGE, "q"))
  end
  local full0 = m:counter("flush_mm_range_full")
  assert(mm:mprotect(a, n * PAGE, "r"))
  local full = m:counter("flush_mm_range_full") - full0
  for i = 0, n - 1 do
    local ok, sig = c1:user_write(mm, a + i * PAGE, "x")
    assert(sig == "SIGSEGV", "page " .. i .. " of " .. n .. " faults on CPU 1")
  end
  assert(full == (n > 33 and 1 or 0), "33 pages by invlpg, 34 by a full flush")
end
