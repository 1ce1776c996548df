/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Log2 histograms of durations (ns): bucket i counts values in [2^i, 2^(i+1)), bucket 0 also
 * counts 0. Fixed size, no allocation: one per holder.
 */
#ifndef PS_HIST_H
#define PS_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 40 /* up to 2^40 ns, about 18 minutes; longer lands in the last bucket */

struct hist {
	uint64_t count, sum, max;
	uint32_t bucket[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t v);
/* Upper bound (2^(i+1)) of the bucket holding quantile q (0..1); 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Bucket index of v. */
unsigned int hist_bucket(uint64_t v);

#endif
