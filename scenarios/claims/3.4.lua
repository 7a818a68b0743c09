-- 3.4: `vmalloc_exec()/vfree_exec()`: > PMD_SIZE·nodes gets its own area, smaller ones a shared pack
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
--
-- Two small programs share the pack; one larger than a pack gets a
-- vmalloc area of its own, and freeing it leaves the pack alone.
local m = vmlab.machine{cpus = 1, memory = "1G", direct_map_1g = false}
assert(m:execmem_setup{allocator = "pack"})
local a = assert(m:execmem_alloc("bpf", 64))
local b = assert(m:execmem_alloc("bpf", 64))
local s1 = m:execmem_stats()
local big = assert(m:execmem_alloc("bpf", 3 * vmlab.PMD_SIZE // 2))
local s2 = m:execmem_stats()
assert(m:execmem_free(big))
local s3 = m:execmem_stats()
vmlab.result{{"packs / areas for two small programs", s1.nr_packs .. " / " .. s1.nr_vmalloc_areas},
  {"... plus one of 3 MiB", s2.nr_packs .. " / " .. s2.nr_vmalloc_areas},
  {"... after freeing it", s3.nr_packs .. " / " .. s3.nr_vmalloc_areas},
  {"the two small ones 64 bytes apart", b - a == 64 and "yes" or "no"}}
assert(s1.nr_packs == 1 and s2.nr_packs == 1 and s2.nr_vmalloc_areas == s1.nr_vmalloc_areas + 1)
assert(s3.nr_vmalloc_areas == s1.nr_vmalloc_areas and b - a == 64)
