/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The aggregate root: every decoded event, live or replayed, goes through agg_apply(). Sinks
 * (report, top, record, watch, metrics) only read from it. It knows nothing of screens, files
 * or BPF: given the same events it always reaches the same state.
 */
#ifndef PS_AGG_H
#define PS_AGG_H

#include <stdint.h>
#include "agg_convert.h"
#include "agg_gmem.h"
#include "agg_pageref.h"
#include "agg_pins.h"
#include "agg_timeline.h"
#include "agg_tlb.h"
#include "decode.h"

struct agg {
	struct agg_pins pins;
	struct agg_tlb tlb;
	uint64_t start_ns, end_ns, now_ns; /* CLOCK_MONOTONIC of the run */
	uint64_t wall_at_start_ns;	   /* CLOCK_REALTIME at start_ns */
	uint64_t events[PS_EV_TYPE_MAX];
	uint64_t by_tier[PS_TIER_MAX];
	struct ps_ev_loss loss; /* latest loss counters */
	struct ps_ev_vmstat vmstat_first, vmstat_last;
	uint64_t vmstat_samples;
	struct agg_timeline timeline; /* pins held at every tick */
	/* Sampling intervals (PS_MARK_TICK): the last one's length and the vmstat at its start. */
	uint64_t tick_ns, interval_ns;
	struct ps_ev_vmstat vmstat_tick, vmstat_prev_tick;
	struct agg_gmem gmem;
	struct agg_convert conv;
	struct agg_pageref pageref;
};

int agg_init(struct agg *a, const struct agg_limits *lim);
void agg_free(struct agg *a);
void agg_apply(struct agg *a, const union ps_event *e);
/* Derived fields, once before reading a snapshot. */
void agg_refresh(struct agg *a);

extern const struct agg_limits agg_default_limits;

#endif
