// SPDX-License-Identifier: BSD-2-Clause
#include "hist.h"

unsigned int hist_bucket(uint64_t v)
{
	unsigned int b = v ? 63 - __builtin_clzll(v) : 0;

	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->bucket[hist_bucket(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * h->count + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			return 2ULL << i;
	}
	return 2ULL << (HIST_BUCKETS - 1);
}
