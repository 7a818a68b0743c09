-- 3.15: Song: map kernel text with huge pages up to `round_up(_etext, 2M)` and use the tail as the first text pool
-- seed: vmalloc-exec-rox
-- arch: x86-64
-- verdict: reproduced
-- Mainline frees the padding between _etext and the 2 MiB-aligned start
-- of rodata, which splits the last text page into 4 KiB pages; Song keeps
-- that page whole and loads the first modules' text into its tail.
local P = vmlab.params{text_kib = 16 * 1024 + 700, modules = 8, module_kib = 64}
local function run(tail_pool)
  local m = vmlab.machine{cpus = 2, memory = "1G"}
  assert(m:kernel_text_map{text = P.text_kib * 1024, tail_pool = tail_pool})
  local free0 = m:nr_free_pages()
  local f = assert(m:cpu(0):execmem_workload{programs = P.modules,
    size = P.module_kib * 1024, rounds = 4, fetch_bytes = 4096,
    unload = false, type = "module-text"})
  local k = m:kernel_text_stats()
  return {k = k, f = f, pages = free0 - m:nr_free_pages(),
          cover = f.itlb_4k + f.itlb_2m, st = m:execmem_stats()}
end
local main, song = run(false), run(true)
local function both(key) return main[key] .. " / " .. song[key] end
local function k(key) return main.k[key] .. " / " .. song.k[key] end
vmlab.result{
  {"mainline / Song: kernel text 2 MiB translations", k("leaves_2m")},
  {"kernel text: 4 KiB translations", k("leaves_4k")},
  {"padding after _etext freed (pages)", k("gap_freed_pages")},
  {"module texts served from the tail", k("pool_allocs")},
  {"vmalloc areas for module text", main.st.nr_vmalloc_areas .. " / " .. song.st.nr_vmalloc_areas},
  {"pages allocated to load the modules", both("pages")},
  {"translations for kernel + module text", both("cover")},
  {"iTLB misses fetching the modules", main.f.itlb_miss .. " / " .. song.f.itlb_miss},
}
-- Mainline: the last 2 MiB of text is split and the padding freed.
assert(main.k.leaves_4k > 0 and main.k.gap_freed_pages > 0 and main.k.pool_allocs == 0)
-- Song: text all 2 MiB, the first modules in the tail, fewer translations.
assert(song.k.leaves_4k == 0 and song.k.leaves_2m == main.k.leaves_2m + 1)
assert(song.k.pool_allocs > 0 and song.st.nr_vmalloc_areas < main.st.nr_vmalloc_areas)
assert(song.cover < main.cover)
