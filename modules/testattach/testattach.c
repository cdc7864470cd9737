// SPDX-License-Identifier: GPL-2.0-only
/*
 * testattach: VM test module for vkernel_attach()/vkernel_detach().
 *
 * insmod testattach.ko pid=<pid> [deny=<syscall nr>] [futex=<buckets>]
 *
 * attaches a vkernel whose syscall table makes syscall <deny> (default
 * getppid) fail with -EPERM to the pid namespace of <pid>, with a private
 * futex hash table of <futex> buckets (default 64, 0 for none).
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
MODULE_PARM_DESC(deny, "syscall number that returns -EPERM");

static int futex = 64;
module_param(futex, int, 0444);
MODULE_PARM_DESC(futex, "private futex hash buckets (power of two, 0: none)");

static long (*table[NR_syscalls])(const struct pt_regs *regs);

static long testattach_deny(const struct pt_regs *regs)
{
	return -EPERM;
}

static struct vkernel testattach_vk = {
	.owner = THIS_MODULE,
	.name = "testattach",
	.sys_call_table = table,
	.nr_syscalls = NR_syscalls,
};

static int __init testattach_init(void)
{
	struct pid_namespace *ns;
	struct task_struct *task;
	int ret;

	if (deny < 0 || deny >= NR_syscalls || futex < 0)
		return -EINVAL;
	task = get_pid_task(find_vpid(pid), PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	ns = get_pid_ns(task_active_pid_ns(task));
	put_task_struct(task);

	table[deny] = testattach_deny;
	testattach_vk.futex_hashsize = futex;
	ret = vkernel_attach(ns, &testattach_vk);
	put_pid_ns(ns);
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
