-- flush-ceiling: unmapping N kernel pages: one invlpg per page up to tlb_single_page_flush_ceiling (33), one full flush above
--
-- flush_tlb_kernel_range() invalidates page by page while the range has
-- at most tlb_single_page_flush_ceiling (33) pages, and flushes the whole
-- TLB (global entries too) above that: past the ceiling a shootdown costs
-- one flush per CPU, but every CPU then refills everything it had.
-- The report sweeps pages = 1..64 and plots invlpg against pages.

local P = vmlab.params{pages = 8}
local PAGE = vmlab.PAGE_SIZE
local VA = vmlab.VMALLOC_START

local m = vmlab.machine{cpus = 4, memory = "256M",
                        label = "flush_tlb_kernel_range"}
for i = 0, P.pages - 1 do m:map(VA + i * PAGE, m:alloc_pages(), 1) end
-- every other CPU caches every page
m:run{
  [1] = function(c) for i = 0, P.pages - 1 do c:read64(VA + i * PAGE) end end,
  [2] = function(c) for i = 0, P.pages - 1 do c:read64(VA + i * PAGE) end end,
  [3] = function(c) for i = 0, P.pages - 1 do c:read64(VA + i * PAGE) end end,
}
local c0 = m:counters()
m:cpu(0):unmap(VA, P.pages) -- with its flush
local c1 = m:counters()
local function d(name) return c1[name] - c0[name] end
vmlab.result(m:label(), {
  {"invlpg (all CPUs)", d("invlpg")},
  {"full flushes", d("flush_kernel_range_full")},
  {"IPIs", d("ipi_sent")},
  {"TLB entries dropped", d("tlb_entries_dropped")},
})
