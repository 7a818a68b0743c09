-- 4.10: Remove over a mixed range only touches markers (and leaves huge pages unsplit)
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
-- why: partly: the marker half is shown; the huge-page half needs user THP, which vmlab does not have yet
--
-- A range with data pages and guard markers interleaved: GUARD_REMOVE
-- over all of it clears the markers and leaves every data page mapped to
-- the same frame with its data.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 8 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
local pfn = {}
for i = 0, 7, 2 do
  assert(m:user_write(mm, a + i * PAGE, "d" .. i))
  pfn[i] = mm:pagemap(a + i * PAGE).pfn
end
for i = 1, 7, 2 do assert(mm:madvise(a + i * PAGE, PAGE, "guard_install")) end
local w0 = m:counter("pte_write")
assert(mm:madvise(a, 8 * PAGE, "guard_remove"))
local writes = m:counter("pte_write") - w0
local same, guards = 0, 0
for i = 0, 7 do
  local p = mm:pagemap(a + i * PAGE)
  if p.guard then guards = guards + 1 end
  if i % 2 == 0 and p.present and p.pfn == pfn[i] and m:user_read(mm, a + i * PAGE, 2) == "d" .. i then
    same = same + 1
  end
end
vmlab.result{{"data pages untouched (same frame, same data)", same},
  {"markers left", guards}, {"entries written by the remove", writes}}
assert(same == 4 and guards == 0 and writes == 4)
