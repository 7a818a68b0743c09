-- cpa-error-no-flush: a set_memory_ro that fails half-way must still flush what it changed
--
-- The range runs past the area into its unmapped guard page: CPA changes
-- the first page, fails on the second, and on the error path flushes
-- everything, since it cannot tell what it changed.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(4096)
-- Split the direct map around the page first: a split flushes by itself.
c0:set_memory_ro(a, 1)
c0:set_memory_rw(a, 1)
assert(c1:write(a, "rw"))
local ok = pcall(c0.set_memory_ro, c0, a, 2)
assert(not ok, "the guard page makes set_memory_ro fail")
c1:write(a, "written after the failed set_memory_ro")
