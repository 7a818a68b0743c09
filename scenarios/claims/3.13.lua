-- 3.13: Song Q1: vmap_area tree is PAGE_SIZE-granular; sub-page (64 B or 1 B) granularity?
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- The vmap_area tree is an interval allocator: over a pack's chunk units
-- it is as fine-grained as the unit, 64 bytes (BPF_PROG_CHUNK_SIZE) or
-- 1 byte (execmem variant "pack-1b").  The same BPF churn runs with the
-- bitmap and the tree at both granularities.  The bitmap's memory grows
-- with the granularity (one bit per unit: 4 KiB per 2 MiB pack at 64
-- bytes, 256 KiB at 1 byte); the tree's grows with the number of
-- programs and holes, whatever the unit; 1-byte units waste no rounding.
local P = vmlab.params{programs = 3000, rounds = 2, max_size = 1500}
local sizes, frees = {}, {}
for i = 1, P.programs * (P.rounds + 1) do sizes[i] = math.random(P.max_size) end
for i = 1, P.programs * P.rounds do frees[i] = math.random(2) == 1 end
local function run(label, variants)
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
  local r = {addrs = addrs, packs = st.nr_packs, track = st.pack_track_bytes,
    nodes = st.pack_track_nodes, wasted = st.pack_used_bytes - st.live_bytes}
  vmlab.result(label, {{"packs", r.packs}, {"tracking bytes", r.track},
    {"tracking bytes per pack", r.track // r.packs}, {"vmap_areas", r.nodes},
    {"chunk rounding (bytes taken - asked)", r.wasted}})
  return r
end
local function same(a, b)
  if #a.addrs ~= #b.addrs then return false end
  for i = 1, #a.addrs do if a.addrs[i] ~= b.addrs[i] then return false end end
  return true
end
local b64 = run("bitmap, 64 B", nil)
local t64 = run("tree, 64 B", "pack-tree")
local b1 = run("bitmap, 1 B", "pack-1b")
local t1 = run("tree, 1 B", "pack-tree,pack-1b")
assert(same(b64, t64) and same(b1, t1), "tree and bitmap choose the same chunks")
assert(b1.track // b1.packs == 64 * (b64.track // b64.packs), "the bitmap grows with the granularity")
assert(t1.track < b1.track, "at 1 byte the tree takes less than the bitmap")
assert(t1.nodes < 2 * t64.nodes, "the tree's size does not follow the unit")
assert(b1.wasted == 0 and t1.wasted == 0 and t64.wasted == b64.wasted and b64.wasted > 0)
