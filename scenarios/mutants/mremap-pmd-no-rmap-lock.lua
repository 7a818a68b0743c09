-- mremap-pmd-no-rmap-lock: mremap must hold the rmap lock while it moves a PTE table and flushes the old range
--
-- arm64 (reclaim flushes page by page there, no batch).  A 2 MiB region
-- with one page, which CPU 1 caches at the old address.  mremap on CPU 2
-- moves the whole PTE table to a higher address (move_normal_pmd) and
-- then flushes the old range; kswapd on CPU 0 reclaims the new range
-- through the rmap.  Holding the rmap lock for writing across the move and
-- its flush (97113eb39fa7) makes kswapd wait; without it kswapd can find
-- the page at its new address, flush only there and free it while CPU 1
-- still maps it at the old one.  kswapd must run at one given point
-- inside mremap, deeper than PCT's depth finds here:
-- policy: random
local MB2 = 2 * 1024 * 1024
local m = vmlab.machine{arch = "arm64", cpus = 3, memory = "256M"}
local mm = assert(m:user_mm())
local old, new = 0x40000000, 0x80000000
assert(mm:mmap{addr = old, len = MB2, prot = "rw",
               flags = {"private", "anonymous", "fixed"}} == old)
local c1 = m:cpu(1)
assert(c1:user_write(mm, old, "data"))
assert(c1:user_read(mm, old, 4) == "data")
m:run{
  [0] = function(cpu)
    for _ = 1, 8 do mm:reclaim(new, MB2) end
  end,
  [2] = function(cpu)
    assert(mm:mremap(old, MB2, MB2, "maymove|fixed", new) == new)
  end,
}
