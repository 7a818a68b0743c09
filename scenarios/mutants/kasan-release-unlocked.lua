-- kasan-release-unlocked: kasan_release_vmalloc must run under free_vmap_area_lock, or a concurrent vmalloc keeps a shadow page the release then frees
--
-- mm/kasan/shadow.c ("Concurrency"): kasan_populate_vmalloc() runs with no
-- vmalloc lock held, kasan_release_vmalloc() under free_vmap_area_lock,
-- which keeps the free region it was given free while it runs -- so a
-- release that frees only the shadow pages its free region covers whole
-- never frees one a concurrent allocation uses.  With the mutant the
-- purge drops the lock first: CPU 1's vmalloc takes space in the old
-- free region, finds the shadow page still mapped and keeps it, and the
-- late release frees it under the new area.  CPU 1 allocates once CPU 0
-- has freed its area; the bug needs that vmalloc to land inside CPU 0's
-- purge, between the areas going back and the shadow release.
local P = vmlab.params{rounds = 3}
local m = vmlab.machine{cpus = 2, memory = "64M", kasan = true}
local freed = 0

m:run{
  [0] = function(c)
    for r = 1, P.rounds do
      local a = c:vmalloc(4096)
      assert(a, "vmalloc")
      c:write(a, "cpu0")
      c:vfree(a)
      freed = r
      c:vm_unmap_aliases()
    end
  end,
  [1] = function(c)
    for r = 1, P.rounds do
      while freed < r do c:yield() end
      local b = c:vmalloc(4096)
      assert(b, "vmalloc")
      c:write(b, "cpu1")
      assert(c:read(b, 4) == "cpu1", "the area reads back")
      c:vfree(b)
      c:vm_unmap_aliases()
    end
  end,
}
