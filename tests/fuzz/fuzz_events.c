// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: records of any content, of every type and every size its type allows, in any
 * order, through decode, the aggregate (with its ticks) and both reports, as a ring buffer of a
 * kernel pinscope does not know, or a recording made to look intact, would feed them. The input
 * is a list of [type byte][size byte][record bytes]: the two bytes choose a valid type and size,
 * so that the fuzzer spends its time on the contents. Nothing may crash, hang or leak.
 */
#include "agg.h"
#include "decode.h"
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static FILE *sink;

/* Small tables: every one fills up (their overflow paths run too), and a run costs less. */
static const struct agg_limits lim = {
	.max_pins = 64, .max_holders = 16, .max_objs = 16, .max_procs = 16};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_opts o = {0};
	unsigned char rec[sizeof(union ps_event)];
	union ps_event e;
	unsigned int n = 0;
	struct agg a;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (!sink || agg_init(&a, &lim))
		return 0;
	while (size >= 2) {
		unsigned int type = 1 + data[0] % (PS_EV_TYPE_MAX - 1);
		size_t lo = event_min_size(type), hi = event_max_size(type), len, take;
		struct ps_ev_hdr *h = (struct ps_ev_hdr *)rec;

		if (hi > sizeof(rec))
			hi = sizeof(rec);
		len = lo + data[1] % (hi - lo + 1);
		data += 2;
		size -= 2;
		take = len < size ? len : size;
		memset(rec, 0, sizeof(rec));
		memcpy(rec, data, take);
		data += take;
		size -= take;
		h->type = type;
		h->size = len;
		h->tier %= PS_TIER_MAX;
		if (decode_event(rec, len, &e))
			continue;
		agg_apply(&a, &e);
		if (++n % 16 == 0)
			agg_refresh(&a);
	}
	agg_refresh(&a);
	report_print(sink, &a, &o);
	o.json = true;
	report_print(sink, &a, &o);
	agg_free(&a);
	return 0;
}
