-- vb-purge-usable: vm_unmap_aliases must keep a vmap block that is still mostly free
--
-- One vm_map_ram mapping of 4 pages takes a fresh per-CPU vmap block
-- (1024 pages); vm_unmap_ram makes those 4 dirty, nothing is in use.
-- vm_unmap_aliases() flushes the dirty range; since 77e50af07f14 it purges
-- a fragmented block only when less than VMAP_PURGE_THRESHOLD (a quarter) is
-- still free, so this block stays and serves the next vm_map_ram.
local m = vmlab.machine{cpus = 1}
local c0 = m:cpu(0)
local p = c0:alloc_pages()
local a = assert(c0:vm_map_ram({p, p, p, p}))
local blocks = m:vmalloc_stats().nr_vmap_blocks
assert(blocks >= 1)
c0:vm_unmap_ram(a, 4)
c0:vm_unmap_aliases()
assert(m:vmalloc_stats().nr_vmap_blocks == blocks,
       "vm_unmap_aliases purged a vmap block that is still almost all free")
assert(c0:vm_map_ram({p, p, p, p}))
assert(m:vmalloc_stats().nr_vmap_blocks == blocks, "the block is reused")
