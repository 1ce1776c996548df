// SPDX-License-Identifier: BSD-2-Clause
/*
 * The recording format: what is written is read back exactly; a damaged file (cut at every
 * length, single bit flips, random bytes) never crashes the reader and always says it is damaged;
 * a replayed recording gives the report of the events it holds, byte for byte.
 */
#include "unit.h"
#include "agg.h"
#include "flight.h"
#include "report.h"
#include "symtab.h"
#include "tbuf.h"
#include "trace_fmt.h"
#include "trace_meta.h"
#include "trace_read.h"
#include "trace_write.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TGID 4242

static void hdr(union ps_event *e, unsigned int type, size_t size, uint64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->h.type = type;
	e->h.size = size;
	e->h.tier = PS_TIER_SYSCALL;
	e->h.tgid = TGID;
	e->h.tid = TGID;
	e->h.ts_ns = ts;
	memcpy(e->h.comm, "pinload", 8);
}

/* A small run: start, pins on two rings, a release, samples, losses, end. */
static int make_events(union ps_event *ev, int max)
{
	uint64_t ts = 1000000000ULL;
	int n = 0;

	hdr(&ev[n], PS_EV_MARK, sizeof(ev[n].mark), ts);
	ev[n].h.tier = PS_TIER_USER;
	ev[n].mark.kind = PS_MARK_START;
	ev[n++].mark.wall_ns = 1700000000000000000ULL;
	for (int ring = 0; ring < 2; ring++) {
		for (int slot = 0; slot < 40 && n < max - 8; slot++) {
			struct ps_ev_pin *p = &ev[n].pin;

			hdr(&ev[n], PS_EV_PIN, sizeof(*p), ts += 1000);
			p->h.flags = PS_F_LONGTERM;
			p->obj = 0xffff888000100000ULL + ring * 4096;
			p->slot = slot;
			p->subsys = PS_SUB_IO_URING;
			p->backing = PS_BACK_ANON;
			p->uaddr = 0x7f0000000000ULL + slot * 65536;
			p->len = 65536;
			p->pages = 16;
			p->acct_pages = 16;
			p->nr_ustack = 2;
			p->ustack[0] = 0x7f1234567890ULL;
			p->ustack[1] = 0x55aa00001234ULL;
			n++;
		}
	}
	hdr(&ev[n], PS_EV_UNPIN, sizeof(ev[n].unpin), ts += 1000);
	ev[n].unpin.obj = 0xffff888000100000ULL;
	ev[n].unpin.slot = PS_SLOT_ALL;
	ev[n].unpin.subsys = PS_SUB_IO_URING;
	ev[n++].unpin.reason = PS_UNPIN_UNREGISTER;
	hdr(&ev[n], PS_EV_PROCFS, sizeof(ev[n].procfs), ts += 1000);
	ev[n].h.tier = PS_TIER_PROCFS;
	ev[n].procfs.vmpin_kb = 40 * 16 * 4;
	ev[n++].procfs.alive = 1;
	hdr(&ev[n], PS_EV_VMSTAT, sizeof(ev[n].vmstat), ts += 1000);
	ev[n++].vmstat.foll_pin_acquired = 1234;
	hdr(&ev[n], PS_EV_LOSS, sizeof(ev[n].loss), ts += 1000);
	ev[n].h.tier = PS_TIER_USER;
	ev[n++].loss.drops[PS_DROP_RINGBUF] = 7;
	hdr(&ev[n], PS_EV_MARK, sizeof(ev[n].mark), ts += 1000);
	ev[n].h.tier = PS_TIER_USER;
	ev[n++].mark.kind = PS_MARK_END;
	return n;
}

/* Write events (and a symbol block) to memory through the real writer. */
static unsigned char *write_trace(const union ps_event *ev, int n, bool sync, size_t *len)
{
	struct trace_writer_opts o = {.sync = sync};
	int fd = memfd_create("trace", 0);
	struct trace_writer *w = trace_writer_fdopen(dup(fd), &o);
	struct symtab *st = symtab_new();
	struct trace_meta m;
	struct tbuf syms = {};
	unsigned char *buf;
	struct stat sb;
	int nsym;

	trace_meta_collect(&m);
	snprintf(m.tiers, sizeof(m.tiers), "pin.acquire=syscall");
	trace_writer_header(w, &m);
	for (int i = 0; i < n; i++) {
		trace_writer_event(w, &ev[i]);
		if (i % 25 == 24)
			trace_writer_flush(w);
	}
	symtab_put(st, TGID, 0x7f1234567890ULL, "io_uring_register+0x9 (libc.so.6)", 33);
	symtab_put(st, TGID, 0x55aa00001234ULL, "", 0);
	nsym = symtab_take_new(st, &syms);
	trace_writer_block(w, TRACE_BLK_SYMBOLS, syms.data, syms.len, nsym);
	trace_writer_close(w, "end", NULL);
	fstat(fd, &sb);
	buf = malloc(sb.st_size);
	pread(fd, buf, sb.st_size, 0);
	close(fd);
	tbuf_free(&syms);
	symtab_free(st);
	*len = sb.st_size;
	return buf;
}

struct collect {
	union ps_event *ev;
	int n, max;
	struct symtab *syms;
};

static int collect_ev(void *ctx, const union ps_event *e)
{
	struct collect *c = ctx;

	if (c->n < c->max)
		c->ev[c->n] = *e;
	c->n++;
	return 0;
}

static void collect_sym(void *ctx, uint32_t pid, uint64_t addr, const char *name, size_t len)
{
	struct collect *c = ctx;

	if (c->syms)
		symtab_put(c->syms, pid, addr, name, len);
}

/* Read buf; returns the events seen, *intact whether the reader found it whole. */
static int read_trace(const unsigned char *buf, size_t len, union ps_event *out, int max,
		      bool *intact, enum trace_hdr_status *status)
{
	struct collect c = {.ev = out, .max = max};
	struct trace_read_cb cb = {.on_event = collect_ev, .on_symbol = collect_sym, .ctx = &c};
	struct trace_reader *r = trace_reader__open_mem(buf, len);

	*status = trace_reader__status(r);
	*intact = trace_reader__read(r, &cb);
	trace_reader__free(r);
	return c.n;
}

UNIT_TEST(trace_roundtrip_exact)
{
	static union ps_event ev[128], back[128];
	struct collect c = {.ev = back, .max = 128, .syms = symtab_new()};
	struct trace_read_cb cb = {.on_event = collect_ev, .on_symbol = collect_sym, .ctx = &c};
	int n = make_events(ev, 128);

	for (int sync = 0; sync < 2; sync++) {
		size_t len;
		unsigned char *buf = write_trace(ev, n, sync, &len);
		struct trace_reader *r = trace_reader__open_mem(buf, len);

		c.n = 0;
		CHECK(trace_reader__status(r) == TRACE_HDR_OK);
		CHECK(!strcmp(trace_reader__meta(r)->tiers, "pin.acquire=syscall"));
		CHECK(trace_reader__meta(r)->abi_version == PS_ABI_VERSION);
		CHECK(trace_reader__read(r, &cb));
		CHECK_EQ(c.n, n);
		for (int i = 0; i < n; i++)
			CHECK(!memcmp(&ev[i], &back[i], ev[i].h.size));
		CHECK(trace_reader__damage(r)->footer);
		CHECK_EQ(trace_reader__damage(r)->footer_events, n);
		CHECK(!strcmp(trace_reader__damage(r)->stop, "end"));
		CHECK(!strcmp(symtab_get(c.syms, TGID, 0x7f1234567890ULL),
			      "io_uring_register+0x9 (libc.so.6)"));
		CHECK(!strcmp(symtab_get(c.syms, TGID, 0x55aa00001234ULL), ""));
		trace_reader__free(r);
		free(buf);
	}
	symtab_free(c.syms);
}

UNIT_TEST(trace_cut_at_every_length)
{
	static union ps_event ev[128], back[128];
	int n = make_events(ev, 128), last = 0;
	size_t len;
	unsigned char *buf = write_trace(ev, n, true, &len);

	for (size_t cut = 0; cut < len; cut++) {
		unsigned char *copy = malloc(cut ? cut : 1);
		enum trace_hdr_status st;
		bool intact;
		int got;

		memcpy(copy, buf, cut);
		got = read_trace(copy, cut, back, 128, &intact, &st);
		free(copy);
		if (cut < TRACE_MAGIC_LEN) {
			CHECK(st == TRACE_HDR_NOT_TRACE);
			continue;
		}
		CHECK(!intact);
		CHECK(got <= n);
		/* A longer prefix never yields fewer events, and what it yields is exact. */
		CHECK(got >= last);
		last = got;
		for (int i = 0; i < got; i++)
			CHECK(!memcmp(&ev[i], &back[i], ev[i].h.size));
	}
	CHECK_EQ(last, n);
	free(buf);
}

UNIT_TEST(trace_bit_flips_are_detected)
{
	static union ps_event ev[128], back[128];
	int n = make_events(ev, 128);
	size_t len;
	unsigned char *buf = write_trace(ev, n, true, &len);
	size_t hdr_end = sizeof(struct trace_preamble);
	struct trace_preamble p;

	memcpy(&p, buf, sizeof(p));
	hdr_end += p.hdr_len;
	srand(12345);
	for (int i = 0; i < 3000; i++) {
		size_t at = rand() % len;
		unsigned char bit = 1u << (rand() % 8);
		enum trace_hdr_status st;
		bool intact;
		int got;

		buf[at] ^= bit;
		got = read_trace(buf, len, back, 128, &intact, &st);
		buf[at] ^= bit;
		CHECK(got <= n);
		/* Every byte but the preamble's flags and reserved words (not read by this
		 * version) is checked: by the magic, the version, or a CRC. A version turned into
		 * an older one this reader also reads changes nothing it reads: all events. */
		if (at >= 8 && at < 10 && (uint16_t)(p.version ^ (at == 8 ? bit : bit << 8)) >= 1 &&
		    (uint16_t)(p.version ^ (at == 8 ? bit : bit << 8)) < TRACE_FORMAT_VERSION)
			CHECK(intact && got == n);
		else if (at < 10 || (at >= 12 && at < 20) || at >= hdr_end)
			CHECK(!intact || st != TRACE_HDR_OK);
		/* One flipped block costs that block (25 events at most), not the file. */
		if (at >= hdr_end)
			CHECK(got >= n - 25);
	}
	free(buf);
}

UNIT_TEST(trace_random_input_never_crashes)
{
	static union ps_event back[64];
	static unsigned char junk[8192];
	struct trace_preamble p = {.version = TRACE_FORMAT_VERSION};

	srand(777);
	memcpy(p.magic, TRACE_MAGIC, TRACE_MAGIC_LEN);
	for (int i = 0; i < 2000; i++) {
		size_t len = rand() % sizeof(junk);
		enum trace_hdr_status st;
		bool intact;

		for (size_t j = 0; j < len; j++)
			junk[j] = rand();
		if (i % 2 && len >= sizeof(p)) {
			/* A valid preamble, then frames with the right magic and random rest. */
			p.hdr_len = 0;
			p.hdr_crc = crc32(0, NULL, 0);
			memcpy(junk, &p, sizeof(p));
			for (size_t j = sizeof(p); j + 4 <= len; j += 1 + rand() % 64) {
				uint32_t m = TRACE_BLK_MAGIC;

				memcpy(junk + j, &m, 4);
			}
		}
		read_trace(junk, len, back, 64, &intact, &st);
		CHECK(!intact || len == 0 || st != TRACE_HDR_OK || i % 2);
	}
}

UNIT_TEST(trace_header_checks)
{
	static union ps_event ev[128], back[128];
	int n = make_events(ev, 128);
	size_t len;
	unsigned char *buf = write_trace(ev, n, true, &len);
	enum trace_hdr_status st;
	bool intact;

	read_trace((const unsigned char *)"#!/bin/sh\necho hi\n", 18, back, 128, &intact, &st);
	CHECK(st == TRACE_HDR_NOT_TRACE);
	buf[8] = TRACE_FORMAT_VERSION + 1;
	CHECK_EQ(read_trace(buf, len, back, 128, &intact, &st), 0);
	CHECK(st == TRACE_HDR_NEWER);
	buf[8] = TRACE_FORMAT_VERSION;
	/* A damaged header text: the blocks are still all read, and the damage is said. */
	buf[sizeof(struct trace_preamble) + 3] ^= 0x20;
	CHECK_EQ(read_trace(buf, len, back, 128, &intact, &st), n);
	CHECK(st == TRACE_HDR_DAMAGED);
	CHECK(!intact);
	free(buf);
}

static char *report_json(struct agg *a, const struct symtab *syms)
{
	struct report_opts ro = {.json = true, .syms = syms};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	report_print(f, a, &ro);
	fclose(f);
	return out;
}

static int to_agg(void *ctx, const union ps_event *e)
{
	agg_apply(ctx, e);
	return 0;
}

UNIT_TEST(trace_replay_gives_the_same_report)
{
	static union ps_event ev[128];
	int n = make_events(ev, 128);
	struct agg live, replayed;
	size_t len;
	unsigned char *buf = write_trace(ev, n, false, &len);
	struct trace_read_cb cb = {.on_event = to_agg, .ctx = &replayed};
	struct trace_reader *r = trace_reader__open_mem(buf, len);
	char *a, *b;

	agg_init(&live, NULL);
	agg_init(&replayed, NULL);
	for (int i = 0; i < n; i++)
		agg_apply(&live, &ev[i]);
	CHECK(trace_reader__read(r, &cb));
	a = report_json(&live, NULL);
	b = report_json(&replayed, NULL);
	CHECK(strstr(a, "\"pinned_pages\":640"));
	CHECK(!strcmp(a, b));
	free(a);
	free(b);
	trace_reader__free(r);
	agg_free(&live);
	agg_free(&replayed);
	free(buf);
}

UNIT_TEST(trace_size_limit_is_never_exceeded)
{
	struct trace_writer_opts o = {.size_limit = TRACE_MIN_SIZE_LIMIT};
	int fd = memfd_create("trace", 0);
	struct trace_writer *w = trace_writer_fdopen(dup(fd), &o);
	struct trace_writer_stats st;
	struct trace_meta m;
	union ps_event e;
	struct stat sb;
	int i;

	trace_meta_collect(&m);
	trace_writer_header(w, &m);
	srand(1);
	for (i = 0; i < 1000000 && !trace_writer_full(w); i++) {
		hdr(&e, PS_EV_PIN, sizeof(e.pin), i);
		e.pin.uaddr = (uint64_t)rand() << 12; /* poorly compressible */
		e.pin.obj = rand();
		trace_writer_event(w, &e);
	}
	CHECK(trace_writer_full(w));
	/* What comes after the limit (the closing records) still fits or is counted. */
	for (int j = 0; j < 50; j++)
		trace_writer_event(w, &e);
	CHECK_EQ(trace_writer_close(w, "size_limit", &st), 0);
	fstat(fd, &sb);
	close(fd);
	CHECK(sb.st_size <= (off_t)TRACE_MIN_SIZE_LIMIT);
	CHECK(sb.st_size > (off_t)TRACE_MIN_SIZE_LIMIT / 2);
	CHECK_EQ(st.events + st.not_written, (uint64_t)i + 50);
	CHECK_EQ(st.file_bytes, (uint64_t)sb.st_size);
}

UNIT_TEST(flight_window_restates_older_pins)
{
	static union ps_event ev[128];
	int n = make_events(ev, 128);
	struct flight_opts o = {.window_ns = 2 * NSEC_PER_SEC};
	struct flight *f = flight_new(&o);
	char dir[] = "/tmp/pinscope-unit-XXXXXX", path[64];
	struct trace_reader *r;
	struct agg replayed;
	struct trace_read_cb cb = {.on_event = to_agg, .ctx = &replayed};
	struct flight_stats fs;
	uint64_t ts = ev[n - 1].h.ts_ns;
	union ps_event e;
	struct stat sb;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ring.pst", dir);
	/* The pins, then ten seconds of samples: the pins fall out of the window. */
	for (int i = 0; i < n - 1; i++)
		flight_event(f, &ev[i]);
	flight_tick(f);
	for (int s = 0; s < 10; s++) {
		hdr(&e, PS_EV_PROCFS, sizeof(e.procfs), ts += NSEC_PER_SEC);
		e.h.tier = PS_TIER_PROCFS;
		e.procfs.alive = 1;
		e.procfs.vmpin_kb = 40 * 16 * 4;
		flight_event(f, &e);
		flight_tick(f);
	}
	CHECK_EQ(flight_dump(f, path, &fs), 0);
	CHECK(fs.evicted_events >= (uint64_t)n - 1);
	CHECK(fs.span_ns <= 3 * NSEC_PER_SEC);
	CHECK(!stat(path, &sb) && (sb.st_mode & 0777) == 0600);
	agg_init(&replayed, NULL);
	CHECK(!trace_reader__open_file(path, &r));
	CHECK(trace_reader__read(r, &cb));
	trace_reader__free(r);
	{
		char *j = report_json(&replayed, NULL);

		/* Ring 2 still holds 40 x 16 pages, restated as predating the window. */
		CHECK(strstr(j, "\"pinned_pages\":640"));
		CHECK(strstr(j, "\"before_start\":true"));
		free(j);
	}
	/* A second dump of the same ring works too. */
	CHECK_EQ(flight_dump(f, path, NULL), 0);
	agg_free(&replayed);
	flight_free(f);
	unlink(path);
	rmdir(dir);
}
