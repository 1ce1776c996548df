// SPDX-License-Identifier: BSD-2-Clause
/*
 * pinload: long-term page pins through io_uring fixed buffers, with known counts.
 *
 * Sets up anonymous, file or guest_memfd memory, registers it as io_uring fixed buffers on one
 * or more rings and answers commands on stdin. Every state line carries the kernel's own
 * numbers (VmPin, VmLck, nr_foll_pin_*), so a test can hold pinscope against them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "uapi_compat.h"

#define NAME	  "pinload"
#define MAX_BUFS  16384 /* IORING_MAX_REG_BUFFERS */
#define MAX_RINGS 1024
#define MAX_ARGS  8

#include "wl.h"

enum mem_kind { MEM_ANON, MEM_FILE, MEM_GMEM, MEM_MIXED };

static const char *const mem_names[] = {"anon", "file", "gmem", "mixed"};

struct pinload {
	enum mem_kind mem;
	long nbufs;
	long pages_per_buf;
	long nrings;
	bool no_register;
	const char *file;
	long loop;
	bool distinct; /* --distinct: alternate between two sets of buffers */
	long pace;     /* --pace: loop iterations per second at most (0: as fast as it goes) */

	size_t page_size;
	size_t len;
	char *base;
	char *file_base; /* --mem mixed: the file mapping of the odd buffers (base: anon) */
	int file_fd;
	int kvm_fd;
	int vm_fd;
	int gmem_fd;
	int *ring_fd;
	bool *registered;
	struct iovec *iov;     /* nbufs, and nbufs more one buffer on with --distinct */
	struct iovec *iov_cur; /* what do_register registers */
	long shrunk;	       /* buffers emptied by `shrink` on every registered ring */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " NAME " [options]\n"
		"  --mem anon|file|gmem|mixed  memory behind the buffers (default anon; mixed:\n"
		"                        even buffers anonymous, odd ones in a file)\n"
		"  --bufs N              fixed buffers per ring (default 4)\n"
		"  --pages P             pages per buffer (default 16)\n"
		"  --rings R             rings, each registering the same buffers (default 1)\n"
		"  --no-register         do not register before 'ready'; wait for 'register'\n"
		"  --file PATH           backing file for --mem file (default: unlinked, "
		"/dev/shm)\n"
		"  --loop N              benchmark: register+unregister N times, print 'loop', "
		"exit\n"
		"  --distinct            every other registration of the loop is of other buffers\n"
		"                        (shifted by one buffer): no two successive ones are "
		"alike\n"
		"  --pace N              at most N loop iterations per second (busy-waits)\n"
		"  --help                this text\n"
		"commands on stdin: register unregister shrink close status punch exit, loop N\n");
}

/* ---- memory ---- */

/*
 * The default file lives on tmpfs: the kernel refuses long-term writable pins of pages of a
 * filesystem that tracks dirty pages (ext4 /tmp here: EFAULT), and shmem is what a real user of
 * fixed buffers on a file would share. --file PATH picks any other place.
 */
static int open_backing_file(const char *path)
{
	static const char *const dirs[] = {"/dev/shm", "/tmp"};
	char tmpl[64];
	size_t i;
	int fd = -1;

	if (path)
		return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; i++) {
		fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			break;
		snprintf(tmpl, sizeof(tmpl), "%s/pinload.XXXXXX", dirs[i]);
		fd = mkstemp(tmpl);
		if (fd >= 0)
			unlink(tmpl);
	}
	return fd;
}

static char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap anonymous memory", errno);
	/* small folios only: io_uring then charges every 4 KiB page to VmPin */
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("madvise MADV_NOHUGEPAGE", errno);
	return p;
}

static char *map_file(struct pinload *pl)
{
	struct stat st;
	char *p;

	pl->file_fd = open_backing_file(pl->file);
	if (pl->file_fd < 0)
		die(pl->file ? pl->file : "create temp file in /dev/shm or /tmp", errno);
	if (fstat(pl->file_fd, &st))
		die("fstat backing file", errno);
	if ((size_t)st.st_size < pl->len && ftruncate(pl->file_fd, (off_t)pl->len))
		die("ftruncate backing file", errno);
	p = mmap(NULL, pl->len, PROT_READ | PROT_WRITE, MAP_SHARED, pl->file_fd, 0);
	if (p == MAP_FAILED)
		die("mmap backing file", errno);
	return p;
}

static void setup_memory(struct pinload *pl)
{
	struct kvm_create_guest_memfd gm = {0};
	size_t i;

	switch (pl->mem) {
	case MEM_ANON:
		pl->base = map_anon(pl->len);
		break;
	case MEM_FILE:
		pl->base = map_file(pl);
		break;
	case MEM_MIXED:
		pl->base = map_anon(pl->len);
		pl->file_base = map_file(pl);
		break;
	case MEM_GMEM:
		pl->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (pl->kvm_fd < 0)
			die("open /dev/kvm", errno);
		pl->vm_fd = ioctl(pl->kvm_fd, KVM_CREATE_VM, 0);
		if (pl->vm_fd < 0)
			die("KVM_CREATE_VM", errno);
		gm.size = pl->len;
		gm.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
		pl->gmem_fd = ioctl(pl->vm_fd, KVM_CREATE_GUEST_MEMFD, &gm);
		if (pl->gmem_fd < 0)
			die("KVM_CREATE_GUEST_MEMFD", errno);
		pl->base = mmap(NULL, pl->len, PROT_READ | PROT_WRITE, MAP_SHARED, pl->gmem_fd, 0);
		if (pl->base == MAP_FAILED)
			die("mmap guest_memfd", errno);
		break;
	}
	for (i = 0; i < pl->len; i += pl->page_size) {
		((volatile char *)pl->base)[i] = 1;
		if (pl->file_base)
			((volatile char *)pl->file_base)[i] = 1;
	}
	for (i = 0; i < (size_t)pl->nbufs * (pl->distinct ? 2 : 1); i++) {
		size_t b = i < (size_t)pl->nbufs ? i : i - (size_t)pl->nbufs + 1;

		char *base = pl->mem == MEM_MIXED && (b & 1) ? pl->file_base : pl->base;

		pl->iov[i].iov_base = base + b * pl->pages_per_buf * pl->page_size;
		pl->iov[i].iov_len = pl->pages_per_buf * pl->page_size;
	}
	pl->iov_cur = pl->iov;
}

/* ---- rings ---- */

static void setup_rings(struct pinload *pl)
{
	struct io_uring_params p;
	long r;

	for (r = 0; r < pl->nrings; r++) {
		memset(&p, 0, sizeof(p));
		pl->ring_fd[r] = sys_io_uring_setup(1, &p);
		if (pl->ring_fd[r] < 0)
			die("io_uring_setup", errno);
	}
}

static long pinned_pages(const struct pinload *pl)
{
	long r, n = 0;

	for (r = 0; r < pl->nrings; r++)
		n += pl->registered[r];
	return n * (pl->nbufs - pl->shrunk) * pl->pages_per_buf;
}

static int do_register(struct pinload *pl)
{
	long r;

	for (r = 0; r < pl->nrings; r++) {
		if (pl->ring_fd[r] < 0)
			return -EBADF;
		if (sys_io_uring_register(pl->ring_fd[r], IORING_REGISTER_BUFFERS, pl->iov_cur,
					  (unsigned int)pl->nbufs))
			return -errno;
		pl->registered[r] = true;
	}
	pl->shrunk = 0;
	return 0;
}

static int do_unregister(struct pinload *pl)
{
	long r;

	for (r = 0; r < pl->nrings; r++) {
		if (pl->ring_fd[r] < 0)
			return -EBADF;
		if (sys_io_uring_register(pl->ring_fd[r], IORING_UNREGISTER_BUFFERS, NULL, 0))
			return -errno;
		pl->registered[r] = false;
	}
	pl->shrunk = 0;
	return 0;
}

/* Empty the last non-empty buffer slot of every registered ring (IORING_REGISTER_BUFFERS_UPDATE
 * with an empty iovec): the kernel unpins that one buffer and keeps the others. */
static int do_shrink(struct pinload *pl)
{
	struct iovec empty = {NULL, 0};
	struct io_uring_rsrc_update2 up;
	long r;

	if (pl->shrunk >= pl->nbufs)
		return -ENOSPC;
	for (r = 0; r < pl->nrings; r++) {
		if (!pl->registered[r])
			continue;
		memset(&up, 0, sizeof(up));
		up.offset = (uint32_t)(pl->nbufs - 1 - pl->shrunk);
		up.data = (uint64_t)(uintptr_t)&empty;
		up.nr = 1;
		if (sys_io_uring_register(pl->ring_fd[r], IORING_REGISTER_BUFFERS_UPDATE, &up,
					  sizeof(up)) < 0)
			return -errno;
	}
	pl->shrunk++;
	return 0;
}

static int do_close(struct pinload *pl)
{
	long r;
	int ret = 0;

	for (r = 0; r < pl->nrings; r++) {
		if (pl->ring_fd[r] < 0)
			continue;
		if (close(pl->ring_fd[r]) && !ret)
			ret = -errno;
		pl->ring_fd[r] = -1;
		pl->registered[r] = false;
	}
	return ret;
}

static int do_status(struct pinload *pl)
{
	(void)pl;
	return 0;
}

static int do_punch(struct pinload *pl)
{
	if (pl->mem != MEM_GMEM)
		return -EOPNOTSUPP;
	if (fallocate(pl->gmem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)pl->len))
		return -errno;
	return 0;
}

static int do_exit(struct pinload *pl)
{
	(void)pl;
	return 0;
}

static const struct command {
	const char *name;
	int (*fn)(struct pinload *pl);
} commands[] = {
	{"register", do_register}, {"unregister", do_unregister}, {"close", do_close},
	{"status", do_status},	   {"punch", do_punch},		  {"exit", do_exit},
	{"shrink", do_shrink},
};

static void answer(const struct pinload *pl, const char *cmd, int ret)
{
	if (ret)
		printf("%s error errno=%d msg=%s pages=%ld", cmd, -ret, errname(-ret),
		       pinned_pages(pl));
	else
		printf("%s ok pages=%ld", cmd, pinned_pages(pl));
	print_truth();
}

static void bench_loop(struct pinload *pl);

static void command_loop(struct pinload *pl)
{
	char *line = NULL, *argv[MAX_ARGS];
	size_t cap = 0, i;
	int argc;

	while (getline(&line, &cap, stdin) >= 0) {
		argc = split(line, argv, MAX_ARGS);
		if (!argc)
			continue;
		/* loop N: the benchmark loop, after 'ready' (so a tracer can be given the pid) */
		if (!strcmp(argv[0], "loop") && argc == 2) {
			pl->loop = parse_count(argv[1], "loop", 1L << 40);
			bench_loop(pl);
			continue;
		}
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[0], commands[i].name))
				break;
		if (i == sizeof(commands) / sizeof(commands[0])) {
			printf("error cmd=%s msg=unknown\n", argv[0]);
			continue;
		}
		answer(pl, argv[0], commands[i].fn(pl));
		if (commands[i].fn == do_exit)
			break;
	}
	free(line);
}

static void bench_loop(struct pinload *pl)
{
	uint64_t t0, t1;
	long i;
	int ret;

	t0 = now_ns();
	for (i = 0; i < pl->loop; i++) {
		if (pl->pace)
			while (now_ns() - t0 < (uint64_t)i * 1000000000ULL / (uint64_t)pl->pace)
				;
		pl->iov_cur = pl->distinct && (i & 1) ? pl->iov + pl->nbufs : pl->iov;
		ret = do_register(pl);
		if (ret)
			die("IORING_REGISTER_BUFFERS", -ret);
		ret = do_unregister(pl);
		if (ret)
			die("IORING_UNREGISTER_BUFFERS", -ret);
	}
	t1 = now_ns();
	printf("loop ops=%ld rings=%ld pages_per_op=%ld ns=%" PRIu64 " ns_per_op=%" PRIu64
	       " pages=%ld",
	       pl->loop, pl->nrings, pl->nrings * pl->nbufs * pl->pages_per_buf, t1 - t0,
	       (t1 - t0) / (uint64_t)pl->loop, pinned_pages(pl));
	print_truth();
}

static void parse_args(struct pinload *pl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"mem", required_argument, NULL, 'm'},
		{"bufs", required_argument, NULL, 'b'},
		{"pages", required_argument, NULL, 'p'},
		{"rings", required_argument, NULL, 'r'},
		{"no-register", no_argument, NULL, 'n'},
		{"file", required_argument, NULL, 'f'},
		{"loop", required_argument, NULL, 'l'},
		{"distinct", no_argument, NULL, 'd'},
		{"pace", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "anon"))
				pl->mem = MEM_ANON;
			else if (!strcmp(optarg, "file"))
				pl->mem = MEM_FILE;
			else if (!strcmp(optarg, "gmem"))
				pl->mem = MEM_GMEM;
			else if (!strcmp(optarg, "mixed"))
				pl->mem = MEM_MIXED;
			else
				usage_error("--mem must be anon, file, gmem or mixed", optarg);
			break;
		case 'b':
			pl->nbufs = parse_count(optarg, "--bufs", MAX_BUFS);
			break;
		case 'p':
			pl->pages_per_buf = parse_count(optarg, "--pages", 1L << 18);
			break;
		case 'r':
			pl->nrings = parse_count(optarg, "--rings", MAX_RINGS);
			break;
		case 'n':
			pl->no_register = true;
			break;
		case 'f':
			pl->file = optarg;
			break;
		case 'l':
			pl->loop = parse_count(optarg, "--loop", 1L << 40);
			break;
		case 'd':
			pl->distinct = true;
			break;
		case 'P':
			pl->pace = parse_count(optarg, "--pace", 1000000000L);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument", argv[optind]);
	if (pl->file && pl->mem != MEM_FILE && pl->mem != MEM_MIXED)
		usage_error("--file needs --mem file or mixed", pl->file);
}

int main(int argc, char **argv)
{
	struct pinload pl = {
		.mem = MEM_ANON,
		.nbufs = 4,
		.pages_per_buf = 16,
		.nrings = 1,
		.file_fd = -1,
		.kvm_fd = -1,
		.vm_fd = -1,
		.gmem_fd = -1,
	};
	long r;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(&pl, argc, argv);

	pl.page_size = (size_t)sysconf(_SC_PAGESIZE);
	if ((unsigned long)pl.nbufs * (unsigned long)pl.pages_per_buf > (1UL << 24))
		usage_error("--bufs times --pages is too large", NULL);
	pl.len = (size_t)(pl.nbufs + pl.distinct) * (size_t)pl.pages_per_buf * pl.page_size;
	pl.ring_fd = calloc((size_t)pl.nrings, sizeof(*pl.ring_fd));
	pl.registered = calloc((size_t)pl.nrings, sizeof(*pl.registered));
	pl.iov = calloc((size_t)pl.nbufs * 2, sizeof(*pl.iov));
	if (!pl.ring_fd || !pl.registered || !pl.iov)
		die("allocate", ENOMEM);

	setup_memory(&pl);
	setup_rings(&pl);
	if (!pl.no_register && !pl.loop) {
		ret = do_register(&pl);
		if (ret)
			die("IORING_REGISTER_BUFFERS", -ret);
	}

	printf("ready pid=%d rings=%ld bufs=%ld pages_per_buf=%ld pages_per_ring=%ld pages=%ld "
	       "mem=%s addr=%p ring_fds=",
	       (int)getpid(), pl.nrings, pl.nbufs, pl.pages_per_buf, pl.nbufs * pl.pages_per_buf,
	       pinned_pages(&pl), mem_names[pl.mem], (void *)pl.base);
	for (r = 0; r < pl.nrings; r++)
		printf("%s%d", r ? "," : "", pl.ring_fd[r]);
	printf(" gmem_fd=%d", pl.gmem_fd);
	print_truth();

	if (pl.loop)
		bench_loop(&pl);
	else
		command_loop(&pl);
	return 0;
}
