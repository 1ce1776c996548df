// SPDX-License-Identifier: BSD-2-Clause
#include "agg_convert.h"

#include <string.h>

const struct conv_limits conv_default_limits = {
	.stuck_after_ns = 5000000000ULL,
	.retries = 5,
};

const char *conv_stuck_name(unsigned int why)
{
	static const char *const n[] = {"none", "time", "retries", "unanswered", "refaults"};

	return why < sizeof(n) / sizeof(n[0]) ? n[why] : "?";
}

const char *conv_outcome_name(unsigned int o)
{
	static const char *const n[] = {"open", "done", "superseded", "abandoned", "requested"};

	return o < sizeof(n) / sizeof(n[0]) ? n[o] : "?";
}

const char *conv_iface_name(unsigned int iface)
{
	static const char *const n[PS_CONV_IFACE_MAX] = {
		[0] = "memory_fault_exit",
		[PS_CONV_VM_ATTR] = "KVM_SET_MEMORY_ATTRIBUTES",
		[PS_CONV_VM_ATTR2] = "KVM_SET_MEMORY_ATTRIBUTES2(vm)",
		[PS_CONV_GMEM_ATTR2] = "KVM_SET_MEMORY_ATTRIBUTES2(guest_memfd)",
		[PS_CONV_GMEM_CONVERT] = "KVM_GMEM_CONVERT",
	};

	return iface < PS_CONV_IFACE_MAX ? n[iface] : "?";
}

int agg_convert_init(struct agg_convert *c, size_t max_open, size_t max_vms)
{
	memset(c, 0, sizeof(*c));
	c->lim = conv_default_limits;
	if (htab_init(&c->open, max_open, sizeof(struct conv_ent)) ||
	    htab_init(&c->vms, max_vms, sizeof(struct conv_vm))) {
		agg_convert_free(c);
		return -1;
	}
	return 0;
}

void agg_convert_free(struct agg_convert *c)
{
	htab_free(&c->open);
	htab_free(&c->vms);
}

uint64_t agg_convert_overflow(const struct agg_convert *c)
{
	return c->open.overflow + c->vms.overflow;
}

static bool gmem_iface(unsigned int iface)
{
	return iface == PS_CONV_GMEM_ATTR2 || iface == PS_CONV_GMEM_CONVERT;
}

static struct conv_vm *vm_get(struct agg_convert *c, const struct ps_ev_hdr *h, uint64_t vm)
{
	struct conv_vm *v = htab_insert(&c->vms, vm, 0, NULL);

	if (v) {
		v->tgid = h->tgid;
		memcpy(v->comm, h->comm, sizeof(v->comm));
	}
	return v;
}

static void count_errno(struct conv_vm *v, int32_t err)
{
	for (int i = 0; i < CONV_MAX_ERRNOS; i++) {
		if (v->errs[i].err == err || !v->errs[i].count) {
			v->errs[i].err = err;
			v->errs[i].count++;
			return;
		}
	}
	v->errs_other++;
}

static void notify(struct agg_convert *c, enum conv_note note, const struct conv_ent *e)
{
	if (c->notify)
		c->notify(c->notify_ctx, note, e);
}

static void mark_stuck(struct agg_convert *c, struct conv_ent *e, enum conv_stuck_why why,
		       uint64_t ts)
{
	struct conv_vm *v;

	if (e->stuck)
		return;
	e->stuck = true;
	e->stuck_why = why;
	e->stuck_ns = ts;
	c->stuck++;
	v = htab_find(&c->vms, e->vm, 0);
	if (v)
		v->stuck++;
	notify(c, CONV_NOTE_STUCK, e);
}

/* Takes e out of the open table. e is not valid afterwards. */
static void resolve(struct agg_convert *c, struct conv_ent *e, enum conv_outcome o, uint64_t ts)
{
	e->outcome = o;
	e->resolved_ns = ts;
	if (e->stuck) {
		struct conv_vm *v = htab_find(&c->vms, e->vm, 0);

		c->resolved++;
		if (v)
			v->resolved++;
		notify(c, CONV_NOTE_RESOLVED, e);
	}
	if (c->nrecent == CONV_RECENT)
		memmove(&c->recent[0], &c->recent[1], sizeof(c->recent[0]) * (CONV_RECENT - 1));
	else
		c->nrecent++;
	c->recent[c->nrecent - 1] = *e;
	htab_del(&c->open, e);
}

/* The guest keeps raising the fault this conversion would answer. */
static void check_refaults(struct agg_convert *c, struct conv_ent *e, uint64_t now)
{
	if (c->lim.retries && e->fault_exits >= c->lim.retries)
		mark_stuck(c, e, CONV_STUCK_REFAULTS, now);
}

static void check_time(struct agg_convert *c, struct conv_ent *e, uint64_t now)
{
	if (e->stuck || !c->lim.stuck_after_ns || now < e->first_ns ||
	    now - e->first_ns < c->lim.stuck_after_ns)
		return;
	mark_stuck(c, e, e->state == CONV_ASKED ? CONV_STUCK_UNANSWERED : CONV_STUCK_TIME, now);
}

/* Does the request's space (VM gpa or a guest_memfd) hold entry e? */
static bool same_space(const struct conv_ent *e, const struct ps_ev_conv *r)
{
	if (gmem_iface(r->iface))
		return e->ino == r->ino && e->dev == r->dev;
	return !e->ino && e->vm == r->vm;
}

static struct conv_ent *find_exact(struct agg_convert *c, const struct ps_ev_conv *r, bool to_priv)
{
	struct conv_ent *e;

	for (size_t it = 0; (e = htab_next(&c->open, &it));)
		if (e->state != CONV_ASKED && same_space(e, r) && e->to_private == to_priv &&
		    e->start == r->start && e->size == r->size)
			return e;
	return NULL;
}

static struct conv_ent *new_ent(struct agg_convert *c, const struct ps_ev_hdr *h, uint64_t vm)
{
	uint64_t id = c->next_id + 1;
	struct conv_ent *e = htab_insert(&c->open, id, 0, NULL);

	if (!e)
		return NULL;
	c->next_id = id;
	e->id = id;
	e->vm = vm;
	e->tgid = h->tgid;
	memcpy(e->comm, h->comm, sizeof(e->comm));
	e->first_ns = h->ts_ns;
	e->last_ns = h->ts_ns;
	return e;
}

static bool covers(uint64_t start, uint64_t size, uint64_t s2, uint64_t z2)
{
	return s2 >= start && s2 + z2 <= start + size && s2 + z2 >= s2;
}

static bool overlaps(uint64_t s1, uint64_t z1, uint64_t s2, uint64_t z2)
{
	return s1 < s2 + z2 && s2 < s1 + z1;
}

/*
 * Is asked entry a (a gpa range) inside request r's range? Either direction answers a
 * memory-fault exit: the VMM may make the page private as the guest's access wanted, or give
 * up and make it shared (software-protected VMs do the latter for a gpa without guest_memfd).
 */
static bool ask_covered(const struct conv_ent *a, const struct ps_ev_conv *r)
{
	if (a->state != CONV_ASKED || a->vm != r->vm)
		return false;
	if (gmem_iface(r->iface))
		return a->fault_ino && a->fault_ino == r->ino && a->fault_dev == r->dev &&
		       covers(r->start, r->size, a->fault_off, a->size);
	return covers(r->start, r->size, a->start, a->size);
}

/* Asks covered by a request are taken over by it: its wait started with theirs. */
static void take_over_asks(struct agg_convert *c, uint64_t id, const struct ps_ev_conv *r)
{
	struct conv_ent *a, *e;

	for (size_t it = 0; (a = htab_next(&c->open, &it));) {
		if (!ask_covered(a, r))
			continue;
		e = htab_find(&c->open, id, 0);
		if (!e)
			return;
		e->fault_exits += a->fault_exits;
		if (a->first_ns < e->first_ns)
			e->first_ns = a->first_ns;
		resolve(c, a, CONV_REQUESTED, r->h.ts_ns);
	}
}

/* The first ask a request covers becomes that request: same conversion, same id, and an
 * alert it already raised is not raised again. */
static struct conv_ent *adopt_ask(struct agg_convert *c, const struct ps_ev_conv *r)
{
	struct conv_ent *a;

	for (size_t it = 0; (a = htab_next(&c->open, &it));)
		if (ask_covered(a, r))
			return a;
	return NULL;
}

static struct conv_ent *request_ent(struct agg_convert *c, const struct ps_ev_conv *r)
{
	bool to_priv = r->to_private;
	struct conv_ent *e = find_exact(c, r, to_priv);
	uint64_t id;

	if (e)
		return e;
	e = adopt_ask(c, r);
	if (!e)
		e = new_ent(c, &r->h, r->vm);
	if (!e)
		return NULL;
	e->tgid = r->h.tgid;
	memcpy(e->comm, r->h.comm, sizeof(e->comm));
	e->ino = gmem_iface(r->iface) ? r->ino : 0;
	e->dev = gmem_iface(r->iface) ? r->dev : 0;
	e->to_private = to_priv;
	e->start = r->start;
	e->size = r->size;
	e->state = CONV_FAILED;
	id = e->id;
	take_over_asks(c, id, r);
	return htab_find(&c->open, id, 0);
}

static void on_request(struct agg_convert *c, const struct ps_ev_conv *r)
{
	struct conv_ent *e = request_ent(c, r);
	struct conv_vm *v = vm_get(c, &r->h, r->vm);

	c->requests++;
	if (v) {
		v->requests++;
		if (r->to_private)
			v->to_private++;
		else
			v->to_shared++;
	}
	if (!e)
		return;
	e->attempts++;
	e->iface = r->iface;
	e->state = CONV_INFLIGHT;
	e->inflight_ns = r->h.ts_ns;
	e->last_ns = r->h.ts_ns;
	check_time(c, e, r->h.ts_ns);
}

/* A successful conversion ends every open one it covers, and the opposite ones it overlaps. */
static void settle_range(struct agg_convert *c, const struct ps_ev_conv *r)
{
	struct conv_ent *e;

	for (size_t it = 0; (e = htab_next(&c->open, &it));) {
		if (e->state == CONV_ASKED) {
			if (ask_covered(e, r))
				resolve(c, e, CONV_DONE, r->h.ts_ns);
			continue;
		}
		if (!same_space(e, r))
			continue;
		if (e->to_private == r->to_private && covers(r->start, r->size, e->start, e->size))
			resolve(c, e, CONV_DONE, r->h.ts_ns);
		else if (e->to_private != r->to_private &&
			 overlaps(r->start, r->size, e->start, e->size))
			resolve(c, e, CONV_SUPERSEDED, r->h.ts_ns);
	}
}

static void on_result(struct agg_convert *c, const struct ps_ev_conv *r)
{
	struct conv_ent *e = request_ent(c, r);
	struct conv_vm *v = vm_get(c, &r->h, r->vm);

	if (v) {
		v->total_ns += r->duration_ns;
		if (r->duration_ns > v->max_ns)
			v->max_ns = r->duration_ns;
		if (r->err) {
			v->failed++;
			count_errno(v, r->err);
		} else {
			v->ok++;
		}
	}
	if (r->err)
		c->failed++;
	else
		c->ok++;
	if (!e)
		return;
	if (e->state != CONV_INFLIGHT)
		e->attempts++; /* its REQUEST record was not seen */
	e->last_ns = r->h.ts_ns;
	e->last_duration_ns = r->duration_ns;
	if (r->duration_ns > e->max_duration_ns)
		e->max_duration_ns = r->duration_ns;
	e->inflight_ns = 0;
	if (!r->err) {
		settle_range(c, r);
		return;
	}
	e->state = CONV_FAILED;
	e->failures++;
	e->consecutive_failures++;
	e->last_err = r->err;
	e->error_offset = r->error_offset;
	if (c->lim.retries && e->consecutive_failures >= c->lim.retries)
		mark_stuck(c, e, CONV_STUCK_RETRIES, r->h.ts_ns);
	check_time(c, e, r->h.ts_ns);
}

static void on_fault_exit(struct agg_convert *c, const struct ps_ev_vm_exit *x)
{
	bool to_priv = !!(x->flags & PS_KVM_MEMORY_EXIT_FLAG_PRIVATE);
	struct conv_vm *v = vm_get(c, &x->h, x->vm);
	uint64_t ino = 0, off = 0;
	struct conv_ent *e;
	uint32_t dev = 0;

	if (x->reason != PS_KVM_EXIT_MEMORY_FAULT)
		return;
	c->fault_exits++;
	if (v)
		v->fault_exits++;
	if (c->gpa_to_file && c->gpa_to_file(c->gpa_ctx, x->vm, x->gpa, &ino, &dev, &off))
		ino = 0;
	/* Already asked, or already requested by a covering request? */
	for (size_t it = 0; (e = htab_next(&c->open, &it));) {
		if (e->vm != x->vm)
			continue; /* either direction answers it (see ask_covered) */
		if ((e->state == CONV_ASKED && e->start == x->gpa && e->size == x->size) ||
		    (e->state != CONV_ASKED && !e->ino &&
		     covers(e->start, e->size, x->gpa, x->size)) ||
		    (e->state != CONV_ASKED && ino && e->ino == ino && e->dev == dev &&
		     covers(e->start, e->size, off, x->size))) {
			e->fault_exits++;
			e->last_ns = x->h.ts_ns;
			check_refaults(c, e, x->h.ts_ns);
			check_time(c, e, x->h.ts_ns);
			return;
		}
	}
	e = new_ent(c, &x->h, x->vm);
	if (!e)
		return;
	e->state = CONV_ASKED;
	e->to_private = to_priv;
	e->start = x->gpa;
	e->size = x->size;
	e->fault_ino = ino;
	e->fault_dev = dev;
	e->fault_off = off;
	e->fault_exits = 1;
	check_refaults(c, e, x->h.ts_ns);
	check_time(c, e, x->h.ts_ns);
}

/* The VM (vm != 0) or every VM of a process (tgid) is gone. */
static void abandon(struct agg_convert *c, uint64_t vm, uint32_t tgid, uint64_t ts)
{
	struct conv_ent *e;

	for (size_t it = 0; (e = htab_next(&c->open, &it));)
		if ((vm && e->vm == vm) || (!vm && e->tgid == tgid))
			resolve(c, e, CONV_ABANDONED, ts);
}

static void on_gmem(struct agg_convert *c, const struct ps_ev_gmem *g)
{
	if (g->kind == PS_GMEM_EXIT)
		abandon(c, 0, g->h.tgid, g->h.ts_ns);
	else if (g->kind == PS_GMEM_CLOSE && (g->gflags & PS_GMEM_F_VM) &&
		 (g->gflags & PS_GMEM_F_LAST) && g->vm)
		abandon(c, g->vm, 0, g->h.ts_ns);
}

void agg_convert_apply(struct agg_convert *c, const union ps_event *e)
{
	switch (e->h.type) {
	case PS_EV_CONV:
		if (e->conv.phase == PS_CONV_REQUEST)
			on_request(c, &e->conv);
		else if (e->conv.phase == PS_CONV_RESULT)
			on_result(c, &e->conv);
		else if (e->conv.phase == PS_CONV_APPLIED) {
			c->applied[!!e->conv.to_private]++;
			c->applied_pages[!!e->conv.to_private] += e->conv.size / 4096;
		}
		break;
	case PS_EV_VM_EXIT:
		on_fault_exit(c, &e->vm_exit);
		break;
	case PS_EV_GMEM:
		on_gmem(c, &e->gmem);
		break;
	default:
		return;
	}
	agg_convert_tick(c, e->h.ts_ns);
}

void agg_convert_tick(struct agg_convert *c, uint64_t now_ns)
{
	struct conv_ent *e;

	for (size_t it = 0; (e = htab_next(&c->open, &it));)
		check_time(c, e, now_ns);
}
