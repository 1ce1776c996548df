/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reads a recording: checks the header, then every block it can, in file order. A damaged block
 * (bad CRC, cut short, does not inflate) is skipped and the reader looks for the next intact one,
 * so one bad sector costs one block. Nothing here trusts a length it has not bounded: the input
 * may be any bytes at all (tests/fuzz feeds it random ones).
 */
#ifndef PS_TRACE_READ_H
#define PS_TRACE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "decode.h"
#include "trace_meta.h"

struct trace_reader;

enum trace_hdr_status {
	TRACE_HDR_OK = 0,
	TRACE_HDR_NOT_TRACE, /* no pinscope magic: some other file */
	TRACE_HDR_NEWER,     /* a format version this pinscope does not read */
	TRACE_HDR_DAMAGED,   /* magic fine, header text damaged: blocks are still read */
};

struct trace_read_cb {
	/* Every intact event record, in file order. Non-zero stops reading. */
	int (*on_event)(void *ctx, const union ps_event *e);
	/* Every symbol entry; name is not NUL-terminated. */
	void (*on_symbol)(void *ctx, uint32_t pid, uint64_t addr, const char *name, size_t len);
	void *ctx;
};

struct trace_damage {
	uint64_t size;		  /* bytes examined */
	uint64_t blocks_ok;	  /* intact blocks, footer included */
	uint64_t blocks_bad;	  /* damaged regions skipped */
	uint64_t bytes_skipped;	  /* bytes not inside an intact block */
	uint64_t first_bad_off;	  /* where the first damage starts */
	uint64_t seq_missing;	  /* blocks missing by sequence number */
	uint64_t events;	  /* intact event records read */
	uint64_t records_bad;	  /* records refused inside intact blocks */
	uint64_t records_unknown; /* records of types this version does not know (skipped) */
	bool header_bad;
	bool cut_short;		/* the damage runs to the end of the file */
	bool footer;		/* the footer block was read */
	uint64_t footer_events; /* events the footer says were written */
	uint64_t footer_not_written;
	char stop[24]; /* why the recording ended, from the footer */
};

/* Borrows buf until trace_reader__free. NULL only when out of memory. */
struct trace_reader *trace_reader__open_mem(const void *buf, size_t len);
/* 0 or -errno (-EISDIR, -ENOENT, ...). */
int trace_reader__open_file(const char *path, struct trace_reader **out);
void trace_reader__free(struct trace_reader *r);

enum trace_hdr_status trace_reader__status(const struct trace_reader *r);
unsigned int trace_reader__version(const struct trace_reader *r);
const struct trace_meta *trace_reader__meta(const struct trace_reader *r);
/* Reads every block (call once). Returns true when the file was intact. */
bool trace_reader__read(struct trace_reader *r, const struct trace_read_cb *cb);
const struct trace_damage *trace_reader__damage(const struct trace_reader *r);

/* Was anything lost? (footer missing or counts short included) */
bool trace_damage_any(const struct trace_damage *d);
/* One line describing the damage, without a trailing newline. */
void trace_damage_describe(const struct trace_damage *d, char *buf, size_t size);

/* Blocks without a file header (one block of the flight recorder's ring). */
void trace_read_blocks(const void *buf, size_t len, const struct trace_read_cb *cb,
		       struct trace_damage *d);

#endif
