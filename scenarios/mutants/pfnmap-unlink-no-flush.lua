-- pfnmap-unlink-no-flush: munmap of a VM_PFNMAP mapping must flush before the VMA leaves the file
--
-- A device file's mmap maps frame p with remap_pfn_range (VM_PFNMAP: no
-- page reference, nothing in the mmu_gather keeps p).  CPU 2 runs a
-- thread of the mm and caches the mapping.  CPU 0 munmaps it while the
-- driver on CPU 1 revokes the file's mappings (unmap_mapping_range, here
-- the file's truncate) and frees p.  munmap unlinks the VMA from the file
-- in free_pgtables(), before tlb_finish_mmu() flushes: if the revoke runs
-- in between it finds no VMA, flushes nothing, and p is freed while CPU 2
-- still reaches it.  b67fbebd4cf9 flushes PFNMAP ranges before the unlink.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 3}
local c0, c1, c2 = m:cpu(0), m:cpu(1), m:cpu(2)
local f = assert(m:open("/dev/bar0", "rdwr|creat"))
assert(f:truncate(PAGE))
local p = c1:alloc_pages()
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw", file = f, pfn = p})
assert(c2:user_write(mm, a, "mmio"))
assert(c2:user_read(mm, a, 4) == "mmio") -- CPU 2 caches the mapping
m:run{
  [0] = function(cpu) assert(mm:munmap(a, PAGE)) end,
  [1] = function(cpu)
    assert(f:truncate(0)) -- the driver's unmap_mapping_range()
    cpu:free_pages(p)     -- and the frame goes back
  end,
}
