-- cpa-no-flush: set_memory_ro must flush; a CPU caching the RW entry must fault on its next write
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(4096)
-- Split the direct map around the page first: a split flushes by itself.
c0:set_memory_ro(a, 1)
c0:set_memory_rw(a, 1)
assert(c1:write(a, "rw"))
c0:set_memory_ro(a, 1)
c1:write(a, "written after set_memory_ro")
