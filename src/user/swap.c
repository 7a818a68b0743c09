/* SPDX-License-Identifier: MIT */
/*
 * The swap area: one swap device (type 0) per machine, slots with a
 * reference count (the swap_map: one per swap PTE or shmem slot that
 * names it) and their contents, kept on the host only for slots written
 * with non-zero data.  Slot 0 is the header, as on disk.  There is no swap
 * cache: a swap-in copies the slot into a fresh page.
 */
#include "user/uinternal.h"

#define DEFAULT_MAX_SLOTS (1ULL << 20) /* 4 GiB */
#define MAX_SLOTS (1ULL << 28)

static int swap_init(struct user_svc *s, u64 slots)
{
	struct swap_area *a = &s->swap;
	assert(!a->ready);
	assert(slots >= 2 && slots <= MAX_SLOTS);
	a->count = calloc(slots, sizeof(*a->count));
	a->data = calloc(slots, sizeof(*a->data));
	if (!a->count || !a->data) {
		free(a->count);
		free(a->data);
		a->count = NULL;
		a->data = NULL;
		return -VMLAB_ENOMEM;
	}
	a->nr_slots = slots;
	a->used = 0;
	a->cursor = 1;
	a->ready = true;
	return 0;
}

static int swap_ensure(struct user_svc *s)
{
	if (s->swap.ready)
		return 0;
	assert(!s->swap.count && !s->swap.data);
	u64 slots = s->m->phys.nr_frames / 4;
	if (slots > DEFAULT_MAX_SLOTS)
		slots = DEFAULT_MAX_SLOTS;
	if (slots < 2)
		slots = 2;
	return swap_init(s, slots);
}

void swap_destroy(struct user_svc *s)
{
	struct swap_area *a = &s->swap;
	if (!a->ready)
		return;
	assert(a->count && a->data && a->used < a->nr_slots);
	for (u64 i = 0; i < a->nr_slots; i++)
		free(a->data[i]);
	free(a->data);
	free(a->count);
	memset(a, 0, sizeof(*a));
}

int swap_alloc_slot(struct user_svc *s, u64 *off)
{
	if (swap_ensure(s))
		return -VMLAB_ENOMEM;
	struct swap_area *a = &s->swap;
	assert(a->ready && off);
	if (a->used + 1 >= a->nr_slots)
		return -VMLAB_ENOSPC;
	/* Next fit from the cursor, skipping the header slot. */
	for (u64 n = 0; n < a->nr_slots; n++) {
		u64 i = a->cursor;
		a->cursor = a->cursor + 1 < a->nr_slots ? a->cursor + 1 : 1;
		if (i == 0 || a->count[i])
			continue;
		a->count[i] = 1;
		a->used++;
		assert(!a->data[i]);
		*off = i;
		return 0;
	}
	return -VMLAB_ENOSPC;
}

int swap_write(struct user_svc *s, u64 off, const u8 *content)
{
	struct swap_area *a = &s->swap;
	assert(a->ready && off < a->nr_slots && a->count[off]);
	bool zero = true;
	for (u64 i = 0; i < VMLAB_PAGE_SIZE && zero; i++)
		zero = !content[i];
	if (zero) {
		free(a->data[off]);
		a->data[off] = NULL;
		return 0;
	}
	if (!a->data[off]) {
		/* The write fails as a swap device's I/O error would: the
		 * caller keeps the page. */
		a->data[off] = host_malloc(s->m, VMLAB_PAGE_SIZE);
		if (!a->data[off])
			return -VMLAB_ENOMEM;
	}
	memcpy(a->data[off], content, VMLAB_PAGE_SIZE);
	return 0;
}

void swap_read(struct user_svc *s, u64 off, u8 *content)
{
	struct swap_area *a = &s->swap;
	assert(a->ready && off < a->nr_slots && a->count[off]);
	if (a->data[off])
		memcpy(content, a->data[off], VMLAB_PAGE_SIZE);
	else
		memset(content, 0, VMLAB_PAGE_SIZE);
}

/* _swap_info_get(): an entry naming no slot in use (garbage written into
 * a page table) is reported, not followed. */
bool swap_slot_ok(struct user_svc *s, u64 off)
{
	const struct swap_area *a = &s->swap;
	if (likely(a->ready && off < a->nr_slots && a->count[off]))
		return true;
	vmlab_warn(s->m, "swap_info_get: Bad swap offset entry %#llx",
		   (unsigned long long)off);
	return false;
}

bool swap_dup(struct user_svc *s, u64 off)
{
	struct swap_area *a = &s->swap;
	if (!swap_slot_ok(s, off))
		return false;
	assert(a->count[off] < UINT32_MAX);
	a->count[off]++;
	return true;
}

bool swap_free(struct user_svc *s, u64 off)
{
	struct swap_area *a = &s->swap;
	if (!swap_slot_ok(s, off))
		return false;
	if (--a->count[off])
		return true;
	free(a->data[off]);
	a->data[off] = NULL;
	assert(a->used > 0);
	a->used--;
	return true;
}

u64 swap_pte(struct vmlab_machine *m, u64 off)
{
	assert(off > 0 && off < MAX_SLOTS);
	return vmlab_mk_swap(m, 0, off);
}

int vmlab_swap_setup(struct vmlab_machine *m, u64 pages)
{
	if (!m || pages < 2 || pages > MAX_SLOTS)
		return -VMLAB_EINVAL;
	struct user_svc *s = user_svc(m);
	if (!s)
		return -VMLAB_ENOMEM;
	if (s->swap.ready) {
		if (s->swap.used)
			return -VMLAB_EBUSY;
		swap_destroy(s);
	}
	return swap_init(s, pages);
}

u64 vmlab_swap_used(struct vmlab_machine *m)
{
	struct user_svc *s = user_svc_peek(m);
	return s && s->swap.ready ? s->swap.used : 0;
}

u64 vmlab_swap_total(struct vmlab_machine *m)
{
	struct user_svc *s = user_svc_peek(m);
	return s && s->swap.ready ? s->swap.nr_slots - 1 : 0;
}
