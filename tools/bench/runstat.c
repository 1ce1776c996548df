// SPDX-License-Identifier: BSD-2-Clause
/*
 * runstat: run a command and write what it cost: CPU (user, sys, in ns, its waited-for children
 * included), peak RSS and wall time. The benchmark driver uses it for the workloads, so the CPU
 * other processes used during a run can be told apart from the run's own.
 *
 *   runstat -o FILE -- CMD [ARG...]
 *   FILE gets one line: status=N user_ns=N sys_ns=N maxrss_kb=N wall_ns=N
 *
 * Exits with CMD's status (128+N when a signal N ended it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "runstat: %s: %s\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	struct rusage ru;
	uint64_t t0, t1;
	int status, rc;
	pid_t pid;
	FILE *f;

	if (argc > 2 && !strcmp(argv[1], "-o")) {
		out = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (!out || argc < 3 || strcmp(argv[1], "--")) {
		fprintf(stderr, "usage: runstat -o FILE -- CMD [ARG...]\n");
		return 2;
	}
	t0 = mono_ns();
	pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: exec %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return fail("wait4", errno);
	t1 = mono_ns();
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(out, "w");
	if (!f)
		return fail(out, errno);
	fprintf(f, "status=%d user_ns=%llu sys_ns=%llu maxrss_kb=%ld wall_ns=%llu\n", rc,
		(unsigned long long)tv_ns(ru.ru_utime), (unsigned long long)tv_ns(ru.ru_stime),
		ru.ru_maxrss, (unsigned long long)(t1 - t0));
	if (fclose(f))
		return fail(out, errno);
	return rc;
}
