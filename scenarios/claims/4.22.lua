-- 4.22: Walk lock modes (PGWALK_RDLOCK / WRLOCK / WRLOCK_VERIFY)
-- seed: guard-pages-pagewalk
-- arch: x86-64
-- verdict: reproduced
--
-- walk_page_range() states what its caller holds (mm/pagewalk.c
-- process_mm_walk_lock / process_vma_walk_lock): RDLOCK needs mmap_lock
-- (the guard-install walk takes it for reading), WRLOCK needs it for
-- writing and write-locks every VMA the walk meets (so no fault can use
-- the per-VMA lock meanwhile), WRLOCK_VERIFY requires that done already.
-- A requirement not met is the kernel's assertion: a warning here.
local m = vmlab.machine{cpus = 2}
local mm = assert(m:user_mm())
local P = 4096
local a = assert(mm:mmap{len = 8 * P, prot = "rw", flags = {"private", "anonymous"}})
local range = {mm = mm, start = a, ["end"] = a + 8 * P, pte_entry = true}
local function walk(extra)
  local w0 = m:warnings()
  local opts = {}
  for k, v in pairs(range) do opts[k] = v end
  for k, v in pairs(extra) do opts[k] = v end
  local r = m:walk_page_range(opts)
  assert(r.result == 0, "the walk runs")
  return m:warnings() - w0
end
local cases = {
  {"RDLOCK under mmap_read_lock", {walk_lock = "rdlock", lock = "read"}, 0},
  {"RDLOCK with no lock", {walk_lock = "rdlock", lock = "none"}, 1},
  {"WRLOCK under mmap_read_lock", {walk_lock = "wrlock", lock = "read"}, 1},
  {"WRLOCK under mmap_write_lock", {walk_lock = "wrlock", lock = "write"}, 0},
  {"WRLOCK_VERIFY, VMAs not write-locked", {walk_lock = "wrlock_verify", lock = "write"}, 1},
  {"WRLOCK then WRLOCK_VERIFY, one write hold", {walk_lock = {"wrlock", "wrlock_verify"}, lock = "write"}, 0},
  {"RDLOCK then WRLOCK_VERIFY, one write hold", {walk_lock = {"rdlock", "wrlock_verify"}, lock = "write"}, 1},
}
local rows = {}
for _, c in ipairs(cases) do
  local w = walk(c[2])
  rows[#rows + 1] = {c[1] .. ": warnings", w}
  assert(w == c[3], c[1])
end
-- The guard-install walk is an RDLOCK walk under the read lock: silent.
local w0 = m:warnings()
assert(mm:madvise(a, 2 * P, "guard_install"))
rows[#rows + 1] = {"MADV_GUARD_INSTALL (RDLOCK walk): warnings", m:warnings() - w0}
assert(m:warnings() == w0)
vmlab.result(rows)
