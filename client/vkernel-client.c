// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel-client: the launcher's way to the engine server (src/serve/server.ts) for `create`, and
 * for `start` and `delete` of a container with work of ours after runc's. Under any other name
 * (dist/vkernel-runtime) the same program is the runtime's C entry point: launcher mode, at the
 * end of this file.
 *
 *   vkernel-client ENGINE RUNC CONFIG ARG...
 *   vkernel-client --after MS PROGRAM ARG...
 *
 * The second form waits MS milliseconds, then execs PROGRAM ARG... (same pid): a helper whose start
 * may wait (src/host/ops.ts startHelper: the adaptive controller), in this small process until then,
 * not in the engine it becomes. Killed while it waits (SIGTERM: a delete), nothing runs.
 *
 * First, unless CONFIG is empty (the launcher already knows the call is ours), whether the call
 * asks for anything: CONFIG (the bundle's config.json) mentions io.vkernel. or VKERNEL_ or has a
 * JSON \u escape (the launcher's old grep, without its process). Nothing: exec RUNC ARG..., as the
 * launcher would.
 *
 * A call through the engine executable costs one JavaScript runtime's start-up (~25 ms here)
 * before runc even starts. The server is that engine, started once and kept: this client sends
 * it the call (argv, working directory, environment), and the server does
 * everything the engine would, except that every runc it would run with the caller's stdio is run
 * here, as this process's child: runc must be a descendant of the caller (containerd's shim reaps
 * the container's init as a child subreaper), keep the caller's stdio and fds, and get the caller's
 * signals. A create with nothing of ours to apply after runc's (e.g. cfs where the rt backend sets
 * nothing) is handed over whole: this process execs runc (Y), as the launcher would without a
 * request, and the server records the container once runc has ended. Whatever the server cannot
 * serve exactly as the engine would, it answers "fallback", and this client execs ENGINE with the
 * same argv: the engine's own path, unchanged.
 *
 * When no server listens, the client starts one (detached: its own session, stdio on /dev/null,
 * none of the caller's fds) and execs ENGINE for this call. A server that has not taken the call
 * (A) or left it (F) within VKERNEL_ENGINE_WAIT_MS (default 5000; connect() included) is one that
 * does not answer (stopped, frozen with its cgroup, hung): the call is ENGINE's then, as nothing
 * was changed for it (a server that takes a call says A within 0.1 s: src/serve/server.ts
 * Channel.take). Once taken, the call is waited for however long it takes.
 * VKERNEL_ENGINE_SOCKET names the socket, or with a final '/' the directory of one socket per
 * environment (default /run/vkernel-runtime/: default_socket); "off": no server, always ENGINE.
 * VKERNEL_ENGINE_TRACE names a file this appends one line per call to: "served: <times>", or
 * "engine: <why>"; the times (ms, by this process's clock) split a served call: "call" from
 * main() to the server's A (our start, the socket, the server reading the call and, as A comes
 * with the server's next message, its work before that), "before" from A to the first R, "runc"
 * the runs it asked for, "after" from the last S to X, "in all" from main(); a call answered Y:
 * "call", "before" (from A to Y), "runc as this process" and "in all" (until the exec).
 *
 * Messages, both ways: one type byte, a 32-bit little-endian length, the payload.
 *   to the server:   Q  "vkernel-serve-3\0" engine\0 cwd\0 argc\0 arg\0... env\0...
 *                       (env: the variables the engine reads, engine_reads(). Nothing of who we
 *                       are: the server takes our pid from the kernel, the socket's peer, and
 *                       reads our umask, namespaces, resource limits and credentials, which its
 *                       own must equal, from /proc/<pid>: src/serve/caller.ts)
 *                    S  runc's end: "e:<exit code>", "s:<signal>", or "x:<why exec failed>"
 *                       (after Y only the last: then the call goes on as after R)
 *                    I  our stdin (answering W)
 *   from the server: A  taken (before anything is changed: an end before A is a fallback; sent
 *                       in one write with the message after it)
 *                    F  fallback (payload: why, for --debug readers; not printed)
 *                    R  run this argv (argv[0] looked up in PATH), then send S
 *                    Y  become this argv: exec it (a create with nothing to apply after runc's:
 *                       runc is the caller's process itself, its end the caller's; the server
 *                       records the container once runc has ended, under the container's lock)
 *                    W  send stdin, whole, as I (an OCI hook's state; only after A: a call the
 *                       server leaves to the engine has its stdin unread)
 *                    E  bytes for stderr
 *                    X  the end: "e:<exit code>" or "s:<signal>" (die by it, as runc did)
 * Nothing here interprets user data: argv and the environment's variables are passed on as they are.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher-flags.h"

#define PROTOCOL "vkernel-serve-3"
#define DEFAULT_SOCKET_DIR "/run/vkernel-runtime/"
#define MAX_MESSAGE (16u << 20)

extern char **environ;

static char *engine;
/* the server's socket (client_main), which a server this client starts listens on */
static const char *socket_path;
/* ENGINE ARG... (the engine's argv; its first slot is RUNC's when runc is exec'd instead) */
static char **caller_argv;
static volatile pid_t child;
/* when main() started, and the milliseconds of a served call's parts (trace) */
static double t_main, t_call, t_before, t_runc, t_after;
static int runs;
/* the call's trace line is written (a Y's, before its exec) */
static int traced;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * whether config.json asks for anything of ours (unreadable: no, and runc says why); the same marks
 * as the launcher's wanted() (bin/vkernel-runtime): change both
 */
static int wanted(const char *config)
{
	static const char *const marks[] = { "io.vkernel.", "VKERNEL_", "\\u" };
	struct stat st;
	char *text;
	size_t i, got = 0;
	int fd = open(config, O_RDONLY | O_CLOEXEC), yes = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || st.st_size < 0) {
		close(fd);
		return 0;
	}
	text = malloc((size_t)st.st_size + 1);
	while (text && got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	for (i = 0; text && i < sizeof(marks) / sizeof(marks[0]) && !yes; i++)
		yes = memmem(text, got, marks[i], strlen(marks[i])) != NULL;
	free(text);
	return yes;
}

/* one line to VKERNEL_ENGINE_TRACE, when set */
static void trace(const char *what, const char *why)
{
	const char *path = getenv("VKERNEL_ENGINE_TRACE");
	char line[512];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s%s%s\n", what, why ? ": " : "", why ? why : "");
	if (n > 0)
		(void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	close(fd);
}

/* the served call's line: its parts' times */
static void served_trace(void)
{
	static const char *const fmt =
		"call %.2f ms, before %.2f ms, runc %.2f ms (%d), after %.2f ms, in all %.2f ms";
	char times[256];

	if (!getenv("VKERNEL_ENGINE_TRACE") || traced)
		return;
	snprintf(times, sizeof(times), fmt, t_call, t_before, t_runc, runs, t_after,
		 now_ms() - t_main);
	trace("served", times);
}

static void limit_text(char *out, size_t n, rlim_t v)
{
	if (v == RLIM_INFINITY)
		snprintf(out, n, "u");
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

/*
 * The engine (bun) raises its open files' soft limit to the hard one when it starts, which runc
 * and all else it starts would inherit: it puts ours back (src/host/limits.ts), told it here.
 */
static void pass_nofile(void)
{
	struct rlimit lim;
	char soft[24];

	if (getrlimit(RLIMIT_NOFILE, &lim))
		return;
	limit_text(soft, sizeof(soft), lim.rlim_cur);
	setenv("VKERNEL_CALLER_NOFILE", soft, 1);
}

static void fallback(const char *why)
{
	trace("engine", why);
	pass_nofile();
	execv(engine, caller_argv);
	fprintf(stderr, "vkernel-runtime: cannot run %s: %s\n", engine, strerror(errno));
	exit(127);
}

/* the server did not WHAT the call within MS ms (VKERNEL_ENGINE_WAIT_MS): the engine's */
static void late(const char *what, long ms)
{
	char why[96];

	snprintf(why, sizeof(why), "the server did not %s the call within %ld ms", what, ms);
	fallback(why);
}

static void die(const char *what)
{
	fprintf(stderr, "vkernel-runtime: %s\n", what);
	exit(1);
}

/* a growable byte buffer */
struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p)
			die("out of memory");
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

/* socket: send() without SIGPIPE (a server that went away is an error here, not our death) */
static int write_all(int fd, const char *p, size_t n, int socket)
{
	while (n) {
		ssize_t w = socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		/* (a socket's EAGAIN: its send timeout, before the call is taken) */
		if (w < 0 && errno == EAGAIN && !socket) {
			usleep(1000);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_msg(int fd, char type, const char *payload, size_t n)
{
	unsigned char head[5] = { (unsigned char)type, n & 0xff, (n >> 8) & 0xff,
				  (n >> 16) & 0xff, (n >> 24) & 0xff };

	if (write_all(fd, (const char *)head, 5, 1))
		return -1;
	return write_all(fd, payload, n, 1);
}

/* one message: its type, or 0 at the end of the stream (payload NUL-terminated, in *out) */
static char recv_msg(int fd, char **out, size_t *n)
{
	unsigned char head[5];
	uint32_t len;

	if (read_all(fd, (char *)head, 5))
		return 0;
	len = head[1] | (uint32_t)head[2] << 8 | (uint32_t)head[3] << 16 | (uint32_t)head[4] << 24;
	if (len > MAX_MESSAGE)
		return 0;
	*out = malloc(len + 1);
	if (!*out)
		die("out of memory");
	if (read_all(fd, *out, len))
		return 0;
	(*out)[len] = 0;
	*n = len;
	return (char)head[0];
}

/* our stdin, whole (the W message: an OCI hook's state, which the engine reads from its stdin), as I */
static int send_input(int fd)
{
	struct buf in = { 0 };
	char chunk[4096];
	ssize_t got;

	while ((got = read(0, chunk, sizeof(chunk))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		if (in.len + (size_t)got > MAX_MESSAGE)
			die("stdin is larger than the engine server takes");
		put(&in, chunk, (size_t)got);
	}
	got = send_msg(fd, 'I', in.p, in.len);
	free(in.p);
	return (int)got;
}

/* the signals runc gets from us while it runs, as the engine forwards them (src/oci/runc.ts) */
static int forwarded(int sig)
{
	return sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && sig != SIGSEGV &&
	       sig != SIGBUS && sig != SIGFPE && sig != SIGILL;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static void set_forwarding(int on)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? forward : SIG_DFL;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < 32; sig++)
		if (forwarded(sig))
			sigaction(sig, &sa, NULL);
}

/* the argv of an R or Y payload (NUL-separated in p..p+n), NULL-terminated; dies on an empty one */
static char **argv_of(const char *p, size_t n)
{
	char **argv = calloc(n + 1, sizeof(*argv));
	size_t i = 0, argc = 0;

	if (!argv)
		die("out of memory");
	while (i < n) {
		argv[argc++] = (char *)p + i;
		i += strlen(p + i) + 1;
	}
	if (!argc)
		die("cannot run runc: bad request from the engine server");
	return argv;
}

/*
 * runs argv (NUL-separated in p..p+n) with our stdio and fds; its end as the S payload. posix_spawn
 * (a vfork, no copy of this process: a fork and exec here cost ~1 ms more), the forwarded signals
 * at their defaults in runc, as a fork would have set them before its exec
 */
static void run(const char *p, size_t n, char *end, size_t endsz)
{
	char **argv = argv_of(p, n);
	posix_spawnattr_t attr;
	sigset_t defaults;
	int status, err, sig;
	pid_t pid;

	sigemptyset(&defaults);
	for (sig = 1; sig < 32; sig++)
		if (forwarded(sig))
			sigaddset(&defaults, sig);
	if (posix_spawnattr_init(&attr) || posix_spawnattr_setsigdefault(&attr, &defaults) ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF))
		die("posix_spawnattr failed");
	set_forwarding(1);
	err = posix_spawnp(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (err) {
		set_forwarding(0);
		snprintf(end, endsz, "x:%s", strerror(err));
		free(argv);
		return;
	}
	child = pid;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid failed");
	child = 0;
	set_forwarding(0);
	if (WIFSIGNALED(status))
		snprintf(end, endsz, "s:%d", WTERMSIG(status));
	else
		snprintf(end, endsz, "e:%d", WEXITSTATUS(status));
	free(argv);
}

/*
 * Y: this process becomes runc (argv NUL-separated in p..p+n), as the launcher's exec would make
 * it, keeping the connection FD open across the exec: runc holds it until it ends, and its end is
 * the server's sign that runc has (the container's init does not keep it: runc 1.1's, checked by
 * test/integration/engine-server.test.ts; where a runtime's child would keep it, the server also
 * watches this pid: src/serve/server.ts Channel.handOver). Our trace line is written first.
 * Returns only when the exec failed: why, as the S payload in END (as run() reports it)
 */
static void become(int fd, const char *p, size_t n, char *end, size_t endsz)
{
	char **argv = argv_of(p, n);

	if (getenv("VKERNEL_ENGINE_TRACE")) {
		char times[160];

		snprintf(times, sizeof(times),
			 "call %.2f ms, before %.2f ms, runc as this process, in all %.2f ms",
			 t_call, t_before, now_ms() - t_main);
		trace("served", times);
		traced = 1;
	}
	if (fcntl(fd, F_SETFD, 0))
		die("cannot keep the engine server's connection for runc");
	execvp(argv[0], argv);
	snprintf(end, endsz, "x:%s", strerror(errno));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	free(argv);
}

/* whether PID's cgroup is UNIT's scope (a line of /proc/PID/cgroup ends in /UNIT.scope) */
static int in_scope(pid_t pid, const char *unit)
{
	char path[64], line[4096], end[128];
	size_t n;
	FILE *f;
	int yes = 0;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	n = (size_t)snprintf(end, sizeof(end), "/%s.scope", unit);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!yes && fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");

		yes = len >= n && !memcmp(line + len - n, end, n);
	}
	fclose(f);
	return yes;
}

/*
 * Into the top of each cgroup hierarchy this process sees (the cgroup and cgroup2 mounts of
 * /proc/self/mountinfo; in a cgroup namespace, its root), out of the caller's groups. A hierarchy
 * that refuses (read-only, not ours to write) keeps it where it is: the server runs there as before.
 */
static void leave_caller_cgroups(void)
{
	char point[4096], type[16], procs[4200], pid[24], *line = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd, n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	size_t size = 0;

	if (!f)
		return;
	while (getline(&line, &size, f) > 0) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%15s", type) != 1 ||
		    (strcmp(type, "cgroup") && strcmp(type, "cgroup2")))
			continue;
		/* (a point with a space, tab or newline in it is escaped: \040; not ours to guess) */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 || strchr(point, '\\'))
			continue;
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", point);
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		(void)!write(fd, pid, (size_t)n);
		close(fd);
	}
	free(line);
	fclose(f);
}

/*
 * The server serves every caller: it must not live, be charged and be stopped with the first one's
 * group (podman runs conmon, our caller, in a scope per container), nor keep that group from
 * being removed once the caller has ended (rmdir: EBUSY). Where systemd is init
 * (sd_booted: /run/systemd/system), it starts in a scope of its own: systemd-run --scope, the same
 * process with the same environment and limits, in vkernel-runtime-engine-PID.scope (system.slice),
 * collected when it ends. Seen in that scope: done. If systemd-run ends first (it could not make
 * the scope, or is not installed), the server starts at the top of each cgroup hierarchy instead
 * (leave_caller_cgroups), as where systemd is not init.
 * Its allocator (bun's mimalloc) keeps the pages a call freed for the next instead of a thread of
 * its own returning them to the kernel after each call (0.6-0.7 ms CPU per served create); the
 * server takes that variable out of what the processes it starts inherit.
 */
static void exec_server(void)
{
	char unit[64];
	int i, status;
	pid_t pid;

	setenv("MIMALLOC_PURGE_DELAY", "-1", 1);
	if (!access("/run/systemd/system", F_OK)) {
		snprintf(unit, sizeof(unit), "vkernel-runtime-engine-%d", (int)getpid());
		pid = fork();
		if (pid == 0) {
			execlp("systemd-run", "systemd-run", "--quiet", "--scope", "--collect",
			       "--unit", unit, "--", engine, "vkernel-serve", socket_path, (char *)NULL);
			_exit(127);
		}
		/* up to 5 s; then left to it (should it fail, the next call starts one) */
		for (i = 0; pid > 0 && i < 500; i++) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				/* 0: it was the server, and ended (another holds the socket) */
				if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
					_exit(0);
				break;
			}
			if (in_scope(pid, unit))
				_exit(0);
			usleep(10000);
		}
		if (pid > 0 && i == 500)
			_exit(0);
	}
	leave_caller_cgroups();
	execl(engine, engine, "vkernel-serve", socket_path, (char *)NULL);
	_exit(0);
}

/* starts a server for the next calls: detached, its own session, no fd of the caller's */
static void start_server(void)
{
	pid_t pid = fork();
	int fd, max;

	if (pid != 0) {
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		return;
	}
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		_exit(0);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	max = (int)sysconf(_SC_OPEN_MAX);
	for (fd = 3; fd < max && fd < 65536; fd++)
		close(fd);
	if (chdir("/"))
		_exit(0);
	exec_server();
}

/*
 * whether NAME=value is a variable the engine reads (src/env.ts READ_VARIABLES: its own, VKERNEL_*,
 * and LISTEN_FDS, LISTEN_PID, PATH): the only ones the server takes from a call (a caller's
 * environment can hold hundreds: npm's, a CI's)
 */
static int engine_reads(const char *kv)
{
	static const char *const names[] = { "LISTEN_FDS=", "LISTEN_PID=", "PATH=", NULL };
	const char *const *n;

	if (!strncmp(kv, "VKERNEL_", 8))
		return 1;
	for (n = names; *n; n++)
		if (!strncmp(kv, *n, strlen(*n)))
			return 1;
	return 0;
}

/* VKERNEL_ENGINE_WAIT_MS: how long a server may take to take a call (unset or not a number > 0: 5 s) */
static long wait_ms(void)
{
	const char *v = getenv("VKERNEL_ENGINE_WAIT_MS");
	char *end;
	long ms;

	if (!v || !*v)
		return 5000;
	errno = 0;
	ms = strtol(v, &end, 10);
	return *end || errno || ms <= 0 ? 5000 : ms;
}

/* the socket's send and receive timeouts (connect() too: a full backlog), ms; 0: none */
static void socket_timeouts(int fd, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* FNV-1a (64 bits) of N bytes at P, going on from H */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

/*
 * DIR/engine-<hash>.sock: one server per caller the server would serve alike, so that callers it
 * would refuse each other's (dockerd's shim and podman run from a shell: their PATHs differ on
 * Ubuntu, their resource limits everywhere) each have one, where a single socket left all but the
 * first caller's creates to the engine. The hash (FNV-1a, 64 bits) is of what the server compares
 * (src/serve/server.ts refusal) and a process reads of itself in a few syscalls: the variables
 * compared_variables names (generated from src/env.ts; in that order, as getenv finds them; unset
 * and empty alike), the umask, the mount, pid and cgroup namespaces and the resource limits but the
 * open files' soft one. Not the credentials (a /proc read): a caller with other rights than its
 * socket's server is refused there and goes to the engine, as before.
 */
static void default_socket(char *out, size_t n, const char *dir)
{
	static const char *const ns[] = { "/proc/self/ns/mnt", "/proc/self/ns/pid",
					  "/proc/self/ns/cgroup" };
	uint64_t h = 14695981039346656037ULL;
	const char *const *v;
	char link[64];
	struct rlimit lim;
	mode_t mask = umask(0);
	size_t i;

	umask(mask);
	for (v = compared_variables; *v; v++) {
		const char *value = getenv(*v);

		if (!value || !*value)
			continue;
		h = fnv(h, *v, strlen(*v) + 1);
		h = fnv(h, value, strlen(value) + 1);
	}
	h = fnv(h, &mask, sizeof(mask));
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		ssize_t len = readlink(ns[i], link, sizeof(link));

		h = fnv(h, link, len > 0 ? (size_t)len : 0);
	}
	/* (Linux's 16, as /proc/self/limits lists them) */
	for (i = 0; i < 16; i++) {
		if (getrlimit((int)i, &lim))
			lim.rlim_cur = lim.rlim_max = 0;
		if (i == RLIMIT_NOFILE)
			lim.rlim_cur = 0;
		h = fnv(h, &lim, sizeof(lim));
	}
	snprintf(out, n, "%sengine-%016llx.sock", dir, (unsigned long long)h);
}

/* `--after MS PROGRAM ARG...` (ARGV after --after): waits, then execs */
static int after(int argc, char **argv)
{
	struct timespec left;
	char *end = NULL;
	unsigned long ms = 0;

	errno = 0;
	if (argc >= 2 && isdigit((unsigned char)argv[0][0]))
		ms = strtoul(argv[0], &end, 10);
	if (!end || *end || errno || ms > 3600000) {
		fprintf(stderr, "usage: vkernel-client --after MS PROGRAM ARG... (MS: 0 to 3600000)\n");
		return 2;
	}
	left.tv_sec = (time_t)(ms / 1000);
	left.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&left, &left) && errno == EINTR)
		;
	execvp(argv[1], argv + 1);
	fprintf(stderr, "vkernel-runtime: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
}

static int client_main(int argc, char **argv)
{
	const char *path = getenv("VKERNEL_ENGINE_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct buf q = { 0 };
	char cwd[4096], count[16], end[256], type, *msg = NULL;
	static char named[4096];
	size_t n = 0;
	int fd, i, taken = 0;
	long wait = wait_ms();
	double t = now_ms();

	t_main = t;
	if (argc >= 2 && !strcmp(argv[1], "--after"))
		return after(argc - 2, argv + 2);
	if (argc < 4) {
		fprintf(stderr, "usage: vkernel-client ENGINE RUNC CONFIG ARG...\n");
		return 2;
	}
	engine = argv[1];
	caller_argv = argv + 3;
	if (*argv[3] && !wanted(argv[3])) {
		caller_argv[0] = argv[2];
		execvp(argv[2], caller_argv);
		fprintf(stderr, "vkernel-runtime: cannot run %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	caller_argv[0] = engine;
	if (!path || !*path)
		path = DEFAULT_SOCKET_DIR;
	if (!strcmp(path, "off"))
		fallback("VKERNEL_ENGINE_SOCKET=off");
	/* a directory: the socket of our environment in it */
	if (path[strlen(path) - 1] == '/') {
		default_socket(named, sizeof(named), path);
		path = named;
	}
	socket_path = path;
	if (geteuid() != 0)
		fallback("not root");
	if (strlen(path) >= sizeof(addr.sun_path) || !getcwd(cwd, sizeof(cwd)))
		fallback("socket path or working directory too long");
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fallback(strerror(errno));
	socket_timeouts(fd, wait);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			start_server();
			fallback("no server (one started)");
		}
		/* (a backlog full for that long: a server that does not accept) */
		if (errno == EAGAIN)
			late("accept", wait);
		fallback(strerror(errno));
	}
	put_str(&q, PROTOCOL);
	put_str(&q, engine);
	put_str(&q, cwd);
	/* (who we are, and what we may do, the server reads from the kernel: src/serve/caller.ts) */
	snprintf(count, sizeof(count), "%d", argc - 4);
	put_str(&q, count);
	for (i = 4; i < argc; i++)
		put_str(&q, argv[i]);
	for (i = 0; environ[i]; i++)
		if (engine_reads(environ[i]))
			put_str(&q, environ[i]);
	if (send_msg(fd, 'Q', q.p, q.len))
		fallback("the server did not take the call");
	for (;;) {
		free(msg);
		msg = NULL;
		errno = 0;
		type = recv_msg(fd, &msg, &n);
		switch (type) {
		case 'A':
			taken = 1;
			/* taken: waited for however long runc and the server's work take */
			socket_timeouts(fd, 0);
			t_call = now_ms() - t;
			t = now_ms();
			break;
		case 'F':
			if (taken)
				die("the engine server gave up on a call it had taken");
			close(fd);
			fallback(msg);
			break;
		case 'R':
			if (!runs++)
				t_before = now_ms() - t;
			t = now_ms();
			run(msg, n, end, sizeof(end));
			t_runc += now_ms() - t;
			t = now_ms();
			if (send_msg(fd, 'S', end, strlen(end)))
				die("the engine server went away while runc ran (delete --force and gc clean up what is left)");
			break;
		case 'Y':
			t_before = now_ms() - t;
			become(fd, msg, n, end, sizeof(end));
			/* (the exec failed: the server says the rest, as after R) */
			if (send_msg(fd, 'S', end, strlen(end)))
				die("the engine server went away while runc ran (delete --force and gc clean up what is left)");
			break;
		case 'W':
			if (send_input(fd))
				die("the engine server went away before it read stdin");
			break;
		case 'E':
			/* a reader of our stderr that went away ends the write, as in the engine */
			signal(SIGPIPE, SIG_IGN);
			write_all(2, msg, n, 0);
			signal(SIGPIPE, SIG_DFL);
			break;
		case 'X':
			if (runs)
				t_after = now_ms() - t;
			else
				t_before = now_ms() - t;
			served_trace();
			if (msg[0] == 's' && msg[1] == ':') {
				int sig = atoi(msg + 2);
				sigset_t set;

				signal(sig, SIG_DFL);
				sigemptyset(&set);
				sigaddset(&set, sig);
				sigprocmask(SIG_UNBLOCK, &set, NULL);
				raise(sig);
				return 128 + sig;
			}
			return msg[0] == 'e' && msg[1] == ':' ? atoi(msg + 2) : 1;
		default:
			if (!taken) {
				int timed_out = errno == EAGAIN;

				close(fd);
				if (timed_out)
					late("take", wait);
				fallback("the server ended the call before taking it");
			}
			die("the engine server went away during the call (delete --force and gc clean up what is left)");
		}
	}
}

/*
 * Launcher mode (dist/vkernel-runtime, the same program under the runtime's name): the entry point
 * callers exec as they exec runc. It reads argv as bin/vkernel-runtime does and takes the calls
 * that need no more than that itself, without the sh launcher's exec of /bin/sh: the subcommands
 * the launcher never intercepts (to runc), create, start with its marker or a create's lock
 * file, and delete with its marker but no lock file (this program's client mode, in this process:
 * served()), and start and delete with
 * none of the launcher's markers (to runc; a delete whose only marker is an RT group link once its
 * budget is zeroed, as the sh launcher zeroes it); with --vkernel-set
 * among the global flags too (a create's policy: runc runs without them, as the engine would run
 * it, and a create takes them to the server). Everything else, and any case it is not sure of,
 * goes to the sh launcher beside it (HOME/bin/vkernel-runtime) with the same argv, which decides
 * again and does the rest: the sh launcher stays the whole implementation, this one its fast path
 * (test/unit/launcher-entry.test.ts runs both on the same calls).
 */
/* K_PATH: --root among the global flags, --bundle among create's (its value next, or after '=') */
enum kind { K_OURS_VALUE, K_OURS, K_PATH, K_PATH_EQ, K_VALUE, K_HELP, K_VERSION, K_END, K_FLAG,
	    K_WORD };

/* NAME for -NAME or --NAME (NULL: not a flag of that form) */
static const char *flag_body(const char *arg)
{
	if (arg[0] != '-')
		return NULL;
	return arg[1] == '-' ? arg + 2 : arg + 1;
}

/* 1: BODY is one of NAMES (eq 0), or one of them followed by '=' (eq 1; *value after it) */
static int named(const char *body, const char *const *names, int eq, const char **value)
{
	for (; *names; names++) {
		size_t n = strlen(*names);

		if (strncmp(body, *names, n))
			continue;
		if (!eq && !body[n])
			return 1;
		if (eq && body[n] == '=') {
			if (value)
				*value = body + n + 1;
			return 1;
		}
	}
	return 0;
}

static int is_true(const char *word)
{
	const char *const *t;

	for (t = true_words; *t; t++)
		if (!strcmp(word, *t))
			return 1;
	return 0;
}

/* what ARG is, as the launcher's generated functions say (global_arg; arg_<cmd>: VALUES) */
static enum kind classify(const char *arg, int global, const char *const *values)
{
	const char *body = flag_body(arg), *v = NULL;

	if (!strcmp(arg, "--"))
		return K_END;
	if (!body || !*body)
		return K_WORD;
	if (global) {
		if (named(body, ours_value_flags, 0, NULL))
			return K_OURS_VALUE;
		if (named(body, ours_flags, 1, NULL))
			return K_OURS;
		if (named(body, root_flags, 0, NULL))
			return K_PATH;
		if (named(body, root_flags, 1, NULL))
			return K_PATH_EQ;
		if (named(body, global_value_flags, 0, NULL))
			return K_VALUE;
	} else {
		if (values == create_value_flags && named(body, bundle_flags, 0, NULL))
			return K_PATH;
		if (values == create_value_flags && named(body, bundle_flags, 1, NULL))
			return K_PATH_EQ;
		if (named(body, values, 0, NULL))
			return K_VALUE;
	}
	if (named(body, help_flags, 0, NULL))
		return K_HELP;
	if (named(body, help_flags, 1, &v))
		return is_true(v) ? K_HELP : K_FLAG;
	if (global && named(body, version_flags, 0, NULL))
		return K_VERSION;
	if (global && named(body, version_flags, 1, &v))
		return is_true(v) ? K_VERSION : K_FLAG;
	return K_FLAG;
}

/* the runc and `defaults:` of the launcher's config file, read as the sh launcher reads them */
static void read_config(const char **runc, int *defaults)
{
	const char *path = getenv("VKERNEL_RUNTIME_CONFIG");
	static char line[4096];
	FILE *f;

	if (!path || !*path)
		path = "/etc/vkernel-runtime/config.yaml";
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = line, *e;

		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "defaults:", 9)) {
			*defaults = 1;
		} else if (!strncmp(line, "runc:", 5)) {
			for (v = line + 5; *v == ' '; v++)
				;
			for (e = v + strlen(v); e > v && e[-1] == ' '; e--)
				;
			*e = 0;
			if (*v == '"' || *v == '\'')
				v++;
			e = v + strlen(v);
			if (e > v && (e[-1] == '"' || e[-1] == '\''))
				e[-1] = 0;
			if (*v)
				*runc = strdup(v);
		}
	}
	fclose(f);
}

/* ROOT/<FMT with ID> exists (the sh launcher's [ -e ]) */
static int marked(const char *root, const char *fmt, const char *id)
{
	char name[4096], p[8192];
	struct stat st;

	snprintf(name, sizeof(name), fmt, id);
	return (size_t)snprintf(p, sizeof(p), "%s/%s", root, name) < sizeof(p) && !stat(p, &st);
}

/* what the sh launcher's delete does more for: an RT group link, a module in runc's directory */
#define RT_GROUP_LINK 1
#define MODULE_FILE 2

/* which of RT_GROUP_LINK and MODULE_FILE runc's directory of ID holds */
static int delete_marked(const char *root, const char *id)
{
	char p[8192];
	struct stat st;
	const char *c;
	int marks = 0;

	if (!*id || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (c = id; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("_+.-", *c))
			return 0;
	snprintf(p, sizeof(p), "%s/%s/vkernel.rt-group", root, id);
	if (!lstat(p, &st) && S_ISLNK(st.st_mode))
		marks |= RT_GROUP_LINK;
	snprintf(p, sizeof(p), "%s/%s/vkernel.module", root, id);
	if (!stat(p, &st) && S_ISREG(st.st_mode))
		marks |= MODULE_FILE;
	return marks;
}

/*
 * the sh launcher's `echo 0 >"$root/$id/vkernel.rt-group/cpu.rt_runtime_us"` before runc's delete
 * (the group's RT budget given back before runc removes the group), without its sh: whether the
 * kernel took it (it refuses while the group has RT tasks: then the sh launcher, which tries again
 * and takes the engine, as it would have)
 */
static int zero_rt_budget(const char *root, const char *id)
{
	char p[8192];
	int fd, ok;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s/vkernel.rt-group/cpu.rt_runtime_us", root, id) >=
	    sizeof(p))
		return 0;
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ok = write(fd, "0\n", 2) == 2;
	return close(fd) == 0 && ok;
}

/* the path the caller ran us by, absolute (the sh launcher's `self`: what helpers are run by) */
static char *self_path(const char *arg0)
{
	char cwd[4096], *p = NULL, *path, *dir, *save = NULL;
	const char *env = getenv("PATH");

	if (arg0[0] == '/')
		return strdup(arg0);
	if (strchr(arg0, '/'))
		return getcwd(cwd, sizeof(cwd)) && asprintf(&p, "%s/%s", cwd, arg0) > 0 ? p : NULL;
	path = strdup(env ? env : "");
	for (dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&p, "%s/%s", dir, arg0) < 0)
			break;
		if (!access(p, X_OK))
			break;
		free(p);
		p = NULL;
	}
	free(path);
	return p;
}

static void exec_or_die(const char *file, char **argv, int search)
{
	if (search)
		execvp(file, argv);
	else
		execv(file, argv);
	fprintf(stderr, "vkernel-runtime: cannot run %s: %s\n", file, strerror(errno));
	exit(127);
}

/* a call as the launcher reads it */
struct call {
	const char *runc, *root, *bundle, *id, *cmd;
	/* the value flags of the subcommand, when the launcher reads it (create, start, delete) */
	const char *const *values;
	int defaults, ours, version, help;
	/* an OCI hook as hooks.d runs it: `oci-hook STAGE` and no more */
	int hook;
	/* ours were only --vkernel-set (a create's policy: runc never sees them), and where */
	int sets_only;
	char *set_at;
};

/*
 * argv from FROM as the sh launcher's loops read it: the global flags up to the subcommand (GLOBAL:
 * the subcommand's index is returned, argc if none), or the arguments of create, start or delete
 */
static int read_args(struct call *c, int from, int argc, char **argv, int global)
{
	const char **path = global ? &c->root : &c->bundle;
	int i, skip = 0, value = 0, dashdash = 0, others = 0;

	for (i = from; i < argc; i++) {
		if (value)
			*path = argv[i];
		if (skip || value) {
			skip = 0;
			value = 0;
			continue;
		}
		if (dashdash) {
			c->id = argv[i];
			continue;
		}
		switch (classify(argv[i], global, c->values)) {
		case K_OURS_VALUE:
			c->ours = 1;
			skip = 1;
			if (named(flag_body(argv[i]), set_flags, 0, NULL) && i + 1 < argc)
				memset(c->set_at + i, 1, 2);
			else
				others = 1;
			break;
		case K_OURS:
			c->ours = 1;
			if (named(flag_body(argv[i]), set_flags, 1, NULL))
				c->set_at[i] = 1;
			else
				others = 1;
			break;
		case K_PATH:
			value = 1;
			break;
		case K_PATH_EQ:
			*path = strchr(argv[i], '=') + 1;
			break;
		case K_VALUE:
			skip = 1;
			break;
		case K_HELP:
			c->help = 1;
			break;
		case K_VERSION:
			c->version = 1;
			break;
		case K_END:
			/* (among the global flags the sh launcher reads on) */
			dashdash = !global;
			break;
		case K_WORD:
			if (!global) {
				c->id = argv[i];
				break;
			}
			c->cmd = argv[i];
			c->sets_only = c->ours && !others;
			return i;
		default:
			break;
		}
	}
	if (global)
		c->sets_only = c->ours && !others;
	return argc;
}

/* argv without the --vkernel-set flags read_args found: what runc gets (engine: runcArgv) */
static char **without_sets(const struct call *c, int argc, char **argv)
{
	char **out = calloc((size_t)argc + 1, sizeof(*out));
	int i, n = 0;

	if (!out)
		die("out of memory");
	for (i = 0; i < argc; i++)
		if (!c->set_at[i])
			out[n++] = argv[i];
	return out;
}

/* the subcommands the sh launcher intercepts (all others go to runc) */
static int intercepted(const char *cmd)
{
	static const char *const ours[] = { "create", "run", "start", "delete", "ps", "features",
					    "oci-hook", "doctor", "module", "install", "uninstall",
					    "gc", NULL };
	const char *const *o;

	if (!strncmp(cmd, "vkernel-", 8))
		return 1;
	for (o = ours; *o; o++)
		if (!strcmp(cmd, *o))
			return 1;
	return 0;
}

/* the directory above ours: the installation this program is in (HOME/dist/vkernel-runtime) */
static void own_home(char *home, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", home, n - 1);
	int i;

	home[len > 0 ? len : 0] = 0;
	for (i = 0; i < 2 && strrchr(home, '/'); i++)
		*strrchr(home, '/') = 0;
}

/*
 * through this process's client mode: the sh launcher's client_call, without its sh. A create's
 * config.json is scanned for a request (none: runc); a start or delete that comes here has work of
 * ours (its marker)
 */
static int serve_here(struct call *c, const char *engine_path, const char *self, int argc,
		      char **argv)
{
	static char scan[8192];
	char **args = calloc((size_t)argc + 4, sizeof(*args));
	int create = c->values == create_value_flags;

	if (!args)
		die("out of memory");
	snprintf(scan, sizeof(scan), "%s/config.json", c->bundle);
	args[0] = "vkernel-client";
	args[1] = (char *)engine_path;
	args[2] = (char *)c->runc;
	args[3] = !create || c->defaults || c->sets_only ? "" : scan;
	memcpy(args + 4, argv + 1, (size_t)(argc - 1) * sizeof(*args));
	setenv("VKERNEL_RUNTIME_SELF", self, 1);
	return client_main(argc + 3, args);
}

/*
 * what the engine server serves (src/serve/server.ts): an OCI hook (`oci-hook STAGE`); create;
 * start with its marker (vkernel@<id>.start) or a create's lock file (a create still holding it,
 * e.g. one handed over applying after runc, which the server's start waits for; or one killed
 * holding it, which it refuses); delete of a container with our state beside runc's
 * (vkernel@<id>.json). Not a delete with a create's lock file there: the engine
 */
static int served(const struct call *c)
{
	if (c->hook)
		return 1;
	if (c->help || !c->values)
		return 0;
	if (c->values == create_value_flags)
		return 1;
	if (c->values == start_value_flags)
		return marked(c->root, "vkernel@%s.start", c->id) ||
		       marked(c->root, "vkernel@%s.lock", c->id);
	if (marked(c->root, "vkernel@%s.lock", c->id))
		return 0;
	return c->values == delete_value_flags && marked(c->root, "vkernel@%s.json", c->id);
}

static int launcher_main(int argc, char **argv)
{
	struct call c = { .runc = getenv("VKERNEL_RUNC"), .root = "/run/runc", .bundle = ".",
			  .id = "" };
	const char *path = getenv("PATH"), *how = getenv("VKERNEL_ENGINE");
	const char *env_home = getenv("VKERNEL_RUNTIME_HOME");
	char home[4096], sh[4200], engine_path[4200], *arg0 = argv[0], *self, **runc_argv;
	int at;

	if (!path || !*path)
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	if (!c.runc || !*c.runc)
		c.runc = "runc";
	read_config(&c.runc, &c.defaults);
	c.set_at = calloc((size_t)argc + 1, 1);
	if (!c.set_at)
		die("out of memory");
	at = read_args(&c, 1, argc, argv, 1);
	/* --vkernel-set alone: a policy for a create, nothing for runc (which must not see it) */
	runc_argv = c.sets_only ? without_sets(&c, argc, argv) : argv;
	runc_argv[0] = (char *)c.runc;
	if ((!c.ours || c.sets_only) && !c.version) {
		if (!c.cmd || !intercepted(c.cmd))
			exec_or_die(c.runc, runc_argv, 1);
		if (!strcmp(c.cmd, "create"))
			c.values = create_value_flags;
		else if (!strcmp(c.cmd, "start"))
			c.values = start_value_flags;
		else if (!strcmp(c.cmd, "delete"))
			c.values = delete_value_flags;
	}
	if (c.values)
		read_args(&c, at + 1, argc, argv, 0);
	c.hook = c.cmd && !strcmp(c.cmd, "oci-hook") && !c.ours && !c.version && !c.help &&
		 at + 2 == argc && named(argv[at + 1], hook_stages, 0, NULL);
	if (c.values == start_value_flags && !c.help && !marked(c.root, "vkernel@%s.start", c.id) &&
	    !marked(c.root, "vkernel@%s.lock", c.id))
		exec_or_die(c.runc, runc_argv, 1);
	/* delete: to runc without our state or lock file, or with an RT group link alone once zeroed */
	if (c.values == delete_value_flags && !c.help && !marked(c.root, "vkernel@%s.json", c.id) &&
	    !marked(c.root, "vkernel@%s.lock", c.id)) {
		int marks = delete_marked(c.root, c.id);

		if (!marks || (marks == RT_GROUP_LINK && zero_rt_budget(c.root, c.id)))
			exec_or_die(c.runc, runc_argv, 1);
	}
	/*
	 * create, or the sh launcher: the sh launcher beside us; the engine where the sh launcher
	 * would take it from (VKERNEL_RUNTIME_HOME, else this installation)
	 */
	own_home(home, sizeof(home));
	snprintf(sh, sizeof(sh), "%s/bin/vkernel-runtime", home);
	if (env_home && *env_home)
		snprintf(home, sizeof(home), "%s", env_home);
	snprintf(engine_path, sizeof(engine_path), "%s/dist/vkernel-engine", home);
	self = self_path(arg0);
	if (!self)
		self = sh;
	if (served(&c) && !(how && !strcmp(how, "node")) && !access(engine_path, X_OK)) {
		argv[0] = arg0;
		return serve_here(&c, engine_path, self, argc, argv);
	}
	/* the sh launcher, told where it is and the path we were run by: it needs no readlink */
	if (!env_home || !*env_home)
		setenv("VKERNEL_RUNTIME_HOME", home, 1);
	setenv("VKERNEL_LAUNCHER_SELF", self, 1);
	argv[0] = sh;
	exec_or_die(sh, argv, 0);
	return 127;
}

int main(int argc, char **argv)
{
	const char *name;

	if (argc < 1)
		return 2;
	name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	if (!strcmp(name, "vkernel-client"))
		return client_main(argc, argv);
	return launcher_main(argc, argv);
}
