// SPDX-License-Identifier: BSD-2-Clause
#include "recorder.h"
#include "symbolize.h"
#include "symtab.h"
#include "tbuf.h"
#include "trace_fmt.h"
#include "trace_meta.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct recorder {
	struct trace_writer *w;
	struct trace_meta meta;
	struct symtab *syms;
	bool own_syms;
	struct symbolizer *sz;
	struct tbuf scratch;
	bool header, started;
	char *path;
};

int recorder_open(struct recorder **out, const char *path, const struct recorder_opts *o,
		  struct symtab *syms)
{
	struct trace_writer_opts wo = {.size_limit = o->size_limit};
	struct recorder *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->syms = syms;
	if (!syms) {
		r->syms = symtab_new();
		r->own_syms = true;
	}
	r->sz = symbolizer_new();
	if (!r->syms || !r->sz) {
		err = -ENOMEM;
		goto bad;
	}
	r->path = strdup(path);
	err = r->path ? trace_writer_open(path, &wo, &r->w) : -ENOMEM;
	if (err)
		goto bad;
	trace_meta_collect(&r->meta);
	r->meta.filter_pid = o->filter_pid;
	r->meta.filter_cgroup = o->filter_cgroup;
	r->meta.interval_ns = o->interval_ns;
	*out = r;
	return 0;
bad:
	free(r->path);
	symbolizer_free(r->sz);
	if (r->own_syms)
		symtab_free(r->syms);
	free(r);
	return err;
}

static void write_header(struct recorder *r)
{
	if (r->header)
		return;
	r->header = true;
	trace_writer_header(r->w, &r->meta);
}

void recorder_setup(struct recorder *r, const struct ps_choice *c, int n)
{
	r->started = true;
	trace_meta_set_tiers(&r->meta, c, n);
	write_header(r);
}

int recorder_event(struct recorder *r, const union ps_event *e)
{
	write_header(r);
	symtab_note_event(r->syms, r->sz, e);
	trace_writer_event(r->w, e);
	return trace_writer_full(r->w);
}

static void put_symbols(struct recorder *r)
{
	int n;

	r->scratch.len = 0;
	n = symtab_take_new(r->syms, &r->scratch);
	if (n > 0)
		trace_writer_block(r->w, TRACE_BLK_SYMBOLS, r->scratch.data, r->scratch.len, n);
}

int recorder_tick(struct recorder *r)
{
	put_symbols(r);
	trace_writer_flush(r->w);
	return trace_writer_full(r->w);
}

const char *recorder_stop_reason(struct recorder *r)
{
	if (trace_writer_error(r->w))
		return "write_error";
	return trace_writer_full(r->w) ? "size_limit" : NULL;
}

bool recorder_started(const struct recorder *r)
{
	return r->started;
}

void recorder_discard(struct recorder *r)
{
	char *path = r->path;

	r->path = NULL;
	recorder_close(r, "error", NULL);
	unlink(path);
	free(path);
}

int recorder_close(struct recorder *r, const char *stop, struct trace_writer_stats *st)
{
	int err;

	write_header(r);
	put_symbols(r);
	err = trace_writer_close(r->w, stop, st);
	free(r->path);
	symbolizer_free(r->sz);
	if (r->own_syms)
		symtab_free(r->syms);
	tbuf_free(&r->scratch);
	free(r);
	return err;
}
