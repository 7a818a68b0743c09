/* SPDX-License-Identifier: MIT */
/*
 * The bbm-violation rule (arm64 break-before-make): a live translation may
 * change its output address, size (block <-> table) or memory type only
 * by going invalid, being invalidated from every TLB (TLBI ... IS + DSB)
 * and then being written anew.  Two ways to break it are reported:
 *  - a direct valid -> valid store the architecture forbids
 *    (arch->bbm_required, pgattr_change_is_safe()'s rule);
 *  - invalid -> valid while some CPU still caches a translation of the
 *    range that differs from the new one (the TLBI was skipped): the
 *    "TLB conflict abort / amalgamation" the KASAN shadow thread warns of.
 * Architectures without the rule (x86) never get here.
 */
#include "check/ck.h"

struct bbm_ctx {
	struct vmlab_mm *mm;
	u64 va;
	int level;
	bool table;  /* the new entry is a table */
	u64 pfn;     /* the new leaf's first frame */
	int cpu;     /* the first CPU found caching the old translation */
	struct tlb_entry seen;
};

static void bbm_entry(struct vmlab_machine *m, struct cpu *c,
		      struct tlb_entry *e, void *p)
{
	struct bbm_ctx *x = p;
	if (x->cpu >= 0 || !entry_reachable(m, c, e))
		return;
	struct vmlab_mm *emm = entry_mm(m, c, e);
	if (!emm || (!x->mm->is_init && emm != x->mm))
		return;
	bool conflict;
	if (x->table) {
		/* A cached block where a table now stands. */
		conflict = e->level >= x->level;
	} else {
		u64 eva = tlb_entry_va(e);
		u64 want = x->pfn + ((eva > x->va ? eva - x->va : 0) >>
				     VMLAB_PAGE_SHIFT);
		conflict = e->level != x->level || e->pfn != want;
	}
	if (conflict) {
		x->cpu = c->id;
		x->seen = *e;
	}
}

static void bbm_report(struct vmlab_machine *m, u64 va, int level, u64 old,
		       u64 val, const char *what, const char *detail)
{
	struct checker *ck = CK(m);
	int cpu = ck->cur_cpu;
	struct vmlab_pte_info n;
	m->arch->decode(val, level, &n);
	if (already(ck, VMLAB_CHECK_BBM, cpu, va, n.pfn))
		return;
	char so[96], sn[96];
	entry_str(m, so, sizeof(so), old, level);
	entry_str(m, sn, sizeof(sn), val, level);
	struct buf b = {0};
	char head[160];
	snprintf(head, sizeof(head), "%s at %#llx", what,
		 (unsigned long long)va);
	header(m, &b, VMLAB_CHECK_BBM, cpu, head);
	bprintf(&b, "Old entry: %s\nNew entry: %s\n%s\n", so, sn, detail);
	bprintf(&b, "Required: invalid entry -> TLBI (broadcast) + DSB -> new "
		    "entry (break-before-make)\n");
	add_history(m, &b, va, n.pfn);
	emit(m, VMLAB_CHECK_BBM, cpu, va, n.pfn, VMLAB_READ, &b);
}

void ck_bbm(struct vmlab_machine *m, struct vmlab_mm *mm, u64 va, int level,
	    u64 old, u64 val)
{
	assert(m->arch->bbm_required && old != val);
	if (m->arch->bbm_required(old, val, level)) {
		bbm_report(m, va, level, old, val,
			   "live entry changed without break-before-make",
			   "A valid entry was replaced directly by one with "
			   "another output address, size or memory type");
		return;
	}
	if (!m->arch->hw_present(val) || m->arch->hw_present(old))
		return;
	struct vmlab_pte_info n;
	m->arch->decode(val, level, &n);
	struct bbm_ctx x = {
		.mm = mm ? mm : &m->init_mm, .va = va, .level = level,
		.table = n.kind == VMLAB_PTE_TABLE, .pfn = n.pfn, .cpu = -1,
	};
	u64 size = vmlab_level_size(level);
	u64 end = va + size ? va + size : ~0ULL;
	for (int i = 0; i < m->nr_cpus && x.cpu < 0; i++)
		tlb_visit_range(m, &m->cpu[i], va, end, bbm_entry, &x);
	if (x.cpu < 0)
		return;
	char t[160], detail[256];
	tlb_str(t, sizeof(t), &x.seen);
	snprintf(detail, sizeof(detail),
		 "CPU %d still caches the old translation: %s\n"
		 "Missing: TLBI between the invalid entry and the new one",
		 x.cpu, t);
	bbm_report(m, va, level, old, val,
		   "new entry over a stale TLB entry (TLB conflict)", detail);
}
