-- 2.6: This allows KASAN + VMAP_STACK and relaxing module alignment to PAGE_SIZE
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- Thread stacks from vmalloc (32 KiB with KASAN on x86-64) get real shadow:
-- in-bounds use is clean and an overflow below a stack is a KASAN report.
-- Modules aligned to PAGE_SIZE share shadow pages without false reports,
-- and take less module space than the 32 KiB alignment needed before.
local P = vmlab.params{stacks = 16, modules = 16}
local THREAD_SIZE = 32768
local m = vmlab.machine{cpus = 1, memory = "256M", kasan = true, label = "VMAP_STACK", expect = {"kasan"}}
local stacks = {}
for i = 1, P.stacks do
  stacks[i] = assert(m:vmalloc_node_range{size = THREAD_SIZE, align = THREAD_SIZE,
    caller = "alloc_thread_stack_node"})
  m:write(stacks[i] + THREAD_SIZE - 8, "\0\0\0\0\0\0\0\0")
  m:write(stacks[i], "\0")
end
local clean = m:nr_reports("kasan")
m:write(stacks[P.stacks] - 1, "\0")
local overflow = m:nr_reports("kasan") - clean
vmlab.result("VMAP_STACK", {{"stacks", P.stacks}, {"in-bounds kasan reports", clean},
  {"overflow below a stack: kasan reports", overflow}})
local used = {}
for _, align in ipairs{32768, 4096} do
  local mm = vmlab.machine{cpus = 1, memory = "256M", kasan = true, label = "modules " .. align}
  local top = 0
  for i = 1, P.modules do
    local size = 4096 * (1 + (i * 5) % 6)
    local a = assert(mm:vmalloc_node_range{size = size, align = align, start = vmlab.MODULES_VADDR,
      ["end"] = vmlab.MODULES_END, caller = "module_alloc"})
    mm:write(a, "\x90"); mm:write(a + size - 1, "\x90")
    top = math.max(top, a + size + 4096 - vmlab.MODULES_VADDR)
  end
  used[align] = top
  vmlab.result(align == 4096 and "modules, PAGE_SIZE" or "modules, 32 KiB",
    {{"module space used (KiB)", top // 1024}, {"shadow pages shared", mm:kasan_stats().shadow_pages_shared},
     {"kasan reports", mm:nr_reports("kasan")}})
end
assert(clean == 0 and overflow == 1)
assert(used[4096] < used[32768])
