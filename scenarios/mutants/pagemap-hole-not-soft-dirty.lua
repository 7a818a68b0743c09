-- pagemap-hole-not-soft-dirty: a new VMA's pages are soft-dirty in pagemap even where no page table exists yet
--
-- Peter Feiner's 68b5a6524856: a VMA created after clear_refs 4 carries
-- VM_SOFTDIRTY, and /proc/PID/pagemap must report all its pages
-- soft-dirty until the next clear_refs, so that an incremental dump
-- sees the new mapping.  pte_to_pagemap_entry() looked at the flag, but
-- pagemap_pte_hole() - the walk's callback for ranges without a page
-- table - did not.  His test: a VMA over an unused PMD.
local PAGE = vmlab.PAGE_SIZE
local MB2 = 2 * 1024 * 1024
local m = vmlab.machine{cpus = 1}
local mm = assert(m:user_mm())
local old = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:user_write(mm, old, "x"))
assert(mm:clear_refs(4))
assert(not mm:soft_dirty(old), "the old VMA is clean after clear_refs")
local a = 0x40000000                   -- a PMD nothing maps yet
assert(mm:mmap{addr = a, len = MB2, prot = "rw",
               flags = {"private", "anonymous", "fixed"}} == a)
assert(not mm:pagemap(a).present)
assert(mm:soft_dirty(a), "an untouched page of the new VMA (no page table) is soft-dirty")
assert(m:user_write(mm, a + PAGE, "y"))
assert(mm:soft_dirty(a), "an untouched page next to a populated one is soft-dirty")
assert(mm:soft_dirty(a + PAGE))
assert(mm:clear_refs(4))
assert(not mm:soft_dirty(a) and not mm:soft_dirty(a + PAGE))
