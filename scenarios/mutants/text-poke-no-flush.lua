-- text-poke-no-flush: text_poke switches back from poking_mm and must then flush the poking address
--
-- __text_poke() maps the target text page writable at the poking address
-- of poking_mm, loads that mm on this CPU only, copies, clears the PTE,
-- switches back and calls flush_tlb_mm_range() on the poking address.
-- Without that flush the poking mm's PCID keeps a writable TLB entry for
-- a page of RO+X text on this CPU: a writable alias of text that outlives
-- the poke (wx-alias), and the next poke of another page can even write
-- through it into the old one.
local m = vmlab.machine{cpus = 2}
assert(m:execmem_setup{allocator = "pack"})
local c0 = m:cpu(0)
local a = assert(c0:execmem_alloc("bpf", 64))
local b = assert(c0:execmem_alloc("bpf", 8192))
assert(c0:execmem_update_copy(a, 0, string.rep("\x90", 64)))
-- (With the bug this poke goes through the stale entry into a's page.)
c0:execmem_update_copy(b, 4096, string.rep("\x91", 64))
assert(m:cpu(1):fetch(a, 16), "program a runs")
