// SPDX-License-Identifier: BSD-2-Clause
/* The block encoder: its Adler-32 is zlib's, and its payloads are byte for byte what zlib's own
 * compress2() writes at the same level, for every size that matters. */
#include "unit.h"
#include "tbuf.h"
#include "trace_fmt.h"
#include "zblock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned char *sample(size_t n, unsigned int seed)
{
	unsigned char *p = malloc(n);

	/* Mostly zeros with structured runs, like event records; some bytes 0xff for the sums. */
	for (size_t i = 0; p && i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (i % 376) < 48 ? (unsigned char)(seed >> 16) : (i % 97 == 0 ? 0xff : 0);
	}
	return p;
}

UNIT_TEST(zblock_adler32_matches_zlib)
{
	static const size_t sizes[] = {0, 1, 15, 31, 32, 33, 64, 5551, 5552, 5553, 65536, 100003};
	unsigned char *p = sample(100003, 7), *ff = malloc(100003);

	CHECK(p && ff);
	memset(ff, 0xff, 100003); /* the largest sums: overflow would show here */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK_EQ(zblock_adler32(1, p, sizes[i]), (uint32_t)adler32(1, p, sizes[i]));
		CHECK_EQ(zblock_adler32(1, ff, sizes[i]), (uint32_t)adler32(1, ff, sizes[i]));
		CHECK_EQ(zblock_adler32(0x12345678 % 65521, p + 3, sizes[i] / 2),
			 (uint32_t)adler32(0x12345678 % 65521, p + 3, sizes[i] / 2));
	}
	free(p);
	free(ff);
}

UNIT_TEST(zblock_encode_is_zlibs_block)
{
	static const size_t sizes[] = {0, 1, 100, 4096, 65536, 262144};

	for (int level = 1; level <= 9; level += 1) {
		struct zblock zb = {.level = level};

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *p = sample(sizes[i] ? sizes[i] : 1, (unsigned int)i);
			uLongf zlen = compressBound(sizes[i]);
			unsigned char *z = malloc(zlen);
			struct tbuf a = {0};
			struct trace_blk b;

			CHECK(p && z);
			CHECK_EQ(zblock_encode(&zb, &a, TRACE_BLK_EVENTS, 7, p, sizes[i]), 0);
			memcpy(&b, a.data, sizeof(b));
			CHECK_EQ(b.seq, 7);
			CHECK_EQ(b.raw_len, sizes[i]);
			CHECK_EQ(b.crc, trace_blk_crc(&b, a.data + sizeof(b)));
			if (!sizes[i]) { /* stored */
				CHECK_EQ(b.flags, 0);
				CHECK_EQ(b.len, 0);
			} else {
				CHECK_EQ(compress2(z, &zlen, p, sizes[i], level), Z_OK);
				CHECK_EQ(b.flags, TRACE_BLK_F_ZLIB);
				CHECK_EQ(b.len, zlen);
				CHECK(!memcmp(a.data + sizeof(b), z, zlen));
			}
			CHECK_EQ(a.len, sizeof(b) + b.len);
			tbuf_free(&a);
			free(z);
			free(p);
		}
		zblock_free(&zb);
	}
}

/* Stored blocks (the footer): the payload as it is, framed and checked. */
UNIT_TEST(trace_block_store_frames_the_payload)
{
	struct tbuf a = {0};
	struct trace_blk b;

	CHECK_EQ(trace_block_store(&a, TRACE_BLK_FOOTER, 3, "k=v\n", 4), 0);
	CHECK_EQ(a.len, sizeof(b) + 4);
	memcpy(&b, a.data, sizeof(b));
	CHECK_EQ(b.magic, TRACE_BLK_MAGIC);
	CHECK_EQ(b.type, TRACE_BLK_FOOTER);
	CHECK_EQ(b.seq, 3);
	CHECK_EQ(b.len, 4);
	CHECK_EQ(b.raw_len, 4);
	CHECK_EQ(b.flags, 0);
	CHECK_EQ(b.crc, trace_blk_crc(&b, a.data + sizeof(b)));
	CHECK(!memcmp(a.data + sizeof(b), "k=v\n", 4));
	CHECK_EQ(trace_block_store(&a, TRACE_BLK_FOOTER, 4, "", TRACE_MAX_BLOCK_RAW + 1), -E2BIG);
	tbuf_free(&a);
}
