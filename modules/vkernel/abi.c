// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel per-container module: the part that depends on the patched
 * kernel.  Everything the module needs from kernel/ is used in this file
 * only; main.c sees the four vkm_abi_*() functions of vkernel.h.
 *
 * What this file expects from <linux/vkernel.h> (CONFIG_VKERNEL, the
 * "syscall_table" feature).  kernel/README.md is the source of truth: when
 * its names differ, adapt this file, not main.c.
 *
 *   struct vkernel {
 *           struct module *owner;
 *           const sys_call_ptr_t *sys_call_table[VKERNEL_NR_ABI];
 *           struct futex_hash_bucket *futex_queues;
 *           unsigned long futex_hashsize;
 *           void (*release)(struct vkernel *vk);
 *   };
 *       Filled by the module.  A NULL table or futex_queues means "the
 *       kernel's own".  Index: VKERNEL_ABI_X64, _X32, _IA32.
 *
 *   const sys_call_ptr_t *vkernel_syscall_table(int abi, unsigned int *nr);
 *       The kernel's table of that ABI and its size, to copy (NULL when
 *       the ABI is not built in).
 *
 *   struct futex_hash_bucket *vkernel_futex_alloc(unsigned long size);
 *   void vkernel_futex_free(struct futex_hash_bucket *queues,
 *                           unsigned long size);
 *       A hash table of initialised buckets (the bucket layout is private
 *       to kernel/futex/).
 *
 *   int vkernel_attach(struct pid_namespace *ns, struct vkernel *vk);
 *       Publishes vk for ns (RCU).  -EBUSY when ns already has one.
 *       Takes a reference on vk->owner that it drops only after the last
 *       task of ns is gone and a grace period has passed, calling
 *       vk->release(vk) first: until then rmmod fails with -EBUSY.
 *
 *   void vkernel_detach(struct vkernel *vk);
 *       Unpublishes vk and waits for a grace period (error paths only; a
 *       module cannot exit while attached).
 *
 *   struct kobject *vkernel_containers_kobj;
 *       /sys/kernel/vkernel/containers, shared by all container modules.
 *
 * Without that interface (any stock kernel, e.g. Debian's headers that the
 * tests build against) the module still builds and refuses to load with a
 * clear message.  Kbuild defines VKERNEL_HAVE_ATTACH when the kernel's
 * <linux/vkernel.h> declares vkernel_attach.
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "vkernel.h"

#if defined(VKERNEL_HAVE_ATTACH) && IS_ENABLED(CONFIG_VKERNEL)

#include <linux/ptrace.h>
#include <linux/vkernel.h>
#include <asm/syscall.h>

static const int vkm_kernel_abi[VKM_NR_ABI] = {
	[VKM_X64] = VKERNEL_ABI_X64,
	[VKM_X32] = VKERNEL_ABI_X32,
	[VKM_IA32] = VKERNEL_ABI_IA32,
};

static struct vkernel vkm_vk;
static sys_call_ptr_t *vkm_tables[VKM_NR_ABI];

static long vkm_deny_hit(enum vkm_abi abi, unsigned long nr)
{
	struct vkm_deny *d = &vkm.deny[abi];
	unsigned int i;

	for (i = 0; i < d->count; i++) {
		if (d->nr[i] == nr) {
			atomic64_inc(&d->hits[i]);
			break;
		}
	}
	return -EPERM;
}

/* One entry point per ABI, so that the counters know the table. */
static long vkm_denied_x64(const struct pt_regs *regs)
{
	return vkm_deny_hit(VKM_X64, regs->orig_ax);
}

static long vkm_denied_x32(const struct pt_regs *regs)
{
	return vkm_deny_hit(VKM_X32, regs->orig_ax & ~__X32_SYSCALL_BIT);
}

static long vkm_denied_ia32(const struct pt_regs *regs)
{
	return vkm_deny_hit(VKM_IA32, regs->orig_ax);
}

static const sys_call_ptr_t vkm_denied[VKM_NR_ABI] = {
	[VKM_X64] = vkm_denied_x64,
	[VKM_X32] = vkm_denied_x32,
	[VKM_IA32] = vkm_denied_ia32,
};

static void vkm_release(struct vkernel *vk)
{
	WRITE_ONCE(vkm.attached, false);
	vkm_info("pid namespace %u is gone: detached\n", vkm.pidns_inum);
}

static void vkm_free_tables(void)
{
	unsigned int a;

	for (a = 0; a < VKM_NR_ABI; a++) {
		kfree(vkm_tables[a]);
		vkm_tables[a] = NULL;
		vkm_vk.sys_call_table[vkm_kernel_abi[a]] = NULL;
	}
	if (vkm_vk.futex_queues)
		vkernel_futex_free(vkm_vk.futex_queues, vkm_vk.futex_hashsize);
	vkm_vk.futex_queues = NULL;
}

/* A copy of the kernel's table for abi in which the denied calls fail. */
static int vkm_build_table(enum vkm_abi abi)
{
	const struct vkm_deny *d = &vkm.deny[abi];
	const sys_call_ptr_t *orig;
	unsigned int n, i;

	orig = vkernel_syscall_table(vkm_kernel_abi[abi], &n);
	if (!orig) {
		if (d->count)
			vkm_info("%s system calls are not built into this kernel: its deny list is moot\n",
				 vkm_abi_names[abi]);
		return 0;
	}
	if (!d->count)
		return 0; /* the kernel's own table serves */
	vkm_tables[abi] = kmemdup(orig, n * sizeof(*orig), GFP_KERNEL);
	if (!vkm_tables[abi])
		return -ENOMEM;
	for (i = 0; i < d->count; i++) {
		if (d->nr[i] >= n)
			return -EINVAL;
		vkm_tables[abi][d->nr[i]] = vkm_denied[abi];
	}
	vkm_vk.sys_call_table[vkm_kernel_abi[abi]] = vkm_tables[abi];
	return 0;
}

int vkm_abi_check(void)
{
	return 0;
}

struct kobject *vkm_abi_sysfs_parent(void)
{
	return vkernel_containers_kobj;
}

int vkm_abi_attach(struct vkm_container *c)
{
	unsigned int a;
	int ret;

	vkm_vk.owner = THIS_MODULE;
	vkm_vk.release = vkm_release;
	for (a = 0; a < VKM_NR_ABI; a++) {
		ret = vkm_build_table(a);
		if (ret)
			goto free;
	}
	vkm_vk.futex_hashsize = c->futex_buckets;
	vkm_vk.futex_queues = vkernel_futex_alloc(c->futex_buckets);
	if (!vkm_vk.futex_queues) {
		ret = -ENOMEM;
		goto free;
	}
	ret = vkernel_attach(c->pidns, &vkm_vk);
	if (ret) {
		if (ret == -EBUSY)
			vkm_err("pid namespace %u already has a vkernel attached\n",
				c->pidns_inum);
		else
			vkm_err("vkernel_attach: %d\n", ret);
		goto free;
	}
	WRITE_ONCE(c->attached, true);
	return 0;

free:
	vkm_free_tables();
	return ret;
}

void vkm_abi_detach(struct vkm_container *c)
{
	/*
	 * The kernel pins this module while attached, so on unload it has
	 * released us already; detach only defensively.
	 */
	if (READ_ONCE(c->attached)) {
		vkernel_detach(&vkm_vk);
		WRITE_ONCE(c->attached, false);
	}
	vkm_free_tables();
}

#else /* no vkernel_attach() in this kernel */

int vkm_abi_check(void)
{
	vkm_err("this kernel has no vkernel module interface (CONFIG_VKERNEL with vkernel_attach()): boot the vkernel kernel\n");
	return -EOPNOTSUPP;
}

struct kobject *vkm_abi_sysfs_parent(void)
{
	return NULL;
}

int vkm_abi_attach(struct vkm_container *c)
{
	return -EOPNOTSUPP;
}

void vkm_abi_detach(struct vkm_container *c)
{
}

#endif
