// SPDX-License-Identifier: BSD-2-Clause
#include "agg_pageref.h"

#include <stdbool.h>
#include <string.h>

/* Frames that identify a holder: enough to tell call paths apart, few enough that the noise
 * a guessing unwinder reads from deeper stack slots does not split one path in many. */
#define PR_KEY_FRAMES 6

int agg_pageref_init(struct agg_pageref *r, size_t max_pfns, size_t max_holders)
{
	memset(r, 0, sizeof(*r));
	r->transient_ns = PR_TRANSIENT_NS;
	if (htab_init(&r->pfns, max_pfns, sizeof(struct pr_pfn)) ||
	    htab_init(&r->holders, max_holders, sizeof(struct pr_holder)) ||
	    htab_init(&r->pairs, max_pfns, sizeof(struct htab_key))) {
		agg_pageref_free(r);
		return -1;
	}
	return 0;
}

void agg_pageref_free(struct agg_pageref *r)
{
	htab_free(&r->pfns);
	htab_free(&r->holders);
	htab_free(&r->pairs);
}

static uint64_t stack_key(const struct ps_ev_pageref *e)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint32_t)e->sysnr;

	for (unsigned int i = 0; i < e->nr_kstack && i < PR_KEY_FRAMES; i++)
		h = (h ^ e->kstack[i]) * 0x100000001b3ULL;
	return h;
}

static struct pr_holder *holder_of(struct agg_pageref *r, const struct ps_ev_pageref *e)
{
	int created = 0;
	struct pr_holder *h = htab_insert(&r->holders, e->h.tgid, stack_key(e), &created);

	if (!h)
		return NULL;
	if (created) {
		h->tgid = e->h.tgid;
		h->sysnr = e->sysnr;
		h->nr_kstack = e->nr_kstack < PS_MAX_STACK ? e->nr_kstack : PS_MAX_STACK;
		memcpy(h->kstack, e->kstack, sizeof(h->kstack));
		h->first_ns = e->h.ts_ns;
	}
	memcpy(h->comm, e->h.comm, sizeof(h->comm));
	h->last_ns = e->h.ts_ns;
	return h;
}

/* Give back `refs` of hold i of pf at `now`; drops the hold when it is empty. */
static void give_back(struct agg_pageref *r, struct pr_pfn *pf, int i, int32_t refs, uint64_t now)
{
	struct pr_hold *ho = &pf->holds[i];
	struct pr_holder *h = ho->holder;
	uint64_t age = now > ho->ts_ns ? now - ho->ts_ns : 0;

	if (refs > ho->refs)
		refs = ho->refs;
	h->held -= (uint64_t)refs;
	if (age < r->transient_ns)
		h->transient += (uint64_t)refs;
	else
		h->lasting += (uint64_t)refs;
	if (age > h->max_hold_ns)
		h->max_hold_ns = age;
	ho->refs -= refs;
	if (!ho->refs) {
		memmove(&pf->holds[i], &pf->holds[i + 1], (pf->nholds - i - 1) * sizeof(*ho));
		pf->nholds--;
	}
}

static int64_t held_refs(const struct pr_pfn *pf)
{
	int64_t n = 0;

	for (int i = 0; i < pf->nholds; i++)
		n += pf->holds[i].refs;
	return n;
}

static void take(struct agg_pageref *r, struct pr_pfn *pf, const struct ps_ev_pageref *e)
{
	struct pr_holder *h = holder_of(r, e);
	int created = 0;

	r->incs++;
	if (!h || pf->nholds == PR_HOLDS) {
		r->overflow++;
		return;
	}
	h->incs++;
	h->refs += (uint64_t)e->delta;
	h->held += (uint64_t)e->delta;
	if (htab_insert(&r->pairs, e->pfn, h->k.k1 ^ h->k.k2, &created) && created)
		h->pages++;
	pf->holds[pf->nholds++] = (struct pr_hold){
		.holder = h,
		.tid = e->h.tid,
		.sysnr = e->sysnr,
		.refs = e->delta,
		.ts_ns = e->h.ts_ns,
	};
}

static void drop(struct agg_pageref *r, struct pr_pfn *pf, const struct ps_ev_pageref *e)
{
	int32_t need = -e->delta;

	r->decs++;
	/* 1. the same task, in the same system call, recently; the oldest such first: a GUP's
	 * own reference is taken before the helper ones it leads to (the LRU batch's) */
	for (int i = 0; i < pf->nholds && need > 0;) {
		const struct pr_hold *ho = &pf->holds[i];
		int32_t n;
		bool whole;

		if (ho->tid != e->h.tid || ho->sysnr != e->sysnr || e->sysnr < 0 ||
		    e->h.ts_ns - ho->ts_ns >= r->transient_ns) {
			i++;
			continue;
		}
		n = ho->refs < need ? ho->refs : need;
		whole = n == ho->refs;
		give_back(r, pf, i, n, e->h.ts_ns);
		need -= n;
		if (!whole) /* else the next hold moved to i */
			i++;
	}
	/* 2. the count cannot hold what is left: the oldest went */
	while (pf->nholds && held_refs(pf) > e->count) {
		int64_t over = held_refs(pf) - e->count;

		int32_t n = over < pf->holds[0].refs ? (int32_t)over : pf->holds[0].refs;

		give_back(r, pf, 0, n, e->h.ts_ns);
		need -= n;
	}
	if (need > 0)
		r->unseen_refs += (uint64_t)need;
	if (e->count == 0)
		r->freed++;
}

void agg_pageref_apply(struct agg_pageref *r, const struct ps_ev_pageref *e)
{
	int created = 0;
	struct pr_pfn *pf = htab_insert(&r->pfns, e->pfn, 0, &created);

	r->events++;
	if (!pf) {
		r->overflow++;
		return;
	}
	if (e->delta >= PS_PR_PIN_BIAS || e->delta <= -PS_PR_PIN_BIAS) {
		r->pin_changes++;
	} else if (e->op == PS_PR_SET) {
		/* allocated again: whatever was held was given back unseen */
		while (pf->nholds)
			give_back(r, pf, 0, pf->holds[0].refs, e->h.ts_ns);
	} else if (e->delta > 0) {
		take(r, pf, e);
	} else if (e->delta < 0) {
		drop(r, pf, e);
	}
	pf->count = e->count;
}

uint64_t agg_pageref_held_pages(const struct agg_pageref *r, const struct pr_holder *h)
{
	const struct pr_pfn *pf;
	uint64_t n = 0;

	for (size_t it = 0; (pf = htab_next(&r->pfns, &it));)
		for (int i = 0; i < pf->nholds; i++)
			if (pf->holds[i].holder == h) {
				n++;
				break;
			}
	return n;
}

uint64_t agg_pageref_oldest(const struct agg_pageref *r, const struct pr_holder *h)
{
	const struct pr_pfn *pf;
	uint64_t t = 0;

	for (size_t it = 0; (pf = htab_next(&r->pfns, &it));)
		for (int i = 0; i < pf->nholds; i++)
			if (pf->holds[i].holder == h && (!t || pf->holds[i].ts_ns < t))
				t = pf->holds[i].ts_ns;
	return t;
}
