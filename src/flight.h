/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flight recorder: the most recent window of events, kept in memory as deflated blocks, and
 * written out as a complete recording on demand (SIGUSR1 in `record --ring`, an alert in
 * `watch`). Events older than the window are not lost to the report: they are folded into a
 * base aggregate, and a dump begins by restating that state (pins still held, processes,
 * counters) as records dated at the window's start, marked as predating it (`<start`).
 *
 * Use from any session sink:
 *   f = flight_new(&(struct flight_opts){ .window_ns = 30 * NSEC_PER_SEC });
 *   on_setup:  flight_setup(f, choices, n);
 *   on_event:  flight_event(f, e);
 *   on_tick:   flight_tick(f);
 *   alert:     flight_dump(f, "/var/tmp/incident.pstrace", &st);
 *   end:       flight_free(f);
 * Single-threaded: call them all from the session's thread.
 */
#ifndef PS_FLIGHT_H
#define PS_FLIGHT_H

#include <stdint.h>
#include "decode.h"

struct flight;
struct ps_choice;

struct flight_opts {
	uint64_t window_ns; /* keep this much time (0: no time bound) */
	uint64_t max_bytes; /* keep at most this many deflated bytes (0: 64 MiB) */
	uint64_t filter_pid, filter_cgroup, interval_ns; /* written into the header */
};

struct flight_stats {
	uint64_t events;		  /* records in the dump, restated state included */
	uint64_t file_bytes;		  /* size of the dump */
	uint64_t span_ns;		  /* time the dump covers */
	uint64_t held_blocks, held_bytes; /* what the ring holds now */
	uint64_t evicted_events;
};

/* NULL when out of memory. */
struct flight *flight_new(const struct flight_opts *o);
void flight_free(struct flight *f);
/* Record the tier of every hook (for the header of the dumps). */
void flight_setup(struct flight *f, const struct ps_choice *c, int n);
/* Take one event (stacks are named now, while the process exists). 0 or -ENOMEM. */
int flight_event(struct flight *f, const union ps_event *e);
/* Seal the current batch and drop what fell out of the window. */
void flight_tick(struct flight *f);
/*
 * Write the window as a complete recording to path: written to a temporary file next to it
 * (mode 0600) and renamed over path, so readers never see half a dump. The ring is kept: dumps
 * can repeat. Returns 0 or -errno.
 */
int flight_dump(struct flight *f, const char *path, struct flight_stats *st);
void flight_get_stats(const struct flight *f, struct flight_stats *st);

#endif
