// SPDX-License-Identifier: BSD-2-Clause
/*
 * tlbload: remote TLB shootdowns with a known count.
 *
 * Thread A (the main thread, CPU 0) changes mappings; thread B (CPU 1) runs in the same mm the
 * whole time, so every change that needs a flush must interrupt CPU 1. The TLB row of
 * /proc/interrupts, read just before and just after, is printed beside the number of syscalls.
 * --pin registers the changed memory as an io_uring fixed buffer first (a FOLL_LONGTERM pin), so
 * that every flush is one over a pinned range; --pin-apart pins a region of the same size that
 * no iteration changes, so that none is. --readers N runs N threads B, on CPUs 1..N: every
 * flush then interrupts N CPUs at once. --senders 2 runs a second thread A on CPU 1 (the readers
 * then start at CPU 2), changing a region of its own: two CPUs send shootdowns to the same
 * targets at once, and to each other.
 *
 * --op migrate moves the pages between NUMA nodes 0 and 1 with move_pages(2), from a child
 * process (the migrator) on CPU N+1, which never runs this mm: migration unmaps with a batched
 * flush (arch_tlbbatch_flush), which names no mm, and is sent from a CPU outside its targets.
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi_compat.h"

#define NAME	     "tlbload"
#define MAX_CPUS     1024
#define MAX_READERS  62
#define CPU_A	     0
#define CPU_B	     1
#define MPOL_MF_MOVE (1 << 1)

#include "wl.h"

enum op { OP_MPROTECT, OP_MUNMAP, OP_MADVISE, OP_MIGRATE };

static const char *const op_names[] = {"mprotect", "munmap", "madvise", "migrate"};

struct tlbload {
	enum op op;
	unsigned long iters;
	unsigned long pages;
	bool loop;
	bool pin;
	bool pin_apart; /* --pin-apart: the pinned region is not the changed one */
	char *pin_mem;	/* the pinned region */
	int ring_fd;	/* --pin, --pin-apart: the ring holding pin_mem as its fixed buffer */
	unsigned long readers;
	unsigned long senders;
	int first_reader; /* CPU of the first thread B */

	size_t len;
	char *mem;  /* what thread A changes */
	char *mem2; /* --senders 2: what the second thread A changes */
	char *own;  /* what threads B write when reading mem could fault (a page each) */
	pid_t tid_a;
	pid_t tid_b;
	pthread_t thread_b[MAX_READERS];
	pthread_t thread_a2;
	pthread_barrier_t setup_done;
	/* --op migrate: the migrator process and the pipes to it (go, done) */
	pid_t migrator;
	int to_mig;
	int from_mig;
};

struct reader {
	struct tlbload *t;
	int cpu;
};

/* thread A <-> thread B */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static unsigned long run_gen;
static bool quit;
static atomic_bool stop;
static atomic_int spinning;
/* thread A <-> the second thread A: the run it may start, the run it has done, its calls */
static atomic_ulong a2_go, a2_done, a2_ops;

/* A thread's wait for the next run after *seen: false once told to quit. */
static bool next_run(unsigned long *seen)
{
	bool go;

	pthread_mutex_lock(&lock);
	while (run_gen == *seen && !quit)
		pthread_cond_wait(&wake, &lock);
	*seen = run_gen;
	go = !quit;
	pthread_mutex_unlock(&lock);
	return go;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " NAME " [options]\n"
		"  --iters N                     iterations of thread A (default 10000)\n"
		"  --op mprotect|munmap|madvise|migrate\n"
		"                                what each iteration does (default mprotect);\n"
		"                                migrate: move_pages to node 1 and back, from\n"
		"                                a child process on the CPU after the readers'\n"
		"  --pages P                     pages per operation (default 1)\n"
		"  --readers N                   threads B, on CPUs 1..N (default 1)\n"
		"  --senders 1|2                 threads A (default 1); 2: the second on CPU 1,\n"
		"                                the readers from CPU 2 (mprotect only)\n"
		"  --loop                        benchmark: run at once, no stdin, exit\n"
		"  --pin                         pin the memory first (io_uring fixed buffer;\n"
		"                                mprotect only)\n"
		"  --pin-apart                   pin a region of the same size that no\n"
		"                                iteration changes (mprotect only)\n"
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
 * A thread B: stay on its CPU inside this mm while a run lasts. In mprotect mode it reads the
 * pages A changes, so its CPU really caches them; munmap and madvise would make that read fault
 * (SIGSEGV, or a zero-page mapping whose copy-on-write adds a flush of its own), and a page being
 * migrated would make it wait, so there it writes a page of its own. Either way its CPU has the
 * mm loaded and every flush of it must reach that CPU.
 */
static void *thread_b(void *arg)
{
	struct reader *r = arg;
	struct tlbload *t = r->t;
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *own = t->own + (size_t)(r->cpu - t->first_reader) * page_size;
	unsigned long seen = 0;
	size_t i;

	pin_to_cpu(r->cpu, "thread B");
	if (r->cpu == t->first_reader)
		t->tid_b = gettid();
	pthread_barrier_wait(&t->setup_done);
	while (next_run(&seen)) {
		atomic_fetch_add(&spinning, 1);
		while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
			if (t->op == OP_MPROTECT) {
				for (i = 0; i < t->len; i += page_size)
					(void)((volatile char *)t->mem)[i];
			} else {
				own[0]++;
			}
		}
		atomic_fetch_sub(&spinning, 1);
	}
	return NULL;
}

static long move_pages(pid_t pid, unsigned long n, void **pages, const int *nodes, int *status)
{
	return syscall(SYS_move_pages, pid, n, pages, nodes, status, MPOL_MF_MOVE);
}

/*
 * The migrator (a child process, on the CPU after the readers'): on each byte from tlbload, move
 * all its pages to node 1 and back, iters times in all (one move_pages a time), then answer with
 * the number of moves. Its own mm is never loaded on the readers' CPUs.
 */
static void migrator(struct tlbload *t, pid_t target, int cpu, int in, int out)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	void **pages = calloc(t->pages, sizeof(*pages));
	int *nodes = calloc(t->pages, sizeof(*nodes));
	int *status = calloc(t->pages, sizeof(*status));
	unsigned long i, p;
	char go;

	if (!pages || !nodes || !status)
		die("migrator: allocate", ENOMEM);
	pin_to_cpu(cpu, "the migrator");
	for (p = 0; p < t->pages; p++)
		pages[p] = t->mem + p * page_size;
	while (read(in, &go, 1) == 1) {
		for (i = 0; i < t->iters; i++) {
			for (p = 0; p < t->pages; p++)
				nodes[p] = (i & 1) ? 0 : 1;
			if (move_pages(target, t->pages, pages, nodes, status))
				die("migrator: move_pages", errno);
			if (status[0] != nodes[0]) {
				fprintf(stderr,
					NAME
					": migrator: move %lu of the pages to node %d: status %d "
					"(%s)\n",
					i, nodes[0], status[0],
					status[0] < 0 ? strerror(-status[0]) : "another node");
				exit(1);
			}
		}
		/* every move succeeded (a failed one ends the migrator): iters of them */
		if (write(out, &t->iters, sizeof(t->iters)) != sizeof(t->iters))
			die("migrator: write", errno);
	}
	_exit(0);
}

static void start_migrator(struct tlbload *t)
{
	int cpu = t->first_reader + (int)t->readers;
	int go[2], done[2];
	pid_t parent = getpid();

	if (access("/sys/devices/system/node/node1", F_OK))
		die("--op migrate needs NUMA nodes 0 and 1 (/sys/devices/system/node/node1)",
		    errno);
	if (pipe2(go, O_CLOEXEC) || pipe2(done, O_CLOEXEC))
		die("pipe", errno);
	t->migrator = fork();
	if (t->migrator < 0)
		die("fork the migrator", errno);
	if (t->migrator == 0) {
		close(go[1]);
		close(done[0]);
		migrator(t, parent, cpu, go[0], done[1]);
	}
	close(go[0]);
	close(done[1]);
	t->to_mig = go[1];
	t->from_mig = done[0];
}

static void *thread_a2(void *arg);

/* A region for a thread A, its pages present. */
static char *map_region(size_t len, size_t page_size)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	/* one flush per operation, not a huge-page split on top */
	if (madvise(p, len, MADV_NOHUGEPAGE))
		die("madvise MADV_NOHUGEPAGE", errno);
	touch_pages(p, len, page_size);
	return p;
}

static void setup(struct tlbload *t)
{
	static struct reader readers[MAX_READERS];
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long need = t->senders + t->readers + (t->op == OP_MIGRATE);
	unsigned long r;
	int ret;

	if (cpus > 0 && (unsigned long)cpus < need) {
		fprintf(stderr, NAME ": %lu reader(s)%s need %lu CPUs, %ld online\n", t->readers,
			t->op == OP_MIGRATE ? " and the migrator"
			: t->senders > 1    ? " and 2 senders"
					    : "",
			need, cpus);
		exit(1);
	}
	t->len = t->pages * page_size;
	/* on CPU 0 before the pages are touched: --op migrate moves them from node 0 */
	pin_to_cpu(CPU_A, "thread A");
	t->mem = map_region(t->len, page_size);
	t->own = mmap(NULL, t->readers * page_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->own == MAP_FAILED)
		die("mmap", errno);
	if (t->senders > 1)
		t->mem2 = map_region(t->len, page_size);
	touch_pages(t->own, t->readers * page_size, page_size);
	if (t->pin || t->pin_apart) {
		struct io_uring_params p = {0};
		struct iovec iov = {.iov_len = t->len};

		t->pin_mem = t->pin_apart ? map_region(t->len, page_size) : t->mem;
		iov.iov_base = t->pin_mem;

		t->ring_fd = sys_io_uring_setup(1, &p);
		if (t->ring_fd < 0)
			die("io_uring_setup", errno);
		if (sys_io_uring_register(t->ring_fd, IORING_REGISTER_BUFFERS, &iov, 1))
			die("IORING_REGISTER_BUFFERS", errno);
	}
	if (t->op == OP_MIGRATE) {
		/* the child must not share the pages: move_pages leaves a page mapped by two
		 * processes where it is (EACCES) */
		if (madvise(t->mem, t->len, MADV_DONTFORK))
			die("madvise MADV_DONTFORK", errno);
		start_migrator(t);
	}

	t->tid_a = gettid();
	pthread_barrier_init(&t->setup_done, NULL, (unsigned int)(t->readers + t->senders));
	if (t->senders > 1) {
		ret = pthread_create(&t->thread_a2, NULL, thread_a2, t);
		if (ret)
			die("create the second thread A", ret);
	}
	for (r = 0; r < t->readers; r++) {
		readers[r] = (struct reader){.t = t, .cpu = t->first_reader + (int)r};
		ret = pthread_create(&t->thread_b[r], NULL, thread_b, &readers[r]);
		if (ret)
			die("create thread B", ret);
	}
	pthread_barrier_wait(&t->setup_done);
}

/* One iteration of a thread A on mem; returns the number of syscalls made. */
static unsigned long one_op(struct tlbload *t, char *mem, size_t page_size)
{
	void *p;

	switch (t->op) {
	case OP_MPROTECT:
		if (mprotect(mem, t->len, PROT_READ))
			die("mprotect PROT_READ", errno);
		if (mprotect(mem, t->len, PROT_READ | PROT_WRITE))
			die("mprotect PROT_READ|PROT_WRITE", errno);
		touch_pages(mem, t->len, page_size);
		return 2;
	case OP_MUNMAP:
		if (munmap(mem, t->len))
			die("munmap", errno);
		p = mmap(mem, t->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			die("mmap MAP_FIXED", errno);
		touch_pages(mem, t->len, page_size);
		return 2;
	case OP_MADVISE:
		if (madvise(mem, t->len, MADV_DONTNEED))
			die("madvise MADV_DONTNEED", errno);
		touch_pages(mem, t->len, page_size);
		return 1;
	case OP_MIGRATE:
		break;
	}
	return 0;
}

/*
 * --senders 2: the second thread A. Each run it waits until thread A has read /proc/interrupts,
 * makes as many iterations on its own region, and says so.
 */
static void *thread_a2(void *arg)
{
	struct tlbload *t = arg;
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long seen = 0, ops, i;

	pin_to_cpu(CPU_B, "second thread A");
	pthread_barrier_wait(&t->setup_done);
	while (next_run(&seen)) {
		while (atomic_load(&a2_go) != seen)
			sched_yield();
		for (ops = 0, i = 0; i < t->iters; i++)
			ops += one_op(t, t->mem2, page_size);
		atomic_store(&a2_ops, ops);
		atomic_store(&a2_done, seen);
	}
	return NULL;
}

/* --op migrate: the migrator's whole loop; returns the number of moves it made. */
static unsigned long migrate_all(struct tlbload *t)
{
	unsigned long moves;
	ssize_t n;

	if (write(t->to_mig, "g", 1) != 1)
		die("tell the migrator to go", errno);
	n = read(t->from_mig, &moves, sizeof(moves));
	if (n != sizeof(moves)) {
		fprintf(stderr, NAME ": the migrator stopped (see its error above)\n");
		exit(1);
	}
	return moves;
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
	while ((unsigned long)atomic_load(&spinning) < t->readers)
		sched_yield();

	n = read_tlb_row(before, MAX_CPUS);
	if (n < 0)
		die("read TLB row of /proc/interrupts", -n);
	t0 = now_ns();
	atomic_store(&a2_go, run_gen);
	if (t->op == OP_MIGRATE)
		ops = migrate_all(t);
	else
		for (i = 0; i < t->iters; i++)
			ops += one_op(t, t->mem, page_size);
	if (t->senders > 1) {
		while (atomic_load(&a2_done) != run_gen)
			sched_yield();
		ops += atomic_load(&a2_ops);
	}
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
	unsigned long r;

	pthread_mutex_lock(&lock);
	quit = true;
	pthread_cond_broadcast(&wake);
	pthread_mutex_unlock(&lock);
	for (r = 0; r < t->readers; r++)
		pthread_join(t->thread_b[r], NULL);
	if (t->senders > 1)
		pthread_join(t->thread_a2, NULL);
	if (t->migrator > 0) {
		close(t->to_mig);
		waitpid(t->migrator, NULL, 0);
	}
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
		{"pin-apart", no_argument, NULL, 'A'},
		{"readers", required_argument, NULL, 'r'},
		{"senders", required_argument, NULL, 's'},
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
			else if (!strcmp(optarg, "migrate"))
				t->op = OP_MIGRATE;
			else
				usage_error("--op must be mprotect, munmap, madvise or migrate",
					    optarg);
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
		case 'A':
			t->pin_apart = true;
			break;
		case 'r':
			t->readers = parse_count(optarg, "--readers", MAX_READERS);
			break;
		case 's':
			t->senders = parse_count(optarg, "--senders", 2);
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
	if (t->pin && t->pin_apart)
		usage_error("--pin and --pin-apart exclude each other", "--pin-apart");
	if (t->pin && t->op != OP_MPROTECT)
		usage_error("--pin goes with --op mprotect only", op_names[t->op]);
	if (t->pin_apart && t->op != OP_MPROTECT)
		usage_error("--pin-apart goes with --op mprotect only", op_names[t->op]);
	if (t->senders > 1 && (t->op != OP_MPROTECT || t->pin))
		usage_error("--senders 2 goes with --op mprotect only, without --pin",
			    op_names[t->op]);
	t->first_reader = CPU_B + (int)t->senders - 1;
}

int main(int argc, char **argv)
{
	struct tlbload t = {
		.op = OP_MPROTECT, .iters = 10000, .pages = 1, .readers = 1, .senders = 1};

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(&t, argc, argv);
	setup(&t);
	printf("ready pid=%d tid_a=%d tid_b=%d cpus=%d,%d op=%s iters=%lu pages=%lu addr=%p "
	       "pinned=%d readers=%lu senders=%lu migrator=%d pin_addr=%p\n",
	       (int)getpid(), (int)t.tid_a, (int)t.tid_b, CPU_A, t.first_reader, op_names[t.op],
	       t.iters, t.pages, (void *)t.mem, t.pin || t.pin_apart, t.readers, t.senders,
	       (int)t.migrator, (void *)t.pin_mem);
	if (t.loop)
		run(&t);
	else
		command_loop(&t);
	finish(&t);
	return 0;
}
