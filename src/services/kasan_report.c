/* SPDX-License-Identifier: MIT */
/*
 * KASAN's access check and its reports, after mm/kasan/generic.c
 * (check_region_inline(), memory_is_poisoned_n()), report.c and
 * report_generic.c: the bug type from the first bad shadow byte, the
 * area the address belongs to, where it was allocated and freed (the
 * model remembers the last KASAN_HIST areas), the physical page, and
 * the shadow bytes around the address as Linux prints them.  Reports go
 * to the checker as `kasan` findings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "services/kasan_internal.h"
#include "vmlab/directmap.h"
#include "vmlab/vmalloc.h"

#define G VMLAB_KASAN_GRANULE_SIZE
#define META_BYTES_PER_ROW 16 /* shadow bytes per printed row */
#define META_ROWS_AROUND 2

/* ---------------------------------------------------------- history */

void kasan_hist_alloc(struct kasan_state *ks, int cpu, u64 start, u64 end,
		      u64 requested, const char *caller)
{
	struct vmlab_machine *m = ks->m;
	struct kasan_area_rec *r = &ks->hist[ks->hist_n++ % KASAN_HIST];

	assert(start < end && requested <= end - start);
	*r = (struct kasan_area_rec){
		.start = start,
		.end = end,
		.requested = requested,
		.caller = caller ? caller : "?",
		.alloc_op = vmlab_cpu_valid(m, cpu) ? m->cpu[cpu].op : NULL,
		.alloc_seq = vmlab_event_count(m),
		.alloc_cpu = cpu,
		.free_cpu = -1,
	};
}

/* The newest record of a live area starting at start. */
void kasan_hist_free(struct kasan_state *ks, int cpu, u64 start)
{
	u64 n = ks->hist_n < KASAN_HIST ? ks->hist_n : KASAN_HIST;

	for (u64 i = 0; i < n; i++) {
		struct kasan_area_rec *r =
		    &ks->hist[(ks->hist_n - 1 - i) % KASAN_HIST];

		if (r->start == start && !r->freed) {
			r->freed = true;
			r->free_cpu = cpu;
			r->free_seq = vmlab_event_count(ks->m);
			r->free_op = vmlab_cpu_valid(ks->m, cpu)
					 ? ks->m->cpu[cpu].op
					 : NULL;
			return;
		}
	}
}

/* The newest record whose area (or its guard page) holds addr. */
static const struct kasan_area_rec *hist_find(const struct kasan_state *ks,
					      u64 addr)
{
	u64 n = ks->hist_n < KASAN_HIST ? ks->hist_n : KASAN_HIST;

	for (u64 i = 0; i < n; i++) {
		const struct kasan_area_rec *r =
		    &ks->hist[(ks->hist_n - 1 - i) % KASAN_HIST];

		if (addr >= r->start && addr < r->end + VMLAB_PAGE_SIZE)
			return r;
	}
	return NULL;
}

/* ------------------------------------------------------------ text */

struct kbuf {
	char s[4096];
	size_t len;
};

static void kprintf(struct kbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void kprintf(struct kbuf *b, const char *fmt, ...)
{
	va_list ap;

	if (b->len >= sizeof(b->s) - 1)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
	if (b->len > sizeof(b->s) - 1)
		b->len = sizeof(b->s) - 1;
}

static const char *bug_type(struct kasan_state *ks, u64 bad)
{
	u8 b;

	if (kasan_peek(ks, vmlab_kasan_mem_to_shadow(ks->m, bad), &b))
		return "wild-memory-access";
	/* A partial granule: the next byte says what lies beyond. */
	if (b > 0 && b < G &&
	    kasan_peek(ks, vmlab_kasan_mem_to_shadow(ks->m, bad) + 1, &b))
		return "out-of-bounds";
	switch (b) {
	case VMLAB_KASAN_PAGE_REDZONE:
		return "slab-out-of-bounds";
	case VMLAB_KASAN_PAGE_FREE:
		return "use-after-free";
	case VMLAB_KASAN_VMALLOC_INVALID:
		return "vmalloc-out-of-bounds";
	default:
		return b < G ? "out-of-bounds" : "unknown-crash";
	}
}

static void describe_area(struct kasan_state *ks, struct kbuf *b, u64 addr)
{
	struct vmlab_machine *m = ks->m;
	const struct vmlab_vm_struct *vm = vmlab_find_vm_area(m, addr);
	const struct kasan_area_rec *r = hist_find(ks, addr);

	if (vm) {
		kprintf(b, "The buggy address belongs to the virtual mapping at\n"
			   " [%016llx, %016llx) created by:\n %s\n",
			(unsigned long long)vm->addr,
			(unsigned long long)(vm->addr + vm->size),
			vm->caller ? vm->caller : "?");
	} else if (r) {
		kprintf(b, "The buggy address belonged to the virtual mapping "
			   "at\n [%016llx, %016llx) created by:\n %s\n",
			(unsigned long long)r->start,
			(unsigned long long)(r->end + VMLAB_PAGE_SIZE),
			r->caller);
	} else if (in_direct_map(m, addr)) {
		kprintf(b, "The buggy address belongs to the direct map\n");
	}
	if (r) {
		kprintf(b, "\nAllocated by CPU %d at event #%llu in: %s "
			   "(%llu bytes unpoisoned)\n",
			r->alloc_cpu, (unsigned long long)r->alloc_seq,
			r->alloc_op ? r->alloc_op : r->caller,
			(unsigned long long)r->requested);
		if (r->freed)
			kprintf(b, "Freed by CPU %d at event #%llu in: %s\n",
				r->free_cpu, (unsigned long long)r->free_seq,
				r->free_op ? r->free_op : "vfree");
	}
	u64 pa;
	if (!vmlab_translate(m, vmlab_init_mm(m), addr, &pa, NULL, NULL))
		kprintf(b, "\nThe buggy address belongs to the physical page:\n"
			   "page: pfn:%#llx (direct map %016llx)\n",
			(unsigned long long)(pa >> VMLAB_PAGE_SHIFT),
			(unsigned long long)vmlab_page_address(m,
			    pa >> VMLAB_PAGE_SHIFT));
	else
		kprintf(b, "\nThe buggy address is not mapped\n");
}

/* print_memory_metadata(): five rows of 16 shadow bytes, a caret under
 * the first bad one. */
static void shadow_dump(struct kasan_state *ks, struct kbuf *b, u64 bad)
{
	const u64 row_bytes = META_BYTES_PER_ROW * G;
	u64 row = (bad & ~(row_bytes - 1)) - META_ROWS_AROUND * row_bytes;

	kprintf(b, "\nMemory state around the buggy address:\n");
	for (int i = -META_ROWS_AROUND; i <= META_ROWS_AROUND; i++) {
		kprintf(b, "%c%016llx:", i ? ' ' : '>', (unsigned long long)row);
		for (int j = 0; j < META_BYTES_PER_ROW; j++) {
			u8 v;
			u64 sh = vmlab_kasan_mem_to_shadow(ks->m, row + (u64)j * G);

			if (kasan_peek(ks, sh, &v))
				kprintf(b, " ??");
			else
				kprintf(b, " %02x", v);
		}
		kprintf(b, "\n");
		if (!i)
			kprintf(b, "%*c\n", 20 + (int)((bad - row) / G) * 3, '^');
		row += row_bytes;
	}
}

void kasan_report(struct kasan_state *ks, int cpu, u64 addr, u64 size,
		  bool write, u64 bad)
{
	struct vmlab_machine *m = ks->m;
	struct kbuf b = {.len = 0};
	const char *type = bug_type(ks, bad);
	const char *op = vmlab_cpu_valid(m, cpu) ? m->cpu[cpu].op : NULL;
	u64 pa = 0, pfn = ~0ULL; /* no frame: the history shows the VA's */

	ks->in_report = true;
	ks->st.reports++;
	kprintf(&b, "%s\nBUG: KASAN: %s in %s\n%s of size %llu at addr %016llx "
		    "by task cpu%d/%s\n\n",
		type, type, op ? op : "?", write ? "Write" : "Read",
		(unsigned long long)size, (unsigned long long)addr, cpu,
		op ? op : "?");
	describe_area(ks, &b, addr);
	shadow_dump(ks, &b, bad);
	if (!vmlab_translate(m, vmlab_init_mm(m), addr, &pa, NULL, NULL))
		pfn = pa >> VMLAB_PAGE_SHIFT;
	vmlab_checker_report(m, VMLAB_CHECK_KASAN, cpu, addr, pfn,
			     write ? VMLAB_WRITE : VMLAB_READ, "%s", b.s);
	ks->in_report = false;
}

/*
 * Faults and broken invariants of the shadow itself: an instrumented
 * access or a poisoning store whose shadow page is not mapped (the
 * kernel would oops there), or a release freeing the shadow of a live
 * area.
 */
void kasan_report_fault(struct kasan_state *ks, int cpu, u64 addr, u64 shadow,
			const char *what)
{
	struct kbuf b = {.len = 0};

	ks->st.reports++;
	if (!strcmp(what, "kasan_release_vmalloc")) {
		kprintf(&b, "shadow of a live area freed\nBUG: KASAN: "
			    "kasan_release_vmalloc frees shadow page %016llx "
			    "that still describes a live area in [%016llx, "
			    "%016llx)\n",
			(unsigned long long)shadow, (unsigned long long)addr,
			(unsigned long long)(addr + VMLAB_KASAN_SHADOW_PAGE_SPAN));
		describe_area(ks, &b, addr);
	} else {
		u8 byte;
		/* Mapped but faulting: a store to the read-only early
		 * shadow page. */
		bool ro = !kasan_peek(ks, shadow, &byte);
		kprintf(&b, "%s\nBUG: unable to handle page "
			    "fault for address: %016llx\n#PF: supervisor "
			    "%saccess in kernel mode (%s, KASAN shadow of "
			    "%016llx)\n",
			ro ? "shadow write-protected (the early shadow page)"
			   : "shadow not mapped",
			(unsigned long long)shadow, ro ? "write " : "",
			what, (unsigned long long)addr);
		describe_area(ks, &b, addr);
	}
	vmlab_checker_report(ks->m, VMLAB_CHECK_KASAN, cpu, addr, ~0ULL,
			     VMLAB_READ,
			     "%s", b.s);
}

/* ------------------------------------------------------------ check */

/*
 * memory_is_poisoned(): the first byte of [addr, addr + size) that the
 * shadow forbids, or 0.  sh holds the shadow bytes from shadow(addr).
 */
static u64 first_bad(u64 addr, u64 size, const u8 *sh)
{
	u64 g0 = addr & ~(G - 1);

	for (u64 g = g0, i = 0; g < addr + size; g += G, i++) {
		u8 v = sh[i];
		u64 lo = g < addr ? addr : g;

		if (!v)
			continue;
		if (v >= G)
			return lo;
		/* v leading bytes of this granule are accessible. */
		if (addr + size > g + v)
			return lo > g + v ? lo : g + v;
	}
	return 0;
}

static bool check_slow(struct kasan_state *ks, int cpu, u64 addr, u64 size,
		       bool write)
{
	u8 buf[256];
	u64 done = 0;

	/* The shadow is read through cpu's TLB, 256 granules at a time. */
	while (done < size) {
		u64 a = addr + done;
		u64 n = size - done;
		if (n > (sizeof(buf) - 1) * G)
			n = (sizeof(buf) - 1) * G - (a & (G - 1));
		u64 s0 = vmlab_kasan_mem_to_shadow(ks->m, a);
		u64 s1 = vmlab_kasan_mem_to_shadow(ks->m, a + n - 1);
		struct vmlab_fault f;

		assert(s1 - s0 < sizeof(buf));
		if (vmlab_read(ks->m, cpu, s0, buf, s1 - s0 + 1, &f)) {
			kasan_report_fault(ks, cpu, a, f.va, write ? "store"
								  : "load");
			return true;
		}
		u64 bad = first_bad(a, n, buf);
		if (bad) {
			kasan_report(ks, cpu, addr, size, write, bad);
			return false;
		}
		done += n;
	}
	return true;
}

bool vmlab_kasan_check(struct vmlab_machine *m, int cpu, u64 addr, u64 size,
		       bool write)
{
	struct kasan_state *ks = kasan_state(m);

	if (!ks || ks->in_report || !size)
		return true;
	if (!in_direct_map(m, addr) && !kasan_is_vmalloc_or_module(ks, addr))
		return true;
	if (!vmlab_cpu_valid(m, cpu)) {
		vmlab_warn(m, "kasan_check: no CPU %d", cpu);
		return true;
	}
	/* One granule whose shadow page is on this CPU's host fast path
	 * (an L1 hit): a byte test, as the inline accessors do it. */
	u64 sh = kasan_shadow(ks, addr);
	if ((addr & (G - 1)) + size <= G) {
		const struct fast_entry *fe =
		    &m->cpu[cpu].fast[VMLAB_READ][(sh >> VMLAB_PAGE_SHIFT) &
						  (FAST_SIZE - 1)];
		if (fe->tag == ((sh & VMLAB_PAGE_MASK) | 1 | m->fast_watch) &&
		    !fe->host[sh & (VMLAB_PAGE_SIZE - 1)])
			return true;
	}
	/* Counted out of line only: the inline hits (tlb.h) cannot count. */
	ks->st.checks++;
	return check_slow(ks, cpu, addr, size, write);
}
