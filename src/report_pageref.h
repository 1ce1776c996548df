/* SPDX-License-Identifier: BSD-2-Clause */
/* The page_ref section of the report: holders of references that are not pins, as text and as
 * JSON ("page_refs"). Nothing when the run saw no page_ref events. */
#ifndef PS_REPORT_PAGEREF_H
#define PS_REPORT_PAGEREF_H

#include <stdio.h>
#include "agg.h"

struct json;
struct symtab;

void report_pageref_text(FILE *out, const struct agg *a, const struct symtab *syms);
void report_pageref_json(struct json *j, const struct agg *a, const struct symtab *syms);

#endif
