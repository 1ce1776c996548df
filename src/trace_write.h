/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writes a recording: header, event batches deflated into framed blocks, symbol blocks, and a
 * footer with the counts. The caller's thread only copies records into a batch; a writer thread
 * deflates and writes sealed batches, so a slow disk delays the file, not the ring buffer.
 * With a size limit the writes are synchronous, so the limit is exact.
 */
#ifndef PS_TRACE_WRITE_H
#define PS_TRACE_WRITE_H

#include <stdbool.h>
#include <stdint.h>
#include "decode.h"

struct trace_meta;
struct trace_writer;

/* The smallest --size-limit: header, a few blocks and the footer must fit. */
#define TRACE_MIN_SIZE_LIMIT (64u << 10)

struct trace_writer_opts {
	uint64_t size_limit; /* bytes, 0: none. The file never grows past it. */
	int level;	     /* zlib level, 0: the default (2) */
	bool sync;	     /* write in the caller's thread */
};

struct trace_writer_stats {
	uint64_t events, blocks, symbols;
	uint64_t raw_bytes;  /* event and symbol payloads before deflate */
	uint64_t file_bytes; /* everything written, header and frames included */
	uint64_t by_type[PS_EV_TYPE_MAX];
	uint64_t not_written; /* events left out: size limit reached or a write failed */
	uint64_t first_ts_ns, last_ts_ns;
};

/*
 * Create (or truncate) path with mode 0600, refusing a symlink (O_NOFOLLOW) and anything but a
 * regular file. Returns 0 or -errno (-ELOOP: a symlink; -EINVAL: not a regular file).
 */
int trace_writer_open(const char *path, const struct trace_writer_opts *o,
		      struct trace_writer **out);
/* Takes ownership of fd. NULL when out of memory (fd is closed). */
struct trace_writer *trace_writer_fdopen(int fd, const struct trace_writer_opts *o);

/* Writes the preamble and header; must come before anything else. 0 or -errno. */
int trace_writer_header(struct trace_writer *w, const struct trace_meta *m);
/* Adds one decoded record. 0, or -errno once the writer has failed. */
int trace_writer_event(struct trace_writer *w, const union ps_event *e);
/* Seals the current batch into a block (at every tick, so little is lost to a crash). */
int trace_writer_flush(struct trace_writer *w);
/* Adds a whole block of another type (symbols) after the events added so far. */
int trace_writer_block(struct trace_writer *w, unsigned int type, const void *raw, size_t len,
		       uint32_t nr_items);
/*
 * Writes a block encoded elsewhere (zblock_encode; the flight recorder's ring) after the
 * events so far, renumbering it. Synchronous writers only (-EINVAL otherwise). nr events of the
 * types counted in by_type (may be NULL), spanning first_ts..last_ts.
 */
int trace_writer_encoded(struct trace_writer *w, void *frame, size_t len, uint32_t nr,
			 const uint64_t *by_type, uint64_t first_ts, uint64_t last_ts);
/* The size limit has been reached (or a write failed): the caller should stop. */
bool trace_writer_full(struct trace_writer *w);
/* The first write error, as -errno, or 0. */
int trace_writer_error(struct trace_writer *w);
/*
 * Seals what is left, writes the footer (`stop` says why the recording ended) and closes.
 * Fills *st when given. Returns 0 or the first write error; frees w either way.
 */
int trace_writer_close(struct trace_writer *w, const char *stop, struct trace_writer_stats *st);

#endif
