// SPDX-License-Identifier: BSD-2-Clause
#include "agg.h"
#include "agg_held.h"

#include <string.h>

const struct agg_limits agg_default_limits = {
	.max_pins = 65536,
	.max_holders = 16384,
	.max_objs = 16384,
	.max_procs = 16384,
};

int agg_init(struct agg *a, const struct agg_limits *lim)
{
	memset(a, 0, sizeof(*a));
	if (agg_tlb_init(&a->tlb, 4096))
		return -1;
	if (agg_pins_init(&a->pins, lim ? lim : &agg_default_limits))
		return -1;
	if (agg_gmem_init(&a->gmem, &gmem_default_limits) ||
	    agg_convert_init(&a->conv, 4096, 4096) || agg_pageref_init(&a->pageref, 16384, 4096)) {
		agg_free(a);
		return -1;
	}
	a->conv.gpa_to_file = agg_gmem_gpa_to_file;
	a->conv.gpa_ctx = &a->gmem;
	return 0;
}

void agg_free(struct agg *a)
{
	agg_pins_free(&a->pins);
	agg_tlb_free(&a->tlb);
	agg_gmem_free(&a->gmem);
	agg_convert_free(&a->conv);
	agg_pageref_free(&a->pageref);
}

static void on_mark(struct agg *a, const struct ps_ev_mark *m)
{
	switch (m->kind) {
	case PS_MARK_START:
		a->start_ns = m->h.ts_ns;
		a->wall_at_start_ns = m->wall_ns;
		break;
	case PS_MARK_READY:
		a->gmem.faults_counted = m->flags & PS_MARK_F_GMEM_FAULTS;
		a->gmem.inval_counted = m->flags & PS_MARK_F_GMEM_INVAL;
		break;
	case PS_MARK_END:
		a->end_ns = m->h.ts_ns;
		agg_pins_settle(&a->pins);
		break;
	case PS_MARK_TICK: {
		uint64_t from = a->tick_ns ? a->tick_ns : a->start_ns;

		a->vmstat_prev_tick = a->tick_ns ? a->vmstat_tick : a->vmstat_first;
		a->vmstat_tick = a->vmstat_last;
		a->interval_ns = m->h.ts_ns > from ? m->h.ts_ns - from : 0;
		a->tick_ns = m->h.ts_ns;
		agg_pins_tick(&a->pins);
		break;
	}
	default:
		break;
	}
}

static void on_vmstat(struct agg *a, const struct ps_ev_vmstat *v)
{
	if (!a->vmstat_samples++)
		a->vmstat_first = *v;
	a->vmstat_last = *v;
}

void agg_apply(struct agg *a, const union ps_event *e)
{
	uint64_t last_conv;

	/* Every reader sees the PIN records a PINS record stands for (decode_event checked nr). */
	if (e->h.type == PS_EV_PINS) {
		union ps_event one;

		for (unsigned int i = 0; i < e->pins.nr && i < PS_PINS_MAX; i++) {
			pins_item_event(&e->pins, i, &one);
			agg_apply(a, &one);
		}
		return;
	}

	if (e->h.type < PS_EV_TYPE_MAX)
		a->events[e->h.type]++;
	if (e->h.tier < PS_TIER_MAX)
		a->by_tier[e->h.tier]++;
	if (e->h.ts_ns > a->now_ns)
		a->now_ns = e->h.ts_ns;
	switch (e->h.type) {
	case PS_EV_MARK:
		on_mark(a, &e->mark);
		break;
	case PS_EV_VMSTAT:
		on_vmstat(a, &e->vmstat);
		break;
	case PS_EV_LOSS:
		a->loss = e->loss;
		agg_timeline_sample(&a->timeline, &a->pins, e->h.ts_ns);
		break;
	case PS_EV_TLB:
		agg_tlb_apply(&a->tlb, &e->tlb);
		break;
	case PS_EV_PAGEREF:
		agg_pageref_apply(&a->pageref, &e->pageref);
		break;
	default:
		agg_pins_apply(&a->pins, e);
	}
	agg_gmem_apply(&a->gmem, &a->pins, e);
	last_conv = a->conv.nrecent ? a->conv.recent[a->conv.nrecent - 1].id : 0;
	agg_convert_apply(&a->conv, e);
	if (e->h.type == PS_EV_CONV)
		agg_held_check(a, last_conv);
}

void agg_refresh(struct agg *a)
{
	agg_pins_refresh(&a->pins);
}
