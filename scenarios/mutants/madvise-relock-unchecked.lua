-- madvise-relock-unchecked: process_madvise's restart must give up when mmap_lock cannot be taken again
--
-- MADV_GUARD_INSTALL zaps the pages it finds and walks again; a thread
-- that faults the last page back in each time makes it give up after
-- three tries (-ERESTARTNOINTR).  process_madvise() cannot restart the
-- whole vector, so vector_madvise() drops mmap_lock and takes it again.
-- If SIGKILL lands in between, mmap_write_lock_killable() fails: the fixed
-- code returns -EINTR; the mutant carries on without the lock and its
-- final unlock releases a lock it does not hold (a kernel warning).
-- Linux 6.18 installs guards under the read lock, which cannot fail, so
-- the scenario takes the write lock the first VM_MAYBE_GUARD series took
-- (m:set_guard_lock); only runs where the kill falls in that window tell
-- the two apart.  It needs the faulting thread to run at three given
-- points of the other, deeper than PCT's depth 3 reaches:
-- policy: random
local N = 4
local m = vmlab.machine{cpus = 2}
assert(m:set_guard_lock("write"))
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = N * 4096, prot = "rw", flags = {"private", "anonymous"}})
local last = a + (N - 1) * 4096
assert(m:cpu(1):user_write(mm, last, "x"))
local res, err

m:run{
  [0] = function()
    res, err = mm:process_madvise({{a, N * 4096}}, "guard_install")
  end,
  [1] = function(c)
    while mm:stats().madv_restarts == 0 and res == nil and err == nil do
      c:user_write(mm, last, "x") -- refaults what guard install zapped
      c:yield()
    end
    mm:kill()
  end,
}

assert(m:warnings() == 0, "mmap_lock released by a context that does not hold it")
assert(res == N * 4096 or err == "EINTR", "guard install: " .. tostring(res or err))
vmlab.result{
  result = res or err,
  restarts = mm:stats().madv_restarts,
  zaps = mm:stats().guard_zaps,
}
