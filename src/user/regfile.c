/* SPDX-License-Identifier: MIT */
/*
 * Regular files of a disk filesystem (ext4-like, Linux 6.18): a flat
 * namespace of paths per machine, open(2) with O_RDONLY / O_WRONLY /
 * O_RDWR, O_CREAT, O_EXCL and O_TRUNC returning open file descriptions
 * that hold the inode, unlink(2), and the open mode's checks of mmap
 * (do_mmap(): a shared writable mapping needs FMODE_WRITE, every mapping
 * FMODE_READ, a shared mapping of a description not open for writing
 * loses VM_MAYWRITE and VM_SHARED).  The inode is a struct vmlab_file
 * with its page cache in file.c; it has no seals (memfd.c), its mappings
 * are placed by thp_get_unmapped_area() (mmap.c) and it lives while it
 * has a name, a description or a mapping.
 */
#include "user/uinternal.h"

#define O_ACCMODE_BITS 03
#define MAX_PATH_BYTES 63 /* the model's limit: struct vmlab_file.name */

static struct vmlab_file *lookup(struct user_svc *s, const char *path)
{
	assert(s && path);
	for (struct vmlab_file *f = s->files; f; f = f->next)
		if (f->regular && f->linked && !strcmp(f->name, path))
			return f;
	return NULL;
}

/* The inode of a new empty regular file under path (its name's
 * reference is the one file_new() gives). */
static struct vmlab_file *inode_create(struct user_svc *s, const char *path)
{
	struct vmlab_file *ino = file_new(s, path, false);
	if (!ino)
		return NULL;
	ino->regular = ino->linked = true;
	ino->thp_area = true; /* ext4_file_operations.get_unmapped_area */
	ino->seals = 0;        /* not a shmem inode: no seals at all */
	ino->exec_mode = false; /* created 0666 & ~umask */
	assert(!file_has_seals(ino) && ino->refs == 1);
	return ino;
}

/* getname() and the lookup: 0 with the service, or an errno (an empty
 * path is ENOENT, a long one ENAMETOOLONG). */
static int path_check(struct vmlab_machine *m, const char *path,
		      struct user_svc **s)
{
	*s = m ? user_svc(m) : NULL;
	if (!*s)
		return -VMLAB_EINVAL;
	if (!path || !*path)
		return -VMLAB_ENOENT;
	if (strlen(path) > MAX_PATH_BYTES)
		return -VMLAB_ENAMETOOLONG;
	assert((*s)->m == m);
	return 0;
}

int vmlab_file_open(struct vmlab_machine *m, const char *path, int flags,
		    struct vmlab_file **out)
{
	struct user_svc *s;
	int perr = out ? path_check(m, path, &s) : -VMLAB_EINVAL;
	if (perr)
		return perr;
	struct vmlab_file *ino = lookup(s, path);
	if (ino && (flags & VMLAB_O_CREAT) && (flags & VMLAB_O_EXCL))
		return -VMLAB_EEXIST;
	if (!ino && !(flags & VMLAB_O_CREAT))
		return -VMLAB_ENOENT;
	struct vmlab_file *fd = file_new(s, path, false);
	if (!fd)
		return -VMLAB_ENOMEM;
	bool created = !ino;
	if (created && !(ino = inode_create(s, path))) {
		vmlab_file_put(fd);
		return -VMLAB_ENOMEM;
	}
	/* OPEN_FMODE(): access mode 3 reads and writes nothing. */
	fd->f_mode = ((unsigned int)flags + 1) & O_ACCMODE_BITS;
	fd->inode = ino;
	fd->regular = true;
	fd->seals = 0;
	file_get(ino); /* the description's reference */
	/* handle_truncate(): O_TRUNC empties an existing file whatever the
	 * access mode (the permission to write is not modelled). */
	if (!created && (flags & VMLAB_O_TRUNC) && ino->size) {
		int err = file_setsize(ino, 0);
		assert(!err); /* no seals, never too big */
		(void)err;
	}
	assert(fd->inode->regular && fd->refs == 1 && ino->refs >= 2);
	*out = fd;
	return 0;
}

int vmlab_file_unlink(struct vmlab_machine *m, const char *path)
{
	struct user_svc *s;
	int perr = path_check(m, path, &s);
	if (perr)
		return perr;
	struct vmlab_file *ino = lookup(s, path);
	if (!ino)
		return -VMLAB_ENOENT;
	assert(ino->refs > 0 && !ino->inode);
	ino->linked = false;
	vmlab_file_put(ino); /* open descriptions and mappings keep it */
	return 0;
}

int vmlab_file_mode(const struct vmlab_file *f)
{
	if (!f || f->magic != FILE_MAGIC)
		return -VMLAB_EBADF;
	assert(!(f->f_mode & ~(FMODE_READ | FMODE_WRITE)));
	return (int)f->f_mode;
}

int file_mmap_access(const struct vmlab_file *fd, int type, int prot,
		     u64 *vm_flags)
{
	assert(fd && fd->magic == FILE_MAGIC && vm_flags);
	bool shared = type == VMLAB_MAP_SHARED ||
		      type == VMLAB_MAP_SHARED_VALIDATE;
	assert(shared == !!(*vm_flags & VMLAB_VM_SHARED));
	if (shared && (prot & VMLAB_PROT_WRITE) && !(fd->f_mode & FMODE_WRITE))
		return -VMLAB_EACCES;
	/* A shared mapping that can never write is not a shared writer:
	 * it keeps VM_MAYSHARE (maps shows 's') and may not gain
	 * PROT_WRITE by mprotect(). */
	if (shared && !(fd->f_mode & FMODE_WRITE))
		*vm_flags &= ~(VMLAB_VM_MAYWRITE | VMLAB_VM_SHARED);
	if (!(fd->f_mode & FMODE_READ))
		return -VMLAB_EACCES;
	return 0;
}
