-- kasan-release-no-align: the purge must not free a shadow page a live neighbour still uses
--
-- kasan_release_vmalloc() aligns the freed range's start up and its end
-- down to the 32 KiB a shadow page describes, and extends it only where
-- the merged free region covers a whole shadow page.  Without that rule
-- the release of one area frees the shadow page it shares with its live
-- neighbour, whose next access then has no shadow.
local m = vmlab.machine{cpus = 2, kasan = true}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(4096)
local b = c0:vmalloc(4096) -- same shadow page as a
c0:vfree(a)
c0:purge_vmap_area_lazy()
c1:write(b, "still mine")
assert(c1:read(b, 10) == "still mine")
assert(m:kasan_stats().shadow_pages_mapped == 1, "b keeps its shadow page")
