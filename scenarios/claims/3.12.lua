-- 3.12: Song: sub-2 MiB tracking still needs a bitmap; PeterZ: the vmap_area tree can do it
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- The prog pack tracked two ways: the 64-byte chunk bitmap of
-- bpf_prog_pack (Song) and a vmap_area tree over the pack's chunks, one
-- busy vmap_area per program, the free space in the augmented free tree
-- (PeterZ, execmem variant "pack-tree").  The same churn of BPF programs
-- of random sizes runs on both: every program lands at the same address
-- in the same packs, so the tree can do the bitmap's job; the figures are
-- what each costs to track (the bitmap's 4 KiB per pack against 72 bytes
-- per vmap_area, busy and free).
local P = vmlab.params{programs = 4000, rounds = 2, max_size = 1500}
-- One churn, drawn once from the run's seed, replayed on both.
local sizes, frees = {}, {}
for i = 1, P.programs * (P.rounds + 1) do sizes[i] = math.random(P.max_size) end
for i = 1, P.programs * P.rounds do frees[i] = math.random(2) == 1 end
local function run(variants)
  local label = variants and "vmap_area tree" or "chunk bitmap"
  local m = vmlab.machine{cpus = 2, memory = "1G", label = label}
  assert(m:execmem_setup{allocator = "pack", variants = variants})
  local c = m:cpu(0)
  local live, addrs, k, f = {}, {}, 0, 0
  local function load()
    k = k + 1
    local a = assert(c:execmem_alloc("bpf", sizes[k]))
    addrs[#addrs + 1] = a
    return a
  end
  for i = 1, P.programs do live[i] = load() end
  for _ = 1, P.rounds do
    for i = 1, P.programs do
      f = f + 1
      if frees[f] then
        assert(c:execmem_free(live[i]) == true)
        live[i] = load()
      end
    end
  end
  local st = m:execmem_stats()
  vmlab.result(label, {{"programs loaded", #addrs}, {"packs", st.nr_packs},
    {"tracking bytes", st.pack_track_bytes}, {"vmap_areas", st.pack_track_nodes}})
  return addrs, st
end
local a_bm, s_bm = run(nil)
local a_tr, s_tr = run("pack-tree")
local same = #a_bm == #a_tr
for i = 1, #a_bm do same = same and a_bm[i] == a_tr[i] end
vmlab.result{{"every program at the same address", same and "yes" or "no"}}
assert(same, "the tree must choose the bitmap's chunks")
assert(s_bm.nr_packs == s_tr.nr_packs)
assert(s_bm.pack_track_bytes == s_bm.nr_packs * 4096, "bitmap: 32768 chunks per pack")
assert(s_tr.pack_track_nodes >= P.programs, "one vmap_area per live program at least")
