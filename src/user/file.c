/* SPDX-License-Identifier: MIT */
/*
 * memfd/shmem-like files (mm/shmem.c): a page cache indexed by page
 * offset whose slots hold a page or a swap entry, i_size, the list of VMAs
 * mapping the file (i_mmap), faults that allocate zeroed pages in holes,
 * ftruncate() and hole punching, which unmap the range from every mapping
 * (truncation also takes private COW copies; a hole punch leaves them)
 * and leave guard markers in place.  The inodes of regular files
 * (regfile.c) keep their pages in the same cache.
 */
#include "user/uinternal.h"

#define MAX_FILE_BYTES VMLAB_TiB

static u64 *slot_ptr(struct vmlab_file *f, u64 index, bool alloc)
{
	assert(f->magic == FILE_MAGIC);
	assert(!f->nr_chunks || f->chunk);
	u64 c = index / FSLOT_CHUNK;
	if (c >= f->nr_chunks) {
		if (!alloc)
			return NULL;
		u64 n = f->nr_chunks ? f->nr_chunks : 4;
		while (n <= c)
			n *= 2;
		u64 **p = realloc(f->chunk, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + f->nr_chunks, 0, (n - f->nr_chunks) * sizeof(*p));
		f->chunk = p;
		f->nr_chunks = n;
	}
	if (!f->chunk[c]) {
		if (!alloc)
			return NULL;
		f->chunk[c] = calloc(FSLOT_CHUNK, sizeof(u64));
		if (!f->chunk[c])
			return NULL;
	}
	return &f->chunk[c][index % FSLOT_CHUNK];
}

u64 *file_slot_ptr(struct vmlab_file *f, u64 index, bool alloc)
{
	return slot_ptr(f, index, alloc);
}

u64 file_slot(const struct vmlab_file *f, u64 index)
{
	u64 *s = slot_ptr((struct vmlab_file *)(uintptr_t)f, index, false);
	return s ? *s : 0;
}

struct vmlab_file *file_new(struct user_svc *s, const char *name,
			    bool anon_shared)
{
	assert(s && name);
	struct vmlab_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->magic = FILE_MAGIC;
	f->svc = s;
	f->id = ++s->next_file_id;
	f->anon_shared = anon_shared;
	f->seals = VMLAB_F_SEAL_SEAL; /* shmem_get_inode() */
	f->exec_mode = true;           /* S_IRWXUGO */
	f->f_mode = FMODE_READ | FMODE_WRITE; /* memfds are O_RDWR */
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->refs = 1;
	f->next = s->files;
	if (s->files)
		s->files->prev = f;
	s->files = f;
	return f;
}

int vmlab_memfd_create(struct vmlab_machine *m, const char *name,
		       struct vmlab_file **out)
{
	if (!m || !out)
		return -VMLAB_EINVAL;
	if (name && strlen(name) > 249) /* MFD_NAME_MAX_LEN */
		return -VMLAB_EINVAL;
	struct user_svc *s = user_svc(m);
	char full[48];
	snprintf(full, sizeof(full), "/memfd:%s", name ? name : "");
	struct vmlab_file *f = s ? file_new(s, full, false) : NULL;
	if (!f)
		return -VMLAB_ENOMEM;
	*out = f;
	return 0;
}

void vmlab_file_set_thp_area(struct vmlab_file *f, bool on)
{
	if (!f || f->magic != FILE_MAGIC)
		return;
	f = file_inode(f);
	if (f->anon_shared || f->regular)
		return; /* an opened regular file is one for good */
	f->thp_area = on;
}

/* The inode behind a caller's handle, or NULL for anything else. */
static const struct vmlab_file *inode_of(const struct vmlab_file *f)
{
	if (!f || f->magic != FILE_MAGIC)
		return NULL;
	assert(!f->inode || f->inode->magic == FILE_MAGIC);
	return f->inode ? f->inode : f;
}

u64 vmlab_file_id(const struct vmlab_file *f)
{
	f = inode_of(f);
	return f ? f->id : 0;
}

struct vmlab_file *shmem_zero_setup(struct user_svc *s, u64 size, int *err)
{
	assert(size && !(size & (VMLAB_PAGE_SIZE - 1)));
	struct vmlab_file *f = file_new(s, "/dev/zero", true);
	if (!f) {
		*err = -VMLAB_ENOMEM;
		return NULL;
	}
	f->size = size;
	return f;
}

void file_get(struct vmlab_file *f)
{
	assert(f->magic == FILE_MAGIC && f->refs > 0);
	f->refs++;
}

/* Drop pages and swap entries of [first, last] from the page cache. */
static void cache_drop(struct vmlab_file *f, u64 first, u64 last)
{
	struct vmlab_machine *m = f->svc->m;
	assert(first <= last);
	/* A huge folio the range covers only in part is split first. */
	shmem_split_partial(f, first, last);
	u64 lastc = f->nr_chunks ? f->nr_chunks - 1 : 0;
	for (u64 c = first / FSLOT_CHUNK; c <= lastc && c < f->nr_chunks; c++) {
		if (!f->chunk[c])
			continue;
		for (u64 i = 0; i < FSLOT_CHUNK; i++) {
			u64 idx = c * FSLOT_CHUNK + i;
			u64 *s = &f->chunk[c][i];
			if (idx < first || idx > last || !*s)
				continue;
			if (*s & 1) {
				swap_free(f->svc, *s >> 1);
				f->nr_swapped--;
			} else {
				struct vmlab_page *pg = upage(m, *s >> 1);
				assert(pg->mapcount == 0);
				(void)pg;
				page_put(m, -1, *s >> 1);
				f->nr_cached--;
			}
			*s = 0;
		}
	}
}

static void file_free(struct vmlab_file *f)
{
	struct user_svc *s = f->svc;
	assert(!f->mappings);
	assert(f->magic == FILE_MAGIC);
	cache_drop(f, 0, ~0ULL);
	assert(!f->nr_cached && !f->nr_swapped);
	for (u64 c = 0; c < f->nr_chunks; c++)
		free(f->chunk[c]);
	free(f->chunk);
	if (f->prev)
		f->prev->next = f->next;
	else
		s->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	f->magic = 0;
	free(f);
}

void vmlab_file_put(struct vmlab_file *f)
{
	if (!f || f->magic != FILE_MAGIC)
		return;
	assert(f->refs > 0);
	if (--f->refs)
		return;
	/* An open file description holds its inode: close() drops it. */
	struct vmlab_file *inode = f->inode;
	file_free(f);
	if (inode)
		vmlab_file_put(inode);
}

void files_destroy(struct user_svc *s)
{
	/* Handles the caller never put: no mapping is left by now. */
	while (s->files)
		file_free(s->files);
}

void file_link_vma(struct vmlab_file *f, struct vmlab_vma *v)
{
	assert(f->magic == FILE_MAGIC && v->file == f);
	assert(!v->f_prev && !v->f_next && f->mappings != v);
	v->f_prev = NULL;
	v->f_next = f->mappings;
	if (f->mappings)
		f->mappings->f_prev = v;
	f->mappings = v;
}

bool file_vma_linked(const struct vmlab_file *f, const struct vmlab_vma *v)
{
	assert(v->file == f);
	return v->f_prev || f->mappings == v;
}

void file_unlink_vma(struct vmlab_file *f, struct vmlab_vma *v)
{
	assert(v->file == f);
	assert(v->f_prev || f->mappings == v);
	if (v->f_prev)
		v->f_prev->f_next = v->f_next;
	else
		f->mappings = v->f_next;
	if (v->f_next)
		v->f_next->f_prev = v->f_prev;
	v->f_prev = v->f_next = NULL;
}

int shmem_get_page(struct vmlab_file *f, int cpu, u64 index, u64 *pfn)
{
	struct vmlab_machine *m = f->svc->m;
	assert(pfn);
	u64 *s = slot_ptr(f, index, true);
	if (!s)
		return -VMLAB_ENOMEM;
	if (*s && !(*s & 1)) {
		*pfn = *s >> 1;
		return 0;
	}
	u64 p;
	int err = vmlab_alloc_pages(m, cpu, 0, &p);
	if (err)
		return err;
	struct vmlab_page *pg = upage(m, p);
	pg->owner = PG_OWNER_FILE;
	pg->mapcount = 0;
	pg->private_ = f->regular ? PGP_REGFILE : 0;
	if (*s & 1) {
		/* shmem_swapin_folio() */
		swap_read(f->svc, *s >> 1, frame_content(m, p, true));
		swap_free(f->svc, *s >> 1);
		f->nr_swapped--;
	} else {
		u8 *c = m->phys.sections[p >> SECTION_SHIFT]
				->content[p & (SECTION_FRAMES - 1)];
		if (c)
			memset(c, 0, VMLAB_PAGE_SIZE);
	}
	*s = p << 1;
	f->nr_cached++;
	*pfn = p;
	assert(pg->refcount == 1 && pg->owner == PG_OWNER_FILE);
	return 0;
}

int shmem_writeout(struct vmlab_file *f, int cpu, u64 index)
{
	struct vmlab_machine *m = f->svc->m;
	u64 *s = slot_ptr(f, index, false);
	if (!s || !*s || (*s & 1))
		return 0;
	u64 pfn = *s >> 1;
	struct vmlab_page *pg = upage(m, pfn);
	assert(pg->owner == PG_OWNER_FILE && pg->refcount > 0);
	if (pg->mapcount || pg->refcount != 1)
		return 0; /* mapped again meanwhile */
	/* shmem_writeout() splits a large folio before swapping it. */
	shmem_split_partial(f, index, index);
	u64 off;
	if (swap_alloc_slot(f->svc, &off))
		return -VMLAB_ENOSPC;
	if (swap_write(f->svc, off, frame_content(m, pfn, false))) {
		swap_free(f->svc, off);
		return -VMLAB_ENOMEM;
	}
	*s = (off << 1) | 1;
	f->nr_cached--;
	f->nr_swapped++;
	page_put(m, cpu, pfn);
	return 0;
}

/* Zero [from, to) of the cached page at index, if there is one. */
static void zero_partial(struct vmlab_file *f, u64 index, u64 from, u64 to)
{
	assert(from <= to && to <= VMLAB_PAGE_SIZE);
	u64 sl = file_slot(f, index);
	if (!sl || from >= to)
		return;
	if (sl & 1) {
		u64 pfn;
		if (shmem_get_page(f, -1, index, &pfn))
			return;
		sl = pfn << 1;
	}
	memset(frame_content(f->svc->m, sl >> 1, true) + from, 0, to - from);
}

int vmlab_ftruncate(struct vmlab_file *f, u64 size)
{
	if (!f || f->magic != FILE_MAGIC)
		return -VMLAB_EINVAL;
	/* do_ftruncate(): only a description open for writing. */
	if (!(f->f_mode & FMODE_WRITE))
		return -VMLAB_EINVAL;
	return file_setsize(file_inode(f), size);
}

int file_setsize(struct vmlab_file *f, u64 size)
{
	assert(f && f->magic == FILE_MAGIC && !f->inode);
	if (size > MAX_FILE_BYTES)
		return -VMLAB_EFBIG;
	int err = seals_check_resize(f, size);
	if (err)
		return err;
	u64 old = f->size;
	f->size = size;
	if (size >= old)
		return 0;
	assert(size < old);
	/* truncate_pagecache(): unmap everything past the new end, private
	 * COW copies included, drop the cache, zero the partial tail. */
	u64 hole = PAGES(PAGE_ALIGN_UP(size));
	unmap_mapping_range(f, hole, ~0ULL >> VMLAB_PAGE_SHIFT, true);
	cache_drop(f, hole, ~0ULL);
	if (size & (VMLAB_PAGE_SIZE - 1))
		zero_partial(f, PAGES(size), size & (VMLAB_PAGE_SIZE - 1),
			     VMLAB_PAGE_SIZE);
	return 0;
}

int vmlab_file_punch_hole(struct vmlab_file *f, u64 off, u64 len)
{
	if (!f || f->magic != FILE_MAGIC || !len || off + len < off)
		return -VMLAB_EINVAL;
	/* vfs_fallocate(): the length first, then the open mode. */
	if (!(f->f_mode & FMODE_WRITE))
		return -VMLAB_EBADF;
	f = file_inode(f);
	int err = seals_check_punch(f);
	if (err)
		return err;
	u64 end = off + len;
	u64 first = PAGES(PAGE_ALIGN_UP(off)), lastx = PAGES(end);
	assert(end > off && first <= lastx + 1);
	/* Whole pages: unmapped from shared mappings (COW copies stay),
	 * then freed; partial pages at the edges are zeroed. */
	if (lastx > first) {
		unmap_mapping_range(f, first, lastx - 1, false);
		cache_drop(f, first, lastx - 1);
	}
	u64 fi = PAGES(off), li = PAGES(end - 1);
	if (fi == li) {
		u64 s = off & (VMLAB_PAGE_SIZE - 1), e = s + len;
		if (s || e < VMLAB_PAGE_SIZE)
			zero_partial(f, fi, s, e);
	} else {
		if (off & (VMLAB_PAGE_SIZE - 1))
			zero_partial(f, fi, off & (VMLAB_PAGE_SIZE - 1),
				     VMLAB_PAGE_SIZE);
		if (end & (VMLAB_PAGE_SIZE - 1))
			zero_partial(f, li, 0, end & (VMLAB_PAGE_SIZE - 1));
	}
	return 0;
}

s64 vmlab_file_pwrite(struct vmlab_file *f, const void *buf, u64 len, u64 off)
{
	if (!f || f->magic != FILE_MAGIC || (!buf && len))
		return -VMLAB_EINVAL;
	if (!(f->f_mode & FMODE_WRITE)) /* vfs_write() */
		return -VMLAB_EBADF;
	f = file_inode(f);
	if (off + len < off || off + len > MAX_FILE_BYTES)
		return -VMLAB_EFBIG;
	int err = seals_check_write(f, off, len);
	if (err)
		return err;
	const u8 *p = buf;
	assert(!len || p);
	for (u64 done = 0; done < len;) {
		u64 o = off + done, in = o & (VMLAB_PAGE_SIZE - 1);
		u64 n = VMLAB_PAGE_SIZE - in < len - done ? VMLAB_PAGE_SIZE - in :
							   len - done;
		u64 pfn;
		if (shmem_get_page(f, -1, PAGES(o), &pfn))
			return done ? (s64)done : -VMLAB_ENOMEM;
		memcpy(frame_content(f->svc->m, pfn, true) + in, p + done, n);
		done += n;
		if (o + n > f->size)
			f->size = o + n;
	}
	return (s64)len;
}

s64 vmlab_file_pread(struct vmlab_file *f, void *buf, u64 len, u64 off)
{
	if (!f || f->magic != FILE_MAGIC || (!buf && len))
		return -VMLAB_EINVAL;
	if (!(f->f_mode & FMODE_READ)) /* vfs_read() */
		return -VMLAB_EBADF;
	f = file_inode(f);
	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = f->size - off;
	u8 *p = buf;
	assert(off + len <= f->size);
	for (u64 done = 0; done < len;) {
		u64 o = off + done, in = o & (VMLAB_PAGE_SIZE - 1);
		u64 n = VMLAB_PAGE_SIZE - in < len - done ? VMLAB_PAGE_SIZE - in :
							   len - done;
		assert(n > 0 && in + n <= VMLAB_PAGE_SIZE);
		u64 sl = file_slot(f, PAGES(o));
		if (!sl) {
			memset(p + done, 0, n);
		} else if (sl & 1) {
			u8 tmp[VMLAB_PAGE_SIZE];
			swap_read(f->svc, sl >> 1, tmp);
			memcpy(p + done, tmp + in, n);
		} else {
			memcpy(p + done,
			       frame_content(f->svc->m, sl >> 1, false) + in, n);
		}
		done += n;
	}
	return (s64)len;
}

u64 vmlab_file_size(const struct vmlab_file *f)
{
	f = inode_of(f);
	return f ? f->size : 0;
}

u64 vmlab_file_cached_pages(const struct vmlab_file *f)
{
	f = inode_of(f);
	return f ? f->nr_cached : 0;
}

u64 vmlab_file_swapped_pages(const struct vmlab_file *f)
{
	f = inode_of(f);
	return f ? f->nr_swapped : 0;
}
