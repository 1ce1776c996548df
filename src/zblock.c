// SPDX-License-Identifier: BSD-2-Clause
#include "zblock.h"
#include "tbuf.h"
#include "trace_fmt.h"

#include <errno.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_SSSE3_PATH 1
#endif

#define ADLER_BASE 65521u
#define ADLER_NMAX 5552u /* bytes before the sums must be reduced (zlib's bound) */

static uint32_t adler_scalar(uint32_t adler, const unsigned char *p, size_t n)
{
	uint32_t s1 = adler & 0xffff, s2 = adler >> 16;

	while (n) {
		size_t k = n < ADLER_NMAX ? n : ADLER_NMAX;

		n -= k;
		while (k--) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= ADLER_BASE;
		s2 %= ADLER_BASE;
	}
	return s2 << 16 | s1;
}

#ifdef HAVE_SSSE3_PATH
/* 32 bytes a step: s1 gains their sum, s2 gains 32 * s1 before the step plus the bytes
 * weighted 32, 31, ..., 1. Sums are reduced every NMAX bytes, as zlib does. */
__attribute__((target("ssse3"))) static uint32_t adler_ssse3(uint32_t adler, const unsigned char *p,
							     size_t n)
{
	const __m128i tap1 =
		_mm_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17);
	const __m128i tap2 = _mm_setr_epi8(16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
	const __m128i zero = _mm_setzero_si128();
	const __m128i ones = _mm_set1_epi16(1);
	uint32_t s1 = adler & 0xffff, s2 = adler >> 16;
	size_t blocks = n / 32;

	n -= blocks * 32;
	while (blocks) {
		size_t k = blocks < ADLER_NMAX / 32 ? blocks : ADLER_NMAX / 32;
		__m128i v_ps = _mm_set_epi32(0, 0, 0, (int)(s1 * k));
		__m128i v_s2 = _mm_set_epi32(0, 0, 0, (int)s2);
		__m128i v_s1 = zero;
		uint32_t t[4];

		blocks -= k;
		do {
			__m128i b1 = _mm_loadu_si128((const __m128i *)p);
			__m128i b2 = _mm_loadu_si128((const __m128i *)(p + 16));

			v_ps = _mm_add_epi32(v_ps, v_s1);
			v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(b1, zero));
			v_s2 = _mm_add_epi32(v_s2,
					     _mm_madd_epi16(_mm_maddubs_epi16(b1, tap1), ones));
			v_s1 = _mm_add_epi32(v_s1, _mm_sad_epu8(b2, zero));
			v_s2 = _mm_add_epi32(v_s2,
					     _mm_madd_epi16(_mm_maddubs_epi16(b2, tap2), ones));
			p += 32;
		} while (--k);
		v_s2 = _mm_add_epi32(v_s2, _mm_slli_epi32(v_ps, 5));
		_mm_storeu_si128((__m128i *)t, v_s1);
		s1 += t[0] + t[1] + t[2] + t[3];
		_mm_storeu_si128((__m128i *)t, v_s2);
		s2 = t[0] + t[1] + t[2] + t[3];
		s1 %= ADLER_BASE;
		s2 %= ADLER_BASE;
	}
	return adler_scalar(s2 << 16 | s1, p, n);
}
#endif

uint32_t zblock_adler32(uint32_t adler, const unsigned char *p, size_t n)
{
#ifdef HAVE_SSSE3_PATH
	static int simd = -1;

	if (simd < 0)
		simd = __builtin_cpu_supports("ssse3") ? 1 : 0;
	if (simd)
		return adler_ssse3(adler, p, n);
#endif
	return adler_scalar(adler, p, n);
}

void zblock_free(struct zblock *z)
{
	if (z->ready)
		deflateEnd(&z->zs);
	z->ready = false;
}

static int zblock_ready(struct zblock *z)
{
	if (z->ready)
		return deflateReset(&z->zs) == Z_OK ? 0 : -EIO;
	memset(&z->zs, 0, sizeof(z->zs));
	/* Raw deflate (negative window bits): the wrapper is written below. */
	if (deflateInit2(&z->zs, z->level ? z->level : Z_BEST_SPEED, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z->ready = true;
	return 0;
}

/* The two header bytes zlib writes for a 32 KiB window at this level (RFC 1950). */
static unsigned int zlib_header(int level)
{
	unsigned int h = (Z_DEFLATED + ((15 - 8) << 4)) << 8;
	unsigned int flevel = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;

	h |= flevel << 6;
	return h + 31 - h % 31;
}

int zblock_encode(struct zblock *z, struct tbuf *out, unsigned int type, uint32_t seq,
		  const void *raw, size_t raw_len)
{
	struct trace_blk b = {
		.magic = TRACE_BLK_MAGIC,
		.type = type,
		.seq = seq,
		.raw_len = raw_len,
	};
	size_t at = out->len, room;
	unsigned char *payload;
	uint32_t adler;
	unsigned int hdr;
	int err;

	if (!raw_len)
		return trace_block_store(out, type, seq, raw, raw_len);
	if (raw_len > TRACE_MAX_BLOCK_RAW)
		return -E2BIG;
	room = compressBound(raw_len) + 6;
	err = tbuf_reserve(out, sizeof(b) + room);
	if (err)
		return err;
	err = zblock_ready(z);
	if (err)
		return err;
	payload = out->data + at + sizeof(b);
	hdr = zlib_header(z->level ? z->level : Z_BEST_SPEED);
	payload[0] = hdr >> 8;
	payload[1] = hdr & 0xff;
	z->zs.next_in = (Bytef *)raw;
	z->zs.avail_in = raw_len;
	z->zs.next_out = payload + 2;
	z->zs.avail_out = room - 6;
	if (deflate(&z->zs, Z_FINISH) != Z_STREAM_END)
		return -EIO;
	b.len = room - 6 - z->zs.avail_out;
	adler = zblock_adler32(1, raw, raw_len);
	payload[2 + b.len] = adler >> 24;
	payload[3 + b.len] = adler >> 16;
	payload[4 + b.len] = adler >> 8;
	payload[5 + b.len] = adler;
	b.len += 6;
	b.flags = TRACE_BLK_F_ZLIB;
	b.crc = trace_blk_crc(&b, payload);
	memcpy(out->data + at, &b, sizeof(b));
	out->len = at + sizeof(b) + b.len;
	return 0;
}
