// SPDX-License-Identifier: GPL-2.0-only
/*
 * A server that does nothing, for `npm run bench`'s floor row: it speaks the engine server's
 * protocol (client/vkernel-client.c) and answers every create with A, then R (runc with the
 * caller's argv), then X "e:0" once the client reports runc's end; or, with `hand-over`, A then Y
 * (the client becomes runc), as the engine server answers a create with nothing to apply. A create
 * through the client and this server costs what the design costs without any work of the engine:
 * the client, the socket's round trips, runc run as the client's child or as the client itself.
 * Bench use only: it checks nothing, applies nothing.
 *
 *   null-server SOCKET [hand-over]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* one message: its type, its payload in *out (NUL-terminated, freed by the caller) */
static int recv_msg(int fd, char *type, char **out, uint32_t *n)
{
	char head[5];

	if (read_all(fd, head, sizeof(head)))
		return -1;
	*type = head[0];
	memcpy(n, head + 1, 4);
	*out = malloc((size_t)*n + 1);
	if (!*out || read_all(fd, *out, *n))
		return -1;
	(*out)[*n] = 0;
	return 0;
}

/* one message at OUT (5 + n bytes): its type, length and payload; returns its length */
static size_t put_msg(char *out, char type, const char *p, uint32_t n)
{
	out[0] = type;
	memcpy(out + 1, &n, 4);
	memcpy(out + 5, p, n);
	return 5 + (size_t)n;
}

static void write_out(int fd, const char *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		perror("null-server: write");
}

/* answer Y (hand-over), not R */
static int hand_over;

/* Q: protocol, engine, cwd, argc, argv..., environment...: R (or Y) is runc and that argv */
static void serve(int fd)
{
	char type, *q = NULL, *end = NULL, *run = NULL, *out = NULL;
	uint32_t n, at = 0, len = 0;
	int field, argc = 0;

	if (recv_msg(fd, &type, &q, &n) || type != 'Q')
		goto out;
	run = malloc((size_t)n + 5);
	if (!run)
		goto out;
	memcpy(run, "runc", 5);
	len = 5;
	for (field = 0; at < n; field++) {
		size_t l = strlen(q + at) + 1;

		if (field == 3) {
			argc = atoi(q + at);
		} else if (field > 3 && field <= 3 + argc) {
			memcpy(run + len, q + at, l);
			len += (uint32_t)l;
		}
		at += (uint32_t)l;
	}
	/* A with R, in one write, as the engine server sends a taken call's A with what follows */
	out = malloc((size_t)len + 10);
	if (!out)
		goto out;
	write_out(fd, out, put_msg(out, 'A', "", 0) + put_msg(out + 5, hand_over ? 'Y' : 'R', run, len));
	if (!hand_over && recv_msg(fd, &type, &end, &n) == 0 && type == 'S')
		write_out(fd, out, put_msg(out, 'X', "e:0", 3));
out:
	free(q);
	free(end);
	free(run);
	free(out);
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int s;

	if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(addr.sun_path) ||
	    (argc == 3 && strcmp(argv[2], "hand-over"))) {
		fprintf(stderr, "usage: null-server SOCKET [hand-over]\n");
		return 2;
	}
	hand_over = argc == 3;
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 16)) {
		perror("null-server");
		return 1;
	}
	for (;;) {
		int fd = accept(s, NULL, NULL);

		if (fd >= 0)
			serve(fd);
	}
}
