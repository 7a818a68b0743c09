-- 2.11: Runs lazily, long after the free, under `vmap_area_lock` (must not call back into vmalloc)
-- seed: kasan-vmalloc-shadow
-- arch: x86-64
-- verdict: reproduced
-- why: partly: the release runs only in the purge, long after the frees; that it holds vmap_area_lock is not shown by a figure
--
-- Areas are freed one by one; their shadow stays mapped while they sit on
-- the lazy list, and is released when the lazy threshold starts the purge
-- worker.
local m = vmlab.machine{cpus = 2, memory = "256M", kasan = true}
local max = m:vmalloc_stats().lazy_max_pages
local freed, first_release = 0, nil
while freed < max // 4 + 1 do
  local a = assert(m:vmalloc(4 * 4096))
  m:vfree(a)
  freed = freed + 1
  if m:pending_work() > 0 then m:run_work() end
  if not first_release and m:kasan_stats().releases > 0 then first_release = freed end
end
vmlab.result{{"lazy_max_pages", max}, {"areas freed", freed},
  {"frees before the first shadow release", first_release or "none"}}
assert(first_release and first_release > 1000, "the release waits for the purge")
