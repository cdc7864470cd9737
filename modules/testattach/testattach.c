// SPDX-License-Identifier: GPL-2.0-only
/*
 * testattach: VM test module for vkernel_attach()/vkernel_detach().
 *
 * insmod testattach.ko pid=<pid> [deny=<nr>] [deny_x32=<nr>]
 *                      [deny_ia32=<nr>] [futex=<buckets>]
 *
 * attaches a vkernel whose syscall tables make one syscall fail with
 * -EPERM (default getppid, in each entry point's numbering: x86-64 and x32
 * 110, ia32 64) to the pid namespace of <pid>, with a private futex hash
 * table of <futex> buckets (default 64, 0 for none).
 *
 * /sys/module/testattach/parameters/
 *   attached       write 0: vkernel_detach(); write 1: vkernel_attach()
 *                  again; reads the last value written (1 after load)
 *   futex_waiters  vkernel_futex_waiters() of the namespace: the number of
 *                  futex waiters queued in its private table
 *
 * The namespace is looked up from <pid> on every use: holding a reference
 * on it would keep it, and with it this module, alive forever.
 */
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/task.h>
#include <linux/vkernel.h>
#include <asm/unistd.h>

static int pid;
module_param(pid, int, 0444);
MODULE_PARM_DESC(pid, "a task of the pid namespace to attach to");

static int deny = __NR_getppid;
module_param(deny, int, 0444);
MODULE_PARM_DESC(deny, "x86-64 syscall number that returns -EPERM");

/* x32 numbers its common calls as x86-64 does */
static int deny_x32 = __NR_getppid;
module_param(deny_x32, int, 0444);
MODULE_PARM_DESC(deny_x32, "x32 syscall number (without __X32_SYSCALL_BIT) that returns -EPERM");

/* getppid in arch/x86/entry/syscalls/syscall_32.tbl */
static int deny_ia32 = 64;
module_param(deny_ia32, int, 0444);
MODULE_PARM_DESC(deny_ia32, "ia32 syscall number that returns -EPERM");

static int futex = 64;
module_param(futex, int, 0444);
MODULE_PARM_DESC(futex, "private futex hash buckets (power of two, 0: none)");

static long (*table[NR_syscalls])(const struct pt_regs *regs);
static long (*table_x32[X32_NR_syscalls])(const struct pt_regs *regs);
static long (*table_ia32[IA32_NR_syscalls])(const struct pt_regs *regs);

static long testattach_deny(const struct pt_regs *regs)
{
	return -EPERM;
}

static struct vkernel testattach_vk = {
	.owner = THIS_MODULE,
	.name = "testattach",
	.sys_call_table = table,
	.nr_syscalls = NR_syscalls,
	.x32_sys_call_table = table_x32,
	.nr_x32_syscalls = X32_NR_syscalls,
	.ia32_sys_call_table = table_ia32,
	.nr_ia32_syscalls = IA32_NR_syscalls,
};

/* The pid namespace of <pid>, referenced, or NULL. */
static struct pid_namespace *testattach_ns(void)
{
	struct pid_namespace *ns;
	struct task_struct *task;
	struct pid *p;

	p = find_get_pid(pid);
	task = get_pid_task(p, PIDTYPE_PID);
	put_pid(p);
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
	ns = testattach_ns();
	if (!ns)
		return -ESRCH;
	if (on) {
		ret = vkernel_attach(ns, &testattach_vk);
	} else {
		vkernel_detach(ns);
		ret = 0;
	}
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
	struct pid_namespace *ns = testattach_ns();
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

static int __init testattach_init(void)
{
	struct pid_namespace *ns;
	int ret;

	if (deny < 0 || deny >= NR_syscalls || deny_x32 < 0 ||
	    deny_x32 >= X32_NR_syscalls || deny_ia32 < 0 ||
	    deny_ia32 >= IA32_NR_syscalls || futex < 0)
		return -EINVAL;
	ns = testattach_ns();
	if (!ns)
		return -ESRCH;

	table[deny] = testattach_deny;
	table_x32[deny_x32] = testattach_deny;
	table_ia32[deny_ia32] = testattach_deny;
	testattach_vk.futex_hashsize = futex;
	ret = vkernel_attach(ns, &testattach_vk);
	put_pid_ns(ns);
	if (!ret)
		attached = 1;
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
