-- set-memory-x-before-ro: module text is made read-only before it is made executable
--
-- module_alloc() memory is written while RW, then protected.  The order
-- matters: set_memory_ro() first, then set_memory_x().  Made executable
-- first, the text is writable and executable until the set_memory_ro
-- (the W^X break 'x86/modules: Avoid breaking W^X while loading modules'
-- removed in 5.2).
local m = vmlab.machine{cpus = 2}
assert(m:execmem_setup{allocator = "per-area"})
local c0 = m:cpu(0)
local a = assert(c0:execmem_alloc("module-text", 8192))
assert(c0:execmem_update_copy(a, 0, string.rep("\x90", 8192)))
assert(c0:execmem_finalize(a))
assert(m:cpu(1):fetch(a, 16), "the module text runs")
assert(c0:execmem_free(a))
