// SPDX-License-Identifier: BSD-2-Clause
#include "snap.h"
#include "hooks.h"
#include "json.h"
#include "decode.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void snap_take(struct snap *s, const struct agg *a)
{
	const struct holder_ent *h;

	memset(s, 0, sizeof(*s));
	s->elapsed_ns = a->now_ns > a->start_ns ? a->now_ns - a->start_ns : 0;
	s->interval_ns = a->interval_ns;
	for (size_t it = 0; (h = htab_next(&a->pins.holders, &it));) {
		s->holders++;
		s->holding += h->pages != 0;
		s->longterm_pages += h->pages_longterm;
		s->shortterm_pages += h->pages_shortterm;
	}
	s->vmstat = a->vmstat_samples != 0;
	if (s->vmstat) {
		const struct ps_ev_vmstat *from =
			a->tick_ns ? &a->vmstat_prev_tick : &a->vmstat_first;
		const struct ps_ev_vmstat *to = a->tick_ns ? &a->vmstat_tick : &a->vmstat_last;

		s->foll_acquired_interval = to->foll_pin_acquired - from->foll_pin_acquired;
		s->foll_released_interval = to->foll_pin_released - from->foll_pin_released;
		s->foll_acquired_total =
			a->vmstat_last.foll_pin_acquired - a->vmstat_first.foll_pin_acquired;
		s->foll_released_total =
			a->vmstat_last.foll_pin_released - a->vmstat_first.foll_pin_released;
	}
	memcpy(s->by_tier, a->by_tier, sizeof(s->by_tier));
	for (int d = 0; d < PS_DROP_MAX; d++)
		s->drops[d] = a->loss.drops[d];
	s->malformed = a->loss.malformed;
	s->table_overflow = agg_pins_overflow(&a->pins);
	s->unmatched_releases = a->pins.orphan_unpins;
}

uint64_t snap_losses(const struct snap *s)
{
	uint64_t n = s->malformed + s->table_overflow;

	for (int d = 0; d < PS_DROP_MAX; d++)
		n += s->drops[d];
	return n;
}

int snap_text(const struct snap *s, char lines[][SNAP_LINE_LEN])
{
	char b1[32], b2[32], *l;
	size_t off = 0;

	snprintf(lines[0], SNAP_LINE_LEN,
		 "pinscope top: %.1fs, interval %.1fs, holders %" PRIu64 " (%" PRIu64
		 " holding pins)",
		 (double)s->elapsed_ns / NSEC_PER_SEC, (double)s->interval_ns / NSEC_PER_SEC,
		 s->holders, s->holding);
	snprintf(lines[1], SNAP_LINE_LEN,
		 "long-term pinned: %" PRIu64 " pages (%s); short-term: %" PRIu64 " pages (%s)",
		 s->longterm_pages, fmt_bytes(s->longterm_pages * 4096, b1, sizeof(b1)),
		 s->shortterm_pages, fmt_bytes(s->shortterm_pages * 4096, b2, sizeof(b2)));
	if (s->vmstat)
		snprintf(lines[2], SNAP_LINE_LEN,
			 "vmstat: nr_foll_pin_acquired +%" PRIu64 ", nr_foll_pin_released +%" PRIu64
			 " in the interval; +%" PRIu64 ", +%" PRIu64 " since start",
			 s->foll_acquired_interval, s->foll_released_interval,
			 s->foll_acquired_total, s->foll_released_total);
	else
		snprintf(lines[2], SNAP_LINE_LEN, "vmstat: not sampled yet");
	l = lines[3];
	off = snprintf(l, SNAP_LINE_LEN, "events by tier:");
	for (int t = 1; t < PS_TIER_MAX && off < SNAP_LINE_LEN; t++)
		if (s->by_tier[t])
			off += snprintf(l + off, SNAP_LINE_LEN - off, " %s %" PRIu64, tier_name(t),
					s->by_tier[t]);
	if (off < SNAP_LINE_LEN)
		off += snprintf(l + off, SNAP_LINE_LEN - off, "; losses %" PRIu64, snap_losses(s));
	for (int d = 0; d < PS_DROP_MAX && off < SNAP_LINE_LEN; d++)
		if (s->drops[d])
			off += snprintf(l + off, SNAP_LINE_LEN - off, " %s %" PRIu64, drop_name(d),
					s->drops[d]);
	if (s->malformed && off < SNAP_LINE_LEN)
		off += snprintf(l + off, SNAP_LINE_LEN - off, " malformed %" PRIu64, s->malformed);
	if (s->table_overflow && off < SNAP_LINE_LEN)
		snprintf(l + off, SNAP_LINE_LEN - off, " table_overflow %" PRIu64,
			 s->table_overflow);
	return SNAP_LINES;
}

void snap_json(struct json *j, const struct snap *s)
{
	json_u64(j, "elapsed_ns", s->elapsed_ns);
	json_u64(j, "interval_ns", s->interval_ns);
	json_obj_begin(j, "totals");
	json_u64(j, "longterm_pages", s->longterm_pages);
	json_u64(j, "longterm_bytes", s->longterm_pages * 4096);
	json_u64(j, "shortterm_pages", s->shortterm_pages);
	json_u64(j, "shortterm_bytes", s->shortterm_pages * 4096);
	json_u64(j, "holders", s->holders);
	json_u64(j, "holders_holding", s->holding);
	json_obj_end(j);
	json_obj_begin(j, "vmstat");
	if (s->vmstat) {
		json_u64(j, "foll_pin_acquired_interval", s->foll_acquired_interval);
		json_u64(j, "foll_pin_released_interval", s->foll_released_interval);
		json_u64(j, "foll_pin_acquired_delta", s->foll_acquired_total);
		json_u64(j, "foll_pin_released_delta", s->foll_released_total);
	}
	json_obj_end(j);
	json_obj_begin(j, "events_by_tier");
	for (int t = 1; t < PS_TIER_MAX; t++)
		json_u64(j, tier_name(t), s->by_tier[t]);
	json_obj_end(j);
	json_obj_begin(j, "losses");
	for (int d = 0; d < PS_DROP_MAX; d++)
		json_u64(j, drop_name(d), s->drops[d]);
	json_u64(j, "malformed_records", s->malformed);
	json_u64(j, "table_overflow", s->table_overflow);
	json_u64(j, "unmatched_releases", s->unmatched_releases);
	json_obj_end(j);
}
