/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bounded open-addressing table keyed by two u64s. Entries start with struct htab_key.
 * A full table refuses inserts and counts them in `overflow`, so memory is bounded by the
 * capacity chosen at creation. The slots hold indexes into an entry array that is filled from
 * the front (deleted entries are reused first), so the memory a table touches follows the
 * entries it holds, not its capacity, and entries never move: a pointer to an entry stays valid
 * until that entry is deleted. The slot array starts small and doubles (up to the size the
 * capacity needs) as entries arrive, so a table of a few hundred entries stays in cache;
 * deletion shifts the probe run back (no tombstones), so churn never lengthens lookups. A slot
 * keeps 32 bits of its key's hash next to the entry index: probing past other keys, moving a run
 * back and growing never touch the entries themselves.
 */
#ifndef PS_HTAB_H
#define PS_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct htab_key {
	uint64_t k1;
	uint64_t k2;
};

struct htab {
	size_t cap;	/* slots now, a power of two */
	size_t max_cap; /* slots the limit needs: cap never grows past it */
	size_t esz;
	size_t count;
	size_t limit; /* max live entries */
	uint64_t overflow;
	uint64_t *slot;	     /* 0 empty, else hash << 32 | (entry index + 1) */
	unsigned char *ents; /* `limit` entries; [0, used) handed out so far */
	uint8_t *live;	     /* per entry */
	size_t used;
	uint32_t free_list; /* deleted entries to reuse, linked through their memory; 0: none */
};

int htab_init(struct htab *h, size_t max_entries, size_t esz);
void htab_free(struct htab *h);
void *htab_find(const struct htab *h, uint64_t k1, uint64_t k2);
/* Returns the entry (zeroed with its key set when *created) or NULL when full. */
void *htab_insert(struct htab *h, uint64_t k1, uint64_t k2, int *created);
void htab_del(struct htab *h, void *ent);
/* Is ent, an entry this table once returned (or NULL), still live with the key (k1, k2)? Entries
 * never move and their array lives as long as the table, so a caller may keep a pointer to an
 * entry and check it this way instead of looking the key up again. */
static inline bool htab_live(const struct htab *h, const void *ent, uint64_t k1, uint64_t k2)
{
	const struct htab_key *k = ent;
	/* Unsigned: a pointer below the array wraps to a large offset. */
	size_t off = (size_t)((uintptr_t)ent - (uintptr_t)h->ents);

	return ent && off < h->used * h->esz && h->live[off / h->esz] && k->k1 == k1 && k->k2 == k2;
}
/* Iterate: for (size_t i = 0; (e = htab_next(h, &i)); ) */
void *htab_next(const struct htab *h, size_t *iter);

#endif
