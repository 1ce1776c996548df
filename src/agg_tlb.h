/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLB flushes per (process, cause), from the PS_EV_TLB summaries: totals since the start,
 * latency histograms, and the last interval for the live view. System-wide counters sit beside
 * the TLB row of /proc/interrupts read over the same intervals, the ground truth for shootdowns.
 */
#ifndef PS_AGG_TLB_H
#define PS_AGG_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "decode.h"
#include "hist.h"
#include "htab.h"

struct tlb_ent {
	struct htab_key k; /* tgid, cause */
	uint32_t tgid;
	uint16_t cause;
	char comm[PS_COMM_LEN];
	struct ps_tlb_counts c; /* totals */
	struct hist h[PS_TLB_H_MAX];
	struct ps_tlb_counts last; /* the latest record's deltas */
	uint64_t last_tick;	   /* agg_tlb.ticks when `last` arrived */
};

struct agg_tlb {
	struct htab ents;
	struct ps_tlb_counts global;	  /* totals */
	struct ps_tlb_counts last_global; /* the latest interval */
	uint64_t covered_ns;		  /* sum of the GLOBAL intervals */
	uint64_t last_interval_ns;
	uint64_t ticks; /* GLOBAL records seen */
	uint64_t records;
	bool irq_valid; /* every GLOBAL record had /proc/interrupts read */
	bool no_local;	/* a GLOBAL record had PS_TLB_F_NO_LOCAL: local flushes not counted */
	int8_t on_csd;	/* shootdowns counted on the csd tracepoints: 1, 0, -1 (a file from before
			 * PS_TLB_F_CSD: tell from the counts) */
};

int agg_tlb_init(struct agg_tlb *t, size_t max_ents);
void agg_tlb_free(struct agg_tlb *t);
void agg_tlb_apply(struct agg_tlb *t, const struct ps_ev_tlb *e);
/* Did this entry change in the latest interval? */
bool agg_tlb_in_last(const struct agg_tlb *t, const struct tlb_ent *e);

/* Locally flushed (reasons 2, 3) and requests sent to other CPUs (reason 4). */
static inline uint64_t tlb_local(const struct ps_tlb_counts *c)
{
	return c->reason[2] + c->reason[3];
}

static inline uint64_t tlb_requests(const struct ps_tlb_counts *c)
{
	return c->reason[4];
}

/* "mprotect", "khugepaged", "syscall_17"... into buf. */
const char *tlb_cause_name(unsigned int cause, char *buf, size_t size);
const char *tlb_reason_name(unsigned int reason);

#endif
