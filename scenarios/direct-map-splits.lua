-- direct-map-splits: set_memory_ro on scattered pages splits the direct map; DirectMap4k/2M/1G and split counts
--
-- The direct map covers RAM with the largest pages it can (1 GiB here).
-- Changing the permission of one 4 KiB page splits its 1 GiB page into
-- 2 MiB pages, and that 2 MiB page into 4 KiB ones: every later TLB miss
-- there walks one level deeper, and a 2 MiB TLB entry becomes 512.
-- Pages packed together split one 2 MiB page; the same number of pages
-- scattered 2 MiB apart split one each.  That is the cost the execmem
-- seed's ROX cache avoids by packing small allocations in shared 2 MiB
-- pages.  The last column does the scattered case from four CPUs at once:
-- CPA serialises on cpa_lock and every call still flushes every TLB.
--
-- On arm64 (--arch arm64) the answer differs: with rodata_full (the
-- default) the linear map is page-mapped from boot, so nothing ever
-- splits, and set_memory_ro() on a linear-map address is refused
-- (-EINVAL: arch/arm64/mm/pageattr.c changes vmalloc areas only, as
-- splitting a live block would need break-before-make).

local P = vmlab.params{pages = 16}
local FIRST = 0x10000 -- pfn 256 MiB into RAM

local refused = {}

local function set_ro(m, c, va)
  local ok = pcall(c.set_memory_ro, c, va)
  if not ok then refused[m] = (refused[m] or 0) + 1 end
  return ok
end

local function figures(m, label)
  local st = m:directmap_stats()
  vmlab.result(label, {
    {"DirectMap4k (KiB)", st.DirectMap4k // vmlab.KiB},
    {"DirectMap2M (MiB)", st.DirectMap2M // vmlab.MiB},
    {"DirectMap1G (GiB)", st.DirectMap1G // vmlab.GiB},
    {"level2 splits (2M->4K)", st.level2_splits},
    {"level3 splits (1G->2M)", st.level3_splits},
    {"set_memory flushes", m:counter("cpa_flush")},
    {"IPIs", m:counter("ipi_sent")},
    {"broadcast TLBIs", m:counter("tlbi_is")},
    {"set_memory_ro refused", refused[m] or 0},
    {"checker reports", m:nr_reports()},
  })
end

local function page(i, stride)
  return vmlab.page_address(FIRST + i * stride)
end

local m = vmlab.machine{memory = "2G", label = "boot"}
figures(m, "boot")

for _, v in ipairs{{"packed", 1}, {"scattered", 512}} do
  local label, stride = v[1], v[2]
  m = vmlab.machine{memory = "2G", label = label}
  local done = true
  for i = 0, P.pages - 1 do done = set_ro(m, m, page(i, stride)) and done end
  assert(not done or not m:cpu(1):write64(page(0, stride), 1), "read-only now")
  figures(m, label)
end

m = vmlab.machine{memory = "2G", label = "scattered, 4 CPUs"}
local progs = {}
for cpu = 0, m:nr_cpus() - 1 do
  progs[cpu] = function(c)
    for i = cpu, P.pages - 1, m:nr_cpus() do
      set_ro(m, c, page(i, 512))
      c:read64(page(i, 512)) -- caches the new read-only translation
    end
  end
end
m:run(progs)
figures(m, "scattered, 4 CPUs")
