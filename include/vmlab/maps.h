/* SPDX-License-Identifier: MIT */
/*
 * What guard markers would save on a real process: read /proc/PID/maps
 * text and count the PROT_NONE guard VMAs that MADV_GUARD_INSTALL
 * markers would replace (seeds/guard-pages-pagewalk.txt, claim 4.4:
 * "13 % fewer VMAs on an idle Android system").
 *
 * A guard VMA here is an anonymous (inode 0), private, PROT_NONE mapping
 * of at most max_guard bytes in a run of such mappings (adjacent, in
 * address order; often a run of one) that touches an anonymous read-write
 * mapping (a stack, a heap, a thread's TLS) at either end: the layout of
 * a thread stack with its guard page, of allocator guard pages.  Runs of
 * two are Android's: bionic's stack guard and ART's protected page side
 * by side below a Java thread's stack (Android 9), a TLS guard against
 * the next signal stack's guard.  Turned into markers the run becomes
 * part of that neighbour, so none of its VMAs stays one: one VMA saved
 * per guard VMA.  If the run also separates two anonymous read-write
 * mappings with the same rights that then become contiguous, they could
 * merge as well: counted apart as "merges", an upper bound (anon_vma
 * compatibility and VMA names are not compared).  Larger PROT_NONE
 * mappings are reservations (ART's heaps, scudo's and GWP-ASan's pools,
 * arm64's shadow-call-stack guard regions) and are left out.  File-backed PROT_NONE
 * gaps (the alignment holes the ELF loader leaves between segments) are
 * counted apart too: markers on file mappings came later (Linux 6.15).
 * So are the anonymous PROT_NONE mappings between two segments of one
 * file that bionic's linker leaves (it maps the segments into one
 * PROT_NONE reservation): with file-backed markers (6.15) a linker could
 * map the file across such a gap and put markers in, one VMA saved each.
 * Neither kind is a guard of the series' anonymous markers (Linux 6.13).
 */
#ifndef VMLAB_MAPS_H
#define VMLAB_MAPS_H

#include <stddef.h>

#include <vmlab/types.h>

#define VMLAB_MAPS_MAX_GUARD_DEFAULT (64 * 1024)

struct vmlab_maps_estimate {
	u64 processes;   /* maps files read */
	u64 vmas;        /* lines read */
	u64 guards;      /* anonymous PROT_NONE guard VMAs, as defined above */
	u64 merges;      /* runs whose removal could also merge two neighbours */
	u64 file_gaps;   /* file-backed PROT_NONE VMAs next to their file */
	u64 segment_gaps; /* anonymous PROT_NONE between segments of a file */
	u64 bad_lines;   /* lines that are not maps lines (skipped) */
};

/*
 * Add one process's maps text (len bytes, not NUL-terminated) to *est.
 * max_guard: the largest PROT_NONE mapping taken for a guard (0: the
 * default).  Returns 0, or -VMLAB_EINVAL for a NULL argument; a line
 * that is not a maps line is counted in bad_lines and skipped.
 */
int vmlab_maps_estimate_add(struct vmlab_maps_estimate *est, const char *text,
			    size_t len, u64 max_guard);

#endif
