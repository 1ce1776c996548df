// SPDX-License-Identifier: BSD-2-Clause
/* The TLB aggregate on crafted PS_EV_TLB summaries (what the tick reader emits). */
#include "unit.h"
#include "agg.h"
#include "json.h"
#include "report_tlb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static union ps_event tlb_ev(uint8_t kind, uint32_t tgid, uint16_t cause, const char *comm)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_TLB;
	e.h.size = sizeof(e.tlb);
	e.h.tier = PS_TIER_RAW_TP;
	e.h.flags = PS_F_SYNTH;
	e.h.tgid = tgid;
	if (comm)
		strcpy(e.h.comm, comm);
	e.tlb.kind = kind;
	e.tlb.cause = cause;
	e.tlb.interval_ns = 1000000000;
	return e;
}

/* The TLB section of report, text then JSON. Caller frees. */
static char *render(struct agg *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json *j;

	if (!f)
		return NULL;
	report_tlb_text(f, a);
	j = json_new(f);
	json_obj_begin(j, NULL);
	report_tlb_json(j, a);
	json_obj_end(j);
	json_free(j);
	fclose(f);
	return buf;
}

UNIT_TEST(agg_tlb_sums_deltas_per_process_and_cause)
{
	struct agg a;
	union ps_event e;
	struct tlb_ent *x;

	CHECK(agg_init(&a, NULL) == 0);
	for (int tick = 0; tick < 3; tick++) {
		e = tlb_ev(PS_TLB_COUNTS, 42, PS_TLB_C_MPROTECT, "tlbload");
		e.tlb.c.reason[4] = 100;
		e.tlb.c.pages = 100;
		e.tlb.c.ipis = 30;
		e.tlb.c.shootdowns = 29;
		agg_apply(&a, &e);
		e = tlb_ev(PS_TLB_HIST, 42, PS_TLB_C_MPROTECT, "tlbload");
		e.tlb.hist = PS_TLB_H_DELIVERY;
		e.tlb.slots[13] = 29;
		agg_apply(&a, &e);
		e = tlb_ev(PS_TLB_GLOBAL, 0, 0, NULL);
		e.tlb.hist = 1;
		e.tlb.c.shootdowns = 31;
		e.tlb.c.irq_tlb = 31;
		e.tlb.c.reason[0] = 500;
		agg_apply(&a, &e);
	}
	/* another cause of the same process is another row */
	e = tlb_ev(PS_TLB_COUNTS, 42, PS_TLB_C_MUNMAP, "tlbload");
	e.tlb.c.reason[3] = 7;
	agg_apply(&a, &e);

	CHECK_EQ(a.events[PS_EV_TLB], 10);
	CHECK_EQ(a.tlb.ents.count, 2);
	x = htab_find(&a.tlb.ents, 42, PS_TLB_C_MPROTECT);
	CHECK(x != NULL);
	CHECK_EQ(tlb_requests(&x->c), 300);
	CHECK_EQ(x->c.pages, 300);
	CHECK_EQ(x->c.ipis, 90);
	CHECK_EQ(x->c.shootdowns, 87);
	CHECK_EQ(x->h[PS_TLB_H_DELIVERY].slot[13], 87);
	CHECK_EQ(hist_quantile(&x->h[PS_TLB_H_DELIVERY], 0.5), 16383);
	CHECK(strcmp(x->comm, "tlbload") == 0);
	x = htab_find(&a.tlb.ents, 42, PS_TLB_C_MUNMAP);
	CHECK(x != NULL);
	CHECK_EQ(tlb_local(&x->c), 7);
	/* the munmap record came after the last GLOBAL: it belongs to the next interval */
	CHECK(!agg_tlb_in_last(&a.tlb, x));
	CHECK(agg_tlb_in_last(&a.tlb, htab_find(&a.tlb.ents, 42, PS_TLB_C_MPROTECT)));

	CHECK_EQ(a.tlb.ticks, 3);
	CHECK_EQ(a.tlb.global.shootdowns, 93);
	CHECK_EQ(a.tlb.global.irq_tlb, 93);
	CHECK_EQ(a.tlb.global.reason[0], 1500);
	CHECK_EQ(a.tlb.last_global.shootdowns, 31);
	CHECK_EQ(a.tlb.covered_ns, 3000000000ULL);
	CHECK(a.tlb.irq_valid);
	agg_free(&a);
}

UNIT_TEST(agg_tlb_irq_validity_and_bad_hist)
{
	struct agg a;
	union ps_event e;

	CHECK(agg_init(&a, NULL) == 0);
	e = tlb_ev(PS_TLB_GLOBAL, 0, 0, NULL);
	e.tlb.hist = 1;
	agg_apply(&a, &e);
	CHECK(a.tlb.irq_valid);
	/* one interval without /proc/interrupts: the window is no longer comparable */
	e.tlb.hist = 0;
	agg_apply(&a, &e);
	CHECK(!a.tlb.irq_valid);
	/* an unknown histogram index is ignored, not written out of bounds */
	e = tlb_ev(PS_TLB_HIST, 1, PS_TLB_C_FAULT, "x");
	e.tlb.hist = PS_TLB_H_MAX;
	e.tlb.slots[0] = 1;
	agg_apply(&a, &e);
	CHECK_EQ(a.tlb.ents.count, 0);
	agg_free(&a);
}

UNIT_TEST(agg_tlb_names)
{
	char b[32];

	CHECK(strcmp(tlb_cause_name(PS_TLB_C_MPROTECT, b, sizeof(b)), "mprotect") == 0);
	CHECK(strcmp(tlb_cause_name(PS_TLB_C_KHUGEPAGED, b, sizeof(b)), "khugepaged") == 0);
	CHECK(strcmp(tlb_cause_name(PS_TLB_C_SYSCALL | 67, b, sizeof(b)), "syscall_67") == 0);
	CHECK(strcmp(tlb_cause_name(PS_TLB_C_MAX + 3, b, sizeof(b)), "unknown") == 0);
	CHECK(strcmp(tlb_reason_name(4), "remote_send_ipi") == 0);
}

UNIT_TEST(decode_accepts_tlb_records)
{
	union ps_event in = tlb_ev(PS_TLB_COUNTS, 7, PS_TLB_C_KSM, "ksmd"), out;

	CHECK(decode_event(&in, sizeof(in.tlb), &out) == 0);
	CHECK_EQ(out.tlb.cause, PS_TLB_C_KSM);
	/* a short record is refused */
	in.h.size = sizeof(in.tlb) - 8;
	CHECK(decode_event(&in, sizeof(in.tlb) - 8, &out) != 0);
}

UNIT_TEST(tlb_agreement_with_proc_interrupts)
{
	struct agg a;
	union ps_event e;

	CHECK(agg_init(&a, NULL) == 0);
	CHECK(strcmp(tlb_agreement(&a.tlb), "no_ground_truth") == 0);
	e = tlb_ev(PS_TLB_GLOBAL, 0, 0, NULL);
	e.tlb.hist = 1;
	e.tlb.c.shootdowns = 1000;
	e.tlb.c.irq_tlb = 1000;
	agg_apply(&a, &e);
	CHECK(strcmp(tlb_agreement(&a.tlb), "exact") == 0);
	/* 1950 against 2000: 2.5% off */
	e.tlb.c.shootdowns = 950;
	agg_apply(&a, &e);
	CHECK(strcmp(tlb_agreement(&a.tlb), "within_5pct") == 0);
	/* 2450 against 3000: 18% off */
	e.tlb.c.shootdowns = 500;
	agg_apply(&a, &e);
	CHECK(strcmp(tlb_agreement(&a.tlb), "differs") == 0);
	agg_free(&a);
}

UNIT_TEST(tlb_agreement_without_csd_tracepoints)
{
	struct agg a;
	union ps_event e;

	/* 6.1: no csd events, so remote shootdowns come from tlb_flush reasons 1 and 5 */
	CHECK(agg_init(&a, NULL) == 0);
	e = tlb_ev(PS_TLB_GLOBAL, 0, 0, NULL);
	e.tlb.hist = 1;
	e.tlb.c.reason[1] = 95;
	e.tlb.c.reason[5] = 3;
	e.tlb.c.irq_tlb = 100;
	agg_apply(&a, &e);
	CHECK(strcmp(tlb_agreement(&a.tlb), "within_5pct") == 0);
	agg_free(&a);
}

UNIT_TEST(tlb_unseen_handler_runs)
{
	struct agg_tlb t = {.on_csd = -1}; /* a file from before PS_TLB_F_CSD */
	struct ps_tlb_counts g;

	memset(&g, 0, sizeof(g));
	/* 1003 queued (10 of them kernel-range flushes), 990 + 10 handler runs seen */
	g.ipis = 1003;
	g.shootdowns = 990;
	g.kernel_flushes = 10;
	CHECK(tlb_unseen(&t, &g) == 3);
	/* more seen than queued (a window boundary): none unseen */
	g.shootdowns = 1000;
	CHECK(tlb_unseen(&t, &g) == 0);
	/* 6.1: counted on tlb_flush, no csd queue to compare with */
	memset(&g, 0, sizeof(g));
	g.reason[1] = 50;
	g.ipis = 60;
	CHECK(tlb_unseen(&t, &g) == 0);
	/* the records say the csd tracepoints count: tlb_flush's reasons do not decide it */
	t.on_csd = 1;
	CHECK(tlb_unseen(&t, &g) == 60);
	t.on_csd = 0;
	g.shootdowns = 10;
	CHECK(tlb_unseen(&t, &g) == 0);
}

/*
 * A paravirtual remote flush (PVM here): every request queued no shootdown, and --tlb-local's
 * tlb_flush saw a few wrong-CPU events; the records say the csd tracepoints count.
 */
UNIT_TEST(tlb_report_requests_without_ipi)
{
	struct agg a;
	union ps_event e;
	char *buf;

	CHECK(agg_init(&a, NULL) == 0);
	e = tlb_ev(PS_TLB_COUNTS, 42, PS_TLB_C_MPROTECT, "tlbload");
	e.tlb.c.reason[4] = 6000;
	e.tlb.c.no_ipi = 6000;
	agg_apply(&a, &e);
	e = tlb_ev(PS_TLB_GLOBAL, 0, 0, NULL);
	e.tlb.hist = 1;
	e.tlb.flags = PS_TLB_F_CSD;
	e.tlb.c.reason[4] = 6078;
	e.tlb.c.no_ipi = 6078;
	e.tlb.c.reason[5] = 3;
	agg_apply(&a, &e);
	buf = render(&a);
	CHECK(buf != NULL);
	CHECK(strstr(buf,
		     ": 6078 requests to other CPUs (6078 queued no shootdown), 0 CPUs "
		     "targeted, 0 IPIs sent, 0 remote shootdowns handled\n  no request queued "
		     "a shootdown IPI: the other CPUs were idle, or the hypervisor flushes them "
		     "(a paravirtual remote TLB flush): nothing to time\n") != NULL);
	CHECK(strstr(buf, "pinscope's remote shootdowns 0: exact\n") != NULL);
	CHECK(strstr(buf, "\"requests_without_ipi\":6078,") != NULL);
	CHECK(strstr(buf, "\"shootdowns\":0,\"shootdowns_counted_on\":\"csd\"") != NULL);
	CHECK(strstr(buf, "\"requests\":6000,") != NULL);
	CHECK(strstr(buf, "\"requests_without_ipi\":6000,") != NULL);
	free(buf);
	agg_free(&a);
}

UNIT_TEST(tlb_report_says_how_many_handler_runs_were_unseen)
{
	struct agg a;
	union ps_event e;
	char *buf;

	CHECK(agg_init(&a, NULL) == 0);
	e = tlb_ev(PS_TLB_GLOBAL, 0, 0, NULL);
	e.tlb.hist = 1;
	e.tlb.c.reason[4] = 1003;
	e.tlb.c.ipis = 1003;
	e.tlb.c.shootdowns = 1000;
	e.tlb.c.irq_tlb = 1003;
	agg_apply(&a, &e);
	buf = render(&a);
	CHECK(buf != NULL);
	CHECK(strstr(buf, "\n  3 queued shootdowns were not seen entering their handler: neither "
			  "counted there nor timed\n") != NULL);
	CHECK(strstr(buf, "\"handler_runs_unseen\":3") != NULL);
	free(buf);
	agg_free(&a);
}
