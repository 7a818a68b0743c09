-- itlb-programs: N small JIT programs, one 4 KiB RO+X page each vs packed in one 2 MiB page: iTLB misses while they run
--
-- The execmem / BPF prog-pack argument: every program in its own page
-- takes one iTLB entry, so once there are more programs than the L1
-- iTLB holds, running them in turn misses on every call.  Packed into
-- one 2 MiB page they share a single entry.  The report sweeps programs
-- and plots the misses of 8 rounds over all programs.

local P = vmlab.params{programs = 16, rounds = 8}
local PAGE = vmlab.PAGE_SIZE
local HUGE = 2 * vmlab.MiB

local function run(label, addr_of)
  local m = vmlab.machine{cpus = 2, memory = "256M", label = label}
  local cpu = m:cpu(1)
  local at = addr_of(m)
  local c0 = m:counters()
  for _ = 1, P.rounds do
    for i = 0, P.programs - 1 do assert(cpu:fetch(at(i), 16)) end
  end
  local c1 = m:counters()
  vmlab.result(label, {
    {"iTLB misses", c1.itlb_miss - c0.itlb_miss},
    {"page walks", c1.walk - c0.walk},
  })
end

run("one page each", function(m)
  local addrs = {}
  for i = 0, P.programs - 1 do
    local a = assert(m:vmalloc_node_range{
      size = PAGE, start = vmlab.MODULES_VADDR, ["end"] = vmlab.MODULES_END,
      caller = "bpf_jit_binary_alloc"})
    m:write(a, string.rep("\xcc", 64)) -- the JIT writes the program
    m:set_memory_ro(a, 1)
    m:set_memory_x(a, 1)
    addrs[i] = a
  end
  return function(i) return addrs[i] end
end)

run("2 MiB pack", function(m)
  local base = assert(m:vmalloc_node_range{
    size = HUGE, align = HUGE, start = vmlab.MODULES_VADDR,
    ["end"] = vmlab.MODULES_END, flags = "VM_ALLOW_HUGE_VMAP",
    caller = "bpf_prog_pack_alloc"})
  m:write(base, string.rep("\xcc", 64))
  m:set_memory_ro(base, 512)
  m:set_memory_x(base, 512)
  -- programs 64 bytes apart, as the prog pack's chunks
  return function(i) return base + (i * 64) % HUGE end
end)
