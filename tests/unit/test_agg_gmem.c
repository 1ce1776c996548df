// SPDX-License-Identifier: BSD-2-Clause
/* guest_memfd state and its joins with the pins, on crafted event sequences. */
#include "unit.h"
#include "agg.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VM    0xffff888100000000ULL
#define RING  0xffff888200000000ULL
#define GPA   0x100000000ULL
#define UADDR 0x7f0000000000ULL
#define INO   777
#define DEV   16
#define TGID  31337
#define MB    (1ULL << 20)

static uint64_t clock_ns = 1000000000ULL;

static void hdr(union ps_event *e, unsigned int type, size_t size)
{
	memset(e, 0, sizeof(*e));
	e->h.type = type;
	e->h.size = size;
	e->h.tier = PS_TIER_SYSCALL;
	e->h.tgid = TGID;
	e->h.tid = TGID;
	e->h.ts_ns = clock_ns++;
	strcpy(e->h.comm, "vmm");
}

static void gmem(struct agg *a, uint8_t kind, int err, uint64_t off, uint64_t size, uint64_t uaddr,
		 uint64_t gpa)
{
	union ps_event e;

	hdr(&e, PS_EV_GMEM, sizeof(e.gmem));
	e.gmem.kind = kind;
	e.gmem.err = err;
	e.gmem.vm = VM;
	e.gmem.ino = INO;
	e.gmem.dev = DEV;
	e.gmem.fd = 5;
	e.gmem.offset = off;
	e.gmem.size = size;
	e.gmem.uaddr = uaddr;
	e.gmem.gpa = gpa;
	e.gmem.flags = kind == PS_GMEM_CREATE ? 3 : 0;
	agg_apply(a, &e);
}

/* A VMM with a 16 MiB guest_memfd mapped at UADDR and bound at GPA. */
static void vmm(struct agg *a)
{
	gmem(a, PS_GMEM_VM_CREATE, 0, 0, 0, 0, 0);
	gmem(a, PS_GMEM_CREATE, 0, 0, 16 * MB, 0, 0);
	gmem(a, PS_GMEM_MMAP, 0, 0, 16 * MB, UADDR, 0);
	gmem(a, PS_GMEM_BIND, 0, 0, 16 * MB, UADDR, GPA);
}

/* io_uring registers pages [first, first + n) of the mapping. */
static void pin(struct agg *a, uint32_t slot, uint64_t first, uint64_t n)
{
	union ps_event e;

	hdr(&e, PS_EV_OBJ_SYNC, sizeof(e.obj));
	e.obj.obj = RING;
	e.obj.nr = 1;
	e.obj.subsys = PS_SUB_IO_URING;
	agg_apply(a, &e);
	hdr(&e, PS_EV_PIN, sizeof(e.pin));
	e.h.flags = PS_F_LONGTERM;
	e.pin.obj = RING;
	e.pin.slot = slot;
	e.pin.subsys = PS_SUB_IO_URING;
	e.pin.backing = PS_BACK_GMEM;
	e.pin.uaddr = UADDR + first * 4096;
	e.pin.len = n * 4096;
	e.pin.pages = n;
	e.pin.acct_pages = n;
	e.pin.ino = INO;
	e.pin.dev = DEV;
	agg_apply(a, &e);
}

static void unpin_all(struct agg *a)
{
	union ps_event e;

	hdr(&e, PS_EV_UNPIN, sizeof(e.unpin));
	e.unpin.obj = RING;
	e.unpin.slot = PS_SLOT_ALL;
	e.unpin.subsys = PS_SUB_IO_URING;
	agg_apply(a, &e);
}

static uint64_t orphaned(struct agg *a)
{
	const struct gmem_orphan *o;
	uint64_t t = 0;

	for (size_t it = 0; (o = htab_next(&a->gmem.orphans, &it));)
		t += agg_gmem_orphan_pages(&a->gmem, &a->pins, o);
	return t;
}

UNIT_TEST(gmem_calls_counted_with_errno)
{
	struct agg a;
	struct gmem_proc *pr;

	CHECK(agg_init(&a, NULL) == 0);
	vmm(&a);
	gmem(&a, PS_GMEM_CREATE, 22, 0, 0, 0, 0);
	gmem(&a, PS_GMEM_PUNCH, 22, 100, 4096, 0, 0);
	gmem(&a, PS_GMEM_PUNCH, 0, 0, 4096, 0, 0);
	pr = htab_find(&a.gmem.procs, TGID, 0);
	CHECK(pr != NULL);
	CHECK_EQ(pr->ops[GOP_CREATE].calls, 2);
	CHECK_EQ(pr->ops[GOP_CREATE].ok, 1);
	CHECK_EQ(pr->ops[GOP_CREATE].errs[0].err, 22);
	CHECK_EQ(pr->ops[GOP_CREATE].errs[0].count, 1);
	CHECK_EQ(pr->ops[GOP_PUNCH].calls, 2);
	CHECK_EQ(pr->ops[GOP_BIND].ok, 1);
	CHECK_EQ(a.gmem.files.count, 1);
	CHECK_EQ(a.gmem.slots.count, 1);
	agg_free(&a);
}

static void ready(struct agg *a, unsigned int flags)
{
	union ps_event e;

	hdr(&e, PS_EV_MARK, sizeof(e.mark));
	e.mark.kind = PS_MARK_READY;
	e.mark.flags = flags;
	agg_apply(a, &e);
}

static char *report_json(struct agg *a)
{
	struct report_opts ro = {.json = true};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	agg_refresh(a);
	report_print(f, a, &ro);
	fclose(f);
	return buf;
}

/* gmem.fault: per process (with errnos) and per file; null where the hook is not attached. */
UNIT_TEST(gmem_guest_faults_counted_only_where_attached)
{
	struct gmem_file *f;
	struct gmem_proc *pr;
	struct agg a;
	char *j;

	for (int attached = 0; attached < 2; attached++) {
		CHECK(agg_init(&a, NULL) == 0);
		ready(&a, attached ? PS_MARK_F_GMEM_FAULTS : 0);
		vmm(&a);
		for (int i = 0; i < 3; i++)
			gmem(&a, PS_GMEM_FAULT, 0, i * 4096, 4096, 0, GPA + i * 4096);
		gmem(&a, PS_GMEM_FAULT, 14, 0, 4096, 0, GPA);
		f = htab_find(&a.gmem.files, INO, DEV);
		pr = htab_find(&a.gmem.procs, TGID, 0);
		CHECK(f != NULL && pr != NULL);
		CHECK_EQ(f->guest_faults, 4);
		CHECK_EQ(f->guest_fault_errors, 1);
		CHECK_EQ(pr->ops[GOP_GUEST_FAULT].calls, 4);
		CHECK_EQ(pr->ops[GOP_GUEST_FAULT].ok, 3);
		CHECK_EQ(pr->ops[GOP_GUEST_FAULT].errs[0].err, 14);
		j = report_json(&a);
		CHECK(j != NULL);
		if (attached) {
			CHECK(strstr(j, "\"guest_faults\":4,\"guest_faults_failed\":1") != NULL);
			CHECK(strstr(j, "\"guest_fault\":{\"calls\":4,\"ok\":3,\"failed\":1") !=
			      NULL);
		} else {
			CHECK(strstr(j, "\"guest_faults\":null,\"guest_faults_failed\":null") !=
			      NULL);
			CHECK(strstr(j, "\"guest_fault\":null") != NULL);
		}
		free(j);
		agg_free(&a);
	}
}

UNIT_TEST(gmem_punch_under_pin_orphans_exactly_the_pinned_pages)
{
	struct agg a;
	struct gmem_file *f;

	CHECK(agg_init(&a, NULL) == 0);
	vmm(&a);
	pin(&a, 0, 4, 8);			       /* pages 4..11 */
	gmem(&a, PS_GMEM_PUNCH, 0, 0, 8 * 4096, 0, 0); /* pages 0..7: 4 of them pinned */
	CHECK_EQ(orphaned(&a), 4);
	gmem(&a, PS_GMEM_PUNCH, 0, 0, 64 * 4096, 0, 0); /* again, wider: all 8 */
	CHECK_EQ(orphaned(&a), 8);
	f = htab_find(&a.gmem.files, INO, DEV);
	CHECK(f != NULL);
	CHECK_EQ(f->orphaned_pages, 8);
	CHECK_EQ(f->punches, 2);
	unpin_all(&a); /* the pages are freed at last */
	CHECK_EQ(orphaned(&a), 0);
	agg_free(&a);
}

UNIT_TEST(gmem_release_while_pinned_orphans_the_pin)
{
	struct agg a;

	CHECK(agg_init(&a, NULL) == 0);
	vmm(&a);
	pin(&a, 0, 0, 16);
	gmem(&a, PS_GMEM_CLOSE, 0, 0, 0, 0, 0); /* not the last reference: nothing */
	CHECK_EQ(orphaned(&a), 0);
	{
		union ps_event e;

		hdr(&e, PS_EV_GMEM, sizeof(e.gmem));
		e.gmem.kind = PS_GMEM_CLOSE;
		e.gmem.gflags = PS_GMEM_F_LAST;
		e.gmem.ino = INO;
		e.gmem.dev = DEV;
		agg_apply(&a, &e);
	}
	CHECK_EQ(orphaned(&a), 16);
	agg_free(&a);
}

UNIT_TEST(gmem_blockers_name_the_holder_pages_and_range)
{
	struct gmem_blocker b[4];
	struct agg a;
	struct conv_ent *c;
	size_t it = 0;
	int n;

	CHECK(agg_init(&a, NULL) == 0);
	a.conv.lim.retries = 1;
	vmm(&a);
	pin(&a, 0, 8, 8); /* gpa pages 8..15 */
	{
		union ps_event e;

		hdr(&e, PS_EV_CONV, sizeof(e.conv));
		e.conv.vm = VM;
		e.conv.start = GPA + 12 * 4096; /* pages 12..19: 4 pinned */
		e.conv.size = 8 * 4096;
		e.conv.to_private = 1;
		e.conv.iface = PS_CONV_VM_ATTR;
		e.conv.phase = PS_CONV_RESULT;
		e.conv.err = 11;
		agg_apply(&a, &e);
	}
	c = htab_next(&a.conv.open, &it);
	CHECK(c != NULL);
	CHECK(c->stuck);
	n = agg_gmem_blockers(&a.gmem, &a.pins, c, b, 4);
	CHECK_EQ(n, 1);
	CHECK_EQ(b[0].tgid, TGID);
	CHECK_EQ(b[0].subsys, PS_SUB_IO_URING);
	CHECK_EQ(b[0].pages, 4);
	CHECK_EQ(b[0].lo, GPA + 12 * 4096);
	CHECK_EQ(b[0].hi, GPA + 16 * 4096);
	CHECK_EQ(b[0].ino, INO);
	CHECK_EQ(b[0].off_lo, 12 * 4096);
	CHECK(b[0].by_file);
	agg_free(&a);
}

UNIT_TEST(gmem_munmap_splits_a_mapping)
{
	struct agg a;

	CHECK(agg_init(&a, NULL) == 0);
	vmm(&a);
	gmem(&a, PS_GMEM_MUNMAP, 0, 0, 4 * 4096, UADDR + 4 * 4096, 0);
	CHECK_EQ(a.gmem.maps.count, 2);
	CHECK(htab_find(&a.gmem.maps, TGID, UADDR) != NULL);
	CHECK_EQ(((struct gmem_map *)htab_find(&a.gmem.maps, TGID, UADDR))->len, 4 * 4096);
	CHECK_EQ(((struct gmem_map *)htab_find(&a.gmem.maps, TGID, UADDR + 8 * 4096))->offset,
		 8 * 4096);
	gmem(&a, PS_GMEM_MUNMAP, 0, 0, 16 * MB, UADDR, 0);
	CHECK_EQ(a.gmem.maps.count, 0);
	agg_free(&a);
}

static void conv_ok(struct agg *a, uint64_t first, uint64_t n, int to_private)
{
	union ps_event e;

	for (int phase = PS_CONV_REQUEST; phase <= PS_CONV_RESULT; phase++) {
		hdr(&e, PS_EV_CONV, sizeof(e.conv));
		e.conv.vm = VM;
		e.conv.start = GPA + first * 4096;
		e.conv.size = n * 4096;
		e.conv.to_private = to_private;
		e.conv.iface = PS_CONV_VM_ATTR;
		e.conv.phase = phase;
		agg_apply(a, &e);
	}
}

UNIT_TEST(gmem_converted_to_private_while_pinned_is_held_twice)
{
	const struct conv_ent *c;
	struct agg a;

	CHECK(agg_init(&a, NULL) == 0);
	vmm(&a);
	pin(&a, 0, 8, 8);      /* gpa pages 8..15 */
	conv_ok(&a, 12, 8, 1); /* pages 12..19: 4 of them pinned */
	CHECK_EQ(a.conv.nrecent, 1);
	c = &a.conv.recent[0];
	CHECK_EQ(c->outcome, CONV_DONE);
	CHECK_EQ(c->held_pages, 4);
	CHECK_EQ(c->held_tgid, TGID);
	CHECK_EQ(c->held_subsys, PS_SUB_IO_URING);
	CHECK_EQ(c->held_lo, GPA + 12 * 4096);
	CHECK_EQ(c->held_hi, GPA + 16 * 4096);
	CHECK_EQ(a.conv.held_twice, 1);
	conv_ok(&a, 12, 8, 0); /* back to shared: nothing held twice */
	conv_ok(&a, 20, 4, 1); /* not pinned */
	CHECK_EQ(a.conv.nrecent, 3);
	CHECK_EQ(a.conv.recent[1].held_pages, 0);
	CHECK_EQ(a.conv.recent[2].held_pages, 0);
	CHECK_EQ(a.conv.held_twice, 1);
	agg_free(&a);
}
