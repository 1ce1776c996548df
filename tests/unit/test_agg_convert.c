// SPDX-License-Identifier: BSD-2-Clause
/*
 * The conversion state machine on crafted event sequences. Labelled "crafted": no kernel this
 * project runs on can make a conversion succeed (the 6.18 host answers ENOTTY), so successes,
 * EAGAIN retries and memory-fault exits are exercised here only; a real guest kernel covers
 * them in issue 9's tests (tools/swvm.c).
 */
#include "unit.h"
#include "agg.h"

#include <string.h>

#define MS	1000000ULL
#define VM	0xffff888100000000ULL
#define GPA	0x100000000ULL
#define EAGAIN_ 11
#define ENOTTY_ 25
#define PRIV	PS_KVM_MEMORY_ATTRIBUTE_PRIVATE
#define TGID	4242

struct notes {
	int stuck, resolved;
	uint64_t last_id;
	uint8_t last_why, last_outcome;
};

static void on_note(void *ctx, enum conv_note note, const struct conv_ent *c)
{
	struct notes *n = ctx;

	if (note == CONV_NOTE_STUCK) {
		n->stuck++;
		n->last_why = c->stuck_why;
	} else {
		n->resolved++;
		n->last_outcome = c->outcome;
	}
	n->last_id = c->id;
}

static void hdr(union ps_event *e, unsigned int type, size_t size, uint64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->h.type = type;
	e->h.size = size;
	e->h.tier = PS_TIER_SYSCALL;
	e->h.tgid = TGID;
	e->h.tid = TGID;
	e->h.ts_ns = ts;
	strcpy(e->h.comm, "vmm");
}

static void conv(struct agg *a, uint8_t phase, uint64_t ts, uint64_t start, uint64_t size,
		 bool to_private, int err, uint64_t dur)
{
	union ps_event e;

	hdr(&e, PS_EV_CONV, sizeof(e.conv), ts);
	e.conv.vm = VM;
	e.conv.start = start;
	e.conv.size = size;
	e.conv.attributes = to_private ? PRIV : 0;
	e.conv.to_private = to_private;
	e.conv.iface = PS_CONV_VM_ATTR;
	e.conv.phase = phase;
	e.conv.err = err;
	e.conv.duration_ns = dur;
	e.conv.fd = 4;
	agg_apply(a, &e);
}

/* One ioctl: REQUEST at ts, RESULT dur later. */
static void attempt(struct agg *a, uint64_t ts, uint64_t start, uint64_t size, bool to_private,
		    int err)
{
	conv(a, PS_CONV_REQUEST, ts, start, size, to_private, 0, 0);
	conv(a, PS_CONV_RESULT, ts + MS / 10, start, size, to_private, err, MS / 10);
}

static void fault_exit(struct agg *a, uint64_t ts, uint64_t gpa, uint64_t size, bool to_private)
{
	union ps_event e;

	hdr(&e, PS_EV_VM_EXIT, sizeof(e.vm_exit), ts);
	e.vm_exit.vm = VM;
	e.vm_exit.reason = PS_KVM_EXIT_MEMORY_FAULT;
	e.vm_exit.err = 14;
	e.vm_exit.gpa = gpa;
	e.vm_exit.size = size;
	e.vm_exit.flags = to_private ? PS_KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	agg_apply(a, &e);
}

static void gmem_ev(struct agg *a, uint8_t kind, uint64_t ts, uint8_t gflags)
{
	union ps_event e;

	hdr(&e, PS_EV_GMEM, sizeof(e.gmem), ts);
	e.gmem.kind = kind;
	e.gmem.vm = VM;
	e.gmem.gflags = gflags;
	e.gmem.fd = -1;
	agg_apply(a, &e);
}

static int setup(struct agg *a, struct notes *n, uint64_t stuck_after, uint32_t retries)
{
	memset(n, 0, sizeof(*n));
	if (agg_init(a, NULL))
		return -1;
	a->conv.lim.stuck_after_ns = stuck_after;
	a->conv.lim.retries = retries;
	a->conv.notify = on_note;
	a->conv.notify_ctx = n;
	return 0;
}

UNIT_TEST(conv_crafted_quick_success_never_alerts)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 100 * MS, 3) == 0);
	attempt(&a, 1000 * MS, GPA, 2 << 20, true, 0);
	agg_convert_tick(&a.conv, 5000 * MS);
	CHECK_EQ(n.stuck, 0);
	CHECK_EQ(n.resolved, 0);
	CHECK_EQ(a.conv.open.count, 0);
	CHECK_EQ(a.conv.requests, 1);
	CHECK_EQ(a.conv.ok, 1);
	CHECK_EQ(a.conv.nrecent, 1);
	CHECK_EQ(a.conv.recent[0].outcome, CONV_DONE);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_eagain_retries_then_success_alerts_once_and_resolves_once)
{
	struct agg a;
	struct notes n;
	uint64_t t = 1000 * MS;

	CHECK(setup(&a, &n, 0, 3) == 0);
	for (int i = 0; i < 10; i++, t += MS)
		attempt(&a, t, GPA, 16 << 12, true, EAGAIN_);
	CHECK_EQ(n.stuck, 1); /* at the third failure, not again */
	CHECK_EQ(n.last_why, CONV_STUCK_RETRIES);
	CHECK_EQ(a.conv.open.count, 1);
	attempt(&a, t, GPA, 16 << 12, true, 0);
	CHECK_EQ(n.resolved, 1);
	CHECK_EQ(n.last_outcome, CONV_DONE);
	CHECK_EQ(a.conv.open.count, 0);
	CHECK_EQ(a.conv.recent[a.conv.nrecent - 1].attempts, 11);
	CHECK_EQ(a.conv.recent[a.conv.nrecent - 1].failures, 10);
	CHECK_EQ(a.conv.failed, 10);
	CHECK_EQ(a.conv.ok, 1);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_in_flight_past_threshold_is_stuck_by_time)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 200 * MS, 0) == 0);
	conv(&a, PS_CONV_REQUEST, 1000 * MS, GPA, 4096, true, 0, 0);
	agg_convert_tick(&a.conv, 1100 * MS);
	CHECK_EQ(n.stuck, 0);
	agg_convert_tick(&a.conv, 1200 * MS);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(n.last_why, CONV_STUCK_TIME);
	agg_convert_tick(&a.conv, 9000 * MS);
	CHECK_EQ(n.stuck, 1);
	conv(&a, PS_CONV_RESULT, 9500 * MS, GPA, 4096, true, 0, 8500 * MS);
	CHECK_EQ(n.resolved, 1);
	CHECK_EQ(a.conv.recent[0].max_duration_ns, 8500 * MS);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_fault_exit_unanswered_then_covering_request_takes_over)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 100 * MS, 0) == 0);
	fault_exit(&a, 1000 * MS, GPA + 0x3000, 4096, true);
	fault_exit(&a, 1001 * MS, GPA + 0x3000, 4096, true); /* the guest faults again */
	CHECK_EQ(a.conv.open.count, 1);
	agg_convert_tick(&a.conv, 1200 * MS);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(n.last_why, CONV_STUCK_UNANSWERED);
	/* The VMM converts the 2 MiB around it: the ask becomes that request (no second alert),
	 * and its success resolves the one alert. */
	attempt(&a, 1300 * MS, GPA, 2 << 20, true, 0);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(n.resolved, 1);
	CHECK_EQ(n.last_outcome, CONV_DONE);
	CHECK_EQ(n.last_id, 1);
	CHECK_EQ(a.conv.open.count, 0);
	CHECK_EQ(a.conv.recent[a.conv.nrecent - 1].fault_exits, 2);
	CHECK_EQ(a.conv.fault_exits, 2);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_fault_exit_answered_the_other_way_is_done)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 100 * MS, 0) == 0);
	/* A private access to a gpa without guest_memfd: the VMM makes it shared, late. */
	for (int i = 0; i < 5; i++)
		fault_exit(&a, (1000 + i) * MS, GPA, 4096, true);
	agg_convert_tick(&a.conv, 1150 * MS);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(n.last_why, CONV_STUCK_UNANSWERED);
	attempt(&a, 1300 * MS, GPA, 4096, false, 0);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(n.resolved, 1);
	CHECK_EQ(n.last_outcome, CONV_DONE);
	CHECK_EQ(a.conv.recent[a.conv.nrecent - 1].fault_exits, 5);
	CHECK_EQ(a.conv.recent[a.conv.nrecent - 1].to_private, 0);
	CHECK_EQ(a.conv.open.count, 0);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_opposite_success_supersedes_stuck_one)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 0, 2) == 0);
	attempt(&a, 1000 * MS, GPA, 8 << 12, true, EAGAIN_);
	attempt(&a, 1001 * MS, GPA, 8 << 12, true, EAGAIN_);
	CHECK_EQ(n.stuck, 1);
	/* The guest changed its mind: the range goes (stays) shared. */
	attempt(&a, 1002 * MS, GPA + 0x1000, 4096, false, 0);
	CHECK_EQ(n.resolved, 1);
	CHECK_EQ(n.last_outcome, CONV_SUPERSEDED);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_vm_exit_abandons)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 0, 2) == 0);
	attempt(&a, 1000 * MS, GPA, 4096, true, ENOTTY_);
	attempt(&a, 1001 * MS, GPA, 4096, true, ENOTTY_);
	attempt(&a, 1002 * MS, GPA + 0x10000, 4096, false, ENOTTY_); /* another one, not stuck */
	CHECK_EQ(n.stuck, 1);
	gmem_ev(&a, PS_GMEM_EXIT, 2000 * MS, 0);
	CHECK_EQ(n.resolved, 1); /* only the stuck one is announced */
	CHECK_EQ(n.last_outcome, CONV_ABANDONED);
	CHECK_EQ(a.conv.open.count, 0);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_different_ranges_are_different_conversions)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 0, 3) == 0);
	for (int i = 0; i < 6; i++)
		attempt(&a, (1000 + i) * MS, GPA + (uint64_t)i * 0x1000, 4096, true, EAGAIN_);
	CHECK_EQ(n.stuck, 0); /* never 3 failures in a row on one range */
	CHECK_EQ(a.conv.open.count, 6);
	agg_free(&a);
}

UNIT_TEST(conv_crafted_missing_request_record_still_counts_the_attempt)
{
	struct agg a;
	struct notes n;

	CHECK(setup(&a, &n, 0, 2) == 0);
	conv(&a, PS_CONV_RESULT, 1000 * MS, GPA, 4096, true, EAGAIN_, MS);
	conv(&a, PS_CONV_RESULT, 1001 * MS, GPA, 4096, true, EAGAIN_, MS);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(a.conv.failed, 2);
	agg_free(&a);
}

/* The guest re-raises the same fault (tests/guest/swvm repeated-fault): the `retries`-th
 * memory-fault exit on one gpa alerts once, the VMM's late conversion resolves it. */
UNIT_TEST(conv_crafted_refaults_alert_once_then_resolve)
{
	struct agg a;
	struct notes n;

	CHECK_EQ(setup(&a, &n, 0, 5), 0);
	for (int i = 0; i < 4; i++)
		fault_exit(&a, (1 + i) * MS, 0x200000, 4096, true);
	CHECK_EQ(n.stuck, 0);
	fault_exit(&a, 5 * MS, 0x200000, 4096, true);
	CHECK_EQ(n.stuck, 1);
	CHECK_EQ(n.last_why, CONV_STUCK_REFAULTS);
	fault_exit(&a, 6 * MS, 0x200000, 4096, true);
	CHECK_EQ(n.stuck, 1);
	attempt(&a, 200 * MS, 0x200000, 4096, false, 0);
	CHECK_EQ(n.resolved, 1);
	CHECK_EQ(n.last_outcome, CONV_DONE);
	CHECK_EQ(a.conv.recent[a.conv.nrecent - 1].fault_exits, 6);
	agg_free(&a);
}
