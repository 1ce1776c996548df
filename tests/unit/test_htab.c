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

UNIT_TEST(htab_live_checks_kept_pointers)
{
	struct htab h, other;
	struct ent *a, *b, *c;

	CHECK(htab_init(&h, 8, sizeof(struct ent)) == 0);
	CHECK(htab_init(&other, 8, sizeof(struct ent)) == 0);
	CHECK(!htab_live(&h, NULL, 0, 0));
	a = htab_insert(&h, 1, 2, NULL);
	b = htab_insert(&h, 3, 4, NULL);
	CHECK(a && b);
	CHECK(htab_live(&h, a, 1, 2));
	CHECK(htab_live(&h, b, 3, 4));
	/* The key must match too. */
	CHECK(!htab_live(&h, a, 1, 3));
	CHECK(!htab_live(&h, a, 3, 4));
	/* An entry of another table is not one of this table's. */
	CHECK(!htab_live(&h, htab_insert(&other, 1, 2, NULL), 1, 2));
	/* Deleted: not live, though the pointer still points into the array. */
	htab_del(&h, a);
	CHECK(!htab_live(&h, a, 1, 2));
	CHECK(htab_live(&h, b, 3, 4));
	/* The entry reused for another key is live with that key only. */
	c = htab_insert(&h, 5, 6, NULL);
	CHECK(c == a);
	CHECK(!htab_live(&h, a, 1, 2));
	CHECK(htab_live(&h, a, 5, 6));
	/* Deleting the last entry handed out leaves the pointer readable and not live. */
	htab_del(&h, b);
	CHECK(!htab_live(&h, b, 3, 4));
	htab_free(&h);
	htab_free(&other);
}
