-- uffd: userfaultfd missing faults served by a handler; a guard page never reaches it
--
-- A range of anonymous memory is registered with userfaultfd
-- (UFFDIO_REGISTER_MODE_MISSING) and one of its pages gets a guard marker.
-- CPU 0's program touches every page: each missing page sleeps in
-- handle_userfault() until the handler -- here on the kworker, the monitor
-- thread of a real program -- fills it with UFFDIO_COPY, then the access is
-- retried and sees the handler's bytes.  The guard page is SIGSEGV at once:
-- the fault path checks the marker before the missing page, so the handler
-- never hears of it.  MADV_DONTNEED empties a page again and the next
-- access faults to the handler again.  A second run has a monitor program
-- of its own on CPU 1 that read()s each message (blocking) and answers with
-- UFFDIO_ZEROPAGE, as uffd-unit-tests' poll thread does.  Last, with
-- UFFD_FEATURE_EVENT_FORK the child of a fork gets a context of its own,
-- handed to the parent's handler in a fork event before fork returns.

local P = vmlab.params{pages = 8, guard = 5}
assert(P.pages >= 2 and P.guard >= 0 and P.guard < P.pages,
       "pages >= 2, 0 <= guard < pages")
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "64M", label = "userfaultfd"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = P.pages * PAGE, prot = "rw",
                         flags = {"private", "anonymous"}})
local u = assert(mm:userfaultfd("user_mode_only|nonblock"))
local features, ioctls = assert(u:api("thread_id"))
assert(u:register(a, P.pages * PAGE) & (1 << 3) ~= 0, "COPY allowed")
assert(mm:madvise(a + P.guard * PAGE, PAGE, "guard_install"))

local served = {}
assert(u:handler(function(msg)
  served[#served + 1] = (msg.page - a) // PAGE
  local letter = string.char(string.byte("a") + #served - 1)
  assert(u:copy(msg.page, string.rep(letter, PAGE)))
end))

local got, segv = {}, nil
m:run{[0] = function(c)
  for i = 0, P.pages - 1 do
    local s, sig = c:user_read(mm, a + i * PAGE, 1)
    if s then got[i] = s else segv = segv or i; assert(sig == "SIGSEGV") end
  end
end}
assert(segv == P.guard, "the guard page is SIGSEGV")
assert(#served == P.pages - 1, "every other page went to the handler")
for _, i in ipairs(served) do assert(i ~= P.guard) end

-- DONTNEED: the page is missing again, the handler is asked again
assert(mm:madvise(a, PAGE, "dontneed"))
local again
m:run{[0] = function(c) again = c:user_read(mm, a, 1) end}
assert(#served == P.pages and again == string.char(string.byte("a") + P.pages - 1))
-- errno-style failures: a mapped page, a guard marker for ZEROPAGE,
-- nothing to read on a non-blocking descriptor
local ok, err, n = u:copy(a, string.rep("z", PAGE))
assert(not ok and err == "EEXIST" and n == -17)
ok, err = u:zeropage(a + P.guard * PAGE, PAGE)
assert(not ok and err == "EEXIST", "ZEROPAGE wants a none PTE")
ok, err = u:read()
assert(not ok and err == "EAGAIN")
local st = u:stats()
assert(st.faults == P.pages and st.copies == P.pages and st.waiting == 0)
print(string.format("handler: %d faults served by UFFDIO_COPY, guard page %d " ..
  "SIGSEGV without reaching it, DONTNEED re-fault served (features %#x, " ..
  "ioctls %#x)", st.copies, P.guard, features, ioctls))

-- A monitor program instead of the handler: blocking read(), ZEROPAGE.
assert(u:handler(nil))
u:close()
local v = assert(mm:userfaultfd("user_mode_only"))
assert(v:api())
assert(mm:madvise(a, P.pages * PAGE, "dontneed"))
assert(v:register(a, P.pages * PAGE))
local zeroed = 0
m:run{
  [0] = function(c)
    for i = 0, 2 do assert(c:user_read(mm, a + i * PAGE, 1) == "\0") end
  end,
  [1] = function(c)
    for _ = 0, 2 do
      local msg = assert(v:read())
      assert(v:zeropage(msg.page, PAGE))
      zeroed = zeroed + 1
    end
  end,
}
assert(zeroed == 3 and v:stats().zeropages == 3)
print(string.format("monitor: %d faults read() and served by UFFDIO_ZEROPAGE " ..
  "under the scheduler (%d wakes)", zeroed, v:stats().wakes))
v:close()

-- UFFD_FEATURE_EVENT_FORK (needs CAP_SYS_PTRACE)
assert(mm:set_caps("sys_ptrace"))
local w = assert(mm:userfaultfd("user_mode_only|nonblock"))
assert(w:api("event_fork"))
assert(w:register(a, P.pages * PAGE))
local childctx
assert(w:handler(function(msg)
  assert(msg.event == "fork", "the parent's pages are all there")
  childctx = msg.uffd
end))
local child = assert(mm:fork())
assert(childctx, "fork handed the child's context over")
local cserved = 0
assert(childctx:handler(function(msg)
  cserved = cserved + 1
  assert(childctx:copy(msg.page, string.rep("c", PAGE)))
end))
local idx = 3
while idx == P.guard do idx = idx + 1 end
if idx < P.pages then
  assert(m:user_read(child, a + idx * PAGE, 1) == "c")
  assert(cserved == 1)
end
assert(m:user_read(child, a, 1) == "\0", "copied by fork, no fault")
print(string.format("fork event: the child's context served %d fault(s) " ..
  "of the child", cserved))
childctx:close()
child:close()
w:close()
