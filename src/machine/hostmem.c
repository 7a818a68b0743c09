/* SPDX-License-Identifier: MIT */
/*
 * The per-machine host-memory budget: what the model's own state costs
 * the host (frame descriptor sections, frame contents, page-table pages,
 * TLB arrays, vmalloc page arrays), charged where it is allocated.  A
 * charge past the limit fails, and the operation that needed it returns
 * -VMLAB_ENOMEM as the kernel's allocation would, leaving the machine as
 * it was.  Stores by a CPU (frame contents written through a mapping)
 * cannot fail: they are charged unconditionally, and the allocator keeps
 * a page of headroom per frame it hands out so they stay near the limit.
 */
#include <stdlib.h>

#include "internal.h"

bool host_charge(struct vmlab_machine *m, u64 bytes)
{
	if (!host_room(m, bytes))
		return false;
	m->host_bytes += bytes;
	return true;
}

void host_charge_force(struct vmlab_machine *m, u64 bytes)
{
	m->host_bytes += bytes;
	assert(m->host_bytes >= bytes); /* no wrap */
}

void host_uncharge(struct vmlab_machine *m, u64 bytes)
{
	assert(bytes <= m->host_bytes);
	m->host_bytes -= bytes < m->host_bytes ? bytes : m->host_bytes;
}

/* One host allocation: does fault injection make it fail? */
static bool host_alloc_fails(struct vmlab_machine *m)
{
	assert(m);
	m->host_allocs++;
	if (!m->host_fail_at || m->host_allocs != m->host_fail_at)
		return false;
	m->host_fail_at = 0; /* one-shot, as fail-nth */
	m->host_failed++;
	return true;
}

void *host_malloc(struct vmlab_machine *m, size_t size)
{
	return host_alloc_fails(m) ? NULL : malloc(size);
}

void *host_calloc(struct vmlab_machine *m, size_t n, size_t size)
{
	return host_alloc_fails(m) ? NULL : calloc(n, size);
}

void *host_realloc(struct vmlab_machine *m, void *p, size_t size)
{
	assert(size);
	return host_alloc_fails(m) ? NULL : realloc(p, size);
}

void vmlab_host_fail_nth(struct vmlab_machine *m, u64 nth)
{
	if (!m)
		return;
	m->host_fail_at = nth ? m->host_allocs + nth : 0;
	assert(!nth || m->host_fail_at > m->host_allocs);
}

u64 vmlab_host_failed(const struct vmlab_machine *m)
{
	return m ? m->host_failed : 0;
}

u64 vmlab_host_bytes(const struct vmlab_machine *m)
{
	return m ? m->host_bytes : 0;
}

u64 vmlab_host_limit(const struct vmlab_machine *m)
{
	return m ? m->host_limit : 0;
}

int vmlab_host_charge(struct vmlab_machine *m, u64 bytes)
{
	if (!m)
		return -VMLAB_EINVAL;
	return host_charge(m, bytes) ? 0 : -VMLAB_ENOMEM;
}

void vmlab_host_uncharge(struct vmlab_machine *m, u64 bytes)
{
	if (!m)
		return;
	if (bytes > m->host_bytes) {
		vmlab_warn(m, "host_uncharge: %llu bytes, only %llu charged",
			   (unsigned long long)bytes,
			   (unsigned long long)m->host_bytes);
		bytes = m->host_bytes;
	}
	host_uncharge(m, bytes);
}
