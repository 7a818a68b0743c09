-- kasan-populate-unlocked: kasan_populate_vmalloc_pte must install the shadow page under init_mm.page_table_lock after re-checking pte_none, or two CPUs sharing a shadow page both install one
--
-- mm/kasan/shadow.c: the shadow page is allocated with no lock held
-- (GFP_KERNEL may sleep), then init_mm.page_table_lock is taken and the
-- PTE set only if it is still none; the loser frees its page.  One shadow
-- page covers 32 KiB of vmalloc space, so neighbouring one-page areas of
-- two CPUs share it.  With the mutant the first look decides and the PTE
-- is overwritten: the first CPU's page leaks, its TLB keeps translating
-- the shadow to it (no flush: set_pte_at over a present PTE), and the
-- poison and unpoisoning written since land in a page nobody maps.
local P = vmlab.params{trials = 8, reads = 4}
local raced, populated = 0, 0
for t = 1, P.trials do
  local m = vmlab.machine{cpus = 2, memory = "64M", kasan = true}
  local function worker(tag)
    return function(c)
      local a = assert(c:vmalloc(4096), "vmalloc")
      c:write(a, tag)
      for i = 1, P.reads do
        assert(c:read(a, #tag) == tag, "the area reads back")
        c:yield()
      end
    end
  end
  m:run{[0] = worker("cpu0"), [1] = worker("cpu1")}
  local st = m:kasan_stats()
  raced = raced + st.populate_raced
  populated = populated + st.shadow_pages_populated
  m:destroy()
end
vmlab.result{{"shadow pages populated", populated},
  {"populate races lost (page freed)", raced}}
