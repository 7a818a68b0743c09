/* SPDX-License-Identifier: MIT */
/*
 * Inspection in the formats kernel developers read: the kernel page
 * tables as /sys/kernel/debug/page_tables/kernel prints them (x86
 * ptdump: address markers, ranges of equal protection and level merged,
 * sizes in K/M/G/T, the flag columns USR RW PWT PCD PSE PAT GLB NX and
 * the level), and a CPU's TLB as a listing of its cached translations.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/lsim.h"

struct ptd {
	struct sim_buf *out;
	struct vmlab_machine *m;
	u64 lo, hi;        /* the range asked for; hi 0: to the top (2^64) */
	bool open;         /* a run is being collected */
	u64 start, cur;    /* the run: [start, cur) */
	vmlab_pgprot_t prot;
	int level;         /* VMLAB_LVL_*, of the run's entries */
	bool present;
	int marker;        /* next address marker */
	u64 entries;
};

struct marker {
	const char *name;
	u64 start;
};

static const char *const level_name[] = {"pte", "pmd", "pud", "pgd"};

static void flags(struct sim_buf *b, vmlab_pgprot_t p, int level, bool present)
{
	if (!present) { /* the columns' width, blank */
		buf_printf(b, "%30s", "");
		return;
	}
	buf_printf(b, "%s%s%s%s%s%s%s%s", p & VMLAB_PAGE_USER ? "USR " : "    ",
		   p & VMLAB_PAGE_RW ? "RW " : "ro ",
		   p & VMLAB_PAGE_PWT ? "PWT " : "    ",
		   p & VMLAB_PAGE_PCD ? "PCD " : "    ",
		   /* a leaf above the PTE level is a large page */
		   level > VMLAB_LVL_PTE ? "PSE " : "    ",
		   "    ", /* PAT: the model maps everything write-back */
		   p & VMLAB_PAGE_GLOBAL ? "GLB " : "    ",
		   p & VMLAB_PAGE_NX ? "NX " : "x  ");
}

/* The lowest kernel address: the first top-level entry of the kernel
 * half (x86: entry 256, sign-extended; arm64: entry 0 of TTBR1's table). */
u64 lsim_kernel_start(struct vmlab_machine *m)
{
	u64 first = vmlab_arch(m)->split_root ? 0 : VMLAB_PTRS_PER_TABLE / 2;
	return vmlab_pgd_index_va(m, vmlab_init_mm(m),
				  first);
}

/* The architecture's address markers (the regions the model has), in
 * address order (arm64's modules sit below vmalloc, x86's above). */
static int markers(struct vmlab_machine *m, struct marker mk[6])
{
	const struct vmlab_va_layout *l = vmlab_layout(m);
	mk[0] = (struct marker){"Kernel Space", lsim_kernel_start(m)};
	mk[1] = (struct marker){"Low Kernel Mapping", l->page_offset};
	mk[2] = (struct marker){"vmalloc() Area", l->vmalloc_start};
	mk[3] = (struct marker){"Vmemmap", l->vmalloc_end + 1};
	mk[4] = (struct marker){"Modules", l->modules_vaddr};
	mk[5] = (struct marker){"End Modules", l->modules_end};
	for (int i = 1; i < 6; i++) /* insertion sort, stable */
		for (int j = i; j > 0 && mk[j - 1].start > mk[j].start; j--) {
			struct marker t = mk[j];
			mk[j] = mk[j - 1];
			mk[j - 1] = t;
		}
	assert(mk[0].start <= mk[5].start);
	return 6;
}

/* Print the collected run, if any. */
static void flush_run(struct ptd *d)
{
	if (!d->open || d->cur == d->start)
		return;
	static const char units[] = "BKMGTPE";
	u64 delta = d->cur - d->start;
	const char *u = units;
	while (!(delta & 1023) && u[1]) {
		delta >>= 10;
		u++;
	}
	buf_printf(d->out, "0x%016llx-0x%016llx   %9llu%c ",
		   (unsigned long long)d->start, (unsigned long long)d->cur,
		   (unsigned long long)delta, *u);
	flags(d->out, d->prot, d->level, d->present);
	buf_printf(d->out, "%s\n", level_name[d->level]);
	d->entries++;
}

/* One entry's range [va, va + size). */
static void note(struct ptd *d, u64 va, u64 size, vmlab_pgprot_t prot,
		 int level, bool present)
{
	struct marker mk[6];
	int nm = markers(d->m, mk);
	u64 end = va + size; /* 0: 2^64, the top of the address space */
	if (d->hi && (end > d->hi || end == 0))
		end = d->hi;
	if (va < d->lo)
		va = d->lo;
	if (end && va >= end)
		return;
	/* a marker inside or at the start of this entry ends the run */
	while (d->marker < nm && mk[d->marker].start <= va) {
		flush_run(d);
		d->open = false;
		buf_printf(d->out, "---[ %s ]---\n", mk[d->marker].name);
		d->marker++;
	}
	prot &= ~(vmlab_pgprot_t)(VMLAB_PAGE_ACCESSED | VMLAB_PAGE_DIRTY);
	if (d->open && d->cur == va && d->level == level &&
	    d->present == present && (!present || d->prot == prot)) {
		d->cur = end;
		return;
	}
	flush_run(d);
	*d = (struct ptd){.out = d->out, .m = d->m, .lo = d->lo, .hi = d->hi,
			  .open = true, .start = va, .cur = end, .prot = prot,
			  .level = level, .present = present,
			  .marker = d->marker, .entries = d->entries};
}

/*
 * A link to one of KASAN's shared early shadow tables: the whole range
 * maps the early shadow page with the early PTEs' protection, noted as
 * one run of PTEs without descending (note_kasan_page_table(): the tables
 * are linked from thousands of entries).
 */
static void note_kasan(struct ptd *d, u64 va, u64 size, u64 table, int level)
{
	struct vmlab_pte_info pi = {.kind = VMLAB_PTE_TABLE, .pfn = table};
	for (int l = level - 1; l >= VMLAB_LVL_PTE && pi.kind == VMLAB_PTE_TABLE;
	     l--)
		vmlab_pte_decode(d->m,
				 vmlab_get_entry(d->m, pi.pfn << VMLAB_PAGE_SHIFT),
				 l, &pi);
	assert(pi.kind == VMLAB_PTE_LEAF);
	note(d, va, size, pi.prot, VMLAB_LVL_PTE, true);
}

static void walk(struct ptd *d, struct vmlab_mm *mm, u64 base, int level,
		 u64 count)
{
	u64 size = vmlab_level_size(level);
	assert(count <= 512 && level >= VMLAB_LVL_PTE && level <= VMLAB_LVL_PGD);
	for (u64 i = 0; i < count; i++) {
		u64 va = base + i * size, last = va + (size - 1);
		if (last < d->lo || (d->hi && va >= d->hi))
			continue;
		vmlab_ptep_t ptep;
		if (vmlab_lookup_entry(d->m, mm, va, level, &ptep))
			continue; /* covered by a leaf above: noted there */
		struct vmlab_pte_info pi;
		vmlab_pte_decode(d->m, vmlab_get_entry(d->m, ptep), level, &pi);
		if (pi.kind == VMLAB_PTE_TABLE &&
		    vmlab_kasan_early_table(d->m, pi.pfn))
			note_kasan(d, va, size, pi.pfn, level);
		else if (pi.kind == VMLAB_PTE_TABLE && level > VMLAB_LVL_PTE)
			walk(d, mm, va, level - 1, 512);
		else
			note(d, va, size, pi.prot, level,
			     pi.kind == VMLAB_PTE_LEAF);
	}
}

void lsim_ptdump(struct vmlab_machine *m, u64 lo, u64 hi, struct sim_buf *out)
{
	assert(m && out && (!hi || lo < hi));
	struct ptd d = {.out = out, .m = m, .lo = lo, .hi = hi};
	/* the kernel half: x86 pgd entries 256..511 (sign-extended), arm64
	 * all of TTBR1's */
	u64 first = vmlab_arch(m)->split_root ? 0 : VMLAB_PTRS_PER_TABLE / 2;
	walk(&d, vmlab_init_mm(m), lsim_kernel_start(m), VMLAB_LVL_PGD,
	     VMLAB_PTRS_PER_TABLE - first);
	flush_run(&d);
}

/* ---------------------------------------------------------------- TLB */

struct tlb_row {
	int array; /* 0..8: iTLB 4K/2M/1G, dTLB ..., L2 ... */
	u64 va, pfn;
	u16 pcid;
	u8 flags;
};

struct tlb_list {
	struct cpu *c;
	struct tlb_row *rows;
	size_t n, cap;
};

static void collect(struct vmlab_machine *m, struct cpu *c,
		    struct tlb_entry *e, void *ctx)
{
	struct tlb_list *l = ctx;
	struct tlb_array *all[3] = {c->itlb, c->dtlb, c->stlb};
	int array = -1;
	(void)m;
	for (int k = 0; k < 9 && array < 0; k++) {
		struct tlb_array *a = &all[k / 3][k % 3];
		if (tlb_array_holds(a, e))
			array = k;
	}
	assert(array >= 0);
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->rows = realloc(l->rows, l->cap * sizeof(*l->rows));
		if (!l->rows)
			abort();
	}
	l->rows[l->n++] = (struct tlb_row){array, tlb_entry_va(e), e->pfn,
					   e->pcid, e->flags};
}

static int row_cmp(const void *a, const void *b)
{
	const struct tlb_row *x = a, *y = b;
	if (x->array != y->array)
		return x->array < y->array ? -1 : 1;
	if (x->va != y->va)
		return x->va < y->va ? -1 : 1;
	return x->pcid < y->pcid ? -1 : x->pcid > y->pcid;
}

void lsim_dump_tlb(struct vmlab_machine *m, int cpu, struct sim_buf *out)
{
	static const char *const names[9] = {
		"iTLB 4K", "iTLB 2M", "iTLB 1G", "dTLB 4K", "dTLB 2M",
		"dTLB 1G", "STLB 4K", "STLB 2M", "STLB 1G"};
	static const char *const sizes[3] = {"4K", "2M", "1G"};
	assert(vmlab_cpu_valid(m, cpu));
	struct tlb_list l = {.c = &m->cpu[cpu]};
	tlb_visit_range(m, l.c, 0, ~0ULL, collect, &l);
	if (l.n) /* qsort of NULL is undefined even for 0 rows */
		qsort(l.rows, l.n, sizeof(*l.rows), row_cmp);
	buf_printf(out, "CPU %d TLB: %zu entr%s (PCID %u loaded)\n", cpu, l.n,
		   l.n == 1 ? "y" : "ies", (unsigned)(l.c->loaded_asid + 1));
	buf_printf(out, "  %-8s %-18s %-4s %-12s %-4s %s\n", "array", "va",
		   "size", "pfn", "pcid", "flags");
	for (size_t i = 0; i < l.n; i++) {
		const struct tlb_row *r = &l.rows[i];
		u8 f = r->flags;
		buf_printf(out, "  %-8s 0x%016llx %-4s 0x%-10llx %-4u %s%s%s%s%s%s\n",
			   names[r->array], (unsigned long long)r->va,
			   sizes[r->array % 3], (unsigned long long)r->pfn,
			   (unsigned)r->pcid, f & TLBF_W ? "RW" : "ro",
			   f & TLBF_X ? " x" : " NX", f & TLBF_U ? " USR" : "",
			   f & TLBF_G ? " GLB" : "", f & TLBF_D ? " D" : "",
			   f & TLBF_STALE ? " (stale: watched)" : "");
	}
	free(l.rows);
}
