// SPDX-License-Identifier: BSD-2-Clause
/*
 * gupload: short-term page pins with known counts.
 *
 * process_vm_readv() pins the pages it reads from (pin_user_pages_remote without FOLL_LONGTERM)
 * for the duration of the copy and unpins them before it returns. gupload reads its own memory
 * that way: every call pins exactly --pages pages (at most 1024 pages per call, which the
 * kernel pins in one go) and releases them. It prints one line with its numbers and the kernel's
 * nr_foll_pin_* before and after, then exits.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define NAME	  "gupload"
#define MAX_PAGES 1024 /* PVM_MAX_KMALLOC_PAGES / sizeof(struct page *): one pin per call */

#include "wl.h"

static long long vmstat(const char *key)
{
	char line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f;

	vmstat_refresh();
	f = fopen("/proc/vmstat", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ') {
			v = atoll(line + len + 1);
			break;
		}
	fclose(f);
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " NAME " [--pages N] [--calls M]\n"
		"  --pages N   pages pinned per call, 1..1024 (default 16)\n"
		"  --calls M   process_vm_readv calls (default 8)\n"
		"Pins and releases M times N pages of its own memory (short-term, no\n"
		"FOLL_LONGTERM), prints 'done pid= calls= pages_per_call= pages= ...', exits.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pages", required_argument, NULL, 'p'},
		{"calls", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	long pages = 16, calls = 8, page = sysconf(_SC_PAGESIZE);
	long long acq0, rel0;
	struct iovec local, remote;
	char *src, *dst;
	int c;

	while ((c = getopt_long(argc, argv, "p:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pages = parse_count(optarg, "--pages", MAX_PAGES);
			break;
		case 'c':
			calls = parse_count(optarg, "--calls", 1000000);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	src = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		die("mmap", errno);
	/* small folios: every page is one pin in nr_foll_pin_acquired either way, but keep the
	 * memory like pinload's */
	madvise(src, pages * page, MADV_NOHUGEPAGE);
	memset(src, 1, pages * page);
	memset(dst, 0, pages * page);
	local = (struct iovec){.iov_base = dst, .iov_len = pages * page};
	remote = (struct iovec){.iov_base = src, .iov_len = pages * page};
	acq0 = vmstat("nr_foll_pin_acquired");
	rel0 = vmstat("nr_foll_pin_released");
	for (long i = 0; i < calls; i++) {
		ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

		if (n < 0)
			die("process_vm_readv", errno);
		if (n != pages * page) {
			fprintf(stderr, NAME ": process_vm_readv: short read of %zd bytes\n", n);
			return 1;
		}
	}
	printf("done pid=%d calls=%ld pages_per_call=%ld pages=%ld foll_pin_acquired_delta=%lld "
	       "foll_pin_released_delta=%lld\n",
	       (int)getpid(), calls, pages, calls * pages, vmstat("nr_foll_pin_acquired") - acq0,
	       vmstat("nr_foll_pin_released") - rel0);
	return 0;
}
