/* SPDX-License-Identifier: MIT */
/*
 * vmlab maps-estimate: the VMAs guard markers would save on real
 * processes (include/vmlab/maps.h, claim 4.4), from maps files or from
 * every /proc/PID/maps of the host.  Reading the host is this command's
 * purpose, so it is a CLI command, not a scenario call (scenarios cannot
 * read files).
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "vmlab/maps.h"

#define MAPS_MAX_BYTES (64u << 20) /* one process's maps text, at most */

/* Read a whole file; NULL if it cannot be read (a process gone). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap || cap >= MAPS_MAX_BYTES)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	bool err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int add_file(struct vmlab_maps_estimate *est, const char *path,
		    u64 max_guard, bool quiet_missing)
{
	size_t len = 0;
	char *text = slurp(path, &len);
	if (!text) {
		if (quiet_missing)
			return 0;
		fprintf(stderr, "vmlab maps-estimate: cannot read %s\n", path);
		return -1;
	}
	int err = vmlab_maps_estimate_add(est, text, len, max_guard);
	free(text);
	assert(!err);
	return err;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Every /proc/PID/maps; processes that go away meanwhile are skipped. */
int cli_maps_estimate_host(struct vmlab_maps_estimate *est, u64 max_guard)
{
	DIR *d = opendir("/proc");
	if (!d) {
		fprintf(stderr, "vmlab maps-estimate: cannot open /proc\n");
		return -1;
	}
	struct dirent *de;
	char path[300];
	while ((de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
		add_file(est, path, max_guard, true);
	}
	closedir(d);
	return 0;
}

static double pct(u64 part, u64 whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void print_text(const struct vmlab_maps_estimate *e, u64 max_guard)
{
	printf("maps-estimate: %llu processes, %llu VMAs\n",
	       (unsigned long long)e->processes, (unsigned long long)e->vmas);
	printf("  guard VMAs (runs of anonymous PROT_NONE <= %llu bytes "
	       "beside anonymous RW): %llu\n",
	       (unsigned long long)max_guard, (unsigned long long)e->guards);
	printf("  VMAs with guard markers: %llu (%.1f %% fewer)\n",
	       (unsigned long long)(e->vmas - e->guards),
	       pct(e->guards, e->vmas));
	printf("  ... if the neighbours then merge too: %llu (%.1f %% fewer, "
	       "an upper bound)\n",
	       (unsigned long long)(e->vmas - e->guards - e->merges),
	       pct(e->guards + e->merges, e->vmas));
	printf("  file-backed PROT_NONE gaps (markers on file mappings, Linux "
	       "6.15+): %llu (%.1f %%)\n",
	       (unsigned long long)e->file_gaps, pct(e->file_gaps, e->vmas));
	printf("  anonymous PROT_NONE gaps between segments of a file (a "
	       "linker's reservation; file-backed markers, 6.15+): %llu "
	       "(%.1f %%)\n",
	       (unsigned long long)e->segment_gaps,
	       pct(e->segment_gaps, e->vmas));
	if (e->bad_lines)
		printf("  lines skipped (not maps lines): %llu\n",
		       (unsigned long long)e->bad_lines);
}

static void print_json(const struct vmlab_maps_estimate *e, u64 max_guard)
{
	printf("{\"processes\": %llu, \"vmas\": %llu, \"guards\": %llu, "
	       "\"merges\": %llu, \"file_gaps\": %llu, \"segment_gaps\": %llu, "
	       "\"bad_lines\": %llu, "
	       "\"max_guard\": %llu, \"saving_pct\": %.3f}\n",
	       (unsigned long long)e->processes, (unsigned long long)e->vmas,
	       (unsigned long long)e->guards, (unsigned long long)e->merges,
	       (unsigned long long)e->file_gaps,
	       (unsigned long long)e->segment_gaps,
	       (unsigned long long)e->bad_lines, (unsigned long long)max_guard,
	       pct(e->guards, e->vmas));
}

int cmd_maps_estimate(int argc, char **argv)
{
	struct vmlab_maps_estimate est = {0};
	u64 max_guard = VMLAB_MAPS_MAX_GUARD_DEFAULT;
	bool host = false, json = false;
	int files = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--host")) {
			host = true;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--max-guard")) {
			if (i + 1 >= argc || !cli_parse_u64(argv[i + 1], &max_guard) ||
			    !max_guard)
				return cli_bad("maps-estimate",
					       "--max-guard needs a byte count",
					       i + 1 < argc ? argv[i + 1] : "");
			i++;
		} else if (a[0] == '-' && a[1]) {
			return cli_bad("maps-estimate", "unknown option", a);
		} else {
			files++;
		}
	}
	if (!host && !files)
		return cli_bad("maps-estimate", "give maps FILEs or --host", "");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--max-guard")) {
			i++;
			continue;
		}
		if (a[0] == '-' && a[1])
			continue;
		if (add_file(&est, a, max_guard, false))
			return EXIT_USAGE;
	}
	if (host && cli_maps_estimate_host(&est, max_guard))
		return EXIT_USAGE;
	if (json)
		print_json(&est, max_guard);
	else
		print_text(&est, max_guard);
	return EXIT_OK;
}
