-- 1.10: Flagged area not deallocating pages (`vunmap`) → just `vm_unmap_aliases()`
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: contradicted
-- why: later mainline dropped the branch: vmap() refuses VM_FLUSH_RESET_PERMS with a warning (the flag is tied to freeing the pages, Hellwig 2023), and vunmap() of an area flagged afterwards is an ordinary lazy free; vmlab follows mainline
--
-- The seed's v2 handles a flagged area whose pages are not freed (vunmap)
-- with vm_unmap_aliases().  Measured on the model, which follows later
-- mainline: vmap() with the flag fails and warns; an area flagged after
-- vmap() is freed lazily by vunmap(), with no flush of its own.
local m = vmlab.machine{cpus = 2, memory = "64M", quiet = true}
local p = {m:alloc_pages(), m:alloc_pages()}
local w0 = m:warnings()
local v = m:vmap(p, "VM_FLUSH_RESET_PERMS")
local warned = m:warnings() - w0
local v2 = assert(m:vmap(p))
m:set_vm_flush_reset_perms(v2)
local function flushes() return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full") + m:counter("flush_all") end
local f0 = flushes()
m:vunmap(v2)
local f = flushes() - f0
vmlab.result{{"vmap() with VM_FLUSH_RESET_PERMS", v and "mapped" or "refused"}, {"warnings", warned},
  {"flushes of vunmap() of a flagged area", f}, {"left lazily freed", m:vmalloc_stats().nr_lazy}}
assert(v == nil and warned == 1 and f == 0 and m:vmalloc_stats().nr_lazy == 1)
