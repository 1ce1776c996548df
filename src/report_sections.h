/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Report sections that read as history: pins held over time, and the user stacks of the
 * holders with their names (resolved when the events were seen, carried by recordings). Text
 * and JSON of each come from the same loop.
 */
#ifndef PS_REPORT_SECTIONS_H
#define PS_REPORT_SECTIONS_H

#include <stdio.h>
#include "agg.h"
#include "rows.h"

struct json;
struct symtab;

void report_sections_text(FILE *out, const struct agg *a, const struct holder_row *rows, int n,
			  const struct symtab *syms);
void report_sections_json(struct json *j, const struct agg *a, const struct holder_row *rows, int n,
			  const struct symtab *syms);

#endif
