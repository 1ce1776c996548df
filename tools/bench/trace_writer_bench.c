// SPDX-License-Identifier: BSD-2-Clause
/*
 * How fast the recorder's writer takes events and how small it makes them: a synthetic stream
 * shaped like an io_uring register/unregister loop (a PIN record per buffer, then a release of
 * the ring; procfs samples and loss counters every 10000 records) goes through the real writer
 * (src/trace_write.c) into a file, and is read back through the real reader.
 *   trace_writer_bench FILE [EVENTS] [LEVEL]
 * Prints one line of key=value results.
 */
#include "decode.h"
#include "trace_meta.h"
#include "trace_read.h"
#include "trace_write.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFS 64

static void make(union ps_event *e, uint64_t i, uint64_t ts)
{
	uint64_t op = i / (BUFS + 1), k = i % (BUFS + 1);

	memset(e, 0, sizeof(*e));
	e->h.tier = PS_TIER_SYSCALL;
	e->h.tgid = e->h.tid = 4242;
	e->h.cpu = op & 1;
	e->h.ts_ns = ts;
	e->h.cgroup_id = 1;
	memcpy(e->h.comm, "pinload", 8);
	if (i % 10000 == 9999) {
		e->h.type = PS_EV_PROCFS;
		e->h.size = sizeof(e->procfs);
		e->h.tier = PS_TIER_PROCFS;
		e->procfs.vmpin_kb = BUFS * 4;
		e->procfs.alive = 1;
	} else if (i % 10000 == 9998) {
		e->h.type = PS_EV_LOSS;
		e->h.size = sizeof(e->loss);
		e->h.tier = PS_TIER_USER;
	} else if (k < BUFS) {
		e->h.type = PS_EV_PIN;
		e->h.size = sizeof(e->pin);
		e->h.flags = PS_F_LONGTERM;
		e->pin.obj = 0xffff888012340000ULL;
		e->pin.slot = k;
		e->pin.subsys = PS_SUB_IO_URING;
		e->pin.backing = PS_BACK_ANON;
		e->pin.uaddr = 0x7f5484b87000ULL + k * 4096;
		e->pin.len = 4096;
		e->pin.pages = e->pin.acct_pages = 1;
		e->pin.nr_ustack = 1;
		e->pin.ustack[0] = 0x7f5484aa1829ULL;
	} else {
		e->h.type = PS_EV_UNPIN;
		e->h.size = sizeof(e->unpin);
		e->unpin.obj = 0xffff888012340000ULL;
		e->unpin.slot = PS_SLOT_ALL;
		e->unpin.subsys = PS_SUB_IO_URING;
		e->unpin.reason = PS_UNPIN_UNREGISTER;
	}
}

static int count(void *ctx, const union ps_event *e)
{
	(*(uint64_t *)ctx) += e->h.size;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000, raw = 0, ts = 1, got = 0;
	struct trace_writer_opts o = {.level = argc > 3 ? atoi(argv[3]) : 0};
	struct trace_writer_stats st;
	struct trace_reader *r;
	struct trace_writer *w;
	struct trace_meta m;
	union ps_event e;
	uint64_t t0, t1, t2, t3;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: trace_writer_bench FILE [EVENTS] [ZLIB_LEVEL]\n");
		return 2;
	}
	err = trace_writer_open(argv[1], &o, &w);
	if (err) {
		fprintf(stderr, "trace_writer_bench: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	trace_meta_collect(&m);
	trace_writer_header(w, &m);
	t0 = now_mono_ns();
	for (uint64_t i = 0; i < n; i++) {
		make(&e, i, ts += 7919);
		raw += e.h.size;
		trace_writer_event(w, &e);
		if (i % 100000 == 99999)
			trace_writer_flush(w); /* a tick */
	}
	t1 = now_mono_ns(); /* the producer's view: what the ring-buffer callback pays */
	err = trace_writer_close(w, "end", &st);
	t2 = now_mono_ns(); /* everything deflated and on disk */
	if (err || trace_reader__open_file(argv[1], &r)) {
		fprintf(stderr, "trace_writer_bench: writing %s failed\n", argv[1]);
		return 1;
	}
	trace_reader__read(r, &(struct trace_read_cb){.on_event = count, .ctx = &got});
	t3 = now_mono_ns();
	printf("events=%" PRIu64 " zlib_level=%d raw_bytes_per_event=%.1f "
	       "file_bytes_per_event=%.2f ratio=%.1f producer_events_per_s=%.0f "
	       "writer_events_per_s=%.0f reader_events_per_s=%.0f intact=%s\n",
	       st.events, o.level ? o.level : 1, (double)raw / n, (double)st.file_bytes / n,
	       (double)raw / st.file_bytes, n / ((double)(t1 - t0) / NSEC_PER_SEC),
	       n / ((double)(t2 - t0) / NSEC_PER_SEC), n / ((double)(t3 - t2) / NSEC_PER_SEC),
	       trace_damage_any(trace_reader__damage(r)) || got != raw ? "no" : "yes");
	trace_reader__free(r);
	return 0;
}
