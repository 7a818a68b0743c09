/* SPDX-License-Identifier: MIT */
/*
 * The coherence checker: named invariants over page tables and TLBs.
 * Off, it costs nothing on the access path and the machine behaves like
 * hardware (stale entries are used silently).
 */
#ifndef VMLAB_CHECKER_H
#define VMLAB_CHECKER_H

#include "machine.h"

enum vmlab_check {
	VMLAB_CHECK_STALE_ACCESS,
	VMLAB_CHECK_FREED_FRAME_REACHABLE,
	VMLAB_CHECK_WX_ALIAS,
	VMLAB_CHECK_SECONDARY_STALE,
	VMLAB_CHECK_KASAN,
	/* arm64: a live translation changed without break-before-make
	 * (valid -> valid of another output, size or memory type, or
	 * invalid -> new while a TLB still holds the old one). */
	VMLAB_CHECK_BBM,
	VMLAB_NR_CHECKS
};

const char *vmlab_check_name(enum vmlab_check c); /* "stale-access", ... */

struct vmlab_report {
	enum vmlab_check check;
	int cpu;
	u64 va;
	u64 pfn;
	enum vmlab_access access;
	u64 seq;    /* event number at which it was found */
	char *text; /* the whole splat, kernel style */
};

void vmlab_checker_enable(struct vmlab_machine *m, bool on);
bool vmlab_checker_enabled(const struct vmlab_machine *m);
size_t vmlab_nr_reports(const struct vmlab_machine *m);
size_t vmlab_nr_reports_of(const struct vmlab_machine *m, enum vmlab_check c);
const struct vmlab_report *vmlab_get_report(const struct vmlab_machine *m,
					    size_t i);
void vmlab_clear_reports(struct vmlab_machine *m);
/* Print every report to the FILE * given. */
void vmlab_print_reports(const struct vmlab_machine *m, void *file);

/*
 * Upper layers describe what they are doing so reports can name it:
 * "vfree", "set_memory_rw", ...  The label stays until the next call.
 */
void vmlab_checker_set_op(struct vmlab_machine *m, int cpu, const char *op);

/*
 * Lazy windows: the vmalloc layer declares [start, end) as lazily freed
 * (unmapped, flush deferred to a purge).  Stale TLB entries there are real
 * kernel behaviour: they are reported only when an access through one
 * reaches a frame that was reallocated since the entry was filled, and a
 * free of a frame they still translate to is not a finding.
 */
void vmlab_checker_lazy_add(struct vmlab_machine *m, u64 start, u64 end);

/*
 * One CPA call (set_memory_*): W+X that its own stores create is judged
 * when the call ends (after its flush), as Linux changes the primary
 * mapping before the alias inside the call.  Nests; TLB fills during the
 * call are judged at once.
 */
void vmlab_checker_cpa_begin(struct vmlab_machine *m);
void vmlab_checker_cpa_end(struct vmlab_machine *m);
void vmlab_checker_lazy_del(struct vmlab_machine *m, u64 start, u64 end);

/*
 * Temporary mms (x86 text_poke's poking_mm).  A poke on cpu declares the
 * writable aliases it installs in mm at [start, end): while mm runs on no
 * other CPU they are not W+X findings.  At poke_end the checker reports,
 * as wx-alias, a temporary mm still loaded anywhere, an alias left in its
 * page table, and a writable alias of text still reachable in a TLB (the
 * flush after switching back never came).
 */
struct vmlab_checker_alias {
	u64 va, pfn, npages; /* va -> pfn.. (npages small pages) */
};
void vmlab_checker_poke_begin(struct vmlab_machine *m, int cpu,
			      struct vmlab_mm *mm, u64 start, u64 end,
			      const struct vmlab_checker_alias *runs,
			      int nr_runs);
void vmlab_checker_poke_end(struct vmlab_machine *m, int cpu,
			    struct vmlab_mm *mm);
/* The mm is going away: forget it. */
void vmlab_checker_temp_mm_forget(struct vmlab_machine *m,
				  struct vmlab_mm *mm);

/* Upper layers report their own findings (kasan, secondary-stale). */
void vmlab_checker_report(struct vmlab_machine *m, enum vmlab_check check,
			  int cpu, u64 va, u64 pfn, enum vmlab_access access,
			  const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

#endif
