// SPDX-License-Identifier: BSD-2-Clause
#include "churn_poll.h"
#include "htab.h"
#include "loader.h"
#include "util.h"

#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RINGS 16384 /* the map's max_entries */

/* What was reported of one ring so far. */
struct seen {
	struct htab_key k; /* ring, 0 */
	uint64_t pairs, pair_pages;
	/* The held-back unregister (struct ps_churn.holds) seen pending, and since when: BPF keeps
	 * its time in jiffies, which user space cannot read. */
	uint32_t pending_holds, flushed_holds;
	uint64_t pending_since;
};

struct churn_poll {
	int fd;
	uint64_t hold_ns; /* how long a pending unregister is seen before user space reports it */
	struct htab seen;
	uint64_t *keys;
};

struct churn_poll *churn_poll_new(const struct loader *l, uint64_t window_ns, unsigned int hz)
{
	struct churn_poll *p;
	int fd = loader_map_fd(l, "pins_churn");

	if (fd < 0 || !window_ns)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fd = fd;
	/* Twice the window, and two ticks more where BPF's clock is jiffies (a window of whole
	 * ticks lasts up to one more): BPF must be done pairing it before it is reported. */
	p->hold_ns = 2 * window_ns + (hz ? 2 * NSEC_PER_SEC / hz : 0);
	p->keys = calloc(MAX_RINGS, sizeof(*p->keys));
	if (!p->keys || htab_init(&p->seen, MAX_RINGS, sizeof(struct seen))) {
		churn_poll_free(p);
		return NULL;
	}
	return p;
}

static void hdr(union ps_event *e, unsigned int type, size_t size, const struct ps_churn *c,
		uint64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->h.type = type;
	e->h.size = size;
	e->h.tier = PS_TIER_USER;
	e->h.flags = PS_F_SYNTH;
	e->h.tgid = e->h.tid = c->tgid;
	e->h.ts_ns = ts;
	e->h.cgroup_id = c->cgroup_id;
	memcpy(e->h.comm, c->comm, sizeof(e->h.comm));
}

static void one(struct churn_poll *p, uint64_t ring, bool final, uint64_t now, uint64_t drained_ns,
		churn_emit_fn emit, void *ctx)
{
	struct ps_churn c;
	struct seen *s;
	union ps_event e;

	if (bpf_map_lookup_elem(p->fd, &ring, &c))
		return;
	s = htab_insert(&p->seen, ring, 0, NULL);
	if (!s)
		return;
	if (c.dead) { /* BPF reported its last counts with the teardown */
		bpf_map_delete_elem(p->fd, &ring);
		htab_del(&p->seen, s);
		return;
	}
	/* A ring at a reused address starts its counts again from zero. */
	if (c.pairs < s->pairs || c.pair_pages < s->pair_pages)
		s->pairs = s->pair_pages = 0;
	if (c.pairs > s->pairs) {
		hdr(&e, PS_EV_CHURN, sizeof(e.churn), &c, now);
		e.churn.obj = ring;
		e.churn.pairs = c.pairs;
		e.churn.pages = c.pair_pages;
		e.churn.subsys = PS_SUB_IO_URING;
		emit(ctx, &e);
		s->pairs = c.pairs;
		s->pair_pages = c.pair_pages;
	}
	if (!c.pending || c.holds == s->flushed_holds)
		return;
	if (c.holds != s->pending_holds || !s->pending_since) {
		s->pending_holds = c.holds;
		s->pending_since = now; /* the unregister was before this */
	}
	/* Released by user space once pending for two windows, and after the ring buffer was
	 * emptied past it (the registration it releases is in the records before it). */
	if (final || (s->pending_since < drained_ns && now - s->pending_since > p->hold_ns)) {
		hdr(&e, PS_EV_UNPIN, sizeof(e.unpin), &c, now);
		e.unpin.obj = ring;
		e.unpin.slot = PS_SLOT_ALL;
		e.unpin.subsys = PS_SUB_IO_URING;
		e.unpin.reason = PS_UNPIN_UNREGISTER;
		emit(ctx, &e);
		s->flushed_holds = c.holds;
	}
}

void churn_poll_tick(struct churn_poll *p, bool final, uint64_t drained_ns, churn_emit_fn emit,
		     void *ctx)
{
	uint64_t key, *prev = NULL, now;
	size_t n = 0;

	if (!p)
		return;
	/* Keys first: entries are deleted on the way. */
	while (n < MAX_RINGS && !bpf_map_get_next_key(p->fd, prev, &key)) {
		p->keys[n++] = key;
		prev = &p->keys[n - 1];
	}
	now = now_mono_ns();
	for (size_t i = 0; i < n; i++)
		one(p, p->keys[i], final, now, drained_ns, emit, ctx);
}

void churn_poll_free(struct churn_poll *p)
{
	if (!p)
		return;
	if (p->seen.ents)
		htab_free(&p->seen);
	free(p->keys);
	free(p);
}
