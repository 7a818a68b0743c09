-- smmu-inv-overflow: a large secondary invalidation must become one by-ASID command, not one CMD_TLBI per page
--
-- arm_smmu_mm_arch_invalidate_secondary_tlbs() turns a range of at least
-- CMDQ_MAX_TLBI_OPS pages (or a full-mm flush) into one invalidation of
-- the whole ASID (e7ad6c2a4b1a); without the clamp it queued one command
-- per page and a large munmap or exit soft-locked the CPU.  An SMMU bound
-- to a process that unmaps 1024 pages must issue a handful of commands.
local PAGE = vmlab.PAGE_SIZE
local m = vmlab.machine{cpus = 2, memory = "256M"}
local mm = assert(m:user_mm())
local a = assert(mm:mmap{len = 1024 * PAGE, prot = "rw",
                         flags = {"private", "anonymous"}})
local s = assert(m:smmu{mm = mm})
for i = 0, 1023, 64 do
  assert(m:user_write(mm, a + i * PAGE, "x"))
  assert(s:dma(a + i * PAGE, "read"))
end
local before = s:stats().cmd_tlbi
assert(mm:munmap(a, 1024 * PAGE))
local cmds = s:stats().cmd_tlbi - before
assert(cmds <= 4, string.format("munmap of 1024 pages issued %d CMD_TLBI " ..
                                "(soft lockup)", cmds))
