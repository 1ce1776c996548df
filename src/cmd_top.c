// SPDX-License-Identifier: BSD-2-Clause
/* pinscope top: the live view of pin holders. Batch mode prints plain snapshots like top -b. */
#include "cmd.h"
#include "agg.h"
#include "json.h"
#include "log.h"
#include "rows.h"
#include "session.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROWS 4096

static const char usage[] =
	"Usage: pinscope top [-b] [-n COUNT] [-i TIME] [-p PID] [-c CGROUP] [-j] [-s KEY]\n"
	"Live view of who holds pages pinned. With -b (or when stdout is not a terminal) print a\n"
	"plain snapshot every interval, like top -b; with -j one JSON object per "
	"interval.\n\n" COMMON_HELP
	"  -b, --batch            plain snapshots instead of the full-screen view\n"
	"  -n, --iterations N     stop after N snapshots\n"
	"  -s, --sort KEY         pages (default), pid, age, comm, acquired\n"
	"      --subsystem NAME   only holders of this subsystem\n";

static const struct option extra[] = {
	{"batch", no_argument, NULL, 'b'},
	{"iterations", required_argument, NULL, 'n'},
	{"sort", required_argument, NULL, 's'},
	{"subsystem", required_argument, NULL, 'S'},
	{0},
};

struct top {
	bool batch, json;
	uint64_t iterations, done;
	int sort;
	const char *subsys;
	struct holder_row *rows;
};

static int on_opt(int c, const char *arg, void *ctx)
{
	static const char *const keys[SORT_MAX] = {"pages", "pid", "age", "comm", "acquired"};
	struct top *t = ctx;

	switch (c) {
	case 'b':
		t->batch = true;
		return -1;
	case 'n':
		if (parse_u64(arg, UINT32_MAX, &t->iterations) || !t->iterations)
			return usage_error("top", "--iterations: '%s' is not a positive count",
					   arg);
		return -1;
	case 's':
		for (int i = 0; i < SORT_MAX; i++)
			if (!strcmp(arg, keys[i])) {
				t->sort = i;
				return -1;
			}
		return usage_error("top", "--sort: unknown key '%s'", arg);
	case 'S':
		t->subsys = arg;
		return -1;
	}
	return PS_EXIT_USAGE;
}

static void snapshot_text(struct top *t, struct agg *a, int n)
{
	uint64_t lt = 0, st = 0;
	char b[32];

	for (int i = 0; i < n; i++) {
		lt += t->rows[i].longterm_pages;
		st += t->rows[i].shortterm_pages;
	}
	printf("pinscope top: %.1fs  holders %d  long-term %" PRIu64
	       " pages (%s)  short-term %" PRIu64 " pages  lost %" PRIu64 "\n",
	       (double)(a->now_ns - a->start_ns) / NSEC_PER_SEC, n, lt,
	       fmt_bytes(lt * 4096, b, sizeof(b)), st,
	       (uint64_t)(a->loss.drops[PS_DROP_RINGBUF] + a->loss.drops[PS_DROP_MAP_FULL] +
			  a->loss.malformed));
	rows_text_header(stdout);
	for (int i = 0; i < n; i++)
		rows_text(stdout, &t->rows[i]);
	putchar('\n');
}

static void snapshot_json(struct top *t, struct agg *a, int n)
{
	struct json *j = json_new(stdout);

	json_obj_begin(j, NULL);
	json_u64(j, "elapsed_ns", a->now_ns - a->start_ns);
	json_arr_begin(j, "holders");
	for (int i = 0; i < n; i++)
		rows_json(j, &t->rows[i]);
	json_arr_end(j);
	json_obj_end(j);
	json_free(j);
}

static int on_tick(void *ctx, struct agg *a)
{
	struct top *t = ctx;
	int n = rows_build(a, t->rows, MAX_ROWS, t->sort, t->subsys);

	if (t->json)
		snapshot_json(t, a, n);
	else
		snapshot_text(t, a, n);
	fflush(stdout);
	t->done++;
	return t->iterations && t->done >= t->iterations;
}

int cmd_top(int argc, char **argv)
{
	struct top t = {};
	struct ps_opts o;
	struct agg a;
	int rc = opts_parse(argc, argv, &o, extra, "bn:s:", on_opt, &t, usage);

	if (rc >= 0)
		return rc;
	if (o.argc)
		return usage_error("top", "unexpected argument '%s'", o.argv[0]);
	t.json = o.json;
	if (!isatty(STDOUT_FILENO) || t.json)
		t.batch = true;
	t.rows = calloc(MAX_ROWS, sizeof(*t.rows));
	if (!t.rows || agg_init(&a, NULL)) {
		ps_err("top: out of memory");
		free(t.rows);
		return PS_EXIT_RUNTIME;
	}
	{
		struct session_opts so = {
			.pid = o.pid,
			.cgroup_id = o.cgroup_id,
			.duration_ns = o.duration_ns,
			.interval_ns = o.interval_ns,
		};
		struct session_sink sink = {.on_tick = on_tick, .ctx = &t};

		session_install_signals();
		rc = session_run(&so, &a, &sink);
	}
	agg_free(&a);
	free(t.rows);
	return rc;
}
