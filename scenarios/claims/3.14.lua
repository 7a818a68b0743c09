-- 3.14: Song Q2: several vmap_areas sharing one vm_struct would need a refcount
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- With the vmap_area-tree tracker (execmem variant "pack-tree") every BPF
-- program in a pack is a vmap_area of its own, and all of them share the
-- pack's vm_struct (its pages, its RO+X mapping).  Counted, the vm_struct
-- goes with the last program; with vmalloc's one-to-one rule instead
-- ("pack-noref": no refcount, the vm_struct freed with the vmap_area
-- freed first) unloading one program unmaps the others: their text no
-- longer executes and their own unload is refused as a bad address.
local P = vmlab.params{programs = 8, size = 200}
local function run(label, variants)
  local m = vmlab.machine{cpus = 2, memory = "256M", label = label, quiet = true}
  assert(m:execmem_setup{allocator = "pack", variants = variants})
  local c0, c1 = m:cpu(0), m:cpu(1)
  local progs = {}
  for i = 1, P.programs do progs[i] = assert(c0:execmem_alloc("bpf", P.size)) end
  for i = 1, P.programs do assert(c1:fetch(progs[i], 1)) end
  local sharers = 0
  for i = 1, P.programs do
    if progs[i] // vmlab.PMD_SIZE == progs[1] // vmlab.PMD_SIZE then sharers = sharers + 1 end
  end
  assert(c0:execmem_free(progs[1]) == true)
  local runs, unloads = 0, 0
  for i = 2, P.programs do
    if c1:fetch(progs[i], 1) then runs = runs + 1 end
    if c0:execmem_free(progs[i]) == true then unloads = unloads + 1 end
  end
  local st = m:execmem_stats()
  vmlab.result(label, {{"vmap_areas sharing the vm_struct", sharers},
    {"programs still running after one unload", runs .. "/" .. (P.programs - 1)},
    {"their unloads accepted", unloads .. "/" .. (P.programs - 1)},
    {"packs left", st.nr_packs}})
  return runs, unloads, st.nr_packs
end
local r1, u1, p1 = run("refcount (the last frees it)", "pack-tree")
local r2, u2, p2 = run("no refcount (the first frees it)", "pack-tree,pack-noref")
assert(r1 == P.programs - 1 and u1 == P.programs - 1 and p1 == 0)
assert(r2 == 0 and u2 == 0 and p2 == 0)
