-- hugetlb-unshare-no-flush: munmap of a hugetlb range whose PMD table is shared must flush the whole PUD range of the unsharing mm
-- (CVE-2021-4002, a4a118f2eead).  Parent and child map the same 1 GiB of
-- a hugetlbfs file MAP_SHARED: fork links the child's PUD entry to the
-- parent's PMD table (huge_pmd_share).  The child's munmap only unlinks
-- it (huge_pmd_unshare) and clears no leaf of its own; the parent's hole
-- punch then frees the page, flushing only the parent.
local GiB, PMD = 1 << 30, 2 << 20
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
assert(m:nr_hugepages(1) == 1)
local mm = assert(m:user_mm())
local a = assert(mm:mmap{addr = GiB, len = GiB, prot = "rw",
  flags = {"shared", "anonymous", "hugetlb", "huge_2mb", "noreserve", "fixed"}})
-- a neighbour keeps the PUD table (free_pgtables would flush it all)
assert(mm:mmap{addr = 2 * GiB, len = 4096, prot = "rw",
  flags = {"private", "anonymous", "fixed"}})
assert(c0:user_write(mm, a, "secret"))
local child = assert(mm:fork())
assert(child:stats().pmd_share == 1, "the child links the parent's PMD table")
assert(c1:user_read(child, a, 6) == "secret") -- CPU 1 runs the child
assert(child:munmap(a, GiB))
assert(child:stats().pmd_unshare == 1)
assert(mm:madvise(a, PMD, "remove")) -- the page leaves the file
assert(m:nr_hugepages(0) == 0)     -- and the pool: back to the buddy allocator
local hog = {}
for i = 1, 64 do hog[i] = c0:alloc_pages(9) end -- the frames are reused
local s, sig = c1:user_read(child, a, 6)
assert(sig == "SIGSEGV", "the unmapped range faults on CPU 1")
