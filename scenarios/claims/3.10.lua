-- 3.10: All `module_alloc()` users get RO+X memory, not RW
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- With the split range (and the ROX cache) module text is RO+X from the
-- moment it is allocated: a store faults, the first write goes through
-- text_poke (execmem_update_copy).  The per-area allocator hands out RW.
local function run(alloc)
  local m = vmlab.machine{cpus = 1, memory = "1G", direct_map_1g = false, label = alloc}
  assert(m:execmem_setup{allocator = alloc})
  local a = assert(m:execmem_alloc("module-text", 4096))
  local w = m:write(a, "\x90") and "writable" or "read-only"
  local x = m:fetch(a, 1) and "executable" or "not executable"
  assert(m:execmem_update_copy(a, 0, "\x90\xc3"))
  vmlab.result(alloc, {{"new module text", w .. ", " .. x},
    {"after execmem_update_copy", m:read(a, 2) == "\x90\xc3" and "written" or "not written"}})
  return w, x
end
local w1, x1 = run("split-range")
local w2, x2 = run("rox-cache")
local w3 = run("per-area")
assert(w1 == "read-only" and x1 == "executable" and w2 == "read-only" and x2 == "executable")
assert(w3 == "writable")
