// SPDX-License-Identifier: BSD-2-Clause
/*
 * pinscope top: the live view of pin holders. On a terminal the full-screen view (view_top.c);
 * with -b, or when stdin/stdout is not a terminal, plain snapshots like top -b; -j JSON lines.
 */
#include "cmd.h"
#include "agg.h"
#include "json.h"
#include "log.h"
#include "report_tlb.h"
#include "rows.h"
#include "session.h"
#include "snap.h"
#include "util.h"
#include "view_top.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: pinscope top [-b] [-n COUNT] [-i TIME] [-p PID] [-c CGROUP] [-j] [-s KEY] [-r]\n"
	"Live view of who holds pages pinned. On a terminal a full-screen view (press ? for its\n"
	"keys); with -b, or when stdout is not a terminal, a plain snapshot every interval like\n"
	"top -b; with -j one JSON object per interval.\n\n" COMMON_HELP
	"  -b, --batch            plain snapshots instead of the full-screen view\n"
	"  -n, --iterations N     stop after N snapshots\n"
	"  -s, --sort KEY         a column: pages (default), pid, age, comm, acquired, or any\n"
	"                         column header or JSON key (vmpin_kb, ACQ/s, ...)\n"
	"  -r, --reverse          reverse the sort order\n"
	"      --subsystem NAME   only holders of this subsystem\n";

static const struct option extra[] = {
	{"batch", no_argument, NULL, 'b'},	{"iterations", required_argument, NULL, 'n'},
	{"sort", required_argument, NULL, 's'}, {"subsystem", required_argument, NULL, 'S'},
	{"reverse", no_argument, NULL, 'r'},	{0},
};

struct top {
	bool batch, json, reverse;
	uint64_t iterations, done;
	int sort_col;
	const char *subsys;
	struct holder_row *rows;
	int cap;
};

static int on_opt(int c, const char *arg, void *ctx)
{
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
		t->sort_col = rows_col_find(arg);
		if (t->sort_col < 0)
			return usage_error("top", "--sort: unknown key '%s'", arg);
		return -1;
	case 'r':
		t->reverse = true;
		return -1;
	case 'S':
		if (!subsys_known(arg))
			return usage_error("top", "--subsystem: unknown subsystem '%s' (%s)", arg,
					   subsys_names());
		t->subsys = arg;
		return -1;
	}
	return PS_EXIT_USAGE;
}

static int build(struct top *t, struct agg *a)
{
	struct row_filter f = {.subsys = t->subsys};
	int n = rows_collect(a, t->rows, t->cap, &f);

	rows_sort(t->rows, n, t->sort_col, t->reverse);
	return n;
}

static void snapshot_text(struct top *t, struct agg *a, int n)
{
	char lines[SNAP_LINES][SNAP_LINE_LEN], buf[512];
	struct snap s;
	int nl;

	snap_take(&s, a);
	nl = snap_text(&s, lines);
	for (int i = 0; i < nl; i++)
		printf("%s\n", lines[i]);
	report_tlb_top_line(stdout, a);
	putchar('\n');
	rows_header_str(buf, sizeof(buf), ROWS_LIVE);
	printf("%s\n", buf);
	for (int i = 0; i < n; i++) {
		rows_text_str(buf, sizeof(buf), &t->rows[i], ROWS_LIVE);
		printf("%s\n", buf);
	}
	if (!n)
		printf("(no pin holders seen)\n");
	putchar('\n');
}

static void snapshot_json(struct top *t, struct agg *a, int n)
{
	struct json *j = json_new(stdout);
	struct snap s;

	snap_take(&s, a);
	json_obj_begin(j, NULL);
	snap_json(j, &s);
	report_tlb_top_json(j, a);
	json_arr_begin(j, "holders");
	for (int i = 0; i < n; i++)
		rows_json_set(j, &t->rows[i], ROWS_LIVE);
	json_arr_end(j);
	json_obj_end(j);
	json_free(j);
}

/*
 * A live view runs for days: give back what loading left behind (vmlinux BTF, kallsyms, libbpf's
 * scratch), and keep glibc from raising its mmap threshold to the size of those buffers, after
 * which it would keep megabytes of freed heap resident.
 */
static void memory_setup(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	mallopt(M_TRIM_THRESHOLD, 256 << 10);
}

void top_trim_memory(void)
{
	static bool done;

	if (!done)
		malloc_trim(0);
	done = true;
}

static int on_tick(void *ctx, struct agg *a)
{
	struct top *t = ctx;
	int n = build(t, a);

	top_trim_memory();

	if (t->json)
		snapshot_json(t, a, n);
	else
		snapshot_text(t, a, n);
	fflush(stdout);
	t->done++;
	return t->iterations && t->done >= t->iterations;
}

static int run(struct top *t, const struct ps_opts *o, struct agg *a)
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
	};
	struct session_sink sink = {.on_tick = on_tick, .ctx = t};
	struct view_cfg vc = {
		.sort_col = t->sort_col,
		.reverse = t->reverse,
		.subsys = t->subsys,
		.iterations = t->iterations,
	};
	struct view *v = NULL;
	int rc;

	if (!t->batch) {
		v = view_new(a, &vc);
		if (!v)
			return -1;
		sink = (struct session_sink){.wait = view_wait, .on_tick = view_tick, .ctx = v};
	}
	session_install_signals();
	rc = session_run(&so, a, &sink);
	view_free(v);
	return rc;
}

int cmd_top(int argc, char **argv)
{
	struct top t = {.sort_col = rows_col_of_sort(SORT_PAGES)};
	struct ps_opts o;
	struct agg a;
	int rc = opts_parse(argc, argv, &o, extra, "bn:s:r", on_opt, &t, usage);

	if (rc >= 0)
		return rc;
	if (o.argc)
		return usage_error("top", "unexpected argument '%s'", o.argv[0]);
	t.json = o.json;
	memory_setup();
	if (t.json || !view_possible())
		t.batch = true;
	t.cap = agg_default_limits.max_holders;
	t.rows = t.batch ? calloc(t.cap, sizeof(*t.rows)) : NULL;
	if ((t.batch && !t.rows) || agg_init(&a, NULL)) {
		ps_err("top: out of memory");
		free(t.rows);
		return PS_EXIT_RUNTIME;
	}
	rc = run(&t, &o, &a);
	if (rc < 0) {
		ps_err("top: out of memory");
		rc = PS_EXIT_RUNTIME;
	}
	agg_free(&a);
	free(t.rows);
	return rc;
}
