/* SPDX-License-Identifier: BSD-2-Clause */
/* The guest_memfd and conversion section of the report, as text and as JSON ("gmem", "conversions"). */
#ifndef PS_REPORT_GMEM_H
#define PS_REPORT_GMEM_H

#include <stdio.h>
#include "agg.h"

struct json;

/* Prints nothing when the run saw no KVM activity. */
void report_gmem_text(FILE *out, struct agg *a);
/* Adds the "gmem" and "conversions" members to the open JSON object. */
void report_gmem_json(struct json *j, struct agg *a);

#endif
