// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkt: small test helpers for the vkernel VM test tier.  Built statically
 * with gcc at test time and run inside the guest by the guest test scripts.
 *
 *   vkt fifo N MS CGROUP_PROCS_FILE   fork N CPU-bound children (MS ms of
 *                                     CPU each) pinned to CPU 1 inside the
 *                                     cgroup; print completion order and
 *                                     how many ran interleaved ("-" for
 *                                     the file: stay in our own cgroup)
 *   vkt flip-share N PROCS POLICY FIFO_MS WIN_MS
 *                                     N CPU-bound spinners join the cgroup
 *                                     (PROCS) one after the other and then
 *                                     CPU 1; after FIFO_MS, write 0 to
 *                                     POLICY (its cpu.real_policy, 1 before)
 *                                     and measure each one's CPU time over
 *                                     WIN_MS: "progressed=K/N" and shares
 *   vkt flip-order N MS PROCS POLICY  N tasks of MS ms of CPU queued on
 *                                     CPU 1 in the (CFS) cgroup; 100 ms
 *                                     later write 1 to POLICY, then a new
 *                                     task of MS ms arrives: "new_after_old="
 *                                     1 if it first ran after all old ended
 *   vkt yield-lock PROCS S            a lock holder that sleeps 20 ms with
 *                                     the lock, and a waiter spinning on
 *                                     sched_yield(), both in the cgroup on
 *                                     CPU 1: "holder_done=1 waiter_done=1"
 *                                     unless they livelock (S s at most)
 *   vkt rbind-ro PATH                 bind PATH onto itself read-only
 *                                     (private mount namespace expected)
 *   vkt write PATH VALUE              open(O_WRONLY|O_TRUNC)+write; prints
 *                                     "ok" or the errno name, exit 0/1
 *   vkt mmap MB                       anonymous private mmap of MB MiB;
 *                                     prints "ok" or the errno name
 *   vkt commit CHUNK MAX FILE         commit memory (private writable
 *                                     mmaps of CHUNK MiB, never touched)
 *                                     until ENOMEM or MAX MiB; print
 *                                     "committed=<MiB> stop=<errno|max>",
 *                                     then hold it until FILE exists
 *                                     (60 s at most)
 *   vkt kmsg                          dump /dev/kmsg (non-blocking)
 *   vkt syslog                        dump syslog(SYSLOG_ACTION_READ_ALL)
 *   vkt write-as UID PATH VALUE       vkt write as uid/gid UID
 *   vkt prockmsg                      dump /proc/kmsg (non-blocking)
 *   vkt getppid [x64|x32|ia32]        print getppid() or the errno name,
 *                                     called through the x86-64 entry
 *                                     (default), with an x32 number
 *                                     (__X32_SYSCALL_BIT) or through
 *                                     int $0x80 (ia32 number 64)
 *   vkt futex-wait N S                N threads (1..16384, 64 KiB stacks)
 *                                     each FUTEX_WAIT on a process-private
 *                                     futex of its own for S s; prints
 *                                     "waiting N" once all are started
 *   vkt futex-clone-vm                a CLONE_VM|CLONE_NEWPID child waits
 *                                     on a process-private futex, the
 *                                     parent wakes it: "woken=1 wait=0"
 *   vkt futex-file-wait PATH S        FUTEX_WAIT (shared) on the first word
 *                                     of a MAP_SHARED file for up to S s
 *   vkt futex-file-wake PATH          FUTEX_WAKE (shared) it until a waiter
 *                                     is woken (3 s at most): "woke N"
 *   vkt wakelat N [NSPID PROCS]       wakeup latency of a task pinned to
 *                                     CPU 1 beside a nice -10 CPU hog,
 *                                     woken N times through a pipe from
 *                                     CPU 0, 2 ms after it blocked; prints
 *                                     median and quartiles in us.  With
 *                                     NSPID and PROCS only the sleeper
 *                                     joins the cgroup (PROCS, "-": none)
 *                                     and NSPID's pid namespace; the hog
 *                                     and the waker stay where vkt runs
 *   vkt wakelat N raw                 the same (no NSPID), each sample
 *                                     first as a line "lat_us=<us>"
 *                                     (eval/guest.sh)
 *   vkt futex N                       N ping-pongs between two threads on
 *                                     process-private futexes; "ok"
 *   vkt thp MB                        touch a MB MiB anonymous mapping and
 *                                     print AnonHugePages of /proc/meminfo
 *   vkt thp-collapse MB SECS [WORDS]  khugepaged vs a namespace's THP mode
 *                                     (see cmd_thp_collapse)
 *   vkt thp-self MB                   the same, but print this process's own
 *                                     AnonHugePages (/proc/self/smaps_rollup)
 *   vkt newpid [user] getppid|mkdir P a child made by clone(CLONE_NEWPID, with
 *                                     CLONE_NEWUSER if "user") calls getppid()
 *                                     or mkdir(P): prints its result or errno
 *   vkt setns-getppid PID             setns() into PID's pid namespace, then
 *                                     getppid() here and in a forked child:
 *                                     "self=<r> child=<r>"
 *   vkt getppid-every MS FILE         every MS ms, write getppid()'s result
 *                                     (number or errno name) to FILE
 *   vkt uring-mkdirat PATH            mkdirat(AT_FDCWD, PATH) submitted as an
 *                                     io_uring IORING_OP_MKDIRAT: "res=<r>"
 *                                     (0 or the errno name), or "setup=<errno>"
 *   vkt uring-openat PATH             openat(AT_FDCWD, PATH, O_RDONLY) as an
 *                                     IORING_OP_OPENAT: "res=<r>" (0 when it
 *                                     gave a descriptor)
 *   vkt uring-setxattr PATH           setxattr(PATH, "trusted.vkt", "1") as an
 *                                     IORING_OP_SETXATTR: "res=<r>"
 *   vkt forkloop MS                   for MS ms: fork children that call
 *                                     getppid() (and a thread that calls it
 *                                     in a loop): "forks=<n> denied=<n>
 *                                     allowed=<n>"
 *   vkt raw                           socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
 *                                     (needs CAP_NET_RAW): "0" or the errno
 *   vkt clone-ns|clone3-ns|unshare-ns|setns-ns TYPE
 *                                     a namespace of TYPE (net, uts, ipc,
 *                                     user, pid, mnt, cgroup, time) made by
 *                                     clone(), clone3() or unshare() (in a
 *                                     child), or joined by setns() of
 *                                     /proc/self/ns/TYPE with type 0 (the
 *                                     kernel learns it from the fd): "0" or
 *                                     the errno
 *   vkt personality VALUE             personality(VALUE): "0" (then "now=" the
 *                                     value read back) or the errno
 *   vkt as-user UID PROG ARGS...      drop to UID (groups, gid and uid; the
 *                                     capability sets empty, the bounding
 *                                     set kept), then exec PROG: a set-uid
 *                                     root PROG gets its capabilities back
 *                                     at exec; "setuid=<errno>" if the drop
 *                                     fails
 *   vkt time-us PROG ARGS...          run PROG (stdin /dev/null, its stdout
 *                                     to vkt's stderr), print "us=<wall
 *                                     us> rc=<exit status>"
 *   vkt setfcap PATH CAP              file capability CAP (number) +ep on
 *                                     PATH (security.capability)
 *   vkt fsop OP PATH [PATH2]          one file operation: read, write,
 *                                     append, create, trunc (open modes),
 *                                     list (open a directory), mkdir, rmdir,
 *                                     unlink, rename, link, symlink (PATH2 the
 *                                     new name), truncate (by name), bind
 *                                     (mount --bind PATH PATH2), chroot (into
 *                                     PATH, then open PATH2 for writing),
 *                                     chdir (into PATH, then open PATH2 for
 *                                     reading), chdir-w (for writing),
 *                                     opath-r / opath-w (open PATH with
 *                                     O_PATH, then reopen /proc/self/fd/N for
 *                                     reading / writing), beneath-w /
 *                                     inroot-w (openat2() of PATH2 below the
 *                                     directory PATH for writing with
 *                                     RESOLVE_BENEATH / RESOLVE_IN_ROOT),
 *                                     chmod (0600), chown (0:0), utimes
 *                                     (now), setxattr / removexattr
 *                                     (trusted.vkt), tmpfs (mount one on
 *                                     PATH), umount-l (lazy unmount), move
 *                                     (a clone of the tree at PATH attached
 *                                     at PATH2: open_tree + move_mount),
 *                                     move-old (mount --move PATH PATH2),
 *                                     handle (open_by_handle_at of PATH's
 *                                     handle), proc / sysfs / cgroup2 (a new
 *                                     instance mounted on PATH), fsopen-sysfs
 *                                     (the same through fsopen + fsmount +
 *                                     move_mount), overlay (PATH2 and an
 *                                     empty PATH2.low as the lower layers,
 *                                     mounted on PATH): "0" or the errno name
 *   vkt userns-raw                    unshare(CLONE_NEWUSER|CLONE_NEWNET) in
 *                                     a child (its creator's full set in the
 *                                     new user namespace, which owns the new
 *                                     net namespace), then a raw socket:
 *                                     "caps=<CapEff> raw=<0|errno>", or
 *                                     "unshare=<errno>"
 *   vkt bench getppid|futex N         N getppid() calls or N futex ping-pong
 *                                     round trips between two threads, all
 *                                     on CPU 0 (no cross-CPU wakeups, which
 *                                     TCG makes erratic): "ns_per_op=<ns>
 *                                     total_ns=<ns> n=<N>" (all benches)
 *   vkt bench ctxsw N                 N one-byte round trips between two
 *                                     processes over pipes on CPU 0 (two
 *                                     context switches each): ns per trip
 *   vkt bench hackbench N             hackbench-like: 2 groups of 10 senders
 *                                     and 10 receivers (processes, AF_UNIX
 *                                     socketpairs, every CPU), N loops of a
 *                                     100-byte message to each receiver of
 *                                     the group: ns per message
 *   vkt flipper MS S FILE...          every MS ms for S s write 0/1 to each
 *                                     FILE (bit i of the round to file i):
 *                                     "flipper writes= failed= mean_us="
 *   vkt hackload S G                  hackbench rounds (G groups, 10 loops)
 *                                     for S s: "hackload rounds=<n>"
 *   vkt move-running N MS PROCS       N tasks of MS ms queued on CPU 1 in the
 *                                     (FIFO) cgroup; a task running on CPU 1
 *                                     moves itself in: "mover_after_old=1"
 *                                     if it ran again only after them
 *   vkt inplace nice|affinity|pi MS PROCS
 *                                     3 tasks of MS ms queued on CPU 1 in the
 *                                     cgroup; task 1, waiting, gets a nice
 *                                     change, an affinity change keeping its
 *                                     CPU, or a PI boost: "inorder=1" if they
 *                                     still ran 0, 1, 2
 *   vkt order MS PROCS...             one task of MS ms per PROCS (its
 *                                     cgroup), queued on CPU 1 in argument
 *                                     order: "ran I FIRST END" (ms)
 *   vkt share WIN_MS PROCS...         one spinner per PROCS on CPU 1; each
 *                                     one's CPU over WIN_MS: "share I MS PCT"
 *   vkt smp N MS PROCS                join PROCS, fork N tasks of MS ms free
 *                                     on every CPU: per-CPU runs, "done=
 *                                     interleaved= order_violations="
 *   vkt traced-getppid                a traced child calls getpid(); its
 *                                     tracer rewrites the call to getppid()
 *                                     at the entry stop: the child's result
 *                                     ("EPERM" or a number)
 *   vkt seccomp-getppid               getppid() under a seccomp filter that
 *                                     allows everything: result
 *   vkt thread-getppid                getppid() in a new thread: result
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <sys/klog.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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
	case ESRCH: return "ESRCH";
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
	/* the shared page exists before the tasks: none allocates it at its first write */
	memset(s, 0, sizeof(*s) * n);
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return perror("sched_setaffinity"), 2;
	/* "-": stay in our own cgroup (a container's process: its group is the container's) */
	if (strcmp(procs, "-")) {
		f = fopen(procs, "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			return perror(procs), 2;
	}
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

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t len = strlen(val);

	if (fd < 0)
		return -1;
	if (write(fd, val, len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void pin(int cpu);

/*
 * Shared state of the flip helpers' children: each child writes its pid to
 * the cgroup while it runs on CPU 0 (where the group has nothing queued),
 * says so, and only then moves to CPU 1, where it is queued at the tail of
 * the group's run queue: the arrival order on CPU 1 is the fork order.
 */
struct flip_task {
	volatile int joined;
	volatile long long cpu_us;	/* CPU time so far (spinners) */
	volatile long long first_us;	/* first ran on CPU 1 */
	volatile long long end_us;	/* done (MS ms of CPU) */
};

static int flip_join(const char *procs)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", getpid());
	return write_file(procs, buf);
}

/* fork a child that joins the cgroup, then CPU 1, then runs fn */
static pid_t flip_fork(struct flip_task *t, const char *procs,
		       void (*fn)(struct flip_task *t, long arg), long arg)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	pin(0);
	if (flip_join(procs)) {
		perror(procs);
		_exit(2);
	}
	t->joined = 1;
	pin(1);
	t->first_us = now_us(CLOCK_MONOTONIC);
	fn(t, arg);
	_exit(0);
}

static void flip_spin(struct flip_task *t, long arg)
{
	for (;;)
		t->cpu_us = now_us(CLOCK_THREAD_CPUTIME_ID);
}

static void flip_work(struct flip_task *t, long ms)
{
	long long start = now_us(CLOCK_THREAD_CPUTIME_ID);

	while (now_us(CLOCK_THREAD_CPUTIME_ID) - start < ms * 1000LL)
		;
	t->end_us = now_us(CLOCK_MONOTONIC);
}

static struct flip_task *flip_start(int n, const char *procs, pid_t *pids,
				    void (*fn)(struct flip_task *t, long arg),
				    long arg)
{
	struct flip_task *t;
	int i;

	t = mmap(NULL, sizeof(*t) * (n + 1), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	pin(0);
	for (i = 0; i < n; i++) {
		pids[i] = flip_fork(&t[i], procs, fn, arg);
		if (pids[i] < 0)
			return NULL;
		while (!t[i].joined)
			usleep(1000);
		usleep(50000);	/* let it reach CPU 1's queue */
	}
	return t;
}

/*
 * FIFO -> CFS: N spinners in a FIFO group on CPU 1 (only the first runs),
 * flip to CFS, and measure each one's CPU time over the next WIN_MS.  Every
 * one must progress, and with equal weights each should get 1/N.
 */
static int cmd_flip_share(int n, const char *procs, const char *policy,
			  int fifo_ms, int win_ms)
{
	long long c0[16], d[16], sum = 0;
	int i, progressed = 0, minsh = 100, maxsh = 0;
	struct flip_task *t;
	pid_t pids[16];

	if (n < 2 || n > 16)
		return 2;
	t = flip_start(n, procs, pids, flip_spin, 0);
	if (!t)
		return perror("flip_start"), 2;
	usleep(fifo_ms * 1000);
	printf("before flip (cpu ms):");
	for (i = 0; i < n; i++)
		printf(" %lld", t[i].cpu_us / 1000);
	printf("\n");
	for (i = 0; i < n; i++)
		c0[i] = t[i].cpu_us;
	if (write_file(policy, "0"))
		perror(policy);
	usleep(win_ms * 1000);
	for (i = 0; i < n; i++) {
		d[i] = t[i].cpu_us - c0[i];
		sum += d[i];
	}
	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	printf("after flip to CFS, %d ms (cpu ms, share %%):", win_ms);
	for (i = 0; i < n; i++) {
		int sh = sum ? (int)(d[i] * 100 / sum) : 0;

		printf(" [%d %lld %d%%]", i, d[i] / 1000, sh);
		if (d[i] >= 10000)
			progressed++;
		if (sh < minsh)
			minsh = sh;
		if (sh > maxsh)
			maxsh = sh;
	}
	printf("\nresult progressed=%d/%d minshare=%d maxshare=%d\n",
	       progressed, n, minsh, maxsh);
	return 0;
}

/*
 * CFS -> FIFO: N tasks of MS ms of CPU queued in a CFS group on CPU 1;
 * 100 ms later, flip to FIFO and add one more.  The tasks queued before the
 * flip must all end before the new one first runs.
 */
static int cmd_flip_order(int n, int ms, const char *procs,
			  const char *policy)
{
	long long t0, oldend = 0;
	struct flip_task *t;
	pid_t pids[17];
	int i;

	if (n < 2 || n > 16)
		return 2;
	t = flip_start(n, procs, pids, flip_work, ms);
	if (!t)
		return perror("flip_start"), 2;
	t0 = t[0].first_us;
	usleep(100000);
	if (write_file(policy, "1"))
		perror(policy);
	pids[n] = flip_fork(&t[n], procs, flip_work, ms);
	while (wait(NULL) > 0)
		;
	printf("flip-order (ms; task %d arrived after the flip):", n);
	for (i = 0; i <= n; i++)
		printf(" [%d %lld..%lld]", i, (t[i].first_us - t0) / 1000,
		       (t[i].end_us - t0) / 1000);
	for (i = 0; i < n; i++)
		if (t[i].end_us > oldend)
			oldend = t[i].end_us;
	printf("\nresult new_after_old=%d\n", t[n].first_us >= oldend);
	return 0;
}

static volatile int *yl_lock;	/* in the shared mapping */

static void yl_holder(struct flip_task *t, long arg)
{
	*yl_lock = 1;
	usleep(20000);		/* blocks: the waiter gets the CPU */
	flip_work(t, 50);	/* woken: queued behind the spinning waiter */
	*yl_lock = 0;
}

static void yl_waiter(struct flip_task *t, long arg)
{
	while (*yl_lock)
		sched_yield();
	t->end_us = now_us(CLOCK_MONOTONIC);
}

/*
 * sched_yield() in a FIFO group must let the task queued behind run: a
 * waiter spinning on sched_yield() for a lock whose holder is queued behind
 * it on the same CPU livelocks otherwise.
 */
static int cmd_yield_lock(const char *procs, int secs)
{
	struct flip_task *t;
	long long t0;
	pid_t h, w;

	t = mmap(NULL, sizeof(*t) * 3, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return perror("mmap"), 2;
	yl_lock = &t[2].joined;
	pin(0);
	t0 = now_us(CLOCK_MONOTONIC);
	h = flip_fork(&t[0], procs, yl_holder, 0);
	while (!*yl_lock)	/* taken */
		usleep(1000);
	w = flip_fork(&t[1], procs, yl_waiter, 0);
	while ((!t[0].end_us || !t[1].end_us) &&
	       now_us(CLOCK_MONOTONIC) - t0 < secs * 1000000LL)
		usleep(10000);
	kill(h, SIGKILL);
	kill(w, SIGKILL);
	while (wait(NULL) > 0)
		;
	printf("holder_done=%d waiter_done=%d holder_ms=%lld waiter_ms=%lld\n",
	       !!t[0].end_us, !!t[1].end_us,
	       t[0].end_us ? (t[0].end_us - t0) / 1000 : -1,
	       t[1].end_us ? (t[1].end_us - t0) / 1000 : -1);
	return !(t[0].end_us && t[1].end_us);
}

/* wait until every listed child is done, SIGKILL them after S s */
static void reap_within(pid_t *pids, int n, int secs)
{
	long long t0 = now_us(CLOCK_MONOTONIC);
	int left = n, i;

	while (left > 0 && now_us(CLOCK_MONOTONIC) - t0 < secs * 1000000LL) {
		usleep(10000);
		for (i = 0; i < n; i++)
			if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
				pids[i] = -1;
				left--;
			}
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
}

static int print_order(const char *what, struct flip_task *t, int n,
		       long long t0)
{
	int i, inorder = 1, done = 0;

	printf("%s (ms):", what);
	for (i = 0; i < n; i++) {
		printf(" [%d %lld..%lld]", i, (t[i].first_us - t0) / 1000,
		       t[i].end_us ? (t[i].end_us - t0) / 1000 : -1);
		if (t[i].end_us)
			done++;
		if (i && (!t[i - 1].end_us || t[i].first_us < t[i - 1].end_us))
			inorder = 0;
	}
	printf("\n");
	return done == n && inorder;
}

/*
 * A task moved into a FIFO group while it runs arrives at the tail: N tasks
 * of MS ms are queued on CPU 1 in the group; a task running on CPU 1 outside
 * it writes its own pid to the group's PROCS, then works MS ms.  It must
 * run again only after the N queued tasks ended.
 */
static int cmd_move_running(int n, int ms, const char *procs)
{
	struct flip_task *t;
	long long oldend = 0;
	pid_t pids[17], m;
	int i;

	if (n < 1 || n > 16)
		return 2;
	t = flip_start(n, procs, pids, flip_work, ms);
	if (!t)
		return perror("flip_start"), 2;
	m = fork();
	if (m == 0) {
		long long start;

		pin(1);
		start = now_us(CLOCK_THREAD_CPUTIME_ID);
		while (now_us(CLOCK_THREAD_CPUTIME_ID) - start < 20000)
			;	/* surely running on CPU 1 */
		if (flip_join(procs))
			_exit(2);
		t[n].first_us = now_us(CLOCK_MONOTONIC);
		flip_work(&t[n], ms);
		_exit(0);
	}
	pids[n] = m;
	reap_within(pids, n + 1, 30);
	for (i = 0; i < n; i++)
		if (t[i].end_us > oldend)
			oldend = t[i].end_us;
	print_order("move-running (task N moved in while running; first = after its move)",
		    t, n + 1, t[0].first_us);
	printf("result mover_after_old=%d\n",
	       t[n].end_us && t[n].first_us >= oldend);
	return 0;
}

static volatile int *pi_word;	/* a PI futex in the shared mapping */

static long pi_futex(int op)
{
	return syscall(SYS_futex, pi_word, op, 0, NULL, NULL, 0);
}

/* holds the PI futex from before it is queued; releases it when it runs */
static void pi_holder(struct flip_task *t, long ms)
{
	int tid = syscall(SYS_gettid);

	if (!__sync_bool_compare_and_swap(pi_word, tid, 0))
		pi_futex(FUTEX_UNLOCK_PI);
	flip_work(t, ms);
}

static int task_prio(pid_t pid)
{
	char path[64], buf[512], *p;
	int i, prio = -1000;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return prio;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		/* field 18 (priority) is the 16th after the comm */
		for (i = 0; p && i < 16; i++)
			p = strchr(p + 1, ' ');
		if (p)
			prio = atoi(p + 1);
	}
	fclose(f);
	return prio;
}

/*
 * A change in place of a queued task keeps its place in a FIFO group: 3
 * tasks of MS ms queued on CPU 1 (0 runs, 1 and 2 wait); while 0 runs,
 * task 1 gets a nice change ("nice"), an affinity change that keeps its CPU
 * ("affinity": {1} -> {1,2} -> {1}), or a PI boost ("pi": it holds a PI
 * futex from before it was queued, a nice -5 task outside the group blocks
 * on it with FUTEX_LOCK_PI).  They must still run 0, 1, 2.
 */
static int cmd_inplace(const char *how, int ms, const char *procs)
{
	struct flip_task *t;
	pid_t pids[4], w = -1;
	char detail[128] = "";
	cpu_set_t set;
	int i, r = 0, before, after, during;

	t = mmap(NULL, sizeof(*t) * 4, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return perror("mmap"), 2;
	pi_word = &t[3].joined;
	pin(0);
	for (i = 0; i < 3; i++) {
		if (i == 1 && !strcmp(how, "pi")) {
			pids[i] = fork();
			if (pids[i] == 0) {
				*pi_word = syscall(SYS_gettid);
				pin(0);
				if (flip_join(procs))
					_exit(2);
				t[i].joined = 1;
				pin(1);
				t[i].first_us = now_us(CLOCK_MONOTONIC);
				pi_holder(&t[i], ms);
				_exit(0);
			}
		} else {
			pids[i] = flip_fork(&t[i], procs, flip_work, ms);
		}
		while (!t[i].joined)
			usleep(1000);
		usleep(50000);
	}
	before = task_prio(pids[1]);
	if (!strcmp(how, "nice")) {
		r = setpriority(PRIO_PROCESS, pids[1], 5);
	} else if (!strcmp(how, "affinity")) {
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		CPU_SET(2, &set);
		r = sched_setaffinity(pids[1], sizeof(set), &set);
		CPU_CLR(2, &set);
		r |= sched_setaffinity(pids[1], sizeof(set), &set);
	} else if (!strcmp(how, "pi")) {
		w = fork();
		if (w == 0) {
			pin(3);
			if (setpriority(PRIO_PROCESS, 0, -5))
				_exit(3);
			if (pi_futex(FUTEX_LOCK_PI))
				_exit(4);
			pi_futex(FUTEX_UNLOCK_PI);
			_exit(0);
		}
		for (i = 0; i < 100 && task_prio(pids[1]) == before; i++)
			usleep(10000);	/* until it blocked: task 1 boosted */
	} else {
		return 2;
	}
	after = task_prio(pids[1]);
	during = !t[0].end_us;	/* else task 1 may have run already */
	snprintf(detail, sizeof(detail), "task1 prio %d -> %d%s%s", before,
		 after, r ? " (change failed)" : "",
		 during ? ", while task 0 ran" : ", too late: task 0 had ended");
	reap_within(pids, 3, 30);
	if (w > 0) {
		int st = 0;

		kill(w, SIGKILL);	/* done by now, unless it failed */
		waitpid(w, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			strcat(detail, ", PI waiter failed");
	}
	i = print_order(how, t, 3, t[0].first_us);
	printf("%s\nresult inorder=%d\n", detail, i && !r && during);
	return 0;
}

/*
 * One CPU-bound task per PROCS argument, in order, each MS ms of CPU: joins
 * its cgroup on CPU 0, then moves to CPU 1 (so the arrival order on CPU 1 is
 * the argument order).  Prints "ran I FIRST END" (ms since the first began)
 * per task; the caller checks the order it expects.
 */
static int cmd_order(int ms, int n, char **procs)
{
	struct flip_task *t;
	pid_t pids[16];
	int i;

	if (n < 1 || n > 16)
		return 2;
	t = mmap(NULL, sizeof(*t) * n, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return perror("mmap"), 2;
	pin(0);
	for (i = 0; i < n; i++) {
		pids[i] = flip_fork(&t[i], procs[i], flip_work, ms);
		if (pids[i] < 0)
			return perror("fork"), 2;
		while (!t[i].joined)
			usleep(1000);
		usleep(30000);
	}
	reap_within(pids, n, 60);
	for (i = 0; i < n; i++)
		printf("ran %d %lld %lld\n", i, (t[i].first_us - t[0].first_us) / 1000,
		       t[i].end_us ? (t[i].end_us - t[0].first_us) / 1000 : -1);
	return 0;
}

/*
 * One CPU-bound spinner per PROCS argument on CPU 1 (joined in order); after
 * 300 ms, each one's CPU time over WIN_MS: "share I CPU_MS PERCENT".
 */
static int cmd_share(int win_ms, int n, char **procs)
{
	long long c0[16], sum = 0;
	struct flip_task *t;
	pid_t pids[16];
	int i;

	if (n < 1 || n > 16)
		return 2;
	t = mmap(NULL, sizeof(*t) * n, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return perror("mmap"), 2;
	pin(0);
	for (i = 0; i < n; i++) {
		pids[i] = flip_fork(&t[i], procs[i], flip_spin, 0);
		while (!t[i].joined)
			usleep(1000);
	}
	usleep(300000);
	for (i = 0; i < n; i++)
		c0[i] = t[i].cpu_us;
	usleep(win_ms * 1000);
	for (i = 0; i < n; i++) {
		c0[i] = t[i].cpu_us - c0[i];
		sum += c0[i];
	}
	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	for (i = 0; i < n; i++)
		printf("share %d %lld %lld\n", i, c0[i] / 1000,
		       sum ? c0[i] * 100 / sum : 0);
	return 0;
}

/* per task of cmd_smp: where it ran, as segments of [start, end] on a CPU */
#define SMP_SEGS 256
struct smp_task {
	volatile int nseg, done, migrations;
	volatile int cpu[SMP_SEGS];
	volatile long long start[SMP_SEGS], end[SMP_SEGS];
};

static int nr_migrations_self(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/sched", "r");
	int n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "se.nr_migrations", 16))
			n = atoi(strchr(line, ':') + 1);
	if (f)
		fclose(f);
	return n;
}

/* voluntary context switches of the calling thread: it blocked */
static long nvcsw_self(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? -1 : ru.ru_nvcsw;
}

static void smp_work(struct smp_task *s, int ms)
{
	long long start, last = 0;
	int mig;
	long vcs;

	/*
	 * Fault the shared page in before anything is measured: the first
	 * write to it may wait on its lock (the other tasks fault on it too),
	 * and a task that blocks goes to the tail of its FIFO list.
	 */
	s->nseg = 0;
	start = now_us(CLOCK_THREAD_CPUTIME_ID);
	mig = nr_migrations_self();
	vcs = nvcsw_self();
	while (now_us(CLOCK_THREAD_CPUTIME_ID) - start < ms * 1000LL) {
		/* read before the sample: a block after it shows next time */
		long v = nvcsw_self();
		int c0 = sched_getcpu();
		long long a = now_us(CLOCK_MONOTONIC);
		int c = sched_getcpu();
		long long b = now_us(CLOCK_MONOTONIC);
		int k = s->nseg - 1, split = 0;

		/* moved before, between or after the two times: sample again */
		if (c != c0 || c != sched_getcpu())
			continue;
		/*
		 * The task left this CPU since the last sample if it blocked (a
		 * voluntary switch: a task that blocks goes to the tail of its
		 * FIFO list when it wakes, as a SCHED_FIFO task does), or, off
		 * the CPU for over 1 ms, if it was moved away and back without
		 * running elsewhere (a migration count that changed): a new
		 * segment, as for a move to another CPU, so that what ran here
		 * meanwhile is not taken for an interleave.  A preemption is
		 * an involuntary switch: it still counts.
		 */
		if (k >= 0 && s->cpu[k] == c) {
			split = v != vcs;
			if (a - last > 1000) {
				int m = nr_migrations_self();

				split |= m != mig;
				mig = m;
			}
		}
		vcs = v;
		if (k < 0 || s->cpu[k] != c || split) {
			if (k + 1 >= SMP_SEGS)
				continue;
			k++;
			s->cpu[k] = c;
			s->start[k] = a;
			s->nseg = k + 1;
			if (k == 0 || s->cpu[k - 1] != c)
				mig = nr_migrations_self();
		}
		s->end[k] = b;
		last = b;
	}
	s->migrations = nr_migrations_self();
	s->done = 1;
}

/*
 * Several CPUs: this process joins the group (PROCS), forks N CPU-bound
 * tasks of MS ms (free to run on every CPU) and sleeps.  Each records on
 * which CPU it ran when.  FIFO per CPU: on each CPU, no two tasks of the
 * group interleave (a task that began there ran until it ended or left the
 * CPU; moved away and back without running elsewhere is leaving too: the
 * task reads its se.nr_migrations and its voluntary switches after every gap
 * of over 1 ms: a task that blocked left the CPU too), and the
 * tasks that never migrated (se.nr_migrations 0: they stayed
 * where fork placed them) began in fork order.  Prints per-CPU runs and
 * "result done=D/N interleaved=I order_violations=V migrated=M".
 */
static int cmd_smp(int n, int ms, const char *procs)
{
	int i, j, a, b, done = 0, inter = 0, viol = 0, migr = 0, cpu;
	struct smp_task *s;
	long long t0 = 0;
	pid_t pids[32];

	if (n < 1 || n > 32)
		return 2;
	s = mmap(NULL, sizeof(*s) * n, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return perror("mmap"), 2;
	if (flip_join(procs))
		return perror(procs), 2;
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			smp_work(&s[i], ms);
			_exit(0);
		}
	}
	reap_within(pids, n, 120);
	for (i = 0; i < n; i++)
		if (s[i].nseg && (!t0 || s[i].start[0] < t0))
			t0 = s[i].start[0];
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int any = 0;

		for (i = 0; i < n; i++)
			for (a = 0; a < s[i].nseg; a++) {
				if (s[i].cpu[a] != cpu)
					continue;
				if (!any)
					printf("cpu %d:", cpu);
				any = 1;
				printf(" [%d %lld..%lld]", i,
				       (s[i].start[a] - t0) / 1000,
				       (s[i].end[a] - t0) / 1000);
			}
		if (any)
			printf("\n");
	}
	for (i = 0; i < n; i++) {
		done += s[i].done;
		migr += s[i].migrations > 0;
		for (j = i + 1; j < n; j++) {
			for (a = 0; a < s[i].nseg; a++)
				for (b = 0; b < s[j].nseg; b++)
					if (s[i].cpu[a] == s[j].cpu[b] &&
					    s[i].start[a] < s[j].end[b] &&
					    s[j].start[b] < s[i].end[a])
						inter++;
			/* stayed where fork put them, same CPU: fork order */
			if (s[i].migrations == 0 && s[j].migrations == 0 &&
			    s[i].nseg && s[j].nseg &&
			    s[i].cpu[0] == s[j].cpu[0] &&
			    s[j].start[0] < s[i].start[0])
				viol++;
		}
	}
	printf("migrations:");
	for (i = 0; i < n; i++)
		printf(" %d", s[i].migrations);
	printf("\nresult done=%d/%d interleaved=%d order_violations=%d migrated=%d\n",
	       done, n, inter, viol, migr);
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

/* cmd_write as another user (uid and gid UID, no supplementary groups) */
static int cmd_write_as(int uid, const char *path, const char *val)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		return perror("setuid"), 2;
	return cmd_write(path, val);
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

static int cmd_commit(long chunk, long max, const char *release)
{
	const char *stop = "max";
	long got = 0;
	int i;

	while (chunk > 0 && got + chunk <= max) {
		if (mmap(NULL, (size_t)chunk << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
			stop = errname(errno);
			break;
		}
		got += chunk;
	}
	printf("committed=%ld stop=%s\n", got, stop);
	fflush(stdout);
	for (i = 0; i < 600 && access(release, F_OK); i++)
		usleep(100000);
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
		if (r < 0 && errno != EAGAIN) {
			/* unreadable is not empty: say so, fail */
			perror(path);
			close(fd);
			return 1;
		}
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

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Write a byte to every page of [p, p + sz). */
static void touch_pages(char *p, size_t sz)
{
	size_t i;

	for (i = 0; i < sz; i += 4096)
		p[i] = 1;
}

/*
 * Print the AnonHugePages line of FILE (/proc/meminfo, smaps_rollup); with
 * AT, of the entry of /proc/self/smaps that starts at AT only.  An entry's
 * first line begins with its address (lower-case hex), its fields with a
 * capital letter.
 */
static void print_anon_huge(const char *file, const void *at)
{
	char line[256], want[32] = "";
	FILE *f = fopen(file, "r");
	int in = !at;

	if (at)
		snprintf(want, sizeof(want), "%lx-", (unsigned long)at);
	while (f && fgets(line, sizeof(line), f)) {
		if (at && !isupper((unsigned char)line[0]))
			in = !strncmp(line, want, strlen(want));
		else if (in && !strncmp(line, "AnonHugePages:", 14))
			fputs(line, stdout);
	}
	if (f)
		fclose(f);
}

/*
 * khugepaged and a namespace's THP mode: this process (in the initial
 * namespace, global THP "always") faults memory in, so khugepaged registers
 * its mm; a child forked into a new pid namespace inherits the registration.
 * With WORDS, the child's namespace is enabled ("PID WORDS"). The child
 * faults MB MiB in while the global mode is "never" (small pages), then the
 * global mode goes back to "always" and khugepaged has SECS seconds to
 * collapse; the child prints the AnonHugePages of that new mapping.
 */
static int cmd_thp_collapse(long mb, int secs, const char *words)
{
	const char *en = "/sys/kernel/mm/transparent_hugepage/enabled";
	size_t sz = (size_t)mb << 20;
	int go[2], done[2];
	pid_t pid;
	char *reg;
	char c;

	if (write_str(en, "always"))
		return perror(en), 2;
	reg = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (reg == MAP_FAILED)
		return perror("mmap"), 2;
	/*
	 * Registration happens at a huge-page fault (an mmap() has no anon_vma
	 * yet), i.e. in a 2 MiB-aligned block inside the mapping: touch it all
	 * (a first byte alone may fall outside every such block).
	 */
	touch_pages(reg, 4 << 20);
	if (pipe(go) || pipe(done) || unshare(CLONE_NEWPID))
		return perror("pipe/unshare"), 2;
	pid = fork();
	if (pid < 0)
		return perror("fork"), 2;
	if (pid == 0) {
		char *p;

		if (read(go[0], &c, 1) != 1)
			_exit(2);
		p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		touch_pages(p, sz);
		if (write(done[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		sleep(secs);
		/* the new mapping's own line: the inherited one may be huge */
		print_anon_huge("/proc/self/smaps", p);
		fflush(stdout);
		_exit(0);
	}
	if (words && *words) {
		char buf[256];
		int r;

		snprintf(buf, sizeof(buf), "%d %s", pid, words);
		r = write_str("/sys/kernel/vkernel/enable", buf);
		printf("enable=%s ", r ? errname(-r) : "ok");
		fflush(stdout);
	}
	write_str(en, "never");
	if (write(go[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
		return 2;
	write_str(en, "always");
	if (write(go[1], "x", 1) != 1)
		return 2;
	waitpid(pid, NULL, 0);
	return 0;
}

static int cmd_thp(long mb, const char *counters)
{
	size_t sz = (size_t)mb << 20;
	char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return perror("mmap"), 1;
	touch_pages(p, sz);
	print_anon_huge(counters, NULL);
	return 0;
}

#define X32_SYSCALL_BIT	0x40000000
#define IA32_NR_GETPPID	64

static int cmd_getppid(const char *abi)
{
	long r;

	if (!strcmp(abi, "x32")) {
		r = syscall(X32_SYSCALL_BIT | SYS_getppid);
	} else if (!strcmp(abi, "ia32")) {
		/* the 32-bit entry, from this 64-bit process */
		asm volatile("int $0x80" : "=a"(r) : "0"(IA32_NR_GETPPID)
			     : "memory");
		if (r < 0 && r > -4096) {
			errno = -r;
			r = -1;
		}
	} else {
		r = syscall(SYS_getppid);
	}
	if (r < 0)
		printf("%s\n", errname(errno));
	else
		printf("%ld\n", r);
	return r < 0;
}

/* futex(2) without errno (safe in a CLONE_VM child that shares our TLS) */
static long raw_futex(int *uaddr, int op, int val, struct timespec *ts)
{
	register long r10 asm("r10") = (long)ts;
	long ret;

	asm volatile("syscall" : "=a"(ret)
		     : "0"((long)SYS_futex), "D"(uaddr), "S"((long)op),
		       "d"((long)val), "r"(r10)
		     : "rcx", "r11", "memory");
	return ret;
}

static int wait_secs;

static void *futex_waiter(void *arg)
{
	struct timespec ts = { .tv_sec = wait_secs };

	raw_futex(arg, FUTEX_WAIT_PRIVATE, 0, &ts);
	return NULL;
}

static int cmd_futex_wait(int n, int secs)
{
	pthread_attr_t a;
	pthread_t t;
	int *words;
	int i;

	if (n < 1 || n > 16384)
		return 2;
	words = calloc(n, sizeof(*words));
	if (!words || pthread_attr_init(&a) ||
	    pthread_attr_setstacksize(&a, 64 * 1024) ||
	    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED))
		return perror("futex-wait"), 1;
	wait_secs = secs;
	for (i = 0; i < n; i++)
		if (pthread_create(&t, &a, futex_waiter, &words[i]))
			return perror("pthread_create"), 1;
	printf("waiting %d\n", n);
	fflush(stdout);
	sleep(secs + 1);
	return 0;
}

static int cv_word;
static long cv_ret = 1;

static int clone_vm_child(void *arg)
{
	struct timespec ts = { .tv_sec = 5 };

	cv_ret = raw_futex(&cv_word, FUTEX_WAIT_PRIVATE, 0, &ts);
	return 0;
}

static int cmd_futex_clone_vm(void)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	long long t0 = now_us(CLOCK_MONOTONIC);
	long woken = 0;
	pid_t pid;

	pid = clone(clone_vm_child, stack + sizeof(stack),
		    CLONE_VM | CLONE_NEWPID | SIGCHLD, NULL);
	if (pid < 0)
		return perror("clone"), 1;
	while (woken <= 0 && now_us(CLOCK_MONOTONIC) - t0 < 3000000) {
		woken = raw_futex(&cv_word, FUTEX_WAKE_PRIVATE, 1, NULL);
		if (woken <= 0)
			usleep(10000);
	}
	waitpid(pid, NULL, 0);
	printf("woken=%ld wait=%ld\n", woken, cv_ret);
	return !(woken == 1 && cv_ret == 0);
}

static int *map_word(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0644);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096))
		return NULL;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static int cmd_futex_file_wait(const char *path, int secs)
{
	struct timespec ts = { .tv_sec = secs };
	int *w = map_word(path);
	long r;

	if (!w)
		return perror(path), 1;
	printf("waiting\n");
	r = raw_futex(w, FUTEX_WAIT, 0, &ts);
	printf("%s\n", r == 0 ? "woken" : errname(-r));
	return r != 0;
}

static int cmd_futex_file_wake(const char *path)
{
	long long t0 = now_us(CLOCK_MONOTONIC);
	int *w = map_word(path);
	long n = 0;

	if (!w)
		return perror(path), 1;
	while (n <= 0 && now_us(CLOCK_MONOTONIC) - t0 < 3000000) {
		n = raw_futex(w, FUTEX_WAKE, 1, NULL);
		if (n <= 0)
			usleep(10000);
	}
	printf("woke %ld\n", n);
	return n != 1;
}

/* run on CPU cpu only (-1: on every CPU) */
static void pin(int cpu)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	for (i = 0; cpu < 0 && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * A sleeper and a CPU hog (nice -10: a CFS slice of ~11 of the 12 ms
 * period) share CPU 1; a waker on CPU 0 wakes the sleeper through a pipe
 * 2 ms after it blocked (busy-waiting: no high-resolution timers here).
 * The woken sleeper's vruntime is behind the hog's, so it preempts the hog
 * at once if that lag exceeds wakeup_gran() of its namespace (always with
 * 0); otherwise it waits until the hog's slice is used up, at a tick
 * (HZ=250: 4 ms steps), ~9 ms later.
 */
/*
 * The sleeper of wakelat in another cgroup and pid namespace than the hog:
 * join PROCS (unless "-"), enter NSPID's pid namespace and fork, so that the
 * child, the one that sleeps, is in that namespace.  Returns in the child;
 * the parent waits for it and exits with its status.
 */
static void wakelat_sleeper_elsewhere(const char *nspid, const char *procs)
{
	char path[64], me[24];
	int fd, st;
	pid_t c;

	snprintf(me, sizeof(me), "%d", getpid());
	if (strcmp(procs, "-") && write_file(procs, me))
		perror("join cgroup"), _exit(1);
	snprintf(path, sizeof(path), "/proc/%s/ns/pid", nspid);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWPID))
		perror("setns"), _exit(1);
	close(fd);
	c = fork();
	if (c < 0)
		_exit(1);
	if (c == 0)
		return;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
		_exit(1);
	_exit(WEXITSTATUS(st));
}

static int cmd_wakelat(int n, const char *nspid, const char *procs, int raw)
{
	volatile long long *sh;
	long long *lat, ts, t;
	int fds[2], i;
	pid_t hog, sleeper;

	if (n < 5 || n > 1000)
		return 2;
	sh = mmap(NULL, sizeof(*sh) * (n + 1), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe(fds))
		return perror("setup"), 2;
	lat = (long long *)&sh[1];
	hog = fork();
	if (hog == 0) {
		long long end = now_us(CLOCK_MONOTONIC) + 120000000LL;

		pin(1);
		if (setpriority(PRIO_PROCESS, 0, -10))
			perror("setpriority");
		while (now_us(CLOCK_MONOTONIC) < end)
			;
		_exit(0);
	}
	sleeper = fork();
	if (sleeper == 0) {
		if (nspid)
			wakelat_sleeper_elsewhere(nspid, procs);
		pin(1);
		for (i = 0; i < n; i++) {
			sh[0] = i + 1;	/* about to block */
			if (read(fds[0], &ts, sizeof(ts)) != sizeof(ts))
				_exit(1);
			lat[i] = now_us(CLOCK_MONOTONIC) - ts;
		}
		_exit(0);
	}
	pin(0);
	usleep(100000);
	for (i = 0; i < n; i++) {
		while (sh[0] != i + 1)
			;
		t = now_us(CLOCK_MONOTONIC);
		while (now_us(CLOCK_MONOTONIC) - t < 2000)
			;
		ts = now_us(CLOCK_MONOTONIC);
		if (write(fds[1], &ts, sizeof(ts)) != sizeof(ts))
			break;
	}
	waitpid(sleeper, &i, 0);
	kill(hog, SIGKILL);
	waitpid(hog, NULL, 0);
	if (!WIFEXITED(i) || WEXITSTATUS(i))
		return fprintf(stderr, "sleeper failed\n"), 1;
	for (i = 0; raw && i < n; i++)
		printf("lat_us=%lld\n", lat[i]);
	qsort(lat, n, sizeof(*lat), cmp_ll);
	printf("median_us=%lld q1_us=%lld q3_us=%lld min_us=%lld max_us=%lld\n",
	       lat[n / 2], lat[n / 4], lat[3 * n / 4], lat[0], lat[n - 1]);
	return 0;
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

static int cmd_futex_quiet(int n)
{
	pthread_t t;

	ftx = 0;
	if (pthread_create(&t, NULL, pong, (void *)(long)n))
		return perror("pthread_create"), 1;
	pingpong(0, n);
	pthread_join(t, NULL);
	return 0;
}

static int cmd_futex(int n)
{
	if (cmd_futex_quiet(n))
		return 1;
	printf("ok %d\n", ftx);
	return 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* the result of a call as a word: the number, or the errno name */
static const char *result_word(long r, int err)
{
	static char buf[32];

	if (r < 0)
		return errname(err);
	snprintf(buf, sizeof(buf), "%ld", r);
	return buf;
}

struct newpid_arg {
	const char *what, *path;
	volatile long r;
	volatile int err;
};

static int newpid_child(void *p)
{
	struct newpid_arg *a = p;
	long r;

	if (!strcmp(a->what, "mkdir"))
		r = syscall(SYS_mkdir, a->path, 0755);
	else
		r = syscall(SYS_getppid);
	a->err = errno;
	a->r = r;
	return 0;
}

static int cmd_newpid(int user, const char *what, const char *path)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	struct newpid_arg *a;
	pid_t pid;

	a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return perror("mmap"), 2;
	a->what = what;
	a->path = path;
	a->r = -2;
	pid = clone(newpid_child, stack + sizeof(stack),
		    CLONE_NEWPID | (user ? CLONE_NEWUSER : 0) | SIGCHLD, a);
	if (pid < 0) {
		printf("clone=%s\n", errname(errno));
		return 1;
	}
	waitpid(pid, NULL, 0);
	printf("%s\n", result_word(a->r, a->err));
	return a->r < 0;
}

/*
 * A traced child asks for getpid(); at the syscall-entry stop its tracer
 * changes the number to getppid(): the child prints what it got (a vkernel
 * must judge the call that runs, not the one asked for).
 */
static int cmd_traced_getppid(void)
{
	struct user_regs_struct regs;
	int st, i;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		long r;

		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		r = syscall(SYS_getpid);
		printf("%s\n", result_word(r, errno));
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
		return perror("waitpid"), 2;
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD);
	/* up to the entry stop of getpid (other calls may come first) */
	for (i = 0; i < 100; i++) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, NULL) ||
		    waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
			return perror("ptrace"), 2;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			return perror("GETREGS"), 2;
		if (regs.orig_rax != SYS_getpid)
			continue;
		regs.orig_rax = SYS_getppid;
		if (ptrace(PTRACE_SETREGS, pid, NULL, &regs))
			return perror("SETREGS"), 2;
		break;
	}
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	waitpid(pid, &st, 0);
	return 0;
}

/* getppid() under a seccomp filter that allows every call */
static int cmd_seccomp_getppid(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return perror("seccomp"), 2;
	r = syscall(SYS_getppid);
	printf("%s\n", result_word(r, errno));
	return 0;
}

static void *thread_getppid(void *arg)
{
	long r = syscall(SYS_getppid);

	printf("%s\n", result_word(r, errno));
	return arg;
}

static int cmd_thread_getppid(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, thread_getppid, NULL))
		return perror("pthread_create"), 2;
	pthread_join(th, NULL);
	return 0;
}

static int cmd_setns_getppid(int target)
{
	char path[64];
	long self;
	int fd, err, st;
	pid_t pid;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", target);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWPID))
		return perror(path), 2;
	self = syscall(SYS_getppid);
	err = errno;
	printf("self=%s ", result_word(self, err));
	pid = fork();
	if (pid == 0) {
		long r = syscall(SYS_getppid);

		printf("child=%s\n", result_word(r, errno));
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return 0;
}

static int cmd_getppid_every(int ms, const char *file)
{
	char tmp[256];

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	for (;;) {
		long r = syscall(SYS_getppid);
		const char *w = result_word(r, errno);
		FILE *f = fopen(tmp, "w");

		if (!f || fprintf(f, "%s\n", w) < 0 || fclose(f) ||
		    rename(tmp, file))
			return perror(file), 2;
		usleep(ms * 1000);
	}
}

static int cmd_uring_path(int opcode, const char *path)
{
	struct io_uring_params p = { 0 };
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqe;
	unsigned int *sq_tail, *sq_array, *cq_head, *cq_tail;
	void *sq, *cq;
	size_t sq_len, cq_len;
	long r;
	int fd;

	fd = syscall(SYS_io_uring_setup, 4, &p);
	if (fd < 0) {
		printf("setup=%s\n", errname(errno));
		return 1;
	}
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return perror("mmap"), 2;
	sq_tail = (unsigned int *)((char *)sq + p.sq_off.tail);
	sq_array = (unsigned int *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned int *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned int *)((char *)cq + p.cq_off.tail);
	memset(&sqes[0], 0, sizeof(sqes[0]));
	sqes[0].opcode = opcode;
	sqes[0].fd = AT_FDCWD;
	sqes[0].addr = (unsigned long)path;
	if (opcode == IORING_OP_MKDIRAT) {
		sqes[0].len = 0755;
	} else if (opcode == IORING_OP_SETXATTR) {
		sqes[0].addr = (unsigned long)"trusted.vkt";
		sqes[0].addr2 = (unsigned long)"1";
		sqes[0].len = 1;
		sqes[0].addr3 = (unsigned long)path;
	} else {
		sqes[0].open_flags = O_RDONLY;
	}
	sq_array[*sq_tail & (p.sq_entries - 1)] = 0;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	r = syscall(SYS_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0);
	if (r < 0) {
		printf("enter=%s\n", errname(errno));
		return 1;
	}
	if (__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE) == *cq_head) {
		printf("no completion\n");
		return 1;
	}
	cqe = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes) +
	      (*cq_head & (p.cq_entries - 1));
	printf("res=%s\n", cqe->res < 0 ? errname(-cqe->res) : "0");
	return cqe->res < 0;
}

static volatile int forkloop_stop;

static void *getppid_loop(void *arg)
{
	long *calls = arg;

	while (!forkloop_stop) {
		syscall(SYS_getppid);
		(*calls)++;
	}
	return NULL;
}

static int cmd_forkloop(int ms)
{
	long long end = now_us(CLOCK_MONOTONIC) + ms * 1000LL;
	long forks = 0, denied = 0, allowed = 0, calls = 0;
	pthread_t t;
	int st;

	if (pthread_create(&t, NULL, getppid_loop, &calls))
		return perror("pthread_create"), 1;
	while (now_us(CLOCK_MONOTONIC) < end) {
		pid_t pid = fork();

		if (pid < 0)
			return perror("fork"), 1;
		if (pid == 0)
			_exit(syscall(SYS_getppid) < 0 ? 1 : 0);
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
			return 1;
		forks++;
		if (WEXITSTATUS(st))
			denied++;
		else
			allowed++;
	}
	forkloop_stop = 1;
	pthread_join(t, NULL);
	printf("forks=%ld denied=%ld allowed=%ld thread_calls=%ld\n", forks,
	       denied, allowed, calls);
	return 0;
}

/*
 * hackbench-like message passing: G groups of 10 senders and 10 receivers
 * (processes, each receiver on an AF_UNIX stream socketpair); every sender
 * writes LOOPS messages of 100 bytes to each receiver of its group.  Returns
 * the elapsed ns from the start signal until every process has exited.
 */
#define HB_FDS	10
#define HB_MSG	100

static void hb_read_all(int fd, long bytes)
{
	char buf[HB_MSG * 4];

	while (bytes > 0) {
		ssize_t r = read(fd, buf, bytes < (long)sizeof(buf) ? bytes : (long)sizeof(buf));

		if (r <= 0)
			_exit(1);
		bytes -= r;
	}
}

static long long hackbench(int groups, int loops)
{
	int go[2], g, i, j, sv[HB_FDS][2];
	long long t0, t1;
	char c = 0;

	if (pipe(go))
		return -1;
	for (g = 0; g < groups; g++) {
		for (i = 0; i < HB_FDS; i++)
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]))
				return -1;
		for (i = 0; i < HB_FDS; i++) {	/* receivers */
			if (fork() == 0) {
				close(go[1]);
				if (read(go[0], &c, 1) < 0)
					_exit(1);
				hb_read_all(sv[i][0], (long)HB_FDS * loops * HB_MSG);
				_exit(0);
			}
		}
		for (i = 0; i < HB_FDS; i++) {	/* senders */
			if (fork() == 0) {
				char msg[HB_MSG] = { 0 };
				int k;

				close(go[1]);
				if (read(go[0], &c, 1) < 0)
					_exit(1);
				for (k = 0; k < loops; k++)
					for (j = 0; j < HB_FDS; j++)
						if (write(sv[j][1], msg, HB_MSG) != HB_MSG)
							_exit(1);
				_exit(0);
			}
		}
		for (i = 0; i < HB_FDS; i++) {
			close(sv[i][0]);
			close(sv[i][1]);
		}
	}
	close(go[0]);
	t0 = now_ns();
	close(go[1]);	/* every child's read returns: go */
	while (wait(NULL) > 0)
		;
	t1 = now_ns();
	return t1 - t0;
}

/* N round trips of one byte between two processes over two pipes, on CPU 0 */
static long long ctxsw(long n)
{
	int ab[2], ba[2];
	long long t0, t1;
	char c = 0;
	long i;
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return -1;
	pin(0);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return -1;
	t1 = now_ns();
	waitpid(pid, NULL, 0);
	return t1 - t0;
}

/* message-passing load for SECS s: hackbench rounds of G groups, 10 loops */
static int cmd_hackload(int secs, int groups)
{
	long long end = now_us(CLOCK_MONOTONIC) + secs * 1000000LL;
	long rounds = 0;

	while (now_us(CLOCK_MONOTONIC) < end) {
		if (hackbench(groups, 10) < 0)
			return perror("hackbench"), 1;
		rounds++;
	}
	printf("hackload rounds=%ld\n", rounds);
	return 0;
}

/*
 * Every MS ms for SECS s, write a policy to each FILE (cpu.real_policy):
 * file i gets bit i of the round number, so they flip at 1/2, 1/4...
 * of the rate.  "flipper writes=<n> failed=<n> mean_us=<interval>"
 */
static int cmd_flipper(int ms, int secs, int n, char **files)
{
	long long t0 = now_us(CLOCK_MONOTONIC), end = t0 + secs * 1000000LL;
	long k, writes = 0, failed = 0;
	int i;

	for (k = 0; now_us(CLOCK_MONOTONIC) < end; k++) {
		for (i = 0; i < n; i++) {
			if (write_file(files[i], (k >> i) & 1 ? "1" : "0"))
				failed++;
			else
				writes++;
		}
		usleep(ms * 1000);
	}
	printf("flipper writes=%ld failed=%ld mean_us=%lld\n", writes, failed,
	       k ? (now_us(CLOCK_MONOTONIC) - t0) / k : 0);
	return 0;
}

static int cmd_bench(const char *what, long n)
{
	long long t0, t1;
	long i;

	if (n < 1)
		return 2;
	pin(0);
	if (!strcmp(what, "getppid")) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
		t1 = now_ns();
	} else if (!strcmp(what, "futex")) {
		t0 = now_ns();
		if (cmd_futex_quiet(n))
			return 1;
		t1 = now_ns();
	} else if (!strcmp(what, "ctxsw")) {
		t0 = 0;
		t1 = ctxsw(n);
		if (t1 < 0)
			return 1;
	} else if (!strcmp(what, "hackbench")) {
		/* 2 groups (40 processes) on every CPU; n loops; per message */
		pin(-1);
		t0 = 0;
		t1 = hackbench(2, n);
		if (t1 < 0)
			return 1;
		n = 2L * HB_FDS * HB_FDS * n;
	} else {
		return 2;
	}
	/* ns_per_op for the benches' parsers, the total for ratios finer than 1 ns */
	printf("ns_per_op=%lld total_ns=%lld n=%ld\n", (t1 - t0) / n, t1 - t0, n);
	return 0;
}

/* issue 14 §2/§3: raw sockets, namespace flags, personality */
static int cmd_raw(void)
{
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);

	if (fd < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	close(fd);
	printf("0\n");
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} ns_types[] = {
	{ "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
	{ "user", CLONE_NEWUSER }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", 0x80 /* CLONE_NEWTIME */ },
};

/* the child of clone()/clone3(), or the forked child that unshare()s */
static int ns_child_result(pid_t pid)
{
	int st;

	if (pid < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) {
		printf("child failed\n");
		return 1;
	}
	if (WEXITSTATUS(st)) {
		printf("%s\n", errname(WEXITSTATUS(st)));
		return 1;
	}
	printf("0\n");
	return 0;
}

static int cmd_ns(const char *type, char how)
{
	unsigned long flag = 0;
	char path[64];
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (!strcmp(type, ns_types[i].name))
			flag = ns_types[i].flag;
	if (!flag) {
		fprintf(stderr, "unknown namespace type %s\n", type);
		return 2;
	}
	switch (how) {
	case 'c':
		/* the raw syscall: no new stack, like fork() */
		return ns_child_result(syscall(SYS_clone, flag | SIGCHLD, 0, 0, 0, 0));
	case '3': {
		struct clone_args args;

		memset(&args, 0, sizeof(args));
		args.flags = flag;
		args.exit_signal = SIGCHLD;
		return ns_child_result(syscall(SYS_clone3, &args, sizeof(args)));
	}
	case 'u': {
		pid_t pid = fork();

		if (pid == 0)
			_exit(unshare(flag) ? errno : 0);
		if (pid < 0) {
			printf("%s\n", errname(errno));
			return 1;
		}
		return ns_child_result(pid);
	}
	default:
		snprintf(path, sizeof(path), "/proc/self/ns/%s", type);
		fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, 0)) {
			printf("%s\n", errname(errno));
			return 1;
		}
		printf("0\n");
		return 0;
	}
}

static int cmd_personality(const char *value)
{
	unsigned long v = strtoul(value, NULL, 0);
	int r = personality(v);

	if (r < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("0 now=%#x\n", personality(0xffffffff));
	return 0;
}

/* issue 14 §4: one file operation, its errno */
/* open @path with @flags and close it: 0, or -1 with errno */
static int fsop_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? -1 : close(fd);
}

/* open @path with O_PATH, then reopen it through /proc/self/fd with @flags */
static int fsop_reopen(const char *path, int flags)
{
	char proc[64];
	int fd = open(path, O_PATH | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = fsop_open(proc, flags);
	close(fd);
	return r;
}

/* openat2() of @name below the directory @dir for writing, with @resolve */
static int fsop_openat2(const char *dir, const char *name,
			unsigned long long resolve)
{
	struct open_how how = { .flags = O_WRONLY | O_CLOEXEC, .resolve = resolve };
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

	if (dfd < 0)
		return -1;
	fd = syscall(SYS_openat2, dfd, name, &how, sizeof(how));
	close(dfd);
	return fd < 0 ? -1 : close(fd);
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

/* a copy of the tree at @from (open_tree(OPEN_TREE_CLONE)) attached at @to (move_mount(2)) */
static int fsop_move_clone(const char *from, const char *to)
{
	int fd = syscall(SYS_open_tree, AT_FDCWD, from, OPEN_TREE_CLONE);
	int r;

	if (fd < 0)
		return -1;
	r = syscall(SYS_move_mount, fd, "", AT_FDCWD, to,
		    MOVE_MOUNT_F_EMPTY_PATH);
	if (r) {
		r = errno;
		close(fd);
		errno = r;
		return -1;
	}
	return close(fd);
}

#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif

/* a new instance of @type through the mount API: fsopen, fsmount, move_mount */
static int fsop_fsopen(const char *type, const char *to)
{
	int fs = syscall(SYS_fsopen, type, 0), mnt = -1, r = -1, e;

	if (fs < 0)
		return -1;
	if (!syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		mnt = syscall(SYS_fsmount, fs, 0, 0);
	if (mnt >= 0)
		r = syscall(SYS_move_mount, mnt, "", AT_FDCWD, to,
			    MOVE_MOUNT_F_EMPTY_PATH);
	e = errno;
	if (mnt >= 0)
		close(mnt);
	close(fs);
	errno = e;
	return r;
}

/* a read-only overlay of @lower over an empty @lower.low, on @to */
static int fsop_overlay(const char *lower, const char *to)
{
	char low[4096], opts[8300];

	snprintf(low, sizeof(low), "%s.low", to);
	if (mkdir(low, 0755) && errno != EEXIST)
		return -1;
	snprintf(opts, sizeof(opts), "lowerdir=%s:%s", lower, low);
	return mount("vkt", to, "overlay", 0, opts);
}

/* name_to_handle_at(@path), then open_by_handle_at() of it for reading */
static int fsop_handle(const char *path)
{
	struct file_handle *h = calloc(1, sizeof(*h) + MAX_HANDLE_SZ);
	int mount_id, mfd, fd;

	if (!h)
		return -1;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, h, &mount_id, 0))
		return -1;
	mfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mfd < 0)
		return -1;
	fd = open_by_handle_at(mfd, h, O_RDONLY | O_CLOEXEC);
	close(mfd);
	return fd < 0 ? -1 : close(fd);
}

/*
 * vkt setfcap PATH CAP: file capability CAP (a number) permitted and
 * effective on PATH (security.capability, revision 2, as setcap cap_x+ep)
 */
/*
 * vkt time-us PROG ARGS...: run PROG (stdin from /dev/null, its stdout and
 * stderr to vkt's stderr) and print "us=<wall microseconds> rc=<exit status>"
 */
static int cmd_time_us(char **argv)
{
	struct timespec a, b;
	int status = 0, fd;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0)
		return perror("fork"), 2;
	if (!pid) {
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		dup2(2, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("us=%lld rc=%d\n", ((long long)(b.tv_sec - a.tv_sec) * 1000000000LL +
				 (b.tv_nsec - a.tv_nsec)) / 1000,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

static int cmd_setfcap(const char *path, int cap)
{
	struct vfs_cap_data d;

	if (cap < 0 || cap >= 64)
		return 2;
	memset(&d, 0, sizeof(d));
	d.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
	d.data[cap / 32].permitted = 1U << (cap % 32);
	if (setxattr(path, "security.capability", &d, XATTR_CAPS_SZ_2, 0)) {
		printf("setfcap=%s\n", errname(errno));
		return 1;
	}
	printf("0\n");
	return 0;
}

static int cmd_fsop(const char *op, const char *path, const char *path2)
{
	static const struct {
		const char *name;
		int flags;
	} opens[] = {
		{ "read", O_RDONLY }, { "write", O_WRONLY },
		{ "append", O_WRONLY | O_APPEND }, { "create", O_WRONLY | O_CREAT },
		{ "trunc", O_WRONLY | O_TRUNC }, { "list", O_RDONLY | O_DIRECTORY },
	};
	unsigned int i;
	int r = -2, fd;

	for (i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
		if (strcmp(op, opens[i].name))
			continue;
		fd = open(path, opens[i].flags | O_CLOEXEC, 0644);
		r = fd < 0 ? -1 : close(fd);
	}
	if (!strcmp(op, "mkdir"))
		r = mkdir(path, 0755);
	else if (!strcmp(op, "rmdir"))
		r = rmdir(path);
	else if (!strcmp(op, "unlink"))
		r = unlink(path);
	else if (!strcmp(op, "truncate"))
		r = truncate(path, 0);
	else if (!strcmp(op, "chmod"))
		r = chmod(path, 0600);
	else if (!strcmp(op, "chown"))
		r = chown(path, 0, 0);
	else if (!strcmp(op, "utimes"))
		r = utimensat(AT_FDCWD, path, NULL, 0);
	else if (!strcmp(op, "setxattr"))
		r = setxattr(path, "trusted.vkt", "1", 1, 0);
	else if (!strcmp(op, "removexattr"))
		r = removexattr(path, "trusted.vkt");
	else if (path2 && !strcmp(op, "rename"))
		r = rename(path, path2);
	else if (path2 && !strcmp(op, "link"))
		r = link(path, path2);
	else if (path2 && !strcmp(op, "symlink"))
		r = symlink(path, path2);
	else if (path2 && !strcmp(op, "bind"))
		r = mount(path, path2, NULL, MS_BIND, NULL);
	else if (path2 && !strcmp(op, "move"))
		r = fsop_move_clone(path, path2);
	else if (path2 && !strcmp(op, "move-old"))
		r = mount(path, path2, NULL, MS_MOVE, NULL);
	else if (!strcmp(op, "tmpfs"))
		r = mount("vkt", path, "tmpfs", 0, "size=1m");
	else if (!strcmp(op, "umount-l"))
		r = umount2(path, MNT_DETACH);
	else if (!strcmp(op, "handle"))
		r = fsop_handle(path);
	else if (!strcmp(op, "proc") || !strcmp(op, "sysfs") ||
		 !strcmp(op, "cgroup2"))
		r = mount("vkt", path, op, 0, NULL);
	else if (!strcmp(op, "fsopen-sysfs"))
		r = fsop_fsopen("sysfs", path);
	else if (path2 && !strcmp(op, "overlay"))
		r = fsop_overlay(path2, path);
	else if (path2 && !strcmp(op, "chroot"))
		r = chroot(path) || chdir("/") ? -1 : fsop_open(path2, O_WRONLY);
	else if (path2 && !strcmp(op, "chdir"))
		r = chdir(path) ? -1 : fsop_open(path2, O_RDONLY);
	else if (path2 && !strcmp(op, "chdir-w"))
		r = chdir(path) ? -1 : fsop_open(path2, O_WRONLY);
	else if (!strcmp(op, "opath-r") || !strcmp(op, "opath-w"))
		r = fsop_reopen(path, op[6] == 'r' ? O_RDONLY : O_WRONLY);
	else if (path2 && (!strcmp(op, "beneath-w") || !strcmp(op, "inroot-w")))
		r = fsop_openat2(path, path2, op[0] == 'b' ? RESOLVE_BENEATH :
				 RESOLVE_IN_ROOT);
	if (r == -2) {
		fprintf(stderr, "vkt fsop: unknown operation %s\n", op);
		return 2;
	}
	printf("%s\n", r ? errname(errno) : "0");
	return r != 0;
}

/* issue 14 §3: set-uid root binaries and user namespaces against the ceiling */
static int cmd_as_user(uid_t uid, char **argv)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid)) {
		printf("setuid=%s\n", errname(errno));
		return 1;
	}
	execv(argv[0], argv);
	printf("exec=%s\n", errname(errno));
	return 1;
}

/* CapEff of /proc/self/status into @buf */
static void cap_eff(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	snprintf(buf, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7)) {
			snprintf(buf, len, "%s", line + 7 + strspn(line + 7, " \t"));
			buf[strcspn(buf, "\n")] = 0;
		}
	}
	fclose(f);
}

static int cmd_userns_raw(void)
{
	int p[2], st, fd;
	char out[128], caps[32];
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
			n = snprintf(out, sizeof(out), "unshare=%s", errname(errno));
		} else {
			cap_eff(caps, sizeof(caps));
			fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
			n = snprintf(out, sizeof(out), "caps=%s raw=%s", caps,
				     fd < 0 ? errname(errno) : "0");
		}
		if (write(p[1], out, n) != n)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	waitpid(pid, &st, 0);
	if (n <= 0) {
		printf("child failed\n");
		return 1;
	}
	out[n] = 0;
	printf("%s\n", out);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 5 && !strcmp(argv[1], "fifo"))
		return cmd_fifo(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc == 7 && !strcmp(argv[1], "flip-share"))
		return cmd_flip_share(atoi(argv[2]), argv[3], argv[4],
				      atoi(argv[5]), atoi(argv[6]));
	if (argc == 6 && !strcmp(argv[1], "flip-order"))
		return cmd_flip_order(atoi(argv[2]), atoi(argv[3]), argv[4],
				      argv[5]);
	if (argc == 4 && !strcmp(argv[1], "yield-lock"))
		return cmd_yield_lock(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "move-running"))
		return cmd_move_running(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "inplace"))
		return cmd_inplace(argv[2], atoi(argv[3]), argv[4]);
	if (argc >= 4 && !strcmp(argv[1], "order"))
		return cmd_order(atoi(argv[2]), argc - 3, argv + 3);
	if (argc >= 4 && !strcmp(argv[1], "share"))
		return cmd_share(atoi(argv[2]), argc - 3, argv + 3);
	if (argc == 5 && !strcmp(argv[1], "smp"))
		return cmd_smp(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc >= 5 && !strcmp(argv[1], "flipper"))
		return cmd_flipper(atoi(argv[2]), atoi(argv[3]), argc - 4, argv + 4);
	if (argc == 4 && !strcmp(argv[1], "hackload"))
		return cmd_hackload(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "rbind-ro"))
		return cmd_rbind_ro(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "write"))
		return cmd_write(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "write-as"))
		return cmd_write_as(atoi(argv[2]), argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "mmap"))
		return cmd_mmap(atol(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "commit"))
		return cmd_commit(atol(argv[2]), atol(argv[3]), argv[4]);
	if (argc == 2 && !strcmp(argv[1], "kmsg"))
		return dump_fd("/dev/kmsg");
	if (argc == 2 && !strcmp(argv[1], "prockmsg"))
		return dump_fd("/proc/kmsg");
	if (argc == 2 && !strcmp(argv[1], "syslog"))
		return cmd_syslog();
	if ((argc == 2 || argc == 3) && !strcmp(argv[1], "getppid"))
		return cmd_getppid(argc == 3 ? argv[2] : "x64");
	if (argc == 4 && !strcmp(argv[1], "futex-wait"))
		return cmd_futex_wait(atoi(argv[2]), atoi(argv[3]));
	if (argc == 2 && !strcmp(argv[1], "futex-clone-vm"))
		return cmd_futex_clone_vm();
	if (argc == 4 && !strcmp(argv[1], "futex-file-wait"))
		return cmd_futex_file_wait(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "futex-file-wake"))
		return cmd_futex_file_wake(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "wakelat"))
		return cmd_wakelat(atoi(argv[2]), NULL, NULL, 0);
	if (argc == 4 && !strcmp(argv[1], "wakelat") && !strcmp(argv[3], "raw"))
		return cmd_wakelat(atoi(argv[2]), NULL, NULL, 1);
	if (argc == 5 && !strcmp(argv[1], "wakelat"))
		return cmd_wakelat(atoi(argv[2]), argv[3], argv[4], 0);
	if (argc == 3 && !strcmp(argv[1], "futex"))
		return cmd_futex(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "thp"))
		return cmd_thp(atol(argv[2]), "/proc/meminfo");
	if (argc == 3 && !strcmp(argv[1], "thp-self"))
		return cmd_thp(atol(argv[2]), "/proc/self/smaps_rollup");
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "thp-collapse"))
		return cmd_thp_collapse(atol(argv[2]), atoi(argv[3]),
					argc == 5 ? argv[4] : NULL);
	/* the "user" forms first: "newpid user CMD" has 4 arguments too */
	if (argc == 5 && !strcmp(argv[1], "newpid") && !strcmp(argv[2], "user"))
		return cmd_newpid(1, argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "newpid") && !strcmp(argv[2], "user"))
		return cmd_newpid(1, argv[3], NULL);
	if (argc == 4 && !strcmp(argv[1], "newpid"))
		return cmd_newpid(0, argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "newpid"))
		return cmd_newpid(0, argv[2], NULL);
	if (argc == 2 && !strcmp(argv[1], "traced-getppid"))
		return cmd_traced_getppid();
	if (argc == 2 && !strcmp(argv[1], "seccomp-getppid"))
		return cmd_seccomp_getppid();
	if (argc == 2 && !strcmp(argv[1], "thread-getppid"))
		return cmd_thread_getppid();
	if (argc == 3 && !strcmp(argv[1], "setns-getppid"))
		return cmd_setns_getppid(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "getppid-every"))
		return cmd_getppid_every(atoi(argv[2]), argv[3]);
	if (argc == 3 && !strcmp(argv[1], "uring-mkdirat"))
		return cmd_uring_path(IORING_OP_MKDIRAT, argv[2]);
	if (argc == 3 && !strcmp(argv[1], "uring-openat"))
		return cmd_uring_path(IORING_OP_OPENAT, argv[2]);
	if (argc == 3 && !strcmp(argv[1], "uring-setxattr"))
		return cmd_uring_path(IORING_OP_SETXATTR, argv[2]);
	if (argc == 3 && !strcmp(argv[1], "forkloop"))
		return cmd_forkloop(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "raw"))
		return cmd_raw();
	if (argc == 3 && !strcmp(argv[1], "clone-ns"))
		return cmd_ns(argv[2], 'c');
	if (argc == 3 && !strcmp(argv[1], "clone3-ns"))
		return cmd_ns(argv[2], '3');
	if (argc == 3 && !strcmp(argv[1], "unshare-ns"))
		return cmd_ns(argv[2], 'u');
	if (argc == 3 && !strcmp(argv[1], "setns-ns"))
		return cmd_ns(argv[2], 's');
	if (argc == 3 && !strcmp(argv[1], "personality"))
		return cmd_personality(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "as-user"))
		return cmd_as_user(atoi(argv[2]), argv + 3);
	if (argc == 2 && !strcmp(argv[1], "userns-raw"))
		return cmd_userns_raw();
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "fsop"))
		return cmd_fsop(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc >= 3 && !strcmp(argv[1], "time-us"))
		return cmd_time_us(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "setfcap"))
		return cmd_setfcap(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "bench"))
		return cmd_bench(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: see the comment at the top of vkt.c\n");
	return 2;
}
