// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlbload: remote TLB shootdowns with a known count.
 *
 * Thread A (the main thread, CPU 0) changes mappings; thread B (CPU 1) runs in the same mm the
 * whole time, so every change that needs a flush must interrupt CPU 1. The TLB row of
 * /proc/interrupts, read just before and just after, is printed beside the number of syscalls.
 * --pin registers the changed memory as an io_uring fixed buffer first (a FOLL_LONGTERM pin), so
 * that every flush is one over a pinned range.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "uapi_compat.h"

#define NAME	 "tlbload"
#define MAX_CPUS 1024
#define CPU_A	 0
#define CPU_B	 1

#include "wl.h"

enum op { OP_MPROTECT, OP_MUNMAP, OP_MADVISE };

static const char *const op_names[] = {"mprotect", "munmap", "madvise"};

struct tlbload {
	enum op op;
	unsigned long iters;
	unsigned long pages;
	bool loop;
	bool pin;
	int ring_fd; /* --pin: the ring holding mem as its fixed buffer */

	size_t len;
	char *mem; /* what thread A changes */
	char *own; /* what thread B writes when reading mem could fault */
	pid_t tid_a;
	pid_t tid_b;
	pthread_t thread_b;
	pthread_barrier_t setup_done;
};

/* thread A <-> thread B */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static unsigned long run_gen;
static bool quit;
static atomic_bool stop;
static atomic_int spinning;

static void usage(FILE *f)
{
	fprintf(f, "usage: " NAME " [options]\n"
		   "  --iters N                     iterations of thread A (default 10000)\n"
		   "  --op mprotect|munmap|madvise  what each iteration does (default mprotect)\n"
		   "  --pages P                     pages per operation (default 1)\n"
		   "  --loop                        benchmark: run at once, no stdin, exit\n"
		   "  --pin                         pin the memory first (io_uring fixed buffer;\n"
		   "                                mprotect only)\n"
		   "  --help                        this text\n"
		   "commands on stdin: go exit\n");
}

static void pin_to_cpu(int cpu, const char *who)
{
	char what[64];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		snprintf(what, sizeof(what), "pin %s to CPU %d", who, cpu);
		die(what, errno);
	}
}

/*
 * Per-CPU counts of the "TLB:" row of /proc/interrupts (TLB shootdowns received).
 * Returns the number of CPU columns, or -errno.
 */
static int read_tlb_row(unsigned long long *cnt, int max)
{
	char *line = NULL, *p, *end;
	size_t cap = 0;
	int n = -ENOENT;
	FILE *f;

	f = fopen("/proc/interrupts", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		p = line + strspn(line, " ");
		if (strncmp(p, "TLB:", 4))
			continue;
		p += 4;
		for (n = 0; n < max; n++) {
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			cnt[n] = v;
			p = end;
		}
		break;
	}
	free(line);
	fclose(f);
	return n;
}

static void touch_pages(char *p, size_t len, size_t page_size)
{
	size_t i;

	for (i = 0; i < len; i += page_size)
		((volatile char *)p)[i] = 1;
}

/*
 * Thread B: stay on CPU 1 inside this mm while a run lasts. In mprotect mode it reads the pages
 * A changes, so CPU 1 really caches them; munmap and madvise would make that read fault (SIGSEGV,
 * or a zero-page mapping whose copy-on-write adds a flush of its own), so there it writes a page
 * of its own. Either way CPU 1 has the mm loaded and every flush of it must reach CPU 1.
 */
static void *thread_b(void *arg)
{
	struct tlbload *t = arg;
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long seen = 0;
	bool done;
	size_t i;

	pin_to_cpu(CPU_B, "thread B");
	t->tid_b = gettid();
	pthread_barrier_wait(&t->setup_done);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (run_gen == seen && !quit)
			pthread_cond_wait(&wake, &lock);
		seen = run_gen;
		done = quit;
		pthread_mutex_unlock(&lock);
		if (done)
			break;
		atomic_store(&spinning, 1);
		while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
			if (t->op == OP_MPROTECT) {
				for (i = 0; i < t->len; i += page_size)
					(void)((volatile char *)t->mem)[i];
			} else {
				((volatile char *)t->own)[0]++;
			}
		}
		atomic_store(&spinning, 0);
	}
	return NULL;
}

static void setup(struct tlbload *t)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	int ret;

	t->len = t->pages * page_size;
	t->mem = mmap(NULL, t->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t->own = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->mem == MAP_FAILED || t->own == MAP_FAILED)
		die("mmap", errno);
	/* one flush per operation, not a huge-page split on top */
	if (madvise(t->mem, t->len, MADV_NOHUGEPAGE))
		die("madvise MADV_NOHUGEPAGE", errno);
	touch_pages(t->mem, t->len, page_size);
	touch_pages(t->own, page_size, page_size);
	if (t->pin) {
		struct io_uring_params p = {0};
		struct iovec iov = {.iov_base = t->mem, .iov_len = t->len};

		t->ring_fd = sys_io_uring_setup(1, &p);
		if (t->ring_fd < 0)
			die("io_uring_setup", errno);
		if (sys_io_uring_register(t->ring_fd, IORING_REGISTER_BUFFERS, &iov, 1))
			die("IORING_REGISTER_BUFFERS", errno);
	}

	pin_to_cpu(CPU_A, "thread A");
	t->tid_a = gettid();
	pthread_barrier_init(&t->setup_done, NULL, 2);
	ret = pthread_create(&t->thread_b, NULL, thread_b, t);
	if (ret)
		die("create thread B", ret);
	pthread_barrier_wait(&t->setup_done);
}

/* One iteration of thread A; returns the number of syscalls made. */
static unsigned long one_op(struct tlbload *t, size_t page_size)
{
	void *p;

	switch (t->op) {
	case OP_MPROTECT:
		if (mprotect(t->mem, t->len, PROT_READ))
			die("mprotect PROT_READ", errno);
		if (mprotect(t->mem, t->len, PROT_READ | PROT_WRITE))
			die("mprotect PROT_READ|PROT_WRITE", errno);
		touch_pages(t->mem, t->len, page_size);
		return 2;
	case OP_MUNMAP:
		if (munmap(t->mem, t->len))
			die("munmap", errno);
		p = mmap(t->mem, t->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			die("mmap MAP_FIXED", errno);
		touch_pages(t->mem, t->len, page_size);
		return 2;
	case OP_MADVISE:
		if (madvise(t->mem, t->len, MADV_DONTNEED))
			die("madvise MADV_DONTNEED", errno);
		touch_pages(t->mem, t->len, page_size);
		return 1;
	}
	return 0;
}

static void run(struct tlbload *t)
{
	static unsigned long long before[MAX_CPUS], after[MAX_CPUS];
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long long sum_before = 0, sum_after = 0;
	unsigned long i, ops = 0;
	uint64_t t0, t1;
	int n, m, c;

	atomic_store(&stop, false);
	pthread_mutex_lock(&lock);
	run_gen++;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	while (!atomic_load(&spinning))
		sched_yield();

	n = read_tlb_row(before, MAX_CPUS);
	if (n < 0)
		die("read TLB row of /proc/interrupts", -n);
	t0 = now_ns();
	for (i = 0; i < t->iters; i++)
		ops += one_op(t, page_size);
	t1 = now_ns();
	m = read_tlb_row(after, MAX_CPUS);
	if (m < 0)
		die("read TLB row of /proc/interrupts", -m);

	atomic_store(&stop, true);
	while (atomic_load(&spinning))
		sched_yield();

	if (m < n)
		n = m;
	for (c = 0; c < n; c++) {
		sum_before += before[c];
		sum_after += after[c];
	}
	printf("done pid=%d tid_a=%d tid_b=%d op=%s iters=%lu pages=%lu ops=%lu ns=%" PRIu64
	       " ns_per_op=%" PRIu64 " tlb_ipi_before=%llu tlb_ipi_after=%llu tlb_ipi_delta=%llu "
	       "tlb_ipi_delta_per_cpu=",
	       (int)getpid(), (int)t->tid_a, (int)t->tid_b, op_names[t->op], t->iters, t->pages,
	       ops, t1 - t0, ops ? (t1 - t0) / ops : 0, sum_before, sum_after,
	       sum_after - sum_before);
	for (c = 0; c < n; c++)
		printf("%s%llu", c ? "," : "", after[c] - before[c]);
	printf("\n");
}

static void finish(struct tlbload *t)
{
	pthread_mutex_lock(&lock);
	quit = true;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(t->thread_b, NULL);
}

static void command_loop(struct tlbload *t)
{
	char *line = NULL, *cmd, *save;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) >= 0) {
		cmd = strtok_r(line, " \t\r\n", &save);
		if (!cmd)
			continue;
		if (!strcmp(cmd, "go")) {
			run(t);
		} else if (!strcmp(cmd, "exit")) {
			printf("exit ok\n");
			break;
		} else {
			printf("error cmd=%s msg=unknown\n", cmd);
		}
	}
	free(line);
}

static void parse_args(struct tlbload *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{"iters", required_argument, NULL, 'i'},
		{"op", required_argument, NULL, 'o'},
		{"pages", required_argument, NULL, 'p'},
		{"loop", no_argument, NULL, 'l'},
		{"pin", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			t->iters = parse_count(optarg, "--iters", 1UL << 40);
			break;
		case 'o':
			if (!strcmp(optarg, "mprotect"))
				t->op = OP_MPROTECT;
			else if (!strcmp(optarg, "munmap"))
				t->op = OP_MUNMAP;
			else if (!strcmp(optarg, "madvise"))
				t->op = OP_MADVISE;
			else
				usage_error("--op must be mprotect, munmap or madvise", optarg);
			break;
		case 'p':
			t->pages = parse_count(optarg, "--pages", 1UL << 18);
			break;
		case 'l':
			t->loop = true;
			break;
		case 'P':
			t->pin = true;
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
	if (t->pin && t->op != OP_MPROTECT)
		usage_error("--pin goes with --op mprotect only", op_names[t->op]);
}

int main(int argc, char **argv)
{
	struct tlbload t = {.op = OP_MPROTECT, .iters = 10000, .pages = 1};

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(&t, argc, argv);
	setup(&t);
	printf("ready pid=%d tid_a=%d tid_b=%d cpus=%d,%d op=%s iters=%lu pages=%lu addr=%p "
	       "pinned=%d\n",
	       (int)getpid(), (int)t.tid_a, (int)t.tid_b, CPU_A, CPU_B, op_names[t.op], t.iters,
	       t.pages, (void *)t.mem, t.pin);
	if (t.loop)
		run(&t);
	else
		command_loop(&t);
	finish(&t);
	return 0;
}
