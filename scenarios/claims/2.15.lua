-- 2.15: `init_mm.page_table_lock` around populate/depopulate PTE updates
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- Two CPUs each vmalloc one page at the same time; their areas share a
-- shadow page.  kasan_populate_vmalloc_pte() allocates the page with no
-- lock held, then takes init_mm.page_table_lock and installs it only if
-- the PTE is still none: the CPU that lost frees its page.  Without the
-- lock and the second look (the kasan-populate-unlocked mutant) the loser
-- overwrites the winner's PTE: the winner's page leaks and its TLB still
-- translates the shadow to it, which the checker reports when used.
local P = vmlab.params{trials = 16, reads = 16}
local function run(unlocked)
  local races, reports, populated = 0, 0, 0
  for t = 1, P.trials do
    local m = vmlab.machine{cpus = 2, memory = "64M", kasan = true,
      mutants = unlocked and {"kasan-populate-unlocked"} or nil}
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
    races = races + st.populate_raced
    populated = populated + st.shadow_pages_populated
    local r = m:nr_reports("stale-access")
    -- The mutant's reports are what this run is for.
    if unlocked and r > 0 then m:expect("stale-access") end
    reports = reports + r
    m:destroy()
  end
  return {races = races, reports = reports, populated = populated}
end
local locked, unlocked = run(false), run(true)
vmlab.result{
  {"trials (2 CPUs, one shared shadow page each)", P.trials},
  {"under the lock: races lost, page freed", locked.races},
  {"under the lock: stale-access reports", locked.reports},
  {"no lock, no re-check: shadow pages installed", unlocked.populated .. " (of " .. P.trials .. " needed)"},
  {"no lock, no re-check: pages leaked under an overwritten PTE", unlocked.populated - P.trials},
  {"no lock, no re-check: stale-access reports", unlocked.reports},
}
-- The lock resolves every race (one page kept, the other freed) ...
assert(locked.races > 0 and locked.reports == 0 and locked.populated == P.trials)
-- ... without it the second install overwrites the first (its page
-- leaks; when the first CPU had used it, its TLB entry is now stale).
assert(unlocked.populated > P.trials)
