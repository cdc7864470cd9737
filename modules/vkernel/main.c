// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel per-container module.
 *
 * vkernel-runtime loads one copy of this module per container, renamed
 * vkernel_<id12>, between "runc create" and "runc start".  On load it finds
 * the pid namespace of the container's init, publishes its state under
 * /sys/kernel/vkernel/containers/<name>/ and attaches a private syscall
 * table (denied calls return -EPERM) and a private futex hash table to that
 * namespace through the patched kernel (abi.c).  See modules/README.md.
 *
 * Never use KBUILD_MODNAME here: the module is built under a placeholder
 * name and renamed per container, so only THIS_MODULE->name is true.
 */

#include <linux/capability.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <uapi/linux/sched.h>
#include <asm/unistd.h>

#include "vkernel.h"

static int init_pid;
module_param(init_pid, int, 0400);
MODULE_PARM_DESC(init_pid, "pid of the container's init, as the host sees it (required)");

static char *container_id;
module_param(container_id, charp, 0400);
MODULE_PARM_DESC(container_id, "the container's OCI id (required)");

static int deny[VKM_MAX_DENY];
static unsigned int deny_count;
module_param_array(deny, int, &deny_count, 0400);
MODULE_PARM_DESC(deny, "x86_64 syscall numbers that return -EPERM in the container");

static int deny_x32[VKM_MAX_DENY];
static unsigned int deny_x32_count;
module_param_array(deny_x32, int, &deny_x32_count, 0400);
MODULE_PARM_DESC(deny_x32, "x32 syscall numbers (without __X32_SYSCALL_BIT) to deny");

static int deny_ia32[VKM_MAX_DENY];
static unsigned int deny_ia32_count;
module_param_array(deny_ia32, int, &deny_ia32_count, 0400);
MODULE_PARM_DESC(deny_ia32, "ia32 syscall numbers to deny");

static unsigned int futex_buckets;
module_param(futex_buckets, uint, 0400);
MODULE_PARM_DESC(futex_buckets, "futex hash buckets, a power of two (0: 256 per CPU)");

static unsigned long ns_deny;
module_param(ns_deny, ulong, 0400);
MODULE_PARM_DESC(ns_deny, "CLONE_NEW* flags that clone, clone3 and unshare may not create and setns may not join");

static unsigned int personality[VKM_MAX_PERSONALITY];
static unsigned int personality_count;
module_param_array(personality, uint, &personality_count, 0400);
MODULE_PARM_DESC(personality, "the values personality(2) may set (absent: any)");

static char *caps_max;
module_param(caps_max, charp, 0400);
MODULE_PARM_DESC(caps_max, "capability ceiling: a mask of capability numbers, bit n for capability n (absent: none)");

static char *fs_rules;
module_param(fs_rules, charp, 0400);
MODULE_PARM_DESC(fs_rules, "file rules: comma-separated r:PATH, w:PATH, rw:PATH (reading, writing or both denied on PATH, in the container's root, and below it)");

/* every namespace type clone(), clone3(), unshare() and setns() know */
#define VKM_NS_FLAGS	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			 CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
			 CLONE_NEWNET | CLONE_NEWTIME)

struct vkm_container vkm;

const char * const vkm_abi_names[VKM_NR_ABI] = {
	[VKM_X64] = "x64",
	[VKM_X32] = "x32",
	[VKM_IA32] = "ia32",
};

static unsigned int vkm_nr_syscalls(enum vkm_abi abi)
{
	switch (abi) {
	case VKM_X32:
		return X32_NR_syscalls;
	case VKM_IA32:
		return IA32_NR_syscalls;
	default:
		return NR_syscalls;
	}
}

/* Is the entry point of abi built into this kernel? */
static bool vkm_abi_built_in(enum vkm_abi abi)
{
	switch (abi) {
	case VKM_X32:
		return IS_ENABLED(CONFIG_X86_X32_ABI);
	case VKM_IA32:
		return IS_ENABLED(CONFIG_IA32_EMULATION);
	default:
		return true;
	}
}

static int vkm_set_deny(enum vkm_abi abi, const int *nrs, unsigned int count)
{
	struct vkm_deny *d = &vkm.deny[abi];
	unsigned int i, j, max = vkm_nr_syscalls(abi);

	for (i = 0; i < count; i++) {
		if (nrs[i] < 0 || nrs[i] >= max) {
			vkm_err("deny: %s syscall %d out of range (0-%u)\n",
				vkm_abi_names[abi], nrs[i], max - 1);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (nrs[j] == nrs[i]) {
				vkm_err("deny: %s syscall %d listed twice\n",
					vkm_abi_names[abi], nrs[i]);
				return -EINVAL;
			}
		}
	}
	if (count && !vkm_abi_hooks(abi)) {
		/* a denied call must not get through another entry point */
		if (vkm_abi_built_in(abi)) {
			vkm_err("deny_%s: this kernel has the %s entry point, which vkernel does not hook: the calls could not be denied there\n",
				vkm_abi_names[abi], vkm_abi_names[abi]);
			return -EOPNOTSUPP;
		}
		vkm_info("deny_%s ignored: this kernel has no %s entry point\n",
			 vkm_abi_names[abi], vkm_abi_names[abi]);
		count = 0;
	}
	for (i = 0; i < count; i++) {
		d->nr[i] = nrs[i];
		atomic64_set(&d->hits[i], 0);
	}
	d->count = count;
	return 0;
}

/* fs_rules into vkm.fs: "r:/a,w:/b,rw:/c" */
static int vkm_parse_fs_rules(void)
{
	static const struct {
		const char *prefix;
		unsigned int deny;
	} kinds[] = {
		{ "rw:", VKM_FS_READ | VKM_FS_WRITE },
		{ "r:", VKM_FS_READ },
		{ "w:", VKM_FS_WRITE },
	};
	char *s, *rule;
	unsigned int k;

	if (!fs_rules || !*fs_rules)
		return 0;
	vkm.fs_buf = kstrdup(fs_rules, GFP_KERNEL);
	if (!vkm.fs_buf)
		return -ENOMEM;
	s = vkm.fs_buf;
	while ((rule = strsep(&s, ","))) {
		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			if (str_has_prefix(rule, kinds[k].prefix))
				break;
		}
		if (k == ARRAY_SIZE(kinds) ||
		    rule[strlen(kinds[k].prefix)] != '/' ||
		    vkm.fs_count == VKM_MAX_FS_RULES) {
			vkm_err("fs_rules: bad rule '%s' (want r:, w: or rw: and an absolute path; at most %d rules)\n",
				rule, VKM_MAX_FS_RULES);
			return -EINVAL;
		}
		vkm.fs[vkm.fs_count].path = rule + strlen(kinds[k].prefix);
		vkm.fs[vkm.fs_count].deny = kinds[k].deny;
		vkm.fs_count++;
	}
	return 0;
}

/* ns_deny, personality, caps_max and fs_rules into vkm */
static int vkm_check_rules(void)
{
	u64 caps;

	if (ns_deny & ~(unsigned long)VKM_NS_FLAGS) {
		vkm_err("ns_deny=%#lx: only CLONE_NEW* flags (%#lx) may be given\n",
			ns_deny, (unsigned long)VKM_NS_FLAGS);
		return -EINVAL;
	}
	vkm.ns_deny = ns_deny;
	vkm.personality_count = personality_count;
	memcpy(vkm.personality, personality,
	       personality_count * sizeof(*personality));
	if (caps_max) {
		if (kstrtou64(caps_max, 0, &caps) ||
		    (caps & ~GENMASK_ULL(CAP_LAST_CAP, 0))) {
			vkm_err("caps_max=%s: want a mask of capabilities 0-%d\n",
				caps_max, CAP_LAST_CAP);
			return -EINVAL;
		}
		vkm.caps_max_set = true;
		vkm.caps_max = caps;
	}
	return vkm_parse_fs_rules();
}

static int vkm_check_params(void)
{
	int ret;

	if (init_pid <= 0) {
		vkm_err("init_pid=<pid> is required\n");
		return -EINVAL;
	}
	if (!container_id || !*container_id) {
		vkm_err("container_id=<id> is required\n");
		return -EINVAL;
	}
	if (!futex_buckets)
		futex_buckets = roundup_pow_of_two(256 * num_possible_cpus());
	if (!is_power_of_2(futex_buckets) || futex_buckets < VKM_FUTEX_MIN ||
	    futex_buckets > VKM_FUTEX_MAX) {
		vkm_err("futex_buckets=%u: want a power of two from %u to %u\n",
			futex_buckets, VKM_FUTEX_MIN, VKM_FUTEX_MAX);
		return -EINVAL;
	}
	ret = vkm_set_deny(VKM_X64, deny, deny_count);
	if (!ret)
		ret = vkm_set_deny(VKM_X32, deny_x32, deny_x32_count);
	if (!ret)
		ret = vkm_set_deny(VKM_IA32, deny_ia32, deny_ia32_count);
	if (!ret)
		ret = vkm_check_rules();
	vkm.id = container_id;
	vkm.init_pid = init_pid;
	vkm.futex_buckets = futex_buckets;
	if (!ret)
		ret = vkm_abi_rules_check(&vkm);
	return ret;
}

/* The pid namespace whose init is init_pid, referenced; never the host's. */
static int vkm_find_pidns(void)
{
	struct pid_namespace *ns;
	struct task_struct *task;
	struct pid *pid;
	pid_t nr;

	pid = find_get_pid(init_pid);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task) {
		vkm_err("init_pid %d: no such process (container gone?)\n",
			init_pid);
		return -ESRCH;
	}
	ns = task_active_pid_ns(task);
	nr = task_pid_nr_ns(task, ns);
	if (ns == &init_pid_ns || nr != 1) {
		vkm_err("init_pid %d is not the init of a container pid namespace (pid %d there)\n",
			init_pid, nr);
		put_task_struct(task);
		return -EINVAL;
	}
	/* held only while loading: the attachment keeps what it needs */
	vkm.pidns = get_pid_ns(ns);
	vkm.pidns_inum = ns->ns.inum;
	put_task_struct(task);
	return 0;
}

/* sysfs: /sys/kernel/vkernel/containers/<module name>/ */

static ssize_t container_id_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", vkm.id);
}

static ssize_t init_pid_show(struct kobject *kobj,
			     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", vkm.init_pid);
}

static ssize_t pidns_show(struct kobject *kobj, struct kobj_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%u\n", vkm.pidns_inum);
}

static ssize_t futex_buckets_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", vkm.futex_buckets);
}

static ssize_t attached_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%d\n", vkm_abi_attached());
}

/* the private futex hash table: an identity (hashed address), or "none" */
static ssize_t futex_table_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	if (!vkm.futex_table)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%p\n", vkm.futex_table);
}

/* futex waiters queued in the private table now */
static ssize_t futex_waiters_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	int n = vkm_abi_futex_waiters();

	if (n < 0)
		return n;
	return sysfs_emit(buf, "%d\n", n);
}

/* the deny lists, one line per ABI: "<abi>: <nr> <nr> ..." */
static ssize_t denied_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	ssize_t len = 0;
	unsigned int a, i;

	for (a = 0; a < VKM_NR_ABI; a++) {
		len += sysfs_emit_at(buf, len, "%s:", vkm_abi_names[a]);
		for (i = 0; i < vkm.deny[a].count; i++)
			len += sysfs_emit_at(buf, len, " %d",
					     vkm.deny[a].nr[i]);
		len += sysfs_emit_at(buf, len, "\n");
	}
	return len;
}

/* namespace types refused (CLONE_NEW* flags) */
static ssize_t ns_deny_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%#llx\n", vkm.ns_deny);
}

/* personality values allowed: "any", or the list */
static ssize_t personality_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	ssize_t len = 0;
	unsigned int i;

	if (!vkm.personality_count)
		return sysfs_emit(buf, "any\n");
	for (i = 0; i < vkm.personality_count; i++)
		len += sysfs_emit_at(buf, len, "%s%#x", i ? " " : "",
				     vkm.personality[i]);
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}

/* the capability ceiling: a mask (bit n = capability n), or "none" */
static ssize_t caps_max_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	if (!vkm.caps_max_set)
		return sysfs_emit(buf, "none\n");
	return sysfs_emit(buf, "%#llx\n", vkm.caps_max);
}

/* file rules: "r PATH", "w PATH" or "rw PATH", one a line */
static ssize_t fs_rules_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	static const char * const kind[] = { "", "r", "w", "rw" };
	ssize_t len = 0;
	unsigned int i;

	for (i = 0; i < vkm.fs_count; i++)
		len += sysfs_emit_at(buf, len, "%s %s\n", kind[vkm.fs[i].deny],
				     vkm.fs[i].path);
	return len;
}

/* denied calls so far, one line per denied syscall: "<abi> <nr> <count>" */
static ssize_t denied_count_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	ssize_t len = 0;
	unsigned int a, i;

	for (a = 0; a < VKM_NR_ABI; a++)
		for (i = 0; i < vkm.deny[a].count; i++)
			len += sysfs_emit_at(buf, len, "%s %d %lld\n",
					     vkm_abi_names[a],
					     vkm.deny[a].nr[i],
					     atomic64_read(&vkm.deny[a].hits[i]));
	return len;
}

static struct kobj_attribute container_id_attr = __ATTR_RO_MODE(container_id, 0400);
static struct kobj_attribute init_pid_attr = __ATTR_RO_MODE(init_pid, 0400);
static struct kobj_attribute pidns_attr = __ATTR_RO_MODE(pidns, 0400);
static struct kobj_attribute futex_buckets_attr = __ATTR_RO_MODE(futex_buckets, 0400);
static struct kobj_attribute futex_table_attr = __ATTR_RO_MODE(futex_table, 0400);
static struct kobj_attribute futex_waiters_attr = __ATTR_RO_MODE(futex_waiters, 0400);
static struct kobj_attribute attached_attr = __ATTR_RO_MODE(attached, 0400);
static struct kobj_attribute denied_attr = __ATTR_RO_MODE(denied, 0400);
static struct kobj_attribute denied_count_attr = __ATTR_RO_MODE(denied_count, 0400);
static struct kobj_attribute ns_deny_attr = __ATTR_RO_MODE(ns_deny, 0400);
static struct kobj_attribute personality_attr = __ATTR_RO_MODE(personality, 0400);
static struct kobj_attribute caps_max_attr = __ATTR_RO_MODE(caps_max, 0400);
static struct kobj_attribute fs_rules_attr = __ATTR_RO_MODE(fs_rules, 0400);

static struct attribute *vkm_attrs[] = {
	&container_id_attr.attr,
	&init_pid_attr.attr,
	&pidns_attr.attr,
	&futex_buckets_attr.attr,
	&futex_table_attr.attr,
	&futex_waiters_attr.attr,
	&attached_attr.attr,
	&denied_attr.attr,
	&denied_count_attr.attr,
	&ns_deny_attr.attr,
	&personality_attr.attr,
	&caps_max_attr.attr,
	&fs_rules_attr.attr,
	NULL
};

static const struct attribute_group vkm_group = {
	.attrs = vkm_attrs,
};

static int vkm_sysfs_add(void)
{
	struct kobject *parent = vkm_abi_sysfs_parent();
	int ret;

	if (!parent)
		return -EOPNOTSUPP;
	vkm.kobj = kobject_create_and_add(module_name(THIS_MODULE), parent);
	if (!vkm.kobj)
		return -ENOMEM;
	ret = sysfs_create_group(vkm.kobj, &vkm_group);
	if (ret) {
		kobject_put(vkm.kobj);
		vkm.kobj = NULL;
	}
	return ret;
}

static void vkm_sysfs_del(void)
{
	if (!vkm.kobj)
		return;
	sysfs_remove_group(vkm.kobj, &vkm_group);
	kobject_put(vkm.kobj);
	vkm.kobj = NULL;
}

static int __init vkm_init(void)
{
	int ret;

	ret = vkm_abi_check();
	if (ret)
		return ret;
	ret = vkm_check_params();
	if (ret)
		goto free_rules;
	ret = vkm_find_pidns();
	if (ret)
		goto free_rules;
	ret = vkm_sysfs_add();
	if (ret) {
		vkm_err("cannot create /sys/kernel/vkernel/containers/%s: %d\n",
			module_name(THIS_MODULE), ret);
		goto put_ns;
	}
	/*
	 * Last step: from here on tasks of the container may run on our
	 * tables, so nothing after it may fail.
	 */
	ret = vkm_abi_attach(&vkm);
	if (ret)
		goto del_sysfs;
	put_pid_ns(vkm.pidns);
	vkm.pidns = NULL;
	vkm_info("container %s, pid namespace %u, %u futex buckets, %u denied syscalls, ns_deny %#llx, %u personalities, caps_max %s, %u file rules\n",
		 vkm.id, vkm.pidns_inum, vkm.futex_buckets,
		 vkm.deny[VKM_X64].count, vkm.ns_deny, vkm.personality_count,
		 vkm.caps_max_set ? caps_max : "none", vkm.fs_count);
	vkm_info("success to init.\n");
	return 0;

del_sysfs:
	vkm_sysfs_del();
put_ns:
	put_pid_ns(vkm.pidns);
free_rules:
	kfree(vkm.fs_buf);
	return ret;
}

/*
 * Runs only when the module is unused: the kernel pins it for as long as
 * the attachment lives, i.e. until the container's pid namespace is gone
 * (modules/README.md), and frees the futex table itself.
 */
static void __exit vkm_exit(void)
{
	vkm_sysfs_del();
	kfree(vkm.fs_buf);
	vkm_info("exit.\n");
}

module_init(vkm_init);
module_exit(vkm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vkernel: per-container syscall table and futex hash table");
MODULE_AUTHOR("vkernel-runtime");
