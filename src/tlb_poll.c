// SPDX-License-Identifier: BSD-2-Clause
#include "tlb_poll.h"
#include "loader.h"
#include "log.h"
#include "tlb.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 8192

struct prev_ent {
	struct htab_key k; /* tgid, cause */
	struct tlb_val sum;
};

struct tlb_poll {
	int stats_fd, global_fd, watch_fd, conf_fd;
	int ncpu;
	struct tlb_val *vals;	     /* one per possible CPU */
	struct ps_tlb_counts *gvals; /* one per possible CPU */
	struct htab prev;	     /* what the previous tick emitted up to */
	struct ps_tlb_counts prev_global;
	uint64_t prev_irq, prev_ns;
	bool irq_ok;
	struct tlb_key *dead; /* keys of gone processes, deleted after the walk */
	uint32_t *watched;    /* tgids with a tlb_watch entry */
	uint32_t *new_watched;
	size_t nwatched;
};

int tlb_irq_count(uint64_t *sum)
{
	char *line = NULL;
	size_t cap = 0;
	int err = -ENOENT;
	FILE *f = fopen("/proc/interrupts", "re");

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		char *p = line, *end;

		while (*p == ' ')
			p++;
		if (strncmp(p, "TLB:", 4))
			continue;
		p += 4;
		*sum = 0;
		for (;;) {
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			*sum += v;
			p = end;
		}
		err = 0;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

struct tlb_poll *tlb_poll_new(const struct loader *l)
{
	struct tlb_poll *p;
	int stats = loader_map_fd(l, "tlb_stats"), global = loader_map_fd(l, "tlb_global");

	if (stats < 0 || global < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->stats_fd = stats;
	p->global_fd = global;
	p->watch_fd = loader_map_fd(l, "tlb_watch");
	p->conf_fd = loader_map_fd(l, "tlb_conf");
	p->ncpu = libbpf_num_possible_cpus();
	if (p->ncpu <= 0)
		goto fail;
	p->vals = calloc(p->ncpu, sizeof(*p->vals));
	p->gvals = calloc(p->ncpu, sizeof(*p->gvals));
	p->dead = calloc(MAX_KEYS, sizeof(*p->dead));
	p->watched = calloc(MAX_KEYS, sizeof(*p->watched));
	p->new_watched = calloc(MAX_KEYS, sizeof(*p->new_watched));
	if (!p->vals || !p->gvals || !p->dead || !p->watched || !p->new_watched ||
	    htab_init(&p->prev, MAX_KEYS, sizeof(struct prev_ent)))
		goto fail;
	return p;
fail:
	tlb_poll_free(p);
	return NULL;
}

void tlb_poll_free(struct tlb_poll *p)
{
	if (!p)
		return;
	htab_free(&p->prev);
	free(p->vals);
	free(p->gvals);
	free(p->dead);
	free(p->watched);
	free(p->new_watched);
	free(p);
}

static int read_global(struct tlb_poll *p, struct ps_tlb_counts *out)
{
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(p->global_fd, &zero, p->gvals))
		return -errno;
	for (int c = 0; c < p->ncpu; c++) {
		const __u64 *s = (const __u64 *)&p->gvals[c];
		__u64 *d = (__u64 *)out;

		for (size_t i = 0; i < sizeof(*out) / sizeof(__u64); i++)
			d[i] += s[i];
	}
	return 0;
}

/* dst = a - b, counter by counter; returns whether anything moved. */
static bool diff(__u64 *dst, const __u64 *a, const __u64 *b, size_t n)
{
	bool moved = false;

	for (size_t i = 0; i < n; i++) {
		dst[i] = a[i] - b[i];
		moved |= dst[i] != 0;
	}
	return moved;
}

#define NWORDS(x) (sizeof(x) / sizeof(__u64))

static void hdr(union ps_event *e, uint32_t tgid, const char *comm, uint64_t now)
{
	memset(e, 0, sizeof(*e));
	e->h.type = PS_EV_TLB;
	e->h.size = sizeof(e->tlb);
	e->h.tier = PS_TIER_RAW_TP;
	e->h.flags = PS_F_SYNTH;
	e->h.tgid = tgid;
	e->h.tid = tgid;
	e->h.ts_ns = now;
	if (comm)
		memcpy(e->h.comm, comm, PS_COMM_LEN - 1);
}

static void sum_cpus(struct tlb_poll *p, struct tlb_val *out)
{
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < p->ncpu; c++) {
		const struct tlb_val *v = &p->vals[c];
		const __u64 *s = (const __u64 *)&v->c;
		__u64 *d = (__u64 *)&out->c;

		for (size_t i = 0; i < NWORDS(v->c); i++)
			d[i] += s[i];
		for (int h = 0; h < PS_TLB_H_MAX; h++)
			for (int i = 0; i < PS_TLB_HIST_SLOTS; i++)
				out->hist[h][i] += v->hist[h][i];
		if (!out->comm[0] && v->comm[0])
			memcpy(out->comm, v->comm, sizeof(out->comm));
	}
}

static bool process_gone(uint32_t tgid)
{
	return tgid && kill((pid_t)tgid, 0) && errno == ESRCH;
}

/* One (tgid, cause): emit what moved since the last tick. Returns whether it moved. */
static bool emit_key(struct tlb_poll *p, const struct tlb_key *k, uint64_t now, uint64_t interval,
		     tlb_emit_fn emit, void *ctx)
{
	struct tlb_val cur;
	struct prev_ent *pe;
	union ps_event e;
	bool moved = false;

	if (bpf_map_lookup_elem(p->stats_fd, k, p->vals))
		return false;
	sum_cpus(p, &cur);
	pe = htab_insert(&p->prev, k->tgid, k->cause, NULL);
	if (!pe)
		return false;
	hdr(&e, k->tgid, cur.comm, now);
	e.tlb.kind = PS_TLB_COUNTS;
	e.tlb.cause = k->cause;
	e.tlb.interval_ns = interval;
	if (diff((__u64 *)&e.tlb.c, (__u64 *)&cur.c, (__u64 *)&pe->sum.c, NWORDS(cur.c))) {
		emit(ctx, &e);
		moved = true;
	}
	for (int h = 0; h < PS_TLB_H_MAX; h++) {
		hdr(&e, k->tgid, cur.comm, now);
		e.tlb.kind = PS_TLB_HIST;
		e.tlb.hist = h;
		e.tlb.cause = k->cause;
		e.tlb.interval_ns = interval;
		if (diff(e.tlb.slots, cur.hist[h], pe->sum.hist[h], PS_TLB_HIST_SLOTS)) {
			emit(ctx, &e);
			moved = true;
		}
	}
	pe->sum = cur;
	return moved;
}

static void emit_keys(struct tlb_poll *p, uint64_t now, uint64_t interval, tlb_emit_fn emit,
		      void *ctx)
{
	struct tlb_key k, next;
	size_t ndead = 0;
	bool first = true;

	while (!bpf_map_get_next_key(p->stats_fd, first ? NULL : &k, &next)) {
		first = false;
		k = next;
		if (!emit_key(p, &k, now, interval, emit, ctx) && ndead < MAX_KEYS &&
		    process_gone(k.tgid))
			p->dead[ndead++] = k;
	}
	/* Gone processes with nothing new: forget them so the bounded map keeps room. */
	for (size_t i = 0; i < ndead; i++) {
		struct prev_ent *pe = htab_find(&p->prev, p->dead[i].tgid, p->dead[i].cause);

		bpf_map_delete_elem(p->stats_fd, &p->dead[i]);
		if (pe)
			htab_del(&p->prev, pe);
	}
}

/* Tell BPF the pinned ranges of every process with pins (at most TLB_WATCH_RANGES each). */
static void update_watch(struct tlb_poll *p, struct agg *a)
{
	struct htab_key *key;
	struct pin_ent *pin;
	struct htab w;
	size_t n = 0;

	if (p->watch_fd < 0 ||
	    htab_init(&w, 4096, sizeof(struct htab_key) + sizeof(struct tlb_watch)))
		return;
	for (size_t it = 0; (pin = htab_next(&a->pins.pins, &it));) {
		uint32_t tgid = pin->holder.k1 >> 8;
		struct tlb_watch *tw;
		char *ent;
		uint64_t s = pin->uaddr & ~4095ULL, e = (pin->uaddr + pin->len + 4095) & ~4095ULL;
		uint32_t i;

		if (!pin->pages || !pin->len)
			continue;
		ent = htab_insert(&w, tgid, 0, NULL);
		if (!ent)
			continue;
		tw = (struct tlb_watch *)(ent + sizeof(struct htab_key));
		/* Merge with a range it touches, else append; when full, widen the last. */
		for (i = 0; i < tw->n; i++)
			if (s <= tw->end[i] && e >= tw->start[i])
				break;
		if (i == tw->n && tw->n < TLB_WATCH_RANGES) {
			tw->start[i] = s;
			tw->end[i] = e;
			tw->n++;
			continue;
		}
		if (i == tw->n)
			i = tw->n - 1;
		tw->start[i] = s < tw->start[i] ? s : tw->start[i];
		tw->end[i] = e > tw->end[i] ? e : tw->end[i];
	}
	/* Drop entries of processes that hold nothing now, then write the current ones. */
	for (size_t i = 0; i < p->nwatched; i++)
		if (!htab_find(&w, p->watched[i], 0))
			bpf_map_delete_elem(p->watch_fd, &p->watched[i]);
	for (size_t it = 0; (key = htab_next(&w, &it));) {
		const struct tlb_watch *tw = (const void *)((char *)key + sizeof(*key));
		uint32_t tgid = key->k1;
		bool known = false;

		if (bpf_map_update_elem(p->watch_fd, &tgid, tw, BPF_ANY))
			continue;
		for (size_t i = 0; i < p->nwatched && !known; i++)
			known = p->watched[i] == tgid;
		if (!known)
			ps_info(1, "tlb: counting flushes over %u pinned range(s) of pid %u", tw->n,
				tgid);
		if (n < MAX_KEYS)
			p->new_watched[n++] = tgid;
	}
	memcpy(p->watched, p->new_watched, n * sizeof(*p->watched));
	p->nwatched = n;
	if (p->conf_fd >= 0) {
		struct tlb_conf conf = {.watching = n};
		__u32 zero = 0;

		bpf_map_update_elem(p->conf_fd, &zero, &conf, BPF_ANY);
	}
	htab_free(&w);
}

void tlb_poll_start(struct tlb_poll *p, struct agg *a)
{
	if (!p)
		return;
	update_watch(p, a);
	p->irq_ok = tlb_irq_count(&p->prev_irq) == 0;
	read_global(p, &p->prev_global);
	p->prev_ns = now_mono_ns();
}

void tlb_poll_tick(struct tlb_poll *p, struct agg *a, tlb_emit_fn emit, void *ctx)
{
	struct ps_tlb_counts g;
	union ps_event e;
	uint64_t irq = 0, now;
	bool irq_ok;

	if (!p)
		return;
	now = now_mono_ns();
	emit_keys(p, now, now - p->prev_ns, emit, ctx);
	/* The two ground-truth reads back to back, so they cover the same window. */
	irq_ok = tlb_irq_count(&irq) == 0;
	if (read_global(p, &g))
		return;
	now = now_mono_ns();
	hdr(&e, 0, NULL, now);
	e.tlb.kind = PS_TLB_GLOBAL;
	e.tlb.interval_ns = now - p->prev_ns;
	diff((__u64 *)&e.tlb.c, (__u64 *)&g, (__u64 *)&p->prev_global, NWORDS(g));
	e.tlb.hist = irq_ok && p->irq_ok; /* irq_tlb is valid */
	e.tlb.c.irq_tlb = e.tlb.hist ? irq - p->prev_irq : 0;
	emit(ctx, &e);
	p->prev_global = g;
	p->prev_irq = irq;
	p->irq_ok = irq_ok;
	p->prev_ns = now;
	update_watch(p, a);
}
