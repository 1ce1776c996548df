// SPDX-License-Identifier: BSD-2-Clause
#include "agg_held.h"
#include "agg.h"

#include <string.h>

#define HELD_MAX_BLOCKERS 8

void agg_held_check(struct agg *a, uint64_t last_id)
{
	struct gmem_blocker b[HELD_MAX_BLOCKERS];
	struct conv_ent *c;
	int nb;

	if (!a->conv.nrecent)
		return;
	c = &a->conv.recent[a->conv.nrecent - 1];
	if (c->id == last_id || c->outcome != CONV_DONE || !c->to_private)
		return;
	nb = agg_gmem_blockers(&a->gmem, &a->pins, c, b, HELD_MAX_BLOCKERS);
	for (int i = 0; i < nb; i++) {
		c->held_pins += b[i].pins;
		c->held_pages += b[i].pages;
		if (i && b[i].pages <= b[0].pages)
			continue;
		/* The holder named is the one with the most pages. */
		c->held_tgid = b[i].tgid;
		c->held_subsys = b[i].subsys;
		c->held_by_file = b[i].by_file;
		memcpy(c->held_comm, b[i].comm, sizeof(c->held_comm));
		c->held_lo = b[i].lo;
		c->held_hi = b[i].hi;
	}
	if (nb)
		a->conv.held_twice++;
}
