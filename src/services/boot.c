/* SPDX-License-Identifier: MIT */
/* Boot: a bare machine plus the kernel services, in dependency order. */
#include "machine/internal.h"
#include "services/directmap_internal.h"
#include "vmlab/vmlab.h"

int vmlab_boot(const struct vmlab_config *cfg, struct vmlab_machine **out)
{
	if (!out)
		return -VMLAB_EINVAL;
	struct vmlab_machine *m;
	int err = vmlab_machine_create(cfg, &m);
	if (err)
		return err;
	err = vmlab_directmap_init(m);
	if (!err && cfg->kasan)
		err = vmlab_kasan_init(m);
	if (!err)
		err = vmlab_vmalloc_init(m);
	if (err) {
		vmlab_machine_destroy(m);
		return err;
	}
	/* CPA calls vm_unmap_aliases() before every change. */
	vmlab_set_cpa_hook(m, vmlab_vm_unmap_aliases_hook, NULL);
	/* Boot-time work is not part of any experiment. */
	vmlab_counters_reset(m);
	assert(m->dm_end > m->dm_start);
	*out = m;
	return 0;
}
