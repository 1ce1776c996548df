// SPDX-License-Identifier: BSD-2-Clause
#include "htab.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_EMPTY = 0, SLOT_USED, SLOT_DEAD };

int htab_init(struct htab *h, size_t max_entries, size_t esz)
{
	size_t cap = 16;

	memset(h, 0, sizeof(*h));
	while (cap * 3 / 4 < max_entries)
		cap <<= 1;
	h->cap = cap;
	h->esz = esz;
	h->limit = max_entries;
	h->state = calloc(cap, 1);
	h->ents = calloc(cap, esz);
	if (!h->state || !h->ents) {
		htab_free(h);
		return -ENOMEM;
	}
	return 0;
}

void htab_free(struct htab *h)
{
	free(h->state);
	free(h->ents);
	h->state = NULL;
	h->ents = NULL;
}

static size_t slot_of(const struct htab *h, uint64_t k1, uint64_t k2)
{
	return hash64(k1 ^ hash64(k2 + 0x9e3779b97f4a7c15ULL)) & (h->cap - 1);
}

static struct htab_key *ent_at(const struct htab *h, size_t i)
{
	return (struct htab_key *)(h->ents + i * h->esz);
}

void *htab_find(const struct htab *h, uint64_t k1, uint64_t k2)
{
	size_t i = slot_of(h, k1, k2);

	for (size_t n = 0; n < h->cap; n++, i = (i + 1) & (h->cap - 1)) {
		struct htab_key *k;

		if (h->state[i] == SLOT_EMPTY)
			return NULL;
		k = ent_at(h, i);
		if (h->state[i] == SLOT_USED && k->k1 == k1 && k->k2 == k2)
			return k;
	}
	return NULL;
}

/* Deleted slots pile up under churn; rebuild in place when they would fill the table. */
static void rehash(struct htab *h)
{
	unsigned char *old = malloc(h->count * h->esz);
	size_t n = 0;

	if (!old)
		return;
	for (size_t i = 0; i < h->cap; i++)
		if (h->state[i] == SLOT_USED)
			memcpy(old + h->esz * n++, ent_at(h, i), h->esz);
	memset(h->state, 0, h->cap);
	h->dead = 0;
	for (size_t j = 0; j < n; j++) {
		struct htab_key *k = (struct htab_key *)(old + j * h->esz);
		size_t i = slot_of(h, k->k1, k->k2);

		while (h->state[i] != SLOT_EMPTY)
			i = (i + 1) & (h->cap - 1);
		h->state[i] = SLOT_USED;
		memcpy(ent_at(h, i), k, h->esz);
	}
	free(old);
}

void *htab_insert(struct htab *h, uint64_t k1, uint64_t k2, int *created)
{
	struct htab_key *k = htab_find(h, k1, k2);
	size_t i;

	if (created)
		*created = 0;
	if (k)
		return k;
	if (h->count >= h->limit) {
		h->overflow++;
		return NULL;
	}
	if (h->dead > h->cap / 4)
		rehash(h);
	i = slot_of(h, k1, k2);
	while (h->state[i] == SLOT_USED)
		i = (i + 1) & (h->cap - 1);
	if (h->state[i] == SLOT_DEAD)
		h->dead--;
	h->state[i] = SLOT_USED;
	k = ent_at(h, i);
	memset(k, 0, h->esz);
	k->k1 = k1;
	k->k2 = k2;
	h->count++;
	if (created)
		*created = 1;
	return k;
}

void htab_del(struct htab *h, void *ent)
{
	size_t i = ((unsigned char *)ent - h->ents) / h->esz;

	if (i < h->cap && h->state[i] == SLOT_USED) {
		h->state[i] = SLOT_DEAD;
		h->count--;
		h->dead++;
	}
}

void *htab_next(const struct htab *h, size_t *iter)
{
	while (*iter < h->cap) {
		size_t i = (*iter)++;

		if (h->state[i] == SLOT_USED)
			return ent_at(h, i);
	}
	return NULL;
}
