// SPDX-License-Identifier: BSD-2-Clause
#include "htab.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_EMPTY = 0, SLOT_BASE = 1 };

#define MIN_SLOTS 64

int htab_init(struct htab *h, size_t max_entries, size_t esz)
{
	size_t cap = 16;

	memset(h, 0, sizeof(*h));
	if (!max_entries || max_entries > UINT32_MAX - SLOT_BASE || esz < sizeof(uint64_t) * 2)
		return -EINVAL;
	while (cap * 3 / 4 < max_entries)
		cap <<= 1;
	h->max_cap = cap;
	h->cap = cap < MIN_SLOTS ? cap : MIN_SLOTS;
	h->esz = esz;
	h->limit = max_entries;
	/* calloc'd pages nobody touched cost nothing: memory follows use. */
	h->slot = calloc(h->cap, sizeof(*h->slot));
	h->ents = calloc(max_entries, esz);
	h->live = calloc(max_entries, 1);
	if (!h->slot || !h->ents || !h->live) {
		htab_free(h);
		return -ENOMEM;
	}
	return 0;
}

void htab_free(struct htab *h)
{
	free(h->slot);
	free(h->ents);
	free(h->live);
	h->slot = NULL;
	h->ents = NULL;
	h->live = NULL;
}

static inline uint32_t hash_of(uint64_t k1, uint64_t k2)
{
	return (uint32_t)hash64(k1 ^ hash64(k2 + 0x9e3779b97f4a7c15ULL));
}

static inline uint64_t slot_val(uint32_t hash, size_t idx)
{
	return (uint64_t)hash << 32 | (uint64_t)(idx + SLOT_BASE);
}

static inline size_t slot_idx(uint64_t s)
{
	return (uint32_t)s - SLOT_BASE;
}

static inline size_t slot_home(const struct htab *h, uint64_t s)
{
	return (size_t)(s >> 32) & (h->cap - 1);
}

static inline struct htab_key *ent_at(const struct htab *h, size_t idx)
{
	return (struct htab_key *)(h->ents + idx * h->esz);
}

/* The slot holding (k1, k2), or cap when there is none. The table is never full of slots
 * (at most 3/4 are used), so the probe always meets an empty one. */
static inline size_t find_slot(const struct htab *h, uint64_t k1, uint64_t k2)
{
	uint32_t hash = hash_of(k1, k2);
	size_t mask = h->cap - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint64_t s = h->slot[i];
		const struct htab_key *k;

		if (s == SLOT_EMPTY)
			return h->cap;
		if ((uint32_t)(s >> 32) != hash)
			continue;
		k = ent_at(h, slot_idx(s));
		if (k->k1 == k1 && k->k2 == k2)
			return i;
	}
}

void *htab_find(const struct htab *h, uint64_t k1, uint64_t k2)
{
	size_t i = find_slot(h, k1, k2);

	return i < h->cap ? ent_at(h, slot_idx(h->slot[i])) : NULL;
}

static void place(struct htab *h, uint64_t val)
{
	size_t i = slot_home(h, val);

	while (h->slot[i] != SLOT_EMPTY)
		i = (i + 1) & (h->cap - 1);
	h->slot[i] = val;
}

/* Double the slot array (the entries stay where they are). -ENOMEM leaves it as it was. */
static int grow(struct htab *h)
{
	size_t cap = h->cap * 2, old_cap = h->cap;
	uint64_t *slot = calloc(cap, sizeof(*slot)), *old = h->slot;

	if (!slot)
		return -ENOMEM;
	h->slot = slot;
	h->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i] != SLOT_EMPTY)
			place(h, old[i]);
	free(old);
	return 0;
}

static size_t take_entry(struct htab *h)
{
	size_t idx;

	if (h->free_list) {
		idx = h->free_list - 1;
		memcpy(&h->free_list, ent_at(h, idx), sizeof(h->free_list));
	} else {
		idx = h->used++;
	}
	return idx;
}

void *htab_insert(struct htab *h, uint64_t k1, uint64_t k2, int *created)
{
	struct htab_key *k = htab_find(h, k1, k2);
	size_t idx;

	if (created)
		*created = 0;
	if (k)
		return k;
	if (h->count >= h->limit) {
		h->overflow++;
		return NULL;
	}
	/* Keep at most half the slots used while the array may grow, 3/4 once it cannot. */
	if (h->cap < h->max_cap && (h->count + 1) * 2 > h->cap && grow(h) &&
	    (h->count + 1) * 4 > h->cap * 3) {
		h->overflow++;
		return NULL;
	}
	idx = take_entry(h);
	k = ent_at(h, idx);
	memset(k, 0, h->esz);
	k->k1 = k1;
	k->k2 = k2;
	h->live[idx] = 1;
	place(h, slot_val(hash_of(k1, k2), idx));
	h->count++;
	if (created)
		*created = 1;
	return k;
}

/* Linear probing without tombstones: close the gap at i by moving back every later entry of
 * the run whose home slot does not lie cyclically in (i, j]. */
static void remove_slot(struct htab *h, size_t i)
{
	size_t mask = h->cap - 1, j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (h->slot[j] == SLOT_EMPTY)
			break;
		home = slot_home(h, h->slot[j]);
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		h->slot[i] = h->slot[j];
		i = j;
	}
	h->slot[i] = SLOT_EMPTY;
}

void htab_del(struct htab *h, void *ent)
{
	size_t idx = ((unsigned char *)ent - h->ents) / h->esz;
	struct htab_key *k = ent;
	uint32_t next;
	size_t i;

	if (idx >= h->used || !h->live[idx])
		return;
	i = find_slot(h, k->k1, k->k2);
	if (i < h->cap)
		remove_slot(h, i);
	h->live[idx] = 0;
	h->count--;
	next = h->free_list;
	memcpy(ent, &next, sizeof(next));
	h->free_list = idx + 1;
}

void *htab_next(const struct htab *h, size_t *iter)
{
	while (*iter < h->used) {
		size_t i = (*iter)++;

		if (h->live[i])
			return ent_at(h, i);
	}
	return NULL;
}
