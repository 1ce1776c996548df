// SPDX-License-Identifier: BSD-2-Clause
/* The pin aggregate on crafted event sequences (what BPF would send). */
#include "unit.h"
#include "agg.h"

#include <string.h>

static uint64_t clock_ns = 1000;

static union ps_event pin(uint32_t tgid, uint64_t obj, uint32_t slot, uint64_t pages, uint8_t flags)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_PIN;
	e.h.size = sizeof(e.pin);
	e.h.tier = PS_TIER_SYSCALL;
	e.h.flags = flags | PS_F_LONGTERM;
	e.h.tgid = tgid;
	e.h.ts_ns = clock_ns++;
	strcpy(e.h.comm, "qemu");
	e.pin.obj = obj;
	e.pin.slot = slot;
	e.pin.subsys = PS_SUB_IO_URING;
	e.pin.uaddr = 0x10000 + slot * pages * 4096;
	e.pin.len = pages * 4096;
	e.pin.pages = pages;
	e.pin.acct_pages = pages;
	e.pin.backing = PS_BACK_ANON;
	return e;
}

static union ps_event obj_ev(unsigned int type, uint32_t tgid, uint64_t obj, uint32_t nr)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = type;
	e.h.size = sizeof(e.obj);
	e.h.tgid = tgid;
	e.h.ts_ns = clock_ns++;
	e.obj.obj = obj;
	e.obj.nr = nr;
	e.obj.subsys = PS_SUB_IO_URING;
	return e;
}

static union ps_event sync_end(uint32_t tgid, uint64_t obj, uint32_t sent)
{
	union ps_event e = obj_ev(PS_EV_OBJ_SYNC, tgid, obj, sent);

	e.h.flags |= PS_F_END;
	return e;
}

static union ps_event unpin_all(uint64_t obj, uint8_t reason)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_UNPIN;
	e.h.size = sizeof(e.unpin);
	e.h.ts_ns = clock_ns++;
	e.unpin.obj = obj;
	e.unpin.slot = PS_SLOT_ALL;
	e.unpin.subsys = PS_SUB_IO_URING;
	e.unpin.reason = reason;
	return e;
}

static struct holder_ent *only_holder(struct agg *a)
{
	size_t it = 0;

	return htab_next(&a->pins.holders, &it);
}

static void apply(struct agg *a, union ps_event e)
{
	agg_apply(a, &e);
}

UNIT_TEST(agg_pins_register_unregister)
{
	struct agg a;
	struct holder_ent *h;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 42, 0xabc, 3));
	for (int i = 0; i < 3; i++)
		apply(&a, pin(42, 0xabc, i, 16, 0));
	apply(&a, sync_end(42, 0xabc, 3));
	h = only_holder(&a);
	CHECK(h != NULL);
	CHECK_EQ(h->tgid, 42);
	CHECK_EQ(h->pins, 3);
	CHECK_EQ(h->pages, 48);
	CHECK_EQ(h->acquired_pages, 48);
	apply(&a, unpin_all(0xabc, PS_UNPIN_UNREGISTER));
	CHECK_EQ(h->pages, 0);
	CHECK_EQ(h->pins, 0);
	CHECK_EQ(h->released_pages, 48);
	CHECK_EQ(a.pins.pins.count, 0);
	agg_free(&a);
}

/* A record may name any slot: releasing its object costs the pins there are, not the slots
 * (2^32 look-ups: minutes; found by tests/fuzz fuzz_events). */
UNIT_TEST(agg_pins_release_of_a_huge_slot_ends)
{
	struct agg a;
	struct holder_ent *h;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, pin(42, 0xabc, 0, 1, 0));
	apply(&a, pin(42, 0xabc, 0xfffffffe, 1, 0));
	h = only_holder(&a);
	CHECK(h != NULL);
	CHECK_EQ(h->pages, 2);
	apply(&a, unpin_all(0xabc, PS_UNPIN_TEARDOWN));
	CHECK_EQ(h->pages, 0);
	CHECK_EQ(h->released_pages, 2);
	CHECK_EQ(a.pins.pins.count, 0);
	agg_free(&a);
}

UNIT_TEST(agg_pins_resync_keeps_age_and_drops_removed)
{
	struct agg a;
	struct holder_ent *h;
	struct pin_ent *p;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 7, 0x1, 2));
	apply(&a, pin(7, 0x1, 0, 4, 0));
	apply(&a, pin(7, 0x1, 1, 4, 0));
	apply(&a, sync_end(7, 0x1, 2));
	p = htab_find(&a.pins.pins, 0x1, 0);
	CHECK(p != NULL);
	uint64_t since = p->since_ns;
	/* An update empties slot 1: the walk of 2 slots sends one buffer. */
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 7, 0x1, 2));
	apply(&a, pin(7, 0x1, 0, 4, 0));
	h = only_holder(&a);
	CHECK_EQ(h->pages, 8); /* not settled until the end record */
	apply(&a, sync_end(7, 0x1, 1));
	CHECK_EQ(h->pins, 1);
	CHECK_EQ(h->pages, 4);
	p = htab_find(&a.pins.pins, 0x1, 0);
	CHECK(p && p->since_ns == since);
	agg_free(&a);
}

UNIT_TEST(agg_pins_seed_is_before_start)
{
	struct agg a;
	struct holder_ent *h;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 9, 0x2, 1));
	apply(&a, pin(9, 0x2, 0, 8, PS_F_SEED));
	apply(&a, sync_end(9, 0x2, 1));
	agg_refresh(&a);
	h = only_holder(&a);
	CHECK(h && h->seeded);
	CHECK_EQ(h->oldest_ns, 0);
	CHECK_EQ(h->acquired_pages, 0); /* seeds are not acquisitions inside the run */
	CHECK_EQ(h->pages, 8);
	agg_free(&a);
}

UNIT_TEST(agg_pins_exit_then_async_teardown)
{
	struct agg a;
	struct holder_ent *h;
	union ps_event ex;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 5, 0x3, 1));
	apply(&a, pin(5, 0x3, 0, 32, 0));
	memset(&ex, 0, sizeof(ex));
	ex.h.type = PS_EV_PROC_EXIT;
	ex.h.size = sizeof(ex.h);
	ex.h.tgid = 5;
	ex.h.ts_ns = clock_ns++;
	apply(&a, ex);
	h = only_holder(&a);
	CHECK_EQ(h->state, HOLDER_EXITED);
	CHECK_EQ(h->pages, 32); /* the pins outlive the process */
	apply(&a, obj_ev(PS_EV_OBJ_TEARDOWN, 0, 0x3, 0));
	CHECK_EQ(h->state, HOLDER_RELEASING);
	apply(&a, unpin_all(0x3, PS_UNPIN_TEARDOWN));
	CHECK_EQ(h->pages, 0);
	agg_free(&a);
}

UNIT_TEST(agg_pins_two_processes_apart)
{
	struct agg a;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 100, 0x10, 1));
	apply(&a, pin(100, 0x10, 0, 4, 0));
	apply(&a, obj_ev(PS_EV_OBJ_SYNC, 200, 0x20, 1));
	apply(&a, pin(200, 0x20, 0, 6, 0));
	CHECK_EQ(a.pins.holders.count, 2);
	apply(&a, unpin_all(0x10, PS_UNPIN_UNREGISTER));
	struct holder_ent *h1 = htab_find(&a.pins.holders, (100ULL << 8) | PS_SUB_IO_URING, 0);
	struct holder_ent *h2 = htab_find(&a.pins.holders, (200ULL << 8) | PS_SUB_IO_URING, 0);
	CHECK(h1 && h2);
	CHECK_EQ(h1->pages, 0);
	CHECK_EQ(h2->pages, 6);
	agg_free(&a);
}

UNIT_TEST(agg_pins_unknown_release_is_counted)
{
	struct agg a;
	union ps_event e = unpin_all(0x99, PS_UNPIN_FUNC);

	CHECK(agg_init(&a, NULL) == 0);
	e.unpin.slot = 3;
	apply(&a, e);
	CHECK_EQ(a.pins.orphan_unpins, 1);
	agg_free(&a);
}

UNIT_TEST(decode_rejects_bad_records)
{
	union ps_event e, out;

	e = pin(1, 2, 3, 4, 0);
	CHECK(decode_event(&e, sizeof(e.pin), &out) == 0);
	CHECK(decode_event(&e, sizeof(e.pin) - 1, &out) != 0); /* size mismatch */
	e.h.type = 200;
	CHECK(decode_event(&e, sizeof(e.pin), &out) != 0); /* unknown type */
	e = pin(1, 2, 3, 4, 0);
	e.h.tier = 77;
	CHECK(decode_event(&e, sizeof(e.pin), &out) != 0);
	CHECK(decode_event(&e, 3, &out) != 0);
}

UNIT_TEST(decode_pin_without_kernel_stack)
{
	unsigned char raw[sizeof(struct ps_ev_pin) + 64] __attribute__((aligned(8)));
	union ps_event e, out;

	/* The short form: what lies past it in memory must not leak into the record */
	e = pin(1, 2, 3, 4, 0);
	memset(raw, 0xab, sizeof(raw));
	e.h.size = PS_EV_PIN_NOKSTACK;
	memcpy(raw, &e, PS_EV_PIN_NOKSTACK);
	CHECK(decode_event(raw, PS_EV_PIN_NOKSTACK, &out) == 0);
	CHECK_EQ(out.h.size, PS_EV_PIN_NOKSTACK);
	CHECK_EQ(out.pin.uaddr, e.pin.uaddr);
	CHECK_EQ(out.pin.nr_kstack, 0);
	CHECK_EQ(out.pin.kstack[0], 0);
	CHECK_EQ(out.pin.kstack[PS_MAX_STACK - 1], 0);
	/* without a user stack either (PS_F_USTACK_PREV): zeros from there on, whatever the
	 * union held before */
	e.h.size = PS_EV_PIN_NOSTACK;
	memcpy(raw, &e, PS_EV_PIN_NOSTACK);
	memset(&out, 0xcd, sizeof(out));
	CHECK(decode_event(raw, PS_EV_PIN_NOSTACK, &out) == 0);
	CHECK_EQ(out.pin.dev, e.pin.dev);
	CHECK_EQ(out.pin.ustack[0], 0);
	CHECK_EQ(out.pin.ustack[PS_MAX_STACK - 1], 0);
	CHECK_EQ(out.pin.nr_kstack, 0);
	CHECK_EQ(out.pin.kstack[PS_MAX_STACK - 1], 0);
	/* read in place only where nothing past the record is read */
	CHECK(event_in_place(PS_EV_PIN, sizeof(struct ps_ev_pin)));
	CHECK(event_in_place(PS_EV_PIN, PS_EV_PIN_NOKSTACK));
	CHECK(!event_in_place(PS_EV_PIN, PS_EV_PIN_NOSTACK));
	CHECK(event_in_place(PS_EV_UNPIN, sizeof(struct ps_ev_unpin)));
	CHECK(!event_in_place(PS_EV_TYPE_MAX, 0));
	/* shorter than the shortest form: refused */
	e.h.size = PS_EV_PIN_NOSTACK - 8;
	memcpy(raw, &e, sizeof(e.h));
	CHECK(decode_event(raw, PS_EV_PIN_NOSTACK - 8, &out) != 0);
	/* the full form keeps its kernel stack; a longer one (a newer ABI) is cut to it */
	e = pin(1, 2, 3, 4, 0);
	e.pin.nr_kstack = 1;
	e.pin.kstack[0] = 0xffffffff81000000ULL;
	e.h.size = sizeof(raw);
	memcpy(raw, &e, sizeof(e.pin));
	CHECK(decode_event(raw, sizeof(raw), &out) == 0);
	CHECK_EQ(out.h.size, sizeof(struct ps_ev_pin));
	CHECK_EQ(out.pin.kstack[0], 0xffffffff81000000ULL);
}

/*
 * A registration of three buffers as the io_uring tiers send it: the first PIN record carries
 * the system call's user stack, the others PS_F_USTACK_PREV and no stack. One holder (pid and
 * stack), with that stack; a later registration of another stack on the same ring is another.
 */
UNIT_TEST(agg_pins_stack_of_previous_record)
{
	struct agg a;
	struct holder_ent *h;
	union ps_event e;
	size_t it = 0;
	int n = 0;

	CHECK(agg_init(&a, NULL) == 0);
	e = pin(42, 0xabc, 0, 16, 0);
	e.pin.nr_ustack = 2;
	e.pin.ustack[0] = 0x401000;
	e.pin.ustack[1] = 0x402000;
	apply(&a, e);
	for (int i = 1; i < 3; i++) {
		e = pin(42, 0xabc, i, 16, PS_F_USTACK_PREV);
		e.h.size = PS_EV_PIN_NOSTACK;
		apply(&a, e);
	}
	h = only_holder(&a);
	CHECK(h != NULL);
	CHECK_EQ(a.pins.holders.count, 1);
	CHECK_EQ(h->pins, 3);
	CHECK_EQ(h->nr_ustack, 2);
	CHECK_EQ(h->ustack[1], 0x402000);
	apply(&a, unpin_all(0xabc, PS_UNPIN_UNREGISTER));
	e = pin(42, 0xabc, 0, 16, 0);
	e.pin.nr_ustack = 1;
	e.pin.ustack[0] = 0x403000;
	apply(&a, e);
	e = pin(42, 0xabc, 1, 16, PS_F_USTACK_PREV);
	apply(&a, e);
	while ((h = htab_next(&a.pins.holders, &it))) {
		n++;
		if (h->ustack[0] == 0x403000)
			CHECK_EQ(h->pins, 2);
		else
			CHECK_EQ(h->pins, 0);
	}
	CHECK_EQ(n, 2);
	agg_free(&a);
}

/* Full tables: what does not fit is counted once, in the table that refused it, and a pin whose
 * holder does not fit leaves no trace of the buffer it replaced. */
UNIT_TEST(agg_pins_full_tables_count_once)
{
	const struct agg_limits lim = {
		.max_pins = 2, .max_holders = 1, .max_objs = 4, .max_procs = 4};
	struct agg a;
	struct holder_ent *h;

	CHECK(agg_init(&a, &lim) == 0);
	apply(&a, pin(42, 0xabc, 0, 1, 0));
	apply(&a, pin(42, 0xabc, 1, 2, 0));
	/* the pin table is full: its loss */
	apply(&a, pin(42, 0xabc, 2, 4, 0));
	CHECK_EQ(a.pins.pins.overflow, 1);
	CHECK_EQ(a.pins.holders.overflow, 0);
	/* both are full: the holder table's loss only */
	apply(&a, pin(43, 0xabc, 2, 4, 0));
	CHECK_EQ(a.pins.pins.overflow, 1);
	CHECK_EQ(a.pins.holders.overflow, 1);
	/* a slot taken over by a holder that does not fit: the old pin is released and gone */
	apply(&a, pin(43, 0xabc, 1, 8, 0));
	CHECK_EQ(a.pins.holders.overflow, 2);
	CHECK_EQ(a.pins.pins.count, 1);
	h = only_holder(&a);
	CHECK(h != NULL);
	CHECK_EQ(h->pins, 1);
	CHECK_EQ(h->pages, 1);
	CHECK_EQ(h->released_pages, 2);
	/* the freed entry takes a new pin of the holder that fits */
	apply(&a, pin(42, 0xabc, 3, 16, 0));
	CHECK_EQ(a.pins.pins.count, 2);
	CHECK_EQ(h->pins, 2);
	CHECK_EQ(h->pages, 17);
	CHECK_EQ(a.pins.pins.overflow, 1);
	CHECK_EQ(agg_pins_overflow(&a.pins), 3);
	agg_free(&a);
}

/*
 * A PINS record (the buffers after a registration's first, 16 a record) is the PIN records it
 * stands for: the same holders, pins and pages as the PIN records with PS_F_USTACK_PREV.
 */
UNIT_TEST(agg_pins_batch_is_its_pin_records)
{
	unsigned char raw[sizeof(struct ps_ev_pins)] __attribute__((aligned(8)));
	struct ps_ev_pins b;
	struct agg one, many;
	union ps_event e, out;
	struct holder_ent *h1, *h2;
	size_t sz = PS_EV_PINS_MIN + 3 * sizeof(struct ps_pin_item);
	size_t it = 0;
	struct pin_ent *p;
	int n = 0;

	CHECK(agg_init(&one, NULL) == 0);
	CHECK(agg_init(&many, NULL) == 0);
	e = pin(42, 0xabc, 0, 16, 0);
	e.pin.nr_ustack = 1;
	e.pin.ustack[0] = 0x401000;
	apply(&one, e);
	apply(&many, e);
	memset(&b, 0, sizeof(b));
	b.h = e.h;
	b.h.type = PS_EV_PINS;
	b.h.size = sz;
	b.h.flags = PS_F_LONGTERM | PS_F_USTACK_PREV;
	b.obj = 0xabc;
	b.subsys = PS_SUB_IO_URING;
	b.backing = PS_BACK_ANON;
	b.nr = 3;
	for (int i = 0; i < 3; i++) {
		/* a page at a page boundary; 8 KiB from mid-page (3 pages); 3 pages less 2 KiB */
		static const uint64_t off[3] = {0, 0x800, 0x800}, len[3] = {4096, 8192, 10240};

		b.item[i].slot = i + 1;
		b.item[i].uaddr = 0x20000 + i * 0x10000 + off[i];
		b.item[i].len = len[i];
		b.item[i].acct_pages = i + 1;
		e = pin(42, 0xabc, i + 1, 0, PS_F_USTACK_PREV);
		e.h.ts_ns = b.h.ts_ns;
		e.h.size = PS_EV_PIN_NOSTACK;
		e.pin.uaddr = b.item[i].uaddr;
		e.pin.len = b.item[i].len;
		e.pin.pages = ((e.pin.uaddr + e.pin.len + 4095) >> 12) - (e.pin.uaddr >> 12);
		e.pin.acct_pages = i + 1;
		apply(&many, e);
	}
	memset(raw, 0xab, sizeof(raw));
	memcpy(raw, &b, sz);
	CHECK(decode_event(raw, sz, &out) == 0);
	agg_apply(&one, &out);
	CHECK_EQ(one.events[PS_EV_PIN], 4);
	CHECK_EQ(one.by_tier[PS_TIER_SYSCALL], many.by_tier[PS_TIER_SYSCALL]);
	CHECK_EQ(one.pins.pins.count, 4);
	h1 = only_holder(&one);
	h2 = only_holder(&many);
	CHECK(h1 && h2);
	CHECK_EQ(one.pins.holders.count, 1);
	CHECK_EQ(h1->pins, 4);
	CHECK_EQ(h1->pages, 16 + 1 + 3 + 3);
	CHECK_EQ(h1->pages, h2->pages);
	CHECK_EQ(h1->acct_pages, h2->acct_pages);
	CHECK_EQ(h1->ustack[0], 0x401000);
	while ((p = htab_next(&one.pins.pins, &it))) {
		struct pin_ent *q = htab_find(&many.pins.pins, p->k.k1, p->k.k2);

		CHECK(q != NULL);
		if (!q)
			continue;
		CHECK_EQ(p->uaddr, q->uaddr);
		CHECK_EQ(p->len, q->len);
		CHECK_EQ(p->pages, q->pages);
		CHECK_EQ(p->backing, q->backing);
		n++;
	}
	CHECK_EQ(n, 4);
	/* refused: no items, more than it can hold, fewer bytes than its items */
	b.nr = 0;
	memcpy(raw, &b, sz);
	CHECK(decode_event(raw, sz, &out) != 0);
	b.nr = PS_PINS_MAX + 1;
	memcpy(raw, &b, sz);
	CHECK(decode_event(raw, sz, &out) != 0);
	b.nr = 4;
	memcpy(raw, &b, sz);
	CHECK(decode_event(raw, sz, &out) != 0);
	agg_free(&one);
	agg_free(&many);
}

static union ps_event churn(uint32_t tgid, uint64_t obj, uint64_t pairs, uint64_t pages)
{
	union ps_event e;

	memset(&e, 0, sizeof(e));
	e.h.type = PS_EV_CHURN;
	e.h.size = sizeof(e.churn);
	e.h.flags = PS_F_SYNTH;
	e.h.tgid = tgid;
	e.h.ts_ns = clock_ns++;
	e.churn.obj = obj;
	e.churn.pairs = pairs;
	e.churn.pages = pages;
	e.churn.subsys = PS_SUB_IO_URING;
	return e;
}

/* Churn totals (user space each tick, BPF at teardown) count once, per holder, what is new. */
UNIT_TEST(agg_pins_churn_totals_count_once)
{
	struct agg a;
	struct holder_ent *h;

	CHECK(agg_init(&a, NULL) == 0);
	apply(&a, pin(7, 0xa000, 0, 8, 0));
	apply(&a, pin(7, 0xa000, 1, 8, 0));
	apply(&a, churn(7, 0xa000, 10, 160));
	h = only_holder(&a);
	CHECK(h != NULL);
	CHECK_EQ(h->acquired_pages, 16 + 160); /* two pins, one holder: counted once */
	CHECK_EQ(h->released_pages, 160);
	CHECK_EQ(h->churn_pairs, 10);
	apply(&a, churn(7, 0xa000, 10, 160)); /* the same totals again (BPF at teardown) */
	CHECK_EQ(h->acquired_pages, 176);
	apply(&a, churn(7, 0xa000, 15, 240));
	CHECK_EQ(h->churn_pairs, 15);
	CHECK_EQ(h->released_pages, 240);
	apply(&a, obj_ev(PS_EV_OBJ_TEARDOWN, 7, 0xa000, 0));
	apply(&a, unpin_all(0xa000, PS_UNPIN_TEARDOWN));
	CHECK_EQ(h->pages, 0);
	CHECK_EQ(h->released_pages, 256);
	/* A new ring at the same address starts from zero; with no pins its pairs are orphans. */
	apply(&a, churn(7, 0xa000, 2, 32));
	CHECK_EQ(a.pins.orphan_churn_pages, 32);
	CHECK_EQ(h->churn_pairs, 15);
	agg_free(&a);
}
