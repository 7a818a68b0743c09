-- vb-dirty-flushed-again: vm_unmap_aliases must flush a vmap block's dirty range once, not on every call
--
-- Two vm_map_ram mappings share a per-CPU vmap block; the first is
-- vm_unmap_ram'd, so the block has a dirty range.  The first
-- vm_unmap_aliases() flushes it and, since a09fad96ffb1, forgets it; a
-- second call with nothing unmapped in between has nothing to flush (no
-- lazy area, no dirty range).  Before the fix the range stayed and every
-- call (set_memory_*() makes one before each change) flushed it again.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local p = c0:alloc_pages()
local a = assert(c0:vm_map_ram({p, p}))
assert(c0:vm_map_ram({p, p}))
c0:write(a, "old")
assert(c1:read(a, 3) == "old")
c0:vm_unmap_ram(a, 2)
local function flushes()
  return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full")
end
local first = flushes()
c0:vm_unmap_aliases()
assert(flushes() > first, "the first vm_unmap_aliases() flushes the dirty range")
assert(m:tlb_probe(a, 1) == nil, "and CPU 1's alias is gone")
local before = flushes()
c0:vm_unmap_aliases()
assert(flushes() == before, string.format(
  "a second vm_unmap_aliases() flushed again (%d kernel range flushes)",
  flushes() - before))
