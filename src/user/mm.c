/* SPDX-License-Identifier: MIT */
/*
 * The user layer's machine state (VMLAB_SVC_USER slot: the shared zero
 * page, the fault handler, the swap area, live mms and files), process
 * objects, scheduling a task on a CPU, task accesses and their signal
 * outcome, exit.
 */
#include "vmlab/checker.h"
#include "user/uinternal.h"

static void user_svc_destroy(struct vmlab_machine *m)
{
	struct user_svc *s = svc_get(m, VMLAB_SVC_USER);
	if (!s)
		return;
	while (s->mms)
		vmlab_user_mm_destroy(s->mms);
	uffd_svc_destroy(s);
	files_destroy(s);
	deferred_split_destroy(s);
	assert(!s->files && (!s->swap.ready || !s->swap.used));
	swap_destroy(s);
	/* Every user mapping of the zero page went with its mm. */
	assert(upage(m, s->zero_pfn)->mapcount == 0);
	thp_destroy(s);
	hugetlb_destroy(s);
	vmlab_free_pages(m, -1, s->zero_pfn, 0);
	if (m->fault_fn == user_fault_handler && m->fault_ctx == s)
		vmlab_set_fault_handler(m, s->prev_fn, s->prev_ctx);
	free(s->sig);
	free(s->mlock_depth);
	free(s->op_dropped);
	free(s);
	svc_set(m, VMLAB_SVC_USER, NULL, NULL);
}

struct user_svc *user_svc_peek(struct vmlab_machine *m)
{
	return m ? svc_get(m, VMLAB_SVC_USER) : NULL;
}

struct user_svc *user_svc(struct vmlab_machine *m)
{
	struct user_svc *s = svc_get(m, VMLAB_SVC_USER);
	if (s)
		return s;
	s = host_calloc(m, 1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->sig = host_calloc(m, (size_t)m->nr_cpus, sizeof(*s->sig));
	if (!s->sig || vmlab_alloc_pages(m, -1, 0, &s->zero_pfn)) {
		free(s->sig);
		free(s);
		return NULL;
	}
	if (user_lock_svc_init(s)) {
		vmlab_free_pages(m, -1, s->zero_pfn, 0);
		free(s->sig);
		free(s);
		return NULL;
	}
	struct vmlab_page *zp = upage(m, s->zero_pfn);
	assert(zp && zp->refcount == 1);
	zp->owner = PG_OWNER_ZERO;
	struct frame_section *sec = m->phys.sections[s->zero_pfn >> SECTION_SHIFT];
	u8 *c = sec->content[s->zero_pfn & (SECTION_FRAMES - 1)];
	if (c)
		memset(c, 0, VMLAB_PAGE_SIZE);
	s->cost = (struct vmlab_user_cost){.syscall = 100.0, .vma_op = 60.0};
	s->fault_around_pages = 16; /* fault_around_bytes: 64 KiB */
	s->thp_enabled = VMLAB_THP_NEVER; /* see vmlab_user_set_thp() */
	s->thp_use_zero_page = true;
	mthp_init(s);
	s->shmem_huge = VMLAB_SHMEM_HUGE_NEVER;
	s->khp = (struct vmlab_khugepaged_params){
		.max_ptes_none = HPAGE_PMD_NR - 1, .max_ptes_swap = 64,
		.max_ptes_shared = HPAGE_PMD_NR / 2, .pages_to_scan = 4096};
	/* Faults on user addresses come here; anything else goes on to the
	 * handler that was installed before. */
	s->prev_fn = m->fault_fn;
	s->prev_ctx = m->fault_ctx;
	vmlab_set_fault_handler(m, user_fault_handler, s);
	svc_set(m, VMLAB_SVC_USER, s, user_svc_destroy);
	return s;
}

/* ---------------------------------------------------------- mms */

struct vmlab_user_mm *user_mm_alloc(struct user_svc *s, int *err)
{
	assert(s && err);
	struct vmlab_user_mm *mm = host_calloc(s->m, 1, sizeof(*mm));
	if (!mm) {
		*err = -VMLAB_ENOMEM;
		return NULL;
	}
	*err = vmlab_mm_create(s->m, &mm->hw);
	if (*err) {
		free(mm);
		return NULL;
	}
	mm->magic = USER_MM_MAGIC;
	mm->mm_lock_seq = 1; /* VMAs start at 0: not write-locked */
	mm->svc = s;
	mm->m = s->m;
	mm->hw->owner = mm;
	mm->hw->walk_lock = user_walk_lock;
	mm->hw->walk_skip = hugetlb_walk_skip;
	mm->pid = ++s->next_pid;
	/* mmap_base() without randomization: the 8 MiB stack rlimit plus
	 * the guard gap is below the 128 MiB minimum gap. */
	mm->task_size = vmlab_layout(mm->m)->task_size;
	mm->mmap_base = TASK_SIZE_OF(mm) - MMAP_GAP_MIN;
	mm->mmap_legacy_base = vmlab_layout(mm->m)->task_unmapped_base;
	mm->stack_guard_gap = STACK_GUARD_GAP;
	mm->mmap_min_addr = MMAP_MIN_ADDR;
	mm->mmap_topdown = true;
	assert(!(mm->mmap_base & (VMLAB_PAGE_SIZE - 1)));
	mm->next = s->mms;
	if (s->mms)
		s->mms->prev = mm;
	s->mms = mm;
	return mm;
}

int vmlab_user_mm_create(struct vmlab_machine *m, struct vmlab_user_mm **out)
{
	if (!m || !out)
		return -VMLAB_EINVAL;
	struct user_svc *s = user_svc(m);
	if (!s)
		return -VMLAB_ENOMEM;
	int err;
	*out = user_mm_alloc(s, &err);
	return err;
}

void exit_mmap(struct vmlab_user_mm *mm)
{
	struct ugather g;
	assert(mm->magic == USER_MM_MAGIC);
	/* exit_mmap(): secondary MMUs let go of the mm before the teardown. */
	vmlab_mmu_notifier_release(mm->m, mm->hw);
	mmap_write_lock(mm);
	vma_start_write_all(mm);
	ug_init(&g, mm, user_cpu(mm));
	g.tlb.fullmm = true;
	unmap_vmas(&g, mm->first, 0, USER_VA_END(mm));
	free_pgtables(&g, 0, USER_VA_END(mm), 0, 0);
	ug_finish(&g);
	while (mm->first)
		vma_remove(mm, mm->first);
	assert(mm->map_count == 0 && !mm->root);
	mmap_write_unlock(mm);
	/* check_mm(): counters left over mean pages were lost behind a bad
	 * page-table entry (a malformed store through the public API). */
	if (mm->rss_anon || mm->rss_file || mm->rss_shmem || mm->swap_ents) {
		vmlab_warn(mm->m, "BUG: Bad rss-counter state anon:%llu "
				  "file:%llu shmem:%llu swap:%llu",
			   (unsigned long long)mm->rss_anon,
			   (unsigned long long)mm->rss_file,
			   (unsigned long long)mm->rss_shmem,
			   (unsigned long long)mm->swap_ents);
		mm->rss_anon = mm->rss_file = mm->rss_shmem = mm->swap_ents = 0;
	}
}

void vmlab_user_mm_destroy(struct vmlab_user_mm *mm)
{
	if (!mm || mm->magic != USER_MM_MAGIC)
		return;
	struct vmlab_machine *m = mm->m;
	struct user_svc *s = mm->svc;
	vmlab_checker_set_op(m, mm->cpu, "exit_mmap");
	/* exit_mm(): the exiting task drops to lazy TLB before mmput(). */
	if (vmlab_cpu_mm(m, mm->cpu) == mm->hw)
		vmlab_enter_lazy_tlb(m, mm->cpu);
	exit_mmap(mm);
	uffd_mm_exit(mm);
	assert(count_pgtables(mm) == 1); /* the PGD alone */
	vmlab_mmu_notifier_subscriptions_destroy(m, mm->hw);
	vmlab_mm_destroy(m, mm->hw);
	if (mm->prev)
		mm->prev->next = mm->next;
	else
		s->mms = mm->next;
	if (mm->next)
		mm->next->prev = mm->prev;
	pidfd_free_table(mm);
	mm->magic = 0;
	free(mm);
}

struct vmlab_machine *vmlab_user_machine(const struct vmlab_user_mm *mm)
{
	return mm ? mm->m : NULL;
}

struct vmlab_mm *vmlab_user_hw_mm(struct vmlab_user_mm *mm)
{
	return mm ? mm->hw : NULL;
}

u64 vmlab_user_pid(const struct vmlab_user_mm *mm)
{
	return mm ? mm->pid : 0;
}

void user_ensure_loaded(struct vmlab_user_mm *mm, int cpu)
{
	assert(mm->magic == USER_MM_MAGIC && vmlab_cpu_valid(mm->m, cpu));
	if (vmlab_cpu_mm(mm->m, cpu) != mm->hw || vmlab_cpu_is_lazy(mm->m, cpu))
		vmlab_switch_mm(mm->m, cpu, mm->hw);
}

int vmlab_user_switch(struct vmlab_user_mm *mm, int cpu)
{
	if (!mm || !vmlab_cpu_valid(mm->m, cpu))
		return -VMLAB_EINVAL;
	mm->cpu = cpu;
	user_ensure_loaded(mm, cpu);
	return 0;
}

int vmlab_user_cpu(const struct vmlab_user_mm *mm)
{
	return mm ? mm->cpu : -1;
}

void user_enter(struct vmlab_user_mm *mm, const char *op)
{
	assert(op);
	user_ensure_loaded(mm, mm->cpu);
	assert(vmlab_cpu_mm(mm->m, mm->cpu) == mm->hw);
	mm->ev.syscalls++;
	vmlab_checker_set_op(mm->m, mm->cpu, op);
}

/* ---------------------------------------------------------- accesses */

#define ACCESS_CHUNK VMLAB_MiB

int vmlab_user_access_si(struct vmlab_user_mm *mm, int cpu,
			 enum vmlab_access kind, u64 va, void *buf, size_t len,
			 struct vmlab_siginfo *si)
{
	if (si)
		*si = (struct vmlab_siginfo){0};
	if (!mm || mm->magic != USER_MM_MAGIC || !vmlab_cpu_valid(mm->m, cpu) ||
	    kind >= VMLAB_NR_ACCESS || len == 0 || (kind == VMLAB_WRITE && !buf))
		return -VMLAB_EINVAL;
	struct vmlab_machine *m = mm->m;
	struct user_svc *s = mm->svc;
	user_ensure_loaded(mm, cpu);
	u8 *p = buf;
	while (len) {
		size_t n = len > ACCESS_CHUNK ? ACCESS_CHUNK : len;
		/* The architecture's canonical form (x86: bits 63..47 equal,
		 * arm64: bits 63..48), both ends in the same half. */
		u64 last = va + n - 1;
		if (last < va || !vmlab_va_canonical(m, va) ||
		    !vmlab_va_canonical(m, last) || (va >> 63) != (last >> 63)) {
			/* A non-canonical address: x86 #GP, SIGSEGV SI_KERNEL;
			 * arm64 a translation fault, SEGV_MAPERR. */
			int code = vmlab_arch(m)->id == VMLAB_ARCH_X86_64 ?
					   0x80 : VMLAB_SEGV_MAPERR;
			if (si)
				*si = (struct vmlab_siginfo){VMLAB_SIGSEGV, code,
							     0};
			mm->ev.sigsegv++;
			return VMLAB_SIGSEGV;
		}
		assert(n > 0 && n <= ACCESS_CHUNK);
		s->sig[cpu] = (struct vmlab_siginfo){0};
		struct vmlab_fault f;
		int r = vmlab_access(m, cpu, kind, va, p, n, VMLAB_ACC_USER, &f);
		if (r == -VMLAB_EFAULT) {
			struct vmlab_siginfo got = s->sig[cpu];
			assert(!got.signo || got.addr >= va);
			if (!got.signo) /* nobody handled it: a plain SEGV */
				got = (struct vmlab_siginfo){VMLAB_SIGSEGV,
							     VMLAB_SEGV_MAPERR,
							     f.va};
			if (si)
				*si = got;
			return got.signo;
		}
		if (r)
			return r;
		va += n;
		len -= n;
		if (p)
			p += n;
	}
	return VMLAB_OK;
}

int vmlab_user_access(struct vmlab_user_mm *mm, int cpu,
		      enum vmlab_access kind, u64 va, void *buf, size_t len)
{
	return vmlab_user_access_si(mm, cpu, kind, va, buf, len, NULL);
}

int vmlab_user_read8(struct vmlab_user_mm *mm, int cpu, u64 va, u8 *out)
{
	u8 b = 0;
	int r = vmlab_user_access(mm, cpu, VMLAB_READ, va, &b, 1);
	if (out)
		*out = b;
	return r;
}

int vmlab_user_write8(struct vmlab_user_mm *mm, int cpu, u64 va, u8 v)
{
	return vmlab_user_access(mm, cpu, VMLAB_WRITE, va, &v, 1);
}

/* ----------------------------------------------------- stats, costs */

u64 vmlab_user_nr_vmas(const struct vmlab_user_mm *mm)
{
	return mm ? mm->map_count : 0;
}

u64 vmlab_user_pgtable_pages(struct vmlab_user_mm *mm)
{
	return mm ? count_pgtables(mm) : 0;
}

void vmlab_user_stats(struct vmlab_user_mm *mm, struct vmlab_user_stats *out)
{
	if (!mm || !out)
		return;
	*out = mm->ev;
	assert(mm->magic == USER_MM_MAGIC);
	out->map_count = mm->map_count;
	out->total_vm = out->locked_vm = 0;
	for (const struct vmlab_vma *v = mm->first; v; v = v->next) {
		out->total_vm += vma_pages(v);
		if (v->vm_flags & VMLAB_VM_LOCKED)
			out->locked_vm += vma_pages(v);
	}
	assert(out->locked_vm <= out->total_vm);
	out->rss_anon = mm->rss_anon;
	out->rss_file = mm->rss_file;
	out->rss_shmem = mm->rss_shmem;
	out->swap_ents = mm->swap_ents;
	out->pgtable_pages = count_pgtables(mm);
}

void vmlab_user_set_cost(struct vmlab_machine *m,
			 const struct vmlab_user_cost *c)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (s && c)
		s->cost = *c;
}

double vmlab_user_sim_time_ns(struct vmlab_user_mm *mm)
{
	if (!mm)
		return 0;
	const struct vmlab_user_cost *c = &mm->svc->cost;
	const struct vmlab_user_stats *e = &mm->ev;
	return vmlab_sim_time_ns(mm->m, -1) +
	       c->syscall * (double)e->syscalls +
	       c->vma_op * (double)(e->vma_alloc + e->vma_free + e->vma_merge +
				    e->vma_split);
}

void vmlab_user_set_bugs(struct vmlab_machine *m, unsigned int bugs)
{
	struct user_svc *s = m ? user_svc(m) : NULL;
	if (s)
		s->bugs = bugs;
}
