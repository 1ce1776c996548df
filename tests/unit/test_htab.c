// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"
#include "htab.h"

struct ent {
	struct htab_key k;
	int v;
};

UNIT_TEST(htab_insert_find_delete)
{
	struct htab h;
	struct ent *e;
	int created;

	CHECK(htab_init(&h, 100, sizeof(struct ent)) == 0);
	for (int i = 0; i < 100; i++) {
		e = htab_insert(&h, i, i * 7, &created);
		CHECK(e && created);
		e->v = i;
	}
	CHECK_EQ(h.count, 100);
	/* Bounded: the 101st entry is refused and counted. */
	CHECK(htab_insert(&h, 1000, 1, NULL) == NULL);
	CHECK_EQ(h.overflow, 1);
	for (int i = 0; i < 100; i++) {
		e = htab_find(&h, i, i * 7);
		CHECK(e && e->v == i);
		CHECK(htab_find(&h, i, i * 7 + 1) == NULL);
	}
	for (int i = 0; i < 100; i += 2)
		htab_del(&h, htab_find(&h, i, i * 7));
	CHECK_EQ(h.count, 50);
	CHECK(htab_find(&h, 2, 14) == NULL);
	CHECK(htab_find(&h, 3, 21) != NULL);
	htab_free(&h);
}

UNIT_TEST(htab_churn_keeps_working)
{
	struct htab h;

	CHECK(htab_init(&h, 64, sizeof(struct ent)) == 0);
	/* Many insert/delete cycles fill the table with deleted slots; it must rehash. */
	for (int round = 0; round < 10000; round++) {
		struct ent *e = htab_insert(&h, round, 0, NULL);

		CHECK(e != NULL);
		htab_del(&h, e);
	}
	CHECK_EQ(h.count, 0);
	CHECK_EQ(h.overflow, 0);
	htab_free(&h);
}
