// SPDX-License-Identifier: BSD-2-Clause
#include "hist.h"
#include "json.h"

#include <inttypes.h>
#include <string.h>

#define STARS 40

unsigned int hist_slot(uint64_t v)
{
	unsigned int r = v ? 63 - __builtin_clzll(v) : 0;

	return r < HIST_SLOTS ? r : HIST_SLOTS - 1;
}

uint64_t hist_lo(unsigned int i)
{
	return i ? 1ULL << i : 0;
}

uint64_t hist_hi(unsigned int i)
{
	return i + 1 >= HIST_SLOTS ? UINT64_MAX : (1ULL << (i + 1)) - 1;
}

void hist_add(struct hist *h, uint64_t v)
{
	h->slot[hist_slot(v)]++;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *h, const __u64 *slots)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		h->slot[i] += slots[i];
}

uint64_t hist_count(const struct hist *h)
{
	uint64_t n = 0;

	for (int i = 0; i < HIST_SLOTS; i++)
		n += h->slot[i];
	return n;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t n = hist_count(h), want, seen = 0;

	if (!n)
		return 0;
	if (q <= 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* the smallest rank r with r >= q * n, at least 1 */
	want = (uint64_t)(q * (double)n);
	if ((double)want < q * (double)n)
		want++;
	if (!want)
		want = 1;
	for (int i = 0; i < HIST_SLOTS; i++) {
		seen += h->slot[i];
		if (seen >= want)
			return hist_hi(i);
	}
	return hist_hi(HIST_SLOTS - 1);
}

static int span(const struct hist *h, int *first, int *last)
{
	*first = -1;
	*last = -1;
	for (int i = 0; i < HIST_SLOTS; i++) {
		if (!h->slot[i])
			continue;
		if (*first < 0)
			*first = i;
		*last = i;
	}
	return *first >= 0;
}

void hist_print(FILE *out, const struct hist *h, int indent)
{
	uint64_t max = 0;
	int first, last;

	if (!span(h, &first, &last)) {
		fprintf(out, "%*s(no samples)\n", indent, "");
		return;
	}
	for (int i = first; i <= last; i++)
		if (h->slot[i] > max)
			max = h->slot[i];
	fprintf(out, "%*s%20s : %-10s distribution\n", indent, "", "nsecs", "count");
	for (int i = first; i <= last; i++) {
		char range[48], bar[STARS + 1];
		int stars = (int)((h->slot[i] * STARS + max - 1) / max);

		if (i + 1 >= HIST_SLOTS)
			snprintf(range, sizeof(range), "%" PRIu64 " -> ...", hist_lo(i));
		else
			snprintf(range, sizeof(range), "%" PRIu64 " -> %" PRIu64, hist_lo(i),
				 hist_hi(i));
		memset(bar, '*', stars);
		memset(bar + stars, ' ', STARS - stars);
		bar[STARS] = 0;
		fprintf(out, "%*s%20s : %-10" PRIu64 " |%s|\n", indent, "", range, h->slot[i], bar);
	}
}

void hist_json(struct json *j, const char *key, const struct hist *h)
{
	int first, last;

	json_arr_begin(j, key);
	if (span(h, &first, &last)) {
		for (int i = first; i <= last; i++) {
			json_obj_begin(j, NULL);
			json_u64(j, "lo_ns", hist_lo(i));
			if (i + 1 >= HIST_SLOTS)
				json_null(j, "hi_ns");
			else
				json_u64(j, "hi_ns", hist_hi(i));
			json_u64(j, "count", h->slot[i]);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
}
