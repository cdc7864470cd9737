// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkt: small test helpers for the vkernel VM test tier.  Built statically
 * with gcc at test time and run inside the guest by the guest test scripts.
 *
 *   vkt fifo N MS CGROUP_PROCS_FILE   fork N CPU-bound children (MS ms of
 *                                     CPU each) pinned to CPU 1 inside the
 *                                     cgroup; print completion order and
 *                                     how many ran interleaved
 *   vkt rbind-ro PATH                 bind PATH onto itself read-only
 *                                     (private mount namespace expected)
 *   vkt write PATH VALUE              open(O_WRONLY|O_TRUNC)+write; prints
 *                                     "ok" or the errno name, exit 0/1
 *   vkt mmap MB                       anonymous private mmap of MB MiB;
 *                                     prints "ok" or the errno name
 *   vkt kmsg                          dump /dev/kmsg (non-blocking)
 *   vkt syslog                        dump syslog(SYSLOG_ACTION_READ_ALL)
 *   vkt prockmsg                      dump /proc/kmsg (non-blocking)
 *   vkt getppid                       print getppid() or the errno name
 *   vkt futex N                       N ping-pongs between two threads on
 *                                     process-private futexes; "ok"
 *   vkt thp MB                        touch a MB MiB anonymous mapping and
 *                                     print AnonHugePages of /proc/meminfo
 *   vkt thp-self MB                   the same, but print this process's own
 *                                     AnonHugePages (/proc/self/smaps_rollup)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static const char *errname(int e)
{
	switch (e) {
	case EROFS: return "EROFS";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	default: return strerror(e);
	}
}

struct slot {
	long long first_us, end_us;
};

static int cmd_fifo(int n, int ms, const char *procs)
{
	struct slot *s;
	cpu_set_t set;
	int i, overlaps = 0, inorder = 1;
	FILE *f;

	s = mmap(NULL, sizeof(*s) * n, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return perror("mmap"), 2;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return perror("sched_setaffinity"), 2;
	f = fopen(procs, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		return perror(procs), 2;
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return perror("fork"), 2;
		if (pid == 0) {
			long long start_cpu;

			s[i].first_us = now_us(CLOCK_MONOTONIC);
			start_cpu = now_us(CLOCK_THREAD_CPUTIME_ID);
			while (now_us(CLOCK_THREAD_CPUTIME_ID) - start_cpu <
			       ms * 1000LL)
				;
			s[i].end_us = now_us(CLOCK_MONOTONIC);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	printf("fifo:");
	for (i = 0; i < n; i++)
		printf(" [%d %lld..%lld]", i, s[i].first_us - s[0].first_us,
		       s[i].end_us - s[0].first_us);
	printf("\n");
	for (i = 0; i + 1 < n; i++) {
		if (s[i + 1].first_us < s[i].end_us)
			overlaps++;
		if (s[i + 1].end_us < s[i].end_us)
			inorder = 0;
	}
	printf("result inorder=%d overlaps=%d\n", inorder, overlaps);
	return 0;
}

static int cmd_rbind_ro(const char *path)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return perror("make-private /"), 1;
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL))
		return perror("bind"), 1;
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL))
		return perror("remount ro"), 1;
	return 0;
}

static int cmd_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t len = strlen(val);

	if (fd < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	if (write(fd, val, len) != len) {
		printf("%s\n", errname(errno));
		return 1;
	}
	close(fd);
	printf("ok\n");
	return 0;
}

static int cmd_mmap(long mb)
{
	void *p = mmap(NULL, (size_t)mb << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int dump_fd(const char *path)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	ssize_t r;

	if (fd < 0)
		return perror(path), 1;
	for (;;) {
		r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			fwrite(buf, 1, r, stdout);
			if (buf[r - 1] != '\n')
				putchar('\n');
			continue;
		}
		if (r < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		break;
	}
	close(fd);
	return 0;
}

static int cmd_syslog(void)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf;

	if (len <= 0)
		return perror("klogctl size"), 1;
	buf = malloc(len);
	len = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	if (len < 0)
		return perror("klogctl read"), 1;
	fwrite(buf, 1, len, stdout);
	return 0;
}

static int cmd_thp(long mb, const char *counters)
{
	size_t sz = (size_t)mb << 20;
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char line[256];
	size_t i;
	FILE *f;

	if (p == MAP_FAILED)
		return perror("mmap"), 1;
	for (i = 0; i < sz; i += 4096)
		p[i] = 1;
	f = fopen(counters, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "AnonHugePages:", 14))
			fputs(line, stdout);
	return 0;
}

static int cmd_getppid(void)
{
	long r = syscall(SYS_getppid);

	if (r < 0)
		printf("%s\n", errname(errno));
	else
		printf("%ld\n", r);
	return r < 0;
}

static int ftx;

static long futex_op(int *uaddr, int op, int val)
{
	return syscall(SYS_futex, uaddr, op | FUTEX_PRIVATE_FLAG, val,
		       NULL, NULL, 0);
}

/* wait until ftx == want, then set it to want + 1 and wake the peer */
static void pingpong(int want, int n)
{
	int i;

	for (i = 0; i < n; i++, want += 2) {
		while (__atomic_load_n(&ftx, __ATOMIC_ACQUIRE) != want)
			futex_op(&ftx, FUTEX_WAIT, want - 1);
		__atomic_store_n(&ftx, want + 1, __ATOMIC_RELEASE);
		futex_op(&ftx, FUTEX_WAKE, 1);
	}
}

static void *pong(void *arg)
{
	pingpong(1, (int)(long)arg);
	return NULL;
}

static int cmd_futex(int n)
{
	pthread_t t;

	ftx = 0;
	if (pthread_create(&t, NULL, pong, (void *)(long)n))
		return perror("pthread_create"), 1;
	pingpong(0, n);
	pthread_join(t, NULL);
	printf("ok %d\n", ftx);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 5 && !strcmp(argv[1], "fifo"))
		return cmd_fifo(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc == 3 && !strcmp(argv[1], "rbind-ro"))
		return cmd_rbind_ro(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "mmap"))
		return cmd_mmap(atol(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "kmsg"))
		return dump_fd("/dev/kmsg");
	if (argc == 2 && !strcmp(argv[1], "prockmsg"))
		return dump_fd("/proc/kmsg");
	if (argc == 2 && !strcmp(argv[1], "syslog"))
		return cmd_syslog();
	if (argc == 2 && !strcmp(argv[1], "getppid"))
		return cmd_getppid();
	if (argc == 3 && !strcmp(argv[1], "futex"))
		return cmd_futex(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "thp"))
		return cmd_thp(atol(argv[2]), "/proc/meminfo");
	if (argc == 3 && !strcmp(argv[1], "thp-self"))
		return cmd_thp(atol(argv[2]), "/proc/self/smaps_rollup");
	fprintf(stderr, "usage: see the comment at the top of vkt.c\n");
	return 2;
}
