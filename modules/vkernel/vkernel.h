/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vkernel per-container module: what main.c (parameters, pid namespace,
 * sysfs) and abi.c (the patched kernel's attach interface) share.
 */
#ifndef _VKM_VKERNEL_H
#define _VKM_VKERNEL_H

#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>

/* Entries of one deny list; the runtime checks the same bound. */
#define VKM_MAX_DENY		64

/* Entries of the allowed-personality list (the kernel's bound too). */
#define VKM_MAX_PERSONALITY	16

/* File rules (the kernel's bound too); what one denies */
#define VKM_MAX_FS_RULES	32
#define VKM_FS_READ		0x1
#define VKM_FS_WRITE		0x2

/* A file rule: @path (in the container's root, into fs_buf) and @deny */
struct vkm_fs_rule {
	const char *path;
	unsigned int deny;
};

/* futex_buckets bounds (0 selects 256 per possible CPU, as futex_init()) */
#define VKM_FUTEX_MIN		16
#define VKM_FUTEX_MAX		(1024U * 1024U)

/* The module's name is its container's: vkernel_<id12> (renamed per copy). */
#define vkm_info(fmt, ...) \
	pr_info("%s: " fmt, module_name(THIS_MODULE), ##__VA_ARGS__)
#define vkm_err(fmt, ...) \
	pr_err("%s: " fmt, module_name(THIS_MODULE), ##__VA_ARGS__)

enum vkm_abi {
	VKM_X64,
	VKM_X32,
	VKM_IA32,
	VKM_NR_ABI,
};

struct vkm_deny {
	unsigned int count;
	int nr[VKM_MAX_DENY];
	atomic64_t hits[VKM_MAX_DENY];
};

/* This module's one container (each container loads its own copy). */
struct vkm_container {
	const char *id;
	pid_t init_pid;
	/* referenced only during init (attach) */
	struct pid_namespace *pidns;
	unsigned int pidns_inum;
	unsigned int futex_buckets;
	/* the kernel's private futex table, an identity only (abi.c) */
	const void *futex_table;
	struct vkm_deny deny[VKM_NR_ABI];
	/* argument rules: CLONE_NEW* flags refused, personality values allowed */
	u64 ns_deny;
	unsigned int personality_count;
	unsigned int personality[VKM_MAX_PERSONALITY];
	/* the capability ceiling (capability numbers as bits), if caps_max_set */
	bool caps_max_set;
	u64 caps_max;
	/* file rules: paths resolved in the container's root at attach */
	unsigned int fs_count;
	struct vkm_fs_rule fs[VKM_MAX_FS_RULES];
	char *fs_buf;
	struct kobject *kobj;
};

extern struct vkm_container vkm;
extern const char * const vkm_abi_names[VKM_NR_ABI];

/* abi.c: everything that depends on the patched kernel's interface */
int vkm_abi_check(void);
int vkm_abi_rules_check(const struct vkm_container *c);
bool vkm_abi_hooks(enum vkm_abi abi);
struct kobject *vkm_abi_sysfs_parent(void);
int vkm_abi_attach(struct vkm_container *c);
bool vkm_abi_attached(void);
int vkm_abi_futex_waiters(void);

#endif /* _VKM_VKERNEL_H */
