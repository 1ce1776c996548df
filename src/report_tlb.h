/* SPDX-License-Identifier: BSD-2-Clause */
/* The TLB sections of report and top: rows per (process, cause) and the system-wide check. */
#ifndef PS_REPORT_TLB_H
#define PS_REPORT_TLB_H

#include <stdio.h>
#include "agg.h"

struct json;

/* report: the section, or nothing when the run has no TLB records. */
void report_tlb_text(FILE *out, struct agg *a);
/* report -j: "tlb": {...}, or "tlb": null. */
void report_tlb_json(struct json *j, struct agg *a);
/* top: one line for the latest interval (nothing without TLB records). */
void report_tlb_top_line(FILE *out, struct agg *a);
void report_tlb_top_json(struct json *j, struct agg *a);

/* Shootdowns queued that the handler-entry program never saw (0 unless counted on csd). */
uint64_t tlb_unseen(const struct agg_tlb *t, const struct ps_tlb_counts *g);
/* "exact", "within_5pct", "differs", "no_ground_truth": pinscope's system-wide remote
 * shootdowns against the TLB row of /proc/interrupts over the same window. */
const char *tlb_agreement(const struct agg_tlb *t);

#endif
