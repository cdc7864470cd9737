// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel per-container module: the part that depends on the patched
 * kernel.  Everything the module needs from kernel/ is used in this file
 * only; main.c sees the vkm_abi_*() functions of vkernel.h.
 *
 * The interface, from <linux/vkernel.h> (CONFIG_VKERNEL, patches 0008-0010;
 * the "syscall_table" and "futex_table" features, kernel/README.md):
 *
 *   struct vkernel {
 *           long (* const *sys_call_table)(const struct pt_regs *regs);
 *           long (* const *x32_sys_call_table)(const struct pt_regs *regs);
 *           long (* const *ia32_sys_call_table)(const struct pt_regs *regs);
 *           struct module *owner;
 *           const char *name;
 *           unsigned int nr_syscalls, nr_x32_syscalls, nr_ia32_syscalls;
 *           unsigned int futex_hashsize;
 *   };
 *   int vkernel_attach(struct pid_namespace *ns, struct vkernel *vk);
 *   void vkernel_detach(struct pid_namespace *ns);
 *   struct kobject *vkernel_containers_kobject(void);
 *
 * The tables are sparse: a NULL entry runs the kernel's own syscall, so ours
 * hold the deny stubs only.  The kernel dispatches the x86-64, x32 and ia32
 * (int $0x80, sysenter, compat syscall) entries, each through its own
 * table in its own numbering (patch 0008).  With futex_hashsize set, the
 * kernel allocates (and frees) the private futex hash table itself.
 * vkernel_attach() pins this module until the namespace is destroyed, so
 * the tables and the stubs, which are static, outlive every task that can
 * use them, and module_exit() has nothing to take back.
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

#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/vkernel.h>
#include <asm/unistd.h>

/* Sparse: only the denied calls have an entry, pointing at a stub. */
static long (*vkm_table[NR_syscalls])(const struct pt_regs *regs);
static long (*vkm_table_x32[X32_NR_syscalls])(const struct pt_regs *regs);
static long (*vkm_table_ia32[IA32_NR_syscalls])(const struct pt_regs *regs);

static struct vkernel vkm_vk = {
	.owner = THIS_MODULE,
	.sys_call_table = vkm_table,
	.nr_syscalls = NR_syscalls,
	.x32_sys_call_table = vkm_table_x32,
	.nr_x32_syscalls = X32_NR_syscalls,
	.ia32_sys_call_table = vkm_table_ia32,
	.nr_ia32_syscalls = IA32_NR_syscalls,
};

/* Count a denied call of @abi, number @nr (that entry's numbering). */
static long vkm_deny(enum vkm_abi abi, unsigned long nr)
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

static long vkm_denied(const struct pt_regs *regs)
{
	return vkm_deny(VKM_X64, regs->orig_ax);
}

static long vkm_denied_x32(const struct pt_regs *regs)
{
	return vkm_deny(VKM_X32, regs->orig_ax & ~__X32_SYSCALL_BIT);
}

static long vkm_denied_ia32(const struct pt_regs *regs)
{
	return vkm_deny(VKM_IA32, (u32)regs->orig_ax);
}

int vkm_abi_check(void)
{
	return 0;
}

/* The kernel dispatches every entry point (kernel/README.md). */
bool vkm_abi_hooks(enum vkm_abi abi)
{
	return true;
}

/* /sys/kernel/vkernel/containers: the kernel's (patch 0010). */
struct kobject *vkm_abi_sysfs_parent(void)
{
	return vkernel_containers_kobject();
}

int vkm_abi_attach(struct vkm_container *c)
{
	const struct vkm_deny *d = vkm.deny;
	struct vkernel_attachment *att;
	unsigned int i;
	int ret;

	for (i = 0; i < d[VKM_X64].count; i++)
		vkm_table[d[VKM_X64].nr[i]] = vkm_denied;
	for (i = 0; i < d[VKM_X32].count; i++)
		vkm_table_x32[d[VKM_X32].nr[i]] = vkm_denied_x32;
	for (i = 0; i < d[VKM_IA32].count; i++)
		vkm_table_ia32[d[VKM_IA32].nr[i]] = vkm_denied_ia32;
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

/*
 * Futex waiters queued in the container's private table, or a negative
 * errno (-ESRCH once its init is gone).  The namespace is found again from
 * init_pid (host view) and checked by inode number: a reference held from
 * load on would keep the namespace, and with it this module, forever.
 */
int vkm_abi_futex_waiters(void)
{
	struct pid_namespace *ns = NULL;
	struct task_struct *task;
	int ret = -ESRCH;

	rcu_read_lock();
	task = pid_task(find_pid_ns(vkm.init_pid, &init_pid_ns), PIDTYPE_PID);
	if (task) {
		ns = task_active_pid_ns(task);
		if (ns && ns->ns.inum == vkm.pidns_inum)
			get_pid_ns(ns);
		else
			ns = NULL;
	}
	rcu_read_unlock();
	if (ns) {
		ret = vkernel_futex_waiters(ns);
		put_pid_ns(ns);
	}
	return ret;
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

int vkm_abi_futex_waiters(void)
{
	return -EOPNOTSUPP;
}

#endif
