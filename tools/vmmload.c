// SPDX-License-Identifier: BSD-2-Clause
/*
 * vmmload: what a VMM does with guest_memfd, minus the guest.
 *
 * Creates a VM, a mmap-able guest_memfd bound to memslot 0, and an io_uring fixed buffer that
 * long-term pins some pages of that guest memory (as a VMM doing zero-copy I/O would). Then it
 * converts ranges shared<->private, punches holes and unpins on command, printing what it did and
 * the kernel's own numbers (VmPin, VmLck, nr_foll_pin_*).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "uapi_compat.h"

#define NAME	 "vmmload"
#define MAX_ARGS 8

#include "wl.h"

struct vmm {
	unsigned long size_mb;
	unsigned long pin_pages;
	unsigned long pin_offset;
	uint64_t gpa;
	bool defer;

	size_t page_size;
	size_t size;
	char *mem;
	int kvm_fd;
	int vm_fd;
	int gmem_fd;
	int ring_fd;
	bool pinned;
	struct iovec iov;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " NAME " [options]\n"
		"  --size MB          guest memory (default 16)\n"
		"  --pin-pages N      io_uring-pin N pages of the guest_memfd mmap (default 8)\n"
		"  --pin-offset PAGES first pinned page (default 0)\n"
		"  --gpa HEX          guest physical base of memslot 0 (default 0x100000000)\n"
		"  --defer            print 'waiting pid=N', set up only after a 'start' line\n"
		"  --help             this text\n"
		"commands on stdin:\n"
		"  convert PRIVATE|SHARED GPA_HEX PAGES [REPEAT]\n"
		"  punch OFFSET_PAGES PAGES\n"
		"  alloc OFFSET_PAGES PAGES          fallocate(KEEP_SIZE) on the guest_memfd\n"
		"  create BYTES FLAGS_HEX            another KVM_CREATE_GUEST_MEMFD (kept open)\n"
		"  bind SLOT GPA_HEX PAGES OFFSET_PAGES  KVM_SET_USER_MEMORY_REGION2, same file\n"
		"  unpin | pin | status | exit\n");
}

/* Unsigned number in @base; false unless the whole string is one. */
static bool parse_ul(const char *s, int base, unsigned long *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoul(s, &end, base);
	return !errno && !*end;
}

/* The pages this program holds pinned, then the kernel's ground truth. */
static void print_state(const struct vmm *v)
{
	printf(" pinned_pages=%lu", v->pinned ? v->pin_pages : 0);
	print_truth();
}

/* ---- setup ---- */

static int pin(struct vmm *v)
{
	if (!v->pin_pages || v->pinned)
		return v->pinned ? -EBUSY : 0;
	if (sys_io_uring_register(v->ring_fd, IORING_REGISTER_BUFFERS, &v->iov, 1))
		return -errno;
	v->pinned = true;
	return 0;
}

static void setup(struct vmm *v)
{
	struct kvm_create_guest_memfd gm = {0};
	struct kvm_userspace_memory_region2 region = {0};
	struct io_uring_params p = {0};
	size_t i;
	int ret;

	v->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm_fd < 0)
		die("open /dev/kvm", errno);
	v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
	if (v->vm_fd < 0)
		die("KVM_CREATE_VM", errno);
	gm.size = v->size;
	gm.flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	v->gmem_fd = ioctl(v->vm_fd, KVM_CREATE_GUEST_MEMFD, &gm);
	if (v->gmem_fd < 0)
		die("KVM_CREATE_GUEST_MEMFD", errno);
	v->mem = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->gmem_fd, 0);
	if (v->mem == MAP_FAILED)
		die("mmap guest_memfd", errno);
	/* a booted guest has touched its memory: every page is allocated in the gmem file */
	for (i = 0; i < v->size; i += v->page_size)
		((volatile char *)v->mem)[i] = 1;

	region.slot = 0;
	region.flags = KVM_MEM_GUEST_MEMFD;
	region.guest_phys_addr = v->gpa;
	region.memory_size = v->size;
	region.userspace_addr = (uintptr_t)v->mem;
	region.guest_memfd_offset = 0;
	region.guest_memfd = (__u32)v->gmem_fd;
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION2, &region))
		die("KVM_SET_USER_MEMORY_REGION2", errno);

	v->ring_fd = sys_io_uring_setup(1, &p);
	if (v->ring_fd < 0)
		die("io_uring_setup", errno);
	v->iov.iov_base = v->mem + v->pin_offset * v->page_size;
	v->iov.iov_len = v->pin_pages * v->page_size;
	ret = pin(v);
	if (ret)
		die("IORING_REGISTER_BUFFERS", -ret);
}

/* ---- commands ---- */

static void answer(const struct vmm *v, const char *cmd, int ret)
{
	if (ret)
		printf("%s error errno=%d msg=%s", cmd, -ret, errname(-ret));
	else
		printf("%s ok", cmd);
	print_state(v);
}

static void cmd_convert(struct vmm *v, int argc, char **argv)
{
	struct kvm_memory_attributes attr = {0};
	unsigned long gpa, pages, repeat = 1, i, ok = 0, failed = 0;
	uint64_t t0, t1;
	int last = 0;

	if (argc < 4 || argc > 5 ||
	    (strcasecmp(argv[1], "private") && strcasecmp(argv[1], "shared")) ||
	    !parse_ul(argv[2], 16, &gpa) || !parse_ul(argv[3], 10, &pages) || !pages ||
	    pages > (1UL << 40) || (argc == 5 && (!parse_ul(argv[4], 10, &repeat) || !repeat))) {
		answer(v, "convert", -EINVAL);
		return;
	}
	attr.address = gpa;
	attr.size = pages * v->page_size;
	attr.attributes = strcasecmp(argv[1], "private") ? 0 : KVM_MEMORY_ATTRIBUTE_PRIVATE;
	t0 = now_ns();
	for (i = 0; i < repeat; i++) {
		if (ioctl(v->vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &attr)) {
			last = errno;
			failed++;
		} else {
			ok++;
		}
	}
	t1 = now_ns();
	printf("convert attempts=%lu ok=%lu failed=%lu errno=%d msg=%s to=%s gpa=0x%lx pages=%lu "
	       "ns=%" PRIu64,
	       repeat, ok, failed, last, last ? errname(last) : "none",
	       attr.attributes ? "private" : "shared", gpa, pages, t1 - t0);
	print_state(v);
}

static void cmd_punch(struct vmm *v, int argc, char **argv)
{
	unsigned long off, pages;

	if (argc != 3 || !parse_ul(argv[1], 10, &off) || !parse_ul(argv[2], 10, &pages) || !pages ||
	    off > (1UL << 40) || pages > (1UL << 40)) {
		answer(v, "punch", -EINVAL);
		return;
	}
	if (fallocate(v->gmem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(off * v->page_size), (off_t)(pages * v->page_size))) {
		answer(v, "punch", -errno);
		return;
	}
	printf("punch ok offset_pages=%lu pages=%lu", off, pages);
	print_state(v);
}

static void cmd_alloc(struct vmm *v, int argc, char **argv)
{
	unsigned long off, pages;

	if (argc != 3 || !parse_ul(argv[1], 10, &off) || !parse_ul(argv[2], 10, &pages) || !pages ||
	    off > (1UL << 40) || pages > (1UL << 40)) {
		answer(v, "alloc", -EINVAL);
		return;
	}
	if (fallocate(v->gmem_fd, FALLOC_FL_KEEP_SIZE, (off_t)(off * v->page_size),
		      (off_t)(pages * v->page_size))) {
		answer(v, "alloc", -errno);
		return;
	}
	printf("alloc ok offset_pages=%lu pages=%lu", off, pages);
	print_state(v);
}

static void cmd_create(struct vmm *v, int argc, char **argv)
{
	struct kvm_create_guest_memfd gm = {0};
	unsigned long size, flags;
	int fd;

	if (argc != 3 || !parse_ul(argv[1], 10, &size) || !parse_ul(argv[2], 16, &flags)) {
		answer(v, "create", -EINVAL);
		return;
	}
	gm.size = size;
	gm.flags = flags;
	fd = ioctl(v->vm_fd, KVM_CREATE_GUEST_MEMFD, &gm);
	if (fd < 0) {
		answer(v, "create", -errno);
		return;
	}
	printf("create ok fd=%d size=%lu flags=0x%lx", fd, size, flags);
	print_state(v);
}

static void cmd_bind(struct vmm *v, int argc, char **argv)
{
	struct kvm_userspace_memory_region2 region = {0};
	unsigned long slot, gpa, pages, off;

	if (argc != 5 || !parse_ul(argv[1], 10, &slot) || !parse_ul(argv[2], 16, &gpa) ||
	    !parse_ul(argv[3], 10, &pages) || !parse_ul(argv[4], 10, &off) || slot > 0xffff ||
	    pages > (1UL << 40) || off > (1UL << 40)) {
		answer(v, "bind", -EINVAL);
		return;
	}
	region.slot = slot;
	region.flags = KVM_MEM_GUEST_MEMFD;
	region.guest_phys_addr = gpa;
	region.memory_size = pages * v->page_size;
	region.userspace_addr =
		(uintptr_t)v->mem + (off * v->page_size < v->size ? off * v->page_size : 0);
	region.guest_memfd_offset = off * v->page_size;
	region.guest_memfd = (__u32)v->gmem_fd;
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION2, &region)) {
		answer(v, "bind", -errno);
		return;
	}
	printf("bind ok slot=%lu gpa=0x%lx pages=%lu offset_pages=%lu", slot, gpa, pages, off);
	print_state(v);
}

static void cmd_unpin(struct vmm *v, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (sys_io_uring_register(v->ring_fd, IORING_UNREGISTER_BUFFERS, NULL, 0)) {
		answer(v, "unpin", -errno);
		return;
	}
	v->pinned = false;
	answer(v, "unpin", 0);
}

static void cmd_pin(struct vmm *v, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	answer(v, "pin", pin(v));
}

static void cmd_status(struct vmm *v, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	answer(v, "status", 0);
}

static void cmd_exit(struct vmm *v, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	answer(v, "exit", 0);
}

static const struct command {
	const char *name;
	void (*fn)(struct vmm *v, int argc, char **argv);
} commands[] = {
	{"convert", cmd_convert}, {"punch", cmd_punch},	  {"unpin", cmd_unpin},
	{"pin", cmd_pin},	  {"status", cmd_status}, {"exit", cmd_exit},
	{"alloc", cmd_alloc},	  {"create", cmd_create}, {"bind", cmd_bind},
};

/* --defer: a tracer can attach to this pid before the VM exists. */
static bool wait_start(void)
{
	char *line = NULL;
	size_t cap = 0;
	bool ok = false;

	printf("waiting pid=%d\n", (int)getpid());
	while (getline(&line, &cap, stdin) >= 0) {
		if (!strncmp(line, "start", 5)) {
			ok = true;
			break;
		}
		if (!strncmp(line, "exit", 4))
			break;
		printf("error cmd=%s msg=waiting for start\n", strtok(line, " \t\r\n"));
	}
	free(line);
	return ok;
}

static void command_loop(struct vmm *v)
{
	char *line = NULL, *argv[MAX_ARGS];
	size_t cap = 0, i;
	int argc;

	while (getline(&line, &cap, stdin) >= 0) {
		argc = split(line, argv, MAX_ARGS);
		if (!argc)
			continue;
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[0], commands[i].name))
				break;
		if (i == sizeof(commands) / sizeof(commands[0])) {
			printf("error cmd=%s msg=unknown\n", argv[0]);
			continue;
		}
		commands[i].fn(v, argc, argv);
		if (commands[i].fn == cmd_exit)
			break;
	}
	free(line);
}

static void parse_args(struct vmm *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{"size", required_argument, NULL, 's'},
		{"pin-pages", required_argument, NULL, 'n'},
		{"pin-offset", required_argument, NULL, 'o'},
		{"gpa", required_argument, NULL, 'g'},
		{"defer", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long gpa;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_ul(optarg, 10, &v->size_mb) || !v->size_mb ||
			    v->size_mb > (1UL << 20))
				usage_error("--size must be 1..1048576 (MB)", optarg);
			break;
		case 'n':
			if (!parse_ul(optarg, 10, &v->pin_pages))
				usage_error("--pin-pages", optarg);
			break;
		case 'o':
			if (!parse_ul(optarg, 10, &v->pin_offset))
				usage_error("--pin-offset", optarg);
			break;
		case 'g':
			if (!parse_ul(optarg, 16, &gpa))
				usage_error("--gpa", optarg);
			v->gpa = gpa;
			break;
		case 'D':
			v->defer = true;
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
}

int main(int argc, char **argv)
{
	struct vmm v = {
		.size_mb = 16,
		.pin_pages = 8,
		.gpa = 0x100000000ULL,
		.kvm_fd = -1,
		.vm_fd = -1,
		.gmem_fd = -1,
		.ring_fd = -1,
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(&v, argc, argv);
	v.page_size = (size_t)sysconf(_SC_PAGESIZE);
	v.size = v.size_mb << 20;
	if (v.pin_offset > v.size / v.page_size ||
	    v.pin_pages > v.size / v.page_size - v.pin_offset)
		usage_error("--pin-offset + --pin-pages is beyond --size", NULL);
	if (v.gpa % v.page_size)
		usage_error("--gpa must be page aligned", NULL);

	if (v.defer && !wait_start())
		return 0;
	setup(&v);
	printf("ready pid=%d vm_fd=%d gmem_fd=%d gmem_size=%zu slot=0 gpa=0x%" PRIx64
	       " addr=%p ring_fd=%d pin_offset=%lu pin_pages=%lu",
	       (int)getpid(), v.vm_fd, v.gmem_fd, v.size, v.gpa, (void *)v.mem, v.ring_fd,
	       v.pin_offset, v.pin_pages);
	print_state(&v);
	command_loop(&v);
	return 0;
}
