// SPDX-License-Identifier: BSD-2-Clause
/*
 * The floor of tracing: an empty BPF program (r0 = 0; exit) attached to each tracepoint given,
 * so that a benchmark can tell what any program on those tracepoints costs the workload from
 * what pinscope's programs do on top of it. Built by tools/bench/run.sh.
 *
 *   floor raw:GROUP/NAME... tp:GROUP/NAME...
 *
 * raw: a raw tracepoint (BPF_PROG_TYPE_RAW_TRACEPOINT, attached by name); tp: a classic
 * tracepoint (BPF_PROG_TYPE_TRACEPOINT through a perf event, its record filled first). Says
 * "ready: N attached" on stderr once all are attached, then waits for SIGINT or SIGTERM.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct bpf_insn ret0[] = {
	{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	{.code = BPF_JMP | BPF_EXIT},
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int prog(enum bpf_prog_type type)
{
	int fd = bpf_prog_load(type, "floor", "GPL", ret0, 2, NULL);

	if (fd < 0)
		fprintf(stderr, "floor: loading an empty program: %s\n", strerror(errno));
	return fd;
}

static int tp_id(const char *name)
{
	char path[512];
	FILE *f;
	int id = -1;

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", name);
	f = fopen(path, "re");
	if (!f && errno == ENOENT && !mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &id) != 1)
		id = -1;
	fclose(f);
	return id;
}

static int attach_tp(int prog_fd, const char *name)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(a),
		.sample_period = 1,
		.wakeup_events = 1,
	};
	int id = tp_id(name), fd;

	if (id < 0) {
		fprintf(stderr, "floor: no tracepoint %s in tracefs\n", name);
		return -1;
	}
	a.config = id;
	fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 || ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) ||
	    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		fprintf(stderr, "floor: attaching to %s: %s\n", name, strerror(errno));
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	int raw = -1, tp = -1, n = 0;
	sigset_t block, old;

	if (argc < 2) {
		fprintf(stderr, "usage: floor raw:GROUP/NAME... tp:GROUP/NAME...\n");
		return 2;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "raw:", 4)) {
			const char *slash = strchr(a + 4, '/'), *name = slash ? slash + 1 : a + 4;

			if (raw < 0 && (raw = prog(BPF_PROG_TYPE_RAW_TRACEPOINT)) < 0)
				return 1;
			if (bpf_raw_tracepoint_open(name, raw) < 0) {
				fprintf(stderr, "floor: attaching to raw tracepoint %s: %s\n", name,
					strerror(errno));
				return 1;
			}
		} else if (!strncmp(a, "tp:", 3)) {
			if (tp < 0 && (tp = prog(BPF_PROG_TYPE_TRACEPOINT)) < 0)
				return 1;
			if (attach_tp(tp, a + 3) < 0)
				return 1;
		} else {
			fprintf(stderr, "floor: '%s' is not raw:GROUP/NAME or tp:GROUP/NAME\n", a);
			return 2;
		}
		n++;
	}
	fprintf(stderr, "ready: %d attached\n", n);
	while (!stop)
		sigsuspend(&old);
	return 0;
}
