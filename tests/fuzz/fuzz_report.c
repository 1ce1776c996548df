// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: any bytes at all, replayed as a recording through the aggregate and printed
 * as `pinscope report FILE` would, text and JSON. Whatever the records say (counts, indexes,
 * names, stacks), nothing may crash, hang or leak (tests/fuzz/run.sh builds and runs it).
 */
#include "agg.h"
#include "cmd.h"
#include "replay.h"
#include "report.h"
#include "symtab.h"
#include "trace_read.h"

#include <stdint.h>
#include <stdio.h>

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r = trace_reader__open_mem(data, size);
	struct symtab *syms;
	struct agg a;
	int rc;

	if (!r)
		return 0;
	if (!sink)
		sink = fopen("/dev/null", "w");
	syms = symtab_new();
	if (!sink || !syms || agg_init(&a, NULL)) {
		symtab_free(syms);
		trace_reader__free(r);
		return 0;
	}
	rc = replay_reader(r, "fuzz", &a, syms, NULL);
	trace_reader__free(r);
	if (rc == PS_EXIT_OK || rc == PS_EXIT_PARTIAL) {
		struct report_opts o = {.syms = syms};

		report_print(sink, &a, &o);
		o.json = true;
		report_print(sink, &a, &o);
	}
	agg_free(&a);
	symtab_free(syms);
	return 0;
}
