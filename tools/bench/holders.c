// SPDX-License-Identifier: BSD-2-Clause
/*
 * holders: many distinct pin holders for benchmarking pinscope top.
 *
 * A holder is (process, subsystem, user stack). --procs processes each register --sites io_uring
 * fixed buffers (one page each, one ring each), every one from a different call path: the
 * registration is reached through a chain of two functions, fa() and fb(), chosen by the bits of
 * the site number, so each site leaves a different user stack (frame pointers: build with
 * -fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-inline, as tools/bench/top-cost.sh
 * does). pinscope must be running before the registrations to see the stacks: rings it only
 * finds at start-up carry none, and a process's seeded rings then make one holder.
 *
 *   ready procs=P sites=K holders=P*K pages=P*K vmpin_kb=<sum of the children's VmPin>
 *
 * then waits for stdin to close (or a line "exit"), and ends the children.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME	  "holders"
#define MAX_SITES 16384

static char *base;
static size_t page;
static int depth;

static void die(const char *what, int err)
{
	fprintf(stderr, NAME ": %s: %s\n", what, strerror(err));
	exit(1);
}

static void reg(unsigned int site)
{
	struct io_uring_params p;
	struct iovec iov = {base + (size_t)site * page, page};
	int fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 1, &p);
	if (fd < 0)
		die("io_uring_setup", errno);
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1))
		die("IORING_REGISTER_BUFFERS", errno);
}

/* Two functions with the same body: which one is on the stack at each depth spells the site. */
static void fb(unsigned int site, int d);

static void fa(unsigned int site, int d)
{
	if (!d)
		reg(site);
	else if (site >> (d - 1) & 1)
		fb(site, d - 1);
	else
		fa(site, d - 1);
	__asm__ volatile("" ::: "memory"); /* no tail calls: every frame stays */
}

static void fb(unsigned int site, int d)
{
	if (!d)
		reg(site);
	else if (site >> (d - 1) & 1)
		fb(site, d - 1);
	else
		fa(site, d - 1);
	__asm__ volatile("" ::: "memory");
}

static long vmpin_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void child(unsigned int sites, int ready_fd, int hold_fd)
{
	char c = 1;

	base = mmap(NULL, (size_t)sites * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (base == MAP_FAILED)
		die("mmap", errno);
	madvise(base, (size_t)sites * page, MADV_NOHUGEPAGE);
	for (unsigned int s = 0; s < sites; s++) {
		base[(size_t)s * page] = 1;
		fa(s, depth);
	}
	if (write(ready_fd, &c, 1) != 1)
		die("write", errno);
	/* Hold the pins until the parent goes away. */
	while (read(hold_fd, &c, 1) > 0)
		;
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"procs", required_argument, NULL, 'p'},
		{"sites", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned int procs = 10, sites = 1000;
	int ready[2], hold[2], c;
	struct rlimit rl;
	pid_t *pids;
	long total = 0;
	char line[64];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			procs = strtoul(optarg, NULL, 10);
			break;
		case 's':
			sites = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: " NAME " [--procs P (10)] [--sites K (1000), at most %d]\n",
				MAX_SITES);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!procs || !sites || sites > MAX_SITES) {
		fprintf(stderr, NAME ": --procs and --sites must be 1.. (sites <= %d)\n",
			MAX_SITES);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	while ((1u << depth) < sites)
		depth++;
	/* One ring fd per site. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < sites + 16) {
		rl.rlim_cur = rl.rlim_max = sites + 16 > rl.rlim_max ? sites + 16 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			die("setrlimit RLIMIT_NOFILE", errno);
	}
	if (pipe(ready) || pipe(hold))
		die("pipe", errno);
	pids = calloc(procs, sizeof(*pids));
	if (!pids)
		die("calloc", ENOMEM);
	for (unsigned int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (!pids[i]) {
			close(ready[0]);
			close(hold[1]);
			child(sites, ready[1], hold[0]);
		}
	}
	close(ready[1]);
	close(hold[0]);
	for (unsigned int i = 0; i < procs; i++) {
		char b;

		if (read(ready[0], &b, 1) != 1) {
			fprintf(stderr,
				NAME ": a child failed before registering all its buffers\n");
			kill(0, SIGTERM);
			return 1;
		}
	}
	for (unsigned int i = 0; i < procs; i++)
		total += vmpin_kb(pids[i]);
	printf("ready procs=%u sites=%u holders=%u pages=%u vmpin_kb=%ld depth=%d pids=%d-%d\n",
	       procs, sites, procs * sites, procs * sites, total, depth, (int)pids[0],
	       (int)pids[procs - 1]);
	while (fgets(line, sizeof(line), stdin) && strncmp(line, "exit", 4))
		;
	close(hold[1]);
	for (unsigned int i = 0; i < procs; i++)
		waitpid(pids[i], NULL, 0);
	printf("exit ok\n");
	return 0;
}
