-- cpa-alias-primary-flush: set_memory_ro on a vmalloc address changes the direct-map alias too, and must flush it
--
-- cpa_process_alias() makes the direct-map alias read-only as well, and
-- then the flush must cover every TLB entry, not only the vmalloc range
-- the caller named: CPU 1 cached the direct-map alias writable.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(4096)
-- Split the direct map around the page first: a split flushes by itself.
c0:set_memory_ro(a, 1)
c0:set_memory_rw(a, 1)
local pa = assert(m:translate(a))
local alias = vmlab.page_address(pa // 4096)
assert(c1:write(alias, "rw"))
c0:set_memory_ro(a, 1)
c1:write(alias, "written through the direct map after set_memory_ro")
