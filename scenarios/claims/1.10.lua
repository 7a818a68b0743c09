-- 1.10: Flagged area not deallocating pages (`vunmap`) → just `vm_unmap_aliases()`
-- seed: vm-flush-reset-perms
-- arch: x86-64
-- verdict: reproduced
--
-- The seed's v2 (reset_perms = "seed-v2") handles a flagged area whose
-- pages are not freed (vmap() + vunmap()) with vm_unmap_aliases(): the
-- vunmap() purges the lazy areas, this one among them, with one flush.  Later mainline dropped the branch (the flag
-- is tied to freeing the pages, Hellwig 2023): vmap() refuses the flag with
-- a warning, and vunmap() of an area flagged afterwards is an ordinary lazy
-- free with no flush of its own - shown side by side.
local function run(way)
  local m = vmlab.machine{cpus = 2, memory = "64M", quiet = true, label = way, reset_perms = way}
  local p = {m:alloc_pages(), m:alloc_pages()}
  local w0 = m:warnings()
  local v = m:vmap(p, "VM_FLUSH_RESET_PERMS")
  local warned = m:warnings() - w0
  if v then m:vunmap(v) end
  local v2 = assert(m:vmap(p))
  m:set_vm_flush_reset_perms(v2)
  local function flushes() return m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full") end
  local f0 = flushes()
  m:vunmap(v2)
  local r = {mapped = v ~= nil, warned = warned, flushes = flushes() - f0,
    lazy = m:vmalloc_stats().nr_lazy}
  vmlab.result(way, {{"vmap() with VM_FLUSH_RESET_PERMS", r.mapped and "mapped" or "refused"},
    {"warnings", r.warned}, {"flushes of vunmap() of a flagged area", r.flushes},
    {"left lazily freed", r.lazy}})
  return r
end
local seed, ml = run("seed-v2"), run("mainline")
assert(seed.mapped and seed.warned == 0 and seed.flushes == 1 and seed.lazy == 0)
assert(not ml.mapped and ml.warned == 1 and ml.flushes == 0 and ml.lazy == 1)
