// SPDX-License-Identifier: BSD-2-Clause
#include "report_pageref.h"
#include "json.h"
#include "symtab.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PR_ROWS	  32
#define PR_FRAMES 12

/* Frames of the tracing machinery itself, left out of what the report names. */
static bool machinery(const char *name)
{
	static const char *const prefixes[] = {"perf_", "__perf",      "trace_call_bpf", "bpf_",
					       "__bpf", "__page_ref_", "__traceiter_"};

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The holder's frames worth naming: up to max names (or addresses) into out. */
static int frames(const struct pr_holder *h, const struct symtab *syms, char out[][96], int max)
{
	int n = 0;

	for (unsigned int i = 0; i < h->nr_kstack && n < max; i++) {
		const char *name = syms ? symtab_get(syms, 0, h->kstack[i]) : NULL;

		if (name && *name) {
			if (machinery(name))
				continue;
			snprintf(out[n], sizeof(out[n]), "%.*s", (int)strcspn(name, " "), name);
		} else {
			snprintf(out[n], sizeof(out[n]), "0x%" PRIx64, h->kstack[i]);
		}
		n++;
	}
	return n;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct pr_holder *x = *(const struct pr_holder *const *)a;
	const struct pr_holder *y = *(const struct pr_holder *const *)b;

	if (pr_holder_lasting(x) != pr_holder_lasting(y))
		return pr_holder_lasting(y) - pr_holder_lasting(x);
	if (x->refs != y->refs)
		return x->refs < y->refs ? 1 : -1;
	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

static int sorted(const struct agg_pageref *r, const struct pr_holder **out, int max)
{
	const struct pr_holder *h;
	int n = 0;

	for (size_t it = 0; n < max && (h = htab_next(&r->holders, &it));)
		out[n++] = h;
	qsort(out, n, sizeof(*out), cmp_holder);
	return n;
}

void report_pageref_text(FILE *out, const struct agg *a, const struct symtab *syms)
{
	const struct agg_pageref *r = &a->pageref;
	const struct pr_holder *rows[PR_ROWS];
	char fr[PR_FRAMES][96], b1[32], b2[32];
	int n;

	if (!r->events)
		return;
	fprintf(out,
		"\npage references that are not pins (page_ref tracepoints): %" PRIu64
		" changes on %zu watched pages; %" PRIu64 " taken, %" PRIu64 " given back, %" PRIu64
		" pin changes left to the pin tier, %" PRIu64
		" given back but not seen taken, %" PRIu64 " pages freed; transient: given back "
		"within %s\n",
		r->events, r->pfns.count, r->incs, r->decs, r->pin_changes, r->unseen_refs,
		r->freed, fmt_age(r->transient_ns, b1, sizeof(b1)));
	n = sorted(r, rows, PR_ROWS);
	for (int i = 0; i < n; i++) {
		const struct pr_holder *h = rows[i];
		uint64_t oldest = agg_pageref_oldest(r, h);
		int nf = frames(h, syms, fr, PR_FRAMES);

		fprintf(out,
			"  %-9s %s[%" PRIu32 "] syscall %" PRId32 ": %" PRIu64 " refs on %" PRIu64
			" pages, holds %" PRIu64 " refs on %" PRIu64 " pages",
			pr_holder_lasting(h) ? "lasting" : "transient", h->comm, h->tgid, h->sysnr,
			h->refs, h->pages, h->held, agg_pageref_held_pages(r, h));
		if (oldest)
			fprintf(out, " since %s",
				fmt_age(a->now_ns > oldest ? a->now_ns - oldest : 0, b1,
					sizeof(b1)));
		fprintf(out, "; given back %" PRIu64 " (%" PRIu64 " transient), longest %s; stack:",
			h->transient + h->lasting, h->transient,
			fmt_age(h->max_hold_ns, b2, sizeof(b2)));
		for (int f = 0; f < nf; f++)
			fprintf(out, "%s%s", f ? " <- " : " ", fr[f]);
		fprintf(out, "%s\n", nf ? "" : " (none)");
	}
	if (r->holders.count > (size_t)n)
		fprintf(out, "  (%zu more holders)\n", r->holders.count - (size_t)n);
	if (r->overflow)
		fprintf(out, "  table overflow: %" PRIu64 " changes not tracked\n", r->overflow);
}

void report_pageref_json(struct json *j, const struct agg *a, const struct symtab *syms)
{
	const struct agg_pageref *r = &a->pageref;
	const struct pr_holder *rows[PR_ROWS];
	char fr[PR_FRAMES][96];
	int n;

	if (!r->events)
		return;
	json_obj_begin(j, "page_refs");
	json_u64(j, "changes", r->events);
	json_u64(j, "watched_pages", r->pfns.count);
	json_u64(j, "taken", r->incs);
	json_u64(j, "given_back", r->decs);
	json_u64(j, "pin_changes", r->pin_changes);
	json_u64(j, "unseen_refs", r->unseen_refs);
	json_u64(j, "freed_pages", r->freed);
	json_u64(j, "overflow", r->overflow);
	json_u64(j, "transient_ns", r->transient_ns);
	json_arr_begin(j, "holders");
	n = sorted(r, rows, PR_ROWS);
	for (int i = 0; i < n; i++) {
		const struct pr_holder *h = rows[i];
		uint64_t oldest = agg_pageref_oldest(r, h);
		int nf = frames(h, syms, fr, PR_FRAMES);

		json_obj_begin(j, NULL);
		json_str(j, "class", pr_holder_lasting(h) ? "lasting" : "transient");
		json_u64(j, "pid", h->tgid);
		json_str(j, "comm", h->comm);
		json_i64(j, "syscall", h->sysnr);
		json_u64(j, "refs", h->refs);
		json_u64(j, "pages", h->pages);
		json_u64(j, "held_refs", h->held);
		json_u64(j, "held_pages", agg_pageref_held_pages(r, h));
		json_u64(j, "held_for_ns", oldest && a->now_ns > oldest ? a->now_ns - oldest : 0);
		json_u64(j, "transient_refs", h->transient);
		json_u64(j, "lasting_refs", h->lasting);
		json_u64(j, "longest_hold_ns", h->max_hold_ns);
		json_arr_begin(j, "kstack");
		for (int f = 0; f < nf; f++)
			json_str(j, NULL, fr[f]);
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
