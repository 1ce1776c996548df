// SPDX-License-Identifier: BSD-2-Clause
#include "procfs.h"
#include "events.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t field_kb(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);

	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

int procfs_status(pid_t pid, __u64 *vmpin_kb, __u64 *vmlck_kb)
{
	char path[64], buf[8192];
	long n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ESRCH ? -ENOENT : (int)n;
	*vmpin_kb = field_kb(buf, "\nVmPin:");
	*vmlck_kb = field_kb(buf, "\nVmLck:");
	return 0;
}

int procfs_vmstat(__u64 *acquired, __u64 *released, bool refresh)
{
	static char buf[16384];
	long n;

	if (refresh) {
		int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			/* EINVAL only says some counter was negative; the fold happened. */
			if (write(fd, "1", 1) < 0 && errno != EINVAL)
				refresh = false;
			close(fd);
		}
	}
	n = read_file("/proc/vmstat", buf, sizeof(buf));

	if (n < 0)
		return n;
	*acquired = field_kb(buf, "\nnr_foll_pin_acquired ");
	*released = field_kb(buf, "\nnr_foll_pin_released ");
	return 0;
}

int procfs_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	long n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	n = read_file(path, buf, size);
	if (n < 0)
		return n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static uint8_t backing_of(const char *path)
{
	if (!*path)
		return PS_BACK_ANON;
	if (strstr(path, "kvm-gmem") || strstr(path, "guest_memfd"))
		return PS_BACK_GMEM;
	if (!strncmp(path, "/memfd:", 7) || !strncmp(path, "/dev/shm/", 9) ||
	    !strncmp(path, "/SYSV", 5))
		return PS_BACK_SHMEM;
	if (path[0] == '[')
		return PS_BACK_ANON; /* [heap], [stack] */
	if (!strncmp(path, "anon_inode:", 11))
		return PS_BACK_FILE;
	return PS_BACK_FILE;
}

int procfs_backing(pid_t pid, uint64_t addr, struct procfs_map *out)
{
	char path[64], line[512];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end, ino;
		unsigned int maj, min;
		int off = 0;
		char *name;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %x:%x %" SCNu64 " %n", &start,
			   &end, &maj, &min, &ino, &off) < 5)
			continue;
		if (addr < start || addr >= end)
			continue;
		name = line + off;
		name[strcspn(name, "\n")] = 0;
		out->ino = ino;
		out->dev = ino ? (maj << 20) | min : 0;
		out->backing = backing_of(name);
		if (out->backing == PS_BACK_ANON)
			out->ino = out->dev = 0;
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static bool is_uring(pid_t pid, const char *fd)
{
	char path[320], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[io_uring]");
}

int procfs_uring_bufs(pid_t pid, int fd, procfs_buf_fn fn, void *ctx)
{
	char path[96];
	static char buf[1 << 20];
	const char *p;
	unsigned int n = 0;
	long len;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	len = read_file(path, buf, sizeof(buf));
	if (len < 0)
		return len;
	p = strstr(buf, "\nUserBufs:");
	if (!p)
		return 0;
	n = strtoul(p + 10, (char **)&p, 10);
	/* Lines: "%5u: 0x%llx/%u" */
	for (unsigned int i = 0; i < n && p; i++) {
		unsigned int idx;
		unsigned long long addr, blen;

		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
		if (sscanf(p, " %u: 0x%llx/%llu", &idx, &addr, &blen) != 3)
			break;
		if (fn && blen)
			fn(ctx, idx, addr, blen);
	}
	return n;
}

static void count_buf(void *ctx, unsigned int idx, uint64_t addr, uint64_t len)
{
	(void)idx;
	(void)addr;
	(void)len;
	(*(unsigned int *)ctx)++;
}

static int scan_pid(pid_t pid, procfs_ring_fn fn, void *ctx)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!err && (d = readdir(dir))) {
		unsigned int nbufs = 0;

		if (!isdigit((unsigned char)d->d_name[0]) || !is_uring(pid, d->d_name))
			continue;
		if (procfs_uring_bufs(pid, atoi(d->d_name), count_buf, &nbufs) > 0 && nbufs)
			err = fn(ctx, pid, atoi(d->d_name), nbufs);
	}
	closedir(dir);
	return err;
}

int procfs_each_uring(pid_t only_pid, procfs_ring_fn fn, void *ctx)
{
	struct dirent *d;
	DIR *dir;
	int err = 0;

	if (only_pid)
		return scan_pid(only_pid, fn, ctx);
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!err && (d = readdir(dir)))
		if (isdigit((unsigned char)d->d_name[0]))
			err = scan_pid(atoi(d->d_name), fn, ctx);
	closedir(dir);
	return err;
}

int procfs_each_pinned(pid_t only_pid, procfs_pin_fn fn, void *ctx)
{
	struct dirent *d;
	DIR *dir;
	int err = 0;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!err && (d = readdir(dir))) {
		__u64 pin, lck;
		pid_t pid;

		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		pid = atoi(d->d_name);
		if (only_pid && pid != only_pid)
			continue;
		if (procfs_status(pid, &pin, &lck) || (!pin && !lck))
			continue;
		err = fn(ctx, pid, pin, lck);
	}
	closedir(dir);
	return err;
}
