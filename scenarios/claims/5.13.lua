-- 5.13: Performance regression: KVM would zap all its SPTEs on every upgrade instead of waiting for the guest fault
-- seed: mmu-notifier-upgrade
-- arch: x86-64
-- verdict: reproduced
--
-- The same upgrades under each mode, with a KVM that does not filter the
-- event: the posted patch zaps every stage-2 PTE the upgrades touch and
-- the guest pays a stage-2 fault for each on its next access; the
-- reviewer's ptep_set_access_flags_notify sends nothing on x86.
local P = vmlab.params{pages = 32}
local PAGE = vmlab.PAGE_SIZE
local function run(mode)
  local m = vmlab.machine{cpus = 2, memory = "64M", label = mode}
  m:upgrade_notify(mode)
  local mm = assert(m:user_mm())
  local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw", flags = {"private", "anonymous"}})
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v1")) end
  local child = assert(mm:fork())
  local k = assert(m:kvm{mm = mm, slots = {{gfn = 0x100, pages = P.pages, hva = a}}})
  for i = 0, P.pages - 1 do assert(k:access((0x100 + i) * PAGE, "read")) end
  child:close()
  local d0 = k:stats()
  for i = 0, P.pages - 1 do assert(m:user_write(mm, a + i * PAGE, "v2")) end
  for i = 0, P.pages - 1 do assert(k:access((0x100 + i) * PAGE, "read")) end
  local d1 = k:stats()
  vmlab.result(mode, {{"stage-2 PTEs zapped", d1.sptes_zapped - d0.sptes_zapped},
    {"guest stage-2 faults after", d1.s2_faults - d0.s2_faults},
    {"simulated us (KVM)", string.format("%.1f", (d1.sim_ns - d0.sim_ns) / 1000)}})
  return d1.sptes_zapped - d0.sptes_zapped, d1.s2_faults - d0.s2_faults
end
local z_none, f_none = run("none")
local z_end, f_end = run("range_end")
local z_af, f_af = run("access_flags_notify")
assert(z_end == P.pages and f_end >= P.pages, "every upgrade zaps and re-faults")
assert(z_none == 0 and z_af == 0 and f_af == f_none)
