/* SPDX-License-Identifier: MIT */
/*
 * The seed threads' claims (../shared/CLAIMS.md, numbered per seed), each
 * with the scenario under scenarios/claims/ that reproduces it, or the
 * honest reason vmlab cannot yet.  `vmlab claims` runs them.
 *
 * A claim scenario is named by its id (scenarios/claims/1.3.lua) and
 * carries, in its header, "-- ID: statement", "-- verdict: reproduced" or
 * "-- verdict: contradicted" (the model disagrees with the thread, with
 * "-- why: ..."), and "-- arch: ...".  It asserts the comparison the
 * thread makes; the figures it reports with vmlab.result() are what was
 * measured.  A claim passes when its scenario runs clean.
 */
#include <stdlib.h>

#include "sim/lsim.h"

/* why_not NULL: scenarios/claims/ID.lua reproduces (or contradicts) it. */
static const struct sim_claim claims[] = {
	{"1.1", "vm-flush-reset-perms",
	 "The flag makes vfree clear executable TLB entries to freed pages at once (no stale iTLB entry to a freed frame)",
	 NULL},
	{"1.2", "vm-flush-reset-perms",
	 "It also resets the direct-map permissions of the freed pages",
	 NULL},
	{"1.3", "vm-flush-reset-perms",
	 "Centralised in vfree, the whole operation costs one TLB flush (set_alias archs)",
	 NULL},
	{"1.4", "vm-flush-reset-perms",
	 "The fallback is \"two not very cheap calls\" (set_memory_nx + set_memory_rw)",
	 NULL},
	{"1.5", "vm-flush-reset-perms",
	 "nx-before-rw order leaves no RW+X window; other orders do",
	 NULL},
	{"1.6", "vm-flush-reset-perms",
	 "The flush can double as the lazy purge (\"save a TLB flush later\")",
	 NULL},
	{"1.7", "vm-flush-reset-perms",
	 "Plain `vm_unmap_aliases()` may flush a range that leaves out the direct map, hence `_vm_unmap_aliases(start, end, must_flush)`",
	 NULL},
	{"1.8", "vm-flush-reset-perms",
	 "Order: set direct map invalid → one flush → reset to default, so nothing can be cached between",
	 NULL},
	{"1.9", "vm-flush-reset-perms",
	 "RO/special-perm memory can't be freed from interrupt / `vfree_atomic` (the llist node lives in the allocation)",
	 NULL},
	{"1.10", "vm-flush-reset-perms",
	 "Flagged area not deallocating pages (`vunmap`) → just `vm_unmap_aliases()`",
	 NULL},
	{"1.11", "vm-flush-reset-perms",
	 "arm64 fallback: no `set_alias_*` → `set_memory_nx` + `set_memory_rw` inside vfree",
	 NULL},
	{"1.12", "vm-flush-reset-perms",
	 "Design alternative: two flags (\"immediate flush\" and \"reset direct map\"), merged into one because they are used together",
	 NULL},
	{"1.13", "vm-flush-reset-perms",
	 "Petkov: two `change_memory_common()` calls vs one call with both masks",
	 NULL},
	{"1.14", "vm-flush-reset-perms",
	 "Pages without `page_address()` (highmem) are skipped (n/a on x86-64)",
	 "no highmem on 64-bit: every page has a page_address() on x86-64 and arm64, so there is nothing to skip"},
	{"1.15", "vm-flush-reset-perms",
	 "The flush range is min..max of the direct-map addresses plus the vmalloc range, so in practice one huge (full) flush",
	 NULL},
	{"2.1", "kasan-vmalloc-shadow",
	 "Real shadow memory allocated on demand for vmalloc/vmap (`kasan_populate_vmalloc`)",
	 NULL},
	{"2.2", "kasan-vmalloc-shadow",
	 "Most vmalloc mappings need < 1 shadow page, so share shadow pages between mappings",
	 NULL},
	{"2.3", "kasan-vmalloc-shadow",
	 "Rejected alternative: one shadow page per mapping (wasteful), or aligning mappings to `KASAN_SHADOW_SCALE_SIZE * PAGE_SIZE` (32 KiB)",
	 NULL},
	{"2.4", "kasan-vmalloc-shadow",
	 "Unused shadow is cleaned up lazily through the vmap purge",
	 NULL},
	{"2.5", "kasan-vmalloc-shadow",
	 "The vmalloc part of the shadow must be left unmapped, not mapped to the early (zero) shadow page",
	 NULL},
	{"2.6", "kasan-vmalloc-shadow",
	 "This allows KASAN + VMAP_STACK and relaxing module alignment to PAGE_SIZE",
	 NULL},
	{"2.7", "kasan-vmalloc-shadow",
	 "Rutland: depopulate does `pte_clear` + `free_page` with no TLB maintenance, so errant accesses hit the freed page",
	 NULL},
	{"2.8", "kasan-vmalloc-shadow",
	 "...and new mappings at the same VA can cause a TLB conflict / amalgamation (arm64)",
	 NULL},
	{"2.9", "kasan-vmalloc-shadow",
	 "Release only shadow not shared with neighbours: align start up and end down, extend by one shadow page if the free region covers it",
	 NULL},
	{"2.10", "kasan-vmalloc-shadow",
	 "Don't extend to the whole free region (it may cover huge never-used ranges)",
	 NULL},
	{"2.11", "kasan-vmalloc-shadow",
	 "Runs lazily, long after the free, under `vmap_area_lock` (must not call back into vmalloc)",
	 NULL},
	{"2.12", "kasan-vmalloc-shadow",
	 "Races between alloc and free of areas sharing a shadow page (the reason for the alignment)",
	 NULL},
	{"2.13", "kasan-vmalloc-shadow",
	 "Poison on vfree (v4); handle allocation failures",
	 NULL},
	{"2.14", "kasan-vmalloc-shadow",
	 "v6 drops `WARN_ON_ONCE(pte_none(*ptep))` (too many false positives)",
	 NULL},
	{"2.15", "kasan-vmalloc-shadow",
	 "`init_mm.page_table_lock` around populate/depopulate PTE updates",
	 NULL},
	{"3.1", "vmalloc-exec-rox",
	 "Every dynamic-text user takes ≥1 RO+X page, so one page-table entry and one iTLB entry each",
	 NULL},
	{"3.2", "vmalloc-exec-rox",
	 "Frequent alloc/free of RO+X pages fragments the direct map",
	 NULL},
	{"3.3", "vmalloc-exec-rox",
	 "BPF prog pack: small programs share a 2 MiB RO+X pack (chunk bitmap)",
	 NULL},
	{"3.4", "vmalloc-exec-rox",
	 "`vmalloc_exec()/vfree_exec()`: > PMD_SIZE·nodes gets its own area, smaller ones a shared pack",
	 NULL},
	{"3.5", "vmalloc-exec-rox",
	 "The pack is filled with INT3 (\"invalid\"/\"safe\" instruction naming dispute) and mapped RO+X",
	 NULL},
	{"3.6", "vmalloc-exec-rox",
	 "Changes need the arch's `text_poke` family (writes to RO+X go through a temporary mapping)",
	 NULL},
	{"3.7", "vmalloc-exec-rox",
	 "PeterZ: `VM_TOPDOWN_VMAP` — highest-fit instead of lowest-fit vmap_area",
	 NULL},
	{"3.8", "vmalloc-exec-rox",
	 "`module_alloc_data()` top-down, text bottom-up: bottom of module range RO+X only, top `!X`",
	 NULL},
	{"3.9", "vmalloc-exec-rox",
	 "Track the X/!X boundary; the two never cross",
	 NULL},
	{"3.10", "vmalloc-exec-rox",
	 "All `module_alloc()` users get RO+X memory, not RW",
	 NULL},
	{"3.11", "vmalloc-exec-rox",
	 "Grow the X range in 2 MiB-aligned steps, so everybody gets 2 MiB iTLB entries",
	 NULL},
	{"3.12", "vmalloc-exec-rox",
	 "Song: sub-2 MiB tracking still needs a bitmap; PeterZ: the vmap_area tree can do it",
	 NULL},
	{"3.13", "vmalloc-exec-rox",
	 "Song Q1: vmap_area tree is PAGE_SIZE-granular; sub-page (64 B or 1 B) granularity?",
	 NULL},
	{"3.14", "vmalloc-exec-rox",
	 "Song Q2: several vmap_areas sharing one vm_struct would need a refcount",
	 NULL},
	{"3.15", "vmalloc-exec-rox",
	 "Song: map kernel text with huge pages up to `round_up(_etext, 2M)` and use the tail as the first text pool",
	 NULL},
	{"3.16", "vmalloc-exec-rox",
	 "Hellwig/PeterZ: first write via `text_poke_memcpy()`; add a 2 MiB option if 4 KiB copies are a bottleneck",
	 NULL},
	{"3.17", "vmalloc-exec-rox",
	 "On x86 data must be within s32 reach of text, so it stays in the module range and uses the other end",
	 NULL},
	{"3.18", "vmalloc-exec-rox",
	 "PPC32 `ARCH_WANTS_MODULES_DATA_IN_VMALLOC` (n/a on x86-64)",
	 "PPC32's ARCH_WANTS_MODULES_DATA_IN_VMALLOC: vmlab models x86-64 and arm64 only"},
	{"4.1", "guard-pages-pagewalk",
	 "PROT_NONE guard regions cost a VMA each (2 with the split)",
	 NULL},
	{"4.2", "guard-pages-pagewalk",
	 "Markers in page tables: no extra VMA, and neighbours can still merge",
	 NULL},
	{"4.3", "guard-pages-pagewalk",
	 "\"5× speed-up of memory-mapping invocations\" (with `process_madvise()`)",
	 NULL},
	{"4.4", "guard-pages-pagewalk",
	 "13 % fewer VMAs on an idle Android system",
	 NULL},
	{"4.5", "guard-pages-pagewalk",
	 "Only inside existing VMAs; markers go away with the mapping",
	 NULL},
	{"4.6", "guard-pages-pagewalk",
	 "Touching a guard page → fatal signal",
	 NULL},
	{"4.7", "guard-pages-pagewalk",
	 "Install works across several VMAs",
	 NULL},
	{"4.8", "guard-pages-pagewalk",
	 "Existing mappings are zapped before the markers go in",
	 NULL},
	{"4.9", "guard-pages-pagewalk",
	 "No nesting: installing again does nothing",
	 NULL},
	{"4.10", "guard-pages-pagewalk",
	 "Remove over a mixed range only touches markers (and leaves huge pages unsplit)",
	 NULL},
	{"4.11", "guard-pages-pagewalk",
	 "Uses PTE markers; `PTE_MARKER_POISONED` gives HWPOISON semantics, so there is a separate GUARD marker",
	 NULL},
	{"4.12", "guard-pages-pagewalk",
	 "MADV_DONTNEED and MADV_FREE keep markers",
	 NULL},
	{"4.13", "guard-pages-pagewalk",
	 "fork keeps markers, except `VM_WIPEONFORK`",
	 NULL},
	{"4.14", "guard-pages-pagewalk",
	 "Not a security feature: `MADV_GUARD_REMOVE` clears them",
	 NULL},
	{"4.15", "guard-pages-pagewalk",
	 "pagewalk `install_pte()`: allocate missing tables, install, continue",
	 NULL},
	{"4.16", "guard-pages-pagewalk",
	 "A THP at PMD/PUD is split only if `pte_entry` (or `pmd_entry` at PUD) exists; with only `install_pte` there's no split",
	 NULL},
	{"4.17", "guard-pages-pagewalk",
	 "hugetlb not supported",
	 NULL},
	{"4.18", "guard-pages-pagewalk",
	 "Error or allocation failure aborts the walk; the caller deals with the partly populated range",
	 NULL},
	{"4.19", "guard-pages-pagewalk",
	 "With `install_pte`, `pte_entry` only sees existing entries and `pte_hole` doesn't fire for populated ranges",
	 NULL},
	{"4.20", "guard-pages-pagewalk",
	 "Installing where nothing existed needs no TLB maintenance (only `update_mmu_cache`)",
	 NULL},
	{"4.21", "guard-pages-pagewalk",
	 "The install capability is mm-internal only (`walk_page_range_mm()` in mm/internal.h, not exported)",
	 NULL},
	{"4.22", "guard-pages-pagewalk",
	 "Walk lock modes (PGWALK_RDLOCK / WRLOCK / WRLOCK_VERIFY)",
	 NULL},
	{"5.1", "mmu-notifier-upgrade",
	 "ARM (maybe Sparc, IA64) needs a TLB invalidate on RO→RW upgrade",
	 NULL},
	{"5.2", "mmu-notifier-upgrade",
	 "(Contrast) x86 needs none: a stale, more restrictive entry only gives a spurious fault",
	 NULL},
	{"5.3", "mmu-notifier-upgrade",
	 "mmu_notifier assumed upgrades need no notification",
	 NULL},
	{"5.4", "mmu-notifier-upgrade",
	 "Secondary MMUs mirror the CPU architecture, so they need the notification too",
	 NULL},
	{"5.5", "mmu-notifier-upgrade",
	 "CPU invalidation for upgrades is in `ptep_set_access_flags()` under the PTL",
	 NULL},
	{"5.6", "mmu-notifier-upgrade",
	 "Notifier callbacks may sleep, so they can't run under the PTL: call them after dropping it, and only if the PTE changed",
	 NULL},
	{"5.7", "mmu-notifier-upgrade",
	 "The bug: an SMMU without BTM kept returning the RO PTE to the device after the CPU upgraded",
	 NULL},
	{"5.8", "mmu-notifier-upgrade",
	 "New event `MMU_NOTIFY_PROTECTION_UPGRADE` so drivers can filter",
	 NULL},
	{"5.9", "mmu-notifier-upgrade",
	 "A driver must never upgrade or install a PTE in response",
	 NULL},
	{"5.10", "mmu-notifier-upgrade",
	 "Christopherson: bad fit for `invalidate_range_start/end` (they bookend the primary update)",
	 NULL},
	{"5.11", "mmu-notifier-upgrade",
	 "The SMMU only implements `invalidate_range()`; `mmu_invalidate_range_end()` calls it when start/end are missing",
	 NULL},
	{"5.12", "mmu-notifier-upgrade",
	 "`invalidate_range()` already runs under the PTL (`ptep_clear_flush_notify`), so it mustn't sleep",
	 NULL},
	{"5.13", "mmu-notifier-upgrade",
	 "Performance regression: KVM would zap all its SPTEs on every upgrade instead of waiting for the guest fault",
	 NULL},
	{"5.14", "mmu-notifier-upgrade",
	 "Alternative: `ptep_set_access_flags_notify()` only where needed",
	 NULL},
	{"5.15", "mmu-notifier-upgrade",
	 "\"A bugfix, not a feature\"; why hasn't KVM/arm hit it?",
	 NULL},
	{"5.16", "mmu-notifier-upgrade",
	 "(Outcome, research notes) merged as `arch_invalidate_secondary_tlbs()` in 6.6",
	 NULL},
};

const int sim_nr_claims = (int)ARRAY_SIZE(claims);

const struct sim_claim *sim_claim(int i)
{
	assert(sim_nr_claims > 0);
	return i >= 0 && i < sim_nr_claims ? &claims[i] : NULL;
}

const char *sim_claims_orphan(void)
{
	assert(sim_nr_claim_scenarios >= 0);
	for (int i = 0; i < sim_nr_claim_scenarios; i++) {
		bool found = false;
		for (int j = 0; j < sim_nr_claims && !found; j++)
			found = !strcmp(claims[j].id, sim_claim_scenarios[i].name);
		if (!found)
			return sim_claim_scenarios[i].name;
	}
	assert(sim_nr_claim_scenarios <= sim_nr_claims);
	return NULL;
}

const struct sim_builtin *sim_claim_scenario(const struct sim_claim *c)
{
	assert(c && c->id);
	return sim_find_scenario(sim_claim_scenarios, sim_nr_claim_scenarios,
				 c->id);
}

/* "a=1 b=2" of the result's figure table: every row, columns joined. */
static char *measured_of(const struct sim_result *r)
{
	size_t cap = 64, len = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	s[0] = 0;
	for (int i = 0; i < r->nr_rows; i++) {
		char cell[256];
		int n = snprintf(cell, sizeof(cell), "%s%s:", i ? "; " : "",
				 r->rows[i].name);
		for (int c = 0; c < r->nr_columns && n < (int)sizeof(cell); c++) {
			char v[96];
			sim_format_value(&r->rows[i].v[c], v, sizeof(v));
			n += snprintf(cell + n, sizeof(cell) - (size_t)n, "%s%s",
				      c ? " / " : " ", v);
		}
		size_t cl = strlen(cell);
		if (len + cl + 1 > cap) {
			while (len + cl + 1 > cap)
				cap *= 2;
			char *t = realloc(s, cap);
			if (!t) {
				free(s);
				return NULL;
			}
			s = t;
		}
		memcpy(s + len, cell, cl + 1);
		len += cl;
	}
	assert(strlen(s) == len);
	return s;
}

static enum sim_claim_verdict header_verdict(const struct sim_builtin *b,
					     char *why, size_t n)
{
	char v[32];
	assert(b && b->text && why && n > 0);
	why[0] = 0;
	sim_header(b->text, b->len, "why", why, n);
	if (sim_header(b->text, b->len, "verdict", v, sizeof(v)) &&
	    !strcmp(v, "contradicted"))
		return SIM_CLAIM_CONTRADICTED;
	return SIM_CLAIM_REPRODUCED;
}

int sim_claim_run(const struct sim_claim *c, u64 seed,
		  struct sim_claim_outcome *out)
{
	assert(c && out);
	memset(out, 0, sizeof(*out));
	const struct sim_builtin *b = sim_claim_scenario(c);
	if (!b) {
		/* A claim the registry says is modelled must have its
		 * scenario: losing one is a regression, not "not modelled". */
		out->verdict = c->why_not ? SIM_CLAIM_NOT_MODELLED
					  : SIM_CLAIM_FAILED;
		out->why = lsim_strdup(c->why_not ? c->why_not
						  : "its scenario is missing");
		return out->why ? 0 : -VMLAB_ENOMEM;
	}
	char why[512], arch[32], desc[512];
	sim_describe(b->text, b->len, desc, sizeof(desc));
	if (strcmp(desc, c->text) || c->why_not) {
		out->verdict = SIM_CLAIM_FAILED;
		out->why = lsim_strdup(c->why_not
			? "has a scenario but the registry says not modelled"
			: "its scenario's header does not state the claim");
		return out->why ? 0 : -VMLAB_ENOMEM;
	}
	enum sim_claim_verdict v = header_verdict(b, why, sizeof(why));
	if (!sim_header(b->text, b->len, "arch", arch, sizeof(arch)))
		snprintf(arch, sizeof(arch), "x86-64");
	out->arch = lsim_strdup(arch);
	struct sim_opts o;
	struct sim_result r;
	sim_opts_default(&o);
	o.scenario = b->name;
	o.text = b->text;
	o.text_len = b->len;
	o.seed = seed;
	o.quiet = true;
	enum sim_status st = sim_run(&o, &r);
	out->measured = measured_of(&r);
	if (st == SIM_OK) {
		out->verdict = v;
		out->why = why[0] ? lsim_strdup(why) : NULL;
	} else {
		out->verdict = SIM_CLAIM_FAILED;
		out->why = lsim_strdup(r.error ? r.error : "failed");
	}
	sim_result_free(&r);
	assert(out->verdict != SIM_CLAIM_NOT_MODELLED);
	return 0;
}

void sim_claim_outcome_free(struct sim_claim_outcome *out)
{
	if (!out)
		return;
	assert(out->verdict <= SIM_CLAIM_FAILED);
	free(out->measured);
	free(out->why);
	free(out->arch);
	memset(out, 0, sizeof(*out));
}

const char *sim_claim_verdict_name(enum sim_claim_verdict v)
{
	static const char *const names[] = {
		[SIM_CLAIM_REPRODUCED] = "reproduced",
		[SIM_CLAIM_CONTRADICTED] = "contradicted",
		[SIM_CLAIM_NOT_MODELLED] = "not modelled",
		[SIM_CLAIM_FAILED] = "FAILED",
	};
	assert((unsigned)v < ARRAY_SIZE(names));
	return names[v];
}
