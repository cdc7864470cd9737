// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel per-container module: the part that depends on the patched
 * kernel.  Everything the module needs from kernel/ is used in this file
 * only; main.c sees the vkm_abi_*() functions of vkernel.h.
 *
 * The interface, from <linux/vkernel.h> (CONFIG_VKERNEL, patch 0007; the
 * "syscall_table" and "futex_table" features, kernel/README.md):
 *
 *   struct vkernel {
 *           long (* const *sys_call_table)(const struct pt_regs *regs);
 *           struct module *owner;
 *           const char *name;
 *           unsigned int nr_syscalls;
 *           unsigned int futex_hashsize;
 *   };
 *   int vkernel_attach(struct pid_namespace *ns, struct vkernel *vk);
 *   void vkernel_detach(struct pid_namespace *ns);
 *
 * The table is sparse: a NULL entry runs the kernel's own syscall, so ours
 * holds the deny stubs only.  Only the x86-64 entry is hooked.  With
 * futex_hashsize set, the kernel allocates (and frees) the private futex
 * hash table itself.  vkernel_attach() pins this module until the namespace
 * is destroyed, so the table and the stubs, which are static, outlive every
 * task that can use them, and module_exit() has nothing to take back.
 *
 * Without that interface (any stock kernel, e.g. Debian's headers that the
 * tests build against) the module still builds and refuses to load with a
 * clear message.  Kbuild defines VKERNEL_HAVE_ATTACH when the kernel's
 * <linux/vkernel.h> declares vkernel_attach.
 */

#include <linux/kernel.h>
#include <linux/module.h>

#include "vkernel.h"

#if defined(VKERNEL_HAVE_ATTACH) && IS_ENABLED(CONFIG_VKERNEL)

#include <linux/kernfs.h>
#include <linux/ptrace.h>
#include <linux/sysfs.h>
#include <linux/vkernel.h>
#include <asm/unistd.h>

/* Sparse: only the denied calls have an entry, all pointing at the stub. */
static long (*vkm_table[NR_syscalls])(const struct pt_regs *regs);

static struct vkernel vkm_vk = {
	.owner = THIS_MODULE,
	.sys_call_table = vkm_table,
	.nr_syscalls = NR_syscalls,
};

static long vkm_denied(const struct pt_regs *regs)
{
	struct vkm_deny *d = &vkm.deny[VKM_X64];
	unsigned int i;

	for (i = 0; i < d->count; i++) {
		if (d->nr[i] == regs->orig_ax) {
			atomic64_inc(&d->hits[i]);
			break;
		}
	}
	return -EPERM;
}

int vkm_abi_check(void)
{
	return 0;
}

/* The kernel dispatches the x86-64 entry only (kernel/README.md). */
bool vkm_abi_hooks(enum vkm_abi abi)
{
	return abi == VKM_X64;
}

/*
 * A directory of a kobject below @parent.  Its kernfs node has the kobject
 * as private data, as for every kobject directory (sysfs relies on it).
 * Only used for directories that are never removed (see below), so the
 * kobject is returned without a reference.
 */
static struct kobject *vkm_kobj_lookup(struct kobject *parent,
				       const char *name)
{
	struct kobject *kobj = NULL;
	struct kernfs_node *kn;

	kn = sysfs_get_dirent(parent->sd, name);
	if (!kn)
		return NULL;
	if (kernfs_type(kn) == KERNFS_DIR)
		kobj = kn->priv;
	sysfs_put(kn);
	return kobj;
}

/*
 * /sys/kernel/vkernel/containers, the parent of every container module's
 * directory.  The kernel creates /sys/kernel/vkernel (patch 0001) for good
 * without exporting its kobject, so look it up.  The first module to load
 * creates "containers" and never puts its reference: the directory stays
 * for the other modules, and its kobject (kobject_create_and_add(), freed
 * by the kobject core, not by module code) may outlive this module.
 * vkernel-runtime loads modules one at a time; should two first loads
 * race, the loser finds the winner's directory.
 */
struct kobject *vkm_abi_sysfs_parent(void)
{
	struct kobject *vk, *containers;

	vk = vkm_kobj_lookup(kernel_kobj, "vkernel");
	if (!vk)
		return NULL;
	containers = vkm_kobj_lookup(vk, "containers");
	if (!containers)
		containers = kobject_create_and_add("containers", vk);
	if (!containers)
		containers = vkm_kobj_lookup(vk, "containers");
	return containers;
}

int vkm_abi_attach(struct vkm_container *c)
{
	const struct vkm_deny *d = &vkm.deny[VKM_X64];
	struct vkernel_attachment *att;
	unsigned int i;
	int ret;

	for (i = 0; i < d->count; i++)
		vkm_table[d->nr[i]] = vkm_denied;
	vkm_vk.name = module_name(THIS_MODULE);
	vkm_vk.futex_hashsize = c->futex_buckets;

	ret = vkernel_attach(c->pidns, &vkm_vk);
	if (ret) {
		if (ret == -EBUSY)
			vkm_err("pid namespace %u already has a vkernel attached\n",
				c->pidns_inum);
		else
			vkm_err("vkernel_attach: %d\n", ret);
		return ret;
	}
	/* ours until the namespace goes, and we hold the namespace */
	att = READ_ONCE(c->pidns->vkernel);
	c->futex_table = att ? att->futex_table : NULL;
	return 0;
}

/* The attachment is the module's only user: it holds it until the end. */
bool vkm_abi_attached(void)
{
#ifdef CONFIG_MODULE_UNLOAD
	return module_refcount(THIS_MODULE) > 0;
#else
	return true;
#endif
}

#else /* no vkernel_attach() in this kernel */

int vkm_abi_check(void)
{
	vkm_err("this kernel has no vkernel module interface (CONFIG_VKERNEL with vkernel_attach()): boot the vkernel kernel\n");
	return -EOPNOTSUPP;
}

bool vkm_abi_hooks(enum vkm_abi abi)
{
	return false;
}

struct kobject *vkm_abi_sysfs_parent(void)
{
	return NULL;
}

int vkm_abi_attach(struct vkm_container *c)
{
	return -EOPNOTSUPP;
}

bool vkm_abi_attached(void)
{
	return false;
}

#endif
