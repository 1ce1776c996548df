/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Log2 latency histograms, the shape the usual BPF tools print: slot i counts values in
 * [2^i, 2^(i+1)) nanoseconds, slot 0 holds 0 and 1, the last slot everything above. BPF fills
 * the same slots (bpf/tlb.bpf.c), so its deltas add in directly.
 */
#ifndef PS_HIST_H
#define PS_HIST_H

#include <stdint.h>
#include <stdio.h>
#include "events.h"

#define HIST_SLOTS PS_TLB_HIST_SLOTS

struct json;

struct hist {
	uint64_t slot[HIST_SLOTS];
	uint64_t max; /* largest value added with hist_add (merged deltas do not carry it) */
};

unsigned int hist_slot(uint64_t v);
/* Bounds of slot i: [lo, hi]; the last slot's hi is UINT64_MAX. */
uint64_t hist_lo(unsigned int i);
uint64_t hist_hi(unsigned int i);
void hist_add(struct hist *h, uint64_t v);
/* Adds per-slot counts (a delta record). */
void hist_merge(struct hist *h, const __u64 *slots);
uint64_t hist_count(const struct hist *h);
/* The upper bound of the slot holding the q-quantile (0 < q <= 1); 0 when empty. An
 * estimate within a factor of two, as any log2 histogram gives. */
uint64_t hist_quantile(const struct hist *h, double q);
/* The table with stars, from the first to the last non-empty slot. `indent` spaces first. */
void hist_print(FILE *out, const struct hist *h, int indent);
/* "key": [{"lo_ns":..,"hi_ns":..,"count":..}, ...] over the non-empty span. */
void hist_json(struct json *j, const char *key, const struct hist *h);

#endif
