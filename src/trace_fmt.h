/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The recording format (docs/trace-format.md is the prose version of this file):
 *
 *   preamble (24 bytes) | header text (key=value lines) | block | block | ... | footer block
 *
 * Every block is framed (magic, type, sequence, stored and raw length, CRC32) so a reader can
 * check each one alone and, after damage, find the next intact one by scanning for the magic.
 * Integers are little-endian; event records are the decoded `union ps_event` records of
 * bpf/events.h, `h.size` bytes each, concatenated and zlib-compressed per block.
 */
#ifndef PS_TRACE_FMT_H
#define PS_TRACE_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the recording format is written as the host's little-endian structs"
#endif

#define TRACE_MAGIC	     "\x89PSTRACE"
#define TRACE_MAGIC_LEN	     8
#define TRACE_FORMAT_VERSION 3 /* 2: PIN records may leave out the user stack; 3: PINS records */
#define TRACE_BLK_MAGIC	     0x4b425350u /* "PSBK" */

/* Bounds a reader enforces on anything it is about to allocate. */
#define TRACE_MAX_HDR_TEXT  (64u << 10)
#define TRACE_MAX_BLOCK_RAW (16u << 20)
/* Event batches are sealed at this many raw bytes (or at every tick). */
#define TRACE_BATCH_RAW (64u << 10)

struct trace_preamble {
	char magic[TRACE_MAGIC_LEN];
	uint16_t version; /* TRACE_FORMAT_VERSION: a reader refuses newer files */
	uint16_t flags;	  /* none yet */
	uint32_t hdr_len; /* bytes of header text that follow */
	uint32_t hdr_crc; /* CRC32 of the header text */
	uint32_t reserved;
};

enum trace_blk_type {
	TRACE_BLK_EVENTS = 1, /* event records (procfs samples, marks, losses included) */
	TRACE_BLK_SYMBOLS,    /* (pid, address) -> name, resolved when recorded */
	TRACE_BLK_FOOTER,     /* key=value text: counts, losses, why the recording stopped */
	TRACE_BLK_MAX,
};

#define TRACE_BLK_F_ZLIB 0x1

struct trace_blk {
	uint32_t magic;	  /* TRACE_BLK_MAGIC */
	uint16_t type;	  /* enum trace_blk_type; unknown types are skipped */
	uint16_t flags;	  /* TRACE_BLK_F_* */
	uint32_t seq;	  /* 0, 1, 2, ... in file order */
	uint32_t len;	  /* payload bytes stored after this frame */
	uint32_t raw_len; /* payload bytes once inflated (== len when not compressed) */
	uint32_t crc;	  /* CRC32 of the 20 bytes above, then of the stored payload */
};

/* One symbol entry inside a TRACE_BLK_SYMBOLS payload; `len` name bytes follow (no NUL). */
struct trace_sym {
	uint64_t addr;
	uint32_t pid; /* 0: kernel address */
	uint16_t len;
	uint16_t pad;
};

const char *trace_blk_name(unsigned int type);
uint32_t trace_blk_crc(const struct trace_blk *b, const void *payload);

struct tbuf;

/*
 * Append one framed block to `out` with the payload stored as it is (the footer, the empty
 * block). Deflated blocks are zblock_encode's (zblock.h). Returns 0, or -ENOMEM / -E2BIG (raw
 * payload over TRACE_MAX_BLOCK_RAW).
 */
int trace_block_store(struct tbuf *out, unsigned int type, uint32_t seq, const void *raw,
		      size_t raw_len);
/* Give an encoded block (frame + payload, contiguous) a new sequence number. */
void trace_block_reseq(void *frame, uint32_t seq);

#endif
