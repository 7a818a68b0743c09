/* SPDX-License-Identifier: MIT */
/*
 * `vmlab demo`: the smallest story vmlab tells.  A kernel page is mapped
 * and cached by CPU 1; CPU 0 unmaps it and frees the frame without a TLB
 * flush; the frame is reused; CPU 1 reads through its stale entry and sees
 * another owner's data.  The checker reports it.  Done right (the flush
 * before the free), the checker stays silent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmlab/checker.h"
#include "cli/cli.h"

#define DEMO_VA 0xffffc90000000000ULL /* start of the vmalloc range */

static int step(const char *what, int err)
{
	printf("  %-58s %s\n", what, err ? vmlab_strerror(err) : "ok");
	return err;
}

enum stats_mode { STATS_NONE, STATS_TEXT, STATS_JSON };

/* One run; returns the number of checker reports. */
static size_t run(u64 seed, bool with_flush, bool verbose,
		  enum stats_mode stats)
{
	struct vmlab_config cfg;
	vmlab_config_default(&cfg);
	cfg.nr_cpus = 4;
	cfg.checker = true;
	cfg.seed = seed;
	struct vmlab_machine *m;
	if (vmlab_boot(&cfg, &m)) {
		fprintf(stderr, "vmlab: boot failed\n");
		exit(EXIT_FINDING);
	}
	vmlab_set_quiet(m, true);
	struct vmlab_mm *kmm = vmlab_init_mm(m);
	u64 pfn, pfn2;
	char buf[32] = "secret of the first owner";
	step("cpu0: alloc_page()", vmlab_alloc_pages(m, 0, 0, &pfn));
	vmlab_checker_set_op(m, 0, "vmap");
	step("cpu0: map it at 0xffffc90000000000 (PAGE_KERNEL)",
	     vmlab_map_range(m, kmm, DEMO_VA, pfn << VMLAB_PAGE_SHIFT,
			     VMLAB_PAGE_SIZE, VMLAB_PAGE_KERNEL, 0));
	step("cpu0: write through it", vmlab_write(m, 0, DEMO_VA, buf, 26, NULL));
	step("cpu1: read it (CPU 1's TLB now caches the translation)",
	     vmlab_read(m, 1, DEMO_VA, buf, 26, NULL));
	vmlab_checker_set_op(m, 0, "vunmap");
	struct vmlab_mmu_gather tlb;
	vmlab_tlb_gather_mmu(&tlb, kmm, 0);
	vmlab_unmap_range(m, &tlb, DEMO_VA, VMLAB_PAGE_SIZE, false);
	if (with_flush) {
		step("cpu0: unmap, flush_tlb_kernel_range, then free", 0);
		vmlab_tlb_remove_page(m, &tlb, pfn, 0);
		vmlab_tlb_finish_mmu(m, &tlb);
	} else {
		step("cpu0: unmap and free the page, no flush (the bug)", 0);
		vmlab_free_pages(m, 0, pfn, 0);
	}
	step("cpu0: alloc_page() again: the same frame is reused",
	     vmlab_alloc_pages(m, 0, 0, &pfn2));
	u64 va2 = 0xffff888000000000ULL + (pfn2 << VMLAB_PAGE_SHIFT);
	step("cpu0: the new owner writes its data via the direct map",
	     vmlab_write(m, 0, va2, "data of the second owner!", 26, NULL));
	memset(buf, 0, sizeof(buf));
	struct vmlab_fault f;
	int err = vmlab_read(m, 1, DEMO_VA, buf, 26, &f);
	if (err)
		printf("  %-58s fault (error code %#x)\n",
		       "cpu1: read the old address", f.error_code);
	else
		printf("  %-58s \"%s\"\n", "cpu1: read the old address", buf);
	size_t n = vmlab_nr_reports(m);
	if (verbose && n)
		vmlab_print_reports(m, stdout);
	printf("  flushes: %llu invlpg, %llu IPIs; simulated time %.0f ns; "
	       "trace hash %#llx\n",
	       (unsigned long long)vmlab_counter(m, -1, VMLAB_C_invlpg),
	       (unsigned long long)vmlab_counter(m, -1, VMLAB_C_ipi_sent),
	       vmlab_sim_time_ns(m, -1), (unsigned long long)vmlab_trace_hash(m));
	if (stats != STATS_NONE)
		vmlab_stats_dump(m, stdout, stats == STATS_JSON);
	vmlab_machine_destroy(m);
	return n;
}

int cmd_demo(int argc, char **argv)
{
	u64 seed = 1;
	enum stats_mode stats = STATS_NONE;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--stats")) {
			stats = STATS_TEXT;
		} else if (!strcmp(argv[i], "--json")) {
			stats = STATS_JSON;
		} else {
			fprintf(stderr, "vmlab demo: unknown argument '%s'\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	printf("== 1. unmap + free without a TLB flush ==\n");
	size_t bad = run(seed, false, true, stats);
	printf("checker: %zu report(s)\n\n", bad);
	printf("== 2. the same, with the flush before the free ==\n");
	size_t good = run(seed, true, true, stats);
	printf("checker: %zu report(s)\n", good);
	if (bad == 0 || good != 0) {
		printf("\nunexpected: the checker should report run 1 only\n");
		return EXIT_FINDING;
	}
	printf("\nThe checker caught the missing flush and stayed silent on "
	       "the fixed sequence.\n");
	return EXIT_OK;
}
