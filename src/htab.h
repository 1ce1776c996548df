/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fixed-capacity open-addressing table keyed by two u64s. Entries start with struct htab_key.
 * It never grows: a full table refuses inserts and counts them in `overflow`, so memory is
 * bounded by the capacity chosen at creation. The slots hold indexes into an entry array that
 * is filled from the front (deleted entries are reused first), so the memory a table touches
 * follows the entries it holds, not its capacity, and entries never move: a pointer to an
 * entry stays valid until that entry is deleted.
 */
#ifndef PS_HTAB_H
#define PS_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_key {
	uint64_t k1;
	uint64_t k2;
};

struct htab {
	size_t cap; /* slots, a power of two */
	size_t esz;
	size_t count;
	size_t limit; /* max live entries */
	size_t dead;  /* deleted slots not yet reused */
	uint64_t overflow;
	uint32_t *slot;	     /* 0 empty, 1 deleted, else entry index + 2 */
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
/* Iterate: for (size_t i = 0; (e = htab_next(h, &i)); ) */
void *htab_next(const struct htab *h, size_t *iter);

#endif
