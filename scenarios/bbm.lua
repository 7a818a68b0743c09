-- bbm: arm64 break-before-make: a live kernel mapping moved to another frame directly, or re-made without the TLBI, vs invalid -> TLBI -> new
--
-- On arm64 a valid translation may not be replaced by one with another
-- output address, size or memory type while a TLB may hold it: the
-- architecture requires break-before-make (write an invalid entry,
-- invalidate it from every TLB with a broadcast TLBI and wait with DSB,
-- then write the new entry), else two translations of one address can
-- meet in a TLB (a TLB conflict abort, or an amalgamated entry).  This is
-- what the KASAN shadow thread worries about when depopulated shadow is
-- cleared without TLB maintenance and later re-populated at the same VA.
--
-- Three machines, CPU 1 caching the page each time:
--   "in place":  map over the live entry with another frame (valid->valid)
--   "no TLBI":   clear the entry without the flush, then map the new frame
--   "BBM":       clear, flush_tlb_kernel_range (TLBI VAALE1IS + DSB), map
-- The checker reports bbm-violation for the first two; in the second CPU
-- 1 then still reads the old frame (stale-access).  The third is clean:
-- one broadcast TLBI, no IPI.

local VA = vmlab.VMALLOC_START
local OLD, NEW = 0x1d, 0xe0

local function story(label, how, expect)
  local m = vmlab.machine{arch = "arm64", cpus = 2, label = label,
                          expect = expect}
  local cpu0, cpu1 = m:cpu(0), m:cpu(1)
  local a, b = cpu0:alloc_pages(), cpu0:alloc_pages()
  cpu0:write(m:page_address(a), string.char(OLD))
  cpu0:write(m:page_address(b), string.char(NEW))
  cpu0:map(VA, a, 1, "PAGE_KERNEL")
  assert(cpu1:read(VA, 1) == string.char(OLD))
  local before = m:counter("tlbi_is")
  if how == "in place" then
    cpu0:map(VA, b, 1, "PAGE_KERNEL", "replace")
  else
    cpu0:unmap(VA, 1, {flush = how == "bbm"})
    cpu0:map(VA, b, 1, "PAGE_KERNEL")
  end
  local seen = cpu1:read(VA, 1)
  vmlab.result(label, {
    {"CPU 1 reads", seen == string.char(NEW) and "new frame" or
                    seen == string.char(OLD) and "old frame" or "fault"},
    {"broadcast TLBIs", m:counter("tlbi_is") - before},
    {"DSBs", m:counter("dsb")},
    {"IPIs", m:counter("ipi_sent")},
    {"bbm-violation reports", m:nr_reports("bbm-violation")},
    {"checker reports", m:nr_reports()},
  })
end

story("in place", "in place", {"bbm-violation", "stale-access"})
story("no TLBI", "no tlbi", {"bbm-violation", "stale-access"})
story("BBM", "bbm", nil)
