-- 3.5: The pack is filled with INT3 ("invalid"/"safe" instruction naming dispute) and mapped RO+X
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- A new pack's unused bytes read as 0xcc (INT3); the pack is executable
-- and not writable; a freed chunk is refilled with 0xcc.
local m = vmlab.machine{cpus = 1, memory = "1G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "pack"})
local a = assert(m:execmem_alloc("bpf", 64))
local keep = assert(m:execmem_alloc("bpf", 64)) -- so the pack is not released
assert(m:execmem_update_copy(a, 0, string.rep("\x90", 64)))
local unused = m:read(a + 4096, 16)
local fetch = m:fetch(a, 1) and "ok" or "fault"
local write = m:write(a + 4096, "x") and "ok" or "fault"
assert(m:execmem_free(a))
local refilled = m:read(a, 64)
vmlab.result{{"unused pack bytes", unused == string.rep("\xcc", 16) and "0xcc" or "other"},
  {"fetch from the pack", fetch}, {"plain write to the pack", write},
  {"freed chunk", refilled == string.rep("\xcc", 64) and "0xcc" or "other"}}
assert(unused == string.rep("\xcc", 16) and fetch == "ok" and write == "fault")
assert(refilled == string.rep("\xcc", 64))
