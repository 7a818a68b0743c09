/* SPDX-License-Identifier: MIT */
/*
 * Replay of real kernel traces: read what a Linux kernel recorded, run the
 * same operations on a fresh vmlab machine and compare, record by record.
 *
 * Two kinds of trace are understood (doc/replay.md describes both):
 *  - VMLAB_TRACE_VMALLOC: the text of the tracefs trace buffer with the
 *    events vmalloc:alloc_vmap_area, vmalloc:free_vmap_area_noflush,
 *    vmalloc:purge_vmap_area_lazy and tlb:tlb_flush;
 *  - VMLAB_TRACE_MM: the mmtrace text of one program's memory system
 *    calls with their results and its /proc/PID/maps at exec and at exit.
 *
 * The result is a table "quantity | kernel | vmlab | agree", the first
 * divergences with the records around them, what had to be inferred
 * because the trace does not show it, and (mm traces) a `diff -u` of the
 * two final maps.  Quantities whose cause lies outside what vmlab models
 * are counted apart and named, never folded into an agreement rate.
 *
 * Parsing never crashes on bad input: an unreadable, truncated,
 * reordered or malformed trace gives -VMLAB_EINVAL and a message naming
 * the line.
 */
#ifndef VMLAB_REPLAY_H
#define VMLAB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "types.h"

enum vmlab_trace_kind {
	VMLAB_TRACE_UNKNOWN = 0,
	VMLAB_TRACE_VMALLOC = 1,
	VMLAB_TRACE_MM = 2,
};

/* Mechanisms a replay may change (0 / false: the model's own). */
struct vmlab_replay_opts {
	int nr_cpus;	     /* 0: the trace's (#P: header, CPU numbers) */
	u64 lazy_max_pages;  /* 0: fls(nr_cpus) * 32 MiB / PAGE_SIZE */
	u32 flush_ceiling;   /* 0: 33 (tlb_single_page_flush_ceiling) */
	bool no_execmem_cpa; /* don't apply set_memory_rox() to execmem areas */
	int max_divergences; /* first divergences kept (0: 5) */
	/* The trace's VMALLOC_START (KASLR moves it); 0: the vstart that
	 * vmalloc()/vmap() allocations show.  Its addresses are replayed
	 * moved to the model's VMLAB_VMALLOC_START. */
	u64 vmalloc_start;
	/* The machine's architecture: NULL or "x86_64".  The traces are
	 * x86-64 kernels' (their vmalloc/module addresses, the 33-page
	 * ceiling, IPI shootdowns, an x86-64 process's VMA layout), so a
	 * replay runs an x86_64 machine; any other is refused
	 * (vmlab_replay_arch_error()). */
	const char *arch;
};

/* NULL if a replay can run on arch (NULL or "x86_64"), else why not. */
const char *vmlab_replay_arch_error(const char *arch);

/* A value vmalloc_start may take: page aligned, in the kernel half,
 * below the kernel image map (x86-64, 4- or 5-level paging). */
bool vmlab_replay_vmalloc_start_ok(u64 addr);

/* One line of the agreement table. */
struct vmlab_replay_row {
	char quantity[64];
	char kernel[64], model[64]; /* the values (or totals) side by side */
	u64 compared, agreed;	    /* records compared / in agreement */
	bool apart; /* outside the model: shown, counted apart, no rate */
	char note[160];
};

struct vmlab_replay_div {
	u64 line;    /* line of the trace where it happened */
	char *text;  /* what differs and the records around it */
};

struct vmlab_replay_result {
	enum vmlab_trace_kind kind;
	char *source; /* file name or "-" */
	u64 records;  /* records read (events or calls) */
	struct vmlab_replay_row *rows;
	size_t nrows;
	char **notes; /* inferred state, assumptions, paths not modelled */
	size_t nnotes;
	struct vmlab_replay_div *divs; /* the first ones */
	size_t ndivs;
	u64 total_divs;
	/* VMLAB_TRACE_MM: the final maps of both and their diff -u */
	char *kernel_maps, *model_maps, *maps_diff;
	/* the machine figures after the replay */
	u64 model_purges, model_flushes, model_full_flushes;
};

/* Which kind of trace text this is (from its first lines). */
enum vmlab_trace_kind vmlab_trace_detect(const char *text, size_t len);

/*
 * Parse and replay a trace held in memory (len bytes, need not be
 * NUL-terminated).  kind VMLAB_TRACE_UNKNOWN detects it.  0 and *out, or
 * -VMLAB_EINVAL with the reason (naming the line) in err.
 */
int vmlab_replay_text(const char *text, size_t len, enum vmlab_trace_kind kind,
		      const char *source, const struct vmlab_replay_opts *opts,
		      struct vmlab_replay_result **out, char *err,
		      size_t errlen);
/* The same for a file; "-" reads standard input; a gzip-compressed file
 * is read through `gzip -dc`. */
int vmlab_replay_file(const char *path, enum vmlab_trace_kind kind,
		      const struct vmlab_replay_opts *opts,
		      struct vmlab_replay_result **out, char *err,
		      size_t errlen);

/* Parse only (the fuzz target and the parser tests): 0 or -VMLAB_EINVAL. */
int vmlab_trace_parse_check(const char *text, size_t len,
			    enum vmlab_trace_kind kind, u64 *records,
			    char *err, size_t errlen);

/* Overall rate over the compared rows (not the apart ones), 0..1. */
double vmlab_replay_rate(const struct vmlab_replay_result *r);
/* A row by quantity name, NULL if absent. */
const struct vmlab_replay_row *
vmlab_replay_row(const struct vmlab_replay_result *r, const char *quantity);

/* The table, divergences, notes and maps diff; or one JSON document. */
void vmlab_replay_print(const struct vmlab_replay_result *r, FILE *f,
			bool json);
void vmlab_replay_free(struct vmlab_replay_result *r);

#endif
