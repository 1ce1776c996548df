// SPDX-License-Identifier: BSD-2-Clause
#include "agg_pins.h"
#include "decode.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static uint64_t stack_hash(const __u64 *st, unsigned int n)
{
	uint64_t h = 0;

	for (unsigned int i = 0; i < n && i < PS_MAX_STACK; i++)
		h = hash64(h ^ st[i]);
	return h;
}

int agg_pins_init(struct agg_pins *p, const struct agg_limits *lim)
{
	memset(p, 0, sizeof(*p));
	if (htab_init(&p->pins, lim->max_pins, sizeof(struct pin_ent)) ||
	    htab_init(&p->holders, lim->max_holders, sizeof(struct holder_ent)) ||
	    htab_init(&p->churn, lim->max_objs, sizeof(struct churn_ent)) ||
	    htab_init(&p->objs, lim->max_objs, sizeof(struct obj_ent)) ||
	    htab_init(&p->procs, lim->max_procs, sizeof(struct proc_ent))) {
		agg_pins_free(p);
		return -1;
	}
	return 0;
}

void agg_pins_free(struct agg_pins *p)
{
	struct holder_ent *h;

	for (size_t i = 0; p->holders.ents && (h = htab_next(&p->holders, &i));) {
		free(h->kstack);
		free(h->shortterm_ns);
	}
	htab_free(&p->pins);
	htab_free(&p->holders);
	htab_free(&p->objs);
	htab_free(&p->procs);
	htab_free(&p->churn);
}

uint64_t agg_pins_overflow(const struct agg_pins *p)
{
	return p->pins.overflow + p->holders.overflow + p->objs.overflow + p->procs.overflow;
}

static struct proc_ent *proc_get(struct agg_pins *p, uint32_t tgid)
{
	return htab_insert(&p->procs, tgid, 0, NULL);
}

/* The user stack a PIN record is counted with: its own, or its object's previous one. */
struct pin_stack {
	const __u64 *ip; /* PS_MAX_STACK entries */
	unsigned int nr;
	uint64_t hash;		 /* stack_hash() */
	struct holder_ent *hint; /* maybe the holder (its object's last), or NULL */
};

static struct holder_ent *holder_get(struct agg_pins *p, const struct ps_ev_pin *e,
				     const struct pin_stack *st)
{
	uint64_t k1 = (uint64_t)e->h.tgid << 8 | e->subsys;
	int created = 0;
	struct holder_ent *h = st->hint;

	if (!htab_live(&p->holders, h, k1, st->hash))
		h = htab_insert(&p->holders, k1, st->hash, &created);
	if (!h)
		return NULL;
	if (created) {
		h->tgid = e->h.tgid;
		h->subsys = e->subsys;
		h->first_ns = e->h.ts_ns;
		h->nr_ustack = st->nr < PS_MAX_STACK ? st->nr : PS_MAX_STACK;
		memcpy(h->ustack, st->ip, sizeof(h->ustack));
	}
	if (!h->nr_kstack && e->nr_kstack && (h->kstack = malloc(sizeof(e->kstack)))) {
		h->nr_kstack = e->nr_kstack < PS_MAX_STACK ? e->nr_kstack : PS_MAX_STACK;
		memcpy(h->kstack, e->kstack, sizeof(e->kstack));
	}
	memcpy(h->comm, e->h.comm, sizeof(h->comm));
	h->cgroup_id = e->h.cgroup_id;
	return h;
}

/* Take pin's pages off its holder (the entry stays). */
static void pin_release(struct agg_pins *p, struct pin_ent *pin, uint64_t ts)
{
	struct holder_ent *h = agg_pins_holder_of(p, pin);

	if (h) {
		h->pins--;
		h->pages -= pin->pages;
		h->acct_pages -= pin->acct_pages;
		if (pin->flags & PS_F_LONGTERM)
			h->pages_longterm -= pin->pages;
		else
			h->pages_shortterm -= pin->pages;
		h->released_pages += pin->pages;
		h->last_ns = ts;
		if (!(pin->flags & PS_F_LONGTERM) && pin->since_ns && ts >= pin->since_ns &&
		    (h->shortterm_ns || (h->shortterm_ns = calloc(1, sizeof(struct hist)))))
			hist_add(h->shortterm_ns, ts - pin->since_ns);
	}
}

static void pin_drop(struct agg_pins *p, struct pin_ent *pin, uint64_t ts)
{
	pin_release(p, pin, ts);
	htab_del(&p->pins, pin);
}

/* The holder the pin was counted with, or NULL when it was not counted again. */
static struct holder_ent *pin_add(struct agg_pins *p, const struct ps_ev_pin *e,
				  const struct pin_stack *st)
{
	int created;
	struct pin_ent *pin = htab_insert(&p->pins, e->obj, e->slot, &created), *old;
	struct holder_ent *h;
	uint64_t since = (e->h.flags & PS_F_SEED) ? 0 : e->h.ts_ns;

	if (!pin) {
		/* The pin table is full. The holder is updated all the same; when it does not
		 * fit either, the record is the holder table's loss only, as it always was
		 * (the holder was looked up first). */
		h = holder_get(p, e, st);
		if (!h)
			p->pins.overflow--;
		return h;
	}
	old = created ? NULL : pin;
	/* A restated pin that did not change keeps its age. */
	if (old && old->uaddr == e->uaddr && old->len == e->len && old->pages == e->pages) {
		since = old->since_ns;
		if (old->stale) {
			old->stale = false;
			return NULL;
		}
	}
	/* Another buffer in the slot: the entry is reused for it. */
	if (old)
		pin_release(p, old, e->h.ts_ns);
	h = holder_get(p, e, st);
	if (!h) {
		/* A new entry goes back as it came: the table is as it was. */
		htab_del(&p->pins, pin);
		return NULL;
	}
	pin->stale = false;
	pin->holder = h->k;
	pin->hp = h;
	pin->uaddr = e->uaddr;
	pin->len = e->len;
	pin->pages = e->pages;
	pin->acct_pages = e->acct_pages;
	pin->ino = e->ino;
	pin->dev = e->dev;
	pin->backing = e->backing;
	pin->subsys = e->subsys;
	pin->flags = e->h.flags;
	pin->since_ns = since;
	h->pins++;
	h->backing_mask |= 1u << (e->backing < 32 ? e->backing : 0);
	h->pages += e->pages;
	h->acct_pages += e->acct_pages;
	if (e->h.flags & PS_F_LONGTERM)
		h->pages_longterm += e->pages;
	else
		h->pages_shortterm += e->pages;
	if (e->h.flags & PS_F_SEED)
		h->seeded = true;
	else
		h->acquired_pages += e->pages;
	h->last_ns = e->h.ts_ns;
	if (h->state == HOLDER_EXITED && !(e->h.flags & PS_F_SEED))
		h->state = HOLDER_ALIVE;
	return h;
}

/*
 * Apply fn to every pin of obj. Through the object's slots when its entry knows them all (the
 * common case: cost per pin of the object), else by a walk of the whole pin table; also when
 * the slots are more than the walk (a record can name any slot up to 2^32: a loop over them
 * would not end in minutes). fn may delete the pin it is given.
 */
static void each_pin_of(struct agg_pins *p, uint64_t obj, uint8_t subsys,
			void (*fn)(struct agg_pins *, struct pin_ent *, uint64_t), uint64_t arg)
{
	struct obj_ent *o = htab_find(&p->objs, obj, subsys);
	struct pin_ent *pin;

	if (o && o->complete && o->nslots <= p->pins.used) {
		for (uint32_t s = 0; s < o->nslots; s++)
			if ((pin = htab_find(&p->pins, obj, s)))
				fn(p, pin, arg);
		return;
	}
	for (size_t it = 0; (pin = htab_next(&p->pins, &it));)
		if (pin->k.k1 == obj)
			fn(p, pin, arg);
}

/* The object's entry, found or created. A new entry knows all its pins' slots unless the
 * object table once overflowed (pins may then exist whose object had no entry). */
static struct obj_ent *obj_get(struct agg_pins *p, uint64_t obj, uint8_t subsys)
{
	int created;
	struct obj_ent *o;

	/* A registration's records come one after another: most are for the last object. */
	if (htab_live(&p->objs, p->last_obj, obj, subsys))
		return p->last_obj;
	o = htab_insert(&p->objs, obj, subsys, &created);
	if (o && created)
		o->complete = p->objs.overflow == 0;
	if (o)
		p->last_obj = o;
	return o;
}

static void mark_stale(struct agg_pins *p, struct pin_ent *pin, uint64_t ts)
{
	(void)p;
	(void)ts;
	pin->stale = true;
}

static void drop_stale(struct agg_pins *p, struct pin_ent *pin, uint64_t ts)
{
	if (pin->stale)
		pin_drop(p, pin, ts);
}

static void drop_all(struct agg_pins *p, struct pin_ent *pin, uint64_t ts)
{
	pin_drop(p, pin, ts);
}

static void set_holder_state(struct agg_pins *p, struct pin_ent *pin, uint64_t state)
{
	struct holder_ent *h = agg_pins_holder_of(p, pin);

	if (h)
		h->state = state;
}

/* OBJ_SYNC marks the object's pins stale; the PIN records that follow confirm them; the
 * OBJ_SYNC with PS_F_END drops what was not confirmed. A lost END record leaves the stale pins
 * until the object's next sync (the loss itself is counted). With PS_F_REPLACE the object's
 * pins were all released first: they are dropped, and those that follow are new. */
static void on_sync(struct agg_pins *p, const struct ps_ev_obj *e)
{
	struct obj_ent *o = obj_get(p, e->obj, e->subsys);

	if (o)
		o->tgid = e->h.tgid;
	if (e->h.flags & PS_F_END) {
		each_pin_of(p, e->obj, e->subsys, drop_stale, e->h.ts_ns);
		if (o)
			o->syncing = false;
		return;
	}
	each_pin_of(p, e->obj, e->subsys, (e->h.flags & PS_F_REPLACE) ? drop_all : mark_stale,
		    e->h.ts_ns);
	if (o)
		o->syncing = true;
}

static void on_pin(struct agg_pins *p, const struct ps_ev_pin *e)
{
	struct obj_ent *o = obj_get(p, e->obj, e->subsys);
	struct pin_stack st = {.ip = e->ustack, .nr = e->nr_ustack};
	struct holder_ent *h;

	if (o && (e->h.flags & PS_F_USTACK_PREV)) {
		/* The previous record's stack, so most likely its holder too. */
		st.ip = o->ustack;
		st.nr = o->nr_ustack;
		st.hash = o->ustack_hash;
		st.hint = o->hp;
	} else {
		st.hash = stack_hash(e->ustack, e->nr_ustack);
		if (o) {
			o->nr_ustack = e->nr_ustack;
			memcpy(o->ustack, e->ustack, sizeof(o->ustack));
			o->ustack_hash = st.hash;
			st.hint = o->hp;
		}
	}
	h = pin_add(p, e, &st);
	if (!o)
		return;
	if (h)
		o->hp = h;
	o->tgid = e->h.tgid;
	if (e->slot >= o->nslots)
		o->nslots = e->slot + 1;
}

static void on_unpin(struct agg_pins *p, const struct ps_ev_unpin *e)
{
	struct obj_ent *o = htab_find(&p->objs, e->obj, e->subsys);
	struct pin_ent *pin;

	if (e->slot == PS_SLOT_ALL) {
		each_pin_of(p, e->obj, e->subsys, drop_all, e->h.ts_ns);
		if (o)
			htab_del(&p->objs, o);
		return;
	}
	pin = htab_find(&p->pins, e->obj, e->slot);
	if (!pin) {
		p->orphan_unpins++;
		return;
	}
	if (e->pages && e->pages < pin->pages) {
		/* Partial release (function tier): keep the rest. */
		struct holder_ent *h = agg_pins_holder_of(p, pin);

		pin->pages -= e->pages;
		if (h) {
			h->pages -= e->pages;
			h->released_pages += e->pages;
			if (pin->flags & PS_F_LONGTERM)
				h->pages_longterm -= e->pages;
			else
				h->pages_shortterm -= e->pages;
		}
		return;
	}
	pin_drop(p, pin, e->h.ts_ns);
}

static void proc_exited(struct agg_pins *p, const struct ps_ev_hdr *e)
{
	struct proc_ent *pr = proc_get(p, e->tgid);
	struct holder_ent *h;

	if (pr) {
		pr->exited = true;
		pr->exit_ns = e->ts_ns;
	}
	for (size_t it = 0; (h = htab_next(&p->holders, &it));) {
		if (h->tgid != e->tgid)
			continue;
		h->state = HOLDER_EXITED;
		h->exit_ns = e->ts_ns;
	}
}

static void on_teardown(struct agg_pins *p, const struct ps_ev_obj *e)
{
	struct obj_ent *o = htab_find(&p->objs, e->obj, e->subsys);
	struct churn_ent *c = htab_find(&p->churn, e->obj, e->subsys);

	if (c) /* its last totals came just before (BPF); a new ring may reuse the address */
		htab_del(&p->churn, c);
	if (!o)
		return;
	o->teardown_ns = e->h.ts_ns;
	each_pin_of(p, e->obj, e->subsys, set_holder_state, HOLDER_RELEASING);
}

static void on_procfs(struct agg_pins *p, const struct ps_ev_procfs *e)
{
	struct proc_ent *pr = proc_get(p, e->h.tgid);

	if (!pr)
		return;
	if (!pr->sampled)
		pr->first_vmpin_kb = e->vmpin_kb;
	pr->sampled = true;
	pr->alive = e->alive;
	pr->vmpin_kb = e->vmpin_kb;
	pr->vmlck_kb = e->vmlck_kb;
	if (e->h.comm[0])
		memcpy(pr->comm, e->h.comm, sizeof(pr->comm));
}

static void count_churn(struct agg_pins *p, struct pin_ent *pin, uint64_t arg)
{
	const struct ps_ev_churn *e = (const struct ps_ev_churn *)(uintptr_t)arg;
	struct holder_ent *h = agg_pins_holder_of(p, pin);

	if (h && !h->churn_seen) {
		h->churn_seen = true;
		h->churn_pairs += e->pairs;
		h->acquired_pages += e->pages;
		h->released_pages += e->pages;
		h->last_ns = e->h.ts_ns;
	}
}

static void churn_unseen(struct agg_pins *p, struct pin_ent *pin, uint64_t arg)
{
	struct holder_ent *h = agg_pins_holder_of(p, pin);

	(void)arg;
	if (h)
		h->churn_seen = false;
}

/*
 * Register/unregister pairs BPF counted for a ring (struct ps_churn): the same buffers as the
 * ring's current pins, so the same holder; its acquired and released pages grow by what is new
 * in the ring's totals, once per holder however many pins the ring has.
 */
static void on_churn(struct agg_pins *p, const struct ps_ev_churn *e)
{
	struct churn_ent *c = htab_insert(&p->churn, e->obj, e->subsys, NULL);
	struct ps_ev_churn d = *e;

	if (!c || e->pairs <= c->pairs)
		return;
	d.pairs = e->pairs - c->pairs;
	d.pages = e->pages - c->pages;
	c->pairs = e->pairs;
	c->pages = e->pages;
	if (!htab_find(&p->objs, e->obj, e->subsys)) {
		p->orphan_churn_pages += d.pages;
		return;
	}
	each_pin_of(p, e->obj, e->subsys, count_churn, (uint64_t)(uintptr_t)&d);
	each_pin_of(p, e->obj, e->subsys, churn_unseen, 0);
}

void agg_pins_apply(struct agg_pins *p, const union ps_event *e)
{
	switch (e->h.type) {
	case PS_EV_PIN:
		on_pin(p, &e->pin);
		break;
	case PS_EV_UNPIN:
		on_unpin(p, &e->unpin);
		break;
	case PS_EV_OBJ_SYNC:
		on_sync(p, &e->obj);
		break;
	case PS_EV_OBJ_TEARDOWN:
		on_teardown(p, &e->obj);
		break;
	case PS_EV_PROC_EXIT:
		proc_exited(p, &e->h);
		break;
	case PS_EV_PROCFS:
		on_procfs(p, &e->procfs);
		break;
	case PS_EV_CHURN:
		on_churn(p, &e->churn);
		break;
	default:
		break;
	}
}

void agg_pins_settle(struct agg_pins *p)
{
	struct obj_ent *o;

	for (size_t it = 0; (o = htab_next(&p->objs, &it));) {
		if (!o->syncing)
			continue;
		each_pin_of(p, o->k.k1, o->k.k2, drop_stale, 0);
		o->syncing = false;
	}
}

void agg_pins_refresh(struct agg_pins *p)
{
	struct holder_ent *h;
	struct pin_ent *pin;

	for (size_t it = 0; (h = htab_next(&p->holders, &it));)
		h->oldest_ns = UINT64_MAX;
	for (size_t it = 0; (pin = htab_next(&p->pins, &it));) {
		h = agg_pins_holder_of(p, pin);
		if (!h)
			continue;
		if (pin->since_ns < h->oldest_ns)
			h->oldest_ns = pin->since_ns;
	}
}

void agg_pins_tick(struct agg_pins *p)
{
	struct holder_ent *h;

	for (size_t it = 0; (h = htab_next(&p->holders, &it));) {
		h->acquired_delta = h->acquired_pages - h->acquired_tick;
		h->released_delta = h->released_pages - h->released_tick;
		h->acquired_tick = h->acquired_pages;
		h->released_tick = h->released_pages;
	}
}
