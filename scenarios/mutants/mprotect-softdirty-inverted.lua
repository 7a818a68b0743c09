-- mprotect-softdirty-inverted: mprotect must not make a clean page writable while soft-dirty is tracked
--
-- Peter Xu's reproducer of 76aefad628aa: fault a page, clear_refs 4,
-- mprotect(PROT_READ), mprotect(PROT_READ|PROT_WRITE), write.  mprotect
-- may map an exclusive anonymous page writable at once
-- (can_change_pte_writable(), 64fe24a3e05e), but not while soft-dirty is
-- tracked on the VMA (VM_SOFTDIRTY clear) and the PTE is clean: the write
-- must fault to set soft-dirty.  The check tested VM_SOFTDIRTY set,
-- which means tracking off, so the write after the second mprotect went
-- through untracked.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(m:user_write(mm, a, "1"))
assert(mm:soft_dirty(a), "just faulted in page")
assert(mm:clear_refs(4))
assert(not mm:soft_dirty(a), "clear_refs written")
assert(mm:mprotect(a, PAGE, "r"))
assert(not mm:soft_dirty(a), "marked RO")
assert(mm:mprotect(a, PAGE, "rw"))
assert(not mm:soft_dirty(a), "marked RW")
assert(m:user_write(mm, a, "2"))
assert(mm:soft_dirty(a), "wrote page again: soft-dirty")
