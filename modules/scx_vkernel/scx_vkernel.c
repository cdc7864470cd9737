// SPDX-License-Identifier: GPL-2.0
/*
 * scx_vkernel: loader and control tool of the vkernel sched_ext scheduler
 * (scx_vkernel.bpf.c; vkernel-runtime's scx backend, issue 16 §2).
 * Statically linked (libbpf built from the 6.12 tree), so it runs on any
 * host and in the test guests' initramfs.
 *
 *   scx_vkernel run [LOG]         load + attach the scheduler, pin its policy
 *                                 map, stay in the foreground until SIGTERM/
 *                                 SIGINT (detach, exit 0) or until the kernel
 *                                 ends the scheduler (reason on stderr, exit 1).
 *                                 Entries of an earlier run's pinned map are
 *                                 kept (the map is reused).  With LOG, stdout
 *                                 and stderr are appended to that file.
 *   scx_vkernel set CGID fifo|vtime   a cpu cgroup's policy (CGID: the inode
 *                                 number of the group's directory)
 *   scx_vkernel del CGID          remove it (no entry: not an error)
 *   scx_vkernel list              "CGID POLICY SLOT" per entry
 *   scx_vkernel switch PID [ext|other]  every thread of PID to SCHED_EXT
 *                                 (default) or SCHED_NORMAL
 *
 * The map is pinned at $SCX_VKERNEL_PIN (default /sys/fs/bpf/vkernel/
 * scx_policies); bpffs is mounted at /sys/fs/bpf when nothing is there.
 * Exit status: 0 done, 1 failed (reason on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <scx/common.h>
#include "scx_vkernel.bpf.skel.h"

#define VK_VTIME 0
#define VK_FIFO 1
#define VK_FIFO_SLOTS 64
#define SCHED_EXT_POLICY 7
#define BPF_FS_MAGIC_ 0xcafe4a11

struct vk_policy {
	__u32 policy;
	__u32 slot;
};

static const char *pin_path(void)
{
	const char *p = getenv("SCX_VKERNEL_PIN");

	return p && *p ? p : "/sys/fs/bpf/vkernel/scx_policies";
}

static int fail(const char *what)
{
	fprintf(stderr, "scx_vkernel: %s: %s\n", what, strerror(errno));
	return 1;
}

/*
 * Work in the mount namespace of pid 1 (the host's), whatever namespace we
 * were started in: the runtime may call us from a private one (`run` execs
 * runc in a slave mount namespace of its own), where a bpffs mounted or a map
 * pinned would be seen by nobody else.
 */
static int host_mount_ns(void)
{
	struct stat self, init;
	int fd;

	if (stat("/proc/self/ns/mnt", &self) || stat("/proc/1/ns/mnt", &init))
		return fail("/proc/*/ns/mnt");
	if (self.st_ino == init.st_ino && self.st_dev == init.st_dev)
		return 0;
	fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNS))
		return fail("enter the mount namespace of pid 1");
	close(fd);
	return 0;
}

static int usage(void)
{
	fputs("usage: scx_vkernel run [LOG] | set CGID fifo|vtime | del CGID | list | switch PID [ext|other]\n", stderr);
	return 2;
}

/* bpffs at /sys/fs/bpf (mounted when absent) and the pin's directory */
static int pin_dir(char *dir, size_t len)
{
	struct statfs fs;

	snprintf(dir, len, "%s", pin_path());
	dirname(dir);
	if (statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type != BPF_FS_MAGIC_ &&
	    !strncmp(pin_path(), "/sys/fs/bpf/", 12) &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return fail("mount bpffs on /sys/fs/bpf");
	if (mkdir(dir, 0700) && errno != EEXIST)
		return fail(dir);
	return 0;
}

/* the pinned map, under an exclusive lock on its directory (set/del pick slots) */
static int open_map(int *lockfd)
{
	char dir[4096];
	int fd;

	if (pin_dir(dir, sizeof(dir)))
		return -1;
	*lockfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*lockfd < 0 || flock(*lockfd, LOCK_EX)) {
		fail(dir);
		return -1;
	}
	fd = bpf_obj_get(pin_path());
	if (fd < 0) {
		fprintf(stderr, "scx_vkernel: %s: %s (the scheduler was never started: scx_vkernel run)\n",
			pin_path(), strerror(errno));
		return -1;
	}
	return fd;
}

static int parse_u64(const char *s, __u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || !*s || *end || *s == '-' ? -1 : 0;
}

static int cmd_set(const char *cgid_s, const char *pol_s)
{
	struct vk_policy val = { 0 }, cur;
	__u64 cgid, key, next;
	int fd, lockfd, have = 0, used[VK_FIFO_SLOTS] = { 0 };
	__u64 *prev = NULL;

	if (parse_u64(cgid_s, &cgid))
		return usage();
	if (!strcmp(pol_s, "fifo"))
		val.policy = VK_FIFO;
	else if (!strcmp(pol_s, "vtime"))
		val.policy = VK_VTIME;
	else
		return usage();
	fd = open_map(&lockfd);
	if (fd < 0)
		return 1;
	/* a fifo group keeps its slot; a new one takes the lowest free slot */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &cur))
			continue;
		if (key == cgid) {
			have = cur.policy == VK_FIFO;
			val.slot = cur.slot;
		} else if (cur.policy == VK_FIFO && cur.slot < VK_FIFO_SLOTS) {
			used[cur.slot] = 1;
		}
	}
	if (val.policy == VK_FIFO && !have) {
		for (val.slot = 0; val.slot < VK_FIFO_SLOTS && used[val.slot]; val.slot++)
			;
		if (val.slot == VK_FIFO_SLOTS) {
			fprintf(stderr, "scx_vkernel: all %d fifo queues are taken\n", VK_FIFO_SLOTS);
			return 1;
		}
	}
	if (val.policy == VK_VTIME)
		val.slot = 0;
	if (bpf_map_update_elem(fd, &cgid, &val, BPF_ANY))
		return fail("update the policy map");
	return 0;
}

static int cmd_del(const char *cgid_s)
{
	__u64 cgid;
	int fd, lockfd;

	if (parse_u64(cgid_s, &cgid))
		return usage();
	fd = open_map(&lockfd);
	if (fd < 0)
		return 1;
	if (bpf_map_delete_elem(fd, &cgid) && errno != ENOENT)
		return fail("delete from the policy map");
	return 0;
}

static int cmd_list(void)
{
	struct vk_policy cur;
	__u64 key, next, *prev = NULL;
	int fd, lockfd;

	fd = open_map(&lockfd);
	if (fd < 0)
		return 1;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &cur))
			continue;
		printf("%" PRIu64 " %s %u\n", (uint64_t)key, cur.policy == VK_FIFO ? "fifo" : "vtime", cur.slot);
	}
	return 0;
}

/* sched_setattr(2): glibc has no wrapper */
struct vk_sched_attr {
	__u32 size, sched_policy;
	__u64 sched_flags;
	__s32 sched_nice;
	__u32 sched_priority;
	__u64 sched_runtime, sched_deadline, sched_period;
};

/* every thread of @pid, again until no new thread shows up (at most 5 rounds) */
static int cmd_switch(const char *pid_s, const char *to)
{
	struct vk_sched_attr attr = { .size = sizeof(attr) };
	char dir[64], seen[8192] = " ";
	int round, found = 0, fresh;
	__u64 pid;

	if (parse_u64(pid_s, &pid) || !pid || pid > 4194304)
		return usage();
	if (!to || !strcmp(to, "ext"))
		attr.sched_policy = SCHED_EXT_POLICY;
	else if (!strcmp(to, "other"))
		attr.sched_policy = 0;
	else
		return usage();
	snprintf(dir, sizeof(dir), "/proc/%" PRIu64 "/task", (uint64_t)pid);
	for (round = 0; round < 5; round++) {
		DIR *d = opendir(dir);
		struct dirent *e;

		if (!d)
			return fail(dir);
		fresh = 0;
		while ((e = readdir(d))) {
			char tag[32];
			long tid = atol(e->d_name);

			if (tid <= 0)
				continue;
			/* " tid " in the list of those done */
			snprintf(tag, sizeof(tag), " %ld ", tid);
			if (strstr(seen, tag))
				continue;
			if (syscall(SYS_sched_setattr, (pid_t)tid, &attr, 0) && errno != ESRCH) {
				int err = errno;

				closedir(d);
				errno = err;
				return fail("sched_setattr");
			}
			if (strlen(seen) + strlen(tag) < sizeof(seen))
				strcat(seen, tag + 1);
			found = fresh = 1;
		}
		closedir(d);
		if (!fresh)
			break;
	}
	if (!found) {
		errno = ESRCH;
		return fail(dir);
	}
	return 0;
}

static volatile sig_atomic_t stop_req;

static void on_signal(int sig)
{
	(void)sig;
	stop_req = 1;
}

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !getenv("SCX_VKERNEL_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int cmd_run(const char *logfile)
{
	struct scx_vkernel *skel;
	struct bpf_link *link;
	char dir[4096];
	__u64 ecode;

	if (logfile) {
		int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			return fail(logfile);
		close(fd);
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
	libbpf_set_print(print_fn);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (pin_dir(dir, sizeof(dir)))
		return 1;
	skel = SCX_OPS_OPEN(vkernel_ops, scx_vkernel);
	/* an earlier run's pinned map is reused: its entries stay */
	if (bpf_map__set_pin_path(skel->maps.policies, pin_path()))
		return fail("pin path");
	SCX_OPS_LOAD(skel, vkernel_ops, scx_vkernel, uei);
	link = SCX_OPS_ATTACH(skel, vkernel_ops, scx_vkernel);
	fprintf(stderr, "scx_vkernel: running, policy map %s\n", pin_path());
	while (!stop_req && !UEI_EXITED(skel, uei))
		usleep(100 * 1000);
	bpf_link__destroy(link);
	if (stop_req && !UEI_EXITED(skel, uei)) {
		scx_vkernel__destroy(skel);
		return 0;
	}
	ecode = UEI_REPORT(skel, uei);
	/* a kernel without CONFIG_BPF_EVENTS: no reason copied (scx_vkernel.bpf.c, vk_exit) */
	if (!skel->data->uei.reason[0])
		fprintf(stderr, "EXIT: kind %d, exit code %lld (no reason: the kernel has no CONFIG_BPF_EVENTS; see dmesg)\n",
			skel->data->uei.kind, (long long)ecode);
	scx_vkernel__destroy(skel);
	return 1;
}

int main(int argc, char **argv)
{
	if (host_mount_ns())
		return 1;
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "run"))
		return cmd_run(argc == 3 ? argv[2] : NULL);
	if (argc == 4 && !strcmp(argv[1], "set"))
		return cmd_set(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "del"))
		return cmd_del(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return cmd_list();
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "switch"))
		return cmd_switch(argv[2], argc == 4 ? argv[3] : NULL);
	return usage();
}
