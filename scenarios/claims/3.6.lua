-- 3.6: Changes need the arch's `text_poke` family (writes to RO+X go through a temporary mapping)
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- A store to RO+X text faults; text_poke writes it through a writable
-- alias in the temporary poking mm, switched in on the local CPU only
-- and flushed after: the checker sees no W+X alias any other CPU could
-- use.
local m = vmlab.machine{cpus = 2, memory = "1G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "pack"})
local a = assert(m:execmem_alloc("bpf", 64))
local plain = m:write(a, "\x90") and "ok" or "fault"
local s0 = m:execmem_stats()
assert(m:text_poke(a, "\x90\x90\xc3"))
local s1 = m:execmem_stats()
vmlab.result{{"plain store to RO+X text", plain}, {"text_poke", m:read(a, 3) == "\x90\x90\xc3" and "written" or "not written"},
  {"temporary-mm switches", s1.temp_mm_switches - s0.temp_mm_switches},
  {"poking-address flushes", s1.poke_flushes - s0.poke_flushes},
  {"checker reports", m:nr_reports()}}
assert(plain == "fault" and m:read(a, 3) == "\x90\x90\xc3" and m:nr_reports() == 0)
assert(s1.temp_mm_switches - s0.temp_mm_switches >= 1 and s1.poke_flushes - s0.poke_flushes >= 1)
