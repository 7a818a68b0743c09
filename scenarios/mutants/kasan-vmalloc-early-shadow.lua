-- kasan-vmalloc-early-shadow: the vmalloc part of the shadow must be left unmapped at boot, not put on the early shadow page
--
-- seeds/kasan-vmalloc-shadow.txt: "this code expects that the part of
-- the shadow region that covers the vmalloc space will not be covered
-- by the early shadow page, but will be left unmapped".  Booted with the
-- layout of a kernel without KASAN_VMALLOC, kasan_populate_vmalloc finds
-- the early page's PTE where it would map a real shadow page, skips it,
-- and the unpoison of the new area then writes the shared read-only
-- page: a fault in kasan_poison, reported by KASAN.  With the seed's
-- layout the area gets a real shadow page and its bytes are checked.
local m = vmlab.machine{cpus = 2, kasan = true}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(100)
assert(a, "vmalloc")
c0:write(a, "x")
assert(c1:read(a, 1) == "x")
local st = m:kasan_stats()
assert(st.shadow_pages_populated == 1, "the area has a real shadow page")
assert(m:kasan_shadow(a + 96) == 4, "the partial granule holds its length")
