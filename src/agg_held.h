/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Memory held twice: a conversion to private that succeeded while pins still hold the range's
 * shared backing (the VMM's memslot mapping, or the guest_memfd folios). The guest now uses the
 * private copy, and the shared pages cannot be given back while the pin lasts. Checked once,
 * when the conversion leaves the open table, against the pins known at that moment; the holder,
 * pages and range are kept in the conversion's record (conv_ent held_*).
 */
#ifndef PS_AGG_HELD_H
#define PS_AGG_HELD_H

#include <stdint.h>

struct agg;

/* After a conversion event: last_id is the id of the newest recent conversion before it. */
void agg_held_check(struct agg *a, uint64_t last_id);

#endif
