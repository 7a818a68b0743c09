-- kasan-release-no-flush: kasan_release_vmalloc must flush the shadow range before it frees the shadow pages
--
-- Rutland's review of v6 (seeds/kasan-vmalloc-shadow.txt): the shadow
-- PTEs are cleared and the pages freed with no TLB maintenance, so an
-- errant access still reaches the freed page.  CPU 1's KASAN check
-- caches the shadow page two areas share; CPU 0 frees both and purges,
-- which releases that page.  With the flush no CPU can reach it when it
-- goes back to the allocator; without it CPU 1's TLB still can.
local m = vmlab.machine{cpus = 2, kasan = true}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(3 * 4096)
local b = c0:vmalloc(3 * 4096)
c0:write(a, "x")
assert(c1:read(a, 1) == "x") -- the check loads a's shadow through CPU 1's TLB
c0:vfree(b)
c0:vfree(a)
c0:purge_vmap_area_lazy()
assert(m:kasan_stats().shadow_pages_freed == 1, "the shared shadow page is released")
