// SPDX-License-Identifier: BSD-2-Clause
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

uint64_t now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t now_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_scaled(const char *s, const char *const *units, const uint64_t *mult, int n,
			uint64_t deflt, uint64_t *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || v != v)
		return -EINVAL;
	if (!*end) {
		if (v * deflt > 1.8e19)
			return -ERANGE;
		*out = (uint64_t)(v * deflt);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (!strcmp(end, units[i])) {
			if (v * mult[i] > 1.8e19)
				return -ERANGE;
			*out = (uint64_t)(v * mult[i]);
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration_ns(const char *s, uint64_t *out)
{
	static const char *const units[] = {"ns", "us", "ms", "s", "m", "h"};
	static const uint64_t mult[] = {
		1, 1000, 1000000, NSEC_PER_SEC, 60 * NSEC_PER_SEC, 3600 * NSEC_PER_SEC};

	return parse_scaled(s, units, mult, ARRAY_SIZE(units), NSEC_PER_SEC, out);
}

int parse_size(const char *s, uint64_t *out)
{
	static const char *const units[] = {"K", "M", "G", "KB", "MB", "GB", "KiB", "MiB", "GiB"};
	static const uint64_t mult[] = {1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 10, 1ULL << 20,
					1ULL << 30, 1ULL << 10, 1ULL << 20, 1ULL << 30};

	return parse_scaled(s, units, mult, ARRAY_SIZE(units), 1, out);
}

long read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off + 1 < size) {
		ssize_t n = read(fd, buf + off, size - 1 - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		off += n;
	}
	buf[off] = 0;
	close(fd);
	return off;
}

const char *fmt_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = bytes;
	unsigned int u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

const char *fmt_age(uint64_t ns, char *buf, size_t size)
{
	uint64_t s = ns / NSEC_PER_SEC;

	if (s < 60)
		snprintf(buf, size, "%.1fs", (double)ns / NSEC_PER_SEC);
	else if (s < 3600)
		snprintf(buf, size, "%llum%02llus", (unsigned long long)s / 60,
			 (unsigned long long)s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%lluh%02llum", (unsigned long long)s / 3600,
			 (unsigned long long)(s % 3600) / 60);
	else
		snprintf(buf, size, "%llud%02lluh", (unsigned long long)s / 86400,
			 (unsigned long long)(s % 86400) / 3600);
	return buf;
}
