// SPDX-License-Identifier: BSD-2-Clause
#include "flight.h"
#include "agg.h"
#include "hooks.h"
#include "symbolize.h"
#include "symtab.h"
#include "tbuf.h"
#include "trace_fmt.h"
#include "trace_meta.h"
#include "trace_read.h"
#include "trace_write.h"
#include "util.h"
#include "zblock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (64ULL << 20)

struct fblock {
	struct tbuf frame; /* one encoded TRACE_BLK_EVENTS block */
	uint64_t first_ts, last_ts;
	uint32_t nr;
	uint64_t by_type[PS_EV_TYPE_MAX];
	struct fblock *next;
};

struct flight {
	struct flight_opts o;
	struct trace_meta meta;
	unsigned int mark_flags; /* of the session's READY mark: restated at a window's start */
	struct zblock zip;

	struct tbuf cur; /* raw records not yet sealed */
	uint32_t cur_nr;
	uint64_t cur_first, cur_last;
	uint64_t cur_by_type[PS_EV_TYPE_MAX];

	struct fblock *head, *tail; /* oldest .. newest */
	uint64_t held_blocks, held_bytes;

	struct agg base; /* everything evicted, applied in order */
	uint64_t evicted;
	bool ended;
	uint64_t latest_ts;

	struct symtab *syms;
	struct symbolizer *sz;
};

struct flight *flight_new(const struct flight_opts *o)
{
	struct flight *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->o = *o;
	if (!f->o.max_bytes)
		f->o.max_bytes = DEFAULT_MAX_BYTES;
	trace_meta_collect(&f->meta);
	f->meta.filter_pid = o->filter_pid;
	f->meta.filter_cgroup = o->filter_cgroup;
	f->meta.interval_ns = o->interval_ns;
	f->syms = symtab_new();
	f->sz = symbolizer_new();
	if (!f->syms || !f->sz || agg_init(&f->base, NULL)) {
		symtab_free(f->syms);
		symbolizer_free(f->sz);
		free(f);
		return NULL;
	}
	return f;
}

static void block_free(struct fblock *b)
{
	tbuf_free(&b->frame);
	free(b);
}

void flight_free(struct flight *f)
{
	if (!f)
		return;
	while (f->head) {
		struct fblock *b = f->head;

		f->head = b->next;
		block_free(b);
	}
	tbuf_free(&f->cur);
	zblock_free(&f->zip);
	agg_free(&f->base);
	symtab_free(f->syms);
	symbolizer_free(f->sz);
	free(f);
}

void flight_setup(struct flight *f, const struct ps_choice *c, int n)
{
	trace_meta_set_tiers(&f->meta, c, n);
	f->mark_flags = hooks_mark_flags(c, n);
}

static int to_base(void *ctx, const union ps_event *e)
{
	struct flight *f = ctx;

	agg_apply(&f->base, e);
	f->evicted++;
	return 0;
}

static void evict_oldest(struct flight *f)
{
	struct trace_read_cb cb = {.on_event = to_base, .ctx = f};
	struct trace_damage d = {};
	struct fblock *b = f->head;

	trace_read_blocks(b->frame.data, b->frame.len, &cb, &d);
	f->head = b->next;
	if (!f->head)
		f->tail = NULL;
	f->held_blocks--;
	f->held_bytes -= b->frame.len;
	block_free(b);
}

static void evict(struct flight *f, uint64_t now)
{
	while (f->head && f->head != f->tail) {
		bool too_big = f->held_bytes > f->o.max_bytes;
		bool too_old = f->o.window_ns && f->head->last_ts + f->o.window_ns < now;

		if (!too_big && !too_old)
			break;
		evict_oldest(f);
	}
	/* The newest block goes too once it is entirely out of the window. */
	if (f->head && f->head == f->tail && f->o.window_ns &&
	    f->head->last_ts + f->o.window_ns < now)
		evict_oldest(f);
}

static void seal(struct flight *f)
{
	struct fblock *b;

	if (!f->cur.len)
		return;
	b = calloc(1, sizeof(*b));
	if (!b || zblock_encode(&f->zip, &b->frame, TRACE_BLK_EVENTS, 0, f->cur.data, f->cur.len)) {
		/* Out of memory: the batch goes to the base state rather than nowhere. */
		struct trace_read_cb cb = {.on_event = to_base, .ctx = f};
		struct trace_damage d = {};
		struct tbuf tmp = {};

		if (b)
			block_free(b);
		if (!trace_block_store(&tmp, TRACE_BLK_EVENTS, 0, f->cur.data, f->cur.len))
			trace_read_blocks(tmp.data, tmp.len, &cb, &d);
		tbuf_free(&tmp);
		goto reset;
	}
	b->first_ts = f->cur_first;
	b->last_ts = f->cur_last;
	b->nr = f->cur_nr;
	memcpy(b->by_type, f->cur_by_type, sizeof(b->by_type));
	if (f->tail)
		f->tail->next = b;
	else
		f->head = b;
	f->tail = b;
	f->held_blocks++;
	f->held_bytes += b->frame.len;
reset:
	f->cur.len = 0;
	f->cur_nr = 0;
	f->cur_first = f->cur_last = 0;
	memset(f->cur_by_type, 0, sizeof(f->cur_by_type));
}

int flight_event(struct flight *f, const union ps_event *e)
{
	if (e->h.size < sizeof(e->h) || e->h.size > sizeof(*e))
		return -EINVAL;
	symtab_note_event(f->syms, f->sz, e);
	if (tbuf_append(&f->cur, e, e->h.size))
		return -ENOMEM;
	if (!f->cur_nr++)
		f->cur_first = e->h.ts_ns;
	if (e->h.ts_ns > f->cur_last)
		f->cur_last = e->h.ts_ns;
	if (e->h.type < PS_EV_TYPE_MAX)
		f->cur_by_type[e->h.type]++;
	if (e->h.ts_ns > f->latest_ts)
		f->latest_ts = e->h.ts_ns;
	if (e->h.type == PS_EV_MARK)
		f->ended = e->mark.kind == PS_MARK_END;
	if (f->cur.len >= TRACE_BATCH_RAW) {
		seal(f);
		evict(f, f->latest_ts);
	}
	return 0;
}

void flight_tick(struct flight *f)
{
	uint64_t now = now_mono_ns();

	seal(f);
	evict(f, now > f->latest_ts ? now : f->latest_ts);
}

/* ---- the dump ------------------------------------------------------------------------------ */

static void synth(union ps_event *e, unsigned int type, size_t size, uint32_t tgid, uint64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->h.type = type;
	e->h.size = size;
	e->h.tier = PS_TIER_USER;
	e->h.flags = PS_F_SYNTH;
	e->h.tgid = tgid;
	e->h.tid = tgid;
	e->h.ts_ns = ts;
}

static void put_mark(struct trace_writer *w, unsigned int kind, unsigned int flags, uint64_t ts,
		     int64_t wall_off)
{
	union ps_event e;

	synth(&e, PS_EV_MARK, sizeof(e.mark), getpid(), ts);
	e.mark.kind = kind;
	e.mark.flags = flags;
	e.mark.wall_ns = ts + wall_off;
	trace_writer_event(w, &e);
}

/* One PIN record per pin still held by the evicted part, dated at the window's start and
 * flagged as predating it; then the exits and teardowns that explain their state. */
static void put_pins(struct trace_writer *w, struct agg *a, uint64_t ts)
{
	struct pin_ent *pin;
	struct proc_ent *p;
	struct obj_ent *o;
	union ps_event e;

	for (size_t it = 0; (pin = htab_next(&a->pins.pins, &it));) {
		const struct holder_ent *h = agg_pins_holder_of(&a->pins, pin);

		if (!h)
			continue;
		synth(&e, PS_EV_PIN, sizeof(e.pin), h->tgid, ts);
		e.h.flags |= PS_F_SEED | (pin->flags & PS_F_LONGTERM);
		e.h.cgroup_id = h->cgroup_id;
		memcpy(e.h.comm, h->comm, sizeof(e.h.comm));
		e.pin.obj = pin->k.k1;
		e.pin.slot = pin->k.k2;
		e.pin.subsys = pin->subsys;
		e.pin.backing = pin->backing;
		e.pin.nr_ustack = h->nr_ustack;
		e.pin.uaddr = pin->uaddr;
		e.pin.len = pin->len;
		e.pin.pages = pin->pages;
		e.pin.acct_pages = pin->acct_pages;
		e.pin.ino = pin->ino;
		e.pin.dev = pin->dev;
		memcpy(e.pin.ustack, h->ustack, sizeof(e.pin.ustack));
		trace_writer_event(w, &e);
	}
	for (size_t it = 0; (p = htab_next(&a->pins.procs, &it));) {
		if (p->sampled) {
			synth(&e, PS_EV_PROCFS, sizeof(e.procfs), p->k.k1, ts);
			e.h.tier = PS_TIER_PROCFS;
			memcpy(e.h.comm, p->comm, sizeof(e.h.comm));
			e.procfs.vmpin_kb = p->vmpin_kb;
			e.procfs.vmlck_kb = p->vmlck_kb;
			e.procfs.alive = p->alive;
			trace_writer_event(w, &e);
		}
		if (p->exited) {
			synth(&e, PS_EV_PROC_EXIT, sizeof(e.h), p->k.k1, p->exit_ns);
			trace_writer_event(w, &e);
		}
	}
	for (size_t it = 0; (o = htab_next(&a->pins.objs, &it));) {
		if (!o->teardown_ns)
			continue;
		synth(&e, PS_EV_OBJ_TEARDOWN, sizeof(e.obj), o->tgid, o->teardown_ns);
		e.obj.obj = o->k.k1;
		e.obj.subsys = o->k.k2;
		e.obj.fd = -1;
		trace_writer_event(w, &e);
	}
}

/* The state the window starts from: everything evicted, restated. */
static void put_base(struct flight *f, struct trace_writer *w, uint64_t start)
{
	union ps_event e;

	put_mark(w, PS_MARK_START, 0, start, f->meta.mono_to_wall_ns);
	put_mark(w, PS_MARK_READY, f->mark_flags, start, f->meta.mono_to_wall_ns);
	if (f->base.vmstat_samples) {
		e.vmstat = f->base.vmstat_last;
		e.h.ts_ns = start;
		trace_writer_event(w, &e);
	}
	put_pins(w, &f->base, start);
	/* The loss counters as they were at the start: the window's own follow every tick. */
	if (f->base.loss.h.type == PS_EV_LOSS) {
		e.loss = f->base.loss;
		e.h.ts_ns = start;
		trace_writer_event(w, &e);
	}
}

static void dump_path_tmp(const char *path, char *tmp, size_t size)
{
	snprintf(tmp, size, "%s.tmp.%d", path, (int)getpid());
}

int flight_dump(struct flight *f, const char *path, struct flight_stats *st)
{
	struct trace_writer_opts wo = {.sync = true};
	struct trace_writer_stats ws;
	struct trace_writer *w;
	struct tbuf syms = {};
	char tmp[4096 + 32];
	uint64_t start, end;
	int err, n;

	flight_tick(f);
	dump_path_tmp(path, tmp, sizeof(tmp));
	err = trace_writer_open(tmp, &wo, &w);
	if (err)
		return err;
	trace_writer_header(w, &f->meta);
	start = f->head ? f->head->first_ts : f->latest_ts ? f->latest_ts : now_mono_ns();
	end = f->latest_ts > start ? f->latest_ts : start;
	if (f->evicted)
		put_base(f, w, start);
	for (struct fblock *b = f->head; b; b = b->next)
		trace_writer_encoded(w, b->frame.data, b->frame.len, b->nr, b->by_type, b->first_ts,
				     b->last_ts);
	/* The run goes on: close the window at its newest event. */
	if (!f->ended)
		put_mark(w, PS_MARK_END, 0, end, f->meta.mono_to_wall_ns);
	n = symtab_encode_all(f->syms, &syms);
	if (n > 0)
		trace_writer_block(w, TRACE_BLK_SYMBOLS, syms.data, syms.len, n);
	tbuf_free(&syms);
	err = trace_writer_close(w, "dump", &ws);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	if (st) {
		flight_get_stats(f, st);
		st->events = ws.events;
		st->file_bytes = ws.file_bytes;
		st->span_ns = end - start;
	}
	return err;
}

void flight_get_stats(const struct flight *f, struct flight_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->held_blocks = f->held_blocks;
	st->held_bytes = f->held_bytes;
	st->evicted_events = f->evicted;
}
