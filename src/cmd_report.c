// SPDX-License-Identifier: BSD-2-Clause
/* pinscope report: the pin-holder report of a live run (-d TIME) or of a recording (FILE). */
#include "cmd.h"
#include "agg.h"
#include "cgname.h"
#include "log.h"
#include "report.h"
#include "rows.h"
#include "session.h"
#include "replay.h"
#include "recorder.h"
#include "symbolize.h"
#include "symtab.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: pinscope report -d TIME [-p PID] [-c CGROUP] [-j] [-s KEY] [--subsystem NAME]\n"
	"                       [-o FILE]\n"
	"       pinscope report FILE [-j] [-s KEY] [--subsystem NAME]\n"
	"Trace for TIME and report who holds pages pinned, how many, since when, and how that\n"
	"compares with the kernel's own counters (VmPin, nr_foll_pin_*); or report a recording\n"
	"made by 'pinscope record' (the same report the live run would have "
	"printed).\n\n" COMMON_HELP
	"  -s, --sort KEY         pages (default), pid, age, comm, acquired\n"
	"      --subsystem NAME   only holders of this subsystem (io_uring, vfio, rdma, ...)\n"
	"      --no-seed          do not look for pins that predate the run\n"
	"  -o, --record FILE      also record the run to FILE: 'report FILE' prints this report\n";

static const struct option extra[] = {
	{"sort", required_argument, NULL, 's'},
	{"subsystem", required_argument, NULL, 'S'},
	{"no-seed", no_argument, NULL, 'N'},
	{"record", required_argument, NULL, 'o'},
	{0},
};

struct report_args {
	struct report_opts ro;
	bool no_seed;
	const char *record;
};

static int parse_sort(const char *s)
{
	static const char *const keys[SORT_MAX] = {"pages", "pid", "age", "comm", "acquired"};

	for (int i = 0; i < SORT_MAX; i++)
		if (!strcmp(s, keys[i]))
			return i;
	return -1;
}

static int on_opt(int c, const char *arg, void *ctx)
{
	struct report_args *r = ctx;

	switch (c) {
	case 's':
		r->ro.sort = parse_sort(arg);
		if (r->ro.sort < 0)
			return usage_error("report", "--sort: unknown key '%s'", arg);
		return -1;
	case 'S':
		if (!subsys_known(arg))
			return usage_error("report", "--subsystem: unknown subsystem '%s' (%s)",
					   arg, subsys_names());
		r->ro.only_subsys = arg;
		return -1;
	case 'N':
		r->no_seed = true;
		return -1;
	case 'o':
		r->record = arg;
		return -1;
	}
	return PS_EXIT_USAGE;
}

/* The live run's sink: names the stacks while the processes exist, and records if asked. */
struct live {
	struct symtab *syms;
	struct symbolizer *sz;
	struct recorder *rec;
};

static int live_event(void *ctx, const union ps_event *e)
{
	struct live *l = ctx;

	if (l->rec)
		return recorder_event(l->rec, e);
	symtab_note_event(l->syms, l->sz, e);
	return 0;
}

static int live_tick(void *ctx, struct agg *a)
{
	struct live *l = ctx;

	(void)a;
	return l->rec ? recorder_tick(l->rec) : 0;
}

static void live_setup(void *ctx, const struct ps_choice *c, int n)
{
	struct live *l = ctx;

	if (l->rec)
		recorder_setup(l->rec, c, n);
}

static int run_live(const struct ps_opts *o, const struct report_args *r, struct agg *a,
		    struct symtab *syms)
{
	struct session_opts so = {
		.pid = o->pid,
		.cgroup_id = o->cgroup_id,
		.duration_ns = o->duration_ns,
		.interval_ns = o->interval_ns,
		.buffer_bytes = o->buffer_bytes,
		.churn_window_ns = o->churn_window_ns,
		.tlb_sample = o->tlb_sample,
		.tlb_local = o->tlb_local,
		.no_tlb = o->no_tlb,
		.no_seed = r->no_seed,
	};
	struct live l = {.syms = syms};
	struct session_sink sink = {
		.on_event = live_event,
		.on_tick = live_tick,
		.on_setup = live_setup,
		.ctx = &l,
	};
	int rc, err;

	if (r->record) {
		struct recorder_opts ro = {
			.filter_pid = o->pid,
			.filter_cgroup = o->cgroup_id,
			.interval_ns = o->interval_ns,
		};

		err = recorder_open(&l.rec, r->record, &ro, syms);
		if (err) {
			ps_err("report: --record %s: %s", r->record,
			       err == -ELOOP ? "is a symbolic link (refused)" : strerror(-err));
			return PS_EXIT_RUNTIME;
		}
	} else {
		l.sz = symbolizer_new();
	}
	session_install_signals();
	rc = session_run(&so, a, &sink);
	if (l.rec && rc && !recorder_started(l.rec)) {
		recorder_discard(l.rec);
		l.rec = NULL;
	}
	if (l.rec) {
		struct trace_writer_stats st;
		const char *why = recorder_stop_reason(l.rec);

		err = recorder_close(l.rec, why ? why : session_stop ? "signal" : "end", &st);
		if (err) {
			ps_err("report: --record %s: %s", r->record, strerror(-err));
			rc = PS_EXIT_RUNTIME;
		} else {
			ps_info(1, "recorded %" PRIu64 " events (%" PRIu64 " bytes) to %s",
				st.events, st.file_bytes, r->record);
		}
	}
	symbolizer_free(l.sz);
	return rc;
}

static void print_recording(const char *path, const struct trace_meta *m)
{
	printf("recording %s: host %s, kernel %s, pinscope %s", path,
	       *m->hostname ? m->hostname : "?", *m->kernel_release ? m->kernel_release : "?",
	       *m->pinscope_version ? m->pinscope_version : "?");
	if (m->filter_pid)
		printf(", only pid %" PRIu64, m->filter_pid);
	if (m->filter_cgroup)
		printf(", only cgroup %" PRIu64, m->filter_cgroup);
	printf("; tiers: %s\n\n", *m->tiers ? m->tiers : "?");
}

int cmd_report(int argc, char **argv)
{
	struct report_args r = {};
	struct trace_meta meta;
	struct symtab *syms;
	struct ps_opts o;
	struct agg a;
	int rc = opts_parse(argc, argv, &o, extra, "s:o:", on_opt, &r, usage);

	if (rc >= 0)
		return rc;
	r.ro.json = o.json;
	if (o.argc > 1)
		return usage_error("report", "one FILE at most, got '%s' too", o.argv[1]);
	if (o.argc == 1 && o.duration_ns)
		return usage_error("report", "give either FILE or -d TIME, not both");
	if (!o.argc && !o.duration_ns)
		return usage_error("report", "give -d TIME for a live report, or a FILE to read");
	if (o.argc == 1 && (o.pid || o.cgroup_id || o.interval_ns))
		return usage_error("report", "-p, -c and -i shape a live run; a FILE was recorded "
					     "with its own (its header says which)");
	if (o.argc == 1 && r.record)
		return usage_error("report", "--record goes with a live run (-d TIME), not a FILE");
	syms = symtab_new();
	if (!syms || agg_init(&a, NULL)) {
		symtab_free(syms);
		ps_err("report: out of memory");
		return PS_EXIT_RUNTIME;
	}
	r.ro.syms = syms;
	/* Cgroup names as the run saw them (a recording's, read anywhere later), not as now. */
	cgname_use(syms);
	if (o.argc == 1) {
		rc = replay_file(o.argv[0], &a, syms, &meta);
		if ((rc == PS_EXIT_OK || rc == PS_EXIT_PARTIAL) && !o.json)
			print_recording(o.argv[0], &meta);
	} else {
		rc = run_live(&o, &r, &a, syms);
	}
	if (rc == PS_EXIT_OK || rc == PS_EXIT_PARTIAL)
		report_print(stdout, &a, &r.ro);
	agg_free(&a);
	cgname_use(NULL);
	symtab_free(syms);
	return rc;
}
