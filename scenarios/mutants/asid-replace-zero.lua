-- asid-replace-zero: after an ASID rollover a CPU must take the slow path (and its pending flush) even when the mm already has a new ASID
--
-- arm64 with 8-bit ASIDs.  CPU 0 runs mm Y (ASID 1) and then mm Z; its
-- TLB keeps Y's entry for page a under ASID 1.  CPU 1 runs new mms until
-- the ASIDs run out: the rollover zeroes every CPU's active ASID, keeps
-- the running ones reserved (Z's 2 and CPU 1's), and marks a local flush
-- pending on each CPU.  The mm X that caused it gets ASID 1 again in the
-- new generation.  When CPU 0 switches to X, its active ASID is 0, so
-- check_and_switch_context must go the slow way and flush first
-- (a8ffaaa060b8); the fast path would keep Y's entry and CPU 0 would read
-- Y's page at X's address.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{arch = "arm64", cpus = 2, asid_bits = 8,
                        memory = "256M"}
local c0, c1 = m:cpu(0), m:cpu(1)
-- An mm created on a CPU runs its system calls there (cpu:user_mm).
local function new_mm(cpu, data)
  local mm = assert(cpu:user_mm())
  local a = assert(mm:mmap{len = PAGE, prot = "rw",
                           flags = {"private", "anonymous"}})
  if data then assert(cpu:user_write(mm, a, data)) end
  return mm, a
end
local y, a = new_mm(c0, "Y")
local z = new_mm(c0, "Z")
local keep = {}
for _ = 3, 255 do keep[#keep + 1] = new_mm(c1, "M") end
local x, ax = new_mm(c1, "X") -- out of ASIDs: the rollover
assert(ax == a, "X maps the same address as Y")
assert(c0:user_read(x, a, 1) == "X",
       "CPU 0 reads X's page, not Y's through a previous-generation entry")
