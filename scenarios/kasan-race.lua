-- kasan-race: vmalloc/vfree on two CPUs sharing KASAN shadow pages while the purge releases them; seed-v6 frees shadow still in a TLB
-- explore: 100
--
-- seeds/kasan-vmalloc-shadow.txt, v6 of "kasan: support backing vmalloc
-- space with real shadow memory".  Both CPUs allocate one-page areas,
-- use them (every access is checked against the shadow, loading it
-- through the CPU's TLB) and free them; CPU 0 purges after each round.
-- Small areas share a shadow page (it describes 32 KiB), so whether the
-- purge may release a page depends on what the other CPU holds at that
-- moment: the alignment rule keeps a page that a live area still uses.
--
-- release = "seed-v6" (as posted): the shadow PTE is cleared and the
-- page freed with no TLB flush -- the page goes back to the allocator
-- while a TLB still reaches it (freed-frame-reachable), and a CPU that
-- cached it reads a reused frame as shadow later (stale-access), which
-- is Mark Rutland's review.  release = "fixed": the shadow range is
-- flushed before the pages are freed, and explore finds nothing.
-- Scheduling points: every operation, init_mm.page_table_lock around
-- each shadow PTE populate/depopulate, every IPI of a flush, and the
-- vmalloc lock dropped around kasan_populate_vmalloc() as Linux drops
-- vmap_area_lock there, so a purge on the other CPU releases shadow while
-- this one populates ("releases during a populate" counts it).  With the
-- kasan-release-unlocked mutant (the release after the purge dropped
-- free_vmap_area_lock) explore finds the shadow page freed under a new
-- area; see scenarios/mutants/kasan-release-unlocked.lua.
-- -D arch=arm64 runs it with arm64's KASAN_SHADOW_OFFSET and TLBI.

local P = vmlab.params{release = "seed-v6", rounds = 3, arch = "x86_64"}

local m = vmlab.machine{cpus = 2, memory = "64M", kasan = P.release, arch = P.arch}
local used = {0, 0}

local function worker(c, me, purge)
  for r = 1, P.rounds do
    local a = c:vmalloc(4096)
    assert(a, "vmalloc")
    c:write(a, "cpu" .. me)
    assert(c:read(a, 4) == "cpu" .. me)
    c:vfree(a)
    used[me + 1] = used[me + 1] + 1
    if purge then c:vm_unmap_aliases() end
  end
end

m:run{
  [0] = function(c) worker(c, 0, true) end,
  [1] = function(c) worker(c, 1, false) end,
}
m:cpu(0):purge_vmap_area_lazy()

local st = m:kasan_stats()
vmlab.result{
  ["areas"] = used[1] + used[2],
  ["shadow pages populated"] = st.shadow_pages_populated,
  ["shadow pages freed"] = st.shadow_pages_freed,
  ["freed without a TLB flush"] = st.freed_without_flush,
  ["shadow pages left mapped"] = st.shadow_pages_mapped,
  ["releases during a populate"] = st.releases_during_populate,
  ["checker reports"] = m:nr_reports(),
}
