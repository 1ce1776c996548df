/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The head of a live snapshot (pinscope top): totals, the kernel's nr_foll_pin_* movement,
 * events by tier, losses. Taken from the aggregate once per interval, then written as text
 * lines (batch and full-screen alike) or as JSON members, from the same struct.
 */
#ifndef PS_SNAP_H
#define PS_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agg.h"

struct json;

#define SNAP_LINES    4
#define SNAP_LINE_LEN 256

struct snap {
	uint64_t elapsed_ns, interval_ns;
	uint64_t holders, holding; /* holders seen; those holding pins now */
	uint64_t longterm_pages, shortterm_pages;
	bool vmstat; /* sampled at least once */
	uint64_t foll_acquired_interval, foll_released_interval;
	uint64_t foll_acquired_total, foll_released_total; /* since start */
	uint64_t by_tier[PS_TIER_MAX];
	uint64_t drops[PS_DROP_MAX], malformed, table_overflow, unmatched_releases;
};

void snap_take(struct snap *s, const struct agg *a);
uint64_t snap_losses(const struct snap *s);
/* Fills up to SNAP_LINES lines; returns how many. */
int snap_text(const struct snap *s, char lines[][SNAP_LINE_LEN]);
/* Members of the enclosing JSON object. */
void snap_json(struct json *j, const struct snap *s);

#endif
