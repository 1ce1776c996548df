/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The deflated blocks of recordings and of the flight recorder's ring: the payload is deflated
 * raw and wrapped in the zlib header and Adler-32 trailer here, with an Adler-32 that uses SIMD
 * where the CPU has it (zlib's own took a fifth of the writer's time). The bytes are those
 * zlib's compress2() writes at the same level: any zlib reader inflates them.
 */
#ifndef PS_ZBLOCK_H
#define PS_ZBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

struct tbuf;

struct zblock {
	z_stream zs;
	int level; /* 0: Z_BEST_SPEED */
	bool ready;
};

/* Append one framed block (struct trace_blk, then the payload) to out: 0, or -ENOMEM, -EIO
 * (zlib failed), -E2BIG (raw payload over TRACE_MAX_BLOCK_RAW). An empty payload is stored. */
int zblock_encode(struct zblock *z, struct tbuf *out, unsigned int type, uint32_t seq,
		  const void *raw, size_t raw_len);
void zblock_free(struct zblock *z);
/* Adler-32 as zlib's adler32(), faster. */
uint32_t zblock_adler32(uint32_t adler, const unsigned char *p, size_t n);

#endif
