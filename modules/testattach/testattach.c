// SPDX-License-Identifier: GPL-2.0-only
/*
 * testattach: VM test module for vkernel_attach()/vkernel_detach().
 *
 * insmod testattach.ko pid=<pid> [deny=<nr>,...] [deny_x32=<nr>,...]
 *                      [deny_ia32=<nr>,...] [futex=<buckets>]
 *
 * attaches a vkernel whose deny lists make syscalls fail with -EPERM
 * (default getppid, in each entry point's numbering: x86-64 and x32 110,
 * ia32 64) to the pid namespace of <pid> and every namespace below it, with
 * a private futex hash table of <futex> buckets (default 64, 0 for none).
 *
 * /sys/module/testattach/parameters/
 *   attached       write 0: vkernel_detach(); write 1: vkernel_attach()
 *                  again; reads the last value written (1 after load)
 *   futex_waiters  vkernel_futex_waiters() of the namespace: the number of
 *                  futex waiters queued in its private table
 *   denied         the kernel's denial counts: "<abi> <nr> <count>" lines
 *   attach_other   write a pid: vkernel_attach() of a second vkernel (no
 *                  deny list) to that pid's namespace; the write fails with
 *                  the error (EBUSY inside or above the attached namespace)
 *   table          of the task <pid>: "none" without a table, else "ro" if
 *                  writing a byte of its table (the same value) faults, or
 *                  "rw" if the write went through
 *   detach_foreign write anything: vkernel_detach() of the namespace as a
 *                  caller that is not the owning module (built-in code);
 *                  the write fails with the error (EPERM)
 *
 * insmod testattach.ko pid=<pid> fail_init=1 attaches, then fails its init
 * (ENOTRECOVERABLE): the module is freed while attached, as a module whose
 * init fails after vkernel_attach() is.
 *
 * The namespace is looked up from <pid> on every use: holding a reference
 * on it would keep it, and with it this module, alive forever.
 */
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>
#include <linux/vkernel.h>
#include <asm/unistd.h>

#define TESTATTACH_MAX	8

static int pid;
module_param(pid, int, 0444);
MODULE_PARM_DESC(pid, "a task of the pid namespace to attach to");

static int deny[TESTATTACH_MAX] = { __NR_getppid };
static unsigned int deny_count = 1;
module_param_array(deny, int, &deny_count, 0444);
MODULE_PARM_DESC(deny, "x86-64 syscall numbers that return -EPERM");

/* x32 numbers its common calls as x86-64 does */
static int deny_x32[TESTATTACH_MAX] = { __NR_getppid };
static unsigned int deny_x32_count = 1;
module_param_array(deny_x32, int, &deny_x32_count, 0444);
MODULE_PARM_DESC(deny_x32, "x32 syscall numbers (without __X32_SYSCALL_BIT) that return -EPERM");

/* getppid in arch/x86/entry/syscalls/syscall_32.tbl */
static int deny_ia32[TESTATTACH_MAX] = { 64 };
static unsigned int deny_ia32_count = 1;
module_param_array(deny_ia32, int, &deny_ia32_count, 0444);
MODULE_PARM_DESC(deny_ia32, "ia32 syscall numbers that return -EPERM");

static int futex = 64;
module_param(futex, int, 0444);
MODULE_PARM_DESC(futex, "private futex hash buckets (power of two, 0: none)");

static bool fail_init;
module_param(fail_init, bool, 0400);
MODULE_PARM_DESC(fail_init, "attach, then fail the init");

static atomic64_t hits[VKERNEL_NR_ABIS][TESTATTACH_MAX];

static struct vkernel testattach_vk = {
	.owner = THIS_MODULE,
	.name = "testattach",
	.deny = {
		[VKERNEL_ABI_X64] = { .nr = deny, .hits = hits[VKERNEL_ABI_X64] },
		[VKERNEL_ABI_X32] = { .nr = deny_x32, .hits = hits[VKERNEL_ABI_X32] },
		[VKERNEL_ABI_IA32] = { .nr = deny_ia32, .hits = hits[VKERNEL_ABI_IA32] },
	},
};

static struct vkernel other_vk = {
	.owner = THIS_MODULE,
	.name = "testattach-other",
};

/* The task <p>, referenced, or NULL. */
static struct task_struct *testattach_task(int p)
{
	struct task_struct *task;
	struct pid *sp;

	sp = find_get_pid(p);
	task = get_pid_task(sp, PIDTYPE_PID);
	put_pid(sp);
	return task;
}

/* The pid namespace of <p>, referenced, or NULL. */
static struct pid_namespace *testattach_ns(int p)
{
	struct task_struct *task = testattach_task(p);
	struct pid_namespace *ns;

	if (!task)
		return NULL;
	ns = get_pid_ns(task_active_pid_ns(task));
	put_task_struct(task);
	return ns;
}

static int attached;

static int attached_set(const char *val, const struct kernel_param *kp)
{
	struct pid_namespace *ns;
	bool on;
	int ret;

	ret = kstrtobool(val, &on);
	if (ret)
		return ret;
	ns = testattach_ns(pid);
	if (!ns)
		return -ESRCH;
	if (on)
		ret = vkernel_attach(ns, &testattach_vk);
	else
		ret = vkernel_detach(ns);
	put_pid_ns(ns);
	if (!ret)
		attached = on;
	return ret;
}

static const struct kernel_param_ops attached_ops = {
	.set = attached_set,
	.get = param_get_int,
};
module_param_cb(attached, &attached_ops, &attached, 0644);
MODULE_PARM_DESC(attached, "0: vkernel_detach(), 1: vkernel_attach()");

static int futex_waiters_get(char *buf, const struct kernel_param *kp)
{
	struct pid_namespace *ns = testattach_ns(pid);
	int n;

	if (!ns)
		return -ESRCH;
	n = vkernel_futex_waiters(ns);
	put_pid_ns(ns);
	return sysfs_emit(buf, "%d\n", n);
}

static const struct kernel_param_ops futex_waiters_ops = {
	.get = futex_waiters_get,
};
module_param_cb(futex_waiters, &futex_waiters_ops, NULL, 0444);
MODULE_PARM_DESC(futex_waiters, "futex waiters in the private table");

static int denied_get(char *buf, const struct kernel_param *kp)
{
	static const char * const names[VKERNEL_NR_ABIS] = {
		"x64", "x32", "ia32"
	};
	int len = 0, a;
	unsigned int i;

	for (a = 0; a < VKERNEL_NR_ABIS; a++)
		for (i = 0; i < testattach_vk.deny[a].count; i++)
			len += sysfs_emit_at(buf, len, "%s %d %lld\n", names[a],
					     testattach_vk.deny[a].nr[i],
					     atomic64_read(&hits[a][i]));
	return len;
}

static const struct kernel_param_ops denied_ops = {
	.get = denied_get,
};
module_param_cb(denied, &denied_ops, NULL, 0444);
MODULE_PARM_DESC(denied, "denial counts");

static int attach_other_set(const char *val, const struct kernel_param *kp)
{
	struct pid_namespace *ns;
	int p, ret;

	ret = kstrtoint(val, 10, &p);
	if (ret)
		return ret;
	ns = testattach_ns(p);
	if (!ns)
		return -ESRCH;
	ret = vkernel_attach(ns, &other_vk);
	put_pid_ns(ns);
	return ret;
}

static const struct kernel_param_ops attach_other_ops = {
	.set = attach_other_set,
};
module_param_cb(attach_other, &attach_other_ops, NULL, 0200);
MODULE_PARM_DESC(attach_other, "attach a second vkernel to a pid's namespace");

static int detach_foreign_set(const char *val, const struct kernel_param *kp)
{
	struct pid_namespace *ns = testattach_ns(pid);
	int ret;

	if (!ns)
		return -ESRCH;
	ret = __vkernel_detach(ns, NULL);
	put_pid_ns(ns);
	return ret;
}

static const struct kernel_param_ops detach_foreign_ops = {
	.set = detach_foreign_set,
};
module_param_cb(detach_foreign, &detach_foreign_ops, NULL, 0200);
MODULE_PARM_DESC(detach_foreign, "detach as a caller that is not the owner");

static int table_get(char *buf, const struct kernel_param *kp)
{
	struct task_struct *task = testattach_task(pid);
	const char *what = "none";
	u8 *t, v;

	if (!task)
		return -ESRCH;
	t = (u8 *)READ_ONCE(task->vkernel);
	if (t) {
		/* the table lives as long as the task's namespace */
		v = READ_ONCE(*t);
		what = "rw";
		__put_kernel_nofault(t, &v, u8, fault);
	}
	goto out;
fault:
	what = "ro";
out:
	put_task_struct(task);
	return sysfs_emit(buf, "%s\n", what);
}

static const struct kernel_param_ops table_ops = {
	.get = table_get,
};
module_param_cb(table, &table_ops, NULL, 0444);
MODULE_PARM_DESC(table, "is the task's table read-only");

static int __init testattach_init(void)
{
	struct pid_namespace *ns;
	int ret;

	if (futex < 0)
		return -EINVAL;
	ns = testattach_ns(pid);
	if (!ns)
		return -ESRCH;

	testattach_vk.deny[VKERNEL_ABI_X64].count = deny_count;
	testattach_vk.deny[VKERNEL_ABI_X32].count = deny_x32_count;
	testattach_vk.deny[VKERNEL_ABI_IA32].count = deny_ia32_count;
	testattach_vk.futex_hashsize = futex;
	/* the kernel checks the numbers (-EINVAL) */
	ret = vkernel_attach(ns, &testattach_vk);
	put_pid_ns(ns);
	if (!ret)
		attached = 1;
	if (!ret && fail_init) {
		pr_info("testattach: attached, failing the init as asked\n");
		return -ENOTRECOVERABLE;
	}
	return ret;
}

/* Only reachable once the namespace we were attached to is gone. */
static void __exit testattach_exit(void)
{
}

module_init(testattach_init);
module_exit(testattach_exit);
MODULE_DESCRIPTION("vkernel attach/detach test module");
MODULE_LICENSE("GPL");
