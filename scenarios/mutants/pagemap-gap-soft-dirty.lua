-- pagemap-gap-soft-dirty: an unmapped page between two VMAs is never soft-dirty in pagemap
--
-- Peter Feiner's program from 62c98294410d: map three pages (new VMAs are
-- VM_SOFTDIRTY: every page soft-dirty until clear_refs), unmap the middle
-- one, read the three pagemap entries at once.  pagemap_pte_range(), past
-- the end of the first VMA, looked up the next one and reported the gap
-- with that VMA's VM_SOFTDIRTY.  Page 0 is touched so that the PTE table
-- the walk goes through exists (in a real process a neighbour mapping
-- usually makes one).
local PAGE = vmlab.PAGE_SIZE
local SD = 1 << 55
local m = vmlab.machine{cpus = 1}
local mm = assert(m:user_mm())
local a = 0x40000000
assert(mm:mmap{addr = a, len = 3 * PAGE, prot = "r",
               flags = {"shared", "anonymous", "fixed"}} == a)
assert(mm:munmap(a + PAGE, PAGE))
assert(m:user_read(mm, a, 1) == "\0")
local pme = assert(mm:pagemap_read(a, 3))
assert(pme[1] & SD ~= 0, "page 0: a new VMA's page is soft-dirty")
assert(pme[2] & SD == 0, "page 1: unmapped, not soft-dirty")
assert(pme[3] & SD ~= 0, "page 2: a new VMA's page is soft-dirty")
