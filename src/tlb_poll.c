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

/* This tick's sums: tlb_stats plus the accumulator slots. */
struct cur_ent {
	struct tlb_key key;
	bool in_stats, in_acc;
	struct tlb_val sum;
};

struct idx_ent {
	struct htab_key k;
	size_t i;
};

struct tlb_poll {
	int stats_fd, global_fd, watch_fd, conf_fd, acc_fd;
	int ncpu;
	struct tlb_val *vals; /* one per possible CPU */
	struct tlb_acc *accs; /* one per possible CPU */
	struct cur_ent *cur;  /* MAX_KEYS */
	size_t ncur;
	struct htab idx;	     /* key -> index into cur, this tick */
	struct ps_tlb_counts *gvals; /* one per possible CPU */
	struct htab prev;	     /* what the previous tick emitted up to */
	struct ps_tlb_counts prev_global;
	uint64_t prev_irq, prev_ns;
	bool irq_ok;
	uint32_t flags;	      /* PS_TLB_F_*, for the GLOBAL records */
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

struct tlb_poll *tlb_poll_new(const struct loader *l, uint32_t flags)
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
	p->flags = flags;
	p->watch_fd = loader_map_fd(l, "tlb_watch");
	p->conf_fd = loader_map_fd(l, "tlb_conf");
	p->acc_fd = loader_map_fd(l, "tlb_acc");
	p->ncpu = libbpf_num_possible_cpus();
	if (p->ncpu <= 0)
		goto fail;
	p->vals = calloc(p->ncpu, sizeof(*p->vals));
	p->accs = calloc(p->ncpu, sizeof(*p->accs));
	p->cur = calloc(MAX_KEYS, sizeof(*p->cur));
	p->gvals = calloc(p->ncpu, sizeof(*p->gvals));
	p->dead = calloc(MAX_KEYS, sizeof(*p->dead));
	p->watched = calloc(MAX_KEYS, sizeof(*p->watched));
	p->new_watched = calloc(MAX_KEYS, sizeof(*p->new_watched));
	if (!p->vals || !p->accs || !p->cur || !p->gvals || !p->dead || !p->watched ||
	    !p->new_watched || htab_init(&p->prev, MAX_KEYS, sizeof(struct prev_ent)))
		goto fail;
	/* The entry BPF counts in when it cannot make one for a process (tlb.bpf.c fold()). */
	if (bpf_map_update_elem(stats, &(struct tlb_key){0}, p->vals, BPF_NOEXIST) &&
	    errno != EEXIST)
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
	free(p->accs);
	free(p->cur);
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

static void add_val(struct tlb_val *dst, const struct tlb_val *v)
{
	const __u64 *s = (const __u64 *)&v->c;
	__u64 *d = (__u64 *)&dst->c;

	for (size_t i = 0; i < NWORDS(v->c); i++)
		d[i] += s[i];
	for (int h = 0; h < PS_TLB_H_MAX; h++)
		for (int i = 0; i < PS_TLB_HIST_SLOTS; i++)
			dst->hist[h][i] += v->hist[h][i];
	if (!dst->comm[0] && v->comm[0])
		memcpy(dst->comm, v->comm, sizeof(dst->comm));
}

static bool process_gone(uint32_t tgid)
{
	return tgid && kill((pid_t)tgid, 0) && errno == ESRCH;
}

/* The entry of key k in this tick's table. */
static struct cur_ent *cur_of(struct tlb_poll *p, const struct tlb_key *k)
{
	int created;
	struct idx_ent *x = htab_insert(&p->idx, k->tgid, k->cause, &created);

	if (!x)
		return NULL;
	if (created) {
		if (p->ncur >= MAX_KEYS) {
			htab_del(&p->idx, x);
			return NULL;
		}
		x->i = p->ncur++;
		memset(&p->cur[x->i], 0, sizeof(p->cur[x->i]));
		p->cur[x->i].key.tgid = k->tgid;
		p->cur[x->i].key.cause = k->cause;
	}
	return &p->cur[x->i];
}

/*
 * dst = cur - prev where cur moved past prev; prev keeps the maximum. A fold in BPF between
 * reading tlb_stats and tlb_acc can make one read come out short: the next tick makes it up.
 */
static bool diff_up(__u64 *dst, const __u64 *cur, __u64 *prev, size_t n)
{
	bool moved = false;

	for (size_t i = 0; i < n; i++) {
		dst[i] = cur[i] > prev[i] ? cur[i] - prev[i] : 0;
		if (dst[i]) {
			prev[i] = cur[i];
			moved = true;
		}
	}
	return moved;
}

/* One (tgid, cause): emit what moved since the last tick. Returns whether it moved. */
static bool emit_key(struct tlb_poll *p, const struct cur_ent *c, uint64_t now, uint64_t interval,
		     tlb_emit_fn emit, void *ctx)
{
	struct prev_ent *pe = htab_insert(&p->prev, c->key.tgid, c->key.cause, NULL);
	union ps_event e;
	bool moved = false;

	if (!pe)
		return false;
	hdr(&e, c->key.tgid, c->sum.comm, now);
	e.tlb.kind = PS_TLB_COUNTS;
	e.tlb.cause = c->key.cause;
	e.tlb.interval_ns = interval;
	if (diff_up((__u64 *)&e.tlb.c, (const __u64 *)&c->sum.c, (__u64 *)&pe->sum.c,
		    NWORDS(c->sum.c))) {
		emit(ctx, &e);
		moved = true;
	}
	for (int h = 0; h < PS_TLB_H_MAX; h++) {
		hdr(&e, c->key.tgid, c->sum.comm, now);
		e.tlb.kind = PS_TLB_HIST;
		e.tlb.hist = h;
		e.tlb.cause = c->key.cause;
		e.tlb.interval_ns = interval;
		if (diff_up(e.tlb.slots, c->sum.hist[h], pe->sum.hist[h], PS_TLB_HIST_SLOTS)) {
			emit(ctx, &e);
			moved = true;
		}
	}
	return moved;
}

static void read_stats(struct tlb_poll *p)
{
	struct tlb_key k, next;
	bool first = true;

	/* tlb_stats before tlb_acc: a fold in between can only hide counts, not double them */
	while (!bpf_map_get_next_key(p->stats_fd, first ? NULL : &k, &next)) {
		struct cur_ent *c;

		first = false;
		k = next;
		if (bpf_map_lookup_elem(p->stats_fd, &k, p->vals))
			continue;
		c = cur_of(p, &k);
		if (!c)
			continue;
		c->in_stats = true;
		for (int cpu = 0; cpu < p->ncpu; cpu++)
			add_val(&c->sum, &p->vals[cpu]);
	}
	if (p->acc_fd < 0)
		return;
	for (__u32 slot = 0; slot < TLB_ACC_SLOTS; slot++) {
		if (bpf_map_lookup_elem(p->acc_fd, &slot, p->accs))
			continue;
		for (int cpu = 0; cpu < p->ncpu; cpu++) {
			const struct tlb_acc *a = &p->accs[cpu];
			struct cur_ent *c;

			if (!a->used)
				continue;
			c = cur_of(p, &a->key);
			if (!c)
				continue;
			c->in_acc = true;
			add_val(&c->sum, &a->v);
		}
	}
}

static void emit_keys(struct tlb_poll *p, uint64_t now, uint64_t interval, tlb_emit_fn emit,
		      void *ctx)
{
	size_t ndead = 0;

	p->ncur = 0;
	if (htab_init(&p->idx, MAX_KEYS, sizeof(struct idx_ent)))
		return;
	read_stats(p);
	for (size_t i = 0; i < p->ncur; i++) {
		const struct cur_ent *c = &p->cur[i];

		/* Gone processes with nothing new and nothing pending in BPF: forget them, so
		 * the bounded map keeps room. */
		if (!emit_key(p, c, now, interval, emit, ctx) && c->in_stats && !c->in_acc &&
		    process_gone(c->key.tgid))
			p->dead[ndead++] = c->key;
	}
	for (size_t i = 0; i < ndead; i++) {
		struct prev_ent *pe = htab_find(&p->prev, p->dead[i].tgid, p->dead[i].cause);

		bpf_map_delete_elem(p->stats_fd, &p->dead[i]);
		if (pe)
			htab_del(&p->prev, pe);
	}
	htab_free(&p->idx);
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
	e.tlb.flags = p->flags;
	e.tlb.c.irq_tlb = e.tlb.hist ? irq - p->prev_irq : 0;
	emit(ctx, &e);
	p->prev_global = g;
	p->prev_irq = irq;
	p->irq_ok = irq_ok;
	p->prev_ns = now;
	update_watch(p, a);
}
