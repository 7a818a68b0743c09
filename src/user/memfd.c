/* SPDX-License-Identifier: MIT */
/*
 * memfd seals (mm/memfd.c, mm/shmem.c, Linux 6.18): memfd_create() flags,
 * F_ADD_SEALS / F_GET_SEALS, and the checks the seals put on writes,
 * size changes, hole punching and new mappings.  Regular files (the
 * thp_area ones: opened ones, regfile.c) have no seals.
 */
#include "user/uinternal.h"

#define MFD_ALL_FLAGS                                                        \
	(VMLAB_MFD_CLOEXEC | VMLAB_MFD_ALLOW_SEALING | VMLAB_MFD_HUGETLB |   \
	 VMLAB_MFD_NOEXEC_SEAL | VMLAB_MFD_EXEC)
#define F_ALL_SEALS                                                          \
	(VMLAB_F_SEAL_SEAL | VMLAB_F_SEAL_SHRINK | VMLAB_F_SEAL_GROW |       \
	 VMLAB_F_SEAL_WRITE | VMLAB_F_SEAL_FUTURE_WRITE | VMLAB_F_SEAL_EXEC)
#define WRITE_SEALS (VMLAB_F_SEAL_WRITE | VMLAB_F_SEAL_FUTURE_WRITE)

int vmlab_memfd_create_flags(struct vmlab_machine *m, const char *name,
			     unsigned int flags, struct vmlab_file **out)
{
	if (!m || !out)
		return -VMLAB_EINVAL;
	if (flags & ~MFD_ALL_FLAGS)
		return -VMLAB_EINVAL;
	if ((flags & VMLAB_MFD_EXEC) && (flags & VMLAB_MFD_NOEXEC_SEAL))
		return -VMLAB_EINVAL;
	if (flags & VMLAB_MFD_HUGETLB)
		return -VMLAB_EOPNOTSUPP;
	struct vmlab_file *f;
	int err = vmlab_memfd_create(m, name, &f);
	if (err)
		return err;
	assert(f->seals == VMLAB_F_SEAL_SEAL && f->exec_mode);
	/* vm.memfd_noexec = 0: neither flag means MFD_EXEC. */
	if (flags & VMLAB_MFD_NOEXEC_SEAL) {
		f->exec_mode = false; /* i_mode &= ~0111 */
		f->seals = VMLAB_F_SEAL_EXEC;
	} else if (flags & VMLAB_MFD_ALLOW_SEALING) {
		f->seals = 0;
	}
	*out = f;
	return 0;
}

/* mapping_writably_mapped(): VMAs counted in i_mmap_writable. */
static bool writably_mapped(const struct vmlab_file *f)
{
	for (const struct vmlab_vma *v = f->mappings; v; v = v->f_next)
		if ((v->vm_flags & (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE)) ==
		    (VMLAB_VM_SHARED | VMLAB_VM_MAYWRITE))
			return true;
	return false;
}

int vmlab_file_add_seals(struct vmlab_file *f, unsigned int seals)
{
	if (!f || f->magic != FILE_MAGIC)
		return -VMLAB_EINVAL;
	/* memfd_add_seals(): the open mode comes before everything. */
	if (!(f->f_mode & FMODE_WRITE))
		return -VMLAB_EPERM;
	f = file_inode(f);
	if (seals & ~(unsigned int)F_ALL_SEALS)
		return -VMLAB_EINVAL;
	if (!file_has_seals(f))
		return -VMLAB_EINVAL;
	if (f->seals & VMLAB_F_SEAL_SEAL)
		return -VMLAB_EPERM;
	/* F_SEAL_EXEC on an executable file makes it W^X from then on. */
	if ((seals & VMLAB_F_SEAL_EXEC) && f->exec_mode)
		seals |= VMLAB_F_SEAL_SHRINK | VMLAB_F_SEAL_GROW | WRITE_SEALS;
	/* mapping_deny_writable(); pins (memfd_wait_for_pins) are not
	 * modelled. */
	if ((seals & VMLAB_F_SEAL_WRITE) && !(f->seals & VMLAB_F_SEAL_WRITE) &&
	    writably_mapped(f))
		return -VMLAB_EBUSY;
	f->seals |= seals;
	assert(!(f->seals & ~(unsigned int)F_ALL_SEALS));
	return 0;
}

int vmlab_file_get_seals(const struct vmlab_file *f)
{
	if (!f || f->magic != FILE_MAGIC)
		return -VMLAB_EINVAL;
	f = f->inode ? f->inode : f;
	if (!file_has_seals(f))
		return -VMLAB_EINVAL;
	assert(!(f->seals & ~(unsigned int)F_ALL_SEALS));
	return (int)f->seals;
}

int memfd_check_seals_mmap(struct vmlab_file *f, u64 *vm_flags)
{
	assert(f && f->magic == FILE_MAGIC && vm_flags);
	if (!file_has_seals(f) || !(f->seals & WRITE_SEALS))
		return 0;
	/* check_write_seal(): private mappings may write (COW). */
	if (!(*vm_flags & VMLAB_VM_SHARED))
		return 0;
	if (*vm_flags & VMLAB_VM_WRITE)
		return -VMLAB_EPERM;
	*vm_flags &= ~VMLAB_VM_MAYWRITE;
	return 0;
}

int seals_check_write(const struct vmlab_file *f, u64 off, u64 len)
{
	assert(f && f->magic == FILE_MAGIC);
	if (!file_has_seals(f))
		return 0;
	if (f->seals & WRITE_SEALS)
		return -VMLAB_EPERM;
	if ((f->seals & VMLAB_F_SEAL_GROW) && off + len > f->size)
		return -VMLAB_EPERM;
	return 0;
}

int seals_check_resize(const struct vmlab_file *f, u64 new_size)
{
	assert(f && f->magic == FILE_MAGIC);
	if (!file_has_seals(f))
		return 0;
	if ((new_size < f->size && (f->seals & VMLAB_F_SEAL_SHRINK)) ||
	    (new_size > f->size && (f->seals & VMLAB_F_SEAL_GROW)))
		return -VMLAB_EPERM;
	return 0;
}

int seals_check_punch(const struct vmlab_file *f)
{
	assert(f && f->magic == FILE_MAGIC);
	return file_has_seals(f) && (f->seals & WRITE_SEALS) ? -VMLAB_EPERM : 0;
}
