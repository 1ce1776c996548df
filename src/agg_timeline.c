// SPDX-License-Identifier: BSD-2-Clause
#include "agg_timeline.h"
#include "agg_pins.h"

void agg_timeline_sample(struct agg_timeline *t, const struct agg_pins *p, uint64_t ts)
{
	struct timeline_point *pt;
	struct holder_ent *h;
	struct proc_ent *pr;

	if (!t->stride)
		t->stride = 1;
	if (t->ticks++ % t->stride)
		return;
	if (t->n == TIMELINE_MAX) {
		for (unsigned int i = 0; i < TIMELINE_MAX / 2; i++)
			t->pts[i] = t->pts[2 * i];
		t->n = TIMELINE_MAX / 2;
		t->stride *= 2;
	}
	pt = &t->pts[t->n++];
	*pt = (struct timeline_point){.ts_ns = ts};
	for (size_t it = 0; (h = htab_next(&p->holders, &it));) {
		pt->longterm_pages += h->pages_longterm;
		pt->shortterm_pages += h->pages_shortterm;
		pt->holders += h->pages != 0;
	}
	for (size_t it = 0; (pr = htab_next(&p->procs, &it));)
		if (pr->sampled && pr->alive)
			pt->vmpin_kb += pr->vmpin_kb;
}
