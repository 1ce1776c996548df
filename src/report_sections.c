// SPDX-License-Identifier: BSD-2-Clause
#include "report_sections.h"
#include "json.h"
#include "symtab.h"
#include "util.h"

#include <inttypes.h>

#define TEXT_MAX_STACKS 32

static uint64_t since_start(const struct agg *a, uint64_t ts)
{
	return ts > a->start_ns ? ts - a->start_ns : 0;
}

static void timeline_text(FILE *out, const struct agg *a)
{
	const struct agg_timeline *t = &a->timeline;

	if (!t->n)
		return;
	fprintf(out, "\npinned over time:\n%10s %15s %15s %8s %10s\n", "TIME", "LONGTERM_PAGES",
		"SHORTTERM_PAGES", "HOLDERS", "VMPIN_KB");
	for (unsigned int i = 0; i < t->n; i++) {
		const struct timeline_point *p = &t->pts[i];
		char when[32];

		snprintf(when, sizeof(when), "+%.1fs",
			 (double)since_start(a, p->ts_ns) / NSEC_PER_SEC);
		fprintf(out, "%10s %15" PRIu64 " %15" PRIu64 " %8" PRIu64 " %10" PRIu64 "\n", when,
			p->longterm_pages, p->shortterm_pages, p->holders, p->vmpin_kb);
	}
}

static void timeline_json(struct json *j, const struct agg *a)
{
	const struct agg_timeline *t = &a->timeline;

	json_arr_begin(j, "timeline");
	for (unsigned int i = 0; i < t->n; i++) {
		const struct timeline_point *p = &t->pts[i];

		json_obj_begin(j, NULL);
		json_u64(j, "t_ns", since_start(a, p->ts_ns));
		json_u64(j, "longterm_pages", p->longterm_pages);
		json_u64(j, "shortterm_pages", p->shortterm_pages);
		json_u64(j, "holders", p->holders);
		json_u64(j, "vmpin_kb", p->vmpin_kb);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void stacks_text(FILE *out, const struct holder_row *rows, int n, const struct symtab *syms)
{
	int shown = 0, with = 0;

	for (int i = 0; i < n; i++)
		with += rows[i].nr_ustack > 0;
	if (!with)
		return;
	fprintf(out, "\nuser stacks of the holders:\n");
	for (int i = 0; i < n && shown < TEXT_MAX_STACKS; i++) {
		const struct holder_row *r = &rows[i];

		if (!r->nr_ustack)
			continue;
		shown++;
		fprintf(out, "  pid %" PRIu32 " %s %s:\n", r->pid, r->comm, r->subsystem);
		for (unsigned int f = 0; f < r->nr_ustack && f < PS_MAX_STACK; f++) {
			const char *name = symtab_get(syms, r->pid, r->ustack[f]);

			fprintf(out, "    #%-2u 0x%016" PRIx64 " %s\n", f, r->ustack[f],
				name && *name ? name : "[unknown]");
		}
	}
	if (with > shown)
		fprintf(out, "  (%d more: see -j)\n", with - shown);
}

static void stacks_json(struct json *j, const struct holder_row *rows, int n,
			const struct symtab *syms)
{
	json_arr_begin(j, "stacks");
	for (int i = 0; i < n; i++) {
		const struct holder_row *r = &rows[i];

		if (!r->nr_ustack)
			continue;
		json_obj_begin(j, NULL);
		json_u64(j, "pid", r->pid);
		json_str(j, "comm", r->comm);
		json_str(j, "subsystem", r->subsystem);
		json_arr_begin(j, "frames");
		for (unsigned int f = 0; f < r->nr_ustack && f < PS_MAX_STACK; f++) {
			const char *name = symtab_get(syms, r->pid, r->ustack[f]);

			json_obj_begin(j, NULL);
			json_hex(j, "addr", r->ustack[f]);
			if (name && *name)
				json_str(j, "symbol", name);
			else
				json_null(j, "symbol");
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void report_sections_text(FILE *out, const struct agg *a, const struct holder_row *rows, int n,
			  const struct symtab *syms)
{
	timeline_text(out, a);
	stacks_text(out, rows, n, syms);
}

void report_sections_json(struct json *j, const struct agg *a, const struct holder_row *rows, int n,
			  const struct symtab *syms)
{
	timeline_json(j, a);
	stacks_json(j, rows, n, syms);
}
