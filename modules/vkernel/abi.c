// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel per-container module: the part that depends on the patched
 * kernel.  Everything the module needs from kernel/ is used in this file
 * only; main.c sees the vkm_abi_*() functions of vkernel.h.
 *
 * The interface, from <linux/vkernel.h> (CONFIG_VKERNEL, patches 0008-0011;
 * the "syscall_table" and "futex_table" features, kernel/README.md):
 *
 *   struct vkernel_deny { const int *nr; atomic64_t *hits; unsigned int count; };
 *   struct vkernel {
 *           struct vkernel_deny deny[VKERNEL_NR_ABIS];  x64, x32, ia32
 *           struct module *owner;
 *           const char *name;
 *           unsigned int futex_hashsize;
 *   };
 *   int vkernel_attach(struct pid_namespace *ns, struct vkernel *vk);
 *   void vkernel_detach(struct pid_namespace *ns);
 *
 * and, from <linux/vkernel_rules.h> (patches 0012, 0013; the features
 * "syscall_args" and "caps_max"):
 *
 *   struct vkernel_rules {
 *           u64 ns_deny;                       CLONE_NEW* flags refused
 *           const unsigned int *personality;   values personality() may set
 *           unsigned int personality_count;
 *           const kernel_cap_t *cap_max;       capability ceiling, or NULL
 *   };
 *   int vkernel_attach_rules(struct pid_namespace *ns, struct vkernel *vk,
 *                            const struct vkernel_rules *rules);
 *
 * Kbuild defines VKERNEL_HAVE_RULES and VKERNEL_HAVE_CAPS_MAX when the
 * kernel has them; without them a module asked for a rule refuses to load.
 *   struct kobject *vkernel_containers_kobject(void);
 *
 * The module gives deny lists, not code: the kernel builds a read-only table
 * of them at attach, denies the calls itself (-EPERM) on the x86-64, x32 and
 * ia32 entries and in io_uring, and counts each denial in our hits[]
 * (patches 0008 and 0011).  The table covers the container's pid namespace
 * and every namespace below it.  With futex_hashsize set, the kernel
 * allocates (and frees) the private futex hash table itself.
 * vkernel_attach() pins this module until the namespace is destroyed, so
 * the lists and counters, which are static, outlive every task that can
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
#include <linux/rcupdate.h>
#include <linux/vkernel.h>
#ifdef VKERNEL_HAVE_RULES
#include <linux/vkernel_rules.h>
#endif
#ifdef VKERNEL_HAVE_FS_RULES
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/path.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#endif

static struct vkernel vkm_vk = {
	.owner = THIS_MODULE,
};

int vkm_abi_check(void)
{
	return 0;
}

/* Refuse rules this kernel cannot enforce (patches 0012, 0013). */
int vkm_abi_rules_check(const struct vkm_container *c)
{
#ifndef VKERNEL_HAVE_RULES
	if (c->ns_deny || c->personality_count) {
		vkm_err("ns_deny/personality: this kernel has no argument rules (feature syscall_args): boot a vkernel kernel with them\n");
		return -EOPNOTSUPP;
	}
#endif
#ifndef VKERNEL_HAVE_CAPS_MAX
	if (c->caps_max_set) {
		vkm_err("caps_max: this kernel has no capability ceiling (feature caps_max): boot a vkernel kernel with it\n");
		return -EOPNOTSUPP;
	}
#endif
#ifndef VKERNEL_HAVE_FS_RULES
	if (c->fs_count) {
		vkm_err("fs_rules: this kernel has no file rules (feature fs_rules): boot a vkernel kernel with them\n");
		return -EOPNOTSUPP;
	}
#endif
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

#ifdef VKERNEL_HAVE_FS_RULES
/*
 * The file rules' paths, looked up in the root of the container's init
 * (file_open_root(): symbolic links and ".." stay inside it) and
 * referenced; NULL if none
 * (*@err says why when it is not 0).
 */
static struct vkernel_fs_rule *vkm_fs_resolve(struct vkm_container *c,
					      int *err)
{
	struct vkernel_fs_rule *fs;
	struct task_struct *task;
	struct path root;
	unsigned int i;
	int ret = 0;

	*err = 0;
	if (!c->fs_count)
		return NULL;
	rcu_read_lock();
	task = pid_task(find_pid_ns(c->init_pid, &init_pid_ns), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (!task) {
		*err = -ESRCH;
		return NULL;
	}
	task_lock(task);
	if (task->fs)
		get_fs_root(task->fs, &root);
	else
		ret = -ESRCH;
	task_unlock(task);
	put_task_struct(task);
	if (ret) {
		*err = ret;
		return NULL;
	}
	fs = kcalloc(c->fs_count, sizeof(*fs), GFP_KERNEL);
	if (!fs) {
		path_put(&root);
		*err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < c->fs_count; i++) {
		/* O_PATH: a lookup, no open of the object itself */
		struct file *f = file_open_root(&root, c->fs[i].path, O_PATH, 0);

		if (IS_ERR(f)) {
			ret = PTR_ERR(f);
			vkm_err("fs_rules: %s in the container: %d\n",
				c->fs[i].path, ret);
			break;
		}
		fs[i].path = f->f_path;
		path_get(&fs[i].path);
		fput(f);
		fs[i].deny = (c->fs[i].deny & VKM_FS_READ ? VKERNEL_FS_READ : 0) |
			     (c->fs[i].deny & VKM_FS_WRITE ? VKERNEL_FS_WRITE : 0);
	}
	path_put(&root);
	if (ret) {
		while (i--)
			path_put(&fs[i].path);
		kfree(fs);
		*err = ret;
		return NULL;
	}
	return fs;
}

static void vkm_fs_put(struct vkernel_fs_rule *fs, unsigned int count)
{
	unsigned int i;

	if (!fs)
		return;
	for (i = 0; i < count; i++)
		path_put(&fs[i].path);
	kfree(fs);
}
#endif

int vkm_abi_attach(struct vkm_container *c)
{
	static const enum vkernel_abi abis[VKM_NR_ABI] = {
		[VKM_X64] = VKERNEL_ABI_X64,
		[VKM_X32] = VKERNEL_ABI_X32,
		[VKM_IA32] = VKERNEL_ABI_IA32,
	};
	struct vkernel_attachment *att;
	unsigned int a;
	int ret;

	for (a = 0; a < VKM_NR_ABI; a++) {
		vkm_vk.deny[abis[a]].nr = vkm.deny[a].nr;
		vkm_vk.deny[abis[a]].hits = vkm.deny[a].hits;
		vkm_vk.deny[abis[a]].count = vkm.deny[a].count;
	}
	vkm_vk.name = module_name(THIS_MODULE);
	vkm_vk.futex_hashsize = c->futex_buckets;

#ifdef VKERNEL_HAVE_RULES
	{
		/* copied into the kernel's table by the attach */
		struct vkernel_rules rules = {
			.ns_deny = c->ns_deny,
			.personality = c->personality,
			.personality_count = c->personality_count,
		};
#ifdef VKERNEL_HAVE_CAPS_MAX
		kernel_cap_t cap = CAP_EMPTY_SET;
#endif
#ifdef VKERNEL_HAVE_FS_RULES
		struct vkernel_fs_rule *fs;
#endif

#ifdef VKERNEL_HAVE_CAPS_MAX
		cap.cap[0] = lower_32_bits(c->caps_max);
		cap.cap[1] = upper_32_bits(c->caps_max);
		if (c->caps_max_set)
			rules.cap_max = &cap;
#endif
#ifdef VKERNEL_HAVE_FS_RULES
		/* the kernel takes its own references on the paths */
		fs = vkm_fs_resolve(c, &ret);
		if (ret)
			return ret;
		rules.fs = fs;
		rules.fs_count = fs ? c->fs_count : 0;
#endif
		ret = vkernel_attach_rules(c->pidns, &vkm_vk, &rules);
#ifdef VKERNEL_HAVE_FS_RULES
		vkm_fs_put(fs, rules.fs_count);
#endif
	}
#else
	ret = vkernel_attach(c->pidns, &vkm_vk);
#endif
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

int vkm_abi_rules_check(const struct vkm_container *c)
{
	return -EOPNOTSUPP;
}

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
