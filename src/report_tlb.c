// SPDX-License-Identifier: BSD-2-Clause
#include "report_tlb.h"
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_ROWS  20 /* the text report lists this many; JSON lists all */
#define TEXT_HISTS 2  /* latency histograms printed for the busiest rows */

struct tlb_row {
	uint32_t pid;
	char comm[PS_COMM_LEN];
	char cause[24];
	uint64_t requests, pages, full, local, local_pages, shootdowns;
	uint64_t on_pinned, on_pinned_pages, kvm_kicks, no_ipi;
	uint64_t dlv_n, hnd_n, dlv_p50, dlv_p99, hnd_p50, hnd_p99;
	const struct tlb_ent *e;
};

enum kind { K_U32, K_U64, K_STR, K_NS, K_LOCAL /* u64 counted by tlb_flush only */ };

struct field {
	const char *key; /* JSON, units in the name */
	const char *hdr; /* text column; NULL: JSON only */
	int width;	 /* negative: left aligned */
	enum kind kind;
	size_t off;
};

#define F(key, hdr, w, kind, m)                                                                    \
	{                                                                                          \
		key, hdr, w, kind, offsetof(struct tlb_row, m)                                     \
	}

static const struct field fields[] = {
	F("pid", "PID", 7, K_U32, pid),
	F("comm", "COMM", -15, K_STR, comm),
	F("cause", "CAUSE", -11, K_STR, cause),
	F("requests", "REQUESTS", 9, K_U64, requests),
	F("request_pages", "PAGES", 8, K_U64, pages),
	F("full_flushes", "FULL", 6, K_U64, full),
	F("local_flushes", "LOCAL", 7, K_LOCAL, local),
	F("shootdowns", "SHOOTDOWNS", 11, K_U64, shootdowns),
	F("flushes_on_pinned", "ON_PINNED", 10, K_U64, on_pinned),
	F("delivery_p50_ns", "DLV_P50", 8, K_NS, dlv_p50),
	F("delivery_p99_ns", "DLV_P99", 8, K_NS, dlv_p99),
	F("handling_p50_ns", "HND_P50", 8, K_NS, hnd_p50),
	F("local_pages", NULL, 0, K_LOCAL, local_pages),
	F("pages_on_pinned", NULL, 0, K_U64, on_pinned_pages),
	F("kvm_kicks", NULL, 0, K_U64, kvm_kicks),
	F("requests_without_ipi", NULL, 0, K_U64, no_ipi),
	F("delivery_samples", NULL, 0, K_U64, dlv_n),
	F("handling_samples", NULL, 0, K_U64, hnd_n),
	F("handling_p99_ns", NULL, 0, K_NS, hnd_p99),
};

#define U(x)	    ((uint64_t)(x))
#define AT(r, f, T) ((const T *)((const char *)(r) + (f)->off))

static const char *fmt_ns(uint64_t ns, char *buf, size_t size)
{
	if (!ns)
		snprintf(buf, size, "-");
	else if (ns < 10000)
		snprintf(buf, size, "%" PRIu64 "ns", ns);
	else if (ns < 10000000)
		snprintf(buf, size, "%" PRIu64 "us", ns / 1000);
	else
		snprintf(buf, size, "%" PRIu64 "ms", ns / 1000000);
	return buf;
}

static void fill(struct tlb_row *r, const struct tlb_ent *e)
{
	const struct ps_tlb_counts *c = &e->c;

	memset(r, 0, sizeof(*r));
	r->e = e;
	r->pid = e->tgid;
	memcpy(r->comm, e->comm, sizeof(r->comm));
	if (!r->comm[0])
		snprintf(r->comm, sizeof(r->comm), e->tgid ? "?" : "-");
	tlb_cause_name(e->cause, r->cause, sizeof(r->cause));
	r->requests = tlb_requests(c);
	r->pages = c->pages;
	r->full = c->full;
	r->local = tlb_local(c);
	r->local_pages = c->local_pages;
	r->shootdowns = c->shootdowns;
	r->on_pinned = c->on_pinned;
	r->on_pinned_pages = c->on_pinned_pages;
	r->kvm_kicks = c->kvm_kicks;
	r->no_ipi = c->no_ipi;
	r->dlv_n = hist_count(&e->h[PS_TLB_H_DELIVERY]);
	r->hnd_n = hist_count(&e->h[PS_TLB_H_HANDLING]);
	r->dlv_p50 = hist_quantile(&e->h[PS_TLB_H_DELIVERY], 0.5);
	r->dlv_p99 = hist_quantile(&e->h[PS_TLB_H_DELIVERY], 0.99);
	r->hnd_p50 = hist_quantile(&e->h[PS_TLB_H_HANDLING], 0.5);
	r->hnd_p99 = hist_quantile(&e->h[PS_TLB_H_HANDLING], 0.99);
}

static int cmp_rows(const void *x, const void *y)
{
	const struct tlb_row *a = x, *b = y;

	if (a->shootdowns != b->shootdowns)
		return a->shootdowns < b->shootdowns ? 1 : -1;
	if (a->requests != b->requests)
		return a->requests < b->requests ? 1 : -1;
	if (a->local != b->local)
		return a->local < b->local ? 1 : -1;
	return (a->pid > b->pid) - (a->pid < b->pid);
}

/* Rows of every (process, cause) with activity, busiest first. Caller frees. */
static struct tlb_row *build(struct agg *a, int *n)
{
	struct agg_tlb *t = &a->tlb;
	struct tlb_row *rows = calloc(t->ents.count ? t->ents.count : 1, sizeof(*rows));
	struct tlb_ent *e;

	*n = 0;
	if (!rows)
		return NULL;
	for (size_t it = 0; (e = htab_next(&t->ents, &it));)
		fill(&rows[(*n)++], e);
	qsort(rows, *n, sizeof(*rows), cmp_rows);
	return rows;
}

/* no_local: tlb_flush was not attached, so K_LOCAL fields were not counted ("-", null). */
static void row_text(FILE *out, const struct tlb_row *r, bool header, bool no_local)
{
	char buf[32];
	bool first = true;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];
		const char *s = buf;

		if (!f->hdr)
			continue;
		if (header)
			s = f->hdr;
		else if (f->kind == K_U32)
			snprintf(buf, sizeof(buf), "%" PRIu32, *AT(r, f, uint32_t));
		else if (f->kind == K_LOCAL && no_local)
			s = "-";
		else if (f->kind == K_U64 || f->kind == K_LOCAL)
			snprintf(buf, sizeof(buf), "%" PRIu64, *AT(r, f, uint64_t));
		else if (f->kind == K_NS)
			fmt_ns(*AT(r, f, uint64_t), buf, sizeof(buf));
		else
			s = AT(r, f, char);
		fprintf(out, "%s%*s", first ? "" : " ", f->width, s);
		first = false;
	}
	fputc('\n', out);
}

static void row_json(struct json *j, const struct tlb_row *r, bool no_local)
{
	json_obj_begin(j, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct field *f = &fields[i];

		switch (f->kind) {
		case K_U32:
			json_u64(j, f->key, *AT(r, f, uint32_t));
			break;
		case K_LOCAL:
			if (no_local) {
				json_null(j, f->key);
				break;
			}
			/* fall through */
		case K_U64:
			json_u64(j, f->key, *AT(r, f, uint64_t));
			break;
		case K_NS:
			if (*AT(r, f, uint64_t))
				json_u64(j, f->key, *AT(r, f, uint64_t));
			else
				json_null(j, f->key);
			break;
		case K_STR:
			json_str(j, f->key, AT(r, f, char));
			break;
		}
	}
	hist_json(j, "delivery_hist", &r->e->h[PS_TLB_H_DELIVERY]);
	hist_json(j, "handling_hist", &r->e->h[PS_TLB_H_HANDLING]);
	json_obj_end(j);
}

/*
 * Are remote shootdowns counted on the csd tracepoints (else on tlb_flush reasons 1 and 5)? The
 * GLOBAL records say; in a file from before they did, the counts tell.
 */
static bool on_csd(const struct agg_tlb *t, const struct ps_tlb_counts *g)
{
	if (t->on_csd >= 0)
		return t->on_csd;
	return g->shootdowns || !(g->reason[1] + g->reason[5]);
}

/*
 * Remote shootdowns handled. Counted on the csd tracepoints (exactly what /proc/interrupts
 * counts); a kernel without them (6.1) only has tlb_flush reasons 1 and 5, which miss the
 * handler runs that return early (a CPU that left the mm lazily).
 */
static uint64_t shootdowns(const struct agg_tlb *t, const struct ps_tlb_counts *g)
{
	return on_csd(t, g) ? g->shootdowns : g->reason[1] + g->reason[5];
}

/*
 * Shootdowns queued (csd_queue_cpu) whose handler run the csd_function_entry program never saw:
 * neither counted on the target nor timed. On 6.18 here about 1 in 100,000, which ftrace's own
 * event sees and the raw tracepoint program does not, with no recursion miss counted on it.
 * 0 where shootdowns are not counted on the csd tracepoints.
 */
uint64_t tlb_unseen(const struct agg_tlb *t, const struct ps_tlb_counts *g)
{
	uint64_t seen = g->shootdowns + g->kernel_flushes;

	if (!on_csd(t, g) || g->ipis <= seen)
		return 0;
	return g->ipis - seen;
}

const char *tlb_agreement(const struct agg_tlb *t)
{
	uint64_t ours = shootdowns(t, &t->global), truth = t->global.irq_tlb;
	uint64_t d = ours > truth ? ours - truth : truth - ours;

	if (!t->ticks || !t->irq_valid)
		return "no_ground_truth";
	if (!d)
		return "exact";
	return d * 20 <= truth ? "within_5pct" : "differs";
}

static const char *const no_ipi_note =
	"no request queued a shootdown IPI: the other CPUs were idle, or the hypervisor flushes "
	"them (a paravirtual remote TLB flush): nothing to time";

static const char *const gup_fast_note =
	"GUP-fast walks overlapping shootdowns: not measured (no tracepoint covers GUP-fast; "
	"its interrupts-off window shows as IPI delivery latency)";

void report_tlb_text(FILE *out, struct agg *a)
{
	struct agg_tlb *t = &a->tlb;
	const struct ps_tlb_counts *g = &t->global;
	struct tlb_row *rows;
	int n, hists = 0;

	if (!t->records)
		return;
	rows = build(a, &n);
	if (!rows)
		return;
	fprintf(out, "\nTLB flushes, all processes, %.1f s: %" PRIu64 " requests to other CPUs",
		(double)t->covered_ns / NSEC_PER_SEC, tlb_requests(g));
	if (g->no_ipi)
		fprintf(out, " (%" PRIu64 " queued no shootdown)", U(g->no_ipi));
	fprintf(out,
		", %" PRIu64 " CPUs targeted, %" PRIu64 " IPIs sent, %" PRIu64
		" remote shootdowns handled\n",
		U(g->ipis), U(g->hw_ipis), shootdowns(t, g));
	if (g->no_ipi && !g->ipis)
		fprintf(out, "  %s\n", no_ipi_note);
	if (t->no_local)
		fprintf(out,
			"  kernel-range shootdowns %" PRIu64 ", KVM vCPU kicks %" PRIu64
			"; local flushes and task switches not counted (--tlb-local counts them)\n",
			U(g->kernel_flushes), U(g->kvm_kicks));
	else
		fprintf(out,
			"  local flushes %" PRIu64 ", task switches %" PRIu64 ", wrong-CPU %" PRIu64
			", kernel-range shootdowns %" PRIu64 ", KVM vCPU kicks %" PRIu64 "\n",
			tlb_local(g), U(g->reason[0]), U(g->reason[5]), U(g->kernel_flushes),
			U(g->kvm_kicks));
	if (t->irq_valid)
		fprintf(out,
			"/proc/interrupts TLB over the same window: %" PRIu64
			"; pinscope's remote shootdowns %" PRIu64 ": %s%s\n",
			U(g->irq_tlb), shootdowns(t, g), tlb_agreement(t),
			on_csd(t, g) ? ""
				     : " (no csd tracepoints: tlb_flush reasons 1 and 5, a lower "
				       "bound)");
	else
		fprintf(out, "/proc/interrupts TLB: not read (no TLB row on this machine)\n");
	if (tlb_unseen(t, g))
		fprintf(out,
			"  %" PRIu64 " queued shootdowns were not seen entering their handler: "
			"neither counted there nor timed\n",
			tlb_unseen(t, g));
	fputc('\n', out);
	row_text(out, NULL, true, t->no_local);
	for (int i = 0; i < n && i < TEXT_ROWS; i++)
		row_text(out, &rows[i], false, t->no_local);
	if (n > TEXT_ROWS)
		fprintf(out, "(%d more rows: -j lists them all)\n", n - TEXT_ROWS);
	if (!n)
		fprintf(out, "(no flushes attributed)\n");
	for (int i = 0; i < n && hists < TEXT_HISTS; i++) {
		if (!rows[i].dlv_n)
			continue;
		fprintf(out,
			"\nshootdown delivery (asked for on the sender -> handler entered), pid "
			"%" PRIu32 " %s, %s: %" PRIu64 " timed of %" PRIu64 " shootdowns:\n",
			rows[i].pid, rows[i].comm, rows[i].cause, rows[i].dlv_n,
			rows[i].shootdowns);
		hist_print(out, &rows[i].e->h[PS_TLB_H_DELIVERY], 2);
		fprintf(out,
			"flush handling on the target (handler entered -> flushed): %" PRIu64
			" timed:\n",
			rows[i].hnd_n);
		hist_print(out, &rows[i].e->h[PS_TLB_H_HANDLING], 2);
		hists++;
	}
	fprintf(out, "%s\n", gup_fast_note);
	free(rows);
}

static void json_local(struct json *j, const char *key, uint64_t v, bool no_local)
{
	if (no_local)
		json_null(j, key);
	else
		json_u64(j, key, v);
}

static void global_json(struct json *j, const char *key, const struct agg_tlb *t,
			const struct ps_tlb_counts *g)
{
	bool no_local = t->no_local, csd = on_csd(t, g);

	json_obj_begin(j, key);
	json_u64(j, "requests", tlb_requests(g));
	json_u64(j, "request_pages", g->pages);
	json_u64(j, "full_flushes", g->full);
	if (!csd)
		json_null(j, "requests_without_ipi");
	else
		json_u64(j, "requests_without_ipi", g->no_ipi);
	json_u64(j, "cpus_targeted", g->ipis);
	json_u64(j, "ipis_sent", g->hw_ipis);
	json_u64(j, "shootdowns", shootdowns(t, g));
	json_str(j, "shootdowns_counted_on", csd ? "csd" : "tlb_flush");
	if (!csd)
		json_null(j, "handler_runs_unseen");
	else
		json_u64(j, "handler_runs_unseen", tlb_unseen(t, g));
	json_bool(j, "local_counted", !no_local);
	json_local(j, "local_flushes", tlb_local(g), no_local);
	json_local(j, "task_switch_flushes", g->reason[0], no_local);
	json_local(j, "remote_shootdown_events", g->reason[1], no_local);
	json_local(j, "wrong_cpu_events", g->reason[5], no_local);
	json_u64(j, "kernel_range_shootdowns", g->kernel_flushes);
	json_u64(j, "kvm_kicks", g->kvm_kicks);
	json_u64(j, "irq_tlb_delta", g->irq_tlb);
	json_obj_end(j);
}

void report_tlb_json(struct json *j, struct agg *a)
{
	struct agg_tlb *t = &a->tlb;
	struct tlb_row *rows;
	int n;

	if (!t->records) {
		json_null(j, "tlb");
		return;
	}
	rows = build(a, &n);
	json_obj_begin(j, "tlb");
	json_u64(j, "covered_ns", t->covered_ns);
	global_json(j, "global", t, &t->global);
	json_str(j, "irq_agreement", tlb_agreement(t));
	json_arr_begin(j, "rows");
	for (int i = 0; rows && i < n; i++)
		row_json(j, &rows[i], t->no_local);
	json_arr_end(j);
	json_null(j, "gup_fast_overlap");
	json_u64(j, "table_overflow", t->ents.overflow);
	json_obj_end(j);
	free(rows);
}

/* The (process, cause) with most shootdowns (else requests) in the latest interval. */
static const struct tlb_ent *busiest_last(const struct agg_tlb *t)
{
	const struct tlb_ent *best = NULL;
	struct tlb_ent *e;

	for (size_t it = 0; (e = htab_next(&t->ents, &it));) {
		if (!agg_tlb_in_last(t, e))
			continue;
		if (!best || e->last.shootdowns > best->last.shootdowns ||
		    (e->last.shootdowns == best->last.shootdowns &&
		     tlb_requests(&e->last) > tlb_requests(&best->last)))
			best = e;
	}
	return best;
}

void report_tlb_top_line(FILE *out, struct agg *a)
{
	const struct agg_tlb *t = &a->tlb;
	const struct ps_tlb_counts *g = &t->last_global;
	const struct tlb_ent *b;
	double s = t->last_interval_ns ? (double)t->last_interval_ns / NSEC_PER_SEC : 1.0;
	char cause[24];

	if (!t->ticks)
		return;
	fprintf(out, "tlb: requests %.0f/s", tlb_requests(g) / s);
	if (g->no_ipi)
		fprintf(out, " (no IPI %.0f/s)", g->no_ipi / s);
	fprintf(out, "  targeted %.0f/s  shootdowns %.0f/s (irq TLB %.0f/s)", g->ipis / s,
		shootdowns(t, g) / s, g->irq_tlb / s);
	if (!t->no_local)
		fprintf(out, "  local %.0f/s", tlb_local(g) / s);
	b = busiest_last(t);
	if (b && (b->last.shootdowns || tlb_requests(&b->last)))
		fprintf(out, "  top: pid %" PRIu32 " %s %s", b->tgid, b->comm[0] ? b->comm : "-",
			tlb_cause_name(b->cause, cause, sizeof(cause)));
	fputc('\n', out);
}

void report_tlb_top_json(struct json *j, struct agg *a)
{
	const struct agg_tlb *t = &a->tlb;

	if (!t->ticks) {
		json_null(j, "tlb");
		return;
	}
	json_obj_begin(j, "tlb");
	json_u64(j, "interval_ns", t->last_interval_ns);
	global_json(j, "interval", t, &t->last_global);
	global_json(j, "total", t, &t->global);
	json_obj_end(j);
}
