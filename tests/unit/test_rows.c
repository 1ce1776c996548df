// SPDX-License-Identifier: BSD-2-Clause
/* Rows for the live view: per-interval rates from tick marks, sorting by any column, filters. */
#include "unit.h"
#include "agg.h"
#include "rows.h"
#include "snap.h"

#include <string.h>

static uint64_t ts = 1000;

static void ev(struct agg *a, union ps_event *e, unsigned int type, size_t size, uint32_t tgid)
{
	e->h.type = type;
	e->h.size = size;
	e->h.tgid = tgid;
	e->h.ts_ns = ts;
	agg_apply(a, e);
}

static void mark(struct agg *a, unsigned int kind)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.mark.kind = kind;
	ev(a, &e, PS_EV_MARK, sizeof(e.mark), 1);
}

static void pin(struct agg *a, uint32_t tgid, uint64_t obj, uint32_t slot, uint64_t pages,
		uint64_t cgroup)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.flags = PS_F_LONGTERM;
	e.h.cgroup_id = cgroup;
	strcpy(e.h.comm, tgid == 1 ? "zeta" : "alpha");
	e.pin.obj = obj;
	e.pin.slot = slot;
	e.pin.subsys = PS_SUB_IO_URING;
	e.pin.uaddr = 0x100000 * (slot + 1);
	e.pin.len = pages * 4096;
	e.pin.pages = pages;
	e.pin.acct_pages = pages;
	ev(a, &e, PS_EV_PIN, sizeof(e.pin), tgid);
}

static void unpin_all(struct agg *a, uint64_t obj)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.unpin.obj = obj;
	e.unpin.slot = PS_SLOT_ALL;
	e.unpin.subsys = PS_SUB_IO_URING;
	ev(a, &e, PS_EV_UNPIN, sizeof(e.unpin), 0);
}

static const struct holder_row *row_of(const struct holder_row *rows, int n, uint32_t pid)
{
	for (int i = 0; i < n; i++)
		if (rows[i].pid == pid)
			return &rows[i];
	return NULL;
}

UNIT_TEST(rows_rates_per_interval)
{
	static struct holder_row rows[8];
	const struct holder_row *r;
	struct agg a;
	int n;

	CHECK(agg_init(&a, NULL) == 0);
	mark(&a, PS_MARK_START);
	pin(&a, 1, 0xa, 0, 100, 0);
	ts += 500000000; /* 0.5 s interval: 100 pages -> 200/s */
	mark(&a, PS_MARK_TICK);
	n = rows_collect(&a, rows, 8, NULL);
	r = row_of(rows, n, 1);
	CHECK(r != NULL);
	CHECK_EQ((uint64_t)(r->acquire_rate + 0.5), 200);
	CHECK_EQ((uint64_t)r->release_rate, 0);
	ts += 2000000000; /* nothing happens for 2 s */
	unpin_all(&a, 0xa);
	mark(&a, PS_MARK_TICK);
	n = rows_collect(&a, rows, 8, NULL);
	r = row_of(rows, n, 1);
	CHECK_EQ((uint64_t)r->acquire_rate, 0);
	CHECK_EQ((uint64_t)(r->release_rate + 0.5), 50);
	agg_free(&a);
}

UNIT_TEST(rows_sort_any_column_and_filter)
{
	static struct holder_row rows[8];
	struct row_filter f = {0};
	struct agg a;
	int n;

	CHECK(agg_init(&a, NULL) == 0);
	mark(&a, PS_MARK_START);
	pin(&a, 1, 0xa, 0, 10, 77); /* "zeta": fewer pages, smaller pid */
	pin(&a, 2, 0xb, 0, 30, 88); /* "alpha" */
	n = rows_collect(&a, rows, 8, NULL);
	CHECK_EQ(n, 2);
	rows_sort(rows, n, rows_col_find("PAGES"), false);
	CHECK_EQ(rows[0].pid, 2); /* numbers: largest first */
	rows_sort(rows, n, rows_col_find("pages"), true);
	CHECK_EQ(rows[0].pid, 1);
	rows_sort(rows, n, rows_col_find("comm"), false);
	CHECK_EQ(rows[0].pid, 2); /* names: ascending */
	rows_sort(rows, n, rows_col_find("pid"), false);
	CHECK_EQ(rows[0].pid, 1);
	CHECK(rows_col_find("no-such-column") < 0);
	CHECK_EQ(rows_col_of_sort(SORT_PAGES), rows_col_find("pinned_pages"));
	/* < and > walk the text columns only, wrapping around. */
	CHECK_EQ(rows_col_next(rows_col_find("pid"), -1, ROWS_LIVE), rows_col_find("cgroup"));
	CHECK_EQ(rows_col_next(rows_col_find("AGE"), 1, ROWS_LIVE), rows_col_find("ACQ/s"));
	CHECK_EQ(rows_col_next(rows_col_find("AGE"), 1, ROWS_REPORT), rows_col_find("state"));
	f.cgroup_id = 88;
	n = rows_collect(&a, rows, 8, &f);
	CHECK_EQ(n, 1);
	CHECK_EQ(rows[0].pid, 2);
	f.cgroup_id = 0;
	f.pid = 1;
	n = rows_collect(&a, rows, 8, &f);
	CHECK(n == 1 && rows[0].pid == 1);
	f.pid = 0;
	f.subsys = "vfio";
	CHECK_EQ(rows_collect(&a, rows, 8, &f), 0);
	agg_free(&a);
}

UNIT_TEST(rows_text_and_header_line_up)
{
	static struct holder_row rows[2];
	char h[512], t[512];
	size_t off, w;
	struct agg a;

	CHECK(agg_init(&a, NULL) == 0);
	mark(&a, PS_MARK_START);
	pin(&a, 4242, 0xa, 0, 64, 0);
	CHECK_EQ(rows_collect(&a, rows, 2, NULL), 1);
	rows_header_str(h, sizeof(h), ROWS_LIVE);
	rows_text_str(t, sizeof(t), &rows[0], ROWS_LIVE);
	/* PAGES is right-aligned under its header. */
	CHECK(rows_col_span(rows_col_find("PAGES"), ROWS_LIVE, &off, &w) == 0);
	CHECK(!strncmp(h + off, "   PAGES", w));
	CHECK(!strncmp(t + off, "      64", w));
	/* The report leaves out the live-only rate columns. */
	rows_header_str(h, sizeof(h), ROWS_REPORT);
	CHECK(strstr(h, "ACQ/s") == NULL);
	CHECK(rows_col_span(rows_col_find("ACQ/s"), ROWS_REPORT, &off, &w) < 0);
	agg_free(&a);
}

UNIT_TEST(snap_vmstat_per_interval)
{
	struct snap s;
	struct agg a;
	union ps_event e;

	CHECK(agg_init(&a, NULL) == 0);
	mark(&a, PS_MARK_START);
	memset(&e, 0, sizeof(e));
	e.vmstat.foll_pin_acquired = 1000;
	e.vmstat.foll_pin_released = 900;
	ev(&a, &e, PS_EV_VMSTAT, sizeof(e.vmstat), 0);
	ts += 1000000000;
	e.vmstat.foll_pin_acquired = 1064;
	ev(&a, &e, PS_EV_VMSTAT, sizeof(e.vmstat), 0);
	mark(&a, PS_MARK_TICK);
	e.vmstat.foll_pin_acquired = 1100;
	e.vmstat.foll_pin_released = 910;
	ev(&a, &e, PS_EV_VMSTAT, sizeof(e.vmstat), 0);
	mark(&a, PS_MARK_TICK);
	snap_take(&s, &a);
	CHECK_EQ(s.foll_acquired_interval, 36);
	CHECK_EQ(s.foll_released_interval, 10);
	CHECK_EQ(s.foll_acquired_total, 100);
	CHECK_EQ(s.foll_released_total, 10);
	agg_free(&a);
}
