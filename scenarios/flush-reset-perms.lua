-- flush-reset-perms: free N RO+X areas (BPF-program-like) the old ways vs VM_FLUSH_RESET_PERMS: flushes, IPIs, time, W+X windows
--
-- The seed thread (VM_FLUSH_RESET_PERMS, 2019): memory that was made
-- RO+X with set_memory_* had to be given back with more set_memory calls
-- before vfree, each one a full TLB flush, and the vmalloc alias stayed in
-- other CPUs' TLBs until a lazy purge.  With the flag, vfree makes the
-- direct-map aliases invalid, flushes once for the vmalloc range, the lazy
-- areas and the direct map together, and resets the direct map.
--
-- Each program: vmalloc in the module range, JIT (write the code), then
-- set_memory_ro + set_memory_x, and CPU 1 runs it (its iTLB caches the
-- executable alias).  Then it is freed one of four ways:
--   "nx, rw"   set_memory_nx, set_memory_rw, vfree, later lazy purge
--   "rw, nx"   set_memory_rw first: RW+X until the nx (a W+X window)
--   "rw only"  the pre-2019 BPF way: RW+X until the purge
--   "flag"     set_vm_flush_reset_perms, vfree
-- After the frees the lazy areas are purged, so every way is charged for
-- all the flushes it needs.

local P = vmlab.params{programs = 16, runner = 1}

local ways = {
  {name = "nx, rw", steps = {"nx", "rw"}},
  {name = "rw, nx", steps = {"rw", "nx"}, expect = {"wx-alias"}},
  {name = "rw only", steps = {"rw"}, expect = {"wx-alias"}},
  {name = "flag", flag = true},
}

local function pages_of(i) return 1 + (i % 2) end

local function run(way)
  local m = vmlab.machine{cpus = 4, label = way.name, expect = way.expect}
  local cpu0, runner = m:cpu(0), m:cpu(P.runner)
  local areas = {}
  for i = 1, P.programs do
    local pages = pages_of(i)
    local addr = cpu0:vmalloc_node_range{
      size = pages * 4096, start = vmlab.MODULES_VADDR,
      ["end"] = vmlab.MODULES_END, caller = "bpf_jit_binary_alloc"}
    assert(addr, "vmalloc failed")
    for p = 0, pages - 1 do
      cpu0:write(addr + p * 4096, string.rep("\xcc", 64))
    end
    cpu0:set_memory_ro(addr, pages)
    cpu0:set_memory_x(addr, pages)
    for p = 0, pages - 1 do
      assert(runner:fetch(addr + p * 4096, 16), "the program runs")
    end
    areas[i] = {addr = addr, pages = pages}
  end
  local before = {
    flushes = m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full")
      + m:counter("flush_all"),
    ipis = m:counter("ipi_sent"),
    inval = m:counter("pages_invalidated") + m:counter("flush_global"),
    tlbi = m:counter("tlbi_is"), faults = m:counter("page_fault"),
    ns = m:sim_time_ns(),
  }
  for i = 1, P.programs do
    local a = areas[i]
    if way.flag then
      cpu0:set_vm_flush_reset_perms(a.addr)
    else
      for _, s in ipairs(way.steps) do
        if s == "nx" then cpu0:set_memory_nx(a.addr, a.pages)
        else cpu0:set_memory_rw(a.addr, a.pages) end
      end
    end
    cpu0:vfree(a.addr)
  end
  cpu0:purge_vmap_area_lazy()
  local flushes = m:counter("flush_kernel_range") + m:counter("flush_kernel_range_full")
    + m:counter("flush_all") - before.flushes
  vmlab.result(m:label(), {
    {"TLB flushes", flushes},
    {"IPIs", m:counter("ipi_sent") - before.ipis},
    {"invlpg + global flushes", m:counter("pages_invalidated")
      + m:counter("flush_global") - before.inval},
    -- arm64: the same flushes as broadcast TLBIs, no IPIs.
    {"broadcast TLBIs", m:counter("tlbi_is") - before.tlbi},
    {"faults", m:counter("page_fault") - before.faults},
    {"simulated us", math.floor((m:sim_time_ns() - before.ns) / 1000)},
    {"wx-alias reports", m:nr_reports("wx-alias")},
    {"stale/freed reports", m:nr_reports("stale-access")
      + m:nr_reports("freed-frame-reachable")},
  })
end

for _, w in ipairs(ways) do run(w) end
