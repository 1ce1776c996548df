// SPDX-License-Identifier: BSD-2-Clause
#include "churn_poll.h"
#include "loader.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What was reported of one slot's owner so far. */
struct seen {
	uint64_t ring; /* the owner (0: none seen) */
	uint32_t gen;  /* and the slot's generation then (struct ps_churn.gen) */
	uint64_t pairs, pair_pages;
	/* The held-back unregister (struct ps_churn.holds) seen pending, and since when: BPF keeps
	 * its time in jiffies, which user space cannot read. */
	uint32_t pending_holds, flushed_holds;
	uint64_t pending_since;
};

struct churn_poll {
	const struct ps_churn *slots; /* pins_churn, mapped read-only */
	size_t map_len;
	uint64_t hold_ns; /* how long a pending unregister is seen before user space reports it */
	struct seen seen[PS_CHURN_SLOTS];
};

struct churn_poll *churn_poll_new(const struct loader *l, uint64_t window_ns, unsigned int hz)
{
	long page = sysconf(_SC_PAGESIZE);
	struct churn_poll *p;
	int fd = loader_map_fd(l, "pins_churn");
	void *m;

	if (fd < 0 || !window_ns || page <= 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->map_len = (sizeof(struct ps_churn) * PS_CHURN_SLOTS + page - 1) / page * page;
	m = mmap(NULL, p->map_len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		free(p);
		return NULL;
	}
	p->slots = m;
	/* Twice the window, and two ticks more where BPF's clock is jiffies (a window of whole
	 * ticks lasts up to one more): BPF must be done pairing it before it is reported. */
	p->hold_ns = 2 * window_ns + (hz ? 2 * NSEC_PER_SEC / hz : 0);
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

static void one(struct churn_poll *p, const struct ps_churn *slot, struct seen *s, bool final,
		uint64_t now, uint64_t drained_ns, churn_emit_fn emit, void *ctx)
{
	uint32_t gen = __atomic_load_n(&slot->gen, __ATOMIC_ACQUIRE);
	uint64_t ring = __atomic_load_n(&slot->ring, __ATOMIC_ACQUIRE);
	struct ps_churn c;
	union ps_event e;

	if (!ring || gen & 1)
		return;
	memcpy(&c, slot, sizeof(c));
	/* BPF frees the slot when a teardown ends, and a new ring may take it at once: a copy
	 * made across that (the sequence count moved) is left for the next tick. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&slot->gen, __ATOMIC_RELAXED) != gen ||
	    __atomic_load_n(&slot->ring, __ATOMIC_RELAXED) != ring || c.ring != ring)
		return;
	if (c.dead) /* BPF reported its last counts with the teardown */
		return;
	if (s->ring != ring || s->gen != gen) /* a new owner: its counts start from zero */
		*s = (struct seen){.ring = ring, .gen = gen};
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
	uint64_t now;

	if (!p)
		return;
	now = now_mono_ns();
	for (size_t i = 0; i < PS_CHURN_SLOTS; i++)
		one(p, &p->slots[i], &p->seen[i], final, now, drained_ns, emit, ctx);
}

void churn_poll_free(struct churn_poll *p)
{
	if (!p)
		return;
	if (p->slots)
		munmap((void *)p->slots, p->map_len);
	free(p);
}
