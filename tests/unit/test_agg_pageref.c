// SPDX-License-Identifier: BSD-2-Clause
/*
 * The page_ref pairing on crafted sequences shaped like what the 6.12 guest showed
 * (tests/guest/swvm): a vmsplice that keeps its references, a GUP that gives them back in the
 * same ioctl after the LRU batch took one more, a reference dropped by another task.
 */
#include "unit.h"
#include "agg_pageref.h"

#include <string.h>

#define MS	 1000000ULL
#define VMSPLICE 278
#define IOCTL	 16

static void ev(struct agg_pageref *r, uint32_t tid, int32_t sysnr, uint64_t pfn, int32_t delta,
	       int32_t count, uint64_t frame, uint64_t ts)
{
	struct ps_ev_pageref e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_PAGEREF;
	e.h.size = sizeof(e);
	e.h.tgid = 100;
	e.h.tid = tid;
	e.h.ts_ns = ts;
	strcpy(e.h.comm, "vmm");
	e.pfn = pfn;
	e.delta = delta;
	e.count = count;
	e.sysnr = sysnr;
	e.op = delta > 0 ? PS_PR_MOD_UNLESS : PS_PR_MOD_AND_TEST;
	if (delta > 0) {
		e.nr_kstack = 1;
		e.kstack[0] = frame;
	}
	agg_pageref_apply(r, &e);
}

static const struct pr_holder *by_frame(const struct agg_pageref *r, uint64_t frame)
{
	const struct pr_holder *h;

	for (size_t it = 0; (h = htab_next(&r->holders, &it));)
		if (h->kstack[0] == frame)
			return h;
	return NULL;
}

UNIT_TEST(pageref_lasting_and_transient)
{
	struct agg_pageref r;
	const struct pr_holder *splice, *gup, *lru;

	CHECK_EQ(agg_pageref_init(&r, 64, 16), 0);
	for (uint64_t p = 0; p < 4; p++) {
		/* mapped: count 1; vmsplice +1 */
		ev(&r, 7, VMSPLICE, 0x1000 + p, 1, 2, 0xa, 1 * MS);
		/* GUP +1, the LRU batch +1, put_page -1, all in one ioctl */
		ev(&r, 7, IOCTL, 0x1000 + p, 1, 3, 0xb, 2 * MS);
		ev(&r, 7, IOCTL, 0x1000 + p, 1, 4, 0xc, 2 * MS);
		ev(&r, 7, IOCTL, 0x1000 + p, -1, 3, 0, 3 * MS);
	}
	splice = by_frame(&r, 0xa);
	gup = by_frame(&r, 0xb);
	lru = by_frame(&r, 0xc);
	CHECK(splice && gup && lru);
	CHECK_EQ(splice->held, 4);
	CHECK_EQ(agg_pageref_held_pages(&r, splice), 4);
	CHECK(pr_holder_lasting(splice));
	CHECK_EQ(gup->held, 0);
	CHECK_EQ(gup->transient, 4);
	CHECK(!pr_holder_lasting(gup));
	CHECK_EQ(gup->pages, 4);
	agg_pageref_free(&r);
}

UNIT_TEST(pageref_count_explains_release_by_another_task)
{
	struct agg_pageref r;
	const struct pr_holder *splice;

	CHECK_EQ(agg_pageref_init(&r, 64, 16), 0);
	ev(&r, 7, VMSPLICE, 0x2000, 1, 2, 0xa, 1 * MS);
	/* the mapping goes (count 1 still covers the pipe's reference): not the holder's */
	ev(&r, 7, 11, 0x2000, -1, 1, 0, 2 * MS);
	splice = by_frame(&r, 0xa);
	CHECK(splice);
	CHECK_EQ(splice->held, 1);
	CHECK_EQ(r.unseen_refs, 1);
	/* another task drains the pipe 2 s later: count 0, the reference was the pipe's */
	ev(&r, 9, 0, 0x2000, -1, 0, 0, 2000 * MS);
	CHECK_EQ(splice->held, 0);
	CHECK_EQ(splice->lasting, 1);
	CHECK(pr_holder_lasting(splice));
	CHECK_EQ(r.freed, 1);
	agg_pageref_free(&r);
}

UNIT_TEST(pageref_pin_bias_left_to_pins)
{
	struct agg_pageref r;

	CHECK_EQ(agg_pageref_init(&r, 64, 16), 0);
	ev(&r, 7, IOCTL, 0x3000, PS_PR_PIN_BIAS, 1025, 0xd, 1 * MS);
	ev(&r, 7, IOCTL, 0x3000, -PS_PR_PIN_BIAS, 1, 0, 2 * MS);
	CHECK_EQ(r.pin_changes, 2);
	CHECK_EQ(r.holders.count, 0);
	agg_pageref_free(&r);
}
