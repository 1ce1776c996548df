/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every workload generator shares: one-line errors, the kernel's ground truth (VmPin,
 * VmLck of this process; nr_foll_pin_* of the system, folded first), and the stdin command
 * splitter. A tool defines NAME and declares `static void usage(FILE *)` before including it.
 */
#ifndef PS_TOOLS_WL_H
#define PS_TOOLS_WL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f);

static inline void die(const char *what, int err)
{
	fprintf(stderr, NAME ": %s: %s\n", what, strerror(err));
	exit(1);
}

static inline void usage_error(const char *msg, const char *arg)
{
	if (arg)
		fprintf(stderr, NAME ": %s: %s\n", msg, arg);
	else
		fprintf(stderr, NAME ": %s\n", msg);
	usage(stderr);
	exit(2);
}

/* A count in [1, max], or a usage error naming the option. */
static inline unsigned long parse_count(const char *s, const char *opt, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < 1 || v > max)
		usage_error(opt, s);
	return v;
}

/* "EBUSY": error values never contain spaces. */
static inline const char *errname(int err)
{
	const char *n = strerrorname_np(err);

	return n ? n : "EUNKNOWN";
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The number after `key` in buf, -1 when absent. */
static inline long long proc_field(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Read a small procfs file whole into buf; false on failure. */
static inline int read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return 1;
}

/*
 * Fold the per-cpu vmstat deltas into the global counters (root only), or nr_foll_pin_* lag
 * behind by up to the per-cpu threshold. EINVAL only means some counter was negative.
 */
static inline void vmstat_refresh(void)
{
	ssize_t n;
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = write(fd, "1", 1);
	(void)n;
	close(fd);
}

struct truth {
	long long vmpin_kb, vmlck_kb, foll_pin_acquired, foll_pin_released;
};

static inline struct truth read_truth(void)
{
	static char buf[16384];
	struct truth t = {-1, -1, -1, -1};

	if (read_small("/proc/self/status", buf, sizeof(buf))) {
		t.vmpin_kb = proc_field(buf, "\nVmPin:");
		t.vmlck_kb = proc_field(buf, "\nVmLck:");
	}
	vmstat_refresh();
	if (read_small("/proc/vmstat", buf, sizeof(buf))) {
		t.foll_pin_acquired = proc_field(buf, "\nnr_foll_pin_acquired ");
		t.foll_pin_released = proc_field(buf, "\nnr_foll_pin_released ");
	}
	return t;
}

/* " vmpin_kb=.. vmlck_kb=.. foll_pin_acquired=.. foll_pin_released=..\n": ends every line. */
static inline void print_truth(void)
{
	struct truth t = read_truth();

	printf(" vmpin_kb=%lld vmlck_kb=%lld foll_pin_acquired=%lld foll_pin_released=%lld\n",
	       t.vmpin_kb, t.vmlck_kb, t.foll_pin_acquired, t.foll_pin_released);
}

/* Split a command line into words; returns how many (at most max). */
static inline int split(char *line, char **argv, int max)
{
	char *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < max;
	     tok = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = tok;
	return argc;
}

#endif
