// SPDX-License-Identifier: BSD-2-Clause
/* pinscope record: capture the events of a live run to a file, or keep the last window in memory
 * (--ring) and write it out on SIGUSR1. `pinscope report FILE` reads either. */
#include "cmd.h"
#include "agg.h"
#include "flight.h"
#include "log.h"
#include "recorder.h"
#include "session.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: pinscope record -o FILE [-d TIME] [-p PID] [-c CGROUP] [-i TIME] [--size-limit "
	"SIZE]\n"
	"       pinscope record --ring TIME|SIZE -o FILE [-p PID] [-c CGROUP]\n"
	"Capture every event of a live run (with the names of the stacks, resolved now) to FILE,\n"
	"for 'pinscope report FILE' here or on another host. Stops on Ctrl-C or SIGTERM, after -d\n"
	"TIME or at --size-limit; FILE (mode 0600) is complete in every case.\n"
	"With --ring, keep only the last TIME (e.g. 30s) or SIZE (e.g. 64M, deflated) in memory "
	"and\n"
	"write it to FILE on SIGUSR1 and when the run ends; later dumps go to FILE.1, FILE.2, "
	"...\n\n" COMMON_HELP
	"  -o, --output FILE      where to write (a symbolic link is refused)\n"
	"      --size-limit SIZE  stop before FILE grows past SIZE (e.g. 100M; at least 64K)\n"
	"      --ring TIME|SIZE   flight recorder: keep the last TIME (at most 64M of it) or\n"
	"                         SIZE, write it out on SIGUSR1 and at the end\n"
	"      --no-seed          do not look for pins that predate the run\n";

static const struct option extra[] = {
	{"output", required_argument, NULL, 'o'},
	{"size-limit", required_argument, NULL, 'L'},
	{"ring", required_argument, NULL, 'R'},
	{"no-seed", no_argument, NULL, 'N'},
	{0},
};

struct rec_args {
	const char *out;
	uint64_t size_limit;
	uint64_t ring_ns, ring_bytes;
	bool ring, no_seed;
};

/* "30s", "2m", "30" (seconds) or "64M", "512K", "1G" (bytes). */
static int parse_ring(const char *s, struct rec_args *r)
{
	size_t n = strlen(s);
	char last = n ? s[n - 1] : 0;

	if (last == 'B' || last == 'K' || last == 'M' || last == 'G')
		return parse_size(s, &r->ring_bytes) || r->ring_bytes < (64u << 10) ? -1 : 0;
	return parse_duration_ns(s, &r->ring_ns) || r->ring_ns < NSEC_PER_SEC ? -1 : 0;
}

static int on_opt(int c, const char *arg, void *ctx)
{
	struct rec_args *r = ctx;

	switch (c) {
	case 'o':
		r->out = arg;
		return -1;
	case 'L':
		if (parse_size(arg, &r->size_limit) || r->size_limit < TRACE_MIN_SIZE_LIMIT)
			return usage_error("record",
					   "--size-limit: '%s' is not a size of 64K or more", arg);
		return -1;
	case 'R':
		r->ring = true;
		if (parse_ring(arg, r))
			return usage_error("record",
					   "--ring: '%s' is neither a time of 1s or more (30s, 5m) "
					   "nor a size of 64K or more (64M)",
					   arg);
		return -1;
	case 'N':
		r->no_seed = true;
		return -1;
	}
	return PS_EXIT_USAGE;
}

static const char *open_error(int err)
{
	switch (err) {
	case -ELOOP:
		return "is a symbolic link (refused: give the real path)";
	case -EINVAL:
		return "is not a regular file";
	default:
		return strerror(-err);
	}
}

/* ---- plain recording ---------------------------------------------------------------------- */

static int rec_event(void *ctx, const union ps_event *e)
{
	return recorder_event(ctx, e);
}

static int rec_tick(void *ctx, struct agg *a)
{
	(void)a;
	return recorder_tick(ctx);
}

static void rec_setup(void *ctx, const struct ps_choice *c, int n)
{
	recorder_setup(ctx, c, n);
}

static int record_file(const struct ps_opts *o, const struct rec_args *ra, struct session_opts *so)
{
	struct recorder_opts ro = {
		.size_limit = ra->size_limit,
		.filter_pid = o->pid,
		.filter_cgroup = o->cgroup_id,
		.interval_ns = o->interval_ns,
	};
	struct trace_writer_stats st;
	struct session_sink sink = {
		.on_event = rec_event,
		.on_tick = rec_tick,
		.on_setup = rec_setup,
	};
	struct recorder *rec;
	const char *why;
	struct agg a;
	int rc, err;
	char b[32];

	if (agg_init(&a, NULL)) {
		ps_err("record: out of memory");
		return PS_EXIT_RUNTIME;
	}
	err = recorder_open(&rec, ra->out, &ro, NULL);
	if (err) {
		ps_err("record: %s: %s", ra->out, open_error(err));
		agg_free(&a);
		return PS_EXIT_RUNTIME;
	}
	sink.ctx = rec;
	rc = session_run(so, &a, &sink);
	if (rc && !recorder_started(rec)) {
		recorder_discard(rec);
		agg_free(&a);
		return rc;
	}
	why = recorder_stop_reason(rec);
	if (!why)
		why = rc ? "error" : session_stop ? "signal" : "duration";
	err = recorder_close(rec, why, &st);
	agg_free(&a);
	if (err) {
		ps_err("record: writing %s: %s", ra->out, strerror(-err));
		return PS_EXIT_RUNTIME;
	}
	if (rc)
		return rc;
	fprintf(stderr,
		"pinscope: record: %" PRIu64 " events in %.1f s to %s (%s, %.1f bytes/event), "
		"stopped: %s\n",
		st.events,
		st.last_ts_ns > st.first_ts_ns
			? (double)(st.last_ts_ns - st.first_ts_ns) / NSEC_PER_SEC
			: 0.0,
		ra->out, fmt_bytes(st.file_bytes, b, sizeof(b)),
		st.events ? (double)st.file_bytes / st.events : 0.0, why);
	if (st.not_written)
		ps_warn("record: %" PRIu64 " events did not fit under --size-limit",
			st.not_written);
	return PS_EXIT_OK;
}

/* ---- flight recorder ---------------------------------------------------------------------- */

static volatile sig_atomic_t dump_wanted;

static void on_usr1(int sig)
{
	(void)sig;
	dump_wanted = 1;
}

struct ring {
	struct flight *f;
	const char *out;
	unsigned int dumps;
	sigset_t waitmask; /* SIGUSR1 unblocked: only while waiting */
	bool dump_pending; /* asked for; done once the session has read the BPF ring */
	int rc;
};

static void dump(struct ring *r)
{
	char path[4096];
	struct flight_stats st;
	int err;

	if (r->dumps)
		snprintf(path, sizeof(path), "%s.%u", r->out, r->dumps);
	else
		snprintf(path, sizeof(path), "%s", r->out);
	err = flight_dump(r->f, path, &st);
	if (err) {
		ps_err("record: dumping the ring to %s: %s", path, open_error(err));
		r->rc = PS_EXIT_RUNTIME;
		return;
	}
	r->dumps++;
	/* Scripts wait for this line. */
	fprintf(stderr,
		"pinscope: record: wrote the last %.1f s (%" PRIu64 " events, %" PRIu64
		" bytes) to %s\n",
		(double)st.span_ns / NSEC_PER_SEC, st.events, st.file_bytes, path);
}

static int ring_event(void *ctx, const union ps_event *e)
{
	struct ring *r = ctx;

	flight_event(r->f, e);
	return 0;
}

static int ring_tick(void *ctx, struct agg *a)
{
	struct ring *r = ctx;

	(void)a;
	flight_tick(r->f);
	return 0;
}

static void ring_setup(void *ctx, const struct ps_choice *c, int n)
{
	struct ring *r = ctx;

	flight_setup(r->f, c, n);
}

/* Waits for events with SIGUSR1 let through only here (ppoll), so a dump request is never
 * lost between the check and the wait. The dump itself waits for the next call: BPF wakes the
 * session only for a batch of records, and the session reads the ring after every wait, so
 * then the dump holds everything that happened before the request. */
static int ring_wait(void *ctx, int ring_fd, int timeout_ms)
{
	struct ring *r = ctx;
	struct pollfd p = {.fd = ring_fd, .events = POLLIN};
	struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};

	if (r->dump_pending) {
		r->dump_pending = false;
		dump(r);
	}
	if (!dump_wanted)
		ppoll(&p, 1, &ts, &r->waitmask);
	if (dump_wanted) {
		dump_wanted = 0;
		r->dump_pending = true;
	}
	return 0;
}

static int check_writable(const char *path)
{
	char probe[4096 + 32];
	int fd;

	snprintf(probe, sizeof(probe), "%s.tmp.%d", path, (int)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	unlink(probe);
	return 0;
}

static int record_ring(const struct ps_opts *o, const struct rec_args *ra, struct session_opts *so)
{
	struct flight_opts fo = {
		.window_ns = ra->ring_ns,
		.max_bytes = ra->ring_bytes,
		.filter_pid = o->pid,
		.filter_cgroup = o->cgroup_id,
		.interval_ns = o->interval_ns,
	};
	struct ring r = {.out = ra->out};
	struct session_sink sink = {
		.on_event = ring_event,
		.on_tick = ring_tick,
		.on_setup = ring_setup,
		.wait = ring_wait,
		.ctx = &r,
	};
	struct sigaction sa = {.sa_handler = on_usr1};
	sigset_t block, old;
	struct agg a;
	int rc;

	/* Find out now, not at the first dump, that FILE cannot be written. */
	rc = check_writable(ra->out);
	if (rc) {
		ps_err("record: %s: %s", ra->out, open_error(rc));
		return PS_EXIT_RUNTIME;
	}
	r.f = flight_new(&fo);
	if (!r.f || agg_init(&a, NULL)) {
		flight_free(r.f);
		ps_err("record: out of memory");
		return PS_EXIT_RUNTIME;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	r.waitmask = old;
	sigdelset(&r.waitmask, SIGUSR1);
	rc = session_run(so, &a, &sink);
	if (!rc && r.dump_pending)
		dump(&r);
	if (!rc)
		dump(&r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	flight_free(r.f);
	agg_free(&a);
	return rc ? rc : r.rc;
}

int cmd_record(int argc, char **argv)
{
	struct rec_args ra = {};
	struct ps_opts o;
	int rc = opts_parse(argc, argv, &o, extra, "o:", on_opt, &ra, usage);
	struct session_opts so;

	if (rc >= 0)
		return rc;
	if (!ra.out)
		return usage_error("record", "give the file to write with -o FILE");
	if (o.argc)
		return usage_error("record", "unexpected argument '%s'", o.argv[0]);
	if (o.json)
		return usage_error("record", "-j does not apply: the recording is the output");
	if (ra.ring && ra.size_limit)
		return usage_error("record", "--ring and --size-limit do not go together (the ring "
					     "is bounded by its own TIME or SIZE)");
	so = (struct session_opts){
		.pid = o.pid,
		.cgroup_id = o.cgroup_id,
		.duration_ns = o.duration_ns,
		.interval_ns = o.interval_ns,
		.buffer_bytes = o.buffer_bytes,
		.churn_window_ns = o.churn_window_ns,
		.tlb_sample = o.tlb_sample,
		.tlb_local = o.tlb_local,
		.no_tlb = o.no_tlb,
		.no_seed = ra.no_seed,
	};
	session_install_signals();
	return ra.ring ? record_ring(&o, &ra, &so) : record_file(&o, &ra, &so);
}
