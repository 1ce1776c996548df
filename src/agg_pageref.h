/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * References that are not pins, from the page_ref tier (PS_EV_PAGEREF): per watched pfn the
 * references taken and not yet given back, each charged to a holder (process and kernel stack
 * of the increment), and per holder what it took, what it still holds and how long it held
 * what it gave back.
 *
 * A decrement carries no holder, so it is paired with an increment in two ways:
 *   1. the same task in the same system call took a reference on that pfn less than
 *      transient_ns ago: the oldest such one is given back (a GUP that puts its pages before
 *      returning, KVM mapping a page in KVM_RUN);
 *   2. otherwise the refcount decides: while the references held are more than the count the
 *      page now has, the oldest are given back (a pipe drained by another task, a freed page).
 * A decrement that neither explains is a reference pinscope did not see taken (the mapping's,
 * one that predates the filter). A hold given back within transient_ns is transient; one held
 * longer, or still held, is lasting. Pin biases (GUP_PIN_COUNTING_BIAS) are the pin tier's.
 */
#ifndef PS_AGG_PAGEREF_H
#define PS_AGG_PAGEREF_H

#include <stdint.h>
#include "decode.h"
#include "htab.h"

#define PR_HOLDS	8 /* references tracked per pfn */
#define PR_TRANSIENT_NS 1000000000ULL

struct pr_holder {
	struct htab_key k; /* tgid, hash of (system call, kernel stack) */
	uint32_t tgid;
	int32_t sysnr;
	char comm[PS_COMM_LEN];
	uint8_t nr_kstack;
	uint64_t kstack[PS_MAX_STACK];
	uint64_t incs, refs;	     /* increments and the references they took */
	uint64_t pages;		     /* distinct pfns it took references on */
	uint64_t held;		     /* references still held */
	uint64_t transient, lasting; /* references given back within / after transient_ns */
	uint64_t first_ns, last_ns;
	uint64_t max_hold_ns; /* the longest hold given back */
};

struct pr_hold {
	struct pr_holder *holder;
	uint32_t tid;
	int32_t sysnr;
	int32_t refs;
	uint64_t ts_ns;
};

struct pr_pfn {
	struct htab_key k; /* pfn, 0 */
	int32_t count;	   /* the refcount at the last change */
	uint8_t nholds;
	struct pr_hold holds[PR_HOLDS];
};

struct agg_pageref {
	struct htab pfns, holders, pairs;
	uint64_t transient_ns;
	uint64_t events, incs, decs, pin_changes, unseen_refs, freed, overflow;
};

int agg_pageref_init(struct agg_pageref *r, size_t max_pfns, size_t max_holders);
void agg_pageref_free(struct agg_pageref *r);
void agg_pageref_apply(struct agg_pageref *r, const struct ps_ev_pageref *e);
/* Distinct pfns on which h holds references now. */
uint64_t agg_pageref_held_pages(const struct agg_pageref *r, const struct pr_holder *h);
/* The oldest reference h still holds, 0 if none. */
uint64_t agg_pageref_oldest(const struct agg_pageref *r, const struct pr_holder *h);
/* Lasting: still holds references, or held one longer than transient_ns. */
static inline int pr_holder_lasting(const struct pr_holder *h)
{
	return h->held || h->lasting;
}

#endif
