-- race: CPU 1 caches a translation while CPU 0 unmaps and frees the page without a flush; only some interleavings expose it
-- explore: 300
--
-- A planted race for `vmlab explore`.  CPU 0 does a little work, then
-- tears a mapping down the buggy way -- unmap, and free the frame with no
-- TLB flush -- and a new owner takes the frame.  CPU 1 does more work,
-- then reads the mapping twice.
--
-- If CPU 1's first read comes before the unmap, its TLB caches the
-- translation: the free finds the frame still reachable and the second
-- read returns the new owner's data (freed-frame-reachable, stale-access).
-- If it comes after, the read faults and nothing is wrong.  CPU 1 must
-- win work1 + 1 steps before CPU 0 takes work0 + 1: under uniform random
-- scheduling with the defaults that is about one seed in a hundred; PCT
-- (one program at high priority, a few priority drops) needs a handful.
--
-- With -D flush=true the use-after-free is gone, but a reader racing the
-- unmap can still hit the shootdown window -- the entry is cleared, the
-- IPI to CPU 1 has not landed -- and read through the stale entry: only
-- the scheduling points inside the flush (before each IPI) expose it.

local P = vmlab.params{work0 = 1, work1 = 8, flush = false}
local VA = vmlab.VMALLOC_START

local m = vmlab.machine{cpus = 2, memory = "64M"}
local pfn = m:alloc_pages()
m:map(VA, pfn, 1)
m:write64(vmlab.page_address(pfn), 0x600d) -- via the direct map: no CPU caches VA yet
local scratch = vmlab.page_address(m:alloc_pages())
local reads = {}

m:run{
  [0] = function(c)
    for _ = 1, P.work0 do c:read64(scratch) end
    c:unmap(VA, 1, {flush = P.flush})
    c:free_pages(pfn)                       -- the frame is free again...
    local new = c:alloc_pages()             -- ...and someone else's
    c:write64(vmlab.page_address(new), 0xbad)
  end,
  [1] = function(c)
    for _ = 1, P.work1 do c:read64(scratch + 8) end
    for i = 1, 2 do
      local v = c:read64(VA)
      reads[i] = v and string.format("%#x", v) or "fault"
    end
  end,
}

vmlab.result{
  ["first read"] = reads[1],
  ["second read"] = reads[2],
  ["checker reports"] = m:nr_reports(),
}
