/* SPDX-License-Identifier: MIT */
/*
 * The prog-pack allocator (bpf_prog_pack_alloc()/bpf_prog_pack_free() of
 * kernel/bpf/core.c) and the chunk bitmap it carves packs with.
 *
 * Rules kept from the kernel: 64-byte chunks (BPF_PROG_CHUNK_SHIFT 6),
 * 2 MiB packs (SZ_2M * num_possible_nodes(), one node), a new pack filled
 * with INT3 while writable and then set_memory_rox() once with
 * VM_FLUSH_RESET_PERMS, first fit in the first pack of list order that
 * has room, requests larger than a pack rounded to pages in an area of
 * their own, a freed range refilled with INT3 through text_poke_set()
 * (bpf_arch_text_invalidate()), a pack released when its bitmap is empty.
 *
 * One departure, for speed only: the kernel walks its pack list and runs
 * bitmap_find_next_zero_area() on each pack; here a max tree over the
 * packs in list order holds an upper bound of each pack's longest free
 * run, so the search visits O(log packs) packs, and each bitmap keeps a
 * summary of full words.  The pack and chunk chosen are the kernel's.
 */
#include <stdlib.h>

#include "services/execmem_internal.h"

/* ------------------------------------------------------ chunk bitmap */

int cm_init(struct chunk_map *cm, struct vmlab_machine *m, u32 nbits)
{
	assert(nbits > 0 && nbits % 64 == 0);
	memset(cm, 0, sizeof(*cm));
	cm->nbits = nbits;
	cm->nwords = nbits / 64;
	cm->nfree = nbits;
	/* m: the machine whose host allocations these are (NULL: plain
	 * calloc, a map of no machine) */
	size_t nfull = (cm->nwords + 63) / 64;
	cm->w = m ? host_calloc(m, cm->nwords, sizeof(u64)) :
		    calloc(cm->nwords, sizeof(u64));
	cm->full = m ? host_calloc(m, nfull, sizeof(u64)) :
		       calloc(nfull, sizeof(u64));
	if (!cm->w || !cm->full) {
		cm_destroy(cm);
		return -VMLAB_ENOMEM;
	}
	return 0;
}

void cm_destroy(struct chunk_map *cm)
{
	ct_destroy(cm);
	free(cm->w);
	free(cm->full);
	cm->w = cm->full = NULL;
}

bool cm_test(const struct chunk_map *cm, u32 pos)
{
	assert(pos < cm->nbits);
	return cm->w[pos / 64] >> (pos % 64) & 1;
}

bool cm_all_set(const struct chunk_map *cm, u32 pos, u32 n)
{
	if (cm->tree)
		return ct_is_alloc(cm, pos, n);
	for (u32 i = pos; i < pos + n; i++)
		if (i >= cm->nbits || !cm_test(cm, i))
			return false;
	return true;
}

/* First word at or after `from` that is not all ones. */
static u32 first_nonfull(const struct chunk_map *cm, u32 from)
{
	u32 nsum = (cm->nwords + 63) / 64;
	for (u32 s = from / 64; s < nsum; s++) {
		u64 free_words = ~cm->full[s];
		if (s == from / 64)
			free_words &= ~0ULL << (from % 64);
		if (free_words) {
			u32 i = s * 64 + (u32)__builtin_ctzll(free_words);
			return i < cm->nwords ? i : cm->nwords;
		}
	}
	return cm->nwords;
}

s64 cm_find(const struct chunk_map *cm, u32 n)
{
	assert(n > 0 && !cm->tree);
	if (n > cm->nfree)
		return -1;
	u64 run = 0, start = 0;
	for (u32 i = first_nonfull(cm, 0); i < cm->nwords;) {
		u64 x = cm->w[i];
		if (x == ~0ULL) {
			run = 0;
			i = first_nonfull(cm, i + 1);
			continue;
		}
		for (u32 b = 0; b < 64;) {
			u64 t = x >> b;
			if (t & 1) {
				/* Skip the ones. */
				u64 z = ~t;
				b = z ? b + (u32)__builtin_ctzll(z) : 64;
				run = 0;
				continue;
			}
			u32 len = t ? (u32)__builtin_ctzll(t) : 64 - b;
			if (!run)
				start = (u64)i * 64 + b;
			run += len;
			if (run >= n)
				return (s64)start;
			b += len;
		}
		i++;
	}
	return -1;
}

static void word_update(struct chunk_map *cm, u32 i)
{
	u64 bit = 1ULL << (i % 64);
	if (cm->w[i] == ~0ULL)
		cm->full[i / 64] |= bit;
	else
		cm->full[i / 64] &= ~bit;
}

static u64 range_mask(u32 pos, u32 n, u32 i)
{
	u32 lo = pos > i * 64 ? pos - i * 64 : 0;
	u32 hi = pos + n < (i + 1) * 64 ? pos + n - i * 64 : 64;
	assert(lo < hi && hi <= 64);
	u64 m = hi == 64 ? ~0ULL : (1ULL << hi) - 1;
	return m & ~((1ULL << lo) - 1);
}

void cm_set(struct chunk_map *cm, u32 pos, u32 n)
{
	if (cm->tree) {
		ct_set(cm, pos, n);
		return;
	}
	assert(n > 0 && pos + n <= cm->nbits && n <= cm->nfree);
	for (u32 i = pos / 64; i <= (pos + n - 1) / 64; i++) {
		u64 mk = range_mask(pos, n, i);
		assert(!(cm->w[i] & mk)); /* never hand a chunk out twice */
		cm->w[i] |= mk;
		word_update(cm, i);
	}
	cm->nfree -= n;
}

void cm_clear(struct chunk_map *cm, u32 pos, u32 n)
{
	if (cm->tree) {
		ct_clear(cm, pos, n);
		return;
	}
	assert(n > 0 && pos + n <= cm->nbits);
	for (u32 i = pos / 64; i <= (pos + n - 1) / 64; i++) {
		u64 mk = range_mask(pos, n, i);
		assert((cm->w[i] & mk) == mk);
		cm->w[i] &= ~mk;
		word_update(cm, i);
	}
	cm->nfree += n;
	assert(cm->nfree <= cm->nbits);
}

s64 cm_take(struct chunk_map *cm, u32 n)
{
	if (cm->tree)
		return ct_take(cm, n);
	s64 pos = cm_find(cm, n);
	if (pos >= 0)
		cm_set(cm, (u32)pos, n);
	return pos;
}

u64 cm_track_bytes(const struct chunk_map *cm, u64 *nodes)
{
	if (cm->tree)
		return ct_track_bytes(cm, nodes);
	return (u64)cm->nwords * sizeof(u64);
}

/* ------------------------------------------------ packs, list order */

static inline u32 pack_chunks(const struct execmem *xm)
{
	assert(xm->chunk_shift <= PACK_CHUNK_SHIFT);
	return (u32)(PACK_SIZE >> xm->chunk_shift);
}

static u32 bound_of(const struct xm_pack *p)
{
	if (!p || !p->live)
		return 0;
	u32 b = p->map.nfree;
	if (p->fail && p->fail - 1 < b)
		b = p->fail - 1;
	return b;
}

static void seg_update(struct execmem *xm, u32 slot)
{
	assert(slot < xm->cap_slots);
	u32 i = slot + xm->cap_slots;
	xm->seg[i] = bound_of(xm->packs[slot]);
	for (i /= 2; i >= 1; i /= 2) {
		u32 l = xm->seg[2 * i], r = xm->seg[2 * i + 1];
		xm->seg[i] = l > r ? l : r;
	}
}

/* Lowest slot >= from whose bound reaches n, or -1. */
static s64 seg_first(const struct execmem *xm, u32 node, u32 lo, u32 hi,
		     u32 from, u32 n)
{
	if (hi <= from || xm->seg[node] < n)
		return -1;
	if (hi - lo == 1)
		return lo;
	u32 mid = (lo + hi) / 2;
	s64 r = seg_first(xm, 2 * node, lo, mid, from, n);
	return r >= 0 ? r : seg_first(xm, 2 * node + 1, mid, hi, from, n);
}

static void seg_rebuild(struct execmem *xm)
{
	memset(xm->seg, 0, 2 * (size_t)xm->cap_slots * sizeof(u32));
	for (u32 s = 0; s < xm->cap_slots; s++) {
		if (xm->packs[s])
			xm->packs[s]->slot = s;
		xm->seg[s + xm->cap_slots] = bound_of(xm->packs[s]);
	}
	for (u32 i = xm->cap_slots - 1; i >= 1; i--) {
		u32 l = xm->seg[2 * i], r = xm->seg[2 * i + 1];
		xm->seg[i] = l > r ? l : r;
	}
}

/* Packs are 2 MiB aligned in the module range: one slot per 2 MiB of it
 * finds the pack holding an address in O(1). */
static u64 pack_index_slots(const struct execmem *xm)
{
	return (xm->mod_end - xm->mod_start) / PACK_SIZE + 1;
}

static struct xm_pack **pack_index_slot(struct execmem *xm, u64 addr)
{
	if (addr < xm->mod_start || addr >= xm->mod_end)
		return NULL;
	if (!xm->pack_index) {
		xm->pack_index = host_calloc(xm->m, pack_index_slots(xm),
					sizeof(struct xm_pack *));
		if (!xm->pack_index)
			return NULL;
	}
	u64 i = (addr - xm->mod_start) / PACK_SIZE;
	assert(i < pack_index_slots(xm));
	return &xm->pack_index[i];
}

static struct xm_pack *pack_of(struct execmem *xm, u64 addr)
{
	struct xm_pack **slot = pack_index_slot(xm, addr);
	return slot ? *slot : NULL;
}

/* list_add_tail(): a slot after every live pack, compacting released
 * slots away (order kept) or doubling when the list is dense. */
static int slot_reserve(struct execmem *xm)
{
	if (xm->nr_slots < xm->cap_slots)
		return 0;
	if (xm->cap_slots && xm->nr_packs <= xm->cap_slots / 2) {
		u32 k = 0;
		for (u32 s = 0; s < xm->nr_slots; s++)
			if (xm->packs[s])
				xm->packs[k++] = xm->packs[s];
		for (u32 s = k; s < xm->cap_slots; s++)
			xm->packs[s] = NULL;
		xm->nr_slots = k;
		seg_rebuild(xm);
		return 0;
	}
	u32 cap = xm->cap_slots ? xm->cap_slots * 2 : 16;
	struct xm_pack **np = host_realloc(xm->m, xm->packs, cap * sizeof(*np));
	if (!np)
		return -VMLAB_ENOMEM;
	xm->packs = np;
	u32 *ns = host_realloc(xm->m, xm->seg, 2 * (size_t)cap * sizeof(u32));
	if (!ns)
		return -VMLAB_ENOMEM;
	xm->seg = ns;
	for (u32 s = xm->cap_slots; s < cap; s++)
		xm->packs[s] = NULL;
	xm->cap_slots = cap;
	seg_rebuild(xm);
	return 0;
}

/* alloc_new_pack() */
static struct xm_pack *new_pack(struct execmem *xm, int cpu)
{
	if (slot_reserve(xm))
		return NULL;
	struct xm_pack *p = host_calloc(xm->m, 1, sizeof(*p));
	bool tree = xm->cfg.flags & VMLAB_EXECMEM_PACK_TREE;
	if (!p || (tree ? ct_init(&p->map, pack_chunks(xm))
			: cm_init(&p->map, xm->m, pack_chunks(xm)))) {
		free(p);
		return NULL;
	}
	u64 start, end;
	xm_type_range(xm, VMLAB_EXECMEM_BPF, &start, &end);
	/* bpf_jit_alloc_exec(BPF_PROG_PACK_SIZE) with a 2 MiB leaf where
	 * the buddy allocator has one (vmalloc falls back to 4 KiB). */
	p->addr = xm_rox_area(xm, cpu, PACK_SIZE, start, end,
			      VMLAB_VM_ALLOW_HUGE_VMAP, "bpf_prog_pack");
	if (!p->addr) {
		cm_destroy(&p->map);
		free(p);
		return NULL;
	}
	struct xm_pack **ix = pack_index_slot(xm, p->addr);
	if (!ix) {
		vmlab_vfree(xm->m, cpu, p->addr);
		xm->nr_areas--;
		cm_destroy(&p->map);
		free(p);
		return NULL;
	}
	assert(!*ix && !(p->addr & (PACK_SIZE - 1)));
	*ix = p;
	p->live = true;
	p->slot = xm->nr_slots++;
	xm->packs[p->slot] = p;
	xm->nr_packs++;
	seg_update(xm, p->slot);
	return p;
}

static void release_pack(struct execmem *xm, int cpu, struct xm_pack *p)
{
	assert(p->live);
	assert(p->map.nfree == pack_chunks(xm) ||
	       (xm->cfg.flags & VMLAB_EXECMEM_PACK_NOREF));
	xm->packs[p->slot] = NULL;
	*pack_index_slot(xm, p->addr) = NULL;
	p->live = false;
	seg_update(xm, p->slot);
	xm->nr_packs--;
	if (cpu >= 0) {
		vmlab_vfree(xm->m, cpu, p->addr);
		xm->nr_areas--;
	}
	cm_destroy(&p->map);
	free(p);
}

s64 pack_take(struct execmem *xm, int cpu, u32 nbits, struct xm_pack **out)
{
	assert(nbits > 0 && nbits <= pack_chunks(xm));
	for (u32 from = 0;;) {
		s64 s = xm->cap_slots ? seg_first(xm, 1, 0, xm->cap_slots, from,
						  nbits)
				      : -1;
		if (s < 0)
			break;
		struct xm_pack *p = xm->packs[s];
		assert(p && p->live);
		s64 pos = cm_take(&p->map, nbits);
		if (pos >= 0) {
			seg_update(xm, p->slot);
			*out = p;
			return pos;
		}
		/* The bound was loose: tighten it and look further on. */
		p->fail = nbits;
		seg_update(xm, p->slot);
		from = (u32)s + 1;
	}
	struct xm_pack *p = new_pack(xm, cpu);
	if (!p)
		return -1;
	cm_set(&p->map, 0, nbits);
	seg_update(xm, p->slot);
	*out = p;
	return 0;
}

void pack_give(struct execmem *xm, struct xm_pack *p, u32 pos, u32 nbits)
{
	cm_clear(&p->map, pos, nbits);
	p->fail = 0;
	seg_update(xm, p->slot);
}

static u32 size_to_nbits(const struct execmem *xm, u64 size)
{
	u64 chunk = 1ULL << xm->chunk_shift;
	return (u32)((size + chunk - 1) >> xm->chunk_shift);
}

u64 pack_alloc(struct execmem *xm, int cpu, u64 size, u64 *reserved,
	       enum xm_kind *kind)
{
	assert(size > 0);
	if (size > PACK_SIZE) {
		u64 bytes = (size + VMLAB_PAGE_SIZE - 1) & VMLAB_PAGE_MASK;
		u64 start, end;
		xm_type_range(xm, VMLAB_EXECMEM_BPF, &start, &end);
		*reserved = bytes;
		*kind = XM_AREA;
		return xm_rox_area(xm, cpu, bytes, start, end, 0,
				   "bpf_jit_alloc_exec");
	}
	u32 nbits = size_to_nbits(xm, size);
	struct xm_pack *p;
	s64 pos = pack_take(xm, cpu, nbits, &p);
	if (pos < 0)
		return 0;
	*reserved = (u64)nbits << xm->chunk_shift;
	*kind = XM_PACK;
	return p->addr + ((u64)pos << xm->chunk_shift);
}

int pack_free(struct execmem *xm, int cpu, u64 addr, u64 size)
{
	struct xm_pack *p = pack_of(xm, addr);
	u32 nbits = size_to_nbits(xm, size);
	u32 pos = (u32)((addr - (p ? p->addr : 0)) >> xm->chunk_shift);
	if (!p || (addr & ((1ULL << xm->chunk_shift) - 1)) ||
	    !cm_all_set(&p->map, pos, nbits)) {
		vmlab_warn(xm->m, "bpf_prog_pack bug: %#llx",
			   (unsigned long long)addr);
		return -VMLAB_EINVAL;
	}
	/* bpf_arch_text_invalidate(): INT3 over the freed bytes. */
	int err = vmlab_text_poke_set(xm->m, cpu, addr, INT3, size);
	pack_give(xm, p, pos, nbits);
	/* The vm_struct the pack's vmap_areas share goes with the last of
	 * them (the refcount is the chunks in use); the no-refcount variant
	 * frees it with this one. */
	if (p->map.nfree == pack_chunks(xm) ||
	    (xm->cfg.flags & VMLAB_EXECMEM_PACK_NOREF))
		release_pack(xm, cpu, p);
	return err;
}

void pack_destroy_all(struct execmem *xm)
{
	for (u32 s = 0; s < xm->nr_slots; s++) {
		struct xm_pack *p = xm->packs[s];
		if (p) {
			cm_destroy(&p->map);
			free(p);
		}
	}
	free(xm->packs);
	free(xm->seg);
	free(xm->pack_index);
	xm->pack_index = NULL;
	xm->packs = NULL;
	xm->seg = NULL;
	xm->nr_slots = xm->cap_slots = xm->nr_packs = 0;
}

u64 pack_reserved(const struct execmem *xm)
{
	return (u64)xm->nr_packs * PACK_SIZE;
}

u64 pack_track_bytes(const struct execmem *xm, u64 *nodes, u64 *used)
{
	u64 bytes = 0;
	*nodes = *used = 0;
	for (u32 s = 0; s < xm->nr_slots; s++) {
		const struct xm_pack *p = xm->packs[s];
		if (!p)
			continue;
		bytes += cm_track_bytes(&p->map, nodes);
		*used += (u64)(p->map.nbits - p->map.nfree) << xm->chunk_shift;
	}
	assert(!xm->nr_packs || bytes > 0);
	assert(*used <= pack_reserved(xm));
	return bytes;
}
