-- uffd-copy-during-fork: UFFDIO_COPY is EAGAIN while a fork event is unread, or the monitor cannot know what the child has
--
-- Mike Rapoport's df2cc96e7701: a process monitored with userfaultfd
-- (UFFD_FEATURE_EVENT_FORK) forks while its monitor fills pages with
-- UFFDIO_COPY (CRIU's post-copy migration).  If the COPY takes mmap_lock
-- first the child inherits the page, if fork does the child's page stays
-- empty, and the monitor cannot tell which.  So from dup_userfaultfd()
-- until the fork event is read, COPY on the parent's context fails with
-- EAGAIN (mmap_changing).  Here the monitor copies into the parent while
-- handling the fork event: a COPY that succeeds must have reached the
-- child as well; else it must say EAGAIN.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 1, memory = "64M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 2 * PAGE, prot = "rw", flags = {"private", "anonymous"}})
assert(mm:set_caps("sys_ptrace"))
local w = assert(mm:userfaultfd("user_mode_only|nonblock"))
assert(w:api("event_fork"))
assert(w:register(a, 2 * PAGE))
assert(w:copy(a, string.rep("0", PAGE)))    -- page 0 filled before the fork
local childctx, copied, err
assert(w:handler(function(msg)
  assert(msg.event == "fork")
  childctx = msg.uffd
  assert(childctx:handler(function(cmsg)
    assert(childctx:copy(cmsg.page, string.rep("c", PAGE)))
  end))
  -- The monitor goes on with its background copy into the parent.
  copied, err = w:copy(a + PAGE, string.rep("p", PAGE))
end))
local child = assert(mm:fork())
assert(childctx, "fork handed the child's context over")
assert(m:user_read(child, a, 1) == "0", "page 0 came with the fork")
if copied then
  assert(m:user_read(mm, a + PAGE, 1) == "p")
  assert(m:user_read(child, a + PAGE, 1) == "p",
         "a COPY that succeeded before the fork event was read is in the child too")
else
  assert(err == "EAGAIN", "COPY during the fork: EAGAIN, not " .. tostring(err))
end
childctx:close()
child:close()
w:close()
