// SPDX-License-Identifier: GPL-2.0-only
/*
 * vkernel-client: the launcher's way to the engine server (src/serve/server.ts) for `create`.
 *
 *   vkernel-client ENGINE RUNC CONFIG ARG...
 *
 * First, unless CONFIG is empty (the launcher already knows the call is ours), whether the call
 * asks for anything: CONFIG (the bundle's config.json) mentions io.vkernel. or VKERNEL_ or has a
 * JSON \u escape (the launcher's old grep, without its process). Nothing: exec RUNC ARG..., as the
 * launcher would.
 *
 * A create with a vkernel request costs, through the engine executable, one JavaScript runtime's
 * start-up (~25 ms here) before runc even starts. The server is that engine, started once and
 * kept: this client sends it the call (argv, working directory, environment), and the server does
 * everything the engine would, except that every runc it would run with the caller's stdio is run
 * here, as this process's child: runc must be a descendant of the caller (containerd's shim reaps
 * the container's init as a child subreaper), keep the caller's stdio and fds, and get the caller's
 * signals. Whatever the server cannot serve exactly as the engine would, it answers "fallback",
 * and this client execs ENGINE with the same argv: the engine's own path, unchanged.
 *
 * When no server listens, the client starts one (detached: its own session, stdio on /dev/null,
 * none of the caller's fds) and execs ENGINE for this call. VKERNEL_ENGINE_SOCKET names the socket
 * (default /run/vkernel-runtime/engine.sock); "off": no server, always ENGINE. VKERNEL_ENGINE_TRACE
 * names a file this appends one line per call to: "served: <times>", or "engine: <why>"; the
 * times (ms, by this process's clock) split a served call: "call" from main() to the server's A
 * (our start, the socket, the server reading the call), "before" from A to the first R (the
 * server's work before runc), "runc" the runs it asked for, "after" from the last S to X, "in all"
 * from main().
 *
 * Messages, both ways: one type byte, a 32-bit little-endian length, the payload.
 *   to the server:   Q  "vkernel-serve-1\0" engine\0 cwd\0 context\0 pid\0 argc\0 arg\0... env\0...
 *                       (context: umask and namespaces, which the server's must equal; pid:
 *                       ours, the owner the container's state records while the call runs)
 *                    S  runc's end: "e:<exit code>", "s:<signal>", or "x:<why exec failed>"
 *   from the server: A  taken (before anything is changed: an end before A is a fallback)
 *                    F  fallback (payload: why, for --debug readers; not printed)
 *                    R  run this argv (argv[0] looked up in PATH), then send S
 *                    E  bytes for stderr
 *                    X  the end: "e:<exit code>" or "s:<signal>" (die by it, as runc did)
 * Nothing here interprets user data: argv and environment are passed on as they are.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL "vkernel-serve-1"
#define DEFAULT_SOCKET "/run/vkernel-runtime/engine.sock"
#define MAX_MESSAGE (16u << 20)

extern char **environ;

static char *engine;
/* ENGINE ARG... (the engine's argv; its first slot is RUNC's when runc is exec'd instead) */
static char **caller_argv;
static volatile pid_t child;
/* when main() started, and the milliseconds of a served call's parts (trace) */
static double t_main, t_call, t_before, t_runc, t_after;
static int runs;

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

	if (!getenv("VKERNEL_ENGINE_TRACE"))
		return;
	snprintf(times, sizeof(times), fmt, t_call, t_before, t_runc, runs, t_after,
		 now_ms() - t_main);
	trace("served", times);
}

static void fallback(const char *why)
{
	trace("engine", why);
	execv(engine, caller_argv);
	fprintf(stderr, "vkernel-runtime: cannot run %s: %s\n", engine, strerror(errno));
	exit(127);
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
		if (w < 0 && errno == EAGAIN) {
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

/* runs argv (NUL-separated in p..p+n) with our stdio and fds; its end as the S payload */
static void run(const char *p, size_t n, char *end, size_t endsz)
{
	char **argv = calloc(n + 1, sizeof(*argv));
	size_t i = 0, argc = 0;
	int pipefd[2], status, err = 0;
	ssize_t r;
	pid_t pid;

	if (!argv)
		die("out of memory");
	while (i < n) {
		argv[argc++] = (char *)p + i;
		i += strlen(p + i) + 1;
	}
	if (!argc || pipe2(pipefd, O_CLOEXEC))
		die("cannot run runc: bad request from the engine server");
	set_forwarding(1);
	pid = fork();
	if (pid < 0)
		die("cannot fork");
	if (pid == 0) {
		set_forwarding(0);
		execvp(argv[0], argv);
		err = errno;
		(void)!write(pipefd[1], &err, sizeof(err));
		_exit(127);
	}
	child = pid;
	close(pipefd[1]);
	do
		r = read(pipefd[0], &err, sizeof(err));
	while (r < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid failed");
	child = 0;
	set_forwarding(0);
	if (r == sizeof(err))
		snprintf(end, endsz, "x:%s", strerror(err));
	else if (WIFSIGNALED(status))
		snprintf(end, endsz, "s:%d", WTERMSIG(status));
	else
		snprintf(end, endsz, "e:%d", WEXITSTATUS(status));
	free(argv);
}

/* what the server's own must equal: the umask and the namespaces paths and pids are read in */
static void context(char *out, size_t n)
{
	static const char *const ns[] = { "mnt", "pid", "cgroup" };
	char link[64], target[64];
	mode_t mask = umask(0);
	size_t i, at;

	umask(mask);
	at = (size_t)snprintf(out, n, "umask=%03o", (unsigned int)mask);
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]) && at < n; i++) {
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/ns/%s", ns[i]);
		len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		at += (size_t)snprintf(out + at, n - at, " %s", target);
	}
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
	execl(engine, engine, "vkernel-serve", (char *)NULL);
	_exit(0);
}

int main(int argc, char **argv)
{
	const char *path = getenv("VKERNEL_ENGINE_SOCKET");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct buf q = { 0 };
	char cwd[4096], ctx[256], count[16], end[256], type, *msg = NULL;
	size_t n = 0;
	int fd, i, taken = 0;
	double t = now_ms();

	t_main = t;
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
		path = DEFAULT_SOCKET;
	if (!strcmp(path, "off"))
		fallback("VKERNEL_ENGINE_SOCKET=off");
	if (geteuid() != 0)
		fallback("not root");
	if (strlen(path) >= sizeof(addr.sun_path) || !getcwd(cwd, sizeof(cwd)))
		fallback("socket path or working directory too long");
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fallback(strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			start_server();
			fallback("no server (one started)");
		}
		fallback(strerror(errno));
	}
	put_str(&q, PROTOCOL);
	put_str(&q, engine);
	put_str(&q, cwd);
	context(ctx, sizeof(ctx));
	put_str(&q, ctx);
	snprintf(count, sizeof(count), "%d", (int)getpid());
	put_str(&q, count);
	snprintf(count, sizeof(count), "%d", argc - 4);
	put_str(&q, count);
	for (i = 4; i < argc; i++)
		put_str(&q, argv[i]);
	for (i = 0; environ[i]; i++)
		put_str(&q, environ[i]);
	if (send_msg(fd, 'Q', q.p, q.len))
		fallback("the server did not take the call");
	for (;;) {
		free(msg);
		msg = NULL;
		type = recv_msg(fd, &msg, &n);
		switch (type) {
		case 'A':
			taken = 1;
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
				close(fd);
				fallback("the server ended the call before taking it");
			}
			die("the engine server went away during create (delete --force and gc clean up what is left)");
		}
	}
}
