-- purge-no-flush: a lazily freed vmalloc area is purged; CPU 1 must not keep using its old translation
--
-- vfree() leaves the vmalloc alias in other CPUs' TLBs until the lazy
-- purge, which flushes [lowest, highest) of the lazy areas before the
-- space is reused.  CPU 1 caches the area, CPU 0 frees it and purges; a
-- new vmalloc takes the same space with new frames and CPU 1 reads it.
-- With the flush CPU 1 re-walks and sees the new data; without it, it
-- reads the old frame through its stale entry.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(4096)
c0:write(a, "old")
assert(c1:read(a, 3) == "old")
c0:vfree(a)
c0:purge_vmap_area_lazy()
local hog = c0:alloc_pages() -- the freed frame gets another owner
local b = c0:vmalloc(4096)
c0:write(b, "new")
assert(c1:read(b, 3) == "new", "CPU 1 reads the new area's data")
