-- stale-tlb: unmap and free a page without a TLB flush; another CPU reads the new owner's data through its stale entry
--
-- The demo's story.  A kernel page is mapped at the start of the vmalloc
-- range, written, and read by CPU 1, whose TLB now caches the translation.
-- CPU 0 unmaps the page and frees the frame -- once without the flush the
-- kernel owes every CPU before the free (the bug), once with it -- and the
-- allocator hands the frame to a new owner.  CPU 1 reads the old address.
--
-- Without the flush CPU 1 reads the new owner's data: the checker reports
-- freed-frame-reachable at the free and stale-access at the read.  With
-- it, the read faults; the price is one invlpg per CPU and an IPI to each
-- other CPU.

local P = vmlab.params{reader = 1}
local VA = vmlab.VMALLOC_START
local SECRET, NEW = "secret of the first owner", "data of the second owner!"

local function story(flush)
  local m = vmlab.machine{
    cpus = 4,
    label = flush and "with flush" or "no flush",
    -- Without the flush these are the bug the scenario shows.
    expect = not flush and {"stale-access", "freed-frame-reachable"} or nil,
  }
  local cpu0, reader = m:cpu(0), m:cpu(P.reader)
  local pfn = cpu0:alloc_pages()
  cpu0:map(VA, pfn, 1, "PAGE_KERNEL")
  cpu0:write(VA, SECRET)
  assert(reader:read(VA, #SECRET) == SECRET)
  assert(reader:tlb_probe(VA), "the reader's TLB caches the page")
  cpu0:unmap(VA, 1, {flush = flush})
  cpu0:free_pages(pfn)
  local again = cpu0:alloc_pages()
  assert(again == pfn, "the allocator hands out the same frame")
  cpu0:write(m:page_address(again), NEW)
  local seen = reader:read(VA, #NEW)
  vmlab.result(m:label(), {
    {"CPU " .. P.reader .. " reads", seen and "new owner's data" or "fault"},
    {"invlpg", m:counter("invlpg")},
    {"IPIs", m:counter("ipi_sent")},
    -- arm64 (--arch arm64): the flush is a broadcast TLBI, no IPI.
    {"broadcast TLBIs", m:counter("tlbi_is")},
    {"faults", m:counter("page_fault")},
    {"checker reports", m:nr_reports()},
    {"simulated ns", math.floor(m:sim_time_ns())},
  })
end

story(false)
story(true)
