// SPDX-License-Identifier: BSD-2-Clause
/*
 * stall: keep the CPU it runs on from everything else for BUSY_MS every PERIOD_MS, as a
 * hypervisor that deschedules a vCPU does (steal), but on purpose and the same in every run. It
 * spins at SCHED_FIFO priority 50, so normal tasks on that CPU (the tracer's loader, pinned there
 * by the benchmark) do not run meanwhile; interrupts and softirqs still do. Runs until SIGTERM
 * or SIGINT.
 *
 *   stall BUSY_MS PERIOD_MS
 *
 * Prints "stalling" once the policy is set (the readiness line), and at exit one line:
 * stalls=N busy_ns=N.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long arg_ms(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 10000) {
		fprintf(stderr, "stall: %s: '%s' is not a number of milliseconds (0..10000)\n",
			what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sched_param sp = {.sched_priority = 50};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t busy_ns, period_ns, stalls = 0, spent = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: stall BUSY_MS PERIOD_MS\n");
		return 2;
	}
	busy_ns = arg_ms(argv[1], "BUSY_MS") * 1000000ull;
	period_ns = arg_ms(argv[2], "PERIOD_MS") * 1000000ull;
	if (busy_ns >= period_ns) {
		fprintf(stderr, "stall: BUSY_MS must be less than PERIOD_MS\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
		fprintf(stderr, "stall: sched_setscheduler SCHED_FIFO: %s\n", strerror(errno));
		return 1;
	}
	printf("stalling\n");
	fflush(stdout);
	while (!stop) {
		uint64_t t0 = mono_ns(), t;
		struct timespec rest;

		while ((t = mono_ns()) - t0 < busy_ns && !stop)
			;
		spent += t - t0;
		stalls++;
		rest.tv_sec = (period_ns - busy_ns) / 1000000000ull;
		rest.tv_nsec = (period_ns - busy_ns) % 1000000000ull;
		nanosleep(&rest, NULL);
	}
	printf("stalls=%llu busy_ns=%llu\n", (unsigned long long)stalls, (unsigned long long)spent);
	return 0;
}
