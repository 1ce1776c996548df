// SPDX-License-Identifier: BSD-2-Clause
/* The table's entries never move and its memory follows what it holds (the live view keeps
 * pointers to holders across ticks, and a 10k-holder run must stay small). */
#include "unit.h"
#include "htab.h"

struct ent {
	struct htab_key k;
	int v;
};

UNIT_TEST(htab_pointers_survive_churn_and_rehash)
{
	struct htab h;
	struct ent *keep[8];

	CHECK(htab_init(&h, 64, sizeof(struct ent)) == 0);
	for (int i = 0; i < 8; i++) {
		keep[i] = htab_insert(&h, 1000 + i, 0, NULL);
		CHECK(keep[i] != NULL);
		keep[i]->v = i;
	}
	/* Enough insert/delete cycles to rebuild the slots many times over. */
	for (int round = 0; round < 10000; round++) {
		struct ent *e = htab_insert(&h, round, 1, NULL);

		CHECK(e != NULL);
		htab_del(&h, e);
	}
	for (int i = 0; i < 8; i++) {
		CHECK(htab_find(&h, 1000 + i, 0) == keep[i]);
		CHECK_EQ(keep[i]->v, i);
	}
	/* Deleted entries are reused: churn did not walk through the entry array. */
	CHECK(h.used <= 9);
	htab_free(&h);
}

UNIT_TEST(htab_delete_while_iterating)
{
	struct htab h;
	struct ent *e;
	int seen = 0;

	CHECK(htab_init(&h, 100, sizeof(struct ent)) == 0);
	for (int i = 0; i < 100; i++)
		CHECK(htab_insert(&h, i, 0, NULL) != NULL);
	for (size_t it = 0; (e = htab_next(&h, &it));) {
		seen++;
		if (e->k.k1 % 3 == 0)
			htab_del(&h, e);
	}
	CHECK_EQ(seen, 100);
	CHECK_EQ(h.count, 66);
	seen = 0;
	for (size_t it = 0; (e = htab_next(&h, &it));) {
		CHECK(e->k.k1 % 3 != 0);
		CHECK(htab_find(&h, e->k.k1, 0) == e);
		seen++;
	}
	CHECK_EQ(seen, 66);
	htab_free(&h);
}
