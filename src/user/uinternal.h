/* SPDX-License-Identifier: MIT */
/*
 * Internals of the user address-space layer (src/user/).  Its state lives
 * in the VMLAB_SVC_USER slot of the machine and in the mm, VMA and file
 * objects, all freed by their destroy paths.
 */
#ifndef VMLAB_USER_INTERNAL_H
#define VMLAB_USER_INTERNAL_H

#include <stdlib.h>

#include "machine/internal.h"
#include "vmlab/mmu_notifier.h"
#include "vmlab/user.h"
#include "vmlab/userfaultfd.h"

/* The top of an mm's user space: its machine's (vmlab_layout()
 * task_size; x86-64 4-level (1 << 47) - PAGE_SIZE, arm64 48-bit 1 << 48). */
#define TASK_SIZE_OF(mm) ((mm)->task_size)
/* The end of the user half of the address space, what exit_mmap() tears
 * down to (USER_PGTABLES_CEILING): x86 TASK_SIZE + PAGE_SIZE, arm64
 * TASK_SIZE. */
#define USER_VA_END(mm) vmlab_user_va_end((mm)->m)
#define MMAP_MIN_ADDR 65536ULL         /* vm.mmap_min_addr default */
#define MAX_MAP_COUNT 65530ULL         /* vm.max_map_count default */
#define MMAP_GAP_MIN (128ULL << 20)    /* mmap_base(): SIZE_128M */
#define STACK_GUARD_GAP (256ULL << 12) /* stack_guard_gap: 256 pages */
#define USER_MM_MAGIC 0x75736572206d6d00ULL

#define VM_ACCESS_FLAGS (VMLAB_VM_READ | VMLAB_VM_WRITE | VMLAB_VM_EXEC)
#define VM_LOCKED_MASK (VMLAB_VM_LOCKED | VMLAB_VM_LOCKONFAULT)
/* VM_STICKY: kept on a merge if either side has them; a difference in
 * them does not prevent merging (VM_IGNORE_MERGE). */
#define VM_STICKY (VMLAB_VM_SOFTDIRTY | VMLAB_VM_MAYBE_GUARD)
/* VM_COPY_ON_FORK: page tables fork must copy (tested on the child). */
#define VM_COPY_ON_FORK                                                      \
	(VMLAB_VM_PFNMAP | VMLAB_VM_MIXEDMAP | VMLAB_VM_MAYBE_GUARD)

#define PAGES(x) ((x) >> VMLAB_PAGE_SHIFT)
#define PAGE_ALIGN_UP(x) (((x) + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK)

/* Page ownership tags (struct vmlab_page.owner) and private_ bits. */
#define PG_OWNER_ANON 'A'
#define PG_OWNER_FILE 'F'
#define PG_OWNER_ZERO 'Z'
#define PGP_ANON_EXCLUSIVE (1ULL << 0) /* PageAnonExclusive */
#define PGP_LAZYFREE (1ULL << 1)       /* MADV_FREE'd, clean: droppable */
#define PGP_THP (1ULL << 2) /* head of a PMD-sized anonymous folio (order 9) */
#define PGP_HUGETLB (1ULL << 3) /* head of a 2 MiB hugetlb folio (pool page) */
#define PG_OWNER_HUGETLB 'H'
/* a page-cache page of a regular file: MM_FILEPAGES, not MM_SHMEMPAGES */
#define PGP_REGFILE (1ULL << 5)
/* A page of a THP whose PMD was split, the folio not yet split
 * (deferred_split.c); HELD: no longer used, kept until then. */
#define PGP_FOLIO_PART (1ULL << 6)
#define PGP_FOLIO_HELD (1ULL << 7)
#define HPAGE_PMD_ORDER 9
#define HPAGE_PMD_NR 512ULL
/* mTHP orders with an anonymous control: 2 .. HPAGE_PMD_ORDER. */
#define MTHP_MIN_ORDER 2
#define MTHP_NR_ORDERS (HPAGE_PMD_ORDER + 1)
#define HPAGE_PMD_MASK (~(VMLAB_PMD_SIZE - 1))

/* ------------------------------------------------------------ objects */

struct uanon_vma {
	u64 id;
	int refs; /* VMAs whose vma->anon_vma is this */
};

struct vmlab_vma {
	u64 vm_start, vm_end; /* [start, end) */
	u64 vm_pgoff;
	u64 vm_flags;
	struct uanon_vma *anon_vma;
	int anon_chain; /* length of the anon_vma_chain (1: singular) */
	struct vmlab_file *file;
	struct vmlab_user_mm *mm;
	/* the VMA tree: AVL by vm_start, augmented with the largest gap */
	struct vmlab_vma *left, *right;
	int height;
	u64 gap;     /* vm_start - end of the previous VMA (or 0) */
	u64 max_gap; /* largest gap in this subtree */
	/* address order */
	struct vmlab_vma *prev, *next;
	/* the file's i_mmap list */
	struct vmlab_vma *f_prev, *f_next;
	/* the per-VMA lock (mmap_lock.c): vm_lock.owner counts the readers
	 * (vm_refcnt less the attached reference); write-locked while
	 * vm_lock_seq equals the mm's mm_lock_seq */
	struct vmlab_lock vm_lock;
	u64 vm_lock_seq;
	/* vm_userfaultfd_ctx: set exactly when VM_UFFD_FLAGS are */
	struct vmlab_uffd *uffd_ctx;
	/* VM_HUGETLB: the reservation map and (shared) page cache of the
	 * hugetlbfs inode behind it (hugetlb.c); NULL when none */
	struct hugetlb_obj *hugetlb;
};

/* Page-cache slot of a file: 0 hole, pfn << 1 a page, off << 1 | 1 swap. */
#define FSLOT_CHUNK 512

#define FILE_MAGIC 0x6d656d66645f6f62ULL

struct vmlab_file {
	u64 magic;
	struct user_svc *svc;
	u64 id;
	char name[64];
	bool anon_shared; /* MAP_SHARED|MAP_ANONYMOUS object ("/dev/zero") */
	/* a regular file whose f_op->get_unmapped_area is
	 * thp_get_unmapped_area() (ext4, xfs, btrfs): 2 MiB alignment */
	bool thp_area;
	int refs;         /* handles + mappings */
	u64 size;         /* i_size */
	u64 **chunk;      /* slots, FSLOT_CHUNK per chunk, on demand */
	u64 nr_chunks;
	u64 nr_cached, nr_swapped;
	/* shmem_inode_info.seals (F_SEAL_*; F_SEAL_SEAL unless created
	 * MFD_ALLOW_SEALING) and whether any of i_mode's x bits is set */
	unsigned int seals;
	bool exec_mode;
	struct vmlab_vma *mappings; /* i_mmap */
	struct vmlab_file *next, *prev;
	/* regfile.c: an open file description of a regular file names the
	 * inode it opened (NULL: the object is its own inode, as a memfd
	 * or an inode is) and its FMODE_READ / FMODE_WRITE; an inode of
	 * the model's disk filesystem keeps its path while linked (the
	 * name holds one reference) */
	struct vmlab_file *inode;
	unsigned int f_mode;
	bool regular, linked;
};

#define FMODE_READ 0x1U
#define FMODE_WRITE 0x2U

/* file_inode(): where the page cache and the mappings of f live. */
static inline struct vmlab_file *file_inode(struct vmlab_file *f)
{
	return f->inode ? f->inode : f;
}

struct vmlab_user_mm {
	u64 magic;
	struct user_svc *svc;
	struct vmlab_machine *m;
	struct vmlab_mm *hw;
	u64 pid;
	int cpu; /* where its syscalls run */
	struct vmlab_vma *root;
	struct vmlab_vma *first, *last;
	u64 map_count;
	u64 task_size; /* TASK_SIZE */
	u64 mmap_base;
	/* layout (vmlab_user_set_layout()): the bottom-up search start, the
	 * gap kept below stacks, the heap and the lowest mappable address */
	u64 mmap_legacy_base;
	u64 stack_guard_gap;
	u64 start_brk, brk;
	u64 mmap_min_addr;
	bool mmap_topdown; /* MMF_TOPDOWN */
	u64 total_vm, locked_vm;
	/* def_flags: VM_LOCKED(|VM_LOCKONFAULT) after mlockall(MCL_FUTURE),
	 * or'ed into every new VMA; not inherited over fork */
	u64 def_flags;
	u64 rss_anon, rss_file, rss_shmem, swap_ents;
	/* the task's descriptor table, pidfds only: fds[n] is the pid pidfd
	 * n refers to (0: free; 0-2 are stdio, never pidfds) */
	u64 *fds;
	int nr_fds;
	u64 caps; /* capabilities, 1 << VMLAB_CAP_* */
	bool thp_disable; /* MMF_DISABLE_THP: prctl(PR_SET_THP_DISABLE) */
	struct vmlab_user_stats ev; /* event counters only */
	/* mmap_lock, and mm_lock_seq: bumped as the write lock is released
	 * (vma_end_write_all), so every VMA write lock of the cycle ends */
	struct vmlab_rwsem mmap_lock;
	u64 mm_lock_seq;
	/* The PTE-table lock as a scheduler lock where a race is on it
	 * (zap_pte_range() against migrate_vma_collect_pmd()'s flush):
	 * pte_table_lock() below.  user_ptl() elsewhere. */
	struct vmlab_lock pte_lock;
	bool fatal_signal; /* SIGKILL pending (vmlab_user_kill) */
	/* tlb_flush_batched: reclaim unmapped PTEs of this mm with the flush
	 * batched (set_tlb_ubc_flush_pending); the next PTE-lock holder that
	 * changes PTEs flushes the mm (flush_tlb_batched_pending) */
	bool tlb_flush_batched;
	/* the rmap lock (anon_vma root lock / i_mmap_rwsem, one per mm
	 * here): kswapd's rmap walk reads it, mremap's page-table moves
	 * write it (take_rmap_locks) */
	struct vmlab_rwsem rmap_lock;
	struct vmlab_user_mm *next, *prev;
};

struct swap_area {
	bool ready;
	u64 nr_slots;
	u64 used;
	u32 *count;  /* swap_map: references per slot, 0 free */
	u8 **data;   /* slot contents, NULL: all zero */
	u64 cursor;  /* next-fit search start */
};

struct user_svc {
	struct vmlab_machine *m;
	u64 zero_pfn;
	vmlab_fault_fn prev_fn;
	void *prev_ctx;
	struct vmlab_user_mm *mms;
	struct vmlab_file *files;
	u64 next_pid, next_anon_id, next_file_id;
	struct swap_area swap;
	struct vmlab_siginfo *sig; /* per CPU: last signal delivered */
	unsigned int bugs;
	u64 fault_around_pages; /* fault_around_bytes / PAGE_SIZE */
	/* per CPU: mmap_lock nesting, and whether taking the outermost one
	 * dropped the caller's operation lock (mmap_lock.c) */
	int *mlock_depth;
	bool *op_dropped;
	bool guard_write_lock; /* vmlab_user_set_guard_lock() */
	bool no_per_vma_lock; /* vmlab_user_set_per_vma_lock(m, false) */
	/* /sys/kernel/mm/transparent_hugepage/: enabled, use_zero_page, the
	 * huge zero folio (allocated on first use), khugepaged's knobs and
	 * its scan cursor (an mm's pid and an address), /proc/vmstat thp_* */
	int thp_enabled; /* VMLAB_THP_* */
	bool thp_use_zero_page;
	u64 huge_zero_pfn; /* 0: not allocated */
	u64 huge_zero_maps;
	struct vmlab_khugepaged_params khp;
	u64 khp_pid, khp_addr;
	struct vmlab_thp_vmstat thp;
	/* former THPs on the deferred split queue, by head pfn */
	struct deferred_folio *dfolio;
	u64 nr_dfolio, cap_dfolio;
	/* hugepages-<size>kB/: enabled (VMLAB_THP_*) and stats, by order */
	int mthp_enabled[MTHP_NR_ORDERS];
	int shmem_huge; /* shmem_enabled: VMLAB_SHMEM_HUGE_* */
	struct vmlab_mthp_stats mthp[MTHP_NR_ORDERS];
	/* the 2 MiB hstate's pool (hugetlb.c): /proc/meminfo HugePages_* */
	struct hugetlb_pool {
		u64 nr, free, resv, surplus, overcommit;
		u64 *free_list; /* head pfns of the free pages, LIFO */
		u64 cap;
	} hp;
	struct vmlab_user_cost cost;
	/* userfaultfd.c: live contexts, vm.unprivileged_userfaultfd, the
	 * faults queued that are to sleep once their locks are dropped (by
	 * CPU and task), and per CPU the unaligned address of the user
	 * fault being handled */
	struct vmlab_uffd *uffds;
	bool unpriv_uffd;
	struct uffd_waiter *uffd_unslept;
	u64 *uffd_real;
};

/* ------------------------------------------------------------- mm.c */

struct user_svc *user_svc(struct vmlab_machine *m); /* creates on demand */
struct user_svc *user_svc_peek(struct vmlab_machine *m);
/* Enter a syscall: load the mm on its CPU, count it. */
void user_enter(struct vmlab_user_mm *mm, const char *op);
void user_ensure_loaded(struct vmlab_user_mm *mm, int cpu);
struct vmlab_user_mm *user_mm_alloc(struct user_svc *s, int *err);
void exit_mmap(struct vmlab_user_mm *mm);

/* ------------------------------------------------------ mmap_lock.c */

/* The CPU the calling code runs on for mm: inside a scheduler run the
 * running program's, when mm is loaded there (several threads of one mm
 * run its syscalls at once), else the mm's own. */
static inline int user_cpu(const struct vmlab_user_mm *mm)
{
	const struct vmlab_machine *m = mm->m;
	if (m->sched_task && m->sched_cpu >= 0 && m->sched_cpu != mm->cpu &&
	    m->sched_cpu < m->nr_cpus &&
	    m->cpu[m->sched_cpu].loaded_mm == mm->hw)
		return m->sched_cpu;
	return mm->cpu;
}
void mmap_read_lock(struct vmlab_user_mm *mm);
void mmap_read_unlock(struct vmlab_user_mm *mm);
/* mmap_write_lock_killable(): 0 or -EINTR (a fatal signal pending). */
int mmap_write_lock_killable(struct vmlab_user_mm *mm);
void mmap_write_lock(struct vmlab_user_mm *mm);
void mmap_write_unlock(struct vmlab_user_mm *mm);
static inline bool mmap_write_locked(const struct vmlab_user_mm *mm)
{
	return vmlab_rwsem_is_write_locked(&mm->mmap_lock);
}
/* Per-VMA locks (include/linux/mmap_lock.h). */
bool vma_start_read(struct vmlab_vma *v);
void vma_end_read(struct vmlab_vma *v);
static inline bool vma_is_write_locked(const struct vmlab_vma *v)
{
	return v->vm_lock_seq == v->mm->mm_lock_seq;
}
/* Under the mmap write lock: mark v write-locked for the rest of the
 * cycle and wait for its readers to leave. */
void vma_start_write(struct vmlab_vma *v);
/* Every VMA meeting [start - PAGE_SIZE, end + PAGE_SIZE): those the
 * write-locked operation may change (its range and the neighbours it
 * may merge with or split). */
void vma_start_write_range(struct vmlab_user_mm *mm, u64 start, u64 end);
void vma_start_write_all(struct vmlab_user_mm *mm);
/* lock_vma_under_rcu(): the VMA at addr read-locked, or NULL (fall back
 * to mmap_lock). */
struct vmlab_vma *lock_vma_under_rcu(struct vmlab_user_mm *mm, u64 addr);
int user_lock_svc_init(struct user_svc *s); /* the per-CPU arrays: 0, -ENOMEM */
/* struct vmlab_mm.walk_lock of a user mm: a page walk's lock mode. */
void user_walk_lock(struct vmlab_mm *hw, u64 start, u64 end, int mode);

/* ------------------------------------------------------- vma_tree.c */

struct vmlab_vma *find_vma(struct vmlab_user_mm *mm, u64 addr);
struct vmlab_vma *vma_lookup(struct vmlab_user_mm *mm, u64 addr);
struct vmlab_vma *find_vma_intersection(struct vmlab_user_mm *mm, u64 start,
					u64 end);
void vt_insert(struct vmlab_user_mm *mm, struct vmlab_vma *v);
void vt_erase(struct vmlab_user_mm *mm, struct vmlab_vma *v);
/* v's vm_start and/or vm_end changed in place (order preserved). */
void vt_changed(struct vmlab_user_mm *mm, struct vmlab_vma *v);
/* Highest / lowest gap of len bytes within [low, high); -ENOMEM. */
s64 vt_gap_topdown(struct vmlab_user_mm *mm, u64 len, u64 low, u64 high);
s64 vt_gap_bottomup(struct vmlab_user_mm *mm, u64 len, u64 low, u64 high);
void vt_validate(struct vmlab_user_mm *mm); /* VMLAB_DEBUG only */

/* ------------------------------------------------------------ vma.c */

struct vmlab_vma *vma_alloc(struct vmlab_user_mm *mm);
void vma_free(struct vmlab_vma *v); /* unlinked already */
/* Insert a new VMA into the tree and its file's i_mmap. */
void vma_link(struct vmlab_user_mm *mm, struct vmlab_vma *v);
/* Remove from tree and i_mmap, drop the file and anon_vma refs, free. */
void vma_remove(struct vmlab_user_mm *mm, struct vmlab_vma *v);
int anon_vma_prepare(struct vmlab_vma *v);
void vma_set_anon(struct vmlab_vma *v, struct uanon_vma *av, int chain);
static inline bool vma_is_fork_child(const struct vmlab_vma *v)
{
	return v && v->anon_vma && v->anon_chain != 1;
}
static inline bool vma_is_anonymous(const struct vmlab_vma *v)
{
	/* A hugetlb VMA has a (hugetlbfs) file and vm_ops in Linux. */
	return !v->file && !(v->vm_flags & VMLAB_VM_HUGETLB);
}
static inline u64 vma_pages(const struct vmlab_vma *v)
{
	return PAGES(v->vm_end - v->vm_start);
}
static inline u64 linear_page_index(const struct vmlab_vma *v, u64 addr)
{
	return PAGES(addr - v->vm_start) + v->vm_pgoff;
}
/* split_vma(): 0, -ENOMEM (map count limit when check_count). */
int split_vma(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr,
	      bool new_below, bool check_count);
/* vma_merge_new_range(): the expanded VMA, or NULL. */
struct vmlab_vma *vma_merge_new_range(struct vmlab_user_mm *mm,
				      struct vmlab_vma *prev,
				      struct vmlab_vma *next, u64 start,
				      u64 end, u64 flags,
				      struct vmlab_file *file, u64 pgoff,
				      struct uanon_vma *anon, int anon_chain);
/* copy_vma()'s merge: the range [start, end) brings src's flags, file and
 * anon_vma. */
struct vmlab_vma *vma_merge_copied_range(struct vmlab_user_mm *mm,
					 struct vmlab_vma *src,
					 struct vmlab_vma *prev,
					 struct vmlab_vma *next, u64 start,
					 u64 end, u64 pgoff);
/* vma_modify_flags(): merge or split so [start, end) is one VMA, set its
 * flags; the VMA or NULL with *err set. */
struct vmlab_vma *vma_modify_flags(struct vmlab_user_mm *mm,
				   struct vmlab_vma *prev, struct vmlab_vma *v,
				   u64 start, u64 end, u64 newflags, int *err);
/* ... and its vm_userfaultfd_ctx (UFFDIO_REGISTER / UNREGISTER). */
struct vmlab_vma *vma_modify_flags_uffd(struct vmlab_user_mm *mm,
					struct vmlab_vma *v, u64 start,
					u64 end, u64 newflags,
					struct vmlab_uffd *uffd, int *err);
vmlab_pgprot_t vm_get_page_prot(u64 vm_flags);

/* -------------------------------------------------------- upgtable.c */

/* Deferred page puts and table frees, flushed by the mmu_gather. */
#define UG_INLINE 32

struct ugather {
	struct vmlab_mmu_gather tlb;
	struct vmlab_user_mm *mm;
	u64 *put; /* inline[] until it overflows to the heap */
	size_t nput, cap;
	u64 inline_[UG_INLINE];
};
void ug_init(struct ugather *g, struct vmlab_user_mm *mm, int cpu);
void ug_add_range(struct ugather *g, u64 start, u64 end);
/* tlb_remove_pmd_tlb_entry(): a huge PMD's range at PMD stride. */
void ug_add_range_pmd(struct ugather *g, u64 haddr);
void ug_put_page(struct ugather *g, u64 pfn);
void ug_finish(struct ugather *g);
/* A mutant's missing flush: forget what the gather would flush. */
void ug_drop_flush(struct ugather *g);
/* flush_tlb_mm_range() of the mm's 4 KiB pages: the architecture's flush
 * code tells the secondary TLBs too (6.6+, observer mm_flush). */
void user_flush_tlb_mm_range(struct vmlab_user_mm *mm, u64 start, u64 end);
/* set_tlb_ubc_flush_pending(): one unmapped PTE of mm into reclaim's
 * batch (flushed by vmlab_tlbbatch_flush() before the pages are freed). */
void user_tlbbatch_add(struct vmlab_user_mm *mm, struct vmlab_tlbbatch *b);
/* flush_tlb_batched_pending(): called with a PTE table's lock before its
 * PTEs change (3ea277194daa): a PTE reclaim cleared may still be cached
 * while its flush waits in reclaim's batch; flush the mm once. */
void flush_tlb_batched_pending(struct vmlab_user_mm *mm);

/* MMU notifier ranges of a user-mm operation (mm/mmu_notifier.c callers):
 * r is initialised and started; end it with user_mn_end(). */
static inline void user_mn_start(struct vmlab_user_mm *mm,
				 struct vmlab_mmu_notifier_range *r,
				 enum vmlab_mmu_notifier_event ev, u64 start,
				 u64 end)
{
	vmlab_mmu_notifier_range_init(r, mm->m, ev, 0, mm->hw, user_cpu(mm), start,
				      end);
	if (vmlab_mm_has_notifiers(mm->hw))
		vmlab_mmu_notifier_invalidate_range_start(r);
}
static inline void user_mn_end(struct vmlab_mmu_notifier_range *r)
{
	if (vmlab_mm_has_notifiers(r->mm))
		vmlab_mmu_notifier_invalidate_range_end(r);
}
/* The page-table lock around PTE updates (the notifiers layer checks
 * that no sleeping callback runs inside). */
static inline void user_ptl(struct vmlab_user_mm *mm, bool lock)
{
	vmlab_mmu_notifier_ptl(mm->hw, lock);
}

/* pte_offset_map_lock() / pte_unmap_unlock() where another CPU's PTL
 * section may be waited for (a holder that yields, as a flush's IPI does,
 * makes the others wait); also user_ptl(). */
static inline void pte_table_lock(struct vmlab_user_mm *mm, bool lock)
{
	if (lock) {
		vmlab_lock_take_quiet(mm->m, user_cpu(mm), &mm->pte_lock,
				      "pte_offset_map_lock");
		user_ptl(mm, true);
	} else {
		user_ptl(mm, false);
		vmlab_lock_drop_quiet(mm->m, &mm->pte_lock, "pte_unmap_unlock");
	}
}

/* The PTE for addr if its table exists (0), else -ENOENT. */
int upte_lookup(struct vmlab_user_mm *mm, u64 addr, vmlab_ptep_t *ptep);
/* The PTE for addr, allocating tables; 0 or -ENOMEM. */
int upte_alloc(struct vmlab_user_mm *mm, u64 addr, vmlab_ptep_t *ptep);
/* upte_alloc() when the caller walked to addr's PMD entry already (pmdp,
 * 0 if not): a table there gives the PTE without a walk from the top. */
int upte_alloc_pmd(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 addr,
		   vmlab_ptep_t *ptep);
/* The entry at `level` for addr, allocating the tables above it. */
int upt_alloc_level(struct vmlab_user_mm *mm, u64 addr, int level,
		    vmlab_ptep_t *ptep);
static inline u64 upte_get(struct vmlab_user_mm *mm, vmlab_ptep_t p)
{
	return vmlab_get_entry(mm->m, p);
}
static inline void upte_set(struct vmlab_user_mm *mm, u64 addr,
			    vmlab_ptep_t p, u64 val)
{
	vmlab_set_entry(mm->m, mm->hw, addr, VMLAB_LVL_PTE, p, val);
}
/* A PTE table's entries read in place: one frame lookup for the table,
 * not one per entry as vmlab_get_entry() makes (reads only: stores still
 * go through upte_set()).  NULL for a "table" past RAM (garbage in its
 * PMD): upt_entry() then reads entry by entry, with get_entry's warning. */
static inline const u64 *upt_entries(struct vmlab_user_mm *mm, u64 table)
{
	struct vmlab_machine *m = mm->m;
	if (unlikely(table >= m->phys.nr_frames))
		return NULL;
	return (const u64 *)(const void *)frame_content(m, table, false);
}
/* Entry va of table, through ents = upt_entries(mm, table). */
static inline u64 upt_entry(struct vmlab_user_mm *mm, const u64 *ents,
			    u64 table, u64 va)
{
	u64 e = ents ? ents[(va >> VMLAB_PAGE_SHIFT) &
			   (VMLAB_PTRS_PER_TABLE - 1)] :
		       vmlab_get_entry(mm->m,
				       entry_addr(table, va, VMLAB_LVL_PTE));
	assert(!VMLAB_DEBUG_CHECKS ||
	       e == vmlab_get_entry(mm->m,
				    entry_addr(table, va, VMLAB_LVL_PTE)));
	return e;
}
/* Call fn for each PTE table under [start, end): table pfn and the
 * subrange it covers.  Non-zero from fn stops the walk. */
typedef int (*pt_fn)(struct vmlab_user_mm *mm, u64 table, vmlab_ptep_t pmdp,
		     u64 lo, u64 hi, void *arg);
/* A huge PMD leaf e at pmdp met over [lo, hi): 0 handled, PT_SPLIT to
 * have it split (split_huge_pmd) and fn called on the new table, other
 * non-zero values stop the walk. */
#define PT_SPLIT 0x5350
typedef int (*pmd_fn)(struct vmlab_user_mm *mm, vmlab_ptep_t pmdp, u64 e,
		      u64 lo, u64 hi, void *arg);
int for_each_pmd(struct vmlab_user_mm *mm, u64 start, u64 end, pt_fn fn,
		 pmd_fn hfn, void *arg);
/* for_each_pmd() without a huge callback: huge PMDs in the range are
 * split first. */
int for_each_pte_table(struct vmlab_user_mm *mm, u64 start, u64 end,
		       pt_fn fn, void *arg);
/* free_pgtables(): free page-table pages covering [start, end) that lie
 * wholly in [floor, ceiling) (ceiling 0: top of the user half). */
void free_pgtables(struct ugather *g, u64 start, u64 end, u64 floor,
		   u64 ceiling);
u64 count_pgtables(struct vmlab_user_mm *mm);

/* Page references. */
void page_get(struct vmlab_machine *m, u64 pfn);
/* Drop a reference now (the caller has flushed any translation). */
void page_put(struct vmlab_machine *m, int cpu, u64 pfn);
static inline struct vmlab_page *upage(struct vmlab_machine *m, u64 pfn)
{
	return vmlab_pfn_to_page(m, pfn);
}
/* The page a present user PTE maps, or NULL when no mapped user page is
 * there (garbage written into the table: a frame past RAM, free, or not
 * mapped by any user PTE); vm_normal_page()'s print_bad_pte case. */
static inline struct vmlab_page *mapped_upage(struct vmlab_machine *m,
					      u64 pfn)
{
	struct vmlab_page *pg = upage(m, pfn);
	if (!pg || pg->refcount <= 0 || pg->mapcount <= 0 ||
	    (pg->owner != PG_OWNER_ANON && pg->owner != PG_OWNER_FILE))
		return NULL;
	return pg;
}
int alloc_user_page(struct vmlab_user_mm *mm, int cpu, u64 *pfn);
void clear_user_frame(struct vmlab_machine *m, u64 pfn); /* clear_page() */
void copy_page_content(struct vmlab_machine *m, u64 dst, u64 src);
/* PTE helpers */
u64 mk_upte(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot);
bool is_zero_pfn(struct vmlab_user_mm *mm, u64 pfn);
void rss_add(struct vmlab_user_mm *mm, u64 pfn, s64 d);

/* ------------------------------------------------------------ zap.c */

struct zap_details {
	bool drop_markers; /* ZAP_FLAG_DROP_MARKER: munmap, exit */
	bool even_cows;    /* also private anon pages of file mappings */
	bool reclaim_pt;   /* free wholly-covered PTE tables left empty */
	struct vmlab_file *only_file; /* unmap_mapping_range: this file's */
	u64 first_index, last_index;  /* ... pages in [first, last] */
};
/* Zap [start, end) inside v into g. */
void zap_vma_range(struct ugather *g, struct vmlab_vma *v, u64 start,
		   u64 end, const struct zap_details *d);
/* zap_page_range_single(): own gather, flushed and finished. */
void zap_page_range_single(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			   u64 start, u64 end, const struct zap_details *d);
/* unmap_vmas(): zap [start, end) of first and the VMAs after it that
 * intersect the range, markers included (munmap, exit). */
void unmap_vmas(struct ugather *g, struct vmlab_vma *first, u64 start,
		u64 end);
/* change_protection() of [start, end) in v to v's current flags. */
void change_protection(struct ugather *g, struct vmlab_vma *v, u64 start,
		       u64 end, bool try_writable);
/* unmap_mapping_range(): every mapping of pages [first, last] of f. */
void unmap_mapping_range(struct vmlab_file *f, u64 first, u64 last,
			 bool even_cows);

/* ----------------------------------------------------------- mmap.c */

int do_munmap(struct vmlab_user_mm *mm, u64 start, u64 len);
/* vm_start_gap(): where v's guard gap below starts (its vm_start unless
 * it grows down). */
u64 vm_start_gap(const struct vmlab_user_mm *mm, const struct vmlab_vma *v);
/* __mm_populate(): fault in [start, start+len). */
int mm_populate(struct vmlab_user_mm *mm, u64 start, u64 len,
		bool ignore_errors);
s64 get_unmapped_area(struct vmlab_user_mm *mm, struct vmlab_file *file,
		      u64 addr, u64 len, u64 pgoff, int flags);
s64 mmap_region(struct vmlab_user_mm *mm, struct vmlab_file *file, u64 addr,
		u64 len, u64 vm_flags, u64 pgoff);

/* ---------------------------------------------------------- fault.c */

enum vmlab_fault_ret user_fault_handler(struct vmlab_machine *m,
					const struct vmlab_fault *f,
					void *ctx);
/* Map a freshly allocated exclusive anonymous page at the none PTE p. */
void map_new_anon(struct vmlab_user_mm *mm, vmlab_ptep_t p, u64 addr,
		  u64 pfn, vmlab_pgprot_t prot);
/* handle_mm_fault(): 0 or a signal (VMLAB_SIGSEGV / VMLAB_SIGBUS), si_code
 * in *code. */
int handle_mm_fault(struct vmlab_user_mm *mm, int cpu, u64 addr, bool write,
		    bool fetch, bool prot, int *code);
/* do_user_addr_fault(): handle_mm_fault() under the VMA's read lock, or
 * under mmap_lock when that cannot be had. */
int user_addr_fault(struct vmlab_user_mm *mm, int cpu, u64 addr, bool write,
		    bool fetch, bool prot, int *code);
/* get_user_pages-style fault-in of one page for populate/mlock:
 * 0, -EFAULT (the fault gives a signal), -ENOMEM. */
int faultin_page(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr,
		 bool write);

/* --------------------------------------------------------- madvise.c */

/* process_madvise()'s loop over imported segments totalling `total`
 * bytes (each at most MAX_RW_COUNT): bytes advised, or -errno if none. */
s64 vector_madvise(struct vmlab_user_mm *caller, struct vmlab_user_mm *mm,
		   const struct vmlab_iovec *iov, size_t nr_segs, u64 total,
		   int advice);
/* The kernel's restart code: never returned to a caller of the model. */
#define VMLAB_ERESTARTNOINTR 513

/* ----------------------------------------------------------- pidfd.c */

/* fork(): the child gets a copy of the parent's descriptor table. */
int pidfd_dup_table(struct vmlab_user_mm *child,
		    const struct vmlab_user_mm *parent);
void pidfd_free_table(struct vmlab_user_mm *mm);

/* ----------------------------------------------------------- guard.c */

int madvise_guard_install(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			  u64 start, u64 end);
int madvise_guard_remove(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			 u64 start, u64 end);
static inline bool is_guard_marker(const struct vmlab_pte_info *in)
{
	return in->kind == VMLAB_PTE_MARKER &&
	       (in->marker & VMLAB_PTE_MARKER_GUARD);
}

/* ---------------------------------------------------- huge_memory.c */

/* thp_vma_allowable_order()'s callers (TVA_*). */
enum tva_type { TVA_PAGEFAULT, TVA_KHUGEPAGED, TVA_FORCED_COLLAPSE };
bool thp_vma_allowable(const struct vmlab_vma *v, enum tva_type type);
/* --------------------------------------------------- deferred_split.c */
struct deferred_folio {
	u64 head;    /* pfn of the folio's first page */
	u64 held;    /* pages no longer used, kept allocated */
	bool queued; /* partly mapped: on the deferred split queue */
};
/* The PMD of the THP at head was split: record the folio (false when the
 * host is out of memory: the folio is then split at once). */
bool deferred_folio_add(struct user_svc *s, u64 head);
/* The last reference to a PGP_FOLIO_PART page goes: hold it (the folio
 * is queued), or free the whole folio when it was its last page. */
bool deferred_folio_put(struct user_svc *s, int cpu, u64 pfn);
/* deferred_split_scan(): split every queued folio, freeing its held
 * pages; the number split. */
u64 deferred_split_scan(struct user_svc *s, int cpu);
void deferred_split_destroy(struct user_svc *s);

/* ------------------------------------------------------------ mthp.c */
void mthp_init(struct user_svc *s);
/* Is THP of this order enabled for v by the sysfs modes (the VMA's own
 * exclusions are thp_vma_allowable()'s)? */
bool thp_order_enabled(const struct vmlab_vma *v, int order);
/* alloc_anon_folio() below the PMD order for a write fault at addr whose
 * PTE p is none: 0 and *pfn, *first (the aligned address) and *order
 * (>= MTHP_MIN_ORDER) set, the block split into order-0 pages to map;
 * -ENOENT when no order applies or every allocation failed (the caller
 * maps one page). */
int mthp_alloc_anon(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		    u64 addr, vmlab_ptep_t p, u64 *pfn, u64 *first, int *order);
/* The aligned PMD range at haddr lies wholly inside v. */
static inline bool thp_vma_suitable(const struct vmlab_vma *v, u64 haddr)
{
	return haddr >= v->vm_start && haddr + VMLAB_PMD_SIZE <= v->vm_end;
}
bool is_huge_zero_pfn(const struct vmlab_user_mm *mm, u64 pfn);
/* The fault on addr at the PMD level: true when it was handled there
 * (*ret the fault result), false to go on with the PTE fault (*pmdp
 * then the PMD entry it walked to, for the PTE level). */
bool huge_pmd_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		    u64 addr, bool write, int *ret, vmlab_ptep_t *pmdp);
/* split_huge_pmd(): the huge PMD covering addr (if any) becomes a PTE
 * table of the same pages; 0 or -ENOMEM. */
int split_huge_pmd(struct vmlab_user_mm *mm, u64 addr);
/* Split every huge PMD that [start, end) covers only in part (all of
 * them with whole). */
int thp_split_range(struct vmlab_user_mm *mm, u64 start, u64 end, bool whole);
/* vma_adjust_trans_huge(): a VMA boundary moves to addr. */
void vma_adjust_trans_huge(struct vmlab_user_mm *mm, u64 addr);
/* zap_huge_pmd(), change_huge_pmd(), copy_huge_pmd(). */
void zap_huge_pmd(struct ugather *g, vmlab_ptep_t pmdp, u64 e, u64 haddr);
void change_huge_pmd(struct ugather *g, struct vmlab_vma *v,
		     vmlab_ptep_t pmdp, u64 e, u64 haddr,
		     vmlab_pgprot_t newprot, bool try_writable);
int copy_huge_pmd(struct vmlab_user_mm *dst, struct vmlab_user_mm *src,
		  struct vmlab_vma *sv, vmlab_ptep_t spmdp, u64 e, u64 haddr,
		  struct ugather *src_g);
/* The huge PMD leaf decoded (kind LEAF/PROTNONE, large) or false. */
bool pmd_trans_huge(struct vmlab_machine *m, u64 e,
		    struct vmlab_pte_info *in);
void thp_destroy(struct user_svc *s);
/* A zeroed exclusive order-9 anonymous folio (head: PGP_THP, mapped
 * once); 0 or -ENOMEM. */
int thp_alloc_anon(struct vmlab_user_mm *mm, int cpu, u64 *pfn);
/* Map the new folio pfn by the empty PMD at pmdp: writable and dirty as
 * the VMA allows, rss counted. */
void thp_map_pmd(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 haddr,
		 vmlab_ptep_t pmdp, u64 pfn);

/* The PMD leaf of pfn with prot; flush_pmd_tlb_range() plus the
 * secondary TLBs. */
u64 mk_huge_pmd(struct vmlab_machine *m, u64 pfn, vmlab_pgprot_t prot);
void flush_pmd_range(struct vmlab_user_mm *mm, int cpu, u64 haddr);

/* --------------------------------------------------------- hugetlb.c */

struct hugetlb_obj;
/* ksys_mmap_pgoff()'s MAP_HUGETLB part and hugetlbfs_file_mmap():
 * the huge-page length of the mapping (0 with *err set: EINVAL for an
 * unknown MAP_HUGE_* size). */
u64 hugetlb_mmap_len(int flags, u64 len, int *err);
/* hugetlb_get_unmapped_area() is in mmap.c; this is the reservation
 * (hugetlb_reserve_pages): a new object for the mapping of [pgoff,
 * pgoff + len) or NULL with *err (-ENOMEM: the pool cannot back it,
 * -EINVAL: pgoff not huge-page aligned). */
struct hugetlb_obj *hugetlb_reserve(struct vmlab_user_mm *mm, u64 pgoff,
				    u64 len, u64 vm_flags, int *err);
/* Give back an object mmap_region() did not attach. */
void hugetlb_obj_put(struct user_svc *s, struct hugetlb_obj *o);
/* split_vma() / fork / vma_remove() of a hugetlb VMA. */
void hugetlb_vma_dup(struct vmlab_vma *n, const struct vmlab_vma *v,
		     bool fork);
void hugetlb_vma_close(struct vmlab_vma *v);
/* hugetlb_fault(): 0 or the signal. */
int hugetlb_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		  u64 addr, bool write);
void hugetlb_zap_range(struct ugather *g, struct vmlab_vma *v, u64 start,
		       u64 end);
void hugetlb_change_protection(struct ugather *g, struct vmlab_vma *v,
			       u64 start, u64 end);
int copy_hugetlb_page_range(struct vmlab_user_mm *dst, struct vmlab_vma *dv,
			    struct vmlab_user_mm *src, struct vmlab_vma *sv);
/* free_huge_folio(): a folio's last reference went (page_put). */
void free_huge_folio(struct vmlab_machine *m, int cpu, u64 pfn);
void hugetlb_destroy(struct user_svc *s);
/* MADV_REMOVE of [start, end) of a shared hugetlb VMA: 0. */
int hugetlb_punch_hole(struct vmlab_vma *v, u64 start, u64 end);
/* struct vmlab_mm.walk_skip of a user mm: hugetlb VMAs are skipped. */
u64 hugetlb_walk_skip(struct vmlab_mm *hw, u64 va, u64 end, bool *skip);

/* --------------------------------------------------- hugetlb_share.c */

/* want_pmd_share(): v may share the PMD table of addr's PUD range. */
bool want_pmd_share(const struct vmlab_vma *v, u64 addr);
/* huge_pte_alloc(): the PMD entry for addr, through a table shared with
 * another mm when one qualifies; 0 or -ENOMEM. */
int huge_pte_alloc(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr,
		   vmlab_ptep_t *pmdp);
/* The PMD table of addr is linked by more than one mm. */
bool hugetlb_pmd_shared(struct vmlab_user_mm *mm, u64 addr);
/* huge_pmd_unshare(): true when mm's PUD entry for addr linked a shared
 * table and is now clear; the caller flushes (hugetlb_unshare_flush). */
bool huge_pmd_unshare(struct vmlab_user_mm *mm, struct vmlab_vma *v, u64 addr);
/* tlb_flush_pmd_range() of the PUD range of addr on the gather. */
void hugetlb_unshare_flush(struct ugather *g, u64 addr);

/* ------------------------------------------------------ khugepaged.c */

/* madvise_collapse() over [start, end) of v: 0 or -errno. */
int madvise_collapse(struct vmlab_user_mm *mm, struct vmlab_vma *v,
		     u64 start, u64 end);

/* ----------------------------------------------------- userfaultfd.c */

#define VM_UFFD_FLAGS (VMLAB_VM_UFFD_MISSING | VMLAB_VM_UFFD_WP)
static inline bool userfaultfd_missing(const struct vmlab_vma *v)
{
	return v->uffd_ctx && (v->vm_flags & VMLAB_VM_UFFD_MISSING);
}
/* A fault's result meaning "queued on a userfaultfd: sleep in
 * uffd_wait_fault() once the fault's locks are dropped, then retry". */
#define UFFD_FAULT_WAIT 0x7566
/* handle_userfault() for a missing page at addr (page aligned) of v:
 * UFFD_FAULT_WAIT, or VMLAB_SIGBUS (UFFD_FEATURE_SIGBUS, a kernel fault
 * on a user-mode-only context). */
int handle_userfault(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		     u64 addr, bool write);
/* Sleep until the fault queued on cpu is resolved: 0 (retry it) or a
 * signal with *code. */
int uffd_wait_fault(struct vmlab_user_mm *mm, int cpu, int *code);
/* A fault at addr of v must not take the huge-PMD path (an empty PMD
 * of a missing-registered VMA goes to the PTE level's handle_userfault,
 * as do_huge_pmd_anonymous_page() hands it over). */
bool uffd_skip_huge_fault(struct vmlab_user_mm *mm, struct vmlab_vma *v,
			  u64 addr);
/* mfill_atomic() (uffd_fill.c): fill [dst, dst + len) with src's pages
 * (NULL: zero pages); the bytes filled, or -errno when none were. */
s64 mfill_atomic(struct vmlab_user_mm *mm, u64 dst, const u8 *src, u64 len,
		 bool wp);
/* mremap_userfaultfd_prep() without UFFD_FEATURE_EVENT_REMAP: the moved
 * VMA v loses its registration. */
void uffd_mremap_prep(struct vmlab_vma *v);
void uffd_mm_exit(struct vmlab_user_mm *mm); /* the contexts lose the mm */
/* dup_userfaultfd(): the child's VMA n of parent VMA v is registered on a
 * new context of the child when v's has UFFD_FEATURE_EVENT_FORK (one per
 * parent context, kept on *list), else it is unregistered.  0 or
 * -ENOMEM.  dup_userfaultfd_complete(), once fork dropped its locks:
 * each new context is announced to its parent's reader (UFFD_EVENT_FORK)
 * and the forking task waits until it is read; one nobody reads (or
 * every one, when the fork failed) is released.  *list chains the new
 * contexts. */
int dup_userfaultfd(struct vmlab_vma *n, const struct vmlab_vma *v,
		    struct vmlab_uffd **list);
void dup_userfaultfd_complete(struct vmlab_user_mm *mm,
			      struct vmlab_uffd *list, bool failed);
void uffd_svc_destroy(struct user_svc *s);

/* ------------------------------------------------------------ fork.c */

int copy_page_range(struct vmlab_user_mm *dst, struct vmlab_vma *dv,
		    struct vmlab_user_mm *src, struct vmlab_vma *sv,
		    struct ugather *src_g);

/* ------------------------------------------------------------ file.c */

struct vmlab_file *shmem_zero_setup(struct user_svc *s, u64 size, int *err);
void file_get(struct vmlab_file *f);
/* The page-cache slot of index (0 hole). */
u64 file_slot(const struct vmlab_file *f, u64 index);
u64 *file_slot_ptr(struct vmlab_file *f, u64 index, bool alloc);
/* ------------------------------------------------------- shmem_thp.c */
/* A page of a PMD-sized shmem folio in the page cache (split into
 * order-0 pages at birth; the flag marks the folio until it is split). */
#define PGP_SHMEM_THP (1ULL << 8)
/* Split the huge folios that [first, last] covers in part. */
void shmem_split_partial(struct vmlab_file *f, u64 first, u64 last);
/* The PMD-level fault of a shared shmem mapping: true when handled. */
bool shmem_vma_maybe_huge(const struct vmlab_vma *v);
#define THP_FALLBACK (-1)
/* The empty PMD of a shmem fault at haddr: 0 mapped, THP_FALLBACK. */
int shmem_do_huge_pmd(struct vmlab_user_mm *mm, struct vmlab_vma *v, int cpu,
		      u64 haddr, bool write, vmlab_ptep_t pmdp);
void thp_map_file_pmd(struct vmlab_user_mm *mm, u64 haddr, vmlab_ptep_t pmdp,
		      u64 pfn, vmlab_pgprot_t prot);
/* Find or allocate the page at index: 0 and *pfn, -ENOMEM, -EFBIG. */
int shmem_get_page(struct vmlab_file *f, int cpu, u64 index, u64 *pfn);
void file_link_vma(struct vmlab_file *f, struct vmlab_vma *v);
bool file_vma_linked(const struct vmlab_file *f, const struct vmlab_vma *v);
void file_unlink_vma(struct vmlab_file *f, struct vmlab_vma *v);
void files_destroy(struct user_svc *s);
/* ftruncate() of an inode: 0, -EFBIG, -EPERM (seals). */
int file_setsize(struct vmlab_file *f, u64 size);
/* regfile.c, do_mmap()'s checks of the open mode: 0 or -EACCES; a
 * shared mapping of a description not open for writing loses
 * VM_MAYWRITE and VM_SHARED. */
int file_mmap_access(const struct vmlab_file *fd, int type, int prot,
		     u64 *vm_flags);
/* A new file object linked into the service's list (refs 1). */
struct vmlab_file *file_new(struct user_svc *s, const char *name,
			    bool anon_shared);
/* Move an exclusively mapped shmem page at index to swap (pageout). */
int shmem_writeout(struct vmlab_file *f, int cpu, u64 index);

/* ----------------------------------------------------------- memfd.c */

/* memfd_file_seals_ptr(): shmem files have seals, regular files none. */
static inline bool file_has_seals(const struct vmlab_file *f)
{
	return !f->thp_area;
}
/* vma_is_shmem(): memfd and MAP_SHARED|MAP_ANONYMOUS objects, not
 * regular files. */
static inline bool vma_is_shmem(const struct vmlab_vma *v)
{
	return v->file && file_has_seals(v->file);
}
/* memfd_check_seals_mmap(): -EPERM for a new writable shared mapping of
 * a write-sealed file; a read-only shared one loses VM_MAYWRITE. */
int memfd_check_seals_mmap(struct vmlab_file *f, u64 *vm_flags);
/* shmem_write_begin(), shmem_setattr(), shmem_fallocate(): 0 or -EPERM. */
int seals_check_write(const struct vmlab_file *f, u64 off, u64 len);
int seals_check_resize(const struct vmlab_file *f, u64 new_size);
int seals_check_punch(const struct vmlab_file *f);

/* ------------------------------------------------------------ swap.c */

int swap_alloc_slot(struct user_svc *s, u64 *off);
/* 0, or -ENOMEM (host): the slot keeps its old contents. */
int swap_write(struct user_svc *s, u64 off, const u8 *content);
void swap_read(struct user_svc *s, u64 off, u8 *content);
bool swap_dup(struct user_svc *s, u64 off);
/* Does off name a swap slot in use?  A warning when not. */
bool swap_slot_ok(struct user_svc *s, u64 off);
/* false (with a warning) for an entry naming no slot in use */
bool swap_free(struct user_svc *s, u64 off);
void swap_destroy(struct user_svc *s);
u64 swap_pte(struct vmlab_machine *m, u64 off);

#endif
