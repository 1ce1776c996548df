/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The page_ref tier's filter: every tick, the pfns of the shared side of every guest_memfd
 * memslot the aggregate knows (the pages a conversion to private moves away from, and that a
 * VMM may have handed to a pipe, a socket or a device meanwhile) are read from the VMM's
 * /proc/PID/pagemap and put in bpf/pageref.bpf.c's pfn map. A pfn leaves the map when its page
 * is freed (in BPF), not when it is unmapped: a reference that outlives the mapping is what
 * this tier is for.
 */
#ifndef PS_PAGEREF_POLL_H
#define PS_PAGEREF_POLL_H

#include "agg.h"

struct loader;
struct pageref_poll;

/* NULL when the page_ref programs are not loaded (then the other calls do nothing). */
struct pageref_poll *pageref_poll_new(const struct loader *l);
void pageref_poll_tick(struct pageref_poll *p, const struct agg *a);
void pageref_poll_free(struct pageref_poll *p);

#endif
