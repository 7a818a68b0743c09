/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the C API as an operation stream.  The first byte
 * picks the mode and the machine (2..4 CPUs); each further 4-byte record
 * is one operation (kind, CPU, two arguments) over vmalloc, CPA, the
 * direct map, vmap blocks, user mms (mmap, munmap, mprotect, madvise,
 * fork, accesses), deferred work and flushes.
 *
 * Clean mode issues only correct kernel sequences: any checker report is
 * a false positive and aborts.  Hostile mode adds arbitrary data written
 * through direct-map aliases (page tables included), raw physical writes
 * and raw page-table changes: anything may be reported, nothing may
 * crash.  Teardown runs the debug invariant walks (vmalloc tree, page
 * refcounts, TLB arrays, allocator) and ASan's leak check; in clean mode
 * it also requires no warning and every frame back: once every mm and
 * area is gone and the lazy and deferred frees have run, the free count
 * is the boot one less the page-table pages still linked (the kernel
 * keeps vmalloc's page tables).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmlab/vmlab.h"

#define MAX_AREAS 16
#define MAX_MMS 4

struct area {
	u64 addr;
	u32 pages;
	bool ro, x, reset;
};

struct state {
	struct vmlab_machine *m;
	bool hostile;
	int cpus;
	struct area a[MAX_AREAS];
	struct vmlab_user_mm *mm[MAX_MMS];
	u64 maps[MAX_MMS][8];
	u64 ops;
};

static struct area *pick_area(struct state *s, u8 k)
{
	struct area *a = &s->a[k % MAX_AREAS];
	return a->addr ? a : NULL;
}

static void area_free(struct state *s, struct area *a, int cpu)
{
	if (!s->hostile && a->x && !a->reset) {
		/* Correct code gives RO+X memory back the flag's way. */
		vmlab_set_vm_flush_reset_perms(s->m, a->addr);
	}
	vmlab_vfree(s->m, cpu, a->addr);
	memset(a, 0, sizeof(*a));
}

static void op_kernel(struct state *s, u8 kind, int cpu, u8 x, u8 y)
{
	struct vmlab_machine *m = s->m;
	struct area *a = pick_area(s, x);
	u64 v = 0;
	switch (kind % 12) {
	case 0: {
		struct area *slot = &s->a[x % MAX_AREAS];
		if (slot->addr)
			break;
		u32 pages = 1 + y % 8;
		u64 addr = (y & 0x80) ? vmlab_vmalloc_huge(m, cpu, (u64)pages << 12)
				      : vmlab_vmalloc(m, cpu, (u64)pages << 12);
		if (addr)
			*slot = (struct area){addr, pages, false, false, false};
		break;
	}
	case 1:
		if (a)
			area_free(s, a, cpu);
		break;
	case 2:
		if (a && !a->ro)
			vmlab_write(m, cpu, a->addr + (u64)(y % a->pages) * 4096,
				    &v, 8, NULL);
		break;
	case 3:
		if (a)
			vmlab_read(m, cpu, a->addr + (u64)(y % a->pages) * 4096,
				   &v, 8, NULL);
		break;
	case 4:
		if (a && !a->ro) {
			vmlab_set_memory_ro(m, cpu, a->addr, (int)a->pages);
			a->ro = true;
		} else if (a && !a->x) {
			vmlab_set_memory_x(m, cpu, a->addr, (int)a->pages);
			a->x = true;
		}
		break;
	case 5:
		if (a && a->x)
			vmlab_fetch(m, cpu, a->addr, &v, 8, NULL);
		else if (a && !a->ro && !a->x) {
			vmlab_set_memory_rox(m, cpu, a->addr, (int)a->pages);
			a->ro = a->x = true;
		}
		break;
	case 6:
		if (a && a->ro && !a->x) {
			vmlab_set_memory_rw(m, cpu, a->addr, (int)a->pages);
			a->ro = false;
		}
		break;
	case 7:
		vmlab_vm_unmap_aliases(m, cpu);
		break;
	case 8:
		vmlab_run_work(m, cpu, 1 + y % 4);
		break;
	case 9: {
		u64 pfns[4];
		u32 n = 1 + y % 4, got = 0;
		for (; got < n; got++)
			if (vmlab_alloc_pages(m, cpu, 0, &pfns[got]))
				break;
		u64 addr = got ? vmlab_vm_map_ram(m, cpu, pfns, got) : 0;
		if (addr) {
			vmlab_write(m, cpu, addr, &v, 8, NULL);
			vmlab_read(m, (cpu + 1) % s->cpus, addr, &v, 8, NULL);
			vmlab_vm_unmap_ram(m, cpu, addr, got);
		}
		for (u32 i = 0; i < got; i++)
			vmlab_free_pages(m, cpu, pfns[i], 0);
		break;
	}
	case 10:
		vmlab_flush_tlb_all(m, cpu);
		break;
	default:
		vmlab_purge_vmap_area_lazy(m, cpu);
		break;
	}
}

static void op_user(struct state *s, u8 kind, int cpu, u8 x, u8 y)
{
	int i = x % MAX_MMS;
	struct vmlab_user_mm *mm = s->mm[i];
	u64 *maps = s->maps[i];
	u64 buf = 0;
	if (!mm) {
		if (vmlab_user_mm_create(s->m, &s->mm[i]) == 0)
			vmlab_user_switch(s->mm[i], cpu);
		return;
	}
	u64 *slot = &maps[y % 8];
	u64 len = (u64)(1 + (y >> 3) % 40) << 12;
	switch (kind % 8) {
	case 0:
		if (!*slot) {
			s64 r = vmlab_mmap(mm, 0, len,
					   VMLAB_PROT_READ | VMLAB_PROT_WRITE,
					   (y & 1 ? VMLAB_MAP_SHARED
						  : VMLAB_MAP_PRIVATE) |
						   VMLAB_MAP_ANONYMOUS,
					   NULL, 0);
			if (r > 0)
				*slot = (u64)r;
		}
		break;
	case 1:
		if (*slot) {
			vmlab_munmap(mm, *slot, 40 << 12);
			*slot = 0;
		}
		break;
	case 2:
		if (*slot)
			vmlab_mprotect(mm, *slot, len,
				       y & 2 ? VMLAB_PROT_READ
					     : VMLAB_PROT_READ | VMLAB_PROT_WRITE);
		break;
	case 3:
		if (*slot)
			vmlab_madvise(mm, *slot, len,
				      y & 4 ? VMLAB_MADV_DONTNEED
					    : VMLAB_MADV_GUARD_INSTALL);
		break;
	case 4:
	case 5:
		if (*slot)
			vmlab_user_access(mm, cpu,
					  kind % 8 == 4 ? VMLAB_WRITE : VMLAB_READ,
					  *slot + ((u64)(y % 40) << 12), &buf, 8);
		break;
	case 6: {
		int j = (i + 1) % MAX_MMS;
		if (!s->mm[j] && vmlab_fork(mm, &s->mm[j]) == 0)
			memcpy(s->maps[j], maps, sizeof(s->maps[j]));
		break;
	}
	default:
		vmlab_user_switch(mm, cpu);
		break;
	}
}

/* Hostile mode only: garbage through aliases and raw tables. */
static void op_hostile(struct state *s, u8 kind, int cpu, u8 x, u8 y)
{
	struct vmlab_machine *m = s->m;
	u64 frames = vmlab_nr_frames(m);
	u64 pfn = ((u64)x << 8 | y) % frames;
	u64 junk = (u64)x * 0x9e3779b97f4a7c15ULL ^ ((u64)y << 56);
	switch (kind % 4) {
	case 0: /* through the direct map, as a kernel bug would */
		vmlab_write(m, cpu, vmlab_page_address(m, pfn) + (y & 0xf8), &junk,
			    8, NULL);
		break;
	case 1:
		vmlab_phys_write(m, (pfn << 12) + (x & 0xf8), &junk, 8);
		break;
	case 2: {
		struct vmlab_mmu_gather tlb;
		vmlab_tlb_gather_mmu(&tlb, vmlab_init_mm(m), cpu);
		vmlab_protect_range(m, &tlb, vmlab_page_address(m, pfn), 4096, 0,
				    VMLAB_PAGE_RW);
		vmlab_tlb_finish_mmu(m, &tlb);
		break;
	}
	default:
		vmlab_set_direct_map_invalid_noflush(m, pfn);
		vmlab_set_direct_map_default_noflush(m, pfn);
		break;
	}
}

static u64 total_ops;

static void report_total(void)
{
	fprintf(stderr, "fuzz_ops: %llu operations\n",
		(unsigned long long)total_ops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool registered;
	if (!registered) {
		registered = true;
		atexit(report_total);
	}
	if (size < 1)
		return 0;
	struct state s = {.hostile = data[0] & 1, .cpus = 2 + data[0] % 3};
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.nr_cpus = s.cpus;
	/* A small machine: boot, teardown and every full TLB scan are paid
	 * per input, and small arrays evict (and so exercise refills). */
	cfg.mem_bytes = 64 * VMLAB_MiB; /* the smallest machine vmlab_boot takes */
	cfg.itlb[0] = (struct vmlab_tlb_geom){16, 4};
	cfg.itlb[1] = (struct vmlab_tlb_geom){4, 4};
	cfg.dtlb[0] = (struct vmlab_tlb_geom){16, 4};
	cfg.dtlb[1] = (struct vmlab_tlb_geom){4, 4};
	cfg.dtlb[2] = (struct vmlab_tlb_geom){4, 4};
	cfg.stlb[0] = (struct vmlab_tlb_geom){64, 4};
	cfg.stlb[1] = (struct vmlab_tlb_geom){16, 4};
	cfg.stlb[2] = (struct vmlab_tlb_geom){16, 4};
	cfg.pwc_entries = 8;
	cfg.checker = true;
	if (vmlab_boot(&cfg, &s.m))
		abort();
	vmlab_set_quiet(s.m, true);
	/* The user service's zero page is allocated with the first mm and
	 * kept to the end: taken now, so the frame balance below is exact. */
	struct vmlab_user_mm *first;
	if (vmlab_user_mm_create(s.m, &first) == 0)
		vmlab_user_mm_destroy(first);
	u64 free0 = vmlab_nr_free_pages(s.m);
	u64 tables0 = vmlab_counter(s.m, -1, VMLAB_C_pgtable_alloc) -
		      vmlab_counter(s.m, -1, VMLAB_C_pgtable_free);
	u64 warn0 = vmlab_nr_warnings(s.m);
	for (size_t i = 1; i + 4 <= size && s.ops < 4096; i += 4, s.ops++) {
		u8 k = data[i], x = data[i + 2], y = data[i + 3];
		int cpu = data[i + 1] % s.cpus;
		if (s.hostile && k >= 0xe0)
			op_hostile(&s, k, cpu, x, y);
		else if (k & 0x40)
			op_user(&s, k, cpu, x, y);
		else
			op_kernel(&s, k, cpu, x, y);
	}
	for (int i = MAX_MMS - 1; i >= 0; i--)
		if (s.mm[i])
			vmlab_user_mm_destroy(s.mm[i]);
	for (int i = 0; i < MAX_AREAS; i++)
		if (s.a[i].addr)
			area_free(&s, &s.a[i], 0);
	vmlab_vm_unmap_aliases(s.m, 0);
	vmlab_purge_vmap_area_lazy(s.m, 0);
	for (int c = 0; c < s.cpus; c++)
		while (vmlab_run_work(s.m, c, 64) > 0)
			;
	if (!s.hostile && vmlab_nr_reports(s.m)) {
		vmlab_print_reports(s.m, stderr);
		abort(); /* a false positive on correct code */
	}
	if (!s.hostile && vmlab_nr_warnings(s.m) != warn0) {
		fprintf(stderr, "fuzz_ops: %llu warnings in clean mode\n",
			(unsigned long long)(vmlab_nr_warnings(s.m) - warn0));
		abort(); /* correct code warned */
	}
	s64 tables = (s64)(vmlab_counter(s.m, -1, VMLAB_C_pgtable_alloc) -
			   vmlab_counter(s.m, -1, VMLAB_C_pgtable_free) - tables0);
	s64 leaked = (s64)(free0 - vmlab_nr_free_pages(s.m)) - tables;
	if (!s.hostile && leaked) {
		fprintf(stderr, "fuzz_ops: %lld frames leaked in clean mode\n",
			(long long)leaked);
		abort();
	}
	total_ops += s.ops;
	/* Also every 256 inputs: a crash exits without the atexit line. */
	static u64 inputs;
	if (++inputs % 256 == 0)
		report_total();
	vmlab_machine_destroy(s.m);
	return 0;
}
