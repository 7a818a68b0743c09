-- reset-perms-default-early: VM_FLUSH_RESET_PERMS must flush before it makes the direct map writable again
--
-- A JIT-like area: written, made RO+X, executed by CPU 1 (its iTLB holds
-- the executable vmalloc alias).  vfree with VM_FLUSH_RESET_PERMS makes
-- the direct-map aliases invalid, flushes once (vmalloc range, lazy areas,
-- direct map), and only then resets them to the default RW.  Reset first,
-- and the frame is writable (direct map) while CPU 1 can still execute it.
local m = vmlab.machine{cpus = 2}
local c0, c1 = m:cpu(0), m:cpu(1)
local a = c0:vmalloc(2 * 4096)
c0:write(a, string.rep("\xcc", 64))
c0:set_memory_rox(a, 2)
assert(c1:fetch(a, 16))
c0:set_vm_flush_reset_perms(a)
c0:vfree(a)
