// SPDX-License-Identifier: BSD-2-Clause
#include "agg_gmem.h"

#include <string.h>

#define PAGE	     4096ULL
#define PAGE_DOWN(x) ((x) & ~(PAGE - 1))
#define PAGE_UP(x)   (((x) + PAGE - 1) & ~(PAGE - 1))

const struct gmem_limits gmem_default_limits = {
	.max_procs = 4096,
	.max_vms = 4096,
	.max_files = 16384,
	.max_slots = 65536,
	.max_maps = 65536,
	.max_orphans = 65536,
};

const char *gmem_op_name(unsigned int op)
{
	static const char *const n[GOP_MAX] = {
		[GOP_VM_CREATE] = "vm_create",
		[GOP_CREATE] = "create",
		[GOP_BIND] = "bind",
		[GOP_MMAP] = "mmap",
		[GOP_ALLOC] = "allocate",
		[GOP_PUNCH] = "punch_hole",
		[GOP_CONVERT] = "convert",
		[GOP_FAULT_EXIT] = "memory_fault_exit",
		[GOP_GUEST_FAULT] = "guest_fault",
	};

	return op < GOP_MAX ? n[op] : "?";
}

int agg_gmem_init(struct agg_gmem *g, const struct gmem_limits *lim)
{
	memset(g, 0, sizeof(*g));
	if (htab_init(&g->procs, lim->max_procs, sizeof(struct gmem_proc)) ||
	    htab_init(&g->vms, lim->max_vms, sizeof(struct gmem_vm)) ||
	    htab_init(&g->files, lim->max_files, sizeof(struct gmem_file)) ||
	    htab_init(&g->slots, lim->max_slots, sizeof(struct gmem_slot)) ||
	    htab_init(&g->maps, lim->max_maps, sizeof(struct gmem_map)) ||
	    htab_init(&g->orphans, lim->max_orphans, sizeof(struct gmem_orphan))) {
		agg_gmem_free(g);
		return -1;
	}
	return 0;
}

void agg_gmem_free(struct agg_gmem *g)
{
	htab_free(&g->procs);
	htab_free(&g->vms);
	htab_free(&g->files);
	htab_free(&g->slots);
	htab_free(&g->maps);
	htab_free(&g->orphans);
}

uint64_t agg_gmem_overflow(const struct agg_gmem *g)
{
	return g->procs.overflow + g->vms.overflow + g->files.overflow + g->slots.overflow +
	       g->maps.overflow + g->orphans.overflow;
}

static void count_op(struct agg_gmem *g, const struct ps_ev_hdr *h, enum gmem_op op, int32_t err)
{
	struct gmem_proc *pr = htab_insert(&g->procs, h->tgid, 0, NULL);
	struct gmem_op_count *c;

	if (!pr)
		return;
	memcpy(pr->comm, h->comm, sizeof(pr->comm));
	c = &pr->ops[op];
	c->calls++;
	if (!err) {
		c->ok++;
		return;
	}
	for (int i = 0; i < GMEM_OP_ERRNOS; i++) {
		if (c->errs[i].err == err || !c->errs[i].count) {
			c->errs[i].err = err;
			c->errs[i].count++;
			return;
		}
	}
	c->errs_other++;
}

static bool same_dev(uint32_t a, uint32_t b)
{
	return !a || !b || a == b;
}

/* ---- placing pins and gpas in guest_memfd ---- */

int agg_gmem_pin_range(const struct agg_gmem *g, const struct agg_pins *p,
		       const struct pin_ent *pin, uint64_t *ino, uint32_t *dev, uint64_t *lo,
		       uint64_t *hi)
{
	uint32_t tgid = pin->holder.k1 >> 8;
	uint64_t ua = PAGE_DOWN(pin->uaddr), ue = PAGE_UP(pin->uaddr + pin->len);
	const struct gmem_slot *s;
	const struct gmem_map *m;

	(void)p;
	if (pin->backing != PS_BACK_GMEM || !pin->ino)
		return -1;
	for (size_t it = 0; (m = htab_next(&g->maps, &it));) {
		if (m->k.k1 != tgid || m->ino != pin->ino || !same_dev(m->dev, pin->dev) ||
		    ua < m->k.k2 || ua >= m->k.k2 + m->len)
			continue;
		*lo = PAGE_DOWN(m->offset + (ua - m->k.k2));
		*hi = *lo + (ue - ua);
		*ino = m->ino;
		*dev = m->dev;
		return 0;
	}
	/* The memslot's user address is the guest_memfd mapping of an mmap-able file. */
	for (size_t it = 0; (s = htab_next(&g->slots, &it));) {
		if (s->tgid != tgid || s->ino != pin->ino || !same_dev(s->dev, pin->dev) ||
		    ua < s->uaddr || ua >= s->uaddr + s->size)
			continue;
		*lo = PAGE_DOWN(s->offset + (ua - s->uaddr));
		*hi = *lo + (ue - ua);
		*ino = s->ino;
		*dev = s->dev;
		return 0;
	}
	return -1;
}

int agg_gmem_gpa_to_file(void *ctx, uint64_t vm, uint64_t gpa, uint64_t *ino, uint32_t *dev,
			 uint64_t *off)
{
	const struct agg_gmem *g = ctx;
	const struct gmem_slot *s;

	for (size_t it = 0; (s = htab_next(&g->slots, &it));) {
		if (s->k.k1 != vm || !s->ino || gpa < s->gpa || gpa >= s->gpa + s->size)
			continue;
		*ino = s->ino;
		*dev = s->dev;
		*off = s->offset + (gpa - s->gpa);
		return 0;
	}
	return -1;
}

/* ---- orphans ---- */

static bool orphan_valid(const struct gmem_orphan *o, const struct pin_ent *pin)
{
	return pin && pin->since_ns == o->pin_since_ns && pin->uaddr == o->pin_uaddr &&
	       pin->len == o->pin_len;
}

static uint64_t orphan_bytes(const struct gmem_orphan *o)
{
	uint64_t b = 0;

	for (int i = 0; i < o->nr; i++)
		b += o->r[i].hi - o->r[i].lo;
	return b;
}

uint64_t agg_gmem_orphan_pages(const struct agg_gmem *g, const struct agg_pins *p,
			       const struct gmem_orphan *o)
{
	(void)g;
	if (!orphan_valid(o, htab_find(&p->pins, o->k.k1, o->k.k2)))
		return 0;
	return orphan_bytes(o) / PAGE;
}

/* Adds [lo, hi) to o's disjoint ranges; returns the bytes that were not there yet. */
static uint64_t orphan_range_add(struct gmem_orphan *o, uint64_t lo, uint64_t hi)
{
	uint64_t before = orphan_bytes(o);
	int i, j;

	/* Absorb every range that touches [lo, hi). */
	for (i = 0, j = 0; i < o->nr; i++) {
		if (o->r[i].hi < lo || o->r[i].lo > hi) {
			o->r[j++] = o->r[i];
			continue;
		}
		lo = o->r[i].lo < lo ? o->r[i].lo : lo;
		hi = o->r[i].hi > hi ? o->r[i].hi : hi;
	}
	o->nr = j;
	if (o->nr == GMEM_ORPHAN_RANGES) {
		/* Out of room: join the new range with its nearest neighbour. */
		int best = 0;
		uint64_t gap = UINT64_MAX;

		for (i = 0; i < o->nr; i++) {
			uint64_t d = o->r[i].lo > hi ? o->r[i].lo - hi : lo - o->r[i].hi;

			if (d < gap) {
				gap = d;
				best = i;
			}
		}
		lo = o->r[best].lo < lo ? o->r[best].lo : lo;
		hi = o->r[best].hi > hi ? o->r[best].hi : hi;
		o->r[best] = o->r[--o->nr];
		o->inexact = true;
	}
	for (i = o->nr; i > 0 && o->r[i - 1].lo > lo; i--)
		o->r[i] = o->r[i - 1];
	o->r[i].lo = lo;
	o->r[i].hi = hi;
	o->nr++;
	return orphan_bytes(o) - before;
}

/* Pins on file (ino, dev) overlapping [off, off + len) lost those pages from the file. */
static void orphan_pins(struct agg_gmem *g, const struct agg_pins *p, uint64_t ino, uint32_t dev,
			uint64_t off, uint64_t len, enum gmem_orphan_why why, uint64_t ts)
{
	struct gmem_file *f = htab_find(&g->files, ino, dev);
	const struct pin_ent *pin;
	uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;

	for (size_t it = 0; (pin = htab_next(&p->pins, &it));) {
		struct gmem_orphan *o;
		uint64_t pino, lo, hi, added;
		uint32_t pdev;
		int created;

		if (pin->backing != PS_BACK_GMEM || pin->ino != ino || !same_dev(pin->dev, dev))
			continue;
		if (agg_gmem_pin_range(g, p, pin, &pino, &pdev, &lo, &hi)) {
			g->unplaced_pins++;
			continue;
		}
		lo = lo > PAGE_DOWN(off) ? lo : PAGE_DOWN(off);
		hi = hi < PAGE_UP(end) || !PAGE_UP(end) ? hi : PAGE_UP(end);
		if (lo >= hi)
			continue;
		o = htab_insert(&g->orphans, pin->k.k1, pin->k.k2, &created);
		if (!o)
			continue;
		if (!created && !orphan_valid(o, pin)) {
			memset((char *)o + sizeof(o->k), 0, sizeof(*o) - sizeof(o->k));
			created = 1;
		}
		if (created) {
			o->pin_since_ns = pin->since_ns;
			o->pin_uaddr = pin->uaddr;
			o->pin_len = pin->len;
			o->holder = pin->holder;
			o->ino = ino;
			o->dev = dev;
			o->why = why;
			o->first_ns = ts;
		}
		added = orphan_range_add(o, lo, hi);
		if (f)
			f->orphaned_pages += added / PAGE;
	}
}

static void prune_orphans(struct agg_gmem *g, const struct agg_pins *p)
{
	struct gmem_orphan *o;

	for (size_t it = 0; (o = htab_next(&g->orphans, &it));)
		if (!orphan_valid(o, htab_find(&p->pins, o->k.k1, o->k.k2)))
			htab_del(&g->orphans, o);
}

/* ---- lifecycle ---- */

static void file_released(struct agg_gmem *g, const struct agg_pins *p, struct gmem_file *f,
			  uint64_t ts)
{
	uint64_t ino = f->k.k1;
	uint32_t dev = f->k.k2;

	if (f->released)
		return;
	f->released = true;
	f->fd_closed = true;
	f->released_ns = ts;
	orphan_pins(g, p, ino, dev, 0, UINT64_MAX, ORPHAN_RELEASE, ts);
}

static void on_create(struct agg_gmem *g, const struct ps_ev_gmem *e)
{
	struct gmem_file *f;

	if (e->err || !e->ino)
		return;
	f = htab_insert(&g->files, e->ino, e->dev, NULL);
	if (!f)
		return;
	memset((char *)f + sizeof(f->k), 0, sizeof(*f) - sizeof(f->k));
	f->vm = e->vm;
	f->tgid = e->h.tgid;
	f->fd = e->fd;
	f->size = e->size;
	f->flags = e->flags;
	f->created_ns = e->h.ts_ns;
	f->seeded = e->h.flags & PS_F_SEED;
	if (f->seeded)
		f->created_ns = 0;
}

static void on_bind(struct agg_gmem *g, const struct ps_ev_gmem *e)
{
	struct gmem_slot *s;

	if (e->err)
		return;
	if (!e->size) {
		s = htab_find(&g->slots, e->vm, e->slot);
		if (s)
			htab_del(&g->slots, s);
		return;
	}
	s = htab_insert(&g->slots, e->vm, e->slot, NULL);
	if (!s)
		return;
	s->tgid = e->h.tgid;
	s->flags = e->flags;
	s->gpa = e->gpa;
	s->size = e->size;
	s->uaddr = e->uaddr;
	s->ino = e->ino;
	s->dev = e->dev;
	s->offset = e->offset;
	s->bound_ns = e->h.ts_ns;
}

static void on_mmap(struct agg_gmem *g, const struct ps_ev_gmem *e)
{
	struct gmem_file *f = htab_find(&g->files, e->ino, e->dev);
	struct gmem_map *m;

	if (e->err || !e->uaddr)
		return;
	if (f)
		f->mmaps++;
	m = htab_insert(&g->maps, e->h.tgid, e->uaddr, NULL);
	if (!m)
		return;
	m->len = PAGE_UP(e->size);
	m->ino = e->ino;
	m->dev = e->dev;
	m->offset = e->offset;
	m->since_ns = e->h.flags & PS_F_SEED ? 0 : e->h.ts_ns;
}

/* munmap of [a, a + len): drop, trim or split the mappings it covers. */
static void on_munmap(struct agg_gmem *g, uint32_t tgid, uint64_t a, uint64_t len)
{
	uint64_t b = a + PAGE_UP(len);
	struct gmem_map *m, split = {.k.k1 = 0};

	for (size_t it = 0; (m = htab_next(&g->maps, &it));) {
		uint64_t s = m->k.k2, e = s + m->len;

		if (m->k.k1 != tgid || e <= a || s >= b)
			continue;
		if (s < a && e > b) { /* a hole in the middle: keep the tail apart */
			split = *m;
			split.k.k2 = b;
			split.len = e - b;
			split.offset = m->offset + (b - s);
		}
		if (s < a) {
			m->len = a - s;
			continue;
		}
		if (e > b) { /* the head goes: the key (address) changes */
			struct gmem_map tail = *m;

			htab_del(&g->maps, m);
			tail.k.k2 = b;
			tail.len = e - b;
			tail.offset += b - s;
			m = htab_insert(&g->maps, tgid, b, NULL);
			if (m)
				*m = tail;
			return; /* inserting may have moved entries: stop iterating */
		}
		htab_del(&g->maps, m);
	}
	if (split.k.k1 || split.len) {
		m = htab_insert(&g->maps, tgid, split.k.k2, NULL);
		if (m)
			*m = split;
	}
}

static void on_close(struct agg_gmem *g, const struct agg_pins *p, const struct ps_ev_gmem *e)
{
	if (e->gflags & PS_GMEM_F_VM) {
		struct gmem_vm *v = htab_find(&g->vms, e->vm, 0);

		if (v && (e->gflags & PS_GMEM_F_LAST)) {
			v->released = true;
			v->released_ns = e->h.ts_ns;
		}
		return;
	}
	struct gmem_file *f = htab_find(&g->files, e->ino, e->dev);

	if (!f)
		return;
	f->fd_closed = true;
	if (e->gflags & PS_GMEM_F_LAST)
		file_released(g, p, f, e->h.ts_ns);
}

static void on_exit(struct agg_gmem *g, const struct agg_pins *p, const struct ps_ev_gmem *e)
{
	uint32_t tgid = e->h.tgid;
	struct gmem_proc *pr = htab_find(&g->procs, tgid, 0);
	struct gmem_file *f;
	struct gmem_slot *s;
	struct gmem_map *m;
	struct gmem_vm *v;

	if (pr)
		pr->exited = true;
	for (size_t it = 0; (v = htab_next(&g->vms, &it));) {
		if (v->tgid != tgid || v->released)
			continue;
		v->released = true;
		v->released_ns = e->h.ts_ns;
	}
	for (size_t it = 0; (f = htab_next(&g->files, &it));)
		if (f->tgid == tgid)
			file_released(g, p, f, e->h.ts_ns);
	for (size_t it = 0; (s = htab_next(&g->slots, &it));)
		if (s->tgid == tgid)
			htab_del(&g->slots, s);
	for (size_t it = 0; (m = htab_next(&g->maps, &it));)
		if (m->k.k1 == tgid)
			htab_del(&g->maps, m);
}

static void on_gmem(struct agg_gmem *g, const struct agg_pins *p, const struct ps_ev_gmem *e)
{
	struct gmem_file *f;
	struct gmem_vm *v;

	switch (e->kind) {
	case PS_GMEM_VM_CREATE:
		count_op(g, &e->h, GOP_VM_CREATE, e->err);
		if (e->err || !e->vm)
			break;
		v = htab_insert(&g->vms, e->vm, 0, NULL);
		if (v) {
			memset((char *)v + sizeof(v->k), 0, sizeof(*v) - sizeof(v->k));
			v->tgid = e->h.tgid;
			v->fd = e->fd;
			v->created_ns = e->h.flags & PS_F_SEED ? 0 : e->h.ts_ns;
		}
		break;
	case PS_GMEM_CREATE:
		count_op(g, &e->h, GOP_CREATE, e->err);
		on_create(g, e);
		break;
	case PS_GMEM_BIND:
		count_op(g, &e->h, GOP_BIND, e->err);
		on_bind(g, e);
		break;
	case PS_GMEM_MMAP:
		count_op(g, &e->h, GOP_MMAP, e->err);
		on_mmap(g, e);
		break;
	case PS_GMEM_MUNMAP:
		on_munmap(g, e->h.tgid, e->uaddr, e->size);
		break;
	case PS_GMEM_ALLOC:
	case PS_GMEM_PUNCH:
		count_op(g, &e->h, e->kind == PS_GMEM_PUNCH ? GOP_PUNCH : GOP_ALLOC, e->err);
		f = htab_find(&g->files, e->ino, e->dev);
		if (e->err)
			break;
		if (e->kind == PS_GMEM_ALLOC) {
			if (f) {
				f->allocs++;
				f->alloc_bytes += e->size;
			}
			break;
		}
		if (f) {
			f->punches++;
			f->punched_bytes += e->size;
		}
		orphan_pins(g, p, e->ino, e->dev, e->offset, e->size, ORPHAN_PUNCH, e->h.ts_ns);
		break;
	case PS_GMEM_CLOSE:
		on_close(g, p, e);
		break;
	case PS_GMEM_EXIT:
		on_exit(g, p, e);
		break;
	case PS_GMEM_INVALIDATE:
		f = htab_find(&g->files, e->ino, e->dev);
		if (f) {
			f->invalidations++;
			f->invalidated_bytes += e->size;
			f->invalidated_whole += !e->size;
		}
		break;
	case PS_GMEM_FAULT:
		count_op(g, &e->h, GOP_GUEST_FAULT, e->err);
		f = htab_find(&g->files, e->ino, e->dev);
		if (f) {
			f->guest_faults++;
			f->guest_fault_errors += !!e->err;
		}
		break;
	default:
		break;
	}
}

void agg_gmem_apply(struct agg_gmem *g, const struct agg_pins *p, const union ps_event *e)
{
	switch (e->h.type) {
	case PS_EV_GMEM:
		on_gmem(g, p, &e->gmem);
		break;
	case PS_EV_CONV:
		if (e->conv.phase == PS_CONV_RESULT)
			count_op(g, &e->h, GOP_CONVERT, e->conv.err);
		break;
	case PS_EV_VM_EXIT:
		if (e->vm_exit.reason == PS_KVM_EXIT_MEMORY_FAULT)
			count_op(g, &e->h, GOP_FAULT_EXIT, 0);
		break;
	case PS_EV_UNPIN:
		/* Orphans are checked against their pin when read; pruning only makes room. */
		if (g->orphans.count > g->orphans.limit / 2)
			prune_orphans(g, p);
		break;
	default:
		break;
	}
}

/* ---- blockers ---- */

struct target {
	uint64_t ino, off_lo, off_hi; /* guest_memfd range, ino 0: none */
	uint32_t dev, tgid;
	uint64_t ua_lo, ua_hi; /* the VMM's user addresses of the range, 0: none */
	uint64_t lo;	       /* the conversion-space address of off_lo / ua_lo */
};

#define MAX_TARGETS 16

static int clip(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t *lo, uint64_t *hi)
{
	*lo = a > c ? a : c;
	*hi = b < d ? b : d;
	return *lo < *hi;
}

/* The conversion's range as guest_memfd ranges and user address ranges, one per memslot. */
static int targets_of(const struct agg_gmem *g, const struct conv_ent *c, struct target *t)
{
	uint64_t end = c->start + c->size;
	const struct gmem_slot *s;
	int n = 0;

	if (c->ino) { /* a guest_memfd-space conversion */
		t[n].ino = c->ino;
		t[n].dev = c->dev;
		t[n].off_lo = c->start;
		t[n].off_hi = end;
		t[n].lo = c->start;
		n++;
	}
	for (size_t it = 0; n < MAX_TARGETS && (s = htab_next(&g->slots, &it));) {
		uint64_t lo, hi;

		if (c->ino) {
			/* Memslots of this file give its user addresses. */
			if (s->ino != c->ino || !same_dev(s->dev, c->dev) ||
			    !clip(c->start, end, s->offset, s->offset + s->size, &lo, &hi))
				continue;
			t[n] = (struct target){.tgid = s->tgid, .lo = lo};
			t[n].ua_lo = s->uaddr ? s->uaddr + (lo - s->offset) : 0;
			t[n].ua_hi = s->uaddr ? t[n].ua_lo + (hi - lo) : 0;
			n++;
			continue;
		}
		if (s->k.k1 != c->vm || !clip(c->start, end, s->gpa, s->gpa + s->size, &lo, &hi))
			continue;
		t[n] = (struct target){.tgid = s->tgid, .lo = lo, .ino = s->ino, .dev = s->dev};
		if (s->ino) {
			t[n].off_lo = s->offset + (lo - s->gpa);
			t[n].off_hi = t[n].off_lo + (hi - lo);
		}
		if (s->uaddr) {
			t[n].ua_lo = s->uaddr + (lo - s->gpa);
			t[n].ua_hi = t[n].ua_lo + (hi - lo);
		}
		n++;
	}
	return n;
}

/* Does pin overlap target t? The overlap in the conversion's space and in the file. */
static bool pin_hits(const struct agg_gmem *g, const struct agg_pins *p, const struct pin_ent *pin,
		     const struct target *t, struct gmem_blocker *b)
{
	uint64_t ino, lo, hi, a, z;
	uint32_t dev;

	if (t->ino && !agg_gmem_pin_range(g, p, pin, &ino, &dev, &lo, &hi) && ino == t->ino &&
	    same_dev(dev, t->dev) &&
	    clip(lo, hi, PAGE_DOWN(t->off_lo), PAGE_UP(t->off_hi), &a, &z)) {
		b->by_file = true;
		b->ino = ino;
		b->off_lo = a;
		b->off_hi = z;
		b->lo = t->lo + (a > t->off_lo ? a - t->off_lo : 0);
		b->hi = b->lo + (z - a);
		b->pages = (z - a) / PAGE;
		return true;
	}
	if (t->ua_lo && (uint32_t)(pin->holder.k1 >> 8) == t->tgid &&
	    clip(PAGE_DOWN(pin->uaddr), PAGE_UP(pin->uaddr + pin->len), PAGE_DOWN(t->ua_lo),
		 PAGE_UP(t->ua_hi), &a, &z)) {
		b->by_file = false;
		b->lo = t->lo + (a > t->ua_lo ? a - t->ua_lo : 0);
		b->hi = b->lo + (z - a);
		b->ino = t->ino;
		b->off_lo = t->ino ? t->off_lo + (b->lo - t->lo) : 0;
		b->off_hi = t->ino ? b->off_lo + (z - a) : 0;
		b->pages = (z - a) / PAGE;
		return true;
	}
	return false;
}

static void blocker_add(struct gmem_blocker *out, int *n, int max, const struct agg_pins *p,
			const struct pin_ent *pin, const struct gmem_blocker *hit)
{
	const struct holder_ent *h;
	struct gmem_blocker *b;
	int i;

	for (i = 0; i < *n; i++)
		if (out[i].holder.k1 == pin->holder.k1 && out[i].holder.k2 == pin->holder.k2)
			break;
	if (i == *n) {
		if (*n == max)
			return;
		b = &out[(*n)++];
		*b = *hit;
		b->holder = pin->holder;
		b->pins = 1;
		b->oldest_ns = pin->since_ns;
		b->tgid = pin->holder.k1 >> 8;
		b->subsys = pin->subsys;
		h = agg_pins_holder_of(p, pin);
		if (h) {
			memcpy(b->comm, h->comm, sizeof(b->comm));
			b->nr_ustack = h->nr_ustack;
			memcpy(b->ustack, h->ustack, sizeof(b->ustack));
		}
		return;
	}
	b = &out[i];
	b->pins++;
	b->pages += hit->pages;
	if (pin->since_ns < b->oldest_ns)
		b->oldest_ns = pin->since_ns;
	if (hit->lo < b->lo)
		b->lo = hit->lo;
	if (hit->hi > b->hi)
		b->hi = hit->hi;
	if (hit->ino == b->ino && hit->off_lo < b->off_lo)
		b->off_lo = hit->off_lo;
	if (hit->ino == b->ino && hit->off_hi > b->off_hi)
		b->off_hi = hit->off_hi;
	b->by_file |= hit->by_file;
}

int agg_gmem_blockers(const struct agg_gmem *g, const struct agg_pins *p, const struct conv_ent *c,
		      struct gmem_blocker *out, int max)
{
	struct target t[MAX_TARGETS];
	int nt = targets_of(g, c, t), n = 0;
	const struct pin_ent *pin;

	for (size_t it = 0; nt && (pin = htab_next(&p->pins, &it));) {
		struct gmem_blocker hit = {0};

		for (int i = 0; i < nt; i++) {
			if (pin_hits(g, p, pin, &t[i], &hit)) {
				blocker_add(out, &n, max, p, pin, &hit);
				break;
			}
		}
	}
	return n;
}
