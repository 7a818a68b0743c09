/* SPDX-License-Identifier: MIT */
/*
 * mmap_lock and the per-VMA locks (include/linux/mmap_lock.h,
 * mm/mmap_lock.c, Linux 6.18): mmap_read/write_lock as an rwsem of the
 * model's scheduler, so `vmlab explore` interleaves the syscalls of one
 * mm where Linux lets them run at once; vma_start_read/vma_start_write
 * with mm_lock_seq, and lock_vma_under_rcu() for the fault path.
 *
 * The caller's operation lock: the Lua binding runs every operation
 * under the machine's service lock and lets kernel code drop it
 * (vmlab_op_unlock).  Taking the outermost mmap_lock drops it, so
 * another CPU's syscall on the same mm can run up to where the two
 * locks conflict; releasing the outermost takes it back.  Code that
 * waits for an mmap_lock without having dropped its operation lock
 * (device faults under a notifier operation) only ever waits for a
 * holder that needs nothing else to finish.
 */
#include "user/uinternal.h"

int user_lock_svc_init(struct user_svc *s)
{
	assert(s && s->m && !s->mlock_depth);
	s->mlock_depth = host_calloc(s->m, (size_t)s->m->nr_cpus, sizeof(int));
	s->op_dropped = host_calloc(s->m, (size_t)s->m->nr_cpus, sizeof(bool));
	if (!s->mlock_depth || !s->op_dropped) {
		free(s->mlock_depth);
		free(s->op_dropped);
		s->mlock_depth = NULL;
		s->op_dropped = NULL;
		return -VMLAB_ENOMEM;
	}
	return 0;
}

/* The CPU whose code takes the lock: the running program's inside a
 * scheduler run (a vCPU's fault on the VMM's mm is not where the mm is
 * loaded), else the mm's. */
static int lock_cpu(const struct vmlab_user_mm *mm)
{
	const struct vmlab_machine *m = mm->m;
	if (m->sched_task && m->sched_cpu >= 0 && m->sched_cpu < m->nr_cpus)
		return m->sched_cpu;
	return mm->cpu;
}

/* Only readers give the operation lock up: a writer excludes every
 * thread of its mm anyway, and keeping it holds device operations that
 * look at the mm's page tables without mmap_lock (KVM's gup-fast) to
 * the order they had. */
static void op_lock_drop(struct vmlab_user_mm *mm, int cpu, bool reader)
{
	struct user_svc *s = mm->svc;
	assert(vmlab_cpu_valid(mm->m, cpu) && s->mlock_depth[cpu] >= 0);
	if (s->mlock_depth[cpu]++ == 0)
		s->op_dropped[cpu] = reader &&
			vmlab_op_unlock(mm->m, cpu, "mmap_lock: operation unlock");
}

static void op_lock_retake(struct vmlab_user_mm *mm, int cpu)
{
	struct user_svc *s = mm->svc;
	assert(vmlab_cpu_valid(mm->m, cpu) && s->mlock_depth[cpu] >= 0);
	if (!s->mlock_depth[cpu])
		return; /* an unbalanced unlock, warned about already */
	if (--s->mlock_depth[cpu] == 0 && s->op_dropped[cpu]) {
		s->op_dropped[cpu] = false;
		vmlab_op_relock(mm->m, cpu, "mmap_lock: operation relock");
	}
}

void mmap_read_lock(struct vmlab_user_mm *mm)
{
	int cpu = lock_cpu(mm);
	assert(mm->magic == USER_MM_MAGIC);
	op_lock_drop(mm, cpu, true);
	vmlab_down_read(mm->m, cpu, &mm->mmap_lock, "mmap_read_lock");
}

void mmap_read_unlock(struct vmlab_user_mm *mm)
{
	int cpu = lock_cpu(mm);
	assert(vmlab_rwsem_readers(&mm->mmap_lock) > 0);
	vmlab_up_read(mm->m, cpu, &mm->mmap_lock, "mmap_read_unlock");
	op_lock_retake(mm, cpu);
}

int mmap_write_lock_killable(struct vmlab_user_mm *mm)
{
	int cpu = lock_cpu(mm);
	assert(mm->magic == USER_MM_MAGIC);
	op_lock_drop(mm, cpu, false);
	int err = vmlab_down_write_killable(mm->m, cpu, &mm->mmap_lock,
					    &mm->fatal_signal,
					    "mmap_write_lock");
	if (err) {
		assert(err == -VMLAB_EINTR);
		op_lock_retake(mm, cpu);
	}
	return err;
}

void mmap_write_lock(struct vmlab_user_mm *mm)
{
	int cpu = lock_cpu(mm);
	assert(mm->magic == USER_MM_MAGIC);
	op_lock_drop(mm, cpu, false);
	int err = vmlab_down_write_killable(mm->m, cpu, &mm->mmap_lock, NULL,
					    "mmap_write_lock");
	assert(err == 0);
	(void)err;
}

void mmap_write_unlock(struct vmlab_user_mm *mm)
{
	int cpu = lock_cpu(mm);
	assert(mm->magic == USER_MM_MAGIC);
	if (!vmlab_rwsem_write_owned(mm->m, &mm->mmap_lock)) {
		/* An unbalanced unlock: up_write() warns, nothing changes. */
		vmlab_up_write(mm->m, cpu, &mm->mmap_lock, "mmap_write_unlock");
		return;
	}
	/* vma_end_write_all(): every VMA write lock of this cycle ends. */
	mm->mm_lock_seq++;
	vmlab_up_write(mm->m, cpu, &mm->mmap_lock, "mmap_write_unlock");
	op_lock_retake(mm, cpu);
}

/* ------------------------------------------------------ per-VMA locks */

bool vma_start_read(struct vmlab_vma *v)
{
	assert(v && v->mm && v->mm->magic == USER_MM_MAGIC);
	/* Write-locked in the current cycle (or being written now). */
	if (vma_is_write_locked(v))
		return false;
	v->vm_lock.owner++;
	v->vm_lock.name = "vma_start_read";
	assert(v->vm_lock.owner > 0);
	return true;
}

void vma_end_read(struct vmlab_vma *v)
{
	assert(v && v->vm_lock.owner > 0);
	v->vm_lock.owner--;
}

void vma_start_write(struct vmlab_vma *v)
{
	struct vmlab_user_mm *mm = v->mm;
	assert(mm && mm->magic == USER_MM_MAGIC);
	if (!mmap_write_locked(mm)) {
		vmlab_warn(mm->m, "vma_start_write without the mmap write lock");
		return;
	}
	if (vma_is_write_locked(v) && !v->vm_lock.owner)
		return;
	v->vm_lock_seq = mm->mm_lock_seq;
	/* __vma_start_write(): wait for the readers already inside. */
	vmlab_wait_free(mm->m, lock_cpu(mm), &v->vm_lock, "vma_start_write");
	assert(vma_is_write_locked(v));
}

void vma_start_write_range(struct vmlab_user_mm *mm, u64 start, u64 end)
{
	u64 lo = start >= VMLAB_PAGE_SIZE ? start - VMLAB_PAGE_SIZE : 0;
	u64 hi = end + VMLAB_PAGE_SIZE < end ? end : end + VMLAB_PAGE_SIZE;
	assert(start <= end);
	/* Marking first, waiting after: no new reader enters one while we
	 * wait for another's (the waits are scheduling points). */
	for (struct vmlab_vma *v = find_vma(mm, lo); v && v->vm_start < hi;
	     v = v->next)
		v->vm_lock_seq = mm->mm_lock_seq;
	for (struct vmlab_vma *v = find_vma(mm, lo); v && v->vm_start < hi;
	     v = v->next)
		vma_start_write(v);
}

void vma_start_write_all(struct vmlab_user_mm *mm)
{
	for (struct vmlab_vma *v = mm->first; v; v = v->next)
		v->vm_lock_seq = mm->mm_lock_seq;
	for (struct vmlab_vma *v = mm->first; v; v = v->next)
		vma_start_write(v);
}

struct vmlab_vma *lock_vma_under_rcu(struct vmlab_user_mm *mm, u64 addr)
{
	assert(mm && mm->magic == USER_MM_MAGIC);
	/* CONFIG_PER_VMA_LOCK=n: the stub returns NULL and nothing counts. */
	if (mm->svc->no_per_vma_lock)
		return NULL;
	struct vmlab_vma *v = vma_lookup(mm, addr);
	if (!v) {
		mm->ev.vma_lock_abort++; /* no VMA: mmap_lock decides */
		return NULL;
	}
	if (!vma_start_read(v)) {
		mm->ev.vma_lock_abort++;
		return NULL;
	}
	/* The VMA may have changed before we got it: the address must still
	 * be inside it (vma_start_read() rechecks, VMA_LOCK_MISS). */
	if (addr < v->vm_start || addr >= v->vm_end) {
		vma_end_read(v);
		mm->ev.vma_lock_miss++;
		return NULL;
	}
	return v;
}

/* ------------------------------------------------------------- kill */

int vmlab_user_kill(struct vmlab_user_mm *mm)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return -VMLAB_EINVAL;
	/* SIGKILL: fatal_signal_pending() from now on; killable waits give
	 * up.  The model's task keeps its mm (exit is mm:close()). */
	mm->fatal_signal = true;
	return 0;
}

bool vmlab_user_fatal_signal_pending(const struct vmlab_user_mm *mm)
{
	return mm && mm->magic == USER_MM_MAGIC && mm->fatal_signal;
}

int vmlab_user_set_per_vma_lock(struct vmlab_machine *m, bool on)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s)
		return -VMLAB_EINVAL;
	s->no_per_vma_lock = !on;
	assert(s->no_per_vma_lock != on);
	return 0;
}

int vmlab_user_set_guard_lock(struct vmlab_machine *m, bool write)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (!s)
		return -VMLAB_EINVAL;
	s->guard_write_lock = write;
	return 0;
}

/* ------------------------------------------------- page-walk modes */

static const char *const walk_mode_name[] = {
	"PGWALK_RDLOCK", "PGWALK_WRLOCK", "PGWALK_WRLOCK_VERIFY",
	"PGWALK_VMA_RDLOCK_VERIFY"};

/*
 * process_mm_walk_lock() then process_vma_walk_lock() for every VMA the
 * walk meets: RDLOCK needs mmap_lock held, WRLOCK and WRLOCK_VERIFY held
 * for writing by this context; WRLOCK write-locks each VMA, the VERIFY
 * modes require its lock already held.  One warning per walk.
 */
void user_walk_lock(struct vmlab_mm *hw, u64 start, u64 end, int mode)
{
	struct vmlab_user_mm *mm = hw->owner;
	assert(mm && mm->magic == USER_MM_MAGIC && start < end);
	assert(mode >= VMLAB_PGWALK_RDLOCK &&
	       mode <= VMLAB_PGWALK_VMA_RDLOCK_VERIFY);
	const char *bad = NULL;
	bool wr = vmlab_rwsem_write_owned(mm->m, &mm->mmap_lock);
	if (mode == VMLAB_PGWALK_RDLOCK) {
		if (!wr && !vmlab_rwsem_readers(&mm->mmap_lock))
			bad = "mmap_lock not held (mmap_assert_locked)";
	} else if (mode != VMLAB_PGWALK_VMA_RDLOCK_VERIFY && !wr) {
		bad = "mmap_lock not held for writing "
		      "(mmap_assert_write_locked)";
	}
	/* Bounded by the VMAs of the range. */
	for (struct vmlab_vma *v = find_vma(mm, start);
	     v && v->vm_start < end; v = v->next) {
		if (mode == VMLAB_PGWALK_WRLOCK && wr)
			vma_start_write(v);
		else if (mode == VMLAB_PGWALK_WRLOCK_VERIFY && !bad &&
			 !vma_is_write_locked(v))
			bad = "a VMA not write-locked (vma_assert_write_locked)";
		else if (mode == VMLAB_PGWALK_VMA_RDLOCK_VERIFY && !bad &&
			 !v->vm_lock.owner && !vma_is_write_locked(v))
			bad = "a VMA not locked (vma_assert_locked)";
	}
	if (bad)
		vmlab_warn(mm->m, "walk_page_range %s: %s", walk_mode_name[mode],
			   bad);
}

void vmlab_user_mmap_lock(struct vmlab_user_mm *mm, bool write)
{
	assert(mm && mm->magic == USER_MM_MAGIC);
	if (write)
		mmap_write_lock(mm);
	else
		mmap_read_lock(mm);
	assert(!write || mmap_write_locked(mm));
}

void vmlab_user_mmap_unlock(struct vmlab_user_mm *mm, bool write)
{
	assert(mm && mm->magic == USER_MM_MAGIC);
	if (write)
		mmap_write_unlock(mm);
	else
		mmap_read_unlock(mm);
}
