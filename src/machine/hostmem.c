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
