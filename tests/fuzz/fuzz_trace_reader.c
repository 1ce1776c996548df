// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: any bytes at all, read as a recording. The reader must never crash, hang or
 * leak, and must call a file intact only if it is (tests/fuzz/run.sh builds and runs it).
 */
#include "trace_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int on_event(void *ctx, const union ps_event *e)
{
	uint64_t *n = ctx;

	/* Touch the record the way the aggregate would. */
	*n += e->h.size + e->h.type;
	return 0;
}

static void on_symbol(void *ctx, uint32_t pid, uint64_t addr, const char *name, size_t len)
{
	uint64_t *n = ctx;

	*n += pid + addr + len + (len ? (unsigned char)name[len - 1] : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t sum = 0;
	struct trace_read_cb cb = {.on_event = on_event, .on_symbol = on_symbol, .ctx = &sum};
	struct trace_reader *r = trace_reader__open_mem(data, size);
	char line[512];

	if (!r)
		return 0;
	/* "Intact" must mean every event the footer counts was read. */
	if (trace_reader__read(r, &cb)) {
		const struct trace_damage *d = trace_reader__damage(r);

		if (!d->footer || d->footer_events != d->events + d->records_unknown)
			abort();
	}
	trace_damage_describe(trace_reader__damage(r), line, sizeof(line));
	trace_reader__free(r);
	return 0;
}
