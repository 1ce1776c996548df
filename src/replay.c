// SPDX-License-Identifier: BSD-2-Clause
#include "replay.h"
#include "cmd.h"
#include "log.h"
#include "symtab.h"
#include "trace_fmt.h"
#include "trace_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct replay {
	struct agg *a;
	struct symtab *syms;
	bool ended;
};

static int on_event(void *ctx, const union ps_event *e)
{
	struct replay *r = ctx;

	agg_apply(r->a, e);
	if (e->h.type == PS_EV_MARK && e->mark.kind == PS_MARK_END)
		r->ended = true;
	return 0;
}

static void on_symbol(void *ctx, uint32_t pid, uint64_t addr, const char *name, size_t len)
{
	struct replay *r = ctx;

	if (r->syms)
		symtab_put(r->syms, pid, addr, name, len);
}

/* A recording cut short has no end mark: end it at its last event, as the live run would have
 * ended had it stopped there. */
static void end_run(struct replay *r)
{
	union ps_event e;

	if (r->ended || !r->a->start_ns)
		return;
	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_MARK;
	e.h.size = sizeof(e.mark);
	e.h.tier = PS_TIER_USER;
	e.h.flags = PS_F_SYNTH;
	e.h.ts_ns = r->a->now_ns;
	e.mark.kind = PS_MARK_END;
	agg_apply(r->a, &e);
}

int replay_reader(struct trace_reader *tr, const char *name, struct agg *a, struct symtab *syms,
		  struct trace_meta *meta)
{
	struct replay r = {.a = a, .syms = syms};
	struct trace_read_cb cb = {.on_event = on_event, .on_symbol = on_symbol, .ctx = &r};
	const struct trace_damage *d;
	bool intact;

	switch (trace_reader__status(tr)) {
	case TRACE_HDR_NOT_TRACE:
		ps_err("report %s: not a pinscope recording (no pinscope header)", name);
		return PS_EXIT_USAGE;
	case TRACE_HDR_NEWER:
		ps_err("report %s: recording format %u is newer than this pinscope reads (%d): "
		       "read it with a newer pinscope",
		       name, trace_reader__version(tr), TRACE_FORMAT_VERSION);
		return PS_EXIT_USAGE;
	default:
		break;
	}
	intact = trace_reader__read(tr, &cb);
	end_run(&r);
	d = trace_reader__damage(tr);
	if (meta)
		*meta = *trace_reader__meta(tr);
	if (d->records_unknown)
		ps_warn("%s: skipped %" PRIu64 " records of types this pinscope does not know "
			"(recorded by pinscope %s)",
			name, d->records_unknown, trace_reader__meta(tr)->pinscope_version);
	if (d->footer && d->footer_not_written)
		ps_warn("%s: the recording stopped at its size limit; %" PRIu64
			" events did not fit",
			name, d->footer_not_written);
	if (!intact) {
		char line[512];

		trace_damage_describe(d, line, sizeof(line));
		/* Not ps_err: with -j the report that follows is still the only JSON on stdout. */
		fprintf(stderr, "pinscope: report %s: %s\n", name, line);
	}
	return intact ? PS_EXIT_OK : PS_EXIT_PARTIAL;
}

int replay_file(const char *path, struct agg *a, struct symtab *syms, struct trace_meta *meta)
{
	struct trace_reader *tr;
	int err = trace_reader__open_file(path, &tr);

	if (err) {
		ps_err("report %s: %s", path, strerror(-err));
		return err == -ENOENT || err == -EISDIR || err == -EACCES ? PS_EXIT_USAGE
									  : PS_EXIT_RUNTIME;
	}
	err = replay_reader(tr, path, a, syms, meta);
	trace_reader__free(tr);
	return err;
}
