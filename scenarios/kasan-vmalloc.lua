-- kasan-vmalloc: KASAN shadow for vmalloc: populated per area and shared, released by the purge (seed-v6 / fixed / no-extend), VMAP_STACK, module alignment
--
-- seeds/kasan-vmalloc-shadow.txt: vmalloc and vmap get real shadow
-- memory (one byte per 8), allocated when an area is allocated and
-- shared between the areas a shadow page covers ("allocating a full
-- shadow page per mapping would be wasteful"), released lazily by the
-- vmap purge with the seed's region arithmetic, and -- the review -- it
-- needs TLB maintenance before the freed shadow pages can be reused.
--
-- Part 1, per kasan_release variant: N areas of 1..4 pages made on CPU 0
-- and read by CPU 1 (KASAN loads their shadow through CPU 1's TLB); the
-- odd ones are freed (each purged at once), then the rest.  "seed-v6" frees shadow
-- pages that CPU 1's TLB still reaches (freed-frame-reachable, the bug
-- the review points at); "fixed" flushes the shadow range first;
-- "no-extend" never frees a partly covered shadow page, so it leaks.
-- Part 2: VMAP_STACK (the use case the seed unblocks): kernel thread
-- stacks from vmalloc, each with shadow, an overflow below a stack is a
-- KASAN report before the fault.  Part 3: the module alignment the seed
-- lets go back to PAGE_SIZE (it had to be PAGE_SIZE << 3 = 32 KiB so
-- that no two modules shared a shadow page).

local P = vmlab.params{areas = 64, stacks = 32, modules = 32}

local function kib(pages) return pages * 4 end

-- Part 1 -------------------------------------------------------------
local variants = {
  {release = "fixed"},
  {release = "seed-v6", expect = {"freed-frame-reachable"}},
  {release = "no-extend"},
}

for _, v in ipairs(variants) do
  local m = vmlab.machine{cpus = 2, memory = "256M", kasan = v.release,
                          label = v.release, expect = v.expect}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local areas, bytes = {}, 0
  for i = 1, P.areas do
    local size = 4096 * (1 + (i * 7) % 4) - (i * 13) % 64
    areas[i] = c0:vmalloc(size)
    assert(areas[i], "vmalloc")
    bytes = bytes + size
    assert(c1:read(areas[i], 8), "CPU 1 reads the area")
  end
  local live = m:kasan_stats()
  -- Each free is purged at once, so the purge's own flush of the freed
  -- vmalloc range stays below the single-page ceiling and does not wipe
  -- the shadow's TLB entries by accident (a larger purge flushes all).
  for i = 1, P.areas, 2 do
    c0:vfree(areas[i])
    c0:purge_vmap_area_lazy()
  end
  local half = m:kasan_stats()
  for i = 2, P.areas, 2 do
    assert(c1:read(areas[i], 8), "the live half keeps its shadow")
  end
  for i = 2, P.areas, 2 do
    c0:vfree(areas[i])
    c0:purge_vmap_area_lazy()
  end
  local done = m:kasan_stats()
  assert(m:nr_reports("kasan") == 0, "no access was out of bounds")
  vmlab.result(m:label(), {
    {"vmalloc areas", P.areas},
    {"shadow pages mapped (all live)", live.shadow_pages_mapped},
    {"shadow bytes per vmalloc byte",
     string.format("%.4f", live.shadow_pages_mapped * 4096 / bytes)},
    {"shadow pages shared by > 1 area", live.shadow_pages_shared},
    {"one shadow page per area would take", live.shadow_pages_one_per_area},
    {"KiB the sharing saves",
     kib(live.shadow_pages_one_per_area - live.shadow_pages_mapped)},
    {"shadow pages freed (half freed)", half.shadow_pages_freed},
    {"shadow pages freed (all freed)", done.shadow_pages_freed},
    {"freed without a TLB flush", done.freed_without_flush},
    {"shadow pages left mapped", done.shadow_pages_mapped},
    {"shadow range flushes", done.release_flushes},
    {"freed-frame-reachable reports", m:nr_reports("freed-frame-reachable")},
    {"shadow checks off the fast path", done.checks},
  })
end

-- Part 2: VMAP_STACK --------------------------------------------------
-- x86-64 with KASAN: THREAD_SIZE = PAGE_SIZE << (2 + KASAN_STACK_ORDER)
-- = 32 KiB, aligned to THREAD_SIZE (alloc_thread_stack_node()).
do
  local THREAD_SIZE = 32768
  local m = vmlab.machine{cpus = 2, memory = "256M", kasan = true,
                          label = "VMAP_STACK", expect = {"kasan"}}
  local c0 = m:cpu(0)
  local stacks = {}
  for i = 1, P.stacks do
    stacks[i] = c0:vmalloc_node_range{size = THREAD_SIZE, align = THREAD_SIZE,
                                      caller = "alloc_thread_stack_node"}
    assert(stacks[i], "a stack")
    c0:write(stacks[i] + THREAD_SIZE - 8, "\0\0\0\0\0\0\0\0") -- the top
    c0:write(stacks[i], "\0") -- the deepest byte still in bounds
  end
  local st = m:kasan_stats()
  assert(m:nr_reports("kasan") == 0, "in-bounds stack use is clean")
  -- One byte past the bottom: the guard page of the area below.
  local ok = c0:write(stacks[P.stacks] - 1, "\0")
  local kasan = m:nr_reports("kasan")
  vmlab.result(m:label(), {
    {"thread stacks", P.stacks},
    {"stack size (KiB)", THREAD_SIZE // 1024},
    {"shadow pages mapped", st.shadow_pages_mapped},
    {"shadow KiB per stack",
     string.format("%.1f", kib(st.shadow_pages_mapped) / P.stacks)},
    {"overflow below a stack: kasan reports", kasan},
    {"overflow below a stack: then", ok and "written" or "page fault"},
  })
end

-- Part 3: module alignment --------------------------------------------
for _, align in ipairs({32768, 4096}) do
  local m = vmlab.machine{cpus = 1, memory = "256M", kasan = true,
                          label = align == 4096 and "modules, PAGE_SIZE"
                            or "modules, 32 KiB"}
  local c0 = m:cpu(0)
  local top = 0
  for i = 1, P.modules do
    local size = 4096 * (1 + (i * 5) % 6)
    local a = c0:vmalloc_node_range{size = size, align = align,
                                    start = vmlab.MODULES_VADDR,
                                    ["end"] = vmlab.MODULES_END,
                                    caller = "module_alloc"}
    assert(a, "module_alloc")
    c0:write(a, "\x90")
    local e = a + size + 4096 - vmlab.MODULES_VADDR
    if e > top then top = e end
  end
  local st = m:kasan_stats()
  vmlab.result(m:label(), {
    {"modules", P.modules},
    {"module space used (KiB)", top // 1024},
    {"shadow pages mapped", st.shadow_pages_mapped},
  })
end
