-- text-poke-leave-mm: text_poke must switch the poking CPU back from poking_mm (unuse_temporary_mm)
--
-- The poking alias of RO+X text is acceptable only because poking_mm is
-- loaded on one CPU, for the length of one poke.  If __text_poke() never
-- switches back, poking_mm stays loaded on that CPU; the next poke from
-- another CPU then installs a writable alias in an mm two CPUs run.
local m = vmlab.machine{cpus = 2}
assert(m:execmem_setup{allocator = "pack"})
local c0, c1 = m:cpu(0), m:cpu(1)
local a = assert(c0:execmem_alloc("bpf", 64))
local b = assert(c0:execmem_alloc("bpf", 64))
assert(c0:execmem_update_copy(a, 0, string.rep("\x90", 64)))
assert(c1:execmem_update_copy(b, 0, string.rep("\x91", 64)))
assert(c1:fetch(a, 16) and c0:fetch(b, 16), "both programs run")
