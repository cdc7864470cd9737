// SPDX-License-Identifier: GPL-2.0-only
/*
 * futex-sleep: two threads of one process block in FUTEX_WAIT on a
 * process-private futex that nobody ever wakes.  Prints "sleeping <pid>"
 * when the second thread is about to wait.  Used in a container whose
 * private futex hash table (vkernel module) holds the waiters, to delete
 * the container while they sleep (test/vm/guest/70-module.sh).  Built
 * statically by test/vm/lib/runtime-payload.mjs.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static int word;

static void *sleeper(void *arg)
{
	for (;;)
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

int main(void)
{
	pthread_t t;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (pthread_create(&t, NULL, sleeper, NULL))
		return perror("pthread_create"), 1;
	printf("sleeping %d\n", (int)getpid());
	sleeper(NULL);
	return 0;
}
