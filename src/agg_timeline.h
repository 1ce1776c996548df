/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pins held over time: one point per sampling tick (the PS_EV_LOSS record every interval ends
 * with), from the events alone, so a live run and its recording have the same timeline. Bounded:
 * when full, every other point goes and the sampling stride doubles.
 */
#ifndef PS_AGG_TIMELINE_H
#define PS_AGG_TIMELINE_H

#include <stdint.h>

struct agg_pins;

#define TIMELINE_MAX 64

struct timeline_point {
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	uint64_t longterm_pages, shortterm_pages;
	uint64_t holders;  /* holders with pages pinned */
	uint64_t vmpin_kb; /* sum of VmPin over the processes sampled alive */
};

struct agg_timeline {
	struct timeline_point pts[TIMELINE_MAX];
	unsigned int n;
	uint64_t stride, ticks;
};

void agg_timeline_sample(struct agg_timeline *t, const struct agg_pins *p, uint64_t ts);

#endif
