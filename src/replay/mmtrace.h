/* SPDX-License-Identifier: MIT */
/*
 * The mmtrace parser's output (format in doc/replay.md and the traces'
 * README): metadata, the maps blocks and one record per call or event,
 * in file order.
 */
#ifndef VMLAB_REPLAY_MMTRACE_H
#define VMLAB_REPLAY_MMTRACE_H

#include "replay/rinternal.h"

enum mt_kind {
	MT_MMAP, MT_MUNMAP, MT_MPROTECT, MT_PKEY_MPROTECT, MT_MREMAP,
	MT_MADVISE, MT_BRK, MT_MLOCK, MT_MLOCK2, MT_MUNLOCK, MT_MLOCKALL,
	MT_MUNLOCKALL, MT_CLONE, MT_CLONE3, MT_FORK, MT_VFORK, MT_EXECVE,
	MT_OTHER_CALL, /* shmat, mseal, mbind...: not replayed */
	MT_SIGNAL, MT_THREAD_NEW, MT_THREAD_EXIT, MT_PROCESS_NEW,
	MT_MAPS, /* a maps block (exec or exit) */
	MT_NR_KINDS
};
extern const char *const mt_kind_name[MT_NR_KINDS];

struct mt_vma {
	u64 start, end, off, inode;
	char perms[5];
	char dev[12];
	char *path; /* NULL: none; "[stack]", "/usr/lib/...", ... */
};

struct mt_maps {
	bool at_exec;
	s64 pid;
	struct mt_vma *v;
	size_t n, cap;
	u64 line;     /* of maps-begin */
	u64 end_line; /* of maps-end */
};

struct mt_rec {
	u64 line;
	u8 kind;
	bool unfinished; /* "-> ? unfinished" */
	s64 pid, tid;
	u64 seq;
	/* arguments (those the call has) */
	u64 addr, len, prot, flags, off, old_len, new_len, new_addr;
	s64 fd;
	u64 advice;
	u64 fsize;
	char *path;  /* mmap of a file, execve (decoded) */
	char name[24]; /* MT_OTHER_CALL: the call's name */
	/* the kernel's result */
	s64 result;
	bool result_hex;
	/* signal */
	u64 signo, code, sigaddr;
	size_t maps; /* MT_MAPS: index in mt_trace.maps */
};

struct mt_trace {
	struct mt_rec *rec;
	size_t n, cap;
	struct mt_maps *maps;
	size_t nmaps, capmaps;
	int version;
	bool ended; /* the "# end" line was seen */
	u64 calls;
};

int mt_parse(const char *text, size_t len, const char *source,
	     struct mt_trace *t, char *err, size_t errlen);
void mt_free(struct mt_trace *t);

#endif
