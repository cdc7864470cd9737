// SPDX-License-Identifier: GPL-2.0
/*
 * Guest helper of the rt v2 VM suite (80-rt-v2.sh), built static by test/vm/rt-v2.test.ts:
 *   rtload burn N        N CPU-bound processes (forks of this one) until killed
 *   rtload fifoburn N    the same, each counting its own CPU time by its policy (SCHED_FIFO or not,
 *                        read every ~0.2 ms of it): on SIGUSR1 each prints
 *                        "fifoburn pid=<pid> n=<k> fifo_us=<total> other_us=<total>" (k-th report)
 *   rtload idle          sleeps until killed
 *   rtload waitfifo MS   polls its own policy until SCHED_FIFO: prints "fifo after <us> us" (time
 *                        since it started), or "still <policy> after <MS> ms" and exits 1
 *   rtload lat MS        a host task: sleeps 1 ms at a time for MS ms and prints how late each
 *                        wake-up ran: "lat n=<wakeups> max_us=<max> p99_us=<p99> over50=<count >50 ms>"
 *   rtload killwatch VICTIM TASK MS  SCHED_FIFO 50 itself (above the container's tasks, below the
 *                        supervisor): waits until TASK is SCHED_FIFO, SIGKILLs VICTIM, then polls
 *                        TASK's policy every 0.5 ms: "policy <p> after <us> us", or "still FIFO after
 *                        <MS> ms" and exits 1
 *   rtload share [-k] MS DIR...  the CPU time (cpu.stat usage_usec) each cgroup v2 group DIR used
 *                        over MS ms: "share wall_us=<t> <DIR>=<us> ..." (read back to back, one
 *                        process); -k: SIGUSR1 to the first DIR's processes at the start and the end
 *                        (fifoburn's reports of the same span)
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static volatile sig_atomic_t report;

static void on_usr1(int sig)
{
	(void)sig;
	report = 1;
}

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static void spin(void)
{
	volatile unsigned long x = 0;

	for (;;)
		x++;
}

static long long thread_cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/*
 * CPU-bound, its CPU time split by its policy: read at both ends of each ~0.2 ms slice of it (a
 * slice in which the policy changed counts half to each)
 */
static void fifospin(void)
{
	long long fifo = 0, other = 0, last = thread_cpu_us(), c;
	int was = sched_getscheduler(0) == SCHED_FIFO, is, k = 0;
	volatile unsigned long x = 0;

	signal(SIGUSR1, on_usr1);
	for (;;) {
		do {
			for (int i = 0; i < 2000; i++)
				x++;
			c = thread_cpu_us();
		} while (c - last < 200);
		is = sched_getscheduler(0) == SCHED_FIFO;
		if (is == was) {
			*(is ? &fifo : &other) += c - last;
		} else {
			fifo += (c - last) / 2;
			other += (c - last) - (c - last) / 2;
		}
		last = c;
		was = is;
		if (report) {
			report = 0;
			printf("fifoburn pid=%d n=%d fifo_us=%lld other_us=%lld\n", getpid(), ++k, fifo, other);
			fflush(stdout);
		}
	}
}

static int burn(int n, int counted)
{
	/* the parent waits: a report signal is not for it (ignored, not fatal) */
	signal(SIGUSR1, SIG_IGN);
	for (int i = 0; i < n; i++)
		if (fork() == 0) {
			if (counted)
				fifospin();
			else
				spin();
		}
	for (;;)
		pause();
	return 0;
}

static long long usage_us(const char *dir)
{
	char path[512], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "usage_usec %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* SIGUSR1 to every process of cgroup DIR */
static void signal_group(const char *dir)
{
	char path[512];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGUSR1);
	fclose(f);
}

static int share(int signal_first, long ms, int n, char **dirs)
{
	long long u0[16], t0, t1;
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000 };

	if (n > 16)
		n = 16;
	if (signal_first)
		signal_group(dirs[0]);
	t0 = now_us();
	for (int i = 0; i < n; i++)
		u0[i] = usage_us(dirs[i]);
	nanosleep(&d, NULL);
	t1 = now_us();
	printf("share wall_us=%lld", t1 - t0);
	for (int i = 0; i < n; i++)
		printf(" %s=%lld", dirs[i], usage_us(dirs[i]) - u0[i]);
	printf("\n");
	if (signal_first)
		signal_group(dirs[0]);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int lat(long ms)
{
	long long end = now_us() + ms * 1000LL, max = 0;
	static long long late[200000];
	int n = 0, over = 0;

	while (now_us() < end && n < 200000) {
		struct timespec d = { 0, 1000000 };
		long long t0 = now_us(), l;

		nanosleep(&d, NULL);
		l = now_us() - t0 - 1000;
		if (l < 0)
			l = 0;
		late[n++] = l;
		if (l > max)
			max = l;
		if (l > 50000)
			over++;
	}
	qsort(late, n, sizeof(late[0]), cmp);
	printf("lat n=%d max_us=%lld p99_us=%lld over50=%d\n", n, max, n ? late[n * 99 / 100] : 0, over);
	return 0;
}

static int waitfifo(long ms)
{
	long long t0 = now_us();

	while (now_us() - t0 < ms * 1000LL) {
		if (sched_getscheduler(0) == SCHED_FIFO) {
			printf("fifo after %lld us\n", now_us() - t0);
			return 0;
		}
		usleep(200);
	}
	printf("still %d after %ld ms\n", sched_getscheduler(0), ms);
	return 1;
}

static int killwatch(int victim, int task, long ms)
{
	struct sched_param sp = { .sched_priority = 50 };
	long long t0 = now_us(), tk;
	int p;

	if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
		perror("sched_setscheduler");
		return 2;
	}
	while (sched_getscheduler(task) != SCHED_FIFO) {
		if (now_us() - t0 > 10000000LL) {
			printf("task %d never SCHED_FIFO in 10 s\n", task);
			return 1;
		}
		usleep(500);
	}
	if (kill(victim, SIGKILL)) {
		perror("kill");
		return 2;
	}
	tk = now_us();
	while (now_us() - tk < ms * 1000LL) {
		p = sched_getscheduler(task);
		if (p != SCHED_FIFO) {
			printf("policy %d after %lld us\n", p, now_us() - tk);
			return 0;
		}
		usleep(500);
	}
	printf("still FIFO after %ld ms\n", ms);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "burn"))
		return burn(atoi(argv[2]), 0);
	if (argc == 3 && !strcmp(argv[1], "fifoburn"))
		return burn(atoi(argv[2]), 1);
	if (argc == 2 && !strcmp(argv[1], "idle"))
		for (;;)
			pause();
	if (argc == 3 && !strcmp(argv[1], "waitfifo"))
		return waitfifo(atol(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "killwatch"))
		return killwatch(atoi(argv[2]), atoi(argv[3]), atol(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "share") && !strcmp(argv[2], "-k"))
		return share(1, atol(argv[3]), argc - 4, argv + 4);
	if (argc >= 4 && !strcmp(argv[1], "share"))
		return share(0, atol(argv[2]), argc - 3, argv + 3);
	if (argc == 3 && !strcmp(argv[1], "lat"))
		return lat(atol(argv[2]));
	fprintf(stderr, "usage: rtload burn N | fifoburn N | idle | waitfifo MS | lat MS | killwatch VICTIM TASK MS | share [-k] MS DIR...\n");
	return 2;
}
