-- trace-replay: real Linux 6.18 traces replayed on the model, record by record: agreement per quantity
--
-- vmlab replay-trace takes what a real kernel recorded -- the tracefs
-- vmalloc/tlb events of a BPF-and-fork workload, the memory system calls
-- of python3 and of a test program with their results and VMA lists --
-- replays it on a fresh machine and compares every record.  This entry
-- replays the public samples (../shared/traces, or -D traces=DIR) and
-- prints the agreement; where they are not found it replays the small
-- excerpts below, taken from the same kind of traces.  It then replays
-- the vmalloc trace with lazy_max_pages halved: the model purges more
-- often than the kernel did, and the purge count says by how much.

local P = vmlab.params{traces = "../shared/traces"}

local excerpt_vmalloc = [[
# tracer: nop
#
# entries-in-buffer/entries-written: 11/11   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
          insmod-100     [000] .....    10.000001: alloc_vmap_area: va_start: 18446683600570023936 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
          insmod-100     [000] .....    10.000002: alloc_vmap_area: va_start: 18446683600570032128 size=67117056 align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
          insmod-100     [000] .....    10.000003: free_vmap_area_noflush: va_start=0xffffc90000000000 nr_lazy=2 nr_lazy_max=16384
          insmod-100     [000] d..2.    10.000004: tlb_flush: pages:-1 reason:flush on task switch (0)
          insmod-100     [000] .....    10.000005: free_vmap_area_noflush: va_start=0xffffc90000002000 nr_lazy=16388 nr_lazy_max=16384
     kworker/0:1-20      [000] .....    10.000006: purge_vmap_area_lazy: start=0xffffc90000000000 end=0xffffc90004004000 num_purged=2
          insmod-100     [001] .....    10.000007: alloc_vmap_area: va_start: 18446683600570023936 size=8192 align=1 vstart=0xffffc90000000000 vend=0xffffe8ffffffffff failed=0
          insmod-100     [001] d..2.    10.000008: tlb_flush: pages:3 reason:local MM shootdown (3)
          insmod-100     [001] .....    10.000009: sched_switch: prev_comm=insmod next_comm=swapper
          insmod-100     [001] .....    10.000010: free_vmap_area_noflush: va_start=0xffffc90000000000 nr_lazy=2 nr_lazy_max=16384
 test vm task-200     [001] .....    10.000011: free_vmap_area_noflush: va_start=0xffffc90005000000 nr_lazy=7 nr_lazy_max=16384
]]

local excerpt_mm = [[
# mmtrace 1
# kernel=6.18.44-fc-v1045 machine=x86_64 personality=ADDR_NO_RANDOMIZE follow_forks=0
# argv 0=./mmprog
# env 0=PATH%3D/usr/bin:/bin 1=LC_ALL%3DC
# exec pid=1288 tid=1288 path=./mmprog
# maps-begin pid=1288 tid=1288 when=exec vmas=13
555555554000-555555555000 r--p 00000000 fe:00 10969225                   /srv/run/mmprog
555555555000-555555557000 r-xp 00001000 fe:00 10969225                   /srv/run/mmprog
555555557000-555555558000 r--p 00003000 fe:00 10969225                   /srv/run/mmprog
555555558000-55555555a000 rw-p 00003000 fe:00 10969225                   /srv/run/mmprog
7ffff7fc2000-7ffff7fc6000 r--p 00000000 00:00 0                          [vvar]
7ffff7fc6000-7ffff7fc8000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]
7ffff7fca000-7ffff7fcb000 r--p 00000000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7fcb000-7ffff7ff1000 r-xp 00001000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ff1000-7ffff7ffb000 r--p 00027000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffff7ffb000-7ffff7fff000 rw-p 00031000 fe:00 332383                     /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
# maps-end
brk pid=1288 tid=1288 seq=1 addr=0x0 -> 0x55555555a000
mmap pid=1288 tid=1288 seq=2 addr=0x0 len=0x2000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7fc0000
mmap pid=1288 tid=1288 seq=3 addr=0x0 len=0xa383 prot=READ flags=PRIVATE fd=3 off=0x0 path=/etc/ld.so.cache fsize=0xa383 -> 0x7ffff7fb5000
mmap pid=1288 tid=1288 seq=4 addr=0x0 len=0x1e1f50 prot=READ flags=PRIVATE|DENYWRITE fd=3 off=0x0 path=/usr/lib/x86_64-linux-gnu/libc.so.6 fsize=0x1d6458 -> 0x7ffff7dd3000
mmap pid=1288 tid=1288 seq=5 addr=0x7ffff7df9000 len=0x156000 prot=READ|EXEC flags=PRIVATE|FIXED|DENYWRITE fd=3 off=0x26000 path=/usr/lib/x86_64-linux-gnu/libc.so.6 fsize=0x1d6458 -> 0x7ffff7df9000
mmap pid=1288 tid=1288 seq=6 addr=0x7ffff7f4f000 len=0x53000 prot=READ flags=PRIVATE|FIXED|DENYWRITE fd=3 off=0x17c000 path=/usr/lib/x86_64-linux-gnu/libc.so.6 fsize=0x1d6458 -> 0x7ffff7f4f000
mmap pid=1288 tid=1288 seq=7 addr=0x7ffff7fa2000 len=0x6000 prot=READ|WRITE flags=PRIVATE|FIXED|DENYWRITE fd=3 off=0x1cf000 path=/usr/lib/x86_64-linux-gnu/libc.so.6 fsize=0x1d6458 -> 0x7ffff7fa2000
mmap pid=1288 tid=1288 seq=8 addr=0x7ffff7fa8000 len=0xcf50 prot=READ|WRITE flags=PRIVATE|FIXED|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7fa8000
mmap pid=1288 tid=1288 seq=9 addr=0x0 len=0x3000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7dd0000
mprotect pid=1288 tid=1288 seq=10 addr=0x7ffff7fa2000 len=0x4000 prot=READ -> 0
mprotect pid=1288 tid=1288 seq=11 addr=0x555555558000 len=0x1000 prot=READ -> 0
mprotect pid=1288 tid=1288 seq=12 addr=0x7ffff7ffb000 len=0x2000 prot=READ -> 0
munmap pid=1288 tid=1288 seq=13 addr=0x7ffff7fb5000 len=0xa383 -> 0
mmap pid=1288 tid=1288 seq=14 addr=0x0 len=0x10000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7dc0000
madvise pid=1288 tid=1288 seq=15 addr=0x7ffff7dc4000 len=0x2000 advice=GUARD_INSTALL -> 0
madvise pid=1288 tid=1288 seq=16 addr=0x7ffff7dcc000 len=0x1000 advice=GUARD_INSTALL -> 0
signal pid=1288 tid=1288 sig=SIGSEGV code=1 addr=0x7ffff7dc4000
signal pid=1288 tid=1288 sig=SIGSEGV code=1 addr=0x7ffff7dcc000
madvise pid=1288 tid=1288 seq=17 addr=0x7ffff7dc0000 len=0x10000 advice=DONTNEED -> 0
signal pid=1288 tid=1288 sig=SIGSEGV code=1 addr=0x7ffff7dc5000
madvise pid=1288 tid=1288 seq=18 addr=0x7ffff7dc3000 len=0x4000 advice=GUARD_INSTALL -> 0
madvise pid=1288 tid=1288 seq=19 addr=0x7ffff7dc4000 len=0x1000 advice=GUARD_REMOVE -> 0
signal pid=1288 tid=1288 sig=SIGSEGV code=1 addr=0x7ffff7dc5000
mprotect pid=1288 tid=1288 seq=20 addr=0x7ffff7dc8000 len=0x1000 prot=READ -> 0
mprotect pid=1288 tid=1288 seq=21 addr=0x7ffff7dc8000 len=0x1000 prot=READ|WRITE -> 0
mprotect pid=1288 tid=1288 seq=22 addr=0x7ffff7dc0000 len=0x2000 prot=NONE -> 0
munmap pid=1288 tid=1288 seq=23 addr=0x7ffff7dc0000 len=0x1000 -> 0
munmap pid=1288 tid=1288 seq=24 addr=0x7ffff7dcf000 len=0x1000 -> 0
munmap pid=1288 tid=1288 seq=25 addr=0x7ffff7dc9000 len=0x1000 -> 0
munmap pid=1288 tid=1288 seq=26 addr=0x7ffff7dc9000 len=0x1000 -> 0
munmap pid=1288 tid=1288 seq=27 addr=0x7ffff7dc0064 len=0x1000 -> -22 errno=EINVAL
madvise pid=1288 tid=1288 seq=28 addr=0x7ffff7dc8000 len=0x3000 advice=GUARD_REMOVE -> -12 errno=ENOMEM
mmap pid=1288 tid=1288 seq=29 addr=0x0 len=0x8000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7fb8000
mprotect pid=1288 tid=1288 seq=30 addr=0x7ffff7fb8000 len=0x1000 prot=NONE -> 0
mprotect pid=1288 tid=1288 seq=31 addr=0x7ffff7fbf000 len=0x1000 prot=NONE -> 0
signal pid=1288 tid=1288 sig=SIGSEGV code=2 addr=0x7ffff7fb8000
mmap pid=1288 tid=1288 seq=32 addr=0x0 len=0x8000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7db9000
madvise pid=1288 tid=1288 seq=33 addr=0x7ffff7db9000 len=0x1000 advice=GUARD_INSTALL -> 0
madvise pid=1288 tid=1288 seq=34 addr=0x7ffff7dc0000 len=0x1000 advice=GUARD_INSTALL -> 0
mmap pid=1288 tid=1288 seq=35 addr=0x0 len=0x8000 prot=READ|WRITE flags=PRIVATE|ANONYMOUS fd=-1 off=0x0 -> 0x7ffff7db1000
# end pid=1288 exit=0
]]

local function replay(name, excerpt, kind, opts)
  opts = opts or {}
  local r = vmlab.replay_trace(P.traces .. "/" .. name .. ".gz", opts)
  local src = "sample"
  if not r then
    opts.text = excerpt
    opts.kind = kind
    r = assert(vmlab.replay_trace(name, opts))
    src = "excerpt"
  end
  return r, src
end

local function pct(r)
  return string.format("%.2f %%", 100 * r.agreement)
end

local function apart(r)
  local n = 0
  for _, w in ipairs(r.rows) do
    if w.apart then n = n + w.compared end
  end
  return n
end

local samples = {
  {"vmalloc-bpf-fork.txt", excerpt_vmalloc, "vmalloc"},
  {"mmtrace-python-import.txt", excerpt_mm, "mm"},
  {"mmtrace-mmprog.txt", excerpt_mm, "mm"},
}
for _, s in ipairs(samples) do
  local r, src = replay(s[1], s[2], s[3])
  -- measured on the samples and the excerpts alike: every compared
  -- record agrees; what vmlab does not model is counted apart
  assert(r.agreement == 1.0, s[1] .. ": agreement " .. pct(r))
  assert(r.divergences == 0, s[1] .. ": divergences")
  local fig = {
    {"source", src},
    {"records", r.records},
    {"agreement (compared records)", pct(r)},
    {"divergences", r.divergences},
    {"records counted apart", apart(r)},
  }
  for _, w in ipairs(r.rows) do
    if not w.apart and w.compared > 0 then
      fig[#fig + 1] = {w.quantity, string.format("%d/%d", w.agreed, w.compared)}
    end
  end
  vmlab.result(s[1], fig)
end

-- a mechanism changed: lazy_max_pages halved
local base = replay("vmalloc-bpf-fork.txt", excerpt_vmalloc, "vmalloc")
local kernel_purges = base.row["purges after the same free"].compared
local half = replay("vmalloc-bpf-fork.txt", excerpt_vmalloc, "vmalloc",
                    {lazy_max_pages = 8192})
assert(half.model_purges >= base.model_purges, "a lower limit never purges less")
vmlab.result("lazy_max_pages halved", {
  {"kernel purges", kernel_purges},
  {"vmlab purges (16384)", base.model_purges},
  {"vmlab purges (8192)", half.model_purges},
  {"nr_lazy agreement (8192)", string.format("%d/%d",
     half.row["nr_lazy after each free"].agreed,
     half.row["nr_lazy after each free"].compared)},
})
