-- 4.8: Existing mappings are zapped before the markers go in
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- Pages with data get guard markers: their frames are freed (zapped),
-- and after GUARD_REMOVE the page reads back as zero, not the old data.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
for i = 0, 3 do assert(m:user_write(mm, a + i * PAGE, "data")) end
local free0 = m:nr_free_pages()
assert(mm:madvise(a, 4 * PAGE, "guard_install"))
local freed = m:nr_free_pages() - free0
assert(mm:madvise(a, 4 * PAGE, "guard_remove"))
local back = m:user_read(mm, a, 4)
vmlab.result{{"frames freed by the install", freed}, {"data after remove", back == "\0\0\0\0" and "zero" or back}}
assert(freed >= 4 and back == "\0\0\0\0")
