-- 2.12: Races between alloc and free of areas sharing a shadow page (the reason for the alignment)
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
--
-- CPU 1 allocates an area whose shadow page it shares with an area CPU 0
-- frees and purges.  With the alignment rule the shared page stays and
-- CPU 1's accesses are checked against it; releasing every page the
-- freed area touched (the mutant without the rule) unmaps shadow that a
-- live area still uses, and CPU 1's next access finds it gone.
local function run(mutant)
  local m = vmlab.machine{cpus = 2, memory = "64M", kasan = "fixed",
    mutants = mutant and {"kasan-release-no-align"} or nil,
    label = mutant and "no alignment rule" or "alignment rule",
    expect = mutant and {"kasan"} or nil}
  local c0, c1 = m:cpu(0), m:cpu(1)
  local a = assert(c0:vmalloc(4096))
  local b = assert(c1:vmalloc(4096))
  assert(m:mem_to_shadow(a) // 4096 == m:mem_to_shadow(b) // 4096, "one shadow page")
  c0:vfree(a)
  c0:purge_vmap_area_lazy()
  c1:write(b, "x")
  local shadow = m:kasan_shadow(b)
  vmlab.result(m:label(), {{"shadow of the live area after the purge", shadow == nil and "unmapped" or shadow},
    {"kasan reports", m:nr_reports("kasan")}})
  return shadow
end
assert(run(false) == 0)
assert(run(true) == nil)
