-- guard-stacks: N thread stacks with a guard page, PROT_NONE VMAs vs MADV_GUARD_INSTALL markers: VMAs, page tables, time
--
-- The guard-region seed (Linux 6.13): a guard page made the old way is a
-- PROT_NONE mapping, one more VMA per stack (and the mprotect splits the
-- stack's VMA, so two); made with MADV_GUARD_INSTALL it is a PTE marker
-- installed by a page walk, and the stacks' VMAs all merge.
--
-- This file is plain Lua on the user-mm binding: a template for a
-- scenario of your own.  Each stack: mmap(S+1 pages, RW, private
-- anonymous), then mprotect(lowest page, PROT_NONE) or
-- madvise(lowest page, MADV_GUARD_INSTALL); afterwards every guard page
-- must give SIGSEGV and every stack be usable.
--
-- The counts match Linux 6.18 measuring the same program (+39,999 VMAs
-- and +0 for 20,000 stacks), because the process is modelled as the real
-- one is: it already has an anonymous read-write mapping (its own data,
-- touched) exactly where mmap places the first stack, top-down.  The
-- first stack merges into it: with markers all 20,000 do (+0); with
-- PROT_NONE only the first stack's guard is new (+1), and each later
-- stack sits below the previous PROT_NONE page, merges with nothing and
-- is split in two (+2): 1 + 2 x 19,999.

local P = vmlab.params{stacks = 20000, pages = 16}
assert(P.stacks >= 1 and P.pages >= 1, "stacks >= 1, pages >= 1")
local PAGE = vmlab.PAGE_SIZE
local len = (P.pages + 1) * PAGE
local anon = {"private", "anonymous"}

for _, markers in ipairs({false, true}) do
  local m = vmlab.machine{cpus = 4, memory = "1G",
                          label = markers and "guard markers" or "PROT_NONE"}
  local mm = assert(m:user_mm())
  -- the program's own data, where the first stack will go
  local data = assert(mm:mmap{len = 4 * PAGE, prot = "rw", flags = anon})
  assert(m:user_write(mm, data, "result buffer"))

  local st0, c0 = mm:stats(), m:counters()
  local vmas0 = mm:vma_count()
  local base = {}
  for i = 1, P.stacks do
    local a = assert(mm:mmap{len = len, prot = "rw", flags = anon})
    if markers then
      assert(mm:madvise(a, PAGE, "guard_install"))
    else
      assert(mm:mprotect(a, PAGE, "none"))
    end
    base[i] = a
  end
  local st1, c1 = mm:stats(), m:counters()
  local vmas = mm:vma_count() - vmas0

  local sigsegv, usable = 0, 0
  for i = 1, P.stacks do
    local _, sig = m:user_read(mm, base[i], 1)
    if sig == "SIGSEGV" then sigsegv = sigsegv + 1 end
    if m:user_write(mm, base[i] + len - 8, "stack") then usable = usable + 1 end
  end
  assert(sigsegv == P.stacks, "every guard page faults")
  assert(usable == P.stacks, "every stack is usable")

  local function d(k) return c1[k] - c0[k] end
  vmlab.result(m:label(), {
    {"VMAs added", vmas},
    {"VMAs per stack", vmas / P.stacks},
    {"page-table pages", st1.pgtable_pages - st0.pgtable_pages},
    {"syscalls", st1.syscalls - st0.syscalls},
    {"TLB flushes", d("flush_mm_range") + d("flush_mm_range_full")},
    {"PTE writes", d("pte_write")},
    {"simulated ns per stack", (st1.sim_ns - st0.sim_ns) / P.stacks},
  })
end
