// SPDX-License-Identifier: BSD-2-Clause
#include "report.h"
#include "hooks.h"
#include "json.h"
#include "report_sections.h"
#include "report_tlb.h"
#include "report_gmem.h"
#include "report_pageref.h"
#include "rows.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 16384

struct proc_sum {
	uint32_t pid;
	char comm[PS_COMM_LEN];
	uint64_t attributed_kb;
	const struct proc_ent *p;
};

/* What pinscope attributes to each process against what the kernel charged it. */
static int proc_sums(struct agg *a, struct proc_sum *out, int max)
{
	struct holder_ent *h;
	struct proc_ent *p;
	int n = 0;

	for (size_t it = 0; (h = htab_next(&a->pins.holders, &it));) {
		int i;

		for (i = 0; i < n && out[i].pid != h->tgid; i++)
			;
		if (i == n) {
			if (n == max)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].pid = h->tgid;
			memcpy(out[n].comm, h->comm, sizeof(out[n].comm));
			out[n].p = htab_find(&a->pins.procs, h->tgid, 0);
			n++;
		}
		out[i].attributed_kb += h->acct_pages * 4;
	}
	/* Processes whose VmPin no holder explains. */
	for (size_t it = 0; n < max && (p = htab_next(&a->pins.procs, &it));) {
		int i;

		if (!p->sampled || !p->alive || !p->vmpin_kb)
			continue;
		for (i = 0; i < n && out[i].pid != p->k.k1; i++)
			;
		if (i < n)
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].pid = p->k.k1;
		memcpy(out[n].comm, p->comm, sizeof(out[n].comm));
		out[n].p = p;
		n++;
	}
	return n;
}

static int cmp_pid(const void *x, const void *y)
{
	const struct proc_sum *a = x, *b = y;

	return (a->pid > b->pid) - (a->pid < b->pid);
}

static const char *verdict(const struct proc_sum *s)
{
	if (!s->p || !s->p->sampled)
		return "not_sampled";
	if (!s->p->alive)
		return "process_gone";
	if (s->p->vmpin_kb == s->attributed_kb)
		return "exact";
	return s->p->vmpin_kb > s->attributed_kb ? "unattributed" : "over";
}

/* Totals over the rows: attributed holders plus VmPin no holder explains. */
static uint64_t total(const struct holder_row *rows, int n, bool longterm)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		t += longterm ? rows[i].longterm_pages : rows[i].shortterm_pages;
	return t;
}

static uint64_t unattributed(const struct holder_row *rows, int n)
{
	uint64_t t = 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(rows[i].subsystem, "unattributed"))
			t += rows[i].pinned_pages;
	return t;
}

static void print_json(FILE *out, struct agg *a, struct holder_row *rows, int n,
		       struct proc_sum *ps, int np, const struct report_opts *o)
{
	struct json *j = json_new(out);

	json_obj_begin(j, NULL);
	json_u64(j, "duration_ns", a->end_ns > a->start_ns ? a->end_ns - a->start_ns : 0);
	json_u64(j, "start_wall_ns", a->wall_at_start_ns);
	json_obj_begin(j, "events_by_tier");
	for (int t = 1; t < PS_TIER_MAX; t++)
		json_u64(j, tier_name(t), a->by_tier[t]);
	json_obj_end(j);
	json_obj_begin(j, "totals");
	json_u64(j, "longterm_pages", total(rows, n, true));
	json_u64(j, "longterm_bytes", total(rows, n, true) * 4096);
	json_u64(j, "shortterm_pages", total(rows, n, false));
	json_u64(j, "unattributed_pages", unattributed(rows, n));
	json_u64(j, "holders", n);
	json_obj_end(j);
	json_arr_begin(j, "holders");
	for (int i = 0; i < n; i++)
		rows_json(j, &rows[i]);
	json_arr_end(j);
	json_arr_begin(j, "processes");
	for (int i = 0; i < np; i++) {
		json_obj_begin(j, NULL);
		json_u64(j, "pid", ps[i].pid);
		json_str(j, "comm", ps[i].comm);
		json_u64(j, "attributed_kb", ps[i].attributed_kb);
		if (ps[i].p && ps[i].p->sampled && ps[i].p->alive) {
			json_u64(j, "vmpin_kb", ps[i].p->vmpin_kb);
			json_u64(j, "vmlck_kb", ps[i].p->vmlck_kb);
		} else {
			json_null(j, "vmpin_kb");
			json_null(j, "vmlck_kb");
		}
		json_str(j, "reconciliation", verdict(&ps[i]));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_begin(j, "vmstat");
	if (a->vmstat_samples) {
		json_u64(j, "foll_pin_acquired_delta",
			 a->vmstat_last.foll_pin_acquired - a->vmstat_first.foll_pin_acquired);
		json_u64(j, "foll_pin_released_delta",
			 a->vmstat_last.foll_pin_released - a->vmstat_first.foll_pin_released);
	}
	json_obj_end(j);
	json_obj_begin(j, "losses");
	for (int d = 0; d < PS_DROP_MAX; d++)
		json_u64(j, drop_name(d), (uint64_t)a->loss.drops[d]);
	json_u64(j, "malformed_records", a->loss.malformed);
	json_u64(j, "table_overflow", agg_pins_overflow(&a->pins));
	json_u64(j, "unmatched_releases", a->pins.orphan_unpins);
	json_obj_end(j);
	report_sections_json(j, a, rows, n, o->syms);
	report_tlb_json(j, a);
	report_gmem_json(j, a);
	report_pageref_json(j, a, o->syms);
	json_obj_end(j);
	json_free(j);
}

static void print_text(FILE *out, struct agg *a, struct holder_row *rows, int n,
		       struct proc_sum *ps, int np)
{
	uint64_t lt = total(rows, n, true), st = total(rows, n, false), un = unattributed(rows, n);
	char b1[32], b2[32];

	fprintf(out, "pinscope report: %.1f s, events by tier:",
		a->end_ns > a->start_ns ? (double)(a->end_ns - a->start_ns) / NSEC_PER_SEC : 0.0);
	for (int t = 1; t < PS_TIER_MAX; t++)
		if (a->by_tier[t])
			fprintf(out, " %s %" PRIu64, tier_name(t), a->by_tier[t]);
	fprintf(out,
		"\nlong-term pinned: %" PRIu64 " pages (%s); short-term: %" PRIu64
		" pages (%s); holders: %d; not attributed to a holder: %" PRIu64 " pages\n\n",
		lt, fmt_bytes(lt * 4096, b1, sizeof(b1)), st, fmt_bytes(st * 4096, b2, sizeof(b2)),
		n, un);
	rows_text_header(out);
	for (int i = 0; i < n; i++)
		rows_text(out, &rows[i]);
	if (!n)
		fprintf(out, "(no pin holders seen)\n");
	rows_text_shortterm(out, rows, n);
	fprintf(out, "\nreconciliation against /proc/PID/status VmPin:\n");
	for (int i = 0; i < np; i++) {
		const struct proc_ent *p = ps[i].p;

		if (p && p->sampled && p->alive)
			fprintf(out,
				"  pid %" PRIu32 " %s: VmPin %" PRIu64 " kB, attributed %" PRIu64
				" kB: %s\n",
				ps[i].pid, ps[i].comm, p->vmpin_kb, ps[i].attributed_kb,
				verdict(&ps[i]));
		else
			fprintf(out, "  pid %" PRIu32 " %s: attributed %" PRIu64 " kB: %s\n",
				ps[i].pid, ps[i].comm, ps[i].attributed_kb, verdict(&ps[i]));
	}
	if (!np)
		fprintf(out, "  (no processes)\n");
	if (a->vmstat_samples)
		fprintf(out,
			"/proc/vmstat (global, short and long pins mixed): nr_foll_pin_acquired "
			"+%" PRIu64 ", nr_foll_pin_released +%" PRIu64 "\n",
			(uint64_t)(a->vmstat_last.foll_pin_acquired -
				   a->vmstat_first.foll_pin_acquired),
			(uint64_t)(a->vmstat_last.foll_pin_released -
				   a->vmstat_first.foll_pin_released));
	report_gmem_text(out, a);
	fprintf(out, "losses:");
	for (int d = 0; d < PS_DROP_MAX; d++)
		fprintf(out, " %s %" PRIu64 ",", drop_name(d), (uint64_t)a->loss.drops[d]);
	fprintf(out,
		" malformed %" PRIu64 ", table_overflow %" PRIu64 ", unmatched_releases %" PRIu64
		"\n",
		(uint64_t)a->loss.malformed, agg_pins_overflow(&a->pins), a->pins.orphan_unpins);
}

void report_print(FILE *out, struct agg *a, const struct report_opts *o)
{
	struct holder_row *rows = calloc(MAX_ROWS, sizeof(*rows));
	struct proc_sum *ps = calloc(MAX_ROWS, sizeof(*ps));
	int n, np;

	if (!rows || !ps) {
		free(rows);
		free(ps);
		fprintf(stderr, "pinscope: report: out of memory\n");
		return;
	}
	n = rows_build(a, rows, MAX_ROWS, o->sort, o->only_subsys);
	np = proc_sums(a, ps, MAX_ROWS);
	qsort(ps, np, sizeof(*ps), cmp_pid);
	if (o->json) {
		print_json(out, a, rows, n, ps, np, o);
	} else {
		print_text(out, a, rows, n, ps, np);
		report_sections_text(out, a, rows, n, o->syms);
		report_tlb_text(out, a);
		report_pageref_text(out, a, o->syms);
	}
	free(rows);
	free(ps);
}
