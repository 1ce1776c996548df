// SPDX-License-Identifier: BSD-2-Clause
/* pinscope report: the pin-holder report of a live run (-d TIME) or of a recording (FILE). */
#include "cmd.h"
#include "agg.h"
#include "log.h"
#include "report.h"
#include "rows.h"
#include "session.h"
#include "replay.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: pinscope report -d TIME [-p PID] [-c CGROUP] [-j] [-s KEY] [--subsystem NAME]\n"
	"       pinscope report FILE [-j] [-s KEY] [--subsystem NAME]\n"
	"Trace for TIME and report who holds pages pinned, how many, since when, and how that\n"
	"compares with the kernel's own counters (VmPin, nr_foll_pin_*); or report a recording\n"
	"made by 'pinscope record' (the same report the live run would have "
	"printed).\n\n" COMMON_HELP
	"  -s, --sort KEY         pages (default), pid, age, comm, acquired\n"
	"      --subsystem NAME   only holders of this subsystem (io_uring, vfio, rdma, ...)\n"
	"      --no-seed          do not look for pins that predate the run\n";

static const struct option extra[] = {
	{"sort", required_argument, NULL, 's'},
	{"subsystem", required_argument, NULL, 'S'},
	{"no-seed", no_argument, NULL, 'N'},
	{0},
};

struct report_args {
	struct report_opts ro;
	bool no_seed;
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
		r->ro.only_subsys = arg;
		return -1;
	case 'N':
		r->no_seed = true;
		return -1;
	}
	return PS_EXIT_USAGE;
}

int cmd_report(int argc, char **argv)
{
	struct report_args r = {};
	struct ps_opts o;
	struct agg a;
	int rc = opts_parse(argc, argv, &o, extra, "s:", on_opt, &r, usage);

	if (rc >= 0)
		return rc;
	r.ro.json = o.json;
	if (o.argc > 1)
		return usage_error("report", "one FILE at most, got '%s' too", o.argv[1]);
	if (o.argc == 1 && o.duration_ns)
		return usage_error("report", "give either FILE or -d TIME, not both");
	if (!o.argc && !o.duration_ns)
		return usage_error("report", "give -d TIME for a live report, or a FILE to read");
	if (agg_init(&a, NULL)) {
		ps_err("report: out of memory");
		return PS_EXIT_RUNTIME;
	}
	if (o.argc == 1) {
		rc = replay_file(o.argv[0], &a);
	} else {
		struct session_opts so = {
			.pid = o.pid,
			.cgroup_id = o.cgroup_id,
			.duration_ns = o.duration_ns,
			.interval_ns = o.interval_ns,
			.no_seed = r.no_seed,
		};
		struct session_sink sink = {};

		session_install_signals();
		rc = session_run(&so, &a, &sink);
	}
	if (rc == PS_EXIT_OK || rc == PS_EXIT_PARTIAL)
		report_print(stdout, &a, &r.ro);
	agg_free(&a);
	return rc;
}
