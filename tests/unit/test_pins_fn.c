// SPDX-License-Identifier: BSD-2-Clause
/* The function tier's event shapes in the pin aggregate, and the hold-time histogram. */
#include "unit.h"
#include "agg.h"
#include "hist.h"

#include <string.h>

static union ps_event fn_pin(uint32_t tgid, uint64_t first_page, uint64_t pages, bool longterm,
			     uint64_t ts)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_PIN;
	e.h.size = sizeof(e.pin);
	e.h.tier = PS_TIER_FENTRY;
	e.h.flags = longterm ? PS_F_LONGTERM : 0;
	e.h.tgid = tgid;
	e.h.ts_ns = ts;
	e.pin.obj = first_page;
	e.pin.subsys = longterm ? PS_SUB_IO_URING : PS_SUB_GUP;
	e.pin.pages = pages;
	e.pin.acct_pages = longterm ? pages : 0;
	e.pin.nr_kstack = 2;
	e.pin.kstack[0] = 0xffffffff81000010ULL;
	e.pin.kstack[1] = 0xffffffff81000020ULL;
	return e;
}

static union ps_event fn_unpin(uint64_t obj, uint32_t slot, uint64_t pages, uint64_t ts)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_UNPIN;
	e.h.size = sizeof(e.unpin);
	e.h.tier = PS_TIER_FENTRY;
	e.h.ts_ns = ts;
	e.unpin.obj = obj;
	e.unpin.slot = slot;
	e.unpin.reason = PS_UNPIN_FUNC;
	e.unpin.pages = pages;
	return e;
}

static struct holder_ent *holder_of(struct agg *a, uint32_t tgid, unsigned int subsys)
{
	struct holder_ent *h;

	for (size_t it = 0; (h = htab_next(&a->pins.holders, &it));)
		if (h->tgid == tgid && h->subsys == subsys)
			return h;
	return NULL;
}

/* io_uring on 6.1/6.12 releases a buffer page by page: every page ends part of the pin. */
UNIT_TEST(fn_pin_released_page_by_page)
{
	struct agg a;
	union ps_event e;
	struct holder_ent *h;

	CHECK(agg_init(&a, NULL) == 0);
	e = fn_pin(10, 0xffffea0000001000ULL, 16, true, 100);
	agg_apply(&a, &e);
	h = holder_of(&a, 10, PS_SUB_IO_URING);
	CHECK(h != NULL);
	CHECK_EQ(h->pages, 16);
	CHECK_EQ(h->pages_longterm, 16);
	CHECK_EQ(h->nr_kstack, 2);
	CHECK_EQ(h->kstack[1], 0xffffffff81000020ULL);
	for (int i = 0; i < 15; i++) {
		e = fn_unpin(0xffffea0000001000ULL, 0, 1, 200 + i);
		agg_apply(&a, &e);
	}
	CHECK_EQ(h->pages, 1);
	CHECK_EQ(h->pins, 1);
	e = fn_unpin(0xffffea0000001000ULL, 0, 1, 300);
	agg_apply(&a, &e);
	CHECK_EQ(h->pages, 0);
	CHECK_EQ(h->pins, 0);
	CHECK_EQ(h->released_pages, 16);
	CHECK(h->shortterm_ns == NULL); /* long-term pins have no hold-time histogram */
	CHECK_EQ(a.pins.orphan_unpins, 0);
	agg_free(&a);
}

/* Short-term pins land in their own holder, with their hold times. */
UNIT_TEST(fn_shortterm_hold_times)
{
	struct agg a;
	union ps_event e;
	struct holder_ent *h;

	CHECK(agg_init(&a, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		e = fn_pin(20, 0xffffea0000002000ULL, 16, false, 1000 + i * 10000);
		agg_apply(&a, &e);
		e = fn_unpin(0xffffea0000002000ULL, 0, 16, 1000 + i * 10000 + 3000);
		agg_apply(&a, &e);
	}
	h = holder_of(&a, 20, PS_SUB_GUP);
	CHECK(h != NULL);
	CHECK_EQ(h->pages, 0);
	CHECK_EQ(h->pages_longterm, 0);
	CHECK_EQ(h->acquired_pages, 64);
	CHECK_EQ(h->released_pages, 64);
	CHECK(h->shortterm_ns != NULL);
	CHECK_EQ(hist_count(h->shortterm_ns), 4);
	CHECK_EQ(h->shortterm_ns->max, 3000);
	CHECK_EQ(h->shortterm_ns->slot[hist_slot(3000)], 4);
	CHECK_EQ(hist_quantile(h->shortterm_ns, 0.5), 4095);
	agg_free(&a);
}
