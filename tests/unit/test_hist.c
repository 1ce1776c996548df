// SPDX-License-Identifier: BSD-2-Clause
/* Log2 histograms: the slots BPF fills, quantiles, merging and the printed table. */
#include "unit.h"
#include "hist.h"

#include <stdlib.h>
#include <string.h>

UNIT_TEST(hist_slot_bounds)
{
	CHECK_EQ(hist_slot(0), 0);
	CHECK_EQ(hist_slot(1), 0);
	CHECK_EQ(hist_slot(2), 1);
	CHECK_EQ(hist_slot(3), 1);
	CHECK_EQ(hist_slot(4), 2);
	CHECK_EQ(hist_slot(1023), 9);
	CHECK_EQ(hist_slot(1024), 10);
	CHECK_EQ(hist_slot((1ULL << 31) - 1), 30);
	CHECK_EQ(hist_slot(1ULL << 31), 31);
	/* everything above lands in the last slot */
	CHECK_EQ(hist_slot(1ULL << 40), HIST_SLOTS - 1);
	CHECK_EQ(hist_slot(UINT64_MAX), HIST_SLOTS - 1);
	/* every value lies inside its slot's bounds */
	for (uint64_t v = 0; v < 5000; v++) {
		unsigned int s = hist_slot(v);

		CHECK(hist_lo(s) <= v || (s == 0 && v <= 1));
		CHECK(v <= hist_hi(s));
	}
	CHECK_EQ(hist_lo(0), 0);
	CHECK_EQ(hist_hi(0), 1);
	CHECK_EQ(hist_lo(10), 1024);
	CHECK_EQ(hist_hi(10), 2047);
	CHECK_EQ(hist_hi(HIST_SLOTS - 1), UINT64_MAX);
}

UNIT_TEST(hist_quantiles)
{
	struct hist h;

	memset(&h, 0, sizeof(h));
	CHECK_EQ(hist_count(&h), 0);
	CHECK_EQ(hist_quantile(&h, 0.5), 0);
	/* 90 samples around 1 us, 10 around 64 us */
	for (int i = 0; i < 90; i++)
		hist_add(&h, 1000);
	for (int i = 0; i < 10; i++)
		hist_add(&h, 64000);
	CHECK_EQ(hist_count(&h), 100);
	CHECK_EQ(h.slot[9], 90);
	CHECK_EQ(h.slot[15], 10);
	CHECK_EQ(hist_quantile(&h, 0.5), 1023);
	CHECK_EQ(hist_quantile(&h, 0.9), 1023);
	/* rank 91 is the first of the slow ones */
	CHECK_EQ(hist_quantile(&h, 0.91), 65535);
	CHECK_EQ(hist_quantile(&h, 0.99), 65535);
	CHECK_EQ(hist_quantile(&h, 1.0), 65535);
	CHECK_EQ(hist_quantile(&h, 0.0), 1023);
}

UNIT_TEST(hist_merge_adds_deltas)
{
	struct hist h;
	__u64 delta[HIST_SLOTS] = {0};

	memset(&h, 0, sizeof(h));
	hist_add(&h, 5000);
	delta[12] = 3;
	delta[0] = 2;
	hist_merge(&h, delta);
	hist_merge(&h, delta);
	CHECK_EQ(h.slot[12], 7);
	CHECK_EQ(h.slot[0], 4);
	CHECK_EQ(hist_count(&h), 11);
}

UNIT_TEST(hist_print_table)
{
	struct hist h;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(f != NULL);
	memset(&h, 0, sizeof(h));
	hist_print(f, &h, 0);
	fflush(f);
	CHECK(strstr(buf, "(no samples)") != NULL);
	fclose(f);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	for (int i = 0; i < 4; i++)
		hist_add(&h, 9000);
	hist_add(&h, 40000);
	hist_print(f, &h, 2);
	fclose(f);
	/* first to last non-empty slot only: 8192.. up to 32768.. (3 rows + header) */
	CHECK(strstr(buf, "nsecs") != NULL);
	CHECK(strstr(buf,
		     "8192 -> 16383 : 4          |****************************************|") !=
	      NULL);
	CHECK(strstr(buf, "16384 -> 32767 : 0") != NULL);
	CHECK(strstr(buf, "32768 -> 65535 : 1          |**********") != NULL);
	CHECK(strstr(buf, "4096 ->") == NULL);
	CHECK(strstr(buf, "65536 ->") == NULL);
	free(buf);
}
